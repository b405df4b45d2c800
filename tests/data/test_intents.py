"""seqkit.data.intents (the generated corpus and its ceiling) and seqkit.data.slu (loaders)."""
import collections
import doctest
import math

import numpy as np
import pytest

from seqkit.data import intents, slu
from seqkit.data.tokenize import word_tokenize
from seqkit.data.intents import INTENTS, generate_intent_corpus, generate_split

SMALL = {"train": 300, "valid": 50, "test": 50}


def test_doctests():
    assert doctest.testmod(intents).failed == 0
    assert doctest.testmod(slu).failed == 0


def test_seeded_and_well_formed():
    a, b = generate_intent_corpus(SMALL, seed=3), generate_intent_corpus(SMALL, seed=3)
    assert a.train.tokens == b.train.tokens and a.test.labels == b.test.labels
    assert generate_intent_corpus(SMALL, seed=4).train.tokens != a.train.tokens
    for split in ("train", "valid", "test"):
        s = a.split(split)
        for tokens, tags, text in zip(s.tokens, s.tags, s.text):
            assert len(tokens) == len(tags) > 0
            assert all(t == "O" or t[:2] in ("B-", "I-") for t in tags)
            # The corpus text tokenizes back into its own tokens (the export reads text).
            assert word_tokenize(text) == tokens
    assert set(a.train.labels) <= set(INTENTS)


def test_examples_of_word_order():
    rng = np.random.default_rng(0)
    big = generate_split(3000, rng, noise_rate=0.0)
    home = [t for t, l in zip(big.tokens, big.clean_labels)
            if l == "commute_home" and "not" not in t]
    assert all(t[-4:-1] == ["work", "to", "home"] or t[-3:] == ["work", "to", "home"]
               for t in home)
    for tokens, tags, label in zip(big.tokens, big.tags, big.clean_labels):
        if "," in tokens:  # "<A> , not <B>": the first clause carries the intent
            assert tokens[tokens.index(",") + 1] == "not"
        if "from" in tokens and label == "book_flight" and "not" not in tokens:
            assert tags[tokens.index("from") + 1] == "B-fromloc"
            assert tags[tokens.index("to") + 1] == "B-toloc"


def test_clean_intent_is_a_function_of_the_utterance():
    # The premise of the ceiling: no utterance string comes from two intents.
    big = generate_split(30000, np.random.default_rng(1), noise_rate=0.0)
    intents_of = collections.defaultdict(set)
    for tokens, label in zip(big.tokens, big.clean_labels):
        intents_of[" ".join(tokens)].add(label)
    assert max(len(v) for v in intents_of.values()) == 1


def test_ceiling_formula():
    assert intents.bayes_ceiling(0.05) == pytest.approx(0.95)
    assert intents.bayes_ceiling(0.0) == 1.0
    with pytest.raises(ValueError, match="`noise_rate`"):
        intents.bayes_ceiling(6 / 7)
    # Empirically: the Bayes-optimal classifier (the clean intent) on a large noisy
    # sample scores 1 - eta within 4 standard errors.
    n, eta = 40000, 0.1
    big = generate_split(n, np.random.default_rng(2), noise_rate=eta)
    clean = np.mean([a == b for a, b in zip(big.labels, big.clean_labels)])
    se = math.sqrt(eta * (1 - eta) / n)
    assert abs(clean - intents.bayes_ceiling(eta)) < 4 * se
    # And the clean intent really is the best guess: on frequent utterances, the most
    # common label is the clean one, and wrong labels spread over the other 6 intents.
    by_text = collections.defaultdict(list)
    for tokens, label, c in zip(big.tokens, big.labels, big.clean_labels):
        by_text[" ".join(tokens)].append((label, c))
    frequent = [v for v in by_text.values() if len(v) >= 100]
    assert frequent
    for pairs in frequent:
        counts = collections.Counter(label for label, _ in pairs)
        assert counts.most_common(1)[0][0] == pairs[0][1]
    wrong = collections.Counter(label for v in frequent for label, c in v if label != c)
    assert len(wrong) == len(INTENTS)


def test_corpus_ceiling_is_the_clean_fraction():
    corpus = generate_intent_corpus(SMALL, noise_rate=0.2, seed=0)
    for split in ("train", "valid", "test"):
        s = corpus.split(split)
        assert corpus.ceiling[split] == np.mean(
            [a == b for a, b in zip(s.labels, s.clean_labels)])
    assert corpus.expected_ceiling == pytest.approx(0.8)


def test_bag_of_words_ceiling():
    # Literal values of the derivation: a = 0.3 + 0.7 * 2/7 = 0.5.
    assert intents.order_dependent_rate(0.3) == pytest.approx(0.5)
    assert intents.bag_of_words_expected_ceiling(0.0, 0.3) == pytest.approx(0.75)
    assert intents.bag_of_words_expected_ceiling(0.05, 0.3) == pytest.approx(
        0.5 * 0.95 + 0.5 * (0.95 + 0.05 / 6) / 2)
    # The rate of order-dependent utterances matches a.
    n = 20000
    big = generate_split(n, np.random.default_rng(3), noise_rate=0.0)
    dependent = np.mean([("not" in t) or l.startswith("commute")
                         for t, l in zip(big.tokens, big.clean_labels)])
    assert abs(dependent - 0.5) < 4 * math.sqrt(0.25 / n)
    # Swapping the clauses of a compound keeps the bag and changes the intent.
    rng = np.random.default_rng(4)
    a = intents._clause("play_music", rng, False)
    b = intents._clause("get_time", rng, False)
    first = a.words + [",", "not"] + b.words
    second = b.words + [",", "not"] + a.words
    assert sorted(first) == sorted(second)
    assert intents.bag_of_words_ceiling([first, second], ["play_music", "get_time"]) == 0.5


# --------------------------------------------------------------------------- slu loaders


def _write_split(folder, seq_in, label, seq_out=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seq.in").write_text(seq_in, encoding="utf-8")
    (folder / "label").write_text(label, encoding="utf-8")
    if seq_out is not None:
        (folder / "seq.out").write_text(seq_out, encoding="utf-8")


def _write_slu(root, with_tags=True):
    for split in ("train", "valid", "test"):
        _write_split(root / split, "play  jazz \nwhat time is it\n", "PlayMusic\nGetTime#Weather\n",
                     "O B-genre \nO O O O\n" if with_tags else None)
    return root


def test_load_slu_dir(tmp_path):
    data = slu.load_slu_dir(_write_slu(tmp_path / "d"))
    assert data.train.tokens == [["play", "jazz"], ["what", "time", "is", "it"]]
    assert data.train.labels == ["PlayMusic", "GetTime#Weather"]  # multi-intent: one class
    assert data.train.tags == [["O", "B-genre"], ["O"] * 4]
    assert data.has_slots and data.tokenizer == "whitespace" and len(data.files) == 9
    assert not slu.load_slu_dir(_write_slu(tmp_path / "e", with_tags=False)).has_slots


@pytest.mark.parametrize("seq_in, label, seq_out, message", [
    ("", "A\n", None, r"seq\.in: the file is empty"),
    ("a b\nc\n", "A\n", None, r"label: 1 lines, but .*seq\.in has 2"),
    ("a b\n \n", "A\nB\n", None, r"seq\.in:2: empty utterance"),
    ("a b\nc\n", "A\n\n", None, r"label:2: invalid intent label"),
    ("a b\nc\n", "A\nB\n", "O O\nO O\n", r"seq\.out:2: 2 tags for the 1 words of .*seq\.in:2"),
    ("a b\nc\n", "A\nB\n", "O X-y\nO\n", r"seq\.out:1: invalid slot tag 'X-y'"),
    ("a b\nc\n", "A\nB\n", "O O\n", r"seq\.out: 1 lines, but .*seq\.in has 2"),
])
def test_bad_slu_input(tmp_path, seq_in, label, seq_out, message):
    root = _write_slu(tmp_path / "d", with_tags=seq_out is not None)
    _write_split(root / "valid", seq_in, label, seq_out)
    with pytest.raises(slu.DataError, match=message) as error:
        slu.load_slu_dir(root)
    assert "valid" in str(error.value)


def test_bad_slu_layout(tmp_path):
    with pytest.raises(slu.DataError, match="not a folder"):
        slu.load_slu_dir(tmp_path / "missing")
    root = _write_slu(tmp_path / "d")
    (root / "test" / "seq.out").unlink()
    with pytest.raises(slu.DataError, match=r"test/seq\.out: file not found.*every split"):
        slu.load_slu_dir(root)
    (root / "test" / "label").unlink()
    with pytest.raises(slu.DataError, match=r"test/label: file not found"):
        slu.load_slu_dir(root)


def test_load_csv(tmp_path):
    rows = [f'"Utterance number {i}, isn\'t it?",{"A" if i % 3 else "B"}' for i in range(50)]
    path = tmp_path / "t.csv"
    path.write_text("text,intent\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data = slu.load_csv(path, label_column="intent", seed=1)
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 5, 5)
    assert data.tokenizer == "nltk" and not data.has_slots
    assert data.train.tokens[0][-4:] == ["is", "n't", "it", "?"]
    again = slu.load_csv(path, label_column="intent", seed=1)
    assert again.test.tokens == data.test.tokens
    assert slu.load_csv(path, label_column="intent", seed=2).test.tokens != data.test.tokens
    everything = sorted(map(tuple, data.train.tokens + data.valid.tokens + data.test.tokens))
    assert len(set(everything)) == 50


def test_load_csv_reads_a_semicolon_separated_export(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text;label\n" + "turn it up, please;volume\nwhat is 2,5 plus 1;math\n"
                    "stop;stop\n" * 4, encoding="utf-8")
    data = slu.load_csv(path, seed=0)
    texts = data.train.tokens + data.valid.tokens + data.test.tokens
    assert ["turn", "it", "up", ",", "please"] in texts and ["what", "is", "2,5", "plus", "1"] \
        in texts
    assert sorted(set(data.train.labels + data.valid.labels + data.test.labels)) == \
        ["math", "stop", "volume"] and len(texts) == 12


def test_load_csv_split_column_and_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label,part\nhi there,A,train\nbye,B,valid\nyo,A,test\n",
                    encoding="utf-8")
    data = slu.load_csv(path, split_column="part")
    assert data.train.tokens == [["hi", "there"]] and data.test.labels == ["A"]
    with pytest.raises(slu.DataError, match=r"no column 'txt' \(--text_column\)"):
        slu.load_csv(path, text_column="txt")
    path.write_text("text,label,part\nhi,A,train\nbye,B,dev\n", encoding="utf-8")
    with pytest.raises(slu.DataError, match=r"holds \['dev'\]"):
        slu.load_csv(path, split_column="part")
    path.write_text("text,label\nhi,A\n  ,B\n", encoding="utf-8")
    with pytest.raises(slu.DataError, match=r"t\.csv:3: empty text"):
        slu.load_csv(path)
    path.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(slu.DataError, match="no rows"):
        slu.load_csv(path)


def test_unseen_labels():
    assert slu.unseen_labels(["a", "b"], ["a", "c", "c", "a#b"]) == {"a#b": 1, "c": 2}

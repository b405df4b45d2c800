"""seqkit.data.translation: the generated language pair, parallel loaders, batches."""
import os

import numpy as np
import pytest

from seqkit.data import translation as T


# --------------------------------------------------------------------------- generated pair
@pytest.mark.parametrize("source, target", [
    ("kato hundo vidi", "the cat sees the dog"),
    ("kato ta hundo vidi", "the cats see the dog"),
    ("kato granda ta hundo vidi pa", "the big cats saw the dog"),
    # Adjectives come before the noun in reverse source order; irregular plurals.
    ("muso granda nigra ta infano eta ta trovi", "the black big mice find the small children"),
    # Negation agrees with the subject's number and takes the tense.
    ("viro hundo cxasi ne", "the man does not chase the dog"),
    ("viro ta hundo cxasi ne", "the men do not chase the dog"),
    ("viro ta hundo cxasi ne pa", "the men did not chase the dog"),
    # Postpositional phrase and adverb move to the end, in that order.
    ("vulpo fisxo ta birdo en ofte mangxi pa", "the fox ate the fish in the bird often"),
    ("fisxo ta vulpo ruga birdo apud hodiaux sekvi",
     "the fish follow the red fox near the bird today"),
])
def test_translate_generated_hand_examples(source, target):
    assert " ".join(T.translate_generated(source.split())) == target


@pytest.mark.parametrize("source", [
    "kato vidi",                    # no object
    "kato hundo",                   # no verb
    "kato hundo vidi pa ne",        # particles in the wrong order
    "granda kato hundo vidi",       # adjective before the noun
    "kato hundo birdo vidi",        # place noun phrase without its postposition
])
def test_translate_generated_rejects_sentences_outside_the_grammar(source):
    with pytest.raises(ValueError):
        T.translate_generated(source.split())


def test_generate_pairs_is_seeded_distinct_and_exact():
    pairs = T.generate_pairs(300, seed=4)
    assert pairs == T.generate_pairs(300, seed=4)
    assert pairs != T.generate_pairs(300, seed=5)
    assert len({source for source, _ in pairs}) == 300
    for source, target in pairs:
        assert target == " ".join(T.translate_generated(source.split()))


def test_builtin_data_splits_and_vocabularies():
    data = T.load_translation_data(num_generated=200)
    assert [len(data.splits[s]) for s in T.SPLITS] == [160, 20, 20]
    assert data.target_vocab.tokens[:4] == (T.PAD, T.UNK, T.BOS, T.EOS)
    assert data.source_vocab.tokens[:2] == (T.PAD, T.UNK)
    train = data.splits["train"]
    assert data.target_vocab.decode(train.target_ids[0]) == train.target_tokens[0]


# --------------------------------------------------------------------------- files
def _write(folder, name, lines):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


@pytest.fixture
def parallel_dir(tmp_path):
    # Multi30k's naming: val, test_2016_flickr, an infix between split and language.
    _write(tmp_path, "train.lc.tok.de", ["ein mann .", "zwei hunde", "Ma\u0308dchen\u00a0la\u0308uft"])
    _write(tmp_path, "train.lc.tok.en", ["a man .", "two dogs", "girl runs"])
    _write(tmp_path, "val.lc.tok.de", ["ein hund"])
    _write(tmp_path, "val.lc.tok.en", ["a dog"])
    _write(tmp_path, "test_2016_flickr.lc.tok.de", ["zwei männer"])
    _write(tmp_path, "test_2016_flickr.lc.tok.en", ["two men"])
    _write(tmp_path, "README", ["not data"])
    return tmp_path


def test_parallel_dir_splits_and_normalization(parallel_dir):
    data = T.load_translation_data(str(parallel_dir), "de", "en", tokenize_kind="space")
    assert [len(data.splits[s]) for s in T.SPLITS] == [3, 1, 1]
    # NFC (a + combining diaeresis -> ä) and the no-break space -> a space.
    assert data.splits["train"].source_tokens[2] == ["Mädchen", "läuft"]
    assert data.splits["test"].target_texts == ["two men"]
    reverse = T.load_translation_data(str(parallel_dir), "en", "de", tokenize_kind="space")
    assert reverse.splits["train"].source_texts[0] == "a man ."


def test_parallel_dir_without_valid_holds_out_train(tmp_path):
    _write(tmp_path, "train.de", [f"satz {i}" for i in range(40)])
    _write(tmp_path, "train.en", [f"sentence {i}" for i in range(40)])
    _write(tmp_path, "test.de", ["x"])
    _write(tmp_path, "test.en", ["y"])
    pairs = T.load_parallel_dir(str(tmp_path), "de", "en")
    assert len(pairs["train"]) == 38 and len(pairs["valid"]) == 2
    assert not set(pairs["train"]) & set(pairs["valid"])


def test_parallel_dir_unknown_language_lists_the_available_ones(parallel_dir):
    with pytest.raises(T.DataError, match=r"--target_language: no 'fr' files .*\['de', 'en'\]"):
        T.load_parallel_dir(str(parallel_dir), "de", "fr")


def test_parallel_dir_line_count_mismatch(parallel_dir):
    _write(parallel_dir, "val.lc.tok.en", ["a dog", "an extra line"])
    with pytest.raises(T.DataError) as error:
        T.load_parallel_dir(str(parallel_dir), "de", "en")
    message = str(error.value)
    assert "val.lc.tok.de" in message and "has 1 lines" in message and "has 2" in message
    assert "Line 2 of" in message and "val.lc.tok.en' has no partner" in message


def test_parallel_dir_empty_line_on_one_side(parallel_dir):
    _write(parallel_dir, "train.lc.tok.en", ["a man .", "", "girl runs"])
    with pytest.raises(T.DataError, match=r"train.lc.tok.en' line 2 is empty but line 2 of"):
        T.load_parallel_dir(str(parallel_dir), "de", "en")


def test_parallel_dir_not_a_folder(tmp_path):
    with pytest.raises(T.DataError, match="--data_dir: .* is not a folder"):
        T.load_parallel_dir(str(tmp_path / "missing"), "de", "en")


# --------------------------------------------------------------------------- pairs file
def test_pairs_file_columns_split_and_nbsp(tmp_path):
    path = tmp_path / "fra.txt"
    lines = [f"Go {i}.\tVa {i}\u00a0!\tCC-BY 2.0 (France) #{i}" for i in range(60)]
    _write(tmp_path, "fra.txt", lines)
    pairs = T.load_pairs_file(str(path), 0, 1, seed=3)
    assert [len(pairs[s]) for s in T.SPLITS] == [54, 3, 3]
    assert pairs == T.load_pairs_file(str(path), 0, 1, seed=3)
    everything = sorted(p for s in T.SPLITS for p in pairs[s])
    assert everything == sorted((f"Go {i}.", f"Va {i}\u00a0!") for i in range(60))
    data = T.load_translation_data(pairs_file=str(path), source_column=1, target_column=0)
    assert data.splits["test"].source_texts[0].endswith(" !")  # the no-break space is a space
    assert data.splits["test"].source_texts[0].startswith("Va ")


def test_pairs_file_wrong_column_count_names_file_and_line(tmp_path):
    _write(tmp_path, "pairs.tsv", ["a\tb\tc", "d\te", "f"])
    with pytest.raises(T.DataError, match=r"pairs.tsv' line 3 has 1 tab-separated column"):
        T.load_pairs_file(str(tmp_path / "pairs.tsv"), 0, 1)
    with pytest.raises(T.DataError, match=r"line 2 has 2 .* at least 3 \(--source_column=2"):
        T.load_pairs_file(str(tmp_path / "pairs.tsv"), 2, 0)


def test_pairs_file_empty_side(tmp_path):
    _write(tmp_path, "pairs.tsv", ["a\tb", "c\t", "e\tf", "g\th"])
    with pytest.raises(T.DataError, match="line 2 has an empty target column"):
        T.load_pairs_file(str(tmp_path / "pairs.tsv"))


# --------------------------------------------------------------------------- tokens, batches
def test_max_length_drops_training_pairs_and_reports_them():
    pairs = {"train": [("a b c", "x"), ("a", "x y z w"), ("a b", "x y")],
             "valid": [("a b c d e", "x")], "test": [("a", "x")]}
    data = T.build_data(pairs, "space", max_length=2)
    assert data.dropped == {"train": 2, "valid": 0, "test": 0}
    assert data.splits["train"].source_texts == ["a b"]
    assert len(data.splits["valid"]) == 1  # never drops evaluation sentences
    with pytest.raises(T.DataError, match="--max_length=1 drops all 3 training pairs"):
        T.build_data({"train": [("a b", "x y")] * 3, "valid": [], "test": []}, "space",
                     max_length=1)


def test_tokenizers():
    assert T.tokenizer("word")("Don't go.") == ["Do", "n't", "go", "."]
    assert T.tokenizer("char", lowercase=True)("Ab c") == ["a", "b", " ", "c"]
    assert T.tokenizer("space")("a &apos;s") == ["a", "&apos;s"]
    assert T.detokenize(["a", "b", " ", "c"], "char") == "ab c"
    with pytest.raises(ValueError, match="`tokenize`"):
        T.tokenizer("bpe")


def test_batches_cover_every_pair_once_with_bos_and_eos():
    data = T.load_translation_data(num_generated=150)
    split = data.splits["train"]
    seen = []
    for batch in T.batches(split, 16, shuffle=True, seed=1, bos_id=data.bos_id,
                           eos_id=data.eos_id):
        seen.extend(batch.indices.tolist())
        for row, index in enumerate(batch.indices):
            ids = split.target_ids[index]
            n = len(ids)
            assert batch.target_inputs[row, 0] == data.bos_id
            np.testing.assert_array_equal(batch.target_inputs[row, 1:n + 1], ids)
            np.testing.assert_array_equal(batch.target_outputs[row, :n], ids)
            assert batch.target_outputs[row, n] == data.eos_id
            assert not batch.target_outputs[row, n + 1:].any()
            assert len(split.source_ids[index]) <= batch.source.shape[1]
    assert sorted(seen) == list(range(len(split)))

"""seqkit.export.classifier: raw strings in, intents and tags out, without seqkit."""
import json

import numpy as np
import pytest
import tensorflow as tf

from seqkit import classifier
from seqkit.data import tokenize
from seqkit.data.slu import tokenize_text
from seqkit.export import classifier as classifier_export
from tests.helpers import half_written_save, run_without_seqkit

TRAIN = [["what", "time", "is", "it", "?"], ["play", "jazz", "music"], ["do", "n't", "stop"],
         ["book", "a", "flight", "to", "new", "york"]]
INTENTS = ["get_time", "play_music", "book_flight"]
TAGS = ["<pad>", "O", "B-genre", "B-city", "I-city"]
UTTERANCES = ["What time is it?", "play JAZZ music", "Don't stop!", "book a flight to new york",
              "zzz unknown words", "", "  stray   spaces  ", "Café “quoted” words…",
              "what's the time in new york?"]


def _model(task, bidirectional, seed, chars=None):
    vocab = tokenize.build_vocabulary(TRAIN)
    model = classifier.build_classifier(len(vocab), len(INTENTS), len(TAGS), task=task,
                                        units=6, bidirectional=bidirectional, seed=seed,
                                        pooling="attention" if bidirectional else "last",
                                        num_chars=len(chars) if chars else None,
                                        char_embedding_dim=4, char_filters=5)
    # Larger weights than the initializers', so that outputs are far from uniform.
    for variable in model.trainable_variables:
        variable.assign(variable * 3.0)
    return model, vocab


def _in_process(model, vocab, tokenizer, lowercase, slot_decoding="greedy", chars=None):
    token_lists = [[t.lower() if lowercase else t for t in tokenize_text(u, tokenizer)]
                   for u in UTTERANCES]
    ids = tokenize.pad_batch(tokenize.encode_batch(vocab, token_lists))
    transitions = classifier.bio_transitions(TAGS) if slot_decoding == "bio" else None
    char_ids = None if chars is None else classifier.encode_chars(chars, token_lists)
    probabilities, tag_ids = classifier.predict_ids(model, ids, transitions=transitions,
                                                    chars=char_ids)
    tags = None if tag_ids is None else [[TAGS[i] for i in row[:len(t)]]
                                         for row, t in zip(tag_ids, token_lists)]
    return token_lists, probabilities, tags


CASES = {  # name: (task, bidirectional, tokenizer, lowercase, slot_decoding, char_features)
    "joint_bio": ("joint", True, "nltk", True, "bio", False),
    "slots_greedy": ("slots", False, "nltk", False, "greedy", False),
    "intent_whitespace": ("intent", False, "whitespace", False, "greedy", False),
    # Characters of "Café", "“quoted”", "zzz" are unknown to the character table.
    "joint_chars": ("joint", True, "nltk", True, "bio", True),
    "intent_chars_cased": ("intent", False, "whitespace", False, "greedy", True),
}
# The character table of the character cases: that of the training words, cased.
CHARS = classifier.char_vocabulary(TRAIN)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every case exported, then all run in one Python where seqkit cannot be imported."""
    folder = tmp_path_factory.mktemp("exports")
    exported = {}
    for name, (task, bidirectional, tokenizer, lowercase, slot_decoding, chars) in CASES.items():
        chars = CHARS if chars else None
        model, vocab = _model(task, bidirectional, seed=2, chars=chars)
        path = classifier_export.export_classifier(
            model, str(folder / name), vocab, INTENTS, TAGS if task != "intent" else None,
            tokenizer=tokenizer, lowercase=lowercase, slot_decoding=slot_decoding, chars=chars)
        exported[name] = {"path": path, "model": model, "vocab": vocab}
    paths = {name: case["path"] for name, case in exported.items()}
    out = run_without_seqkit(f"""
        import json
        import tensorflow as tf
        results = {{}}
        for name, path in {paths!r}.items():
            served = tf.saved_model.load(path)
            out = served.signatures["serving_default"](utterances=tf.constant({UTTERANCES!r}))
            meta = served.signatures["metadata"]()
            results[name] = {{
                "intent": [s.decode() for s in out["intent"].numpy()],
                "probabilities": out["probabilities"].numpy().tolist(),
                "probability": out["probability"].numpy().tolist(),
                "tokens": [[t.decode() for t in row] for row in out["tokens"].numpy()],
                "tags": [[t.decode() for t in row] for row in out["tags"].numpy()],
                "num_tokens": out["num_tokens"].numpy().tolist(),
                "intents": [s.decode() for s in meta["intents"].numpy()],
                "tokenizer": meta["tokenizer"].numpy().decode()}}
        print(json.dumps(results))
    """, folder)
    results = json.loads(out.strip().splitlines()[-1])
    return {name: {**exported[name], "served": results[name]} for name in CASES}


@pytest.mark.parametrize("name", list(CASES))
def test_export_agrees_without_seqkit(served, name):
    task, _, tokenizer, lowercase, slot_decoding, chars = CASES[name]
    model, vocab, served = served[name]["model"], served[name]["vocab"], served[name]["served"]
    tokens, probabilities, expected_tags = _in_process(model, vocab, tokenizer, lowercase,
                                                       slot_decoding, CHARS if chars else None)
    assert served["intents"] == INTENTS and served["tokenizer"] == tokenizer
    assert served["num_tokens"] == [len(t) for t in tokens]
    assert [row[:n] for row, n in zip(served["tokens"], served["num_tokens"])] == tokens
    np.testing.assert_allclose(served["probabilities"], probabilities, atol=1e-5)
    assert served["intent"] == [INTENTS[i] for i in probabilities.argmax(-1)]
    np.testing.assert_allclose(served["probability"], probabilities.max(-1), atol=1e-5)
    if task != "slots":  # (a slots-only model's intent head is untrained but exported)
        assert len(set(served["intent"])) > 1  # the check is not vacuous
    served_tags = [row[:n] for row, n in zip(served["tags"], served["num_tokens"])]
    if expected_tags is None:
        assert served_tags == [["O"] * len(t) for t in tokens]
    else:
        assert served_tags == expected_tags
        assert all("" not in row and "<pad>" not in row for row in served_tags)
    assert all(t == "" for row, n in zip(served["tags"], served["num_tokens"]) for t in row[n:])


def test_export_is_atomic_and_checks_arguments(tmp_path, monkeypatch):
    model, vocab = _model("joint", False, seed=0)
    path = str(tmp_path / "export")
    classifier_export.export_classifier(model, path, vocab, INTENTS, TAGS)
    monkeypatch.setattr(tf.saved_model, "save", half_written_save)
    with pytest.raises(OSError, match="disk full"):
        classifier_export.export_classifier(model, path, vocab, INTENTS, TAGS)
    monkeypatch.undo()
    served = tf.saved_model.load(path)  # the first export is intact
    out = served.signatures["serving_default"](utterances=tf.constant(["hi"]))
    assert out["intent"].shape == (1,)
    with pytest.raises(ValueError, match="`tokenizer`"):
        classifier_export.export_classifier(model, path, vocab, INTENTS, TAGS, tokenizer="bpe")
    with pytest.raises(ValueError, match="tags exactly when"):
        classifier_export.export_classifier(model, path, vocab, INTENTS, None)
    with pytest.raises(ValueError, match="`chars` exactly when"):
        classifier_export.export_classifier(model, path, vocab, INTENTS, TAGS, chars=CHARS)
    char_model, _ = _model("joint", False, seed=0, chars=CHARS)
    with pytest.raises(ValueError, match="`chars` exactly when"):
        classifier_export.export_classifier(char_model, path, vocab, INTENTS, TAGS)


def test_exported_characters_are_the_models_characters(tmp_path):
    """The graph's character ids equal ``pad_chars(encode_chars(...))`` (long words cut,
    unknown characters <unk>, padding words and characters 0)."""
    model, vocab = _model("intent", False, seed=0, chars=CHARS)
    module = classifier_export.ClassifierModule(model, vocab, INTENTS, None, "whitespace",
                                                False, chars=CHARS)
    texts = ["what time", "x" * 30 + " Café", "", "a"]
    tokens = module._tokens(tf.constant(texts))
    got = module._chars(tokens, 3).numpy()
    token_lists = [t.split() for t in texts]
    expected = classifier.pad_chars(classifier.encode_chars(CHARS, token_lists), 3)
    np.testing.assert_array_equal(got, expected)
    assert expected.shape == (4, 3, classifier.MAX_WORD_CHARS + 1)

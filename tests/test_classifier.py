"""seqkit.classifier: pooling over masked sequences, the loss, the baselines."""
import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import classifier
from seqkit.classifier import SequencePooling, build_classifier, classifier_loss

IDS = np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11], [3, 0, 0, 0, 0]], np.int32)
LENGTHS = [3, 5, 1]


def test_doctests():
    assert doctest.testmod(classifier).failed == 0


def _encoder_outputs(model, ids):
    """The (dropout-free) encoder's sequence output, through a sub-model."""
    sub = keras.Model(model.input, model.get_layer("encoder").output)
    return np.asarray(sub(ids))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_pooling_ignores_padding(pooling, bidirectional):
    model = build_classifier(20, 3, units=4, pooling=pooling, bidirectional=bidirectional,
                             cell="gru", seed=0)
    padded = np.asarray(model(IDS)["intent"])
    for row, length in enumerate(LENGTHS):
        alone = np.asarray(model(IDS[row:row + 1, :length])["intent"])
        np.testing.assert_allclose(padded[row], alone[0], atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_pooling_reads_the_last_valid_step(bidirectional):
    units = 4
    model = build_classifier(20, 3, units=units, pooling="last", bidirectional=bidirectional,
                             cell="lstm", seed=1)
    sequence = _encoder_outputs(model, IDS)
    pooled = keras.Model(model.input, model.get_layer("pooling").output)(IDS)
    for row, length in enumerate(LENGTHS):
        expected = sequence[row, length - 1]
        if bidirectional:  # forward at the last valid step, backward at step 0
            expected = np.concatenate([sequence[row, length - 1, :units], sequence[row, 0, units:]])
        np.testing.assert_allclose(np.asarray(pooled)[row], expected, atol=1e-6)


def test_mean_max_attention_by_numpy():
    sequence = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    mean = np.asarray(SequencePooling("mean")(sequence, mask=mask))
    np.testing.assert_allclose(mean[0], sequence[0, :2].mean(0), atol=1e-6)
    maximum = np.asarray(SequencePooling("max")(sequence, mask=mask))
    np.testing.assert_allclose(maximum[0], sequence[0, :2].max(0), atol=1e-6)
    attention = SequencePooling("attention")
    out = np.asarray(attention(sequence, mask=mask))
    kernel, bias, vector = (np.asarray(w) for w in attention.weights)
    scores = (np.tanh(sequence[0, :2] @ kernel + bias) @ vector)[:, 0]
    weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(out[0], weights @ sequence[0, :2], atol=1e-5)
    empty = np.asarray(SequencePooling("last")(sequence, mask=np.zeros((2, 4), bool)))
    assert not empty.any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="`pooling`.*'first'"):
        build_classifier(10, 2, pooling="first")
    with pytest.raises(ValueError, match="`task`"):
        build_classifier(10, 2, task="both")
    with pytest.raises(ValueError, match="num_tags"):
        build_classifier(10, 2, task="joint")


def test_joint_model_and_loss_ignore_padding():
    model = build_classifier(20, 3, num_tags=4, task="joint", units=4, seed=0)
    outputs = model(IDS)
    assert tuple(outputs["slots"].shape) == (3, 5, 4)
    intents = np.array([0, 1, 2], np.int32)
    tags = np.where(IDS > 0, 1, 0).astype(np.int32)
    total, intent_loss, slot_loss = classifier_loss(outputs, intents, tags, "joint")
    assert float(total) == pytest.approx(float(intent_loss) + float(slot_loss), rel=1e-6)
    # Changing the slot logits at padded steps leaves the loss unchanged.
    noisy = dict(outputs)
    noisy["slots"] = outputs["slots"] + 50.0 * tf.cast((IDS == 0)[:, :, None], tf.float32)
    assert float(classifier_loss(noisy, intents, tags, "joint")[2]) == pytest.approx(
        float(slot_loss), rel=1e-6)
    # The slot loss by hand: mean cross-entropy over the 9 valid words.
    log_probs = np.asarray(tf.nn.log_softmax(outputs["slots"]))
    expected = -np.mean([log_probs[b, t, 1] for b in range(3) for t in range(LENGTHS[b])])
    assert float(slot_loss) == pytest.approx(expected, rel=1e-5)
    assert float(classifier_loss(outputs, intents, tags, "slots")[0]) == pytest.approx(
        expected, rel=1e-5)


def test_predict_ids_never_predicts_padding_tag():
    model = build_classifier(20, 3, num_tags=4, task="joint", units=4, seed=0)
    layer = model.get_layer("slots")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + np.array([100.0, 0, 0, 0], np.float32)])
    probabilities, tags = classifier.predict_ids(model, IDS)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert tags.shape == IDS.shape and (tags > 0).all()


def test_baselines():
    assert classifier.majority_baseline(["b", "a", "b", "a", "c"]) == "a"
    assert classifier.tag_vocabulary([["O", "B-x"], ["I-x"]]) == ["<pad>", "O", "B-x", "I-x"]
    tokens = [["play", "jazz"], ["what", "time"], ["play", "rock"], ["the", "time"]] * 10
    labels = ["music", "time", "music", "time"] * 10
    bow = classifier.BagOfWordsClassifier(["play", "jazz", "what", "time", "rock"],
                                          ["music", "time"], seed=0)
    bow.fit(tokens, labels, tokens[:4], labels[:4], epochs=40)
    assert bow.predict([["play", "zzz"], ["time"]]) == ["music", "time"]


def test_bio_decode_is_the_best_valid_sequence():
    import itertools

    tags = ["<pad>", "O", "B-x", "I-x", "B-y", "I-y"]
    allowed, start = classifier.bio_transitions(tags)
    assert start.tolist() == [False, True, True, False, True, False]
    assert allowed[:, 3].tolist() == [False, False, True, True, False, False]  # I-x after B-x/I-x
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5, len(tags))).astype(np.float32) * 3
    lengths = np.array([1, 2, 3, 4, 5, 3])
    decoded = np.asarray(classifier.bio_decode(logits, lengths, allowed, start))
    log_probs = np.asarray(tf.nn.log_softmax(logits))
    for row, length in enumerate(lengths):
        best, best_score = None, -np.inf
        for sequence in itertools.product(range(1, len(tags)), repeat=int(length)):
            valid = start[sequence[0]] and all(allowed[a, b]
                                               for a, b in zip(sequence, sequence[1:]))
            score = sum(log_probs[row, t, k] for t, k in enumerate(sequence))
            if valid and score > best_score:
                best, best_score = sequence, score
        assert tuple(decoded[row, :length]) == best
    # Greedy decoding of the same logits breaks the grammar somewhere (the test is not vacuous).
    greedy = np.asarray(classifier.decode_tags(logits, lengths))
    assert any(greedy[r, t] in (3, 5) and (t == 0 or greedy[r, t - 1] not in (greedy[r, t] - 1,
                                                                                greedy[r, t]))
               for r in range(6) for t in range(lengths[r]))


def test_char_features_ignore_padding_words_and_characters():
    """Padding words and padding characters change neither output; characters do."""
    chars = classifier.char_vocabulary([["what", "time", "is", "it", "paris"]])
    words = [["what", "time", "is"], ["paris"], ["it", "is", "zebra", "o'clock"]]
    char_ids = classifier.encode_chars(chars, words)
    ids = np.array([[4, 5, 6, 0], [1, 0, 0, 0], [7, 6, 1, 1]], np.int32)
    model = build_classifier(20, 3, 6, task="joint", units=4, bidirectional=True,
                             pooling="attention", seed=0, num_chars=len(chars),
                             char_embedding_dim=3, char_filters=5)
    for variable in model.trainable_variables:
        variable.assign(variable * 3.0)
    out = model([ids, classifier.pad_chars(char_ids, 4)])
    wider = np.pad(classifier.pad_chars(char_ids, 7), ((0, 0), (0, 0), (0, 6)))
    padded = model([np.pad(ids, ((0, 0), (0, 3))), wider])
    np.testing.assert_allclose(padded["intent"], out["intent"], atol=1e-5)
    np.testing.assert_allclose(np.asarray(padded["slots"])[:, :4], out["slots"], atol=1e-5)
    for row, length in enumerate([3, 1, 4]):
        alone = model([ids[row:row + 1, :length],
                       classifier.pad_chars(char_ids[row:row + 1], length)])
        np.testing.assert_allclose(alone["intent"][0], out["intent"][row], atol=1e-5)
        np.testing.assert_allclose(alone["slots"][0], np.asarray(out["slots"])[row, :length],
                                   atol=1e-5)
    # The spelling is read: <unk> words with other characters get other outputs.
    respelled = classifier.pad_chars(classifier.encode_chars(chars, [words[0], ["time"],
                                                                    words[2]]), 4)
    changed = model([ids, respelled])
    assert np.abs(np.asarray(changed["intent"])[1] - np.asarray(out["intent"])[1]).max() > 1e-3
    np.testing.assert_allclose(np.asarray(changed["intent"])[[0, 2]],
                               np.asarray(out["intent"])[[0, 2]], atol=1e-6)


def test_char_cnn_by_numpy():
    """CharCNN = max over valid characters of relu(conv over zero-padded embeddings)."""
    layer = classifier.CharCNN(6, embedding_dim=3, filters=4, kernel_size=3)
    chars = np.array([[[2, 3, 4, 0, 0], [5, 0, 0, 0, 0], [0, 0, 0, 0, 0]]], np.int32)
    got = np.asarray(layer(chars))
    table = np.asarray(layer.embedding.embeddings)
    kernel, bias = (np.asarray(w) for w in layer.conv.weights)
    for word in range(3):
        length = int((chars[0, word] > 0).sum())
        vectors = np.pad(table[chars[0, word, :length]], ((1, 1), (0, 0)))
        values = [np.maximum(np.einsum("kd,kdf->f", vectors[j:j + 3], kernel) + bias, 0)
                  for j in range(length)]
        expected = np.max(values, axis=0) if values else np.zeros(4)
        np.testing.assert_allclose(got[0, word], expected, atol=1e-5)


def test_encode_and_pad_chars():
    chars = classifier.char_vocabulary([["ab", "b"]])
    assert chars.tokens == ("<pad>", "<unk>", "b", "a")
    encoded = classifier.encode_chars(chars, [["abz", "b" * 30], []])
    assert encoded[0].shape == (2, classifier.MAX_WORD_CHARS) and encoded[1].shape == (0, 24)
    assert encoded[0][0, :4].tolist() == [3, 2, 1, 0]
    padded = classifier.pad_chars(encoded, 3)
    assert padded.shape == (2, 3, classifier.MAX_WORD_CHARS + 1)
    assert padded[1].sum() == 0 and padded[0, 1, :24].tolist() == [2] * 24
    assert classifier.pad_chars(encoded[1:], 1).shape == (1, 1, 1)

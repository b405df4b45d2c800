"""seqkit.seq2seq: teacher forcing = stepping, beam = greedy at 1, padding, attention, gradients."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from seqkit.seq2seq import Seq2Seq, masked_loss, reverse_valid, strip_special

SOURCE_VOCAB, TARGET_VOCAB, BOS, EOS = 20, 15, 2, 3
RNG = np.random.default_rng(0)
SOURCE = RNG.integers(1, SOURCE_VOCAB, (3, 6)).astype(np.int32)
SOURCE[1, 4:] = 0  # a shorter sentence, padded
SOURCE[2, 2:] = 0
TARGET = RNG.integers(4, TARGET_VOCAB, (3, 5)).astype(np.int32)
TARGET[:, 0] = BOS

VARIANTS = [  # (cell, attention, bidirectional, num_layers)
    ("gru", "none", False, 1), ("lstm", "none", True, 2), ("gru", "luong", False, 2),
    ("lstm", "luong", True, 1), ("gru", "bahdanau", True, 2), ("lstm", "bahdanau", False, 1),
]


def make(cell="gru", attention="luong", bidirectional=False, num_layers=1, **kwargs):
    model = Seq2Seq(SOURCE_VOCAB, TARGET_VOCAB, BOS, EOS, cell=cell, units=8,
                    num_layers=num_layers, embedding_dim=6, bidirectional=bidirectional,
                    attention=attention, seed=3, **kwargs)
    model.build()
    # Larger output weights: far-from-uniform distributions make ties impossible and
    # differences between decoders visible.
    for variable in model.output_layer.weights if model.output_layer else []:
        variable.assign(variable * 8.0)
    return model


@pytest.mark.parametrize("cell, attention, bidirectional, num_layers", VARIANTS)
def test_stepwise_decoding_equals_teacher_forced_sequence(cell, attention, bidirectional,
                                                           num_layers):
    model = make(cell, attention, bidirectional, num_layers)
    full = model((SOURCE, TARGET)).numpy()
    memory = model.encode(SOURCE)
    states, steps = memory["states"], []
    for t in range(TARGET.shape[1]):
        logits, states, weights = model.decode_step(memory, tf.constant(TARGET[:, t]), states)
        steps.append(logits.numpy())
    np.testing.assert_allclose(np.stack(steps, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("cell, attention, bidirectional, num_layers", VARIANTS)
def test_beam_size_one_is_greedy(cell, attention, bidirectional, num_layers):
    model = make(cell, attention, bidirectional, num_layers)
    greedy = model.greedy_decode(SOURCE, 7)
    beam = model.beam_search(SOURCE, 7, 1)
    np.testing.assert_array_equal(beam["tokens"].numpy(), greedy["tokens"].numpy())
    np.testing.assert_array_equal(beam["reached_eos"].numpy(), greedy["reached_eos"].numpy())


def test_greedy_is_the_argmax_chain_and_stops_at_eos():
    model = make("gru", "luong")
    out = model.greedy_decode(SOURCE, 9)
    tokens = out["tokens"].numpy()
    for row in range(len(SOURCE)):
        prefix = [BOS]
        for t in range(tokens.shape[1]):
            logits = model((SOURCE[row:row + 1], np.array([prefix], np.int32)))[0, -1].numpy()
            logits[[0, BOS]] = -np.inf  # never emitted
            expected = int(np.argmax(logits))
            assert tokens[row, t] == expected
            if expected == EOS:
                assert not tokens[row, t + 1:].any()  # padding after <eos>
                assert out["reached_eos"].numpy()[row]
                break
            prefix.append(expected)


@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
def test_padding_never_changes_results(attention):
    model = make("lstm", attention, bidirectional=True)
    padded_source = np.pad(SOURCE, [(0, 0), (0, 3)])
    padded_target = np.pad(TARGET, [(0, 0), (0, 2)])
    base = model((SOURCE, TARGET)).numpy()
    np.testing.assert_allclose(model((padded_source, TARGET)).numpy(), base, atol=1e-5)
    np.testing.assert_allclose(model((padded_source, padded_target)).numpy()[:, :5], base,
                               atol=1e-5)
    # A sentence decoded alone, unpadded, as in a batch with longer ones.
    alone = model.greedy_decode(SOURCE[2:, :2], 7)["tokens"].numpy()[0]
    batched = model.greedy_decode(padded_source, 7)["tokens"].numpy()[2]
    np.testing.assert_array_equal(strip_special(alone, EOS), strip_special(batched, EOS))
    beam_alone = model.beam_search(SOURCE[2:, :2], 7, 3)["tokens"].numpy()[0]
    beam_batched = model.beam_search(padded_source, 7, 3)["tokens"].numpy()[2]
    np.testing.assert_array_equal(strip_special(beam_alone, EOS),
                                  strip_special(beam_batched, EOS))


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_weights_sum_to_one_over_valid_source_positions(attention):
    model = make("gru", attention, bidirectional=True, num_layers=2)
    _, weights = model.decode_sequence(model.encode(SOURCE), tf.constant(TARGET))
    weights = weights.numpy()
    assert weights.shape == (3, 5, 6)
    valid = (SOURCE != 0)[:, None, :]
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert (weights[~np.broadcast_to(valid, weights.shape)] == 0).all()
    assert (weights[np.broadcast_to(valid, weights.shape)] > 0).all()
    decoded = model.greedy_decode(SOURCE, 4)["attention"].numpy()
    np.testing.assert_allclose(decoded.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("cell, attention, bidirectional, num_layers", VARIANTS)
def test_gradient_reaches_every_weight(cell, attention, bidirectional, num_layers):
    model = make(cell, attention, bidirectional, num_layers, dropout=0.2)
    targets = np.concatenate([TARGET[:, 1:], np.full((3, 1), EOS, np.int32)], axis=1)
    with tf.GradientTape() as tape:
        loss, count = masked_loss(model((SOURCE, TARGET), training=True), targets)
        loss = loss / count
    grads = tape.gradient(loss, model.trainable_variables)
    for variable, grad in zip(model.trainable_variables, grads):
        assert grad is not None, variable.path
        assert float(tf.norm(tf.convert_to_tensor(grad))) > 0, variable.path


def test_reverse_source_reverses_the_valid_tokens():
    np.testing.assert_array_equal(reverse_valid(tf.constant([[1, 2, 3, 0], [4, 5, 0, 0]])),
                                  [[3, 2, 1, 0], [5, 4, 0, 0]])
    reversed_model = make("lstm", "none", reverse_source=True)
    plain = make("lstm", "none")
    plain.set_weights(reversed_model.get_weights())
    flipped = reverse_valid(tf.constant(SOURCE)).numpy()
    np.testing.assert_allclose(reversed_model((SOURCE, TARGET)).numpy(),
                               plain((flipped, TARGET)).numpy(), atol=1e-6)


def test_tied_embeddings_project_with_the_target_embedding():
    model = make("gru", "luong", tie_embeddings=True)
    assert not model.output_layer.weights  # the projection owns no weights
    readout = tf.random.normal((2, 6))
    expected = readout @ tf.transpose(model.target_embedding.embeddings) + model.output_bias
    np.testing.assert_allclose(model._logits(readout, False).numpy(), expected.numpy(),
                               atol=1e-5)


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_output_projection_is_float32_under_mixed_bfloat16(tie):
    # Keras's rule for the last layer: the logits come from float32 weights and
    # a float32 matmul of the (bfloat16) readout, not from bfloat16 copies.
    from seqkit import runs

    with runs.precision_policy("mixed_bfloat16"):
        model = make("gru", "luong", tie_embeddings=tie)
        assert model.output_layer.compute_dtype == "float32"
        readout = tf.cast(tf.random.stateless_normal((3, 6 if tie else 8), seed=[1, 2]),
                          tf.bfloat16)
        logits = model._logits(readout, False)
    assert logits.dtype == tf.float32
    if tie:
        weights, bias = model.target_embedding.embeddings, model.output_bias
        weights = tf.transpose(weights)
    else:
        weights, bias = model.output_layer.kernel, model.output_layer.bias
    inputs = tf.cast(readout, tf.float64)
    expected = inputs @ tf.cast(weights, tf.float64) + tf.cast(bias, tf.float64)
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    # What a projection with bfloat16 weights would give fails that comparison.
    rounded = tf.cast(tf.cast(weights, tf.bfloat16), tf.float64)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose((inputs @ rounded).numpy(),
                                   (inputs @ tf.cast(weights, tf.float64)).numpy(),
                                   rtol=1e-5, atol=1e-5)


def _sequence_log_prob(model, source, tokens):
    inputs = np.array([[BOS] + list(tokens[:-1])], np.int32)
    log_probs = tf.nn.log_softmax(model((source[None], inputs))[0]).numpy()
    return float(sum(log_probs[t, token] for t, token in enumerate(tokens)))


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_best_hypothesis_by_exhaustive_search(alpha):
    """With a beam wider than the hypothesis space, beam search is exact search."""
    model = Seq2Seq(SOURCE_VOCAB, 5, BOS, EOS, cell="gru", units=8, attention="luong", seed=3)
    model.build()
    words = [1, 3, 4]  # <unk>, <eos>, one word: everything but <pad> and <bos>
    max_length = 3
    for row in range(len(SOURCE)):
        source = SOURCE[row]
        candidates = []
        for length in range(1, max_length + 1):
            for tokens in itertools.product(words, repeat=length):
                ends = tokens[-1] == EOS
                if EOS in tokens[:-1] or (not ends and length < max_length):
                    continue
                score = _sequence_log_prob(model, source, tokens) / ((5 + length) / 6) ** alpha
                candidates.append((score, tokens))
        best_score, best = max(candidates)
        out = model.beam_search(source[None], max_length, 27, alpha)
        found = [t for t in out["tokens"].numpy()[0].tolist() if t != 0]
        assert tuple(found) == best
        assert out["scores"].numpy()[0] == pytest.approx(best_score, abs=1e-4)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="`attention`"):
        Seq2Seq(10, 10, 2, 3, attention="dot")
    with pytest.raises(ValueError, match="`eos_id`"):
        Seq2Seq(10, 10, 2, 10)
    with pytest.raises(ValueError, match="`cell`"):
        Seq2Seq(10, 10, 2, 3, cell="rnn")


def test_output_bias_starts_at_the_log_unigram_distribution():
    from seqkit.seq2seq import target_token_counts

    counts = target_token_counts([[4, 4, 5], [4]], TARGET_VOCAB, EOS)
    assert counts[4] == 3 and counts[5] == 1 and counts[EOS] == 2 and counts.sum() == 6
    for tie in (False, True):
        model = make("gru", "none", tie_embeddings=tie)
        model.initialize_output_bias(counts)
        bias = (model.output_bias if tie else model.output_layer.bias).numpy()
        np.testing.assert_allclose(bias, np.log((counts + 1) / (counts + 1).sum()), rtol=1e-6)
    with pytest.raises(ValueError, match="`token_counts`"):
        model.initialize_output_bias(np.ones(3))

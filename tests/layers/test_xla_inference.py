"""The XLA-compiled loops (``base.use_xla``) against the reference path and Keras.

Inside a ``tf.function`` an Elman layer runs its whole-sequence loops as XLA
kernels: at inference the forward loop, in training ``fused_rnn``'s forward and
backward loops. Outputs, final states and gradients must equal
``keras.layers.RNN(<seqkit cell>)`` (the cell's ``call`` stepped by Keras),
Keras's SimpleRNN and the plain-graph fused loop, with masks, ``go_backwards``,
initial and stateful states and dropout.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import layers
from seqkit.layers import base
from tests.layers import common


@pytest.fixture
def decisions(monkeypatch):
    """Every xla_inference decision taken while tracing, in order."""
    taken = []
    original = base.use_xla

    def recording(layer, sequences, training=False):
        taken.append(original(layer, sequences, training))
        return taken[-1]

    monkeypatch.setattr(base, "use_xla", recording)
    return taken


def traced(layer):
    @tf.function
    def call(x, **kwargs):
        return layer(x, **kwargs)

    return call


CASES = {
    "sequences": (dict(), dict()),
    "last_output": (dict(return_sequences=False), dict()),
    "mask_backwards_initial_state": (dict(go_backwards=True), dict(mask=True, initial=True)),
    "relu_mask": (dict(activation="relu"), dict(mask=True)),
}


@pytest.mark.parametrize("options, call", CASES.values(), ids=list(CASES))
def test_elman_xla_inference_matches_reference_and_keras(decisions, options, call):
    options = {"return_sequences": True, "return_state": True, **options}
    ours, theirs, reference = common.make_layers("elman", {}, options)
    args = dict(training=False)
    if call.get("mask"):
        args["mask"] = common.MASK
    if call.get("initial"):
        args["initial_state"] = common.initial_states("elman")
    x = common.inputs()
    actual = common.run(ours, x, call=traced(ours), **args)
    assert decisions and all(decisions), "the XLA loop was not taken"
    for other, name in ((reference, "reference path"), (theirs, "Keras")):
        expected = common.run(other, x, **args)
        common.assert_runs_close(actual, expected, f"XLA Elman inference vs {name}")


def test_elman_xla_inference_stateful_matches_keras(decisions):
    options = dict(stateful=True, return_sequences=True)
    ours, theirs, _ = common.make_layers("elman", {}, options)
    step_ours, step_theirs = traced(ours), traced(theirs)
    for seed in (1, 2):  # the state carried from call to call
        x = common.inputs(seed)
        np.testing.assert_allclose(np.asarray(step_ours(x, training=False)),
                                   np.asarray(step_theirs(x, training=False)),
                                   **common.TOLERANCE)
    for a, e in zip(ours.states, theirs.states):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), **common.TOLERANCE)
    assert decisions and all(decisions)


def test_bidirectional_elman_xla_matches_keras(decisions):
    ours = keras.layers.Bidirectional(layers.Elman(common.UNITS, return_sequences=True))
    theirs = keras.layers.Bidirectional(keras.layers.SimpleRNN(common.UNITS,
                                                               return_sequences=True))
    common.build(ours)
    weights = common.random_weights(ours, seed=4)
    ours.set_weights(weights)
    common.build(theirs, weights=weights)
    x = common.inputs()
    actual = common.run(ours, x, call=traced(ours), mask=common.MASK, training=False)
    expected = common.run(theirs, x, mask=common.MASK, training=False)
    common.assert_runs_close(actual, expected, "Bidirectional XLA Elman vs Keras")
    assert decisions and all(decisions)


def test_when_xla_is_not_used():
    x = tf.constant(common.inputs())
    results = {}

    @tf.function
    def probe(layer, x, training):
        results["decision"] = base.use_xla(layer, x, training=training)
        return x

    def decision(layer, x=x, training=False):
        probe(layer, x, training)
        return results.pop("decision")

    assert decision(layers.Elman(4)) is True
    # At inference matmul-bound cells keep TensorFlow's graph; so do custom activations.
    assert decision(layers.LSTM(4)) is False
    assert decision(layers.GRU(4)) is False
    assert decision(layers.Elman(4, activation=common.lecun_tanh)) is False

    def training_decision(layer):
        return decision(layer, training=True)

    # In training every kind compiles, unless an activation is custom.
    assert training_decision(layers.LSTM(4)) is True
    assert training_decision(layers.GRU(4)) is True
    assert training_decision(layers.Elman(4)) is True
    assert training_decision(layers.LSTM(4, recurrent_activation=common.lecun_tanh)) is False
    # Eager calls (would compile every call) and unknown time lengths (every length).
    assert base.use_xla(layers.Elman(4), x) is False
    found = []
    elman = layers.Elman(4)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3])])
    def dynamic(x):
        found.append(base.use_xla(elman, x))
        return x

    dynamic(x)
    assert found == [False]
    bf16 = layers.Elman(4, dtype="mixed_bfloat16")
    assert decision(bf16) is False


TRAINING_CASES = {
    "sequences": (dict(), dict()),
    "mask_backwards_initial_state": (dict(go_backwards=True), dict(mask=True, initial=True)),
    "last_output_input_dropout": (dict(return_sequences=False, dropout=0.3, seed=2), dict()),
}


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("options, call", TRAINING_CASES.values(), ids=list(TRAINING_CASES))
def test_xla_training_matches_plain_graph_and_reference(monkeypatch, decisions, kind,
                                                       options, call):
    """Training inside tf.function: fused_rnn's loops under XLA, gradients included."""
    options = {"return_sequences": True, "return_state": True, **options}
    ours, theirs, reference = common.make_layers(kind, {}, options)
    args = dict(training=True)
    if call.get("mask"):
        args["mask"] = common.MASK
    if call.get("initial"):
        args["initial_state"] = common.initial_states(kind)
    x = common.inputs()
    actual = common.run(ours, x, call=traced(ours), **args)
    assert decisions and all(decisions), "the XLA loops were not taken"
    # A twin (same weights, same dropout seed, so the same draw) without XLA.
    twin, _, _ = common.make_layers(kind, {}, options)
    monkeypatch.setattr(base, "use_xla", lambda layer, sequences, training=False: False)
    plain = common.run(twin, x, call=traced(twin), **args)
    common.assert_runs_close(actual, plain, "XLA vs plain fused training loop")
    if not options.get("dropout"):
        for other, name in ((reference, "reference path"), (theirs, "Keras")):
            expected = common.run(other, x, **args)
            common.assert_runs_close(actual, expected, f"XLA {kind} training vs {name}")


def test_elman_xla_training_stateful_matches_keras(decisions):
    """Stateful training steps in tf.function (how model.fit runs), state carried."""
    ours, theirs, _ = common.make_layers("elman", {}, dict(stateful=True, return_sequences=True))

    def train_step(layer):
        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                outputs = layer(x, training=True)
                loss = tf.reduce_sum(outputs * common._probe(outputs.shape, 0))
            return outputs, tape.gradient(loss, layer.trainable_weights)

        return step

    step_ours, step_theirs = train_step(ours), train_step(theirs)
    for seed in (1, 2):
        x = common.inputs(seed)
        (mine, my_grads), (keras_, keras_grads) = step_ours(x), step_theirs(x)
        np.testing.assert_allclose(np.asarray(mine), np.asarray(keras_), **common.TOLERANCE)
        for a, e in zip(my_grads, keras_grads):
            np.testing.assert_allclose(np.asarray(a), np.asarray(e), **common.TOLERANCE)
    for a, e in zip(ours.states, theirs.states):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), **common.TOLERANCE)
    assert decisions and all(decisions)

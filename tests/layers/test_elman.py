"""seqkit.layers.Elman / ElmanCell against keras.layers.SimpleRNN, the reference path and NumPy."""

import keras
import pytest
import tensorflow as tf
import numpy as np

import seqkit.layers
from tests.layers import common


class TestElman(common.LayerContract):
    kind = "elman"
    variants = {
        "tanh": {},
        "relu_no_bias": dict(activation="relu", use_bias=False),
        "custom_activation": dict(activation=common.lecun_tanh),
    }


# The textbook vector: input weights [[0.5, 0.6]], recurrent weights
# [[0.1, 0.2], [0.3, 0.4]] (row form, state @ W), bias [0.1, -0.1], tanh, zero
# initial state, inputs 1 then 2; a Dense(1) with weights [[1.0], [2.0]], bias 0.1.
TEXTBOOK_WEIGHTS = [
    np.array([[0.5, 0.6]], "float32"),
    np.array([[0.1, 0.2], [0.3, 0.4]], "float32"),
    np.array([0.1, -0.1], "float32"),
]
TEXTBOOK_INPUTS = np.array([[[1.0], [2.0]]], "float32")
TEXTBOOK_STATES = [[0.53704957, 0.46211716], [0.85973818, 0.88366641]]
TEXTBOOK_OUTPUTS = [1.56128388, 2.72707101]


def test_textbook_vector():
    for rnn in (
        seqkit.layers.Elman(2, return_sequences=True),
        keras.layers.RNN(seqkit.layers.ElmanCell(2), return_sequences=True),  # reference path
    ):
        common.build(rnn, shape=(1, 2, 1), weights=TEXTBOOK_WEIGHTS)
        dense = keras.layers.Dense(1)
        dense.build((None, 2))
        dense.set_weights([np.array([[1.0], [2.0]], "float32"), np.array([0.1], "float32")])
        states = np.asarray(rnn(TEXTBOOK_INPUTS))
        np.testing.assert_allclose(states[0], TEXTBOOK_STATES, rtol=0, atol=1e-6)
        np.testing.assert_allclose(
            np.asarray(dense(states))[0, :, 0], TEXTBOOK_OUTPUTS, rtol=0, atol=1e-6
        )


def assert_dropout_values(values, rate):
    """Inverted dropout: every entry is 0 (dropped) or 1/(1-rate) (kept), both occur."""
    dropped = values == 0
    np.testing.assert_allclose(values[~dropped], 1 / (1 - rate), rtol=1e-6)
    assert dropped.any() and not dropped.all()


def test_recurrent_dropout_mask_is_the_same_at_every_step():
    """Variational recurrent dropout: one mask on h_{t-1} for the whole sequence.

    Linear units, W = U = I, no bias, input 1 at step 0 and 0 after: then
    h_0 = 1 and h_t = (h_{t-1} ∘ m_t) · I, so with one mask m for all steps
    h_t = m^t (0, or (1/(1-p))^t on kept units). A fresh mask per step would
    zero more units as t grows.
    """
    units, rate = 32, 0.3
    layer = seqkit.layers.Elman(
        units, activation=None, use_bias=False, return_sequences=True,
        recurrent_dropout=rate, seed=8,
    )
    eye = np.eye(units, dtype="float32")
    common.build(layer, shape=(8, 6, units), weights=[eye, eye])
    x = np.zeros((8, 6, units), "float32")
    x[:, 0] = 1.0
    h = np.asarray(layer(x, training=True))
    np.testing.assert_array_equal(h[:, 0], 1.0)
    mask = h[:, 1]
    assert_dropout_values(mask, rate)
    for t in range(2, 6):
        np.testing.assert_allclose(h[:, t], mask**t, rtol=1e-5, atol=0)
    dropped = np.mean(mask == 0)
    assert abs(dropped - rate) < 0.1, dropped  # 256 draws: std 0.03
    np.testing.assert_allclose(np.asarray(layer(x)), np.broadcast_to(x[:, :1], x.shape))


def test_input_dropout_keeps_expected_value():
    """Dropped inputs are zeroed and kept ones scaled by 1/(1-p) (inverted dropout)."""
    units, rate = 32, 0.3
    layer = seqkit.layers.Elman(
        units, activation=None, use_bias=False, return_sequences=True, dropout=rate, seed=9
    )
    eye = np.eye(units, dtype="float32")
    common.build(layer, shape=(8, 3, units), weights=[eye, np.zeros_like(eye)])
    h = np.asarray(layer(np.ones((8, 3, units), "float32"), training=True))
    assert_dropout_values(h, rate)
    assert abs(np.mean(h[:, 0] == 0) - rate) < 0.1


class _GainElmanCell(seqkit.layers.ElmanCell):
    """h_t = tanh(g ∘ (x_t·W + h_{t-1}·U + b)): an Elman cell with one extra weight,
    the gain g [units], read inside ``gates`` (like a peephole kernel)."""

    def build(self, input_shape):
        super().build(input_shape)
        self.gain = self.add_weight(shape=(self.units,), name="gain", initializer="ones")

    def gates(self, projected, states, training=False, recurrent=None):
        (hidden_prev,) = states
        (pre_activation,) = self.pre_activations(projected, hidden_prev, training, recurrent)
        pre_activation = self.gain * pre_activation
        return seqkit.layers.elman.ElmanGates(
            pre_activation=pre_activation, hidden=self.activation(pre_activation)
        )

    def step_weights(self):
        return [self.gain]


class _GainElman(seqkit.layers.base.RecurrentLayer):
    pass


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "graph"])
@pytest.mark.parametrize("masked, go_backwards", [(False, False), (True, True)])
def test_fused_path_returns_gradients_of_step_weights(graph, masked, go_backwards):
    """A weight a cell reads inside ``gates`` (listed by ``step_weights``) gets the
    same gradient from the fused loop as from the per-step reference path."""
    x = common.inputs()
    mask = None
    if masked:
        mask = np.ones(x.shape[:2], bool)
        mask[0, -2:] = False  # right padding
        mask[1, :1] = False
    rng = np.random.default_rng(5)
    weights = None
    results = []
    for fused_path in (True, False):
        cell = _GainElmanCell(common.UNITS)
        layer = _GainElman(cell, name="gain_elman", return_sequences=True, go_backwards=go_backwards,
                           unroll=not fused_path)
        layer(x)
        if weights is None:
            weights = [rng.uniform(-0.8, 0.8, w.shape).astype("float32")
                       for w in layer.get_weights()]
        layer.set_weights(weights)
        probe = tf.constant(rng.uniform(-1, 1, (x.shape[0], x.shape[1], cell.units)),
                            "float32") if not results else results[0][2]

        def loss():
            with tf.GradientTape() as tape:
                outputs = layer(x, mask=mask, training=True)
                value = tf.reduce_sum(outputs * probe)
            return outputs, tape.gradient(value, layer.trainable_weights)

        outputs, grads = (tf.function(loss) if graph else loss)()
        results.append((outputs, grads, probe))
    (fast_out, fast_grads, _), (ref_out, ref_grads, _) = results
    assert [w.name for w in layer.trainable_weights][-1] == "gain"
    np.testing.assert_allclose(fast_out, ref_out, atol=1e-5)
    for fast, ref in zip(fast_grads, ref_grads):
        assert fast is not None
        np.testing.assert_allclose(fast, ref, atol=1e-5)
    assert np.abs(ref_grads[-1]).max() > 1e-3  # the gain's gradient is not trivially zero

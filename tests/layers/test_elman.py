"""seqkit.layers.Elman / ElmanCell against keras.layers.SimpleRNN, the reference path and NumPy."""

import keras
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

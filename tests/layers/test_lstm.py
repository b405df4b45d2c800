"""seqkit.layers.LSTM / LSTMCell against keras.layers.LSTM, the reference path and NumPy."""

import numpy as np

import seqkit.layers
from tests.layers import common


class TestLSTM(common.LayerContract):
    kind = "lstm"
    variants = {
        "default": {},
        "no_forget_bias_softsign": dict(
            unit_forget_bias=False, activation="softsign", recurrent_activation="hard_sigmoid"
        ),
        "no_bias_custom_activation": dict(use_bias=False, activation=common.lecun_tanh),
    }


def test_unit_forget_bias_starts_forget_gate_at_one():
    for unit_forget_bias, forget in ((True, 1.0), (False, 0.0)):
        layer = common.build(seqkit.layers.LSTM(3, unit_forget_bias=unit_forget_bias))
        bias = layer.get_weights()[2]
        expected = np.zeros(12, "float32")
        expected[3:6] = forget  # columns [i, f, c, o]
        np.testing.assert_array_equal(bias, expected)

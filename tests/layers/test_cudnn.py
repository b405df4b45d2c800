"""``use_cudnn``: the dispatch decision (``seqkit.layers.base.cudnn_eligible``) and its wiring.

There is no GPU here, so the decision is tested as a pure function (``gpu=True``
stands for "a GPU is there") against a table and against Keras's own rule
(``keras.src.backend.tensorflow.rnn._do_lstm_arguments_support_cudnn`` /
``_do_gru_arguments_support_cudnn`` plus its layers' "no recurrent dropout");
the wiring (same weights handed to Keras's cuDNN entry points, the run-time
right-padding check, the fallback) with a stand-in for those entry points that
computes Keras's own non-cuDNN LSTM/GRU.
"""
import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import layers
from seqkit.layers import base
from tests.layers import common

try:
    # The module (``from ... import rnn`` would give its function of that name).
    keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
except ImportError:  # another Keras layout: the table below still holds
    keras_tf_rnn = None

# (layer class, arguments, training) -> (eligible on a GPU, reason)
TABLE = [
    (layers.LSTM, {}, False, True, ""),
    (layers.LSTM, {}, True, True, ""),
    (layers.LSTM, dict(use_cudnn=True), False, True, ""),
    (layers.LSTM, dict(use_cudnn=False), False, False, "use_cudnn=False"),
    (layers.LSTM, dict(dropout=0.3), True, True, ""),  # input dropout: masked inputs
    (layers.LSTM, dict(recurrent_dropout=0.3), False, False, "recurrent_dropout > 0"),
    (layers.LSTM, dict(activation="relu"), False, False, "activation is not tanh"),
    (layers.LSTM, dict(activation=keras.activations.tanh), False, True, ""),
    (layers.LSTM, dict(recurrent_activation="hard_sigmoid"), False, False,
     "recurrent_activation is not sigmoid"),
    (layers.LSTM, dict(unroll=True), False, False, "unroll=True"),
    (layers.LSTM, dict(use_bias=False), False, False, "use_bias=False"),
    (layers.LSTM, dict(use_peepholes=True), False, False, "use_peepholes=True"),
    (layers.LSTM, dict(implementation=1), False, True, ""),
    (layers.LSTM, dict(implementation=1, dropout=0.2), True, False,
     "per-gate input dropout masks (implementation=1 with dropout)"),
    (layers.LSTM, dict(implementation=1, dropout=0.2), False, True, ""),
    (layers.LSTM, dict(go_backwards=True, stateful=True, return_sequences=True), False,
     True, ""),
    (layers.GRU, {}, False, True, ""),
    (layers.GRU, dict(reset_after=False), False, False, "reset_after=False"),
    (layers.GRU, dict(use_bias=False), False, False, "use_bias=False"),
    (layers.GRU, dict(recurrent_dropout=0.1), True, False, "recurrent_dropout > 0"),
    (layers.GRU, dict(activation="softsign"), False, False, "activation is not tanh"),
    (layers.Elman, {}, False, False, "Elman has no cuDNN kernel"),
]


def _name(arguments):
    """A test id without object addresses (pytest-xdist workers must agree on ids)."""
    return ",".join(f"{key}={getattr(value, '__name__', value)}"
                    for key, value in arguments.items()) or "defaults"


@pytest.mark.parametrize("layer_class, arguments, training, eligible, reason", TABLE,
                         ids=[f"{row[0].__name__}-{_name(row[1])}-{row[2]}" for row in TABLE])
def test_decision_table(layer_class, arguments, training, eligible, reason):
    layer = layer_class(4, **arguments)
    assert base.cudnn_eligible(layer, training, gpu=True) == (eligible, reason)
    # Without a GPU nothing is eligible; a kind without a kernel says so first.
    expected = "no GPU" if eligible else reason
    assert base.cudnn_eligible(layer, training, gpu=False) == (False, expected)
    if not tf.config.list_logical_devices("GPU"):
        assert base.cudnn_eligible(layer, training) == (False, expected)


@pytest.mark.skipif(keras_tf_rnn is None, reason="Keras's TensorFlow rnn module moved")
@pytest.mark.parametrize("layer_class, keras_class", [
    (layers.LSTM, keras.layers.LSTM), (layers.GRU, keras.layers.GRU)])
@pytest.mark.parametrize("arguments", [
    {}, dict(activation="relu"), dict(activation="tanh", recurrent_activation="tanh"),
    dict(recurrent_activation="hard_sigmoid"), dict(unroll=True), dict(use_bias=False),
    dict(recurrent_dropout=0.2), dict(dropout=0.2), dict(use_cudnn=False),
    dict(reset_after=False), dict(activation=keras.ops.tanh),
], ids=_name)
def test_decision_agrees_with_keras(layer_class, keras_class, arguments):
    """For every argument Keras's layers have, seqkit decides as Keras does."""
    if "reset_after" in arguments and layer_class is not layers.GRU:
        pytest.skip("LSTM has no reset_after")
    theirs = keras_class(4, **arguments)
    cell = theirs.cell
    if layer_class is layers.GRU:
        supported = keras_tf_rnn._do_gru_arguments_support_cudnn(
            cell.activation, cell.recurrent_activation, theirs.unroll, cell.use_bias,
            cell.reset_after)
    else:
        supported = keras_tf_rnn._do_lstm_arguments_support_cudnn(
            cell.activation, cell.recurrent_activation, theirs.unroll, cell.use_bias)
    # Keras's inner_loop: use_cudnn "auto"/True and no recurrent dropout, then cudnn_ok.
    keras_takes_cudnn = (theirs.use_cudnn in ("auto", True)
                         and not theirs.recurrent_dropout and supported)
    for training in (False, True):
        eligible, _ = base.cudnn_eligible(layer_class(4, **arguments), training, gpu=True)
        assert eligible == keras_takes_cudnn


@pytest.mark.parametrize("mask, padded", [
    ([[1, 1, 0], [1, 1, 1]], True),
    ([[1, 0, 0]], True),
    ([[0, 1, 1]], False),  # left padding
    ([[1, 0, 1]], False),  # a hole
    ([[1, 1, 1], [0, 0, 0]], False),  # a fully masked row (cuDNN fails on it)
])
def test_right_padding_check(mask, padded):
    assert bool(base._right_padded(tf.constant(np.array(mask, bool)))) is padded


class _StandIn:
    """Keras's cuDNN entry points (rnn.lstm / rnn.gru), computed by Keras's own loop.

    Records every call, so a test can see that the weights handed over are the
    seqkit cell's variables.
    """

    def __init__(self):
        self.calls = []

    def _run(self, keras_class, inputs, initial_state, mask, kind_arguments, kernel,
             recurrent_kernel, bias, return_sequences, go_backwards, **_):
        self.calls.append(dict(kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias))
        units = int(recurrent_kernel.shape[0])
        twin = keras_class(units, use_cudnn=False, return_sequences=True, return_state=True,
                           go_backwards=go_backwards, **kind_arguments)
        twin.build(inputs.shape)
        twin.set_weights([np.asarray(kernel), np.asarray(recurrent_kernel), np.asarray(bias)])
        outputs, *states = twin(inputs, initial_state=initial_state, mask=mask)
        if mask is not None:  # cuDNN's outputs at padded steps are zeros
            outputs = outputs * tf.cast(mask, outputs.dtype)[:, :, None]
        last = outputs[:, -1] if mask is None else states[0]
        if not return_sequences:
            outputs = last[:, None]
        return last, outputs, states

    def lstm(self, inputs, h, c, mask, **arguments):
        return self._run(keras.layers.LSTM, inputs, [h, c], mask, {}, **arguments)

    def gru(self, inputs, h, mask, reset_after=True, **arguments):
        return self._run(keras.layers.GRU, inputs, [h], mask, {"reset_after": reset_after},
                         **arguments)


@pytest.fixture
def fake_gpu(monkeypatch):
    """cudnn_eligible sees a GPU, and Keras's cuDNN functions are the stand-in."""
    stand_in = _StandIn()
    monkeypatch.setattr(base, "gpu_available", lambda: True)
    monkeypatch.setattr(keras_tf_rnn, "lstm", stand_in.lstm)
    monkeypatch.setattr(keras_tf_rnn, "gru", stand_in.gru)
    return stand_in


@pytest.mark.skipif(keras_tf_rnn is None, reason="Keras's TensorFlow rnn module moved")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_eligible_layer_hands_its_weights_to_keras_cudnn(fake_gpu, kind, return_sequences):
    spec = common.KINDS[kind]
    options = dict(return_sequences=return_sequences, return_state=True)
    ours = common.build(spec.layer(common.UNITS, **options))
    ours.set_weights(common.random_weights(ours))
    x = common.inputs()
    result = ours(x)
    assert len(fake_gpu.calls) == 1
    call = fake_gpu.calls[0]
    assert call["kernel"] is ours.cell.kernel
    assert call["recurrent_kernel"] is ours.cell.recurrent_kernel
    assert call["bias"] is ours.cell.bias
    # The stand-in computes Keras's loop, so the numbers are seqkit's own loop's.
    plain = common.build(spec.layer(common.UNITS, use_cudnn=False, **options),
                         weights=ours.get_weights())
    for actual, expected in zip(result, plain(x)):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected),
                                   **common.TOLERANCE)


@pytest.mark.skipif(keras_tf_rnn is None, reason="Keras's TensorFlow rnn module moved")
@pytest.mark.parametrize("mask_kind", ["right_padded", "left_padded"])
def test_auto_checks_the_mask_at_run_time(fake_gpu, mask_kind):
    """"auto" with a mask: cuDNN for right padding, seqkit's loop for any other mask."""
    mask = np.ones((common.BATCH, common.TIME), bool)
    if mask_kind == "right_padded":
        mask[0, 4:] = mask[3, 2:] = False
    else:
        mask[0, :2] = False
    ours = common.build(layers.LSTM(common.UNITS, return_sequences=False, return_state=True))
    ours.set_weights(common.random_weights(ours))
    plain = common.build(
        layers.LSTM(common.UNITS, use_cudnn=False, return_sequences=False, return_state=True),
        weights=ours.get_weights())
    x = common.inputs()
    result = ours(x, mask=mask)
    # Eager tf.cond runs one branch: cuDNN's only for the right-padded mask.
    assert len(fake_gpu.calls) == (1 if mask_kind == "right_padded" else 0)
    for actual, expected in zip(result, plain(x, mask=mask)):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected),
                                   **common.TOLERANCE)


def test_use_cudnn_true_where_not_eligible_raises_naming_the_reason(fake_gpu):
    layer = common.build(layers.LSTM(common.UNITS, use_cudnn=True, recurrent_dropout=0.2))
    with pytest.raises(ValueError, match=r"use_cudnn=True.*recurrent_dropout > 0.*'auto'"):
        layer(common.inputs(), training=True)
    assert not fake_gpu.calls
    # "auto" falls back to seqkit's loop instead.
    auto = common.build(layers.LSTM(common.UNITS, recurrent_dropout=0.2))
    assert np.asarray(auto(common.inputs(), training=True)).shape == (common.BATCH, common.UNITS)
    assert not fake_gpu.calls

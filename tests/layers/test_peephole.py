"""The peephole LSTM (``use_peepholes=True``) against NumPy, an independent TF loop and itself.

Keras has no peephole LSTM to compare with, so the references are:

* the equations of Gers & Schmidhuber (2000) in NumPy (float64), outputs and
  final states; gradients by central differences of that NumPy function;
* the same equations as a separate TensorFlow loop written here (gradients by
  TensorFlow's autodiff of that loop);
* the reference path (``keras.layers.RNN`` stepping the cell's ``call``) against
  the layer's fast path, including dropout, where the masks are random.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit.layers
from seqkit import builders
from seqkit.inspect import gate_trace
from tests.layers import common

BATCH, TIME, FEATURES, UNITS = common.BATCH, common.TIME, common.FEATURES, common.UNITS
TOLERANCE = common.TOLERANCE


def np_peephole_step(weights, x, states):
    """One step in NumPy, row form with Keras's gate columns [i, f, c, o]."""
    h, c_prev = states
    kernel, recurrent_kernel, bias, peephole = weights
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    z_i, z_f, z_c, z_o = np.split(x @ kernel + h @ recurrent_kernel + bias, 4, axis=-1)
    p_i, p_f, p_o = peephole
    i = sigmoid(z_i + p_i * c_prev)
    f = sigmoid(z_f + p_f * c_prev)
    c = f * c_prev + i * np.tanh(z_c)
    o = sigmoid(z_o + p_o * c)
    h = o * np.tanh(c)
    return h, [h, c]


def np_peephole_rnn(weights, x, states, mask=None, go_backwards=False):
    return common.np_rnn(
        lambda x_t, s: np_peephole_step(weights, x_t, s), x, states, mask, go_backwards
    )


def make_layer(weight_seed=2, **options):
    layer = common.build(
        seqkit.layers.LSTM(
            UNITS, use_peepholes=True, return_sequences=True, return_state=True, **options
        )
    )
    layer.set_weights(common.random_weights(layer, weight_seed))
    return layer


def reference_of(layer, **options):
    """keras.layers.RNN stepping the same cell's ``call`` (the reference path)."""
    rnn_options = {k: v for k, v in options.items() if k in common.RNN_ARGUMENTS}
    cell_options = {k: v for k, v in options.items() if k not in common.RNN_ARGUMENTS}
    reference = keras.layers.RNN(
        seqkit.layers.LSTMCell(UNITS, use_peepholes=True, **cell_options),
        return_sequences=True, return_state=True, **rnn_options,
    )
    return common.build(reference, weights=layer.get_weights())


CASES = {
    "plain": dict(options={}, mask=False, initial_state=False),
    "mask": dict(options={}, mask=True, initial_state=True),
    "go_backwards": dict(options=dict(go_backwards=True), mask=False, initial_state=True),
    "mask_backwards": dict(options=dict(go_backwards=True), mask=True, initial_state=False),
}


def _args(case_, training=True):
    return dict(
        initial_state=common.initial_states("lstm") if case_["initial_state"] else None,
        mask=common.MASK if case_["mask"] else None,
        training=training,
    )


@pytest.mark.parametrize("training", [True, False], ids=["fused", "inference"])
@pytest.mark.parametrize("case_", list(CASES.values()), ids=list(CASES))
def test_outputs_and_states_match_numpy(case_, training):
    layer = make_layer(**case_["options"])
    x, args = common.inputs(), _args(case_, training)
    actual = common.run(layer, x, **args).outputs
    states = args["initial_state"] or [np.zeros((BATCH, UNITS))] * 2
    outputs, final_states = np_peephole_rnn(
        layer.get_weights(), x, states, args["mask"], case_["options"].get("go_backwards", False)
    )
    for index, (a, e) in enumerate(zip(actual, [outputs, *final_states])):
        np.testing.assert_allclose(a, e, err_msg=f"output {index}", **TOLERANCE)


def _numpy_loss(weights, x, states, mask, go_backwards):
    outputs, final_states = np_peephole_rnn(weights, x, states, mask, go_backwards)
    return sum(
        np.sum(r * common._probe(r.shape, i)) for i, r in enumerate([outputs, *final_states])
    )


def _numpy_gradient(f, value, eps=1e-6):
    """Central differences of the float64 NumPy function (a re-derivation, not TF)."""
    value = np.asarray(value, np.float64)
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2 * eps)
    return grad


@pytest.mark.parametrize("case_", list(CASES.values()), ids=list(CASES))
def test_gradients_match_numpy(case_):
    """Gradients of the fused path (training) w.r.t. every weight, the inputs and
    the initial state equal central differences of the NumPy equations."""
    go_backwards = case_["options"].get("go_backwards", False)
    layer = make_layer(**case_["options"])
    x, args = common.inputs(), _args(case_, training=True)
    states = args["initial_state"] or [np.zeros((BATCH, UNITS), "float32")] * 2
    args["initial_state"] = states
    result = common.run(layer, x, **args)
    weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
    mask = args["mask"]

    def with_weight(index):
        return lambda w: _numpy_loss(
            weights[:index] + [w] + weights[index + 1:], x, states, mask, go_backwards
        )

    expected = {"inputs": _numpy_gradient(
        lambda v: _numpy_loss(weights, v, states, mask, go_backwards), x
    )}
    for index, weight in enumerate(layer.trainable_weights):
        expected[f"{index}:{weight.name}"] = _numpy_gradient(with_weight(index), weights[index])
    for index in range(2):
        def with_state(s, index=index):
            return _numpy_loss(
                weights, x, [s if j == index else states[j] for j in range(2)],
                mask, go_backwards,
            )
        expected[f"initial_state[{index}]"] = _numpy_gradient(with_state, states[index])
    assert list(result.gradients) == list(expected)
    assert "3:peephole_kernel" in expected
    assert np.abs(expected["3:peephole_kernel"]).max() > 1e-3  # the test can fail
    for name, e in expected.items():
        np.testing.assert_allclose(
            result.gradients[name], e, err_msg=f"d loss / d {name}", rtol=1e-4, atol=1e-5
        )


def tf_peephole_lstm(x, h, c, kernel, recurrent_kernel, bias, w_i_diag, w_f_diag, w_o_diag):
    """An independent TensorFlow peephole LSTM (TF1 LSTMCell's naming: w_*_diag)."""
    outputs = []
    for t in range(x.shape[1]):
        z = tf.matmul(x[:, t], kernel) + tf.matmul(h, recurrent_kernel) + bias
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        c = (tf.sigmoid(z_f + w_f_diag * c) * c
             + tf.sigmoid(z_i + w_i_diag * c) * tf.tanh(z_c))
        h = tf.sigmoid(z_o + w_o_diag * c) * tf.tanh(c)
        outputs.append(h)
    return tf.stack(outputs, axis=1), h, c


@pytest.mark.parametrize("training", [True, False], ids=["fused", "inference"])
def test_matches_independent_tensorflow_loop(training):
    layer = make_layer()
    x = tf.constant(common.inputs())
    h0, c0 = [tf.constant(s) for s in common.initial_states("lstm")]
    kernel, recurrent_kernel, bias, peephole = [tf.Variable(w) for w in layer.get_weights()]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, h0, c0])
        ours = layer(x, initial_state=[h0, c0], training=training)
        theirs = tf_peephole_lstm(
            x, h0, c0, kernel, recurrent_kernel, bias, peephole[0], peephole[1], peephole[2]
        )
        loss_ours = tf.add_n([tf.reduce_sum(r * common._probe(r.shape, i))
                              for i, r in enumerate(ours)])
        loss_theirs = tf.add_n([tf.reduce_sum(r * common._probe(r.shape, i))
                                for i, r in enumerate(theirs)])
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a, e, **TOLERANCE)
    grads_ours = tape.gradient(loss_ours, [x, h0, c0, *layer.trainable_weights])
    grads_theirs = tape.gradient(loss_theirs, [x, h0, c0, kernel, recurrent_kernel, bias, peephole])
    for a, e in zip(grads_ours, grads_theirs):
        np.testing.assert_allclose(a, e, **TOLERANCE)


@pytest.mark.parametrize(
    "options, masked",
    [
        (dict(dropout=0.3, recurrent_dropout=0.3, seed=11), True),
        (dict(dropout=0.4, seed=3, go_backwards=True), True),
        (dict(implementation=1, dropout=0.3, seed=7), False),
        ({}, True),
    ],
    ids=["dropout", "input_dropout_backwards", "implementation_1", "no_dropout"],
)
def test_fast_path_matches_reference_path(options, masked):
    layer = make_layer(**options)
    reference = reference_of(layer, **options)
    x = common.inputs()
    args = dict(
        initial_state=common.initial_states("lstm"),
        mask=common.MASK if masked else None, training=True,
    )
    actual = common.run(layer, x, **args)
    common.assert_runs_close(actual, common.run(reference, x, **args), "peephole fast vs reference")
    if options.get("dropout"):
        common.check_dropout_was_applied(layer, x, args, actual)


def test_graph_mode_gradients_match_reference_path():
    layer = make_layer()
    reference = reference_of(layer)
    x = common.inputs()
    args = dict(initial_state=common.initial_states("lstm"), mask=common.MASK, training=True)

    def traced(layer):
        return tf.function(lambda x, **kwargs: layer(x, **kwargs))

    common.assert_runs_close(
        common.run(layer, x, call=traced(layer), **args),
        common.run(reference, x, call=traced(reference), **args),
        "peephole in tf.function",
    )


@pytest.mark.parametrize("training", [True, False])
def test_zero_peepholes_equal_the_plain_lstm(training):
    """Zero peepholes are Keras's LSTM: the same math, so equal to float32 rounding
    (seqkit's loops add the same terms in another order than Keras's)."""
    peephole = seqkit.layers.LSTM(UNITS, use_peepholes=True, return_sequences=True,
                                  return_state=True)
    plain = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True)
    common.build(peephole)
    weights = common.random_weights(peephole)
    weights[3] = np.zeros((3, UNITS), "float32")
    peephole.set_weights(weights)
    common.build(plain, weights=weights[:3])
    x, mask = common.inputs(), common.MASK
    for a, e in zip(peephole(x, mask=mask, training=training), plain(x, mask=mask)):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-6)


def test_weights_default_zero_and_the_plain_lstm_is_unchanged():
    layer = common.build(seqkit.layers.LSTM(UNITS, use_peepholes=True))
    assert [w.name for w in layer.weights[:4]] == [
        "kernel", "recurrent_kernel", "bias", "peephole_kernel"
    ]
    assert layer.get_weights()[3].shape == (3, UNITS)
    np.testing.assert_array_equal(layer.get_weights()[3], 0.0)
    plain = common.build(seqkit.layers.LSTM(UNITS))
    assert len(plain.trainable_weights) == 3
    assert not hasattr(plain.cell, "peephole_kernel")
    assert plain.use_peepholes is False
    # A plain LSTM's config has no peephole keys, so Keras's LSTM can load it.
    assert not {k for k in plain.get_config() if "peephole" in k}
    assert "use_peepholes" in layer.get_config()


def test_initializer_regularizer_constraint():
    layer = common.build(seqkit.layers.LSTM(
        UNITS, use_peepholes=True, peephole_initializer="ones",
        peephole_regularizer=keras.regularizers.L2(0.5),
        peephole_constraint=keras.constraints.MaxNorm(0.1, axis=0),
    ))
    peephole = layer.get_weights()[3]
    np.testing.assert_array_equal(peephole, 1.0)
    layer(common.inputs())
    np.testing.assert_allclose(float(sum(layer.losses)), 0.5 * 3 * UNITS, rtol=1e-6)
    assert layer.cell.peephole_kernel.constraint is layer.cell.peephole_constraint


def test_bad_use_peepholes_is_named():
    with pytest.raises(ValueError, match="use_peepholes"):
        seqkit.layers.LSTM(UNITS, use_peepholes="yes")


def test_gate_trace_names_the_same_gates():
    layer = make_layer(go_backwards=False)
    x = common.inputs()
    trace = gate_trace(layer, x)
    assert trace._fields == ("input", "forget", "candidate", "cell", "output", "hidden")
    weights = layer.get_weights()
    h, c = np.zeros((BATCH, UNITS)), np.zeros((BATCH, UNITS))
    kernel, recurrent_kernel, bias, (p_i, p_f, p_o) = weights
    for t in range(TIME):
        z_i, z_f, z_c, z_o = np.split(x[:, t] @ kernel + h @ recurrent_kernel + bias, 4, -1)
        np.testing.assert_allclose(trace.candidate[:, t], np.tanh(z_c), **TOLERANCE)
        np.testing.assert_allclose(trace.forget[:, t], 1 / (1 + np.exp(-(z_f + p_f * c))),
                                   **TOLERANCE)
        np.testing.assert_allclose(trace.input[:, t], 1 / (1 + np.exp(-(z_i + p_i * c))),
                                   **TOLERANCE)
        h, (_, c) = np_peephole_step(weights, x[:, t], [h, c])
        np.testing.assert_allclose(trace.cell[:, t], c, **TOLERANCE)
        np.testing.assert_allclose(trace.output[:, t], 1 / (1 + np.exp(-(z_o + p_o * c))),
                                   **TOLERANCE)
        np.testing.assert_allclose(trace.hidden[:, t], h, **TOLERANCE)
    # The trace is what the layer computes: its outputs and final cell state.
    outputs, _, final_c = layer(x, training=False)
    np.testing.assert_allclose(trace.hidden, outputs, **TOLERANCE)
    np.testing.assert_allclose(trace.cell[:, -1], final_c, **TOLERANCE)


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input((TIME, FEATURES))
    layer = seqkit.layers.LSTM(UNITS, use_peepholes=True, return_sequences=True,
                               peephole_regularizer="l2")
    model = keras.Model(inputs, layer(inputs))
    model.set_weights(common.random_weights(model))
    path = tmp_path / "peephole.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[1].use_peepholes is True
    x = common.inputs()
    np.testing.assert_array_equal(loaded(x), model(x))
    for a, e in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, e)


def _seqkit_lstms(net):
    return [l for l in net._flatten_layers(include_self=False)
            if isinstance(l, seqkit.layers.LSTM)]


def test_builders_cell_kwargs():
    x = common.inputs()
    net = builders.stack("lstm", [UNITS, UNITS], use_peepholes=True, return_sequences=True)
    net(x)
    lstms = _seqkit_lstms(net)
    assert len(lstms) == 2 and all(l.use_peepholes for l in lstms)
    for index, lstm in enumerate(lstms):
        lstm.set_weights(common.random_weights(lstm, seed=index))
    def sequence(layer, inputs):
        out = layer(inputs, training=False)
        return out[0] if isinstance(out, (list, tuple)) else out

    expected = sequence(lstms[1], sequence(lstms[0], x))
    np.testing.assert_allclose(sequence(net, x), expected, **TOLERANCE)
    bi = builders.bidirectional("lstm", UNITS, use_peepholes=True)
    bi(x)
    assert [l.use_peepholes for l in _seqkit_lstms(bi)] == [True, True]


def test_language_model_with_peepholes_exports_and_reloads(tmp_path):
    from seqkit.data import text as text_data
    from seqkit.export import language_model as lm_export
    from seqkit.language_model import LanguageModel

    words = "<unk> <eos> the cat sat on mat . a dog".split()
    vocab = text_data.Vocabulary(words)
    model = LanguageModel(
        len(vocab), cell="lstm", num_layers=2, hidden_size=UNITS, init_scale=0.5, seed=1,
        cell_kwargs={"use_peepholes": True,
                     "peephole_initializer": {"class_name": "RandomNormal",
                                              "config": {"stddev": 1.0, "seed": 4}}},
    )
    model.build()
    lstms = _seqkit_lstms(model)
    assert len(lstms) == 2 and all(l.use_peepholes for l in lstms)
    assert np.abs(lstms[0].get_weights()[3]).max() > 0.1  # the peepholes do something
    tokens = np.array([[2, 3, 4, 5, 2, 6], [7, 8, 9, 0, 1, 2]], np.int32)
    logits, _ = model((tokens, model.initial_state(2)))
    path = lm_export.export_language_model(model, vocab, str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    score = loaded.signatures["score"](tokens=tf.constant(tokens))
    np.testing.assert_allclose(
        score["log_probs"], tf.nn.log_softmax(logits, axis=-1), **TOLERANCE
    )
    state = loaded.signatures["initial_state"](batch_size=tf.constant(2))
    for t in range(tokens.shape[1]):
        out = loaded.signatures["step"](tokens=tf.constant(tokens[:, t]), **state)
        state = {k: v for k, v in out.items() if k.startswith("state_")}
        np.testing.assert_allclose(
            tf.nn.log_softmax(out["logits"]), score["log_probs"][:, t], **TOLERANCE
        )

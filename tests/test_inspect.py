"""seqkit.inspect.gate_trace: the trace is what the layer computes, gate by gate."""

import doctest

import keras
import numpy as np
import pytest

import seqkit.inspect
import seqkit.layers
from seqkit.inspect import gate_trace
from tests.layers.common import BATCH, FEATURES, MASK, TIME, UNITS, build, inputs, random_weights

LAYERS = {
    "elman": lambda **kw: seqkit.layers.Elman(UNITS, **kw),
    "lstm": lambda **kw: seqkit.layers.LSTM(UNITS, **kw),
    "gru": lambda **kw: seqkit.layers.GRU(UNITS, **kw),
    "gru_reset_before": lambda **kw: seqkit.layers.GRU(UNITS, reset_after=False, **kw),
    "clockwork": lambda **kw: seqkit.layers.Clockwork(periods=[1, 2, 3], module_size=2, **kw),
}
FIELDS = {
    "elman": ("pre_activation", "hidden"),
    "lstm": ("input", "forget", "candidate", "cell", "output", "hidden"),
    "gru": ("update", "reset", "candidate", "hidden"),
    "gru_reset_before": ("update", "reset", "candidate", "hidden"),
}


def make(kind, weights_seed=2, **options):
    layer = build(LAYERS[kind](return_sequences=True, return_state=True, **options))
    layer.set_weights(random_weights(layer, seed=weights_seed))
    return layer


def random_states(layer, seed=3):
    rng = np.random.default_rng(seed)
    sizes = layer.cell.state_size
    sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
    states = [rng.normal(scale=0.5, size=(BATCH, size)).astype("float32") for size in sizes]
    if isinstance(layer, seqkit.layers.Clockwork):
        states[1] = np.zeros_like(states[1])  # the clock, not a free state
    return states


def in_input_order(sequence, layer):
    sequence = np.asarray(sequence)
    return sequence[:, ::-1] if layer.go_backwards else sequence


# --------------------------------------------------------------------------
# The trace equals the layer.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_hidden_is_the_layer_output(kind, go_backwards):
    layer = make(kind, go_backwards=go_backwards)
    x = inputs()
    output, *final_states = layer(x)
    trace = gate_trace(layer, x)
    if kind in FIELDS:
        assert trace._fields == FIELDS[kind]
    for field in trace._fields:
        assert getattr(trace, field).shape[:2] == (BATCH, TIME), field
    np.testing.assert_allclose(trace.hidden, in_input_order(output, layer), rtol=1e-5, atol=1e-6)
    last = 0 if go_backwards else -1
    np.testing.assert_allclose(trace.hidden[:, last], np.asarray(final_states[0]), atol=1e-6)
    if kind == "lstm":
        np.testing.assert_allclose(trace.cell[:, last], np.asarray(final_states[1]), atol=1e-6)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("kind", ["elman", "lstm", "gru", "clockwork"])
def test_mask_and_initial_state(kind, go_backwards):
    """Masked steps carry the state (NaN elsewhere); real steps equal the layer's."""
    layer = make(kind, go_backwards=go_backwards)
    x, states = inputs(), random_states(layer)
    output, *final_states = layer(x, initial_state=states, mask=MASK)
    trace = gate_trace(layer, x, initial_state=states, mask=MASK)
    output = in_input_order(output, layer)
    np.testing.assert_allclose(trace.hidden[MASK], output[MASK], rtol=1e-5, atol=1e-6)
    # At a masked step the hidden state is the one carried from the previous
    # processed step (the initial state before any real step).
    order = list(range(TIME))[::-1] if go_backwards else list(range(TIME))
    carried = states[0]
    for t in order:
        np.testing.assert_allclose(trace.hidden[~MASK[:, t], t], carried[~MASK[:, t]], atol=1e-6)
        carried = trace.hidden[:, t]
    np.testing.assert_allclose(carried, np.asarray(final_states[0]), atol=1e-6)
    state_fields = {"hidden", "cell", "clock"}
    for field in trace._fields:
        values = getattr(trace, field)
        if field not in state_fields:
            assert np.isnan(values[~MASK]).all(), field
        assert not np.isnan(values[MASK]).any(), field


def test_unbuilt_layer_is_built_and_agrees():
    layer = seqkit.layers.GRU(UNITS, return_sequences=True, go_backwards=True)
    x = inputs()
    trace = gate_trace(layer, x)
    assert layer.cell.built and len(layer.weights) == 3
    np.testing.assert_allclose(trace.hidden, np.asarray(layer(x))[:, ::-1], atol=1e-6)


def test_cell_and_keras_rnn_over_a_cell():
    cell = seqkit.layers.LSTMCell(UNITS)
    rnn = build(keras.layers.RNN(cell, return_sequences=True))
    rnn.set_weights(random_weights(rnn))
    x = inputs()
    expected = np.asarray(rnn(x))
    np.testing.assert_allclose(gate_trace(cell, x).hidden, expected, atol=1e-6)
    np.testing.assert_allclose(gate_trace(rnn, x).hidden, expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional(kind):
    bi = keras.layers.Bidirectional(LAYERS[kind](return_sequences=True), merge_mode=None)
    x = inputs()
    unbuilt = gate_trace(bi, x)  # builds the two directions
    bi.set_weights(random_weights(bi, seed=6))
    states = random_states(bi.forward_layer, seed=4) + random_states(bi.backward_layer, seed=5)
    forward, backward = bi(x, initial_state=states)
    trace = gate_trace(bi, x, initial_state=states)
    assert set(unbuilt) == set(trace) == {"forward", "backward"}
    np.testing.assert_allclose(trace["forward"].hidden, np.asarray(forward), atol=1e-6)
    # Bidirectional puts the backward sequence back in input order; so does the trace.
    np.testing.assert_allclose(trace["backward"].hidden, np.asarray(backward), atol=1e-6)


def test_stateful_layer_starts_from_its_states_and_keeps_them():
    layer = make("lstm", stateful=True)
    first, second = inputs(1), inputs(2)
    layer(first)
    before = [np.asarray(s) for s in layer.states]
    trace = gate_trace(layer, second)
    for state, kept in zip(layer.states, before):
        np.testing.assert_array_equal(np.asarray(state), kept)
    output, *_ = layer(second)
    np.testing.assert_allclose(trace.hidden, np.asarray(output), atol=1e-6)


def test_inference_mode_and_no_side_effects_on_dropout():
    """The trace runs without dropout, and leaves the dropout random state alone."""
    def dropping():
        return make("gru", dropout=0.5, recurrent_dropout=0.5, seed=7)

    traced, untouched = dropping(), dropping()
    x = inputs()
    trace = gate_trace(traced, x[:2])  # another batch size: no stale cached mask
    np.testing.assert_allclose(trace.hidden, np.asarray(traced(x[:2])[0]), atol=1e-6)
    traced, untouched = dropping(), dropping()
    gate_trace(traced, x[:2])
    np.testing.assert_array_equal(
        np.asarray(traced(x, training=True)[0]), np.asarray(untouched(x, training=True)[0])
    )


# --------------------------------------------------------------------------
# The equations hold on the traced arrays.
# --------------------------------------------------------------------------
def _previous(values, initial, go_backwards):
    """values[:, t-1] in processing order, the initial state before the first step."""
    if go_backwards:
        return np.concatenate([values[:, 1:], initial[:, None]], axis=1)
    return np.concatenate([initial[:, None], values[:, :-1]], axis=1)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_lstm_equations_hold(go_backwards):
    layer = make("lstm", go_backwards=go_backwards)
    h0, c0 = random_states(layer)
    t = gate_trace(layer, inputs(), initial_state=[h0, c0])
    cell_prev = _previous(t.cell, c0, go_backwards)
    np.testing.assert_allclose(t.cell, t.forget * cell_prev + t.input * t.candidate, atol=1e-6)
    np.testing.assert_allclose(t.hidden, t.output * np.tanh(t.cell), atol=1e-6)
    for gate in (t.input, t.forget, t.output):
        assert ((gate > 0) & (gate < 1)).all()
    assert (np.abs(t.candidate) < 1).all()


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_equations_hold(reset_after):
    layer = make("gru" if reset_after else "gru_reset_before")
    (h0,) = random_states(layer)
    t = gate_trace(layer, inputs(), initial_state=[h0])
    h_prev = _previous(t.hidden, h0, False)
    np.testing.assert_allclose(
        t.hidden, t.update * h_prev + (1 - t.update) * t.candidate, atol=1e-6
    )
    # The candidate from the traced reset gate, re-derived from the weights.
    kernel, recurrent_kernel, bias = layer.get_weights()
    x = inputs()
    x_h = x @ kernel[:, 2 * UNITS:]
    u_h = recurrent_kernel[:, 2 * UNITS:]
    if reset_after:
        pre = x_h + bias[0, 2 * UNITS:] + t.reset * (h_prev @ u_h + bias[1, 2 * UNITS:])
    else:
        pre = x_h + bias[2 * UNITS:] + (t.reset * h_prev) @ u_h
    np.testing.assert_allclose(t.candidate, np.tanh(pre), atol=1e-5)


def test_elman_equations_hold():
    layer = make("elman")
    (h0,) = random_states(layer)
    x = inputs()
    t = gate_trace(layer, x, initial_state=[h0])
    kernel, recurrent_kernel, bias = layer.get_weights()
    h_prev = _previous(t.hidden, h0, False)
    np.testing.assert_allclose(t.pre_activation, x @ kernel + h_prev @ recurrent_kernel + bias,
                               atol=1e-5)
    np.testing.assert_allclose(t.hidden, np.tanh(t.pre_activation), atol=1e-6)


def test_docstring_example():
    result = doctest.testmod(seqkit.inspect, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


# --------------------------------------------------------------------------
# Clear errors.
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.Dense(3),
        keras.layers.LSTM(3),
        keras.layers.RNN(keras.layers.GRUCell(3)),
        keras.layers.Bidirectional(keras.layers.LSTM(3)),
    ],
    ids=["dense", "keras_lstm", "keras_rnn", "bidirectional_keras_lstm"],
)
def test_not_a_seqkit_layer(layer):
    with pytest.raises(TypeError) as error:
        gate_trace(layer, inputs())
    message = str(error.value)
    assert "`layer" in message and "seqkit" in message
    assert type(getattr(layer, "forward_layer", layer)).__name__ in message


@pytest.mark.parametrize("shape", [(BATCH, FEATURES), (BATCH, TIME, FEATURES, 1)])
def test_inputs_of_wrong_rank(shape):
    with pytest.raises(ValueError) as error:
        gate_trace(seqkit.layers.LSTM(UNITS), np.zeros(shape, "float32"))
    assert "`inputs`" in str(error.value) and str(shape) in str(error.value)


def test_bad_feature_size_initial_state_and_mask():
    layer = make("lstm")
    x = inputs()
    with pytest.raises(ValueError, match=r"`inputs`.*built for 3 input features"):
        gate_trace(layer, inputs(shape=(BATCH, TIME, FEATURES + 1)))
    with pytest.raises(ValueError, match=r"`initial_state`.*got 1 of shapes \[\(5, 4\)\]"):
        gate_trace(layer, x, initial_state=[np.zeros((BATCH, UNITS), "float32")])
    with pytest.raises(ValueError, match=r"`initial_state`.*\(5, 3\)"):
        gate_trace(layer, x, initial_state=[np.zeros((BATCH, 3), "float32")] * 2)
    with pytest.raises(ValueError, match=rf"`mask`.*got \({BATCH}, {TIME - 1}\)"):
        gate_trace(layer, x, mask=np.ones((BATCH, TIME - 1), bool))

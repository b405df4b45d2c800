"""Tests of the Clockwork RNN: the equations, the two implementations, the Keras contract.

The core test is ``test_fast_equals_masked``: the fast schedule and the masked
reference give the same outputs, final states and gradients (inputs and every
weight) over several period sets, module sizes and the cases where the fast
schedule changes its bookkeeping (masks, go_backwards, a given clock). Both are
checked against a NumPy re-derivation of the equations and a hand-computed case.
"""

import numpy as np
import pytest
import tensorflow as tf

import keras
from seqkit.layers import CELLS, Clockwork, ClockworkCell
from seqkit.layers.clockwork import ClockworkGates

BATCH, STEPS, FEATURES = 4, 11, 3
# (periods, module_size): sorted, non-nested, repeated and unsorted periods.
PERIOD_SETS = [([1, 2, 4, 8], 2), ([1, 3, 7], 3), ([2, 2, 5], 1), ([4, 1, 2], 2)]
TOL = {"rtol": 1e-5, "atol": 1e-5}


# --------------------------------------------------------------------------
# The equations, re-derived in NumPy.
# --------------------------------------------------------------------------
def numpy_clockwork(
    x, kernel, recurrent_kernel, bias, periods, module_size, hidden0=None, clock0=None,
    mask=None, go_backwards=False, zero_output_for_mask=False, activation=np.tanh,
):
    """Outputs [batch, time, units] (in processing order, as Keras returns them),
    the final hidden state and the final clock (a plain step count)."""
    x = np.asarray(x, "float64")
    batch, steps, _ = x.shape
    unit_periods = np.repeat(periods, module_size)
    # Module j feeds module i iff T_j >= T_i (row = source unit, column = target).
    connected = recurrent_kernel * (unit_periods[:, None] >= unit_periods[None, :])
    hidden = np.zeros((batch, len(unit_periods)))
    if hidden0 is not None:
        hidden = np.asarray(hidden0, "float64")
    clock = np.zeros(batch) if clock0 is None else np.asarray(clock0, "float64").reshape(-1)
    valid = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    output = np.zeros_like(hidden)
    outputs = []
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        pre_activation = x[:, t] @ kernel + bias + hidden @ connected
        active = np.mod(clock[:, None], unit_periods) == 0
        stepped = np.where(active, activation(pre_activation), hidden)
        keep = valid[:, t, None]
        hidden = np.where(keep, stepped, hidden)
        clock = np.where(valid[:, t], clock + 1, clock)
        output = np.where(keep, stepped, 0.0 if zero_output_for_mask else output)
        outputs.append(output)
    return np.stack(outputs, axis=1), hidden, clock[:, None]


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------
def inputs(seed=0, batch=BATCH, steps=STEPS):
    return np.random.default_rng(seed).normal(size=(batch, steps, FEATURES)).astype("float32")


def masks():
    """Right padding, left padding, a fully masked row, holes: one per row."""
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 7:] = False
    mask[1, :4] = False
    mask[2, :] = False
    mask[3, [1, 4, 5, 9]] = False
    return mask


def weights_like(layer, seed=1):
    """Random weights, bias included (the initializer's zero bias would hide errors)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()]


def layer_pair(periods, module_size, **kwargs):
    """(fast, masked) Clockwork layers with the same random weights."""
    layers = []
    for implementation in ("fast", "masked"):
        layer = Clockwork(
            periods=periods, module_size=module_size, implementation=implementation, **kwargs
        )
        layer.build((BATCH, STEPS, FEATURES))
        layers.append(layer)
    weights = weights_like(layers[0])
    for layer in layers:
        layer.set_weights(weights)
    return layers


def run(layer, x, training=True, **call_kwargs):
    """Outputs, states and gradients (wrt inputs and every weight) as NumPy arrays.

    ``training=True`` by default: the fast schedule then runs its training loop
    (seqkit.layers.fused); without dropout the numbers must not change.
    """
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        results = layer(x, training=training, **call_kwargs)
        results = list(results) if isinstance(results, (list, tuple)) else [results]
        # Fixed random read-outs so that every entry of every result matters.
        rng = np.random.default_rng(7)
        loss = sum(
            tf.reduce_mean(r * rng.normal(size=r.shape[1:]).astype("float32")) for r in results[:2]
        )
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return [np.asarray(r) for r in results] + [np.asarray(tf.convert_to_tensor(g)) for g in grads]


def assert_all_close(first, second, names=None):
    assert len(first) == len(second)
    for index, (a, b) in enumerate(zip(first, second)):
        name = names[index] if names else index
        np.testing.assert_allclose(a, b, **TOL, err_msg=f"result {name} differs")


# --------------------------------------------------------------------------
# The equations.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("implementation", ["fast", "masked"])
def test_hand_checkable_constant_weights(implementation):
    # Two 1-unit modules, T = [1, 2]; linear; W = 1, U = 0.5 everywhere, b = 0;
    # x_t = 1. The slow unit reads only itself; the fast one reads both.
    #   t=0 both fire:  fast = 1 + 0                 = 1    slow = 1 + 0       = 1
    #   t=1 fast only:  fast = 1 + 0.5*1 + 0.5*1     = 2    slow holds           1
    #   t=2 both fire:  fast = 1 + 0.5*2 + 0.5*1     = 2.5  slow = 1 + 0.5*1   = 1.5
    #   t=3 fast only:  fast = 1 + 0.5*2.5 + 0.5*1.5 = 3    slow holds           1.5
    layer = Clockwork(
        periods=[1, 2], module_size=1, activation=None, implementation=implementation,
        kernel_initializer="ones",
        recurrent_initializer=keras.initializers.Constant(0.5),
        return_sequences=True, return_state=True,
    )
    outputs, hidden, clock = layer(np.ones((1, 4, 1), "float32"))
    expected = [[1.0, 1.0], [2.0, 1.0], [2.5, 1.5], [3.0, 1.5]]
    np.testing.assert_allclose(np.asarray(outputs)[0], expected)
    np.testing.assert_allclose(np.asarray(hidden)[0], [3.0, 1.5])
    np.testing.assert_allclose(np.asarray(clock), [[0.0]])  # 4 steps mod lcm(1, 2)


@pytest.mark.parametrize("implementation", ["fast", "masked"])
@pytest.mark.parametrize("periods,module_size", PERIOD_SETS)
@pytest.mark.parametrize(
    "case", ["plain", "masked_backwards", "masked_zero_output", "initial_state"]
)
def test_matches_numpy(periods, module_size, implementation, case):
    layer = Clockwork(
        periods=periods, module_size=module_size, implementation=implementation,
        return_sequences=True, return_state=True, go_backwards=case == "masked_backwards",
        zero_output_for_mask=case == "masked_zero_output",
    )
    x = inputs()
    layer.build(x.shape)
    layer.set_weights(weights_like(layer))
    kernel, recurrent_kernel, bias = layer.get_weights()
    call, reference = {}, {}
    if case.startswith("masked"):
        call["mask"] = reference["mask"] = masks()
        reference["go_backwards"] = case == "masked_backwards"
        reference["zero_output_for_mask"] = case == "masked_zero_output"
    if case == "initial_state":
        hidden0 = np.random.default_rng(3).normal(size=(BATCH, layer.units)).astype("float32")
        clock0 = np.array([[0.0], [1.0], [2.0], [5.0]], "float32")
        call["initial_state"] = [hidden0, clock0]
        reference.update(hidden0=hidden0, clock0=clock0)
    outputs, hidden, clock = layer(x, **call)
    expected_outputs, expected_hidden, expected_clock = numpy_clockwork(
        x, kernel, recurrent_kernel, bias, periods, module_size, **reference
    )
    np.testing.assert_allclose(np.asarray(outputs), expected_outputs, **TOL)
    np.testing.assert_allclose(np.asarray(hidden), expected_hidden, **TOL)
    np.testing.assert_allclose(np.asarray(clock), np.mod(expected_clock, layer.cycle))


def test_inactive_modules_hold_their_output():
    layer = Clockwork(periods=[1, 3, 4], module_size=2, return_sequences=True)
    outputs = np.asarray(layer(inputs(steps=13)))
    for module, period in enumerate(layer.periods):
        block = outputs[:, :, module * 2 : (module + 1) * 2]
        changed = np.any(block[:, 1:] != block[:, :-1], axis=(0, 2))  # step t vs t-1
        fires = np.arange(1, 13) % period == 0
        np.testing.assert_array_equal(changed, fires, err_msg=f"period {period}")


def test_gates_name_every_quantity():
    cell = ClockworkCell(periods=[1, 2, 3], module_size=2)
    cell.build((BATCH, FEATURES))
    states = cell.get_initial_state(batch_size=BATCH)
    np.testing.assert_array_equal(np.asarray(states[1]), np.zeros((BATCH, 1)))
    x = inputs()
    for t in range(7):
        values = cell.gates(cell.project_inputs(x[:, t]), states)
        assert isinstance(values, ClockworkGates)
        expected_active = np.repeat([t % 1 == 0, t % 2 == 0, t % 3 == 0], 2).astype("float32")
        np.testing.assert_array_equal(
            np.asarray(values.active), np.tile(expected_active, (BATCH, 1))
        )
        stepped = np.tanh(np.asarray(values.pre_activation))
        np.testing.assert_allclose(
            np.asarray(values.hidden),
            np.where(expected_active > 0, stepped, np.asarray(states[0])),
            rtol=1e-6,
        )
        states = cell.state_from_gates(values)
        np.testing.assert_array_equal(np.asarray(states[1]), np.full((BATCH, 1), (t + 1) % 6))


# --------------------------------------------------------------------------
# The fast schedule computes the masked reference's numbers.
# --------------------------------------------------------------------------
CASES = {
    # name: (layer kwargs, call kwargs)
    "plain": ({}, {}),
    "right_left_holes_and_empty_rows": ({}, {"mask": masks()}),
    "go_backwards": ({"go_backwards": True}, {}),
    "go_backwards_masked": ({"go_backwards": True}, {"mask": masks()}),
    "zero_output_for_mask": ({"zero_output_for_mask": True}, {"mask": masks()}),
    # Random hidden state; clocks 0, 3, 25, 6 shift every row's ticks differently.
    "initial_state_with_clock": ({}, {"initial_state": "random"}),
    "initial_state_masked": ({}, {"initial_state": "random", "mask": masks()}),
    "last_output_only": ({"return_sequences": False}, {"mask": masks()}),
    "unroll": ({"unroll": True}, {}),
}


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("periods,module_size", PERIOD_SETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_equals_masked(periods, module_size, case, training):
    layer_kwargs, call_kwargs = CASES[case]
    layer_kwargs = {"return_sequences": True, "return_state": True, **layer_kwargs}
    fast, masked = layer_pair(periods, module_size, **layer_kwargs)
    call_kwargs = dict(call_kwargs)
    if "initial_state" in call_kwargs:
        rng = np.random.default_rng(5)
        # Row 2 is fully masked in the masked case: it keeps even a clock past
        # the cycle, as the step loop does.
        clock0 = np.array([[0.0], [3.0], [25.0], [6.0]], "float32")
        call_kwargs["initial_state"] = [
            rng.normal(size=(BATCH, fast.units)).astype("float32"), clock0
        ]
    names = ["output", "hidden", "clock", "d_inputs", "d_kernel", "d_recurrent_kernel", "d_bias"]
    assert_all_close(
        run(fast, inputs(), training, **call_kwargs),
        run(masked, inputs(), training, **call_kwargs),
        names,
    )


def test_fast_equals_masked_larger_modules_and_long_sequence():
    fast, masked = layer_pair([1, 2, 4, 8, 16], 16, return_sequences=True, return_state=True)
    x = inputs(steps=70)
    assert_all_close(run(fast, x), run(masked, x))


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_padding_is_never_computed(training):
    # Linear units with large weights: anything computed on the 57 padded steps
    # would overflow, and inf · 0 would make the gradients NaN.
    fast, masked = layer_pair([1, 2], 3, activation=None, return_sequences=True)
    weights = fast.get_weights()
    weights[1] = weights[1] * 40.0
    for layer in (fast, masked):
        layer.set_weights(weights)
    x = inputs(steps=60)
    mask = np.zeros((BATCH, 60), bool)
    mask[:, :3] = True
    results = run(fast, x, training, mask=mask)
    assert all(np.isfinite(r).all() for r in results)
    assert_all_close(results, run(masked, x, training, mask=mask))


@pytest.mark.parametrize("implementation", ["fast", "masked"])
def test_unused_blocks_get_zero_gradient(implementation):
    layer = Clockwork(periods=[3, 1, 2], module_size=2, implementation=implementation)
    *_, d_recurrent_kernel, _ = run(layer, inputs(), mask=masks())
    unused = layer.cell.connection_mask == 0
    assert unused.any()
    np.testing.assert_array_equal(d_recurrent_kernel[unused], 0.0)
    # Every used block learns something (a block that is never read would too).
    for source in range(3):
        for target in range(3):
            if layer.periods[source] >= layer.periods[target]:
                block = d_recurrent_kernel[source * 2 : source * 2 + 2, target * 2 : target * 2 + 2]
                assert np.abs(block).max() > 0, (source, target)


# --------------------------------------------------------------------------
# The Keras contract.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("mask_first_batch", [False, True])
def test_stateful_carries_hidden_state_and_clock(mask_first_batch):
    fast, masked = layer_pair([1, 2, 5], 2, stateful=True, return_sequences=True)
    first, second = inputs(seed=1, steps=7), inputs(seed=2, steps=6)
    first_mask = masks()[:, :7] if mask_first_batch else None
    results = {}
    for layer in (fast, masked):
        # Each run: outputs, then gradients wrt inputs and weights.
        first_results = run(layer, first, mask=first_mask)
        second_results = run(layer, second)
        results[layer.implementation] = (
            first_results + second_results, [np.asarray(s) for s in layer.states]
        )
    assert_all_close(results["fast"][0], results["masked"][0])
    assert_all_close(results["fast"][1], results["masked"][1])
    second_outputs = results["fast"][0][len(first_results)]
    clock = results["fast"][1][1]
    valid_steps = 7 + 6 if first_mask is None else first_mask.sum(1, keepdims=True) + 6
    np.testing.assert_array_equal(clock, np.mod(valid_steps, 10))
    if not mask_first_batch:
        # Two stateful batches == one batch of the joined sequence.
        whole = Clockwork(periods=[1, 2, 5], module_size=2, return_sequences=True)
        whole.build((BATCH, 13, FEATURES))
        whole.set_weights(fast.get_weights())
        joined = np.asarray(whole(np.concatenate([first, second], axis=1)))
        np.testing.assert_allclose(second_outputs, joined[:, 7:], **TOL)
    fast.reset_state()
    for state in fast.states:
        np.testing.assert_array_equal(np.asarray(state), 0.0)


@pytest.mark.parametrize("implementation", ["fast", "masked"])
def test_initial_state_may_be_the_hidden_state_alone(implementation):
    layer = Clockwork(
        periods=[1, 2, 3], module_size=2, implementation=implementation, return_state=True
    )
    hidden0 = np.random.default_rng(2).normal(size=(BATCH, 6)).astype("float32")
    with_clock = layer(inputs(), initial_state=[hidden0, np.zeros((BATCH, 1), "float32")])
    for given in (hidden0, [hidden0]):
        assert_all_close([np.asarray(r) for r in layer(inputs(), initial_state=given)],
                         [np.asarray(r) for r in with_clock])
    assert not np.allclose(np.asarray(layer(inputs())[0]), np.asarray(with_clock[0]))


def test_bidirectional_fast_equals_masked():
    wrapped = []
    for implementation in ("fast", "masked"):
        layer = keras.layers.Bidirectional(
            Clockwork(periods=[1, 3, 2], module_size=2, implementation=implementation,
                      return_sequences=True)
        )
        layer.build((BATCH, STEPS, FEATURES))
        wrapped.append(layer)
    assert wrapped[0].backward_layer.go_backwards
    assert wrapped[0].backward_layer.implementation == "fast"
    weights = weights_like(wrapped[0])
    for layer in wrapped:
        layer.set_weights(weights)
    mask = masks()
    mask[2, :2] = True  # Bidirectional zeroes masked outputs; keep a row non-empty
    assert_all_close(run(wrapped[0], inputs(), mask=mask), run(wrapped[1], inputs(), mask=mask))


def test_keras_rnn_over_the_cell_is_the_masked_layer():
    layer = Clockwork(periods=[2, 1], module_size=3, implementation="masked", return_sequences=True)
    layer.build((BATCH, STEPS, FEATURES))
    layer.set_weights(weights_like(layer))
    cell = ClockworkCell(periods=[2, 1], module_size=3)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    rnn.build((BATCH, STEPS, FEATURES))
    rnn.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        np.asarray(rnn(inputs(), mask=masks())), np.asarray(layer(inputs(), mask=masks())), **TOL
    )


def test_dynamic_time_and_batch_in_a_compiled_function():
    fast, masked = layer_pair([1, 2, 3], 2, return_sequences=True, return_state=True)
    spec = tf.TensorSpec([None, None, FEATURES], tf.float32)
    compiled = tf.function(lambda x: fast(x), input_signature=[spec])
    for steps in (5, 9):
        x = inputs(steps=steps)
        assert_all_close([np.asarray(r) for r in compiled(x)], [np.asarray(r) for r in masked(x)])


def test_dropout_train_differs_inference_deterministic_and_schedules_agree():
    kwargs = dict(periods=[1, 2], module_size=4, dropout=0.4, recurrent_dropout=0.4, seed=3,
                  return_sequences=True)
    fast, masked = layer_pair(kwargs.pop("periods"), kwargs.pop("module_size"), **kwargs)
    x = inputs()
    # Same seed: both layers draw the same masks, so the schedules must agree.
    train_fast = np.asarray(fast(x, training=True))
    np.testing.assert_allclose(train_fast, np.asarray(masked(x, training=True)), **TOL)
    assert not np.allclose(train_fast, np.asarray(fast(x, training=True)))  # fresh masks
    inference = np.asarray(fast(x, training=False))
    np.testing.assert_array_equal(inference, np.asarray(fast(x, training=False)))
    assert not np.allclose(train_fast, inference)
    plain = Clockwork(periods=[1, 2], module_size=4, return_sequences=True)
    plain.build(x.shape)
    plain.set_weights(fast.get_weights())
    np.testing.assert_allclose(inference, np.asarray(plain(x)), **TOL)


def test_save_and_load_keras_file(tmp_path):
    model = keras.Sequential([
        keras.Input((None, FEATURES)),
        keras.layers.Masking(0.0),
        Clockwork(periods=[3, 1, 2], module_size=2, return_sequences=True, dropout=0.1),
        Clockwork(periods=[1, 4], module_size=3, implementation="masked"),
    ])
    x = inputs()
    x[0, 6:] = 0.0  # padding, masked by the Masking layer
    expected = np.asarray(model(x))
    path = tmp_path / "clockwork.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, **TOL)
    config = loaded.layers[1].get_config()
    assert config["periods"] == [3, 1, 2] and all(type(p) is int for p in config["periods"])
    assert (config["module_size"], config["units"], config["implementation"]) == (2, 6, "fast")
    assert loaded.layers[2].implementation == "masked"


def test_config_round_trip_and_defaults():
    layer = Clockwork(16)
    assert layer.periods == [1, 2, 4, 8, 16, 32, 64, 128] and layer.module_size == 2
    assert layer.implementation == "fast" and layer.cycle == 128
    assert Clockwork(12, module_size=4).periods == [1, 2, 4]
    assert Clockwork(periods=[5, 3], module_size=4).units == 8
    assert Clockwork(9, periods=np.array([1, 3, 9])).module_size == 3
    config = Clockwork(periods=[2, 6], module_size=3, implementation="masked").get_config()
    assert Clockwork.from_config(config).get_config() == config
    assert CELLS["clockwork"] == (ClockworkCell, Clockwork)
    cell_config = ClockworkCell(periods=[2, 6], module_size=3).get_config()
    assert ClockworkCell.from_config(cell_config).get_config() == cell_config


@pytest.mark.parametrize(
    "kwargs,named",
    [
        (dict(units=8, periods=[]), "`periods`"),
        (dict(units=8, periods=[1, 0]), "`periods`"),
        (dict(units=8, periods=[1, -2]), "`periods`"),
        (dict(units=8, periods=[1, 2.5]), "`periods`"),
        (dict(units=8, periods=[True, 2]), "`periods`"),
        (dict(units=8, periods="12"), "`periods`"),
        (dict(units=8, periods=4), "`periods`"),
        (dict(units=10), "`units`"),  # not divisible by the default 8 modules
        (dict(units=10, periods=[1, 2, 4]), "`units`"),
        (dict(units=12, module_size=5), "`units`"),
        (dict(units=12, periods=[1, 2], module_size=4), "`module_size`"),
        (dict(units=None), "`units`"),
        (dict(periods=[1, 2]), "`module_size`"),
        (dict(units=8, module_size=0), "`module_size`"),
        (dict(units=-8), "`units`"),
        (dict(units=8, implementation="scan"), "`implementation`"),
        (dict(units=8, implementation=2), "`implementation`"),
    ],
)
def test_clear_errors(kwargs, named):
    with pytest.raises(ValueError, match=named):
        Clockwork(**kwargs)


def test_clear_errors_on_call():
    layer = Clockwork(periods=[1, 2], module_size=2)
    with pytest.raises(ValueError, match="rank 3"):
        layer(np.zeros((BATCH, FEATURES), "float32"))
    layer(inputs())
    with pytest.raises(ValueError, match="initial_state"):
        layer(inputs(), initial_state=[np.zeros((BATCH, 5), "float32")])
    with pytest.raises(ValueError, match=f"built for {FEATURES} input features"):
        layer(np.zeros((BATCH, STEPS, FEATURES + 1), "float32"))


def test_gate_trace_shows_which_modules_fired():
    from seqkit.inspect import gate_trace

    layer = Clockwork(periods=[1, 3], module_size=2, return_sequences=True)
    x = inputs()
    trace = gate_trace(layer, x, mask=masks())
    assert {"pre_activation", "active", "hidden"} <= set(trace._fields)
    np.testing.assert_allclose(trace.hidden, np.asarray(layer(x, mask=masks())), **TOL)
    # Row 1 has 4 masked steps first: its clock starts at its first valid step.
    slow_active = trace.active[1, :, 2]
    np.testing.assert_array_equal(np.isnan(slow_active), ~masks()[1])
    np.testing.assert_array_equal(slow_active[4:], [1, 0, 0, 1, 0, 0, 1])


# --------------------------------------------------------------------------
# The generation experiment (experiments/clockwork_generation.py), tiny config.
# --------------------------------------------------------------------------
def test_generation_experiment_runs_on_the_test_config():
    from experiments import clockwork_generation as generation

    target = generation.target_sequence(320)
    assert target.shape == (320,) and np.isclose(np.abs(target).max(), 0.9)
    np.testing.assert_array_equal(target, generation.target_sequence(320))  # deterministic

    results = generation.train_and_evaluate(generation.TEST_CONFIG)
    models = results["models"]
    assert set(models) == {"clockwork", "elman", "lstm"}
    budget = models["clockwork"]["parameters"]
    # 3 modules × 2 units, periods 1, 2, 4: 6·1 + 6 + 6·1 + 1 weights in and out,
    # and 2·2·(3 + 2 + 1) = 24 of the 36 recurrent ones.
    assert budget == 6 + 24 + 6 + 7 and models["clockwork"]["stored_parameters"] == budget + 12
    for kind in ("elman", "lstm"):
        assert abs(models[kind]["parameters"] - budget) <= 0.25 * budget, kind
    for row in models.values():
        assert np.isfinite(row["mse"]) and row["nmse"] == pytest.approx(
            row["mse"] / results["target_variance"]
        )
    assert "clockwork" in generation.format_results(results)

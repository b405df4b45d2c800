"""Tests for seqkit.builders: wiring, states, dropout, masks, saving, errors.

Every structural test is parametrized over the cell kinds present in
``seqkit.layers.CELLS``, so LSTM, GRU and Clockwork are covered as they land.
Sizes are tiny (batch 2, 6 steps, 3 features, 4 units) to keep the run short.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit.layers
from seqkit import builders

KINDS = sorted(seqkit.layers.CELLS)
MERGE_MODES = ["concat", "sum", "mul", "ave", None]
BATCH, STEPS, FEATURES, UNITS, WIDE = 2, 6, 3, 4, 6
ATOL = 1e-5
# Arguments a kind needs at these sizes: Clockwork's default is 8 modules, so
# give it two (units 4 and 6 are then two modules of 2 and 3 units).
KIND_KWARGS = {"clockwork": {"periods": [1, 2]}}


def kw(kind):
    return dict(KIND_KWARGS.get(kind, {}))


def layer_class(kind):
    return seqkit.layers.get(kind)[1]


def sequences(seed=0, batch=BATCH, steps=STEPS, features=FEATURES):
    return np.random.RandomState(seed).normal(size=(batch, steps, features)).astype("float32")


def randomize(layer, seed=0):
    """Random weights everywhere (biases too), so no wiring mistake hides behind zeros."""
    rng = np.random.RandomState(seed)
    layer.set_weights([0.5 * rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])


def random_states(sizes, seed=1):
    rng = np.random.RandomState(seed)
    # Small non-negative integers fit every kind (Clockwork's second state is its step clock).
    return [rng.randint(0, 3, size=(BATCH, size)).astype("float32") for size in sizes]


def as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def assert_all_close(actual, expected, atol=ATOL):
    actual, expected = as_list(actual), as_list(expected)
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.shape == e.shape, f"output {index}: shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a, e, atol=atol, err_msg=f"output {index}")


def num_states(kind):
    size = layer_class(kind)(UNITS, **kw(kind)).cell.state_size
    return len(size) if isinstance(size, (list, tuple)) else 1


# --------------------------------------------------------------------------
# Structure: each builder equals the same layers wired by hand.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_stack_equals_two_hand_wired_layers(kind):
    x = sequences()
    net = builders.stack(kind, [UNITS, WIDE], return_sequences=True, return_state=True, **kw(kind))
    net(x)
    randomize(net)
    first = layer_class(kind)(UNITS, return_sequences=True, return_state=True, **kw(kind))
    second = layer_class(kind)(WIDE, return_sequences=True, return_state=True, **kw(kind))
    first(x)
    first.set_weights(net.forward_layers[0].get_weights())
    hidden, *first_states = first(x)
    second(hidden)
    second.set_weights(net.forward_layers[1].get_weights())
    output, *second_states = second(hidden)

    # Documented order: [output, layer 1 states..., layer 2 states...].
    assert_all_close(net(x), [output, *first_states, *second_states])
    assert len(net.state_sizes) == 2 * num_states(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_equals_keras_bidirectional(kind):
    x = sequences()
    mask = np.array([[True] * STEPS, [True] * 4 + [False] * (STEPS - 4)])
    net = builders.bidirectional(kind, UNITS, return_sequences=True, return_state=True, **kw(kind))
    net(x)
    randomize(net)
    reference = keras.layers.Bidirectional(
        layer_class(kind)(UNITS, return_sequences=True, return_state=True, **kw(kind))
    )
    reference(x)
    reference.set_weights(net.get_weights())  # forward weights, then backward
    # Keras's order is [output, forward states..., backward states...], as documented,
    # and initial_state is taken in the same order.
    assert_all_close(net(x), reference(x))
    assert_all_close(net(x, mask=mask), reference(x, mask=mask))
    initial = random_states(net.state_sizes)
    assert_all_close(net(x, initial_state=initial), reference(x, initial_state=initial))


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_equals_keras_bidirectional_simple_rnn(merge_mode, return_sequences):
    # Against Keras's own SimpleRNN, so nothing seqkit-made is on the reference side.
    x = sequences()
    net = builders.bidirectional(
        "elman", UNITS, merge_mode=merge_mode, return_sequences=return_sequences
    )
    net(x)
    randomize(net)
    reference = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(UNITS, return_sequences=return_sequences),
        merge_mode=merge_mode,
    )
    reference(x)
    reference.set_weights(net.get_weights())
    assert_all_close(net(x), reference(x))


@pytest.mark.parametrize("kind", KINDS)
def test_backward_direction_reads_reversed_sequence_in_time_order(kind):
    # Independent of keras.layers.Bidirectional: the backward half at step t is
    # a plain layer run over x reversed, then flipped back.
    x = sequences()
    net = builders.bidirectional(kind, UNITS, merge_mode=None, return_sequences=True, **kw(kind))
    net(x)
    randomize(net)
    plain = layer_class(kind)(UNITS, return_sequences=True, **kw(kind))
    plain(x)
    plain.set_weights(net.forward_layers[0].get_weights())
    forward_expected = plain(x)
    plain.set_weights(net.backward_layers[0].get_weights())
    backward_expected = np.asarray(plain(x[:, ::-1]))[:, ::-1]
    forward, backward = net(x)
    assert_all_close([forward, backward], [forward_expected, backward_expected])
    # Separate weights per direction.
    assert not np.allclose(net.forward_layers[0].get_weights()[0], net.backward_layers[0].get_weights()[0])


@pytest.mark.parametrize("kind", KINDS)
def test_deep_bidirectional_equals_chained_keras_bidirectional(kind):
    x = sequences()
    net = builders.deep_bidirectional(
        kind, [UNITS, WIDE], merge_mode="concat", return_sequences=True, return_state=True, **kw(kind))
    net(x)
    randomize(net)
    first = keras.layers.Bidirectional(layer_class(kind)(UNITS, return_sequences=True, return_state=True, **kw(kind)))
    second = keras.layers.Bidirectional(
        layer_class(kind)(WIDE, return_sequences=True, return_state=True, **kw(kind))
    )
    first(x)
    count = 2 * len(net.forward_layers[0].get_weights())
    first.set_weights(net.get_weights()[:count])
    hidden, *first_states = first(x)
    second(hidden)
    second.set_weights(net.get_weights()[count:])
    output, *second_states = second(hidden)
    # [output, layer 1 forward, layer 1 backward, layer 2 forward, layer 2 backward].
    assert_all_close(net(x), [output, *first_states, *second_states])
    initial = random_states(net.state_sizes)
    half = len(initial) // 2
    hidden, *first_states = first(x, initial_state=initial[:half])
    output, *second_states = second(hidden, initial_state=initial[half:])
    assert_all_close(net(x, initial_state=initial), [output, *first_states, *second_states])
    assert net.state_names[0].startswith("forward_") and net.state_names[num_states(kind)].startswith("backward_")


def test_deep_bidirectional_merge_none_concatenates_between_layers():
    x = sequences()
    net = builders.deep_bidirectional("elman", UNITS, 2, merge_mode=None, return_sequences=True)
    net(x)
    randomize(net)
    first = keras.layers.Bidirectional(keras.layers.SimpleRNN(UNITS, return_sequences=True))
    second = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(UNITS, return_sequences=True), merge_mode=None
    )
    first(x)
    first.set_weights(net.get_weights()[:6])
    hidden = first(x)
    second(hidden)
    second.set_weights(net.get_weights()[6:])
    assert_all_close(net(x), second(hidden))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_residual_adds_each_layer_input_from_layer_two(bidirectional):
    # h^1 = L1(x), h^l = L_l(h^{l-1}) + h^{l-1}, each L_l a one-layer network.
    x = sequences()
    if bidirectional:
        net = builders.deep_bidirectional("elman", UNITS, 3, residual=True, merge_mode="sum",
                                          return_sequences=True)
        layers = [builders.bidirectional("elman", UNITS, merge_mode="sum", return_sequences=True)
                  for _ in range(3)]
    else:
        net = builders.stack("elman", UNITS, 3, residual=True, return_sequences=True)
        layers = [seqkit.layers.Elman(UNITS, return_sequences=True) for _ in range(3)]
    net(x)
    randomize(net)
    per_layer = len(net.get_weights()) // 3
    hidden = x
    for index, layer in enumerate(layers):
        layer(hidden)
        layer.set_weights(net.get_weights()[index * per_layer:(index + 1) * per_layer])
        hidden = layer(hidden) + (hidden if index > 0 else 0.0)
    assert_all_close(net(x), hidden)


def test_residual_shortcut_skips_the_dropout():
    # h^2 = RNN_2(D(h^1)) + h^1: with layer 2's weights zero, RNN_2(...) = 0, so
    # even in training the output is exactly h^1, undropped.
    x = sequences()
    net = builders.stack("elman", UNITS, 2, dropout=0.5, residual=True, return_sequences=True, seed=0)
    net(x)
    randomize(net)
    net.forward_layers[1].set_weights([np.zeros_like(w) for w in net.forward_layers[1].get_weights()])
    assert_all_close(net(x, training=True), net.forward_layers[0](x)[0])


def test_residual_stack_without_sequences_reports_last_valid_step():
    # The residual output is RNN_L(...)_t + h^{L-1}_t at each row's last valid step.
    x = sequences()
    mask = np.array([[True] * STEPS, [True] * 3 + [False] * (STEPS - 3)])
    net = builders.stack("elman", UNITS, 2, residual=True)
    full = builders.stack("elman", UNITS, 2, residual=True, return_sequences=True)
    net(x)
    full(x)
    randomize(net)
    full.set_weights(net.get_weights())
    expected = [np.asarray(full(x[row:row + 1, :length]))[0, -1] for row, length in enumerate([STEPS, 3])]
    assert_all_close(net(x, mask=mask), np.stack(expected))


# --------------------------------------------------------------------------
# States: the language-model path (carried state between chunks).
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_carried_states_continue_the_sequence_exactly(kind):
    x = sequences(steps=STEPS)
    net = builders.stack(kind, [UNITS, UNITS], return_sequences=True, return_state=True, **kw(kind))
    net(x)
    randomize(net)
    whole, *whole_states = net(x)
    states = net.get_initial_state(BATCH)
    chunks = []
    for start in range(0, STEPS, 2):
        output, *states = net(x[:, start:start + 2], initial_state=states)
        chunks.append(output)
    assert_all_close([np.concatenate(chunks, axis=1), *states], [whole, *whole_states])


def test_zero_initial_state_equals_no_initial_state():
    x = sequences()
    net = builders.deep_bidirectional("elman", UNITS, 2, return_state=True)
    net(x)
    randomize(net)
    zeros = net.get_initial_state(BATCH)
    assert [tuple(z.shape) for z in zeros] == [(BATCH, s) for s in net.state_sizes]
    assert_all_close(net(x, initial_state=zeros), net(x))
    # Non-zero initial states must change the result (they are not ignored).
    ones = [np.ones((BATCH, s), "float32") for s in net.state_sizes]
    assert not np.allclose(np.asarray(net(x, initial_state=ones)[0]), np.asarray(net(x)[0]))


def test_state_order_is_documented_by_state_names():
    net = builders.deep_bidirectional("elman", [UNITS, WIDE], return_state=True)
    assert net.state_names == [
        "forward_elman_1/state_0", "backward_elman_1/state_0",
        "forward_elman_2/state_0", "backward_elman_2/state_0",
    ]
    assert net.state_sizes == [UNITS, UNITS, WIDE, WIDE]


def test_carried_state_through_compiled_train_step():
    """The LM recipe: states are model inputs, fed back every batch in a tf.function."""
    net = builders.stack("elman", [UNITS, UNITS], return_sequences=True, return_state=True)
    sequence_input = keras.Input((3, FEATURES))
    state_inputs = [keras.Input((size,)) for size in net.state_sizes]
    output, *states = net(sequence_input, initial_state=state_inputs)
    logits = keras.layers.Dense(5)(output)
    model = keras.Model([sequence_input, *state_inputs], [logits, *states])
    optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(chunk, targets, carried):
        with tf.GradientTape() as tape:
            logits, *new_states = model([chunk, *carried], training=True)
            loss = loss_fn(targets, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, grads, new_states

    x = tf.constant(sequences(steps=9))
    targets = np.random.RandomState(1).randint(0, 5, size=(BATCH, 9))
    carried = [tf.zeros((BATCH, s)) for s in net.state_sizes]
    before = [w.copy() for w in model.get_weights()]
    for start in (0, 3, 6):
        chunk = x[:, start:start + 3]
        expected_states = model([chunk, *carried])[1:]  # eager, current weights
        loss, grads, carried = train_step(chunk, targets[:, start:start + 3], carried)
        assert np.isfinite(float(loss))
        assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
        assert_all_close(carried, expected_states)
    # Every recurrent weight was trained.
    changed = [not np.allclose(a, b) for a, b in zip(before, model.get_weights())]
    assert all(changed)


def test_initial_state_with_wrong_count_names_the_order():
    net = builders.stack("elman", [UNITS, UNITS], return_state=True)
    with pytest.raises(ValueError, match=r"2 tensors.*elman_1/state_0.*elman_2/state_0.*got 1"):
        net(sequences(), initial_state=[np.zeros((BATCH, UNITS), "float32")])


# --------------------------------------------------------------------------
# Dropout.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("build", [builders.stack, builders.deep_bidirectional])
def test_dropout_is_off_at_inference_and_random_in_training(build):
    x = sequences()
    kwargs = dict(return_sequences=True, return_state=True)
    net = build("elman", UNITS, 3, dropout=0.5, recurrent_dropout=0.3, output_dropout=0.2, **kwargs)
    plain = build("elman", UNITS, 3, **kwargs)
    net(x)
    plain(x)
    randomize(net)
    plain.set_weights(net.get_weights())
    # Inference: deterministic, and exactly the network without any dropout.
    assert_all_close(net(x, training=False), net(x, training=False))
    assert_all_close(net(x, training=False), plain(x))
    # Training: a fresh mask each call.
    first, second = net(x, training=True)[0], net(x, training=True)[0]
    assert not np.allclose(first, second)
    assert not np.allclose(first, plain(x)[0])
    # Variational recurrent dropout is inside every recurrent layer.
    for layer in net.forward_layers + net.backward_layers:
        assert layer.cell.recurrent_dropout == 0.3


def test_interlayer_dropout_never_touches_the_recurrence():
    # With only inter-layer dropout, layer 1 sees its clean input and keeps its
    # clean recurrence: its final state in training equals inference. Layer 2
    # reads dropped inputs, so its state differs.
    x = sequences()
    net = builders.stack("elman", [UNITS, UNITS], dropout=0.5, return_state=True, seed=0)
    net(x)
    randomize(net)
    _, layer1_train, layer2_train = net(x, training=True)
    _, layer1_eval, layer2_eval = net(x, training=False)
    assert_all_close(layer1_train, layer1_eval)
    assert not np.allclose(layer2_train, layer2_eval)


def test_seed_makes_training_dropout_reproducible():
    x = sequences()
    nets = [
        builders.stack("elman", UNITS, 2, dropout=0.5, recurrent_dropout=0.5, seed=7)
        for _ in range(2)
    ]
    for net in nets:
        net(x)
    randomize(nets[0])
    nets[1].set_weights(nets[0].get_weights())
    assert_all_close(nets[0](x, training=True), nets[1](x, training=True))


# --------------------------------------------------------------------------
# Masks.
# --------------------------------------------------------------------------
BUILDS = {
    "stack_residual": lambda kind: builders.stack(
        kind, UNITS, 2, residual=True, return_sequences=True, return_state=True, **kw(kind)),
    "bidirectional": lambda kind: builders.bidirectional(
        kind, UNITS, return_sequences=True, return_state=True, **kw(kind)),
    "deep_bidirectional": lambda kind: builders.deep_bidirectional(
        kind, UNITS, 2, merge_mode="ave", return_sequences=True, return_state=True, **kw(kind)),
}


@pytest.mark.parametrize("builder", sorted(BUILDS))
@pytest.mark.parametrize("kind", KINDS)
def test_padded_steps_never_change_valid_steps(kind, builder):
    lengths = [STEPS, 3]
    x = sequences()
    mask = np.arange(STEPS)[None, :] < np.array(lengths)[:, None]
    net = BUILDS[builder](kind)
    net(x)
    randomize(net)
    garbage = np.where(mask[..., None], x, 100.0 * sequences(seed=5)).astype("float32")
    padded_output, *padded_states = as_list(net(garbage, mask=mask))
    for row, length in enumerate(lengths):
        alone = as_list(net(x[row:row + 1, :length]))
        assert_all_close(padded_output[row:row + 1, :length], alone[0])
        assert_all_close([s[row:row + 1] for s in padded_states], alone[1:])
    # Masked output steps are zeros (as keras.layers.Bidirectional makes them).
    np.testing.assert_array_equal(padded_output[1, 3:], 0.0)


@pytest.mark.parametrize("build", [builders.stack, builders.deep_bidirectional])
def test_embedding_mask_flows_through_and_out_of_the_network(build):
    # Embedding(mask_zero) -> network -> Elman: the last layer only agrees with
    # the unpadded run if the mask went through the network and out of it.
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, FEATURES, mask_zero=True)(tokens)
    hidden = build("elman", UNITS, 2, return_sequences=True)(embedded)
    summary = seqkit.layers.Elman(UNITS)(hidden)
    model = keras.Model(tokens, summary)
    padded = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 0, 0]])
    batched = np.asarray(model(padded))
    assert_all_close(batched[1:], model(padded[1:, :3]))
    assert_all_close(batched[:1], model(padded[:1]))


def test_masking_layer_with_bidirectional_network():
    inputs = keras.Input((None, FEATURES))
    masked = keras.layers.Masking(0.0)(inputs)
    model = keras.Model(inputs, builders.bidirectional("elman", UNITS)(masked))
    x = sequences()
    x[1, 4:] = 0.0
    assert_all_close(np.asarray(model(x))[1:], model(x[1:, :4]))


# --------------------------------------------------------------------------
# Shapes and config.
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: builders.stack("elman", [UNITS, 5], return_state=True),
        lambda: builders.stack("elman", UNITS, 2, residual=True, return_sequences=True),
        lambda: builders.bidirectional("elman", UNITS, merge_mode=None, return_state=True),
        lambda: builders.deep_bidirectional("elman", UNITS, 2, return_sequences=True, return_state=True),
        lambda: builders.deep_bidirectional("elman", UNITS, 2, merge_mode="mul"),
    ],
)
def test_symbolic_shapes_match_eager_shapes(make):
    net = make()
    symbolic = as_list_shapes(net(keras.Input((STEPS, FEATURES), batch_size=BATCH)))
    eager = [o.shape for o in as_list(net(sequences()))]
    assert symbolic == eager


def as_list_shapes(outputs):
    return [tuple(o.shape) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize(
    "make",
    [
        lambda: builders.stack("elman", [UNITS, 5], dropout=0.1, output_dropout=0.2, seed=3,
                               activation="relu", kernel_initializer=keras.initializers.RandomNormal(0.0, 0.3)),
        lambda: builders.bidirectional("elman", UNITS, merge_mode="ave", recurrent_dropout=0.1, use_bias=False),
        lambda: builders.deep_bidirectional("elman", UNITS, 3, residual=True, return_sequences=True,
                                            merge_mode="sum", return_state=True),
    ],
)
def test_config_round_trip(make):
    net = make()
    net(sequences())
    config = net.get_config()
    json.dumps(config)  # what .keras stores must be JSON
    clone = type(net).from_config(config)
    clone(sequences())
    assert clone.get_config() == config
    clone.set_weights(net.get_weights())
    assert_all_close(clone(sequences()), net(sequences()))


def test_cell_kwargs_reach_every_recurrent_layer():
    net = builders.deep_bidirectional("elman", UNITS, 2, activation="relu", use_bias=False)
    for layer in net.forward_layers + net.backward_layers:
        assert layer.cell.activation is keras.activations.relu
        assert layer.cell.use_bias is False


# --------------------------------------------------------------------------
# Saving: .keras in this process and in a fresh one, SavedModel without seqkit.
# --------------------------------------------------------------------------
def mixed_model(kinds):
    """A model with one of each builder (cycling through ``kinds``)."""
    first, second, third = (kinds[i % len(kinds)] for i in range(3))
    inputs = keras.Input((STEPS, FEATURES))
    hidden = builders.stack(first, UNITS, 2, dropout=0.2, residual=True,
                            return_sequences=True, activation="relu", **kw(first))(inputs)
    hidden = builders.deep_bidirectional(second, UNITS, 2, merge_mode="sum",
                                         return_sequences=True, **kw(second))(hidden)
    outputs = builders.bidirectional(third, UNITS, merge_mode="ave", **kw(third))(hidden)
    model = keras.Model(inputs, outputs)
    randomize(model)
    return model


@pytest.mark.parametrize("kind", KINDS)
def test_keras_file_round_trip(kind, tmp_path):
    model = mixed_model([kind])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = sequences()
    assert_all_close(loaded(x), model(x), atol=0)


def run_python(code, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0",
               KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_keras_file_loads_in_a_fresh_process(tmp_path):
    model = mixed_model(KINDS)
    model.save(str(tmp_path / "model.keras"))
    x = sequences()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", np.asarray(model(x)))
    run_python(
        """
        import numpy as np
        import keras
        import seqkit.builders  # registers the seqkit layer classes
        model = keras.saving.load_model("model.keras")
        actual = np.asarray(model(np.load("x.npy")))
        np.testing.assert_allclose(actual, np.load("expected.npy"), atol=1e-6)
        """,
        cwd=tmp_path,
    )


def test_saved_model_export_runs_without_seqkit(tmp_path):
    inputs = keras.Input((STEPS, FEATURES))
    hidden = builders.stack("elman", UNITS, 2, return_sequences=True)(inputs)
    outputs = builders.bidirectional("elman", UNITS)(hidden)
    model = keras.Model(inputs, outputs)
    randomize(model)
    model.export(str(tmp_path / "exported"), verbose=False)
    x = sequences()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", np.asarray(model(x)))
    run_python(
        """
        import sys
        sys.modules["seqkit"] = None  # any import of seqkit now fails
        import numpy as np
        import tensorflow as tf
        try:
            import seqkit.builders
        except ImportError:
            pass
        else:
            raise AssertionError("seqkit was importable")
        loaded = tf.saved_model.load("exported")
        actual = loaded.serve(tf.constant(np.load("x.npy"))).numpy()
        np.testing.assert_allclose(actual, np.load("expected.npy"), atol=1e-5)
        """,
        cwd=tmp_path,
    )


# --------------------------------------------------------------------------
# Errors: each names the argument, what was expected and what came.
# --------------------------------------------------------------------------
def test_unknown_cell_kind_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        builders.stack("transformer", UNITS)
    message = str(error.value)
    assert "`cell`" in message and "'transformer'" in message
    assert all(repr(kind) in message for kind in KINDS)
    with pytest.raises(ValueError, match="`cell`"):
        builders.bidirectional(seqkit.layers.Elman, UNITS)


@pytest.mark.parametrize("build", [builders.stack, builders.deep_bidirectional])
def test_residual_between_different_widths_names_layers_and_widths(build):
    kwargs = {"return_sequences": True} if build is builders.deep_bidirectional else {}
    with pytest.raises(ValueError, match=r"residual.*layer 2 has 4 units and layer 3 has 8"):
        build("elman", [4, 4, 8], residual=True, **kwargs)


def test_residual_bidirectional_needs_sequences_and_a_merge():
    with pytest.raises(ValueError, match="return_sequences=False"):
        builders.deep_bidirectional("elman", UNITS, 2, residual=True)
    with pytest.raises(ValueError, match="merge_mode=None"):
        builders.deep_bidirectional("elman", UNITS, 2, residual=True, merge_mode=None,
                                    return_sequences=True)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: builders.stack("elman", UNITS, num_layers=0), r"`num_layers`.*>= 1.*got 0"),
        (lambda: builders.deep_bidirectional("elman", UNITS, num_layers=-1), r"`num_layers`.*got -1"),
        (lambda: builders.stack("elman", []), r"`units`.*non-empty.*got \[\]"),
        (lambda: builders.stack("elman", [4, 4], num_layers=3), r"num_layers=3.*2 layer width"),
        (lambda: builders.stack("elman", [4, 0]), r"`units\[1\]`.*positive integer, got 0"),
        (lambda: builders.bidirectional("elman", [4, 4]), r"`units`.*positive integer"),
        (lambda: builders.bidirectional("elman", UNITS, merge_mode="max"), r"`merge_mode`.*'concat'.*got 'max'"),
        (lambda: builders.stack("elman", UNITS, 2, dropout=1.0), r"`dropout`.*\[0, 1\), got 1.0"),
        (lambda: builders.stack("elman", UNITS, 2, dropout=-0.1), r"`dropout`.*got -0.1"),
        (lambda: builders.stack("elman", UNITS, recurrent_dropout=1.5), r"`recurrent_dropout`.*got 1.5"),
        (lambda: builders.stack("elman", UNITS, output_dropout="a lot"), r"`output_dropout`.*got 'a lot'"),
        (lambda: builders.stack("elman", UNITS, go_backwards=True), r"`cell_kwargs`.*'go_backwards'"),
        (lambda: builders.StackedRNN("elman", UNITS, cell_kwargs={"stateful": True}), r"`cell_kwargs`.*'stateful'"),
        (lambda: builders.stack("elman", UNITS, seed=1.5), r"`seed`.*got 1.5"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_input_of_wrong_rank_is_rejected():
    with pytest.raises(ValueError, match=r"rank 3.*got shape \(2, 3\)"):
        builders.stack("elman", UNITS)(np.zeros((2, 3), "float32"))

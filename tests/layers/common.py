"""Shared tests of the seqkit recurrent layers against Keras, the reference path and NumPy.

Each ``tests/layers/test_<kind>.py`` subclasses ``LayerContract`` with its
``kind`` and ``variants`` (the layer options that change the math), and adds the
tests only its cell has. ``LayerContract`` parametrizes every test over
``variants`` x ``CASES`` itself (its ``pytest_generate_tests``).

Three independent references:

* Keras's own layer (SimpleRNN / LSTM / GRU) with the same weights;
* the reference path: ``keras.layers.RNN(<seqkit cell>)``, the cell's ``call``
  stepped by Keras's loop, against the layer's fast ``inner_loop``;
* the equations re-derived below in plain NumPy (not calling seqkit or Keras).

Outputs, final states and gradients (w.r.t. the inputs, every weight and the
initial state) must agree to 1e-5 in float32. Weights are random normal (not
the initializers' defaults) so every gate does something.
"""

import inspect as pyinspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit.layers

BATCH, TIME, FEATURES, UNITS = 5, 6, 3, 4
TOLERANCE = dict(rtol=1e-5, atol=1e-5)
RNN_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")

# Row by row: right padding, left padding, fully masked, a hole, no padding.
MASK = np.array(
    [
        [1, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 0, 0, 0],
        [1, 1, 0, 1, 0, 1],
        [1, 1, 1, 1, 1, 1],
    ],
    dtype=bool,
)


@keras.saving.register_keras_serializable(package="seqkit_tests")
def lecun_tanh(x):
    """A custom (non-Keras) activation: LeCun's scaled tanh."""
    return 1.7159 * keras.ops.tanh(x * (2.0 / 3.0))


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


NP_ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _np_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    # Keras 3: relu6(x + 3) / 6.
    "hard_sigmoid": lambda x: np.clip((x + 3.0) / 6.0, 0.0, 1.0),
    "linear": lambda x: x,
    None: lambda x: x,
    lecun_tanh: lambda x: 1.7159 * np.tanh(x * (2.0 / 3.0)),
}


# --------------------------------------------------------------------------
# The equations in NumPy, row form (x · W, h · U) with Keras's gate columns.
# --------------------------------------------------------------------------
def np_elman_step(weights, options, x, states):
    (h,) = states
    kernel, recurrent_kernel, bias = weights
    act = NP_ACTIVATIONS[options.get("activation", "tanh")]
    a = x @ kernel + h @ recurrent_kernel + (0.0 if bias is None else bias)
    h = act(a)
    return h, [h]


def np_lstm_step(weights, options, x, states):
    h, c = states
    kernel, recurrent_kernel, bias = weights
    act = NP_ACTIVATIONS[options.get("activation", "tanh")]
    gate = NP_ACTIVATIONS[options.get("recurrent_activation", "sigmoid")]
    z = x @ kernel + h @ recurrent_kernel + (0.0 if bias is None else bias)
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i, f, o = gate(z_i), gate(z_f), gate(z_o)
    c = f * c + i * act(z_c)
    h = o * act(c)
    return h, [h, c]


def np_gru_step(weights, options, x, states):
    (h,) = states
    kernel, recurrent_kernel, bias = weights
    act = NP_ACTIVATIONS[options.get("activation", "tanh")]
    gate = NP_ACTIVATIONS[options.get("recurrent_activation", "sigmoid")]
    units = h.shape[-1]
    u_z, u_r, u_h = np.split(recurrent_kernel, 3, axis=1)
    if options.get("reset_after", True):
        b_in, b_rec = (0.0, 0.0) if bias is None else (bias[0], bias[1])
        x_z, x_r, x_h = np.split(x @ kernel + b_in, 3, axis=-1)
        r_z, r_r, r_h = np.split(h @ recurrent_kernel + b_rec, 3, axis=-1)
        z, r = gate(x_z + r_z), gate(x_r + r_r)
        candidate = act(x_h + r * r_h)
    else:
        x_z, x_r, x_h = np.split(x @ kernel + (0.0 if bias is None else bias), 3, axis=-1)
        z, r = gate(x_z + h @ u_z), gate(x_r + h @ u_r)
        candidate = act(x_h + (r * h) @ u_h)
    assert candidate.shape[-1] == units
    h = z * h + (1.0 - z) * candidate
    return h, [h]


def np_rnn(step, x, states, mask=None, go_backwards=False):
    """Keras's loop semantics: (outputs in processing order, final states).

    A masked step keeps the states and repeats the previous output (zeros
    before the first step).
    """
    states = [np.asarray(s, np.float64) for s in states]
    x = np.asarray(x, np.float64)
    previous = np.zeros_like(states[0])
    outputs = []
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in order:
        output, new_states = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            new_states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
            output = np.where(keep, output, previous)
        outputs.append(output)
        states, previous = new_states, output
    return np.stack(outputs, axis=1), states


# --------------------------------------------------------------------------
# The kinds.
# --------------------------------------------------------------------------
class Kind:
    def __init__(self, name, layer, cell, keras_layer, keras_cell, np_step, num_states):
        self.name = name
        self.layer, self.cell = layer, cell
        self.keras_layer, self.keras_cell = keras_layer, keras_cell
        self.np_step = np_step
        self.num_states = num_states


KINDS = {
    "elman": Kind(
        "elman", seqkit.layers.Elman, seqkit.layers.ElmanCell,
        keras.layers.SimpleRNN, keras.layers.SimpleRNNCell, np_elman_step, 1,
    ),
    "lstm": Kind(
        "lstm", seqkit.layers.LSTM, seqkit.layers.LSTMCell,
        keras.layers.LSTM, keras.layers.LSTMCell, np_lstm_step, 2,
    ),
    "gru": Kind(
        "gru", seqkit.layers.GRU, seqkit.layers.GRUCell,
        keras.layers.GRU, keras.layers.GRUCell, np_gru_step, 1,
    ),
}
GATED = ("lstm", "gru")  # kinds with Keras's per-gate masks / implementation=1


# --------------------------------------------------------------------------
# Cases: how the layer is configured and called. "layer" goes to the
# constructor (always with return_state=True, so final states are compared).
#
# Most cases run in training mode: that is the path gradients are taken on
# (model.fit), and where the layer uses its fused loop with a custom gradient
# (seqkit/layers/fused.py); with no dropout configured training mode is
# deterministic. The "inference" cases cover the plain loop.
#
# The first variant of a kind runs every case; the others (which change only
# the gate math, not the masking / direction / state plumbing) the "core" ones.
# --------------------------------------------------------------------------
def case(layer=None, mask=False, initial_state=False, training=True, kinds=None,
         keras_options=None, core=False):
    layer = {"return_sequences": True, "return_state": True, **(layer or {})}
    dropping = training and (layer.get("dropout") or layer.get("recurrent_dropout"))
    return dict(
        core=core,
        layer=layer,
        keras_options=keras_options or {},
        mask=mask,
        initial_state=initial_state,
        training=training,
        kinds=kinds,
        dropping=bool(dropping),  # random masks: no NumPy twin, must differ from inference
    )


DROPOUT = dict(dropout=0.3, recurrent_dropout=0.3, seed=11)
CASES = {
    "sequences": case(core=True),
    "last_output": case(dict(return_sequences=False)),
    "mask": case(mask=True),
    "mask_last_output": case(dict(return_sequences=False), mask=True),
    "go_backwards": case(dict(go_backwards=True)),
    "initial_state": case(initial_state=True),
    "initial_state_mask_backwards": case(
        dict(go_backwards=True), mask=True, initial_state=True, core=True
    ),
    "unroll_mask_backwards_initial_state": case(
        dict(unroll=True, go_backwards=True), mask=True, initial_state=True, core=True
    ),
    "unroll_inference": case(dict(unroll=True), training=False),
    "inference": case(training=False, core=True),
    "inference_mask_backwards_initial_state": case(
        dict(go_backwards=True), mask=True, initial_state=True, training=False, core=True
    ),
    "dropout_inference": case(dict(**DROPOUT), mask=True, training=False),
    "dropout_training": case(dict(**DROPOUT), mask=True, initial_state=True, core=True),
    "input_dropout_training": case(dict(dropout=0.4, seed=3), core=True),
    "recurrent_dropout_training_backwards": case(
        dict(recurrent_dropout=0.4, seed=5, go_backwards=True)
    ),
    # Keras's own LSTM/GRU crash here unless use_cudnn=False: their cuDNN
    # attempt broadcasts implementation 1's list of per-gate masks.
    "implementation_1_training": case(
        dict(implementation=1, dropout=0.3, seed=7), kinds=GATED,
        keras_options=dict(use_cudnn=False), core=True,
    ),
    "implementation_1_no_dropout": case(dict(implementation=1), mask=True, kinds=GATED),
}


# --------------------------------------------------------------------------
# Data and weights.
# --------------------------------------------------------------------------
def inputs(seed=0, shape=(BATCH, TIME, FEATURES)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def initial_states(kind, seed=1, batch=BATCH):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(scale=0.5, size=(batch, UNITS)).astype("float32")
        for _ in range(KINDS[kind].num_states)
    ]


def random_weights(layer, seed=2, scale=0.5):
    """``layer.get_weights()`` with scaled-normal values for every trainable weight.

    Not the initializers' defaults, so every gate does something. Non-trainable
    variables (the dropout seed generator's state) keep their values.
    """
    rng = np.random.default_rng(seed)
    trainable = {id(w) for w in layer.trainable_weights}
    return [
        rng.normal(scale=scale, size=w.shape).astype("float32")
        if id(w) in trainable else np.asarray(w)
        for w in layer.weights
    ]


def build(layer, shape=(BATCH, TIME, FEATURES), weights=None):
    layer.build(shape)
    if weights is not None:
        layer.set_weights(weights)
    return layer


def make_layers(kind, variant, options, seed=2, keras_options=None):
    """(seqkit layer, Keras layer, reference RNN over a seqkit cell), same weights."""
    spec = KINDS[kind]
    ours = build(spec.layer(UNITS, **variant, **options))
    weights = random_weights(ours, seed)
    ours.set_weights(weights)
    theirs = build(
        spec.keras_layer(UNITS, **variant, **options, **(keras_options or {})), weights=weights
    )
    cell_options = {k: v for k, v in options.items() if k not in RNN_ARGUMENTS}
    rnn_options = {k: v for k, v in options.items() if k in RNN_ARGUMENTS}
    reference = build(
        keras.layers.RNN(spec.cell(UNITS, **variant, **cell_options), **rnn_options),
        weights=weights,
    )
    return ours, theirs, reference


# --------------------------------------------------------------------------
# Running with gradients.
# --------------------------------------------------------------------------
class Run:
    """A layer call's outputs and the gradients of a random projection of them."""

    def __init__(self, outputs, gradients):
        self.outputs = outputs  # list of arrays: [output, *states] or [output]
        self.gradients = gradients  # name -> array (None: not connected)


def _probe(shape, index):
    # Fixed random weights for the loss: a plain sum would let errors cancel.
    return np.random.default_rng(100 + index).normal(size=shape).astype("float32")


def run(layer, x, initial_state=None, mask=None, training=False, call=None):
    """Call ``layer`` (or ``call(x, **call_kwargs)``) under a tape; collect everything."""
    x = tf.constant(x)
    states = None if initial_state is None else [tf.constant(s) for s in initial_state]
    kwargs = {"training": training}
    if mask is not None:
        kwargs["mask"] = tf.constant(mask)
    if states is not None:
        kwargs["initial_state"] = states
    with tf.GradientTape(persistent=False) as tape:
        tape.watch(x)
        if states is not None:
            tape.watch(states)
        result = call(x, **kwargs) if call is not None else layer(x, **kwargs)
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        loss = tf.add_n(
            [tf.reduce_sum(r * _probe(r.shape, i)) for i, r in enumerate(result)]
        )
    sources = {"inputs": x}
    for index, weight in enumerate(layer.trainable_weights):
        sources[f"{index}:{weight.name}"] = weight
    for index, state in enumerate(states or []):
        sources[f"initial_state[{index}]"] = state
    grads = tape.gradient(loss, list(sources.values()))
    return Run(
        [np.asarray(r) for r in result],
        {name: None if g is None else np.asarray(tf.convert_to_tensor(g))
         for name, g in zip(sources, grads)},
    )


def assert_runs_close(actual, expected, what, **tolerance):
    tolerance = tolerance or TOLERANCE
    assert len(actual.outputs) == len(expected.outputs), what
    for index, (a, e) in enumerate(zip(actual.outputs, expected.outputs)):
        np.testing.assert_allclose(a, e, err_msg=f"{what}: output {index}", **tolerance)
    assert list(actual.gradients) == list(expected.gradients), what
    for name, e in expected.gradients.items():
        a = actual.gradients[name]
        if e is None or a is None:
            # Unconnected on one side only is fine when the other side is zero.
            other = a if e is None else e
            assert other is None or not np.any(other), f"{what}: gradient {name} {a} vs {e}"
            continue
        np.testing.assert_allclose(a, e, err_msg=f"{what}: d loss / d {name}", **tolerance)


def case_call_args(kind, case_):
    return dict(
        initial_state=initial_states(kind) if case_["initial_state"] else None,
        mask=MASK if case_["mask"] else None,
        training=case_["training"],
    )


def check_dropout_was_applied(layer, x, call_args, training_run):
    """A training-mode case proves nothing unless dropout changed the output."""
    inference = layer(x, **{**call_args, "training": False})
    inference = inference[0] if isinstance(inference, (list, tuple)) else inference
    assert np.max(np.abs(np.asarray(inference) - training_run.outputs[0])) > 1e-3


# --------------------------------------------------------------------------
# The contract every seqkit layer keeps.
# --------------------------------------------------------------------------
class LayerContract:
    kind = None
    variants = {}  # name -> layer options that change the math; the first is the default
    graph_variants = ()  # the variants also run inside tf.function (default: the first)

    def pytest_generate_tests(self, metafunc):
        names = metafunc.fixturenames
        if "case_" in names:  # variant x case, all cases for the first variant only
            params = []
            for v_index, (v_name, variant) in enumerate(self.variants.items()):
                for c_name, c in CASES.items():
                    if c["kinds"] is not None and self.kind not in c["kinds"]:
                        continue
                    if v_index and not c["core"]:
                        continue
                    if metafunc.function.__name__ == "test_matches_numpy" and c["dropping"]:
                        continue
                    params.append(pytest.param(variant, c, id=f"{v_name}-{c_name}"))
            metafunc.parametrize("variant, case_", params)
        elif "variant" in names:
            chosen = self.variants
            if metafunc.function.__name__ == "test_graph_mode_gradients_match_keras":
                graph = self.graph_variants or tuple(self.variants)[:1]
                chosen = {n: v for n, v in chosen.items() if n in graph}
            metafunc.parametrize("variant", list(chosen.values()), ids=list(chosen))

    @property
    def spec(self):
        return KINDS[self.kind]

    # -- exactness --------------------------------------------------------------
    def test_matches_keras(self, variant, case_):
        """Outputs, final states and gradients equal Keras's layer with the same weights."""
        ours, theirs, _ = make_layers(
            self.kind, variant, case_["layer"], keras_options=case_["keras_options"]
        )
        x, args = inputs(), case_call_args(self.kind, case_)
        actual = run(ours, x, **args)
        expected = run(theirs, x, **args)
        assert_runs_close(actual, expected, f"seqkit {self.kind} vs Keras")
        if case_["dropping"]:
            check_dropout_was_applied(ours, x, args, actual)

    def test_fast_path_matches_reference_path(self, variant, case_):
        """The layer's inner_loop equals keras.layers.RNN stepping the cell's call."""
        ours, _, reference = make_layers(self.kind, variant, case_["layer"])
        x, args = inputs(), case_call_args(self.kind, case_)
        actual = run(ours, x, **args)
        expected = run(reference, x, **args)
        assert_runs_close(actual, expected, f"seqkit {self.kind}: fast vs reference path")
        if case_["dropping"]:
            check_dropout_was_applied(ours, x, args, actual)

    def test_matches_numpy(self, variant, case_):
        """Outputs and final states equal the equations written out in NumPy."""
        options = case_["layer"]
        ours, _, _ = make_layers(self.kind, variant, options)
        x, args = inputs(), case_call_args(self.kind, case_)
        result = run(ours, x, **args).outputs
        weights = ours.get_weights()
        if not variant.get("use_bias", True):
            weights = weights + [None]
        states = args["initial_state"] or [np.zeros((BATCH, UNITS))] * self.spec.num_states
        outputs, final_states = np_rnn(
            lambda x_t, s: self.spec.np_step(weights, variant, x_t, s),
            x, states, mask=args["mask"], go_backwards=options.get("go_backwards", False),
        )
        expected = [outputs if options["return_sequences"] else outputs[:, -1], *final_states]
        assert len(result) == len(expected)
        for index, (a, e) in enumerate(zip(result, expected)):
            np.testing.assert_allclose(a, e, err_msg=f"output {index}", **TOLERANCE)

    @pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
    def test_graph_mode_gradients_match_keras(self, variant, masked):
        """The same inside tf.function (how model.fit runs)."""
        options = {"return_sequences": True, "return_state": True}
        ours, theirs, _ = make_layers(self.kind, variant, options)
        x = inputs()
        args = dict(initial_state=initial_states(self.kind), mask=MASK) if masked else {}
        args["training"] = True  # as in model.fit

        def traced(layer):
            @tf.function
            def call(x, **kwargs):
                return layer(x, **kwargs)

            return call

        actual = run(ours, x, call=traced(ours), **args)
        expected = run(theirs, x, call=traced(theirs), **args)
        assert_runs_close(actual, expected, f"seqkit {self.kind} vs Keras in tf.function")

    def test_stateful_across_batches_and_reset_state(self):
        ours, theirs, _ = make_layers(
            self.kind, {}, dict(stateful=True, return_sequences=True, return_state=True)
        )
        plain = build(self.spec.layer(UNITS, return_sequences=True, return_state=True),
                      shape=(BATCH, 2 * TIME, FEATURES), weights=ours.get_weights())
        first, second = inputs(1), inputs(2)
        for chunk, training in ((first, False), (second, True)):
            mine, keras_ = ours(chunk, training=training), theirs(chunk, training=training)
            for a, e in zip(mine, keras_):
                np.testing.assert_allclose(np.asarray(a), np.asarray(e), **TOLERANCE)
            for a, e in zip(ours.states, theirs.states):
                np.testing.assert_allclose(np.asarray(a), np.asarray(e), **TOLERANCE)
        # Two stateful chunks == one sequence twice as long.
        whole = plain(np.concatenate([first, second], axis=1))
        np.testing.assert_allclose(np.asarray(mine[0]), np.asarray(whole[0])[:, TIME:], **TOLERANCE)
        for a, e in zip(ours.states, whole[1:]):
            np.testing.assert_allclose(np.asarray(a), np.asarray(e), **TOLERANCE)
        ours.reset_state()
        assert all(not np.any(np.asarray(s)) for s in ours.states)
        fresh = plain(first)
        again = ours(first)
        np.testing.assert_allclose(np.asarray(again[0]), np.asarray(fresh[0]), **TOLERANCE)

    def test_bidirectional_matches_keras(self, variant):
        spec = self.spec
        options = dict(return_sequences=True, return_state=True)
        ours = keras.layers.Bidirectional(spec.layer(UNITS, **variant, **options))
        theirs = keras.layers.Bidirectional(spec.keras_layer(UNITS, **variant, **options))
        build(ours)
        weights = random_weights(ours, seed=4)
        ours.set_weights(weights)
        build(theirs, weights=weights)
        x = inputs()
        states = initial_states(self.kind, seed=1) + initial_states(self.kind, seed=2)
        for args in (
            dict(mask=MASK, initial_state=states, training=True),
            dict(mask=MASK, training=False),
            dict(training=True),
        ):
            actual, expected = run(ours, x, **args), run(theirs, x, **args)
            assert_runs_close(actual, expected, f"Bidirectional(seqkit {self.kind}) vs Keras")

    # -- Keras drop-in ------------------------------------------------------------
    @pytest.mark.parametrize("level", ["layer", "cell"])
    def test_constructor_accepts_every_keras_argument(self, level):
        ours = self.spec.layer if level == "layer" else self.spec.cell
        theirs = self.spec.keras_layer if level == "layer" else self.spec.keras_cell
        ours_params = pyinspect.signature(ours.__init__).parameters
        theirs_params = pyinspect.signature(theirs.__init__).parameters
        missing = [name for name in theirs_params if name not in ours_params]
        assert not missing, f"{ours.__name__} lacks Keras arguments {missing}"
        for name, param in theirs_params.items():
            if param.default is not pyinspect.Parameter.empty:
                assert ours_params[name].default == param.default, name
        keras_only = ("implementation",) if self.kind in GATED else ()
        for name in keras_only:  # taken through **kwargs by Keras too
            layer = ours(UNITS, **{name: 1})
            assert (layer.cell if level == "layer" else layer).implementation == 1

    def test_legacy_implementation_0_loads_like_keras(self):
        """Configs saved by older Keras may hold ``implementation=0``.

        Keras 3's LSTM/GRU accept it and treat every value but 1 as 2 (one
        input dropout mask shared by the gates). A seqkit layer must load such a
        config and draw the same dropout as Keras's layer loaded from it.
        """
        if self.kind not in GATED:
            pytest.skip(f"{self.spec.keras_layer.__name__} takes no `implementation`")
        options = dict(return_sequences=True, dropout=0.3, seed=7)
        theirs = self.spec.keras_layer.from_config(
            {**self.spec.keras_layer(UNITS, use_cudnn=False, **options).get_config(),
             "implementation": 0}
        )
        ours = self.spec.layer.from_config(
            {**self.spec.layer(UNITS, **options).get_config(), "implementation": 0}
        )
        assert ours.implementation == 2  # Keras's meaning of 0
        build(ours)
        build(theirs, weights=random_weights(ours))
        ours.set_weights(theirs.get_weights())
        x = inputs()
        np.testing.assert_allclose(
            np.asarray(ours(x, training=True)), np.asarray(theirs(x, training=True)),
            **TOLERANCE,
        )
        for value in (3, "2", True):
            with pytest.raises(ValueError, match="`implementation`"):
                self.spec.layer(UNITS, implementation=value)

    def test_use_cudnn_is_accepted(self):
        """"auto" and False give the same numbers; True without a GPU raises, like Keras.

        (On a GPU, tests/layers/test_cudnn.py covers the dispatch itself.)
        """
        if "use_cudnn" not in pyinspect.signature(self.spec.keras_layer.__init__).parameters:
            pytest.skip(f"{self.spec.keras_layer.__name__} has no use_cudnn")
        x = inputs()
        outputs = []
        for value in ("auto", True, False):
            layer = build(self.spec.layer(UNITS, use_cudnn=value))
            assert layer.use_cudnn == value
            assert layer.get_config()["use_cudnn"] == value
            layer.set_weights(random_weights(layer))
            if value is True and not tf.config.list_logical_devices("GPU"):
                with pytest.raises(ValueError, match="use_cudnn=True.*no GPU"):
                    layer(x)
                with pytest.raises(ValueError, match="use_cudnn=True"):
                    build(self.spec.keras_layer(UNITS, use_cudnn=True))(x)
                continue
            outputs.append(np.asarray(layer(x)))
        for output in outputs[1:]:
            np.testing.assert_allclose(output, outputs[0], **TOLERANCE)

    def test_weights_named_and_shaped_like_keras(self, variant):
        ours = build(self.spec.layer(UNITS, **variant))
        theirs = build(self.spec.keras_layer(UNITS, **variant))
        assert [(w.name, tuple(w.shape)) for w in ours.weights] == [
            (w.name, tuple(w.shape)) for w in theirs.weights
        ]
        assert [w.name for w in ours.trainable_weights] == [
            w.name for w in theirs.trainable_weights
        ]

    def test_set_weights_both_directions(self, variant):
        ours, theirs, _ = make_layers(self.kind, variant, {})
        x = inputs()
        theirs.set_weights(random_weights(theirs, seed=9))
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOLERANCE)
        ours.set_weights(random_weights(ours, seed=10))
        theirs.set_weights(ours.get_weights())
        np.testing.assert_allclose(np.asarray(theirs(x)), np.asarray(ours(x)), **TOLERANCE)

    def test_initial_weights_match_keras(self, variant):
        """Seeded initializers give Keras's initial weights (incl. unit_forget_bias)."""
        for bias in ("zeros", keras.initializers.Constant(0.3)):
            def initializers():
                return dict(
                    kernel_initializer=keras.initializers.GlorotUniform(seed=1),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=2),
                    bias_initializer=bias,
                )
            ours = build(self.spec.layer(UNITS, **variant, **initializers()))
            theirs = build(self.spec.keras_layer(UNITS, **variant, **initializers()))
            for a, e in zip(ours.get_weights(), theirs.get_weights()):
                np.testing.assert_allclose(a, e, rtol=0, atol=1e-7)

    def test_config_round_trip(self, variant):
        layer = self.spec.layer(
            UNITS, go_backwards=True, return_sequences=True, dropout=0.25, seed=4,
            **{k: v for k, v in variant.items() if not callable(v)},
        )
        build(layer, weights=None)
        config = layer.get_config()
        clone = self.spec.layer.from_config(config)
        assert clone.get_config() == config
        build(clone, weights=layer.get_weights())
        x = inputs()
        np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(layer(x)))

    # -- dropout --------------------------------------------------------------------
    @pytest.mark.parametrize(
        "rates", [dict(dropout=0.4), dict(recurrent_dropout=0.4)], ids=["input", "recurrent"]
    )
    def test_dropout_is_seeded_and_off_at_inference(self, rates):
        x = inputs()
        weights = None

        def layer(**options):
            nonlocal weights
            made = build(self.spec.layer(UNITS, return_sequences=True, **options))
            weights = weights or random_weights(made)
            made.set_weights(weights)
            return made

        plain = np.asarray(layer()(x))
        first = np.asarray(layer(seed=1, **rates)(x, training=True))
        again = np.asarray(layer(seed=1, **rates)(x, training=True))
        other = np.asarray(layer(seed=2, **rates)(x, training=True))
        np.testing.assert_array_equal(first, again)
        assert np.max(np.abs(first - other)) > 1e-3
        assert np.max(np.abs(first - plain)) > 1e-3
        dropping = layer(seed=1, **rates)
        np.testing.assert_allclose(np.asarray(dropping(x, training=False)), plain, **TOLERANCE)
        np.testing.assert_allclose(np.asarray(dropping(x)), plain, **TOLERANCE)

    @pytest.mark.parametrize("implementation", [1, 2])
    def test_input_dropout_mask_is_the_same_at_every_step(self, implementation):
        """Variational dropout: one input mask per sequence, not per step.

        With no recurrence (U = 0, and LSTM's forget / GRU's update gate shut by
        a bias of -40) each step's output depends only on that step's dropped
        input; fed the same input at every step, it must then be the same at
        every step, yet differ between rows (each row has its own mask) and
        from the output without dropout.
        """
        if implementation == 1 and self.kind not in GATED:
            pytest.skip("Keras's SimpleRNN has no implementation 1")
        layer = build(self.spec.layer(
            UNITS, return_sequences=True, dropout=0.5, seed=3,
            **({"implementation": implementation} if self.kind in GATED else {}),
        ))
        kernel, recurrent_kernel, bias, *seed_state = random_weights(layer, seed=5, scale=1.0)
        recurrent_kernel[:] = 0.0
        if self.kind == "lstm":
            bias[UNITS:2 * UNITS] = -40.0  # forget gate
        elif self.kind == "gru":
            bias[..., :UNITS] = -40.0  # update gate: h_t = candidate
        layer.set_weights([kernel, recurrent_kernel, bias, *seed_state])
        x = np.broadcast_to(inputs(seed=6, shape=(1, 1, FEATURES)), (16, TIME, FEATURES))
        dropped = np.asarray(layer(x, training=True))
        np.testing.assert_allclose(dropped, np.broadcast_to(dropped[:, :1], dropped.shape),
                                   rtol=0, atol=1e-6)
        assert np.max(np.abs(dropped - dropped[:1])) > 1e-3  # rows have their own masks
        assert np.max(np.abs(dropped - np.asarray(layer(x)))) > 1e-3

    # -- bad input -------------------------------------------------------------------
    @pytest.mark.parametrize(
        "argument, value",
        [
            ("units", 0), ("units", -3), ("units", 2.5), ("units", "8"),
            ("activation", "no_such_activation"),
            ("dropout", -0.1), ("dropout", 1.0),
            ("recurrent_dropout", -0.1), ("recurrent_dropout", 1.0),
        ],
    )
    def test_bad_argument_is_named(self, argument, value):
        kwargs = {"units": UNITS, argument: value}
        with pytest.raises(ValueError) as error:
            self.spec.layer(**kwargs)
        assert f"`{argument}`" in str(error.value)
        assert repr(value) in str(error.value)
        with pytest.raises(ValueError, match=f"`{argument}`"):
            self.spec.cell(**kwargs)

    @pytest.mark.parametrize("shape", [(BATCH, FEATURES), (BATCH, TIME, FEATURES, 1)])
    def test_inputs_of_wrong_rank(self, shape):
        for layer in (self.spec.layer(UNITS), build(self.spec.layer(UNITS))):
            with pytest.raises(ValueError) as error:
                layer(np.zeros(shape, "float32"))
            assert "`sequences`" in str(error.value) and str(shape) in str(error.value)

    def test_feature_size_differs_from_built_one(self):
        layer = build(self.spec.layer(UNITS))
        shape = (BATCH, TIME, FEATURES + 2)
        with pytest.raises(ValueError) as error:
            layer(np.zeros(shape, "float32"))
        message = str(error.value)
        assert "`sequences`" in message and str(shape) in message and str(FEATURES) in message

    def test_initial_state_of_wrong_shape_or_count(self):
        layer = build(self.spec.layer(UNITS))
        x = inputs()
        good = initial_states(self.kind)
        bad_shapes = [(BATCH, UNITS + 1), (BATCH - 1, UNITS), (BATCH,)]
        for shape in bad_shapes:
            states = [np.zeros(shape, "float32")] + good[1:]
            with pytest.raises(ValueError) as error:
                layer(x, initial_state=states)
            assert "`initial_state[0]`" in str(error.value) and str(shape) in str(error.value)
        for count in (self.spec.num_states - 1, self.spec.num_states + 1):
            if count == 0:
                continue
            states = (good * 2)[:count]
            with pytest.raises(ValueError) as error:
                layer(x, initial_state=states)
            assert "`initial_state`" in str(error.value)
            assert f"got {count} tensor" in str(error.value)

    def test_stateful_layer_fed_another_batch_size(self):
        layer = self.spec.layer(UNITS, stateful=True)
        layer(inputs())
        with pytest.raises(ValueError) as error:
            layer(inputs(shape=(BATCH + 2, TIME, FEATURES)))
        message = str(error.value)
        assert "`sequences`" in message and str(BATCH + 2) in message and str(BATCH) in message

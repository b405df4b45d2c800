"""What every seqkit cell and layer shares: argument checks, weights, dropout, the fast loop.

A seqkit cell splits one recurrent step into two parts:

* ``project_inputs(x)``: ``x · W + b``, the part that does not depend on the
  previous state. For a single step ``x`` is ``[batch, features]``; the layer
  passes the whole ``[batch, time, features]`` sequence at once, so every time
  step's input projection is one large matmul instead of ``time`` small ones.
* ``gates(projected, states)``: the recurrence itself, written gate by gate as in
  the textbook equations, returning a named tuple of every intermediate value.

``call(inputs, states)`` (the Keras cell contract, used by ``keras.layers.RNN``,
``Bidirectional`` and ``StackedRNNCells``) is just those two in a row: the
readable reference path. ``RecurrentLayer.inner_loop`` is the fast path:
project the whole sequence first, then loop only over ``gates``
(``seqkit/layers/fused.py``; in training it also batches the backward pass).
Where measured faster (``use_xla``: inside a ``tf.function``, Elman always,
LSTM and GRU in training) those loops are compiled with XLA; on a GPU, LSTM and GRU take Keras's cuDNN
kernel when Keras would (``cudnn_eligible``). All compute the same numbers;
``tests/layers`` proves it for every cell.
"""

import numbers

import keras
from keras import activations, constraints, initializers, ops, regularizers
from keras.src import backend as keras_backend

# Keras's RNN layer pre-draws one dropout mask per sequence only for cells that
# inherit this mixin (keras.layers.RNN._maybe_config_dropout_masks checks with
# isinstance). It is not exported publicly, so setup.py pins keras<4.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from seqkit.layers import fused

PACKAGE = "seqkit"


# --------------------------------------------------------------------------
# Argument checks. Each names the argument, what was expected and what came.
# --------------------------------------------------------------------------
def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"positive integer, got {value!r}."
        )
    return int(value)


def check_rate(name, value):
    """A dropout rate: a number in [0, 1)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= float(value) < 1.0
    ):
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"float in [0, 1), got {value!r}."
        )
    return float(value)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected one of "
            f"{list(choices)}, got {value!r}."
        )
    return value


def get_activation(name, identifier):
    try:
        return activations.get(identifier)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected the name "
            f"of a Keras activation (e.g. 'tanh', 'sigmoid') or a callable, got "
            f"{identifier!r}."
        ) from error


def _get(kind, name, identifier):
    """initializers/regularizers/constraints.get with the argument named."""
    try:
        return kind.get(identifier)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `{name}`: {error}"
        ) from error


def apply_mask(x, mask, time_major=False):
    """x * mask, where mask is [batch, features] and x is one step or a sequence."""
    if len(x.shape) == 3:
        mask = ops.expand_dims(mask, 0 if time_major else 1)
    return x * mask


# --------------------------------------------------------------------------
# The cell base class.
# --------------------------------------------------------------------------
class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base class of the seqkit cells (see the module docstring for the split).

    Subclasses set ``num_gates`` (how many ``units``-wide blocks the kernels have)
    and implement ``gates`` and ``state_from_gates``; they may override
    ``bias_shape`` and ``bias_initializer_fn`` when their bias is special.

    The weights are Keras's: ``kernel`` [input_dim, num_gates*units],
    ``recurrent_kernel`` [units, num_gates*units], ``bias``.
    """

    num_gates = 1
    # Keras's LSTM/GRU cells draw one dropout mask per gate when
    # implementation == 1 or recurrent dropout is on; SimpleRNN never does.
    per_gate_masks_supported = False

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        implementation=2,
        **kwargs,
    ):
        units = check_positive_int("units", units)
        super().__init__(**kwargs)
        self.units = units
        self.activation = get_activation("activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _get(initializers, "kernel_initializer", kernel_initializer)
        self.recurrent_initializer = _get(
            initializers, "recurrent_initializer", recurrent_initializer
        )
        self.bias_initializer = _get(initializers, "bias_initializer", bias_initializer)
        self.kernel_regularizer = _get(regularizers, "kernel_regularizer", kernel_regularizer)
        self.recurrent_regularizer = _get(
            regularizers, "recurrent_regularizer", recurrent_regularizer
        )
        self.bias_regularizer = _get(regularizers, "bias_regularizer", bias_regularizer)
        self.kernel_constraint = _get(constraints, "kernel_constraint", kernel_constraint)
        self.recurrent_constraint = _get(
            constraints, "recurrent_constraint", recurrent_constraint
        )
        self.bias_constraint = _get(constraints, "bias_constraint", bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        # Configs saved by older Keras may hold implementation=0 (tf.keras's
        # removed mode); Keras 3 loads them and treats every value but 1 as 2.
        if isinstance(implementation, bool) or implementation not in (0, 1, 2):
            raise ValueError(
                f"Received an invalid value for argument `implementation`, expected "
                f"1 or 2 (0, from configs saved by older Keras, means 2), got "
                f"{implementation!r}."
            )
        self.implementation = 1 if implementation == 1 else 2
        if self.per_gate_masks_supported and (
            self.recurrent_dropout or self.implementation == 1
        ):
            # Same rule as Keras: independent masks for each gate's input.
            self.implementation = 1
            self.dropout_mask_count = self.num_gates
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = self.units
        self.output_size = self.units
        self._input_dim = None

    # -- weights -----------------------------------------------------------
    def bias_shape(self):
        return (self.num_gates * self.units,)

    def bias_initializer_fn(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size (the last axis "
                f"of its inputs), got input shape {tuple(input_shape)}."
            )
        self._input_dim = int(input_dim)
        width = self.num_gates * self.units
        self.kernel = self.add_weight(
            shape=(self._input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.bias_initializer_fn(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    # -- the two halves of a step --------------------------------------------
    def input_bias(self):
        """The bias added to the input projection (None without bias)."""
        return self.bias

    def project_inputs(self, inputs, training=False, time_major=False):
        """x · W + b for one step [batch, features] or a sequence [batch, time, features]
        ([time, batch, features] with ``time_major``).

        Input dropout uses the mask drawn once for the whole sequence, so one
        step and the whole sequence see the same dropped features.
        """
        if len(inputs.shape) == 2:
            first_step = inputs
        else:
            first_step = inputs[0] if time_major else inputs[:, 0]
        mask = self.get_dropout_mask(first_step)
        dropping = training and self.dropout > 0 and mask is not None
        if dropping and isinstance(mask, (list, tuple)):
            # One mask per gate (Keras implementation 1): one matmul per gate.
            kernels = ops.split(self.kernel, self.num_gates, axis=1)
            projected = ops.concatenate(
                [ops.matmul(apply_mask(inputs, m, time_major), k) for m, k in zip(mask, kernels)],
                axis=-1,
            )
        else:
            if dropping:
                inputs = apply_mask(inputs, mask, time_major)
            projected = ops.matmul(inputs, self.kernel)
        bias = self.input_bias()
        if bias is not None:
            projected = projected + bias
        return projected

    def recurrent_inputs(self, hidden, training=False):
        """The previous hidden state, once per gate, each with its dropout mask.

        Returns a list of ``num_gates`` tensors (the same tensor repeated when
        there is no recurrent dropout), so ``gates`` can read
        ``h_i, h_f, ... = self.recurrent_inputs(h)`` like the equations.
        """
        mask = self.get_recurrent_dropout_mask(hidden)
        if not (training and self.recurrent_dropout > 0 and mask is not None):
            return [hidden] * self.num_gates
        if isinstance(mask, (list, tuple)):
            return [hidden * m for m in mask]
        return [hidden * mask] * self.num_gates

    def recurrent_kernels(self):
        """The recurrent kernel split into its per-gate [units, units] blocks."""
        return ops.split(self.recurrent_kernel, self.num_gates, axis=1)

    def pre_activations(self, projected, hidden, training=False, recurrent=None):
        """``[x·W_g + b_g + h·U_g for each gate g]``, each [batch, units].

        Without recurrent dropout every gate reads the same ``h``, so the
        recurrent part is one fused ``h · U`` matmul, split afterwards; with
        per-gate recurrent masks each gate gets its own ``(h ∘ m_g) · U_g``.
        ``recurrent``, when given, is ``h · U`` already computed (the fused
        sequence loop in ``seqkit.layers.fused`` computes it itself).
        """
        if recurrent is not None:
            return ops.split(projected + recurrent, self.num_gates, axis=-1)
        hiddens = self.recurrent_inputs(hidden, training)
        if all(h is hiddens[0] for h in hiddens):
            fused = projected + ops.matmul(hiddens[0], self.recurrent_kernel)
            return ops.split(fused, self.num_gates, axis=-1)
        return [
            x + ops.matmul(h, u)
            for x, h, u in zip(
                ops.split(projected, self.num_gates, axis=-1),
                hiddens,
                self.recurrent_kernels(),
            )
        ]

    def gates(self, projected, states, training=False, recurrent=None):
        """Every named quantity of one step; subclasses write the equations here.

        ``recurrent`` is the optional precomputed ``h_{t-1} · U + b'`` (see
        ``recurrent_bias``), passed by the fused loop; None computes it here.
        """
        raise NotImplementedError

    def recurrent_bias(self):
        """A bias added to ``h · U`` inside the recurrence (GRU's b'); None here."""
        return None

    def step_weights(self):
        """Weights ``gates`` reads besides ``recurrent_kernel`` and ``recurrent_bias``
        (e.g. a peephole kernel); the fused loop returns their gradients, summed
        over the steps. None here."""
        return []

    def supports_fused(self, training):
        """Whether ``seqkit.layers.fused`` can run this cell: its recurrence must
        read the previous state only through ``h_{t-1} · U + b'`` (true unless
        per-gate recurrent dropout masks are active)."""
        return not (training and self.recurrent_dropout > 0)

    def state_from_gates(self, gates):
        """The new state list, read off the named gate values."""
        return [gates.hidden]

    def call(self, inputs, states, training=False):
        """One step, the readable reference path: project, then the gate equations."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        values = self.gates(self.project_inputs(inputs, training), states, training)
        return values.hidden, self.state_from_gates(values)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


# --------------------------------------------------------------------------
# The layer base class.
# --------------------------------------------------------------------------
# Constructor arguments of keras.layers.RNN that a seqkit layer passes through.
RNN_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")


class RecurrentLayer(keras.layers.RNN):
    """A ``keras.layers.RNN`` over a seqkit cell, with the fast input projection.

    Everything Keras's RNN does (masking, ``go_backwards``, ``stateful`` with
    ``reset_state``, ``initial_state``, ``unroll``, ``return_state``) is kept;
    only ``inner_loop`` changes in training: the input projection of every time
    step is computed in one matmul before the loop, which then runs only
    ``cell.gates`` (and, via ``fused.fused_rnn``, a batched backward pass).
    """

    cell_class = None
    # Cell settings re-exposed as read-only properties of the layer.
    cell_properties = ()

    def __init__(self, cell, **kwargs):
        super().__init__(cell, **kwargs)

    # -- input checks ------------------------------------------------------
    def _check_sequences_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects `sequences` of "
                f"rank 3 [batch, time, features], got shape {shape} (rank {len(shape)})."
            )
        built_dim = getattr(self.cell, "_input_dim", None)
        if built_dim is not None and shape[-1] is not None and shape[-1] != built_dim:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for "
                f"{built_dim} input features, but `sequences` has {shape[-1]} "
                f"(shape {shape})."
            )

    def _check_initial_state(self, initial_state, batch_size):
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.cell.state_size
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        if len(states) != len(sizes):
            raise ValueError(
                f"Layer '{self.name}' expects `initial_state` to be a list of "
                f"{len(sizes)} tensor(s) of shapes "
                f"{[(batch_size, s) for s in sizes]}, got {len(states)} tensor(s)."
            )
        for index, (state, size) in enumerate(zip(states, sizes)):
            shape = tuple(getattr(state, "shape", ()))
            bad_rank = len(shape) != 2
            bad_size = not bad_rank and shape[1] is not None and shape[1] != size
            bad_batch = (
                not bad_rank
                and shape[0] is not None
                and batch_size is not None
                and shape[0] != batch_size
            )
            if bad_rank or bad_size or bad_batch:
                raise ValueError(
                    f"Layer '{self.name}' expects `initial_state[{index}]` of shape "
                    f"({batch_size}, {size}), got shape {shape}."
                )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_sequences_shape(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_sequences_shape(sequences.shape)
        if initial_state is not None:
            self._check_initial_state(initial_state, sequences.shape[0])
        if mask is not None and not isinstance(mask, (list, tuple)):
            expected = tuple(sequences.shape[:2])
            received = tuple(mask.shape)
            if len(received) != 2 or any(
                e is not None and r is not None and e != r for e, r in zip(expected, received)
            ):
                raise ValueError(
                    f"Layer '{self.name}' expects `mask` of shape {expected} "
                    f"[batch, time], got shape {received}."
                )
        if self.stateful and self.states is not None:
            expected = tuple(self.states[0].shape)[0]
            received = sequences.shape[0]
            if received is not None and expected is not None and received != expected:
                raise ValueError(
                    f"Layer '{self.name}' is stateful and was built for batch size "
                    f"{expected}, but `sequences` has batch size {received}. Feed "
                    f"batches of {expected} rows, or rebuild the layer."
                )
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    # -- the fast path -------------------------------------------------------
    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        use_cudnn = getattr(self, "use_cudnn", False)
        if use_cudnn in ("auto", True) and cudnn_kind(self.cell):
            eligible, reason = cudnn_eligible(self, training)
            if eligible:
                return self._cudnn_loop(sequences, initial_state, mask, training)
            if use_cudnn is True:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) was given use_cudnn=True, "
                    f"but cuDNN cannot run this configuration: {reason}. Pass "
                    f"use_cudnn='auto' to fall back to seqkit's own loop (as Keras asks)."
                )
        return self._seqkit_loop(sequences, initial_state, mask, training)

    def _cudnn_loop(self, sequences, initial_state, mask, training):
        """Keras's TensorFlow cuDNN kernel on this layer's weights (``cudnn_eligible``).

        As in Keras's LSTM/GRU: input dropout multiplies the sequence by the
        cell's mask first. With a mask, "auto" takes cuDNN only when every row
        is right-padded (checked at run time; otherwise seqkit's loop, with
        the same result); ``use_cudnn=True`` leaves the check to Keras's kernel,
        which fails on such a mask, as Keras's layer does.
        """
        import importlib

        import tensorflow as tf

        # The module, not its `rnn` function that `from ... import rnn` would give.
        tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")

        cell = self.cell
        inputs = sequences
        if training and cell.dropout > 0:
            dropout_mask = cell.get_dropout_mask(sequences[:, 0, :])
            inputs = sequences * ops.expand_dims(dropout_mask, 1)
        common = dict(
            kernel=cell.kernel, recurrent_kernel=cell.recurrent_kernel, bias=cell.bias,
            activation=cell.activation, recurrent_activation=cell.recurrent_activation,
            return_sequences=self.return_sequences, go_backwards=self.go_backwards,
            unroll=self.unroll,
        )

        def cudnn():
            if cudnn_kind(cell) == "lstm":
                result = tf_rnn.lstm(inputs, initial_state[0], initial_state[1], mask, **common)
            else:
                result = tf_rnn.gru(inputs, initial_state[0], mask, reset_after=True, **common)
            return same_structure(*result)

        def same_structure(last_output, outputs, states):
            # Keras's kernel returns outputs [batch, 1, units] without
            # return_sequences; RNN.call then reads only last_output.
            if not self.return_sequences:
                outputs = last_output[:, None]
            return last_output, outputs, list(states)

        self.supports_jit = False  # cuDNN ops are not XLA-compatible (Keras does the same)
        if mask is None or self.use_cudnn is True:
            return cudnn()
        # Both branches return (last_output, outputs, states) of equal shapes.
        return tf.cond(
            _right_padded(mask), cudnn,
            lambda: same_structure(*self._seqkit_loop(sequences, initial_state, mask, training)),
        )

    def _seqkit_loop(self, sequences, initial_state, mask, training=False):
        """seqkit's own loop: fused inference / training paths, or Keras's step loop."""
        cell = self.cell
        if not training:
            # Inference without a backward pass: the fused loop pays only under
            # XLA (Elman). For LSTM and GRU, matmul-bound, Keras's per-step loop
            # over cell.call measured as fast or faster (BUILD_NOTES.md, Layer
            # speed), so they run the reference path.
            if self.unroll or not cell.supports_fused(training) or not use_xla(
                    self, sequences):
                return super().inner_loop(sequences, initial_state, mask, training)
            return self._inference_loop(sequences, initial_state, mask)
        # The loops run time-major. Transposing the raw inputs is cheaper than
        # transposing their projection (gates× wider), so transpose first; then
        # one [time*batch, features] x [features, gates*units] matmul projects
        # every step, and the loops do only the state-dependent work.
        projected = cell.project_inputs(
            ops.transpose(sequences, [1, 0, 2]), training, time_major=True
        )
        if not self.unroll and cell.supports_fused(training):
            # Also batches the backward pass (see seqkit/layers/fused.py).
            return fused.fused_rnn(
                cell,
                projected,
                list(initial_state),
                mask=mask,
                go_backwards=self.go_backwards,
                zero_output_for_mask=self.zero_output_for_mask,
                time_major=True,
                xla=use_xla(self, sequences, training=True),
            )

        def step(projected_t, states):
            values = cell.gates(projected_t, list(states), training)
            return values.hidden, cell.state_from_gates(values)

        if mask is not None:
            mask = ops.transpose(mask, [1, 0])
        last_output, outputs, states = keras_backend.rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            time_major=True,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )
        return last_output, ops.transpose(outputs, [1, 0, 2]), states

    def _inference_loop(self, sequences, initial_state, mask):
        """Inference: all input projections in one matmul, then ``fused.fused_forward``.

        Compiled with XLA as one kernel where ``use_xla`` says it is
        faster and safe (see there); otherwise the plain TensorFlow graph.
        """
        cell = self.cell

        def forward(sequences, initial_state, mask):
            projected = cell.project_inputs(
                ops.transpose(sequences, [1, 0, 2]), time_major=True
            )
            outputs, states = fused.fused_forward(
                cell, projected, list(initial_state), mask=mask,
                go_backwards=self.go_backwards,
                zero_output_for_mask=self.zero_output_for_mask,
            )
            return ops.transpose(outputs, [1, 0, 2]), list(states)

        if use_xla(self, sequences):
            outputs, states = _xla_with_plain_gradient(forward, sequences, initial_state, mask)
        else:
            outputs, states = forward(sequences, list(initial_state), mask)
        return outputs[:, -1], outputs, states

    # -- config: the cell's settings flattened into the layer's ------------------
    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        del config["cell"]
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def forward_cell_properties(layer_class):
    """Class decorator: expose ``cell_properties`` as read-only layer properties."""
    for name in layer_class.cell_properties:
        setattr(
            layer_class,
            name,
            property(lambda self, _name=name: getattr(self.cell, _name), doc=f"The cell's `{name}`."),
        )
    return layer_class


def base_cell_arguments(arguments):
    """``RecurrentCell.__init__`` keyword arguments out of a cell constructor's ``locals()``.

    Subclass cells spell out Keras's signature (plus their own arguments) and
    hand the shared ones on with ``super().__init__(**base_cell_arguments(locals()))``.
    """
    arguments = dict(arguments)
    extra = arguments.pop("kwargs", {})
    names = RecurrentCell.__init__.__code__.co_varnames[
        1 : RecurrentCell.__init__.__code__.co_argcount
    ]
    return {**{name: arguments[name] for name in names if name in arguments}, **extra}


def layer_arguments(cell_class, arguments, cell_name):
    """Turn a layer constructor's ``locals()`` into ``RecurrentLayer.__init__`` kwargs.

    The seqkit layers spell out every Keras argument in their signatures (so
    ``help()``, ``inspect.signature`` and IDEs show them exactly as Keras does);
    this helper then routes each one: RNN arguments and ``activity_regularizer``
    to the layer, everything else to a new ``cell_class``. ``dtype`` and
    ``trainable`` go to both, as in Keras's own layers.
    """
    arguments = dict(arguments)
    for name in ("self", "__class__"):
        arguments.pop(name, None)
    extra = dict(arguments.pop("kwargs", {}))
    layer_kwargs = {name: arguments.pop(name) for name in RNN_ARGUMENTS}
    layer_kwargs["activity_regularizer"] = arguments.pop("activity_regularizer", None)
    # Keras's LSTM/GRU take `implementation` through **kwargs; it belongs to the cell.
    if "implementation" in extra:
        arguments["implementation"] = extra.pop("implementation")
    cell = cell_class(
        **arguments,
        dtype=extra.get("dtype", None),
        trainable=extra.get("trainable", True),
        name=cell_name,
    )
    return {"cell": cell, **layer_kwargs, **extra}


def check_use_cudnn(use_cudnn):
    """Keras's ``use_cudnn``: ``"auto"``, True or False (see ``cudnn_eligible``)."""
    return check_choice("use_cudnn", use_cudnn, ("auto", True, False))


def gpu_available():
    """Whether TensorFlow sees a GPU (Keras's own test before it tries cuDNN)."""
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def cudnn_eligible(layer, training=False, gpu=None):
    """Whether ``layer`` (a seqkit LSTM or GRU) may run Keras's cuDNN kernel, and why not.

    Keras 3's rule (``keras/src/layers/rnn/lstm.py`` / ``gru.py`` ``inner_loop``
    and ``keras/src/backend/tensorflow/rnn.py`` ``cudnn_ok``): ``use_cudnn`` is
    "auto" or True, no ``recurrent_dropout``, ``activation`` tanh,
    ``recurrent_activation`` sigmoid, ``unroll`` False, ``use_bias`` True, for
    the GRU ``reset_after`` True, and a GPU. seqkit adds what cuDNN cannot
    compute and Keras's layer has no argument for: no peepholes, and no
    per-gate input dropout masks in training (``implementation=1`` with
    ``dropout``; Keras's own layer crashes there). A mask, which Keras requires
    right-padded on cuDNN, is checked at run time (``RecurrentLayer.inner_loop``).

    Args:
        layer: a ``RecurrentLayer``; kinds without a cuDNN kernel (Elman,
            Clockwork) are never eligible.
        training: whether the call is in training mode (input dropout then
            counts).
        gpu: whether a GPU is there; None asks TensorFlow (``gpu_available``).

    Returns:
        ``(eligible, reason)``: a bool and, when not eligible, the first rule
        that failed in words ("" when eligible).

    Example:
        >>> from seqkit.layers import LSTM
        >>> cudnn_eligible(LSTM(8), gpu=True)
        (True, '')
        >>> cudnn_eligible(LSTM(8, activation="relu"), gpu=True)
        (False, 'activation is not tanh')
    """
    cell = layer.cell
    kind = cudnn_kind(cell)
    if kind is None:
        return False, f"{type(layer).__name__} has no cuDNN kernel"
    use_cudnn = getattr(layer, "use_cudnn", "auto")
    if use_cudnn not in ("auto", True):
        return False, "use_cudnn=False"
    tanh = (activations.tanh, ops.tanh, _tf_function("tanh"))
    sigmoid = (activations.sigmoid, ops.sigmoid, _tf_function("sigmoid"))
    rules = (
        (bool(cell.recurrent_dropout), "recurrent_dropout > 0"),
        (cell.activation not in tanh, "activation is not tanh"),
        (cell.recurrent_activation not in sigmoid, "recurrent_activation is not sigmoid"),
        (layer.unroll, "unroll=True"),
        (not cell.use_bias, "use_bias=False"),
        (kind == "gru" and not cell.reset_after, "reset_after=False"),
        (getattr(cell, "use_peepholes", False), "use_peepholes=True"),
        (training and cell.dropout > 0 and cell.implementation == 1,
         "per-gate input dropout masks (implementation=1 with dropout)"),
    )
    for failed, reason in rules:
        if failed:
            return False, reason
    if not (gpu_available() if gpu is None else gpu):
        return False, "no GPU"
    return True, ""


# Activations known to compile with XLA (Keras's, by identity); a custom one
# keeps the plain graph, since an XLA failure inside a traced model could not be
# caught and undone.
def _xla_activations():
    names = ("tanh", "sigmoid", "relu", "linear", "softsign", "hard_sigmoid", "elu",
             "selu", "softplus", "gelu", "silu", "relu6", "hard_silu", "leaky_relu")
    return [getattr(activations, name) for name in names if hasattr(activations, name)]


def use_xla(layer, sequences, training=False):
    """Whether ``RecurrentLayer`` compiles its whole-sequence loops with XLA (inference:
    the forward loop; training: ``fused_rnn``'s forward and backward loops).

    Measured (BUILD_NOTES.md, experiments.bench layers), keras ÷ seqkit:

    * Elman, both modes: a step is one matmul and one activation, so
      TensorFlow's per-op overhead dominated; XLA runs each loop as one kernel.
    * LSTM and GRU in training: the backward loop's local tape re-runs the gate
      math (many small elementwise ops); XLA fuses them (650 units: LSTM 1.82 →
      2.55, GRU 1.59 → 2.10; 200 units about even).
    * LSTM and GRU at inference: matmul-bound; XLA's CPU matmul is slower than
      TensorFlow's, so they keep the graph.

    Also required: inside a ``tf.function`` (eager calls would compile at every
    call), a time length known when tracing (else every new length would
    recompile), float32, and activations from Keras's list (so compilation
    cannot fail inside a traced model, where it could not be caught).
    """
    import tensorflow as tf

    # Not at the top: these modules import this one.
    from seqkit.layers import elman, gru, lstm

    cell = layer.cell
    kinds = (elman.ElmanCell, lstm.LSTMCell, gru.GRUCell) if training else (elman.ElmanCell,)
    if type(cell) not in kinds or not tf.inside_function():
        return False
    if sequences.shape[1] is None or cell.compute_dtype != "float32":
        return False
    used = [cell.activation, getattr(cell, "recurrent_activation", None)]
    known = _xla_activations()
    return all(any(a is k for k in known) for a in used if a is not None)


def _xla_with_plain_gradient(forward, sequences, initial_state, mask):
    """``forward(sequences, initial_state, mask)`` compiled by XLA; its gradient
    (rarely wanted at inference) by autodiff of the plain ``forward``.

    TensorFlow cannot differentiate an XLA-compiled ``tf.while_loop`` from
    outside XLA ("TensorList crossing the XLA/TF boundary"), so the backward
    pass recomputes the forward in the TensorFlow graph and differentiates that.
    """
    import tensorflow as tf

    # A new tf.function per trace of the caller: traced (and compiled) once per
    # trace, and never stored on the layer (tf.Module tracking would save it).
    compiled = tf.function(forward, jit_compile=True, autograph=False)
    sequences = tf.convert_to_tensor(sequences)
    initial_state = [tf.convert_to_tensor(state) for state in initial_state]

    @tf.custom_gradient
    def run(sequences, *initial_state):
        outputs, states = compiled(sequences, list(initial_state), mask)

        def grad(d_outputs, *d_states, variables=None):
            variables = list(variables or [])
            sources = [sequences, *initial_state]
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(sources)
                tape.watch(variables)
                outputs, states = forward(sequences, list(initial_state), mask)
            grads = tape.gradient(
                [outputs, *states], sources + variables,
                output_gradients=[d_outputs, *d_states],
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            return grads[: len(sources)], grads[len(sources):]

        return (outputs, *states), grad

    outputs, *states = run(sequences, *initial_state)
    return outputs, list(states)


def cudnn_kind(cell):
    """"lstm" or "gru" for the cells with a cuDNN kernel, else None."""
    from seqkit.layers import gru, lstm  # not at the top: they import this module

    if isinstance(cell, lstm.LSTMCell):
        return "lstm"
    if isinstance(cell, gru.GRUCell):
        return "gru"
    return None


def _tf_function(name):
    import tensorflow as tf

    return getattr(tf, name)


def _right_padded(mask):
    """True when every row of ``mask`` [batch, time] is ones then zeros, with at least
    one step (what cuDNN's sequence lengths can express)."""
    import tensorflow as tf

    mask = tf.cast(mask, tf.int32)
    lengths = tf.reduce_sum(mask, axis=1)
    prefix = tf.cast(tf.range(tf.shape(mask)[1])[None, :] < lengths[:, None], tf.int32)
    return tf.logical_and(tf.reduce_all(tf.equal(mask, prefix)), tf.reduce_all(lengths > 0))

"""Stacked, bidirectional and deep bidirectional networks over any seqkit cell.

Every builder takes a cell kind (``"elman"``, ``"lstm"``, ``"gru"``,
``"clockwork"``: the keys of ``seqkit.layers.CELLS``) and returns one Keras
layer that owns its recurrent sub-layers. Write ``x^0`` for the input sequence,
``RNN_l`` for the recurrent layer ``l = 1..L`` and ``D`` for inter-layer dropout:

    stack:                h^l = RNN_l(D(h^{l-1}))                 D only for l >= 2
      residual=True:      h^l = RNN_l(D(h^{l-1})) + h^{l-1}       l >= 2, equal widths

    bidirectional:        f_t = forward RNN over x_1 .. x_T        (its own weights)
                          b_t = backward RNN over x_T .. x_1, put back in time order
                          y_t = merge(f_t, b_t)
                          merge: concat [f_t, b_t] | sum f_t + b_t | mul f_t * b_t
                                 | ave (f_t + b_t) / 2 | None (f, b returned apart)

    deep bidirectional:   h^l = merge(forward_l(D(h^{l-1})), backward_l(D(h^{l-1})))
                          (+ h^{l-1} with residual=True), the next layer reading h^l

Dropout follows Zaremba et al. (2014): ``dropout`` only touches the
non-recurrent connections between layers (and ``output_dropout`` the network's
output), never the state carried from step to step, so the memory is not
corrupted at every step. ``recurrent_dropout`` is the variational dropout of Gal
& Ghahramani (2016) *inside* each layer: one mask per sequence on ``h_{t-1}``.

States (``return_state=True`` outputs, and ``initial_state``) are one flat list:

    stack:                [layer 1 states..., layer 2 states..., ...]
    bidirectional:        [forward states..., backward states...]
    deep bidirectional:   [layer 1 forward..., layer 1 backward..., layer 2 forward..., ...]

where "states" of one direction are its cell's states in the cell's order
(Elman/GRU/Clockwork: ``[h]``; LSTM: ``[h, c]``). ``state_names`` and
``state_sizes`` spell the order out for a built network; the returned states fed
back as ``initial_state`` continue the sequence exactly (a language model's
carried state between chunks).

Masks (from ``Masking``, ``Embedding(mask_zero=True)`` or ``mask=``) reach every
recurrent layer; masked steps keep the state unchanged, so padded steps never
change the outputs of valid ones. With ``return_sequences=True`` the outputs at
masked steps are zeros, as in ``keras.layers.Bidirectional``.

Example:
    >>> import numpy as np
    >>> from seqkit import builders
    >>> net = builders.stack("lstm", [32, 32], dropout=0.5, return_sequences=True)
    >>> tuple(net(np.zeros((4, 10, 8), "float32")).shape)
    (4, 10, 32)
    >>> bi = builders.bidirectional("gru", 16, merge_mode="sum")
    >>> tuple(bi(np.zeros((4, 10, 8), "float32")).shape)
    (4, 16)
"""

import itertools
import numbers

import keras
from keras import ops

from seqkit import layers as seqkit_layers
from seqkit.layers import base

MERGE_MODES = ("concat", "sum", "mul", "ave", None)

# Layer arguments the builder sets itself. `cell_kwargs` may not set them: the
# builder would silently override them, or they break the wiring.
_RESERVED_CELL_KWARGS = {
    "units": "give the widths with the builder's `units`",
    "return_sequences": "use the builder's `return_sequences`",
    "return_state": "use the builder's `return_state`",
    "go_backwards": "use a bidirectional builder for the reversed direction",
    "stateful": "carry states explicitly: `return_state=True` and `initial_state=`",
    "recurrent_dropout": "use the builder's `recurrent_dropout`",
    "seed": "use the builder's `seed`",
    "name": "the builder names its sub-layers",
    "dtype": "use the builder's `dtype`",
    "zero_output_for_mask": "the builder always zeroes masked output steps",
}


# --------------------------------------------------------------------------
# Argument checks (same wording as seqkit.layers.base).
# --------------------------------------------------------------------------
def _layer_class(cell):
    """The seqkit layer class of a cell kind, with the valid kinds in the error."""
    if not isinstance(cell, str):
        raise ValueError(
            f"Received an invalid value for argument `cell`, expected one of "
            f"{sorted(seqkit_layers.CELLS)}, got {cell!r}."
        )
    return seqkit_layers.get(cell)[1]


def _units_list(units, num_layers):
    """One width per layer, from an int (repeated ``num_layers`` times) or a list."""
    if num_layers is not None and (
        isinstance(num_layers, bool)
        or not isinstance(num_layers, numbers.Integral)
        or num_layers < 1
    ):
        raise ValueError(
            f"Received an invalid value for argument `num_layers`, expected an "
            f"integer >= 1 (a network needs at least one layer), got {num_layers!r}."
        )
    if isinstance(units, (list, tuple)):
        if not units:
            raise ValueError(
                "Received an invalid value for argument `units`, expected a "
                "positive integer or a non-empty list of them (a network needs "
                f"at least one layer), got {units!r}."
            )
        widths = [base.check_positive_int(f"units[{i}]", u) for i, u in enumerate(units)]
        if num_layers is not None and num_layers != len(widths):
            raise ValueError(
                f"Received num_layers={num_layers}, but argument `units` lists "
                f"{len(widths)} layer width(s) {widths}: give one width per layer, "
                f"or one int for all of them."
            )
        return widths
    return [base.check_positive_int("units", units)] * (num_layers or 1)


def _check_cell_kwargs(cell_kwargs):
    if cell_kwargs is None:
        return {}
    if not isinstance(cell_kwargs, dict):
        raise ValueError(
            f"Received an invalid value for argument `cell_kwargs`, expected a "
            f"dict of extra layer arguments, got {cell_kwargs!r}."
        )
    for key in cell_kwargs:
        if key in _RESERVED_CELL_KWARGS:
            raise ValueError(
                f"Received an invalid value for argument `cell_kwargs`: it may not "
                f"set {key!r} ({_RESERVED_CELL_KWARGS[key]}), got {cell_kwargs!r}."
            )
    return dict(cell_kwargs)


def _num_states(layer):
    size = layer.cell.state_size
    return len(size) if isinstance(size, (list, tuple)) else 1


def _state_sizes(layer):
    size = layer.cell.state_size
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


def _merge(forward, backward, mode):
    if mode == "concat":
        return ops.concatenate([forward, backward], axis=-1)
    if mode == "sum":
        return forward + backward
    if mode == "mul":
        return forward * backward
    if mode == "ave":
        return (forward + backward) / 2
    return [forward, backward]  # mode None: the directions stay apart


def _last_valid_step(sequence, mask):
    """``sequence[b, t_b]``, ``t_b`` the last unmasked step of row b (the last step if no mask).

    This is the step a forward RNN with ``return_sequences=False`` reports, so
    a residual network's final output is ``RNN_L(...)_{t_b} + h^{L-1}_{t_b}``.
    """
    if mask is None:
        return sequence[:, -1]
    positions = ops.arange(ops.shape(sequence)[1], dtype="int32")
    last = ops.max(ops.where(ops.cast(mask, "bool"), positions[None, :], 0), axis=1)
    return ops.take_along_axis(sequence, last[:, None, None], axis=1)[:, 0]


# --------------------------------------------------------------------------
# The network layer shared by the three builders.
# --------------------------------------------------------------------------
class _RecurrentNetwork(keras.layers.Layer):
    """L recurrent layers of one cell kind, one or two directions each.

    ``StackedRNN``, ``BidirectionalRNN`` and ``DeepBidirectionalRNN`` are this
    class with ``bidirectional`` fixed; their docstrings describe the arguments.
    The sub-layers are created in ``__init__`` (so bad ``cell_kwargs`` fail at
    once) and built in ``build``:

    * ``forward_layers[l]``: layer ``l + 1`` (the only direction of a stack);
    * ``backward_layers[l]``: its backward twin, ``go_backwards=True`` (bidirectional);
    * ``dropout_layers[l]``: the ``Dropout`` on the input of layer ``l + 2``;
    * ``output_dropout_layer``: the ``Dropout`` on the output, or None.

    Weights are ordered layer by layer, forward before backward, as in a chain
    of ``keras.layers.Bidirectional``.
    """

    bidirectional = False

    def __init__(
        self,
        cell,
        units,
        num_layers=None,
        merge_mode="concat",
        dropout=0.0,
        recurrent_dropout=0.0,
        output_dropout=0.0,
        residual=False,
        return_sequences=False,
        return_state=False,
        cell_kwargs=None,
        seed=None,
        **kwargs,
    ):
        layer_class = _layer_class(cell)
        widths = _units_list(units, num_layers)
        merge_mode = base.check_choice("merge_mode", merge_mode, MERGE_MODES)
        dropout = base.check_rate("dropout", dropout)
        recurrent_dropout = base.check_rate("recurrent_dropout", recurrent_dropout)
        output_dropout = base.check_rate("output_dropout", output_dropout)
        cell_kwargs = _check_cell_kwargs(cell_kwargs)
        residual, return_sequences, return_state = (
            bool(residual), bool(return_sequences), bool(return_state),
        )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(
                f"Received an invalid value for argument `seed`, expected an "
                f"integer or None, got {seed!r}."
            )
        if residual:
            _check_residual(self.bidirectional, widths, merge_mode, return_sequences)
        super().__init__(**kwargs)

        self.cell_kind = cell
        self.units = widths
        self.num_layers = len(widths)
        self.merge_mode = merge_mode
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.output_dropout = output_dropout
        self.residual = residual
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.seed = None if seed is None else int(seed)
        self.supports_masking = True
        self._cell_kwargs = cell_kwargs

        # Each random sub-layer gets its own seed (seed, seed + 1, ...): equal
        # seeds would make the forward and backward directions, or two layers,
        # drop the same units.
        seeds = itertools.count(self.seed) if seed is not None else None

        def seed_kwargs():
            return {} if seeds is None else {"seed": next(seeds)}

        def recurrent_layer(width, layer_return_sequences, go_backwards, name):
            layer = layer_class(
                width,
                return_sequences=layer_return_sequences,
                # Always on inside: states are unpacked the same way whether or
                # not the caller asked for them.
                return_state=True,
                go_backwards=go_backwards,
                recurrent_dropout=recurrent_dropout,
                name=name,
                dtype=self.dtype_policy,
                **seed_kwargs(),
                **cell_kwargs,
            )
            # Zeros at masked output steps (what keras.layers.Bidirectional
            # forces): flipped backward outputs then line up with forward ones,
            # and padding reads as zeros downstream.
            layer.zero_output_for_mask = layer_return_sequences
            return layer

        # Appended one by one so the weights are ordered layer 1 forward,
        # layer 1 backward, layer 2 forward, ... (Keras tracks in append order).
        self.forward_layers = []
        self.backward_layers = []
        self.dropout_layers = []
        for index, width in enumerate(widths):
            last = index == len(widths) - 1
            if index > 0 and dropout > 0:
                self.dropout_layers.append(
                    keras.layers.Dropout(
                        dropout, name=f"dropout_{index}", dtype=self.dtype_policy,
                        **seed_kwargs(),
                    )
                )
            # Inner layers feed the next one a sequence; a residual last layer
            # needs its sequence to add the input before the last step is taken.
            layer_return_sequences = (not last) or return_sequences or (
                residual and index > 0
            )
            if self.bidirectional:
                self.forward_layers.append(
                    recurrent_layer(width, layer_return_sequences, False,
                                    f"forward_{cell}_{index + 1}")
                )
                self.backward_layers.append(
                    recurrent_layer(width, layer_return_sequences, True,
                                    f"backward_{cell}_{index + 1}")
                )
            else:
                self.forward_layers.append(
                    recurrent_layer(width, layer_return_sequences, False,
                                    f"{cell}_{index + 1}")
                )
        self.output_dropout_layer = (
            keras.layers.Dropout(
                output_dropout, name="output_dropout", dtype=self.dtype_policy,
                **seed_kwargs(),
            )
            if output_dropout > 0
            else None
        )

    # -- shapes --------------------------------------------------------------
    def _merged_width(self, index):
        """Features of layer ``index``'s output sequence as the next layer reads it."""
        width = self.units[index]
        if self.bidirectional and self.merge_mode in ("concat", None):
            # Between layers merge_mode=None also concatenates: the next layer
            # reads one sequence.
            return 2 * width
        return width

    def _directions(self, index):
        if self.bidirectional:
            return [self.forward_layers[index], self.backward_layers[index]]
        return [self.forward_layers[index]]

    @property
    def state_sizes(self):
        """Width of every state, in the flat ``return_state`` / ``initial_state`` order."""
        return [
            size
            for index in range(self.num_layers)
            for layer in self._directions(index)
            for size in _state_sizes(layer)
        ]

    @property
    def state_names(self):
        """``"<sub-layer name>/state_<i>"`` for every state, in the flat order."""
        return [
            f"{layer.name}/state_{i}"
            for index in range(self.num_layers)
            for layer in self._directions(index)
            for i in range(_num_states(layer))
        ]

    def get_initial_state(self, batch_size):
        """Zero states for ``batch_size`` rows, in the flat ``initial_state`` order."""
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_sizes]

    def _check_sequences_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects `sequences` of "
                f"rank 3 [batch, time, features] with a known feature size, got "
                f"shape {shape}."
            )
        return shape

    def build(self, sequences_shape, initial_state_shape=None):
        shape = self._check_sequences_shape(sequences_shape)
        for index in range(self.num_layers):
            for layer in self._directions(index):
                if not layer.built:
                    layer.build(shape)
            shape = (shape[0], shape[1], self._merged_width(index))
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        width = self.units[-1]
        if self.bidirectional and self.merge_mode == "concat":
            width *= 2
        output = (batch, steps, width) if self.return_sequences else (batch, width)
        outputs = [output, output] if self.bidirectional and self.merge_mode is None else [output]
        if self.return_state:
            outputs += [(batch, size) for size in self.state_sizes]
        return outputs if len(outputs) > 1 else outputs[0]

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if isinstance(output_mask, (list, tuple)):
            output_mask = output_mask[0]
        masks = [output_mask, output_mask] if self.bidirectional and self.merge_mode is None else [output_mask]
        if self.return_state:
            masks += [None] * len(self.state_sizes)
        return masks if len(masks) > 1 else masks[0]

    # -- the forward pass ------------------------------------------------------
    def _split_initial_state(self, initial_state):
        """The flat initial_state list cut into [layer][direction] lists (or Nones)."""
        if initial_state is None:
            return [[None] * len(self._directions(i)) for i in range(self.num_layers)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.state_sizes
        if len(states) != len(sizes):
            raise ValueError(
                f"Layer '{self.name}' expects `initial_state` to be a list of "
                f"{len(sizes)} tensors, in the order {self.state_names} with widths "
                f"{sizes}, got {len(states)} tensor(s)."
            )
        split, start = [], 0
        for index in range(self.num_layers):
            per_direction = []
            for layer in self._directions(index):
                count = _num_states(layer)
                per_direction.append(states[start:start + count])
                start += count
            split.append(per_direction)
        return split

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        initial_states = self._split_initial_state(initial_state)
        final_states = []
        hidden = sequences
        for index in range(self.num_layers):
            last = index == self.num_layers - 1
            layer_inputs = hidden
            if index > 0 and self.dropout_layers:
                layer_inputs = self.dropout_layers[index - 1](layer_inputs, training=training)
            outputs = []
            for layer, state in zip(self._directions(index), initial_states[index]):
                output, *states = layer(
                    layer_inputs, initial_state=state, mask=mask, training=training
                )
                if layer.go_backwards and layer.return_sequences:
                    # The backward layer emits step T first; put it back in time order.
                    output = ops.flip(output, axis=1)
                outputs.append(output)
                final_states.extend(states)
            if self.bidirectional:
                mode = self.merge_mode if last else (self.merge_mode or "concat")
                output = _merge(outputs[0], outputs[1], mode)
            else:
                (output,) = outputs
            if self.residual and index > 0:
                # The shortcut carries h^{l-1} before dropout (GNMT's ResidualWrapper
                # around a DropoutWrapper): dropout regularizes the layer, not the skip.
                output = output + hidden
            hidden = output
        if self.residual and self.num_layers > 1 and not self.return_sequences:
            hidden = _last_valid_step(hidden, mask)
        outputs = hidden if isinstance(hidden, list) else [hidden]
        if self.output_dropout_layer is not None:
            outputs = [self.output_dropout_layer(o, training=training) for o in outputs]
        if self.return_state:
            return outputs + final_states
        return outputs if len(outputs) > 1 else outputs[0]

    # -- config ----------------------------------------------------------------
    def _serialized_cell_kwargs(self):
        # Read the values back from a built sub-layer's config, where Keras has
        # already turned initializers, activations and tuples into JSON-able form
        # that the layer constructor accepts again.
        layer_config = self.forward_layers[0].get_config()
        return {
            key: layer_config[key] if key in layer_config
            else keras.saving.serialize_keras_object(value)
            for key, value in self._cell_kwargs.items()
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell_kind,
                "units": list(self.units),
                "num_layers": self.num_layers,
                "merge_mode": self.merge_mode,
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "output_dropout": self.output_dropout,
                "residual": self.residual,
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "cell_kwargs": self._serialized_cell_kwargs(),
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell_kwargs"] = dict(config.get("cell_kwargs") or {})
        return super().from_config(config)


def _check_residual(bidirectional, widths, merge_mode, return_sequences):
    """residual=True adds h^{l-1} to h^l for l >= 2: the two must line up."""
    if len(widths) < 2:
        return  # One layer: no connection between layers to add.
    if bidirectional and merge_mode is None:
        raise ValueError(
            "Received residual=True with merge_mode=None: the last layer's "
            "forward and backward outputs are returned apart, so there is no "
            "merged output to add its input to. Use merge_mode 'concat', "
            "'sum', 'mul' or 'ave'."
        )
    if bidirectional and not return_sequences:
        raise ValueError(
            "Received residual=True with return_sequences=False: the forward "
            "and backward final outputs belong to different time steps (T and "
            "1), so there is no input step to add. Use return_sequences=True "
            "and pool the sequence."
        )
    for index in range(1, len(widths)):
        if widths[index] != widths[index - 1]:
            raise ValueError(
                f"Received residual=True, but a residual connection adds a layer's "
                f"input to its output, so both must have the same width: layer "
                f"{index} has {widths[index - 1]} units and layer {index + 1} has "
                f"{widths[index]} (units={widths})."
            )


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class StackedRNN(_RecurrentNetwork):
    """N recurrent layers of one cell kind, each reading the previous one's outputs.

    Structure (``D`` = ``Dropout(dropout)``, applied in training only)::

        h^1 = RNN_1(x)
        h^l = RNN_l(D(h^{l-1}))               l = 2..L
        h^l = RNN_l(D(h^{l-1})) + h^{l-1}     with residual=True
        y   = Dropout(output_dropout)(h^L)    (h^L_T without return_sequences)

    Args:
        cell: the cell kind, one of ``seqkit.layers.CELLS`` (e.g. ``"lstm"``).
        units: width of every layer (int) or one width per layer (list).
        num_layers: number of layers; default ``len(units)``, or 1 for an int.
        dropout: rate of the dropout between layers, in [0, 1), default 0.
            Only the connection from one layer to the next is dropped, never the
            state carried through time (Zaremba et al. 2014).
        recurrent_dropout: rate of each layer's variational recurrent dropout
            (one mask per sequence on ``h_{t-1}``), default 0.
        output_dropout: rate of the dropout on the network's output, default 0.
        residual: add each layer's input to its output from layer 2 on; all
            layers must have the same width. Default False.
        return_sequences: return the last layer's whole sequence
            ``[batch, time, units[-1]]`` instead of its last step. Default False.
        return_state: also return every layer's final states,
            ``[output, layer 1 states..., layer 2 states..., ...]``. Default False.
        cell_kwargs: extra arguments for every recurrent layer, e.g.
            ``{"activation": "relu"}``, ``{"reset_after": False}``,
            ``{"periods": [1, 2, 4]}``, ``{"dropout": 0.1}`` (the cells' own
            input dropout, variational like ``recurrent_dropout``).
        seed: int seeding the dropout masks (each sub-layer gets its own seed).

    Call arguments: ``sequences`` [batch, time, features]; ``initial_state``,
    a flat list in the ``return_state`` order (see ``state_names``); ``mask``
    [batch, time] (taken from the input's Keras mask when not given);
    ``training``.

    Example (a language model's carried state, chunk by chunk):
        >>> net = StackedRNN("lstm", [16, 16], return_sequences=True, return_state=True)
        >>> states = net.get_initial_state(batch_size=4)
        >>> for chunk in np.zeros((3, 4, 10, 8), "float32"):
        ...     outputs, *states = net(chunk, initial_state=states)
        >>> net.state_names
        ['lstm_1/state_0', 'lstm_1/state_1', 'lstm_2/state_0', 'lstm_2/state_1']
    """

    bidirectional = False

    def __init__(
        self,
        cell,
        units,
        num_layers=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        output_dropout=0.0,
        residual=False,
        return_sequences=False,
        return_state=False,
        cell_kwargs=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            cell, units, num_layers=num_layers, merge_mode="concat", dropout=dropout,
            recurrent_dropout=recurrent_dropout, output_dropout=output_dropout,
            residual=residual, return_sequences=return_sequences,
            return_state=return_state, cell_kwargs=cell_kwargs, seed=seed, **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        del config["merge_mode"]
        return config


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class DeepBidirectionalRNN(_RecurrentNetwork):
    """L bidirectional layers, each reading the merged sequence of the one before.

    Structure (``D`` = ``Dropout(dropout)``; each direction has its own weights)::

        f^l_t = forward_l(D(h^{l-1}))_t              reads h^{l-1}_1 .. h^{l-1}_T
        b^l_t = backward_l(D(h^{l-1}))_t             reads h^{l-1}_T .. h^{l-1}_1,
                                                     put back in time order
        h^l_t = merge(f^l_t, b^l_t)  (+ h^{l-1}_t with residual=True, l >= 2)

    ``h^0 = x``. Without ``return_sequences`` the output is
    ``merge(f^L_T, b^L_1)``: each direction's final output, as in
    ``keras.layers.Bidirectional``.

    Args:
        cell, units, num_layers, dropout, recurrent_dropout, output_dropout,
        cell_kwargs, seed: as for ``StackedRNN``.
        merge_mode: ``"concat"`` (default, width ``2 * units``), ``"sum"``,
            ``"mul"``, ``"ave"`` or None. With None the last layer returns
            ``[forward, backward]`` apart; between layers the directions are
            then concatenated, since the next layer reads one sequence.
        residual: add each layer's merged input to its merged output from
            layer 2 on; needs equal widths, a merge_mode other than None and
            ``return_sequences=True`` (the two directions' final outputs belong
            to different time steps, so there is no single input step to add).
        return_sequences: return the merged sequence instead of the final outputs.
        return_state: also return the final states,
            ``[output, layer 1 forward..., layer 1 backward..., layer 2 forward..., ...]``
            (``[forward, backward, states...]`` with merge_mode=None).

    Call arguments: as for ``StackedRNN``; ``initial_state`` in the
    ``return_state`` order.

    Example:
        >>> net = DeepBidirectionalRNN("gru", [8, 8], dropout=0.2, return_sequences=True)
        >>> tuple(net(np.zeros((2, 5, 3), "float32")).shape)
        (2, 5, 16)
    """

    bidirectional = True

    def __init__(
        self,
        cell,
        units,
        num_layers=None,
        merge_mode="concat",
        dropout=0.0,
        recurrent_dropout=0.0,
        output_dropout=0.0,
        residual=False,
        return_sequences=False,
        return_state=False,
        cell_kwargs=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            cell, units, num_layers=num_layers, merge_mode=merge_mode, dropout=dropout,
            recurrent_dropout=recurrent_dropout, output_dropout=output_dropout,
            residual=residual, return_sequences=return_sequences,
            return_state=return_state, cell_kwargs=cell_kwargs, seed=seed, **kwargs,
        )


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class BidirectionalRNN(DeepBidirectionalRNN):
    """One bidirectional recurrent layer: a forward and a backward network.

    Structure (separate weights per direction)::

        f_t = forward(x)_t        reads x_1 .. x_T
        b_t = backward(x)_t       reads x_T .. x_1, put back in time order
        y_t = merge(f_t, b_t)     concat | sum | mul | ave | None ([f, b] apart)

    Equal to ``keras.layers.Bidirectional(<seqkit layer>(units), merge_mode)``
    with the same weights (the forward weights first, then the backward ones).

    Args:
        cell, recurrent_dropout, output_dropout, cell_kwargs, seed: as for
            ``StackedRNN``.
        units: positive int, the width of each direction.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None.
        return_sequences: return ``y_1 .. y_T`` instead of ``merge(f_T, b_1)``.
        return_state: also return ``[forward states..., backward states...]``
            after the output (after ``[forward, backward]`` with merge_mode=None).

    Example:
        >>> bi = BidirectionalRNN("lstm", 8, return_sequences=True, return_state=True)
        >>> y, h_fwd, c_fwd, h_bwd, c_bwd = bi(np.zeros((2, 5, 3), "float32"))
        >>> tuple(y.shape)
        (2, 5, 16)
    """

    def __init__(
        self,
        cell,
        units,
        merge_mode="concat",
        recurrent_dropout=0.0,
        output_dropout=0.0,
        return_sequences=False,
        return_state=False,
        cell_kwargs=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            cell, base.check_positive_int("units", units), num_layers=1,
            merge_mode=merge_mode, recurrent_dropout=recurrent_dropout,
            output_dropout=output_dropout, return_sequences=return_sequences,
            return_state=return_state, cell_kwargs=cell_kwargs, seed=seed, **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        config["units"] = config["units"][0]
        for key in ("num_layers", "dropout", "residual"):
            del config[key]
        return config


# --------------------------------------------------------------------------
# Factory functions.
# --------------------------------------------------------------------------
def stack(
    cell,
    units,
    num_layers=None,
    *,
    dropout=0.0,
    recurrent_dropout=0.0,
    output_dropout=0.0,
    residual=False,
    return_sequences=False,
    return_state=False,
    seed=None,
    name=None,
    **cell_kwargs,
):
    """A ``StackedRNN``; extra keyword arguments go to every recurrent layer.

    Example:
        >>> net = stack("lstm", 32, num_layers=2, dropout=0.5, return_sequences=True)
        >>> clock = stack("clockwork", [16, 16], periods=[1, 2, 4, 8])
    """
    return StackedRNN(
        cell, units, num_layers=num_layers, dropout=dropout,
        recurrent_dropout=recurrent_dropout, output_dropout=output_dropout,
        residual=residual, return_sequences=return_sequences, return_state=return_state,
        cell_kwargs=cell_kwargs, seed=seed, name=name,
    )


def bidirectional(
    cell,
    units,
    *,
    merge_mode="concat",
    recurrent_dropout=0.0,
    output_dropout=0.0,
    return_sequences=False,
    return_state=False,
    seed=None,
    name=None,
    **cell_kwargs,
):
    """A ``BidirectionalRNN``; extra keyword arguments go to both directions.

    Example:
        >>> bi = bidirectional("gru", 16, merge_mode="sum", reset_after=False)
    """
    return BidirectionalRNN(
        cell, units, merge_mode=merge_mode, recurrent_dropout=recurrent_dropout,
        output_dropout=output_dropout, return_sequences=return_sequences,
        return_state=return_state, cell_kwargs=cell_kwargs, seed=seed, name=name,
    )


def deep_bidirectional(
    cell,
    units,
    num_layers=None,
    *,
    merge_mode="concat",
    dropout=0.0,
    recurrent_dropout=0.0,
    output_dropout=0.0,
    residual=False,
    return_sequences=False,
    return_state=False,
    seed=None,
    name=None,
    **cell_kwargs,
):
    """A ``DeepBidirectionalRNN``; extra keyword arguments go to every recurrent layer.

    Example:
        >>> net = deep_bidirectional("elman", 8, num_layers=3, return_sequences=True)
    """
    return DeepBidirectionalRNN(
        cell, units, num_layers=num_layers, merge_mode=merge_mode, dropout=dropout,
        recurrent_dropout=recurrent_dropout, output_dropout=output_dropout,
        residual=residual, return_sequences=return_sequences, return_state=return_state,
        cell_kwargs=cell_kwargs, seed=seed, name=name,
    )

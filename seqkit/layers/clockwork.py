"""The Clockwork RNN (Koutník, Greff, Gomez & Schmidhuber, ICML 2014).

``ClockworkCell`` and the ``Clockwork`` layer. The ``units`` hidden units are
split into ``g`` modules of ``k`` units each; module ``i`` runs on a clock of
period ``T_i`` and updates only at the steps its clock ticks::

    c_t        = number of (unmasked) steps before step t    # the clock, c_0 = 0
    active_t,i = 1 if c_t mod T_i == 0 else 0                 # module i fires?
    a_t        = x_t · W + (h_{t-1} ∘ m_h) · (U ⊙ M) + b      # pre-activation
    h_t,i      = activation(a_t,i) if active_t,i else h_{t-1},i
    M[j, i]    = 1 if T_j >= T_i else 0                       # block mask of U

``m_h`` is the recurrent dropout mask (all ones at inference); input dropout
multiplies ``x_t`` by a mask drawn once per sequence, as in ``ElmanCell``.
Every module fires at the first step. Recurrent connections run from slow to
fast: module ``i`` reads itself and every module whose period is at least its
own, so ``U ⊙ M`` is block-triangular (once the modules are sorted by period)
and the blocks outside ``M`` never touch the output.

Two implementations of the same numbers (``implementation=``):

* ``"masked"``: the readable reference. Every step does the full
  ``[units, units]`` recurrent matmul; inactive modules are restored by
  ``active``. ``ClockworkCell.call`` (used by ``keras.layers.RNN`` and
  ``Bidirectional``) is always this path.
* ``"fast"`` (default, the ``Clockwork`` layer only): an exact schedule that
  never computes an inactive module; see ``fast_schedule``.

``tests/layers/test_clockwork.py`` proves the two equal (outputs, states,
gradients) and checks both against a NumPy re-derivation of the equations.
"""

import collections
import functools
import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from keras.src import backend as keras_backend

from seqkit.layers import base, fused

# Periods 1, 2, 4, ..., 2^(g-1) with this many modules when neither `periods`
# nor `module_size` is given.
DEFAULT_NUM_MODULES = 8

ClockworkGates = collections.namedtuple(
    "ClockworkGates", ["pre_activation", "active", "hidden", "clock"]
)
ClockworkGates.__doc__ = """The quantities of one Clockwork step.

``pre_activation``, ``active`` (1.0 on the units of every module that fired,
0.0 elsewhere) and ``hidden`` are [batch, units]; ``clock`` is the clock after
the step, [batch, 1].
"""


# --------------------------------------------------------------------------
# Arguments: units = module_size × len(periods).
# --------------------------------------------------------------------------
def check_periods(periods):
    """`periods` as a list of positive Python ints, or a ValueError naming it."""
    message = (
        "Received an invalid value for argument `periods`, expected a non-empty "
        "list of positive integers (one clock period per module), got {!r}."
    )
    if isinstance(periods, (str, bytes)) or not isinstance(
        periods, (list, tuple, np.ndarray)
    ):
        raise ValueError(message.format(periods))
    periods = list(periods)
    if not periods or any(
        isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Integral) or p <= 0
        for p in periods
    ):
        raise ValueError(message.format(periods))
    return [int(p) for p in periods]


def resolve_modules(units, periods, module_size):
    """(units, periods, module_size) from any consistent subset of the three.

    * ``periods`` and ``module_size``: ``units`` is their product (if given,
      it must equal it).
    * ``periods`` only: the ``len(periods)`` modules share ``units`` equally.
    * ``module_size`` only: ``units // module_size`` modules, periods 1, 2, 4, ...
    * neither: ``DEFAULT_NUM_MODULES`` modules, periods 1, 2, 4, ...
    """
    if units is not None:
        units = base.check_positive_int("units", units)
    if module_size is not None:
        module_size = base.check_positive_int("module_size", module_size)
    if periods is not None:
        periods = check_periods(periods)
        num_modules = len(periods)
        if module_size is not None:
            if units is not None and units != module_size * num_modules:
                raise ValueError(
                    f"Received inconsistent values for arguments `units`, "
                    f"`module_size` and `periods`: expected units = module_size × "
                    f"len(periods) = {module_size} × {num_modules} = "
                    f"{module_size * num_modules}, got units={units}."
                )
            return module_size * num_modules, periods, module_size
        if units is None:
            raise ValueError(
                "Received units=None and module_size=None: pass `units` or "
                f"`module_size` together with periods={periods}."
            )
        if units % num_modules:
            raise ValueError(
                f"Received an invalid value for argument `units`, expected a "
                f"multiple of the number of modules len(periods) = {num_modules} "
                f"(periods={periods}), got {units}."
            )
        return units, periods, units // num_modules
    if units is None:
        raise ValueError(
            "Received an invalid value for argument `units`, expected a positive "
            "integer (or `periods` together with `module_size`), got None."
        )
    if module_size is None:
        if units % DEFAULT_NUM_MODULES:
            raise ValueError(
                f"Received an invalid value for argument `units`, expected a "
                f"multiple of {DEFAULT_NUM_MODULES} (the default number of "
                f"modules) when neither `periods` nor `module_size` is given, got "
                f"{units}. Pass `module_size` or `periods` to choose the modules."
            )
        module_size = units // DEFAULT_NUM_MODULES
    elif units % module_size:
        raise ValueError(
            f"Received an invalid value for argument `units`, expected a multiple "
            f"of module_size={module_size}, got {units}."
        )
    num_modules = units // module_size
    return units, [2**i for i in range(num_modules)], module_size


# --------------------------------------------------------------------------
# The cell: one step, the reference equations.
# --------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=base.PACKAGE)
class ClockworkCell(base.RecurrentCell):
    """One step of a Clockwork RNN (see the module docstring for the equations).

    The state is ``[hidden, clock]``: ``hidden`` [batch, units] and ``clock``
    [batch, 1], the number of steps seen so far modulo ``cycle`` (the least
    common multiple of the periods, which is all the firing pattern depends
    on). Keeping the clock in the state is what lets a stateful layer carry it
    across batches, and since ``keras.layers.RNN`` leaves the state unchanged on
    masked steps, the clock counts valid steps only. It is stored as a float in
    the compute dtype (Keras casts states to it), exact while ``cycle`` < 2^24
    in float32 (2^11 in float16). A clock passed in ``initial_state`` may be
    any whole number: only its value modulo each period matters.

    Weights as in ``ElmanCell``: ``kernel`` W [features, units],
    ``recurrent_kernel`` U [units, units] (full square: the block mask M is
    applied in the math, so the blocks it removes get exactly zero gradient;
    regularizers and constraints still see the whole matrix), ``bias`` b
    [units]. Module ``i`` owns units ``i*module_size`` to
    ``(i+1)*module_size - 1``, in the order of ``periods``.

    Args:
        units: positive int, the size of the hidden state; may be omitted when
            ``periods`` and ``module_size`` are both given.
        activation, use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, kernel_regularizer, recurrent_regularizer,
        bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed: as ``ElmanCell``.
        periods: list of positive ints, one clock period per module (any order,
            repeats allowed). Default ``[1, 2, 4, ..., 2^(g-1)]``.
        module_size: positive int, units per module. Default
            ``units // len(periods)``; with neither ``periods`` nor
            ``module_size``, ``g = 8`` modules.
        implementation: ``"fast"`` (default) or ``"masked"``: which schedule
            the ``Clockwork`` layer runs. The cell alone always steps with the
            masked equations.

    Example:
        >>> cell = ClockworkCell(periods=[1, 2, 4], module_size=4)
        >>> layer = keras.layers.RNN(cell)          # or seqkit.layers.Clockwork
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
        (2, 12)
    """

    def __init__(
        self,
        units=None,
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
        periods=None,
        module_size=None,
        implementation="fast",
        **kwargs,
    ):
        units, periods, module_size = resolve_modules(units, periods, module_size)
        implementation = base.check_choice(
            "implementation", implementation, ("fast", "masked")
        )
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        # The base class's `implementation` means Keras's 1/2; ours is the schedule.
        self.implementation = implementation
        self.periods = periods
        self.module_size = module_size
        self.cycle = math.lcm(*periods)
        self.state_size = [self.units, 1]
        self.output_size = self.units
        # Constants of the math, [units] and [units, units].
        self.unit_periods = np.repeat(np.asarray(periods, "float32"), module_size)
        self.connection_mask = (
            self.unit_periods[:, None] >= self.unit_periods[None, :]
        ).astype("float32")

    @property
    def num_modules(self):
        return len(self.periods)

    def gates(self, projected, states, training=False, recurrent=None):
        """See base class. ``recurrent``, if given, is ``(h_{t-1} ∘ m_h) · (U ⊙ M)``."""
        hidden_prev, clock = states
        if recurrent is None:
            (recurrent_in,) = self.recurrent_inputs(hidden_prev, training)
            recurrent = ops.matmul(recurrent_in, self.connected_recurrent_kernel())
        pre_activation = projected + recurrent
        # [batch, 1] clock against [units] periods: which units tick now.
        periods = ops.cast(self.unit_periods, clock.dtype)
        fired = ops.equal(ops.mod(clock, periods), 0)
        candidate = self.activation(pre_activation) if self.activation else pre_activation
        hidden = ops.where(fired, candidate, hidden_prev)
        return ClockworkGates(
            pre_activation=pre_activation,
            active=ops.cast(fired, hidden.dtype),
            hidden=hidden,
            clock=ops.mod(clock + 1, self.cycle),
        )

    def connected_recurrent_kernel(self):
        """``U ⊙ M``: the recurrent kernel with the fast-to-slow blocks zeroed."""
        mask = ops.cast(self.connection_mask, self.recurrent_kernel.dtype)
        return self.recurrent_kernel * mask

    def supports_fused(self, training):
        # seqkit.layers.fused multiplies by the raw `recurrent_kernel`, but the
        # recurrence here reads U ⊙ M, so the masked reference keeps Keras's loop.
        return False

    def state_from_gates(self, gates):
        return [gates.hidden, gates.clock]

    def get_config(self):
        config = {
            "periods": list(self.periods),
            "module_size": self.module_size,
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}


# --------------------------------------------------------------------------
# The fast schedule.
# --------------------------------------------------------------------------
def _at(sequence, index):
    """``sequence[:, index]`` along axis 1; ``index`` is [n] (every row) or [batch, n] (per row).

    ``tf.gather`` rather than ``keras.ops.take``/``take_along_axis``: the
    indices here are never negative, and Keras's fix-ups and broadcasting would
    add several graph ops per gather (there are dozens per layer call).
    """
    batch_dims = 0 if len(index.shape) == 1 else 1
    return tf.gather(sequence, index, axis=1, batch_dims=batch_dims)


def _split_modules(x, num_modules, axis):
    """x cut into its ``num_modules`` equal module blocks along ``axis``.

    One split, not a slice per block: a slice's gradient is a zero tensor of
    the whole input's size, a split's is a single concatenation.
    """
    return ops.split(x, num_modules, axis=axis) if num_modules > 1 else [x]


def _join(blocks, axis):
    return blocks[0] if len(blocks) == 1 else ops.concatenate(blocks, axis=axis)


_SelfRecurrenceGates = collections.namedtuple("_SelfRecurrenceGates", ["hidden"])


class _SelfRecurrence:
    """A period group's own recurrence ``h = activation(p + h_prev · U_GG)``, in the
    form ``seqkit.layers.fused.fused_rnn`` expects of a cell."""

    def __init__(self, activation, recurrent_kernel):
        self.activation = activation
        self.recurrent_kernel = recurrent_kernel
        self.units = recurrent_kernel.shape[-1]

    def recurrent_bias(self):
        return None

    def step_weights(self):
        return []

    def gates(self, projected, states, recurrent=None):
        if recurrent is None:
            recurrent = ops.matmul(states[0], self.recurrent_kernel)
        hidden = projected + recurrent
        return _SelfRecurrenceGates(self.activation(hidden) if self.activation else hidden)

    def state_from_gates(self, gates):
        return [gates.hidden]


def _self_recurrence_loop(
    activation, projected, start_state, kernel, recurrent_mask, fires, unroll, count
):
    """The same recurrence with Keras's loop (inference, recurrent dropout, unroll)."""
    if fires is not None:
        # The fire flag rides along as one more channel: keras's rnn needs the
        # time length of its inputs, which it cannot read off a tuple.
        fires = ops.expand_dims(ops.cast(fires, projected.dtype), -1)
        projected = ops.concatenate([projected, fires], axis=-1)

    def step(step_input, states):
        (hidden_prev,) = states
        recurrent_in = hidden_prev if recurrent_mask is None else hidden_prev * recurrent_mask
        hidden = (step_input if fires is None else step_input[:, :-1]) + ops.matmul(
            recurrent_in, kernel
        )
        hidden = activation(hidden) if activation else hidden
        if fires is not None:
            hidden = ops.where(step_input[:, -1:] > 0, hidden, hidden_prev)
        return hidden, [hidden]

    _, outputs, _ = keras_backend.rnn(
        step,
        projected,
        [start_state],
        unroll=unroll,
        input_length=count if isinstance(count, int) else None,
    )
    return outputs


def fast_schedule(
    cell,
    sequences,
    initial_state,
    mask=None,
    go_backwards=False,
    zero_output_for_mask=False,
    return_all_outputs=True,
    clock_is_zero=False,
    unroll=False,
    training=False,
):
    """Run a Clockwork RNN over whole sequences, never computing an inactive module.

    Slow modules never read fast ones, so the modules are run one period group
    at a time (a group: the modules of one period, which read each other and
    so must step together), slowest first. A group of period T only runs at
    its own ticks τ = 0, T, 2T, ...; everything it reads from slower groups
    S is already known there::

        h_G(τ) = activation(x_τ · W_G + b_G + Σ_S h_S(τ-1) · U_SG + h_G(τ-1) · U_GG)

    Each slower group S multiplies its outputs by ``U[S, all faster groups]``
    once, at its own ticks, in one batched matmul; each faster group gathers
    the product held just before its ticks. What is left sequential is the
    [k_G, k_G] self-recurrence, ceil(time / T) times per group, instead of a
    [units, units] matmul at every step.

    General rows: a masked step changes neither state nor clock, so per row the
    valid steps are gathered to the front (in order) and the rest is ignored;
    a clock starting at ``c_0`` moves the ticks to ``(-c_0) mod T + jT``.
    Ticks then differ per row (per-row gathers, and a fire mask for ticks past
    a row's length). Without a mask and with a clock known to be zero (no
    ``initial_state``, not stateful), every row ticks at 0, T, 2T, ...: the
    inputs are a strided slice and the gathers are shared.

    The self-recurrence loops are ``seqkit.layers.fused.fused_rnn`` when
    training (its backward pass batches dU_GG over all ticks) and Keras's loop
    otherwise, or with recurrent dropout or ``unroll``. Compiling the schedule
    (``tf.function``) builds one loop per period group, so it takes a few
    seconds, against a fraction of one for the masked loop.

    The contract is ``keras.src.backend.rnn``'s, which Keras's RNN layer calls:
    ``go_backwards`` reverses time first and outputs stay in processing order;
    a masked step outputs the previous output (zeros before the first valid
    step), or zeros with ``zero_output_for_mask``.

    Returns:
        ``(last_output, outputs, [hidden, clock])``; ``outputs`` is
        [batch, time, units], or [batch, 1, units] without ``return_all_outputs``.
    """
    hidden0, clock0 = initial_state
    time_steps = sequences.shape[1]
    if time_steps is None:
        time_steps = ops.shape(sequences)[1]
    if go_backwards:
        sequences = ops.flip(sequences, axis=1)
    # keras.layers.RNN draws the dropout masks once per sequence, before the loop.
    input_mask = cell.get_dropout_mask(sequences[:, 0]) if training else None
    if input_mask is not None:
        sequences = base.apply_mask(sequences, input_mask)
    recurrent_mask = cell.get_recurrent_dropout_mask(hidden0) if training else None

    # -- per-row bookkeeping (None: the same for every row) -------------------------
    valid = lengths = order = clock = None
    if mask is not None:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        valid = ops.cast(mask, "bool")
        if go_backwards:
            valid = ops.flip(valid, axis=1)
    if not clock_is_zero:
        clock = ops.mod(ops.cast(ops.round(clock0[:, 0]), "int32"), cell.cycle)
    # Index arithmetic in NumPy when it is the same for every row and the length
    # is known: constants in the graph instead of ops.
    shared = valid is None and clock is None and isinstance(time_steps, int)
    xp = np if shared else ops
    steps = xp.arange(time_steps, dtype="int32")
    last_valid = steps  # per step: index among valid steps of the last valid one
    if valid is not None:
        valid_int = ops.cast(valid, "int32")
        lengths = ops.sum(valid_int, axis=1)
        # Valid steps first, in time order: sort by (masked, t), keys unique.
        order = ops.cast(ops.argsort(steps + (1 - valid_int) * time_steps, axis=1), "int32")
        last_valid = ops.cumsum(valid_int, axis=1) - 1

    def first_tick(period):
        """Where (among valid steps) a row's clock first ticks: 0 or [batch, 1]."""
        return 0 if clock is None else ops.expand_dims(ops.mod(-clock, period), 1)

    def tick_count(period):
        return (time_steps + period - 1) // period

    def held_index(position, period):
        """Index into [h(-1), h(tick 0), h(tick 1), ...] of the value held at `position`."""
        index = xp.floor_divide(position - first_tick(period), period) + 1
        return xp.clip(index, 0, tick_count(period))

    # -- groups of equal period, slowest first; weights cut into module blocks ------
    group_periods = sorted(set(cell.periods), reverse=True)
    groups = [[i for i, q in enumerate(cell.periods) if q == p] for p in group_periods]
    split = functools.partial(_split_modules, num_modules=cell.num_modules)
    kernel_blocks = split(cell.kernel, axis=1)
    bias_blocks = None if cell.bias is None else split(cell.bias, axis=0)
    hidden0_blocks = split(hidden0, axis=1)
    mask_blocks = None if recurrent_mask is None else split(recurrent_mask, axis=1)
    recurrent_blocks = [split(row, axis=1) for row in split(cell.recurrent_kernel, axis=0)]

    def recurrent_block(sources, targets):
        """U restricted to rows of modules `sources`, columns of modules `targets`."""
        return _join(
            [_join([recurrent_blocks[i][j] for j in targets], axis=1) for i in sources], axis=0
        )

    held = []  # per group: [batch, 1 + ticks, k_G], the initial state then each tick
    to_faster = []  # per group: held · U[group, every faster group]
    for g, (period, modules) in enumerate(zip(group_periods, groups)):
        faster = [m for later in groups[g + 1 :] for m in later]
        ticks = xp.arange(tick_count(period), dtype="int32") * period + first_tick(period)
        fires = None
        if valid is None and clock is None:
            inputs = sequences[:, ::period]
        else:
            step_index = ops.minimum(ticks, time_steps - 1)
            if order is not None:
                step_index = _at(order, step_index)
            inputs = _at(sequences, step_index)
            # Ticks past a row's valid steps (or, with a shifted clock, past the
            # sequence) keep the state. No later tick reads them, but computing
            # on padding could overflow with an unbounded activation, and an
            # inf times a zero gradient is a NaN gradient.
            fires = ops.less(ticks, time_steps if lengths is None else ops.expand_dims(lengths, 1))
            fires = ops.broadcast_to(fires, ops.shape(inputs)[:2])
        pre_activation = ops.matmul(inputs, _join([kernel_blocks[m] for m in modules], axis=1))
        if bias_blocks is not None:
            pre_activation = pre_activation + _join([bias_blocks[m] for m in modules], axis=0)
        for s in range(g):
            # Slower group s as held just before each tick of this group; this
            # group's columns in to_faster[s] follow the groups between them.
            start = cell.module_size * sum(len(groups[h]) for h in range(s + 1, g))
            columns = slice(start, start + cell.module_size * len(modules))
            index = held_index(ticks - 1, group_periods[s])
            pre_activation = pre_activation + _at(to_faster[s][:, :, columns], index)

        self_kernel = recurrent_block(modules, modules)
        self_mask = None if mask_blocks is None else _join([mask_blocks[m] for m in modules], 1)

        start_state = _join([hidden0_blocks[m] for m in modules], axis=1)
        if training and self_mask is None and not unroll:
            # Training: seqkit's fused loop, whose backward pass batches dU_GG
            # (as the base layer does). A non-firing tick is masked: it keeps
            # the state, and its output is never read (see `fires`).
            _, tick_outputs, _ = fused.fused_rnn(
                _SelfRecurrence(cell.activation, self_kernel),
                pre_activation,
                [start_state],
                mask=fires,
            )
        else:
            tick_outputs = _self_recurrence_loop(
                cell.activation, pre_activation, start_state, self_kernel, self_mask,
                fires, unroll, tick_count(period),
            )
        group_held = ops.concatenate([ops.expand_dims(start_state, 1), tick_outputs], axis=1)
        held.append(group_held)
        if faster:
            source = group_held
            if self_mask is not None:
                source = source * ops.expand_dims(self_mask, 1)
            to_faster.append(ops.matmul(source, recurrent_block(modules, faster)))
        else:
            to_faster.append(None)

    def hidden_at(position):
        """Hidden state, original unit order, after the valid step at `position`."""
        blocks = {}
        for g, (period, modules) in enumerate(zip(group_periods, groups)):
            values = _at(held[g], held_index(position, period))
            blocks.update(zip(modules, _split_modules(values, len(modules), axis=-1)))
        return _join([blocks[m] for m in range(cell.num_modules)], axis=-1)

    # -- final state and outputs ------------------------------------------------------
    if lengths is None:
        hidden = hidden_at(xp.reshape(time_steps - 1, (1,)))[:, 0]
        new_clock = time_steps if clock is None else clock + time_steps
    else:
        hidden = hidden_at(ops.expand_dims(lengths - 1, 1))[:, 0]
        new_clock = lengths if clock is None else clock + lengths
    new_clock = ops.zeros_like(clock0) + ops.cast(
        ops.reshape(ops.mod(new_clock, cell.cycle), (-1, 1)), clock0.dtype
    )
    if lengths is not None:
        # A row with no valid step keeps its clock as given, like the step loop.
        new_clock = ops.where(ops.expand_dims(lengths > 0, 1), new_clock, clock0)
    last_output = hidden
    if valid is not None:
        keep = ops.greater(lengths, 0)
        if zero_output_for_mask:
            keep = ops.logical_and(keep, valid[:, -1])
        last_output = ops.where(ops.expand_dims(keep, 1), hidden, ops.zeros_like(hidden))
    if not return_all_outputs:
        return last_output, ops.expand_dims(last_output, 1), [hidden, new_clock]
    outputs = hidden_at(last_valid)
    if valid is not None:
        keep = ops.greater_equal(last_valid, 0)
        if zero_output_for_mask:
            keep = ops.logical_and(keep, valid)
        outputs = ops.where(ops.expand_dims(keep, -1), outputs, ops.zeros_like(outputs))
    return last_output, outputs, [hidden, new_clock]


# --------------------------------------------------------------------------
# The layer.
# --------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=base.PACKAGE)
@base.forward_cell_properties
class Clockwork(base.RecurrentLayer):
    """Clockwork RNN layer, on the same contract as ``Elman``.

    See ``ClockworkCell`` (and the module docstring) for the equations and the
    cell arguments; layer arguments (``return_sequences``, ``return_state``,
    ``go_backwards``, ``stateful``, ``unroll``) and call arguments (``mask``,
    ``training``, ``initial_state``) are Keras's.

    * ``implementation="fast"`` runs ``fast_schedule``; ``"masked"`` runs the
      cell's equations step by step (after one matmul projecting every step's
      input, ``RecurrentLayer.inner_loop``). Same numbers, tested.
    * The state is ``[hidden, clock]`` (``return_state=True`` returns both). The
      clock counts valid steps: masked steps do not advance it; a stateful layer
      carries it to the next batch (``reset_state()`` zeroes it); a
      ``go_backwards`` layer counts from the first step it processes.
    * ``initial_state`` may be ``[hidden, clock]`` or just ``hidden``
      ([batch, units], a tensor or a one-element list); the clock then starts
      at 0.
    * ``unroll=True`` unrolls the loops of either implementation.

    Example:
        >>> layer = Clockwork(periods=[1, 2, 4, 8], module_size=16,
        ...                   return_sequences=True)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
        (2, 5, 64)
    """

    cell_properties = (
        "units", "activation", "use_bias", "kernel_initializer",
        "recurrent_initializer", "bias_initializer", "kernel_regularizer",
        "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
        "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
        "periods", "module_size", "implementation", "cycle", "num_modules",
    )

    def __init__(
        self,
        units=None,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        periods=None,
        module_size=None,
        implementation="fast",
        **kwargs,
    ):
        super().__init__(**base.layer_arguments(ClockworkCell, locals(), "clockwork_cell"))
        self._clock_is_zero = False

    @property
    def seed(self):
        return self.cell.seed

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            states = (
                list(initial_state)
                if isinstance(initial_state, (list, tuple))
                else [initial_state]
            )
            clock_is_zero = len(states) == 1 and len(getattr(states[0], "shape", ())) == 2
            if clock_is_zero:
                # Just the hidden state: start the clock at 0.
                states.append(ops.zeros_like(states[0][:, :1]))
            initial_state = states
        else:
            clock_is_zero = not self.stateful
        # Tells inner_loop that every row's clock starts at 0 (a Python fact,
        # not a tensor value), which lets the fast schedule share one tick grid.
        self._clock_is_zero = clock_is_zero
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self.cell.implementation == "masked":
            return super().inner_loop(sequences, initial_state, mask, training)
        return fast_schedule(
            self.cell,
            sequences,
            list(initial_state),
            mask=mask,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
            clock_is_zero=self._clock_is_zero,
            unroll=self.unroll,
            training=training,
        )

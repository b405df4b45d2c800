"""Look inside a recurrent layer: every gate's activation at every time step.

``gate_trace(layer, inputs)`` re-runs a seqkit layer (or cell, or a
``keras.layers.Bidirectional`` around one) step by step, eagerly, with the
cell's own equations, and keeps every named quantity of every step:

    LSTM:    input, forget, candidate, cell, output, hidden
    GRU:     update, reset, candidate, hidden
    Elman:   pre_activation, hidden
    others:  the fields of the cell's ``gates()`` named tuple

The trace computes exactly what the layer computes (``hidden`` equals the
layer's ``return_sequences`` output), in inference mode, and leaves the layer
untouched: no state, weight or dropout random-number state changes.
"""

import keras
import numpy as np
from keras import ops

from seqkit.layers.base import RecurrentCell


def gate_trace(layer, inputs, initial_state=None, mask=None):
    """Every gate's activations at every time step, as NumPy arrays.

    Equivalent to running the layer in inference mode (no dropout), but one step
    at a time: ``cell.project_inputs`` once for the whole sequence (``x·W + b``),
    then ``cell.gates`` per step, keeping every value ``gates`` names.

    Args:
        layer: a seqkit layer (``seqkit.layers.LSTM``, ``GRU``, ``Elman``,
            ``Clockwork``, built or not; an unbuilt one builds its weights for
            ``inputs``), a seqkit cell, a ``keras.layers.RNN`` over a seqkit
            cell, or a ``keras.layers.Bidirectional`` around any of those.
        inputs: [batch, time, features] array or tensor.
        initial_state: optional list of the cell's states, each [batch, size]
            (LSTM: ``[h, c]``). Default: a stateful layer's current states, else
            zeros. For ``Bidirectional``: the forward states then the backward
            ones, as ``Bidirectional`` itself takes them.
        mask: optional [batch, time] booleans (True = a real step). As in
            ``keras.layers.RNN``, a masked step leaves the state unchanged: the
            state fields of the trace (``hidden``, and LSTM's ``cell``) carry the
            previous state there, and every other field is NaN (not computed).

    Returns:
        The cell's gate named tuple (``LSTMGates``, ``GRUGates``,
        ``ElmanGates``, ...) whose fields are float arrays [batch, time, size],
        in *input* time order: ``trace.hidden[:, t]`` is the state right after
        the layer read ``inputs[:, t]``. For a ``go_backwards`` layer the
        recurrence runs from the last step to the first, so its final state is
        ``trace.hidden[:, 0]`` (while the layer's own ``return_sequences``
        output is in processing order: ``output[:, ::-1] == trace.hidden``).
        For ``Bidirectional``: ``{"forward": trace, "backward": trace}``, both
        in input time order, as ``Bidirectional`` returns its sequences.

    Raises:
        TypeError: ``layer`` is not a seqkit layer or cell.
        ValueError: ``inputs`` is not rank 3, has a feature size other than the
            built one, or ``initial_state`` / ``mask`` do not fit it.

    Example: why an LSTM remembers. Give one LSTM unit a forget-gate bias of 4
    (σ(4) ≈ 0.98), show it a single pulse and then silence: the input gate
    writes the pulse into the cell at step 0, and afterwards each step keeps a
    fraction ``forget`` of the cell, ``c_t = f_t ∘ c_{t-1}`` (the candidate is
    tanh(0) = 0), so the memory fades only slowly.

        >>> import numpy as np
        >>> from seqkit.inspect import gate_trace
        >>> from seqkit.layers import LSTM
        >>> lstm = LSTM(1, kernel_initializer="ones", recurrent_initializer="zeros",
        ...             unit_forget_bias=False)
        >>> lstm.build((None, None, 1))
        >>> kernel, recurrent_kernel, bias = lstm.get_weights()
        >>> bias[1] = 4.0              # gate columns [input, forget, candidate, output]
        >>> lstm.set_weights([kernel, recurrent_kernel, bias])
        >>> pulse = np.zeros((1, 6, 1), "float32")
        >>> pulse[0, 0, 0] = 1.0
        >>> trace = gate_trace(lstm, pulse)
        >>> trace._fields
        ('input', 'forget', 'candidate', 'cell', 'output', 'hidden')
        >>> print(trace.forget[0, :, 0].round(3))       # near 1: keep the cell
        [0.993 0.982 0.982 0.982 0.982 0.982]
        >>> print(trace.cell[0, :, 0].round(3))         # so the pulse stays
        [0.557 0.547 0.537 0.527 0.518 0.508]
    """
    if isinstance(layer, keras.layers.Bidirectional):
        forward, backward = layer.forward_layer, layer.backward_layer
        for name, direction in (("forward_layer", forward), ("backward_layer", backward)):
            _cell_of(direction, f"layer.{name}")
        forward_state = backward_state = None
        if initial_state is not None:
            states = _as_list(initial_state)
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        return {
            "forward": _trace_rnn(forward, inputs, forward_state, mask),
            "backward": _trace_rnn(backward, inputs, backward_state, mask),
        }
    if isinstance(layer, RecurrentCell):
        return _trace(layer, inputs, initial_state, mask, go_backwards=False)
    _cell_of(layer, "layer")
    return _trace_rnn(layer, inputs, initial_state, mask)


def _cell_of(layer, argument):
    """The seqkit cell of a seqkit layer / keras.layers.RNN, or a clear TypeError."""
    cell = getattr(layer, "cell", None)
    if isinstance(layer, keras.layers.RNN) and isinstance(cell, RecurrentCell):
        return cell
    raise TypeError(
        f"Received an invalid value for argument `{argument}`: gate_trace needs a "
        f"seqkit layer or cell (seqkit.layers.LSTM, GRU, Elman, Clockwork, their "
        f"cells, keras.layers.RNN over a seqkit cell, or keras.layers.Bidirectional "
        f"around one), got {type(layer).__module__}.{type(layer).__name__} "
        f"{getattr(layer, 'name', '')!r}."
    )


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _trace_rnn(layer, inputs, initial_state, mask):
    """Trace a keras.layers.RNN (seqkit layer) over its seqkit cell."""
    if initial_state is None and layer.stateful and getattr(layer, "states", None) is not None:
        # What the layer itself would start from.
        initial_state = [ops.convert_to_numpy(state) for state in layer.states]
    return _trace(layer.cell, inputs, initial_state, mask, go_backwards=layer.go_backwards)


def _check_inputs(cell, inputs):
    inputs = ops.convert_to_tensor(inputs, dtype=cell.compute_dtype)
    shape = tuple(inputs.shape)
    if len(shape) != 3:
        raise ValueError(
            f"Received an invalid value for argument `inputs`: gate_trace expects "
            f"[batch, time, features] (rank 3), got shape {shape} (rank {len(shape)})."
        )
    if not shape[1]:
        raise ValueError(
            f"Received an invalid value for argument `inputs`: it has no time "
            f"steps (shape {shape})."
        )
    if not cell.built:
        cell.build((shape[0], shape[2]))
    built_dim = getattr(cell, "_input_dim", None)
    if built_dim is not None and shape[2] != built_dim:
        raise ValueError(
            f"Received an invalid value for argument `inputs`: the cell "
            f"'{cell.name}' was built for {built_dim} input features, got shape "
            f"{shape} ({shape[2]} features)."
        )
    return inputs


def _check_states(cell, initial_state, batch_size):
    sizes = _as_list(cell.state_size)
    if initial_state is None:
        return [ops.convert_to_numpy(s) for s in cell.get_initial_state(batch_size)]
    states = [
        np.asarray(ops.convert_to_numpy(s), dtype=cell.compute_dtype)
        for s in _as_list(initial_state)
    ]
    expected = [(batch_size, size) for size in sizes]
    received = [s.shape for s in states]
    if received != expected:
        raise ValueError(
            f"Received an invalid value for argument `initial_state`: the cell "
            f"'{cell.name}' expects {len(expected)} state(s) of shapes {expected}, "
            f"got {len(received)} of shapes {received}."
        )
    return states


def _check_mask(mask, batch_size, steps):
    if mask is None:
        return None
    mask = np.asarray(ops.convert_to_numpy(mask)).astype(bool)
    if mask.shape != (batch_size, steps):
        raise ValueError(
            f"Received an invalid value for argument `mask`: expected shape "
            f"{(batch_size, steps)} [batch, time], got {mask.shape}."
        )
    return mask


def _trace(cell, inputs, initial_state, mask, go_backwards):
    inputs = _check_inputs(cell, inputs)
    batch_size, steps = inputs.shape[0], inputs.shape[1]
    states = _check_states(cell, initial_state, batch_size)
    mask = _check_mask(mask, batch_size, steps)

    # project_inputs / gates ask the cell for its dropout masks (unused at
    # inference), which would draw from its seed generator and cache a mask of
    # this batch size: keep the cell exactly as it was.
    saved_masks = {
        name: getattr(cell, name, None) for name in ("_dropout_mask", "_recurrent_dropout_mask")
    }
    saved_seed = ops.convert_to_numpy(cell.seed_generator.state)
    try:
        projected = cell.project_inputs(inputs, training=False)
        order = range(steps - 1, -1, -1) if go_backwards else range(steps)
        per_step = [None] * steps
        for t in order:
            previous = [ops.convert_to_tensor(s) for s in states]
            gates = cell.gates(projected[:, t], previous, training=False)
            new_states = cell.state_from_gates(gates)
            values_type = type(gates)
            named = gates._asdict() if hasattr(gates, "_asdict") else dict(gates)
            fields = list(named)
            # Which named values are the new states (LSTM: hidden -> 0, cell -> 1).
            state_index = {
                name: index
                for name, value in named.items()
                for index, state in enumerate(new_states)
                if value is state
            }
            named = {name: ops.convert_to_numpy(value) for name, value in named.items()}
            new_states = [ops.convert_to_numpy(s) for s in new_states]
            if mask is not None:
                keep = mask[:, t][:, None]
                new_states = [np.where(keep, new, old) for new, old in zip(new_states, states)]
                for name, value in named.items():
                    if name in state_index:
                        named[name] = new_states[state_index[name]]
                    else:
                        named[name] = np.where(keep, value, np.nan).astype(value.dtype)
            per_step[t] = named
            states = new_states
    finally:
        for name, value in saved_masks.items():
            setattr(cell, name, value)
        cell.seed_generator.state.assign(saved_seed)

    arrays = {name: np.stack([step[name] for step in per_step], axis=1) for name in fields}
    return values_type(**arrays)

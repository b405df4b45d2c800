"""The fast path: a whole-sequence recurrence with a batched custom gradient.

Why this exists. On a CPU a recurrent layer's time is mostly the per-step
overhead of small matmuls. Keras's loop (and TensorFlow's autodiff of it) does,
at every step, ``x_t·W`` and ``h_{t-1}·U`` forward and four matmuls backward
(``dx_t``, ``dW``, ``dh_{t-1}``, ``dU``). Only two of those are truly sequential:
``h_{t-1}·U`` forward and ``dr_t·Uᵀ`` backward. This module keeps just those in
the loops and does the rest as single large matmuls over all time steps:

    forward:   P = X·W + b                        (one matmul, done by the layer)
               for t: r_t = h_{t-1}·U + b';  (h_t, state_t) = gates(P_t, r_t, state_{t-1})
    backward:  for t = T..1: local vector-Jacobian product of ``gates`` (a tape
                   over the elementwise step), dh_{t-1} += dr_t·Uᵀ
               dU = H_{prev}ᵀ·dR,  db' = Σ dR                 (one matmul, one sum)
               dP flows back through P = X·W + b              (autodiff: two matmuls)

Weights a cell reads inside ``gates`` besides ``U`` and ``b'`` (for example
a peephole kernel) are listed by ``cell.step_weights()``; the backward loop
takes their gradient at every step with the same local tape and sums it over
the steps, so such a cell needs nothing more to use this path.

The step function is the cell's own ``gates`` (the same code as the reference
path), so the equations live in one place; ``tests/layers`` check the result
against Keras and against the reference path, outputs and gradients.

Masking follows ``keras.backend.rnn`` exactly: at a masked step the states are
kept and the output is the previous output (or zeros with
``zero_output_for_mask``).
"""

import tensorflow as tf


def _tf_variable(weight):
    """The tf.Variable behind a Keras variable (what tapes and custom_gradient see)."""
    return getattr(weight, "_value", weight)


def _masked_step(cell, projected_t, recurrent_t, states, prev_output, mask_t, zero_output):
    """One step on precomputed projections, with Keras's masking rule."""
    values = cell.gates(projected_t, states, recurrent=recurrent_t)
    output = values.hidden
    new_states = cell.state_from_gates(values)
    if mask_t is not None:
        keep = mask_t[:, None]
        new_states = [tf.where(keep, new, old) for new, old in zip(new_states, states)]
        output = tf.where(keep, output, tf.zeros_like(output) if zero_output else prev_output)
    return output, new_states


def fused_rnn(cell, projected, initial_state, mask=None, go_backwards=False,
              zero_output_for_mask=False, time_major=False, xla=False):
    """Run ``cell`` over a projected sequence; returns (last_output, outputs, states).

    Args:
        cell: a seqkit cell with ``supports_fused(training)`` true.
        projected: [batch, time, gates*units], ``X·W + b`` from ``project_inputs``
            ([time, batch, gates*units] with ``time_major``; ``mask`` stays
            [batch, time]).
        initial_state: list of [batch, size] tensors.
        mask: optional [batch, time] boolean.
        go_backwards: process time in reverse; outputs come back in processing
            order, as ``keras.backend.rnn`` returns them.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        xla: compile the forward and the backward loop each with XLA (ignored
            for cells with ``step_weights``); the caller decides where that is
            faster and safe.

    The return values match ``keras.backend.rnn``: the last output
    [batch, units], all outputs [batch, time, units] and the final states.
    """
    kernel = tf.convert_to_tensor(cell.recurrent_kernel)
    bias = cell.recurrent_bias()
    has_bias = bias is not None
    bias = tf.convert_to_tensor(bias) if has_bias else tf.zeros([kernel.shape[-1]], kernel.dtype)
    if not time_major:
        projected = tf.transpose(projected, [1, 0, 2])  # time-major for the loops
    if mask is not None:
        mask = tf.transpose(tf.cast(mask, tf.bool), [1, 0])
    if go_backwards:
        projected = tf.reverse(projected, [0])
        mask = None if mask is None else tf.reverse(mask, [0])
    num_states = len(initial_state)
    step_weights = list(cell.step_weights())
    # XLA compiles each loop into one kernel where that was measured faster and
    # is safe (``xla``: see ``seqkit.layers.base.xla_training``); the loops
    # take and return plain tensors, so either way they are the same code.
    jit = bool(xla) and not step_weights

    def forward_loop(projected, kernel, bias, initial_state):
        steps = tf.shape(projected)[0]
        batch = tf.shape(projected)[1]
        zeros_output = tf.zeros([batch, cell.units], projected.dtype)
        outputs = tf.TensorArray(projected.dtype, size=steps)
        # r_t = h_{t-1}·U + b' is kept so the backward loop need not redo the matmul.
        recurrents = tf.TensorArray(projected.dtype, size=steps)
        # states_seen[t] holds the states *before* step t (the backward pass
        # re-runs each step from them); the last entry is the final state.
        states_seen = [
            tf.TensorArray(s.dtype, size=steps + 1).write(0, s) for s in initial_state
        ]

        def forward(t, prev_output, states, outputs, recurrents, states_seen):
            recurrent = tf.matmul(states[0], kernel) + bias
            mask_t = None if mask is None else mask[t]
            output, new_states = _masked_step(
                cell, projected[t], recurrent, states, prev_output, mask_t, zero_output_for_mask
            )
            outputs = outputs.write(t, output)
            recurrents = recurrents.write(t, recurrent)
            states_seen = [ta.write(t + 1, s) for ta, s in zip(states_seen, new_states)]
            return t + 1, output, new_states, outputs, recurrents, states_seen

        _, _, final_states, outputs, recurrents, states_seen = tf.while_loop(
            lambda t, *_: t < steps,
            forward,
            (0, zeros_output, list(initial_state), outputs, recurrents, states_seen),
            maximum_iterations=projected.shape[0],
        )
        return (outputs.stack(), recurrents.stack(), [ta.stack() for ta in states_seen],
                list(final_states))

    def backward_loop(d_outputs, d_final, projected, kernel, outputs_tm, recurrents_tm,
                      states_seen):
        steps = tf.shape(projected)[0]
        zeros_output = tf.zeros_like(outputs_tm[0])
        d_projected = tf.TensorArray(projected.dtype, size=steps)
        d_recurrent = tf.TensorArray(projected.dtype, size=steps)

        def backward(t, d_states, d_prev_output_carry, d_projected, d_recurrent,
                     d_step_weights):
            # tf.identity: in eager mode a read may return the very tensor that
            # was written, and the output and the hidden state are one tensor
            # when there is no mask; the tape would then credit the gradient of
            # one to both (GRU's z∘h_{t-1} term counted twice).
            states = [tf.identity(seen[t]) for seen in states_seen]
            if mask is None:
                # Only a masked step reads the previous output; without a mask,
                # skip the tf.cond (a function call per step).
                prev_output = zeros_output
            else:
                prev_output = tf.identity(tf.cond(
                    t > 0, lambda: outputs_tm[tf.maximum(t - 1, 0)], lambda: zeros_output
                ))
            projected_t = projected[t]
            recurrent_t = recurrents_tm[t]
            mask_t = None if mask is None else mask[t]
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch([projected_t, recurrent_t, prev_output, *states])
                tape.watch([_tf_variable(w) for w in step_weights])
                output, new_states = _masked_step(
                    cell, projected_t, recurrent_t, states, prev_output, mask_t,
                    zero_output_for_mask,
                )
            d_output = d_outputs[t] + d_prev_output_carry
            grads = tape.gradient(
                [output, *new_states],
                [projected_t, recurrent_t, prev_output, *states,
                 *[_tf_variable(w) for w in step_weights]],
                output_gradients=[d_output, *d_states],
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            g_projected, g_recurrent, g_prev_output, *g_states = grads[: 3 + num_states]
            g_step_weights = grads[3 + num_states :]
            # The hidden state also reached step t through r_t = h·U + b'.
            g_states[0] = g_states[0] + tf.matmul(g_recurrent, kernel, transpose_b=True)
            return (
                t - 1,
                g_states,
                g_prev_output,
                d_projected.write(t, g_projected),
                d_recurrent.write(t, g_recurrent),
                [d + g for d, g in zip(d_step_weights, g_step_weights)],
            )

        _, d_initial, _, d_projected, d_recurrent, d_step_weights = tf.while_loop(
            lambda t, *_: t >= 0,
            backward,
            (
                steps - 1, list(d_final), zeros_output, d_projected, d_recurrent,
                [tf.zeros(w.shape, w.dtype) for w in step_weights],
            ),
            maximum_iterations=projected.shape[0],
        )
        return d_projected.stack(), d_recurrent.stack(), list(d_initial), d_step_weights

    if jit:
        forward_loop = tf.function(forward_loop, jit_compile=True, autograph=False)
        backward_loop = tf.function(backward_loop, jit_compile=True, autograph=False)

    @tf.custom_gradient
    def run(projected, kernel, bias, *initial_state):
        outputs_tm, recurrents_tm, states_seen, final_states = forward_loop(
            projected, kernel, bias, list(initial_state))

        def grad(d_outputs, *d_final_states, variables=None):
            d_outputs = tf.zeros_like(outputs_tm) if d_outputs is None else d_outputs
            d_final = [
                tf.zeros_like(s) if d is None else d for d, s in zip(d_final_states, final_states)
            ]
            d_projected, d_recurrent, d_initial, d_step_weights = backward_loop(
                d_outputs, d_final, projected, kernel, outputs_tm, recurrents_tm, states_seen)
            # states_seen[0][0..T-1] are the hidden states each step read.
            hidden_read = states_seen[0][:-1]
            width = tf.shape(d_recurrent)[-1]
            d_kernel = tf.matmul(
                tf.reshape(hidden_read, [-1, tf.shape(hidden_read)[-1]]),
                tf.reshape(d_recurrent, [-1, width]),
                transpose_a=True,
            )
            d_bias = tf.reduce_sum(d_recurrent, axis=[0, 1])
            d_inputs = (d_projected, d_kernel, d_bias, *d_initial)
            if not variables:
                return d_inputs
            # tf.custom_gradient hands over every variable read in the forward
            # loop (the step weights); any other gets no gradient from here.
            by_variable = {
                _tf_variable(w).ref(): d for w, d in zip(step_weights, d_step_weights)
            }
            return d_inputs, [by_variable.get(v.ref()) for v in variables]

        return (outputs_tm, *final_states), grad

    outputs_tm, *final_states = run(projected, kernel, bias, *initial_state)
    final_states = list(final_states[:num_states])
    # The loop runs for a dynamic number of steps, so the stacked outputs come
    # back [None, batch, units] even when the time length is known; Keras's
    # loop keeps it, and layers after this one (TimeDistributed) need it.
    outputs_tm.set_shape(projected.shape[:2].concatenate([cell.units]))
    for state, initial in zip(final_states, initial_state):
        state.set_shape(initial.shape)
    outputs = tf.transpose(outputs_tm, [1, 0, 2])
    return outputs[:, -1], outputs, final_states


def fused_forward(cell, projected, initial_state, mask=None, go_backwards=False,
                  zero_output_for_mask=False):
    """Inference: the forward loop of ``fused_rnn`` alone, time-major.

    Takes ``projected`` [time, batch, gates*units] (``X·W + b`` for every step,
    one matmul) and ``mask`` [batch, time]; returns (outputs [time, batch, units]
    in processing order, final states). Nothing is kept for a backward pass (an
    ordinary autodiff of the loop still works), so each step is ``h_{t-1}·U + b'``
    and ``cell.gates``: fewer ops per step than Keras's loop over ``cell.call``,
    which also projects ``x_t`` at every step.
    """
    kernel = tf.convert_to_tensor(cell.recurrent_kernel)
    bias = cell.recurrent_bias()
    bias = None if bias is None else tf.convert_to_tensor(bias)
    if mask is not None:
        mask = tf.transpose(tf.cast(mask, tf.bool), [1, 0])
    if go_backwards:
        projected = tf.reverse(projected, [0])
        mask = None if mask is None else tf.reverse(mask, [0])
    steps = tf.shape(projected)[0]
    zeros_output = tf.zeros([tf.shape(projected)[1], cell.units], projected.dtype)

    def forward(t, prev_output, states, outputs):
        recurrent = tf.matmul(states[0], kernel)
        if bias is not None:
            recurrent = recurrent + bias
        mask_t = None if mask is None else mask[t]
        output, new_states = _masked_step(
            cell, projected[t], recurrent, states, prev_output, mask_t, zero_output_for_mask
        )
        return t + 1, output, new_states, outputs.write(t, output)

    _, _, final_states, outputs = tf.while_loop(
        lambda t, *_: t < steps,
        forward,
        (0, zeros_output, list(initial_state),
         tf.TensorArray(projected.dtype, size=steps)),
        # A static bound (when the length is known) lets XLA compile the loop's
        # gradient too: its accumulators need a maximum size.
        maximum_iterations=projected.shape[0],
    )
    outputs = outputs.stack()
    outputs.set_shape(projected.shape[:2].concatenate([cell.units]))
    for state, initial in zip(final_states, initial_state):
        state.set_shape(initial.shape)
    return outputs, list(final_states)

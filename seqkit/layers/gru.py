"""Gated recurrent unit: ``GRUCell`` and the ``GRU`` layer, gate by gate.

    z_t = σ(x_t·W_z + h_{t-1}·U_z + b_z)                 update gate
    r_t = σ(x_t·W_r + h_{t-1}·U_r + b_r)                 reset gate
    h̃_t = tanh(x_t·W_h + r_t ∘ (h_{t-1}·U_h + b'_h) + b_h)   candidate (reset_after=True)
    h̃_t = tanh(x_t·W_h + (r_t ∘ h_{t-1})·U_h + b_h)          candidate (reset_after=False)
    h_t = z_t ∘ h_{t-1} + (1 − z_t) ∘ h̃_t                hidden state (the output)

(Cho et al. 2014; ``reset_after=True`` is the cuDNN variant and Keras's
default.) Drop-in for ``keras.layers.GRUCell`` / ``keras.layers.GRU``: the same
arguments, defaults and weights, gate columns in Keras's order ``[z, r, h]``.
With ``reset_after=True`` the bias is [2, 3·units]: row 0 for the input
projection, row 1 (``b'``) for the recurrent one.
"""

import collections

import keras
from keras import ops

from seqkit.layers import base

GRUGates = collections.namedtuple("GRUGates", ["update", "reset", "candidate", "hidden"])
GRUGates.__doc__ = "The quantities of one GRU step, each [batch, units]."


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class GRUCell(base.RecurrentCell):
    """One GRU step; see the module docstring for the equations.

    Args:
        units: positive int, the size of h.
        activation: default ``"tanh"``. recurrent_activation: default ``"sigmoid"``.
        use_bias: default ``True``.
        kernel_initializer, recurrent_initializer, bias_initializer: defaults
            ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: default None.
        dropout, recurrent_dropout: rates in [0, 1), default 0 (one mask per
            sequence; one per gate when ``recurrent_dropout > 0`` or
            ``implementation=1``, as in Keras).
        reset_after: default ``True``: apply the reset gate after the recurrent
            matmul (see the equations).
        seed: seed for the dropout masks.

    Example:
        >>> cell = GRUCell(4)
        >>> keras.layers.RNN(cell)(np.zeros((2, 5, 3), "float32")).shape
        (2, 4)
    """

    num_gates = 3
    per_gate_masks_supported = True

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        reset_after=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**base.base_cell_arguments(locals()))
        self.recurrent_activation = base.get_activation(
            "recurrent_activation", recurrent_activation
        )
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def recurrent_bias(self):
        """b' of the equations: only with ``reset_after`` and a bias."""
        if self.bias is None or not self.reset_after:
            return None
        return self.bias[1]

    def supports_fused(self, training):
        # reset_after=False multiplies r into h *before* U_h, so the recurrence
        # is not a function of h·U alone.
        return self.reset_after and super().supports_fused(training)

    def _recurrent_parts(self, hidden_prev, training, recurrent=None):
        """(h·U_z [+b'_z], h·U_r [+b'_r], h·U_h [+b'_h] or None, h for the candidate)."""
        if recurrent is not None:  # h·U + b' precomputed by the fused loop
            rec_z, rec_r, rec_h = ops.split(recurrent, 3, axis=-1)
            return rec_z, rec_r, rec_h, hidden_prev
        h_z, h_r, h_h = self.recurrent_inputs(hidden_prev, training)
        u_z, u_r, u_h = self.recurrent_kernels()
        shared = h_z is h_r and h_r is h_h
        if shared and self.reset_after:  # one fused matmul for all three gates
            parts = ops.split(ops.matmul(h_z, self.recurrent_kernel), 3, axis=-1)
        elif shared:  # fused for z and r; the candidate needs r first
            fused = ops.matmul(h_z, self.recurrent_kernel[:, : 2 * self.units])
            parts = ops.split(fused, 2, axis=-1) + [None]
        else:
            parts = [ops.matmul(h_z, u_z), ops.matmul(h_r, u_r)]
            parts.append(ops.matmul(h_h, u_h) if self.reset_after else None)
        bias = self.recurrent_bias()
        if bias is not None:
            parts = [p + b for p, b in zip(parts, ops.split(bias, 3, axis=-1))]
        return parts[0], parts[1], parts[2], h_h

    def gates(self, projected, states, training=False, recurrent=None):
        (hidden_prev,) = states
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        rec_z, rec_r, rec_h, h_for_candidate = self._recurrent_parts(
            hidden_prev, training, recurrent
        )
        update = self.recurrent_activation(x_z + rec_z)
        reset = self.recurrent_activation(x_r + rec_r)
        if self.reset_after:
            candidate = self.activation(x_h + reset * rec_h)
        else:
            u_h = self.recurrent_kernel[:, 2 * self.units :]
            candidate = self.activation(x_h + ops.matmul(reset * h_for_candidate, u_h))
        hidden = update * hidden_prev + (1.0 - update) * candidate
        return GRUGates(update=update, reset=reset, candidate=candidate, hidden=hidden)

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


@keras.saving.register_keras_serializable(package=base.PACKAGE)
@base.forward_cell_properties
class GRU(base.RecurrentLayer):
    """GRU layer, a drop-in for ``keras.layers.GRU``.

    See ``GRUCell`` for the equations and cell arguments. Layer and call
    arguments are Keras's. ``use_cudnn`` follows Keras's rule: on a GPU, "auto" or
    True runs Keras's cuDNN kernel on the same weights when the configuration
    allows (``seqkit.layers.base.cudnn_eligible``), and True raises where it does
    not; otherwise seqkit runs its own loop, which projects the inputs of
    all time steps in one matmul before the recurrence.

    Example:
        >>> gru = GRU(8, return_sequences=True)
        >>> gru(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    cell_properties = (
        "units", "activation", "recurrent_activation", "use_bias",
        "kernel_initializer", "recurrent_initializer", "bias_initializer",
        "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint",
        "dropout", "recurrent_dropout", "reset_after", "implementation",
    )

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        self.use_cudnn = base.check_use_cudnn(use_cudnn)
        arguments = dict(locals())
        del arguments["use_cudnn"]
        super().__init__(**base.layer_arguments(GRUCell, arguments, "gru_cell"))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}

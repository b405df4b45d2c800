"""Long short-term memory: ``LSTMCell`` and the ``LSTM`` layer, gate by gate.

    f_t = σ(W_f·[h_{t-1}, x_t] + p_f ∘ c_{t-1} + b_f)    forget gate
    i_t = σ(W_i·[h_{t-1}, x_t] + p_i ∘ c_{t-1} + b_i)    input gate
    c̃_t = tanh(W_c·[h_{t-1}, x_t] + b_c)                 candidate cell
    c_t = f_t ∘ c_{t-1} + i_t ∘ c̃_t                      cell state
    o_t = σ(W_o·[h_{t-1}, x_t] + p_o ∘ c_t + b_o)        output gate
    h_t = o_t ∘ tanh(c_t)                                 hidden state (the output)

The peephole terms ``p ∘ c`` (Gers & Schmidhuber 2000; TensorFlow 1's
``LSTMCell(use_peepholes=True)``) are there only with ``use_peepholes=True``:
the input and forget gates look at the previous cell c_{t-1}, the output gate
at the new one c_t. Without them (the default) this is exactly Keras's LSTM.

Drop-in for ``keras.layers.LSTMCell`` / ``keras.layers.LSTM``: the same
arguments, defaults and weights. ``W·[h, x]`` is stored split in Keras's row
form, ``x · kernel + h · recurrent_kernel``, with the gate columns in Keras's
order ``[i, f, c, o]``, so ``set_weights(keras_lstm.get_weights())`` works.
The peephole vectors are one more weight, ``peephole_kernel`` [3, units], rows
``[p_i, p_f, p_o]``, listed after ``kernel``, ``recurrent_kernel``, ``bias``.
"""

import collections

import keras
from keras import constraints, initializers, ops, regularizers

from seqkit.layers import base

LSTMGates = collections.namedtuple(
    "LSTMGates", ["input", "forget", "candidate", "cell", "output", "hidden"]
)
LSTMGates.__doc__ = "The quantities of one LSTM step, each [batch, units]."


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class LSTMCell(base.RecurrentCell):
    """One LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    See the module docstring for the equations; ``activation`` is the tanh of
    the candidate and of the output, ``recurrent_activation`` the σ of the gates.
    State: ``[h, c]``, each [batch, units].

    Args:
        units: positive int, the size of h and c.
        activation: default ``"tanh"``. recurrent_activation: default ``"sigmoid"``.
        use_bias: default ``True``.
        kernel_initializer, recurrent_initializer, bias_initializer: defaults
            ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
        unit_forget_bias: default ``True``: the forget gate's bias starts at 1
            (Jozefowicz et al. 2015), so the cell remembers by default.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: default None.
        dropout, recurrent_dropout: rates in [0, 1), default 0; one mask per
            sequence (variational dropout, Gal & Ghahramani 2016), and, like
            Keras, one mask per gate when ``recurrent_dropout > 0`` or
            ``implementation=1``.
        seed: seed for the dropout masks.
        use_peepholes: default ``False``. True adds the peephole terms ``p ∘ c``
            (weight ``peephole_kernel`` [3, units], rows ``[input, forget, output]``;
            no dropout applies to them, as in TensorFlow 1).
        peephole_initializer: default ``"zeros"`` (so a new peephole LSTM starts
            as the plain one). peephole_regularizer, peephole_constraint: default None.

    Example:
        >>> cell = LSTMCell(4)
        >>> keras.layers.RNN(cell)(np.zeros((2, 5, 3), "float32")).shape
        (2, 4)
    """

    num_gates = 4
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
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        use_peepholes=False,
        peephole_initializer="zeros",
        peephole_regularizer=None,
        peephole_constraint=None,
        **kwargs,
    ):
        super().__init__(**base.base_cell_arguments(locals()))
        self.recurrent_activation = base.get_activation(
            "recurrent_activation", recurrent_activation
        )
        self.unit_forget_bias = bool(unit_forget_bias)
        if not isinstance(use_peepholes, bool):
            raise ValueError(
                f"Received an invalid value for argument `use_peepholes`, expected "
                f"True or False, got {use_peepholes!r}."
            )
        self.use_peepholes = use_peepholes
        self.peephole_initializer = base._get(
            initializers, "peephole_initializer", peephole_initializer
        )
        self.peephole_regularizer = base._get(
            regularizers, "peephole_regularizer", peephole_regularizer
        )
        self.peephole_constraint = base._get(
            constraints, "peephole_constraint", peephole_constraint
        )
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_peepholes:
            # Created after kernel, recurrent_kernel and bias, so get_weights()
            # lists it last and a plain LSTM's weights are a prefix.
            self.peephole_kernel = self.add_weight(
                shape=(3, self.units),
                name="peephole_kernel",
                initializer=self.peephole_initializer,
                regularizer=self.peephole_regularizer,
                constraint=self.peephole_constraint,
            )
        self.built = True

    def step_weights(self):
        # gates() reads the peephole kernel at every step; the fused loop must
        # return its gradient too.
        return [self.peephole_kernel] if self.use_peepholes else []

    def bias_initializer_fn(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, bias_initializer = self.units, self.bias_initializer

        def forget_bias_one(_, *args, **kwargs):
            # Columns [i, f, c, o]: the forget block starts at 1.
            return ops.concatenate(
                [
                    bias_initializer((units,), *args, **kwargs),
                    initializers.get("ones")((units,), *args, **kwargs),
                    bias_initializer((units * 2,), *args, **kwargs),
                ]
            )

        return forget_bias_one

    def gates(self, projected, states, training=False, recurrent=None):
        hidden_prev, cell_prev = states
        z_input, z_forget, z_candidate, z_output = self.pre_activations(
            projected, hidden_prev, training, recurrent
        )
        if self.use_peepholes:
            peep_input, peep_forget, peep_output = ops.unstack(
                ops.cast(self.peephole_kernel, z_input.dtype), 3, axis=0
            )
            z_input = z_input + peep_input * cell_prev
            z_forget = z_forget + peep_forget * cell_prev
        forget = self.recurrent_activation(z_forget)
        input_ = self.recurrent_activation(z_input)
        candidate = self.activation(z_candidate)
        cell = forget * cell_prev + input_ * candidate
        if self.use_peepholes:
            z_output = z_output + peep_output * cell  # the output gate sees the new c_t
        output = self.recurrent_activation(z_output)
        hidden = output * self.activation(cell)
        return LSTMGates(
            input=input_, forget=forget, candidate=candidate,
            cell=cell, output=output, hidden=hidden,
        )

    def state_from_gates(self, gates):
        return [gates.hidden, gates.cell]

    def get_config(self):
        config = {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        if self.use_peepholes:
            # Only then: a plain LSTM's config stays exactly Keras's keys.
            config.update(
                use_peepholes=True,
                peephole_initializer=initializers.serialize(self.peephole_initializer),
                peephole_regularizer=regularizers.serialize(self.peephole_regularizer),
                peephole_constraint=constraints.serialize(self.peephole_constraint),
            )
        return config


@keras.saving.register_keras_serializable(package=base.PACKAGE)
@base.forward_cell_properties
class LSTM(base.RecurrentLayer):
    """LSTM layer, a drop-in for ``keras.layers.LSTM``.

    See ``LSTMCell`` for the equations and cell arguments. Layer and call
    arguments are Keras's. ``use_cudnn`` follows Keras's rule: on a GPU, "auto" or
    True runs Keras's cuDNN kernel on the same weights when the configuration
    allows (``seqkit.layers.base.cudnn_eligible``), and True raises where it does
    not; otherwise seqkit runs its own loop, which projects the inputs of
    all time steps in one matmul before the recurrence. ``use_peepholes`` and the
    ``peephole_*`` arguments (seqkit's, not Keras's) add the peephole terms.

    Example:
        >>> lstm = LSTM(8, return_sequences=True, return_state=True)
        >>> outputs, h, c = lstm(np.zeros((2, 5, 3), "float32"))
        >>> outputs.shape, h.shape, c.shape
        ((2, 5, 8), (2, 8), (2, 8))
    """

    cell_properties = (
        "units", "activation", "recurrent_activation", "use_bias",
        "unit_forget_bias", "kernel_initializer", "recurrent_initializer",
        "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
        "bias_regularizer", "kernel_constraint", "recurrent_constraint",
        "bias_constraint", "dropout", "recurrent_dropout", "implementation",
        "use_peepholes", "peephole_initializer", "peephole_regularizer",
        "peephole_constraint",
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
        unit_forget_bias=True,
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
        use_cudnn="auto",
        use_peepholes=False,
        peephole_initializer="zeros",
        peephole_regularizer=None,
        peephole_constraint=None,
        **kwargs,
    ):
        self.use_cudnn = base.check_use_cudnn(use_cudnn)
        arguments = dict(locals())
        del arguments["use_cudnn"]
        super().__init__(**base.layer_arguments(LSTMCell, arguments, "lstm_cell"))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}

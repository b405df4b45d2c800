"""The Elman network (simple RNN): ``ElmanCell`` and the ``Elman`` layer.

    h_t = tanh(x_t · W + h_{t-1} · U + b)

Drop-in for ``keras.layers.SimpleRNNCell`` / ``keras.layers.SimpleRNN``: the same
arguments, defaults and weights (``kernel`` W [features, units],
``recurrent_kernel`` U [units, units], ``bias`` b [units]).
"""

import collections

import keras
from seqkit.layers import base

ElmanGates = collections.namedtuple("ElmanGates", ["pre_activation", "hidden"])
ElmanGates.__doc__ = "The quantities of one Elman step, each [batch, units]."


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class ElmanCell(base.RecurrentCell):
    """One step of an Elman network.

    Equations (row form, as Keras stores the weights)::

        a_t = x_t · W + (h_{t-1} ∘ m_h) · U + b      # pre-activation
        h_t = activation(a_t)                         # hidden state = output

    ``m_h`` is the recurrent dropout mask (all ones at inference). Input dropout
    multiplies ``x_t`` by a mask drawn once per sequence.

    Args:
        units: positive int, the size of the hidden state.
        activation: default ``"tanh"``.
        use_bias: default ``True``.
        kernel_initializer, recurrent_initializer, bias_initializer: defaults
            ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: default None.
        dropout, recurrent_dropout: rates in [0, 1), default 0.
        seed: seed for the dropout masks.

    Example:
        >>> cell = ElmanCell(4)
        >>> layer = keras.layers.RNN(cell)     # or seqkit.layers.Elman(4)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 4)
    """

    def gates(self, projected, states, training=False, recurrent=None):
        (hidden_prev,) = states
        (pre_activation,) = self.pre_activations(projected, hidden_prev, training, recurrent)
        hidden = self.activation(pre_activation) if self.activation else pre_activation
        return ElmanGates(pre_activation=pre_activation, hidden=hidden)


@keras.saving.register_keras_serializable(package=base.PACKAGE)
@base.forward_cell_properties
class Elman(base.RecurrentLayer):
    """Elman network layer, a drop-in for ``keras.layers.SimpleRNN``.

    See ``ElmanCell`` for the equations and the cell arguments. Layer arguments
    (``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
    ``unroll``) and call arguments (``mask``, ``training``, ``initial_state``)
    are Keras's. In training the input projection of all time steps is computed in one matmul
    before the recurrence (``RecurrentLayer.inner_loop``).

    Example:
        >>> layer = Elman(8, return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    cell_properties = (
        "units", "activation", "use_bias", "kernel_initializer",
        "recurrent_initializer", "bias_initializer", "kernel_regularizer",
        "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
        "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
    )

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
        **kwargs,
    ):
        super().__init__(**base.layer_arguments(ElmanCell, locals(), "elman_cell"))

    @property
    def seed(self):
        return self.cell.seed

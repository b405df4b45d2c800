"""A word/character language model over any seqkit cell, with explicit state.

    e_t = E[w_t]                                   (embedding, dropout)
    h_t = stack(e_t, state_{t-1})                  (seqkit.builders.stack; dropout
                                                    between layers, never inside the
                                                    recurrence, Zaremba et al. 2014)
    logits_t = dropout(h_t) · V + b                (V = Eᵀ when tie_embeddings,
                                                    Press & Wolf 2017)
    p(w_{t+1} | w_≤t) = softmax(logits_t)

Training and evaluation score tokens with ``token_losses``, the same numbers
as ``call``'s logits through the cross-entropy, with the projection and the
softmax fused (``seqkit.losses``).

The recurrent state goes in and comes out of ``call`` explicitly
(``model((tokens, states)) -> (logits, new_states)``) instead of living in
stateful layers: truncated BPTT carries it from batch to batch, evaluation
carries it through a whole stream, generation steps it one token at a time,
and under ``tf.distribute`` every replica carries the state of its own streams.

Example:
    >>> model = LanguageModel(vocab_size=50, cell="lstm", num_layers=2, hidden_size=32)
    >>> tokens = np.zeros((4, 10), "int32")
    >>> logits, states = model((tokens, model.initial_state(4)))
    >>> logits.shape, len(states)
    ((4, 10, 50), 4)
"""

import math

import keras
import numpy as np
from keras import ops

from seqkit import builders, layers, losses
from seqkit.layers import base


class TiedOutput(keras.layers.Layer):
    """``logits = h · Eᵀ + b``: the output projection of tied embeddings, in float32.

    ``read_weights()`` returns the embedding matrix E [vocab, d] and the bias b
    [vocab] of the model that owns them (the layer owns no weights, so the
    model's variables, and its checkpoints, stay as they were). Like Keras's
    rule for a model's last layer, it computes in float32 under any policy: as
    a float32 layer it reads E in float32 even inside a bfloat16 model, where
    ``E`` read in the model's own ``call`` is rounded to bfloat16 (the untied
    softmax layer in bfloat16 cost 16% perplexity on PTB-small, BUILD_NOTES.md).

    Example:
        >>> out = TiedOutput(lambda: (embedding.embeddings, bias))   # doctest: +SKIP
        >>> logits = out(hidden)          # [..., d] -> [..., vocab] float32
    """

    def __init__(self, read_weights, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self._read_weights = read_weights

    def call(self, hidden):
        embeddings, bias = self._read_weights()
        return ops.matmul(hidden, ops.transpose(embeddings)) + bias


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class LanguageModel(keras.Model):
    """Embedding → stacked seqkit RNN → softmax, with the state passed explicitly.

    Args:
        vocab_size: number of token ids.
        cell: "lstm" (default), "gru", "elman" or "clockwork".
        num_layers: recurrent layers (default 2).
        hidden_size: units per layer (default 200).
        embedding_size: default ``hidden_size`` (required equal to it with ties).
        dropout: on the embedding output, between layers and before the softmax.
        recurrent_dropout: variational dropout inside each recurrent layer.
        tie_embeddings: share the embedding matrix with the output projection.
        init_scale: weights start uniform in [-init_scale, init_scale] (Zaremba
            et al.); 0 keeps each layer's Keras default initializers.
        cell_kwargs: extra arguments for every recurrent layer (e.g. ``periods``).
        seed: seed for the dropout masks and the initializers.
    """

    def __init__(
        self,
        vocab_size,
        cell="lstm",
        num_layers=2,
        hidden_size=200,
        embedding_size=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        tie_embeddings=False,
        init_scale=0.1,
        cell_kwargs=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = base.check_positive_int("vocab_size", vocab_size)
        layers.get(cell)  # a clear error for an unknown cell kind
        self.cell = cell
        self.num_layers = base.check_positive_int("num_layers", num_layers)
        self.hidden_size = base.check_positive_int("hidden_size", hidden_size)
        self.embedding_size = base.check_positive_int(
            "embedding_size", embedding_size or hidden_size
        )
        if tie_embeddings and self.embedding_size != self.hidden_size:
            raise ValueError(
                f"`tie_embeddings` needs `embedding_size` == `hidden_size`, got "
                f"{self.embedding_size} and {self.hidden_size}."
            )
        self.dropout = base.check_rate("dropout", dropout)
        self.recurrent_dropout = base.check_rate("recurrent_dropout", recurrent_dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.init_scale = float(init_scale)
        self.cell_kwargs = dict(cell_kwargs or {})
        self.seed = seed

        def init():
            if self.init_scale <= 0:
                return {}
            uniform = keras.initializers.RandomUniform(-self.init_scale, self.init_scale, seed=seed)
            return {"kernel_initializer": uniform, "recurrent_initializer": uniform}

        embedding_init = (
            keras.initializers.RandomUniform(-self.init_scale, self.init_scale, seed=seed)
            if self.init_scale > 0
            else "uniform"
        )
        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_size, embeddings_initializer=embedding_init,
            name="embedding",
        )
        self.input_dropout = keras.layers.Dropout(self.dropout, seed=seed, name="input_dropout")
        rnn_kwargs = {**init(), **self.cell_kwargs}
        if cell == "lstm":
            # Zaremba et al. (and TF's PTB tutorial) start the forget bias at 0.
            rnn_kwargs.setdefault("unit_forget_bias", False)
        self.rnn = builders.stack(
            cell,
            self.hidden_size,
            self.num_layers,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            output_dropout=self.dropout,
            return_sequences=True,
            return_state=True,
            seed=seed,
            name="rnn",
            **rnn_kwargs,
        )
        if not self.tie_embeddings:
            self.output_layer = keras.layers.Dense(
                self.vocab_size,
                kernel_initializer=embedding_init,
                name="softmax",
                # float32 under any policy (Keras's rule for the last layer): as
                # a bfloat16 Dense (bias, logits and bias gradient in bfloat16),
                # PTB-small validation perplexity after 2 epochs was 158.7
                # against 142.1 in float32 (BUILD_NOTES.md, bfloat16). Training
                # and evaluation go through token_losses, whose matmuls take
                # bfloat16 operands with the rest in float32.
                dtype="float32",
            )
        else:
            self.output_bias = self.add_weight(
                shape=(self.vocab_size,), initializer="zeros", name="softmax_bias"
            )
            self.output_layer = TiedOutput(
                lambda: (self.embedding.embeddings, self.output_bias), name="softmax")

    # -- state ---------------------------------------------------------------
    def initial_state(self, batch_size):
        """The zero state for ``batch_size`` streams: a list of [batch, size] tensors."""
        return [ops.zeros((batch_size, size), "float32") for size in self.state_sizes]

    @property
    def state_sizes(self):
        return list(self.rnn.state_sizes)

    # -- the model -------------------------------------------------------------
    def build(self, input_shape=None):
        tokens = ops.zeros((1, 1), "int32")
        self.call((tokens, self.initial_state(1)))
        self.built = True

    def call(self, inputs, training=False):
        hidden, new_states = self.hidden_states(inputs, training=training)
        logits = self.output_layer(hidden)  # float32 (Dense or TiedOutput)
        # float32 logits under a mixed policy: the softmax and the loss in
        # float32 (Keras's mixed-precision guide).
        return ops.cast(logits, "float32"), new_states

    def hidden_states(self, inputs, training=False):
        """(top layer's outputs [batch, time, hidden_size], new states): all but the softmax."""
        tokens, states = inputs
        embedded = self.input_dropout(self.embedding(tokens), training=training)
        outputs, *new_states = self.rnn(embedded, initial_state=list(states), training=training)
        # The state a step returns has the dtype of the state it took
        # (initial_state, float32), so a tf.function carrying it does not retrace.
        return outputs, [ops.cast(state, "float32") for state in new_states]

    def token_losses(self, inputs, targets, training=False):
        """(−log p(target) per position [batch, time] float32, new states).

        Equals ``token_losses(self(inputs)[0], targets)`` and its gradients
        (tested to 1e-5 in float32) through ``seqkit.losses.softmax_cross_entropy``,
        which fuses the output projection with the softmax: the training and
        evaluation steps use it (PTB-small step times before and after in
        BUILD_NOTES.md, "Session of 2026-12-03"). Under a bfloat16 policy the
        projection's matmuls take bfloat16 operands, and the logits, bias,
        softmax, loss and gradient sums stay float32.
        """
        hidden, new_states = self.hidden_states(inputs, training=training)
        if self.tie_embeddings:
            kernel, bias = self.embedding.embeddings, self.output_bias
        else:
            kernel, bias = self.output_layer.kernel, self.output_layer.bias
        flat = ops.reshape(hidden, (-1, self.hidden_size))
        per_token = losses.softmax_cross_entropy(
            flat, kernel, bias, ops.reshape(targets, (-1,)),
            transpose_kernel=self.tie_embeddings)
        return ops.reshape(per_token, ops.shape(targets)), new_states

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "hidden_size": self.hidden_size,
            "embedding_size": self.embedding_size,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "tie_embeddings": self.tie_embeddings,
            "init_scale": self.init_scale,
            "cell_kwargs": self.cell_kwargs,
            "seed": self.seed,
        }

    def count_params_flops_per_token(self):
        """Matmul FLOPs of one token's forward pass (for FLOP/s reports)."""
        gates = {"lstm": 4, "gru": 3, "elman": 1, "clockwork": 1}[self.cell]
        flops = 0
        width = self.embedding_size
        for _ in range(self.num_layers):
            flops += 2 * gates * self.hidden_size * (width + self.hidden_size)
            width = self.hidden_size
        flops += 2 * self.hidden_size * self.vocab_size
        return flops


def token_losses(logits, targets):
    """Cross-entropy −log p(target) per position, [batch, time]."""
    return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)


def perplexity(total_loss, total_tokens):
    """exp(mean negative log-likelihood), guarded against overflow."""
    mean = total_loss / max(total_tokens, 1)
    return math.exp(mean) if mean < 700 else float("inf")


def sample(model, vocab, prompt_tokens, num_tokens, temperature=1.0, seed=0):
    """Generate ``num_tokens`` token strings after ``prompt_tokens`` (a list of strings).

    The prompt is fed through the model to set the state, then each new token is
    drawn from softmax(logits / temperature) and fed back. ``temperature`` 0
    picks the most likely token. Unknown prompt words become ``<unk>`` when the
    vocabulary has one.
    """
    if temperature < 0:
        raise ValueError(
            f"Received an invalid value for argument `temperature`, expected a "
            f"number >= 0, got {temperature!r}."
        )
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    ids, _ = vocab.encode(list(prompt_tokens) or [vocab.token_of(0)], split="prompt")
    # One compiled step (traced twice: prompt length, then 1) instead of eager
    # calls, which cost ~40x more per token.
    step = tf.function(lambda tokens, states: model((tokens, states)), reduce_retracing=True)
    states = model.initial_state(1)
    logits, states = step(tf.constant(ids[None, :], tf.int32), states)
    last = np.asarray(logits)[0, -1]
    generated = []
    for _ in range(num_tokens):
        if temperature == 0:
            token = int(np.argmax(last))
        else:
            scaled = last.astype("float64") / temperature
            probs = np.exp(scaled - scaled.max())
            token = int(rng.choice(len(probs), p=probs / probs.sum()))
        generated.append(token)
        logits, states = step(tf.constant([[token]], tf.int32), states)
        last = np.asarray(logits)[0, -1]
    return vocab.decode(generated)


__all__ = ["LanguageModel", "TiedOutput", "token_losses", "perplexity", "sample"]

"""An encoder–decoder (sequence-to-sequence) translator over any seqkit cell.

Sutskever, Vinyals & Le (2014): the encoder reads the source ``A B C``; the
decoder starts from the encoder's final state, is fed ``<bos>`` and then, step
by step, its own previous output, and stops when it emits ``<eos>``::

    source (optionally reversed, Sutskever's trick):  x_1 .. x_S      (0 = <pad>)
    encoder:        h_1 .. h_S, final states = Encoder(E_src[x])       (stack, or deep
                                                                        bidirectional)
    bridge:         s_0 = final states                (same shapes), or
                    s_0^{l,i} = tanh(W_{l,i} [f^{l,i}; b^{l,i}] + b)    (bidirectional:
                                                       forward and backward states
                                                       of layer l joined; a Clockwork
                                                       clock restarts at 0)
    decoder:        s_t = Decoder(E_tgt[y_{t-1}] (; c_t), s_{t-1})      y_0 = <bos>
    attention none:      o_t = s_t
    attention luong:     a_tj = softmax_j(s_t · W_a h_j)                (Luong 2015,
                         c_t = Σ_j a_tj h_j                              "general" score,
                         o_t = tanh(W_c [s_t; c_t])                      no input feeding)
    attention bahdanau:  a_tj = softmax_j(v · tanh(W_q s_{t-1} + W_k h_j))   (additive;
                         c_t = Σ_j a_tj h_j, fed to the decoder with        the query is
                         E_tgt[y_{t-1}]; o_t = tanh(W_c [s_t; c_t])         the top layer's
                                                                            previous output)
    logits_t = dropout(o_t) · W_o + b_o            (W_o = E_tgtᵀ with tie_embeddings;
                                                    o_t is then embedding-wide)
    p(y_t | y_<t, x) = softmax(logits_t)

Attention softmaxes run over the valid source positions only (padding gets
exactly zero weight). In training the decoder is teacher-forced (fed the
reference ``y_{t-1}``); with no or Luong attention it runs as one sequence
(the layers' fast path), with Bahdanau attention step by step (the context
enters the recurrence). ``decode_step`` is the same computation for one
step; ``tests/test_seq2seq.py`` proves the two equal.

Decoding (``greedy_decode``, ``beam_search``) is written with TensorFlow ops
(``tf.while_loop``) so that ``seqkit.export.translator`` exports the very same
loop. Both are batched, stop a row at ``<eos>`` and the whole batch when every
row has stopped or ``max_length`` tokens were emitted. ``<pad>`` and
``<bos>`` are never emitted. Beam search ranks hypotheses by the GNMT length
normalization (Wu et al. 2016) ``score = log p(y) / ((5 + |y|) / 6)^alpha``
(``|y|`` counts the ``<eos>``); ``alpha = 0`` is plain log-probability, and
``beam_size=1`` is greedy decoding.

Example:
    >>> model = Seq2Seq(source_vocab_size=20, target_vocab_size=30, bos_id=2, eos_id=3,
    ...                 cell="gru", units=16, attention="luong")
    >>> logits = model((np.ones((4, 7), "int32"), np.ones((4, 5), "int32")))
    >>> tuple(logits.shape)
    (4, 5, 30)
    >>> out = model.greedy_decode(tf.ones((4, 7), tf.int32), max_length=10)
    >>> sorted(out)
    ['attention', 'reached_eos', 'tokens']
"""

import keras
import numpy as np
import tensorflow as tf

from seqkit import builders, layers
from seqkit.layers import base
from seqkit.language_model import TiedOutput

ATTENTIONS = ("none", "luong", "bahdanau")
PAD_ID = 0
# Added to the scores of masked-out choices; exp() of it is exactly 0 in float32.
NEG_INF = -1e9


def masked_softmax(scores, mask):
    """softmax over the last axis, restricted to ``mask`` (bool, broadcastable).

    Masked positions get exactly 0; every row has at least one valid position
    (a source has at least one token).
    """
    scores = tf.where(mask, scores, tf.cast(NEG_INF, scores.dtype))
    return tf.nn.softmax(scores, axis=-1)


def reverse_valid(tokens, pad_id=PAD_ID):
    """Reverse each row's tokens before its padding: ``[a b c 0 0] -> [c b a 0 0]``."""
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(tokens, pad_id), tf.int32), axis=1)
    return tf.reverse_sequence(tokens, lengths, seq_axis=1, batch_axis=0)


@keras.saving.register_keras_serializable(package=base.PACKAGE)
class Seq2Seq(keras.Model):
    """Encoder–decoder with optional attention; see the module docstring for the math.

    Args:
        source_vocab_size, target_vocab_size: number of token ids (id 0 is <pad>).
        bos_id, eos_id: the target vocabulary's <bos> and <eos> ids.
        cell: "lstm" (default), "gru", "elman" or "clockwork" (encoder and decoder).
        units: width of every recurrent layer (each direction), default 256.
        num_layers: layers of the encoder and of the decoder, default 1.
        embedding_dim: default ``units``.
        bidirectional: a deep bidirectional encoder (its states bridged to the decoder).
        attention: "none" (default), "luong" or "bahdanau".
        reverse_source: feed the source tokens in reverse order (Sutskever et al.).
        dropout: on the embeddings, between recurrent layers and before the softmax.
        tie_embeddings: the output projection is the target embedding transposed.
        seed: seeds initializers and dropout.

    Inputs of ``call``: ``(source, target_inputs)``, int32 ``[batch, S]`` and
    ``[batch, T]`` (``target_inputs`` = ``<bos> y_1 .. y_{T-1}``), 0-padded.
    Output: logits ``[batch, T, target_vocab_size]``.
    """

    def __init__(self, source_vocab_size, target_vocab_size, bos_id, eos_id, cell="lstm",
                 units=256, num_layers=1, embedding_dim=None, bidirectional=False,
                 attention="none", reverse_source=False, dropout=0.0, tie_embeddings=False,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size = base.check_positive_int("source_vocab_size", source_vocab_size)
        self.target_vocab_size = base.check_positive_int("target_vocab_size", target_vocab_size)
        for name, value in (("bos_id", bos_id), ("eos_id", eos_id)):
            if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                    or not 0 < value < self.target_vocab_size):
                raise ValueError(
                    f"Received an invalid value for argument `{name}`, expected a target "
                    f"token id in [1, {self.target_vocab_size}) (0 is <pad>), got {value!r}.")
        self.bos_id, self.eos_id = int(bos_id), int(eos_id)
        layers.get(cell)
        self.cell_kind = cell
        self.units = base.check_positive_int("units", units)
        self.num_layers = base.check_positive_int("num_layers", num_layers)
        self.embedding_dim = base.check_positive_int("embedding_dim", embedding_dim or units)
        self.bidirectional = bool(bidirectional)
        self.attention = base.check_choice("attention", attention, ATTENTIONS)
        self.reverse_source = bool(reverse_source)
        self.dropout = base.check_rate("dropout", dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.seed = seed
        seeds = iter(range(10**6)) if seed is None else iter(range(seed, seed + 10**6))

        def init():
            return keras.initializers.GlorotUniform(seed=None if seed is None else next(seeds))

        self.source_embedding = keras.layers.Embedding(
            self.source_vocab_size, self.embedding_dim, mask_zero=True,
            embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=seed),
            name="source_embedding")
        self.target_embedding = keras.layers.Embedding(
            self.target_vocab_size, self.embedding_dim,
            embeddings_initializer=keras.initializers.RandomUniform(
                -0.1, 0.1, seed=None if seed is None else seed + 1),
            name="target_embedding")
        build = builders.deep_bidirectional if self.bidirectional else builders.stack
        self.encoder = build(cell, self.units, num_layers=self.num_layers, dropout=self.dropout,
                             return_sequences=True, return_state=True, seed=seed,
                             name="encoder")
        self.decoder = builders.stack(cell, self.units, num_layers=self.num_layers,
                                      dropout=self.dropout, return_sequences=True,
                                      return_state=True,
                                      seed=None if seed is None else seed + 100,
                                      name="decoder")
        self.memory_dim = self.units * (2 if self.bidirectional else 1)
        self.bridges = []
        if self.bidirectional:
            sizes = self.decoder.state_sizes
            self.bridges = [keras.layers.Dense(size, activation="tanh", kernel_initializer=init(),
                                               name=f"bridge_{i}")
                            for i, size in enumerate(sizes)]
        readout = self.embedding_dim if self.tie_embeddings else self.units
        if self.attention == "luong":
            # W_a applied to the memory once (keys = h_j W_aᵀ), scored against s_t.
            self.attention_keys = keras.layers.Dense(self.units, use_bias=False,
                                                     kernel_initializer=init(),
                                                     name="attention_keys")
        elif self.attention == "bahdanau":
            self.attention_keys = keras.layers.Dense(self.units, use_bias=False,
                                                     kernel_initializer=init(),
                                                     name="attention_keys")
            self.attention_query = keras.layers.Dense(self.units, kernel_initializer=init(),
                                                      name="attention_query")
            self.attention_v = keras.layers.Dense(1, use_bias=False, kernel_initializer=init(),
                                                  name="attention_v")
        if self.attention != "none":
            self.combine = keras.layers.Dense(readout, activation="tanh",
                                              kernel_initializer=init(), name="combine")
        elif self.tie_embeddings and readout != self.units:
            self.combine = keras.layers.Dense(readout, kernel_initializer=init(),
                                              name="combine")
        else:
            self.combine = None
        self.embedding_dropout = keras.layers.Dropout(self.dropout, seed=seed)
        self.output_dropout = keras.layers.Dropout(
            self.dropout, seed=None if seed is None else seed + 7)
        if self.tie_embeddings:
            self.output_bias = self.add_weight(shape=(self.target_vocab_size,),
                                               initializer="zeros", name="output_bias")
            self.output_layer = TiedOutput(
                lambda: (self.target_embedding.embeddings, self.output_bias), name="output")
        else:
            # float32 under any policy, as a model's last layer should be (the
            # language model's softmax layer in bfloat16 cost 16% perplexity).
            self.output_layer = keras.layers.Dense(self.target_vocab_size,
                                                   kernel_initializer=init(), name="output",
                                                   dtype="float32")

    # -- building ------------------------------------------------------------
    def build(self, input_shape=None):
        if self.built:
            return
        self.built = True
        # One pass over a dummy batch creates every variable in a fixed order.
        self.call((tf.ones((1, 2), tf.int32), tf.ones((1, 2), tf.int32)))

    def initialize_output_bias(self, token_counts):
        """Start the softmax bias at the log unigram distribution of the targets.

        ``b_o = log((count + 1) / Σ (count + 1))`` (``token_counts`` [target_vocab_size],
        ``<eos>`` counted once per sentence). Without it the first steps of Adam learn
        the unigram distribution through the readout instead of the bias: they drive
        the tanh readout (and the encoder and decoder outputs behind it) into
        saturation, where every gradient vanishes and training stays at unigram
        loss. Measured on Multi30k (BUILD_NOTES.md): stuck at 5.4 nats (the unigram
        entropy) without, 4.0 after 200 steps with.
        """
        self.build()
        counts = np.asarray(token_counts, np.float64).reshape(-1)
        if counts.shape != (self.target_vocab_size,) or (counts < 0).any():
            raise ValueError(
                f"Received an invalid value for argument `token_counts`, expected "
                f"{self.target_vocab_size} non-negative counts, got shape {counts.shape}.")
        prior = np.log((counts + 1.0) / (counts + 1.0).sum()).astype(np.float32)
        bias = self.output_bias if self.tie_embeddings else self.output_layer.bias
        bias.assign(prior)

    @property
    def decoder_input_dim(self):
        return self.embedding_dim + (self.memory_dim if self.attention == "bahdanau" else 0)

    # -- encoder -------------------------------------------------------------
    def encode(self, source, training=False):
        """Read the source; returns the memory the decoder attends to and its start state.

        Returns a dict: ``outputs`` [batch, S, memory_dim], ``mask`` bool [batch, S],
        ``keys`` (the projected memory, or None without attention), ``states``
        (the decoder's initial states, flat list in ``self.decoder.state_names`` order).
        """
        source = tf.convert_to_tensor(source, tf.int32)
        if self.reverse_source:
            source = reverse_valid(source)
        mask = tf.not_equal(source, PAD_ID)
        embedded = self.embedding_dropout(self.source_embedding(source), training=training)
        outputs, *states = self.encoder(embedded, mask=mask, training=training)
        states = self._bridge(states)
        keys = None
        if self.attention != "none":
            keys = self.attention_keys(outputs)
        return {"outputs": outputs, "mask": mask, "keys": keys, "states": states}

    def _state_is_clock(self, index):
        # A Clockwork layer's second state is its step counter, not a learned value:
        # the decoder is a new sequence, so its clock restarts at 0.
        return self.cell_kind == "clockwork" and index % 2 == 1

    def _bridge(self, states):
        if not self.bidirectional:
            return [tf.zeros_like(s) if self._state_is_clock(i) else s
                    for i, s in enumerate(states)]
        per_direction = len(self.decoder.state_sizes) // self.num_layers
        bridged = []
        for layer in range(self.num_layers):
            start = 2 * layer * per_direction
            forward = states[start:start + per_direction]
            backward = states[start + per_direction:start + 2 * per_direction]
            for i, (f, b) in enumerate(zip(forward, backward)):
                index = layer * per_direction + i
                if self._state_is_clock(index):
                    bridged.append(tf.zeros_like(f))
                else:
                    bridged.append(self.bridges[index](tf.concat([f, b], axis=-1)))
        return bridged

    # -- attention -----------------------------------------------------------
    def _attend(self, memory, query):
        """Context and weights for queries [batch, T, units] (or [batch, units])."""
        single = len(query.shape) == 2
        if single:
            query = query[:, None]
        if self.attention == "luong":
            scores = tf.einsum("btu,bsu->bts", query, memory["keys"])
        else:  # bahdanau
            hidden = tf.tanh(memory["keys"][:, None] + self.attention_query(query)[:, :, None])
            scores = self.attention_v(hidden)[..., 0]
        weights = masked_softmax(scores, memory["mask"][:, None, :])
        context = tf.einsum("bts,bsd->btd", weights, memory["outputs"])
        if single:
            return context[:, 0], weights[:, 0]
        return context, weights

    def _logits(self, readout, training):
        readout = self.output_dropout(readout, training=training)
        return self.output_layer(readout)  # float32: Dense, or TiedOutput when tied

    def _top_output(self, states):
        """The top decoder layer's output h (its first state)."""
        per_layer = len(self.decoder.state_sizes) // self.num_layers
        return states[(self.num_layers - 1) * per_layer]

    # -- decoder, whole sequence (teacher forcing) ---------------------------
    def decode_sequence(self, memory, target_inputs, training=False):
        """Logits [batch, T, V] and attention weights [batch, T, S] (None without)."""
        embedded = self.embedding_dropout(self.target_embedding(target_inputs),
                                          training=training)
        if self.attention == "bahdanau":
            return self._decode_sequence_stepwise(memory, embedded, training)
        outputs, *_ = self.decoder(embedded, initial_state=memory["states"], training=training)
        weights = None
        if self.attention == "luong":
            context, weights = self._attend(memory, outputs)
            outputs = self.combine(tf.concat([outputs, context], axis=-1))
        elif self.combine is not None:
            outputs = self.combine(outputs)
        return self._logits(outputs, training), weights

    def _decode_sequence_stepwise(self, memory, embedded, training):
        steps = tf.shape(embedded)[1]
        batch = tf.shape(embedded)[0]
        # Between-layer dropout masks drawn once per sequence (the same units are
        # dropped at every step), since the loop calls the cells one step at a time.
        masks = self._dropout_masks(batch, training)
        time_major = tf.transpose(embedded, [1, 0, 2])
        readouts = tf.TensorArray(self.compute_dtype, size=steps)
        attentions = tf.TensorArray(self.compute_dtype, size=steps)

        def body(t, states, readouts, attentions):
            readout, states, weights = self._step_readout(memory, time_major[t], states,
                                                          training, masks)
            return t + 1, states, readouts.write(t, readout), attentions.write(t, weights)

        _, _, readouts, attentions = tf.while_loop(
            lambda t, *_: t < steps, body, (0, list(memory["states"]), readouts, attentions))
        readout = tf.transpose(readouts.stack(), [1, 0, 2])
        weights = tf.transpose(attentions.stack(), [1, 0, 2])
        return self._logits(readout, training), weights

    def _dropout_masks(self, batch, training):
        if not training or self.dropout == 0 or self.num_layers == 1:
            return None
        keep = 1.0 - self.dropout
        return [tf.cast(tf.random.uniform((batch, self.units)) < keep, self.compute_dtype) / keep
                for _ in range(self.num_layers - 1)]

    # -- decoder, one step -----------------------------------------------------
    def _step_readout(self, memory, embedded, states, training=False, masks=None):
        """One decoder step from an embedded input [batch, E]: (o_t, new states, weights)."""
        weights = None
        inputs = embedded
        if self.attention == "bahdanau":
            context, weights = self._attend(memory, self._top_output(states))
            inputs = tf.concat([embedded, context], axis=-1)
        new_states = []
        start = 0
        for index, layer in enumerate(self.decoder.forward_layers):
            if index > 0:
                if masks is not None:
                    inputs = inputs * masks[index - 1]
                elif training and self.decoder.dropout_layers:
                    inputs = self.decoder.dropout_layers[index - 1](inputs, training=training)
            count = len(builders._state_sizes(layer))
            inputs, layer_states = layer.cell(inputs, states[start:start + count],
                                              training=training)
            new_states.extend(layer_states)
            start += count
        output = inputs
        if self.attention == "luong":
            context, weights = self._attend(memory, output)
            output = self.combine(tf.concat([output, context], axis=-1))
        elif self.attention == "bahdanau":
            output = self.combine(tf.concat([output, context], axis=-1))
        elif self.combine is not None:
            output = self.combine(output)
        if weights is None:
            weights = tf.zeros((tf.shape(output)[0], 0), self.compute_dtype)
        return output, new_states, weights

    def decode_step(self, memory, tokens, states, training=False):
        """One step fed ``tokens`` [batch]: (logits [batch, V], new states, weights [batch, S]).

        Weights are [batch, 0] without attention.
        """
        embedded = self.embedding_dropout(self.target_embedding(tokens), training=training)
        readout, states, weights = self._step_readout(memory, embedded, states, training)
        return self._logits(readout, training), states, weights

    # -- Keras -------------------------------------------------------------------
    def call(self, inputs, training=False):
        source, target_inputs = inputs
        memory = self.encode(source, training=training)
        logits, _ = self.decode_sequence(memory, tf.convert_to_tensor(target_inputs, tf.int32),
                                         training=training)
        return logits

    def get_config(self):
        config = super().get_config()
        config.update({
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "bos_id": self.bos_id, "eos_id": self.eos_id, "cell": self.cell_kind,
            "units": self.units, "num_layers": self.num_layers,
            "embedding_dim": self.embedding_dim, "bidirectional": self.bidirectional,
            "attention": self.attention, "reverse_source": self.reverse_source,
            "dropout": self.dropout, "tie_embeddings": self.tie_embeddings, "seed": self.seed,
        })
        return config

    # -- decoding --------------------------------------------------------------
    def _forbid_specials(self, log_probs):
        """<pad> and <bos> are never emitted (they are never targets either)."""
        banned = tf.reduce_any(tf.one_hot([PAD_ID, self.bos_id], self.target_vocab_size,
                                          on_value=True, off_value=False), axis=0)
        return tf.where(banned, tf.cast(NEG_INF, log_probs.dtype), log_probs)

    def greedy_decode(self, source, max_length):
        """Batched greedy decoding: each step emits the most probable token.

        Args:
            source: int32 [batch, S], 0-padded, every row non-empty.
            max_length: int32 scalar, the most tokens emitted per row (``<eos>`` included).

        Returns a dict: ``tokens`` int32 [batch, T] (0 after a row's ``<eos>``, which is
        kept), ``reached_eos`` bool [batch], ``attention`` float32 [batch, T, S]
        (S = 0 without attention).
        """
        source = tf.convert_to_tensor(source, tf.int32)
        max_length = tf.convert_to_tensor(max_length, tf.int32)
        memory = self.encode(source)
        batch = tf.shape(source)[0]
        tokens = tf.fill([batch], self.bos_id)
        finished = tf.zeros([batch], tf.bool)
        source_width = 0 if self.attention == "none" else tf.shape(source)[1]
        # Grown by concatenation (not a TensorArray): an empty batch then still
        # yields well-shaped [0, 0] and [0, 0, S] results.
        outputs = tf.zeros([batch, 0], tf.int32)
        attention = tf.zeros([batch, 0, source_width], self.compute_dtype)

        def condition(t, tokens, finished, states, outputs, attention):
            return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))

        def body(t, tokens, finished, states, outputs, attention):
            logits, states, weights = self.decode_step(memory, tokens, states)
            log_probs = self._forbid_specials(tf.nn.log_softmax(logits))
            chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
            chosen = tf.where(finished, PAD_ID, chosen)
            finished = tf.logical_or(finished, tf.equal(chosen, self.eos_id))
            return (t + 1, chosen, finished, states,
                    tf.concat([outputs, chosen[:, None]], axis=1),
                    tf.concat([attention, weights[:, None]], axis=1))

        _, _, finished, _, tokens, attention = tf.while_loop(
            condition, body, (0, tokens, finished, list(memory["states"]), outputs, attention),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None]),
                              [tf.TensorShape([None, s]) for s in self.decoder.state_sizes],
                              tf.TensorShape([None, None]), tf.TensorShape([None, None, None])))
        return {"tokens": tokens, "reached_eos": finished, "attention": attention}

    def beam_search(self, source, max_length, beam_size, alpha=0.6):
        """Batched beam search; returns the best hypothesis per row (see the module doc).

        Every step expands each of the ``beam_size`` live hypotheses by every token
        and keeps the ``beam_size`` best by length-normalized score. A finished
        hypothesis (it emitted ``<eos>``) stays in the beam unchanged (it can only
        be extended by padding, at no cost and no length). The batch stops when
        every hypothesis of every row has finished or ``max_length`` is reached.

        Args:
            source: int32 [batch, S].
            max_length: int32 scalar.
            beam_size: int32 scalar >= 1 (a tensor: the exported signature takes it).
            alpha: length-normalization exponent (float; 0 = raw log-probability).

        Returns a dict: ``tokens`` int32 [batch, T], ``reached_eos`` bool [batch],
        ``scores`` float32 [batch] (the normalized score of the returned hypothesis).
        """
        source = tf.convert_to_tensor(source, tf.int32)
        max_length = tf.convert_to_tensor(max_length, tf.int32)
        beam = tf.convert_to_tensor(beam_size, tf.int32)
        alpha = tf.cast(alpha, tf.float32)
        vocab = self.target_vocab_size
        batch = tf.shape(source)[0]
        memory = self.encode(source)

        def tile(x):  # [batch, ...] -> [batch * beam, ...], beams of a row adjacent
            if x is None:
                return None
            x = tf.repeat(x[:, None], beam, axis=1)
            return tf.reshape(x, tf.concat([[batch * beam], tf.shape(x)[2:]], axis=0))

        memory = {key: tile(value) if key != "states" else [tile(s) for s in value]
                  for key, value in memory.items()}
        states = memory.pop("states")

        def penalty(lengths):
            return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)

        # Only the first beam of each row is live at the start (the others would
        # duplicate it).
        log_probs = tf.tile(tf.concat([[0.0], tf.fill([beam - 1], tf.float32.min / 4)], 0)[None],
                            [batch, 1])
        finished = tf.zeros([batch, beam], tf.bool)
        lengths = tf.zeros([batch, beam], tf.int32)
        sequences = tf.zeros([batch, beam, 0], tf.int32)
        tokens = tf.fill([batch * beam], self.bos_id)
        pad_only = tf.one_hot(PAD_ID, vocab, on_value=0.0, off_value=float(NEG_INF) * 10)

        def condition(t, *loop):
            finished = loop[1]
            return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))

        def body(t, log_probs, finished, lengths, sequences, tokens, states):
            logits, new_states, _ = self.decode_step(memory, tokens, states)
            step = self._forbid_specials(tf.nn.log_softmax(tf.cast(logits, tf.float32)))
            step = tf.reshape(step, [batch, beam, vocab])
            # A finished hypothesis continues only with <pad>, adding nothing.
            step = tf.where(finished[..., None], pad_only[None, None], step)
            total = log_probs[..., None] + step                          # [batch, beam, V]
            new_lengths = lengths[..., None] + tf.cast(
                tf.logical_not(finished)[..., None], tf.int32)          # [batch, beam, 1]
            scores = total / penalty(new_lengths)
            flat = tf.reshape(scores, [batch, beam * vocab])
            _, index = tf.math.top_k(flat, k=beam)                      # [batch, beam]
            origin = index // vocab
            token = index % vocab
            log_probs = tf.gather(tf.reshape(total, [batch, beam * vocab]), index, batch_dims=1)
            was_finished = tf.gather(finished, origin, batch_dims=1)
            lengths = tf.gather(lengths, origin, batch_dims=1) + tf.cast(
                tf.logical_not(was_finished), tf.int32)
            finished = tf.logical_or(was_finished, tf.equal(token, self.eos_id))
            sequences = tf.concat([tf.gather(sequences, origin, batch_dims=1), token[..., None]],
                                  axis=2)
            flat_origin = tf.reshape(origin + tf.range(batch)[:, None] * beam, [-1])
            states = [tf.gather(s, flat_origin) for s in new_states]
            return (t + 1, log_probs, finished, lengths, sequences, tf.reshape(token, [-1]),
                    states)

        _, log_probs, finished, lengths, sequences, _, _ = tf.while_loop(
            condition, body, (0, log_probs, finished, lengths, sequences, tokens, states),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, None]),
                              tf.TensorShape([None, None]), tf.TensorShape([None, None]),
                              tf.TensorShape([None, None, None]), tf.TensorShape([None]),
                              [tf.TensorShape([None, s]) for s in self.decoder.state_sizes]))
        scores = log_probs / penalty(tf.maximum(lengths, 1))
        best = tf.argmax(scores, axis=1, output_type=tf.int32)
        return {"tokens": tf.gather(sequences, best, batch_dims=1),
                "reached_eos": tf.gather(finished, best, batch_dims=1),
                "scores": tf.gather(scores, best, batch_dims=1)}


def target_token_counts(target_ids, vocab_size, eos_id):
    """Counts of each target id over ``target_ids`` (id lists), one ``<eos>`` per sentence."""
    counts = np.zeros(vocab_size, np.float64)
    for ids in target_ids:
        np.add.at(counts, np.asarray(ids, np.int64), 1)
    counts[eos_id] += len(target_ids)
    return counts


def token_losses(logits, targets):
    """Cross-entropy of each target token [batch, T] (to be masked by the caller)."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=targets, logits=tf.cast(logits, tf.float32))


def masked_loss(logits, targets):
    """(sum of the token losses over non-pad targets, number of those targets)."""
    mask = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    return tf.reduce_sum(token_losses(logits, targets) * mask), tf.reduce_sum(mask)


def strip_special(ids, eos_id):
    """Token ids up to (without) the first ``eos_id`` or ``<pad>``: a Python list."""
    out = []
    for token in np.asarray(ids).tolist():
        if token in (eos_id, PAD_ID):
            break
        out.append(int(token))
    return out


class Translator:
    """Text in, text out, in Python: a model with its vocabularies and decoding settings.

    ``translate(texts)`` normalizes and tokenizes each text as the training data
    was (``seqkit.data.translation``), decodes the batch with the model's
    compiled ``greedy_decode`` (``beam_size`` 1) or ``beam_search``, drops
    ``<eos>`` and padding and joins the tokens. An empty text translates to
    ``""`` without decoding. ``seqkit.export.translator`` exports the same steps
    into a SavedModel.

    Args:
        model: a built ``Seq2Seq``.
        source_vocab, target_vocab: ``seqkit.data.text.Vocabulary`` of the run.
        tokenize: "word", "char" or "space"; lowercase: as the run's data.
        max_decode_length: the most tokens emitted per sentence (``<eos>`` included).
        beam_size: the default decoding (1 = greedy); alpha: beam length normalization.
    """

    def __init__(self, model, source_vocab, target_vocab, tokenize="word", lowercase=False,
                 max_decode_length=50, beam_size=1, alpha=0.6, source_language="src",
                 target_language="tgt"):
        from seqkit.data import translation as translation_data

        self.model = model
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.tokenize, self.lowercase = tokenize, bool(lowercase)
        self.max_decode_length = base.check_positive_int("max_decode_length",
                                                         max_decode_length)
        self.beam_size = base.check_positive_int("beam_size", beam_size)
        self.alpha = float(alpha)
        self.source_language, self.target_language = source_language, target_language
        self._split = translation_data.tokenizer(tokenize, lowercase)
        self._normalize = translation_data.tokenize.normalize
        self._detokenize = translation_data.detokenize
        ids = tf.TensorSpec([None, None], tf.int32)
        self._greedy = tf.function(
            lambda source: model.greedy_decode(source, self.max_decode_length),
            input_signature=[ids])
        self._beam = tf.function(
            lambda source, beam: model.beam_search(source, self.max_decode_length, beam,
                                                   self.alpha),
            input_signature=[ids, tf.TensorSpec([], tf.int32)])

    def encode(self, texts):
        """(padded int32 source ids [n, S], empty flags [n]) of raw texts."""
        from seqkit.data import tokenize as tokenize_lib

        tokens = [self._split(self._normalize(text)) for text in texts]
        empty = np.array([not t for t in tokens], bool)
        ids = [self.source_vocab.encode(t or [self.source_vocab.tokens[self.source_vocab.unk_id]])[0]
               for t in tokens]
        return tokenize_lib.pad_batch(ids), empty

    def decode_ids(self, source_ids, beam_size=None):
        """Decode padded source ids: a dict of numpy arrays (``tokens``, ``reached_eos``, ...)."""
        beam_size = self.beam_size if beam_size is None else beam_size
        source = tf.constant(source_ids, tf.int32)
        if beam_size == 1:
            out = self._greedy(source)
        else:
            out = self._beam(source, tf.constant(beam_size, tf.int32))
        return {key: value.numpy() for key, value in out.items()}

    def to_text(self, token_ids):
        tokens = [self.target_vocab.token_of(i) for i in strip_special(token_ids,
                                                                       self.model.eos_id)]
        return self._detokenize(tokens, self.tokenize)

    def translate(self, texts, beam_size=None, return_details=False):
        """Translations of ``texts`` (one batch); with details also reached_eos/attention."""
        texts = list(texts)
        if not texts:
            return ([], {}) if return_details else []
        source, empty = self.encode(texts)
        out = self.decode_ids(source, beam_size)
        translations = ["" if e else self.to_text(row) for row, e in zip(out["tokens"], empty)]
        if return_details:
            out["reached_eos"] = np.where(empty, True, out["reached_eos"])
            out["source_ids"] = source
            return translations, out
        return translations

    def metadata(self):
        model = self.model
        return {"source_language": self.source_language,
                "target_language": self.target_language, "tokenize": self.tokenize,
                "lowercase": self.lowercase, "max_decode_length": self.max_decode_length,
                "default_beam_size": self.beam_size, "length_alpha": self.alpha,
                "source_vocab_size": len(self.source_vocab),
                "target_vocab_size": len(self.target_vocab), "cell": model.cell_kind,
                "units": model.units, "num_layers": model.num_layers,
                "bidirectional": model.bidirectional, "attention": model.attention,
                "reverse_source": model.reverse_source}


__all__ = ["Seq2Seq", "Translator", "target_token_counts", "ATTENTIONS", "masked_loss", "token_losses", "masked_softmax",
           "reverse_valid", "strip_special"]

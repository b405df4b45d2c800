"""Recurrent utterance classifier with an optional slot tagger, and its baselines.

The network (``build_classifier``), for token ids ``x_1 .. x_T`` (0 = padding):

    e_t = Dropout(Embedding(x_t))                      mask_zero: padding is masked
    h_t = Encoder(e_1 .. e_T)                          a seqkit builder: stack or
                                                       deep_bidirectional (concat)
    intent logits = W_i Dropout(pool(h)) + b_i
    slot logits_t = W_s Dropout(h_t) + b_s             (task "slots" or "joint")

With ``char_features`` the model takes a second input, the character ids of every
word ``c_t1 .. c_tL`` (0 = padding; ``encode_chars``), and each word vector becomes

    e_t = Dropout([Embedding(x_t) ; CharCNN(c_t)])     CharCNN (``CharCNN``):
          max_j relu(Conv1D_k(E_c c_t)_j) over the word's valid characters j

so an unseen word (``<unk>``) still has its spelling. Padding characters are zero
vectors and the max only reads valid characters, so padding (words or characters)
changes nothing.

with ``pool`` (``SequencePooling``), over the valid steps ``1 .. n`` only:

    last       h_n (unidirectional); [f_n ; b_1] bidirectional: the forward
               direction's last valid step and the backward direction's last step,
               which is time 1 (it reads x_n .. x_1)
    mean       (1/n) sum_t h_t
    max        max_t h_t (elementwise)
    attention  a_t = softmax_t(v^T tanh(W h_t + c)), sum_t a_t h_t  (Bahdanau-style
               additive scores, as in Liu & Lane 2016's attention BiRNN)

The loss (``classifier_loss``) is the mean intent cross-entropy, and for slots the
cross-entropy averaged over the valid words; ``joint`` sums the two.

Baselines on the same split: ``majority_baseline`` (the most frequent training intent)
and ``BagOfWordsClassifier`` (Keras ``TextVectorization`` multi-hot + one Dense softmax,
i.e. multinomial logistic regression on word presence).

Example:
    >>> model = build_classifier(vocab_size=50, num_intents=3, num_tags=5, task="joint",
    ...                          units=8, pooling="attention")
    >>> out = model(np.array([[4, 5, 6, 0]], "int32"))
    >>> tuple(out["intent"].shape), tuple(out["slots"].shape)
    ((1, 3), (1, 4, 5))
"""
from __future__ import annotations

import collections
from typing import Sequence

import keras
import numpy as np
from keras import ops

from seqkit import builders

POOLINGS = ("last", "mean", "max", "attention")
TASKS = ("intent", "slots", "joint")


def check_choice(argument: str, value, choices):
    if value not in choices:
        raise ValueError(f"Received an invalid value for argument `{argument}`, expected one "
                         f"of {list(choices)}, got {value!r}.")
    return value


@keras.saving.register_keras_serializable(package="seqkit")
class SequencePooling(keras.layers.Layer):
    """Pools a masked sequence ``[batch, time, features]`` into ``[batch, features]``.

    Args:
      mode: "last", "mean", "max" or "attention" (see the module docstring).
      backward_units: for a bidirectional encoder whose output is ``[f_t ; b_t]``, the
        width of ``b_t`` (the last features): "last" then takes ``f`` at the last valid
        step and ``b`` at step 0. None for a unidirectional encoder.
      attention_units: width of the attention's hidden layer (default: features).

    A row with no valid step (an empty utterance) pools to zeros, except "attention",
    which then averages nothing and also gives zeros.
    """

    def __init__(self, mode="last", backward_units=None, attention_units=None, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("pooling", mode, POOLINGS)
        self.backward_units = backward_units
        self.attention_units = attention_units
        self.supports_masking = True

    def build(self, input_shape):
        features = int(input_shape[-1])
        if self.mode == "attention":
            hidden = self.attention_units or features
            self.score_kernel = self.add_weight(name="score_kernel", shape=(features, hidden),
                                                initializer="glorot_uniform")
            self.score_bias = self.add_weight(name="score_bias", shape=(hidden,),
                                              initializer="zeros")
            self.score_vector = self.add_weight(name="score_vector", shape=(hidden, 1),
                                                initializer="glorot_uniform")
        self.built = True

    def call(self, sequence, mask=None):
        steps = ops.shape(sequence)[1]
        if mask is None:
            mask = ops.ones(ops.shape(sequence)[:2], dtype="bool")
        valid = ops.cast(mask, sequence.dtype)[:, :, None]          # [b, t, 1]
        lengths = ops.sum(valid, axis=1)                              # [b, 1]
        if self.mode == "last":
            positions = ops.arange(steps, dtype="int32")[None, :]
            last = ops.max(ops.where(ops.cast(mask, "bool"), positions, 0), axis=1)
            final = ops.take_along_axis(sequence, last[:, None, None], axis=1)[:, 0]
            if self.backward_units:
                forward_width = ops.shape(sequence)[-1] - self.backward_units
                final = ops.concatenate(
                    [final[:, :forward_width], sequence[:, 0, forward_width:]], axis=-1)
            return final * ops.cast(lengths > 0, sequence.dtype)
        if self.mode == "mean":
            return ops.sum(sequence * valid, axis=1) / ops.maximum(lengths, 1.0)
        if self.mode == "max":
            lowest = ops.min(sequence) - 1.0
            pooled = ops.max(ops.where(valid > 0, sequence, lowest), axis=1)
            return pooled * ops.cast(lengths > 0, sequence.dtype)
        scores = ops.matmul(ops.tanh(ops.matmul(sequence, self.score_kernel) + self.score_bias),
                            self.score_vector)[:, :, 0]               # [b, t]
        scores = ops.where(ops.cast(mask, "bool"), scores, -1e9)
        # The softmax written out: keras.ops.softmax warns on one-word utterances.
        scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        weights = scores / ops.sum(scores, axis=-1, keepdims=True) * valid[:, :, 0]
        return ops.sum(weights[:, :, None] * sequence, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, backward_units=self.backward_units,
                      attention_units=self.attention_units)
        return config


@keras.saving.register_keras_serializable(package="seqkit")
class CharCNN(keras.layers.Layer):
    """Word vectors from characters: ``[batch, time, chars]`` ids -> ``[batch, time, filters]``.

        v_t = max_{j valid} relu(Conv1D(E c_t)_j)     (padding characters: id 0)

    The character embedding of padding is forced to zero and the convolution uses
    "same" padding, so a valid position's value does not depend on how many padding
    characters follow; the max reads valid positions only; a word without characters
    (a padding word) gives zeros.

    Args:
      num_chars: character ids ``0 .. num_chars - 1`` (0 padding).
      embedding_dim: character vector width; filters: output width; kernel_size:
        the convolution's window in characters.
    """

    def __init__(self, num_chars, embedding_dim=32, filters=64, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.num_chars, self.embedding_dim = num_chars, embedding_dim
        self.filters, self.kernel_size = filters, kernel_size
        self.embedding = keras.layers.Embedding(num_chars, embedding_dim, name="char_embedding")
        self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                        activation="relu", name="char_conv")

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.conv.build((None, None, self.embedding_dim))
        self.built = True

    def call(self, chars):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))                        # [b*t, L]
        valid = ops.cast(flat > 0, self.compute_dtype)[:, :, None]
        features = self.conv(self.embedding(flat) * valid)                # [b*t, L, F]
        # relu >= 0, so masking with 0 before the max reads only valid characters.
        pooled = ops.max(features * valid, axis=1)
        return ops.reshape(pooled, (shape[0], shape[1], self.filters))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(num_chars=self.num_chars, embedding_dim=self.embedding_dim,
                      filters=self.filters, kernel_size=self.kernel_size)
        return config


@keras.saving.register_keras_serializable(package="seqkit")
class AppendFeatures(keras.layers.Layer):
    """``[words, features]`` -> their concatenation on the last axis, keeping the word
    mask (``keras.layers.Concatenate`` would OR it with the unmasked features' all-ones
    mask, unmasking padding)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return ops.concatenate(inputs, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[0][-1] + input_shape[1][-1],)


MAX_WORD_CHARS = 24


def char_vocabulary(token_lists: Sequence[Sequence[str]]):
    """``Vocabulary`` of the characters of the training words: ``<pad>`` = 0,
    ``<unk>`` = 1, then the characters by decreasing frequency (ties: code point)."""
    from seqkit.data.text import UNK, Vocabulary
    from seqkit.data.tokenize import PAD

    counts = collections.Counter(c for tokens in token_lists for t in tokens for c in t)
    return Vocabulary([PAD, UNK] + sorted(counts, key=lambda c: (-counts[c], c)))


def encode_chars(chars, token_lists, max_chars: int = MAX_WORD_CHARS) -> list:
    """Per utterance an int32 ``[words, max_chars]`` array of character ids (the
    first ``max_chars`` code points of each word, 0-padded; unknown characters 1)."""
    index = {c: i for i, c in enumerate(chars.tokens)}
    out = []
    for tokens in token_lists:
        array = np.zeros((len(tokens), max_chars), np.int32)
        for i, token in enumerate(tokens):
            ids = [index.get(c, 1) for c in token[:max_chars]]
            array[i, :len(ids)] = ids
        out.append(array)
    return out


def pad_chars(char_arrays, length: int) -> np.ndarray:
    """``[batch, length, width + 1]`` from ``encode_chars`` arrays: words padded to
    ``length``, characters cut to the batch's longest word plus one padding column
    (as the export does, so that a batch without characters still has one)."""
    width = max([int((a > 0).sum(1).max()) for a in char_arrays if len(a)] + [0]) + 1
    out = np.zeros((len(char_arrays), length, width), np.int32)
    for row, array in enumerate(char_arrays):
        words = array[:length, :width]
        out[row, :len(words), :words.shape[1]] = words
    return out


def build_classifier(vocab_size: int, num_intents: int, num_tags: int | None = None,
                     task: str = "intent", cell: str = "lstm", units: int = 64,
                     num_layers: int = 1, bidirectional: bool = False,
                     embedding_dim: int = 64, dropout: float = 0.0,
                     recurrent_dropout: float = 0.0, pooling: str = "last",
                     seed: int | None = None, num_chars: int | None = None,
                     char_embedding_dim: int = 32, char_filters: int = 64) -> keras.Model:
    """The functional Keras model of the module docstring.

    Args:
      vocab_size: ids ``0 .. vocab_size - 1``; 0 is padding.
      num_intents: intent classes (the "intent" output, logits).
      num_tags: slot tags (the "slots" output, logits per step); needed for "slots"
        and "joint".
      task: "intent", "slots" or "joint"; the model always has the "intent" output
        (for "slots" it is untrained), and "slots" for the other two.
      cell, units, num_layers, bidirectional, recurrent_dropout: the encoder
        (``seqkit.builders``; bidirectional layers are concatenated).
      embedding_dim: word vector width.
      dropout: on the embeddings, between layers and on the encoder outputs.
      pooling: "last", "mean", "max" or "attention".
      seed: seeds the initializers' and dropouts' random streams.
      num_chars: None: words only. Otherwise the size of the character vocabulary,
        and the model reads ``[word ids, char ids [batch, time, chars]]`` (``CharCNN``
        with ``char_embedding_dim``, ``char_filters``, concatenated to each word vector).
    Returns:
      A ``keras.Model`` mapping int32 ``[batch, time]`` ids (with ``num_chars``: the
      list ``[ids, chars]``) to
      ``{"intent": [batch, num_intents], "slots": [batch, time, num_tags]}`` logits.
    """
    check_choice("task", task, TASKS)
    check_choice("pooling", pooling, POOLINGS)
    if task != "intent" and not num_tags:
        raise ValueError(f"Received task={task!r} but no `num_tags`: slot filling needs "
                         "seq.out tags in the data.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    embedded = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                      name="embedding")(tokens)
    inputs = tokens
    if num_chars:
        chars = keras.Input((None, None), dtype="int32", name="chars")
        spelled = CharCNN(num_chars, char_embedding_dim, char_filters, name="char_cnn")(chars)
        embedded = AppendFeatures(name="word_and_chars")([embedded, spelled])
        inputs = [tokens, chars]
    if dropout:
        embedded = keras.layers.Dropout(dropout, name="embedding_dropout")(embedded)
    if bidirectional:
        encoder = builders.deep_bidirectional(
            cell, units, num_layers=num_layers, dropout=dropout,
            recurrent_dropout=recurrent_dropout, return_sequences=True, seed=seed,
            name="encoder")
    else:
        encoder = builders.stack(cell, units, num_layers=num_layers, dropout=dropout,
                                 recurrent_dropout=recurrent_dropout, return_sequences=True,
                                 seed=seed, name="encoder")
    sequence = encoder(embedded)
    if dropout:
        sequence = keras.layers.Dropout(dropout, name="encoder_dropout")(sequence)
    pooled = SequencePooling(pooling, backward_units=units if bidirectional else None,
                             name="pooling")(sequence)
    # The output layers compute in float32 under any --precision (Keras's mixed-precision
    # rule for the last layer): the softmax, the losses and the Viterbi decoding then
    # see float32 logits.
    outputs = {"intent": keras.layers.Dense(num_intents, name="intent",
                                            dtype="float32")(pooled)}
    if task != "intent":
        outputs["slots"] = keras.layers.Dense(num_tags, name="slots",
                                              dtype="float32")(sequence)
    return keras.Model(inputs, outputs, name="classifier")


def classifier_loss(outputs, intents, tags=None, task: str = "intent", num_examples=None,
                    num_words=None):
    """Intent cross-entropy (+ slot cross-entropy over valid words for slots/joint).

        intent loss = sum_i CE(intent_i) / num_examples
        slot loss   = sum_{i, t valid} CE(tag_it) / num_words

    Args:
      outputs: the model's dict of logits.
      intents: int32 ``[batch]`` intent ids.
      tags: int32 ``[batch, time]`` tag ids with 0 at padding (padding is not scored,
        so tag id 0 must be the padding entry of the tag vocabulary).
      task: "intent", "slots" or "joint" (the sum of both losses).
      num_examples, num_words: the denominators; default this batch's utterances and
        valid words. A replica of a distributed step passes the global batch's, so
        that the replicas' losses sum to the single-device loss.
    Returns:
      (total loss, intent loss, slot loss) as scalars (slot loss 0 when unused).
    """
    per_example = keras.losses.sparse_categorical_crossentropy(
        intents, outputs["intent"], from_logits=True)
    if num_examples is None:
        num_examples = ops.cast(ops.shape(per_example)[0], per_example.dtype)
    intent_loss = ops.sum(per_example) / ops.cast(num_examples, per_example.dtype)
    slot_loss = ops.zeros((), intent_loss.dtype)
    if task != "intent":
        per_word = keras.losses.sparse_categorical_crossentropy(tags, outputs["slots"],
                                                                from_logits=True)
        weights = ops.cast(tags > 0, per_word.dtype)
        if num_words is None:
            num_words = ops.maximum(ops.sum(weights), 1.0)
        slot_loss = ops.sum(per_word * weights) / ops.cast(num_words, per_word.dtype)
    if task == "intent":
        return intent_loss, intent_loss, slot_loss
    if task == "slots":
        return slot_loss, intent_loss, slot_loss
    return intent_loss + slot_loss, intent_loss, slot_loss


# --------------------------------------------------------------------------- baselines


def majority_baseline(train_labels: Sequence[str]) -> str:
    """The most frequent training label (ties: the first in sorted order)."""
    counts = collections.Counter(train_labels)
    return min(counts, key=lambda label: (-counts[label], label))


class BagOfWordsClassifier:
    """Multinomial logistic regression on word presence (Keras ``TextVectorization``).

    ``TextVectorization(output_mode="multi_hot")`` over the given vocabulary (its own
    ``[UNK]`` column for other words) feeds one ``Dense(softmax)`` layer, trained with
    Adam on cross-entropy; the epoch with the lowest validation loss is kept.

    Example:
        >>> bow = BagOfWordsClassifier(["a", "b"], ["x", "y"], seed=0)
        >>> _ = bow.fit([["a"], ["b"]] * 20, ["x", "y"] * 20, epochs=30)
        >>> bow.predict([["b"], ["a"]])
        ['y', 'x']
    """

    def __init__(self, vocabulary: Sequence[str], labels: Sequence[str], seed: int = 0,
                 learning_rate: float = 0.01):
        keras.utils.set_random_seed(seed)
        self.seed = seed
        self.labels = list(labels)
        self._label_ids = {label: i for i, label in enumerate(self.labels)}
        # standardize=None, split on whitespace: the tokens are joined by spaces. The
        # layer runs inside the model, batch by batch: a [n, vocabulary] multi-hot
        # matrix of a whole split would not fit in memory for large vocabularies.
        vectorize = keras.layers.TextVectorization(
            standardize=None, split="whitespace", output_mode="multi_hot",
            vocabulary=list(vocabulary))
        text = keras.Input((1,), dtype="string")
        outputs = keras.layers.Dense(len(self.labels), activation="softmax")(vectorize(text))
        self.model = keras.Model(text, outputs)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    @staticmethod
    def _texts(token_lists):
        return np.array([[" ".join(tokens)] for tokens in token_lists], dtype=object)

    def _ids(self, labels):
        return np.array([self._label_ids.get(label, -1) for label in labels], np.int32)

    def _dataset(self, token_lists, labels, batch_size, shuffle):
        import tensorflow as tf

        texts, ids = self._texts(token_lists), self._ids(labels)
        keep = ids >= 0  # a label unseen in training cannot be learned from
        dataset = tf.data.Dataset.from_tensor_slices((texts[keep].astype(str), ids[keep]))
        if shuffle:
            dataset = dataset.shuffle(int(keep.sum()), seed=self.seed)
        return dataset.batch(batch_size)

    def fit(self, tokens, labels, valid_tokens=None, valid_labels=None, epochs: int = 20,
            batch_size: int = 64):
        callbacks, validation = [], None
        if valid_tokens is not None:
            validation = self._dataset(valid_tokens, valid_labels, 256, shuffle=False)
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", mode="min", patience=3, restore_best_weights=True))
        # shuffle=False: the dataset shuffles itself, once per epoch.
        self.model.fit(self._dataset(tokens, labels, batch_size, shuffle=True),
                       validation_data=validation, epochs=epochs, verbose=0,
                       callbacks=callbacks, shuffle=False)
        return self

    def predict(self, tokens) -> list[str]:
        import tensorflow as tf

        texts = tf.data.Dataset.from_tensor_slices(self._texts(tokens).astype(str)).batch(256)
        probabilities = self.model.predict(texts, verbose=0)
        return [self.labels[i] for i in np.argmax(probabilities, axis=-1)]


# --------------------------------------------------------------------------- prediction


PAD_TAG = "<pad>"


def tag_vocabulary(tag_lists: Sequence[Sequence[str]]) -> list[str]:
    """``["<pad>", "O", ...sorted other tags]``: id 0 is padding (never predicted)."""
    tags = sorted({tag for tags in tag_lists for tag in tags} - {"O"})
    return [PAD_TAG, "O"] + tags


def predict_ids(model, ids: np.ndarray, batch_size: int = 256, transitions=None,
                chars=None):
    """Runs ``model`` on padded ids in batches.

    Args:
      ids: int32 ``[n, T]``, 0 = padding.
      chars: for a character model, the ``encode_chars`` arrays of the ``n`` rows.
      transitions: None: each word's most probable tag (tag id 0, padding, never);
        ``bio_transitions(tags)``: the best BIO-valid sequence (``bio_decode``).
    Returns:
      (intent probabilities ``[n, K]``, slot tag ids ``[n, T]`` or None).
    """
    import tensorflow as tf

    probabilities, tags = [], []
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        # One extra padding column, as the export adds: an all-empty batch still has
        # a time step, and masked steps change nothing.
        batch = np.concatenate([batch, np.zeros((len(batch), 1), np.int32)], axis=1)
        inputs = tf.constant(batch)
        if chars is not None:
            inputs = [inputs, tf.constant(pad_chars(chars[start:start + batch_size],
                                                    batch.shape[1]))]
        outputs = model(inputs, training=False)
        probabilities.append(np.asarray(tf.nn.softmax(outputs["intent"], axis=-1)))
        if "slots" in outputs:
            tags.append(np.asarray(decode_tags(outputs["slots"], (batch > 0).sum(1),
                                               transitions))[:, :-1])
    if not probabilities:
        return np.zeros((0, model.output["intent"].shape[-1]), np.float32), None
    width = ids.shape[1]
    tags = None if not tags else np.concatenate(
        [np.pad(t, ((0, 0), (0, width - t.shape[1]))) for t in tags])
    return np.concatenate(probabilities), tags


def decode_tags(slot_logits, lengths, transitions=None):
    """Tag ids ``[batch, time]`` from slot logits: greedy (``transitions`` None; never
    tag 0) or BIO-constrained Viterbi. TensorFlow ops, shared with the export."""
    import tensorflow as tf

    slot_logits = tf.cast(slot_logits, tf.float32)
    if transitions is not None:
        return bio_decode(slot_logits, lengths, *transitions)
    blocked = tf.one_hot(0, tf.shape(slot_logits)[-1], on_value=-1e30, off_value=0.0)
    return tf.argmax(slot_logits + blocked, axis=-1, output_type=tf.int32)


# --------------------------------------------------------------------------- BIO decoding


def bio_transitions(tags: Sequence[str]):
    """(allowed ``[K, K]``, start ``[K]``) boolean arrays of the BIO grammar over ``tags``:
    ``I-x`` may only follow ``B-x`` or ``I-x`` (and not start a sentence); tag 0 (padding)
    is never allowed."""
    count = len(tags)
    allowed = np.ones((count, count), bool)
    start = np.ones(count, bool)
    for j, tag in enumerate(tags):
        if j == 0:
            allowed[:, j] = start[j] = False
        elif tag.startswith("I-"):
            kind = tag[2:]
            start[j] = False
            allowed[:, j] = [t in (f"B-{kind}", f"I-{kind}") for t in tags]
    return allowed, start


def bio_decode(logits, lengths, allowed, start):
    """The most probable tag sequence that obeys the BIO grammar (Viterbi).

    Maximizes ``sum_t log softmax(logits_t)[tag_t]`` over sequences whose transitions
    are ``allowed`` and whose first tag is in ``start``; steps at or beyond a row's
    length do not count. TensorFlow ops, so the SavedModel runs the same code.

    Args:
      logits: float ``[batch, time, K]``; lengths: int ``[batch]``.
      allowed, start: from ``bio_transitions``.
    Returns:
      int32 ``[batch, time]`` tag ids (the last valid tag is repeated after the end).
    """
    import tensorflow as tf

    logits = tf.convert_to_tensor(logits, tf.float32)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    count = tf.shape(log_probs)[-1]
    blocked = tf.constant(-1e30, tf.float32)
    transition = tf.where(tf.constant(allowed), 0.0, blocked)             # [from, to]
    first = log_probs[:, 0] + tf.where(tf.constant(start), 0.0, blocked)
    valid = tf.sequence_mask(lengths, tf.shape(log_probs)[1])             # [b, t]
    identity = tf.range(count, dtype=tf.int32)[None, :]

    def forward(carry, inputs):
        score, _ = carry
        step_log_probs, step_valid = inputs
        candidates = score[:, :, None] + transition[None]                 # [b, from, to]
        best_previous = tf.argmax(candidates, axis=1, output_type=tf.int32)
        new_score = tf.reduce_max(candidates, axis=1) + step_log_probs
        keep = step_valid[:, None]
        return (tf.where(keep, new_score, score),
                tf.where(keep, best_previous, tf.broadcast_to(identity, tf.shape(best_previous))))

    steps_first = (tf.transpose(log_probs[:, 1:], [1, 0, 2]), tf.transpose(valid[:, 1:]))
    initial = (first, tf.broadcast_to(identity, tf.shape(first)))
    scores, backpointers = tf.scan(forward, steps_first, initializer=initial)
    final = tf.concat([first[None], scores], axis=0)[-1]
    last_tag = tf.argmax(final, axis=-1, output_type=tf.int32)           # [b]

    def backward(tag, pointers):
        return tf.gather(pointers, tag, batch_dims=1)

    earlier = tf.scan(backward, backpointers, initializer=last_tag, reverse=True)  # [t-1, b]
    return tf.transpose(tf.concat([earlier, last_tag[None]], axis=0))

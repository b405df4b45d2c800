"""Export an utterance classifier as a SavedModel that reads raw text.

``export_classifier(model, path, words, intents, tags, tokenizer, lowercase)`` writes
(atomically, through ``seqkit.export.atomic_directory``) a SavedModel that needs only
TensorFlow: tokenization, the word vocabulary and the intent and tag tables are in
the graph. Its ``serving_default`` signature::

    utterances  string [batch]          raw text, one utterance a row
 -> intent      string [batch]          the most probable intent
    probability float32 [batch]         its probability
    probabilities float32 [batch, K]    every intent's, in the order of ``metadata``
    tokens      string [batch, T]       the words read ("" after a row's end)
    tags        string [batch, T]       one slot tag per word ("" after the end);
                                        a model without slots tags every word "O"
    num_tokens  int32 [batch]

Tokenization: ``tokenizer="nltk"`` runs ``seqkit.data.tokenize.tf_word_tokenize``
(the same rules as ``word_tokenize``, tested equal); ``"whitespace"`` splits on
whitespace (the SLU files' tokens). ``lowercase`` lowercases each token
(``tf.strings.lower``, UTF-8). Slot tags are decoded greedily or, with
``slot_decoding="bio"``, as the most probable BIO-valid sequence (Viterbi; the same
TensorFlow code as ``seqkit.classifier.predict_ids``). Unknown words become ``<unk>``.
An empty utterance gets the intent the model gives an empty sequence (and no tags).
Unicode NFC normalization is not applied in the graph: send NFC text (most text is).
A character model (``chars`` given) also gets each token's characters in the graph:
``tf.strings.unicode_split`` (code points, as Python's ``str``), the first
``MAX_WORD_CHARS``, looked up in the character table (unknown: ``<unk>``), padded
as ``seqkit.classifier.pad_chars`` pads them.

``metadata`` returns ``intents``, ``tags``, ``tokenizer`` and ``lowercase``.

Example:
    >>> served = tf.saved_model.load("/tmp/intents")                         # doctest: +SKIP
    >>> out = served.signatures["serving_default"](utterances=tf.constant(["what time is it"]))
    >>> out["intent"].numpy(), out["probability"].numpy()                    # doctest: +SKIP
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from seqkit import classifier
from seqkit.data import tokenize
from seqkit.data.text import UNK, Vocabulary
from seqkit.export import atomic_directory

TOKENIZERS = ("whitespace", "nltk")
SLOT_DECODINGS = ("greedy", "bio")


class ClassifierModule(tf.Module):
    """The exported object: the Keras model, the lookup tables, the tokenizer."""

    def __init__(self, model, words: Vocabulary, intents: Sequence[str],
                 tags: Sequence[str] | None, tokenizer: str, lowercase: bool,
                 slot_decoding: str = "greedy", chars: Vocabulary | None = None):
        super().__init__(name="classifier")
        self.model = model
        self._tokenizer, self._lowercase = tokenizer, bool(lowercase)
        self._has_slots = tags is not None
        self._transitions = (classifier.bio_transitions(tags)
                             if self._has_slots and slot_decoding == "bio" else None)
        self._word_ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(words.tokens)), tf.range(len(words), dtype=tf.int64)),
            default_value=words.id_of(UNK))
        self._has_chars = chars is not None
        if self._has_chars:
            self._char_ids = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(list(chars.tokens)), tf.range(len(chars), dtype=tf.int32)),
                default_value=chars.id_of(UNK))
        self.intent_names = tf.Variable(list(intents), dtype=tf.string, trainable=False,
                                        name="intents")
        self.tag_names = tf.Variable(list(tags) if tags else ["<pad>", "O"], dtype=tf.string,
                                     trainable=False, name="tags")
        self.tokenizer_name = tf.Variable(tokenizer, dtype=tf.string, trainable=False,
                                          name="tokenizer")
        self.lowercase = tf.Variable(self._lowercase, trainable=False, name="lowercase")
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec([None], tf.string, name="utterances")])
        self.metadata = tf.function(self._metadata, input_signature=[])

    def _tokens(self, utterances):
        if self._tokenizer == "nltk":
            return tokenize.tf_word_tokenize(utterances, lowercase=self._lowercase)
        text = tf.strings.regex_replace(utterances, tokenize._WHITESPACE, " ")
        tokens = tf.strings.split(text)
        if self._lowercase:
            tokens = tf.ragged.map_flat_values(tf.strings.lower, tokens, encoding="utf-8")
        return tokens

    def _serve(self, utterances):
        tokens = self._tokens(utterances)
        ids = tf.cast(tf.ragged.map_flat_values(self._word_ids.lookup, tokens), tf.int32)
        batch = tf.shape(utterances)[0]
        # One extra padding column: an all-empty batch still has a time step.
        dense = tf.concat([ids.to_tensor(0), tf.zeros([batch, 1], tf.int32)], axis=1)
        inputs = dense
        if self._has_chars:
            inputs = [dense, self._chars(tokens, tf.shape(dense)[1])]
        outputs = self.model(inputs, training=False)
        probabilities = tf.nn.softmax(outputs["intent"], axis=-1)
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        width = tf.shape(dense)[1] - 1
        valid = tf.sequence_mask(tokens.row_lengths(), width)
        if self._has_slots:
            # The same decoding code as seqkit.classifier.predict_ids (padding tag never).
            tag_ids = classifier.decode_tags(outputs["slots"], tokens.row_lengths(),
                                             self._transitions)[:, :-1]
        else:
            tag_ids = tf.ones([batch, width], tf.int32)  # "O"
        tags = tf.where(valid, tf.gather(self.tag_names, tag_ids), "")
        return {"intent": tf.gather(self.intent_names, best),
                "probability": tf.gather(probabilities, best, batch_dims=1),
                "probabilities": probabilities,
                "tokens": tokens.to_tensor(""),
                "tags": tags,
                "num_tokens": tf.cast(tokens.row_lengths(), tf.int32)}

    def _chars(self, tokens, length):
        """int32 ``[batch, length, width + 1]`` character ids, as ``pad_chars`` makes them."""
        letters = tf.strings.unicode_split(tokens.flat_values, "UTF-8")
        letters = letters[:, :classifier.MAX_WORD_CHARS]
        ids = tf.ragged.map_flat_values(self._char_ids.lookup, letters)    # [words, (chars)]
        per_word = ids.to_tensor(0)                                        # [words, width]
        # One padding column, as pad_chars adds (a batch without words still has one).
        per_word = tf.concat([per_word, tf.zeros([tf.shape(per_word)[0], 1], tf.int32)], 1)
        dense = tokens.with_flat_values(per_word).to_tensor(0)            # [b, T, width]
        return tf.pad(dense, [[0, 0], [0, length - tf.shape(dense)[1]], [0, 0]])

    def _metadata(self):
        return {"intents": self.intent_names.read_value(), "tags": self.tag_names.read_value(),
                "tokenizer": self.tokenizer_name.read_value(),
                "lowercase": self.lowercase.read_value()}


def export_classifier(model, path: str, words: Vocabulary, intents: Sequence[str],
                      tags: Sequence[str] | None = None, tokenizer: str = "nltk",
                      lowercase: bool = True, slot_decoding: str = "greedy",
                      chars: Vocabulary | None = None) -> str:
    """Writes the SavedModel of the module docstring at ``path`` (atomically).

    Args:
      model: a ``seqkit.classifier.build_classifier`` model (ids -> {"intent",
        ["slots"]} logits).
      words: its word vocabulary (``<pad>`` = 0, with ``<unk>``).
      intents: intent names in the order of the model's intent output.
      tags: tag names in the order of the slot output (``tags[0]`` padding), or None.
      tokenizer: "nltk" or "whitespace"; lowercase: lowercase tokens.
      slot_decoding: "greedy" (each word's most probable tag) or "bio" (the most
        probable BIO-valid sequence, ``seqkit.classifier.bio_decode``).
      chars: the character vocabulary of a model built with ``num_chars`` (it reads
        ``[ids, chars]``); None for a words-only model.
    Returns:
      ``path``.
    """
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"Received an invalid value for argument `tokenizer`, expected one "
                         f"of {TOKENIZERS}, got {tokenizer!r}.")
    if slot_decoding not in SLOT_DECODINGS:
        raise ValueError(f"Received an invalid value for argument `slot_decoding`, expected "
                         f"one of {SLOT_DECODINGS}, got {slot_decoding!r}.")
    if UNK not in words:
        raise ValueError(f"Received a vocabulary without {UNK!r} for `words`; the export maps "
                         "unknown words to it.")
    has_slots = "slots" in model.output if isinstance(model.output, dict) else False
    if has_slots != (tags is not None):
        raise ValueError(f"Received tags={'None' if tags is None else 'a list'} for a model "
                         f"{'with' if has_slots else 'without'} a slot output; expected "
                         "tags exactly when the model tags slots.")
    reads_chars = len(model.inputs) == 2
    if reads_chars != (chars is not None):
        raise ValueError(f"Received chars={'None' if chars is None else 'a vocabulary'} for a "
                         f"model {'with' if reads_chars else 'without'} a character input; "
                         "expected `chars` exactly when the model was built with num_chars.")
    module = ClassifierModule(model, words, intents, tags if has_slots else None, tokenizer,
                              lowercase, slot_decoding, chars)
    signatures = {"serving_default": module.serve.get_concrete_function(),
                  "metadata": module.metadata.get_concrete_function()}
    with atomic_directory(path) as temp:
        tf.saved_model.save(module, temp, signatures=signatures)
    return path

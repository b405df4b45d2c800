"""Export a ``seqkit.seq2seq.Seq2Seq`` translator as a SavedModel that reads raw strings.

``export_translator(translator, path)`` writes a TensorFlow SavedModel
(atomically, through ``seqkit.export.atomic_directory``) that needs neither
seqkit nor Keras: everything from the raw source text to the translated text
runs inside the graph.

Signatures::

    translate(source string [batch]) -> translation string [batch]
        the run's default decoding (greedy, or beam search with the run's beam
        size when it is > 1), max_decode_length and length normalization
    translate_beam(source string [batch], beam_size int32 []) -> translation string [batch]
        beam search with the given beam size (1 = greedy)
    metadata() -> source_language, target_language, tokenize, default_beam_size, ...

Inside the graph, as ``seqkit.seq2seq.Translator`` does in Python:

1. normalize: every whitespace character becomes a space, runs collapse, the
   ends are stripped (``seqkit.data.tokenize.normalize``). Core TensorFlow has
   no NFC op, so NFC is applied through a table: every character of the source
   vocabulary whose canonical decomposition differs from it gets a rewrite
   from that decomposition (so decomposed input still finds every vocabulary
   word; a decomposed character outside the vocabulary stays decomposed).
   Then ``tf.strings.lower(encoding="utf-8")`` if the run lowercased.
2. tokenize: ``word`` = ``seqkit.data.tokenize.tf_word_tokenize`` (the same RE2
   rules as the Python tokenizer), ``char`` = Unicode characters, ``space`` =
   split on spaces.
3. look the tokens up in ``assets/source_vocab.txt`` (unknown -> ``<unk>``), pad.
4. decode with the model's own ``greedy_decode`` / ``beam_search`` loop
   (``tf.while_loop``), over the whole batch at once.
5. drop ``<eos>`` and padding, map ids to ``assets/target_vocab.txt`` tokens
   and join them (by " ", or "" at the char level).

An empty (or all-whitespace) source gets the empty translation ``""`` without
being decoded (a sentence with no tokens has nothing to translate); an empty
batch gives an empty batch.

Example:
    >>> export_translator(translator, "/tmp/translator")                 # doctest: +SKIP
    >>> loaded = tf.saved_model.load("/tmp/translator")                  # doctest: +SKIP
    >>> loaded.signatures["translate"](source=tf.constant(["ein mann ."]))["translation"]
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata

import tensorflow as tf

from seqkit.data import tokenize
from seqkit.export import atomic_directory

SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"
METADATA_FILE = "metadata.json"
FORMAT = "seqkit.translator/1"
# tokenize._WHITESPACE: every character str.isspace() accepts (plus U+E000).
_WHITESPACE_RUN = tokenize._WHITESPACE + "+"


def nfc_table(tokens):
    """[(decomposed, composed)] for the characters of ``tokens`` that NFD changes.

    Longest decompositions first, so a character with two combining marks is
    rewritten before a shorter decomposition could match inside it.
    """
    characters = {ch for token in tokens for ch in token}
    table = {unicodedata.normalize("NFD", ch): ch for ch in characters
             if unicodedata.normalize("NFD", ch) != ch}
    return sorted(table.items(), key=lambda item: (-len(item[0]), item[0]))


def _re2_literal(text):
    """``text`` as an RE2 pattern of ``\\x{...}`` escapes (matches it literally)."""
    return "".join(f"\\x{{{ord(ch):x}}}" for ch in text)


class TranslatorModule(tf.Module):
    """The exported object: model variables, vocabulary tables and the two functions."""

    def __init__(self, translator, source_vocab_path, target_vocab_path, metadata_path):
        super().__init__(name="translator")
        model = translator.model
        self.model_variables = list(model.variables)
        self._model = [model]  # a list: not tracked, Keras's saving stays out
        self._tokenize = translator.tokenize
        self._lowercase = translator.lowercase
        self._max_length = int(translator.max_decode_length)
        self._beam_size = int(translator.beam_size)
        self._alpha = float(translator.alpha)
        self._eos_id = int(model.eos_id)
        self._nfc = nfc_table(translator.source_vocab.tokens)
        self.source_vocabulary = tf.saved_model.Asset(source_vocab_path)
        self.target_vocabulary = tf.saved_model.Asset(target_vocab_path)
        self.metadata_file = tf.saved_model.Asset(metadata_path)
        unk = translator.source_vocab.unk_id
        self._source_ids = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.source_vocabulary, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                vocab_size=len(translator.source_vocab)),
            default_value=unk)
        self._target_tokens = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.target_vocabulary, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                vocab_size=len(translator.target_vocab)),
            default_value="")
        self._unk_id = unk
        self._metadata = {k: v for k, v in translator.metadata().items()
                          if isinstance(v, (str, int, float, bool))}
        source = tf.TensorSpec([None], tf.string, name="source")
        self.translate = tf.function(self._translate, input_signature=[source],
                                     autograph=False)
        self.translate_beam = tf.function(
            self._translate_beam,
            input_signature=[source, tf.TensorSpec([], tf.int32, name="beam_size")],
            autograph=False)
        self.metadata = tf.function(self._metadata_fn, input_signature=[], autograph=False)

    # -- text <-> ids --------------------------------------------------------
    def _normalize(self, text):
        text = tf.strings.regex_replace(text, _WHITESPACE_RUN, " ")
        text = tf.strings.regex_replace(text, "^ +| +$", "")
        for decomposed, composed in self._nfc:
            text = tf.strings.regex_replace(text, _re2_literal(decomposed), composed)
        if self._lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        return text

    def _tokens(self, text):
        if self._tokenize == "word":
            return tokenize.tf_word_tokenize(text)
        if self._tokenize == "char":
            return tf.strings.unicode_split(text, "UTF-8")
        return tf.strings.split(text)

    def _encode(self, source):
        """(ids int32 [batch, S] with an <unk> standing in for empty rows, empty bool [batch])."""
        tokens = self._tokens(self._normalize(source))
        empty = tf.equal(tokens.row_lengths(), 0)
        ids = tf.ragged.map_flat_values(self._source_ids.lookup, tokens)
        ids = tf.cast(ids.to_tensor(default_value=0), tf.int32)
        # At least one column, and an empty row gets one <unk> so the encoder has
        # something to read; its translation is replaced by "" afterwards.
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]])
        first = tf.where(empty, tf.constant(self._unk_id, tf.int32), ids[:, 0])
        ids = tf.concat([first[:, None], ids[:, 1:]], axis=1)
        return ids, empty

    def _decode_text(self, token_ids, empty):
        keep = tf.logical_and(tf.not_equal(token_ids, 0), tf.not_equal(token_ids, self._eos_id))
        ids = tf.ragged.boolean_mask(token_ids, keep)
        words = tf.ragged.map_flat_values(self._target_tokens.lookup, tf.cast(ids, tf.int64))
        text = tf.strings.reduce_join(words, axis=1,
                                      separator="" if self._tokenize == "char" else " ")
        return tf.where(empty, tf.constant(""), text)

    # -- signatures ----------------------------------------------------------
    def _run(self, source, beam_size):
        model = self._model[0]
        ids, empty = self._encode(source)
        if beam_size is None:
            tokens = model.greedy_decode(ids, self._max_length)["tokens"]
        else:
            tokens = model.beam_search(ids, self._max_length, beam_size, self._alpha)["tokens"]
        return {"translation": self._decode_text(tokens, empty)}

    def _translate(self, source):
        return self._run(source, None if self._beam_size == 1 else self._beam_size)

    def _translate_beam(self, source, beam_size):
        check = tf.debugging.Assert(beam_size >= 1, [
            "`beam_size` must be an int32 scalar >= 1 in the signature "
            "translate_beam(source: string [batch], beam_size: int32 []); got", beam_size])
        with tf.control_dependencies([check]):
            beam_size = tf.identity(beam_size)
        return self._run(source, beam_size)

    def _metadata_fn(self):
        return {key: tf.constant(value) for key, value in self._metadata.items()}


def export_translator(translator, path, extra_metadata=None):
    """Write ``translator`` (a ``seqkit.seq2seq.Translator``) as a SavedModel at ``path``.

    The write is atomic: an existing export at ``path`` is replaced only once the
    new one is complete. Returns ``path``.
    """
    metadata = {"format": FORMAT, **translator.metadata(), **(extra_metadata or {}),
                "signatures": {
                    "translate": "source string [batch] -> translation string [batch] "
                                 "(the run's default decoding)",
                    "translate_beam": "source string [batch], beam_size int32 [] -> "
                                      "translation string [batch]",
                    "metadata": "-> the facts of assets/metadata.json that are scalars"}}
    staging = tempfile.mkdtemp(prefix="translator-export-")
    try:
        source_path = os.path.join(staging, SOURCE_VOCAB_FILE)
        target_path = os.path.join(staging, TARGET_VOCAB_FILE)
        translator.source_vocab.save(source_path)
        translator.target_vocab.save(target_path)
        metadata_path = os.path.join(staging, METADATA_FILE)
        with open(metadata_path, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2, default=str)
        module = TranslatorModule(translator, source_path, target_path, metadata_path)
        signatures = {
            "translate": module.translate.get_concrete_function(),
            "translate_beam": module.translate_beam.get_concrete_function(),
            "metadata": module.metadata.get_concrete_function(),
        }
        with atomic_directory(path) as temp:
            tf.saved_model.save(module, temp, signatures=signatures)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


__all__ = ["export_translator", "TranslatorModule", "nfc_table"]

"""Tokenization of raw text: NLTK-style words, characters, vocabularies, padding.

The word tokenizer is NLTK's ``word_tokenize`` (the Penn Treebank conventions as
improved in ``nltk.tokenize.destructive.NLTKWordTokenizer``) applied to one line
(``preserve_line=True``: NLTK's Punkt sentence splitter needs a downloaded model, so a
period inside a line stays attached, ``"York. Please"`` -> ``York.``, ``Please``).
Its regular expressions are written here once, in the RE2 dialect, so that the same
rule list runs in Python (through the ``regex`` module) and inside a TensorFlow graph
(``tf.strings.regex_replace``, for SavedModels that must tokenize raw strings):

    word_tokenize("They'll say \\"don't\\" (2.5%).")
    -> ['They', "'ll", 'say', '``', 'do', "n't", "''", '(', '2.5', '%', ')', '.']

RE2 has no lookaround, no possessive quantifiers, an ASCII-only ``\\w``/``\\b``/``\\s``;
NLTK's rules are rewritten without them, with the same matches:

* ``\\w`` is spelled ``[\\p{L}\\p{N}_]`` and ``\\d`` ``\\p{Nd}`` (Python's Unicode classes);
* every Unicode whitespace character becomes a space first (``_WHITESPACE``), so ``\\s``
  is a space;
* ``(?<!\\w)'(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)`` (split an opening quote from its word
  unless it starts a clitic) is three replacements with a marker character U+E000;
* ``\\bcan not\\b``-style contractions capture the boundary characters and run twice
  (a match consumes the boundary the next adjacent one needs; the second pass finds
  those, and no third is ever needed because missed matches are never adjacent).

Differences from ``nltk.word_tokenize(text, preserve_line=True)`` (tests measure the
agreement on a varied sentence set; it is 100% there):

* a tab or line break right before a ``"`` counts as a space (NLTK's opening-quote rule
  looks for a literal space only, so ``a\\t"b"`` gives NLTK ``''`` and seqkit ``````);
* the private-use character U+E000 is treated as a space (it is the marker);
* ``[\\p{L}\\p{N}_]`` vs Python's ``\\w`` differ on a handful of characters outside the
  letter and number categories that ``str.isalnum`` still accepts.

Unicode normalization (NFC) is not part of the tokenizer, since core TensorFlow has no
NFC op: call ``normalize`` on raw data first (the seqkit loaders do).

Vocabularies reuse ``seqkit.data.text.Vocabulary``; ``build_vocabulary`` puts the
specials first so that ``<pad>`` is id 0 (``Embedding(mask_zero=True)`` masks it) and
``<unk>`` id 1.

Example:
    >>> vocab = build_vocabulary([["a", "b", "a"], ["c"]], min_count=2)
    >>> vocab.tokens
    ('<pad>', '<unk>', 'a')
    >>> pad_batch(encode_batch(vocab, [["a", "c"], ["a"]]))
    array([[2, 1],
           [2, 0]], dtype=int32)
"""
from __future__ import annotations

import collections
import hashlib
import unicodedata
from typing import Iterable, Sequence

import numpy as np
import regex

from seqkit.data.text import UNK, Vocabulary

PAD = "<pad>"
SPECIALS = (PAD, UNK)

# Every character for which str.isspace() holds (Unicode White_Space plus the
# separators \x1c-\x1f); tests/data/test_tokenize.py recomputes the list.
_WHITESPACE = ("[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
               "\u205f\u3000\ue000]")  # literal characters: RE2 and `regex` both read them
_MARK = "\ue000"  # the marker character (a literal: it also appears in replacements)
_W = r"[\p{L}\p{N}_]"
_NOT_W = r"[^\p{L}\p{N}_]"
_ENDS_ASCII = "\\]\\)}>\"'"  # closing brackets and quotes after a final period
_ENDS = _ENDS_ASCII + "\u00bb\u201d\u2019"

# (pattern, replacement, passes): RE2 syntax, replacements use \1 and \0.
WORD_RULES: tuple[tuple[str, str, int], ...] = (
    # Starting quotes.
    ("([\u00ab\u201c\u2018\u201e]|[`]+)", r" \1 ", 1),
    ('^"', "``", 1),
    ("(``)", r" \1 ", 1),
    (r"""([ \(\[{<])("|'{2})""", r"\1 `` ", 1),
    # Every whitespace character becomes a space here, after the one rule above that
    # looks for a literal space (as NLTK's does) and before the first rule with \s.
    (_WHITESPACE, " ", 1),
    # (?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w) -> "' ", in three steps.
    (f"(^|{_NOT_W})'({_W})", r"\1'" + _MARK + r"\2", 1),
    (f"(?i)'{_MARK}(re|ve|ll|m|t|s|d|n)({_NOT_W}|$)", r"'\1\2", 1),
    (_MARK, " ", 1),
    # Punctuation.
    (f"([^.])(\\.)([{_ENDS} ]*) *$", r"\1 \2 \3 ", 1),
    (r"([:,])([^\p{Nd}])", r" \1 \2", 1),
    ("([:,])$", r" \1 ", 1),
    (r"\.{2,}", r" \0 ", 1),
    ("[;@#$%&]", r" \0 ", 1),
    ("[\u2012-\u2015]", r" \0 ", 1),
    (f"([^.])(\\.)([{_ENDS_ASCII}]*) *$", r"\1 \2\3 ", 1),
    ("[?!]", r" \0 ", 1),
    ("([^'])' ", r"\1 ' ", 1),
    ("[*]", r" \0 ", 1),
    # Parentheses, brackets, double dashes.
    (r"[\]\[\(\)\{\}\<\>]", r" \0 ", 1),
    ("--", " -- ", 1),
    # Ending quotes (the text is padded with a space on both sides before these).
    ("^", " ", 1),
    ("$", " ", 1),
    ("([\u00bb\u201d\u2019])", r" \1 ", 1),
    ("''", " '' ", 1),
    ('"', " '' ", 1),
    (" +", " ", 1),
    ("([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", 1),
    ("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", 1),
    # Contractions (Robert MacIntyre's list, as in NLTK).
    *((f"(?i)(^|{_NOT_W})({first})({second})({_NOT_W}|$)", r"\1 \2 \3 \4", 2)
      for first, second in (("can", "not"), ("d", "'ye"), ("gim", "me"), ("gon", "na"),
                            ("got", "ta"), ("lem", "me"), ("more", "'n"))),
    ("(?i)(^|[^\\p{L}\\p{N}_])(wan)(na)( )", r"\1 \2 \3 \4", 2),
    (f"(?i) ('t)(is)({_NOT_W}|$)", r" \1 \2 \3", 2),
    (f"(?i) ('t)(was)({_NOT_W}|$)", r" \1 \2 \3", 2),
)


def _python_replacement(replacement: str) -> str:
    return replacement.replace("\\0", "\\g<0>")


_PY_RULES = tuple((regex.compile(pattern, regex.V0), _python_replacement(replacement), passes)
                  for pattern, replacement, passes in WORD_RULES)
_PY_WHITESPACE = regex.compile(_WHITESPACE + "+")


def word_tokenize(text: str, lowercase: bool = False) -> list[str]:
    """Splits one line of text into words the way ``nltk.word_tokenize`` does.

    Args:
      text: raw text (any whitespace; see the module docstring for the rules).
      lowercase: lowercase each token (``str.lower``) after splitting, so that the
        case-insensitive contraction rules see the original text.
    Returns:
      The tokens; ``[]`` for empty or all-whitespace text.

    Example:
        >>> word_tokenize("What time is it?")
        ['What', 'time', 'is', 'it', '?']
        >>> word_tokenize("I cannot go to N.Y.C.", lowercase=True)
        ['i', 'can', 'not', 'go', 'to', 'n.y.c', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"Received an invalid value for argument `text`, expected a str, "
                        f"got {type(text).__name__}.")
    for pattern, replacement, passes in _PY_RULES:
        for _ in range(passes):
            text = pattern.sub(replacement, text)
    tokens = text.split(" ")
    return [token.lower() if lowercase else token for token in tokens if token]


def char_tokenize(text: str, lowercase: bool = False) -> list[str]:
    """The characters of ``text``; whitespace runs become one space, ends stripped.

    Example:
        >>> char_tokenize("  Hi  there ")
        ['H', 'i', ' ', 't', 'h', 'e', 'r', 'e']
    """
    text = _PY_WHITESPACE.sub(" ", text).strip(" ")
    return list(text.lower() if lowercase else text)


def normalize(text: str) -> str:
    """Unicode NFC; every whitespace run (incl. U+00A0, U+202F) becomes one space; stripped.

    Example:
        >>> normalize("Cafe\\u0301\\u00a0 au  lait ")
        'Café au lait'
    """
    text = unicodedata.normalize("NFC", text)
    return _PY_WHITESPACE.sub(" ", text).strip(" ")


# --------------------------------------------------------------------------- vocabulary


def build_vocabulary(token_lists: Iterable[Sequence[str]], min_count: int = 1,
                     max_size: int | None = None, specials: Sequence[str] = SPECIALS
                     ) -> Vocabulary:
    """A ``Vocabulary``: ``specials`` first (``<pad>`` = 0, ``<unk>`` = 1), then the tokens
    seen at least ``min_count`` times, by decreasing count (ties by string order).

    Args:
      token_lists: tokenized training utterances.
      min_count: the least count a token needs to get its own id (rarer ones become
        ``<unk>``).
      max_size: at most this many ids in total, specials included (None: no limit).
      specials: ids 0, 1, ...; must include ``<unk>`` for unseen tokens to map.
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"Received an invalid value for argument `min_count`, expected a "
                         f"positive integer, got {min_count!r}.")
    specials = tuple(specials)
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                 or max_size <= len(specials)):
        raise ValueError(f"Received an invalid value for argument `max_size`, expected None "
                         f"or an integer > {len(specials)} (the number of specials), got "
                         f"{max_size!r}.")
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    words = sorted((token for token, count in counts.items()
                    if count >= min_count and token not in specials),
                   key=lambda token: (-counts[token], token))
    if max_size is not None:
        words = words[:max_size - len(specials)]
    return Vocabulary(specials + tuple(words))


def encode_batch(vocab: Vocabulary, token_lists: Iterable[Sequence[str]]
                 ) -> list[np.ndarray]:
    """Each token list as int32 ids (``<unk>`` for tokens the vocabulary lacks)."""
    return [vocab.encode(list(tokens))[0] for tokens in token_lists]


def decode(vocab: Vocabulary, ids) -> list[str]:
    """Ids back to tokens, dropping ``<pad>`` (id 0 when built by ``build_vocabulary``)."""
    pad_id = vocab.id_of(PAD) if PAD in vocab else None
    return [vocab.token_of(i) for i in np.asarray(ids).ravel().tolist() if i != pad_id]


def vocabulary_hash(vocab: Vocabulary) -> str:
    """sha256 (hex) of the tokens in id order: equal iff the id assignment is equal."""
    return hashlib.sha256("\n".join(vocab.tokens).encode("utf-8")).hexdigest()


def pad_batch(id_lists: Sequence[Sequence[int]], max_length: int | None = None) -> np.ndarray:
    """An int32 ``[batch, length]`` array, each row left-aligned and padded with 0.

    ``length`` is the longest row, or ``max_length`` if given (longer rows are cut
    at ``max_length``: the first ``max_length`` ids are kept).
    """
    if max_length is not None and (isinstance(max_length, bool) or
                                   not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"Received an invalid value for argument `max_length`, expected "
                         f"None or a positive integer, got {max_length!r}.")
    lengths = [len(ids) for ids in id_lists]
    length = max(lengths, default=0) if max_length is None else max_length
    batch = np.zeros((len(lengths), length), np.int32)
    for row, ids in enumerate(id_lists):
        ids = np.asarray(ids, np.int32)[:length]
        batch[row, :len(ids)] = ids
    return batch


# --------------------------------------------------------------------------- TensorFlow


def tf_word_tokenize(strings, lowercase: bool = False):
    """``word_tokenize`` inside a TensorFlow graph: a string batch -> a RaggedTensor.

    The same ``WORD_RULES`` run through ``tf.strings.regex_replace`` (RE2), then the
    text is split on spaces; ``lowercase`` uses ``tf.strings.lower(encoding="utf-8")``.

    Args:
      strings: a 1-D string tensor (a batch of utterances), or anything convertible.
    Returns:
      A ``tf.RaggedTensor`` of strings, ``[batch, (tokens)]``.

    Example:
        >>> tf_word_tokenize(["What time is it?"]).to_list()
        [[b'What', b'time', b'is', b'it', b'?']]
    """
    import tensorflow as tf  # the Python tokenizer must not need TensorFlow

    text = tf.convert_to_tensor(strings, dtype=tf.string)
    for pattern, replacement, passes in WORD_RULES:
        for _ in range(passes):
            text = tf.strings.regex_replace(text, pattern, replacement)
    # sep=None splits on runs of (ASCII) whitespace and drops empty pieces; only
    # spaces are left at this point.
    tokens = tf.strings.split(text)
    if lowercase:
        tokens = tf.ragged.map_flat_values(tf.strings.lower, tokens, encoding="utf-8")
    return tokens

"""Word- and character-level language-model data: vocabularies, loaders, BPTT batches.

Loading rules (every split becomes one token stream):

* ``load_ptb_style(data_dir)``: ``ptb.{train,valid,test}.txt``; each line is split
  on whitespace and ``<eos>`` is appended at its end (Mikolov's PTB; a blank line
  is just ``<eos>``, as in the TensorFlow PTB reader).
* ``load_wikitext_style(data_dir)``: ``wiki.{train,valid,test}.tokens`` (the
  official archives), or ``{train,valid,test}.txt`` (the layout of most copies,
  e.g. PyTorch's word_language_model example); the same rule, but blank lines are
  skipped. (PyTorch's example also appends ``<eos>`` to blank lines, so its
  token counts, and perplexities, differ slightly from these.)
* ``load_text_file(path, level)``: one raw file. ``level="word"``: the WikiText rule;
  ``level="char"``: every character is a token and a newline becomes ``<eos>``.
  The stream is cut by position: the first 90% train, the next 5% valid, the rest test.
* ``load_corpus(...)`` picks one of these, or the built-in grammar corpus
  (``seqkit.data.grammar``) when given no data.
* ``detokenize(tokens, level)``: tokens back into text (``<eos>`` is a line break).

Every loader takes ``encoding="utf-8"``; a file that does not decode, or is
binary, is a ValueError naming the argument, the file, the byte offset and the
fix (``seqkit.data.reading``).

The vocabulary is built from the training split alone. Tokens of valid/test that it
lacks map to ``<unk>`` and are counted in ``Corpus.oov_counts``. PTB and WikiText
ship their own ``<unk>``; a raw text file gets one added; without one, an unknown
token is an error.

Batching follows Zaremba et al. (2014) and the TensorFlow PTB tutorial
(``ptb_producer``): the stream is cut into ``batch_size`` contiguous rows, and
windows of ``num_steps`` columns are read left to right, so that row ``b`` of
window ``i + 1`` continues row ``b`` of window ``i`` and a stateful RNN can carry
its state across windows::

    stream  0 1 2 3 4 5 6 7 8 9 10 11 12      batchify(stream, 2) = [[0 1 2 3 4 5],
                                                                  [6 7 8 9 10 11]]
    iterate_bptt(., num_steps=2):  x [[0 1] [6 7]]   y [[1 2] [7 8]]
                                   x [[2 3] [8 9]]   y [[3 4] [9 10]]
                                  (x [[4] [10]]      y [[5] [11]]   only with drop_remainder=False)

Example:
    >>> corpus = load_corpus()                      # the built-in grammar corpus
    >>> data = batchify(corpus.train, batch_size=20)
    >>> for x, y in iterate_bptt(data, num_steps=35):
    ...     pass                                    # x, y: int32 [20, 35]
"""
from __future__ import annotations

import collections
import dataclasses
import os
from typing import Iterator, Mapping, Sequence

import numpy as np

from seqkit.data import grammar, reading

UNK = "<unk>"
EOS = "<eos>"
SPLITS = ("train", "valid", "test")
LEVELS = ("word", "char")
PTB_FILES = {split: f"ptb.{split}.txt" for split in SPLITS}
WIKITEXT_FILES = {split: f"wiki.{split}.tokens" for split in SPLITS}
# WikiText as most copies lay it out (PyTorch's examples/word_language_model).
WIKITEXT_TXT_FILES = {split: f"{split}.txt" for split in SPLITS}
TEXT_FILE_FRACTIONS = {"train": 0.90, "valid": 0.05, "test": 0.05}


# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """A fixed, ordered set of tokens; a token's id is its position.

    Ids are assigned by decreasing frequency in the training split, ties broken by
    the token's string order, so that the same data always yields the same ids.

    Example:
        >>> vocab = Vocabulary.from_tokens("b a b c <unk> b a".split())
        >>> vocab.tokens
        ('b', 'a', '<unk>', 'c')
        >>> vocab.encode(["a", "z", "b"], split="valid")
        (array([1, 2, 0], dtype=int32), 1)
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = tuple(tokens)
        for token in tokens:
            # A token must fit on one line of the saved file.
            if not isinstance(token, str) or token == "" or "\n" in token or "\r" in token:
                raise ValueError(f"Received an invalid token {token!r} for a Vocabulary, "
                                 "expected a non-empty string without line breaks.")
        duplicates = sorted(t for t, n in collections.Counter(tokens).items() if n > 1)
        if duplicates:
            raise ValueError(f"Received duplicate tokens for a Vocabulary: {duplicates[:5]}.")
        if not tokens:
            raise ValueError("Received no tokens for a Vocabulary, expected at least one.")
        self._tokens = tokens
        self._ids = {token: index for index, token in enumerate(tokens)}

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], extra_tokens: Sequence[str] = ()) -> "Vocabulary":
        """Builds the vocabulary of ``tokens`` sorted by (-count, token).

        ``extra_tokens`` are included even if absent from ``tokens`` (count 0, so
        they sort last), e.g. ``<unk>`` for a raw text file.
        """
        counts = collections.Counter(tokens)
        for token in extra_tokens:
            counts.setdefault(token, 0)
        return cls(sorted(counts, key=lambda token: (-counts[token], token)))

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    @property
    def unk_id(self) -> int | None:
        """Id of ``<unk>``, or None if the vocabulary has none."""
        return self._ids.get(UNK)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, first={list(self._tokens[:5])})"

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def token_of(self, token_id: int) -> str:
        return self._tokens[token_id]

    def encode(self, tokens: Sequence[str], split: str = "data") -> tuple[np.ndarray, int]:
        """Maps tokens to int32 ids; unknown tokens become ``<unk>``.

        Returns:
          (ids, number of unknown tokens).
        Raises:
          ValueError: unknown tokens and no ``<unk>``; names ``split``, the count and
            a few examples.
        """
        unk_id = self.unk_id
        ids = np.fromiter((self._ids.get(token, -1) for token in tokens), dtype=np.int32,
                          count=len(tokens))
        unknown = ids < 0
        num_unknown = int(unknown.sum())
        if num_unknown:
            if unk_id is None:
                examples = sorted({tokens[i] for i in np.flatnonzero(unknown)[:1000]})[:5]
                raise ValueError(
                    f"The {split} split has {num_unknown} tokens that are not in the "
                    f"training vocabulary (e.g. {examples}), and the vocabulary has no "
                    f"{UNK!r} token to map them to. Expected every {split} token to occur "
                    f"in the training split, or a {UNK!r} token in it.")
            ids[unknown] = unk_id
        return ids, num_unknown

    def decode(self, ids) -> list[str]:
        return [self._tokens[i] for i in np.asarray(ids).ravel().tolist()]

    def save(self, path: str | os.PathLike) -> None:
        """Writes one token per line, in id order (line i holds token i), UTF-8."""
        with open(path, "w", encoding="utf-8", newline="\n") as file:
            file.writelines(token + "\n" for token in self._tokens)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Reads a file written by ``save``."""
        # newline="" and split("\n"): a token may be a character such as "\x0c" that
        # str.splitlines() would treat as a line break.
        with open(path, encoding="utf-8", newline="") as file:
            text = file.read()
        if not text.endswith("\n"):
            raise ValueError(f"Vocabulary file {os.fspath(path)!r} is not one token per line "
                             "ending in a newline (empty or truncated?).")
        return cls(text[:-1].split("\n"))


# --------------------------------------------------------------------------- corpus


# eq=False: the fields hold numpy arrays, which have no single truth value.
@dataclasses.dataclass(frozen=True, eq=False)
class Corpus:
    """A language-model corpus as id streams.

    Attributes:
      name: what was loaded, for logs ("ptb", "wikitext", "text:<file>:<level>",
        "grammar(seed=0)").
      vocab: the ``Vocabulary`` of the training split.
      train, valid, test: int32 token-id streams.
      oov_counts: split -> number of tokens mapped to ``<unk>`` because they are not
        in the training vocabulary (always 0 for train).
      floor_perplexity: split -> the lowest perplexity any model can reach, when it
        is known (the grammar corpus); otherwise None.
      token_log_probs: split -> exact ``log p(token_t | history)`` per token, when
        known. ``batchify`` it like the ids to get the floor over exactly the
        positions a model is scored on.
    """

    name: str
    vocab: Vocabulary
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    oov_counts: Mapping[str, int]
    floor_perplexity: Mapping[str, float] | None = None
    token_log_probs: Mapping[str, np.ndarray] | None = None

    def split(self, name: str) -> np.ndarray:
        if name not in SPLITS:
            raise ValueError(f"Received an invalid value for argument `name`, expected one "
                             f"of {SPLITS}, got {name!r}.")
        return getattr(self, name)


def _corpus_from_tokens(name: str, token_splits: Mapping[str, Sequence[str]],
                        source: str, extra_tokens: Sequence[str] = ()) -> Corpus:
    for split in SPLITS:
        if len(token_splits[split]) == 0:
            raise ValueError(f"The {split} split of {source} is empty; expected at least "
                             "one token.")
    vocab = Vocabulary.from_tokens(token_splits["train"], extra_tokens)
    ids, oov_counts = {}, {}
    for split in SPLITS:
        ids[split], oov_counts[split] = vocab.encode(token_splits[split], split=split)
    return Corpus(name=name, vocab=vocab, oov_counts=oov_counts, **ids)


def _lines_to_tokens(text: str, skip_blank_lines: bool) -> list[str]:
    """Whitespace-split words of each line, each line followed by ``<eos>``."""
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line does not start a new one
        lines.pop()
    tokens = []
    for line in lines:
        words = line.split()
        if words or not skip_blank_lines:
            tokens.extend(words)
            tokens.append(EOS)
    return tokens


def _read_text(path: str, encoding: str = "utf-8", argument: str = "data_dir") -> str:
    """The file's text; "\\r\\n" and "\\r" read as "\\n"; clear errors for a bad
    encoding or a binary file (``seqkit.data.reading``)."""
    return reading.read_text(path, encoding, argument)


def _split_paths(data_dir: str | os.PathLike, file_names: Mapping[str, str], argument: str
                 ) -> dict[str, str]:
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"Received `{argument}`={data_dir!r}, expected an existing "
                                "directory.")
    paths = {split: os.path.join(data_dir, name) for split, name in file_names.items()}
    missing = [name for split, name in file_names.items() if not os.path.isfile(paths[split])]
    if missing:
        raise FileNotFoundError(
            f"`{argument}`={data_dir!r} lacks split files {missing}; expected all of "
            f"{list(file_names.values())}.")
    return paths


def load_ptb_style(data_dir: str | os.PathLike, encoding: str = "utf-8") -> Corpus:
    """Loads ``ptb.{train,valid,test}.txt`` from ``data_dir`` (rules in the module doc).

    On Mikolov's PTB: 10,000 tokens in the vocabulary (with ``<unk>``), and
    929,589 / 73,760 / 82,430 tokens in train / valid / test. ``encoding``: the
    files' text encoding.
    """
    reading.check_encoding(encoding)
    paths = _split_paths(data_dir, PTB_FILES, "data_dir")
    splits = {split: _lines_to_tokens(_read_text(path, encoding), skip_blank_lines=False)
              for split, path in paths.items()}
    return _corpus_from_tokens("ptb", splits, f"data_dir={os.fspath(data_dir)!r}")


def _wikitext_files(data_dir: str) -> Mapping[str, str]:
    """``wiki.*.tokens`` if ``data_dir`` has any of them, else ``{train,valid,test}.txt``."""
    if any(os.path.isfile(os.path.join(data_dir, name)) for name in WIKITEXT_FILES.values()):
        return WIKITEXT_FILES
    return WIKITEXT_TXT_FILES


def load_wikitext_style(data_dir: str | os.PathLike, encoding: str = "utf-8") -> Corpus:
    """Loads WikiText from ``data_dir``, skipping blank lines.

    The files are ``wiki.{train,valid,test}.tokens`` (the official archives) or,
    failing those, ``{train,valid,test}.txt`` (PyTorch's word_language_model
    layout). ``encoding``: the files' text encoding.
    """
    reading.check_encoding(encoding)
    if os.path.isdir(os.fspath(data_dir)):
        file_names = _wikitext_files(os.fspath(data_dir))
    else:
        file_names = WIKITEXT_FILES  # _split_paths reports the missing directory
    paths = _split_paths(data_dir, file_names, "data_dir")
    splits = {split: _lines_to_tokens(_read_text(path, encoding), skip_blank_lines=True)
              for split, path in paths.items()}
    return _corpus_from_tokens("wikitext", splits, f"data_dir={os.fspath(data_dir)!r}")


def _check_level(level) -> None:
    if level not in LEVELS:
        raise ValueError(f"Received an invalid value for argument `level`, expected one of "
                         f"{LEVELS}, got {level!r}.")


def load_text_file(path: str | os.PathLike, level: str = "word",
                   encoding: str = "utf-8") -> Corpus:
    """Loads one raw text file, split 90/5/5 by position into train/valid/test.

    Args:
      path: the file.
      level: "word" (whitespace-split words, ``<eos>`` per non-blank line) or "char"
        (every character a token, each newline ``<eos>``).
      encoding: the file's text encoding (a file that does not decode, or a binary
        file, is a ValueError naming the byte offset and the fix).

    The vocabulary is the training split's tokens plus ``<unk>``: the last 10% of a
    file often holds a word or character the first 90% lacks.
    """
    _check_level(level)
    reading.check_encoding(encoding)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Received `text_file`={path!r}, expected an existing file.")
    text = _read_text(path, encoding, "text_file")
    if level == "word":
        tokens = _lines_to_tokens(text, skip_blank_lines=True)
    else:
        tokens = [EOS if character == "\n" else character for character in text]
    num_train = int(len(tokens) * TEXT_FILE_FRACTIONS["train"])
    num_valid = int(len(tokens) * TEXT_FILE_FRACTIONS["valid"])
    if min(num_train, num_valid, len(tokens) - num_train - num_valid) < 1:
        raise ValueError(
            f"`text_file`={path!r} has {len(tokens)} {level} tokens, too few to split "
            f"90/5/5 into non-empty train/valid/test; expected at least 20.")
    splits = {"train": tokens[:num_train], "valid": tokens[num_train:num_train + num_valid],
              "test": tokens[num_train + num_valid:]}
    return _corpus_from_tokens(f"text:{os.path.basename(path)}:{level}", splits,
                               f"text_file={path!r}", extra_tokens=[UNK])


def corpus_from_grammar(generated: grammar.GrammarCorpus) -> Corpus:
    """A ``Corpus`` of a ``grammar.GrammarCorpus``, with its floor perplexities.

    The vocabulary holds every token of the grammar, also those the training split
    happens to lack, since the floor assumes a model can predict each of them.
    """
    splits = {split: generated.tokens[split] for split in SPLITS}
    corpus = _corpus_from_tokens(f"grammar(seed={generated.seed})", splits, "the grammar corpus",
                                 extra_tokens=grammar.VOCABULARY)
    return dataclasses.replace(
        corpus,
        floor_perplexity={split: generated.floor_perplexity(split) for split in SPLITS},
        token_log_probs=dict(generated.log_probs))


def load_corpus(data_dir: str | os.PathLike | None = None,
                text_file: str | os.PathLike | None = None,
                level: str = "word", encoding: str = "utf-8") -> Corpus:
    """Loads a corpus, detecting its format.

    Args:
      data_dir: a directory with PTB-style (``ptb.train.txt`` ...) or WikiText-style
        (``wiki.train.tokens`` ..., or ``train.txt``, ``valid.txt``, ``test.txt``)
        split files; word level only.
      text_file: one raw text file, split 90/5/5 (see ``load_text_file``).
      level: "word" or "char"; "char" needs ``text_file``.
      encoding: the text encoding of the files (default UTF-8).

    With neither ``data_dir`` nor ``text_file``: the built-in grammar corpus
    (``grammar.generate_corpus()``), whose floor perplexity is known.
    """
    _check_level(level)
    reading.check_encoding(encoding)
    if data_dir is not None and text_file is not None:
        raise ValueError(f"Received both `data_dir`={os.fspath(data_dir)!r} and "
                         f"`text_file`={os.fspath(text_file)!r}; expected at most one.")
    if text_file is not None:
        return load_text_file(text_file, level, encoding)
    if level != "word":
        source = "data_dir" if data_dir is not None else "the built-in grammar corpus"
        raise ValueError(f"Received `level`={level!r} with {source}, which is word level; "
                         "expected level='word', or a `text_file` for level='char'.")
    if data_dir is None:
        return corpus_from_grammar(grammar.generate_corpus())
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"Received `data_dir`={data_dir!r}, expected an existing "
                                "directory.")
    for file_names, loader in ((PTB_FILES, load_ptb_style),
                               (WIKITEXT_FILES, load_wikitext_style),
                               (WIKITEXT_TXT_FILES, load_wikitext_style)):
        if any(os.path.isfile(os.path.join(data_dir, name)) for name in file_names.values()):
            return loader(data_dir, encoding)
    raise FileNotFoundError(
        f"`data_dir`={data_dir!r} holds neither PTB-style files {list(PTB_FILES.values())} "
        f"nor WikiText-style files {list(WIKITEXT_FILES.values())} or "
        f"{list(WIKITEXT_TXT_FILES.values())}.")


# --------------------------------------------------------------------------- text out


def detokenize(tokens: Sequence[str], level: str) -> str:
    """Tokens (e.g. a model's sample) back into text, the loaders' rules inverted.

    * ``level="char"``: the characters joined with nothing between them, and
      ``<eos>`` rendered as the line break it stands for, so a sample reads as
      the text it imitates (``load_text_file`` turned each "\\n" into ``<eos>``).
    * ``level="word"``: the words joined by single spaces, ``<eos>`` kept
      literal. Word-level loading normalized every run of whitespace, so the
      original layout cannot come back anyway, and a visible sentence mark on
      one line is how word-level samples are usually shown (PTB). The exported
      ``generate`` signature renders its text the same way.

    Other special tokens (``<unk>``) stay literal at both levels.

    Example:
        >>> detokenize(["d", "o", "<eos>", "t", "h", "y"], "char")
        'do\\nthy'
        >>> detokenize(["the", "cat", "<eos>", "a"], "word")
        'the cat <eos> a'
    """
    _check_level(level)
    tokens = list(tokens)
    bad = [token for token in tokens if not isinstance(token, str)]
    if bad:
        raise ValueError(f"Received `tokens` with non-string items (e.g. {bad[0]!r}), expected "
                         "token strings; map ids to tokens with Vocabulary.decode first.")
    if level == "word":
        return " ".join(tokens)
    return "".join("\n" if token == EOS else token for token in tokens)


# --------------------------------------------------------------------------- batching


def batchify(stream: np.ndarray, batch_size: int) -> np.ndarray:
    """Cuts a 1-D stream into ``batch_size`` contiguous rows: shape [batch_size, n].

    ``n = len(stream) // batch_size``; the last ``len(stream) % batch_size`` items are
    dropped. Row ``b`` is ``stream[b * n:(b + 1) * n]``. Works on any 1-D array
    (ids, or per-token log-probabilities to line up with them).
    """
    stream = np.asarray(stream)
    if stream.ndim != 1:
        raise ValueError(f"Received a `stream` of shape {stream.shape}, expected a 1-D array.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"Received an invalid value for argument `batch_size`, expected a "
                         f"positive integer, got {batch_size!r}.")
    row_length = len(stream) // batch_size
    if row_length < 2:
        raise ValueError(f"Received `batch_size`={batch_size} for a stream of {len(stream)} "
                         "tokens; expected at least 2 tokens per row (an input and a target), "
                         f"i.e. batch_size <= {len(stream) // 2}.")
    return stream[:batch_size * row_length].reshape(batch_size, row_length)


def num_windows(data: np.ndarray, num_steps: int, drop_remainder: bool = True) -> int:
    """Number of (x, y) windows ``iterate_bptt`` yields for ``data`` [batch, n].

    A row of n tokens has n - 1 (input, target) pairs: ``(n - 1) // num_steps``
    full windows, plus one shorter window if ``drop_remainder`` is False and pairs
    are left over.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"Received `data` of shape {data.shape}, expected [batch, n] "
                         "as returned by batchify.")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) \
            or num_steps < 1:
        raise ValueError(f"Received an invalid value for argument `num_steps`, expected a "
                         f"positive integer, got {num_steps!r}.")
    num_pairs = data.shape[1] - 1
    if num_steps > num_pairs:
        raise ValueError(
            f"Received `num_steps`={num_steps}, but each of the {data.shape[0]} streams has "
            f"only {data.shape[1]} tokens ({num_pairs} input/target pairs); expected "
            f"num_steps <= {num_pairs}.")
    if drop_remainder:
        return num_pairs // num_steps
    return -(-num_pairs // num_steps)


def iterate_bptt(data: np.ndarray, num_steps: int, drop_remainder: bool = True
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yields (x, y) windows of ``data`` [batch, n] in order: y is x shifted by one.

    Window i: ``x = data[:, i*num_steps:(i+1)*num_steps]``,
    ``y = data[:, i*num_steps + 1:(i+1)*num_steps + 1]``. Rows stay contiguous
    across windows, so an RNN's final state of one window is the right initial state
    of the next. ``drop_remainder=False`` adds a last, shorter window so that every
    target of ``data`` is predicted once (for evaluation).
    """
    count = num_windows(data, num_steps, drop_remainder)
    data = np.asarray(data)
    for i in range(count):
        start = i * num_steps
        stop = min(start + num_steps, data.shape[1] - 1)
        yield data[:, start:stop], data[:, start + 1:stop + 1]

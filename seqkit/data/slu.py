"""Utterance-classification data: the SLU folder layout, CSV tables, the built-in corpus.

Three sources, one result (``UtteranceData``: train/valid/test ``UtteranceSplit``s of
tokens, intent labels and optionally one BIO slot tag per token):

* ``load_slu_dir(data_dir)``: the spoken-language-understanding layout (ATIS/SNIPS as
  shipped by Goo et al. 2018)::

      data_dir/{train,valid,test}/seq.in    one utterance a line, tokens split by spaces
                                  /label    its intent (multi-intent "a#b" is one class)
                                  /seq.out  optional: one BIO tag per token

  Lines are split on whitespace (stray and double spaces are harmless); the tokens are
  the file's own (``tokenizer="whitespace"``), since ``seq.out`` is aligned to them.
* ``load_csv(path, text_column, label_column, split_column=None, seed=0)``: a table read
  with pandas; the text is tokenized with ``seqkit.data.tokenize.word_tokenize`` after
  ``normalize`` (``tokenizer="nltk"``). Without a split column the rows are shuffled
  with ``seed`` and cut 80/10/10; with one, its values must be train/valid/test.
* ``from_intent_corpus(corpus)``: the built-in generated corpus (``seqkit.data.intents``),
  with its ceiling.

Bad input raises ``DataError`` (a ValueError) naming the file and line: a missing file,
an empty file, ``seq.in``/``label``/``seq.out`` of different lengths, an empty
utterance or label, a ``seq.out`` line whose tag count differs from its word count, a
tag that is not ``O``/``B-x``/``I-x``, ``seq.out`` in some splits only.

Example:
    >>> data = from_intent_corpus(intents.generate_intent_corpus(
    ...     sizes={"train": 20, "valid": 5, "test": 5}))
    >>> data.has_slots, data.tokenizer, len(data.train)
    (True, 'nltk', 20)
"""
from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Sequence

import numpy as np

from seqkit.data import intents, reading
from seqkit.data.tokenize import normalize, word_tokenize

SPLITS = ("train", "valid", "test")
TOKENIZERS = ("whitespace", "nltk")
CSV_FRACTIONS = (0.8, 0.1, 0.1)


class DataError(ValueError):
    """Bad input data; the message names the file (and line) and what was expected."""


@dataclasses.dataclass(frozen=True)
class UtteranceSplit:
    """``tokens[i]``, ``labels[i]`` (intent), ``tags[i]`` (BIO per token, or None)."""

    tokens: list[list[str]]
    labels: list[str]
    tags: list[list[str]] | None = None

    def __len__(self) -> int:
        return len(self.tokens)


@dataclasses.dataclass(frozen=True)
class UtteranceData:
    """A data set for intent classification (and slot filling when ``has_slots``).

    Attributes:
      name: what was loaded, for logs.
      train, valid, test: the splits.
      tokenizer: how raw text becomes tokens at prediction time ("whitespace": split
        on spaces like the files; "nltk": ``word_tokenize``).
      files: the files read (for fingerprints), empty for generated data.
      ceiling: split -> the best accuracy any model can reach, when known.
      info: extra facts to report (e.g. the generator's settings).
    """

    name: str
    train: UtteranceSplit
    valid: UtteranceSplit
    test: UtteranceSplit
    tokenizer: str
    files: tuple[str, ...] = ()
    ceiling: Mapping[str, float] | None = None
    info: Mapping[str, object] = dataclasses.field(default_factory=dict)

    @property
    def has_slots(self) -> bool:
        return self.train.tags is not None

    def split(self, name: str) -> UtteranceSplit:
        if name not in SPLITS:
            raise ValueError(f"Received an invalid value for argument `name`, expected one "
                             f"of {SPLITS}, got {name!r}.")
        return getattr(self, name)


def tokenize_text(text: str, tokenizer: str) -> list[str]:
    """Raw text -> tokens the way ``tokenizer`` ("whitespace" or "nltk") reads it."""
    if tokenizer == "whitespace":
        return normalize(text).split()
    if tokenizer == "nltk":
        return word_tokenize(normalize(text))
    raise ValueError(f"Received an invalid value for argument `tokenizer`, expected one "
                     f"of {TOKENIZERS}, got {tokenizer!r}.")


# --------------------------------------------------------------------------- SLU folders


def _read_lines(path: str) -> list[str]:
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found; expected the SLU layout "
                        "{train,valid,test}/seq.in + label (+ seq.out).")
    try:
        lines = reading.read_lines(path, argument="--data_dir")
    except ValueError as error:  # not UTF-8, or binary: the message names the file
        raise DataError(str(error)) from None
    if not "".join(lines).strip():
        raise DataError(f"{path}: the file is empty; expected one line per utterance.")
    return lines


def _check_tag(tag: str, path: str, line: int) -> None:
    if tag != "O" and not (len(tag) > 2 and tag[:2] in ("B-", "I-")):
        raise DataError(f"{path}:{line}: invalid slot tag {tag!r}; expected O, B-<type> or "
                        "I-<type>.")


def load_slu_split(split_dir: str) -> UtteranceSplit:
    """Reads one ``seq.in`` + ``label`` (+ ``seq.out``) folder; see the module docstring."""
    seq_in = os.path.join(split_dir, "seq.in")
    label_path = os.path.join(split_dir, "label")
    seq_out = os.path.join(split_dir, "seq.out")
    utterances = _read_lines(seq_in)
    labels = _read_lines(label_path)
    if len(labels) != len(utterances):
        raise DataError(f"{label_path}: {len(labels)} lines, but {seq_in} has "
                        f"{len(utterances)}; expected one intent per utterance.")
    tokens = []
    for number, line in enumerate(utterances, 1):
        words = normalize(line).split()
        if not words:
            raise DataError(f"{seq_in}:{number}: empty utterance; expected at least one word.")
        tokens.append(words)
    clean_labels = []
    for number, label in enumerate(labels, 1):
        label = label.strip()
        if not label or len(label.split()) != 1:
            raise DataError(f"{label_path}:{number}: invalid intent label {label!r}; expected "
                            "one non-empty label without spaces.")
        clean_labels.append(label)
    tags = None
    if os.path.exists(seq_out):
        tag_lines = _read_lines(seq_out)
        if len(tag_lines) != len(utterances):
            raise DataError(f"{seq_out}: {len(tag_lines)} lines, but {seq_in} has "
                            f"{len(utterances)}; expected one line of tags per utterance.")
        tags = []
        for number, (line, words) in enumerate(zip(tag_lines, tokens), 1):
            line_tags = line.split()
            if len(line_tags) != len(words):
                raise DataError(f"{seq_out}:{number}: {len(line_tags)} tags for the "
                                f"{len(words)} words of {seq_in}:{number}; expected one tag "
                                "per word.")
            for tag in line_tags:
                _check_tag(tag, seq_out, number)
            tags.append(line_tags)
    return UtteranceSplit(tokens=tokens, labels=clean_labels, tags=tags)


def load_slu_dir(data_dir: str | os.PathLike) -> UtteranceData:
    """Reads ``data_dir/{train,valid,test}``; see the module docstring."""
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: not a folder; expected a folder holding "
                        "train/, valid/ and test/ with seq.in and label files.")
    splits = {split: load_slu_split(os.path.join(data_dir, split)) for split in SPLITS}
    with_tags = [split for split in SPLITS if splits[split].tags is not None]
    if with_tags and len(with_tags) != len(SPLITS):
        missing = [os.path.join(data_dir, s, "seq.out") for s in SPLITS if s not in with_tags]
        raise DataError(f"{missing[0]}: file not found, but {with_tags[0]}/seq.out exists; "
                        "expected seq.out in every split or in none.")
    files = [os.path.join(data_dir, split, name) for split in SPLITS
             for name in ("seq.in", "label", "seq.out")]
    return UtteranceData(name=f"slu:{data_dir}", tokenizer="whitespace",
                         files=tuple(path for path in files if os.path.exists(path)),
                         **splits)


# --------------------------------------------------------------------------- CSV


def load_csv(path: str | os.PathLike, text_column: str = "text", label_column: str = "label",
             split_column: str | None = None, seed: int = 0) -> UtteranceData:
    """Reads a CSV table (pandas) of utterances and intents; see the module docstring.

    Raises:
      DataError: a missing file or column, an empty table, an empty text or label
        (naming the CSV line, header = line 1), unknown split values, an empty split.
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found; expected a CSV table.")
    try:
        # A ";"/tab/"|"-separated export reads too (reading.csv_format); text
        # columns keep their decimal commas as written (dtype=str).
        separator = reading.csv_format(path).get("sep", ",")
        table = pd.read_csv(path, dtype=str, keep_default_na=False, sep=separator)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: could not read it as CSV: {error}".strip()) from None
    columns = [text_column, label_column] + ([split_column] if split_column else [])
    for flag, column in zip(("--text_column", "--label_column", "--split_column"), columns):
        if column not in table.columns:
            raise DataError(f"{path}: no column {column!r} ({flag}); the table has "
                            f"{list(table.columns)}.")
    if len(table) == 0:
        raise DataError(f"{path}: the table has no rows.")
    tokens, labels = [], []
    for row, (text, label) in enumerate(zip(table[text_column], table[label_column])):
        words = tokenize_text(text, "nltk")
        if not words:
            raise DataError(f"{path}:{row + 2}: empty text in column {text_column!r}.")
        label = label.strip()
        if not label:
            raise DataError(f"{path}:{row + 2}: empty label in column {label_column!r}.")
        tokens.append(words)
        labels.append(label)
    if split_column:
        names = [value.strip() for value in table[split_column]]
        unknown = sorted(set(names) - set(SPLITS))
        if unknown:
            raise DataError(f"{path}: column {split_column!r} holds {unknown[:5]}; expected "
                            f"only {SPLITS}.")
        assignment = np.array(names)
    else:
        order = np.random.default_rng(seed).permutation(len(tokens))
        cut = np.round(np.cumsum(CSV_FRACTIONS) * len(tokens)).astype(int)
        assignment = np.empty(len(tokens), dtype=object)
        for split, indices in zip(SPLITS, np.split(order, cut[:-1])):
            assignment[indices] = split
    splits = {}
    for split in SPLITS:
        rows = np.flatnonzero(assignment == split)
        if len(rows) == 0:
            raise DataError(f"{path}: the {split} split is empty ({len(tokens)} rows); "
                            "expected at least 10 rows, or a split column naming every "
                            "split.")
        splits[split] = UtteranceSplit(tokens=[tokens[i] for i in rows],
                                       labels=[labels[i] for i in rows])
    return UtteranceData(name=f"csv:{path}", tokenizer="nltk", files=(path,), **splits)


# --------------------------------------------------------------------------- built-in


def from_intent_corpus(corpus: intents.IntentCorpus) -> UtteranceData:
    """The generated corpus as ``UtteranceData`` (its text is ``word_tokenize``-stable)."""
    splits = {split: UtteranceSplit(tokens=corpus.split(split).tokens,
                                    labels=corpus.split(split).labels,
                                    tags=corpus.split(split).tags) for split in SPLITS}
    info = {"noise_rate": corpus.noise_rate, "expected_ceiling": corpus.expected_ceiling,
            "seed": corpus.seed}
    return UtteranceData(name=f"intents(seed={corpus.seed})", tokenizer="nltk",
                         ceiling=dict(corpus.ceiling), info=info, **splits)


def unseen_labels(train_labels: Sequence[str], labels: Sequence[str]) -> dict[str, int]:
    """Labels of ``labels`` that never occur in ``train_labels``, with their counts."""
    known = set(train_labels)
    counts: dict[str, int] = {}
    for label in labels:
        if label not in known:
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))

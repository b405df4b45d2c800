"""Parallel text for translation: a built-in language pair, loaders, vocabularies, batches.

Sources of sentence pairs (each gives train / valid / test splits of
``(source line, target line)``):

* ``generate_pairs(n, seed)``: the built-in **generated language pair** (nothing
  downloaded). The source language is verb-final and uninflected; the target is
  English-like: verb second, inflected. ``translate_generated`` is the exact
  translation, a deterministic function, so exact-match accuracy is well defined::

      source:  NP_subj NP_obj [NP_place PREP] [ADV] VERB [ne] [pa]
               NP = NOUN ADJ* [ta]              (adjectives after the noun; ta = plural)
               PREP = en | apud                 (postpositions)
      target:  NP_subj' VERB' NP_obj' [PREP' NP_place'] [ADV']
               NP'  = the ADJ'* NOUN'(+plural)   (adjectives before the noun, in
                                                  reverse source order)
               VERB' agrees with the subject:    present  sg "sees"   pl "see"
                                                 past (pa)   "saw"
                                                 ne (not):  "does not see" / "do not see"
                                                            / "did not see"

      kato granda ta hundo vidi pa  ->  the big cats saw the dog
      muso hundo nigra ofte cxasi ne ->  the mouse does not chase the black dog often
      viro fisxo ta vulpo en trovi   ->  the man finds the fish in the fox

* ``load_parallel_dir(data_dir, source_language, target_language)``: line-aligned
  files ``<split>[.<anything>].<lang>``: split ``train``; ``val``/``valid``/``dev``;
  ``test`` or ``test_2016_flickr`` (Multi30k). E.g. ``train.de`` or
  ``train.lc.norm.tok.de``. Without a validation file, 5% of train (seeded) is held out.
* ``load_pairs_file(path, source_column, target_column)``: a tab-separated file
  (Tatoeba / Anki / Keras ``lstm_seq2seq`` ``fra.txt``), one pair a line; a seeded
  shuffle then splits it 90/5/5 (such files are often sorted by length).

Every line is Unicode-normalized (NFC; no-break spaces, as in French typography,
become spaces; ``seqkit.data.tokenize.normalize``). Tokenization
(``TOKENIZERS``): ``word`` (NLTK-Treebank ``word_tokenize``), ``char`` (characters,
a space is a token) or ``space`` (split on spaces: for corpora that are already
tokenized, such as Multi30k's ``tok/`` files, whose Moses escapes like ``&apos;s``
``word`` would split). Pairs whose source or target has more than ``max_length``
tokens are dropped from train (never from valid/test, whose scores must cover every
sentence) and counted in ``TranslationData.dropped``.

Vocabularies are built on train: ``<pad>`` = 0, ``<unk>`` = 1, and in the target
also ``<bos>`` = 2, ``<eos>`` = 3; rarer tokens than ``min_count`` map to ``<unk>``.

Example:
    >>> data = load_translation_data()                       # the generated pair
    >>> batch = next(iter(batches(data.splits["train"], 32, shuffle=False)))
    >>> batch.source.shape[0], batch.target_inputs[0, 0] == data.target_vocab.id_of(BOS)
    (32, True)
"""
from __future__ import annotations

import collections
import dataclasses
import os
import re
from typing import Iterator, Sequence

import numpy as np

from seqkit.data import reading, tokenize
from seqkit.data.text import UNK, Vocabulary

PAD = tokenize.PAD
BOS = "<bos>"
EOS = "<eos>"
SOURCE_SPECIALS = (PAD, UNK)
TARGET_SPECIALS = (PAD, UNK, BOS, EOS)
TOKENIZERS = ("word", "char", "space")
SPLITS = ("train", "valid", "test")
# File-name split -> our split name.
SPLIT_NAMES = {"train": "train", "val": "valid", "valid": "valid", "dev": "valid",
               "test": "test", "test_2016_flickr": "test"}
HOLDOUT_FRACTION = 0.05


class DataError(ValueError):
    """Bad input data: the message names the file (and line), expected and received."""


# =========================================================================== generated pair

NOUNS = {  # source -> (target singular, target plural)
    "kato": ("cat", "cats"), "hundo": ("dog", "dogs"), "muso": ("mouse", "mice"),
    "birdo": ("bird", "birds"), "infano": ("child", "children"), "viro": ("man", "men"),
    "fisxo": ("fish", "fish"), "vulpo": ("fox", "foxes"),
}
ADJECTIVES = {"granda": "big", "eta": "small", "nigra": "black", "ruga": "red",
              "rapida": "fast", "maljuna": "old"}
VERBS = {  # source -> (base, 3rd person singular present, past)
    "vidi": ("see", "sees", "saw"), "cxasi": ("chase", "chases", "chased"),
    "sxati": ("like", "likes", "liked"), "sekvi": ("follow", "follows", "followed"),
    "trovi": ("find", "finds", "found"), "mangxi": ("eat", "eats", "ate"),
}
ADVERBS = {"ofte": "often", "hodiaux": "today", "rapide": "quickly"}
PREPOSITIONS = {"en": "in", "apud": "near"}
PLURAL, NEGATION, PAST = "ta", "ne", "pa"


def _noun_phrase(rng, max_adjectives):
    noun = rng.choice(sorted(NOUNS))
    count = rng.integers(0, max_adjectives + 1)
    adjectives = list(rng.choice(sorted(ADJECTIVES), size=count, replace=False))
    plural = bool(rng.integers(0, 2))
    return [noun] + adjectives + ([PLURAL] if plural else [])


def generate_source(rng, max_adjectives=2):
    """One random source sentence (a token list) of the generated language."""
    tokens = _noun_phrase(rng, max_adjectives) + _noun_phrase(rng, max_adjectives)
    if rng.random() < 0.3:
        tokens += _noun_phrase(rng, max_adjectives) + [rng.choice(sorted(PREPOSITIONS))]
    if rng.random() < 0.3:
        tokens.append(rng.choice(sorted(ADVERBS)))
    tokens.append(rng.choice(sorted(VERBS)))
    if rng.random() < 0.3:
        tokens.append(NEGATION)
    if rng.random() < 0.4:
        tokens.append(PAST)
    return tokens


def _parse_noun_phrase(tokens, start):
    """(target words, plural, next position) of the NP at ``tokens[start]``."""
    if start >= len(tokens) or tokens[start] not in NOUNS:
        raise ValueError(f"expected a noun at position {start} of {tokens}")
    noun = tokens[start]
    position = start + 1
    adjectives = []
    while position < len(tokens) and tokens[position] in ADJECTIVES:
        adjectives.append(ADJECTIVES[tokens[position]])
        position += 1
    plural = position < len(tokens) and tokens[position] == PLURAL
    if plural:
        position += 1
    words = ["the"] + adjectives[::-1] + [NOUNS[noun][1 if plural else 0]]
    return words, plural, position


def translate_generated(source: Sequence[str]) -> list[str]:
    """The exact translation of a generated-language sentence (token list -> token list).

    Raises ValueError for a sentence outside the grammar.

    Example:
        >>> translate_generated("kato granda ta hundo vidi pa".split())
        ['the', 'big', 'cats', 'saw', 'the', 'dog']
    """
    tokens = list(source)
    subject, plural, position = _parse_noun_phrase(tokens, 0)
    obj, _, position = _parse_noun_phrase(tokens, position)
    place = []
    if position < len(tokens) and tokens[position] in NOUNS:
        place, _, position = _parse_noun_phrase(tokens, position)
        if position >= len(tokens) or tokens[position] not in PREPOSITIONS:
            raise ValueError(f"expected a postposition at position {position} of {tokens}")
        place = [PREPOSITIONS[tokens[position]]] + place
        position += 1
    adverb = []
    if position < len(tokens) and tokens[position] in ADVERBS:
        adverb = [ADVERBS[tokens[position]]]
        position += 1
    if position >= len(tokens) or tokens[position] not in VERBS:
        raise ValueError(f"expected a verb at position {position} of {tokens}")
    base, singular, past_form = VERBS[tokens[position]]
    position += 1
    negated = position < len(tokens) and tokens[position] == NEGATION
    position += negated
    past = position < len(tokens) and tokens[position] == PAST
    position += past
    if position != len(tokens):
        raise ValueError(f"unexpected tokens {tokens[position:]} at the end of {tokens}")
    if negated:
        auxiliary = "did" if past else ("do" if plural else "does")
        verb = [auxiliary, "not", base]
    else:
        verb = [past_form if past else (base if plural else singular)]
    return subject + verb + obj + place + adverb


def generate_pairs(num_pairs: int, seed: int = 0, max_adjectives: int = 2
                   ) -> list[tuple[str, str]]:
    """``num_pairs`` distinct (source, target) sentence pairs of the generated language."""
    rng = np.random.default_rng(seed)
    seen, pairs = set(), []
    attempts = 0
    while len(pairs) < num_pairs:
        attempts += 1
        if attempts > 50 * num_pairs + 1000:
            raise ValueError(f"Received num_pairs={num_pairs}, more distinct sentences than "
                             f"the generated language has with max_adjectives="
                             f"{max_adjectives}.")
        source = " ".join(generate_source(rng, max_adjectives))
        if source in seen:
            continue
        seen.add(source)
        pairs.append((source, " ".join(translate_generated(source.split()))))
    return pairs


# =========================================================================== file loaders

_FILE_PATTERN = re.compile(r"^(?P<split>[^.]+)(?:\..+)?\.(?P<lang>[^.]+)$")


def find_parallel_files(data_dir):
    """{split: {language: path}} for the ``<split>[.<anything>].<lang>`` files in data_dir."""
    if not os.path.isdir(data_dir):
        raise DataError(f"--data_dir: {data_dir!r} is not a folder; expected a folder of "
                        "line-aligned files named <split>[.<anything>].<lang>, e.g. "
                        "train.de, train.en.")
    found = collections.defaultdict(dict)
    for name in sorted(os.listdir(data_dir)):
        match = _FILE_PATTERN.match(name)
        if not match or match["split"] not in SPLIT_NAMES:
            continue
        split, lang = SPLIT_NAMES[match["split"]], match["lang"]
        path = os.path.join(data_dir, name)
        if lang in found[split]:
            raise DataError(
                f"--data_dir: {data_dir!r} has two {split} files for language {lang!r}: "
                f"{os.path.basename(found[split][lang])!r} and {name!r}; expected one.")
        found[split][lang] = path
    return dict(found)


def _check_aligned(source_path, target_path, sources, targets):
    if len(sources) != len(targets):
        first = min(len(sources), len(targets)) + 1
        longer = source_path if len(sources) > len(targets) else target_path
        raise DataError(
            f"{source_path!r} has {len(sources)} lines but {target_path!r} has "
            f"{len(targets)}; expected line-aligned files (line i of one translates line i "
            f"of the other). Line {first} of {longer!r} has no partner.")
    for number, (source, target) in enumerate(zip(sources, targets), 1):
        if bool(source.strip()) != bool(target.strip()):
            empty, other = (source_path, target_path) if not source.strip() else (
                target_path, source_path)
            raise DataError(
                f"{empty!r} line {number} is empty but line {number} of {other!r} is not; "
                "expected a sentence on both sides (or both lines empty).")


def load_parallel_dir(data_dir, source_language, target_language, seed=0):
    """{split: [(source line, target line)]} from line-aligned files (see the module doc).

    Lines empty on both sides are skipped; empty on one side is an error.
    """
    found = find_parallel_files(data_dir)
    if "train" not in found:
        raise DataError(f"--data_dir: {data_dir!r} has no train.<lang> files; found "
                        f"{sorted(os.listdir(data_dir))}.")
    languages = sorted(found["train"])
    for flag, code in (("--source_language", source_language),
                       ("--target_language", target_language)):
        if code not in languages:
            raise DataError(f"{flag}: no {code!r} files in {data_dir!r}; the languages "
                            f"there are {languages}.")
    if source_language == target_language:
        raise DataError(f"--source_language and --target_language are both "
                        f"{source_language!r}; expected two different languages.")
    pairs = {}
    for split in SPLITS:
        files = found.get(split, {})
        if split != "train" and not files:
            continue
        for code in (source_language, target_language):
            if code not in files:
                raise DataError(f"--data_dir: {data_dir!r} has {split} files for "
                                f"{sorted(files)} but none for {code!r}.")
        source_path, target_path = files[source_language], files[target_language]
        sources = reading.read_lines(source_path, argument="--data_dir")
        targets = reading.read_lines(target_path, argument="--data_dir")
        _check_aligned(source_path, target_path, sources, targets)
        pairs[split] = [(s, t) for s, t in zip(sources, targets) if s.strip()]
    if "test" not in pairs:
        raise DataError(f"--data_dir: {data_dir!r} has no test files (test.<lang> or "
                        "test_2016_flickr.<lang>).")
    if "valid" not in pairs:
        pairs["train"], pairs["valid"] = _holdout(pairs["train"], seed)
    return pairs


def _holdout(pairs, seed, fraction=HOLDOUT_FRACTION):
    order = np.random.default_rng(seed).permutation(len(pairs))
    count = max(1, int(round(fraction * len(pairs))))
    held = set(order[:count].tolist())
    return ([p for i, p in enumerate(pairs) if i not in held],
            [pairs[i] for i in sorted(held)])


def load_pairs_file(path, source_column=0, target_column=1, seed=0):
    """{split: pairs} from a tab-separated file, shuffled (seeded) and cut 90/5/5."""
    if not os.path.isfile(path):
        raise DataError(f"--pairs_file: {path!r} is not a file; expected a tab-separated "
                        "file with one sentence pair a line.")
    needed = max(source_column, target_column) + 1
    pairs = []
    for number, line in enumerate(reading.read_lines(path, argument="--pairs_file"), 1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < needed:
            raise DataError(
                f"--pairs_file: {path!r} line {number} has {len(columns)} tab-separated "
                f"column(s); expected at least {needed} (--source_column={source_column}, "
                f"--target_column={target_column}, counted from 0). The line: {line[:80]!r}")
        source, target = columns[source_column], columns[target_column]
        if bool(source.strip()) != bool(target.strip()):
            side = "source" if not source.strip() else "target"
            raise DataError(f"--pairs_file: {path!r} line {number} has an empty {side} "
                            "column; expected a sentence on both sides.")
        if source.strip():
            pairs.append((source, target))
    if len(pairs) < 3:
        raise DataError(f"--pairs_file: {path!r} has {len(pairs)} sentence pair(s); expected "
                        "at least 3 (one each for train, valid and test).")
    order = np.random.default_rng(seed).permutation(len(pairs))
    held = max(1, int(round(HOLDOUT_FRACTION * len(pairs))))
    test = [pairs[i] for i in order[:held]]
    valid = [pairs[i] for i in order[held:2 * held]]
    train = [pairs[i] for i in order[2 * held:]]
    return {"train": train, "valid": valid, "test": test}


# =========================================================================== tokens and ids

def tokenizer(kind, lowercase=False):
    """A function: normalized text -> tokens, for ``kind`` in ``TOKENIZERS``."""
    if kind == "word":
        return lambda text: tokenize.word_tokenize(text, lowercase=lowercase)
    if kind == "char":
        return lambda text: tokenize.char_tokenize(text, lowercase=lowercase)
    if kind == "space":
        return lambda text: (text.lower() if lowercase else text).split()
    raise ValueError(f"Received an invalid value for argument `tokenize`, expected one of "
                     f"{list(TOKENIZERS)}, got {kind!r}.")


def detokenize(tokens, kind):
    """Tokens -> text: characters are concatenated, words joined by spaces."""
    return "".join(tokens) if kind == "char" else " ".join(tokens)


@dataclasses.dataclass
class Split:
    """One split: normalized texts, their tokens and ids (ids without <bos>/<eos>)."""
    source_texts: list
    target_texts: list
    source_tokens: list
    target_tokens: list
    source_ids: list
    target_ids: list

    def __len__(self):
        return len(self.source_texts)


@dataclasses.dataclass
class TranslationData:
    """Everything a translation run needs (see ``load_translation_data``)."""
    splits: dict
    source_vocab: Vocabulary
    target_vocab: Vocabulary
    tokenize: str
    lowercase: bool
    dropped: dict           # split -> pairs dropped by max_length
    description: str
    source_language: str = "src"
    target_language: str = "tgt"
    files: list = dataclasses.field(default_factory=list)

    @property
    def bos_id(self):
        return self.target_vocab.id_of(BOS)

    @property
    def eos_id(self):
        return self.target_vocab.id_of(EOS)


def _vocabulary(token_lists, specials, min_count, max_size):
    return tokenize.build_vocabulary(token_lists, min_count=min_count, max_size=max_size,
                                     specials=specials)


def build_data(pairs, tokenize_kind="word", lowercase=False, max_length=None, min_count=1,
               max_vocab_size=None, description="", source_language="src",
               target_language="tgt", files=()):
    """Normalize, tokenize, filter by ``max_length`` (train only), build vocabularies, encode."""
    split_tokens = tokenizer(tokenize_kind, lowercase)
    texts, dropped = {}, {}
    for split in SPLITS:
        rows = []
        for source, target in pairs[split]:
            source, target = tokenize.normalize(source), tokenize.normalize(target)
            rows.append((source, target, split_tokens(source), split_tokens(target)))
        kept = [row for row in rows if split != "train" or max_length is None or
                (len(row[2]) <= max_length and len(row[3]) <= max_length)]
        dropped[split] = len(rows) - len(kept)
        texts[split] = kept
    if not texts["train"]:
        raise DataError(f"--max_length={max_length} drops all {dropped['train']} training "
                        "pairs; expected a larger --max_length.")
    source_vocab = _vocabulary([row[2] for row in texts["train"]], SOURCE_SPECIALS, min_count,
                               max_vocab_size)
    target_vocab = _vocabulary([row[3] for row in texts["train"]], TARGET_SPECIALS, min_count,
                               max_vocab_size)
    splits = {}
    for split, rows in texts.items():
        splits[split] = Split(
            source_texts=[r[0] for r in rows], target_texts=[r[1] for r in rows],
            source_tokens=[r[2] for r in rows], target_tokens=[r[3] for r in rows],
            source_ids=[source_vocab.encode(r[2] or [UNK])[0] for r in rows],
            target_ids=[target_vocab.encode(r[3])[0] for r in rows])
    return TranslationData(splits=splits, source_vocab=source_vocab, target_vocab=target_vocab,
                           tokenize=tokenize_kind, lowercase=lowercase, dropped=dropped,
                           description=description, source_language=source_language,
                           target_language=target_language, files=list(files))


def load_translation_data(data_dir=None, source_language=None, target_language=None,
                          pairs_file=None, source_column=0, target_column=1,
                          tokenize_kind="word", lowercase=False, max_length=None,
                          min_count=1, max_vocab_size=None, num_generated=6000, seed=0):
    """Pairs from ``data_dir``, ``pairs_file`` or the generated language; see ``build_data``."""
    if data_dir and pairs_file:
        raise DataError("--data_dir and --pairs_file were both given; expected at most one.")
    if data_dir:
        if not source_language or not target_language:
            raise DataError("--data_dir needs --source_language and --target_language "
                            "(the <lang> suffixes of its files, e.g. de and en).")
        pairs = load_parallel_dir(data_dir, source_language, target_language, seed=seed)
        files = [path for split in find_parallel_files(data_dir).values()
                 for lang, path in split.items() if lang in (source_language, target_language)]
        return build_data(pairs, tokenize_kind, lowercase, max_length, min_count,
                          max_vocab_size, f"{data_dir} ({source_language}->{target_language})",
                          source_language, target_language, sorted(files))
    if pairs_file:
        pairs = load_pairs_file(pairs_file, source_column, target_column, seed=seed)
        return build_data(pairs, tokenize_kind, lowercase, max_length, min_count,
                          max_vocab_size, f"{pairs_file} (columns {source_column}->"
                          f"{target_column})", files=[pairs_file])
    generated = generate_pairs(num_generated, seed=seed)
    test = max(1, num_generated // 10)
    pairs = {"test": generated[:test], "valid": generated[test:2 * test],
             "train": generated[2 * test:]}
    return build_data(pairs, tokenize_kind, lowercase, max_length, min_count, max_vocab_size,
                      f"generated language pair ({num_generated} pairs, seed {seed})",
                      "generated", "english")


# =========================================================================== batches

@dataclasses.dataclass
class Batch:
    """Padded int32 arrays: source [B, S]; target_inputs = <bos> y; target_outputs = y <eos>."""
    source: np.ndarray
    target_inputs: np.ndarray
    target_outputs: np.ndarray
    indices: np.ndarray


def batches(split: Split, batch_size, shuffle=True, seed=0, bos_id=2, eos_id=3,
            pool_batches=50) -> Iterator[Batch]:
    """Batches of similar source lengths (less padding, faster steps).

    With ``shuffle`` the pairs are permuted (seeded), cut into pools of
    ``pool_batches`` batches, each pool sorted by source length and cut into
    batches, and the batch order shuffled; without, the split is sorted by length.
    """
    count = len(split)
    lengths = np.array([len(ids) for ids in split.source_ids])
    rng = np.random.default_rng(seed)
    order = rng.permutation(count) if shuffle else np.arange(count)
    pool = batch_size * pool_batches if shuffle else max(count, 1)
    chunks = []
    for start in range(0, count, pool):
        part = order[start:start + pool]
        part = part[np.argsort(lengths[part], kind="stable")]
        chunks.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    if shuffle:
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    for indices in chunks:
        yield make_batch(split, indices, bos_id, eos_id)


def make_batch(split, indices, bos_id=2, eos_id=3):
    source = tokenize.pad_batch([split.source_ids[i] for i in indices])
    inputs = tokenize.pad_batch([np.concatenate([[bos_id], split.target_ids[i]])
                                 for i in indices])
    outputs = tokenize.pad_batch([np.concatenate([split.target_ids[i], [eos_id]])
                                  for i in indices])
    return Batch(source, inputs, outputs, np.asarray(indices))


__all__ = ["BOS", "EOS", "PAD", "TOKENIZERS", "DataError", "TranslationData", "Split", "Batch",
           "generate_pairs", "translate_generated", "load_parallel_dir", "load_pairs_file",
           "load_translation_data", "build_data", "batches", "make_batch", "tokenizer",
           "detokenize", "find_parallel_files"]

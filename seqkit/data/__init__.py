"""Data for seqkit's experiments: language-model corpora and time series.

Language-model data (``experiments.lm``):

  grammar     the built-in corpus: a toy language with long-range agreement and
              brackets, generated with the exact log-probability of every token
              (so the best perplexity any model can reach, the floor, is known).
  text        Vocabulary, Corpus, load_corpus (PTB / WikiText in either layout /
              raw text / grammar), detokenize, batchify and iterate_bptt.

Time series (``experiments.forecast``):

  timeseries  a package: load_csv (CSV files, with a LoadReport of what was
              wrong in them), chronological splits, scaling fitted on training
              rows, windows, ETTh1, and a synthetic series with a known floor.

Shared:

  reading     text files read with an explicit ``encoding`` and clear errors
              (the argument, the file, the byte offset, the fix; binary files).
"""
from seqkit.data import timeseries  # noqa: F401
from seqkit.data.grammar import GrammarCorpus, GrammarParser, generate_corpus, score_tokens
from seqkit.data.text import (
    Corpus,
    Vocabulary,
    batchify,
    corpus_from_grammar,
    detokenize,
    iterate_bptt,
    load_corpus,
    load_ptb_style,
    load_text_file,
    load_wikitext_style,
    num_windows,
)

__all__ = [
    "Corpus",
    "GrammarCorpus",
    "GrammarParser",
    "Vocabulary",
    "batchify",
    "corpus_from_grammar",
    "detokenize",
    "generate_corpus",
    "iterate_bptt",
    "load_corpus",
    "load_ptb_style",
    "load_text_file",
    "load_wikitext_style",
    "num_windows",
    "score_tokens",
]

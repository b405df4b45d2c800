"""Language-model data: the built-in grammar corpus, loaders and BPTT batching.

  grammar   a toy language with long-range agreement and brackets, generated with
            the exact log-probability of every token (so the best perplexity any
            model can reach, the floor, is known).
  text      Vocabulary, Corpus, load_corpus (PTB / WikiText / raw text / grammar),
            batchify and iterate_bptt.
  timeseries  CSV / ETTh1 / synthetic series, scaling fitted on training rows, windows.
"""
from seqkit.data import timeseries  # noqa: F401
from seqkit.data.grammar import GrammarCorpus, GrammarParser, generate_corpus, score_tokens
from seqkit.data.text import (
    Corpus,
    Vocabulary,
    batchify,
    corpus_from_grammar,
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
    "generate_corpus",
    "iterate_bptt",
    "load_corpus",
    "load_ptb_style",
    "load_text_file",
    "load_wikitext_style",
    "num_windows",
    "score_tokens",
]

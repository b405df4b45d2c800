"""Settings (``Config``) and presets (``--config``) of ``python -m experiments.translate``.

* ``default``: the built-in generated language pair (``seqkit.data.translation``): a
  one-layer GRU encoder–decoder with Luong attention. Reaches >= 95% exact-match
  accuracy on its test split in a few minutes on 2 CPU cores (BUILD_NOTES.md).
* ``data``: your own parallel data (``--data_dir`` or ``--pairs_file``): a
  bidirectional GRU encoder with Luong attention over NLTK-style words.
* ``multi30k``: Multi30k German→English on the lowercased tokenized files
  (``--data_dir=../shared/data/multi30k/tok``), sized to train within 45 minutes on
  2 CPU cores; ``multi30k_lstm``: the same data, a 2-layer LSTM without attention
  (Sutskever et al. 2014; add ``--reverse_source``).
* ``test``: tiny, for tests (seconds).

Every field is a flag; flags given override the preset's values. With no
``--config``, ``default`` is used on the built-in pair and ``data`` on your data.

Example:
    >>> PRESETS["multi30k"].tokenize, PRESETS["default"].attention
    ('space', 'luong')
"""
import dataclasses

from seqkit import runs
from seqkit.data.translation import TOKENIZERS
from seqkit.seq2seq import ATTENTIONS

CELLS = ("lstm", "gru", "elman", "clockwork")


@dataclasses.dataclass(frozen=True)
class Config(runs.RunConfig):
    # Model.
    cell: str = runs.field("gru", "Recurrent cell of the encoder and decoder.", choices=CELLS)
    num_layers: int = runs.field(1, "Recurrent layers of the encoder and of the decoder.",
                                 lower=1)
    units: int = runs.field(128, "Units per layer (and direction).", lower=1)
    embedding_dim: int = runs.field(0, "Word vector width (0: --units).", lower=0)
    bidirectional: bool = runs.field(False, "Bidirectional encoder (its final states are "
                                     "bridged to the decoder).")
    attention: str = runs.field("luong", "Attention over the source: none, luong (general "
                                "score) or bahdanau (additive, context fed to the decoder).",
                                choices=ATTENTIONS)
    reverse_source: bool = runs.field(False, "Feed the source reversed (Sutskever et al. "
                                      "2014).")
    dropout: float = runs.field(0.1, "Dropout on embeddings, between layers and before the "
                                "softmax.", lower=0, below=1)
    tie_embeddings: bool = runs.field(False, "Output projection = target embedding "
                                      "transposed.")
    # Training.
    epochs: int = runs.field(15, "Training epochs (rerun with more to continue).", lower=1,
                             resumable=True)
    batch_size: int = runs.field(32, "Sentence pairs per step (global batch).", lower=1)
    learning_rate: float = runs.field(3e-3, "Adam learning rate.", above=0)
    max_grad_norm: float = runs.field(1.0, "Clip gradients to this global norm (0: no "
                                      "clipping).", lower=0)
    patience: int = runs.field(0, "Stop after this many epochs without a better validation "
                               "BLEU (0: never).", lower=0, resumable=True)
    # Decoding.
    beam_size: int = runs.field(1, "Default decoding of the test split, --translate and the "
                                "export: 1 = greedy, > 1 = beam search.", lower=1,
                                resumable=True)
    length_alpha: float = runs.field(0.6, "Beam search length normalization exponent (GNMT; "
                                     "0 = raw log-probability).", lower=0, resumable=True)
    max_decode_length: int = runs.field(80, "Most tokens a translation may have (<eos> "
                                        "included).", lower=1, resumable=True)
    # Text.
    tokenize: str = runs.field("word", "word (NLTK-style), char, or space (already "
                               "tokenized text, e.g. Multi30k tok/).", choices=TOKENIZERS)
    lowercase: bool = runs.field(False, "Lowercase the text.")
    max_length: int = runs.field(0, "Drop training pairs with more tokens on either side "
                                 "(0: no limit; the count is reported).", lower=0)
    min_count: int = runs.field(1, "Training occurrences a token needs for its own id.",
                                lower=1)
    max_vocab_size: int = runs.field(0, "At most this many ids per language (0: no limit).",
                                     lower=0)
    # Data: the built-in pair unless --data_dir or --pairs_file.
    data_dir: str = runs.field("", "Folder of line-aligned <split>[.<anything>].<lang> files.",
                               resumable=True)
    source_language: str = runs.field("", "--data_dir: the source files' <lang> suffix.")
    target_language: str = runs.field("", "--data_dir: the target files' <lang> suffix.")
    pairs_file: str = runs.field("", "Tab-separated sentence pairs (Tatoeba/Anki); seeded "
                                 "90/5/5 split.", resumable=True)
    source_column: int = runs.field(0, "--pairs_file: the source column (from 0).", lower=0)
    target_column: int = runs.field(1, "--pairs_file: the target column (from 0).", lower=0)
    num_generated: int = runs.field(6000, "Built-in pair: sentence pairs (80/10/10 split).",
                                    lower=30)
    # Outputs.
    num_examples: int = runs.field(5, "Test translations shown beside their references.",
                                   lower=0, resumable=True)
    plot: bool = runs.field(False, "Draw the attention of a few test sentences as "
                            "<train_dir>/attention.png.", resumable=True)
    export_dir: str = runs.field("", "Also export the SavedModel (raw text in, translation "
                                 "out) here.", resumable=True)
    translate: str = runs.field("", "Translate this text (or @file, one sentence a line) "
                                "with the finished --train_dir.", resumable=True)


PRESETS = {
    "default": Config(epochs=10),
    "data": Config(units=256, bidirectional=True, dropout=0.2, batch_size=64,
                   learning_rate=1e-3, epochs=10, min_count=2),
    "multi30k": Config(units=256, bidirectional=True, dropout=0.2, batch_size=64,
                       learning_rate=1e-3, epochs=4, tokenize="space", min_count=2,
                       source_language="de", target_language="en", beam_size=5),
    "multi30k_lstm": Config(cell="lstm", num_layers=2, units=256, attention="none",
                            dropout=0.2, batch_size=64, learning_rate=1e-3, epochs=6,
                            tokenize="space", min_count=2, source_language="de",
                            target_language="en"),
    "test": Config(units=8, epochs=1, num_generated=60, batch_size=8, max_decode_length=8,
                   num_examples=2),
}


def default_preset(overrides):
    """``default`` on the built-in pair, ``data`` on the user's data."""
    return "data" if overrides.get("data_dir") or overrides.get("pairs_file") else "default"

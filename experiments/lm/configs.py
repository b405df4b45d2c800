"""The language model's settings (``Config``) and presets (``--config``).

``small``, ``medium``, ``large`` and ``test`` are Zaremba, Sutskever & Vinyals
(2014) / TensorFlow's PTB tutorial: SGD with learning rate 1 (for the LSTM they
were tuned for; other cells start lower, ``CELL_LEARNING_RATES``), kept for
``decay_after`` epochs and then multiplied by ``lr_decay`` every epoch,
gradients clipped to global norm ``max_grad_norm``, weights uniform in
±``init_scale``, dropout (1 − keep_prob) on the non-recurrent connections.
``builtin`` is sized for the built-in grammar corpus: it reaches within 10% of
that corpus's floor perplexity in a few minutes on 2 CPU cores.

Every field is a flag of ``python -m experiments.lm`` (``seqkit.runs``); a flag
given on the command line overrides the preset's value.

Example:
    >>> PRESETS["medium"].hidden_size, PRESETS["medium"].replace(cell="gru").cell
    (650, 'gru')
"""

import dataclasses

from seqkit import runs

CELLS = ("lstm", "gru", "elman", "clockwork")


@dataclasses.dataclass(frozen=True)
class Config(runs.RunConfig):
    # Model.
    cell: str = runs.field("lstm", "Recurrent cell.", choices=CELLS)
    num_layers: int = runs.field(2, "Recurrent layers.", lower=1)
    hidden_size: int = runs.field(200, "Units per layer (and embedding size).", lower=1)
    dropout: float = runs.field(0.0, "Dropout on non-recurrent connections.", lower=0, below=1)
    recurrent_dropout: float = runs.field(0.0, "Variational dropout inside the recurrence.",
                                          lower=0, below=1)
    tie_embeddings: bool = runs.field(False, "Share input and output embeddings.")
    use_peepholes: bool = runs.field(False, "Peephole connections (Gers & Schmidhuber 2000): "
                                     "the gates also read the cell state; --cell=lstm only.")
    init_scale: float = runs.field(0.1, "Uniform init range ±init_scale (0: Keras defaults).",
                                   lower=0)
    # Training.
    epochs: int = runs.field(13, "Training epochs (rerun with more to continue).", lower=1,
                             resumable=True)
    num_steps: int = runs.field(20, "Truncated-BPTT window length.", lower=1)
    batch_size: int = runs.field(20, "Parallel streams (global batch).", lower=1)
    learning_rate: float = runs.field(
        0.0, "SGD learning rate; 0 (the default) takes the cell's: 1 for lstm (Zaremba et "
        "al.), 0.3 for gru, elman and clockwork, which diverge or stall at 1.", lower=0)
    lr_decay: float = runs.field(0.5, "Learning-rate factor per epoch after --decay_after.",
                                 above=0, upper=1)
    decay_after: int = runs.field(4, "Epochs at the full learning rate.", lower=0)
    max_grad_norm: float = runs.field(5.0, "Clip gradients to this global norm (0 = no "
                                      "clipping).", lower=0)
    eval_batch_size: int = runs.field(1, "Streams for valid/test (1 = one stream).", lower=1,
                                      resumable=True)
    # Data (the data fingerprint, not the path, decides whether a run may resume).
    data_dir: str = runs.field("", "Folder with ptb.{train,valid,test}.txt, "
                               "wiki.{train,valid,test}.tokens or {train,valid,test}.txt.",
                               resumable=True)
    text_file: str = runs.field("", "One raw text file, split 90/5/5.", resumable=True)
    level: str = runs.field("word", "Tokens of --text_file.", choices=("word", "char"))
    encoding: str = runs.field("utf-8", "Text encoding of the data files.",
                               check=runs.text_encoding, resumable=True)
    # Outputs.
    sample_tokens: int = runs.field(30, "Tokens to generate after training.", lower=0,
                                    resumable=True)
    prompt: str = runs.field("", "Prompt for the generated sample.", resumable=True)
    temperature: float = runs.field(1.0, "Sampling temperature (0 = greedy).", lower=0,
                                    resumable=True)
    export_dir: str = runs.field("", "Also export a SavedModel here.", resumable=True)


PRESETS = {
    "small": Config(),
    "medium": Config(
        hidden_size=650, num_steps=35, epochs=39, decay_after=6, lr_decay=0.8,
        dropout=0.5, init_scale=0.05,
    ),
    "large": Config(
        hidden_size=1500, num_steps=35, epochs=55, decay_after=14, lr_decay=1 / 1.15,
        dropout=0.65, init_scale=0.04, max_grad_norm=10.0,
    ),
    "test": Config(
        num_layers=1, hidden_size=2, num_steps=2, epochs=1, decay_after=1, max_grad_norm=1.0,
        sample_tokens=5,
    ),
    "builtin": Config(
        hidden_size=128, num_steps=35, batch_size=32, epochs=8,
        decay_after=4, lr_decay=0.5, max_grad_norm=5.0, init_scale=0.1, eval_batch_size=16,
    ),
}
CONFIGS = PRESETS  # the name the README and older code use

# The learning rate each cell starts from when --learning_rate is 0 (the default).
# Zaremba et al.'s 1.0 was tuned for the LSTM. With it, on the built-in corpus
# (`python -m experiments.lm --cell=C --learning_rate=L`, 8 epochs, test perplexity
# over the floor) GRU reached 1.036 (0.3: 1.020), Clockwork 2.08 (0.3: 1.067), and
# Elman diverged (7.41; 0.3: 1.036); on a 335,000-character text (--level=char,
# 3 epochs) Elman diverged to a validation perplexity of 10^8 (0.3: 5.38) and GRU
# got worse after its first epoch (7.49; 0.3: 3.95). BUILD_NOTES.md has the runs.
CELL_LEARNING_RATES = {"lstm": 1.0, "gru": 0.3, "elman": 0.3, "clockwork": 0.3}


def base_learning_rate(config):
    """``config.learning_rate``, or the cell's default (``CELL_LEARNING_RATES``) when 0.

    Example:
        >>> base_learning_rate(PRESETS["small"]), base_learning_rate(PRESETS["small"].replace(cell="gru"))
        (1.0, 0.3)
        >>> base_learning_rate(PRESETS["small"].replace(cell="gru", learning_rate=0.7))
        0.7
    """
    return config.learning_rate or CELL_LEARNING_RATES[config.cell]


def get_config(name):
    """A copy of preset ``name`` (a UsageError lists the presets for an unknown name)."""
    if name not in PRESETS:
        raise runs.UsageError(f"--config: expected one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]


def default_preset(overrides):
    """``builtin`` on the built-in corpus, ``small`` on the user's data."""
    return "small" if overrides.get("data_dir") or overrides.get("text_file") else "builtin"

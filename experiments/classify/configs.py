"""Settings (``Config``) and presets (``--config``) of ``python -m experiments.classify``.

* ``default``: the built-in generated corpus (``seqkit.data.intents``): a one-layer
  LSTM reading the utterance word by word, the intent from its last output, slots
  tagged jointly. Reaches the corpus's ceiling (to within a point) in a few minutes on
  2 CPU cores.
* ``snips``: the SNIPS benchmark (``--data_dir=../shared/data/snips``): a bidirectional
  LSTM joint intent + slot model with attention pooling and character features (a
  char-CNN vector per word, for the many test words unseen in training; BUILD_NOTES.md
  has the figures).
* ``test``: tiny, for tests (seconds).

Every field is a flag; flags given override the preset's values.

Example:
    >>> PRESETS["snips"].bidirectional, PRESETS["default"].pooling
    (True, 'last')
"""
import dataclasses

from seqkit import runs
from seqkit.classifier import POOLINGS

CELLS = ("lstm", "gru", "elman", "clockwork")
TASKS = ("auto", "intent", "slots", "joint")


@dataclasses.dataclass(frozen=True)
class Config(runs.RunConfig):
    # Model.
    cell: str = runs.field("lstm", "Recurrent cell of the encoder.", choices=CELLS)
    num_layers: int = runs.field(1, "Recurrent layers.", lower=1)
    units: int = runs.field(64, "Units per layer (and direction).", lower=1)
    bidirectional: bool = runs.field(False, "Read the utterance in both directions "
                                     "(outputs concatenated).")
    embedding_dim: int = runs.field(64, "Word vector width.", lower=1)
    dropout: float = runs.field(0.0, "Dropout on embeddings, between layers and on the "
                                "encoder outputs.", lower=0, below=1)
    recurrent_dropout: float = runs.field(0.0, "Variational dropout on the recurrent state.",
                                          lower=0, below=1)
    char_features: bool = runs.field(False, "Append a character CNN's vector (max-pooled "
                                     "over the word's characters) to each word vector, so "
                                     "unseen words keep their spelling.")
    char_embedding_dim: int = runs.field(32, "--char_features: character vector width.",
                                         lower=1)
    char_filters: int = runs.field(64, "--char_features: the character CNN's output width.",
                                   lower=1)
    pooling: str = runs.field("last", "How the intent reads the encoder's outputs: the "
                              "last valid step (bidirectional: forward last + backward "
                              "first), mean, max or additive attention.", choices=POOLINGS)
    task: str = runs.field("auto", "intent, slots (tagging only) or joint (sum of the "
                           "losses); auto: joint when the data has slot tags, else intent.",
                           choices=TASKS)
    slot_decoding: str = runs.field("bio", "Slot tags: greedy (each word's most probable "
                                    "tag) or bio (the most probable sequence that obeys "
                                    "BIO, Viterbi).", choices=("greedy", "bio"),
                                    resumable=True)
    # Training.
    epochs: int = runs.field(8, "Training epochs (rerun with more to continue).", lower=1,
                             resumable=True)
    batch_size: int = runs.field(64, "Utterances per step (global batch).", lower=1)
    learning_rate: float = runs.field(3e-3, "Adam learning rate.", above=0)
    max_grad_norm: float = runs.field(5.0, "Clip gradients to this global norm (0: no "
                                      "clipping).", lower=0)
    word_dropout: float = runs.field(0.0, "Probability that a training word is replaced by "
                                     "<unk> (teaches the model unseen words).", lower=0,
                                     below=1)
    patience: int = runs.field(0, "Stop after this many epochs without a better validation "
                               "score (0: never).", lower=0, resumable=True)
    # Text.
    lowercase: bool = runs.field(True, "Lowercase the words.")
    min_count: int = runs.field(1, "Training occurrences a word needs for its own id "
                                "(rarer words become <unk>).", lower=1)
    max_length: int = runs.field(0, "Cut training utterances to this many words (0: no "
                                 "limit).", lower=0)
    # Data: the built-in corpus unless --data_dir or --csv.
    data_dir: str = runs.field("", "SLU folder: {train,valid,test}/seq.in, label and "
                               "optional seq.out.", resumable=True)
    csv: str = runs.field("", "CSV table of utterances (--text_column, --label_column).",
                          resumable=True)
    text_column: str = runs.field("text", "--csv: the utterance column.")
    label_column: str = runs.field("label", "--csv: the intent column.")
    split_column: str = runs.field("", "--csv: a column of train/valid/test (default: a "
                                   "seeded 80/10/10 split).")
    corpus_size: int = runs.field(6000, "Built-in corpus: training utterances (valid and "
                                  "test get a quarter each).", lower=8)
    noise_rate: float = runs.field(0.05, "Built-in corpus: probability that a label is "
                                   "replaced by another intent (the ceiling is 1 - it).",
                                   lower=0, below=0.8)
    # Baseline, outputs, prediction.
    bow_epochs: int = runs.field(30, "Epochs of the bag-of-words baseline (early stopped on "
                                 "validation loss).", lower=1, resumable=True)
    plot: bool = runs.field(False, "Write the test confusion matrix as "
                            "<train_dir>/confusion_matrix.png.", resumable=True)
    export_dir: str = runs.field("", "Also export a SavedModel (raw text in, intent and "
                                 "slots out) here.", resumable=True)
    predict: str = runs.field("", "Classify this utterance with the finished --train_dir "
                              "(no training); @path: one utterance per line of a file.",
                              resumable=True)


PRESETS = {
    "default": Config(),
    "snips": Config(bidirectional=True, units=128, embedding_dim=128, dropout=0.3,
                    pooling="attention", epochs=12, batch_size=32, learning_rate=2e-3,
                    word_dropout=0.1, char_features=True,
                    bow_epochs=30),
    "test": Config(units=8, embedding_dim=8, epochs=1, batch_size=16, corpus_size=120,
                   bow_epochs=2),
}

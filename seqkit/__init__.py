"""seqkit: readable, exact and fast recurrent sequence models for Keras 3.

Modules:
  seqkit.layers          Elman, LSTM, GRU and Clockwork cells and layers (Keras drop-ins).
  seqkit.inspect         gate_trace: every gate's activation at every time step.
  seqkit.builders        stacked, bidirectional and deep bidirectional networks.
  seqkit.language_model  the language model used by ``python -m experiments.lm``.
  seqkit.data            built-in corpora and series, loaders for PTB/WikiText/CSV files.
  seqkit.export          SavedModel export that runs without seqkit.

Importing ``seqkit`` registers every seqkit layer and model with Keras (package
"seqkit"), so ``keras.saving.load_model`` can read any ``.keras`` file that uses them.
"""

__version__ = "0.1.0"

# Registration with Keras's serialization happens on import.
from seqkit import builders, layers, language_model  # noqa: E402,F401

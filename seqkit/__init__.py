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

seqkit runs on Keras 3's TensorFlow backend only (its fast path and export are
TensorFlow code): ``import seqkit`` with ``KERAS_BACKEND=jax`` (or ``torch``, or
``"backend"`` set so in ``keras.json``) raises ``ImportError`` at once.
"""

import json
import os
import sys

__version__ = "0.1.0"


def check_backend(backend, source):
    """Raise ImportError unless ``backend`` (read from ``source``) is "tensorflow"."""
    if backend and backend != "tensorflow":
        raise ImportError(
            f"seqkit runs on the TensorFlow backend of Keras 3, but {source} selects "
            f"the {backend!r} backend. Set the environment variable "
            f"KERAS_BACKEND=tensorflow before Python starts (it overrides keras.json)."
        )


def _configured_backend():
    """(backend, where it was set) as Keras will resolve it, without importing Keras.

    The check must come before ``import keras``: Keras imports the chosen backend
    at once (``jax``, ``torch``), which may not even be installed. Keras's rule:
    a non-empty ``KERAS_BACKEND`` wins over ``"backend"`` in
    ``$KERAS_HOME/keras.json`` (default ``~/.keras``, or ``/tmp/.keras`` when the
    home folder is not writable).
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    path = os.path.join(os.path.expanduser(folder), "keras.json")
    try:
        with open(path) as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        return None, None
    return backend, f'"backend" in {path}'


if "keras" in sys.modules:  # Keras already chose its backend
    check_backend(sys.modules["keras"].config.backend(), "keras.config.backend()")
else:
    check_backend(*_configured_backend())

import keras  # noqa: E402

check_backend(keras.config.backend(), "keras.config.backend()")

# Registration with Keras's serialization happens on import.
from seqkit import builders, forecaster, layers, language_model  # noqa: E402,F401

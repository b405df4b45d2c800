"""seqkit's experiments, each ``python -m experiments.<name>`` on the ``seqkit.runs`` harness.

TensorFlow's C++ logging is set up once, when TensorFlow loads, so it is quieted
here, before any experiment imports TensorFlow: unless the command line asks
for ``--verbosity=1`` (or ``-v 1``), ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 and
what TensorFlow prints to stderr while it loads (oneDNN and CUDA notices,
"All log messages before absl::InitializeLog()") is held back, and shown only
if the import fails. ``seqkit.runs.main`` quiets the Python-side INFO lines.
"""

import os as _os
import sys as _sys
import tempfile as _tempfile


def _verbosity(argv):
    for i, arg in enumerate(argv):
        for prefix in ("--verbosity=", "-v="):
            if arg.startswith(prefix) and arg[len(prefix):].lstrip("-").isdigit():
                return int(arg[len(prefix):])
        if arg in ("--verbosity", "-v") and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
    return 0


def _import_tensorflow_quietly():
    """Import TensorFlow with file descriptor 2 parked in a temporary file."""
    _sys.stderr.flush()
    saved = _os.dup(2)
    with _tempfile.TemporaryFile() as held:
        _os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            _os.dup2(saved, 2)
            held.seek(0)
            _sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            _os.dup2(saved, 2)
            _os.close(saved)


# Only for ``python -m experiments.<name>`` (sys.argv[0] is "-m" while Python
# finds the module); an ``import experiments`` in a program changes nothing.
if _sys.argv[:1] == ["-m"] and "tensorflow" not in _sys.modules:
    if _verbosity(_sys.argv) < 1:
        _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _import_tensorflow_quietly()
    else:
        _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")

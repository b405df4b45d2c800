"""Run bookkeeping shared by the experiments: train dirs, atomic files, seeds, checkpoints.

Nothing is lost: every file a run writes goes to a temporary name beside the
target and is renamed into place (``os.replace`` is atomic on POSIX), so a run
killed at any moment leaves either the old file or the new one, never half of one.
"""

import json
import os
import random
import tempfile

import numpy as np


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def prepare_train_dir(train_dir):
    """Create ``train_dir`` if needed and prove it is writable, before any training.

    Raises a ValueError naming ``train_dir`` when it cannot be created or written.
    """
    if not train_dir:
        raise ValueError("Received an invalid value for argument `train_dir`: it is empty.")
    try:
        os.makedirs(train_dir, exist_ok=True)
        probe = os.path.join(train_dir, ".write-test")
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write("ok")
        os.remove(probe)
    except OSError as error:
        raise ValueError(
            f"Received an invalid value for argument `train_dir`: {train_dir!r} is "
            f"not a writable directory ({error.strerror or error})."
        ) from error
    return train_dir


def write_config(train_dir, config, name="flags.json"):
    """Write the resolved configuration next to the checkpoints, so results trace back."""
    atomic_write_json(os.path.join(train_dir, name), dict(config))


def write_results(train_dir, results, name="results.json"):
    atomic_write_json(os.path.join(train_dir, name), results)


def set_seed(seed):
    """Seed Python, NumPy, TensorFlow and Keras so a run is repeatable."""
    import keras  # Imported here so the data modules stay TensorFlow-free.

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def check_finite(loss, step, checkpoint_dir=None):
    """Raise ``NonFiniteLossError`` with a clear message if ``loss`` is NaN or inf."""
    value = float(loss)
    if not np.isfinite(value):
        where = f" The last good checkpoint is in {checkpoint_dir!r}." if checkpoint_dir else ""
        raise NonFiniteLossError(
            f"The training loss became {value} at step {step}; stopping.{where} "
            f"Try a lower --learning_rate or a smaller --max_grad_norm."
        )
    return value

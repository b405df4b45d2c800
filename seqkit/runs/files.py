"""Files a run writes: atomic, strict JSON, through ``tf.io.gfile``, with the user's umask.

Every path goes through ``tf.io.gfile``, so a train dir may live on any
TensorFlow filesystem (``gs://bucket/run``, ``ram://run`` in tests) instead of
turning into a local folder named ``gs:``. On a local disk a file is written to
a temporary name beside its target and renamed into place (``os.replace`` is
atomic on POSIX), so a run killed at any moment leaves the old file or the new
one, never half of one; on other filesystems the temporary file is renamed with
``tf.io.gfile.rename`` (as atomic as that filesystem's rename).

Results files are strict JSON: ``NaN`` and ``Infinity`` are not JSON, so a
metric that could not be computed is written as ``null`` and the reason is logged.
"""

import json
import math
import os
import socket
import tempfile

import numpy as np
from absl import logging

import tensorflow as tf


def is_local(path):
    """True for a path on the local disk (no ``scheme://`` prefix, or ``file://``)."""
    path = os.fspath(path)
    return "://" not in path or path.startswith("file://")


def _local(path):
    path = os.fspath(path)
    return path[len("file://"):] if path.startswith("file://") else path


def join(*parts):
    """``os.path.join`` that keeps a ``scheme://`` prefix intact (``gs://b`` + ``x``)."""
    parts = [os.fspath(p) for p in parts]
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]]) \
        if not is_local(parts[0]) else os.path.join(*parts)


def umask():
    """The process's file-creation mask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def makedirs(path):
    tf.io.gfile.makedirs(os.fspath(path))


def exists(path):
    return tf.io.gfile.exists(os.fspath(path))


def read_text(path):
    with tf.io.gfile.GFile(os.fspath(path), "r") as handle:
        return handle.read()


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (temporary file beside it, then rename).

    The file gets the mode a plain ``open(path, "w")`` would give it
    (``0o666`` minus the umask), not ``mkstemp``'s private ``0o600``.
    ``text`` may be ``bytes`` (written as they are) or ``str`` (UTF-8).
    """
    binary = isinstance(text, bytes)
    path = os.fspath(path)
    if not is_local(path):
        folder = path.rsplit("/", 1)[0]
        tf.io.gfile.makedirs(folder)
        temp = f"{folder}/.tmp-{os.getpid()}-{path.rsplit('/', 1)[1]}"
        with tf.io.gfile.GFile(temp, "wb" if binary else "w") as handle:
            handle.write(text)
        tf.io.gfile.rename(temp, path, overwrite=True)
        return
    path = _local(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def strict_json(value, where="", reasons=None):
    """``value`` with every NaN/inf float replaced by ``None`` (strict JSON).

    NumPy scalars and arrays become Python numbers and lists, tuples become
    lists. Each replacement is logged as a warning naming the key, so a
    ``null`` in a results file always has a reason in the log.

    Example:
        >>> strict_json({"test_mse": float("nan"), "n": np.int64(3)})
        {'test_mse': None, 'n': 3}
    """
    if isinstance(value, dict):
        return {str(k): strict_json(v, f"{where}.{k}" if where else str(k), reasons)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v, f"{where}[{i}]", reasons) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return strict_json(value.tolist(), where, reasons)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return value
        logging.warning("%s is %s: written as null (the metric could not be computed: "
                        "the model's output or the data holds non-finite values)",
                        where or "value", value)
        return None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def dumps(obj, indent=None):
    """Strict JSON text of ``obj`` (see ``strict_json``); sorted keys."""
    return json.dumps(strict_json(obj), indent=indent, sort_keys=True, allow_nan=False)


def atomic_write_json(path, obj):
    """Write ``obj`` as strict, indented JSON to ``path`` atomically."""
    atomic_write_text(path, dumps(obj, indent=2) + "\n")


def read_json(path):
    return json.loads(read_text(path))


# ---------------------------------------------------------------- the train-dir lock


class TrainDirLock:
    """``<train_dir>/.lock``: refuses a second run on a train dir while one is running.

    The file holds the owner's pid and host. A lock whose owner is on this
    host and no longer alive is stale (a killed run) and is taken over with a
    warning; a live owner, or one on another host (which cannot be checked),
    is a ``RunInUseError`` naming both and the file to delete if that run is
    known to be gone. Local files are created with ``O_EXCL``, so two runs
    racing for the lock cannot both get it.
    """

    def __init__(self, train_dir):
        self.path = join(train_dir, ".lock")
        self.owner = {"pid": os.getpid(), "host": socket.gethostname()}
        self.held = False

    def acquire(self):
        from seqkit.runs.errors import UsageError

        for _ in range(3):
            if self._create():
                self.held = True
                return self
            try:
                holder = json.loads(read_text(self.path))
            except (tf.errors.NotFoundError, ValueError):
                holder = None  # released meanwhile, or half written: look again
                if exists(self.path):
                    holder = {}
            if holder is None:
                continue
            if holder.get("host") == self.owner["host"] and not _alive(holder.get("pid")):
                logging.warning("taking over the stale lock %s of process %s, which is gone",
                                self.path, holder.get("pid"))
                tf.io.gfile.remove(self.path)
                continue
            if holder.get("host") == self.owner["host"] and holder.get("pid") == os.getpid():
                raise UsageError(f"--train_dir: this process already runs in it ({self.path}).")
            raise UsageError(
                f"--train_dir: another run (pid {holder.get('pid')} on "
                f"{holder.get('host')!r}) is using it; wait for it to end, use another "
                f"--train_dir, or delete {self.path} if that run is gone.")
        raise UsageError(f"--train_dir: could not take the lock {self.path}.")

    def _create(self):
        text = json.dumps(self.owner)
        if is_local(self.path):
            try:
                fd = os.open(_local(self.path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            return True
        if exists(self.path):
            return False
        with tf.io.gfile.GFile(self.path, "w") as handle:
            handle.write(text)
        return True

    def release(self):
        if self.held:
            self.held = False
            try:
                tf.io.gfile.remove(self.path)
            except tf.errors.NotFoundError:
                pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def file_digest(path, chunk=1 << 20):
    """``{"name", "bytes", "sha256"}`` of a data file, for a run's data fingerprint.

    Only the base name is kept: the same file in another folder is the same data.
    """
    import hashlib

    digest, size = hashlib.sha256(), 0
    with tf.io.gfile.GFile(os.fspath(path), "rb") as handle:
        while True:
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return {"name": os.path.basename(os.fspath(path)), "bytes": size,
            "sha256": digest.hexdigest()}

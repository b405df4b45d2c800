"""Export trained models as TensorFlow SavedModels that run without seqkit.

``export_model(model, path)`` wraps Keras's ``model.export`` (a SavedModel whose
``serve``/``serving_default`` signature runs the model) with an atomic write:
the SavedModel is written into a temporary folder beside ``path`` and renamed
into place, so a failed export leaves the previous one intact. Specialised
exporters (language models, forecasters) live in the submodules and use
``atomic_directory`` the same way.
"""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary folder beside ``path``; on success it replaces ``path``.

    On any exception the temporary folder is removed and ``path`` is untouched.
    The swap renames the old export aside first, so at every instant ``path``
    holds either the complete old or the complete new export.
    """
    path = os.fspath(path)
    if "://" in path and not path.startswith("file://"):
        # Another TensorFlow filesystem (gs://, ram://): through tf.io.gfile.
        with _gfile_directory(path) as temp:
            yield temp
        return
    path = os.path.abspath(path[len("file://"):] if path.startswith("file://") else path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(prefix=".old-export-", dir=parent)
        os.rmdir(old)
        os.replace(path, old)
    os.replace(temp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _gfile_directory(path):
    import tensorflow as tf

    gfile = tf.io.gfile
    path = path.rstrip("/")
    parent = path.rsplit("/", 1)[0]
    gfile.makedirs(parent)
    temp = f"{path}.tmp-export-{os.getpid()}"
    _remove_tree(temp)
    gfile.makedirs(temp)
    try:
        yield temp
    except BaseException:
        _remove_tree(temp)
        raise
    # Object stores have no directory rename (and TensorFlow's ram:// renames
    # a folder's name but not its files): replace the old export file by file.
    # Not atomic; the complete new export is in `temp` until the copy is done.
    _remove_tree(path)
    for folder, _, names in gfile.walk(temp):
        target = path + folder[len(temp):]
        gfile.makedirs(target)
        for name in names:
            gfile.copy(f"{folder}/{name}", f"{target}/{name}", overwrite=True)
    _remove_tree(temp)


def _remove_tree(path):
    """Delete ``path`` and everything under it, file by file."""
    import tensorflow as tf

    gfile = tf.io.gfile
    if not gfile.exists(path):
        return
    # TensorFlow's ram:// filesystem (used in tests) implements neither delete:
    # there the files are left and overwritten by the copy.
    try:
        for folder, _, names in gfile.walk(path):
            for name in names:
                gfile.remove(f"{folder}/{name}")
        gfile.rmtree(path)
    except tf.errors.OpError:
        pass


def export_model(model, path, **export_kwargs):
    """``model.export(path)`` (a SavedModel), written atomically. Returns ``path``."""
    with atomic_directory(path) as temp:
        # model.export wants to create the folder itself.
        target = os.path.join(temp, "model")
        # verbose=False: Keras would print the temporary folder's path.
        model.export(target, **{"verbose": False, **export_kwargs})
        for name in os.listdir(target):
            os.replace(os.path.join(target, name), os.path.join(temp, name))
        os.rmdir(target)
    return path

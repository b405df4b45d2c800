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
    path = os.path.abspath(path)
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

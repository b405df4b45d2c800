"""``import seqkit`` on a Keras backend other than TensorFlow fails at once, clearly.

Run in subprocesses: the backend is fixed when Keras is first imported. Neither
jax nor torch needs to be installed: the check reads the setting before Keras
imports the backend (were it after, the error would be "No module named 'jax'"
or a failure deep inside TensorFlow-specific code).
"""

import json
import os
import subprocess
import sys

import pytest

import seqkit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_seqkit(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", "import seqkit.layers"],
        capture_output=True, text=True, cwd=ROOT, env=environment, timeout=300,
    )


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_backend_variable_other_than_tensorflow_fails_at_import(tmp_path, backend):
    result = import_seqkit(tmp_path, KERAS_BACKEND=backend, KERAS_HOME=str(tmp_path))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: seqkit runs on the TensorFlow backend")
    assert "KERAS_BACKEND" in last_line and repr(backend) in last_line
    assert "KERAS_BACKEND=tensorflow" in last_line  # the fix


def test_keras_json_backend_other_than_tensorflow_fails_at_import(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    result = import_seqkit(tmp_path, KERAS_HOME=str(tmp_path))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImportError" in last_line and "'jax'" in last_line
    assert str(tmp_path / "keras.json") in last_line


def test_tensorflow_backend_variable_overrides_keras_json(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    result = import_seqkit(tmp_path, KERAS_HOME=str(tmp_path), KERAS_BACKEND="tensorflow")
    assert result.returncode == 0, result.stderr[-2000:]


def test_check_backend_accepts_only_tensorflow():
    seqkit.check_backend("tensorflow", "keras.config.backend()")
    seqkit.check_backend(None, None)  # nothing configured: Keras's default, TensorFlow
    with pytest.raises(ImportError, match=r"keras.config.backend\(\) selects the 'jax'"):
        seqkit.check_backend("jax", "keras.config.backend()")

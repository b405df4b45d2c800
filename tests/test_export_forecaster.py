"""seqkit.export.forecaster: a SavedModel that forecasts raw windows without seqkit."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from experiments.forecast import configs, models
from seqkit.data import timeseries as ts
from seqkit.export import forecaster as export_lib
from tests.helpers import half_written_save, run_without_seqkit

INPUT_LENGTH, HORIZON = 24, 12


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny forecaster (3 targets + 4 calendar features) exported once."""
    data = ts.synthetic(n_rows=1200, seed=3)
    config = configs.get_config("test")
    model = models.build_model(config, num_inputs=7, target_channels=[0, 1, 2])
    # Non-trivial weights: the default bias-free start could hide a scaling bug.
    rng = np.random.default_rng(0)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape) for w in model.get_weights()])
    path = str(tmp_path_factory.mktemp("export") / "forecaster")
    export_lib.export_forecaster(model, data.scaler(), path, INPUT_LENGTH, HORIZON,
                                 input_columns=data.columns,
                                 target_columns=data.target_columns)
    raw = data.values[:5 * INPUT_LENGTH].reshape(5, INPUT_LENGTH, 7).astype(np.float32)
    scaler = data.scaler()
    standardized = scaler.transform(raw).astype(np.float32)
    expected = scaler.inverse_transform(np.asarray(model(standardized, training=False)),
                                        columns=[0, 1, 2])
    return {"path": path, "raw": raw, "expected": expected, "data": data, "model": model}


def test_serving_without_seqkit_matches_model_and_inverse_scaling(exported, tmp_path):
    np.save(tmp_path / "raw.npy", exported["raw"])
    out = run_without_seqkit(f"""
        import json
        import numpy as np
        import tensorflow as tf
        try:
            import seqkit
            print("seqkit importable")
        except ImportError:
            pass
        loaded = tf.saved_model.load({exported['path']!r})
        raw = np.load("raw.npy")
        serve = loaded.signatures["serving_default"]
        np.save("served.npy", serve(window=tf.constant(raw))["forecast"].numpy())
        np.save("function.npy", loaded.forecast(tf.constant(raw))["forecast"].numpy())
        meta = {{k: v.numpy().tolist() for k, v in loaded.signatures["metadata"]().items()}}
        meta = {{k: [s.decode() for s in v] if isinstance(v, list) else v
                 for k, v in meta.items()}}
        meta["attributes"] = [int(loaded.input_length.numpy()), int(loaded.horizon.numpy())]
        print(json.dumps(meta))
        errors = []
        for bad in (raw[:, :-1], raw[..., :-2]):
            try:
                serve(window=tf.constant(bad))
                errors.append("no error")
            except tf.errors.InvalidArgumentError as error:
                errors.append(str(error))
        try:
            loaded.forecast(tf.constant(raw.astype("float64")))
            errors.append("no error")
        except TypeError as error:
            errors.append(str(error))
        try:
            serve(window=tf.constant(raw.astype("float64")))
            errors.append("no error")
        except tf.errors.InvalidArgumentError as error:
            errors.append(str(error))
        print(json.dumps(errors))
        """, tmp_path)
    assert "seqkit importable" not in out
    meta_line, errors_line = out.strip().splitlines()[-2:]
    served = np.load(tmp_path / "served.npy")
    assert served.shape == (5, HORIZON, 3) and served.dtype == np.float32
    np.testing.assert_allclose(served, exported["expected"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "function.npy"), exported["expected"],
                               rtol=1e-5, atol=1e-5)

    meta = json.loads(meta_line)
    assert meta["input_columns"] == list(exported["data"].columns)
    assert meta["target_columns"] == ["y0", "y1", "y2"]
    assert (meta["input_length"], meta["horizon"]) == (INPUT_LENGTH, HORIZON)
    assert meta["attributes"] == [INPUT_LENGTH, HORIZON]
    with open(os.path.join(exported["path"], "assets", "metadata.json")) as handle:
        asset = json.load(handle)
    assert asset["target_columns"] == ["y0", "y1", "y2"]
    np.testing.assert_allclose(asset["target_mean"], exported["data"].scaler().mean[:3])

    errors = json.loads(errors_line)
    spec = "TensorSpec(shape=(None, 24, 7), dtype=tf.float32) named window"
    for message, shape in zip(errors[:2], ("[5 23 7]", "[5 24 5]")):
        assert "serving_default expects `window`" in message and spec in message
        assert shape in message
    assert "TensorSpec(shape=(None, 24, 7), dtype=tf.float32" in errors[2]
    assert "float64" in errors[2]
    assert "expected to be a float tensor" in errors[3]


def test_saved_model_cli_lists_named_signature(exported):
    result = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
         exported["path"], "--all"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    serving = text[text.index("signature_def['serving_default']"):]
    assert "inputs['window']" in serving and "outputs['forecast']" in serving
    assert "shape: (-1, 24, 7)" in serving and "shape: (-1, 12, 3)" in serving
    metadata = text[text.index("signature_def['metadata']"):]
    for name in ("input_columns", "target_columns", "input_length", "horizon"):
        assert f"outputs['{name}']" in metadata


def test_failed_export_leaves_previous_export_intact(exported, tmp_path, monkeypatch):
    path = str(tmp_path / "model")
    data, model = exported["data"], exported["model"]
    export_lib.export_forecaster(model, data.scaler(), path, INPUT_LENGTH, HORIZON,
                                 data.columns, data.target_columns)
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        before = handle.read()

    monkeypatch.setattr(tf.saved_model, "save", half_written_save)
    with pytest.raises(OSError, match="disk full"):
        export_lib.export_forecaster(model, data.scaler(), path, INPUT_LENGTH, HORIZON,
                                     data.columns, data.target_columns)
    monkeypatch.undo()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        assert handle.read() == before
    assert sorted(os.listdir(tmp_path)) == ["model"]       # no temporary folder left
    served = tf.saved_model.load(path).signatures["serving_default"](
        window=tf.constant(exported["raw"]))["forecast"].numpy()
    np.testing.assert_allclose(served, exported["expected"], rtol=1e-5, atol=1e-5)


def test_bad_arguments_name_the_argument(exported, tmp_path):
    data, model = exported["data"], exported["model"]
    with pytest.raises(ValueError, match="target_columns: column 'nope'"):
        export_lib.export_forecaster(model, data.scaler(), str(tmp_path / "a"), INPUT_LENGTH,
                                     HORIZON, data.columns, ["nope"])
    with pytest.raises(ValueError, match=r"model: expected an output of shape \[batch, "
                                         r"horizon=6"):
        export_lib.export_forecaster(model, data.scaler(), str(tmp_path / "b"), INPUT_LENGTH,
                                     6, data.columns, data.target_columns)
    with pytest.raises(ValueError, match="input_length: expected a positive integer"):
        export_lib.export_forecaster(model, data.scaler(), str(tmp_path / "c"), 0, HORIZON,
                                     data.columns, data.target_columns)
    assert not os.listdir(tmp_path)


def test_export_to_a_tensorflow_filesystem_path(exported, tmp_path, monkeypatch):
    # --export_dir=gs://bucket/x must not become a local folder named "gs:";
    # TensorFlow's in-memory ram:// filesystem stands in for gs:// here.
    monkeypatch.chdir(tmp_path)
    path = "ram://seqkit-export-test/forecaster"
    data = exported["data"]
    export_lib.export_forecaster(exported["model"], data.scaler(), path, INPUT_LENGTH, HORIZON,
                                 input_columns=data.columns,
                                 target_columns=data.target_columns)
    assert os.listdir(tmp_path) == []
    served = tf.saved_model.load(path).signatures["serving_default"](
        window=tf.constant(exported["raw"]))["forecast"].numpy()
    np.testing.assert_allclose(served, exported["expected"], rtol=1e-4, atol=1e-4)


def test_exported_baselines_match_numpy_baselines_without_seqkit(exported, tmp_path):
    """Each baseline exports with the model's signature (raw window -> raw forecast)
    and serves, without seqkit, exactly seqkit.baselines' forecast, rescaled."""
    from seqkit import baselines

    data, raw = exported["data"], exported["raw"]
    scaler = data.scaler()
    z = scaler.transform(raw)
    # A linear map fitted on other windows of the series: non-trivial weights and bias.
    windows = scaler.transform(data.values[:36 * 30]).reshape(30, 36, 7)
    linear = baselines.LinearForecaster(alpha=0.1).fit(
        windows[:, :INPUT_LENGTH], windows[:, INPUT_LENGTH:, :3], channels=[0, 1, 2])
    expected = {
        "repeat": baselines.repeat_last(z, HORIZON, [0, 1, 2]),
        "seasonal_naive": baselines.seasonal_naive(z, HORIZON, 6, [0, 1, 2]),
        "linear": linear.predict(z, [0, 1, 2]),
    }
    np.save(tmp_path / "raw.npy", raw)
    for kind, standardized in expected.items():
        module = export_lib.BaselineForecaster(kind, INPUT_LENGTH, HORIZON, [0, 1, 2],
                                               season=6, weight=linear.weight,
                                               bias=linear.bias)
        export_lib.export_forecaster(module, scaler, str(tmp_path / kind), INPUT_LENGTH,
                                     HORIZON, input_columns=data.columns,
                                     target_columns=data.target_columns)
        run_without_seqkit(f"""
            import numpy as np
            import tensorflow as tf
            serve = tf.saved_model.load({kind!r}).signatures["serving_default"]
            np.save("{kind}.npy", serve(window=tf.constant(np.load("raw.npy")))["forecast"])
            """, tmp_path)
        np.testing.assert_allclose(
            np.load(tmp_path / f"{kind}.npy"),
            scaler.inverse_transform(standardized, columns=[0, 1, 2]), rtol=1e-5, atol=1e-4)


def test_baseline_forecaster_refuses_bad_arguments():
    with pytest.raises(ValueError, match="kind: expected one of"):
        export_lib.BaselineForecaster("mean", 24, 12, [0])
    with pytest.raises(ValueError, match=r"season: expected an integer in \[1, input_length=24\]"):
        export_lib.BaselineForecaster("seasonal_naive", 24, 12, [0], season=30)
    with pytest.raises(ValueError, match="weight, bias: expected shapes"):
        export_lib.BaselineForecaster("linear", 24, 12, [0], weight=np.zeros((24, 3)),
                                      bias=np.zeros(12))

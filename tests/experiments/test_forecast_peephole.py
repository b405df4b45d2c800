"""python -m experiments.forecast --use_peepholes: the peephole LSTM encoder (tiny config)."""
import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from experiments.forecast import configs, models, train
from seqkit import runs
from seqkit.data import timeseries as ts

TEST = configs.get_config("test")
PEEPHOLES = dataclasses.replace(TEST, cell="lstm", use_peepholes=True, num_layers=2)


def _peephole_weights(model):
    return [w for w in model.weights if "peephole" in w.path]


def test_use_peepholes_defaults_off_and_only_applies_to_lstm(tmp_path):
    assert TEST.use_peepholes is False
    plain = models.build_model(dataclasses.replace(TEST, cell="lstm"), num_inputs=7,
                               target_channels=[0, 1, 2])
    plain(np.zeros((1, TEST.input_length, 7), "float32"))
    assert _peephole_weights(plain) == []  # the default LSTM stays Keras's
    for cell in ("gru", "elman", "clockwork"):
        with pytest.raises(runs.UsageError,
                           match=f"--use_peepholes: only applies to --cell=lstm, got "
                                 f"--cell='{cell}'"):
            train.train_and_evaluate(dataclasses.replace(TEST, cell=cell, use_peepholes=True),
                                     str(tmp_path / cell))
        assert not (tmp_path / cell).exists()  # refused before anything is written


def test_main_rejects_use_peepholes_without_lstm_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        runs.main(train.EXPERIMENT, ["forecast", "--config=test", "--use_peepholes",
                                     f"--train_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert exit_.value.code == runs.EXIT_USAGE
    assert err.count("\n") == 1 and "--use_peepholes: only applies to --cell=lstm" in err, err
    assert not (tmp_path / "run").exists()


def test_every_encoder_layer_gets_peepholes_and_they_change_the_forecast():
    model = models.build_model(PEEPHOLES, num_inputs=7, target_channels=[0, 1, 2])
    x = np.random.default_rng(0).standard_normal((3, TEST.input_length, 7)).astype("float32")
    before = np.asarray(model(x, training=False))
    peepholes = _peephole_weights(model)
    assert len(peepholes) == PEEPHOLES.num_layers
    assert all(tuple(w.shape) == (3, TEST.hidden_size) for w in peepholes)
    assert all(np.all(np.asarray(w) == 0) for w in peepholes)  # starts as the plain LSTM
    for weight in peepholes:
        weight.assign(np.full(weight.shape, 0.5, "float32"))
    after = np.asarray(model(x, training=False))
    assert np.abs(after - before).max() > 1e-4
    # The Keras config carries the peepholes (the model is rebuilt from it).
    clone = models.Forecaster.from_config(model.get_config())
    clone(x)
    clone.set_weights(model.get_weights())
    assert len(_peephole_weights(clone)) == PEEPHOLES.num_layers
    np.testing.assert_allclose(np.asarray(clone(x, training=False)), after, atol=1e-5)


def test_exported_peephole_forecaster_matches_the_model(tmp_path):
    from seqkit.export import forecaster as export_lib

    data = ts.synthetic(n_rows=1200, seed=3)
    model = models.build_model(PEEPHOLES, num_inputs=7, target_channels=[0, 1, 2])
    model(np.zeros((1, TEST.input_length, 7), "float32"))
    rng = np.random.default_rng(0)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape) for w in model.get_weights()])
    path = str(tmp_path / "forecaster")
    export_lib.export_forecaster(model, data.scaler(), path, TEST.input_length, TEST.horizon,
                                 input_columns=data.columns,
                                 target_columns=data.target_columns)
    raw = data.values[:4 * TEST.input_length].reshape(4, TEST.input_length, 7)
    raw = raw.astype(np.float32)
    scaler = data.scaler()
    expected = scaler.inverse_transform(
        np.asarray(model(scaler.transform(raw).astype(np.float32), training=False)),
        columns=[0, 1, 2])
    loaded = tf.saved_model.load(path)
    served = loaded.signatures["serving_default"](window=tf.constant(raw))["forecast"]
    np.testing.assert_allclose(served.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_tiny_run_with_peepholes_trains_records_the_flag_and_exports(tmp_path):
    config = dataclasses.replace(PEEPHOLES, epochs=1, select="model",
                                 export_dir=str(tmp_path / "export"))
    seen = {}
    build = train.EXPERIMENT.build

    def spy(config, data):
        model, optimizer = build(config, data)
        seen["peepholes"] = _peephole_weights(model)
        return model, optimizer

    train.EXPERIMENT.build, original = spy, build
    try:
        results = train.train_and_evaluate(config, str(tmp_path / "run"))
    finally:
        train.EXPERIMENT.build = original
    assert len(seen["peepholes"]) == PEEPHOLES.num_layers
    # One epoch of training moved the peephole weights off their zero start.
    assert max(float(np.abs(np.asarray(w)).max()) for w in seen["peepholes"]) > 0
    assert np.isfinite(results["test_mse"]) and results["epochs_completed"] == 1
    with open(tmp_path / "run" / "flags.json") as handle:
        assert json.load(handle)["use_peepholes"] is True
    assert (tmp_path / "export" / "saved_model.pb").exists()
    # A different --use_peepholes cannot resume this run (another model).
    with pytest.raises(runs.UsageError, match="use_peepholes"):
        train.train_and_evaluate(dataclasses.replace(config, use_peepholes=False, epochs=2),
                                 str(tmp_path / "run"))
    keras.backend.clear_session()

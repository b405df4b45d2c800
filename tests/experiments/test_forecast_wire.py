"""python -m experiments.forecast on a user's own series: --dataset (ETT family), --split,
--calendar and --future_features (known future inputs of every decoder), the SavedModel
every run keeps, --predict and the .keras model."""
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from experiments.forecast import configs, models, train
from seqkit import runs
from seqkit.data import timeseries as ts
from seqkit.export import forecaster as export_lib

TEST = configs.get_config("test")
ROOT = Path(__file__).resolve().parents[2]  # this checkout, wherever pytest runs
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _series_csv(path, n_rows=600, freq="h", start="2022-01-03"):
    """Hourly series: date, target a (daily cycle + 2 x plan), a planned 0/1 column."""
    t = np.arange(n_rows)
    rng = np.random.default_rng(0)
    plan = rng.integers(0, 2, n_rows).astype(float)
    frame = pd.DataFrame({
        "date": pd.date_range(start, periods=n_rows, freq=freq).strftime("%Y-%m-%d %H:%M:%S"),
        "a": 10 + np.sin(2 * np.pi * t / 24) + 2 * plan + 0.1 * rng.standard_normal(n_rows),
        "plan": plan})
    frame.to_csv(path, index=False)
    return str(path), frame


def _config(path, **overrides):
    values = dict(csv=path, targets=("a",), input_length=24, horizon=12, epochs=1)
    return configs.validate(dataclasses.replace(TEST, **{**values, **overrides}))


def _usage(config, match):
    with pytest.raises(runs.UsageError, match=match):
        train.load_data(configs.validate(config))


# --------------------------------------------------------------------------- --dataset
@pytest.mark.parametrize("name, freq, rows", [("etth2", "h", 14400), ("ettm1", "15min", 57600)])
def test_dataset_reads_the_ett_file_with_its_published_borders(tmp_path, name, freq, rows):
    columns = ts.ETT_COLUMNS
    values = np.random.default_rng(0).standard_normal((rows, len(columns)))
    frame = pd.DataFrame(values, columns=columns)
    frame.insert(0, "date", pd.date_range("2016-07-01", periods=rows, freq=freq)
                 .strftime("%Y-%m-%d %H:%M:%S"))
    frame.to_csv(tmp_path / ts.ETT_FILES[name], index=False)
    config = configs.validate(dataclasses.replace(TEST, dataset=name, data_dir=str(tmp_path)))
    data = train.load_data(config)
    assert data.series.borders == ts.ETT_BORDERS[name]
    assert data.test.origins[0] == ts.ETT_BORDERS[name].test[0]
    assert data.target_names == columns


def test_dataset_errors_name_the_flags(tmp_path):
    with pytest.raises(runs.UsageError, match=r"--data_dir: expected the folder holding "
                                              r"ETTm2.csv .*--dataset=ettm2"):
        configs.validate(dataclasses.replace(TEST, dataset="ettm2"))
    config = configs.validate(dataclasses.replace(TEST, dataset="etth2", data_dir=str(tmp_path)))
    with pytest.raises(runs.UsageError, match=r"--dataset=etth2: --data_dir=.*expected "
                                              r"ETTh2.csv at one of"):
        train.load_data(config)
    with pytest.raises(runs.UsageError, match="--split: only applies to --csv"):
        configs.validate(dataclasses.replace(TEST, dataset="etth1", data_dir="x",
                                             split="0.6,0.2,0.2"))


# ----------------------------------------------------------------------------- --split
def test_split_by_fractions_and_by_dates(tmp_path):
    path, _ = _series_csv(tmp_path / "s.csv")
    default = train.load_data(_config(path)).series.borders
    assert default == ts.chronological_split(600)
    data = train.load_data(_config(path, split="0.5,0.25,0.25"))
    assert data.series.borders == ts.Borders(train=(0, 300), val=(300, 450), test=(450, 600))
    # 2022-01-03 00:00 + 400 h = 2022-01-19 16:00; + 500 h = 2022-01-23 20:00.
    data = train.load_data(_config(path, split="2022-01-19 16:00,2022-01-23 20:00"))
    assert data.series.borders == ts.Borders(train=(0, 400), val=(400, 500), test=(500, 600))
    assert data.test.origins[0] == 500


@pytest.mark.parametrize("split, message", [
    ("0.7,0.2", r"--split: expected three fractions .* or two increasing dates"),
    ("0.5,0.3,0.3", r"--split: expected three fractions > 0 summing to 1"),
    ("2022-02-01,2022-01-10", r"--split: expected the validation date before the test date"),
])
def test_bad_split_text_is_a_usage_error(tmp_path, split, message):
    with pytest.raises(runs.UsageError, match=message):
        _config(str(tmp_path / "s.csv"), split=split)


def test_split_dates_outside_the_data_name_the_flag(tmp_path):
    path, _ = _series_csv(tmp_path / "s.csv")
    _usage(_config(path, split="2021-01-01,2022-01-10"),
           r"--split=2021-01-01,2022-01-10: expected dates inside the data's date range")


# ------------------------------------------------------- --calendar, --future_features
def test_calendar_and_future_features_make_known_future_windows(tmp_path):
    path, frame = _series_csv(tmp_path / "s.csv")
    data = train.load_data(_config(path, calendar=("hour", "dow"), future_features=("plan",)))
    assert data.target_names == ("a",)                      # plan is not forecast
    assert data.input_names == ("a", "plan", "hour_sin", "hour_cos", "dow_sin", "dow_cos")
    assert data.future_names == ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "plan")
    w = data.val
    assert w.future.shape == (w.n, 12, 5)
    # The future block is the standardized values at each window's forecast rows.
    scaler = data.series.scaler()
    origin = w.origins[3]
    raw_plan = frame["plan"].to_numpy()[origin:origin + 12]
    column = data.series.columns.index("plan")
    np.testing.assert_allclose(w.future[3, :, 4],
                               (raw_plan - scaler.mean[column]) / scaler.scale[column],
                               rtol=1e-5)
    hours = pd.to_datetime(frame["date"]).dt.hour.to_numpy()[origin:origin + 12]
    column = data.series.columns.index("hour_sin")
    np.testing.assert_allclose(w.future[3, :, 0] * scaler.scale[column] + scaler.mean[column],
                               np.sin(2 * np.pi * hours / 24), atol=1e-5)
    plain = train.load_data(_config(path))
    assert plain.test.future is None and plain.future_names == ()
    # Mode S reads the target alone, and still gets the known future.
    single = train.load_data(_config(path, mode="S", future_features=("plan",)))
    assert single.input_names == ("a",) and single.future_names == ("plan",)


def test_calendar_and_future_feature_errors(tmp_path):
    path, _ = _series_csv(tmp_path / "s.csv")
    with pytest.raises(runs.UsageError, match=r"--calendar: unknown feature 'week'"):
        _config(path, calendar=("week",))
    with pytest.raises(runs.UsageError, match=r"--future_features: expected columns that are "
                                              r"not --targets.*\['a'\]"):
        _config(path, future_features=("a",))
    with pytest.raises(runs.UsageError, match=r"--output: only applies with --predict"):
        _config(path, output="f.csv")
    with pytest.raises(runs.UsageError, match=r"--future_features: only applies to --csv"):
        configs.validate(dataclasses.replace(TEST, future_features=("x",)))
    daily, _ = _series_csv(tmp_path / "d.csv", freq="D")
    _usage(_config(daily, calendar=("hour",)), r"--calendar: 'hour' is finer than the "
                                               r"series' frequency D")
    with pytest.raises(ValueError, match=r"--csv=.*--features: .*'nope'"):
        train.load_data(_config(path, future_features=("nope",)))


# ------------------------------------------------------------------ the model's future input
@pytest.mark.parametrize("decoder", ["direct", "parallel", "autoregressive"])
@pytest.mark.parametrize("channel_independent", [False, True])
@pytest.mark.parametrize("segment_length", [6, 0])
def test_every_decoder_reads_the_future_of_its_own_steps(decoder, channel_independent,
                                                         segment_length):
    model = models.Forecaster(24, 7, 3, target_channels=[0, 1], hidden_size=8,
                              segment_length=segment_length, decoder=decoder,
                              channel_independent=channel_independent, num_future=2, seed=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 24, 3)).astype("float32")
    f = rng.standard_normal((2, 7, 2)).astype("float32")
    y = np.asarray(model((x, f)))
    assert y.shape == (2, 7, 2)
    assert np.array_equal(y, np.asarray(model({"window": x, "future": f})))
    # Changing the known future of the last step changes the forecast.
    g = f.copy()
    g[:, -1] += 1.0
    assert not np.allclose(np.asarray(model((x, g))), y)
    # Each window reads its own future only.
    h = f.copy()
    h[1] += 1.0
    np.testing.assert_allclose(np.asarray(model((x, h)))[0], y[0], rtol=1e-5, atol=1e-6)
    if decoder == "parallel":
        # SegRNN's segments are parallel: segment k's future does not reach segment j < k.
        last_piece_start = (7 - 1) // (segment_length or 1) * (segment_length or 1)
        np.testing.assert_allclose(np.asarray(model((x, g)))[:, :last_piece_start],
                                   y[:, :last_piece_start], rtol=1e-5, atol=1e-6)


def test_future_input_errors_and_the_plain_path_is_unchanged():
    model = models.Forecaster(24, 10, 3, hidden_size=8, segment_length=6, num_future=2)
    model(model.example_inputs())
    with pytest.raises(ValueError, match=r"inputs: expected \(window, future\)"):
        model(np.zeros((1, 24, 3), "float32"))
    with pytest.raises(ValueError, match=r"future: expected shape \[batch, 10, 2\]"):
        model((np.zeros((1, 24, 3), "float32"), np.zeros((1, 9, 2), "float32")))
    plain = models.Forecaster(24, 10, 3, hidden_size=8, segment_length=6, seed=3)
    plain(np.zeros((1, 24, 3), "float32"))
    assert not any("future" in v.path for v in plain.weights)
    with pytest.raises(ValueError, match="num_future: expected an integer >= 0"):
        models.Forecaster(24, 10, 3, num_future=-1)


@pytest.mark.parametrize("kwargs", [
    dict(decoder="direct", bidirectional=True),
    dict(decoder="parallel", channel_independent=True, num_future=3),
    dict(decoder="autoregressive", num_future=2, cell="lstm", num_layers=2),
])
def test_keras_file_round_trip_gives_the_same_outputs(tmp_path, kwargs):
    model = models.Forecaster(24, 12, 3, target_channels=[0, 2], hidden_size=8,
                              segment_length=6, seed=0, **kwargs)
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((3, 24, 3)).astype("float32")
    if model.num_future:
        inputs = (inputs, rng.standard_normal((3, 12, model.num_future)).astype("float32"))
    expected = np.asarray(model(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is models.Forecaster and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), expected)


# ------------------------------------------------------------ export with a future input
def test_export_takes_the_future_in_raw_units(tmp_path):
    path, _ = _series_csv(tmp_path / "s.csv")
    data = train.load_data(_config(path, calendar=("hour",), future_features=("plan",)))
    model = models.Forecaster(24, 12, len(data.input_names), target_channels=[0],
                              hidden_size=8, segment_length=6, num_future=3, seed=0)
    scaler = data.series.scaler()
    export_lib.export_forecaster(model, scaler, str(tmp_path / "sm"), 24, 12,
                                 data.input_names, data.target_names,
                                 future_columns=data.future_names)
    served = tf.saved_model.load(str(tmp_path / "sm"))
    windows = data.test
    raw_x = scaler.inverse_transform(windows.inputs[:4], columns=windows.input_columns)
    raw_f = scaler.inverse_transform(windows.future[:4], columns=windows.future_columns)
    out = served.signatures["serving_default"](window=tf.constant(raw_x, tf.float32),
                                               future=tf.constant(raw_f, tf.float32))
    expected = windows.inverse_targets(np.asarray(model((windows.inputs[:4],
                                                         windows.future[:4]))))
    np.testing.assert_allclose(out["forecast"].numpy(), expected, rtol=1e-4, atol=1e-4)
    meta = {k: v.numpy() for k, v in served.signatures["metadata"]().items()}
    assert [c.decode() for c in meta["future_columns"]] == list(data.future_names)
    with pytest.raises(Exception, match="expects `future` float32"):
        served.signatures["serving_default"](window=tf.constant(raw_x, tf.float32),
                                             future=tf.constant(raw_f[:, :5], tf.float32))
    # A baseline exports through the same two-input signature and ignores the future.
    baseline = export_lib.BaselineForecaster("repeat", 24, 12, [0])
    export_lib.export_forecaster(baseline, scaler, str(tmp_path / "b"), 24, 12,
                                 data.input_names, data.target_names,
                                 future_columns=data.future_names)
    served = tf.saved_model.load(str(tmp_path / "b"))
    out = served.signatures["serving_default"](window=tf.constant(raw_x, tf.float32),
                                               future=tf.constant(raw_f, tf.float32))
    np.testing.assert_allclose(out["forecast"].numpy()[:, :, 0],
                               np.repeat(raw_x[:, -1:, 0], 12, axis=1), rtol=1e-5)


# --------------------------------------------------------- a finished run and --predict
@pytest.fixture(scope="module")
def wired_run(tmp_path_factory):
    """One run with calendar and planned future inputs, the model exported."""
    folder = tmp_path_factory.mktemp("wired")
    path, frame = _series_csv(folder / "train.csv")
    config = _config(path, calendar=("hour", "dow"), future_features=("plan",),
                     select="model", decoder="parallel")
    results = train.train_and_evaluate(config, str(folder / "run"))
    return results, str(folder / "run"), frame, folder


def _new_csv(folder, frame, rows=60, future_rows=12, name="new.csv", plan=1.0):
    """The last ``rows`` rows of the series plus ``future_rows`` future rows."""
    history = frame.iloc[-rows:].copy()
    last = pd.Timestamp(history["date"].iloc[-1])
    future = pd.DataFrame({
        "date": pd.date_range(last + pd.Timedelta(hours=1), periods=future_rows, freq="h")
        .strftime("%Y-%m-%d %H:%M:%S"), "a": np.nan, "plan": plan})
    path = str(folder / name)
    pd.concat([history, future]).to_csv(path, index=False)
    return path, history


def test_every_run_keeps_a_saved_model_and_a_keras_model(wired_run):
    results, workdir, _, _ = wired_run
    assert results["selected"] == "model"
    assert results["saved_model"] == os.path.join(workdir, "saved_model")
    assert tf.saved_model.contains_saved_model(results["saved_model"])
    with open(os.path.join(workdir, "saved_model", "assets", "metadata.json")) as handle:
        meta = json.load(handle)
    assert meta["forecaster"] == "model" and meta["frequency"] == "h"
    assert meta["csv_columns"] == ["a", "plan"] and meta["future_features"] == ["plan"]
    assert meta["future_columns"] == ["hour_sin", "hour_cos", "dow_sin", "dow_cos", "plan"]
    assert os.path.exists(results["keras_model"])


def test_keras_model_of_a_run_matches_its_saved_model(wired_run):
    results, workdir, _, _ = wired_run
    data = train.load_data(_config(os.path.join(os.path.dirname(workdir), "train.csv"),
                                   calendar=("hour", "dow"), future_features=("plan",)))
    loaded = keras.models.load_model(results["keras_model"])
    windows = data.test
    z = np.asarray(loaded((windows.inputs[:5], windows.future[:5])))
    scaler = data.series.scaler()
    served = tf.saved_model.load(results["saved_model"])
    out = served.signatures["serving_default"](
        window=tf.constant(scaler.inverse_transform(windows.inputs[:5],
                                                    columns=windows.input_columns), tf.float32),
        future=tf.constant(scaler.inverse_transform(windows.future[:5],
                                                    columns=windows.future_columns), tf.float32))
    np.testing.assert_allclose(out["forecast"].numpy(), windows.inverse_targets(z),
                               rtol=1e-4, atol=1e-4)
    # A fresh interpreter loads it with seqkit imported (the contract);
    # nothing of experiments/ is imported.
    np.savez(os.path.join(workdir, "probe.npz"), x=windows.inputs[:5], f=windows.future[:5])
    script = ("import sys, keras, numpy as np; import seqkit; "
              "d = np.load(sys.argv[2]); m = keras.models.load_model(sys.argv[1]); "
              "assert not any(n.startswith('experiments') for n in sys.modules); "
              "np.save(sys.argv[3], np.asarray(m((d['x'], d['f']))))")
    done = subprocess.run([sys.executable, "-c", script, results["keras_model"],
                           os.path.join(workdir, "probe.npz"),
                           os.path.join(workdir, "probe_out.npy")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(os.path.join(workdir, "probe_out.npy")), z)


def test_predict_writes_the_forecast_after_the_last_row(wired_run, capsys):
    results, workdir, frame, folder = wired_run
    path, history = _new_csv(folder, frame)
    output = str(folder / "forecast.csv")
    runs.main(train.EXPERIMENT, ["forecast", f"--train_dir={workdir}", f"--predict={path}",
                                 f"--output={output}"])
    written = pd.read_csv(output)
    assert list(written.columns) == ["date", "a"]
    last = pd.Timestamp(history["date"].iloc[-1])
    assert list(pd.to_datetime(written["date"])) == list(
        pd.date_range(last + pd.Timedelta(hours=1), periods=12, freq="h"))
    # The values are the SavedModel's on the file's last window (raw units), with the
    # calendar of the history and horizon computed here and the planned values read.
    stamps = pd.DatetimeIndex(pd.to_datetime(history["date"].iloc[-24:]))
    steps = pd.date_range(last + pd.Timedelta(hours=1), periods=12, freq="h")
    cal, _ = ts.calendar(stamps, "hour,dow", "h")
    window = np.concatenate([history[["a", "plan"]].to_numpy()[-24:], cal], axis=1)
    future = np.concatenate([ts.calendar(steps, "hour,dow", "h")[0], np.ones((12, 1))],
                            axis=1)
    served = tf.saved_model.load(os.path.join(workdir, "saved_model"))
    expected = served.signatures["serving_default"](
        window=tf.constant(window[None], tf.float32),
        future=tf.constant(future[None], tf.float32))["forecast"].numpy()[0, :, 0]
    np.testing.assert_allclose(written["a"].to_numpy(), expected, rtol=1e-5)
    # The planned values reach the forecast.
    other, _ = _new_csv(folder, frame, name="other.csv", plan=0.0)
    capsys.readouterr()
    result = runs.main(train.EXPERIMENT, ["forecast", f"--train_dir={workdir}",
                                          f"--predict={other}"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["date", "a"] and len(printed) == 1 + 12 + 1
    assert result["steps"] == 12 and result["columns"] == ["date", "a"]
    changed = np.array([float(line.split()[-1]) for line in printed[1:13]])
    assert not np.allclose(changed, written["a"].to_numpy(), atol=1e-3)


@pytest.mark.parametrize("make, message", [
    (lambda f, frame: _write(f / "m.csv", frame.drop(columns=["plan"]).iloc[-30:]),
     r"--predict=.*m.csv: columns: .*missing the column\(s\) \['plan'\]"),
    (lambda f, frame: _new_csv(f, frame, rows=10, name="short.csv")[0],
     r"--predict=.*short.csv: input_length: the forecaster needs the last 24 rows, but .* "
     r"has only 10"),
    (lambda f, frame: _new_csv(f, frame, future_rows=0, name="nofuture.csv")[0],
     r"--predict=.*nofuture.csv: future_columns: .*expected .* to end with 12 future rows.*"
     r"got 0 such rows \(the run was trained with --future_features=plan: append"),
    (lambda f, frame: _resample(f, frame), r"--predict=.*daily.csv: frequency: .* has "
                                           r"frequency 2h but the training series has h"),
])
def test_predict_bad_files_are_usage_errors(wired_run, capsys, make, message):
    _, workdir, frame, folder = wired_run
    path = make(folder, frame)
    with pytest.raises(SystemExit) as exit_info:
        runs.main(train.EXPERIMENT, ["forecast", f"--train_dir={workdir}",
                                     f"--predict={path}"])
    assert exit_info.value.code == runs.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def _write(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def _resample(folder, frame):
    return _new_csv(folder, frame.iloc[::2], rows=40, name="daily.csv")[0]


def test_predict_without_a_finished_run_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        runs.main(train.EXPERIMENT, ["forecast", f"--train_dir={tmp_path}",
                                     f"--predict={tmp_path / 'x.csv'}"])
    assert "no finished run there" in capsys.readouterr().err


def test_predict_with_a_selected_baseline_and_quantile_columns(tmp_path, monkeypatch):
    """A baseline export without future inputs predicts too; a SavedModel whose output has
    ``quantiles`` gets ``<target>_q<level>`` columns."""
    path, frame = _series_csv(tmp_path / "s.csv")
    config = _config(path, targets=("a", "plan"))
    data = train.load_data(config)
    baseline = export_lib.BaselineForecaster("repeat", 24, 12, [0, 1])
    export_lib.export_forecaster(baseline, data.series.scaler(),
                                 str(tmp_path / "run" / "saved_model"), 24, 12,
                                 data.input_names, data.target_names,
                                 extra_metadata={"forecaster": "repeat",
                                                 **train.predict_metadata(config, data)})
    new = str(tmp_path / "new.csv")
    frame.iloc[-30:].to_csv(new, index=False)
    table = train.predict_csv(str(tmp_path / "run"), new)
    assert list(table.columns) == ["date", "a", "plan"]
    np.testing.assert_allclose(table["a"], frame["a"].iloc[-1], rtol=1e-6)

    class Served:                     # what fprob's quantile export returns
        signatures = {"serving_default": lambda window: {
            "forecast": tf.zeros((1, 12, 2)),
            "quantiles": tf.reshape(tf.range(72, dtype=tf.float32), (1, 12, 2, 3))}}

    monkeypatch.setattr(runs, "load_saved_model", lambda *a: Served())
    meta_path = tmp_path / "run" / "saved_model" / "assets" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "quantiles": [0.1, 0.5, 0.9]}))
    table = train.predict_csv(str(tmp_path / "run"), new)
    assert list(table.columns) == ["date", "a", "plan", "a_q0.1", "a_q0.5", "a_q0.9",
                                   "plan_q0.1", "plan_q0.5", "plan_q0.9"]
    assert table["plan_q0.5"].iloc[1] == 1 * 6 + 1 * 3 + 1


def test_predict_of_a_quantile_run_with_future_inputs_end_to_end(tmp_path):
    """--quantiles with --future_features: the export takes (window, future) and --predict
    writes every level as <target>_q<level>, the median equal to the point column."""
    path, frame = _series_csv(tmp_path / "s.csv")
    config = _config(path, future_features=("plan",), calendar=("hour",), select="model",
                     quantiles=(0.1, 0.5, 0.9))
    workdir = str(tmp_path / "run")
    train.train_and_evaluate(config, workdir)
    new, history = _new_csv(tmp_path, frame)
    output = str(tmp_path / "q.csv")
    runs.main(train.EXPERIMENT, ["forecast", f"--train_dir={workdir}", f"--predict={new}",
                                 f"--output={output}"])
    written = pd.read_csv(output)
    assert list(written.columns) == ["date", "a", "a_q0.1", "a_q0.5", "a_q0.9"]
    np.testing.assert_allclose(written["a_q0.5"], written["a"])
    assert (written["a_q0.1"] <= written["a_q0.5"]).all()
    assert (written["a_q0.5"] <= written["a_q0.9"]).all()
    # The levels are the SavedModel's on the file's last window and planned values.
    stamps = pd.DatetimeIndex(pd.to_datetime(history["date"].iloc[-24:]))
    last = stamps[-1]
    steps = pd.date_range(last + pd.Timedelta(hours=1), periods=12, freq="h")
    window = np.concatenate([history[["a", "plan"]].to_numpy()[-24:],
                             ts.calendar(stamps, "hour", "h")[0]], axis=1)
    future = np.concatenate([ts.calendar(steps, "hour", "h")[0], np.ones((12, 1))], axis=1)
    served = tf.saved_model.load(os.path.join(workdir, "saved_model"))
    out = served.signatures["serving_default"](window=tf.constant(window[None], tf.float32),
                                               future=tf.constant(future[None], tf.float32))
    np.testing.assert_allclose(written[["a_q0.1", "a_q0.5", "a_q0.9"]].to_numpy(),
                               out["quantiles"].numpy()[0, :, 0], rtol=1e-5)

"""python -m experiments.forecast: the tiny config end to end, learning, resume, CSV input,
bad input, the command line."""
import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.forecast import configs, models, train
from seqkit import baselines, runs

ROOT = Path(__file__).resolve().parents[2]  # this checkout, wherever pytest runs
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
TEST = configs.get_config("test")
KEYS = ("test_mse", "test_mae", "repeat_mse", "seasonal_naive_mse", "linear_mse")


def _csv(path, n_rows=600, gap_at=None, duplicate_at=None, nan_rows=(), bad_date_at=None):
    """Hourly CSV: date, two numeric columns (a, b) and a text column (label)."""
    dates = pd.date_range("2022-01-03", periods=n_rows + (1 if gap_at else 0), freq="h")
    if gap_at is not None:
        dates = dates.delete(gap_at)                  # one missing hour
    t = np.arange(n_rows)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d %H:%M:%S"),
        "a": 10 + np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n_rows),
        "b": 100 + 5 * np.cos(2 * np.pi * t / 24) + rng.standard_normal(n_rows),
        "label": np.where(t % 2, "odd", "even"),
    })
    if duplicate_at is not None:                      # the same hour twice
        frame = pd.concat([frame.iloc[:duplicate_at + 1], frame.iloc[duplicate_at:]],
                          ignore_index=True)
    for row in nan_rows:
        frame.loc[row, "a"] = np.nan
    if bad_date_at is not None:
        frame.loc[bad_date_at, "date"] = "not a date"
    frame.to_csv(path, index=False)
    return str(path)


def _csv_config(path, **overrides):
    values = dict(dataset="csv", csv=path, targets=("a", "b"), input_length=24, horizon=12)
    return dataclasses.replace(TEST, **{**values, **overrides})


# --------------------------------------------------------------------------
# The tiny run and its report
# --------------------------------------------------------------------------
RESUME = dataclasses.replace(TEST, epochs=4, patience=10)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One uninterrupted run of the tiny config (4 epochs): (results, workdir)."""
    workdir = str(tmp_path_factory.mktemp("tiny") / "run")
    return train.train_and_evaluate(RESUME, workdir), workdir


def test_train_and_evaluate_tiny_config(tiny_run):
    results, workdir = tiny_run
    for key in KEYS + ("floor_mse", "test_mse_original", "linear_mae_original",
                       "windows_per_second", "wall_seconds"):
        assert np.isfinite(results[key]), key
    assert results["epochs_completed"] == 4 and results["resumed_from_epoch"] == 0
    # It learned: better than repeating the last value, on the same test windows.
    assert results["test_mse"] < 0.9 * results["repeat_mse"]
    with open(os.path.join(workdir, "results.json")) as handle:
        written = json.load(handle)
    # pytest.approx compares flat mappings; the per-step lists are compared on their own.
    per_step = written.pop("per_step")
    assert set(per_step) == set(results["per_step"])
    for name, errors in results["per_step"].items():
        for metric in ("mse", "mae"):
            assert per_step[name][metric] == pytest.approx(errors[metric]), (name, metric)
    flat = {k: v for k, v in results.items() if k != "per_step"}
    assert written == pytest.approx(flat)
    with open(os.path.join(workdir, "flags.json")) as handle:
        assert json.load(handle)["hidden_size"] == TEST.hidden_size

    # The baselines are scored on the model's own test windows, as seqkit.baselines does.
    data = train.load_data(configs.validate(TEST))
    reference = baselines.evaluate_baselines(data.train, data.test, val=data.val,
                                             season=TEST.season)
    assert results["repeat_mse"] == pytest.approx(reference["repeat_last"]["mse"])
    assert results["seasonal_naive_mae"] == pytest.approx(reference["seasonal_naive"]["mae"])
    assert results["linear_mse"] == pytest.approx(reference["linear"]["mse"])
    assert results["n_test_windows"] == data.test.n
    assert results["parameters"] > 0 and results["replicas"] == 1
    # Original units: the persistence forecast on the raw values.
    raw = data.series.values
    origins = data.test.origins
    truth = raw[origins[:, None] + np.arange(TEST.horizon)][..., :3]
    persistence = np.repeat(raw[origins - 1][:, None, :3], TEST.horizon, axis=1)
    assert results["repeat_mse_original"] == pytest.approx(np.mean((persistence - truth) ** 2))
    # The floor is the series' closed form for these targets.
    floor = data.series.floor_mse(TEST.horizon, TEST.input_length, "test")
    assert results["floor_mse"] == pytest.approx(floor.mean)
    assert results["ratio_to_floor"] == pytest.approx(results["test_mse"] / floor.mean)

    table = train.format_table(results)
    for label in ("model", "repeat last", "seasonal naive", "linear", "floor (oracle)"):
        assert label in table
    assert f"{results['test_mse']:.4f}" in table


def test_resume_ends_like_an_uninterrupted_run(tiny_run, tmp_path):
    config, straight = RESUME, tiny_run[0]

    resumed_dir = str(tmp_path / "resumed")
    first = train.train_and_evaluate(dataclasses.replace(config, epochs=2), resumed_dir)
    assert first["epochs_completed"] == 2
    resumed = train.train_and_evaluate(config, resumed_dir)     # the "same command" again

    assert resumed["resumed_from_epoch"] == 2 and resumed["epochs_completed"] == 4
    for key in ("test_mse", "test_mae", "valid_loss"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6, abs=1e-7), key
    assert resumed["best_epoch"] == straight["best_epoch"]
    # A finished run re-evaluates without training.
    again = train.train_and_evaluate(config, resumed_dir)
    assert again["resumed_from_epoch"] == 4 and again["test_mse"] == pytest.approx(
        resumed["test_mse"], rel=1e-6)

    with pytest.raises(runs.UsageError, match=r"other settings \(--hidden_size: 8 -> 16\)"):
        train.train_and_evaluate(dataclasses.replace(config, hidden_size=16), resumed_dir)


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    config = dataclasses.replace(TEST, learning_rate=1e30, epochs=3, synthetic_rows=600)
    with pytest.raises(runs.NonFiniteLossError, match="training loss became (nan|inf)"):
        train.train_and_evaluate(config, str(tmp_path / "nan"))


def test_autoregressive_lstm_stack_channel_independent_trains(tmp_path):
    config = dataclasses.replace(TEST, decoder="autoregressive", cell="lstm", num_layers=2,
                                 channel_independent=True, instance_norm="last", epochs=1)
    results = train.train_and_evaluate(config, str(tmp_path / "ar"))
    assert np.isfinite(results["test_mse"]) and results["epochs_completed"] == 1


def test_non_chief_worker_writes_nothing(tmp_path, monkeypatch):
    """Only the chief writes: on another worker (as seqkit.distribute.is_chief says
    under MultiWorkerMirroredStrategy) no flags, checkpoints, results, plot or export."""
    from seqkit import distribute

    monkeypatch.setattr(distribute, "is_chief", lambda strategy=None: False)
    workdir = tmp_path / "worker1"
    results = train.train_and_evaluate(dataclasses.replace(TEST, epochs=1, plot=True,
                                                           export_dir=str(tmp_path / "x")),
                                       str(workdir))
    assert np.isfinite(results["test_mse"]) and results["epochs_completed"] == 1
    assert not workdir.exists() and not (tmp_path / "x").exists()


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
@pytest.mark.parametrize("decoder", ["direct", "parallel", "autoregressive"])
@pytest.mark.parametrize("channel_independent", [False, True])
def test_model_shapes_and_instance_norm_shift(decoder, channel_independent):
    model = models.Forecaster(input_length=12, horizon=10, num_inputs=4,
                              target_channels=[2, 0], hidden_size=8, segment_length=4,
                              channel_independent=channel_independent,
                              instance_norm="last", decoder=decoder, seed=1)
    x = np.random.default_rng(0).standard_normal((3, 12, 4)).astype(np.float32)
    y = np.asarray(model(x))
    assert y.shape == (3, 10, 2)
    # Last-value normalization: shifting a target's history shifts its forecast.
    shifted = x.copy()
    shifted[..., 2] += 5.0
    shifted[..., 0] -= 2.0
    np.testing.assert_allclose(np.asarray(model(shifted)), y + [5.0, -2.0], atol=1e-4)


def test_autoregressive_decoder_feeds_its_forecast_back():
    """Reference loop over the documented equations, with the model's own layers."""
    model = models.Forecaster(input_length=8, horizon=6, num_inputs=2, hidden_size=8,
                              segment_length=2, decoder="autoregressive", cell="gru", seed=2)
    x = np.random.default_rng(1).standard_normal((3, 8, 2)).astype(np.float32)
    got = np.asarray(model(x))

    segments = x.reshape(3, 4, 4)                    # 4 segments of 2 steps x 2 channels
    output, *states = model.encoder(model.embedding(segments))
    pieces = []
    for _ in range(3):                               # ceil(6 / 2) pieces
        piece = np.asarray(model.head(output))       # [3, 2 steps * 2 targets]
        pieces.append(piece.reshape(3, 2, 2))
        # The forecast piece is embedded like an encoder segment and stepped.
        output, *states = model.encoder(model.embedding(piece[:, None, :]),
                                        initial_state=states)
    np.testing.assert_allclose(got, np.concatenate(pieces, axis=1), rtol=1e-5, atol=1e-6)
    # And it differs from the direct reading of the final state for later pieces.
    assert not np.allclose(got[:, 2:], np.tile(got[:, :2], (1, 2, 1)))


def test_bidirectional_encoder_with_direct_head():
    model = models.Forecaster(input_length=6, horizon=5, num_inputs=3, hidden_size=8,
                              num_layers=2, bidirectional=True, segment_length=0, cell="elman")
    assert np.asarray(model(np.zeros((2, 6, 3), np.float32))).shape == (2, 5, 3)
    with pytest.raises(ValueError, match="decoder: the 'parallel' decoder"):
        models.Forecaster(12, 5, 3, bidirectional=True, segment_length=0, decoder="parallel")


def test_clockwork_encoder_state_and_clock_reach_the_parallel_decoder():
    config = dataclasses.replace(TEST, cell="clockwork", clockwork_periods=(1, 3),
                                 decoder="parallel")
    model = models.build_model(config, num_inputs=7, target_channels=[0, 1, 2])
    x = np.random.default_rng(0).standard_normal((2, 24, 7)).astype(np.float32)
    _, hidden, clock = model.encoder(model.embedding(x.reshape(2, 4, 42)))
    # 4 segments seen; the clock counts modulo lcm(periods) = 3.
    assert np.asarray(clock).ravel().tolist() == [1.0, 1.0]
    assert np.asarray(model(x)).shape == (2, 12, 3)


@pytest.mark.parametrize("overrides, message", [
    ({"segment_length": 5}, "--segment_length: expected 0 .* divisor of --input_length=24"),
    ({"bidirectional": True, "decoder": "parallel"}, "--decoder: .*expected --decoder=direct"),
    ({"dropout": 1.0}, r"--dropout: expected a finite number >= 0 and < 1, got 1.0"),
    ({"learning_rate": float("nan")}, r"--learning_rate: expected a finite number > 0"),
    ({"learning_rate": 0.0}, r"--learning_rate: expected a finite number > 0, got 0.0"),
    ({"max_grad_norm": -1.0}, r"--max_grad_norm: expected a finite number >= 0"),
    ({"lr_decay": 0.0}, r"--lr_decay: expected a finite number > 0 and <= 1"),
    ({"horizon": 0}, r"--horizon: expected an integer >= 1, got 0"),
    ({"clockwork_periods": (1, 0), "cell": "clockwork"}, r"--clockwork_periods: expected an "
                                                         r"integer >= 1, got 0"),
    ({"encoding": "nope"}, "--encoding: expected a text encoding"),
    ({"coerce": True}, "--coerce: only applies to --csv data"),
    ({"dataset": "etth1"}, "--data_dir: expected the folder"),
    ({"cell": "transformer"}, "--cell: expected one of"),
    ({"target": "y0"}, "--target: expected no --target in --mode=M"),
])
def test_config_errors_name_the_flag(overrides, message):
    with pytest.raises(runs.UsageError, match=message):
        configs.validate(dataclasses.replace(TEST, **overrides))


# --------------------------------------------------------------------------
# CSV input
# --------------------------------------------------------------------------
def test_csv_gaps_and_duplicates_are_reported(tmp_path, caplog):
    path = _csv(tmp_path / "gappy.csv", gap_at=100, duplicate_at=300)
    with caplog.at_level(logging.INFO):
        data = train.load_data(configs.validate(_csv_config(path)))
    report = data.series.report
    assert [g.missing for g in report.gaps] == [1] and len(report.duplicates) == 2
    text = caplog.text
    assert "1 gaps in the 0 days 01:00:00 frequency" in text
    assert "2 rows with a duplicated timestamp" in text
    # Chronological 70/10/20 split of the 601 rows.
    assert data.series.n_rows == 601 and data.series.borders.test == (481, 601)
    assert data.target_names == ("a", "b")


@pytest.mark.parametrize("make, overrides, message", [
    (dict(), {"targets": ("nope",)}, r"--targets: column 'nope' is not in the file"),
    (dict(), {"targets": ("label",)}, r"--targets: expected a numeric column, got 'label'"),
    (dict(nan_rows=(5, 9)), {}, r"--fill: 'error' expects no NaN .* row 5 \(a\), row 9 \(a\)"),
    (dict(n_rows=30), {}, r"--input_length=24 \+ --horizon=12: one window needs 36 rows, "
                          r"but .* has only 30"),
    (dict(n_rows=200), {"horizon": 24},
     r"--input_length=24 and --horizon=24: the val split \(rows \[140, 160\) of 200\)"),
    (dict(bad_date_at=7), {}, r"--date_column 'date': expected every value to parse.*row 7"),
])
def test_csv_bad_input_fails_before_training(tmp_path, make, overrides, message):
    path = _csv(tmp_path / "bad.csv", **make)
    workdir = tmp_path / "run"
    with pytest.raises(ValueError, match=message):
        train.train_and_evaluate(_csv_config(path, **overrides), str(workdir))
    assert not workdir.exists()              # nothing was trained or written


def test_encoding_and_coerce_flags_reach_the_csv_reader(tmp_path):
    path = _csv(tmp_path / "latin.csv")
    frame = pd.read_csv(path)
    frame["label"] = np.where(frame.index % 2, "caf\u00e9", "cr\u00e8me")
    frame["a"] = frame["a"].astype(object)
    frame.loc[7, "a"] = "abc"                                 # one bad cell
    frame.to_csv(path, index=False, encoding="latin-1")
    config = _csv_config(path, encoding="latin-1")
    with pytest.raises(runs.UsageError, match="abc"):          # named, not dropped
        train.train_and_evaluate(config, str(tmp_path / "strict"))
    with pytest.raises(runs.UsageError, match="latin.csv"):    # the encoding matters
        train.train_and_evaluate(config.replace(encoding="utf-8", coerce=True,
                                                fill="interpolate"), str(tmp_path / "utf8"))
    data = train.load_data(configs.validate(config.replace(coerce=True, fill="interpolate")))
    assert data.target_names == ("a", "b") and np.isfinite(data.series.values).all()


def test_csv_nans_can_be_filled(tmp_path):
    path = _csv(tmp_path / "nan.csv", nan_rows=(5, 9))
    data = train.load_data(configs.validate(_csv_config(path, fill="interpolate")))
    assert np.isfinite(data.series.values).all()
    assert set(data.series.report.nan_rows["a"]) == {5, 9}


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------
def _main(*args):
    return subprocess.run([sys.executable, "-m", "experiments.forecast", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=ENV)


def test_main_with_flags_on_a_csv_writes_json_plot_and_export(tmp_path):
    pytest.importorskip("matplotlib")
    path = _csv(tmp_path / "series.csv")
    workdir, export = tmp_path / "run", tmp_path / "export"
    out = _main("--config=test", f"--csv={path}", "--targets=a,b", "--input_length=24",
                "--horizon=12", "--epochs=1", "--plot", f"--train_dir={workdir}",
                f"--export_dir={export}")
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    results = json.loads(lines[-1])
    for key in KEYS + ("test_mse_original", "linear_mae_original"):
        assert np.isfinite(results[key])
    assert "floor_mse" not in results                       # only the synthetic data have one
    assert any(line.startswith("model ") for line in lines[:-1])   # the table
    with open(workdir / "results.json") as handle:
        written = json.load(handle)
    assert written["test_mse"] == pytest.approx(results["test_mse"])
    # The per-step lists (H numbers per forecaster) stay in results.json only.
    assert results["per_step"] == "see results.json"
    assert len(written["per_step"]["model"]["mse"]) == 12
    with open(workdir / "flags.json") as handle:
        flags_json = json.load(handle)
    assert flags_json["dataset"] == "csv" and flags_json["targets"] == ["a", "b"]
    assert flags_json["hidden_size"] == TEST.hidden_size    # from --config=test
    assert flags_json["data_fingerprint"]["file"]["name"] == "series.csv"
    with open(workdir / "forecast.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert (export / "saved_model.pb").exists()
    with open(export / "assets" / "metadata.json") as handle:
        assert json.load(handle)["target_columns"] == ["a", "b"]


def test_main_reports_bad_flags_in_one_line(tmp_path):
    out = _main("--config=test", f"--train_dir={tmp_path / 'run'}", "--segment_length=5")
    assert out.returncode == runs.EXIT_USAGE, out.stderr
    assert out.stderr.count("\n") == 1 and "--segment_length: expected" in out.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["--config=nope"], "--config=nope: expected one of ['default', 'etth1', 'test']"),
    (["--learning_rate=-1"], "--learning_rate=-1.0: expected a finite number > 0"),
    (["--csv=missing.csv"], "--csv: expected an existing CSV file"),
    (["--targets=a", "--dataset=synthetic"], "--targets: only applies to --csv data"),
])
def test_main_user_mistakes_exit_2_with_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        runs.main(train.EXPERIMENT, ["forecast", "--config=test",
                                     f"--train_dir={tmp_path / 'run'}", *args])
    err = capsys.readouterr().err
    assert exit_.value.code == runs.EXIT_USAGE
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_plot_without_matplotlib_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # "import matplotlib" fails
    with pytest.raises(runs.UsageError, match="--plot: needs matplotlib"):
        train.train_and_evaluate(dataclasses.replace(TEST, plot=True), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_resuming_on_a_csv_with_other_columns_is_refused(tmp_path):
    path = _csv(tmp_path / "series.csv")
    # Default targets (every numeric column), as a user who reruns the command would.
    config = _csv_config(path, epochs=1, targets=())
    train.train_and_evaluate(config, str(tmp_path / "run"))
    before = (tmp_path / "run" / "flags.json").read_text()
    frame = pd.read_csv(path).rename(columns={"a": "x", "b": "y"})
    frame.to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(runs.UsageError, match="trained on other data"):
        train.train_and_evaluate(_csv_config(str(tmp_path / "renamed.csv"), epochs=2,
                                             targets=()), str(tmp_path / "run"))
    assert (tmp_path / "run" / "flags.json").read_text() == before


def test_mirrored_on_two_cpu_devices_matches_one_device(tmp_path):
    """Data-parallel training under MirroredStrategy computes what one device computes
    (a subprocess: the CPU split must happen before TensorFlow starts)."""
    code = f"""
import json
from seqkit import distribute
distribute.split_cpu(2)
from experiments.forecast import configs, train
base = configs.get_config("test").replace(dropout=0.0, epochs=2, progress=False)
one = train.train_and_evaluate(base, {str(tmp_path / 'one')!r})
two = train.train_and_evaluate(base.replace(strategy="mirrored"), {str(tmp_path / 'two')!r})
print(json.dumps([one["test_mse"], two["test_mse"], two["replicas"]]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env=ENV)
    assert out.returncode == 0, out.stderr[-3000:]
    one, two, replicas = json.loads(out.stdout.strip().splitlines()[-1])
    assert replicas == 2 and two == pytest.approx(one, rel=1e-4)


def _walk_csv(tmp_path):
    steps = np.random.default_rng(7).standard_normal(600).cumsum()
    frame = pd.DataFrame({"date": pd.date_range("2022-01-03", periods=600, freq="h"),
                          "a": steps, "b": 0.5 * steps})
    frame.to_csv(tmp_path / "walk.csv", index=False)
    return tmp_path / "walk.csv", frame


@pytest.mark.parametrize("select", ["best", "model"])
def test_a_baseline_that_beats_the_model_on_validation_is_selected_and_exported(
        tmp_path, capsys, select):
    """A random walk: repeating the last value is the optimal forecast, so a tiny
    model trained for one epoch with no instance norm loses to a baseline; the
    run says so in one line and, with --select=best, exports that baseline as a
    SavedModel whose forecast is the baseline's own, in raw units."""
    path, frame = _walk_csv(tmp_path)
    export = tmp_path / "export"
    results = runs.main(train.EXPERIMENT, [
        "forecast", f"--csv={path}", "--targets=a,b", "--config=test",
        "--input_length=24", "--horizon=12", "--epochs=1", "--noprogress",
        "--instance_norm=none", f"--select={select}", f"--export_dir={export}",
        f"--train_dir={tmp_path / 'run'}"])
    best = results["beaten_on_valid_by"]
    assert best in ("repeat", "seasonal_naive", "linear")
    assert results[f"valid_{best}_mse"] < results["valid_mse"]
    label = train.LABELS[best]
    line = (f"{label} beats the model on validation: {results[f'valid_{best}_mse']:.3g} vs "
            f"{results['valid_mse']:.3g}; ")
    line += f"exporting {label}; see --select" if select == "best" else \
        "exporting the model (--select=model)"
    assert line in capsys.readouterr().out.splitlines()
    with open(tmp_path / "run" / "results.json") as handle:
        assert json.load(handle)["selected"] == (best if select == "best" else "model")
    prefix = best if select == "best" else "test"
    assert results["selected_mse"] == results[f"{prefix}_mse"]

    import tensorflow as tf

    served = tf.saved_model.load(str(export))
    raw = frame[["a", "b"]].to_numpy(np.float32)[-5 * 24:].reshape(5, 24, 2)
    forecast = served.signatures["serving_default"](window=tf.constant(raw))["forecast"].numpy()
    assert forecast.shape == (5, 12, 2)
    with open(export / "assets" / "metadata.json") as handle:
        assert json.load(handle)["forecaster"] == results["selected"]
    if select == "best" and best == "repeat":
        np.testing.assert_allclose(forecast, np.repeat(raw[:, -1:], 12, axis=1), rtol=1e-5,
                                   atol=1e-4)


def test_the_selection_names_the_best_baseline_only_when_it_wins(tiny_run):
    results, _ = tiny_run
    valid = {k: results[f"valid_{k}_mse"] for k in ("repeat", "seasonal_naive", "linear")}
    best = min(valid, key=valid.get)
    if valid[best] < results["valid_mse"]:
        assert results["beaten_on_valid_by"] == best and results["selected"] == best
        assert train.LABELS[best] in results["baseline_warning"]
    else:
        assert results["beaten_on_valid_by"] is None and "baseline_warning" not in results
        assert results["selected"] == "model"


def test_instance_norm_auto_is_last_on_a_csv_and_none_on_built_in_data():
    assert models.resolved_instance_norm(configs.validate(TEST)) == "none"
    csv = configs.validate(TEST.replace(csv="x.csv"))
    assert csv.instance_norm == "last" and models.resolved_instance_norm(csv) == "last"
    assert configs.validate(TEST.replace(csv="x.csv", instance_norm="none")).instance_norm \
        == "none"

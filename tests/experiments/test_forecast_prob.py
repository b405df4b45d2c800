"""python -m experiments.forecast --quantiles / --backtest: the pinball loss, quantile
metrics, baselines' residual quantiles, the quantile export and the rolling-origin
backtest, each checked against a NumPy recomputation on tiny synthetic data."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from experiments.forecast import configs, models, train
from seqkit import baselines, metrics, runs
from seqkit.data import timeseries as ts
from seqkit.export import forecaster as export_lib

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
LEVELS = (0.1, 0.5, 0.9)
CONFIG = configs.get_config("test").replace(quantiles=LEVELS, backtest=4, select="model",
                                            plot=True)


def _raw_windows(data, windows):
    """The raw (original units) input windows of ``windows``, float32."""
    rows = windows.origins[:, None] - windows.input_length + np.arange(windows.input_length)
    return data.series.values[rows][..., list(windows.input_columns)].astype(np.float32)


@pytest.fixture(scope="module")
def prob_run(tmp_path_factory):
    """One tiny run with quantiles, a 4-origin backtest, plots and an export."""
    workdir = tmp_path_factory.mktemp("prob")
    config = CONFIG.replace(export_dir=str(workdir / "export"))
    results = train.train_and_evaluate(config, str(workdir / "run"))
    data = train.load_data(configs.validate(config))
    served = tf.saved_model.load(config.export_dir).signatures["serving_default"](
        window=tf.constant(_raw_windows(data, data.test)))
    scaler, targets = data.test.scaler, data.test.target_columns
    # The exported quantiles, standardized again: the model's test forecast.
    levels = np.stack([scaler.transform(served["quantiles"].numpy()[..., j], columns=targets)
                       for j in range(len(LEVELS))], axis=-1)
    return {"results": results, "data": data, "served": served, "levels": levels,
            "workdir": workdir, "config": config}


# --------------------------------------------------------------------------
# The training loss
# --------------------------------------------------------------------------
def test_pinball_row_losses_match_numpy():
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((4, 5, 2)).astype(np.float32)
    prediction = rng.standard_normal((4, 5, 2, 3)).astype(np.float32)
    rows = train.row_losses("mse", tf.constant(prediction), tf.constant(truth), LEVELS)
    error = truth[..., None] - prediction
    q = np.array(LEVELS)
    expected = np.where(error >= 0, q * error, (q - 1) * error).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(rows.numpy(), expected, rtol=1e-5)
    # The mean over rows is seqkit.metrics' mean pinball loss.
    assert rows.numpy().mean() == pytest.approx(
        metrics.pinball_loss(prediction, truth, LEVELS).mean(), rel=1e-5)


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
@pytest.mark.parametrize("decoder", ["direct", "parallel", "autoregressive"])
@pytest.mark.parametrize("channel_independent", [False, True])
def test_quantile_model_shapes_order_and_instance_norm(decoder, channel_independent):
    model = models.Forecaster(input_length=12, horizon=10, num_inputs=4,
                              target_channels=[2, 0], hidden_size=8, segment_length=4,
                              channel_independent=channel_independent, instance_norm="last",
                              decoder=decoder, seed=1, quantiles=LEVELS)
    rng = np.random.default_rng(0)
    model.set_weights([w + 0.3 * rng.standard_normal(w.shape) for w in model.get_weights()])
    x = rng.standard_normal((3, 12, 4)).astype(np.float32)
    y = np.asarray(model(x))
    assert y.shape == (3, 10, 2, 3)
    assert np.all(np.diff(y, axis=-1) >= 0)          # the levels never cross
    # The window's level is added back to every quantile.
    shifted = x.copy()
    shifted[..., 2] += 5.0
    shifted[..., 0] -= 2.0
    np.testing.assert_allclose(np.asarray(model(shifted)), y + np.array([5.0, -2.0])[:, None],
                               atol=1e-4)
    assert models.Forecaster.from_config(model.get_config()).quantiles == LEVELS


def test_model_refuses_levels_without_the_median():
    with pytest.raises(ValueError, match="quantiles: expected increasing levels"):
        models.Forecaster(12, 4, 2, segment_length=0, quantiles=(0.1, 0.9))


# --------------------------------------------------------------------------
# A run with --quantiles and --backtest
# --------------------------------------------------------------------------
def test_point_metrics_score_the_median(prob_run):
    results, data, levels = prob_run["results"], prob_run["data"], prob_run["levels"]
    assert results["selected"] == "model"
    median = levels[..., LEVELS.index(0.5)]
    # Exported at float32 in original units, so not bit-exact.
    assert results["test_mse"] == pytest.approx(baselines.mse(median, data.test.targets),
                                                rel=1e-4)
    assert results["test_mae"] == pytest.approx(baselines.mae(median, data.test.targets),
                                                rel=1e-4)
    np.testing.assert_allclose(prob_run["served"]["forecast"].numpy(),
                               prob_run["served"]["quantiles"].numpy()[..., 1])
    # The selection ran on the validation pinball loss.
    assert results["valid_loss"] == pytest.approx(results["valid_pinball"])
    for name in ("repeat", "seasonal_naive", "linear"):
        assert np.isfinite(results[f"valid_{name}_pinball"]), name


def test_quantile_metrics_match_a_recomputation(prob_run):
    results, data, levels = prob_run["results"], prob_run["data"], prob_run["levels"]
    truth = data.test.targets.astype(np.float64)
    error = truth[..., None] - levels
    q = np.array(LEVELS)
    pinball = np.where(error >= 0, q * error, (q - 1) * error)
    assert results["test_pinball"] == pytest.approx(pinball.mean(), rel=1e-4)
    # wQL in original units: 2 * sum pinball / sum |y|, mean over levels.
    raw_levels = prob_run["served"]["quantiles"].numpy().astype(np.float64)
    raw_truth = data.test.inverse_targets(truth)
    raw_error = raw_truth[..., None] - raw_levels
    raw_pinball = np.where(raw_error >= 0, q * raw_error, (q - 1) * raw_error)
    wql = 2 * raw_pinball.sum(axis=(0, 1, 2)) / np.abs(raw_truth).sum()
    assert results["test_wql"] == pytest.approx(wql.mean(), rel=1e-4)
    assert results["test_wql_per_quantile"] == pytest.approx(wql.tolist(), rel=1e-4)
    inside = (levels[..., 0] <= truth) & (truth <= levels[..., 2])
    # float32 export: a value exactly on a band edge may flip; allow two of them.
    assert results["test_coverage_80"] == pytest.approx(inside.mean(), abs=2 / truth.size)
    assert results["nominal_coverage_80"] == pytest.approx(0.8)


def test_baselines_get_quantiles_from_their_validation_residuals(prob_run):
    results, data = prob_run["results"], prob_run["data"]
    horizon, channels = data.test.horizon, data.test.target_channels
    residual = data.val.targets - baselines.repeat_last(data.val.inputs, horizon, channels)
    low = np.minimum(np.quantile(residual, 0.1, axis=0), 0)
    high = np.maximum(np.quantile(residual, 0.9, axis=0), 0)
    point = baselines.repeat_last(data.test.inputs, horizon, channels)
    truth = data.test.targets
    inside = (point + low <= truth) & (truth <= point + high)
    assert results["repeat_coverage_80"] == pytest.approx(inside.mean())
    quantile_forecast = np.stack([point + low, point, point + high], axis=-1)
    raw = np.stack([data.test.inverse_targets(quantile_forecast[..., j]) for j in range(3)], -1)
    expected = metrics.weighted_quantile_loss(raw, data.test.inverse_targets(truth), LEVELS)
    assert results["repeat_wql"] == pytest.approx(expected["mean"])
    # Its point metrics are those of the point forecast, as without --quantiles.
    assert results["repeat_mse"] == pytest.approx(baselines.mse(point, truth))


def test_synthetic_run_reports_the_closed_form_optimum(prob_run):
    results, data = prob_run["results"], prob_run["data"]
    floor = data.series.optimal_quantile_loss(data.test, LEVELS)
    assert results["floor_pinball"] == pytest.approx(floor.mean)
    true_levels = data.series.oracle_quantiles(data.test, LEVELS)
    truth = data.test.targets
    inside = (true_levels[..., 0] <= truth) & (truth <= true_levels[..., 2])
    assert results["oracle_coverage_80"] == pytest.approx(inside.mean())
    # The expected wQL of the true quantiles in original units (pinball scales with
    # each column's scale), against the realised wQL of the true quantiles.
    assert results["floor_wql"] == pytest.approx(results["oracle_wql"], rel=0.15)
    table = train.format_quantiles(results)
    for label in ("model", "repeat last", "linear", "true quantiles", "floor (expected)",
                  "cover 80%"):
        assert label in table, label


def test_backtest_matches_numpy_on_the_same_origins(prob_run):
    results, data, levels = prob_run["results"], prob_run["data"], prob_run["levels"]
    n = data.test.n
    origins = np.round(np.linspace(0, n - 1, 4)).astype(int)
    assert origins[0] == 0 and origins[-1] == n - 1 and len(set(origins)) == 4
    assert results["backtest_origins"] == 4
    assert results["backtest_rows"] == data.test.origins[origins].tolist()
    truth = data.test.targets[origins].astype(np.float64)
    horizon, channels = data.test.horizon, data.test.target_channels
    forecasts = {
        "model": levels[origins][..., 1],
        "repeat": baselines.repeat_last(data.test.inputs, horizon, channels)[origins],
        "seasonal_naive": baselines.seasonal_naive(data.test.inputs, horizon,
                                                   CONFIG.season, channels)[origins]}
    for name, forecast in forecasts.items():
        per_origin = ((forecast - truth) ** 2).mean(axis=(1, 2))
        rel = 1e-4 if name == "model" else 1e-9
        assert results[f"backtest_{name}_mse_mean"] == pytest.approx(per_origin.mean(), rel=rel)
        assert results[f"backtest_{name}_mse_std"] == pytest.approx(per_origin.std(), rel=rel,
                                                                    abs=1e-9)
        per_origin = np.abs(forecast - truth).mean(axis=(1, 2))
        assert results[f"backtest_{name}_mae_mean"] == pytest.approx(per_origin.mean(), rel=rel)
    assert np.isfinite(results["backtest_linear_mae_std"])
    table = train.format_backtest(results)
    assert "backtest (4 origins)" in table and "seasonal naive" in table


def test_report_and_plots(prob_run):
    results = prob_run["results"]
    run_dir = prob_run["workdir"] / "run"
    for name in ("forecast.png", "per_step.png"):
        with open(run_dir / name, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert results["per_step_plot"].endswith("per_step.png")
    report = train.EXPERIMENT.report(results)
    assert "cover 80%" in report and "backtest (4 origins)" in report
    with open(run_dir / "results.json") as handle:
        written = json.load(handle)
    assert written["test_coverage_80"] == pytest.approx(results["test_coverage_80"])


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------
def test_export_returns_the_models_quantiles_and_lists_them(tmp_path):
    data = ts.synthetic(n_rows=1200, seed=3)
    config = configs.get_config("test").replace(quantiles=LEVELS)
    model = models.build_model(config, num_inputs=7, target_channels=[0, 1, 2])
    rng = np.random.default_rng(0)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape) for w in model.get_weights()])
    path = str(tmp_path / "export")
    length, horizon = config.input_length, config.horizon
    export_lib.export_forecaster(model, data.scaler(), path, length, horizon,
                                 input_columns=data.columns,
                                 target_columns=data.target_columns, quantiles=LEVELS)
    raw = data.values[:4 * length].reshape(4, length, 7).astype(np.float32)
    scaler = data.scaler()
    standardized = np.asarray(model(scaler.transform(raw).astype(np.float32)))
    expected = np.stack([scaler.inverse_transform(standardized[..., j], columns=[0, 1, 2])
                         for j in range(3)], axis=-1)
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["serving_default"](window=tf.constant(raw))
    np.testing.assert_allclose(out["quantiles"].numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out["forecast"].numpy(), expected[..., 1], rtol=1e-4, atol=1e-4)
    meta = loaded.signatures["metadata"]()
    np.testing.assert_allclose(meta["quantiles"].numpy(), LEVELS)
    with open(os.path.join(path, "assets", export_lib.METADATA_FILE)) as handle:
        written = json.load(handle)
    assert written["quantiles"] == list(LEVELS)
    assert written["signature"]["serving_default"]["outputs"]["quantiles"] == [
        "float32", [None, horizon, 3, 3]]
    # A point model exported with quantiles is refused, naming the shape.
    point = models.build_model(configs.get_config("test"), num_inputs=7,
                               target_channels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"quantiles=3\], got \(1, 12, 3\)"):
        export_lib.export_forecaster(point, data.scaler(), str(tmp_path / "bad"), length,
                                     horizon, input_columns=data.columns,
                                     target_columns=data.target_columns, quantiles=LEVELS)


def test_baseline_forecaster_adds_its_residual_offsets(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    offsets = np.sort(rng.standard_normal((4, 2, 3)), axis=-1).astype(np.float32)
    offsets[..., 1] = 0.0
    f = export_lib.BaselineForecaster("repeat", input_length=6, horizon=4, targets=[1, 0],
                                      offsets=offsets)
    point = baselines.repeat_last(x, 4, [1, 0])
    np.testing.assert_allclose(f(x).numpy(), point[..., None] + offsets, rtol=1e-6)
    with pytest.raises(ValueError, match=r"offsets: expected shape \[horizon=4, targets=2"):
        export_lib.BaselineForecaster("repeat", 6, 4, [1, 0], offsets=offsets[:2])
    # Exported, its forecast is the median: the baseline's own point forecast.
    scaler = ts.StandardScaler(mean=np.zeros(2), scale=np.ones(2), columns=("a", "b"))
    path = export_lib.export_forecaster(f, scaler, str(tmp_path / "b"), 6, 4,
                                        input_columns=["a", "b"], target_columns=["b", "a"],
                                        quantiles=LEVELS)
    out = tf.saved_model.load(path).signatures["serving_default"](window=tf.constant(x))
    np.testing.assert_allclose(out["forecast"].numpy(), np.repeat(x[:, -1:, [1, 0]], 4, axis=1),
                               rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [(0.1, 0.9), (0.9, 0.5, 0.1), (0.0, 0.5), (0.5, 1.5)])
def test_bad_quantiles_name_the_flag(levels):
    with pytest.raises(runs.UsageError, match=r"^--quantiles: expected increasing levels "
                                              r"strictly between 0 and 1 that include 0.5"):
        configs.validate(CONFIG.replace(quantiles=levels))


def test_backtest_beyond_the_test_windows_fails_before_training(tmp_path):
    with pytest.raises(runs.UsageError, match=r"^--backtest: expected a number of origins "
                                              r"between 1 and the 229 test windows, got 230"):
        train.train_and_evaluate(CONFIG.replace(backtest=230), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    with pytest.raises(runs.UsageError, match="--backtest"):
        configs.validate(CONFIG.replace(backtest=-1))
    with pytest.raises(ValueError, match="--backtest: expected a number of origins"):
        train.backtest_origins(10, 0)


def test_main_bad_quantiles_exit_2_with_one_line(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "experiments.forecast", "--config=test",
         "--quantiles=0.2,0.8", f"--train_dir={tmp_path / 'run'}"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert process.returncode == 2
    lines = [line for line in process.stderr.splitlines() if "--quantiles" in line]
    assert lines and "include 0.5" in lines[-1], process.stderr[-2000:]

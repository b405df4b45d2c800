"""The forecasting experiment on the ``seqkit.runs`` harness: data, model, steps, metrics.

1. Data (``load_data``): the synthetic series, ETTh1 (standard protocol) or any
   CSV (``seqkit.data.timeseries.load_csv``: dates parsed and sorted, duplicated
   timestamps, gaps, NaNs and non-numeric cells reported, chronological
   70/10/20 split). Scaling is fitted on the training rows only. Bad input
   raises a ValueError naming the flag before anything is written.
2. Baselines (``baseline_forecasts``) on exactly the test windows the model is
   scored on: repeat-last, seasonal-naive and the channel-shared linear model
   (ridge strength chosen on validation).
3. Training (``ForecastExperiment.train_epoch``): a custom step under the
   ``tf.distribute`` strategy; ``batch_size`` is the *global* batch, each
   replica takes its rows of it (``seqkit.distribute.rows_of_replica``), the
   gradient is that of the mean loss over the batch's windows, clipped by the
   global norm of the replicas' sum. The row order of an epoch is a function of
   (seed, epoch), so a resumed run ends like an uninterrupted one. Adam with
   learning rate ``learning_rate · lr_decay^(epoch − 1)``. The validation loss
   (``--loss``) picks the best epoch; early stopping after ``patience`` epochs
   without improvement.
4. Report: MSE/MAE of the model (best-validation weights) and of the
   baselines, standardized and in original units (``format_table``); on the
   synthetic series also the exact error floor. Optional plot and SavedModel.

Flags, train dir, resume, checkpoints, chief-only writes, logs, errors and
results are ``seqkit.runs``'s.

Example:
    >>> from experiments.forecast import configs, train
    >>> results = train.train_and_evaluate(configs.get_config("test"), "/tmp/fc")  # doctest: +SKIP
    >>> results["test_mse"] < results["repeat_mse"]                               # doctest: +SKIP
    True
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os

import numpy as np

from experiments.forecast import configs as configs_lib
from seqkit import baselines
from seqkit import runs
from seqkit.data import timeseries as ts


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Data:
    """The series and the train/val/test ``Windows`` a run uses (standardized)."""

    series: ts.SeriesSplit
    train: ts.Windows
    val: ts.Windows
    test: ts.Windows

    @property
    def input_names(self):
        return tuple(self.series.columns[c] for c in self.test.input_columns)

    @property
    def target_names(self):
        return tuple(self.series.columns[c] for c in self.test.target_columns)


def load_data(config: configs_lib.Config) -> Data:
    """The series of ``config`` cut into windows, with errors that name the flags.

    Raises:
        ValueError: a missing or non-numeric target column, NaNs with
            ``--fill=error`` (listing their rows), a date column that does not
            parse, too few rows for ``--input_length + --horizon`` in a split.
    """
    if config.dataset == "synthetic":
        series = ts.synthetic(n_rows=config.synthetic_rows, seed=config.seed)
    elif config.dataset == "etth1":
        series = ts.etth1(config.data_dir)
    else:
        if not os.path.isfile(config.csv):
            raise ValueError(f"--csv: expected an existing CSV file, got {config.csv!r}")
        try:
            series = ts.load_csv(config.csv, date_column=config.date_column or None,
                                 targets=list(config.targets) if config.targets else None,
                                 features=list(config.features) if config.features else None,
                                 fill=config.fill, encoding=config.encoding,
                                 coerce=config.coerce)
        except ValueError as error:
            # load_csv names its arguments; the user knows them as flags.
            raise ValueError(f"--csv={config.csv!r}: {_as_flags(str(error))}") from error
        needed = config.input_length + config.horizon
        if series.n_rows < needed:
            raise ValueError(
                f"--input_length={config.input_length} + --horizon={config.horizon}: one "
                f"window needs {needed} rows, but {config.csv!r} has only {series.n_rows}")
    if series.report is not None:
        series.report.log()
    if config.target and config.target not in series.target_columns:
        raise ValueError(f"--target: expected one of the target columns "
                         f"{list(series.target_columns)}, got {config.target!r}")

    windows = {}
    for split in ts.SPLITS:
        try:
            windows[split] = series.windows(split, config.input_length, config.horizon,
                                            mode=config.mode, target=config.target or None)
        except ValueError as error:
            start, end = series.borders[split]
            raise ValueError(
                f"--input_length={config.input_length} and --horizon={config.horizon}: the "
                f"{split} split (rows [{start}, {end}) of {series.n_rows}) is too short for "
                f"one window: {error}; use a shorter --input_length/--horizon or more rows"
            ) from error
    return Data(series=series, **windows)


def _as_flags(message: str) -> str:
    for name in ("date_column", "targets", "features", "fill"):
        if message.startswith(name + ":") or message.startswith(name + " "):
            return "--" + message
    return message


# --------------------------------------------------------------------------
# Baselines and metrics
# --------------------------------------------------------------------------
def fit_linear(data: Data, alphas=baselines.DEFAULT_ALPHAS) -> baselines.LinearForecaster:
    """The channel-shared linear baseline fitted on the training windows, its ridge
    strength the one of ``alphas`` with the lowest validation MSE (as in
    ``seqkit.baselines.evaluate_baselines``)."""
    channels = data.test.target_channels
    fits = [baselines.LinearForecaster(alpha=a).fit(data.train.inputs, data.train.targets,
                                                    channels) for a in alphas]
    errors = [baselines.mse(f.predict(data.val.inputs, channels), data.val.targets)
              for f in fits]
    return fits[int(np.argmin(errors))]


def baseline_forecasts(data: Data, season: int, alphas=baselines.DEFAULT_ALPHAS,
                       split: str = "test", linear=None) -> dict[str, np.ndarray]:
    """Standardized forecasts of every baseline on ``split``'s windows ("test" or
    "valid": the same windows as the model).

    The linear model's ridge strength is chosen on validation (``fit_linear``),
    so on "valid" its score is slightly optimistic, which only makes the
    selection stricter against the model.
    """
    windows = {"test": data.test, "valid": data.val}[split]
    horizon, channels = windows.horizon, windows.target_channels
    linear = linear or fit_linear(data, alphas)
    return {
        "repeat": baselines.repeat_last(windows.inputs, horizon, channels),
        "seasonal_naive": baselines.seasonal_naive(windows.inputs, horizon, season, channels),
        "linear": linear.predict(windows.inputs, channels),
    }


def selected_forecaster(name: str, run, linear: baselines.LinearForecaster):
    """The callable that ``--export_dir`` exports: the model, or a baseline as a
    TensorFlow module with the model's call (standardized window -> forecast)."""
    if name == "model":
        return run.model
    from seqkit.export import forecaster as export_lib

    config, test = run.config, run.data.test
    return export_lib.BaselineForecaster(
        name, config.input_length, config.horizon, test.target_channels,
        season=config.season, weight=linear.weight, bias=linear.bias)


def mase_scale(data: Data, season: int) -> np.ndarray:
    """MASE's per-target scale: the seasonal-naive MAE (season ``--season``) of the
    training rows, in original units."""
    from seqkit import metrics

    start, end = data.series.borders["train"]
    history = data.series.values[start:end][:, list(data.test.target_columns)]
    return metrics.seasonal_naive_scale(history, season)


def scores(prediction: np.ndarray, windows: ts.Windows, scale=None) -> dict[str, float]:
    """MSE/MAE of a standardized forecast, standardized and in original units; with
    ``scale`` (``mase_scale``) also MASE and sMAPE (original units)."""
    from seqkit import metrics

    truth = windows.targets
    extra = {}
    if scale is not None:
        raw, raw_truth = windows.inverse_targets(prediction), windows.inverse_targets(truth)
        extra = {"mase": metrics.mase(raw, raw_truth, scale),
                 "smape": metrics.smape(raw, raw_truth)}
    return {**extra,
        "mse": baselines.mse(prediction, truth),
        "mae": baselines.mae(prediction, truth),
        "mse_original": baselines.mse(windows.inverse_targets(prediction),
                                      windows.inverse_targets(truth)),
        "mae_original": baselines.mae(windows.inverse_targets(prediction),
                                      windows.inverse_targets(truth)),
    }


def format_table(results: dict) -> str:
    """The MSE/MAE table of a ``train_and_evaluate`` result.

    Example:
        >>> print(format_table({"test_mse": 0.5, "test_mae": 0.4, "test_mse_original": 2.0,
        ...                     "test_mae_original": 1.0}))    # doctest: +NORMALIZE_WHITESPACE
        forecaster          MSE     MAE  MSE (orig.)  MAE (orig.)
        model            0.5000  0.4000       2.0000       1.0000
    """
    rows = [("model", "test"), ("repeat last", "repeat"),
            ("seasonal naive", "seasonal_naive"), ("linear", "linear"),
            ("floor (oracle)", "floor")]
    extra = [m for m in ("mase", "smape") if f"test_{m}" in results]
    names = {"mase": "MASE", "smape": "sMAPE"}
    lines = [f"{'forecaster':<15} {'MSE':>7} {'MAE':>7} {'MSE (orig.)':>12} {'MAE (orig.)':>12}"
             + "".join(f" {names[m]:>7}" for m in extra)]
    for label, key in rows:
        if f"{key}_mse" not in results:
            continue
        cells = [results.get(f"{key}_{m}") for m in ("mse", "mae", "mse_original",
                                                      "mae_original", *extra)]
        text = [f"{c:.4f}" if c is not None else "-" for c in cells]
        lines.append(f"{label:<15} {text[0]:>7} {text[1]:>7} {text[2]:>12} {text[3]:>12}"
                     + "".join(f" {t:>7}" for t in text[4:]))
    return "\n".join(lines)


def format_per_step(per_step: dict, rows: int = 6) -> str:
    """Test MSE by horizon step (standardized) of every forecaster, at ``rows``
    evenly spaced steps (the full lists are in results.json, ``per_step``).

    Example:
        >>> print(format_per_step({"model": {"mse": [0.1, 0.2], "mae": [0.3, 0.4]}}))
        MSE by step     model
        h=1            0.1000
        h=2            0.2000
    """
    names = list(per_step)
    horizon = len(per_step[names[0]]["mse"])
    steps = sorted({int(round(i)) for i in np.linspace(0, horizon - 1, min(rows, horizon))})
    lines = [f"{'MSE by step':<12}" + "".join(f" {n[:14]:>14}" if len(n) > 9 else f" {n:>9}"
                                              for n in names)]
    for step in steps:
        lines.append(f"{'h=' + str(step + 1):<12}" + "".join(
            f" {per_step[n]['mse'][step]:>{14 if len(n) > 9 else 9}.4f}" for n in names))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Training and evaluation steps
# --------------------------------------------------------------------------
def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """Row order of ``epoch`` (from 1): a permutation drawn from (seed, epoch).

    A pure function of the epoch number, so that a resumed run sees the same
    batches as an uninterrupted one.
    """
    return np.random.default_rng([seed, epoch - 1]).permutation(n)


def row_losses(kind, prediction, truth):
    """Per-window loss ``[batch]``: the mean squared (``mse``) or absolute (``mae``) error."""
    import tensorflow as tf

    error = prediction - truth
    per_value = tf.square(error) if kind == "mse" else tf.abs(error)
    return tf.reduce_mean(per_value, axis=[1, 2])


def make_train_step(model, optimizer, strategy, config):
    """A compiled distributed step: (x, y, weights, total weight) -> Σ weighted window losses.

    Every replica holds ``batch_size / replicas`` rows of the global batch; the
    epoch's last, short batch is padded with rows of weight 0, so every step has
    the same shapes and the gradient is that of the mean loss over the real
    windows: ``Σ_rows w·loss / Σ w``, summed over the replicas.
    """
    import tensorflow as tf

    from seqkit import distribute

    def replica_step(x, y, weights, total_weight):
        with tf.GradientTape() as tape:
            per_row = row_losses(config.loss, model(x, training=True), y)
            loss = tf.reduce_sum(weights * per_row) / total_weight
        variables = model.trainable_variables
        distribute.apply_clipped_gradients(optimizer, tape.gradient(loss, variables),
                                           variables, config.max_grad_norm)
        return tf.reduce_sum(weights * per_row)

    @tf.function
    def step(x, y, weights, total_weight):
        summed = strategy.run(replica_step, args=(x, y, weights, total_weight))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, summed, axis=None)

    return step


def make_predict(model):
    """A compiled ``x -> model(x, training=False)`` (one trace per batch shape)."""
    import tensorflow as tf

    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def predict(model, windows: ts.Windows, batch_size: int, predict_fn=None) -> np.ndarray:
    """The model's standardized forecast ``[n, horizon, targets]`` of every window.

    Runs on each worker's own copy of the weights (identical on every worker).
    """
    predict_fn = predict_fn or make_predict(model)
    parts = [np.asarray(predict_fn(windows.inputs[i:i + batch_size]), dtype=np.float64)
             for i in range(0, windows.n, batch_size)]
    return np.concatenate(parts, axis=0)


class ForecastExperiment(runs.Experiment):
    """``python -m experiments.forecast``: see the module docstring."""

    name = "forecast"
    Config = configs_lib.Config
    presets = configs_lib.PRESETS
    default_train_dir = "runs/forecast"
    monitor, mode, throughput_unit = "loss", "min", "windows"

    def validate(self, config):
        return configs_lib.validate(config)

    def load_data(self, config):
        return load_data(config)

    def fingerprint(self, config, data):
        series = data.series
        out = {"dataset": config.dataset, "columns": list(series.columns),
               "targets": list(data.target_names), "inputs": list(data.input_names),
               "rows": series.n_rows,
               "values_sha256": hashlib.sha256(
                   np.ascontiguousarray(series.values, dtype=np.float64).tobytes()).hexdigest()}
        if config.dataset == "csv":
            out["file"] = runs.file_digest(config.csv)
        return out

    def build(self, config, data):
        import keras

        from experiments.forecast import models

        model = models.build_model(config, num_inputs=len(data.test.input_columns),
                                   target_channels=data.test.target_channels)
        return model, keras.optimizers.Adam(learning_rate=config.learning_rate)

    def start(self, run):
        data = run.data
        print(f"data: {run.config.dataset}, mode {run.config.mode}, {data.train.n}/"
              f"{data.val.n}/{data.test.n} train/val/test windows, inputs "
              f"{list(data.input_names)}, targets {list(data.target_names)}", flush=True)
        run.train_step = make_train_step(run.model, run.optimizer, run.strategy, run.config)
        run.predict = make_predict(run.model)

    def learning_rate(self, config, epoch):
        # A function of the epoch number (not a running product): a resumed run
        # uses the same rate.
        return config.learning_rate * config.lr_decay ** (epoch - 1)

    def train_epoch(self, run, epoch):
        import tensorflow as tf

        from seqkit import distribute

        config, windows = run.config, run.data.train
        size = config.batch_size
        order = epoch_order(windows.n, config.seed, epoch)
        steps = -(-windows.n // size)
        progress = run.progress(steps)
        total = 0.0
        for step in range(steps):
            rows = order[step * size:(step + 1) * size]
            weights = np.zeros(size, np.float32)
            weights[:len(rows)] = 1.0
            rows = np.concatenate([rows, np.repeat(rows[:1], size - len(rows))])
            x, y = windows.inputs[rows], windows.targets[rows]

            def shard(array):
                return run.per_replica(lambda i, n: tf.constant(
                    distribute.rows_of_replica(array, i, n)))

            loss_sum = run.train_step(shard(x), shard(y), shard(weights),
                                      tf.constant(float(weights.sum())))
            loss_sum = run.check_finite(loss_sum, f"{epoch}.{step}")
            total += loss_sum
            progress.update(step + 1, loss=total / min((step + 1) * size, windows.n))
        return {"loss": total / windows.n, "windows": windows.n}

    def evaluate(self, run, split):
        windows = {"valid": run.data.val, "test": run.data.test}[split]
        forecast = predict(run.model, windows, run.config.batch_size, run.predict)
        if split == "test":
            run.test_forecast = forecast
        metrics = scores(forecast, windows)
        if split == "valid":  # what the epoch line shows; the test split gets every score
            metrics = {k: metrics[k] for k in ("mse", "mae")}
        return {"loss": metrics[run.config.loss], **metrics}

    def finish(self, run, results):
        config, data = run.config, run.data
        out = {"dataset": config.dataset, "mode": config.mode, "cell": config.cell,
               "input_length": config.input_length, "horizon": config.horizon,
               "n_test_windows": data.test.n}
        linear = fit_linear(data)
        test_forecasts = baseline_forecasts(data, config.season, linear=linear)
        scale = mase_scale(data, config.season)
        for name, prediction in test_forecasts.items():
            out.update({f"{name}_{k}": v
                        for k, v in scores(prediction, data.test, scale).items()})
        out.update({f"test_{k}": v for k, v in scores(run.test_forecast, data.test,
                                                      scale).items() if k in ("mase", "smape")})
        from seqkit import metrics

        out["per_step"] = {name: metrics.per_step_errors(prediction, data.test.targets)
                           for name, prediction in [("model", run.test_forecast),
                                                    *test_forecasts.items()]}
        out.update(_select(data, config, results["valid_mse"], linear,
                           exporting=bool(config.export_dir)))
        selected = out["selected"]
        forecast = run.test_forecast if selected == "model" else test_forecasts[selected]
        # The test scores of the forecaster that is exported and predicts.
        source = results if selected == "model" else out
        prefix = "test" if selected == "model" else selected
        out["selected_mse"] = source[f"{prefix}_mse"]
        out["selected_mae"] = source[f"{prefix}_mae"]
        if isinstance(data.series, ts.SyntheticSeries):
            out.update(_floor(data, config))
            out["ratio_to_floor"] = results["test_mse"] / out["floor_mse"]
        if run.is_chief and config.plot:
            from experiments.forecast import plot as plot_lib

            out["plot"] = plot_lib.plot_forecasts(data.test, forecast,
                                                  run.path("forecast.png"),
                                                  target_names=data.target_names)
        if run.is_chief and config.export_dir:
            from seqkit.export import forecaster as export_lib

            export_lib.export_forecaster(
                selected_forecaster(selected, run, linear), data.series.scaler(),
                config.export_dir, input_length=config.input_length, horizon=config.horizon,
                input_columns=data.input_names, target_columns=data.target_names,
                extra_metadata={"forecaster": selected})
            out["export_dir"] = config.export_dir
        return out

    def report(self, results):
        table = format_table(results)
        if results.get("per_step"):
            table += "\n" + format_per_step(results["per_step"])
        if results.get("baseline_warning"):
            table += "\n" + results["baseline_warning"]
        return table


EXPERIMENT = ForecastExperiment()


LABELS = {"model": "the model", "repeat": "repeat-last", "seasonal_naive": "seasonal-naive",
          "linear": "linear"}


def _select(data, config, model_valid_mse, linear, exporting=True):
    """Never silently worse than a baseline: score every baseline on the validation
    windows (never the test split, which must not steer anything); with
    ``--select=best`` the forecaster with the lowest validation MSE is the one
    exported, plotted and used by ``--predict`` (ties go to the model).

    Returns ``valid_<baseline>_mse``, ``selected`` (``model`` or the
    baseline's key prefix), ``beaten_on_valid_by`` (the best baseline when it
    beats the model on validation, else None) and, when it does, the one-line
    ``baseline_warning`` that the report prints.
    """
    valid = {name: baselines.mse(prediction, data.val.targets)
             for name, prediction in baseline_forecasts(data, config.season, split="valid",
                                                        linear=linear).items()}
    out = {f"valid_{name}_mse": value for name, value in valid.items()}
    best = min(valid, key=valid.get)
    beaten = valid[best] < model_valid_mse
    out["beaten_on_valid_by"] = best if beaten else None
    out["selected"] = best if beaten and config.select == "best" else "model"
    if beaten:
        label, verb = LABELS[best], "exporting" if exporting else "selecting"
        head = (f"{label} beats the model on validation: {valid[best]:.3g} vs "
                f"{model_valid_mse:.3g}; ")
        if config.select == "best":
            out["baseline_warning"] = head + f"{verb} {label}; see --select"
        else:
            out["baseline_warning"] = head + f"{verb} the model (--select=model)"
    return out


def train_and_evaluate(config: configs_lib.Config, train_dir: str) -> dict:
    """``runs.run(EXPERIMENT, config, train_dir)``: train, evaluate, return the results.

    Keys: ``test_mse``, ``test_mae`` (standardized) and ``*_original`` (data
    units) for the model (``test``, from the best validation epoch's weights)
    and the baselines (``repeat``, ``seasonal_naive``, ``linear``); on the
    synthetic series ``floor_mse``, ``floor_mae``, ``floor_standard_error``,
    ``oracle_mse`` (the optimal forecast's error on these very windows) and
    ``ratio_to_floor``; the harness's (``best_epoch``, ``valid_loss``,
    ``epochs_completed``, ``windows_per_second``, ...).

    Example:
        >>> from experiments.forecast import configs
        >>> r = train_and_evaluate(configs.get_config("test"), "/tmp/run")  # doctest: +SKIP
        >>> r["test_mse"] < r["repeat_mse"]                                 # doctest: +SKIP
        True
    """
    return runs.run(EXPERIMENT, config, train_dir)


def _floor(data: Data, config: configs_lib.Config) -> dict:
    """The synthetic series' exact floor on the test targets, and the oracle's error."""
    series = data.series
    floor = series.floor_mse(config.horizon, config.input_length, "test")
    positions = [series.target_indices.index(c) for c in data.test.target_columns]
    per_column = floor.per_step_per_column[:, positions]
    oracle = series.oracle_forecast(data.test)
    out = {"floor_mse": float(per_column.mean()),
           "floor_mae": float((math.sqrt(2 / math.pi) * np.sqrt(per_column)).mean()),
           "oracle_mse": baselines.mse(oracle, data.test.targets),
           "oracle_mae": baselines.mae(oracle, data.test.targets)}
    if len(positions) == len(series.target_indices):
        # The standard error is derived for the mean over all target columns.
        out["floor_standard_error"] = floor.standard_error
    return out

"""The forecasting experiment on the ``seqkit.runs`` harness: data, model, steps, metrics.

1. Data (``load_data``): the synthetic series, ETTh1/ETTh2/ETTm1/ETTm2
   (``--dataset``, standard protocol) or any CSV
   (``seqkit.data.timeseries.load_csv``: dates parsed and sorted, duplicated
   timestamps, gaps, NaNs and non-numeric cells reported; ``--split``
   fractions or date borders, default 70/10/20). ``--calendar`` adds calendar
   columns; they and ``--future_features`` are known future inputs, which the
   model's decoder reads for the forecast steps (``Windows.future``). Scaling
   is fitted on the training rows only. Bad input raises an error naming the
   flag before anything is written.
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
   synthetic series also the exact error floor. Optional plot. Every run
   keeps the selected forecaster (``--select``) as ``<train_dir>/saved_model``
   (also ``--export_dir``) and the model as ``<train_dir>/forecaster.keras``.
5. ``--quantiles=0.1,0.5,0.9``: the model outputs every level and trains and
   validates on the pinball loss; point metrics score the median; the test
   report adds the mean pinball loss, GluonTS' mean weighted quantile loss and
   each central interval's coverage for the model and the baselines (whose
   quantiles come from their validation residuals, ``baseline_offsets``), and
   on the synthetic series the closed-form optimum (``probabilistic_results``).
6. ``--backtest=N``: N rolling origins over the test period, no refitting;
   mean and standard deviation of MSE/MAE over origins (``backtest``).
7. ``--predict=new.csv [--output=forecast.csv]`` (``predict_csv``): the
   finished run's SavedModel forecasts the steps after the last row of
   new.csv, with timestamps and, with quantiles, ``<target>_q<level>`` columns.

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

SAVED_MODEL = runs.SAVED_MODEL     # <train_dir>/saved_model: the selected forecaster, --predict
KERAS_FILE = "forecaster.keras"    # <train_dir>/forecaster.keras: the model (Keras format)


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

    @property
    def future_names(self):
        """The columns known in advance (calendar, then ``--future_features``), or ()."""
        return tuple(self.series.columns[c] for c in self.test.future_columns)


def load_data(config: configs_lib.Config) -> Data:
    """The series of ``config`` cut into windows, with errors that name the flags.

    * ``--dataset=etth1|etth2|ettm1|ettm2``: the standard protocol
      (``ts.ett``: published borders, the file read from ``--data_dir``);
    * ``--csv``: ``ts.load_csv``, split by ``--split`` (fractions or date
      borders; default 70/10/20); ``--future_features`` are read as input-only
      columns known in advance;
    * ``--calendar``: calendar columns of the timestamps appended as input-only
      features (``ts.with_calendar``); with ``--future_features`` they make
      ``Windows.future``, the decoder's inputs for the forecast steps.

    Raises:
        ValueError: a missing or non-numeric target column, NaNs with
            ``--fill=error`` (listing their rows), a date column that does not
            parse, too few rows for ``--input_length + --horizon`` in a split.
        runs.UsageError: a missing ``--data_dir`` file, a bad ``--split`` or
            ``--calendar``.
    """
    if config.dataset == "synthetic":
        series = ts.synthetic(n_rows=config.synthetic_rows, seed=config.seed)
    elif config.dataset in configs_lib.ETT_DATASETS:
        try:
            series = ts.ett(config.dataset, config.data_dir)
        except (FileNotFoundError, ValueError) as error:
            message = str(error).replace("data_dir:", f"--data_dir={config.data_dir!r}:", 1)
            raise runs.UsageError(f"--dataset={config.dataset}: {message}") from None
    else:
        if not os.path.isfile(config.csv):
            raise ValueError(f"--csv: expected an existing CSV file, got {config.csv!r}")
        features = list(config.features) + [c for c in config.future_features
                                            if c not in config.features]
        try:
            series = ts.load_csv(config.csv, date_column=config.date_column or None,
                                 targets=list(config.targets) if config.targets else None,
                                 features=features or None,
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
        if config.split:
            try:
                series = ts.with_split(series, config.split)
            except ValueError as error:
                raise runs.UsageError(f"--csv={config.csv!r}: {error}") from None
    if series.report is not None:
        series.report.log()
    if config.target and config.target not in series.target_columns:
        raise ValueError(f"--target: expected one of the target columns "
                         f"{list(series.target_columns)}, got {config.target!r}")
    future = list(config.future_features)
    if config.calendar:
        try:
            series = ts.with_calendar(series, list(config.calendar), frequency(series))
        except ValueError as error:
            raise runs.UsageError(str(error)) from None
        future = [c for c in series.columns
                  if c.rsplit("_", 1)[0] in config.calendar and c not in future] + future

    windows = {}
    for split in ts.SPLITS:
        try:
            windows[split] = series.windows(split, config.input_length, config.horizon,
                                            mode=config.mode, target=config.target or None,
                                            future=future or None)
        except ValueError as error:
            start, end = series.borders[split]
            raise ValueError(
                f"--input_length={config.input_length} and --horizon={config.horizon}: the "
                f"{split} split (rows [{start}, {end}) of {series.n_rows}) is too short for "
                f"one window: {error}; use a shorter --input_length/--horizon or more rows"
            ) from error
    return Data(series=series, **windows)


def frequency(series: ts.SeriesSplit) -> str | None:
    """The series' step as an offset alias ("h", "15min", "D"), None without timestamps."""
    if series.timestamps is None or len(series.timestamps.unique()) < 2:
        return None
    return ts.infer_frequency(series.timestamps)


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


def selected_forecaster(name: str, run, linear: baselines.LinearForecaster, offsets=None):
    """The callable that ``--export_dir`` exports: the model, or a baseline as a
    TensorFlow module with the model's call (standardized window -> forecast;
    with ``offsets``, ``baseline_offsets``, the quantile forecast)."""
    if name == "model":
        return run.model
    from seqkit.export import forecaster as export_lib

    config, test = run.config, run.data.test
    return export_lib.BaselineForecaster(
        name, config.input_length, config.horizon, test.target_channels,
        season=config.season, weight=linear.weight, bias=linear.bias,
        offsets=None if offsets is None else offsets[name])


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
# Probabilistic forecasts (--quantiles) and the rolling-origin backtest (--backtest)
# --------------------------------------------------------------------------
def median_of(quantile_forecast: np.ndarray, quantiles) -> np.ndarray:
    """The 0.5 level of a quantile forecast ``[..., Q]``: the point forecast."""
    return np.asarray(quantile_forecast)[..., list(quantiles).index(0.5)]


def inverse_quantiles(windows: ts.Windows, quantile_forecast: np.ndarray) -> np.ndarray:
    """A standardized quantile forecast ``[n, H, T, Q]`` in original units."""
    return np.stack([windows.inverse_targets(quantile_forecast[..., j])
                     for j in range(quantile_forecast.shape[-1])], axis=-1)


def quantile_scores(quantile_forecast: np.ndarray, windows: ts.Windows, quantiles) -> dict:
    """Scores of a quantile forecast ``[n, H, T, Q]`` (standardized) of ``windows``.

    ``pinball``: mean pinball loss over windows, steps, targets and levels
    (standardized; what training minimizes); ``wql``: GluonTS' mean weighted
    quantile loss (original units), ``wql_per_quantile``; ``coverage_<p>``:
    the fraction of targets inside each central interval (p = its nominal
    coverage in percent, e.g. ``coverage_80`` for 0.1/0.9). See
    ``seqkit.metrics``.
    """
    from seqkit import metrics

    truth = windows.targets
    weighted = metrics.weighted_quantile_loss(inverse_quantiles(windows, quantile_forecast),
                                              windows.inverse_targets(truth), quantiles)
    out = {"pinball": float(metrics.pinball_loss(quantile_forecast, truth, quantiles).mean()),
           "wql": weighted["mean"], "wql_per_quantile": weighted["per_quantile"]}
    coverage = metrics.interval_coverage(quantile_forecast, truth, quantiles)
    out.update({f"coverage_{level}": value for level, value in coverage.items()})
    return out


def baseline_offsets(data: Data, config, linear) -> dict[str, np.ndarray]:
    """Every baseline's quantile offsets ``[H, T, Q]`` from its validation residuals
    (``seqkit.metrics.residual_quantiles``); its quantile forecast is
    ``point[..., None] + offsets``, its median the point forecast."""
    from seqkit import metrics

    valid = baseline_forecasts(data, config.season, split="valid", linear=linear)
    return {name: metrics.residual_quantiles(prediction, data.val.targets, config.quantiles)
            for name, prediction in valid.items()}


def probabilistic_results(data: Data, config, test_quantiles: np.ndarray,
                          test_forecasts: dict, offsets: dict) -> dict:
    """``test_*`` quantile scores of the model and ``<baseline>_*`` of the baselines
    (``quantile_scores``); on the synthetic series also the true quantiles'
    (``oracle_*``: realised on these windows; ``floor_pinball``/``floor_wql``:
    the closed-form expected loss, ``SyntheticSeries.optimal_quantile_loss``,
    which no forecaster beats in expectation) and ``nominal_coverage_<p>``."""
    q = config.quantiles
    out = {f"test_{k}": v for k, v in quantile_scores(test_quantiles, data.test, q).items()
           if k != "pinball"}   # test_pinball comes from evaluate()
    for name, point in test_forecasts.items():
        scored = quantile_scores(point[..., None] + offsets[name], data.test, q)
        out.update({f"{name}_{k}": v for k, v in scored.items()})
    from seqkit import metrics

    for _, _, nominal in metrics.central_intervals(q):
        out[f"nominal_coverage_{100 * nominal:g}"] = nominal
    if isinstance(data.series, ts.SyntheticSeries):
        series, test = data.series, data.test
        oracle = quantile_scores(series.oracle_quantiles(test, q), test, q)
        out.update({f"oracle_{k}": v for k, v in oracle.items()})
        floor = series.optimal_quantile_loss(test, q)
        # E[pinball] scales with the column's scale: [H, T, Q] in original units.
        scale = test.scaler.scale[list(test.target_columns)] if test.scaler is not None else 1.0
        raw = floor.pinball * np.reshape(scale, (1, -1, 1))
        total_abs = float(np.abs(test.inverse_targets(test.targets)).sum())
        out["floor_pinball"] = floor.mean
        out["floor_wql"] = float((2 * test.n * raw.sum(axis=(0, 1)) / total_abs).mean())
    return out


def backtest_origins(n_windows: int, n: int) -> np.ndarray:
    """Indices of ``n`` forecast origins spread evenly over ``n_windows`` test windows
    (the first and the last included; distinct since n <= n_windows).

    Example:
        >>> backtest_origins(10, 4)
        array([0, 3, 6, 9])
    """
    if not 1 <= n <= n_windows:
        raise ValueError(f"--backtest: expected a number of origins between 1 and the "
                         f"{n_windows} test windows, got {n}")
    return np.round(np.linspace(0, n_windows - 1, n)).astype(int)


def backtest(forecasts: dict[str, np.ndarray], windows: ts.Windows, n: int) -> dict:
    """Rolling-origin evaluation without refitting (darts' ``historical_forecasts``
    with ``retrain=False``): at each of ``n`` origins spread over the test period
    (``backtest_origins``), the forecast of the next H steps from the L steps
    before it, i.e. the test window that starts there. Per origin the MSE and MAE
    (standardized) over steps and targets; returned as their mean and standard
    deviation (population, ddof 0) over origins, ``backtest_<name>_<mse|mae>_<mean|std>``
    for every forecaster ``name`` in ``forecasts`` (standardized ``[n, H, T]``),
    plus ``backtest_origins`` (n) and ``backtest_rows`` (each origin's first
    forecast row in the series).
    """
    index = backtest_origins(windows.n, n)
    truth = np.asarray(windows.targets, np.float64)[index]
    out = {"backtest_origins": int(n), "backtest_rows": windows.origins[index].tolist()}
    for name, prediction in forecasts.items():
        error = np.asarray(prediction, np.float64)[index] - truth
        for metric, values in (("mse", np.square(error)), ("mae", np.abs(error))):
            per_origin = values.mean(axis=(1, 2))
            out[f"backtest_{name}_{metric}_mean"] = float(per_origin.mean())
            out[f"backtest_{name}_{metric}_std"] = float(per_origin.std())
    return out


def format_quantiles(results: dict) -> str:
    """The probabilistic scores of every forecaster: mean pinball loss
    (standardized), mean wQL (original units) and interval coverages.

    Example:
        >>> print(format_quantiles({"test_pinball": 0.2, "test_wql": 0.1,
        ...                         "test_coverage_80": 0.78}))  # doctest: +NORMALIZE_WHITESPACE
        quantiles        pinball      wQL  cover 80%
        model             0.2000   0.1000     0.7800
    """
    levels = sorted({k[len("test_coverage_"):] for k in results
                     if k.startswith("test_coverage_")}, key=float, reverse=True)
    rows = [("model", "test"), ("repeat last", "repeat"), ("seasonal naive", "seasonal_naive"),
            ("linear", "linear"), ("true quantiles", "oracle"), ("floor (expected)", "floor")]
    lines = [f"{'quantiles':<16} {'pinball':>7} {'wQL':>8}"
             + "".join(f" {'cover ' + p + '%':>10}" for p in levels)]
    for label, key in rows:
        cells = [results.get(f"{key}_{m}") for m in ("pinball", "wql")]
        cells += [results.get(f"{key}_coverage_{p}", results.get(f"nominal_coverage_{p}")
                              if key == "floor" else None) for p in levels]
        if all(c is None for c in cells[:2]):
            continue
        text = [f"{c:.4f}" if c is not None else "-" for c in cells]
        lines.append(f"{label:<16} {text[0]:>7} {text[1]:>8}"
                     + "".join(f" {t:>10}" for t in text[2:]))
    return "\n".join(lines)


def format_backtest(results: dict) -> str:
    """The backtest's mean ± standard deviation over origins of MSE and MAE.

    Example:
        >>> print(format_backtest({"backtest_origins": 3, "backtest_model_mse_mean": 0.5,
        ...     "backtest_model_mse_std": 0.1, "backtest_model_mae_mean": 0.4,
        ...     "backtest_model_mae_std": 0.05}))  # doctest: +NORMALIZE_WHITESPACE
        backtest (3 origins)          MSE               MAE
        model                 0.5000 ± 0.1000   0.4000 ± 0.0500
    """
    lines = [f"{'backtest (' + str(results['backtest_origins']) + ' origins)':<21} "
             f"{'MSE':>8} {'MAE':>17}"]
    for label, key in (("model", "model"), ("repeat last", "repeat"),
                       ("seasonal naive", "seasonal_naive"), ("linear", "linear")):
        if f"backtest_{key}_mse_mean" not in results:
            continue
        cells = [f"{results[f'backtest_{key}_{m}_mean']:.4f} ± "
                 f"{results[f'backtest_{key}_{m}_std']:.4f}" for m in ("mse", "mae")]
        lines.append(f"{label:<21} {cells[0]:>15} {cells[1]:>17}")
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


def row_losses(kind, prediction, truth, quantiles=()):
    """Per-window loss ``[batch]``: the mean squared (``mse``) or absolute (``mae``) error.

    With ``quantiles`` (``prediction [batch, H, T, Q]``) the mean pinball loss
    over steps, targets and levels, whatever ``kind``::

        pinball_q(y, ŷ_q) = max(q (y − ŷ_q), (q − 1)(y − ŷ_q))

    (``seqkit.metrics.pinball_loss`` in NumPy; its minimizer is the q-quantile).
    """
    import tensorflow as tf

    # The loss in float32 under --precision=mixed_bfloat16 (the model computes in bfloat16).
    prediction = runs.float32(prediction)
    truth = tf.cast(truth, tf.float32)
    if quantiles:
        levels = tf.constant(quantiles, prediction.dtype)
        error = tf.cast(truth, prediction.dtype)[..., None] - prediction
        per_value = tf.maximum(levels * error, (levels - 1) * error)
        return tf.reduce_mean(per_value, axis=[1, 2, 3])
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
            per_row = row_losses(config.loss, model(x, training=True), y, config.quantiles)
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


def model_inputs(windows: ts.Windows, rows):
    """What the model takes for ``windows`` ``rows`` (an index array or slice): the
    inputs, or ``(inputs, future)`` when the windows carry known future inputs."""
    x = windows.inputs[rows]
    return x if windows.future is None else (x, windows.future[rows])


def predict(model, windows: ts.Windows, batch_size: int, predict_fn=None) -> np.ndarray:
    """The model's standardized forecast ``[n, horizon, targets]`` of every window.

    Runs on each worker's own copy of the weights (identical on every worker).
    """
    predict_fn = predict_fn or make_predict(model)
    parts = [np.asarray(predict_fn(model_inputs(windows, slice(i, i + batch_size))),
                        dtype=np.float64)
             for i in range(0, windows.n, batch_size)]
    return np.concatenate(parts, axis=0)


class ForecastExperiment(runs.Experiment):
    """``python -m experiments.forecast``: see the module docstring."""

    long_results = ("per_step",)  # H numbers per forecaster: the table shows a few

    name = "forecast"
    Config = configs_lib.Config
    presets = configs_lib.PRESETS
    default_train_dir = "runs/forecast"
    monitor, mode, throughput_unit = "loss", "min", "windows"

    def validate(self, config):
        return configs_lib.validate(config)

    def load_data(self, config):
        data = load_data(config)
        if config.backtest > data.test.n:  # before anything is written
            raise runs.UsageError(f"--backtest: expected a number of origins between 1 and "
                                  f"the {data.test.n} test windows, got {config.backtest}")
        return data

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
                                   target_channels=data.test.target_channels,
                                   num_future=len(data.test.future_columns))
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
            x, y = model_inputs(windows, rows), windows.targets[rows]

            def shard(array):
                if isinstance(array, tuple):  # (inputs, future)
                    return tuple(shard(part) for part in array)
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
        quantiles = run.config.quantiles
        if quantiles:
            # Every point metric scores the median; the pinball loss is the loss.
            quantile_forecast, forecast = forecast, median_of(forecast, quantiles)
        if split == "test":
            run.test_forecast = forecast
            run.test_quantiles = quantile_forecast if quantiles else None
        metrics = scores(forecast, windows)
        if split == "valid":  # what the epoch line shows; the test split gets every score
            metrics = {k: metrics[k] for k in ("mse", "mae")}
        if quantiles:
            from seqkit import metrics as metrics_lib

            metrics["pinball"] = float(metrics_lib.pinball_loss(
                quantile_forecast, windows.targets, quantiles).mean())
            return {"loss": metrics["pinball"], **metrics}
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
        offsets = baseline_offsets(data, config, linear) if config.quantiles else None
        if config.quantiles:
            out.update(probabilistic_results(data, config, run.test_quantiles, test_forecasts,
                                             offsets))
        if config.backtest:
            out.update(backtest({"model": run.test_forecast, **test_forecasts}, data.test,
                                config.backtest))
        # With --quantiles the selection compares validation pinball losses.
        model_valid = results["valid_pinball"] if config.quantiles else results["valid_mse"]
        out.update(_select(data, config, model_valid, linear,
                           exporting=True, offsets=offsets))
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

            bands = None
            if config.quantiles:
                bands = (run.test_quantiles if selected == "model"
                         else forecast[..., None] + offsets[selected])
            out["plot"] = plot_lib.plot_forecasts(data.test, forecast,
                                                  run.path("forecast.png"),
                                                  target_names=data.target_names,
                                                  quantile_forecast=bands,
                                                  quantiles=config.quantiles)
            out["per_step_plot"] = plot_lib.plot_per_step(out["per_step"],
                                                          run.path("per_step.png"))
        if run.is_chief:
            # Every finished run keeps the selected forecaster (what --predict runs)
            # as <train_dir>/saved_model, and the model as <train_dir>/forecaster.keras.
            from seqkit.export import forecaster as export_lib

            def export(path):
                return export_lib.export_forecaster(
                    selected_forecaster(selected, run, linear, offsets), data.series.scaler(),
                    path, input_length=config.input_length, horizon=config.horizon,
                    input_columns=data.input_names, target_columns=data.target_names,
                    extra_metadata={"forecaster": selected, **predict_metadata(config, data)},
                    quantiles=config.quantiles, future_columns=data.future_names)

            out["saved_model"] = export(run.path(SAVED_MODEL))
            if config.export_dir:
                out["export_dir"] = export(config.export_dir)
            out["keras_model"] = run.path(KERAS_FILE)
            run.model.save(out["keras_model"])
        return out

    action = "predict"  # --predict=new.csv uses a finished --train_dir (seqkit.runs.main)

    def act(self, train_dir, inputs, overrides):
        return _act(train_dir, inputs, overrides)

    def report(self, results):
        table = format_table(results)
        if results.get("per_step"):
            table += "\n" + format_per_step(results["per_step"])
        if results.get("test_pinball") is not None and results.get("test_wql") is not None:
            table += "\n" + format_quantiles(results)
        if results.get("backtest_origins"):
            table += "\n" + format_backtest(results)
        if results.get("baseline_warning"):
            table += "\n" + results["baseline_warning"]
        return table


EXPERIMENT = ForecastExperiment()


# --------------------------------------------------------------------------
# --predict: forecast after the last row of a new CSV with a finished run
# --------------------------------------------------------------------------
def predict_metadata(config: configs_lib.Config, data: Data) -> dict:
    """What ``--predict`` needs to rebuild a window from a new CSV, stored in the
    SavedModel's ``assets/metadata.json``: the date column and frequency, the
    CSV columns read, the calendar features (generated, never read) and the
    user's known-future columns (read from the file's trailing future rows)."""
    series = data.series
    freq = frequency(series)
    calendar_columns = (list(ts.calendar(series.timestamps[:1], list(config.calendar),
                                         freq)[1]) if config.calendar else [])
    names = dict.fromkeys(data.input_names + data.target_names + data.future_names)
    date_column = (series.report.date_column if series.report is not None
                   else "date" if series.timestamps is not None else None)
    return {"dataset": config.dataset, "mode": config.mode, "frequency": freq,
            "date_column": date_column, "calendar": list(config.calendar),
            "calendar_columns": calendar_columns,
            "future_features": [c for c in data.future_names if c not in calendar_columns],
            "csv_columns": [c for c in names if c not in calendar_columns],
            "fill": config.fill, "encoding": config.encoding, "coerce": bool(config.coerce)}


def predict_csv(train_dir: str, path: str):
    """The forecast of ``<train_dir>/saved_model`` for the steps after the last row of
    the CSV ``path``, as a ``pandas.DataFrame``.

    Columns: the date column (timestamps continuing the series' frequency), one
    column per target and, when the SavedModel returns ``quantiles``, one
    ``<target>_q<level>`` column per target and level (``OT_q0.1``).

    The window is the file's last ``input_length`` rows of the columns the run
    was trained on; calendar features (``--calendar``) are computed from the
    timestamps, for the history and the horizon; ``--future_features`` come
    from the file's trailing *future rows*: exactly ``horizon`` rows at the next
    timestamps whose targets (and other columns) are empty and whose future
    columns are filled.

    Raises:
        runs.UsageError: no finished run in ``train_dir``; a file with missing
            columns, too few rows, another frequency, gaps, bad cells or
            missing future rows (the message names ``--predict``).

    Example:
        >>> predict_csv("runs/x", "new.csv").head(2)                # doctest: +SKIP
                          date        OT
        0  2018-06-26 20:00:00  9.418...
    """
    import pandas as pd
    import tensorflow as tf

    from seqkit.runs import files

    served = runs.load_saved_model(train_dir, "forecast")
    meta = files.read_json(files.join(train_dir, SAVED_MODEL, "assets", "metadata.json"))
    if not meta.get("frequency"):
        raise runs.UsageError(f"--train_dir={train_dir}: the run's series has no timestamps, "
                              f"so --predict cannot continue them; train on a CSV with a "
                              f"date column")
    future_user = meta["future_features"]
    try:
        history = ts.load_history(
            path, meta["csv_columns"], frequency=meta["frequency"],
            input_length=meta["input_length"], horizon=meta["horizon"],
            date_column=meta["date_column"], fill=meta["fill"], encoding=meta["encoding"],
            coerce=meta["coerce"], future_columns=future_user)
    except ValueError as error:
        hint = ""
        if future_user and "future_columns" in str(error):
            hint = (f" (the run was trained with --future_features={','.join(future_user)}: "
                    f"append the {meta['horizon']} next rows with those values and empty "
                    f"targets)")
        raise runs.UsageError(f"--predict={path}: {error}{hint}") from None
    known = {c: history.values[:, i] for i, c in enumerate(history.columns)}
    upcoming = dict(zip(future_user, history.future_values.T)) if future_user else {}
    if meta["calendar"]:
        for stamps, target in ((history.timestamps, known),
                               (history.future_timestamps, upcoming)):
            values, names = ts.calendar(stamps, meta["calendar"], meta["frequency"])
            target.update(zip(names, values.T))
    window = np.stack([known[c] for c in meta["input_columns"]], axis=1)[None]
    inputs = {"window": tf.constant(window, tf.float32)}
    if meta.get("future_columns"):
        future = np.stack([upcoming[c] for c in meta["future_columns"]], axis=1)[None]
        inputs["future"] = tf.constant(future, tf.float32)
    out = served.signatures["serving_default"](**inputs)
    point = out["forecast"].numpy()[0]
    date_column = meta["date_column"] or "date"
    table = {date_column: history.future_timestamps}
    table.update({name: point[:, k] for k, name in enumerate(meta["target_columns"])})
    if "quantiles" in out:
        levels = meta.get("quantiles")
        if levels is None:
            levels = [float(q) for q in served.signatures["metadata"]()["quantiles"].numpy()]
        bands = out["quantiles"].numpy()[0]                     # [H, targets, Q]
        for k, name in enumerate(meta["target_columns"]):
            for j, level in enumerate(levels):
                table[f"{name}_q{float(level):g}"] = bands[:, k, j]
    return pd.DataFrame(table)


def _act(train_dir, inputs, overrides):
    """``--predict=new.csv [--output=forecast.csv]`` on a finished ``--train_dir``."""
    from seqkit.runs import files

    if len(inputs) != 1:
        raise runs.UsageError(f"--predict: expected the path of one CSV file, got "
                              f"{len(inputs)} lines")
    path, output = inputs[0], overrides.get("output", "")
    if output:
        folder = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(folder):
            raise runs.UsageError(f"--output: expected a file in an existing folder, got "
                                  f"{output!r} ({folder} does not exist)")
    frame = predict_csv(train_dir, path)
    result = {"predict": path, "steps": len(frame), "columns": list(frame.columns),
              "first": str(frame.iloc[0, 0]), "last": str(frame.iloc[-1, 0])}
    if output:
        files.atomic_write_text(output, frame.to_csv(index=False))
        result["output"] = output
        return [f"wrote the {len(frame)}-step forecast to {output}"], result
    return frame.to_string(index=False).splitlines(), result


LABELS = {"model": "the model", "repeat": "repeat-last", "seasonal_naive": "seasonal-naive",
          "linear": "linear"}


def _select(data, config, model_valid_mse, linear, exporting=True, offsets=None):
    """Never silently worse than a baseline: score every baseline on the validation
    windows (never the test split, which must not steer anything); with
    ``--select=best`` the forecaster with the lowest validation MSE is the one
    exported, plotted and used by ``--predict`` (ties go to the model).

    With ``--quantiles`` (``offsets``: ``baseline_offsets``) the comparison is on
    the validation pinball loss of the quantile forecasts instead
    (``model_valid_mse`` is then the model's pinball loss). The baselines'
    offsets are fitted on those same validation windows, which only makes the
    selection stricter against the model.

    Returns ``valid_<baseline>_mse`` (and ``valid_<baseline>_pinball``),
    ``selected`` (``model`` or the
    baseline's key prefix), ``beaten_on_valid_by`` (the best baseline when it
    beats the model on validation, else None) and, when it does, the one-line
    ``baseline_warning`` that the report prints.
    """
    forecasts = baseline_forecasts(data, config.season, split="valid", linear=linear)
    valid = {name: baselines.mse(prediction, data.val.targets)
             for name, prediction in forecasts.items()}
    out = {f"valid_{name}_mse": value for name, value in valid.items()}
    criterion = "MSE"
    if offsets is not None:
        from seqkit import metrics

        valid = {name: float(metrics.pinball_loss(prediction[..., None] + offsets[name],
                                                  data.val.targets, config.quantiles).mean())
                 for name, prediction in forecasts.items()}
        out.update({f"valid_{name}_pinball": value for name, value in valid.items()})
        criterion = "pinball loss"
    best = min(valid, key=valid.get)
    beaten = valid[best] < model_valid_mse
    out["beaten_on_valid_by"] = best if beaten else None
    out["selected"] = best if beaten and config.select == "best" else "model"
    if beaten:
        label, verb = LABELS[best], "exporting" if exporting else "selecting"
        head = (f"{label} beats the model on validation: {valid[best]:.3g} vs "
                f"{model_valid_mse:.3g}" + (f" ({criterion})" if offsets is not None else "")
                + "; ")
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
    ``epochs_completed``, ``windows_per_second``, ...). With ``--quantiles``
    also ``{test,valid}_pinball``, ``<forecaster>_wql``, ``_wql_per_quantile``,
    ``_coverage_<p>`` (``probabilistic_results``); with ``--backtest``
    ``backtest_<forecaster>_<mse|mae>_<mean|std>`` (``backtest``).

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

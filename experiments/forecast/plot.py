"""Plots of a forecast run: a few test windows (input history, truth, forecast and,
with quantiles, the bands of the central intervals, in original units) and the
MSE per horizon step of every forecaster.

Example:
    >>> plot_forecasts(data.test, forecast, "/tmp/forecast.png")   # doctest: +SKIP
    '/tmp/forecast.png'
    >>> plot_per_step(results["per_step"], "/tmp/per_step.png")   # doctest: +SKIP
    '/tmp/per_step.png'
"""
from __future__ import annotations

import io

import numpy as np

from seqkit import runs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on a training machine
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=90)
    finally:
        plt.close(figure)
    # Atomic, with the user's umask, on any TensorFlow filesystem (gs://...).
    runs.atomic_write_text(path, buffer.getvalue())
    return path


def plot_forecasts(windows, forecast: np.ndarray, path: str, num_windows: int = 3,
                   max_targets: int = 3, target_names=None, quantile_forecast=None,
                   quantiles=()) -> str:
    """Write a PNG grid: one row per window, one column per target (at most ``max_targets``).

    Args:
        windows: the test ``Windows`` (standardized, with their scaler).
        forecast: the model's standardized forecast ``[n, horizon, targets]``.
        path: the PNG to write (atomically, through ``seqkit.runs``: any
            TensorFlow filesystem).
        num_windows: windows shown, spread evenly over the test split.
        max_targets: target columns shown.
        target_names: column names for the titles.
        quantile_forecast: optional standardized ``[n, horizon, targets, Q]`` at
            the levels ``quantiles``: each central interval (q, 1 − q) is drawn as
            a band around the forecast, lighter for wider intervals.
        quantiles: the Q levels.

    Returns:
        ``path``.
    """
    plt = _pyplot()
    from seqkit import metrics

    forecast = np.asarray(forecast)
    if forecast.shape != windows.targets.shape:
        raise ValueError(f"forecast: expected the shape of the windows' targets "
                         f"{windows.targets.shape}, got {forecast.shape}")
    intervals = []
    if quantile_forecast is not None:
        quantile_forecast = np.asarray(quantile_forecast)
        if quantile_forecast.shape != windows.targets.shape + (len(quantiles),):
            raise ValueError(f"quantile_forecast: expected the shape of the windows' targets "
                             f"plus len(quantiles)={len(quantiles)}, "
                             f"{windows.targets.shape + (len(quantiles),)}, got "
                             f"{quantile_forecast.shape}")
        intervals = metrics.central_intervals(quantiles)
        bands = np.stack([windows.inverse_targets(quantile_forecast[..., j])
                          for j in range(len(quantiles))], axis=-1)
    rows = np.unique(np.linspace(0, windows.n - 1, num=min(num_windows, windows.n)).astype(int))
    n_targets = min(max_targets, forecast.shape[2])
    history = windows.inputs[..., list(windows.target_channels)]
    if windows.scaler is not None:
        history = windows.scaler.inverse_transform(history, columns=windows.target_columns)
    truth = windows.inverse_targets(windows.targets)
    predicted = windows.inverse_targets(forecast)
    names = list(target_names) if target_names else [f"target {k}" for k in range(n_targets)]

    figure, axes = plt.subplots(len(rows), n_targets, figsize=(4.5 * n_targets, 2.6 * len(rows)),
                                squeeze=False)
    past = np.arange(-windows.input_length, 0)
    future = np.arange(windows.horizon)
    for i, row in enumerate(rows):
        for k in range(n_targets):
            axis = axes[i, k]
            axis.plot(past, history[row, :, k], color="0.4", lw=1, label="history")
            axis.plot(future, truth[row, :, k], color="tab:blue", lw=1, label="truth")
            for number, (low, high, nominal) in enumerate(intervals):   # widest first
                axis.fill_between(future, bands[row, :, k, low], bands[row, :, k, high],
                                  color="tab:red", alpha=0.15 + 0.15 * number, lw=0,
                                  label=f"{100 * nominal:g}% interval")
            axis.plot(future, predicted[row, :, k], color="tab:red", lw=1.2, label="forecast")
            axis.axvline(0, color="0.7", lw=0.8)
            axis.set_title(f"{names[k]}, window {row}", fontsize=9)
            axis.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return _save(figure, path)


LABELS = {"model": "model", "repeat": "repeat last", "seasonal_naive": "seasonal naive",
          "linear": "linear"}


def plot_per_step(per_step: dict, path: str) -> str:
    """Write a PNG of the test MSE (standardized) at every horizon step, one line per
    forecaster: ``per_step`` is the run's ``results["per_step"]``
    (``{name: {"mse": [H], "mae": [H]}}``, ``seqkit.metrics.per_step_errors``).

    Returns:
        ``path``.
    """
    plt = _pyplot()
    if not per_step or any("mse" not in v for v in per_step.values()):
        raise ValueError(f"per_step: expected {{forecaster: {{'mse': [...], ...}}}}, got "
                         f"{sorted(per_step) if isinstance(per_step, dict) else per_step!r}")
    figure, axis = plt.subplots(figsize=(6.5, 3.6))
    for name, errors in per_step.items():
        steps = np.arange(1, len(errors["mse"]) + 1)
        axis.plot(steps, errors["mse"], lw=2.0 if name == "model" else 1.0,
                  label=LABELS.get(name, name))
    axis.set_xlabel("horizon step h")
    axis.set_ylabel("test MSE (standardized)")
    axis.set_title("MSE per horizon step", fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return _save(figure, path)

"""Plot a few test windows: input history, truth and forecast, in original units.

Example:
    >>> plot_forecasts(data.test, forecast, "/tmp/forecast.png")   # doctest: +SKIP
    '/tmp/forecast.png'
"""
from __future__ import annotations

import io

import numpy as np

from seqkit import runs


def plot_forecasts(windows, forecast: np.ndarray, path: str, num_windows: int = 3,
                   max_targets: int = 3, target_names=None) -> str:
    """Write a PNG grid: one row per window, one column per target (at most ``max_targets``).

    Args:
        windows: the test ``Windows`` (standardized, with their scaler).
        forecast: the model's standardized forecast ``[n, horizon, targets]``.
        path: the PNG to write (atomically, through ``seqkit.runs``: any
            TensorFlow filesystem).
        num_windows: windows shown, spread evenly over the test split.
        max_targets: target columns shown.
        target_names: column names for the titles.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on a training machine
    import matplotlib.pyplot as plt

    forecast = np.asarray(forecast)
    if forecast.shape != windows.targets.shape:
        raise ValueError(f"forecast: expected the shape of the windows' targets "
                         f"{windows.targets.shape}, got {forecast.shape}")
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
            axis.plot(future, predicted[row, :, k], color="tab:red", lw=1.2, label="forecast")
            axis.axvline(0, color="0.7", lw=0.8)
            axis.set_title(f"{names[k]}, window {row}", fontsize=9)
            axis.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=90)
    finally:
        plt.close(figure)
    # Atomic, with the user's umask, on any TensorFlow filesystem (gs://...).
    runs.atomic_write_text(path, buffer.getvalue())
    return path

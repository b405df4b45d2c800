"""Reference forecasters and metrics for the windows of ``seqkit.data.timeseries``.

Every forecaster maps inputs ``[n, input_length, channels]`` to a forecast
``[n, horizon, len(targets)]``, where ``targets`` are the positions of the
forecast variables among the input channels (``Windows.target_channels``;
default: every channel). They read only each target's own history.

* ``repeat_last``: ``yhat[h] = x[L-1]``.
* ``seasonal_naive``: ``yhat[h] = x[L - season + (h mod season)]`` (the last
  season, tiled to the horizon).
* ``LinearForecaster`` / ``linear``: one linear map from a channel's input
  window to its horizon, shared by all channels, fitted in closed form.
* ``mse`` / ``mae``: averaged over windows, steps and variables.
* ``evaluate_baselines``: all of the above on train/val/test ``Windows``.

Example (ETTh1, mode "M", input 96, horizon 96):
    >>> from seqkit.data import timeseries as ts                    # doctest: +SKIP
    >>> data = ts.etth1("/data")                                     # doctest: +SKIP
    >>> test = data.windows("test", 96, 96)                          # doctest: +SKIP
    >>> round(mse(repeat_last(test.inputs, 96), test.targets), 4)   # doctest: +SKIP
    1.2944
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "LinearForecaster",
    "evaluate_baselines",
    "linear",
    "mae",
    "mse",
    "repeat_last",
    "seasonal_naive",
]


def _check_inputs(inputs, channels: Sequence[int] | None) -> tuple[np.ndarray, list[int]]:
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or 0 in inputs.shape:
        raise ValueError(f"inputs: expected a non-empty [windows, input_length, channels] array, "
                         f"got shape {inputs.shape}")
    n_channels = inputs.shape[2]
    channels = list(range(n_channels)) if channels is None else [int(c) for c in channels]
    if not channels or any(not 0 <= c < n_channels for c in channels):
        raise ValueError(f"channels: expected positions in [0, {n_channels}), got {channels}")
    return inputs, channels


def _check_horizon(horizon) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon: expected a positive integer, got {horizon!r}")
    return int(horizon)


def repeat_last(inputs: np.ndarray, horizon: int,
                channels: Sequence[int] | None = None) -> np.ndarray:
    """Persistence: every step of the horizon repeats the last input value.

    ``yhat[i, h, k] = inputs[i, L-1, channels[k]]``.

    Example:
        >>> repeat_last(np.array([[[1.0], [2.0], [3.0]]]), 2)[0, :, 0]
        array([3., 3.])
    """
    inputs, channels = _check_inputs(inputs, channels)
    horizon = _check_horizon(horizon)
    last = inputs[:, -1:, channels]
    return np.repeat(last, horizon, axis=1)


def seasonal_naive(inputs: np.ndarray, horizon: int, season: int = 24,
                   channels: Sequence[int] | None = None) -> np.ndarray:
    """Repeat the last ``season`` input values, tiled to the horizon.

    ``yhat[i, h, k] = inputs[i, L - season + (h mod season), channels[k]]``
    for h = 0..horizon-1 (so step h repeats the value one or more whole
    seasons earlier).

    Example:
        >>> x = np.arange(1.0, 7.0).reshape(1, 6, 1)            # 1..6
        >>> seasonal_naive(x, horizon=5, season=3)[0, :, 0]
        array([4., 5., 6., 4., 5.])
    """
    inputs, channels = _check_inputs(inputs, channels)
    horizon = _check_horizon(horizon)
    length = inputs.shape[1]
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or not 1 <= season <= length:
        raise ValueError(f"season: expected an integer in [1, input_length={length}], got "
                         f"{season!r}")
    rows = length - season + np.arange(horizon) % season
    return inputs[:, rows][..., channels]


@dataclasses.dataclass
class LinearForecaster:
    """Channel-shared linear forecaster, fitted by (ridge) least squares.

    For every window i and target channel k, with ``u = inputs[i, :, k]``
    (length L)::

        yhat[i, :, k] = u @ weight + bias          weight [L, H], bias [H]

    The same ``weight``/``bias`` serve every channel (DLinear's
    ``individual=False``): with few training windows per channel (8,449 on
    ETTh1) one shared map of L*H parameters generalizes better than one per
    channel, and it needs no channel identity at test time. DLinear's
    trend/seasonal decomposition feeds two linear layers whose sum is again a
    linear map of ``u``, so this is the same model class; it is fitted here in
    closed form instead of by SGD. ``fit`` minimizes, over the m = n * K rows
    (window, channel)::

        (1/m) sum ||u W + b - y||^2 + alpha ||W||_F^2

    (the bias is not penalized). Solution: with the centred design Uc = U - mean(U),
    Yc = Y - mean(Y), ``W = (Uc^T Uc / m + alpha I)^-1 Uc^T Yc / m`` and
    ``b = mean(Y) - mean(U) W``; with ``alpha = 0`` the pseudo-inverse replaces
    the inverse (minimum-norm solution if the design is rank-deficient).

    Example:
        >>> x = np.array([[[1.0], [2.0]], [[0.0], [1.0]], [[2.0], [0.0]]])
        >>> y = x.sum(axis=1, keepdims=True)                    # y = u0 + u1
        >>> f = LinearForecaster().fit(x, y)
        >>> np.round(f.weight[:, 0], 6), np.round(f.bias, 6)
        (array([1., 1.]), array([0.]))
    """

    alpha: float = 0.0
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None

    @staticmethod
    def _rows(inputs: np.ndarray, channels: list[int]) -> np.ndarray:
        # [n, L, K] -> [n*K, L], window-major then channel.
        return inputs[..., channels].transpose(0, 2, 1).reshape(-1, inputs.shape[1])

    def fit(self, inputs: np.ndarray, targets: np.ndarray,
            channels: Sequence[int] | None = None) -> "LinearForecaster":
        """Fit on training windows; ``targets`` is ``[n, H, len(channels)]``."""
        inputs, channels = _check_inputs(inputs, channels)
        targets = np.asarray(targets)
        if targets.ndim != 3 or targets.shape[0] != inputs.shape[0] \
                or targets.shape[2] != len(channels):
            raise ValueError(f"targets: expected shape [{inputs.shape[0]}, horizon, "
                             f"{len(channels)}] to match inputs {inputs.shape} and channels "
                             f"{channels}, got {targets.shape}")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha: expected a finite number >= 0, got {self.alpha!r}")
        u = self._rows(inputs, channels).astype(np.float64)
        y = targets.transpose(0, 2, 1).reshape(-1, targets.shape[1]).astype(np.float64)
        u_mean, y_mean = u.mean(axis=0), y.mean(axis=0)
        uc, yc = u - u_mean, y - y_mean
        m = uc.shape[0]
        # Normal equations on [L, L] moments. One product of the joint design
        # (a BLAS syrk) instead of lstsq on the [m, L] design: ~50x faster on a
        # busy 2-core machine, and float64 moments of standardized windows are
        # well conditioned enough for 1e-10 agreement with lstsq.
        joint = np.concatenate([uc, yc], axis=1)
        moments = joint.T @ joint / m
        length = uc.shape[1]
        gram, cross = moments[:length, :length], moments[:length, length:]
        if self.alpha == 0:
            # lstsq on the moments gives pinv(U^T U) U^T Y = pinv(U) Y, the
            # minimum-norm least-squares solution even for a rank-deficient U.
            weight = np.linalg.lstsq(gram, cross, rcond=None)[0]
        else:
            weight = np.linalg.solve(gram + self.alpha * np.eye(length), cross)
        self.weight, self.bias = weight, y_mean - u_mean @ weight
        return self

    def predict(self, inputs: np.ndarray, channels: Sequence[int] | None = None) -> np.ndarray:
        """Forecast ``[n, H, len(channels)]``."""
        if self.weight is None:
            raise ValueError("LinearForecaster: expected fit() before predict(), got an unfitted "
                             "model")
        inputs, channels = _check_inputs(inputs, channels)
        if inputs.shape[1] != self.weight.shape[0]:
            raise ValueError(f"inputs: expected input_length {self.weight.shape[0]} (as fitted), "
                             f"got shape {inputs.shape}")
        out = self._rows(inputs, channels).astype(np.float64) @ self.weight + self.bias
        return out.reshape(inputs.shape[0], len(channels), -1).transpose(0, 2, 1)


def linear(train_inputs: np.ndarray, train_targets: np.ndarray, inputs: np.ndarray,
           channels: Sequence[int] | None = None, alpha: float = 0.0) -> np.ndarray:
    """Fit a ``LinearForecaster`` on training windows and forecast ``inputs``."""
    model = LinearForecaster(alpha=alpha).fit(train_inputs, train_targets, channels)
    return model.predict(inputs, channels)


def _check_pair(prediction, target) -> tuple[np.ndarray, np.ndarray]:
    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape or prediction.size == 0:
        raise ValueError(f"prediction, target: expected equal non-empty shapes, got "
                         f"{prediction.shape} and {target.shape}")
    return prediction, target


def mse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over every element (windows, steps, variables), in float64.

    Example:
        >>> mse(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
        2.5
    """
    prediction, target = _check_pair(prediction, target)
    diff = prediction.astype(np.float64) - target.astype(np.float64)
    return float(np.mean(diff * diff))


def mae(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error over every element, in float64.

    Example:
        >>> mae(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
        1.5
    """
    prediction, target = _check_pair(prediction, target)
    return float(np.mean(np.abs(prediction.astype(np.float64) - target.astype(np.float64))))


DEFAULT_ALPHAS = (0.0, 1e-3, 1e-2, 1e-1, 1.0)


def evaluate_baselines(train, test, val=None, season: int = 24,
                       alphas: Sequence[float] = DEFAULT_ALPHAS) -> Mapping[str, dict]:
    """MSE/MAE of every baseline on ``test`` (``Windows`` from one ``SeriesSplit``).

    The linear model is fitted on ``train``; with ``val`` given, its ridge
    ``alpha`` is the one of ``alphas`` with the lowest validation MSE, else
    ``alphas[0]``.

    Returns:
        ``{"repeat_last": {"mse", "mae"}, "seasonal_naive": {...},
        "linear": {"mse", "mae", "alpha"}}``.
    """
    horizon = test.horizon
    channels = test.target_channels
    results = {
        "repeat_last": repeat_last(test.inputs, horizon, channels),
        "seasonal_naive": seasonal_naive(test.inputs, horizon, season, channels),
    }
    alphas = list(alphas)
    if not alphas:
        raise ValueError("alphas: expected at least one ridge strength, got none")
    best_alpha = alphas[0]
    if val is not None and len(alphas) > 1:
        scores = [mse(linear(train.inputs, train.targets, val.inputs, channels, a), val.targets)
                  for a in alphas]
        best_alpha = alphas[int(np.argmin(scores))]
    results["linear"] = linear(train.inputs, train.targets, test.inputs, channels, best_alpha)
    out = {name: {"mse": mse(p, test.targets), "mae": mae(p, test.targets)}
           for name, p in results.items()}
    out["linear"]["alpha"] = best_alpha
    return out

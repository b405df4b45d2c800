"""A seeded seasonal + AR(1) series whose best achievable forecast error is known
in closed form: ``synthetic``, ``SyntheticSeries.floor_mse``, ``Floor``."""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Sequence

import numpy as np
import pandas as pd

from seqkit.data.timeseries.features import calendar_features
from seqkit.data.timeseries.splits import DEFAULT_RATIOS, SeriesSplit, chronological_split
from seqkit.data.timeseries.windows import Windows, _positive_int, window_starts


@dataclasses.dataclass(frozen=True)
class Floor:
    """Best achievable forecast error, in standardized units.

    Attributes:
        per_step_per_column: ``[horizon, targets]`` floor MSE.
        per_step: ``[horizon]``, mean over target columns.
        mean: mean over steps and targets (what ``mse`` averages).
        mae_per_step, mae: the same for MAE.
        n_windows: windows of the split the standard errors refer to.
        standard_error: exact standard deviation of the oracle's empirical
            mean MSE over those windows around ``mean`` (sampling noise).
        per_step_standard_error: ``[horizon]``, the same for each step's MSE.
    """

    per_step_per_column: np.ndarray
    per_step: np.ndarray
    mean: float
    mae_per_step: np.ndarray
    mae: float
    n_windows: int
    standard_error: float
    per_step_standard_error: np.ndarray


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyntheticSeries(SeriesSplit):
    """``SeriesSplit`` of ``synthetic()`` plus its generating parameters.

    Attributes (per target column, raw units):
        seasonal: ``[time, targets]`` the deterministic component s(t).
        phi: AR(1) coefficients.
        sigma: innovation standard deviations.
    """

    seasonal: np.ndarray
    phi: np.ndarray
    sigma: np.ndarray

    def floor_mse(self, horizon: int, input_length: int = 96, split: str = "test") -> Floor:
        """Closed-form floor of the MSE (and MAE) at steps 1..horizon.

        Floor: see ``synthetic`` for the model. With t the last input row and
        e(t) = x(t) - s(t) known, e(t+h) = phi^h e(t) + sigma sum_{j<h} phi^j eps(t+h-j),
        whose second term is independent of everything up to t. So the
        conditional mean s(t+h) + phi^h (x(t) - s(t)) is the MSE-optimal
        forecast given the whole past (hence given any input window), and its
        error variance is::

            V_c(h) = sigma_c^2 (1 - phi_c^(2h)) / (1 - phi_c^2)

        In standardized units it is divided by v_c = scale_c^2, the variance of
        column c on the training rows (the scaler of ``windows``)::

            per_step[h] = mean_c V_c(h) / v_c,     mean = mean_h per_step[h]

        The error is Gaussian, so the conditional mean is also the median and
        the MAE floor is sqrt(2/pi) * sqrt(V_c(h) / v_c).

        Sampling noise: the oracle's empirical MSE over the N windows of
        ``split`` is a quadratic form in the Gaussian innovations, so its
        variance is 2 * sum of squared covariances. Window i's error at step h
        is ``sum_{tau=0}^{h-1} phi^(h-1-tau) sigma eps(o_i + tau)`` (o_i its
        origin), hence for windows Delta apart::

            Cov(err(i,h), err(i+Delta,h')) = sigma^2 K(Delta,h,h'),
            K = sum_{tau=max(0,Delta)}^{min(h-1, Delta+h'-1)} phi^((h-1-tau)+(Delta+h'-1-tau))

        and, channels being independent,
        ``Var(mean) = 2/(N H C)^2 sum_c (sigma_c^2/v_c)^2 sum_Delta (N-|Delta|) sum_{h,h'} K_c^2``
        (|Delta| < H; the per-step version keeps only h = h'). Test innovations
        come after the training rows, so v_c is fixed with respect to them and
        this is exact, not an approximation.

        Example:
            >>> data = synthetic()
            >>> f = data.floor_mse(96)
            >>> round(f.mean, 4), f.per_step.shape
            (0.7215, (96,))
        """
        horizon = _positive_int(horizon, "horizon")
        n_windows = window_starts(input_length, horizon, *self.borders[split]).size
        v = self.scaler().scale[list(self.target_indices)] ** 2
        h = np.arange(1, horizon + 1)[:, None]
        var_h = self.sigma ** 2 * (1 - self.phi ** (2 * h)) / (1 - self.phi ** 2)  # [H, C]
        per = var_h / v
        n_cols = per.shape[1]
        total, per_step_total = 0.0, np.zeros(horizon)
        for c in range(n_cols):
            k, lags = _error_covariance_kernel(float(self.phi[c]), horizon)
            weight = np.maximum(n_windows - np.abs(lags), 0).astype(np.float64)
            factor = (self.sigma[c] ** 2 / v[c]) ** 2
            total += factor * 2 * np.einsum("d,dij->", weight, k ** 2)
            diag = np.einsum("dii->di", k)
            per_step_total += factor * 2 * np.einsum("d,di->i", weight, diag ** 2)
        mae = math.sqrt(2 / math.pi) * np.sqrt(per)
        return Floor(per_step_per_column=per, per_step=per.mean(axis=1), mean=float(per.mean()),
                     mae_per_step=mae.mean(axis=1), mae=float(mae.mean()), n_windows=n_windows,
                     standard_error=float(math.sqrt(total) / (n_windows * horizon * n_cols)),
                     per_step_standard_error=np.sqrt(per_step_total) / (n_windows * n_cols))

    def oracle_forecast(self, windows: Windows) -> np.ndarray:
        """The optimal forecast s(t+h) + phi^h (x(t) - s(t)) for ``windows``.

        Returns ``[n, horizon, len(windows.target_columns)]`` in the units of
        ``windows`` (standardized if it carries a scaler, else raw).
        """
        positions = []
        for column in windows.target_columns:
            if column not in self.target_indices:
                raise ValueError(f"windows: expected target columns among the synthetic series "
                                 f"{self.target_indices}, got column {column}")
            positions.append(self.target_indices.index(column))
        last = windows.origins - 1                                   # t, the last input row
        steps = np.arange(windows.horizon)
        s_future = self.seasonal[windows.origins[:, None] + steps][..., positions]
        x_last = self.values[last][:, list(windows.target_columns)]
        e_last = x_last - self.seasonal[last][:, positions]
        decay = self.phi[positions] ** (steps[:, None] + 1)          # [H, C]
        forecast = s_future + decay[None] * e_last[:, None, :]
        if windows.scaler is not None:
            forecast = windows.scaler.transform(forecast, columns=windows.target_columns)
        return forecast


    def _error_std(self, windows: Windows) -> tuple[np.ndarray, list[int]]:
        """sigma_h per step and target column of ``windows``, in its units: ``[H, C]``."""
        positions = [self.target_indices.index(c) for c in windows.target_columns
                     if c in self.target_indices]
        if len(positions) != len(windows.target_columns):
            raise ValueError(f"windows: expected target columns among the synthetic series "
                             f"{self.target_indices}, got {windows.target_columns}")
        h = np.arange(1, windows.horizon + 1)[:, None]
        phi, sigma = self.phi[positions], self.sigma[positions]
        std = np.sqrt(sigma ** 2 * (1 - phi ** (2 * h)) / (1 - phi ** 2))
        if windows.scaler is not None:
            std = std / windows.scaler.scale[list(windows.target_columns)]
        return std, positions

    def oracle_quantiles(self, windows: Windows, quantiles: Sequence[float]) -> np.ndarray:
        """The true conditional quantiles of the forecast steps of ``windows``.

        The oracle's error at step h is Gaussian with variance
        ``sigma^2 (1 - phi^(2h)) / (1 - phi^2)`` (see ``floor_mse``), so the
        q-quantile is ``oracle_forecast + z_q sigma_h`` with z_q the standard
        normal quantile.

        Returns ``[n, horizon, len(target_columns), len(quantiles)]`` in the
        units of ``windows``.
        """
        q = _quantiles(quantiles)
        std, _ = self._error_std(windows)
        z = np.array([statistics.NormalDist().inv_cdf(v) for v in q])
        return self.oracle_forecast(windows)[..., None] + std[None, :, :, None] * z

    def optimal_quantile_loss(self, windows: Windows,
                              quantiles: Sequence[float]) -> "QuantileFloor":
        """Expected pinball loss of the true quantiles (``oracle_quantiles``).

        With pinball_q(y, yhat) = max(q (y - yhat), (q - 1)(y - yhat)) and
        y - yhat = sigma (Z - z_q), Z ~ N(0, 1), z_q = Phi^-1(q)::

            E[pinball_q] = sigma (E[(Z - z_q)^+] - (1 - q) E[Z - z_q])
                         = sigma (phi(z_q) - z_q (1 - q) + (1 - q) z_q) = sigma phi(z_q)

        using E[(Z - a)^+] = phi(a) - a (1 - Phi(a)). No forecast of these
        windows has a lower expected pinball loss (the true quantile minimizes
        it). ``weighted`` is GluonTS' weighted quantile loss
        ``2 sum pinball_q / sum |y|`` with the expected numerator and the
        realised denominator of ``windows.targets``.
        """
        q = _quantiles(quantiles)
        std, _ = self._error_std(windows)
        density = np.array([math.exp(-0.5 * statistics.NormalDist().inv_cdf(v) ** 2)
                            / math.sqrt(2 * math.pi) for v in q])
        pinball = std[:, :, None] * density                          # [H, C, Q]
        total_abs = float(np.abs(np.asarray(windows.targets, np.float64)).sum())
        weighted = 2 * windows.n * pinball.sum(axis=(0, 1)) / total_abs
        return QuantileFloor(quantiles=q, pinball=pinball,
                             mean_pinball=pinball.mean(axis=(0, 1)), mean=float(pinball.mean()),
                             weighted=weighted, mean_weighted=float(weighted.mean()))


@dataclasses.dataclass(frozen=True)
class QuantileFloor:
    """Expected pinball losses of the true quantiles (``optimal_quantile_loss``).

    Attributes:
        quantiles: the levels q.
        pinball: ``[horizon, targets, Q]`` E[pinball_q] = sigma_h phi(z_q).
        mean_pinball: ``[Q]`` mean over steps and targets.
        mean: mean over everything.
        weighted: ``[Q]`` 2 N sum_{h,c} E[pinball_q] / sum |y| (GluonTS wQL).
        mean_weighted: mean of ``weighted`` over the quantiles (a CRPS estimate).
    """

    quantiles: tuple[float, ...]
    pinball: np.ndarray
    mean_pinball: np.ndarray
    mean: float
    weighted: np.ndarray
    mean_weighted: float


def _quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    q = tuple(float(v) for v in quantiles)
    if not q or any(not 0 < v < 1 for v in q):
        raise ValueError(f"quantiles: expected levels strictly between 0 and 1, got {list(q)}")
    return q


def _error_covariance_kernel(phi: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """K[Delta, h-1, h'-1] of ``SyntheticSeries.floor_mse`` for Delta in (-H, H)."""
    lags = np.arange(-(horizon - 1), horizon)
    d = lags[:, None, None]
    h = np.arange(1, horizon + 1)[None, :, None]
    hp = np.arange(1, horizon + 1)[None, None, :]
    lo, hi = np.maximum(0, d), np.minimum(h - 1, d + hp - 1)
    count = np.maximum(hi - lo + 1, 0)
    # Geometric sum written from its smallest exponent so that no power of
    # 1/phi appears (that would overflow for small phi).
    k = phi ** ((h - 1 - hi) + (d + hp - 1 - hi)) * (1 - phi ** (2 * count)) / (1 - phi ** 2)
    return np.where(count > 0, k, 0.0), lags


def synthetic(n_rows: int = 17472, seed: int = 0, phi: Sequence[float] = (0.6, 0.8, 0.9),
              ar_std: Sequence[float] = (1.2, 2.4, 0.6),
              daily_amplitude: Sequence[float] = (0.8, 1.8, 0.3),
              weekly_amplitude: Sequence[float] = (0.6, 0.8, 0.4),
              level: Sequence[float] = (10.0, 50.0, -5.0),
              ratios: Sequence[float] = DEFAULT_RATIOS,
              start: str = "2021-01-04") -> SyntheticSeries:
    """Seeded hourly series with daily and weekly cycles plus AR(1) noise.

    Model, for target c = 0..C-1 (C = len(phi)) and hourly row t::

        x_c(t) = s_c(t) + e_c(t)
        s_c(t) = level_c + a_c sin(2 pi d(t)/24 + 2 pi c/C)
                         + b_c sin(2 pi w(t)/168 + pi/2 + 2 pi c/C)
        e_c(t) = phi_c e_c(t-1) + sigma_c eps_c(t),   eps iid N(0, 1)
        sigma_c = ar_std_c sqrt(1 - phi_c^2),  e_c(0) ~ N(0, ar_std_c^2)

    with d(t) the hour of day, w(t) the hour of the week, a = daily_amplitude,
    b = weekly_amplitude. e starts in its stationary law, so the series is
    stationary. Columns: ``y0..y{C-1}`` (targets) then the four
    ``calendar_features`` (input-only features that tell a model the phase).

    The optimal forecast s(t+h) + phi^h (x(t) - s(t)) is linear in the last
    input row: by angle addition s(t+h) and s(t) are linear in (1, hour_sin,
    hour_cos, week_sin, week_cos) at row t. So a model that reads the last row
    can reach the floor exactly (``SyntheticSeries.floor_mse`` derives it).

    Defaults: 17,472 rows (104 weeks) from Monday 2021-01-04; variance ratio
    AR : seasonal = 3 : 1 in every series; floor at input 96, horizon 96: MSE
    0.7215 (mean over steps; 0.296 at step 1, 0.738 at step 96), MAE 0.676;
    the oracle's test MSE scatters around it with standard error 0.022.

    Example:
        >>> data = synthetic(n_rows=24 * 7 * 20, seed=1)
        >>> data.columns
        ('y0', 'y1', 'y2', 'hour_sin', 'hour_cos', 'week_sin', 'week_cos')
    """
    n_rows = _positive_int(n_rows, "n_rows")
    # Default design: a 3:1 ratio of AR to seasonal variance in every series, so
    # the irreducible noise dominates the error and a model that gets the seasonal
    # shape roughly right is already close to the floor. Moderate phi keeps the
    # sampling noise of the test MSE small (see ``Floor.standard_error``) while
    # still rewarding a model for using the last values (floor at h=1 is 10-48 %
    # of the floor at h=96). Channels have different units so that scaling matters.
    params = {name: np.asarray(value, dtype=np.float64) for name, value in
              dict(phi=phi, ar_std=ar_std, daily_amplitude=daily_amplitude,
                   weekly_amplitude=weekly_amplitude, level=level).items()}
    n_series = params["phi"].size
    for name, value in params.items():
        if value.shape != (n_series,):
            raise ValueError(f"{name}: expected {n_series} values (one per series, like phi), "
                             f"got {value.tolist()}")
    phi_arr = params["phi"]
    if np.any(np.abs(phi_arr) >= 1):
        raise ValueError(f"phi: expected |phi| < 1 (a stationary AR(1)), got {phi_arr.tolist()}")
    if np.any(params["ar_std"] <= 0):
        raise ValueError(f"ar_std: expected positive values, got {params['ar_std'].tolist()}")

    timestamps = pd.date_range(start=start, periods=n_rows, freq="h")
    feats, feat_names = calendar_features(timestamps)
    d = timestamps.hour.to_numpy(np.float64)[:, None]
    w = 24.0 * timestamps.dayofweek.to_numpy(np.float64)[:, None] + d
    shift = 2 * np.pi * np.arange(n_series) / n_series
    seasonal = (params["level"]
                + params["daily_amplitude"] * np.sin(2 * np.pi * d / 24 + shift)
                + params["weekly_amplitude"] * np.sin(2 * np.pi * w / 168 + np.pi / 2 + shift))

    sigma = params["ar_std"] * np.sqrt(1 - phi_arr ** 2)
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n_rows, n_series))
    noise = np.empty((n_rows, n_series))
    noise[0] = params["ar_std"] * eps[0]
    for t in range(1, n_rows):               # 17k steps of a 3-vector: ~20 ms
        noise[t] = phi_arr * noise[t - 1] + sigma * eps[t]

    values = np.concatenate([seasonal + noise, feats], axis=1)
    columns = tuple(f"y{c}" for c in range(n_series)) + feat_names
    return SyntheticSeries(values=values, columns=columns,
                           target_indices=tuple(range(n_series)),
                           borders=chronological_split(n_rows, ratios), timestamps=timestamps,
                           seasonal=seasonal, phi=phi_arr, sigma=sigma)


def floor_mse(horizon: int, data: SyntheticSeries | None = None, input_length: int = 96,
              split: str = "test") -> Floor:
    """``data.floor_mse(...)`` for ``data`` (default: ``synthetic()``)."""
    return (data if data is not None else synthetic()).floor_mse(horizon, input_length, split)

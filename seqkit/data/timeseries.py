"""Time-series data layer for forecasting experiments (numpy + pandas only).

This module turns a CSV file (or the built-in synthetic series) into the exact
arrays that the forecasting benchmarks are defined on, so that every model and
baseline in seqkit is scored on the same windows:

* ``load_csv``: parse and sort dates, report duplicated timestamps, gaps and NaNs
  (``LoadReport``), select target and feature columns, fill or refuse NaNs.
* ``SeriesSplit``: the value array ``[time, columns]``, the column names, which
  columns are targets, and the train/val/test ``Borders``.
* ``chronological_split`` (70/10/20 by default) and ``etth1`` (the fixed
  ETTh1 protocol of Zhou et al. 2021 / Zeng et al. 2023).
* ``StandardScaler``: per-column mean/std fitted on the training rows only.
* ``window_starts`` / ``make_windows``: every window of a split, modes "M",
  "S" and "MS".
* ``synthetic``: a seeded seasonal + AR(1) series whose best achievable forecast
  error is known in closed form (``SyntheticSeries.floor_mse``).

Window convention (the one of Informer's ``Dataset_ETT_hour``): a split owns the
rows ``[start, end)`` that are *forecast*; a window's input may reach back up to
``input_length`` rows before ``start`` (into the previous split), so that the
first forecast step of the first window of a split is row ``start`` (except for
a split that starts at row 0, whose first forecast row is ``input_length``).
Every window start is used: nothing is dropped to fill a last batch.

Example:
    >>> from seqkit.data import timeseries as ts
    >>> data = ts.synthetic(n_rows=2016)
    >>> test = data.windows("test", input_length=96, horizon=24)
    >>> test.inputs.shape[1:], test.targets.shape[1:]
    ((96, 7), (24, 3))
    >>> round(data.floor_mse(24).mean, 3)
    0.667
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "Borders",
    "Floor",
    "Gap",
    "LoadReport",
    "SeriesSplit",
    "StandardScaler",
    "SyntheticSeries",
    "Windows",
    "calendar_features",
    "chronological_split",
    "etth1",
    "floor_mse",
    "load_csv",
    "make_windows",
    "synthetic",
    "window_starts",
]

_LOG = logging.getLogger(__name__)

FILL_MODES = ("error", "ffill", "interpolate")
MODES = ("M", "S", "MS")
SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.7, 0.1, 0.2)

# Column names accepted as the date column when ``date_column=None``.
_DATE_NAMES = ("date", "datetime", "timestamp", "time")

# ETTh1 standard protocol (Zhou et al. 2021; Zeng et al. 2023): 12 months of
# training rows, 4 of validation, 4 of test, months of 30 days, hourly rows.
ETTH1_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
ETTH1_BORDERS = ((0, 8640), (8640, 11520), (11520, 14400))

# How many rows a message or a report line lists before it says "and N more".
_SHOW = 10


def _preview(items: Sequence, n: int = _SHOW) -> str:
    shown = ", ".join(str(i) for i in items[:n])
    more = len(items) - n
    return shown + (f", ... and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Gap:
    """A hole in a regular time index: no row between ``after`` and ``before``.

    ``missing`` is the number of rows the regular frequency expects in between,
    ``round((before - after) / frequency) - 1``.
    """

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int

    def __str__(self) -> str:
        return f"{self.missing} missing step(s) between {self.after} and {self.before}"


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What ``load_csv`` found in a file; nothing here made the load fail.

    Row numbers are 0-based data rows in *file order* (the first row under the
    header is row 0, i.e. file line ``row + 2``), so that they can be looked up
    in the file even though the returned data are sorted by date.

    Attributes:
        path: the file read.
        n_rows: number of data rows.
        date_column: the parsed date column, or None when the file has none.
        frequency: the most common step between consecutive distinct
            timestamps (the "regular frequency"), or None.
        was_sorted: whether the rows were already in date order.
        duplicates: ``(row, timestamp)`` of every row whose timestamp occurs
            more than once (all of them are kept, in file order).
        gaps: every step longer than ``frequency``.
        nan_rows: for each selected column that had NaNs, their rows.
        fill: how NaNs were handled ("error", "ffill" or "interpolate").

    Use ``report.log()`` to send ``report.lines()`` to a logger, or
    ``str(report)``.
    """

    path: str
    n_rows: int
    date_column: str | None
    frequency: pd.Timedelta | None
    was_sorted: bool
    duplicates: tuple[tuple[int, pd.Timestamp], ...]
    gaps: tuple[Gap, ...]
    nan_rows: Mapping[str, tuple[int, ...]]
    fill: str

    @property
    def ok(self) -> bool:
        """True when there was nothing to report (no duplicates, gaps or NaNs)."""
        return not (self.duplicates or self.gaps or self.nan_rows)

    def lines(self) -> list[str]:
        """Human-readable report, one finding per line."""
        out = [f"{self.path}: {self.n_rows} rows"
               + (f", date column {self.date_column!r}, frequency {self.frequency}"
                  if self.date_column else ", no date column")]
        if self.date_column and not self.was_sorted:
            out.append("rows were not in date order; sorted them (stable)")
        if self.duplicates:
            out.append(f"{len(self.duplicates)} rows with a duplicated timestamp (kept): "
                       + _preview([f"row {r} ({t})" for r, t in self.duplicates]))
        if self.gaps:
            total = sum(g.missing for g in self.gaps)
            out.append(f"{len(self.gaps)} gaps in the {self.frequency} frequency, "
                       f"{total} missing steps: " + _preview([str(g) for g in self.gaps]))
        for column, rows in self.nan_rows.items():
            out.append(f"column {column!r}: {len(rows)} NaN(s) at rows {_preview(rows)}"
                       f" (fill={self.fill!r})")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def log(self, logger: logging.Logger | None = None, level: int = logging.WARNING) -> None:
        """Log the summary line at INFO and every finding at ``level``."""
        logger = logger or _LOG
        lines = self.lines()
        logger.info("%s", lines[0])
        for line in lines[1:]:
            logger.log(level, "%s", line)


def _resolve_date_column(df: pd.DataFrame, date_column: str | None) -> str | None:
    if date_column is None:
        for name in df.columns:
            if str(name).strip().lower() in _DATE_NAMES:
                return name
        return None
    if date_column not in df.columns:
        raise ValueError(f"date_column: expected one of the file's columns {list(df.columns)}, "
                         f"got {date_column!r}")
    return date_column


def _parse_dates(raw: pd.Series, column: str) -> pd.Series:
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise ValueError(
            f"date_column {column!r}: expected every value to parse as a date with the format "
            f"of the first rows, got {bad.size} that do not, e.g. row {row} "
            f"(file line {row + 2}) value {raw.iloc[row]!r}")
    return parsed


def _is_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


def _check_columns(df: pd.DataFrame, names: Sequence[str], argument: str,
                   available: Sequence[str], numeric: Sequence[str]) -> None:
    for name in names:
        if name not in df.columns or name not in available:
            raise ValueError(f"{argument}: column {name!r} is not in the file; expected one of "
                             f"the available columns {list(available)}")
        if name not in numeric:
            values = pd.to_numeric(df[name], errors="coerce")
            rows = np.flatnonzero(values.isna().to_numpy() & df[name].notna().to_numpy())
            example = (f", e.g. row {int(rows[0])} value {df[name].iloc[rows[0]]!r}"
                       if rows.size else "")
            raise ValueError(f"{argument}: expected a numeric column, got {name!r} of dtype "
                             f"{df[name].dtype}{example}; numeric columns: {list(numeric)}; "
                             f"available columns: {list(available)}")


def load_csv(path: str | os.PathLike, date_column: str | None = None,
             targets: str | Sequence[str] | None = None,
             features: str | Sequence[str] | None = None, fill: str = "error",
             ratios: Sequence[float] = DEFAULT_RATIOS) -> "SeriesSplit":
    """Read a CSV time series into a ``SeriesSplit`` (chronological 70/10/20).

    Args:
        path: CSV file with a header row.
        date_column: the column of timestamps. None picks the first column named
            date/datetime/timestamp/time (any case), if there is one; a file
            without one keeps its row order and gets no gap/duplicate checks.
            The dates must all parse (else ValueError naming the column and a bad
            value); rows are then sorted by date (stable).
        targets: the columns to forecast. Default: every numeric column except
            the date column and the ``features``.
        features: extra input columns that are not forecast (e.g. calendar
            covariates). Default: none.
        fill: what to do with NaNs in the selected columns, after sorting:
            "error" raises a ValueError listing the first rows; "ffill" carries
            the last value forward (a NaN in a column's first row cannot be
            filled and raises); "interpolate" interpolates linearly in row order
            and copies the nearest value into leading/trailing NaNs.
        ratios: (train, val, test) fractions for ``chronological_split``.

    Returns:
        A ``SeriesSplit`` whose columns are ``targets + features`` in that
        order, with ``.report`` (a ``LoadReport``) listing duplicated
        timestamps, gaps in the regular frequency and NaN rows.

    Example:
        >>> data = load_csv("ETTh1.csv", targets=["OT"])      # doctest: +SKIP
        >>> data.report.log()                                  # doctest: +SKIP
    """
    if fill not in FILL_MODES:
        raise ValueError(f"fill: expected one of {FILL_MODES}, got {fill!r}")
    path = os.fspath(path)
    df = pd.read_csv(path)
    if len(df) == 0:
        raise ValueError(f"path: expected a CSV file with data rows, got {path!r} with none")

    date_name = _resolve_date_column(df, date_column)
    available = [c for c in df.columns if c != date_name]
    numeric = [c for c in available if _is_numeric(df[c])]

    features = [features] if isinstance(features, str) else list(features or [])
    _check_columns(df, features, "features", available, numeric)
    if targets is None:
        targets = [c for c in numeric if c not in features]
        if not targets:
            raise ValueError(f"targets: expected at least one numeric column besides the date "
                             f"and the features, got none; available columns: {available}")
    else:
        targets = [targets] if isinstance(targets, str) else list(targets)
        if not targets:
            raise ValueError("targets: expected at least one column name, got an empty list")
        _check_columns(df, targets, "targets", available, numeric)
    overlap = sorted(set(targets) & set(features))
    if overlap:
        raise ValueError(f"targets and features: expected disjoint column lists, got "
                         f"{overlap} in both")
    for argument, names in (("targets", targets), ("features", features)):
        if len(set(names)) != len(names):
            raise ValueError(f"{argument}: expected distinct column names, got {names}")
    columns = targets + features

    # NaNs are reported in file order, before sorting, so that rows can be found.
    nan_mask = df[columns].isna().to_numpy()
    nan_rows = {c: tuple(int(r) for r in np.flatnonzero(nan_mask[:, j]))
                for j, c in enumerate(columns) if nan_mask[:, j].any()}

    frequency, duplicates, gaps, was_sorted, timestamps = None, (), (), True, None
    if date_name is not None:
        dates = _parse_dates(df[date_name], date_name)
        was_sorted = bool(dates.is_monotonic_increasing)
        dup = dates.duplicated(keep=False).to_numpy()
        duplicates = tuple((int(r), dates.iloc[r]) for r in np.flatnonzero(dup))
        order = np.argsort(dates.to_numpy(), kind="stable")
        df = df.iloc[order].reset_index(drop=True)
        timestamps = pd.DatetimeIndex(dates.iloc[order].to_numpy())
        frequency, gaps = _frequency_and_gaps(timestamps)

    frame = df[columns].astype(np.float64)
    if nan_rows:
        frame = _fill(frame, fill, nan_rows, order if date_name is not None else None)

    report = LoadReport(path=path, n_rows=len(df), date_column=date_name, frequency=frequency,
                        was_sorted=was_sorted, duplicates=duplicates, gaps=gaps,
                        nan_rows=nan_rows, fill=fill)
    return SeriesSplit(values=frame.to_numpy(), columns=tuple(columns),
                       target_indices=tuple(range(len(targets))),
                       borders=chronological_split(len(df), ratios),
                       timestamps=timestamps, report=report)


def _frequency_and_gaps(timestamps: pd.DatetimeIndex):
    unique = timestamps.unique()
    if len(unique) < 2:
        return None, ()
    # Timedelta arithmetic, not .asi8: pandas >= 3 keeps the file's resolution
    # (e.g. datetime64[us]), so raw integers have no fixed unit.
    steps = pd.Series(unique[1:] - unique[:-1])
    # The mode, not the minimum: one stray half-hour row must not make a whole
    # hourly file look gappy.
    frequency = pd.Timedelta(steps.mode().iloc[0])
    long = np.flatnonzero((steps > frequency).to_numpy())
    gaps = tuple(Gap(after=unique[i], before=unique[i + 1],
                     missing=int(round(steps.iloc[i] / frequency)) - 1) for i in long)
    return frequency, gaps


def _fill(frame: pd.DataFrame, fill: str, nan_rows: Mapping[str, tuple[int, ...]],
          order: np.ndarray | None) -> pd.DataFrame:
    if fill == "error":
        by_row: dict[int, list[str]] = {}
        for column, rows in nan_rows.items():
            for r in rows:
                by_row.setdefault(r, []).append(column)
        listed = [f"row {r} ({', '.join(by_row[r])})" for r in sorted(by_row)]
        raise ValueError(
            f"fill: 'error' expects no NaN in the selected columns, got {len(listed)} rows with "
            f"NaN (0-based data rows in file order): {_preview(listed)}; pass fill='ffill' or "
            f"fill='interpolate' to fill them")
    if fill == "ffill":
        filled = frame.ffill()
        still = filled.isna().to_numpy()
        if still.any():
            j = int(np.flatnonzero(still.any(axis=0))[0])
            column = frame.columns[j]
            sorted_rows = np.flatnonzero(still[:, j])
            file_rows = order[sorted_rows] if order is not None else sorted_rows
            raise ValueError(
                f"fill: 'ffill' cannot fill column {column!r}: its first {sorted_rows.size} "
                f"row(s) in time order are NaN with no earlier value (file rows "
                f"{_preview([int(r) for r in file_rows])}); use fill='interpolate' or trim them")
        return filled
    filled = frame.interpolate(method="linear", limit_direction="both")
    if filled.isna().to_numpy().any():
        column = frame.columns[int(np.flatnonzero(filled.isna().to_numpy().any(axis=0))[0])]
        raise ValueError(f"fill: 'interpolate' expects at least one value in every column, got "
                         f"column {column!r} with only NaN")
    return filled


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Borders:
    """Row ranges ``[start, end)`` of the train, val and test splits."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]

    def __post_init__(self):
        for name in SPLITS:
            start, end = getattr(self, name)
            if not 0 <= start < end:
                raise ValueError(f"borders.{name}: expected 0 <= start < end, got ({start}, {end})")

    def __getitem__(self, split: str) -> tuple[int, int]:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        return getattr(self, split)


def chronological_split(n_rows: int, ratios: Sequence[float] = DEFAULT_RATIOS) -> Borders:
    """Contiguous train/val/test row ranges in time order.

    Uses the rounding of Informer's ``Dataset_Custom`` so that results compare
    with the literature: ``n_train = int(n * r_train)``,
    ``n_test = int(n * r_test)``, ``n_val = n - n_train - n_test``.

    Example:
        >>> chronological_split(100)
        Borders(train=(0, 70), val=(70, 80), test=(80, 100))
    """
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != 3 or min(ratios) <= 0 or abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f"ratios: expected three positive (train, val, test) fractions summing "
                         f"to 1, got {ratios}")
    n_train, n_test = int(n_rows * ratios[0]), int(n_rows * ratios[2])
    n_val = n_rows - n_train - n_test
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(f"n_rows: expected enough rows for every split with ratios {ratios}, "
                         f"got {n_rows} (train {n_train}, val {n_val}, test {n_test} rows)")
    return Borders(train=(0, n_train), val=(n_train, n_train + n_val),
                   test=(n_train + n_val, n_rows))


# --------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StandardScaler:
    """Per-column standardization ``z = (x - mean) / scale``.

    ``mean`` and ``scale`` are float64 arrays of shape ``[columns]`` (plain
    arrays so that an exporter can embed them as graph constants). ``scale`` is
    the population standard deviation (ddof=0, as sklearn's StandardScaler used
    by the ETT literature) with zeros replaced by 1, so a constant column maps
    to 0 instead of dividing by zero.

    Example:
        >>> s = StandardScaler.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
        >>> s.mean, s.scale
        (array([2., 5.]), array([1., 1.]))
        >>> s.transform(np.array([3.0, 6.0]))
        array([1., 1.])
    """

    mean: np.ndarray
    scale: np.ndarray
    columns: tuple[str, ...] | None = None

    @classmethod
    def fit(cls, values: np.ndarray, columns: Sequence[str] | None = None) -> "StandardScaler":
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] == 0:
            raise ValueError(f"values: expected a non-empty [rows, columns] array, got shape "
                             f"{values.shape}")
        if not np.isfinite(values).all():
            raise ValueError("values: expected finite numbers to fit the scaler, got NaN or inf")
        std = values.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        return cls(mean=values.mean(axis=0), scale=scale,
                   columns=tuple(columns) if columns is not None else None)

    def _params(self, x: np.ndarray, columns: Sequence[int] | None):
        mean, scale = self.mean, self.scale
        if columns is not None:
            mean, scale = mean[list(columns)], scale[list(columns)]
        if x.shape[-1:] != mean.shape:
            raise ValueError(f"x: expected a last axis of {mean.shape[0]} columns, got shape "
                             f"{x.shape}")
        return mean, scale

    def transform(self, x: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        """Standardize ``x[..., k]`` with column ``columns[k]`` (default: all, in order)."""
        x = np.asarray(x, dtype=np.float64)
        mean, scale = self._params(x, columns)
        return (x - mean) / scale

    def inverse_transform(self, z: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        """Undo ``transform``: ``x = z * scale + mean`` on the chosen columns."""
        z = np.asarray(z, dtype=np.float64)
        mean, scale = self._params(z, columns)
        return z * scale + mean

    def subset(self, columns: Sequence[int]) -> "StandardScaler":
        """The scaler of some columns only (e.g. the targets, for predictions)."""
        idx = list(columns)
        names = tuple(self.columns[i] for i in idx) if self.columns is not None else None
        return StandardScaler(mean=self.mean[idx].copy(), scale=self.scale[idx].copy(),
                              columns=names)


# --------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Windows:
    """Every window of one split.

    Attributes:
        inputs: ``[n, input_length, len(input_columns)]``.
        targets: ``[n, horizon, len(target_columns)]``.
        starts: ``[n]`` row of each window's first input step; the window's
            forecast rows are ``origins[i] + [0, horizon)`` with
            ``origins = starts + input_length``.
        input_columns, target_columns: column indices into the source values.
        scaler: the scaler applied to the values before windowing, or None.
    """

    inputs: np.ndarray
    targets: np.ndarray
    starts: np.ndarray
    input_length: int
    horizon: int
    input_columns: tuple[int, ...]
    target_columns: tuple[int, ...]
    scaler: StandardScaler | None = None

    @property
    def n(self) -> int:
        return int(self.starts.shape[0])

    @property
    def origins(self) -> np.ndarray:
        """Row of each window's first forecast step."""
        return self.starts + self.input_length

    @property
    def target_channels(self) -> tuple[int, ...]:
        """Position of each target column among the input channels: the history
        a univariate baseline reads for that target."""
        return tuple(self.input_columns.index(c) for c in self.target_columns)

    def inverse_targets(self, z: np.ndarray) -> np.ndarray:
        """Map standardized forecasts ``[..., len(target_columns)]`` back to data units."""
        if self.scaler is None:
            return np.asarray(z, dtype=np.float64)
        return self.scaler.inverse_transform(z, columns=self.target_columns)


def _positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def window_starts(input_length: int, horizon: int, start: int, end: int) -> np.ndarray:
    """First input row of every window whose forecast rows lie in ``[start, end)``.

    A window starting at row ``i`` reads rows ``[i, i + input_length)`` and
    forecasts ``[i + input_length, i + input_length + horizon)``. Inputs may
    reach back ``input_length`` rows before ``start`` (not before row 0), so the
    starts are ``max(start - input_length, 0), ..., end - input_length - horizon``.

    Raises:
        ValueError: when the usable rows ``end - max(start - input_length, 0)``
            are fewer than ``input_length + horizon``.

    Example:
        >>> window_starts(input_length=3, horizon=2, start=10, end=15)
        array([ 7,  8,  9, 10])
    """
    input_length = _positive_int(input_length, "input_length")
    horizon = _positive_int(horizon, "horizon")
    start, end = int(start), int(end)
    if not 0 <= start < end:
        raise ValueError(f"start, end: expected 0 <= start < end, got start={start}, end={end}")
    first = max(start - input_length, 0)
    rows = end - first
    if rows < input_length + horizon:
        raise ValueError(
            f"input_length={input_length} + horizon={horizon} = {input_length + horizon} rows are "
            f"needed for one window, but the split [{start}, {end}) has only {rows} usable rows "
            f"(its {end - start} rows plus {start - first} rows of look-back)")
    return np.arange(first, end - input_length - horizon + 1)


def make_windows(values: np.ndarray, input_length: int, horizon: int, start: int, end: int,
                 mode: str = "M", target_indices: Sequence[int] | None = None,
                 target: int | None = None, scaler: StandardScaler | None = None,
                 dtype=np.float32) -> Windows:
    """Cut every window of the split ``[start, end)`` out of ``values``.

    Modes (the ETT literature's):
        "M": all columns in, all target columns out
            (``[n, L, columns]`` -> ``[n, H, len(target_indices)]``);
        "S": the single ``target`` column in and out (``[n, L, 1]`` -> ``[n, H, 1]``);
        "MS": all columns in, the single ``target`` column out.

    Args:
        values: ``[time, columns]`` array.
        input_length, horizon: L and H.
        start, end: the split's forecast rows; see ``window_starts``.
        mode: "M", "S" or "MS".
        target_indices: the target columns (default: every column).
        target: the column forecast in "S"/"MS" (default: the last target, like
            ETT's "OT"); must be None in "M".
        scaler: if given, ``values`` are standardized with it first.
        dtype: dtype of the returned arrays.

    Example:
        >>> w = make_windows(np.arange(10.0)[:, None], 3, 2, start=5, end=10)
        >>> w.starts, w.inputs[0, :, 0], w.targets[0, :, 0]
        (array([2, 3, 4, 5]), array([2., 3., 4.], dtype=float32), array([5., 6.], dtype=float32))
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values: expected a [time, columns] array, got shape {values.shape}")
    n_rows, n_columns = values.shape
    if end > n_rows:
        raise ValueError(f"end: expected at most the number of rows {n_rows}, got {end}")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    target_indices = (tuple(range(n_columns)) if target_indices is None
                      else tuple(int(i) for i in target_indices))
    if not target_indices or any(not 0 <= i < n_columns for i in target_indices):
        raise ValueError(f"target_indices: expected column indices in [0, {n_columns}), got "
                         f"{target_indices}")
    if mode == "M":
        if target is not None:
            raise ValueError(f"target: expected None in mode 'M' (all targets are forecast), got "
                             f"{target!r}; use mode 'S' or 'MS' for one target")
        input_columns, target_columns = tuple(range(n_columns)), target_indices
    else:
        target = target_indices[-1] if target is None else int(target)
        if not 0 <= target < n_columns:
            raise ValueError(f"target: expected a column index in [0, {n_columns}), got {target}")
        target_columns = (target,)
        input_columns = (target,) if mode == "S" else tuple(range(n_columns))

    starts = window_starts(input_length, horizon, start, end)
    first, span = int(starts[0]), input_length + horizon
    block = values[first:end]
    if scaler is not None:
        block = scaler.transform(block)
    # sliding_window_view is a strided view; the copies below materialize only
    # the selected columns of each window.
    view = np.lib.stride_tricks.sliding_window_view(block, span, axis=0)  # [n, C, span]
    view = view.transpose(0, 2, 1)
    inputs = np.ascontiguousarray(view[:, :input_length][..., list(input_columns)], dtype=dtype)
    targets = np.ascontiguousarray(view[:, input_length:][..., list(target_columns)], dtype=dtype)
    return Windows(inputs=inputs, targets=targets, starts=starts, input_length=input_length,
                   horizon=horizon, input_columns=input_columns, target_columns=target_columns,
                   scaler=scaler)


# --------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeriesSplit:
    """A multivariate series with its chronological train/val/test split.

    Attributes:
        values: float64 ``[time, columns]``.
        columns: column names.
        target_indices: indices of the columns that are forecast; the other
            columns are input-only features.
        borders: the ``Borders`` (forecast rows of each split).
        timestamps: the sorted time index, or None.
        report: the ``LoadReport`` of ``load_csv``, or None.
    """

    values: np.ndarray
    columns: tuple[str, ...]
    target_indices: tuple[int, ...]
    borders: Borders
    timestamps: pd.DatetimeIndex | None = None
    report: LoadReport | None = None

    def __post_init__(self):
        if self.values.ndim != 2 or self.values.shape[1] != len(self.columns):
            raise ValueError(f"values: expected shape [time, {len(self.columns)}] to match "
                             f"columns {self.columns}, got {self.values.shape}")
        if not self.target_indices or any(not 0 <= i < len(self.columns)
                                          for i in self.target_indices):
            raise ValueError(f"target_indices: expected indices into {len(self.columns)} columns, "
                             f"got {self.target_indices}")
        for split in SPLITS:
            if self.borders[split][1] > self.n_rows:
                raise ValueError(f"borders.{split}: expected an end <= {self.n_rows} rows, got "
                                 f"{self.borders[split]}")

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def target_columns(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in self.target_indices)

    def scaler(self) -> StandardScaler:
        """``StandardScaler`` fitted on the training rows only (all columns)."""
        start, end = self.borders.train
        return StandardScaler.fit(self.values[start:end], columns=self.columns)

    def column_index(self, column: int | str) -> int:
        if isinstance(column, str):
            if column not in self.columns:
                raise ValueError(f"target: expected one of the columns {list(self.columns)}, got "
                                 f"{column!r}")
            return self.columns.index(column)
        return int(column)

    def windows(self, split: str, input_length: int, horizon: int, mode: str = "M",
                target: int | str | None = None, scaled: bool = True,
                dtype=np.float32) -> Windows:
        """All windows of ``split`` ("train", "val" or "test"); see ``make_windows``.

        ``scaled=True`` standardizes with ``self.scaler()`` (training rows only).
        """
        start, end = self.borders[split]
        return make_windows(self.values, input_length, horizon, start, end, mode=mode,
                            target_indices=self.target_indices,
                            target=None if target is None else self.column_index(target),
                            scaler=self.scaler() if scaled else None, dtype=dtype)


def etth1(data_dir: str | os.PathLike) -> SeriesSplit:
    """ETTh1 with the standard borders: train [0, 8640), val [8640, 11520),
    test [11520, 14400) (rows from 14400 on are unused by the protocol).

    All seven columns are targets (mode "M" is 7 -> 7; "S"/"MS" default to
    "OT", the last one). ``data_dir`` may be the CSV itself, its folder, or a
    folder holding ``ETT-small/ETTh1.csv``.

    Example:
        >>> data = etth1("/data")                                   # doctest: +SKIP
        >>> data.windows("test", 96, 96).origins[0]                 # doctest: +SKIP
        11520
    """
    data_dir = os.fspath(data_dir)
    candidates = ([data_dir] if data_dir.endswith(".csv") else
                  [os.path.join(data_dir, "ETTh1.csv"),
                   os.path.join(data_dir, "ETT-small", "ETTh1.csv")])
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        raise FileNotFoundError(f"data_dir: expected ETTh1.csv at one of {candidates}, found none")
    data = load_csv(path, date_column="date", targets=list(ETTH1_COLUMNS), fill="error")
    needed = ETTH1_BORDERS[-1][1]
    if data.n_rows < needed:
        raise ValueError(f"data_dir: expected ETTh1.csv with at least {needed} rows, got "
                         f"{data.n_rows} rows in {path}")
    return dataclasses.replace(data, borders=Borders(*ETTH1_BORDERS))


def calendar_features(timestamps: pd.DatetimeIndex) -> tuple[np.ndarray, tuple[str, ...]]:
    """Phase of the day and of the week as sin/cos pairs, ``[time, 4]``.

    With ``d`` = hour of day (fractional: 13:30 -> 13.5) and ``w`` = hour of the
    week (Monday 00:00 -> 0, ``w = 24 * dayofweek + d``)::

        hour_sin, hour_cos = sin(2 pi d / 24),  cos(2 pi d / 24)
        week_sin, week_cos = sin(2 pi w / 168), cos(2 pi w / 168)

    The weekly phase has hourly resolution (not a step per day) so that any
    first-harmonic weekly cycle is a linear function of the features.
    """
    timestamps = pd.DatetimeIndex(timestamps)
    d = (timestamps.hour + timestamps.minute / 60 + timestamps.second / 3600).to_numpy(np.float64)
    w = 24.0 * timestamps.dayofweek.to_numpy(np.float64) + d
    feats = np.stack([np.sin(2 * np.pi * d / 24), np.cos(2 * np.pi * d / 24),
                      np.sin(2 * np.pi * w / 168), np.cos(2 * np.pi * w / 168)], axis=1)
    return feats, ("hour_sin", "hour_cos", "week_sin", "week_cos")


# --------------------------------------------------------------------------
# Synthetic series with a known error floor
# --------------------------------------------------------------------------


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

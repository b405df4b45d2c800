"""Chronological train/val/test splits: ``Borders``, ``chronological_split`` and
``SeriesSplit`` (a series, its columns, its targets and its split)."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from seqkit.data.timeseries.scaling import StandardScaler
from seqkit.data.timeseries.windows import Windows, make_windows

if TYPE_CHECKING:
    from seqkit.data.timeseries.csv_loader import LoadReport

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.7, 0.1, 0.2)


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

    def column_index(self, column: int | str, argument: str = "target") -> int:
        if isinstance(column, str):
            if column not in self.columns:
                raise ValueError(f"{argument}: expected one of the columns {list(self.columns)}, got "
                                 f"{column!r}")
            return self.columns.index(column)
        return int(column)

    def windows(self, split: str, input_length: int, horizon: int, mode: str = "M",
                target: int | str | None = None, scaled: bool = True,
                dtype=np.float32, future: Sequence[int | str] | None = None) -> Windows:
        """All windows of ``split`` ("train", "val" or "test"); see ``make_windows``.

        ``scaled=True`` standardizes with ``self.scaler()`` (training rows only).
        ``future``: names or indices of columns known in advance; their values
        over each window's horizon are ``Windows.future`` ``[n, horizon, k]``.
        """
        future_columns = ([self.column_index(c, "future") for c in future]
                          if future else None)
        start, end = self.borders[split]
        return make_windows(self.values, input_length, horizon, start, end, mode=mode,
                            target_indices=self.target_indices,
                            target=None if target is None else self.column_index(target),
                            scaler=self.scaler() if scaled else None, dtype=dtype,
                            future_columns=future_columns)


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """A parsed ``--split``: either three ``ratios`` or two ``dates`` (the first
    row of validation and the first row of test)."""

    ratios: tuple[float, float, float] | None = None
    dates: tuple[pd.Timestamp, pd.Timestamp] | None = None


def parse_split(text: str) -> SplitSpec:
    """Parse ``--split``: "0.7,0.1,0.2" (fractions) or "2017-06-01,2017-10-01" (dates).

    Fractions: three numbers > 0 summing to 1 (train, val, test). Dates: two
    increasing timestamps; validation starts at the first, test at the second.

    Example:
        >>> parse_split("0.6,0.2,0.2").ratios
        (0.6, 0.2, 0.2)
        >>> parse_split("2017-06-01,2017-10-01").dates[1]
        Timestamp('2017-10-01 00:00:00')
    """
    parts = [p.strip() for p in str(text).split(",")]
    expected = ('three fractions > 0 summing to 1 ("0.7,0.1,0.2") or two increasing dates '
                '("2017-06-01,2017-10-01")')
    if len(parts) == 3:
        try:
            ratios = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError(f"--split: expected {expected}, got {text!r}") from None
        if min(ratios) <= 0 or abs(sum(ratios) - 1) > 1e-6:
            raise ValueError(f"--split: expected three fractions > 0 summing to 1, got "
                             f"{text!r} (sum {sum(ratios):g})")
        return SplitSpec(ratios=ratios)
    if len(parts) == 2:
        try:
            dates = tuple(pd.Timestamp(p) for p in parts)
        except (ValueError, TypeError):
            raise ValueError(f"--split: expected {expected}, got {text!r}") from None
        if any(pd.isna(d) for d in dates):
            raise ValueError(f"--split: expected {expected}, got {text!r}")
        if not dates[0] < dates[1]:
            raise ValueError(f"--split: expected the validation date before the test date, got "
                             f"{text!r}")
        return SplitSpec(dates=dates)
    raise ValueError(f"--split: expected {expected}, got {text!r}")


def split_borders(spec: SplitSpec | str, n_rows: int,
                  timestamps: pd.DatetimeIndex | None = None) -> Borders:
    """The ``Borders`` of a parsed ``--split`` over ``n_rows`` sorted rows.

    Fractions: ``chronological_split(n_rows, ratios)`` (Informer's rounding).
    Dates ``(d1, d2)``: validation starts at the first row with timestamp >= d1,
    test at the first row with timestamp >= d2; both dates must lie inside
    ``(first timestamp, last timestamp]`` so that every split has rows.

    Example:
        >>> t = pd.date_range("2017-01-01", periods=10, freq="D")
        >>> split_borders("2017-01-06,2017-01-09", 10, t)
        Borders(train=(0, 5), val=(5, 8), test=(8, 10))
    """
    if isinstance(spec, str):
        spec = parse_split(spec)
    if spec.ratios is not None:
        try:
            return chronological_split(n_rows, spec.ratios)
        except ValueError as error:
            raise ValueError(f"--split={','.join(f'{r:g}' for r in spec.ratios)}: {error}") from None
    shown = ",".join(str(d.date()) if d == d.normalize() else str(d) for d in spec.dates)
    if timestamps is None:
        raise ValueError(f"--split={shown}: date borders need a date column, got a series "
                         f"without timestamps; give --date_column or fractions like 0.7,0.1,0.2")
    timestamps = pd.DatetimeIndex(timestamps)
    if len(timestamps) != n_rows:
        raise ValueError(f"timestamps: expected {n_rows} timestamps, got {len(timestamps)}")
    first, last = timestamps[0], timestamps[-1]
    for date in spec.dates:
        if not first < date <= last:
            raise ValueError(f"--split={shown}: expected dates inside the data's date range "
                             f"({first}, {last}], got {date}")
    val_start, test_start = (int(timestamps.searchsorted(d, side="left")) for d in spec.dates)
    if val_start == test_start:
        raise ValueError(f"--split={shown}: expected rows between the two dates for the "
                         f"validation split, got none")
    return Borders(train=(0, val_start), val=(val_start, test_start),
                   test=(test_start, n_rows))


def with_split(series: SeriesSplit, spec: SplitSpec | str) -> SeriesSplit:
    """``series`` with the borders of ``spec`` (a ``SplitSpec`` or ``--split`` text)."""
    return dataclasses.replace(series, borders=split_borders(spec, series.n_rows,
                                                             series.timestamps))


def with_calendar(series: SeriesSplit, names: str | Sequence[str],
                  frequency: str | None = None) -> SeriesSplit:
    """``series`` with the ``calendar`` columns of its timestamps appended as
    input-only features (not targets), e.g. to pass them as ``future=``.

    Example:
        >>> import numpy as np, pandas as pd
        >>> t = pd.date_range("2024-01-01", periods=10, freq="h")
        >>> s = SeriesSplit(values=np.zeros((10, 1)), columns=("y",), target_indices=(0,),
        ...                 borders=chronological_split(10), timestamps=t)
        >>> with_calendar(s, "hour").columns
        ('y', 'hour_sin', 'hour_cos')
    """
    from seqkit.data.timeseries.features import calendar

    if series.timestamps is None:
        raise ValueError("--calendar: calendar features need a date column, got a series "
                         "without timestamps; give --date_column")
    values, columns = calendar(series.timestamps, names, frequency)
    clash = sorted(set(columns) & set(series.columns))
    if clash:
        raise ValueError(f"--calendar: the series already has the column(s) {clash}")
    return dataclasses.replace(series, values=np.concatenate([series.values, values], axis=1),
                               columns=series.columns + columns)

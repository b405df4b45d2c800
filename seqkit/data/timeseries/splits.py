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

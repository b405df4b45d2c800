"""Reading a new CSV for prediction: ``load_history`` and ``History``."""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np
import pandas as pd

from seqkit.data.timeseries.csv_loader import LoadReport, _read_series
from seqkit.data.timeseries.features import future_timestamps, infer_frequency, same_frequency
from seqkit.data.timeseries.windows import _positive_int


@dataclasses.dataclass(frozen=True)
class History:
    """The last rows of a series to forecast from, and the steps to forecast.

    Attributes:
        values: ``[input_length, len(columns)]`` float64, raw units, the last
            ``input_length`` rows in time order.
        columns: the column names of ``values``.
        timestamps: ``[input_length]`` their timestamps.
        future_timestamps: ``[horizon]`` the timestamps after the last row,
            continuing ``frequency``.
        frequency: the file's frequency (equal to the training series').
        report: what ``load_csv``'s rules found in the file.
    """

    values: np.ndarray
    columns: tuple[str, ...]
    timestamps: pd.DatetimeIndex
    future_timestamps: pd.DatetimeIndex
    frequency: str
    report: LoadReport


def load_history(path: str | os.PathLike, columns: Sequence[str], *, frequency: str,
                 input_length: int, horizon: int, date_column: str | None = None,
                 fill: str = "error", encoding: str = "utf-8",
                 coerce: bool = False) -> History:
    """Read a new CSV to predict from, with the rules of ``load_csv``.

    Args:
        path: the CSV (``--predict``).
        columns: the columns the forecaster reads, in its order (targets then
            features); other columns of the file are ignored.
        frequency: the training series' frequency (``infer_frequency``); the
            file must have the same one.
        input_length: rows needed; the last ``input_length`` rows are returned.
        horizon: number of future timestamps to return.
        date_column, fill, encoding, coerce: as in ``load_csv``; a date column
            is required (the forecast needs timestamps).

    Raises:
        ValueError (messages name the argument, what was expected and what
        came): missing file, missing columns (all listed), a file without a
        date column, fewer than ``input_length`` rows, a different frequency
        (both named), gaps in the last ``input_length`` rows, non-numeric or
        missing cells (as ``load_csv``).

    Example:
        >>> h = load_history("new.csv", ["OT"], frequency="h", input_length=96,
        ...                  horizon=24)                            # doctest: +SKIP
        >>> h.values.shape, h.future_timestamps[0]                  # doctest: +SKIP
    """
    input_length = _positive_int(input_length, "input_length")
    horizon = _positive_int(horizon, "horizon")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: expected an existing CSV file, got {path!r}")
    columns = [columns] if isinstance(columns, str) else list(columns)
    if not columns:
        raise ValueError("columns: expected at least one column name, got none")
    header = pd.read_csv(path, nrows=0, encoding=encoding).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"columns: {path!r} is missing the column(s) {missing} the forecaster "
                         f"reads; expected {columns}, the file has {list(header)}")
    values, names, _, timestamps, report = _read_series(
        path, date_column, columns, None, fill, encoding, coerce)
    if timestamps is None:
        raise ValueError(f"date_column: expected a date column in {path!r} (named date, "
                         f"datetime, timestamp or time, or given by --date_column) to "
                         f"continue its timestamps, got none in {list(header)}")
    if len(values) < input_length:
        raise ValueError(f"input_length: the forecaster needs the last {input_length} rows, "
                         f"but {path!r} has only {len(values)}")
    if len(timestamps.unique()) >= 2:
        found = infer_frequency(timestamps)
        if not same_frequency(found, frequency):
            raise ValueError(f"frequency: {path!r} has frequency {found} but the training "
                             f"series has {frequency}; resample it to {frequency}")
    tail = timestamps[-input_length:]
    expected = pd.date_range(tail[0], periods=input_length, freq=frequency)
    if input_length > 1 and not tail.equals(expected):
        bad = int(np.flatnonzero(tail != expected)[0])
        raise ValueError(f"path: expected the last {input_length} rows of {path!r} every "
                         f"{frequency} without gaps or duplicates, got {tail[bad]} where "
                         f"{expected[bad]} was expected")
    return History(values=values[-input_length:], columns=names, timestamps=tail,
                   future_timestamps=future_timestamps(tail, horizon, frequency),
                   frequency=frequency, report=report)

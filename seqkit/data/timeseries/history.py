"""Reading a new CSV for prediction: ``load_history`` and ``History``."""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np
import pandas as pd

from seqkit.data.timeseries.csv_loader import (LoadReport, _parse_dates, _read_csv,
                                               _read_series, _resolve_date_column)
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
        future_values: ``[horizon, len(future_columns)]`` float64, raw units,
            the known-in-advance values at ``future_timestamps`` (the file's
            trailing future rows), or None without ``future_columns``.
        future_columns: their names (() when none).
    """

    values: np.ndarray
    columns: tuple[str, ...]
    timestamps: pd.DatetimeIndex
    future_timestamps: pd.DatetimeIndex
    frequency: str
    report: LoadReport
    future_values: np.ndarray | None = None
    future_columns: tuple[str, ...] = ()


def load_history(path: str | os.PathLike, columns: Sequence[str], *, frequency: str,
                 input_length: int, horizon: int, date_column: str | None = None,
                 fill: str = "error", encoding: str = "utf-8",
                 coerce: bool = False, future_columns: Sequence[str] = ()) -> History:
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
        future_columns: columns of ``columns`` known in advance (planned
            values). The file then ends with exactly ``horizon`` *future rows*:
            their timestamps continue the series, their ``future_columns`` are
            filled and every other column of ``columns`` is empty. They are
            returned as ``future_values``; the rows before them are the history.

    Raises:
        ValueError (messages name the argument, what was expected and what
        came): missing file, missing columns (all listed), a file without a
        date column, fewer than ``input_length`` rows, a different frequency
        (both named), gaps in the last ``input_length`` rows, non-numeric or
        missing cells (as ``load_csv``); with ``future_columns``: not exactly
        ``horizon`` future rows, empty future cells, future timestamps that do
        not continue the series.

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
    header = _read_csv(path, encoding, nrows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"columns: {path!r} is missing the column(s) {missing} the forecaster "
                         f"reads; expected {columns}, the file has {list(header)}")
    future_columns = [future_columns] if isinstance(future_columns, str) \
        else list(future_columns)
    frame = future = None
    if future_columns:
        frame, future = _split_future_rows(path, columns, future_columns, horizon,
                                           date_column, encoding)
    values, names, _, timestamps, report = _read_series(
        path, date_column, columns, None, fill, encoding, coerce, frame=frame)
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
    steps = future_timestamps(tail, horizon, frequency)
    future_values = None
    if future is not None:
        dates, future_values = future
        if not pd.DatetimeIndex(dates).equals(steps):
            bad = int(np.flatnonzero(pd.DatetimeIndex(dates) != steps)[0])
            raise ValueError(f"future_columns: expected the {horizon} future rows of {path!r} "
                             f"at the forecast steps {steps[0]} .. {steps[-1]} (every "
                             f"{frequency} after the last row with data), got {dates[bad]} "
                             f"where {steps[bad]} was expected")
    return History(values=values[-input_length:], columns=names, timestamps=tail,
                   future_timestamps=steps, frequency=frequency, report=report,
                   future_values=future_values, future_columns=tuple(future_columns))


def _split_future_rows(path, columns, future_columns, horizon, date_column, encoding):
    """The rows of ``path`` before its trailing future rows (a DataFrame for
    ``_read_series``), and (timestamps, values ``[horizon, k]``) of those rows.

    A future row is one whose columns other than ``future_columns`` are all
    empty (their values are what is forecast); the file must end with exactly
    ``horizon`` of them.
    """
    unknown = [c for c in columns if c not in future_columns]
    missing = [c for c in future_columns if c not in columns]
    if missing:
        raise ValueError(f"future_columns: expected names among columns {list(columns)}, got "
                         f"{missing}")
    df = _read_csv(path, encoding)
    date_name = _resolve_date_column(df, date_column)
    if date_name is None:
        raise ValueError(f"date_column: expected a date column in {path!r} (named date, "
                         f"datetime, timestamp or time, or given by --date_column) to "
                         f"continue its timestamps, got none in {list(df.columns)}")
    order = np.argsort(_parse_dates(df[date_name], date_name).to_numpy(), kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    empty = df[unknown].isna().all(axis=1).to_numpy() if unknown else np.zeros(len(df), bool)
    trailing = len(df) - (int(np.flatnonzero(~empty)[-1]) + 1 if (~empty).any() else 0)
    shown = ", ".join(future_columns)
    if trailing != horizon:
        raise ValueError(
            f"future_columns: the forecast needs the known-in-advance column(s) {shown} at "
            f"the {horizon} forecast steps: expected {path!r} to end with {horizon} future "
            f"rows (the next timestamps, {shown} filled, {unknown} left empty), got "
            f"{trailing} such rows")
    rows = df.iloc[len(df) - horizon:]
    values = rows[list(future_columns)].apply(pd.to_numeric, errors="coerce").to_numpy(
        np.float64)
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        raise ValueError(f"future_columns: expected numbers in every future row of "
                         f"{future_columns}, got {rows[future_columns[col]].iloc[row]!r} in "
                         f"column {future_columns[col]!r} at {rows[date_name].iloc[row]} "
                         f"({len(bad)} bad cell(s))")
    dates = pd.DatetimeIndex(_parse_dates(rows[date_name], date_name).to_numpy())
    return df.iloc[:len(df) - horizon], (dates, values)

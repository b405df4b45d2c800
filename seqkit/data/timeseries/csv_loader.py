"""Reading a CSV time series: ``load_csv`` and what it found (``LoadReport``, ``Gap``)."""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from seqkit.data import reading
from seqkit.data.timeseries.splits import DEFAULT_RATIOS, SeriesSplit, chronological_split

# The package's name, as before the split into modules: log filters keep working.
_LOG = logging.getLogger("seqkit.data.timeseries")

FILL_MODES = ("error", "ffill", "interpolate")

# Column names accepted as the date column when ``date_column=None``.
_DATE_NAMES = ("date", "datetime", "timestamp", "time")

# How many rows a message or a report line lists before it says "and N more".
_SHOW = 10


def _preview(items: Sequence, n: int = _SHOW) -> str:
    shown = ", ".join(str(i) for i in items[:n])
    more = len(items) - n
    return shown + (f", ... and {more} more" if more > 0 else "")


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
        nan_rows: for each selected column that had NaNs (empty cells), their rows.
        fill: how missing values were handled ("error", "ffill" or "interpolate").
        inf_rows: for each selected column that had inf or -inf, their rows.
            Non-finite values are missing values like NaNs: they go through ``fill``.
        coerced: for each selected column, ``(row, cell text)`` of the cells that
            were not numbers and became NaN because of ``coerce=True``.
        unused_columns: columns left out because they are not numeric (with
            default targets), e.g. a text column.

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
    inf_rows: Mapping[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    coerced: Mapping[str, tuple[tuple[int, str], ...]] = dataclasses.field(default_factory=dict)
    unused_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there was nothing to report (no duplicates, gaps, NaNs, infs or
        coerced cells)."""
        return not (self.duplicates or self.gaps or self.nan_rows or self.inf_rows
                    or self.coerced)

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
        for column, rows in self.inf_rows.items():
            out.append(f"column {column!r}: {len(rows)} inf/-inf value(s) at rows "
                       f"{_preview(rows)} (fill={self.fill!r})")
        for column, cells in self.coerced.items():
            out.append(f"column {column!r}: {len(cells)} non-numeric cell(s) coerced to NaN: "
                       + _preview([f"row {r} {v!r}" for r, v in cells])
                       + f" (fill={self.fill!r})")
        if self.unused_columns:
            out.append(f"columns not used (not numeric): {list(self.unused_columns)}")
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
    """``date_column``, or with None the first column named like a date (``_DATE_NAMES``),
    else the first text column whose every value parses as a date (``day``, ``week``,
    Prophet's ``ds``): a user's date column is rarely named "date", and read as an
    unused text column it would silently drop the timestamps."""
    if date_column is None:
        for name in df.columns:
            if str(name).strip().lower() in _DATE_NAMES:
                return name
        for name in df.columns:
            if _looks_like_dates(df[name]):
                return name
        return None
    if date_column not in df.columns:
        raise ValueError(f"date_column: expected one of the file's columns {list(df.columns)}, "
                         f"got {date_column!r}")
    return date_column


def _looks_like_dates(column: pd.Series) -> bool:
    """True for a text column whose non-empty values all parse as dates (numbers do not
    count: a column of years or counts is data, not timestamps)."""
    if _is_numeric(column) or not (pd.api.types.is_string_dtype(column.dtype)
                                   or column.dtype == object):
        return False
    values = column.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty or values.str.fullmatch(r"[-+]?\d+(\.\d*)?").any():
        return False
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' "could not infer format" on text
        try:
            parsed = pd.to_datetime(values, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return False
    return bool(parsed.notna().all())


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


def _non_numeric_cells(series: pd.Series) -> tuple[np.ndarray, bool]:
    """(file rows of the cells that are not numbers, whether the column is mostly numeric).

    A cell is a number if ``pd.to_numeric`` parses it; empty cells are NaNs, not
    bad cells. "Mostly numeric": more than half of the non-empty cells are
    numbers, i.e. a numeric column with some bad cells rather than a text column.
    A boolean column is not numeric (as in ``_is_numeric``).
    """
    present = series.notna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.flatnonzero(present), False
    parsed = pd.to_numeric(series, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & present)
    return bad, 2 * (int(present.sum()) - bad.size) > int(present.sum())


def _bad_cells_text(series: pd.Series, rows: np.ndarray) -> str:
    return _preview([f"row {int(r)} (file line {int(r) + 2}) {series.iloc[r]!r}" for r in rows])


def _check_columns(df: pd.DataFrame, names: Sequence[str], argument: str,
                   available: Sequence[str], numeric: Sequence[str],
                   coerce: bool = False) -> None:
    for name in names:
        if name not in df.columns or name not in available:
            raise ValueError(f"{argument}: column {name!r} is not in the file; expected one of "
                             f"the available columns {list(available)}")
        if name not in numeric:
            rows, mostly_numeric = _non_numeric_cells(df[name])
            if mostly_numeric and (coerce or not rows.size):
                continue  # load_csv converts it (bad cells, if any, become NaN)
            fix = ("; pass coerce=True (flag --coerce) to read them as missing values"
                   if mostly_numeric else "")
            raise ValueError(f"{argument}: expected a numeric column, got {name!r} of dtype "
                             f"{df[name].dtype} with {rows.size} non-numeric cell(s) (0-based "
                             f"data rows): {_bad_cells_text(df[name], rows)}{fix}; numeric "
                             f"columns: {list(numeric)}; available columns: {list(available)}")


def _read_csv(path: str, encoding: str, **options) -> pd.DataFrame:
    """``pd.read_csv`` with clear errors for a binary file or a wrong ``encoding``;
    a semicolon-, tab- or pipe-separated file is read as such
    (``reading.csv_format``, logged)."""
    reading.check_encoding(encoding)
    reading.check_text_file(path, encoding, "path")
    try:
        dialect = reading.csv_format(path, encoding)
        if dialect and options.get("nrows") != 0:  # a header-only read stays quiet
            _LOG.warning("%s: no comma in the header; reading it with separator %r and "
                         "decimal mark %r", path, dialect["sep"], dialect.get("decimal", "."))
        return pd.read_csv(path, encoding=encoding, **dialect, **options)
    except UnicodeDecodeError:
        raise reading.decoding_error(path, encoding, "path") from None


def load_csv(path: str | os.PathLike, date_column: str | None = None,
             targets: str | Sequence[str] | None = None,
             features: str | Sequence[str] | None = None, fill: str = "error",
             ratios: Sequence[float] = DEFAULT_RATIOS, encoding: str = "utf-8",
             coerce: bool = False) -> "SeriesSplit":
    """Read a CSV time series into a ``SeriesSplit`` (chronological 70/10/20).

    Args:
        path: CSV file with a header row.
        date_column: the column of timestamps. None picks the first column named
            date/datetime/timestamp/time (any case), else the first text column
            whose every value parses as a date; a file without one keeps its row
            order and gets no gap/duplicate checks.
            The dates must all parse (else ValueError naming the column and a bad
            value); rows are then sorted by date (stable).
        targets: the columns to forecast. Default: every numeric column except
            the date column and the ``features``. A column that is mostly
            numeric (more than half of its non-empty cells are numbers) but has
            cells that are not (``abc``, ``1,5``) is a ValueError naming the
            column, the rows and the values, never silently left out; a column
            with no majority of numbers (text) is left out and listed in
            ``report.unused_columns``.
        features: extra input columns that are not forecast (e.g. calendar
            covariates). Default: none.
        fill: what to do with missing values (NaN, inf, -inf, and cells coerced
            by ``coerce``) in the selected columns, after sorting: "error" raises
            a ValueError listing the first rows; "ffill" carries the last value
            forward (a missing value in a column's first row cannot be filled
            and raises); "interpolate" interpolates linearly in row order and
            copies the nearest value into leading/trailing gaps.
        ratios: (train, val, test) fractions for ``chronological_split``.
        encoding: the file's text encoding. A file that does not decode is a
            ValueError naming ``encoding``, the byte offset and the fix; a
            binary file is refused as such.
        coerce: read the non-numeric cells of mostly numeric columns as missing
            values (then handled by ``fill``, and listed in ``report.coerced``)
            instead of raising.

    Returns:
        A ``SeriesSplit`` whose columns are ``targets + features`` in that
        order, with ``.report`` (a ``LoadReport``) listing duplicated
        timestamps, gaps in the regular frequency and NaN rows.

    Example:
        >>> data = load_csv("ETTh1.csv", targets=["OT"])      # doctest: +SKIP
        >>> data.report.log()                                  # doctest: +SKIP
    """
    values, columns, n_targets, timestamps, report = _read_series(
        path, date_column, targets, features, fill, encoding, coerce)
    return SeriesSplit(values=values, columns=columns, target_indices=tuple(range(n_targets)),
                       borders=chronological_split(len(values), ratios),
                       timestamps=timestamps, report=report)


def _read_series(path, date_column, targets, features, fill, encoding, coerce, frame=None):
    """``load_csv`` without the split: (values, columns, number of targets,
    timestamps or None, LoadReport). ``frame``: the file's rows already read
    (a part of ``path``, e.g. without trailing future rows)."""
    if fill not in FILL_MODES:
        raise ValueError(f"fill: expected one of {FILL_MODES}, got {fill!r}")
    if not isinstance(coerce, (bool, np.bool_)):
        raise ValueError(f"coerce: expected True or False, got {coerce!r}")
    path = os.fspath(path)
    df = _read_csv(path, encoding) if frame is None else frame.reset_index(drop=True)
    if len(df) == 0:
        raise ValueError(f"path: expected a CSV file with data rows, got {path!r} with none")

    date_name = _resolve_date_column(df, date_column)
    available = [c for c in df.columns if c != date_name]
    numeric = [c for c in available if _is_numeric(df[c])]

    features = [features] if isinstance(features, str) else list(features or [])
    _check_columns(df, features, "features", available, numeric, coerce)
    unused = ()
    if targets is None:
        # A mostly numeric column with a few bad cells is data with typos, not a
        # text column: refuse it (or coerce it) rather than drop it silently.
        candidates = [c for c in available if c not in features]
        damaged = {}
        for name in candidates:
            if name not in numeric:
                rows, mostly_numeric = _non_numeric_cells(df[name])
                if mostly_numeric:
                    damaged[name] = rows
        bad = {name: rows for name, rows in damaged.items() if rows.size}
        if bad and not coerce:
            listed = "; ".join(f"column {name!r}: {rows.size} cell(s) at "
                               f"{_bad_cells_text(df[name], rows)}"
                               for name, rows in bad.items())
            raise ValueError(
                f"targets: columns {list(bad)} are numeric except for cells that are not "
                f"numbers (0-based data rows in file order): {listed}. Fix the file, pass "
                f"coerce=True (flag --coerce) to read those cells as missing values (then "
                f"handled by fill), or choose the targets explicitly")
        targets = [c for c in candidates if c in numeric or c in damaged]
        unused = tuple(c for c in candidates if c not in targets)
        if not targets:
            raise ValueError(f"targets: expected at least one numeric column besides the date "
                             f"and the features, got none; available columns: {available}")
    else:
        targets = [targets] if isinstance(targets, str) else list(targets)
        if not targets:
            raise ValueError("targets: expected at least one column name, got an empty list")
        _check_columns(df, targets, "targets", available, numeric, coerce)
    overlap = sorted(set(targets) & set(features))
    if overlap:
        raise ValueError(f"targets and features: expected disjoint column lists, got "
                         f"{overlap} in both")
    for argument, names in (("targets", targets), ("features", features)):
        if len(set(names)) != len(names):
            raise ValueError(f"{argument}: expected distinct column names, got {names}")
    columns = targets + features

    # Missing values are reported in file order, before sorting, so that rows
    # can be found: empty cells (NaN), inf/-inf, and cells coerced to NaN.
    nan_mask = df[columns].isna().to_numpy()
    nan_rows = {c: tuple(int(r) for r in np.flatnonzero(nan_mask[:, j]))
                for j, c in enumerate(columns) if nan_mask[:, j].any()}
    coerced = {}
    for name in columns:
        if name not in numeric:
            # Only mostly numeric columns get here: numbers stored as text, or
            # (with coerce=True) numbers with bad cells, which become NaN.
            rows, _ = _non_numeric_cells(df[name])
            if rows.size:
                coerced[name] = tuple((int(r), str(df[name].iloc[r])) for r in rows)
            df[name] = pd.to_numeric(df[name], errors="coerce")
    inf_mask = np.isinf(df[columns].to_numpy(np.float64))
    inf_rows = {c: tuple(int(r) for r in np.flatnonzero(inf_mask[:, j]))
                for j, c in enumerate(columns) if inf_mask[:, j].any()}
    # What each missing cell was, by (file row, column), for fill's messages.
    missing: dict[tuple[int, str], str] = {}
    for name, rows in nan_rows.items():
        missing.update({(r, name): "NaN" for r in rows})
    for name, rows in inf_rows.items():
        missing.update({(r, name): repr(float(df[name].iloc[r])) for r in rows})
    for name, cells in coerced.items():
        missing.update({(r, name): repr(v) for r, v in cells})

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
    frame = frame.mask(np.isinf(frame.to_numpy()))  # inf and -inf are missing values
    if missing:
        frame = _fill(frame, fill, missing, order if date_name is not None else None)

    report = LoadReport(path=path, n_rows=len(df), date_column=date_name, frequency=frequency,
                        was_sorted=was_sorted, duplicates=duplicates, gaps=gaps,
                        nan_rows=nan_rows, fill=fill, inf_rows=inf_rows, coerced=coerced,
                        unused_columns=unused)
    return frame.to_numpy(), tuple(columns), len(targets), timestamps, report


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


def _fill(frame: pd.DataFrame, fill: str, missing: Mapping[tuple[int, str], str],
          order: np.ndarray | None) -> pd.DataFrame:
    """Fill the NaNs of ``frame`` (sorted rows); ``missing`` maps (file row, column)
    to what the cell held ("NaN", "inf", or a coerced cell's text)."""
    if fill == "error":
        by_row: dict[int, list[str]] = {}
        for column in frame.columns:  # columns in selection order within a row
            for (r, name), value in sorted(missing.items()):
                if name == column:
                    by_row.setdefault(r, []).append(
                        column if value == "NaN" else f"{column}={value}")
        listed = [f"row {r} ({', '.join(by_row[r])})" for r in sorted(by_row)]
        raise ValueError(
            f"fill: 'error' expects no NaN or inf in the selected columns, got {len(listed)} "
            f"rows with NaN, inf or coerced cells (0-based data rows in file order): "
            f"{_preview(listed)}; pass fill='ffill' or fill='interpolate' (flag --fill) to "
            f"fill them")
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
                f"row(s) in time order are missing (NaN or inf) with no earlier value (file rows "
                f"{_preview([int(r) for r in file_rows])}); use fill='interpolate' or trim them")
        return filled
    filled = frame.interpolate(method="linear", limit_direction="both")
    if filled.isna().to_numpy().any():
        column = frame.columns[int(np.flatnonzero(filled.isna().to_numpy().any(axis=0))[0])]
        raise ValueError(f"fill: 'interpolate' expects at least one value in every column, got "
                         f"column {column!r} with only missing values (NaN or inf)")
    return filled

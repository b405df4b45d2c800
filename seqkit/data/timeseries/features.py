"""Calendar covariates: the phase of the day and of the week as sin/cos pairs."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset


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


# Each calendar feature is the phase of one cycle. Encoded as (sin, cos) of
# 2 pi phase, as ``calendar_features`` does, rather than a scaled phase: the
# pair is continuous across the wrap (23:00 is next to 00:00, Dec next to Jan)
# and any first-harmonic cycle of that period is a linear function of it.
CALENDAR_FEATURES = ("minute", "hour", "dow", "dom", "doy", "month")

# The shortest length of each cycle: a series whose step is at least this long
# sees (almost) the same phase at every row, so the feature carries nothing.
_CYCLE = {"minute": pd.Timedelta(hours=1), "hour": pd.Timedelta(days=1),
          "dow": pd.Timedelta(days=7), "dom": pd.Timedelta(days=28),
          "doy": pd.Timedelta(days=365), "month": pd.Timedelta(days=365)}


def parse_calendar(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--calendar`` text ("hour,dow") or a list of names -> validated names.

    Example:
        >>> parse_calendar("hour, dow")
        ('hour', 'dow')
    """
    if names is None:
        return ()
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [str(n).strip().lower() for n in items if str(n).strip()]
    for name in items:
        if name not in CALENDAR_FEATURES:
            raise ValueError(f"--calendar: unknown feature {name!r}; expected names from "
                             f"{', '.join(CALENDAR_FEATURES)}")
    if len(set(items)) != len(items):
        raise ValueError(f"--calendar: expected distinct names, got {','.join(items)}")
    return tuple(items)


def infer_frequency(timestamps: pd.DatetimeIndex) -> str:
    """The series' step as a pandas offset alias ("h", "15min", "D", "MS", ...).

    ``pd.infer_freq`` when the index is regular (it knows calendar steps such
    as month starts); otherwise (gaps, duplicates) the most common step
    between consecutive distinct timestamps, as ``LoadReport.frequency``.

    Example:
        >>> infer_frequency(pd.date_range("2020-01-01", periods=5, freq="15min"))
        '15min'
    """
    unique = pd.DatetimeIndex(timestamps).unique().sort_values()
    if len(unique) < 2:
        raise ValueError(f"timestamps: expected at least 2 distinct timestamps to infer the "
                         f"frequency, got {len(unique)}")
    freq = pd.infer_freq(unique) if len(unique) >= 3 else None
    if freq is None:
        steps = pd.Series(unique[1:] - unique[:-1])
        step = pd.Timedelta(steps.mode().iloc[0])
        if pd.Timedelta(days=28) <= step <= pd.Timedelta(days=31):
            if unique.is_month_start.all():
                return "MS"
            if unique.is_month_end.all():
                return to_offset("ME").freqstr
        if step % pd.Timedelta(days=1) == pd.Timedelta(0):
            days = step // pd.Timedelta(days=1)
            return "D" if days == 1 else f"{days}D"
        return to_offset(step).freqstr
    return to_offset(freq).freqstr


def same_frequency(a: str, b: str) -> bool:
    """Whether two offset aliases are the same step ("D" and "24h" are)."""
    if _fixed(a) and _fixed(b):
        return to_offset(a).nanos == to_offset(b).nanos
    return to_offset(a).freqstr == to_offset(b).freqstr


def future_timestamps(last_timestamps: pd.DatetimeIndex, horizon: int,
                      frequency: str | None = None) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after the last of ``last_timestamps``,
    continuing ``frequency`` (default: inferred from ``last_timestamps``).

    Example:
        >>> t = pd.date_range("2020-01-01", periods=3, freq="D")
        >>> list(future_timestamps(t, 2).strftime("%m-%d"))
        ['01-04', '01-05']
    """
    if isinstance(horizon, (bool, np.bool_)) or not isinstance(horizon, (int, np.integer)) \
            or horizon < 1:
        raise ValueError(f"horizon: expected a positive integer, got {horizon!r}")
    last_timestamps = pd.DatetimeIndex(last_timestamps)
    if len(last_timestamps) == 0:
        raise ValueError("last_timestamps: expected at least one timestamp, got none")
    offset = to_offset(frequency or infer_frequency(last_timestamps))
    return pd.date_range(last_timestamps[-1] + offset, periods=int(horizon), freq=offset)


def calendar(timestamps: pd.DatetimeIndex, names: str | Sequence[str],
             frequency: str | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Named calendar features of any timestamps (history or forecast steps).

    For each name a phase p in [0, 1) and the columns ``<name>_sin, <name>_cos``
    = sin(2 pi p), cos(2 pi p), with d = hour of day (fractional: 13:30 -> 13.5)::

        minute: (minute + second / 60) / 60          (cycle: 1 hour)
        hour:   d / 24                               (1 day)
        dow:    (dayofweek + d / 24) / 7, Monday 0   (1 week)
        dom:    (day - 1 + d / 24) / days_in_month   (1 month)
        doy:    (dayofyear - 1 + d / 24) / days_in_year (1 year)
        month:  (month - 1) / 12                     (1 year, the month label)

    The phases use the time within the period (not only its integer part) so
    that the feature is exact at any resolution; ``hour, dow`` equal
    ``calendar_features``' pairs.

    Args:
        timestamps: any DatetimeIndex (e.g. ``future_timestamps(...)``).
        names: ``--calendar`` text or a list of names from ``CALENDAR_FEATURES``.
        frequency: the series' step (offset alias); None infers it from
            ``timestamps`` (needs 2 of them). A feature whose cycle is not
            longer than the step (hour on a daily series) is refused: it would
            be constant.

    Returns:
        ``[time, 2 * len(names)]`` float64 and the column names.

    Example:
        >>> t = pd.DatetimeIndex(["2024-01-01 06:00"])
        >>> values, cols = calendar(t, "hour", frequency="h")
        >>> cols, values.round(6).tolist()
        (('hour_sin', 'hour_cos'), [[1.0, 0.0]])
    """
    names = parse_calendar(names)
    timestamps = pd.DatetimeIndex(timestamps)
    if names:
        frequency = frequency or infer_frequency(timestamps)
        step = pd.Timedelta(to_offset(frequency).nanos if _fixed(frequency)
                            else _approx_nanos(frequency))
        for name in names:
            if step >= _CYCLE[name]:
                raise ValueError(
                    f"--calendar: {name!r} is finer than the series' frequency "
                    f"{frequency} (its cycle is {_CYCLE[name]}), "
                    f"so it would be constant; use features with longer cycles, e.g. "
                    f"{[n for n in CALENDAR_FEATURES if _CYCLE[n] > step]}")
    d = (timestamps.hour + timestamps.minute / 60 + timestamps.second / 3600).to_numpy(np.float64)
    days_in_year = np.where(timestamps.is_leap_year, 366.0, 365.0)
    phase = {
        "minute": lambda: (timestamps.minute + timestamps.second / 60).to_numpy(np.float64) / 60,
        "hour": lambda: d / 24,
        "dow": lambda: (timestamps.dayofweek.to_numpy(np.float64) + d / 24) / 7,
        "dom": lambda: ((timestamps.day.to_numpy(np.float64) - 1 + d / 24)
                        / timestamps.days_in_month.to_numpy(np.float64)),
        "doy": lambda: (timestamps.dayofyear.to_numpy(np.float64) - 1 + d / 24) / days_in_year,
        "month": lambda: (timestamps.month.to_numpy(np.float64) - 1) / 12,
    }
    columns, out = [], []
    for name in names:
        p = phase[name]()
        out += [np.sin(2 * np.pi * p), np.cos(2 * np.pi * p)]
        columns += [f"{name}_sin", f"{name}_cos"]
    values = np.stack(out, axis=1) if out else np.zeros((len(timestamps), 0))
    return values, tuple(columns)


def _fixed(frequency: str) -> bool:
    try:
        to_offset(frequency).nanos
        return True
    except ValueError:
        return False


def _approx_nanos(frequency: str) -> int:
    """Nanoseconds of a calendar step (month, quarter, year...): its first step from 2000."""
    offset = to_offset(frequency)
    start = pd.Timestamp("2000-01-01")
    return (offset.rollforward(start) + offset - offset.rollforward(start)).value

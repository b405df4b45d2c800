"""Calendar covariates: the phase of the day and of the week as sin/cos pairs."""
from __future__ import annotations

import numpy as np
import pandas as pd


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

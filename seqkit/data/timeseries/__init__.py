"""Time-series data layer for forecasting experiments (numpy + pandas only).

This package turns a CSV file (or the built-in synthetic series) into the exact
arrays that the forecasting benchmarks are defined on, so that every model and
baseline in seqkit is scored on the same windows. One module per job; every
name is re-exported here, so ``from seqkit.data import timeseries as ts`` and
``ts.load_csv``, ``ts.synthetic``, ... are all a caller needs:

* ``csv_loader``: ``load_csv`` parses and sorts dates, reports duplicated
  timestamps, gaps, NaNs and infinities (``LoadReport``), selects target and
  feature columns, refuses non-numeric cells unless ``coerce=True``, fills or
  refuses missing values; ``encoding`` errors name the byte offset and the fix.
* ``splits``: ``SeriesSplit`` (the value array ``[time, columns]``, the column
  names, which columns are targets, the train/val/test ``Borders``) and
  ``chronological_split`` (70/10/20 by default).
* ``scaling``: ``StandardScaler``, per-column mean/std fitted on the training
  rows only.
* ``windows``: ``window_starts`` / ``make_windows`` / ``Windows``: every window
  of a split, modes "M", "S" and "MS".
* ``ett``: ``ett(name, data_dir)`` for etth1/etth2/ettm1/ettm2 and ``etth1``,
  the fixed protocol of Zhou et al. 2021 / Zeng et al. 2023.
* ``splits`` also parses ``--split`` (``parse_split``, ``split_borders``,
  ``with_split``: fractions or date borders) and adds calendar columns
  (``with_calendar``).
* ``features``: ``calendar`` (named sin/cos calendar features of any
  timestamps), ``calendar_features`` (phase of the day and week),
  ``infer_frequency``, ``future_timestamps``.
* ``history``: ``load_history``, a new CSV validated for prediction.
* ``synthetic_series``: ``synthetic``, a seeded seasonal + AR(1) series whose
  best achievable forecast error is known in closed form
  (``SyntheticSeries.floor_mse``).

Windows follow Informer's ``Dataset_ETT_hour`` convention (a split owns the rows it
*forecasts*; a window's input may reach back into the previous split; every window
start is used): see ``windows.py``.

Example:
    >>> from seqkit.data import timeseries as ts
    >>> data = ts.synthetic(n_rows=2016)
    >>> test = data.windows("test", input_length=96, horizon=24)
    >>> test.inputs.shape[1:], test.targets.shape[1:]
    ((96, 7), (24, 3))
    >>> round(data.floor_mse(24).mean, 3)
    0.667
"""
from seqkit.data.timeseries.csv_loader import (  # noqa: F401
    _DATE_NAMES,
    _LOG,
    _SHOW,
    FILL_MODES,
    Gap,
    LoadReport,
    _check_columns,
    _fill,
    _frequency_and_gaps,
    _is_numeric,
    _parse_dates,
    _preview,
    _resolve_date_column,
    load_csv,
)
from seqkit.data.timeseries.ett import (  # noqa: F401
    ETT_BORDERS,
    ETT_COLUMNS,
    ETT_DATASETS,
    ETT_FILES,
    ETTH1_BORDERS,
    ETTH1_COLUMNS,
    ett,
    etth1,
)
from seqkit.data.timeseries.features import (  # noqa: F401
    CALENDAR_FEATURES,
    calendar,
    calendar_features,
    future_timestamps,
    infer_frequency,
    parse_calendar,
    same_frequency,
)
from seqkit.data.timeseries.history import History, load_history
from seqkit.data.timeseries.scaling import StandardScaler
from seqkit.data.timeseries.splits import (  # noqa: F401
    DEFAULT_RATIOS,
    SPLITS,
    Borders,
    SeriesSplit,
    SplitSpec,
    chronological_split,
    parse_split,
    split_borders,
    with_calendar,
    with_split,
)
from seqkit.data.timeseries.synthetic_series import (  # noqa: F401
    Floor,
    QuantileFloor,
    SyntheticSeries,
    _error_covariance_kernel,
    floor_mse,
    synthetic,
)
from seqkit.data.timeseries.windows import (  # noqa: F401
    MODES,
    Windows,
    _positive_int,
    make_windows,
    window_starts,
)

__all__ = [
    "Borders",
    "CALENDAR_FEATURES",
    "ETT_BORDERS",
    "ETT_DATASETS",
    "Floor",
    "Gap",
    "History",
    "LoadReport",
    "QuantileFloor",
    "SeriesSplit",
    "SplitSpec",
    "StandardScaler",
    "SyntheticSeries",
    "Windows",
    "calendar",
    "calendar_features",
    "chronological_split",
    "ett",
    "etth1",
    "floor_mse",
    "future_timestamps",
    "infer_frequency",
    "load_csv",
    "load_history",
    "make_windows",
    "parse_calendar",
    "parse_split",
    "same_frequency",
    "split_borders",
    "synthetic",
    "window_starts",
    "with_calendar",
    "with_split",
]

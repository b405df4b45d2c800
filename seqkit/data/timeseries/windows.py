"""Cutting a series into (input, target) windows: ``Windows``, ``window_starts``,
``make_windows``, in the modes "M", "S" and "MS" of the ETT literature.

Window convention (the one of Informer's ``Dataset_ETT_hour``): a split owns the
rows ``[start, end)`` that are *forecast*; a window's input may reach back up to
``input_length`` rows before ``start`` (into the previous split), so that the
first forecast step of the first window of a split is row ``start`` (except for
a split that starts at row 0, whose first forecast row is ``input_length``).
Every window start is used: nothing is dropped to fill a last batch.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from seqkit.data.timeseries.scaling import StandardScaler

MODES = ("M", "S", "MS")


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
        future: ``[n, horizon, len(future_columns)]`` the known-in-advance
            columns at each window's forecast rows ``origins[i] + [0, horizon)``
            (scaled like the inputs), or None when there are no future columns.
        future_columns: column indices of ``future`` (() when None).
    """

    inputs: np.ndarray
    targets: np.ndarray
    starts: np.ndarray
    input_length: int
    horizon: int
    input_columns: tuple[int, ...]
    target_columns: tuple[int, ...]
    scaler: StandardScaler | None = None
    future: np.ndarray | None = None
    future_columns: tuple[int, ...] = ()

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
                 dtype=np.float32, future_columns: Sequence[int] | None = None) -> Windows:
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
        future_columns: columns known in advance (calendar features, planned
            values): ``Windows.future[i]`` holds their (scaled) values at the
            forecast rows of window i. They cannot be forecast targets.

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

    future_columns = tuple(int(i) for i in future_columns or ())
    bad = [i for i in future_columns if not 0 <= i < n_columns]
    if bad:
        raise ValueError(f"future_columns: expected column indices in [0, {n_columns}), got "
                         f"{future_columns}")
    clash = sorted(set(future_columns) & set(target_columns))
    if clash:
        raise ValueError(f"future_columns: expected columns that are not forecast targets (a "
                         f"target is not known in advance), got target column(s) {clash}")
    if len(set(future_columns)) != len(future_columns):
        raise ValueError(f"future_columns: expected distinct columns, got {future_columns}")

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
    future = (np.ascontiguousarray(view[:, input_length:][..., list(future_columns)], dtype=dtype)
              if future_columns else None)
    return Windows(inputs=inputs, targets=targets, starts=starts, input_length=input_length,
                   horizon=horizon, input_columns=input_columns, target_columns=target_columns,
                   scaler=scaler, future=future, future_columns=future_columns)

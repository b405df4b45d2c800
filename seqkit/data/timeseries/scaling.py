"""Per-column standardization fitted on the training rows (``StandardScaler``)."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


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

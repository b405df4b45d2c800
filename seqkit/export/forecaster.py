"""Export a forecaster as a SavedModel that takes raw windows and returns raw forecasts.

``export_forecaster(model, scaler, path, input_length, horizon, input_columns,
target_columns)`` writes a TensorFlow SavedModel (atomically, through
``seqkit.export.atomic_directory``) that needs neither seqkit nor Keras to run:

* signature ``serving_default`` (also the function ``forecast``): input
  ``window`` float32 ``[batch, input_length, len(input_columns)]`` in the data's
  original units; output ``forecast`` float32 ``[batch, horizon,
  len(target_columns)]`` in original units. The standardization is inside the
  graph::

      z        = (window - mean_in) / scale_in
      forecast = model(z) * scale_out + mean_out

  with ``mean``/``scale`` the training-row statistics of ``scaler`` for the
  input and target columns.
* known future inputs (``future_columns``, e.g. calendar features or planned
  values): the signature takes a second input ``future`` float32 ``[batch,
  horizon, len(future_columns)]``, raw units, standardized inside the graph
  like the window, and the model is called on ``(z, future_z)``. Without
  ``future_columns`` the signature is exactly the one above.
* quantiles (``quantiles``: levels q_1 < ... < q_Q with 0.5): the model
  returns ``[batch, horizon, targets, Q]``; the signature then returns
  ``quantiles`` float32 ``[batch, horizon, len(target_columns), Q]`` (original
  units) and ``forecast``, the 0.5 level ``[batch, horizon, targets]``; the
  metadata lists ``quantiles``.
* signature ``metadata`` (no inputs): ``input_columns`` and ``target_columns``
  (string vectors), ``input_length`` and ``horizon`` (int32 scalars), and
  ``quantiles`` (float32 vector) when there are quantiles.
* a baseline (``BaselineForecaster``: repeat-last, seasonal-naive, linear)
  exports through the same function with the same signature.
* the same facts as attributes of the loaded object (``input_columns``,
  ``target_columns``, ``input_length``, ``horizon``: variables) and as
  ``assets/metadata.json``.

A window of another shape is refused with an error naming the expected
``TensorSpec(shape=(None, L, F), dtype=tf.float32, name='window')``: the
``forecast`` function checks dtype and shape when it binds its arguments; a
``signatures["serving_default"]`` call is dtype-checked by TensorFlow ("expected
to be a float tensor") and shape-checked by an assertion in the graph.

Example:
    >>> export_forecaster(model, data.scaler(), "/tmp/fc", 96, 96,          # doctest: +SKIP
    ...                   input_columns=data.columns, target_columns=data.columns)
    >>> served = tf.saved_model.load("/tmp/fc")                             # doctest: +SKIP
    >>> served.signatures["serving_default"](window=raw)["forecast"]        # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Sequence

import numpy as np
import tensorflow as tf

from seqkit.export import atomic_directory

METADATA_FILE = "metadata.json"


def _column_positions(scaler, names: Sequence[str], argument: str,
                      input_columns: Sequence[str]) -> list[int]:
    """Positions of ``names`` among the scaler's columns."""
    scaler_columns = getattr(scaler, "columns", None)
    if scaler_columns is None:
        # A scaler without names is taken to be fitted on the input columns, in order.
        scaler_columns = tuple(input_columns)
        if len(np.asarray(scaler.mean).reshape(-1)) != len(scaler_columns):
            raise ValueError(
                f"scaler: expected statistics for the {len(scaler_columns)} input_columns "
                f"{list(scaler_columns)} (a scaler without column names), got "
                f"{len(np.asarray(scaler.mean).reshape(-1))}")
    positions = []
    for name in names:
        if name not in scaler_columns:
            raise ValueError(f"{argument}: column {name!r} has no statistics in the scaler; "
                             f"expected names among {list(scaler_columns)}")
        positions.append(list(scaler_columns).index(name))
    return positions


class ForecasterModule(tf.Module):
    """The exported object: the model, the scaling constants and the metadata."""

    def __init__(self, model, mean_in, scale_in, mean_out, scale_out, input_length, horizon,
                 input_columns, target_columns, metadata_path, future_mean=None,
                 future_scale=None, future_columns=(), quantiles=()):
        super().__init__(name="forecaster")
        self._median = list(quantiles).index(0.5) if quantiles else None
        if quantiles:
            self.quantiles = tf.Variable([float(q) for q in quantiles], dtype=tf.float32,
                                         trainable=False, name="quantiles")
        self.model = model
        self._mean_in = tf.constant(mean_in, tf.float32)
        self._scale_in = tf.constant(scale_in, tf.float32)
        self._mean_out = tf.constant(mean_out, tf.float32)
        self._scale_out = tf.constant(scale_out, tf.float32)
        # Variables, so that they are saved and readable on the loaded object.
        self.input_length = tf.Variable(input_length, dtype=tf.int32, trainable=False,
                                        name="input_length")
        self.horizon = tf.Variable(horizon, dtype=tf.int32, trainable=False, name="horizon")
        self.input_columns = tf.Variable(list(input_columns), dtype=tf.string,
                                         trainable=False, name="input_columns")
        self.target_columns = tf.Variable(list(target_columns), dtype=tf.string,
                                          trainable=False, name="target_columns")
        self.metadata_file = tf.saved_model.Asset(metadata_path)
        self._length, self._width = int(input_length), len(input_columns)
        spec = tf.TensorSpec([None, input_length, len(input_columns)], tf.float32,
                             name="window")
        self._future_width, self._steps = len(future_columns), int(horizon)
        if future_columns:
            self._future_mean = tf.constant(future_mean, tf.float32)
            self._future_scale = tf.constant(future_scale, tf.float32)
            self.future_columns = tf.Variable(list(future_columns), dtype=tf.string,
                                              trainable=False, name="future_columns")
            future_spec = tf.TensorSpec([None, horizon, len(future_columns)], tf.float32,
                                        name="future")
            self.forecast = tf.function(self._forecast,
                                        input_signature=[spec, future_spec])
        else:
            self.forecast = tf.function(self._forecast, input_signature=[spec])
        self.metadata = tf.function(self._metadata, input_signature=[])

    def _standardized_future(self, future, window):
        expected = tf.constant([self._steps, self._future_width], tf.int32)
        check = tf.debugging.Assert(
            tf.logical_and(tf.reduce_all(tf.equal(tf.shape(future)[1:], expected)),
                           tf.equal(tf.shape(future)[0], tf.shape(window)[0])),
            [f"serving_default expects `future` float32 [batch, horizon, "
             f"future_columns={self._future_width}] (the known values at the forecast "
             f"steps, same batch as `window`), got shape", tf.shape(future)])
        with tf.control_dependencies([check]):
            future = tf.identity(future)
        return (future - self._future_mean) / self._future_scale

    def _forecast(self, window, future=None):
        # A signature call binds only the dtype; the shape is checked here,
        # before any arithmetic, so the error names the signature instead of
        # failing inside the model.
        expected = tf.constant([self._length, self._width], tf.int32)
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(tf.shape(window)[1:], expected)),
            [f"serving_default expects `window` float32 [batch, input_length={self._length}, "
             f"features={self._width}] (TensorSpec(shape=(None, {self._length}, {self._width}), "
             f"dtype=tf.float32) named window), got shape", tf.shape(window)])
        with tf.control_dependencies([check]):
            window = tf.identity(window)
        standardized = (window - self._mean_in) / self._scale_in
        if future is not None:
            standardized = (standardized, self._standardized_future(future, window))
        prediction = self.model(standardized, training=False)
        if self._median is None:
            return {"forecast": prediction * self._scale_out + self._mean_out}
        # [batch, H, T, Q]: every level is unscaled like the point forecast.
        levels = prediction * self._scale_out[:, None] + self._mean_out[:, None]
        return {"forecast": levels[..., self._median], "quantiles": levels}

    def _metadata(self):
        extra = ({"future_columns": self.future_columns.read_value()}
                 if self._future_width else {})
        if self._median is not None:
            extra["quantiles"] = self.quantiles.read_value()
        return {**extra, "input_columns": self.input_columns.read_value(),
                "target_columns": self.target_columns.read_value(),
                "input_length": self.input_length.read_value(),
                "horizon": self.horizon.read_value()}


BASELINES = ("repeat", "seasonal_naive", "linear")


class BaselineForecaster(tf.Module):
    """A baseline of ``seqkit.baselines`` as a TensorFlow callable, for ``export_forecaster``.

    Maps standardized windows ``x [batch, L, channels]`` to standardized
    forecasts ``[batch, H, len(targets)]`` with plain TensorFlow ops, so that
    its SavedModel has the model's signature and runs without seqkit:

    * ``repeat``:          ``yhat[h, k] = x[L-1, targets[k]]``
    * ``seasonal_naive``:  ``yhat[h, k] = x[L - season + (h mod season), targets[k]]``
    * ``linear``:          ``yhat[:, k] = x[:, targets[k]] @ weight + bias``
      (``weight [L, H]``, ``bias [H]`` of a fitted ``LinearForecaster``)

    With ``offsets [H, len(targets), Q]`` (``seqkit.metrics.residual_quantiles``
    of its validation residuals) it returns the quantile forecast
    ``yhat[..., None] + offsets`` ``[batch, H, len(targets), Q]`` instead.

    Example:
        >>> f = BaselineForecaster("repeat", input_length=3, horizon=2, targets=[0])
        >>> f(np.array([[[1.0], [2.0], [3.0]]], np.float32)).numpy()[0, :, 0]
        array([3., 3.], dtype=float32)
    """

    def __init__(self, kind: str, input_length: int, horizon: int, targets: Sequence[int],
                 season: int | None = None, weight=None, bias=None, offsets=None):
        super().__init__(name=f"baseline_{kind}")
        if kind not in BASELINES:
            raise ValueError(f"kind: expected one of {BASELINES}, got {kind!r}")
        self.kind, self.targets = kind, [int(t) for t in targets]
        self.input_length, self.horizon = int(input_length), int(horizon)
        if kind == "seasonal_naive":
            if season is None or not 1 <= int(season) <= self.input_length:
                raise ValueError(f"season: expected an integer in [1, input_length="
                                 f"{self.input_length}], got {season!r}")
            self._rows = tf.constant(self.input_length - int(season)
                                     + np.arange(self.horizon) % int(season), tf.int32)
        if kind == "linear":
            weight, bias = np.asarray(weight, np.float32), np.asarray(bias, np.float32)
            if weight.shape != (self.input_length, self.horizon) or bias.shape != (self.horizon,):
                raise ValueError(f"weight, bias: expected shapes [{self.input_length}, "
                                 f"{self.horizon}] and [{self.horizon}], got {weight.shape} "
                                 f"and {bias.shape}")
            self.weight = tf.Variable(weight, trainable=False, name="weight")
            self.bias = tf.Variable(bias, trainable=False, name="bias")
        self.offsets = None
        if offsets is not None:
            offsets = np.asarray(offsets, np.float32)
            if offsets.ndim != 3 or offsets.shape[:2] != (self.horizon, len(self.targets)):
                raise ValueError(f"offsets: expected shape [horizon={self.horizon}, "
                                 f"targets={len(self.targets)}, quantiles], got "
                                 f"{offsets.shape}")
            self.offsets = tf.Variable(offsets, trainable=False, name="offsets")

    def __call__(self, x, training=False):
        del training  # nothing is trained
        point = self._point(x)
        return point if self.offsets is None else point[..., None] + self.offsets

    def _point(self, x):
        if isinstance(x, (tuple, list)):
            x = x[0]  # (window, future): a baseline ignores the known future inputs
        targets = tf.gather(tf.convert_to_tensor(x, tf.float32), self.targets, axis=2)
        if self.kind == "repeat":
            return tf.repeat(targets[:, -1:, :], self.horizon, axis=1)
        if self.kind == "seasonal_naive":
            return tf.gather(targets, self._rows, axis=1)
        # [batch, L, K] x [L, H] -> [batch, H, K]
        return tf.einsum("blk,lh->bhk", targets, self.weight) + self.bias[None, :, None]


def export_forecaster(model, scaler, path, input_length: int, horizon: int,
                      input_columns: Sequence[str], target_columns: Sequence[str],
                      extra_metadata: dict | None = None,
                      future_columns: Sequence[str] = (), quantiles: Sequence[float] = ()
                      ) -> str:
    """Write ``model`` with its scaling as a SavedModel at ``path`` (atomically).

    Args:
        model: a Keras model (or any callable trackable) mapping standardized
            windows ``[batch, input_length, len(input_columns)]`` to
            standardized forecasts ``[batch, horizon, len(target_columns)]``.
        scaler: ``seqkit.data.timeseries.StandardScaler`` fitted on the
            training rows; its ``columns`` names locate the input and target
            columns (a scaler without names must cover ``input_columns`` in order).
        path: the SavedModel folder; an existing export there is replaced only
            once the new one is complete.
        input_length, horizon: L and H of the model.
        input_columns, target_columns: column names, in the model's channel order.
        extra_metadata: more JSON-able facts for ``assets/metadata.json``.
        future_columns: columns known in advance that the model takes at the
            forecast steps (``model((window, future))``); the signature then
            has a second input ``future [batch, horizon, len(future_columns)]``.
        quantiles: the levels of a quantile model (output ``[batch, horizon,
            targets, Q]``, the levels in order, 0.5 among them); the signature
            then returns ``forecast`` (the median) and ``quantiles``.

    Returns:
        ``path``.

    Raises:
        ValueError: inconsistent arguments, or a model whose output on a
            probe window is not ``[batch, horizon, len(target_columns)]``.
    """
    for name, value in (("input_length", input_length), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    input_columns, target_columns = [str(c) for c in input_columns], [str(c) for c in target_columns]
    if not input_columns or not target_columns:
        raise ValueError(f"input_columns, target_columns: expected non-empty lists of names, "
                         f"got {input_columns} and {target_columns}")
    mean, scale = np.asarray(scaler.mean, np.float64), np.asarray(scaler.scale, np.float64)
    inputs = _column_positions(scaler, input_columns, "input_columns", input_columns)
    targets = _column_positions(scaler, target_columns, "target_columns", input_columns)

    future_columns = [str(c) for c in future_columns]
    futures = (_column_positions(scaler, future_columns, "future_columns", input_columns)
               if future_columns else [])
    probe_window = np.zeros((1, input_length, len(input_columns)), np.float32)
    if future_columns:
        probe_window = (probe_window,
                        np.zeros((1, int(horizon), len(future_columns)), np.float32))
    probe = model(probe_window, training=False)
    quantiles = [float(q) for q in quantiles]
    if quantiles:
        from seqkit import metrics

        metrics.check_quantiles(quantiles)
    expected = (1, int(horizon), len(target_columns)) + ((len(quantiles),) if quantiles else ())
    if tuple(probe.shape) != expected:
        raise ValueError(f"model: expected an output of shape [batch, horizon={horizon}, "
                         f"targets={len(target_columns)}"
                         f"{', quantiles=' + str(len(quantiles)) if quantiles else ''}], "
                         f"got {tuple(probe.shape)} for a "
                         f"window of shape {(1, input_length, len(input_columns))}")

    metadata = {"input_columns": input_columns, "target_columns": target_columns,
                "input_length": int(input_length), "horizon": int(horizon),
                "input_mean": mean[inputs].tolist(), "input_scale": scale[inputs].tolist(),
                "target_mean": mean[targets].tolist(), "target_scale": scale[targets].tolist(),
                "signature": {"serving_default": {
                    "inputs": {"window": ["float32", [None, int(input_length),
                                                      len(input_columns)]]},
                    "outputs": {"forecast": ["float32", [None, int(horizon),
                                                         len(target_columns)]]}}},
                **(extra_metadata or {})}
    if quantiles:
        metadata["quantiles"] = quantiles
        metadata["signature"]["serving_default"]["outputs"]["quantiles"] = [
            "float32", [None, int(horizon), len(target_columns), len(quantiles)]]
    if future_columns:
        metadata.update(future_columns=future_columns, future_mean=mean[futures].tolist(),
                        future_scale=scale[futures].tolist())
        metadata["signature"]["serving_default"]["inputs"]["future"] = [
            "float32", [None, int(horizon), len(future_columns)]]
    staging = tempfile.mkdtemp(prefix="forecaster-metadata-")
    try:
        metadata_path = os.path.join(staging, METADATA_FILE)
        with open(metadata_path, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2)
        module = ForecasterModule(model, mean[inputs], scale[inputs], mean[targets],
                                  scale[targets], int(input_length), int(horizon),
                                  input_columns, target_columns, metadata_path,
                                  future_mean=mean[futures], future_scale=scale[futures],
                                  future_columns=future_columns, quantiles=quantiles)
        serve = module.forecast.get_concrete_function()
        with atomic_directory(path) as temp:
            tf.saved_model.save(module, temp, signatures={
                "serving_default": serve,
                "metadata": module.metadata.get_concrete_function()})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path

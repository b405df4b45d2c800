"""Training and evaluation of the recurrent forecaster: ``train_and_evaluate(config, workdir)``.

Steps, all driven by a ``configs.Config``:

1. Data (``load_data``): the synthetic series, ETTh1 (standard protocol) or any
   CSV (``seqkit.data.timeseries.load_csv``: dates parsed and sorted, duplicated
   timestamps, gaps and NaNs reported, chronological 70/10/20 split). Scaling is
   fitted on the training rows only. Bad input raises a ValueError naming the
   flag before any model is built.
2. Baselines (``baseline_forecasts``) on exactly the test windows the model is
   scored on: repeat-last, seasonal-naive and the channel-shared linear model
   (ridge strength chosen on validation).
3. Training (``fit``): Keras ``model.fit`` under a ``tf.distribute`` strategy
   on a ``tf.data`` pipeline. ``batch_size`` is the *global* batch (split across
   replicas), so the learning rate keeps its meaning. Every epoch ends with a
   checkpoint (``seqkit.distribute.ChiefCheckpointManager`` over
   ``tf.train.CheckpointManager``, whose ``checkpoint`` index file is replaced
   only after the new files are complete: model, optimizer, dropout seeds,
   epoch counter, early-stopping state and the best weights), kept by the chief
   only; re-running the same command resumes after the last completed
   epoch and, the shuffling being a function of (seed, epoch), ends with the same
   weights as a run that was never interrupted. Early stopping on the
   validation loss restores the best weights. A NaN loss stops with
   ``seqkit.runs.NonFiniteLossError``.
4. Report: MSE/MAE of the model and of the baselines, on standardized values and
   in original units (``format_table``); on the synthetic series also the exact
   error floor. ``results.json`` (chief only), an optional plot and SavedModel.

Example:
    >>> from experiments.forecast import configs, train
    >>> results = train.train_and_evaluate(configs.get_config("test"), "/tmp/fc")  # doctest: +SKIP
    >>> sorted(results)[:3]                                                        # doctest: +SKIP
    ['best_epoch', 'best_val_loss', 'cell']
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import numpy as np
from absl import logging

from experiments.forecast import configs as configs_lib
from seqkit import baselines
from seqkit import runs
from seqkit.data import timeseries as ts

CHECKPOINT_SUBDIR = "checkpoints"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Data:
    """The series and the train/val/test ``Windows`` a run uses (standardized)."""

    series: ts.SeriesSplit
    train: ts.Windows
    val: ts.Windows
    test: ts.Windows

    @property
    def input_names(self):
        return tuple(self.series.columns[c] for c in self.test.input_columns)

    @property
    def target_names(self):
        return tuple(self.series.columns[c] for c in self.test.target_columns)


def load_data(config: configs_lib.Config) -> Data:
    """The series of ``config`` cut into windows, with errors that name the flags.

    Raises:
        ValueError: a missing or non-numeric target column, NaNs with
            ``--fill=error`` (listing their rows), a date column that does not
            parse, too few rows for ``--input_length + --horizon`` in a split.
    """
    if config.dataset == "synthetic":
        series = ts.synthetic(n_rows=config.synthetic_rows, seed=config.seed)
    elif config.dataset == "etth1":
        series = ts.etth1(config.data_dir)
    else:
        if not os.path.isfile(config.csv):
            raise ValueError(f"--csv: expected an existing CSV file, got {config.csv!r}")
        try:
            series = ts.load_csv(config.csv, date_column=config.date_column,
                                 targets=list(config.targets) if config.targets else None,
                                 features=list(config.features) if config.features else None,
                                 fill=config.fill)
        except ValueError as error:
            # load_csv names its arguments; the user knows them as flags.
            raise ValueError(f"--csv={config.csv!r}: {_as_flags(str(error))}") from error
        needed = config.input_length + config.horizon
        if series.n_rows < needed:
            raise ValueError(
                f"--input_length={config.input_length} + --horizon={config.horizon}: one "
                f"window needs {needed} rows, but {config.csv!r} has only {series.n_rows}")
    if series.report is not None:
        series.report.log()
    if config.target is not None and config.target not in series.target_columns:
        raise ValueError(f"--target: expected one of the target columns "
                         f"{list(series.target_columns)}, got {config.target!r}")

    windows = {}
    for split in ts.SPLITS:
        try:
            windows[split] = series.windows(split, config.input_length, config.horizon,
                                            mode=config.mode, target=config.target)
        except ValueError as error:
            start, end = series.borders[split]
            raise ValueError(
                f"--input_length={config.input_length} and --horizon={config.horizon}: the "
                f"{split} split (rows [{start}, {end}) of {series.n_rows}) is too short for "
                f"one window: {error}; use a shorter --input_length/--horizon or more rows"
            ) from error
    return Data(series=series, **windows)


def _as_flags(message: str) -> str:
    for name in ("date_column", "targets", "features", "fill"):
        if message.startswith(name + ":") or message.startswith(name + " "):
            return "--" + message
    return message


# --------------------------------------------------------------------------
# Baselines and metrics
# --------------------------------------------------------------------------
def baseline_forecasts(data: Data, season: int,
                       alphas=baselines.DEFAULT_ALPHAS) -> dict[str, np.ndarray]:
    """Standardized forecasts of every baseline on ``data.test`` (same windows as the model).

    The linear model's ridge strength is the one of ``alphas`` with the lowest
    validation MSE, as in ``seqkit.baselines.evaluate_baselines``.
    """
    test, horizon, channels = data.test, data.test.horizon, data.test.target_channels
    scores = [baselines.mse(baselines.linear(data.train.inputs, data.train.targets,
                                             data.val.inputs, channels, a), data.val.targets)
              for a in alphas]
    alpha = alphas[int(np.argmin(scores))]
    return {
        "repeat": baselines.repeat_last(test.inputs, horizon, channels),
        "seasonal_naive": baselines.seasonal_naive(test.inputs, horizon, season, channels),
        "linear": baselines.linear(data.train.inputs, data.train.targets, test.inputs,
                                   channels, alpha),
    }


def scores(prediction: np.ndarray, windows: ts.Windows) -> dict[str, float]:
    """MSE/MAE of a standardized forecast, standardized and in original units."""
    truth = windows.targets
    return {
        "mse": baselines.mse(prediction, truth),
        "mae": baselines.mae(prediction, truth),
        "mse_original": baselines.mse(windows.inverse_targets(prediction),
                                      windows.inverse_targets(truth)),
        "mae_original": baselines.mae(windows.inverse_targets(prediction),
                                      windows.inverse_targets(truth)),
    }


def format_table(results: dict) -> str:
    """The MSE/MAE table of a ``train_and_evaluate`` result.

    Example:
        >>> print(format_table({"test_mse": 0.5, "test_mae": 0.4, "test_mse_original": 2.0,
        ...                     "test_mae_original": 1.0}))    # doctest: +NORMALIZE_WHITESPACE
        forecaster          MSE     MAE  MSE (orig.)  MAE (orig.)
        model            0.5000  0.4000       2.0000       1.0000
    """
    rows = [("model", "test"), ("repeat last", "repeat"),
            ("seasonal naive", "seasonal_naive"), ("linear", "linear"),
            ("floor (oracle)", "floor")]
    lines = [f"{'forecaster':<15} {'MSE':>7} {'MAE':>7} {'MSE (orig.)':>12} {'MAE (orig.)':>12}"]
    for label, key in rows:
        if f"{key}_mse" not in results:
            continue
        cells = [results.get(f"{key}_{m}") for m in ("mse", "mae", "mse_original",
                                                      "mae_original")]
        text = [f"{c:.4f}" if c is not None else "-" for c in cells]
        lines.append(f"{label:<15} {text[0]:>7} {text[1]:>7} {text[2]:>12} {text[3]:>12}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------
def _epoch_orders(n: int, seed: int, epochs: range) -> np.ndarray:
    """Row order of every epoch in ``epochs``: a permutation drawn from (seed, epoch).

    A pure function of the epoch number, so that a resumed run sees the same
    batches as an uninterrupted one (a tf.data shuffle would restart its
    sequence of permutations at the first resumed epoch).
    """
    return np.stack([np.random.default_rng([seed, epoch]).permutation(n) for epoch in epochs])


def _train_dataset(tf, windows, config, first_epoch):
    """Batches of epochs first_epoch .. epochs-1; each epoch's last batch may be short."""
    n = windows.n
    order = _epoch_orders(n, config.seed, range(first_epoch, config.epochs)).astype(np.int32)
    inputs, targets = tf.constant(windows.inputs), tf.constant(windows.targets)

    def epoch_batches(rows):
        return tf.data.Dataset.from_tensor_slices(rows).batch(config.batch_size)

    return (tf.data.Dataset.from_tensor_slices(order)
            .flat_map(epoch_batches)
            .map(lambda rows: (tf.gather(inputs, rows), tf.gather(targets, rows)))
            .prefetch(2))


def _eval_dataset(tf, windows, batch_size):
    return tf.data.Dataset.from_tensor_slices((windows.inputs, windows.targets)).batch(batch_size)


class _TrainingState:
    """Epoch counter, early-stopping state and best weights, all checkpointed."""

    def __init__(self, tf, model):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_epoch")
        self.best_val_loss = tf.Variable(math.inf, dtype=tf.float64, trainable=False,
                                         name="best_val_loss")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
        self.stopped = tf.Variable(False, trainable=False, name="stopped")
        self.best_weights = [tf.Variable(np.asarray(w), trainable=False, name=f"best_{i}")
                             for i, w in enumerate(model.get_weights())]

    def variables(self):
        return [self.epoch, self.best_epoch, self.best_val_loss, self.wait, self.stopped,
                *self.best_weights]

    def trackables(self):
        return dict(epoch=self.epoch, best_epoch=self.best_epoch,
                    best_val_loss=self.best_val_loss, wait=self.wait, stopped=self.stopped,
                    best_weights=self.best_weights)


def _make_callback(keras, config, state, manager, total_start):
    class EpochEnd(keras.callbacks.Callback):
        """Per epoch: learning rate, NaN check, early stopping, checkpoint, progress line."""

        def on_epoch_begin(self, epoch, logs=None):
            # A function of the epoch number (not a running product) so that a
            # resumed run uses the same rate.
            self.model.optimizer.learning_rate.assign(
                config.learning_rate * config.lr_decay ** epoch)
            self._start = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            step = int(self.model.optimizer.iterations.numpy())
            loss = runs.check_finite(logs["loss"], step, manager.directory)
            val_loss = runs.check_finite(logs["val_loss"], step, manager.directory)
            if val_loss < float(state.best_val_loss.numpy()):
                state.best_val_loss.assign(val_loss)
                state.best_epoch.assign(epoch + 1)
                state.wait.assign(0)
                for variable, weight in zip(state.best_weights, self.model.get_weights()):
                    variable.assign(weight)
            else:
                state.wait.assign_add(1)
            if int(state.wait.numpy()) >= config.patience:
                state.stopped.assign(True)
                self.model.stop_training = True
            state.epoch.assign(epoch + 1)
            manager.save(checkpoint_number=epoch + 1)
            logging.info(
                "epoch %d/%d: loss %.4f, val_loss %.4f (best %.4f at epoch %d), lr %.2e, "
                "%.1fs (total %.0fs)%s", epoch + 1, config.epochs, loss, val_loss,
                float(state.best_val_loss.numpy()), int(state.best_epoch.numpy()),
                config.learning_rate * config.lr_decay ** epoch, time.time() - self._start,
                time.time() - total_start,
                ", early stop" if self.model.stop_training else "")

    return EpochEnd()


def _check_resume(workdir: str, config: configs_lib.Config) -> None:
    """Refuse to resume a checkpoint trained with other settings."""
    path = os.path.join(workdir, "flags.json")
    if not os.path.exists(os.path.join(workdir, CHECKPOINT_SUBDIR, "checkpoint")) \
            or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle)
    current = json.loads(json.dumps(config.to_dict()))
    changed = sorted(k for k in current if k not in configs_lib.RESUMABLE_CHANGES
                     and previous.get(k) != current[k])
    if changed:
        details = ", ".join(f"--{k}={previous.get(k)!r} -> {current[k]!r}" for k in changed)
        raise ValueError(
            f"--train_dir={workdir!r} holds a checkpoint trained with other settings "
            f"({details}); use a new --train_dir, or the same flags to resume")


def fit(model_fn, data: Data, config: configs_lib.Config, workdir: str, strategy):
    """Train (or resume) under ``strategy``; return (model, training summary).

    ``model_fn()`` builds the model; it is called under ``strategy.scope()``.
    Checkpoints go through ``seqkit.distribute.ChiefCheckpointManager``: only
    the chief keeps files in ``<workdir>/checkpoints``. A run that stopped early
    is final: re-running it (even with a larger ``epochs``) only re-evaluates.
    """
    import keras
    import tensorflow as tf

    from seqkit import distribute

    with strategy.scope():
        model = model_fn()
        optimizer = keras.optimizers.Adam(
            learning_rate=config.learning_rate,
            global_clipnorm=config.max_grad_norm or None)
        model.compile(optimizer=optimizer, loss=config.loss, jit_compile=False)
        # Create the optimizer's slots now so that a checkpoint can fill them.
        optimizer.build(model.trainable_variables)
    # Plain (not mirrored) variables: only the callback reads and writes them.
    state = _TrainingState(tf, model)
    # Dropout seed states are layer variables but not weights: checkpoint them
    # too (TensorFlow's object graph does not reach Keras 3's SeedGenerators),
    # or a resumed run would draw other dropout masks.
    weight_ids = {id(v) for v in model.weights}
    rng_states = [v for v in model.variables if id(v) not in weight_ids]
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, rng=rng_states,
                                     **state.trackables())
    # Every worker saves (a collective under MultiWorkerMirroredStrategy); only
    # the chief keeps the files, and on resume its values are broadcast.
    manager = distribute.ChiefCheckpointManager(
        checkpoint, os.path.join(workdir, CHECKPOINT_SUBDIR), strategy,
        variables=list(model.variables) + list(optimizer.variables) + state.variables(),
        max_to_keep=2)
    latest = manager.restore()
    if latest:
        logging.info("resumed from %s (epoch %d, best val_loss %.4f at epoch %d)", latest,
                     int(state.epoch.numpy()), float(state.best_val_loss.numpy()),
                     int(state.best_epoch.numpy()))
    first_epoch = int(state.epoch.numpy())
    start = time.time()
    if first_epoch < config.epochs and not bool(state.stopped.numpy()):
        steps = math.ceil(data.train.n / config.batch_size)
        model.fit(_train_dataset(tf, data.train, config, first_epoch),
                  epochs=config.epochs, initial_epoch=first_epoch, steps_per_epoch=steps,
                  validation_data=_eval_dataset(tf, data.val, config.batch_size),
                  callbacks=[_make_callback(keras, config, state, manager, start)],
                  shuffle=False, verbose=0)
    # Evaluate the weights of the best validation epoch.
    model.set_weights([v.numpy() for v in state.best_weights])
    summary = {
        "epochs_completed": int(state.epoch.numpy()),
        "best_epoch": int(state.best_epoch.numpy()),
        "best_val_loss": float(state.best_val_loss.numpy()),
        "early_stopped": bool(state.stopped.numpy()),
        "resumed_from_epoch": first_epoch,
        "train_seconds": time.time() - start,
    }
    return model, summary


def predict(model, windows: ts.Windows, batch_size: int) -> np.ndarray:
    """The model's standardized forecast ``[n, horizon, targets]`` of every window."""
    return np.asarray(model.predict(windows.inputs, batch_size=batch_size, verbose=0),
                      dtype=np.float64)


# --------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------
def train_and_evaluate(config: configs_lib.Config, workdir: str) -> dict:
    """Run one experiment; return the results (also written to ``<workdir>/results.json``).

    Keys: ``test_mse``, ``test_mae`` (standardized) and ``*_original`` (data
    units) for the model (``test``) and the baselines (``repeat``,
    ``seasonal_naive``, ``linear``); on the synthetic series ``floor_mse``,
    ``floor_mae``, ``floor_standard_error``, ``oracle_mse`` (the optimal
    forecast's error on these very windows) and ``ratio_to_floor``; training
    facts (``epochs_completed``, ``best_epoch``, ``train_seconds``, ...).

    Example:
        >>> from experiments.forecast import configs
        >>> r = train_and_evaluate(configs.get_config("test"), "/tmp/run")  # doctest: +SKIP
        >>> r["test_mse"] < r["repeat_mse"]                                 # doctest: +SKIP
        True
    """
    from seqkit import distribute

    wall_start = time.time()
    config = configs_lib.validate(config)
    data = load_data(config)          # bad input fails here, before any TensorFlow work
    strategy = distribute.make_strategy(config.strategy, config.num_cpu_devices)
    chief = distribute.is_chief(strategy)
    if chief:
        runs.prepare_train_dir(workdir)
        _check_resume(workdir, config)
        runs.write_config(workdir, config.to_dict())
    runs.set_seed(config.seed)
    logging.info("data: %s, mode %s, %d/%d/%d train/val/test windows, inputs %s, targets %s",
                 config.dataset, config.mode, data.train.n, data.val.n, data.test.n,
                 list(data.input_names), list(data.target_names))

    from experiments.forecast import models

    def model_fn():
        return models.build_model(config, num_inputs=len(data.test.input_columns),
                                  target_channels=data.test.target_channels)

    model, summary = fit(model_fn, data, config, workdir, strategy)
    forecast = predict(model, data.test, config.batch_size)

    results = {"dataset": config.dataset, "mode": config.mode, "cell": config.cell,
               "input_length": config.input_length, "horizon": config.horizon,
               "n_test_windows": data.test.n, "n_parameters": int(model.count_params()),
               "num_replicas": int(strategy.num_replicas_in_sync)}
    results.update({f"test_{k}": v for k, v in scores(forecast, data.test).items()})
    for name, prediction in baseline_forecasts(data, config.season).items():
        results.update({f"{name}_{k}": v for k, v in scores(prediction, data.test).items()})
    if isinstance(data.series, ts.SyntheticSeries):
        results.update(_floor(data, config))
        results["ratio_to_floor"] = results["test_mse"] / results["floor_mse"]
    results.update(summary)

    if chief:
        if config.plot:
            from experiments.forecast import plot as plot_lib
            results["plot"] = plot_lib.plot_forecasts(
                data.test, forecast, os.path.join(workdir, "forecast.png"),
                target_names=data.target_names)
        if config.export_dir:
            from seqkit.export import forecaster as export_lib
            export_lib.export_forecaster(
                model, data.series.scaler(), config.export_dir,
                input_length=config.input_length, horizon=config.horizon,
                input_columns=data.input_names, target_columns=data.target_names)
            results["export_dir"] = config.export_dir
    results["wall_seconds"] = time.time() - wall_start
    if chief:
        runs.write_results(workdir, results)
    return results


def _floor(data: Data, config: configs_lib.Config) -> dict:
    """The synthetic series' exact floor on the test targets, and the oracle's error."""
    series = data.series
    floor = series.floor_mse(config.horizon, config.input_length, "test")
    positions = [series.target_indices.index(c) for c in data.test.target_columns]
    per_column = floor.per_step_per_column[:, positions]
    oracle = series.oracle_forecast(data.test)
    out = {"floor_mse": float(per_column.mean()),
           "floor_mae": float((math.sqrt(2 / math.pi) * np.sqrt(per_column)).mean()),
           "oracle_mse": baselines.mse(oracle, data.test.targets),
           "oracle_mae": baselines.mae(oracle, data.test.targets)}
    if len(positions) == len(series.target_indices):
        # The standard error is derived for the mean over all target columns.
        out["floor_standard_error"] = floor.standard_error
    return out

"""The run lifecycle: ``run(experiment, config, train_dir)`` and ``main(experiment)``.

See the package docstring (``seqkit/runs/__init__.py``) for the order of events.
"""

import importlib
import os
import sys
import time

from absl import logging

from seqkit.runs import config as config_lib
from seqkit.runs import files
from seqkit.runs.errors import EXIT_USAGE, NonFiniteLossError, UsageError, check_finite, one_line

FLAGS_JSON, FLAGS_TXT, RESULTS_JSON = "flags.json", "flags.txt", "results.json"
CHECKPOINTS, BEST, LOGS = "checkpoints", "best", "logs"
# The serving SavedModel a run keeps in its train dir (what its action flag runs).
SAVED_MODEL = "saved_model"
# Keys flags.json holds besides the Config's fields.
_RECORD_KEYS = ("experiment", "preset", "replicas", "data_fingerprint")


class Experiment:
    """What an experiment supplies; everything else is the harness's.

    Subclass it, set the class attributes and implement the hooks marked
    *required*. Hooks get the ``Run`` (``run.config``, ``run.data``,
    ``run.model``, ...). Keep per-run objects (compiled steps, ...) on ``run``,
    not on the experiment: one Experiment instance serves many runs.

    Class attributes:
        name: the experiment's name (``"lm"``), used in messages.
        Config: its ``runs.RunConfig`` subclass.
        presets: {name: Config} for ``--config``.
        default_train_dir: the ``--train_dir`` default (``"runs/lm"``).
        monitor: the key of ``evaluate(run, "valid")`` that picks the best epoch.
        mode: ``"min"`` or ``"max"``: which ``monitor`` value is better.
        tie_break: another key of ``evaluate(run, "valid")`` (same ``mode``)
            that decides between epochs whose ``monitor`` values are equal
            (translation: chrF, for BLEU-4 is 0 at every epoch when the
            references are shorter than 4 tokens); None: the earlier epoch.
        throughput_unit: the count ``train_epoch`` returns under this key
            (``"tokens"``, ``"windows"``); results get ``<unit>_per_second``.
        action: the name of a string Config field (``"predict"``) that, when
            given on the command line, makes ``runs.main`` use a finished
            ``--train_dir`` instead of training: it reads the flag's inputs
            (``runs.read_inputs``: the text itself, or ``@file``'s lines) and
            calls ``act``. None: the experiment only trains.
        empty_inputs: what ``action`` does with an empty line of an ``@file``:
            ``"error"`` or ``"keep"`` (``act`` defines its answer).
    """

    name = "experiment"
    Config = config_lib.RunConfig
    presets = {}
    default_train_dir = "runs/experiment"
    monitor = "loss"
    mode = "min"
    tie_break = None
    throughput_unit = "examples"
    action = None
    empty_inputs = "error"

    def default_preset(self, overrides):
        """The preset when ``--config`` is not given (``overrides``: the flags given)."""
        return "default" if "default" in self.presets else next(iter(self.presets))

    def validate(self, config):
        """Cross-field checks (per-field ones come from ``runs.field``); may return a
        normalized config. Raise ``runs.UsageError("--flag: expected ..., got ...")``."""
        return config

    def load_data(self, config):
        """*Required.* The data; every data error raised here, before anything is written."""
        raise NotImplementedError

    def fingerprint(self, config, data):
        """A JSON-able description of the data (files with size and sha256, columns,
        vocabulary hash). Resuming on data with another fingerprint is refused."""
        return {}

    def build(self, config, data):
        """*Required.* ``(model, optimizer)``, called under ``strategy.scope()``."""
        raise NotImplementedError

    def start(self, run):
        """After the model exists and the checkpoint is restored, before the first epoch
        (compile steps, write extra files with ``run.write_text`` ...)."""

    def learning_rate(self, config, epoch):
        """The learning rate of ``epoch`` (from 1), assigned before it; None = leave it."""
        return None

    def patience(self, config):
        """Early stopping: epochs without a better ``monitor`` value (None = never)."""
        return getattr(config, "patience", None) or None

    def train_epoch(self, run, epoch):
        """*Required.* Train one epoch; returns {metric: value} plus
        ``{throughput_unit: count}``; a ``"loss"`` must be finite."""
        raise NotImplementedError

    def evaluate(self, run, split):
        """*Required.* {metric: value} of the current weights on ``split`` ("valid", "test")."""
        raise NotImplementedError

    def finish(self, run, results):
        """After the test metrics (best-validation weights): extra results (baselines,
        samples); the plot and export on the chief (``run.is_chief``)."""
        return {}

    def report(self, results):
        """Text printed before the final JSON line (a table), or None."""
        return None

    # Result keys too long for the final JSON line (still in results.json).
    long_results = ()

    def act(self, train_dir, inputs, overrides):
        """The ``action`` on a finished run: ``inputs`` (a list of strings) through the
        model in ``train_dir`` (``runs.load_saved_model``); ``overrides`` are the other
        Config flags given. Returns ``(lines to print, JSON-able result)``."""
        raise NotImplementedError


class Progress:
    """Per-step progress: a Keras progress bar on a terminal, nothing otherwise
    (the harness prints one line per epoch either way)."""

    def __init__(self, total, enabled):
        self.bar = None
        if enabled and sys.stdout.isatty():
            import keras

            self.bar = keras.utils.Progbar(total, stateful_metrics=None)

    def update(self, step, **metrics):
        if self.bar is not None:
            self.bar.update(step, [(k, float(v)) for k, v in metrics.items()])


class Run:
    """What the hooks receive.

    Attributes:
        experiment, config, train_dir, data, model, optimizer, strategy,
        is_chief: this process writes files; replicas: replicas in sync;
        epoch: the epoch being trained (from 1), or the last one done.
    """

    def __init__(self, experiment, config, train_dir, data, strategy, is_chief):
        self.experiment, self.config, self.train_dir = experiment, config, train_dir
        self.data, self.strategy, self.is_chief = data, strategy, is_chief
        self.replicas = strategy.num_replicas_in_sync
        self.model = self.optimizer = None
        self.epoch = 0
        self._writer = None

    def path(self, *parts):
        """A path inside the train dir (``tf.io.gfile`` style, ``gs://`` kept)."""
        return files.join(self.train_dir, *parts)

    @property
    def checkpoint_dir(self):
        return self.path(CHECKPOINTS)

    def write_text(self, name, text):
        """Write ``<train_dir>/<name>`` atomically, on the chief only."""
        if self.is_chief:
            files.atomic_write_text(self.path(name), text)

    def progress(self, total):
        """A ``Progress`` over ``total`` steps (a bar only on a terminal with --progress)."""
        return Progress(total, self.config.progress)

    def check_finite(self, loss, step):
        """``float(loss)``, or ``NonFiniteLossError`` naming ``step`` and the last checkpoint."""
        return check_finite(loss, step, self.checkpoint_dir)

    def per_replica(self, make):
        """A per-replica value: ``make(replica_id, num_replicas)`` on each replica."""
        from seqkit import distribute

        return distribute.per_replica(self.strategy, make)

    def scalar(self, name, value, step=None):
        """A TensorBoard scalar in ``<train_dir>/logs`` (chief only; step = the epoch)."""
        if self._writer is None or value is None:
            return
        import tensorflow as tf

        with self._writer.as_default(step=self.epoch if step is None else step):
            tf.summary.scalar(name, value)


# ---------------------------------------------------------------- checks before any write


def require_module(module, flag, install):
    """Import ``module`` or raise a UsageError naming ``flag`` and how to install it."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise UsageError(f"{flag}: needs {module}, which cannot be imported ({error}); "
                         f"{install}, or run without {flag}.") from None


def check_output_dir(path, flag):
    """Raise a UsageError unless ``path`` can be created or written (nothing is written).

    Local paths only; other filesystems are checked when written.
    """
    path = os.fspath(path)
    if not files.is_local(path):
        return
    path = os.path.abspath(files._local(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag}: expected a folder, got the file {path!r}.")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{flag}: cannot create {path!r}: {existing!r} is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: cannot write {path!r}: no write permission in "
                         f"{existing!r}.")


def _checked(experiment, config):
    if not isinstance(config, experiment.Config):
        raise TypeError(f"expected a {experiment.Config.__name__}, got {type(config).__name__}")
    config_lib.check_config(config)
    config = experiment.validate(config) or config
    if getattr(config, "strategy", "default") != "mirrored" and config.num_cpu_devices > 1:
        raise UsageError(f"--num_cpu_devices={config.num_cpu_devices}: only applies to "
                         f"--strategy=mirrored, got --strategy={config.strategy}.")
    if getattr(config, "plot", False):
        require_module("matplotlib", "--plot", "pip install 'seqkit[plot]'")
    if getattr(config, "export_dir", ""):
        check_output_dir(config.export_dir, "--export_dir")
    return config


# ---------------------------------------------------------------- the lifecycle


def run(experiment, config, train_dir, preset=None):
    """Train ``config`` into ``train_dir`` (or resume there); returns the results dict.

    Raises ``UsageError`` for user mistakes (before anything is written when
    the mistake is in the flags or the data), ``NonFiniteLossError`` when the
    loss diverges. See the package docstring for everything it does.
    """
    wall_start = time.time()
    train_dir = os.fspath(train_dir or "")
    if not train_dir:
        raise UsageError("--train_dir: expected a folder, got an empty value.")
    config = _checked(experiment, config)
    check_output_dir(train_dir, "--train_dir")
    try:
        data = experiment.load_data(config)
    except UsageError:
        raise
    except (ValueError, OSError) as error:  # the loaders name the flag or the file
        raise UsageError(one_line(error, limit=2000)) from error
    fingerprint = files.strict_json(experiment.fingerprint(config, data))

    from seqkit import distribute

    try:  # before any TensorFlow op (the CPU split and the collectives need it)
        strategy = distribute.make_strategy(config.strategy, config.num_cpu_devices or None)
    except ValueError as error:
        raise UsageError(one_line(error)) from error
    batch_size = getattr(config, "batch_size", None)
    if batch_size and batch_size % strategy.num_replicas_in_sync:
        raise UsageError(f"--batch_size={batch_size}: expected a multiple of the "
                         f"{strategy.num_replicas_in_sync} replicas of --strategy="
                         f"{config.strategy} (it is the global batch, split evenly).")
    chief = distribute.is_chief(strategy)
    lock = None
    if chief:
        try:
            files.makedirs(train_dir)
        except Exception as error:  # noqa: BLE001 - gfile raises many kinds
            raise UsageError(f"--train_dir: cannot create {train_dir!r} ({one_line(error)})."
                             ) from error
        lock = files.TrainDirLock(train_dir).acquire()
    try:
        with precision_policy(config.precision):
            return _run(experiment, config, train_dir, preset, data, fingerprint, strategy,
                        chief, wall_start)
    finally:
        if lock is not None:
            lock.release()


class precision_policy:
    """Within the block, Keras's global mixed-precision policy is ``name``.

    ``--precision`` is set here, before ``Experiment.build``, so every layer
    the experiment builds takes it: under ``"mixed_bfloat16"`` layers compute
    in bfloat16 and keep float32 variables (so the optimizer, the gradient
    clipping and the checkpoints see float32, and a checkpoint restores under
    either policy). The loss must be computed from float32 logits
    (``runs.float32``). bfloat16 needs no loss scaling (float32's exponent
    range). The previous policy is restored on exit (tests run many runs in
    one process).

    Example:
        >>> import keras
        >>> with precision_policy("mixed_bfloat16"):
        ...     keras.layers.Dense(2).dtype_policy.name
        'mixed_bfloat16'
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        import keras

        self.previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.name)
        return self

    def __exit__(self, *exc_info):
        import keras

        keras.config.set_dtype_policy(self.previous)
        return False


def float32(outputs):
    """``outputs`` (a tensor or a nest of them) with floating tensors cast to float32.

    The loss and the softmax of a run under ``--precision=mixed_bfloat16`` are
    computed from float32 logits, as Keras's mixed-precision guide advises
    (a bfloat16 log-softmax over 10,000 words loses the small probabilities).
    A no-op under float32.
    """
    import tensorflow as tf

    def cast(value):
        if hasattr(value, "dtype") and tf.as_dtype(value.dtype).is_floating:
            return tf.cast(value, tf.float32)
        return value

    return tf.nest.map_structure(cast, outputs)


def _previous_run(experiment, config, train_dir, fingerprint):
    """Refuse to resume ``train_dir`` with other settings or on other data."""
    import tensorflow as tf

    flags_path = files.join(train_dir, FLAGS_JSON)
    has_checkpoint = bool(tf.io.gfile.glob(files.join(train_dir, CHECKPOINTS, "ckpt-*.index")))
    if not (has_checkpoint and files.exists(flags_path)):
        return
    saved = files.read_json(flags_path)
    changed = config_lib.resume_changes(type(config), saved, config)
    if changed:
        listed = ", ".join(f"--{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
        raise UsageError(f"--train_dir={train_dir!r} holds a run with other settings "
                         f"({listed}); use a new --train_dir, or the same settings to resume.")
    old = saved.get("data_fingerprint")
    if old is not None and old != fingerprint:
        keys = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
        detail = "; ".join(f"{k}: {_short(old.get(k))} -> {_short(fingerprint.get(k))}"
                           for k in keys)
        raise UsageError(f"--train_dir={train_dir!r} holds a run trained on other data "
                         f"({detail}); use a new --train_dir for new data, or the run's data "
                         f"to resume.")


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _run(experiment, config, train_dir, preset, data, fingerprint, strategy, chief,
         wall_start):
    import keras
    import numpy as np
    import tensorflow as tf

    from seqkit import distribute

    replicas = strategy.num_replicas_in_sync
    if chief:
        _previous_run(experiment, config, train_dir, fingerprint)
        record = {**config.to_dict(), "experiment": experiment.name, "preset": preset,
                  "replicas": replicas, "data_fingerprint": fingerprint}
        files.atomic_write_json(files.join(train_dir, FLAGS_JSON), record)
        lines = [f"# Replay: python -m experiments.{experiment.name} --flagfile=<this file> "
                 f"--train_dir=<a new folder> (without --train_dir: resumes this run)",
                 *([f"--config={preset}"] if preset else []),
                 f"--train_dir={train_dir}", *config_lib.flag_lines(config)]
        files.atomic_write_text(files.join(train_dir, FLAGS_TXT), "\n".join(lines) + "\n")
    keras.utils.set_random_seed(config.seed)

    run_ = Run(experiment, config, train_dir, data, strategy, chief)
    with strategy.scope():
        model, optimizer = experiment.build(config, data)
        optimizer.build(model.trainable_variables)  # slots exist before a restore
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    run_.model, run_.optimizer = model, optimizer
    # Plain variables (the same on every worker): the harness's own state.
    sign = 1.0 if experiment.mode == "min" else -1.0
    best_value = tf.Variable(np.inf, dtype=tf.float64, trainable=False, name="best_value")
    # The tie-break value of the best epoch (checkpoints written before it existed
    # restore it as inf, the worst: expect_partial).
    best_tie = tf.Variable(np.inf, dtype=tf.float64, trainable=False, name="best_tie")
    best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_epoch")
    wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
    stopped = tf.Variable(False, trainable=False, name="stopped")
    best_weights = [tf.Variable(keras.ops.convert_to_numpy(w), trainable=False,
                                name=f"best_{i}") for i, w in enumerate(model.weights)]
    # Explicit variable lists rather than tf.train.Checkpoint(model=model):
    # TensorFlow's object graph does not reach Keras 3's SeedGenerator states
    # (the dropout RNGs), and without them a resumed run would draw other
    # dropout masks than an uninterrupted one. "model_variables" is also what
    # seqkit.export.language_model.export_checkpoint reads.
    model_variables, optimizer_variables = list(model.variables), list(optimizer.variables)
    state = dict(epoch=epoch, best_value=best_value, best_tie=best_tie,
                 best_epoch=best_epoch, wait=wait, stopped=stopped)
    checkpoint = tf.train.Checkpoint(model_variables=model_variables,
                                     optimizer_variables=optimizer_variables,
                                     best_weights=best_weights, **state)
    everything = [*model_variables, *optimizer_variables, *best_weights, *state.values()]
    latest = distribute.ChiefCheckpointManager(checkpoint, run_.path(CHECKPOINTS), strategy,
                                               everything, max_to_keep=2)
    best = distribute.ChiefCheckpointManager(checkpoint, run_.path(BEST), strategy,
                                             everything, max_to_keep=1)
    try:
        restored = latest.restore()  # every worker: the chief's newest intact checkpoint
    except UsageError:
        raise
    except ValueError as error:  # no checkpoint can be read
        raise UsageError(one_line(error, limit=2000)) from error
    first_epoch = int(epoch.numpy())
    if first_epoch:
        print(f"resumed after epoch {first_epoch} from {restored or 'the chief checkpoint'}",
              flush=True)
    if chief:
        run_._writer = tf.summary.create_file_writer(run_.path(LOGS))
    run_.epoch = first_epoch
    experiment.start(run_)

    unit = experiment.throughput_unit
    patience = experiment.patience(config)
    trained_count, train_seconds, train_metrics = 0, 0.0, {}
    while int(epoch.numpy()) < config.epochs and not bool(stopped.numpy()):
        number = int(epoch.numpy()) + 1
        run_.epoch = number
        rate = experiment.learning_rate(config, number)
        if rate is not None:
            optimizer.learning_rate.assign(rate)
        start = time.perf_counter()
        train_metrics = dict(experiment.train_epoch(run_, number))
        seconds = time.perf_counter() - start
        count = train_metrics.pop(unit, None)
        if "loss" in train_metrics:
            run_.check_finite(train_metrics["loss"], f"epoch {number}")
        valid = dict(experiment.evaluate(run_, "valid"))
        value = float(valid[experiment.monitor])
        if np.isnan(value):
            raise NonFiniteLossError(
                f"The validation {experiment.monitor} became nan at epoch {number}; stopping. "
                f"The last good checkpoint is in {run_.checkpoint_dir!r}. Try a lower "
                f"--learning_rate.")
        tie = float(valid[experiment.tie_break]) if experiment.tie_break else 0.0
        improved = sign * value < float(best_value.numpy()) or (
            experiment.tie_break is not None and sign * value == float(best_value.numpy())
            and sign * tie < float(best_tie.numpy()))
        if improved:
            best_value.assign(sign * value)
            best_tie.assign(sign * tie)
            best_epoch.assign(number)
            wait.assign(0)
            for copy, weight in zip(best_weights, model.weights):
                copy.assign(keras.ops.convert_to_numpy(weight))
        else:
            wait.assign_add(1)
            if patience and int(wait.numpy()) >= patience:
                stopped.assign(True)
        epoch.assign(number)
        latest.save(number)
        if improved:
            best.save(number)
        trained_count += count or 0
        train_seconds += seconds
        _epoch_line(run_, number, rate, train_metrics, valid, count, seconds, improved,
                    bool(stopped.numpy()))

    # Test metrics (and the reported validation metrics) from the best epoch's weights.
    if int(best_epoch.numpy()):
        for weight, copy in zip(model.weights, best_weights):
            weight.assign(copy.numpy())
    results = {"epochs_completed": int(epoch.numpy()), "best_epoch": int(best_epoch.numpy()),
               "early_stopped": bool(stopped.numpy()), "resumed_from_epoch": first_epoch,
               "parameters": int(model.count_params()), "replicas": replicas,
               "train_seconds": train_seconds}
    results.update({f"train_{k}": v for k, v in train_metrics.items()})
    results.update({f"valid_{k}": v for k, v in experiment.evaluate(run_, "valid").items()})
    results.update({f"test_{k}": v for k, v in experiment.evaluate(run_, "test").items()})
    if trained_count and train_seconds:
        results[f"{unit}_per_second"] = trained_count / train_seconds
    else:
        logging.info("%s_per_second is null: no epoch was trained in this invocation", unit)
        results[f"{unit}_per_second"] = None
    results.update(experiment.finish(run_, results) or {})
    results["wall_seconds"] = time.time() - wall_start
    results = files.strict_json(results)
    if chief:
        files.atomic_write_json(run_.path(RESULTS_JSON), results)
        run_._writer.flush()
        run_._writer.close()
    return results


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def _epoch_line(run_, number, rate, train, valid, count, seconds, improved, stopped):
    """One line per epoch (after the bar on a terminal) and the TensorBoard scalars."""
    unit = run_.experiment.throughput_unit
    parts = [f"epoch {number}/{run_.config.epochs}:"]
    if rate is not None:
        parts.append(f"lr {rate:.4g}")
    parts += [f"train {k} {_format(v)}" for k, v in train.items()]
    parts += [f"valid {k} {_format(v)}" for k, v in valid.items()]
    if count:
        parts.append(f"{count / seconds:,.0f} {unit}/s")
    parts.append(f"{seconds:.1f}s")
    if improved:
        parts.append("(best)")
    if stopped:
        parts.append("early stop")
    print("  ".join(parts), flush=True)
    for k, v in train.items():
        run_.scalar(f"train/{k}", v)
    for k, v in valid.items():
        run_.scalar(f"valid/{k}", v)
    run_.scalar("learning_rate", rate)
    if count:
        run_.scalar(f"{unit}_per_second", count / seconds)


# ---------------------------------------------------------------- actions on a finished run


def read_inputs(value, flag, empty_lines="error"):
    """The inputs of an action flag: ``value`` itself, or the lines of ``@path``.

    ``empty_lines`` says what an empty line of the file is: ``"error"`` (a
    ``UsageError`` naming the file and line) or ``"keep"`` (passed on as "").
    An empty ``value``, a missing or empty file are ``UsageError``s.

    Example:
        >>> read_inputs("what time is it", "--predict")
        ['what time is it']
    """
    if value.startswith("@"):
        path = value[1:]
        import tensorflow as tf

        if not files.exists(path) or tf.io.gfile.isdir(path):
            raise UsageError(f"{flag}=@{path}: file not found; expected one input per line.")
        try:
            lines = files.read_text(path).split("\n")
        except UnicodeDecodeError as error:
            raise UsageError(f"{flag}=@{path}: not UTF-8 text (byte {error.start}); expected "
                             f"one input per line, UTF-8 encoded.") from None
        if lines and lines[-1] == "":
            lines.pop()  # the final newline ends the last line; it starts no empty one
        lines = [line.rstrip("\r") for line in lines]
        if not lines:
            raise UsageError(f"{flag}=@{path}: the file is empty; expected one input per line.")
        if empty_lines == "error":
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    raise UsageError(f"{flag}=@{path}:{number}: empty line; expected one "
                                     f"input per line.")
        return lines
    if not value.strip():
        raise UsageError(f"{flag}: empty input; expected some text, or @file for one input "
                         f"per line.")
    return [value]


def load_saved_model(train_dir, experiment_name):
    """The serving SavedModel a finished run keeps in ``<train_dir>/saved_model``."""
    import tensorflow as tf

    path = files.join(train_dir, SAVED_MODEL)
    if not tf.saved_model.contains_saved_model(path):
        raise UsageError(f"--train_dir={train_dir}: no finished run there ({path} is "
                         f"missing); train first: python -m experiments.{experiment_name} "
                         f"--train_dir={train_dir}")
    return tf.saved_model.load(path)


def _act(experiment, values):
    """Run ``experiment.action`` on the finished ``--train_dir``; prints and returns."""
    flag = f"--{experiment.action}"
    overrides = config_lib.overrides_from_flags(experiment.Config, values)
    inputs = read_inputs(overrides.pop(experiment.action), flag, experiment.empty_inputs)
    lines, result = experiment.act(values.train_dir, inputs, overrides)
    return lines, result


# ---------------------------------------------------------------- the command line


def _usage_exit(message):
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


def quiet_tensorflow(verbosity):
    """Hide TensorFlow's per-save INFO lines unless ``verbosity`` >= 1.

    (Its C++ log level must be set before TensorFlow is imported:
    ``experiments/__init__.py`` does that from the command line.)
    """
    import logging as std_logging

    # TensorFlow's savers log through absl ("Sharding callback duration" at
    # every checkpoint) and through the "tensorflow" logger (export paths).
    level = std_logging.INFO if verbosity >= 1 else std_logging.ERROR
    std_logging.getLogger("tensorflow").setLevel(level)
    logging.set_verbosity(logging.INFO if verbosity >= 1 else logging.WARNING)


def define_flags(experiment, flag_values):
    """Every flag of ``experiment``: ``--config``, one per Config field, ``--train_dir``,
    ``--verbosity``."""
    from absl import flags

    module = f"experiments.{experiment.name}"
    config_lib.define_flags(experiment.Config, flag_values, experiment.presets,
                            getattr(experiment, "preset_help", ""), module_name=module)
    flags.DEFINE_string("train_dir", experiment.default_train_dir,
                        "Checkpoints, logs, flags.json/flags.txt, results.json.",
                        flag_values=flag_values, module_name=module)
    flags.DEFINE_integer("verbosity", 0, "1: also TensorFlow's INFO lines and debug logs.",
                         short_name="v", flag_values=flag_values, module_name=module)


def main(experiment, argv=None):
    """The command line of ``experiment``: parse flags, ``run``, print the results.

    Prints ``experiment.report(results)`` and then one line of strict JSON
    (the last line of output). A user mistake (bad flag, missing file, a
    setting that cannot change on resume) prints ``error: <one line>`` to
    stderr and exits with status 2; other errors keep their traceback.
    ``--flagfile=<train_dir>/flags.txt`` replays a run.
    """
    from absl import flags

    argv = list(sys.argv if argv is None else argv)
    values = flags.FlagValues()
    define_flags(experiment, values)
    if any(a in ("-h", "--help", "--helpshort", "--helpfull", "-?") for a in argv[1:]):
        doc = sys.modules.get("__main__").__doc__ or ""
        print(doc.strip() + "\n\nFlags:\n" + values.get_help(include_special_flags=False))
        sys.exit(0)
    try:
        rest = values(argv)
    except flags.Error as error:
        _usage_exit(one_line(error))
    if len(rest) > 1:
        _usage_exit(f"unexpected arguments {rest[1:]}; every setting is a --flag.")
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # absl logging then skips its "before flag parsing" note
    logging.use_absl_handler()
    quiet_tensorflow(values.verbosity)
    if experiment.action and values[experiment.action].present:
        try:
            lines, result = _act(experiment, values)
        except UsageError as error:
            _usage_exit(one_line(error, limit=2000))
        for line in lines:
            print(line)
        print(files.dumps(result), flush=True)
        return result
    try:
        overrides = config_lib.overrides_from_flags(experiment.Config, values)
        preset = values.config or experiment.default_preset(overrides)
        config = experiment.presets[preset].replace(**overrides)
        results = run(experiment, config, values.train_dir, preset=preset)
    except (UsageError, NonFiniteLossError) as error:
        _usage_exit(one_line(error, limit=2000))
    text = experiment.report(results)
    if text:
        print(text)
    line = {k: ("see results.json" if k in experiment.long_results else v)
            for k, v in results.items()}
    print(files.dumps(line), flush=True)
    return results

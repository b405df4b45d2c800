"""tf.distribute strategies for the experiments (never a home-made distribution layer).

``make_strategy("default" | "mirrored" | "multi_worker", num_cpu_devices=None)``:

* ``default``: ``tf.distribute.get_strategy()``, the no-op strategy.
* ``mirrored``: ``MirroredStrategy`` over every local device (GPUs where present).
  ``num_cpu_devices=N`` first splits the host CPU into N logical devices, so a
  CPU-only machine can run and test data-parallel training.
* ``multi_worker``: ``MultiWorkerMirroredStrategy``, configured by the
  ``TF_CONFIG`` environment variable (see docs/distributed.md, "Training on
  more than one machine"). Each worker uses its GPUs, or one CPU device.

Learning-rate rule: the global batch is ``per_replica_batch * num_replicas``;
the experiments keep the *global* batch size equal to ``--batch_size`` and
apply the configured learning rate to it unchanged, so a run means the same
thing whatever the number of replicas (gradients are summed across replicas,
then clipped by the norm of the sum).

Only the chief (``is_chief``) writes checkpoints, exports and results;
``ChiefCheckpointManager`` lets every worker take part in a (collective) save
while only the chief's copy is kept, and on resume copies the chief's restored
values to every worker, so ``train_dir`` need not be on a shared file system.

Example (two logical CPU devices; must run before any TensorFlow op):
    >>> strategy = make_strategy("mirrored", num_cpu_devices=2)  # doctest: +SKIP
    >>> strategy.num_replicas_in_sync                            # doctest: +SKIP
    2
"""

import collections
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf
from absl import logging

STRATEGIES = ("default", "mirrored", "multi_worker")

WorkerInfo = collections.namedtuple("WorkerInfo", ["task_type", "task_index", "num_workers"])
WorkerInfo.__doc__ = """This process's place in the TF_CONFIG cluster.

``num_workers`` counts the tasks that train ("chief" and "worker"); a process
without TF_CONFIG is ``WorkerInfo(None, 0, 1)``."""

_TRAINING_TASKS = ("chief", "worker")


def split_cpu(num_cpu_devices):
    """Split the host CPU into ``num_cpu_devices`` logical devices.

    Must run before TensorFlow initializes its devices (before any op runs);
    afterwards it raises a RuntimeError unless the split is already in place.
    """
    if num_cpu_devices is None or num_cpu_devices <= 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * int(num_cpu_devices)
        )
    except RuntimeError as error:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != num_cpu_devices:
            raise RuntimeError(
                f"Cannot split the CPU into `num_cpu_devices`={num_cpu_devices} devices: "
                f"TensorFlow is already initialized with {existing}. Set it before "
                f"running any TensorFlow op."
            ) from error


def tf_config():
    """The parsed ``TF_CONFIG`` environment variable ({} when unset or empty).

    Raises a ValueError naming TF_CONFIG when it is not a JSON object.
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"The TF_CONFIG environment variable is not valid JSON ({error}): "
                         f"{text[:200]!r}") from error
    if not isinstance(config, dict):
        raise ValueError(f"The TF_CONFIG environment variable must be a JSON object with "
                         f"'cluster' and 'task', got {text[:200]!r}.")
    return config


def worker_info():
    """This process's ``WorkerInfo`` from TF_CONFIG (checked: see ``make_strategy``)."""
    config = tf_config()
    task = config.get("task") or {}
    if not task:
        return WorkerInfo(None, 0, 1)
    _check_cluster(config)
    cluster = config["cluster"]
    return WorkerInfo(task["type"], int(task.get("index", 0)),
                      sum(len(cluster.get(kind, ())) for kind in _TRAINING_TASKS))


def _check_cluster(config):
    """Clear errors for the TF_CONFIG mistakes TensorFlow reports cryptically (or hangs on)."""
    cluster, task = config.get("cluster"), config.get("task")
    example = ('{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    if not isinstance(cluster, dict) or not any(cluster.get(k) for k in _TRAINING_TASKS):
        raise ValueError(f"TF_CONFIG needs a 'cluster' with a 'worker' (or 'chief') list of "
                         f"host:port addresses, e.g. {example}; got {config!r}.")
    if not isinstance(task, dict) or "type" not in task:
        raise ValueError(f"TF_CONFIG needs a 'task' with 'type' and 'index', e.g. {example}; "
                         f"got {config!r}.")
    kind, index = task["type"], task.get("index", 0)
    if kind not in _TRAINING_TASKS and kind not in cluster:
        return  # e.g. an "evaluator", which by convention is outside the cluster
    members = cluster.get(kind)
    if not isinstance(members, list) or not isinstance(index, int) or not (
            0 <= index < len(members)):
        raise ValueError(f"TF_CONFIG task {task!r} is not in the cluster {cluster!r}: "
                         f"'index' must count from 0 within cluster[{kind!r}].")


def make_strategy(name="default", num_cpu_devices=None):
    """A ``tf.distribute.Strategy`` by name; see the module docstring.

    Call it before any TensorFlow op: splitting the CPU and configuring the
    collective ops of ``multi_worker`` both need an uninitialized runtime.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Received an invalid value for argument `strategy`, expected one of "
            f"{list(STRATEGIES)}, got {name!r}."
        )
    if num_cpu_devices is not None and num_cpu_devices > 1 and name != "mirrored":
        # A silent no-op would make a "2-device" run quietly single-device.
        raise ValueError(
            f"`num_cpu_devices`={num_cpu_devices} only applies to `strategy`='mirrored', "
            f"got `strategy`={name!r}"
            + (" (MultiWorkerMirroredStrategy uses one CPU device per worker: start more "
               "workers instead)." if name == "multi_worker" else ".")
        )
    split_cpu(num_cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    config = tf_config()
    if not config:
        raise ValueError(
            "`strategy`='multi_worker' needs the TF_CONFIG environment variable "
            "(cluster and task); see docs/distributed.md, 'Training on more than one machine'."
        )
    _check_cluster(config)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise RuntimeError(
            "Cannot start MultiWorkerMirroredStrategy: TensorFlow is already initialized in "
            "this process; create the strategy before running any TensorFlow op "
            f"(in a fresh process). ({error})"
        ) from error


def is_multi_worker(strategy):
    """True when ``strategy`` spans more than one process (MultiWorkerMirroredStrategy)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy=None):
    """True on the worker that writes checkpoints, exports and results.

    Under ``MultiWorkerMirroredStrategy`` (or, without ``strategy``, whenever
    TF_CONFIG names a task) the chief is task 'chief' or, when the cluster has
    none, worker 0. Any other strategy runs in one process, which is then the
    chief whatever TF_CONFIG says: a TF_CONFIG left over in the environment
    must not silently stop a single-machine run from writing its results.
    """
    if strategy is not None and not is_multi_worker(strategy):
        return True
    config = tf_config()
    task = config.get("task") or {}
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return (task.get("type") == "worker" and task.get("index", 0) == 0
            and "chief" not in (config.get("cluster") or {}))


def broadcast_from_chief(strategy, variables):
    """Give every replica of every worker the chief's value of each variable.

    Restoring a checkpoint is a local assignment: under MultiWorkerMirroredStrategy
    a worker that restored nothing (the chief's checkpoint folder is not on its
    disk) would otherwise train on other weights and fall out of step. Global
    replica 0 is on the chief; every replica all-reduces its value masked to
    zero except on replica 0, so the sum is the chief's value bit for bit (but
    for the sign of a zero). Every worker must call this (it is a collective).
    Variables may be float or int64 (optimizer step counts, dropout seed
    states); bools go through int32.
    """
    variables = list(variables)
    if not variables:
        return

    def replica_values():
        context = tf.distribute.get_replica_context()
        on_chief = tf.equal(context.replica_id_in_sync_group, 0)
        masked = []
        for variable in variables:
            value = tf.convert_to_tensor(variable)
            if value.dtype == tf.bool:
                value = tf.cast(value, tf.int32)
            masked.append(tf.where(on_chief, value, tf.zeros_like(value)))
        # One all-reduce per dtype: TensorFlow packs a batch into one tensor,
        # which cannot mix float32 weights with int64 counters.
        summed = [None] * len(masked)
        for dtype in {value.dtype for value in masked}:
            indices = [i for i, value in enumerate(masked) if value.dtype == dtype]
            reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [masked[i] for i in indices])
            for i, value in zip(indices, reduced):
                summed[i] = value
        return summed

    @tf.function
    def broadcast():
        summed = strategy.run(replica_values)
        for variable, value in zip(variables, summed):
            local = strategy.experimental_local_results(value)[0]
            variable.assign(tf.cast(local, variable.dtype))

    broadcast()


class ChiefCheckpointManager:
    """A ``tf.train.CheckpointManager`` whose files only the chief keeps.

    Every worker calls ``save`` (under MultiWorkerMirroredStrategy saving may run
    collective ops, and a worker that skips it would leave the others waiting);
    a non-chief writes into a fresh temporary folder outside ``directory`` that
    is deleted as soon as the save returns, so nothing of it is left behind,
    not even in a shared ``train_dir``. ``restore`` restores on the chief and,
    with several workers, broadcasts ``variables`` from it, so every worker
    resumes from the chief's checkpoint whether or not it can read that folder.

    Args:
        checkpoint: the ``tf.train.Checkpoint`` to save and restore.
        directory: the chief's checkpoint folder.
        strategy: the ``tf.distribute.Strategy`` in use.
        variables: everything ``checkpoint`` holds, for the broadcast on resume.
        max_to_keep: checkpoints the chief keeps (default 2).
    """

    def __init__(self, checkpoint, directory, strategy, variables, max_to_keep=2):
        self.checkpoint = checkpoint
        self.directory = directory
        self.strategy = strategy
        self.variables = list(variables)
        self.chief = is_chief(strategy)
        self._max_to_keep = max_to_keep
        self.manager = (tf.train.CheckpointManager(checkpoint, directory, max_to_keep)
                        if self.chief else None)

    @property
    def latest_checkpoint(self):
        """The chief's newest checkpoint path (None on other workers or when none)."""
        return self.manager.latest_checkpoint if self.manager else None

    def restore(self):
        """Restore the newest intact checkpoint on every worker; its path on the chief.

        A checkpoint that cannot be read (a truncated ``.data`` or ``.index``
        file, deleted files) is skipped with a warning and the next older one
        is restored; when checkpoints exist but none can be read, a ValueError
        names the folder. Returns None when there is no checkpoint (and on
        workers other than the chief).
        """
        restored = self._restore_newest_intact() if self.chief else None
        if is_multi_worker(self.strategy):
            broadcast_from_chief(self.strategy, self.variables)
        return restored

    def candidates(self):
        """The chief's checkpoint prefixes, newest first: those of the ``checkpoint``
        index file and any other ``ckpt-N.index`` in the folder (the index may be lost)."""
        if not self.chief:
            return []
        try:
            listed = list(self.manager.checkpoints)
        except Exception:  # noqa: BLE001 - a damaged index file: use the folder's files
            listed = []
        on_disk = [path[:-len(".index")] for path in
                   tf.io.gfile.glob(os.path.join(self.directory, "ckpt-*.index"))]

        def number(path):
            match = re.search(r"-(\d+)$", path)
            return int(match.group(1)) if match else -1

        unique = {os.path.basename(p): p for p in [*listed, *on_disk]}
        return sorted(unique.values(), key=number, reverse=True)

    def _restore_newest_intact(self):
        problems = []
        for path in self.candidates():
            try:
                self.checkpoint.restore(path).expect_partial()
            except Exception as error:  # noqa: BLE001 - a damaged file raises OpError,
                # IndexError ("Read less bytes than requested"), ValueError, ...
                first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
                problems.append(f"{os.path.basename(path)}: {type(error).__name__} {first}")
                logging.warning("checkpoint %s cannot be read (%s: %s); trying an older one",
                                path, type(error).__name__, first)
                continue
            if problems:
                logging.warning("resumed from %s: the newer checkpoint(s) in %s could not be "
                                "read (%s)", path, self.directory, "; ".join(problems))
                print(f"warning: resumed from {path}: newer checkpoint(s) could not be read "
                      f"({'; '.join(problems)})", flush=True)
            return path
        if problems:
            raise ValueError(
                f"--train_dir: no checkpoint in {self.directory!r} can be read "
                f"({'; '.join(problems)}); restore the folder from a backup, or delete it "
                f"(or use a new --train_dir) to start over.")
        return None

    def save(self, checkpoint_number):
        """Save on every worker; returns the chief's path (None on other workers)."""
        if self.chief:
            return self.manager.save(checkpoint_number=checkpoint_number)
        folder = tempfile.mkdtemp(prefix="seqkit-worker-checkpoint-")
        try:
            tf.train.CheckpointManager(self.checkpoint, folder, self._max_to_keep).save(
                checkpoint_number=checkpoint_number)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return None


def per_replica(strategy, make):
    """A per-replica value: ``make(replica_id, num_replicas)`` evaluated on each replica.

    The data sharding of the experiments: replica ``r`` of ``R`` takes rows
    ``[r·b, (r+1)·b)`` of every global batch (``b = batch / R``), the same on
    every worker, so R replicas see exactly what one device sees.
    """
    return strategy.experimental_distribute_values_from_function(
        lambda context: make(context.replica_id_in_sync_group, context.num_replicas_in_sync))


def rows_of_replica(batch, replica, replicas):
    """Rows ``[r·b, (r+1)·b)`` of a global ``batch`` (``b = len(batch) / replicas``)."""
    size = len(batch) // replicas
    return batch[replica * size:(replica + 1) * size]


def apply_clipped_gradients(optimizer, grads, variables, max_norm):
    """Apply ``grads`` clipped by the global norm of their sum over the replicas.

    Call in replica context (inside ``strategy.run``) with each replica's
    gradient of its share of the global loss. Keras's optimizer sums the
    replicas' gradients *after* any clipping it does itself, so its own
    ``global_clipnorm`` would use each replica's norm; scaling every replica's
    part by ``min(1, max_norm / ||Σ grads||)`` instead makes the applied sum
    ``clip_by_global_norm(Σ grads, max_norm)``, what one device computes.
    ``max_norm`` of 0 or None applies the gradients unclipped.
    """
    if max_norm:
        context = tf.distribute.get_replica_context()
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        norm = tf.linalg.global_norm(total)
        scale = tf.minimum(1.0, max_norm / tf.maximum(norm, 1e-12))
        grads = [g * scale for g in grads]
    optimizer.apply_gradients(list(zip(grads, variables)))

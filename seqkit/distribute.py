"""tf.distribute strategies for the experiments (never a home-made distribution layer).

``make_strategy("default" | "mirrored" | "multi_worker", num_cpu_devices=None)``:

* ``default``: ``tf.distribute.get_strategy()``, the no-op strategy.
* ``mirrored``: ``MirroredStrategy`` over every local device (GPUs where present).
  ``num_cpu_devices=N`` first splits the host CPU into N logical devices, so a
  CPU-only machine can run and test data-parallel training.
* ``multi_worker``: ``MultiWorkerMirroredStrategy``, configured by the
  ``TF_CONFIG`` environment variable (see README, "Training on more than one machine").

Learning-rate rule: the global batch is ``per_replica_batch * num_replicas``;
the experiments keep the *global* batch size equal to ``--batch_size`` so the
configured learning rate keeps its meaning whatever the number of replicas.
"""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def split_cpu(num_cpu_devices):
    """Split the host CPU into ``num_cpu_devices`` logical devices.

    Must run before TensorFlow initializes its devices (before any op runs).
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


def make_strategy(name="default", num_cpu_devices=None):
    """A ``tf.distribute.Strategy`` by name; see the module docstring."""
    if name not in STRATEGIES:
        raise ValueError(
            f"Received an invalid value for argument `strategy`, expected one of "
            f"{list(STRATEGIES)}, got {name!r}."
        )
    split_cpu(num_cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise ValueError(
            "`strategy`='multi_worker' needs the TF_CONFIG environment variable "
            "(cluster and task); see the README section 'Training on more than one machine'."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy=None):
    """True on the worker that writes checkpoints, exports and results.

    With TF_CONFIG the chief is task 'chief' or, without one, worker 0; a
    single-machine run is always the chief.
    """
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    cluster = config.get("cluster", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in cluster

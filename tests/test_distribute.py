"""seqkit.distribute, and experiments.lm and experiments.forecast under MirroredStrategy and
MultiWorkerMirroredStrategy.

The strategy tests run in fresh processes: logical CPU devices and the
collective ops of MultiWorkerMirroredStrategy can only be configured before
TensorFlow initializes, which the test process did long ago.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf

from experiments.lm import configs, train
from seqkit import distribute
from tests.helpers import WORDS, write_ptb_corpus

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small thread pools: the workers share 2 cores with the rest of the suite.
# PYTHONPATH: the subprocesses import this checkout, whatever else is installed.
QUIET_ENV = dict(PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
                 OMP_NUM_THREADS="1",
                 TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="2")


def _cluster(workers):
    return {"worker": [f"127.0.0.1:{port}" for port in range(5000, 5000 + workers)]}


def _tf_config(monkeypatch, config):
    monkeypatch.setenv("TF_CONFIG", config if isinstance(config, str) else json.dumps(config))


# ------------------------------------------------------------------ make_strategy


def test_make_strategy_default_is_the_no_op_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribute.make_strategy("default")
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert not distribute.is_multi_worker(strategy)


def test_make_strategy_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"`strategy`.*'mirored'"):
        distribute.make_strategy("mirored")


@pytest.mark.parametrize("name", ["default", "multi_worker"])
def test_num_cpu_devices_only_applies_to_mirrored(name):
    # Raised before anything is split or started: a "2-device" run that
    # silently used one device would be worse than an error.
    with pytest.raises(ValueError, match="`num_cpu_devices`=2 only applies to `strategy`="):
        distribute.make_strategy(name, num_cpu_devices=2)


@pytest.mark.parametrize(
    "tf_config, match",
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("{'cluster': ", "TF_CONFIG environment variable is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"task": {"type": "worker", "index": 0}}, "needs a 'cluster'"),
        ({"cluster": _cluster(2)}, "needs a 'task'"),
        ({"cluster": _cluster(2), "task": {"type": "worker", "index": 2}}, "is not in the cluster"),
        ({"cluster": _cluster(2), "task": {"type": "chief", "index": 0}}, "is not in the cluster"),
    ],
)
def test_multi_worker_needs_a_valid_tf_config(monkeypatch, tf_config, match):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        _tf_config(monkeypatch, tf_config)
    with pytest.raises(ValueError, match=match):
        distribute.make_strategy("multi_worker")


def test_split_cpu_after_tensorflow_started_is_a_clear_error():
    tf.constant(1.0) + 1.0  # make sure the runtime (and its devices) is initialized
    existing = len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(RuntimeError, match="already initialized with"):
        distribute.split_cpu(existing + 1)
    distribute.split_cpu(existing)  # asking for what is already there is fine
    distribute.split_cpu(None)
    distribute.split_cpu(1)
    assert len(tf.config.list_logical_devices("CPU")) == existing


# ------------------------------------------------------------- chief and workers


@pytest.mark.parametrize(
    "tf_config, chief, info",
    [
        (None, True, (None, 0, 1)),
        ("", True, (None, 0, 1)),
        ({"cluster": _cluster(2), "task": {"type": "worker", "index": 0}}, True, ("worker", 0, 2)),
        ({"cluster": _cluster(2), "task": {"type": "worker", "index": 1}}, False, ("worker", 1, 2)),
        ({"cluster": {**_cluster(2), "chief": ["127.0.0.1:4999"]},
          "task": {"type": "worker", "index": 0}}, False, ("worker", 0, 3)),
        ({"cluster": {**_cluster(2), "chief": ["127.0.0.1:4999"]},
          "task": {"type": "chief", "index": 0}}, True, ("chief", 0, 3)),
        ({"cluster": _cluster(2), "task": {"type": "evaluator", "index": 0}}, False,
         ("evaluator", 0, 2)),
    ],
)
def test_is_chief_and_worker_info_follow_tf_config(monkeypatch, tf_config, chief, info):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        _tf_config(monkeypatch, tf_config)
    assert distribute.is_chief() is chief
    assert tuple(distribute.worker_info()) == info


def test_a_single_process_strategy_is_always_the_chief(monkeypatch):
    # A TF_CONFIG left over from a cluster job must not stop a one-machine run
    # from writing its checkpoints and results.
    _tf_config(monkeypatch, {"cluster": _cluster(2), "task": {"type": "worker", "index": 1}})
    assert not distribute.is_chief()
    assert distribute.is_chief(tf.distribute.get_strategy())


def test_chief_checkpoint_manager_saves_and_restores(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = tf.distribute.get_strategy()
    weights, step = tf.Variable([1.0, 2.0]), tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(weights=weights, step=step)
    manager = distribute.ChiefCheckpointManager(checkpoint, str(tmp_path / "ckpt"), strategy,
                                                [weights, step])
    assert manager.restore() is None
    weights.assign([3.0, 4.0])
    step.assign(7)
    saved = manager.save(7)
    assert saved.endswith("ckpt-7") and manager.latest_checkpoint == saved
    weights.assign([0.0, 0.0])
    step.assign(0)
    assert manager.restore() == saved
    assert weights.numpy().tolist() == [3.0, 4.0] and int(step.numpy()) == 7


def test_non_chief_checkpoints_leave_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(distribute, "is_chief", lambda strategy=None: False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    weights = tf.Variable([1.0, 2.0])
    manager = distribute.ChiefCheckpointManager(
        tf.train.Checkpoint(weights=weights), str(tmp_path / "ckpt"),
        tf.distribute.get_strategy(), [weights])
    written = []
    real_save = tf.train.CheckpointManager.save
    monkeypatch.setattr(tf.train.CheckpointManager, "save",
                        lambda self, **kw: written.append(real_save(self, **kw)) or written[-1])
    assert manager.save(1) is None and manager.save(2) is None
    # It did write (the collective save happened), into the scratch folder...
    assert [os.path.dirname(os.path.dirname(path)) for path in written] == [str(scratch)] * 2
    # ...which is gone, and the chief's folder was never touched.
    assert os.listdir(scratch) == []
    assert not (tmp_path / "ckpt").exists()
    assert manager.latest_checkpoint is None and manager.restore() is None


# ---------------------------------------------------------------- fresh processes


def _run(args, timeout=300, **kwargs):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                         env={**os.environ, **QUIET_ENV}, **kwargs)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


def test_broadcast_from_chief_copies_replica_zero_to_every_replica():
    code = """
import json
from seqkit import distribute
strategy = distribute.make_strategy("mirrored", num_cpu_devices=2)
import numpy as np, tensorflow as tf
with strategy.scope():
    variables = [tf.Variable([1.5, 0.25, 2.0]), tf.Variable(np.array([2**62 + 3, -5], np.int64)),
                 tf.Variable([True, False])]
others = [[9.0, 9.0, 9.0], [1, 1], [False, True]]
for variable, other in zip(variables, others):  # make replica 1's copy differ
    strategy.experimental_local_results(variable)[1].assign(other)
distribute.broadcast_from_chief(strategy, variables)
print(json.dumps([[np.asarray(c).tolist() for c in strategy.experimental_local_results(v)]
                  for v in variables]))
"""
    copies = json.loads(_run([sys.executable, "-c", code]).strip().splitlines()[-1])
    assert copies == [[[1.5, 0.25, 2.0]] * 2, [[2**62 + 3, -5]] * 2, [[True, False]] * 2]


def _write_corpus(folder, lines=24, seed=0):
    return write_ptb_corpus(folder, lines=lines, seed=seed, words=WORDS)


# The tiny run every test below trains, as flags and as a config.
TINY = dict(hidden_size=8, num_steps=5, batch_size=4, eval_batch_size=2, sample_tokens=0,
            progress=False)


def _flags(data_dir, **changes):
    settings = {**TINY, "data_dir": data_dir, **changes}
    return ["--config=test"] + [f"--{k}={str(v).lower() if isinstance(v, bool) else v}"
                                for k, v in settings.items()]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _write_corpus(str(tmp_path_factory.mktemp("ptb")))


def _single_device(data_dir, train_dir, epochs):
    """The reference: the same global batch on one device, in this process."""
    weights = []
    build_model = train.build_model

    def capture(*args, **kwargs):
        weights.append(build_model(*args, **kwargs))
        return weights[-1]

    train.build_model = capture
    try:
        config = configs.get_config("test").replace(data_dir=data_dir, epochs=epochs, **TINY)
        results = train.train_and_evaluate(config, str(train_dir))
    finally:
        train.build_model = build_model
    return results, [np.asarray(w) for w in weights[-1].get_weights()]


def test_command_line_mirrored_on_two_logical_cpus_matches_one_device(data_dir, tmp_path):
    # The real command: --num_cpu_devices must take effect although the
    # experiment imports TensorFlow (and loads the corpus) before the strategy.
    stdout = _run([sys.executable, "-m", "experiments.lm", *_flags(data_dir, epochs=1),
                   "--strategy=mirrored", "--num_cpu_devices=2",
                   f"--train_dir={tmp_path / 'two'}"])
    two = json.loads(stdout.strip().splitlines()[-1])
    assert json.load(open(tmp_path / "two" / "flags.json"))["replicas"] == 2
    one, _ = _single_device(data_dir, tmp_path / "one", epochs=1)
    for key in ("train_perplexity", "valid_perplexity", "test_perplexity"):
        assert two[key] == pytest.approx(one[key], rel=1e-4), key


def _worker_script(job, builder_module):
    """A worker: `python -m experiments.<job>` with its flags, then the final weights
    (the model is caught where ``experiments.<job>.<builder_module>.build_model`` makes it)."""
    modules = ", ".join(sorted({builder_module, "train"}))
    return f"""
import hashlib, json, sys
import numpy as np
from experiments.{job} import {modules}
from seqkit import runs

built, build_model = [], {builder_module}.build_model
{builder_module}.build_model = lambda *a, **k: built.append(build_model(*a, **k)) or built[-1]
runs.main(train.EXPERIMENT, argv=["experiments.{job}", *sys.argv[1:]])
weights = [np.asarray(w) for w in built[-1].get_weights()]
print("WEIGHTS " + json.dumps({{
    "sha256": hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest(),
    "weights": [w.tolist() for w in weights]}}), flush=True)
"""


WORKER = _worker_script("lm", "train")


def _free_ports(count):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_cluster(script, flags_of, scratch, timeout=300):
    """Start one process per flag list as a MultiWorkerMirroredStrategy cluster on
    127.0.0.1 (worker 0 is the chief); return each one's stdout. Any failure or
    timeout kills every worker (a lone worker would wait for its peer forever)."""
    try:
        ports = _free_ports(len(flags_of))
    except OSError as error:
        pytest.skip(f"cannot bind a loopback port for the workers: {error}")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, outputs, timed_out = [], [], False
    deadline = time.monotonic() + timeout
    try:
        for index, flags in enumerate(flags_of):
            env = {**os.environ, **QUIET_ENV, "TMPDIR": str(scratch[index]),
                   "TF_CONFIG": json.dumps({"cluster": cluster,
                                            "task": {"type": "worker", "index": index}})}
            processes.append(subprocess.Popen(
                [sys.executable, str(script), *flags], cwd=REPO, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for process in processes:
            outputs.append(process.communicate(timeout=max(1.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        for process in processes[len(outputs):]:
            process.kill()
            outputs.append(process.communicate())
    report = "\n".join(f"--- worker {i} (exit {p.returncode}):\n{err[-3000:]}"
                       for i, (p, (_, err)) in enumerate(zip(processes, outputs)))
    assert not timed_out, f"the workers did not finish within {timeout} s\n{report}"
    assert all(p.returncode == 0 for p in processes), report
    return [stdout for stdout, _ in outputs]


def _weights(stdout):
    line = [line for line in stdout.splitlines() if line.startswith("WEIGHTS ")][-1]
    return json.loads(line[len("WEIGHTS "):])


def test_multi_worker_trains_like_one_device_only_the_chief_writes_and_resumes(
        data_dir, tmp_path):
    # Each worker gets its own --train_dir (and TMPDIR): as on two machines
    # without a shared disk, worker 1 cannot read the chief's checkpoints, so
    # resuming also proves it takes the chief's restored state.
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    dirs = [tmp_path / f"train{i}" for i in range(2)]
    scratch = [tmp_path / f"tmp{i}" for i in range(2)]
    exports = [tmp_path / f"export{i}" for i in range(2)]
    for folder in scratch:
        folder.mkdir()

    def flags(epochs, index):
        return [*_flags(data_dir, epochs=epochs), "--strategy=multi_worker",
                f"--train_dir={dirs[index]}", f"--export_dir={exports[index]}"]

    # Epoch 1, then the same command with --epochs=2 resumes after it.
    first = _run_cluster(script, [flags(1, i) for i in range(2)], scratch)
    assert tf.train.latest_checkpoint(str(dirs[0] / "checkpoints")).endswith("ckpt-1")
    second = _run_cluster(script, [flags(2, i) for i in range(2)], scratch)

    assert _weights(first[0])["sha256"] == _weights(first[1])["sha256"]
    for stdout in second:  # resumed: epoch 1 is not trained again
        assert "epoch 2/2" in stdout and "epoch 1/2" not in stdout
    # Both workers end with bit-identical weights and report the same metrics.
    chief, other = (_weights(stdout) for stdout in second)
    assert chief["sha256"] == other["sha256"]
    metrics = [json.loads([l for l in s.splitlines() if l.startswith("{")][-1]) for s in second]
    assert metrics[0]["test_perplexity"] == metrics[1]["test_perplexity"]

    # Only the chief wrote: checkpoints of both epochs, flags, vocab, logs,
    # results and the export; worker 1 creates no train_dir or export, its temp is empty.
    assert json.load(open(dirs[0] / "results.json"))["epochs_completed"] == 2
    assert json.load(open(dirs[0] / "flags.json"))["replicas"] == 2
    assert {"checkpoints", "best", "logs", "vocab.txt", "flags.txt"} <= set(os.listdir(dirs[0]))
    assert tf.train.latest_checkpoint(str(dirs[0] / "checkpoints")).endswith("ckpt-2")
    assert (exports[0] / "saved_model.pb").exists()
    assert not dirs[1].exists() and not exports[1].exists()
    assert os.listdir(scratch[1]) == []

    # Sharding by replica (worker 0: streams 0-1, worker 1: streams 2-3) plus
    # summed gradients is one device with the same global batch of 4 streams;
    # the resumed run equals an uninterrupted one.
    reference, weights = _single_device(data_dir, tmp_path / "one", epochs=2)
    for got, want in zip(chief["weights"], weights):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-6)
    assert metrics[0]["test_perplexity"] == pytest.approx(reference["test_perplexity"], rel=1e-4)


FORECAST_WORKER = _worker_script("forecast", "models")


def test_forecast_multi_worker_trains_like_one_device_only_the_chief_writes_and_resumes(
        tmp_path):
    from experiments.forecast import configs as forecast_configs
    from experiments.forecast import train as forecast_train

    script = tmp_path / "worker.py"
    script.write_text(FORECAST_WORKER)
    dirs = [tmp_path / f"train{i}" for i in range(2)]
    scratch = [tmp_path / f"tmp{i}" for i in range(2)]
    exports = [tmp_path / f"export{i}" for i in range(2)]
    for folder in scratch:
        folder.mkdir()

    def flags(epochs, index):
        return ["--config=test", "--dropout=0", f"--epochs={epochs}", "--noprogress",
                "--strategy=multi_worker", f"--train_dir={dirs[index]}",
                f"--export_dir={exports[index]}"]

    first = _run_cluster(script, [flags(1, i) for i in range(2)], scratch)
    assert _weights(first[0])["sha256"] == _weights(first[1])["sha256"]
    second = _run_cluster(script, [flags(2, i) for i in range(2)], scratch)
    for stdout in second:  # resumed: epoch 1 is not trained again
        assert "epoch 2/2" in stdout and "epoch 1/2" not in stdout
    chief, other = (_weights(stdout) for stdout in second)
    assert chief["sha256"] == other["sha256"]
    metrics = [json.loads([l for l in s.splitlines() if l.startswith("{")][-1]) for s in second]
    assert metrics[0]["test_mse"] == metrics[1]["test_mse"] and metrics[0]["replicas"] == 2

    assert json.load(open(dirs[0] / "results.json"))["epochs_completed"] == 2
    assert tf.train.latest_checkpoint(str(dirs[0] / "checkpoints")).endswith("ckpt-2")
    assert (exports[0] / "saved_model.pb").exists()
    assert not dirs[1].exists() and not exports[1].exists()
    assert os.listdir(scratch[1]) == []

    # Two workers with one replica each = one device with the same global batch.
    config = forecast_configs.get_config("test").replace(dropout=0.0, epochs=2,
                                                         progress=False)
    reference = forecast_train.train_and_evaluate(config, str(tmp_path / "one"))
    assert metrics[0]["test_mse"] == pytest.approx(reference["test_mse"], rel=1e-4)

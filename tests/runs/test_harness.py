"""seqkit.runs on a toy experiment (a two-layer regression, seconds per run): flags from
the Config, locks, damaged checkpoints, strict JSON, file modes, TensorFlow filesystems."""

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from seqkit import runs
from seqkit.runs import config as config_lib
from seqkit.runs import files


@dataclasses.dataclass(frozen=True)
class Config(runs.RunConfig):
    units: int = runs.field(4, "Hidden units.", lower=1)
    learning_rate: float = runs.field(0.05, "SGD learning rate.", above=0)
    dropout: float = runs.field(0.0, "Dropout.", lower=0, below=1)
    rows: int = runs.field(64, "Rows of toy data (like a data path: the fingerprint guards "
                           "resuming).", lower=8, resumable=True)
    batch_size: int = runs.field(16, "Global batch.", lower=1)
    activation: str = runs.field("tanh", "Hidden activation.", choices=("tanh", "relu"))
    columns: tuple[str, ...] = runs.field(("a", "b"), "Input columns.")
    nan_metric: bool = runs.field(False, "Report a metric that cannot be computed.",
                                  resumable=True)
    export_dir: str = runs.field("", "Export folder (checked, never written).", resumable=True)
    plot: bool = runs.field(False, "Needs matplotlib.", resumable=True)


class Toy(runs.Experiment):
    name = "toy"
    Config = Config
    presets = {"default": Config(), "tiny": Config(units=2, rows=32)}
    default_train_dir = "runs/toy"
    throughput_unit = "rows"

    def load_data(self, config):
        rng = np.random.default_rng(123)
        x = rng.standard_normal((config.rows, len(config.columns))).astype("float32")
        y = (x @ np.arange(1, len(config.columns) + 1, dtype="float32"))[:, None]
        return x, np.tanh(y)

    def fingerprint(self, config, data):
        return {"rows": int(data[0].shape[0]),
                "sha256": hashlib.sha256(data[0].tobytes()).hexdigest()}

    def build(self, config, data):
        model = keras.Sequential([keras.Input((data[0].shape[1],)),
                                  keras.layers.Dense(config.units, config.activation),
                                  keras.layers.Dropout(config.dropout, seed=config.seed),
                                  keras.layers.Dense(1)])
        return model, keras.optimizers.SGD(config.learning_rate)

    def train_epoch(self, run, epoch):
        x, y = run.data
        order = np.random.default_rng([run.config.seed, epoch]).permutation(len(x))
        total, size = 0.0, run.config.batch_size
        progress = run.progress(len(x) // size)
        for step in range(len(x) // size):
            rows = order[step * size:(step + 1) * size]
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((run.model(x[rows], training=True) - y[rows]) ** 2)
            grads = tape.gradient(loss, run.model.trainable_variables)
            run.optimizer.apply_gradients(zip(grads, run.model.trainable_variables))
            total += run.check_finite(loss, f"{epoch}.{step}")
            progress.update(step + 1, loss=total / (step + 1))
        return {"loss": total / (len(x) // size), "rows": len(x) // size * size}

    def evaluate(self, run, split):
        x, y = run.data
        half = len(x) // 2
        x, y = (x[:half], y[:half]) if split == "valid" else (x[half:], y[half:])
        metrics = {"loss": float(np.mean((np.asarray(run.model(x)) - y) ** 2))}
        if run.config.nan_metric:
            metrics["ratio"] = float("nan")
        return metrics


TOY = Toy()


def _run(train_dir, **changes):
    return runs.run(TOY, Config(epochs=2, progress=False).replace(**changes), str(train_dir))


# ---------------------------------------------------------------- flags from the Config


def _flag_values():
    values = flags.FlagValues()
    runs.harness.define_flags(TOY, values)
    return values


def test_flags_have_the_fields_types_enums_bounds_and_help():
    values = _flag_values()
    values(["toy", "--units=8", "--learning_rate=0.5", "--activation=relu", "--columns=x,y,z",
            "--noprogress", "--config=tiny"])
    overrides = config_lib.overrides_from_flags(Config, values)
    assert overrides == {"units": 8, "learning_rate": 0.5, "activation": "relu",
                         "columns": ("x", "y", "z"), "progress": False}
    assert TOY.presets[values.config].replace(**overrides).rows == 32   # the preset's value
    assert "Hidden units." in values["units"].help and values["train_dir"].value == "runs/toy"
    for argv, message in ((["--units=0"], "--units=0: 0 is not a positive integer"),
                          (["--learning_rate=nan"], "--learning_rate=nan: expected a finite"),
                          (["--learning_rate=0"], "expected a finite number > 0, got 0.0"),
                          (["--dropout=1"], "< 1"),
                          (["--activation=sigmoid"], "--activation"),
                          (["--config=nope"], r"--config=nope: expected one of \['default', "
                                              r"'tiny'\], got 'nope'")):
        with pytest.raises(flags.Error, match=message):
            _flag_values()(["toy", *argv])


def test_flag_lines_parse_back_to_the_same_config():
    config = Config(units=3, learning_rate=0.1 + 0.2, columns=("p", "q"), progress=False,
                    activation="relu", export_dir="/x y")
    values = _flag_values()
    values(["toy", *config_lib.flag_lines(config)])
    assert Config().replace(**config_lib.overrides_from_flags(Config, values)) == config


def test_a_config_built_in_code_gets_the_same_checks(tmp_path):
    for changes, message in (({"units": 0}, "--units: expected an integer >= 1, got 0"),
                             ({"learning_rate": float("inf")}, "--learning_rate: expected a "
                                                               "finite number > 0, got inf"),
                             ({"activation": "x"}, "--activation: expected one of"),
                             ({"batch_size": True}, "--batch_size: expected an integer")):
        with pytest.raises(runs.UsageError, match=message):
            _run(tmp_path / "run", **changes)
    assert not (tmp_path / "run").exists()  # nothing written for a rejected config


def test_up_front_checks_fail_before_anything_is_written(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(runs.UsageError, match="--export_dir: cannot create .* is a file"):
        _run(tmp_path / "run", export_dir=str(tmp_path / "file" / "export"))
    with pytest.raises(runs.UsageError, match="--train_dir: cannot create"):
        _run(tmp_path / "file" / "run")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(runs.UsageError, match="--plot: needs matplotlib"):
        _run(tmp_path / "run", plot=True)
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- results and files


def test_results_are_strict_json_with_null_for_what_cannot_be_computed(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        results = _run(tmp_path, nan_metric=True)
    assert results["test_ratio"] is None and results["valid_ratio"] is None
    assert "test_ratio is nan: written as null" in caplog.text

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    written = json.loads((tmp_path / "results.json").read_text(), parse_constant=refuse)
    assert written["test_loss"] == results["test_loss"] and written["test_ratio"] is None
    for key in ("wall_seconds", "train_seconds", "rows_per_second", "parameters"):
        assert written[key] > 0, key
    assert written["epochs_completed"] == 2 and written["best_epoch"] in (1, 2)


def test_files_get_the_users_umask(tmp_path):
    old = os.umask(0o027)
    try:
        _run(tmp_path / "run")
    finally:
        os.umask(old)
    for name in ("flags.json", "flags.txt", "results.json"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o640, name


def test_tensorboard_gets_the_epoch_scalars(tmp_path):
    _run(tmp_path)
    tags = set()
    for event_file in tf.io.gfile.glob(str(tmp_path / "logs" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(event_file):
            tags.update(value.tag for value in event.summary.value)
    assert {"train/loss", "valid/loss", "rows_per_second"} <= tags


def test_a_tensorflow_filesystem_train_dir_is_not_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = _run("ram://seqkit-test/run")
    assert tf.io.gfile.exists("ram://seqkit-test/run/results.json")
    assert json.loads(files.read_text("ram://seqkit-test/run/results.json"))["test_loss"] == \
        results["test_loss"]
    assert tf.io.gfile.glob("ram://seqkit-test/run/checkpoints/ckpt-2*")
    assert os.listdir(tmp_path) == []  # no local folder named "ram:"
    assert files.join("gs://bucket/run", "checkpoints") == "gs://bucket/run/checkpoints"


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert runs.Progress(10, enabled=True).bar is None
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert runs.Progress(10, enabled=True).bar is not None
    assert runs.Progress(10, enabled=False).bar is None


# ---------------------------------------------------------------- resume, lock, damage


def test_resume_continues_to_the_metrics_of_an_uninterrupted_run(tmp_path):
    straight = _run(tmp_path / "straight", epochs=3, dropout=0.3)
    _run(tmp_path / "resumed", epochs=1, dropout=0.3)
    resumed = _run(tmp_path / "resumed", epochs=3, dropout=0.3)
    assert resumed["resumed_from_epoch"] == 1
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-6)
    with pytest.raises(runs.UsageError, match=r"other settings \(--units: 4 -> 5\)"):
        _run(tmp_path / "resumed", epochs=4, dropout=0.3, units=5)
    with pytest.raises(runs.UsageError, match="trained on other data .*rows: 64 -> 72"):
        _run(tmp_path / "resumed", epochs=4, dropout=0.3, rows=72)


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_running_run_locks_its_train_dir_and_a_stale_lock_is_taken_over(tmp_path, caplog):
    folder = tmp_path / "run"
    folder.mkdir()
    lock = folder / ".lock"
    host = runs.TrainDirLock(str(folder)).owner["host"]
    lock.write_text(json.dumps({"pid": os.getppid(), "host": host}))  # alive: pytest's parent
    with pytest.raises(runs.UsageError, match=r"another run \(pid \d+ .*delete .*\.lock"):
        _run(folder)
    assert sorted(os.listdir(folder)) == [".lock"]  # nothing else written
    lock.write_text(json.dumps({"pid": _dead_pid(), "host": host}))
    with caplog.at_level(logging.WARNING):
        results = _run(folder)
    assert "taking over the stale lock" in caplog.text and results["epochs_completed"] == 2
    assert not lock.exists()


@pytest.mark.parametrize("damage", ["truncate_data", "truncate_index", "delete_data",
                                    "delete_all"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage, capsys):
    straight = _run(tmp_path / "straight", epochs=3)
    _run(tmp_path / "run", epochs=2)
    prefix = tmp_path / "run" / "checkpoints" / "ckpt-2"
    data, index = (f"{prefix}.data-00000-of-00001", f"{prefix}.index")
    if damage.startswith("truncate"):
        path = data if damage == "truncate_data" else index
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 2)
    else:
        for path in ([data] if damage == "delete_data" else [data, index]):
            os.remove(path)
    resumed = _run(tmp_path / "run", epochs=3)
    assert resumed["resumed_from_epoch"] == 1
    assert "warning: resumed from" in capsys.readouterr().out
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-6)


def test_no_readable_checkpoint_is_a_clear_error(tmp_path):
    _run(tmp_path, epochs=2)
    for path in tf.io.gfile.glob(str(tmp_path / "checkpoints" / "ckpt-*.data*")):
        with open(path, "wb") as handle:
            handle.write(b"garbage")
    with pytest.raises(runs.UsageError, match="no checkpoint in .* can be read"):
        _run(tmp_path, epochs=3)


def test_main_runs_the_experiment_and_exits_2_on_a_user_mistake(tmp_path, capsys):
    results = runs.main(TOY, ["toy", "--config=tiny", "--epochs=1",
                              f"--train_dir={tmp_path / 'run'}"])
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == results and out[0].startswith("epoch 1/1:")
    assert "--units=2" in (tmp_path / "run" / "flags.txt").read_text()
    with pytest.raises(SystemExit) as exit_:
        runs.main(TOY, ["toy", "--units=-1", f"--train_dir={tmp_path / 'bad'}"])
    assert exit_.value.code == runs.EXIT_USAGE
    assert capsys.readouterr().err.startswith("error: flag --units=-1: ")
    with pytest.raises(SystemExit) as exit_:
        runs.main(TOY, ["toy", "stray", f"--train_dir={tmp_path / 'bad'}"])
    assert exit_.value.code == runs.EXIT_USAGE
    assert not (tmp_path / "bad").exists()


def test_an_unexpected_error_keeps_its_traceback_and_releases_the_lock(tmp_path, monkeypatch):
    def broken(run, epoch):
        raise RuntimeError("a bug, not a user mistake")

    monkeypatch.setattr(TOY, "train_epoch", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # not SystemExit(2) with one line
        runs.main(TOY, ["toy", f"--train_dir={tmp_path / 'run'}"])
    assert not (tmp_path / "run" / ".lock").exists()


# ---------------------------------------------------------------- actions on a finished run


@dataclasses.dataclass(frozen=True)
class ActionConfig(Config):
    predict: str = runs.field("", "Predict these inputs with a finished run.", resumable=True)


class ToyWithAction(Toy):
    """The toy regression with ``--predict`` (the model's output for each input's length)."""

    Config = ActionConfig
    presets = {"default": ActionConfig()}
    action = "predict"

    def finish(self, run, results):
        if run.is_chief:  # stands for the serving model that --predict loads
            tf.saved_model.save(tf.Module(), run.path(runs.harness.SAVED_MODEL))
        return {}

    def act(self, train_dir, inputs, overrides):
        runs.load_saved_model(train_dir, self.name)
        return [f"{text} -> {len(text)}" for text in inputs], {"lengths": [len(t) for t in inputs],
                                                                "overrides": overrides}


def test_the_action_flag_uses_a_finished_run_instead_of_training(tmp_path, capsys):
    experiment, run_dir = ToyWithAction(), tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:  # nothing trained there yet
        runs.main(experiment, ["toy", "--predict=abc", f"--train_dir={run_dir}"])
    assert exit_.value.code == runs.EXIT_USAGE
    assert "no finished run there" in capsys.readouterr().err
    assert not run_dir.exists()  # the action never creates a train dir

    runs.main(experiment, ["toy", "--epochs=1", f"--train_dir={run_dir}"])
    capsys.readouterr()
    result = runs.main(experiment, ["toy", "--predict=abc", "--units=3",
                                    f"--train_dir={run_dir}"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["abc -> 3", json.dumps(result)]
    assert result == {"lengths": [3], "overrides": {"units": 3}}
    assert (json.loads((run_dir / "results.json").read_text())["epochs_completed"] == 1)

    inputs = tmp_path / "inputs.txt"
    inputs.write_text("a\nbb\n")
    assert runs.main(experiment, ["toy", f"--predict=@{inputs}", f"--train_dir={run_dir}"]
                     )["lengths"] == [1, 2]


@pytest.mark.parametrize("value, empty_lines, message", [
    ("  ", "error", "--predict: empty input"),
    ("@{missing}", "error", "file not found"),
    ("@{empty}", "error", "the file is empty"),
    ("@{holes}", "error", r"holes.txt:2: empty line"),
    ("@{latin1}", "error", "not UTF-8 text"),
])
def test_read_inputs_errors_name_the_flag_file_and_line(tmp_path, value, empty_lines, message):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "holes.txt").write_text("a\n\nb\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    names = {k: tmp_path / f"{k}.txt" for k in ("missing", "empty", "holes", "latin1")}
    with pytest.raises(runs.UsageError, match=message):
        runs.read_inputs(value.format(**names), "--predict", empty_lines)


def test_read_inputs_keeps_empty_lines_when_asked(tmp_path):
    (tmp_path / "holes.txt").write_text("a\n\nb\r\n")
    assert runs.read_inputs(f"@{tmp_path / 'holes.txt'}", "--translate", "keep") == ["a", "", "b"]


def test_precision_policy_is_set_for_the_block_and_restored():
    before = keras.config.dtype_policy().name
    with runs.precision_policy("mixed_bfloat16"):
        layer = keras.layers.Dense(3)
        outputs = layer(np.ones((2, 4), "float32"))
        assert outputs.dtype == "bfloat16" and layer.kernel.dtype == "float32"
        cast = runs.float32({"logits": outputs, "ids": tf.constant([1, 2])})
        assert cast["logits"].dtype == tf.float32 and cast["ids"].dtype == tf.int32
    assert keras.config.dtype_policy().name == before


def test_precision_flag_is_an_enum_recorded_in_flags_and_resumable():
    spec = {s.name: s for s in config_lib.specs(Config)}["precision"]
    assert spec.choices == ("float32", "mixed_bfloat16") and spec.resumable
    with pytest.raises(runs.UsageError, match="--precision: expected one of"):
        config_lib.check_field(spec, "float16")


class ToyWithTies(Toy):
    """The monitored value is the same every epoch (like BLEU-4 on references of
    fewer than 4 tokens); the tie-break grows with the epoch."""

    monitor, mode, tie_break = "flat", "max", "tie"

    def evaluate(self, run, split):
        metrics = super().evaluate(run, split)
        return {**metrics, "flat": 0.0, "tie": float(run.optimizer.iterations.numpy())}


def test_equal_monitor_values_are_decided_by_the_tie_break(tmp_path):
    results = runs.run(ToyWithTies(), Config(epochs=3, progress=False), str(tmp_path / "t"))
    assert results["best_epoch"] == 3
    # Without a tie-break the first of equal epochs stays the best.
    class NoTieBreak(ToyWithTies):
        tie_break = None

    results = runs.run(NoTieBreak(), Config(epochs=3, progress=False), str(tmp_path / "n"))
    assert results["best_epoch"] == 1

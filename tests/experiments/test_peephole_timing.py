"""experiments/peephole_timing.py: the tasks, the models and a tiny run (no accuracy asserted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from experiments import peephole_timing as timing
from seqkit import runs

ROOT = Path(__file__).resolve().parents[2]
CONFIG = timing.TEST_CONFIG


def test_count_task_targets_are_the_steps_since_the_only_marker():
    x, y = timing.make_batch("count", 200, CONFIG, np.random.default_rng(0))
    length = CONFIG["length"]
    assert x.shape == (200, length, 1) and y.shape == (200,)
    assert np.all(x.sum(axis=(1, 2)) == 1)  # one marker per sequence
    marker = x[..., 0].argmax(axis=1)
    np.testing.assert_array_equal(y, length - 1 - marker)
    assert set(y) == set(range(CONFIG["max_count"]))  # every class occurs


def test_spike_task_target_is_one_exactly_delay_steps_after_the_marker():
    x, y = timing.make_batch("spike", 200, CONFIG, np.random.default_rng(0))
    assert x.shape == (200, CONFIG["length"], 1) and y.shape == (200, CONFIG["length"])
    assert np.all(x.sum(axis=(1, 2)) == 1) and np.all(y.sum(axis=1) == 1)
    np.testing.assert_array_equal(y.argmax(axis=1), x[..., 0].argmax(axis=1) + CONFIG["delay"])
    # Every marker position that leaves room for the spike occurs.
    assert len(set(x[..., 0].argmax(axis=1))) == CONFIG["length"] - CONFIG["delay"]


def test_spike_accuracy_needs_every_step_right():
    import tensorflow as tf

    targets = np.zeros((3, 5), "float32")
    targets[:, 2] = 1
    logits = np.full((3, 5), -3.0, "float32")
    logits[0, 2] = 3.0                        # right
    logits[1, 3] = 3.0                        # one step late
    logits[2, 2], logits[2, 4] = 3.0, 3.0     # right, plus a spurious spike
    _, correct = timing.losses_and_correct("spike", tf.constant(logits), tf.constant(targets))
    assert correct.numpy().tolist() == [True, False, False]


@pytest.mark.parametrize("task", timing.TASKS)
def test_models_equal_size_same_start_and_the_wider_control(task):
    models = {}
    for kind in timing.MODELS:
        keras.utils.set_random_seed(0)
        models[kind] = timing.build_model(task, kind, timing.DEFAULT_CONFIG)
    units = timing.DEFAULT_CONFIG["units"]
    counts = {kind: model.count_params() for kind, model in models.items()}
    assert counts["peephole"] - counts["plain"] == 3 * units
    for kind, model in models.items():
        assert counts[kind] == timing.parameters(
            task, kind, timing.model_units(task, kind, timing.DEFAULT_CONFIG),
            timing.DEFAULT_CONFIG)
    # The control: the fewest units with at least the peephole model's parameters.
    wider = timing.model_units(task, "plain_wider", timing.DEFAULT_CONFIG)
    assert wider > units and counts["plain_wider"] >= counts["peephole"]
    assert timing.parameters(task, "plain", wider - 1, timing.DEFAULT_CONFIG) < counts["peephole"]
    # For a seed, plain and peephole start from the same weights (peepholes at zero).
    plain = {w.path: np.asarray(w) for w in models["plain"].weights}
    peephole = {w.path: np.asarray(w) for w in models["peephole"].weights}
    assert set(peephole) - set(plain) == {"lstm/lstm_cell/peephole_kernel"}
    for name, value in plain.items():
        np.testing.assert_array_equal(peephole[name], value, err_msg=name)
    assert not peephole["lstm/lstm_cell/peephole_kernel"].any()


def test_tiny_run_reports_every_task_model_and_seed():
    results = timing.train_and_evaluate(dict(CONFIG))
    assert set(results["tasks"]) == set(CONFIG["tasks"])
    for task, rows in results["tasks"].items():
        assert list(rows) == CONFIG["models"]
        for kind, row in rows.items():
            assert [r["seed"] for r in row["runs"]] == CONFIG["seeds"]
            accuracies = [r["accuracy"] for r in row["runs"]]
            for run in row["runs"]:
                assert run["best_accuracy"] == max(p["accuracy"] for p in run["curve"])
            assert all(0 <= a <= 1 for a in accuracies)
            assert row["accuracy_mean"] == pytest.approx(np.mean(accuracies))
            assert row["accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
            for run in row["runs"]:
                assert np.isfinite(run["loss"]) and run["loss"] > 0
                assert [p["step"] for p in run["curve"]] == [2, 4]
                assert run["solved_at"] in (2, 4, CONFIG["train_steps"] + 1)
            assert row["solved"] == sum(r["solved_at"] <= 4 for r in row["runs"])
        # Training changed the peephole model's peepholes (they start at zero) and so
        # its loss differs from the plain model's, which starts from the same weights.
        assert rows["peephole"]["loss_mean"] != rows["plain"]["loss_mean"]
    table = timing.format_results(results)
    assert "plain_wider" in table and "peephole" in table and "±" in table


@pytest.mark.parametrize("overrides, message", [
    ({"tasks": ["clock"]}, "--tasks: expected a non-empty list from ['count', 'spike']"),
    ({"models": []}, "--models: expected a non-empty list"),
    ({"seeds": [1, 1]}, "--seeds: expected a non-empty list of distinct integers"),
    ({"max_count": 11}, "--max_count: expected from 2 to --length=10, got 11"),
    ({"delay": 10}, "--delay: expected from 1 to --length - 1 = 9, got 10"),
    ({"units": 0}, "--units: expected a positive integer, got 0"),
])
def test_bad_settings_name_the_flag(overrides, message):
    with pytest.raises(runs.UsageError) as error:
        timing.train_and_evaluate({**CONFIG, **overrides})
    assert message in str(error.value)


def test_command_line_writes_results_and_reports_mistakes_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    tiny = ["--tasks=spike", "--models=plain,peephole", "--seeds=0", "--units=3",
            "--length=8", "--delay=2", "--batch_size=4", "--train_steps=2", "--eval_size=8",
            "--eval_every=1"]
    out = subprocess.run([sys.executable, "-m", "experiments.peephole_timing", *tiny,
                          f"--train_dir={tmp_path / 'run'}"], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    printed = json.loads(out.stdout.strip().splitlines()[-1])
    with open(tmp_path / "run" / "results.json") as handle:
        assert json.load(handle)["tasks"].keys() == printed["tasks"].keys() == {"spike"}
    bad = subprocess.run([sys.executable, "-m", "experiments.peephole_timing", *tiny,
                          "--delay=8"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=env)
    assert bad.returncode == runs.EXIT_USAGE and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == (
        "error: --delay: expected from 1 to --length - 1 = 7, got 8")

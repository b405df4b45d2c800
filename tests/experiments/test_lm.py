"""experiments.lm end to end on tiny data: metrics, resume, faults and bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from experiments.lm import configs, train
from seqkit import runs
from tests.helpers import write_ptb_corpus

def _write_corpus(folder, lines=60, seed=0):
    return write_ptb_corpus(folder, lines=lines, seed=seed)


def _tiny(data_dir, **changes):
    settings = dict(data_dir=data_dir, hidden_size=8, num_steps=5, batch_size=4,
                    eval_batch_size=2, epochs=2, progress=False, sample_tokens=3)
    return configs.get_config("test").replace(**{**settings, **changes})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _write_corpus(str(tmp_path_factory.mktemp("ptb")))


def test_run_writes_metrics_flags_checkpoints_and_logs(data_dir, tmp_path):
    results = train.train_and_evaluate(_tiny(data_dir), str(tmp_path))
    for key in ("valid_perplexity", "test_perplexity", "tokens_per_second"):
        assert np.isfinite(results[key]) and results[key] > 0
    # A model that learned something beats the uniform distribution.
    vocab_size = len(open(tmp_path / "vocab.txt").read().split())
    assert results["test_perplexity"] < vocab_size
    assert json.load(open(tmp_path / "results.json"))["test_perplexity"] == results["test_perplexity"]
    flags_written = json.load(open(tmp_path / "flags.json"))
    assert flags_written["hidden_size"] == 8 and flags_written["seed"] == 0
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("-2")
    assert os.listdir(tmp_path / "logs")
    assert len(results["sample"].split()) == 3


def test_builtin_corpus_reports_its_floor(tmp_path):
    config = configs.get_config("test").replace(progress=False, sample_tokens=0,
                                                batch_size=8, eval_batch_size=8)
    results = train.train_and_evaluate(config, str(tmp_path))
    assert 1.0 < results["floor_perplexity"] < results["test_perplexity"]
    assert results["test_over_floor"] == pytest.approx(
        results["test_perplexity"] / results["floor_perplexity"])


def test_interrupted_run_resumes_to_the_same_metrics(data_dir, tmp_path):
    config = _tiny(data_dir, dropout=0.3, seed=3, epochs=3)
    straight = train.train_and_evaluate(config, str(tmp_path / "straight"))
    # "Killed" after epoch 1: the same command then resumes from the checkpoint.
    train.train_and_evaluate(config.replace(epochs=1), str(tmp_path / "resumed"))
    resumed = train.train_and_evaluate(config, str(tmp_path / "resumed"))
    for key in ("valid_perplexity", "test_perplexity"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6)


def test_same_seed_same_metrics_other_seed_differs(data_dir, tmp_path):
    a = train.train_and_evaluate(_tiny(data_dir, seed=5, epochs=1), str(tmp_path / "a"))
    b = train.train_and_evaluate(_tiny(data_dir, seed=5, epochs=1), str(tmp_path / "b"))
    c = train.train_and_evaluate(_tiny(data_dir, seed=6, epochs=1), str(tmp_path / "c"))
    assert a["test_perplexity"] == b["test_perplexity"]
    assert a["test_perplexity"] != c["test_perplexity"]


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(data_dir, tmp_path, monkeypatch):
    config = _tiny(data_dir, epochs=1)
    train.train_and_evaluate(config, str(tmp_path))
    good = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    # Fault injection: from now on the training loss is NaN.
    real_losses = train.token_losses
    monkeypatch.setattr(train, "token_losses", lambda *a: real_losses(*a) * float("nan"))
    with pytest.raises(runs.NonFiniteLossError, match="loss became nan"):
        train.train_and_evaluate(config.replace(epochs=2), str(tmp_path))
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) == good


def test_distributed_training_matches_single_device_on_two_logical_cpus(data_dir, tmp_path):
    # Logical devices must be configured before TensorFlow starts: a fresh process.
    code = f"""
import json, sys
sys.path.insert(0, {os.getcwd()!r})
from seqkit import distribute
distribute.split_cpu(2)
from experiments.lm import configs, train
base = configs.get_config("test").replace(data_dir={data_dir!r}, hidden_size=8, num_steps=5,
    batch_size=4, eval_batch_size=2, epochs=1, progress=False, sample_tokens=0)
one = train.train_and_evaluate(base, {str(tmp_path / 'one')!r})
two = train.train_and_evaluate(base.replace(strategy="mirrored"), {str(tmp_path / 'two')!r})
print(json.dumps([one["test_perplexity"], two["test_perplexity"]]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    one, two = json.loads(out.stdout.strip().splitlines()[-1])
    assert two == pytest.approx(one, rel=1e-4)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d, t: _tiny(str(t / "nowhere")), "data_dir"),
        (lambda d, t: _tiny(d, num_steps=10_000), "num_steps"),
        (lambda d, t: _tiny(d, cell="transformer"), "cell"),
    ],
)
def test_bad_input_fails_before_training(data_dir, tmp_path, make, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        train.train_and_evaluate(make(data_dir, tmp_path), str(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_empty_split_is_a_clear_error(data_dir, tmp_path):
    folder = _write_corpus(str(tmp_path / "data"))
    open(os.path.join(folder, "ptb.valid.txt"), "w").close()
    with pytest.raises(ValueError, match="valid"):
        train.train_and_evaluate(_tiny(folder), str(tmp_path / "run"))


def test_unwritable_train_dir_is_a_clear_error(data_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="train_dir"):
        train.train_and_evaluate(_tiny(data_dir), str(blocker / "run"))


def test_resuming_with_other_model_settings_is_refused(data_dir, tmp_path):
    train.train_and_evaluate(_tiny(data_dir, epochs=1), str(tmp_path))
    with pytest.raises(ValueError, match="hidden_size: 8 -> 16"):
        train.train_and_evaluate(_tiny(data_dir, epochs=2, hidden_size=16), str(tmp_path))


def test_flags_override_the_preset():
    config = configs.resolve_config({"config": "small", "hidden_size": 64, "data_dir": "x"})
    assert config.hidden_size == 64 and config.num_steps == 20
    assert configs.resolve_config({}).hidden_size == configs.get_config("builtin").hidden_size
    assert configs.resolve_config({"data_dir": "x"}).hidden_size == 200


def test_command_line_prints_json_and_reports_bad_input(data_dir, tmp_path):
    command = [sys.executable, "-m", "experiments.lm", "--config=test", f"--data_dir={data_dir}",
               "--hidden_size=4", "--num_steps=4", "--batch_size=4", "--epochs=1",
               "--sample_tokens=0", "--progress=false", f"--train_dir={tmp_path / 'run'}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(metrics) >= {"valid_perplexity", "test_perplexity", "tokens_per_second"}
    bad = subprocess.run(command + ["--num_steps=100000"], capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode == 2
    assert "num_steps" in bad.stderr and "Traceback" not in bad.stderr

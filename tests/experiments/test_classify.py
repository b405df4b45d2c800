"""experiments.classify end to end on tiny data: results, baselines, predict, export, bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from experiments.classify import configs, train
from seqkit import metrics, runs

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _tiny(**changes):
    return configs.PRESETS["test"].replace(**{"progress": False, **changes})


def _write_slu(root, test_labels=None):
    rows = {"PlayMusic": ("play  jazz by queen ", "O B-genre O B-artist"),
            "GetTime#GetWeather": ("time and weather in paris", "O O O O B-city"),
            "BookFlight": ("fly from rome to oslo", "O O B-fromloc O B-toloc")}
    for split, repeat in (("train", 8), ("valid", 2), ("test", 2)):
        folder = root / split
        folder.mkdir(parents=True)
        labels = list(rows) * repeat
        if split == "test" and test_labels:
            labels[:len(test_labels)] = test_labels
        (folder / "seq.in").write_text("".join(rows[l][0] + "\n" for l in list(rows) * repeat))
        (folder / "seq.out").write_text("".join(rows[l][1] + "\n" for l in list(rows) * repeat))
        (folder / "label").write_text("".join(l + "\n" for l in labels))
    return root


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One tiny run on the built-in corpus, with --plot and --export_dir."""
    root = tmp_path_factory.mktemp("classify")
    train_dir, export_dir = root / "run", root / "export"
    results = runs.run(train.EXPERIMENT, _tiny(plot=True, export_dir=str(export_dir)),
                       str(train_dir))
    return {"results": results, "train_dir": train_dir, "export_dir": export_dir}


def test_run_reports_metrics_baselines_and_ceiling(finished):
    results, train_dir = finished["results"], finished["train_dir"]
    for key in ("test_accuracy", "test_macro_f1", "majority_accuracy", "bag_of_words_accuracy",
                "test_slot_f1", "test_exact_match", "ceiling", "expected_ceiling"):
        assert 0.0 <= results[key] <= 1.0, key
    assert results["task"] == "joint" and results["expected_ceiling"] == pytest.approx(0.95)
    written = json.loads((train_dir / "results.json").read_text())
    assert written["test_accuracy"] == results["test_accuracy"]
    matrix = np.array(results["test_confusion_matrix"]["counts"])
    assert matrix.sum() == 30  # corpus_size 120 -> 30 test utterances
    assert np.trace(matrix) / matrix.sum() == pytest.approx(results["test_accuracy"])
    assert (train_dir / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert (train_dir / "vocab.txt").read_text().split("\n")[:2] == ["<pad>", "<unk>"]
    assert set(results["test_per_intent"]) <= set(results["test_confusion_matrix"]["labels"])


def test_export_and_predict_agree_with_the_model(finished):
    results, train_dir = finished["results"], finished["train_dir"]
    data = train.load_data(_tiny())
    served = tf.saved_model.load(str(finished["export_dir"]))
    texts = [" ".join(tokens) for tokens in data.source.test.tokens]
    out = served.signatures["serving_default"](utterances=tf.constant(texts))
    served_intents = [s.decode() for s in out["intent"].numpy()]
    # The in-process model with the best weights, rebuilt from the run's SavedModel twin:
    predicted = train.predict(str(train_dir), texts)
    assert served_intents == [p["intent"] for p in predicted]
    assert np.mean([i == l for i, l in zip(served_intents, data.source.test.labels)]) == (
        pytest.approx(results["test_accuracy"]))
    for p, tokens in zip(predicted, data.source.test.tokens):
        assert p["words"] == tokens and len(p["tags"]) == len(tokens)


def test_predict_command_line(finished, tmp_path):
    command = [sys.executable, "-m", "experiments.classify", f"--train_dir={finished['train_dir']}"]
    done = subprocess.run(command + ["--predict=book a flight from paris to rome"],
                          capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    (prediction,) = json.loads(done.stdout.strip().splitlines()[-1])
    assert prediction["words"] == ["book", "a", "flight", "from", "paris", "to", "rome"]
    assert 0 < prediction["probability"] <= 1
    lines = tmp_path / "u.txt"
    lines.write_text("what time is it\n\nplay jazz\n")
    done = subprocess.run(command + [f"--predict=@{lines}"], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=300)
    assert done.returncode == runs.EXIT_USAGE
    assert "u.txt:2: empty line" in done.stderr


def test_slu_folder_multi_intent_and_unseen_test_label(tmp_path):
    data_dir = _write_slu(tmp_path / "slu", test_labels=["NeverSeen"])
    results = runs.run(train.EXPERIMENT, _tiny(data_dir=str(data_dir), epochs=2),
                       str(tmp_path / "run"))
    assert results["unseen_test_labels"] == {"NeverSeen": 1}
    assert "GetTime#GetWeather" in results["test_confusion_matrix"]["labels"]
    assert results["test_accuracy"] <= 5 / 6  # the unseen label is always an error
    assert "ceiling" not in results and results["task"] == "joint"


def test_csv_intent_only(tmp_path):
    path = tmp_path / "u.csv"
    rows = ["Play some jazz!,music", "What's the time?,time", "Book a flight.,travel"] * 10
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    results = runs.run(train.EXPERIMENT, _tiny(csv=str(path)), str(tmp_path / "run"))
    assert results["task"] == "intent" and "test_slot_f1" not in results
    with pytest.raises(runs.UsageError, match="--task=joint: the data has no slot tags"):
        runs.run(train.EXPERIMENT, _tiny(csv=str(path), task="joint"), str(tmp_path / "r2"))
    assert not (tmp_path / "r2").exists()


@pytest.mark.parametrize("changes, match", [
    ({"data_dir": "/nonexistent/snips"}, "--data_dir: .*not a folder"),
    ({"data_dir": "x", "csv": "y"}, "expected one data source"),
    ({"split_column": "part"}, "only with --csv"),
    ({"pooling": "first"}, "pooling"),
])
def test_bad_input_fails_before_anything_is_written(tmp_path, changes, match):
    with pytest.raises(runs.UsageError, match=match):
        runs.run(train.EXPERIMENT, _tiny(**changes), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_bad_slu_file_names_file_and_line(tmp_path):
    data_dir = _write_slu(tmp_path / "slu")
    (data_dir / "valid" / "seq.out").write_text("O B-genre O\n" * 6)
    with pytest.raises(runs.UsageError, match=r"valid/seq\.out:1: 3 tags for the 4 words"):
        runs.run(train.EXPERIMENT, _tiny(data_dir=str(data_dir)), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_command_line_flag_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.classify", "--pooling=first",
                           f"--train_dir={tmp_path / 'run'}"], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=300)
    assert done.returncode == runs.EXIT_USAGE
    assert "pooling" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_two_replicas_match_one_device(tmp_path):
    # No dropout in the test preset: two logical CPUs must give the single-device run,
    # because each replica's loss is divided by the global batch's counts. Logical
    # devices must be configured before TensorFlow starts: a fresh process.
    code = f"""
import json
from seqkit import distribute
distribute.split_cpu(2)
from experiments.classify import configs, train
from seqkit import runs
base = configs.PRESETS["test"].replace(epochs=2, progress=False, bow_epochs=1)
one = runs.run(train.EXPERIMENT, base, {str(tmp_path / 'one')!r})
two = runs.run(train.EXPERIMENT, base.replace(strategy="mirrored"), {str(tmp_path / 'two')!r})
keys = ("train_loss", "train_slot_loss", "valid_accuracy", "test_accuracy", "replicas")
print(json.dumps([[one[k] for k in keys], [two[k] for k in keys]]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = json.loads(done.stdout.strip().splitlines()[-1])
    assert one[-1] == 1 and two[-1] == 2
    assert two[:-1] == pytest.approx(one[:-1], rel=1e-4)


def test_char_features_train_and_export_agree(tmp_path):
    """--char_features trains (slot F1 > 0.5), and the SavedModel (characters computed in
    the graph) gives exactly the in-process model's intents and tags on every test
    utterance, including words never seen in training."""
    data_dir = _write_slu(tmp_path / "slu")
    (data_dir / "test" / "seq.in").write_text(
        (data_dir / "test" / "seq.in").read_text().replace("oslo", "ozlo"))
    config = _tiny(data_dir=str(data_dir), epochs=12, batch_size=8, learning_rate=0.03,
                   char_features=True, char_filters=6,
                   char_embedding_dim=4, export_dir=str(tmp_path / "export"))
    results = runs.run(train.EXPERIMENT, config, str(tmp_path / "run"))
    assert results["epochs_completed"] == 12 and results["test_slot_f1"] > 0.5  # it learned
    run_dir = tmp_path / "run"
    data = train.load_data(config)
    assert data.chars is not None and "ozlo" not in data.words
    texts = [" ".join(tokens) for tokens in data.source.test.tokens]
    out = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"](
        utterances=tf.constant(texts))
    served_intents = [s.decode() for s in out["intent"].numpy()]
    assert np.mean([i == l for i, l in zip(served_intents, data.source.test.labels)]) == (
        pytest.approx(results["test_accuracy"]))
    # The in-process evaluation (results) scored the same tags the export serves:
    served_tags = [[t.decode() for t in row[:n]]
                   for row, n in zip(out["tags"].numpy(), out["num_tokens"].numpy())]
    slots = metrics.slot_scores(data.source.test.tags, served_tags)
    assert slots["f1"] == pytest.approx(results["test_slot_f1"])
    assert slots["precision"] == pytest.approx(results["test_slot_precision"])
    assert [p["intent"] for p in train.predict(str(run_dir), texts)] == served_intents


def test_mixed_bfloat16_run(tmp_path):
    """Under --precision=mixed_bfloat16 the logits are float32 (the output layers),
    so the losses, the BIO Viterbi decoding and the metrics work as in float32."""
    results = runs.run(train.EXPERIMENT, _tiny(precision="mixed_bfloat16", epochs=1),
                       str(tmp_path))
    assert np.isfinite(results["train_loss"]) and 0.0 <= results["test_accuracy"] <= 1.0
    assert 0.0 <= results["test_slot_f1"] <= 1.0
    assert json.load(open(tmp_path / "flags.json"))["precision"] == "mixed_bfloat16"

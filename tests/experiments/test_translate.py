"""python -m experiments.translate: the tiny config end to end, --translate, export, bad input."""
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from experiments.translate import configs, train
from seqkit import runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One tiny run on the built-in pair, with --plot and --export_dir."""
    folder = tmp_path_factory.mktemp("translate")
    config = configs.PRESETS["test"].replace(plot=True, export_dir=str(folder / "export"),
                                             beam_size=2)
    results = runs.run(train.EXPERIMENT, config, str(folder / "run"))
    return {"results": results, "train_dir": str(folder / "run"), "folder": folder}


def test_tiny_run_reports_every_metric(finished):
    results = finished["results"]
    for key in ("test_bleu", "test_chrf", "valid_perplexity", "copy_bleu", "test_exact_match",
                "test_eos_rate", "test_sentences_per_second", "test_bleu_greedy",
                "bleu_signature", "examples"):
        assert key in results, key
    assert results["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert results["decoding"] == "beam 2"
    assert len(results["examples"]) == 2
    assert set(results["examples"][0]) == {"source", "reference", "translation"}
    on_disk = json.loads(open(os.path.join(finished["train_dir"], "results.json")).read())
    assert on_disk["test_bleu"] == results["test_bleu"]
    report = train.EXPERIMENT.report(results)
    assert "copy-the-source BLEU" in report and results["examples"][0]["reference"] in report


def test_plot_and_exports_are_written(finished):
    train_dir = finished["train_dir"]
    with open(os.path.join(train_dir, train.PLOT_FILE), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    for path in (os.path.join(train_dir, train.SAVED_MODEL), str(finished["folder"] / "export")):
        assert tf.saved_model.contains_saved_model(path)


def test_translate_reads_the_finished_run(finished, tmp_path):
    train_dir = finished["train_dir"]
    sentences = ["kato hundo vidi", "viro ta fisxo cxasi ne pa"]
    default = train.translate(train_dir, sentences)
    assert len(default) == 2 and all(isinstance(t, str) for t in default)
    # The default decoding of the run (beam 2) is translate_beam with 2.
    assert train.translate(train_dir, sentences, beam_size=2) == default
    path = tmp_path / "sentences.txt"
    path.write_text("kato hundo vidi\n\nviro ta fisxo cxasi ne pa\n", encoding="utf-8")
    lines = runs.read_inputs(f"@{path}", "--translate", train.EXPERIMENT.empty_inputs)
    assert lines == ["kato hundo vidi", "", "viro ta fisxo cxasi ne pa"]
    assert train.translate(train_dir, lines) == [default[0], "", default[1]]


def test_translate_command_line(finished):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "experiments.translate",
               f"--train_dir={finished['train_dir']}", "--translate=kato hundo vidi"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["translations"][0]["source"] == "kato hundo vidi"
    assert done.stdout.splitlines()[0] == last["translations"][0]["translation"]


@pytest.mark.parametrize("text, message", [
    ("", "--translate: empty input"),
    ("@/nonexistent/file.txt", "file not found"),
])
def test_translate_bad_input(text, message):
    with pytest.raises(runs.UsageError, match=message):
        runs.read_inputs(text, "--translate", train.EXPERIMENT.empty_inputs)


def test_translate_without_a_finished_run(tmp_path):
    with pytest.raises(runs.UsageError, match="no finished run there"):
        train.translate(str(tmp_path), ["kato hundo vidi"])


def _write(folder, name, lines):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def parallel_dir(tmp_path):
    folder = tmp_path / "data"
    for split, n in (("train", 12), ("val", 3), ("test", 3)):
        _write(folder, f"{split}.de", [f"ein hund {i} läuft ." for i in range(n)])
        _write(folder, f"{split}.en", [f"a dog {i} runs ." for i in range(n)])
    return folder


def test_data_dir_end_to_end(parallel_dir, tmp_path):
    config = configs.PRESETS["test"].replace(data_dir=str(parallel_dir), source_language="de",
                                             target_language="en", tokenize="word")
    results = runs.run(train.EXPERIMENT, config, str(tmp_path / "run"))
    assert results["data"].endswith("(de->en)")
    assert results["copy_bleu"] > 0  # the digits are copied


@pytest.mark.parametrize("changes, message", [
    (dict(source_language="de", target_language="fr"), r"--target_language: no 'fr' files"),
    (dict(source_language="de", target_language=""), "--data_dir needs --source_language"),
    (dict(source_language="de", target_language="en", pairs_file="x.tsv"),
     "--data_dir and --pairs_file"),
    (dict(source_language="de", target_language="en", translate="ein hund"),
     "--translate: translates with a finished --train_dir"),
])
def test_bad_flags_fail_before_anything_is_written(parallel_dir, tmp_path, changes, message):
    config = configs.PRESETS["test"].replace(data_dir=str(parallel_dir), **changes)
    train_dir = tmp_path / "run"
    with pytest.raises(runs.UsageError, match=message):
        runs.run(train.EXPERIMENT, config, str(train_dir))
    assert not train_dir.exists()


def test_mismatched_files_name_the_files(parallel_dir, tmp_path):
    _write(parallel_dir, "val.en", ["a dog 0 runs .", "a dog 1 runs ."])
    config = configs.PRESETS["test"].replace(data_dir=str(parallel_dir), source_language="de",
                                             target_language="en")
    with pytest.raises(runs.UsageError, match=r"val.de' has 3 lines but .*val.en' has 2"):
        runs.run(train.EXPERIMENT, config, str(tmp_path / "run"))


def test_pairs_file_with_wrong_columns(tmp_path):
    _write(tmp_path, "pairs.tsv", ["Go.\tVa !"] * 5 + ["Hi."])
    config = configs.PRESETS["test"].replace(pairs_file=str(tmp_path / "pairs.tsv"))
    with pytest.raises(runs.UsageError, match=r"pairs.tsv' line 6 has 1 tab-separated"):
        runs.run(train.EXPERIMENT, config, str(tmp_path / "run"))


def test_missing_sacrebleu_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    with pytest.raises(runs.UsageError) as error:
        train.EXPERIMENT.validate(configs.PRESETS["test"])
    assert 'pip install -e ".[translate]"' in str(error.value)
    assert "\n" not in str(error.value)


def test_mixed_bfloat16_run(tmp_path):
    config = configs.PRESETS["test"].replace(precision="mixed_bfloat16", epochs=1,
                                             progress=False)
    results = runs.run(train.EXPERIMENT, config, str(tmp_path))
    assert results["train_loss"] > 0 and results["test_loss"] > 0
    assert json.load(open(tmp_path / "flags.json"))["precision"] == "mixed_bfloat16"

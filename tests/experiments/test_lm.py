"""experiments.lm end to end on tiny data: metrics, learning, resume, faults and bad input."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from experiments.lm import configs, train
from seqkit import runs
from seqkit.language_model import LanguageModel, token_losses
from seqkit.data import text as text_data
from tests.helpers import write_ptb_corpus

ROOT = Path(__file__).resolve().parents[2]  # this checkout, wherever pytest runs
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


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
    for key in ("valid_perplexity", "test_perplexity", "tokens_per_second", "wall_seconds"):
        assert np.isfinite(results[key]) and results[key] > 0
    assert results["parameters"] > 0 and results["epochs_completed"] == 2
    assert json.load(open(tmp_path / "results.json"))["test_perplexity"] == results["test_perplexity"]
    flags_written = json.load(open(tmp_path / "flags.json"))
    assert flags_written["hidden_size"] == 8 and flags_written["seed"] == 0
    assert flags_written["data_fingerprint"]["vocab_size"] == len(
        open(tmp_path / "vocab.txt").read().split())
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("-2")
    assert tf.train.latest_checkpoint(str(tmp_path / "best")).endswith(
        f"-{results['best_epoch']}")
    assert os.listdir(tmp_path / "logs")
    assert not (tmp_path / ".lock").exists()
    assert len(results["sample"].split()) == 3


def _unigram_perplexity(corpus, split):
    """exp(cross-entropy) of the training unigram distribution (add-one smoothed) on ``split``."""
    counts = np.bincount(corpus.train, minlength=len(corpus.vocab)) + 1.0
    log_p = np.log(counts / counts.sum())
    return math.exp(-log_p[corpus.split(split)].mean())


def test_lm_learns_more_than_unigram_statistics_on_the_grammar_corpus(tmp_path):
    # The grammar's next token depends on the context (agreement, brackets):
    # a model that learned anything recurrent beats the best context-free model.
    config = configs.get_config("test").replace(
        hidden_size=16, num_steps=10, batch_size=16, eval_batch_size=16, epochs=1,
        progress=False, sample_tokens=0)
    results = train.train_and_evaluate(config, str(tmp_path))
    corpus = text_data.load_corpus()
    unigram = _unigram_perplexity(corpus, "test")
    assert results["floor_perplexity"] < results["test_perplexity"] < 0.9 * unigram


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
    assert resumed["resumed_from_epoch"] == 1 and resumed["best_epoch"] == straight["best_epoch"]
    for key in ("valid_perplexity", "test_perplexity"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6)


def test_test_metrics_come_from_the_best_validation_epoch(data_dir, tmp_path, monkeypatch):
    # A learning rate that makes epoch 3 worse than epoch 1 on validation: the
    # reported test perplexity is the best epoch's, not the last one's.
    config = _tiny(data_dir, epochs=3, learning_rate=1.0, decay_after=0)
    rates = {1: 1.0, 2: 1e-6, 3: 40.0}
    monkeypatch.setattr(train, "learning_rate", lambda config, epoch: rates[epoch])
    results = train.train_and_evaluate(config, str(tmp_path))
    assert results["best_epoch"] in (1, 2) and results["epochs_completed"] == 3
    model = train.build_model(config, int(json.load(open(tmp_path / "flags.json"))
                                          ["data_fingerprint"]["vocab_size"]))
    corpus = train.load_data(config).corpus
    for folder, prefix in (("best", results["best_epoch"]), ("checkpoints", 3)):
        tf.train.Checkpoint(model_variables=list(model.variables)).restore(
            str(tmp_path / folder / f"ckpt-{prefix}")).expect_partial()
        ppl, _, _ = train.evaluate(model, corpus.test, config.eval_batch_size, config.num_steps)
        if folder == "best":
            assert results["test_perplexity"] == pytest.approx(ppl, rel=1e-5)
        else:
            assert ppl > results["test_perplexity"]


def test_learning_rate_defaults_to_the_cells(data_dir, tmp_path, capsys):
    small = configs.get_config("small")
    assert small.learning_rate == 0  # "the cell's"
    assert train.learning_rate(small, 1) == 1.0  # Zaremba et al.'s, for the LSTM
    for cell in ("gru", "elman", "clockwork"):
        config = small.replace(cell=cell)
        assert train.learning_rate(config, 1) == 0.3
        assert train.learning_rate(config, small.decay_after + 2) == pytest.approx(0.3 * 0.25)
        assert train.learning_rate(config.replace(learning_rate=0.7), 1) == 0.7
    # A run starts from it (the epoch line prints the rate in use).
    train.train_and_evaluate(_tiny(data_dir, cell="gru", learning_rate=0.0, epochs=1,
                                   decay_after=1), str(tmp_path))
    assert "lr 0.3 " in capsys.readouterr().out


def test_a_run_worse_than_a_uniform_guess_is_flagged(data_dir, tmp_path, monkeypatch, capsys):
    ok = train.train_and_evaluate(_tiny(data_dir, epochs=1), str(tmp_path / "ok"))
    vocab = json.load(open(tmp_path / "ok" / "flags.json"))["data_fingerprint"]["vocab_size"]
    assert ok["uniform_perplexity"] == vocab and ok["test_perplexity"] < vocab
    assert ok["diverged"] is False
    assert "uniform guess" not in capsys.readouterr().out
    # A finite perplexity above the vocabulary size: the run says it diverged.
    evaluate = train.evaluate

    def diverged(*args, **kwargs):
        _, _, count = evaluate(*args, **kwargs)
        return 10.0 * vocab, math.log(10.0 * vocab) * count, count

    monkeypatch.setattr(train, "evaluate", diverged)
    bad = train.train_and_evaluate(_tiny(data_dir, epochs=1), str(tmp_path / "bad"))
    assert bad["diverged"] is True and bad["test_perplexity"] == pytest.approx(10.0 * vocab)
    out = capsys.readouterr().out
    assert "worse than a uniform guess" in out and "lower --learning_rate" in out


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
    real_losses = LanguageModel.token_losses

    def nan_losses(self, *args, **kwargs):
        losses, states = real_losses(self, *args, **kwargs)
        return losses * float("nan"), states

    monkeypatch.setattr(LanguageModel, "token_losses", nan_losses)
    with pytest.raises(runs.NonFiniteLossError, match="loss became nan"):
        train.train_and_evaluate(config.replace(epochs=2), str(tmp_path))
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) == good
    assert not (tmp_path / ".lock").exists()  # released on the way out


def test_distributed_training_matches_single_device_on_two_logical_cpus(data_dir, tmp_path):
    # Logical devices must be configured before TensorFlow starts: a fresh process.
    code = f"""
import json
from seqkit import distribute
distribute.split_cpu(2)
from experiments.lm import configs, train
base = configs.get_config("test").replace(data_dir={data_dir!r}, hidden_size=8, num_steps=5,
    batch_size=4, eval_batch_size=2, epochs=1, progress=False, sample_tokens=0)
one = train.train_and_evaluate(base, {str(tmp_path / 'one')!r})
two = train.train_and_evaluate(base.replace(strategy="mirrored"), {str(tmp_path / 'two')!r})
print(json.dumps([one["test_perplexity"], two["test_perplexity"], two["replicas"]]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env=ENV)
    assert out.returncode == 0, out.stderr[-3000:]
    one, two, replicas = json.loads(out.stdout.strip().splitlines()[-1])
    assert replicas == 2 and two == pytest.approx(one, rel=1e-4)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d, t: _tiny(str(t / "nowhere")), "data_dir"),
        (lambda d, t: _tiny(d, num_steps=10_000), "num_steps"),
        (lambda d, t: _tiny(d, cell="transformer"), "--cell: expected one of"),
        (lambda d, t: _tiny(d, learning_rate=-1.0), r"--learning_rate: expected .* >= 0, got -1"),
        (lambda d, t: _tiny(d, learning_rate=float("nan")), "--learning_rate: .*got nan"),
        (lambda d, t: _tiny(d, max_grad_norm=-1.0), "--max_grad_norm: expected .* >= 0"),
        (lambda d, t: _tiny(d, temperature=-0.5), "--temperature: expected .* >= 0"),
        (lambda d, t: _tiny(d, dropout=1.0), r"--dropout: expected .* < 1"),
        (lambda d, t: _tiny(d, hidden_size=0), "--hidden_size: expected an integer >= 1"),
        (lambda d, t: _tiny(d, lr_decay=1.5), "--lr_decay: expected .* <= 1"),
        (lambda d, t: _tiny(d, encoding="utf-9"), "--encoding: expected a text encoding"),
        (lambda d, t: _tiny(d, export_dir=str(t / "file" / "x")), "--export_dir"),
        (lambda d, t: _tiny(d, text_file=str(t / "a.txt")), "--data_dir and --text_file"),
    ],
)
def test_bad_input_fails_before_anything_is_written(data_dir, tmp_path, make, match):
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(runs.UsageError, match=match):
        train.train_and_evaluate(make(data_dir, tmp_path), str(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run")


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
    before = (tmp_path / "flags.json").read_text()
    with pytest.raises(runs.UsageError, match="hidden_size: 8 -> 16"):
        train.train_and_evaluate(_tiny(data_dir, epochs=2, hidden_size=16), str(tmp_path))
    assert (tmp_path / "flags.json").read_text() == before  # the record is kept


def test_resuming_on_other_data_is_refused(data_dir, tmp_path):
    train.train_and_evaluate(_tiny(data_dir, epochs=1), str(tmp_path / "run"))
    other = _write_corpus(str(tmp_path / "other"), seed=1)
    with pytest.raises(runs.UsageError, match="trained on other data .*train_sha256"):
        train.train_and_evaluate(_tiny(other, epochs=2), str(tmp_path / "run"))
    # The same data in another folder is the same data: resuming is fine.
    moved = _write_corpus(str(tmp_path / "moved"), seed=0)
    resumed = train.train_and_evaluate(_tiny(moved, epochs=2), str(tmp_path / "run"))
    assert resumed["resumed_from_epoch"] == 1


def test_encoding_flag_reads_a_latin1_text_and_char_samples_show_line_breaks(
        tmp_path, monkeypatch):
    text = "".join(f"caf\u00e9 {i % 7} cr\u00e8me\n" for i in range(300))
    (tmp_path / "book.txt").write_bytes(text.encode("latin-1"))
    config = configs.get_config("test").replace(
        text_file=str(tmp_path / "book.txt"), level="char", encoding="latin-1",
        batch_size=4, eval_batch_size=2, num_steps=5, hidden_size=8, progress=False,
        sample_tokens=3)
    # The sampler's tokens, rendered: <eos> is the newline it stands for.
    monkeypatch.setattr(train, "sample", lambda *a, **k: ["\u00e9", "<eos>", "c"])
    results = train.train_and_evaluate(config, str(tmp_path / "run"))
    assert results["sample"] == "\u00e9\nc"
    assert "\u00e9" in (tmp_path / "run" / "vocab.txt").read_text(encoding="utf-8")
    with pytest.raises(runs.UsageError, match="book.txt"):  # UTF-8 cannot read it
        train.train_and_evaluate(config.replace(encoding="utf-8"), str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def test_default_preset_depends_on_the_data():
    assert configs.default_preset({}) == "builtin"
    assert configs.default_preset({"data_dir": "x"}) == "small"
    assert configs.PRESETS["small"].replace(hidden_size=64).num_steps == 20


def _command(data_dir, train_dir, *extra):
    return [sys.executable, "-m", "experiments.lm", "--config=test", f"--data_dir={data_dir}",
            "--hidden_size=4", "--num_steps=4", "--batch_size=4", "--epochs=1",
            "--sample_tokens=0", "--noprogress", f"--train_dir={train_dir}", *extra]


def test_command_line_prints_json_replays_and_reports_bad_input(data_dir, tmp_path):
    def run(args):
        return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT,
                              env=ENV)

    out = run(_command(data_dir, tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(metrics) >= {"valid_perplexity", "test_perplexity", "tokens_per_second"}
    assert "epoch 1/1:" in out.stdout and out.stderr.strip() == ""  # quiet by default
    # Not a terminal: plain lines, no progress bar's control codes.
    assert not any(code in out.stdout for code in ("\r", "\b", "\x1b"))
    # flags.txt replays the run: the same metrics in another train dir; with
    # --verbosity=1 TensorFlow's INFO lines (one per checkpoint save) are shown.
    replay = run([sys.executable, "-m", "experiments.lm",
                  f"--flagfile={tmp_path / 'run' / 'flags.txt'}",
                  f"--train_dir={tmp_path / 'replay'}", "--verbosity=1"])
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "Sharding callback duration" in replay.stderr
    assert json.loads(replay.stdout.strip().splitlines()[-1])["test_perplexity"] == \
        metrics["test_perplexity"]
    # A user mistake: one line on stderr, exit status 2, no traceback.
    bad = run(_command(data_dir, tmp_path / "bad", "--num_steps=100000"))
    assert bad.returncode == runs.EXIT_USAGE
    assert bad.stderr.count("\n") == 1 and "num_steps" in bad.stderr, bad.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("extra, message", [
    (["--config=nope"], "--config=nope: expected one of ['builtin', 'large', 'medium', "
                        "'small', 'test']"),
    (["--learning_rate=nan"], "--learning_rate=nan: expected a finite number >= 0"),
    (["--hidden_size=0"], "--hidden_size=0: 0 is not a positive integer"),
    (["--encoding=utf-9"], "--encoding=utf-9: expected a text encoding"),
    (["--cell=gru"], "other settings (--cell: 'lstm' -> 'gru')"),
])
def test_main_reports_user_mistakes_in_one_line(data_dir, tmp_path, capsys, extra, message):
    train_dir = tmp_path / "run"
    if extra == ["--cell=gru"]:  # a setting that cannot change on resume
        runs.main(train.EXPERIMENT, _command(data_dir, train_dir)[2:])
        capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        runs.main(train.EXPERIMENT, _command(data_dir, train_dir, *extra)[2:])
    err = capsys.readouterr().err
    assert exit_.value.code == runs.EXIT_USAGE
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert extra == ["--cell=gru"] or not train_dir.exists()


def test_mixed_bfloat16_trains_with_float32_variables_and_resumes_across_precisions(
        data_dir, tmp_path):
    import keras

    seen = {}
    build = train.EXPERIMENT.build

    def spy(config, data):
        model, optimizer = build(config, data)
        seen[config.precision] = (model.rnn.dtype_policy.name,
                                  {w.dtype for w in model.weights})
        return model, optimizer

    train.EXPERIMENT.build, original = spy, build
    try:
        # Written under bfloat16, resumed under float32, then under bfloat16 again.
        config = _tiny(data_dir, epochs=1, precision="mixed_bfloat16")
        first = train.train_and_evaluate(config, str(tmp_path))
        second = train.train_and_evaluate(config.replace(epochs=2, precision="float32"),
                                          str(tmp_path))
        third = train.train_and_evaluate(config.replace(epochs=3), str(tmp_path))
    finally:
        train.EXPERIMENT.build = original
    assert seen["mixed_bfloat16"] == ("mixed_bfloat16", {"float32"})
    assert seen["float32"] == ("float32", {"float32"})
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    assert (second["resumed_from_epoch"], third["resumed_from_epoch"]) == (1, 2)
    for results in (first, second, third):
        assert np.isfinite(results["test_perplexity"]) and results["test_perplexity"] > 1
    assert json.load(open(tmp_path / "flags.json"))["precision"] == "mixed_bfloat16"


def test_mixed_bfloat16_loss_is_float32_and_close_to_float32(data_dir):
    # The same weights under both policies: float32 logits and loss, and a
    # loss within bfloat16's rounding (8 bits of mantissa) of the float32 one.
    config = _tiny(data_dir)
    data = train.load_data(config)
    vocab = len(data.corpus.vocab)
    x, y = next(text_data.iterate_bptt(data.train, config.num_steps))
    losses = {}
    for precision in ("float32", "mixed_bfloat16"):
        with runs.precision_policy(precision):
            model = train.build_model(config, vocab)
            logits, states = model((tf.constant(x), model.initial_state(config.batch_size)))
            assert logits.dtype == tf.float32 and {s.dtype for s in states} == {tf.float32}
            # The softmax layer computes in float32 under either policy (a bfloat16
            # Dense cost 16% PTB perplexity); the recurrence follows the policy.
            # (Training's fused softmax: tests/test_losses.py.)
            assert model.output_layer.compute_dtype == "float32"
            assert model.rnn.compute_dtype == {"float32": "float32",
                                               "mixed_bfloat16": "bfloat16"}[precision]
            losses[precision] = float(tf.reduce_mean(token_losses(logits, y)))
    assert losses["mixed_bfloat16"] == pytest.approx(losses["float32"], rel=1e-2)


def test_tied_softmax_is_float32_under_mixed_bfloat16():
    # With --tie_embeddings the projection reads the embedding matrix in float32
    # (TiedOutput), not the bfloat16 copy the model's own call would read.
    from seqkit.language_model import LanguageModel

    tokens = tf.constant([[3, 1, 4, 1, 5]])
    with runs.precision_policy("mixed_bfloat16"):
        model = LanguageModel(30, cell="lstm", num_layers=1, hidden_size=16,
                              tie_embeddings=True, init_scale=0.5, seed=1)
        logits, _ = model((tokens, model.initial_state(1)))
        # The same hidden states, taken through the layers one by one.
        hidden, *_ = model.rnn(model.embedding(tokens), initial_state=model.initial_state(1))
    assert hidden.dtype == tf.bfloat16 and logits.dtype == tf.float32
    embeddings = tf.cast(model.embedding.embeddings, tf.float64)
    inputs = tf.cast(hidden, tf.float64)
    expected = inputs @ tf.transpose(embeddings) + tf.cast(model.output_bias, tf.float64)
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    # What a projection with bfloat16 weights would give fails that comparison.
    rounded = tf.cast(tf.cast(embeddings, tf.bfloat16), tf.float64)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose((inputs @ tf.transpose(rounded)).numpy(),
                                   (inputs @ tf.transpose(embeddings)).numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_use_peepholes_only_with_lstm(data_dir, tmp_path):
    with pytest.raises(runs.UsageError, match="--use_peepholes: only applies to --cell=lstm"):
        train.train_and_evaluate(_tiny(data_dir, cell="gru", use_peepholes=True),
                                 str(tmp_path))
    assert not tmp_path.joinpath("flags.json").exists()


def test_use_peepholes_builds_the_peephole_lstm_and_trains(data_dir, tmp_path):
    config = _tiny(data_dir, epochs=1, use_peepholes=True)
    model = train.build_model(config, 20)
    names = [w.path for w in model.weights]
    assert sum("peephole" in name for name in names) == config.num_layers
    results = train.train_and_evaluate(config, str(tmp_path))
    assert np.isfinite(results["test_perplexity"])
    assert json.load(open(tmp_path / "flags.json"))["use_peepholes"] is True

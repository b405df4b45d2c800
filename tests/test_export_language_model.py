"""seqkit.export.language_model: score / step / generate SavedModels that run without seqkit."""
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from experiments.lm import configs, train
from seqkit import layers
from seqkit.data import text as text_data
from seqkit.export import export_model
from seqkit.export import language_model as lm_export
from seqkit.language_model import LanguageModel, sample
from tests.helpers import half_written_save, run_without_seqkit, write_ptb_corpus

# 20 tokens with <unk> and <eos>, like a PTB vocabulary.
WORDS = ("<unk> <eos> the cat sat on mat . a dog ran to was red big small old new "
         "blue green").split()
TOKENS = np.array([[2, 3, 4, 5, 2, 6, 7], [8, 9, 10, 11, 2, 3, 1], [19, 0, 18, 17, 1, 1, 16]],
                  np.int32)
PROMPT = "the cat zzz"  # "zzz" is not in the vocabulary: it becomes <unk>
NUM_TOKENS = 12


def _log_softmax(logits):
    return np.asarray(tf.nn.log_softmax(logits, axis=-1))


@pytest.fixture(scope="module")
def word_lm(tmp_path_factory):
    """A 2-layer LSTM LM over WORDS, random weights large enough to be far from uniform."""
    vocab = text_data.Vocabulary(WORDS)
    model = LanguageModel(len(vocab), cell="lstm", num_layers=2, hidden_size=8,
                          init_scale=0.5, seed=1)
    model.build()
    path = str(tmp_path_factory.mktemp("lm") / "export")
    assert lm_export.export_language_model(model, vocab, path) == path
    logits, _ = model((TOKENS, model.initial_state(3)))
    return {"model": model, "vocab": vocab, "path": path, "log_probs": _log_softmax(logits)}


@pytest.fixture(scope="module")
def generic(tmp_path_factory):
    """A plain functional Keras model of seqkit layers, exported with export_model."""
    keras.utils.set_random_seed(3)
    series = keras.Input((None, 3), name="series")
    hidden = layers.LSTM(6, return_sequences=True)(series)
    hidden = layers.GRU(5, return_sequences=True)(hidden)
    output = layers.Elman(2)(hidden)
    model = keras.Model(series, output)
    path = str(tmp_path_factory.mktemp("generic") / "export")
    export_model(model, path)
    inputs = np.random.default_rng(0).standard_normal((4, 9, 3)).astype(np.float32)
    return {"path": path, "inputs": inputs, "expected": np.asarray(model(inputs))}


def _run_without_seqkit(code, folder):
    """``tests.helpers.run_without_seqkit``, returning its last line as JSON."""
    return json.loads(run_without_seqkit(code, folder).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served(word_lm, generic, tmp_path_factory):
    """Everything the loaded SavedModels return, computed once in a process without seqkit."""
    folder = tmp_path_factory.mktemp("served")
    np.save(folder / "tokens.npy", TOKENS)
    np.save(folder / "series.npy", generic["inputs"])
    report = _run_without_seqkit(f"""
        import json
        import numpy as np
        import tensorflow as tf
        report = {{}}
        try:
            import seqkit
            report["seqkit_importable"] = True
        except ImportError:
            report["seqkit_importable"] = False

        lm = tf.saved_model.load({word_lm['path']!r})
        tokens = np.load("tokens.npy")
        score = lm.signatures["score"](tokens=tf.constant(tokens))
        np.save("score.npy", score["log_probs"].numpy())
        np.save("function_score.npy", lm.score(tf.constant(tokens))["log_probs"].numpy())

        def stream(rows):
            state = lm.signatures["initial_state"](batch_size=tf.constant(len(rows)))
            steps = []
            for t in range(tokens.shape[1]):
                out = lm.signatures["step"](tokens=tf.constant(tokens[rows, t]), **state)
                state = {{k: v for k, v in out.items() if k.startswith("state_")}}
                steps.append(tf.nn.log_softmax(out["logits"]).numpy())
            return np.stack(steps, axis=1), state

        np.save("stream1.npy", stream([1])[0])
        streamed, final = stream([0, 1, 2])
        np.save("stream3.npy", streamed)
        report["final_states_equal_score"] = all(
            np.allclose(final[k].numpy(), score[k].numpy(), atol=1e-5) for k in final)

        def generate(prompt, temperature, seed, num_tokens={NUM_TOKENS}):
            out = lm.signatures["generate"](
                prompt=tf.constant(prompt), num_tokens=tf.constant(num_tokens),
                temperature=tf.constant(temperature), seed=tf.constant(seed))
            return {{"text": out["text"].numpy().decode(),
                    "tokens": [t.decode() for t in out["tokens"].numpy()],
                    "token_ids": out["token_ids"].numpy().tolist()}}

        report["greedy"] = generate({PROMPT!r}, 0.0, 0)
        report["greedy_unk"] = generate("the cat <unk>", 0.0, 0)
        report["cold"] = generate({PROMPT!r}, 1e-3, 4)
        report["seed5"] = [generate({PROMPT!r}, 1.0, 5), generate({PROMPT!r}, 1.0, 5)]
        report["seed6"] = generate({PROMPT!r}, 1.0, 6)
        report["zero_tokens"] = generate({PROMPT!r}, 1.0, 5, num_tokens=0)
        report["metadata"] = {{
            k: (v.numpy().tolist() if v.dtype != tf.string else
                [s.decode() for s in np.atleast_1d(v.numpy())])
            for k, v in lm.signatures["metadata"]().items()}}
        report["vocabulary_file"] = open(lm.vocabulary_file.asset_path.numpy().decode(),
                                         encoding="utf-8").read()

        state2 = lm.signatures["initial_state"](batch_size=tf.constant(2))
        bad_calls = {{
            "function_dtype": lambda: lm.score(tf.constant(tokens.astype("float32"))),
            "signature_dtype": lambda: lm.signatures["score"](
                tokens=tf.constant(tokens.astype("float32"))),
            "signature_rank": lambda: lm.signatures["score"](tokens=tf.constant([2, 3, 4, 5])),
            "state_width": lambda: lm.signatures["step"](
                tokens=tf.constant([2, 3]), **{{**state2, "state_1": tf.zeros([2, 5])}}),
            "state_batch": lambda: lm.signatures["step"](tokens=tf.constant([2, 3, 4]), **state2),
            "token_range": lambda: lm.signatures["score"](tokens=tf.constant([[2, 20]])),
            "temperature": lambda: generate("the", -1.0, 0),
        }}
        report["errors"] = {{}}
        for name, call in bad_calls.items():
            try:
                call()
                report["errors"][name] = "no error"
            except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
                report["errors"][name] = type(error).__name__ + ": " + str(error)

        net = tf.saved_model.load({generic['path']!r})
        series = tf.constant(np.load("series.npy"))
        np.save("generic_serve.npy", net.serve(series).numpy())
        out = net.signatures["serving_default"](series=series)
        np.save("generic_signature.npy", list(out.values())[0].numpy())
        print(json.dumps(report))
        """, folder)
    report["arrays"] = {name: np.load(folder / f"{name}.npy") for name in (
        "score", "function_score", "stream1", "stream3", "generic_serve", "generic_signature")}
    return report


def test_loads_where_seqkit_cannot_be_imported(served):
    assert served["seqkit_importable"] is False


def test_score_is_the_keras_log_softmax(word_lm, served):
    for name in ("score", "function_score"):
        scored = served["arrays"][name]
        assert scored.shape == (3, 7, 20) and scored.dtype == np.float32
        np.testing.assert_allclose(scored, word_lm["log_probs"], rtol=1e-5, atol=1e-5)


def test_streaming_steps_equal_score_at_batch_1_and_3(served):
    score = served["arrays"]["score"]
    np.testing.assert_allclose(served["arrays"]["stream1"], score[1:2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(served["arrays"]["stream3"], score, rtol=1e-5, atol=1e-5)
    # score also returns the state after the last token, where step ends too.
    assert served["final_states_equal_score"]


def test_greedy_generate_equals_python_greedy_with_keras(word_lm, served):
    expected = sample(word_lm["model"], word_lm["vocab"], PROMPT.split(), NUM_TOKENS,
                      temperature=0)
    greedy = served["greedy"]
    assert greedy["tokens"] == expected
    assert greedy["token_ids"] == [word_lm["vocab"].id_of(token) for token in expected]
    assert greedy["text"] == " ".join(expected)
    # The in-graph rendering is seqkit.data.text.detokenize's (word level: <eos> literal).
    assert greedy["text"] == text_data.detokenize(expected, "word")
    # The unknown word went through the in-graph table's default: <unk>.
    assert served["greedy_unk"] == greedy
    # Not a degenerate model that repeats one token from the start.
    assert len(set(expected)) > 1


def test_generate_same_seed_same_text_and_temperature_scales_logits(served):
    first, again = served["seed5"]
    assert first == again and len(first["tokens"]) == NUM_TOKENS
    assert served["seed6"]["token_ids"] != first["token_ids"]
    # logits / 0.001: sampling is (almost surely) the argmax; a temperature that
    # multiplied instead of divided would give a near-uniform draw.
    assert served["cold"]["token_ids"] == served["greedy"]["token_ids"]
    assert served["zero_tokens"] == {"text": "", "tokens": [], "token_ids": []}


def test_metadata_and_vocabulary_asset(word_lm, served):
    meta = served["metadata"]
    assert meta["vocab_size"] == 20 and meta["level"] == ["word"] and meta["cell"] == ["lstm"]
    assert meta["state_sizes"] == [8, 8, 8, 8] == word_lm["model"].state_sizes
    assert meta["state_names"] == word_lm["model"].rnn.state_names
    assert served["vocabulary_file"] == "".join(token + "\n" for token in WORDS)
    with open(os.path.join(word_lm["path"], "assets", "metadata.json")) as handle:
        asset = json.load(handle)
    assert asset["state_sizes"] == [8, 8, 8, 8] and asset["unk"] == "<unk>"
    assert asset["model_config"]["hidden_size"] == 8


def test_wrong_dtype_or_shape_names_the_expected_signature(served):
    errors = served["errors"]
    # The loaded function: TensorFlow's binding error spells out the spec.
    assert errors["function_dtype"].startswith("TypeError")
    assert "TensorSpec(shape=(None, None), dtype=tf.int32, name='tokens')" in \
        errors["function_dtype"]
    # A signature call: TensorFlow checks the dtype itself...
    assert "expected to be a int32 tensor but is a float tensor" in errors["signature_dtype"]
    # ...and every shape is asserted in the graph, naming the signature.
    score = "score(tokens: TensorSpec(shape=(None, None), dtype=tf.int32))"
    assert "`tokens` must be TensorSpec(shape=(None, None), dtype=tf.int32)" in \
        errors["signature_rank"]
    assert score in errors["signature_rank"] and "[4]" in errors["signature_rank"]
    step = ("step(tokens: TensorSpec(shape=(None,), dtype=tf.int32), "
            "state_0: TensorSpec(shape=(None, 8), dtype=tf.float32)")
    assert "`state_1` must be TensorSpec(shape=(None, 8), dtype=tf.float32)" in \
        errors["state_width"]
    assert step in errors["state_width"] and "[2 5]" in errors["state_width"]
    assert "batch as in `tokens`" in errors["state_batch"] and step in errors["state_batch"]
    assert "token ids in [0, 20)" in errors["token_range"] and score in errors["token_range"]
    assert "`temperature` must be >= 0" in errors["temperature"]
    assert "generate(prompt: TensorSpec(shape=(), dtype=tf.string)" in errors["temperature"]


def _saved_model_cli(*paths):
    """``saved_model_cli show --all`` of each path; the processes run side by side."""
    processes = [subprocess.Popen(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
         path, "--all"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")) for path in paths]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
        outputs.append(stdout)
    return outputs


def _signature_block(text, name):
    start = text.index(f"signature_def['{name}']")
    end = text.find("signature_def[", start + 1)
    return text[start:end if end > 0 else len(text)]


def test_saved_model_cli_lists_named_signatures(word_lm, generic):
    text, generic_text = _saved_model_cli(word_lm["path"], generic["path"])
    expected = {
        "score": (["tokens"], ["log_probs", "state_0", "state_3"]),
        "initial_state": (["batch_size"], ["state_0", "state_3"]),
        "step": (["tokens", "state_0", "state_1", "state_2", "state_3"],
                 ["logits", "state_0", "state_3"]),
        "generate": (["prompt", "num_tokens", "temperature", "seed"],
                     ["text", "tokens", "token_ids"]),
        "metadata": ([], ["vocab_size", "level", "cell", "state_sizes", "state_names"]),
    }
    for name, (inputs, outputs) in expected.items():
        block = _signature_block(text, name)
        for argument in inputs:
            assert f"inputs['{argument}']" in block, (name, argument)
        for output in outputs:
            assert f"outputs['{output}']" in block, (name, output)
    assert "shape: (-1, -1, 20)" in _signature_block(text, "score")
    assert "shape: (-1, 8)" in _signature_block(text, "step")
    assert "DT_STRING" in _signature_block(text, "generate")

    serve = _signature_block(generic_text, "serve")
    assert "inputs['series']" in serve and "shape: (-1, -1, 3)" in serve
    assert "outputs['output_0']" in serve and "shape: (-1, 2)" in serve


def test_generic_seqkit_model_exports_and_serves_without_seqkit(generic, served):
    for name in ("generic_serve", "generic_signature"):
        np.testing.assert_allclose(served["arrays"][name], generic["expected"],
                                   rtol=1e-5, atol=1e-5)


def _saved_model_bytes(path):
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        return handle.read()


def test_failed_export_leaves_previous_export_intact(word_lm, tmp_path, monkeypatch):
    path = str(tmp_path / "model")
    shutil.copytree(word_lm["path"], path)
    before = _saved_model_bytes(path)

    monkeypatch.setattr(tf.saved_model, "save", half_written_save)
    with pytest.raises(OSError, match="disk full"):
        lm_export.export_language_model(word_lm["model"], word_lm["vocab"], path)
    monkeypatch.undo()
    assert _saved_model_bytes(path) == before
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary folder left
    served = tf.saved_model.load(path).signatures["score"](tokens=tf.constant(TOKENS))
    np.testing.assert_allclose(served["log_probs"], word_lm["log_probs"], rtol=1e-5, atol=1e-5)


def test_export_replaces_previous_export(word_lm, tmp_path):
    path = str(tmp_path / "model")
    shutil.copytree(word_lm["path"], path)
    other = LanguageModel(20, cell="gru", num_layers=1, hidden_size=4, seed=7)
    other.build()
    lm_export.export_language_model(other, word_lm["vocab"], path)
    assert sorted(os.listdir(tmp_path)) == ["model"]
    loaded = tf.saved_model.load(path)
    assert loaded.signatures["metadata"]()["cell"].numpy() == b"gru"
    logits, _ = other((TOKENS, other.initial_state(3)))
    np.testing.assert_allclose(loaded.score(tf.constant(TOKENS))["log_probs"],
                               _log_softmax(logits), rtol=1e-5, atol=1e-5)


def test_bad_arguments_name_the_argument(word_lm, tmp_path):
    model, vocab = word_lm["model"], word_lm["vocab"]
    with pytest.raises(ValueError, match="argument `level`, expected one of"):
        lm_export.export_language_model(model, vocab, str(tmp_path / "a"), level="byte")
    with pytest.raises(ValueError, match=r"`model` and `vocab` disagree.*expected \(1, 1, 19\)"):
        lm_export.export_language_model(model, WORDS[:-1], str(tmp_path / "b"))
    with pytest.raises(ValueError, match="without `state_sizes`"):
        lm_export.export_language_model(keras.Sequential([keras.layers.Dense(2)]), vocab,
                                        str(tmp_path / "c"))
    assert not os.listdir(tmp_path)


def test_char_level_generate_maps_lines_and_unicode_in_graph(tmp_path):
    # Space, tab, form feed and non-ASCII characters are tokens; no <unk>.
    chars = ["<eos>", " ", "\t", "a", "b", "é", "\x0c", "c", "ü", "日"]
    vocab = text_data.Vocabulary(chars)
    model = LanguageModel(len(vocab), cell="gru", num_layers=1, hidden_size=6,
                          init_scale=0.8, seed=2)
    model.build()
    path = lm_export.export_language_model(model, vocab, str(tmp_path / "char"), level="char")
    generate = tf.saved_model.load(path).signatures["generate"]

    def run(prompt, num_tokens=15):
        return generate(prompt=tf.constant(prompt), num_tokens=tf.constant(num_tokens),
                        temperature=tf.constant(0.0), seed=tf.constant(0))

    # "\r\n" is one line break, which is the <eos> token.
    out = run("a é\tb\r\n日\x0c")
    expected = sample(model, vocab, ["a", " ", "é", "\t", "b", "<eos>", "日", "\x0c"], 15,
                      temperature=0)
    assert [t.decode() for t in out["tokens"].numpy()] == expected
    assert out["text"].numpy().decode() == "".join(
        "\n" if token == "<eos>" else token for token in expected)
    assert out["text"].numpy().decode() == text_data.detokenize(expected, "char")
    assert "<eos>" in expected  # the line-break rendering was exercised
    # Invalid UTF-8 is named as such (it used to reach the unknown-token check).
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"`prompt` must be UTF-8 text.*\[a\ufffdb\]"):
        run(b"a\xffb")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"not in the vocabulary, which has no <unk>.*\[z x\]"):
        run("abzcx")


def test_score_without_tokens_and_prompt_not_utf8_get_signature_errors(word_lm):
    """Misuse the export's checks catch up front, instead of an internal
    "empty list" error or a UnicodeDecodeError in the client."""
    lm = tf.saved_model.load(word_lm["path"])
    score = r"in the signature score\(tokens: TensorSpec\(shape=\(None, None\), dtype=tf.int32\)\)"
    for shape, call in (([1, 0], lambda t: lm.signatures["score"](tokens=t)),
                        ([3, 0], lm.score)):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"`tokens` must hold at least one token per row \(time >= 1\) "
                                 + score + r"; got `tokens` of shape\] \[" + " ".join(
                                     map(str, shape)) + r"\]"):
            call(tf.zeros(shape, tf.int32))
    # An empty batch of non-empty rows is not misuse.
    assert lm.signatures["score"](tokens=tf.zeros([0, 4], tf.int32))["log_probs"].shape == (
        0, 4, 20)

    def generate(prompt):
        return lm.signatures["generate"](prompt=tf.constant(prompt), num_tokens=tf.constant(3),
                                         temperature=tf.constant(0.0), seed=tf.constant(0))

    # Word level with <unk>: the bad byte would silently have become <unk>.
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        generate(b"the \xff\xfe cat")
    message = str(error.value)  # a str: the message itself decodes
    assert "`prompt` must be UTF-8 text in the signature generate(prompt: TensorSpec" in message
    assert "[the \ufffd\ufffd cat]" in message
    assert len(generate("the caf\u00e9 cat")["token_ids"].numpy()) == 3  # valid UTF-8 is fine


def _write_corpus(folder, lines=40, seed=0):
    return write_ptb_corpus(folder, lines=lines, seed=seed)


def _perplexity(log_probs, stream):
    """exp(mean −log p(next token)) over one stream scored in one call."""
    picked = np.take_along_axis(log_probs[0, :-1], stream[1:, None], axis=-1)
    return float(np.exp(-picked.mean()))


def test_trained_run_exports_through_flag_and_from_checkpoint(tmp_path):
    data_dir = _write_corpus(str(tmp_path / "ptb"))
    flag_export = str(tmp_path / "flag_export")
    config = configs.get_config("test").replace(
        data_dir=data_dir, hidden_size=8, num_steps=5, batch_size=4, eval_batch_size=1,
        epochs=1, progress=False, sample_tokens=0, export_dir=flag_export)
    train_dir = str(tmp_path / "run")
    results = train.train_and_evaluate(config, train_dir)
    assert results["export_dir"] == flag_export

    checkpoint_export = lm_export.export_checkpoint(train_dir, str(tmp_path / "ckpt_export"))
    corpus = text_data.load_corpus(data_dir=data_dir)
    stream = corpus.test
    scores = {}
    for name, path in (("flag", flag_export), ("checkpoint", checkpoint_export)):
        loaded = tf.saved_model.load(path)
        scores[name] = loaded.signatures["score"](
            tokens=tf.constant(stream[None, :]))["log_probs"].numpy()
        # One stream scored at once is what evaluate() does window by window.
        assert _perplexity(scores[name], stream) == pytest.approx(
            results["test_perplexity"], rel=1e-5)
    np.testing.assert_allclose(scores["checkpoint"], scores["flag"], rtol=1e-5, atol=1e-5)
    with open(os.path.join(checkpoint_export, "assets", "metadata.json")) as handle:
        metadata = json.load(handle)
    # The best-validation checkpoint (what the test metrics describe), not merely the latest.
    assert metadata["checkpoint"] == os.path.abspath(
        tf.train.latest_checkpoint(os.path.join(train_dir, "best")))

    # The restore mattered: the same flags without the checkpoint score differently.
    with open(os.path.join(train_dir, "flags.json")) as handle:
        untrained = lm_export.build_model_from_flags(json.load(handle), len(corpus.vocab))
    logits, _ = untrained((stream[None, :], untrained.initial_state(1)))
    assert abs(_perplexity(_log_softmax(logits), stream) / results["test_perplexity"] - 1) > 1e-3


def test_export_checkpoint_errors_name_what_is_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="without flags.json"):
        lm_export.export_checkpoint(str(empty), str(tmp_path / "out"))
    flags = configs.get_config("test").replace(hidden_size=4).to_dict()
    flags["vocab_size"] = len(WORDS)
    (empty / "flags.json").write_text(json.dumps(flags))
    text_data.Vocabulary(WORDS).save(empty / "vocab.txt")
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        lm_export.export_checkpoint(str(empty), str(tmp_path / "out"))

    # A checkpoint of another architecture (hidden size 3, not 4).
    other = LanguageModel(len(WORDS), num_layers=1, hidden_size=3)
    other.build()
    prefix = tf.train.Checkpoint(model_variables=list(other.variables)).save(
        str(empty / "checkpoints" / "ckpt"))
    with pytest.raises(ValueError, match="does not hold every variable"):
        lm_export.export_checkpoint(str(empty), str(tmp_path / "out"), checkpoint=prefix)
    assert not os.path.exists(tmp_path / "out")

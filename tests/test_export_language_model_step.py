"""The exported language model's fast one-token path, tied to the model's own call.

``seqkit.export.language_model.one_token_step`` steps each cell's ``call``
instead of running the layers' whole-sequence loops, and the export compiles it
with XLA (``jit_compile``); both must give the numbers of
``model((tokens[:, None], states))``, and an export with ``jit_compile=False``
(the plain graph) the same outputs as one with XLA.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.data import text as text_data
from seqkit.export import language_model as lm_export
from seqkit.language_model import LanguageModel

TOLERANCE = dict(rtol=1e-5, atol=1e-5)
WORDS = ("<unk> <eos> the cat sat on mat . a dog ran to was red big small old new "
         "blue green").split()


def _model(cell="lstm", **options):
    keras.utils.set_random_seed(4)
    model = LanguageModel(len(WORDS), cell=cell, num_layers=2, hidden_size=6,
                          init_scale=0.6, seed=3, **options)
    model.build()
    return model


def _reference_step(model, tokens, states):
    logits, new_states = model((tokens[:, None], states), training=False)
    return np.asarray(logits)[:, 0], [np.asarray(s) for s in new_states]


@pytest.mark.parametrize("cell, options", [
    ("lstm", {}),
    ("gru", {}),
    ("elman", {}),
    ("lstm", dict(tie_embeddings=True)),
    # Dropout rates: identities at inference, on both paths.
    ("gru", dict(dropout=0.3, recurrent_dropout=0.2)),
    ("lstm", dict(cell_kwargs={"use_peepholes": True, "peephole_initializer": "ones"})),
], ids=["lstm", "gru", "elman", "lstm_tied", "gru_dropout", "lstm_peepholes"])
@pytest.mark.parametrize("compiled", [False, True], ids=["graph", "xla"])
def test_one_token_step_equals_the_model_over_several_steps(cell, options, compiled):
    model = _model(cell, **options)
    step = lm_export.one_token_step(model)
    assert step is not None
    step = tf.function(step, jit_compile=compiled, autograph=False)
    rng = np.random.default_rng(0)
    states = [tf.constant(rng.normal(scale=0.5, size=(3, size)).astype("float32"))
              for size in model.state_sizes]
    reference_states = [np.asarray(s) for s in states]
    for _ in range(4):  # the state carried from step to step on both paths
        tokens = tf.constant(rng.integers(0, len(WORDS), size=3), tf.int32)
        logits, states = step(tokens, states)
        expected, reference_states = _reference_step(model, tokens, reference_states)
        np.testing.assert_allclose(np.asarray(logits), expected, **TOLERANCE)
        assert len(states) == len(reference_states)
        for actual, wanted in zip(states, reference_states):
            np.testing.assert_allclose(np.asarray(actual), wanted, **TOLERANCE)
    # The cells' cached dropout masks are cleared, as the RNN layer clears them.
    for layer in model.rnn.forward_layers:
        assert getattr(layer.cell, "_dropout_mask", None) is None
        assert getattr(layer.cell, "_recurrent_dropout_mask", None) is None


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_a_mixed_bfloat16_model_exports_and_steps_like_the_model(tie, tmp_path):
    # Trained under --precision=mixed_bfloat16, the model's cells compute in
    # bfloat16 on float32 weights; the one-token path must read them the same
    # way (a bare cell.call failed: bfloat16 times float32).
    from seqkit import runs

    with runs.precision_policy("mixed_bfloat16"):
        model = _model("lstm", tie_embeddings=tie)
    assert model.rnn.compute_dtype == "bfloat16"
    path = lm_export.export_language_model(model, text_data.Vocabulary(WORDS),
                                           str(tmp_path / "lm"))
    loaded = tf.saved_model.load(path)
    rng = np.random.default_rng(2)
    tokens = tf.constant(rng.integers(0, len(WORDS), size=3), tf.int32)
    states = [tf.constant(rng.normal(scale=0.5, size=(3, size)).astype("float32"))
              for size in model.state_sizes]
    served = loaded.signatures["step"](tokens=tokens,
                                       **{f"state_{i}": s for i, s in enumerate(states)})
    expected, expected_states = _reference_step(model, tokens, [np.asarray(s) for s in states])
    assert served["logits"].dtype == tf.float32
    # Both paths round to bfloat16 in the cells (8-bit mantissas); XLA may
    # round at other points than the graph.
    np.testing.assert_allclose(served["logits"].numpy(), expected, rtol=0.05, atol=0.05)
    for i, wanted in enumerate(expected_states):
        np.testing.assert_allclose(served[f"state_{i}"].numpy(), wanted, rtol=0.05, atol=0.05)
    generated = loaded.signatures["generate"](
        prompt=tf.constant("the cat"), num_tokens=tf.constant(5),
        temperature=tf.constant(1.0), seed=tf.constant(1))
    assert generated["token_ids"].shape == (5,)


def test_models_it_cannot_step_keep_the_model_path():
    # Clockwork's step depends on the time index; a plain Keras model has no cells.
    assert lm_export.one_token_step(_model("clockwork", cell_kwargs={"periods": [1, 2]})) is None
    assert lm_export.one_token_step(keras.Sequential([keras.layers.Dense(3)])) is None


def test_xla_probe_refuses_what_xla_cannot_compile():
    def strings(tokens, states):  # XLA has no string kernels
        return tf.strings.to_number(tf.strings.as_string(tokens)), states

    assert lm_export._compiles(strings, [4]) is False
    assert lm_export._compiles(lambda tokens, states: (tf.cast(tokens, tf.float32), states),
                               [4]) is True


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    model = _model("lstm")
    vocab = text_data.Vocabulary(WORDS)
    folder = tmp_path_factory.mktemp("lm_step")
    loaded = {}
    for name, jit in (("xla", True), ("graph", False)):
        path = str(folder / name)
        lm_export.export_language_model(model, vocab, path, jit_compile=jit)
        loaded[name] = tf.saved_model.load(path)
    return model, loaded


def test_xla_and_plain_exports_serve_the_same_outputs(exports):
    model, loaded = exports
    rng = np.random.default_rng(1)
    tokens = tf.constant(rng.integers(0, len(WORDS), size=3), tf.int32)
    states = [tf.constant(rng.normal(size=(3, size)).astype("float32"))
              for size in model.state_sizes]
    feed = {f"state_{i}": s for i, s in enumerate(states)}
    served = {name: module.signatures["step"](tokens=tokens, **feed)
              for name, module in loaded.items()}
    expected, expected_states = _reference_step(model, tokens, [np.asarray(s) for s in states])
    for outputs in served.values():
        np.testing.assert_allclose(outputs["logits"].numpy(), expected, **TOLERANCE)
        for i, wanted in enumerate(expected_states):
            np.testing.assert_allclose(outputs[f"state_{i}"].numpy(), wanted, **TOLERANCE)
    arguments = dict(prompt=tf.constant("the cat"), num_tokens=tf.constant(15))
    for temperature, seed in ((0.0, 0), (1.0, 5)):
        generated = {
            name: module.signatures["generate"](
                temperature=tf.constant(temperature), seed=tf.constant(seed), **arguments
            )["token_ids"].numpy().tolist()
            for name, module in loaded.items()
        }
        assert generated["xla"] == generated["graph"] and len(generated["xla"]) == 15
    metadata = {name: module.metadata_file.asset_path.numpy().decode()
                for name, module in loaded.items()}
    import json

    for name, path in metadata.items():
        with open(path) as handle:
            assert json.load(handle)["step_jit_compile"] is (name == "xla")


@pytest.mark.parametrize("vocab_size", [1, 7, 20, 10001])
def test_sample_token_inverts_the_cdf_exactly(vocab_size):
    # Each uniform u must give the token i with cdf[i-1] <= u < cdf[i] (the CDF
    # in float64 by NumPy), so a grid of n uniforms gives token i n * p_i times
    # to within a point at each end.
    rng = np.random.default_rng(vocab_size)
    logits = rng.normal(scale=3.0, size=(1, vocab_size)).astype("float32")
    logits[0, rng.integers(vocab_size)] = -80.0  # a token of (almost) no mass
    temperature = 1.7
    n = 3000
    grid = ((np.arange(n) + 0.5) / n).astype("float32")

    def sample_all(uniforms):
        return tf.map_fn(lambda u: lm_export.sample_token(tf.constant(logits), u,
                                                          tf.constant(temperature))[0],
                         uniforms, fn_output_signature=tf.int32)

    tokens = tf.function(sample_all, autograph=False)(tf.constant(grid)).numpy()
    probs = np.asarray(tf.nn.softmax(logits[0] / temperature), np.float64)
    expected = np.searchsorted(np.cumsum(probs) / probs.sum(), grid.astype(np.float64),
                               side="right")
    # Away from a CDF step (float32 rounding there) the token is NumPy's.
    steps = np.cumsum(probs) / probs.sum()
    near = np.min(np.abs(grid[:, None] - steps[None, :]), axis=1) < 1e-5
    assert np.array_equal(tokens[~near], expected[~near])
    assert np.all(np.abs(tokens[near] - expected[near]) <= 1)
    counts = np.bincount(tokens, minlength=vocab_size)
    assert np.all(np.abs(counts - n * probs) <= 2.0)
    # Under XLA the same ops give the same tokens.
    compiled = tf.function(sample_all, autograph=False, jit_compile=True)
    assert np.array_equal(compiled(tf.constant(grid[::7])).numpy(), tokens[::7])


def test_generate_equals_a_token_by_token_loop_across_chunks(exports):
    # The chunked, compiled loop against the plainest reading of the doc: the
    # prompt through the Keras model, then per token sample_token with the
    # chunk's uniforms and the model on that one token.
    model, loaded = exports
    chunk = lm_export.GENERATE_CHUNK
    num_tokens, seed, temperature = chunk + 9, 11, 1.3
    prompt = ["the", "cat"]
    vocab = text_data.Vocabulary(WORDS)
    logits, states = model((tf.constant([[vocab.id_of(w) for w in prompt]]),
                            model.initial_state(1)), training=False)
    last, expected = logits[:, -1], []
    for position in range(num_tokens):
        uniforms = tf.random.stateless_uniform([chunk], seed=[seed, position // chunk])
        token = lm_export.sample_token(last, uniforms[position % chunk], temperature)
        expected.append(int(token[0]))
        logits, states = model((token[:, None], states), training=False)
        last = logits[:, -1]
    for name, module in loaded.items():
        served = module.signatures["generate"](
            prompt=tf.constant(" ".join(prompt)), num_tokens=tf.constant(num_tokens),
            temperature=tf.constant(temperature), seed=tf.constant(seed))
        assert served["token_ids"].numpy().tolist() == expected, name
        # A shorter request is a prefix of a longer one (the uniforms are keyed
        # on the chunk, not on the request's length).
        shorter = module.signatures["generate"](
            prompt=tf.constant(" ".join(prompt)), num_tokens=tf.constant(chunk - 1),
            temperature=tf.constant(temperature), seed=tf.constant(seed))
        assert shorter["token_ids"].numpy().tolist() == expected[:chunk - 1], name
    assert len(set(expected)) > 3  # not a model stuck on one token


def test_compiled_generation_is_one_program_for_every_argument_value():
    # XLA wants some inputs (a strided slice's start) as compile-time constants;
    # TensorFlow then folds the arguments they depend on into the program and
    # compiles anew for each value: every seed, prompt or length, 1.7 s a call.
    model = _model("lstm")
    run_one = tf.function(lm_export.one_token_step(model), autograph=False)
    chunk = tf.function(lm_export.chunk_generator(run_one), jit_compile=True, autograph=False)

    def program(seed, temperature, count):
        rng = np.random.default_rng(seed)
        last = tf.constant(rng.normal(size=(1, len(WORDS))).astype("float32"))
        states = [tf.constant(rng.normal(size=(1, size)).astype("float32"))
                  for size in model.state_sizes]
        uniforms = tf.constant(rng.uniform(size=lm_export.GENERATE_CHUNK).astype("float32"))
        return chunk.experimental_get_compiler_ir(
            last, states, uniforms, tf.constant(temperature), tf.constant(count))(stage="hlo")

    first = program(0, 1.0, 7)
    assert program(1, 1.0, 7) == first       # other logits, states, uniforms
    assert program(0, 0.0, 7) == first       # greedy
    assert program(0, 1.0, 30) == first      # another count
    # And step's program, for other tokens and states.
    step = tf.function(lm_export.one_token_step(model), jit_compile=True, autograph=False)

    def step_program(seed):
        rng = np.random.default_rng(seed)
        tokens = tf.constant(rng.integers(0, len(WORDS), size=2), tf.int32)
        states = [tf.constant(rng.normal(size=(2, size)).astype("float32"))
                  for size in model.state_sizes]
        return step.experimental_get_compiler_ir(tokens, states)(stage="hlo")

    assert step_program(0) == step_program(1)

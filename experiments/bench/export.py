"""Language-model serving speed: the exported SavedModel against Keras in Python.

Setting (issue 7): the Penn Treebank "small" size, a 2-layer LSTM of 200 units
over a 10,000-token vocabulary, float32, on the CPU. The weights are random
(``init_scale`` 0.1): speed does not depend on their values, so no training
run is needed. The model is exported with
``seqkit.export.language_model.export_language_model`` and loaded back with
``tf.saved_model.load`` in the same process; all timings are interleaved
(``experiments.bench.common.interleaved_times``) and medians are reported.

* ``step`` latency at batch 1 (milliseconds per call, one token and the state
  in, logits and the new state out, result fetched to the host; each path
  streams: the next token of a random cycle and the state its last call
  returned; each round times ``STEP_CALLS`` consecutive calls of one path and
  records the mean):
  - ``saved_model``: ``loaded.signatures["step"](tokens=..., state_0=..., ...)``;
  - ``saved_model_function``: ``loaded.step(tokens, state_0, ...)``, the loaded
    ``tf.function`` (positional arguments, no signature wrapper);
  - ``keras_eager``: ``model((tokens, states))`` called eagerly;
  - ``keras_function``: the same call inside a ``tf.function``;
  - ``empty_signature``: a SavedModel signature with ``step``'s inputs and
    outputs that computes nothing, TensorFlow's own cost of such a call (the
    floor under ``step``).
  The three compiled paths are interleaved; eager Keras is timed in a block of
  its own right after them (see the comment in ``run``).
* ``generate`` throughput (generated tokens per second, a 3-token prompt,
  temperature 1, a new seed every call):
  - ``saved_model``: ``loaded.signatures["generate"]``, the whole loop in the graph;
  - ``keras_sample``: ``seqkit.language_model.sample``, a Python loop of
    eager Keras calls with NumPy sampling.

Also reported: how long the export and the load took (one of each).

    python -m experiments.bench.export            # full setting
    python -m experiments.bench.export --quick    # tiny setting, a smoke test
"""

import argparse
import itertools
import json
import os
import platform
import shutil
import tempfile
import time

import numpy as np

from experiments.bench import common

FULL = {"vocab_size": 10000, "num_layers": 2, "hidden_size": 200, "generate_tokens": 200}
QUICK = {"vocab_size": 500, "num_layers": 2, "hidden_size": 32, "generate_tokens": 20}
PROMPT = ["w1", "w2", "w3"]
# Consecutive `step` calls per timed round: a server's steady state. With one
# call per round, each right after the other paths' calls (each with its own
# copy of the 8 MB softmax matrix), the same export measured 1.55 ms instead
# of 0.6 ms in this process, an artefact of the interleaving, not of serving.
STEP_CALLS = 50


def _vocabulary(size):
    from seqkit.data import text as text_data

    return text_data.Vocabulary([text_data.UNK, text_data.EOS] +
                                [f"w{i}" for i in range(size - 2)])


def _save_empty_step(loaded, path):
    """A SavedModel whose ``step`` signature has the LM's inputs and outputs and no math.

    Timed beside the real ``step``, it measures what TensorFlow itself charges
    for a signature call with these tensors (binding, dispatch, the executor,
    the host copy): the floor under any export's ``step``.
    """
    import tensorflow as tf

    specs = loaded.signatures["step"].structured_input_signature[1]
    names = sorted(specs, key=lambda name: (name != "tokens", name))

    class Empty(tf.Module):
        @tf.function(input_signature=[specs[name] for name in names], autograph=False)
        def step(self, *values):
            outputs = dict(zip(names, values))
            outputs["logits"] = tf.cast(outputs.pop("tokens"), tf.float32)
            return outputs

    module = Empty()
    tf.saved_model.save(module, path, signatures={"step": module.step.get_concrete_function()})


def _stream(step, tokens, states):
    """A zero-argument callable: one ``step(token, states) -> (logits, states)`` call
    on the next token of ``tokens`` (cycled) and the states the last call returned."""
    position, carried = [0], [states]

    def call():
        token = tokens[position[0] % len(tokens)]
        position[0] += 1
        logits, carried[0] = step(token, carried[0])
        np.asarray(logits)

    return call


def run(repeats=10, quick=False, seed=0):
    """One dict: the setting, step milliseconds and generate tokens/s of each path."""
    import keras
    import tensorflow as tf

    from seqkit.export import language_model as lm_export
    from seqkit.language_model import LanguageModel, sample

    setting = QUICK if quick else FULL
    keras.utils.set_random_seed(seed)
    vocab = _vocabulary(setting["vocab_size"])
    model = LanguageModel(len(vocab), cell="lstm", num_layers=setting["num_layers"],
                          hidden_size=setting["hidden_size"], init_scale=0.1, seed=seed)
    model.build()
    folder = tempfile.mkdtemp(prefix="bench-export-")
    try:
        path = os.path.join(folder, "lm")
        start = time.perf_counter()
        lm_export.export_language_model(model, vocab, path)
        export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        loaded = tf.saved_model.load(path)
        load_seconds = time.perf_counter() - start

        empty_path = os.path.join(folder, "empty")
        _save_empty_step(loaded, empty_path)
        empty_step = tf.saved_model.load(empty_path).signatures["step"]

        # A client streaming text: each call feeds the next token of a cycle
        # (ids all over the vocabulary) and the state the previous call
        # returned. Varied inputs matter: an export that compiled anew for each
        # input value would look fast on one repeated input.
        rng = np.random.default_rng(seed)
        tokens = [tf.constant([int(t)], tf.int32)
                  for t in rng.integers(0, len(vocab), size=STEP_CALLS + 3)]
        served_step = loaded.signatures["step"]
        compiled = tf.function(lambda tokens, states: model((tokens, states), training=False))

        def split(out, count):  # a signature's dict -> (logits, [state_0, ...])
            return out["logits"], [out[f"state_{i}"] for i in range(count)]

        def signature(step):
            return lambda token, states: split(
                step(tokens=token, **{f"state_{i}": s for i, s in enumerate(states)}),
                len(states))

        def function(token, states):
            return split(loaded.step(token, *states), len(states))

        def keras_function(token, states):
            return compiled(token[:, None], states)

        def keras_eager(token, states):
            return model((token[:, None], states))

        # Each callable fetches the logits as a NumPy array, so the time covers
        # the whole computation and the copy to the host, as a client sees it.
        step_times = common.interleaved_times({
            "saved_model": _stream(signature(served_step), tokens, model.initial_state(1)),
            "saved_model_function": _stream(function, tokens, model.initial_state(1)),
            "keras_function": _stream(keras_function, tokens, model.initial_state(1)),
            "empty_signature": _stream(signature(empty_step), tokens, model.initial_state(1)),
        }, repeats=repeats, calls=STEP_CALLS)
        # Eager Keras gets its own block: interleaved, each of its slow calls
        # made the next compiled call several times slower (0.65 -> 3.1 ms for
        # the tf.function, measured on 2 cores), which would flatter eager.
        step_times.update(common.interleaved_times({
            "keras_eager": _stream(keras_eager, tokens, model.initial_state(1)),
        }, repeats=repeats, calls=max(1, STEP_CALLS // 10)))

        count = setting["generate_tokens"]
        served_generate = loaded.signatures["generate"]
        seeds = itertools.count(seed)  # a new seed every call
        # Fewer repeats: one Python `sample` of 200 tokens takes about a second.
        generate_times = common.interleaved_times({
            "saved_model": lambda: served_generate(
                prompt=tf.constant(" ".join(PROMPT)), num_tokens=tf.constant(count),
                temperature=tf.constant(1.0), seed=tf.constant(next(seeds)))["text"].numpy(),
            "keras_sample": lambda: sample(model, vocab, PROMPT, count, temperature=1.0,
                                           seed=next(seeds)),
        }, repeats=max(1, repeats // 3), warmup=1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    step_ms = {name: 1e3 * common.median(t) for name, t in step_times.items()}
    tokens_per_second = {name: count / common.median(t) for name, t in generate_times.items()}
    row = {
        "model": (f"lstm {setting['num_layers']}x{setting['hidden_size']}, vocab "
                  f"{setting['vocab_size']}, random weights"),
        **setting,
        "step_batch": 1,
        "repeats": repeats,
        "export_seconds": round(export_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "tensorflow": tf.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    for name, value in step_ms.items():
        row[f"step_ms_{name}"] = round(value, 3)
    for name, value in tokens_per_second.items():
        row[f"generate_tokens_per_s_{name}"] = round(value, 1)
    row["step_keras_eager_over_saved_model"] = round(
        step_ms["keras_eager"] / step_ms["saved_model"], 2)
    row["step_keras_function_over_saved_model"] = round(
        step_ms["keras_function"] / step_ms["saved_model"], 2)
    # What the model's math and the checks add to TensorFlow's fixed cost.
    row["step_ms_over_empty_signature"] = round(
        step_ms["saved_model"] - step_ms["empty_signature"], 3)
    row["generate_saved_model_over_keras_sample"] = round(
        tokens_per_second["saved_model"] / tokens_per_second["keras_sample"], 2)
    return [row]


def format_table(rows):
    lines = [f"{'model':<42} | {'step ms @ batch 1: signature/function/tf.function/eager':>55} | "
             f"{'generate tokens/s: saved/sample':>32}"]
    for r in rows:
        lines.append(
            f"{r['model']:<42} | {r['step_ms_saved_model']:12.3f} "
            f"{r['step_ms_saved_model_function']:12.3f} {r['step_ms_keras_function']:14.3f} "
            f"{r['step_ms_keras_eager']:14.3f} | "
            f"{r['generate_tokens_per_s_saved_model']:14.1f} "
            f"{r['generate_tokens_per_s_keras_sample']:17.1f}")
        lines.append(
            f"  keras eager / saved step {r['step_keras_eager_over_saved_model']:.2f}x, "
            f"tf.function / saved step {r['step_keras_function_over_saved_model']:.2f}x, "
            f"saved / sample generate {r['generate_saved_model_over_keras_sample']:.2f}x; "
            f"an empty signature with step's tensors {r['step_ms_empty_signature']:.3f} ms; "
            f"{r['generate_tokens']} tokens per generate; export {r['export_seconds']:.1f} s, "
            f"load {r['load_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = run(repeats=args.repeats, quick=args.quick, seed=args.seed)
    print(format_table(rows))
    print(json.dumps(rows, sort_keys=True))


if __name__ == "__main__":
    main()

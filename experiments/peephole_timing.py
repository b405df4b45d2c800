"""Do peepholes help with precise timing? Peephole vs plain LSTM at equal size.

Gers, Schraudolph & Schmidhuber (2002, "Learning precise timing with LSTM
recurrent networks") motivate peephole connections with tasks whose answer
depends on the exact number of steps elapsed: without peepholes a gate sees
the cell c only through h = o ∘ tanh(c), which is cut off whenever the output
gate is closed; with them the gates read c directly,

    i_t = σ(x_t·W_i + h_{t-1}·U_i + p_i ∘ c_{t-1} + b_i)
    f_t = σ(x_t·W_f + h_{t-1}·U_f + p_f ∘ c_{t-1} + b_f)
    o_t = σ(x_t·W_o + h_{t-1}·U_o + p_o ∘ c_t + b_o).

Two tasks of that kind, on one input channel that is 0 except for a single
marker (1) at a random step s of a ``length``-step sequence:

* ``count`` (measure a delay): the marker is in the last ``max_count`` steps;
  at the last step the network must say how many steps have passed since it,
  ``length - 1 - s``, as one of ``max_count`` classes (softmax cross-entropy).
  Score: the fraction of sequences with the exact count.
* ``spike`` (generate a timed spike): the network must output 1 exactly
  ``delay`` steps after the marker (t = s + delay) and 0 at every other step
  (a sigmoid per step, binary cross-entropy). Score: the fraction of sequences
  whose every step is right (output > 0.5 exactly at s + delay).

Models: ``input -> seqkit.layers.LSTM(units) -> Dense`` with
``use_peepholes=False`` ("plain") and ``True`` ("peephole"), the same
``units`` (the peephole model has 3·units more weights, the ``peephole_kernel``),
and a capacity control, "plain_wider": the plain LSTM with the fewest units
that give it at least the peephole model's parameter count (17 for 16; not
in the default run: ``--models=plain,peephole,plain_wider``).
For a seed, plain and peephole start from the same kernel, recurrent kernel,
bias and read-out (the peephole kernel starts at zero, so the peephole model
starts as exactly the plain one), and every model sees the same training
batches; each batch is
freshly generated (no overfitting), the held-out set (``eval_size``
sequences) is the same for every seed and model. Training: Adam
(``learning_rate``, gradient norm clipped to 1) for a fixed ``train_steps``.
Reported per task and model, mean ± standard deviation over the seeds
(sample std, ddof=1): held-out accuracy and loss at the end, the best
held-out accuracy of the evaluations during training, and the first
evaluated step (every ``eval_every``) at which held-out accuracy reached
``solved_accuracy`` (the budget + 1 when never; "solved" counts the seeds
that got there).

    python -m experiments.peephole_timing                      # default run
    python -m experiments.peephole_timing --tasks=count --seeds=0,1,2,3,4

Prints a table and one JSON line; with ``--train_dir`` also writes
``flags.json`` and ``results.json`` there (atomic, strict JSON).

Result (10 seeds, the default settings with ``--models=plain,peephole,plain_wider``,
run as seeds 0-4 and 5-9; 2 shared CPU cores), mean ± std:

    task   model        params  exactly right     reached 0.99
    spike  plain          1169  0.00 ± 0.00        0/10
    spike  peephole       1217  0.80 ± 0.42        8/10
    spike  plain_wider    1310  0.00 ± 0.00        0/10
    count  plain          2002  0.86 ± 0.31        7/10   (best during training 0.994)
    count  peephole       2050  0.91 ± 0.14        2/10   (best during training 0.960)
    count  plain_wider    2192  0.97 ± 0.04        7/10   (best during training 0.984)

Peepholes help to emit a precisely timed spike while the output stays silent
(not an effect of size: the larger plain LSTM fails too; with 2,000 steps the
plain LSTM solves it for 1 of 3 seeds, the peephole one for 3 of 3); they do
not help to read out an elapsed count at the end, which they learn more slowly.
The default run takes about 5 minutes on 2 busy cores.
"""

import os
import statistics
import time

import numpy as np
from absl import logging

TASKS = ("count", "spike")
MODELS = ("plain", "peephole", "plain_wider")
DEFAULT_CONFIG = {
    "tasks": list(TASKS),
    "models": ["plain", "peephole"],
    "seeds": [0, 1, 2],
    "units": 16,
    "length": 60,
    "max_count": 50,
    "delay": 20,
    "batch_size": 32,
    "train_steps": 1200,
    "learning_rate": 0.01,
    "eval_size": 1000,
    "eval_every": 100,
    "solved_accuracy": 0.99,
}
# Seconds, for tests: a few steps of short sequences.
TEST_CONFIG = {
    **DEFAULT_CONFIG, "models": list(MODELS), "seeds": [0, 1], "units": 4, "length": 10,
    "max_count": 5, "delay": 3, "batch_size": 8, "train_steps": 4, "eval_size": 16,
    "eval_every": 2,
}
EVAL_SEED = 12345  # the held-out set's seed, apart from the training seeds


def check_config(config):
    """Raise ``seqkit.runs.UsageError`` naming the flag of a bad value; returns ``config``."""
    from seqkit.runs import UsageError

    def fail(flag, expected):
        raise UsageError(f"--{flag}: expected {expected}, got {config[flag]!r}")

    for name, values in (("tasks", TASKS), ("models", MODELS)):
        if not config[name] or set(config[name]) - set(values):
            fail(name, f"a non-empty list from {list(values)}")
    if not config["seeds"] or len(set(config["seeds"])) != len(config["seeds"]):
        fail("seeds", "a non-empty list of distinct integers")
    for name in ("units", "batch_size", "train_steps", "eval_size", "eval_every"):
        if not isinstance(config[name], int) or config[name] < 1:
            fail(name, "a positive integer")
    # Each task's own setting is checked only when that task runs.
    if "count" in config["tasks"] and not 2 <= config["max_count"] <= config["length"]:
        fail("max_count", f"from 2 to --length={config['length']}")
    if "spike" in config["tasks"] and not 1 <= config["delay"] < config["length"]:
        fail("delay", f"from 1 to --length - 1 = {config['length'] - 1}")
    if not config["learning_rate"] > 0:
        fail("learning_rate", "a positive number")
    if not 0 < config["solved_accuracy"] <= 1:
        fail("solved_accuracy", "a number in (0, 1]")
    return config


def make_batch(task, size, config, rng):
    """``(inputs [size, length, 1], targets)`` of ``task``, drawn with ``rng``.

    ``count``: targets [size] ints, the steps from the marker to the last step.
    ``spike``: targets [size, length] floats, 1 exactly ``delay`` steps after the marker.
    """
    length = config["length"]
    inputs = np.zeros((size, length, 1), "float32")
    rows = np.arange(size)
    if task == "count":
        count = rng.integers(0, config["max_count"], size)
        inputs[rows, length - 1 - count, 0] = 1.0
        return inputs, count.astype("int32")
    if task == "spike":
        marker = rng.integers(0, length - config["delay"], size)
        targets = np.zeros((size, length), "float32")
        inputs[rows, marker, 0] = 1.0
        targets[rows, marker + config["delay"]] = 1.0
        return inputs, targets
    raise ValueError(f"Received an invalid value for argument `task`, expected one of "
                     f"{list(TASKS)}, got {task!r}.")


def parameters(task, kind, units, config):
    """Trainable parameters of ``build_model(task, kind, config)`` with ``units`` LSTM units:
    4·units·(1 + units + 1) in the LSTM (one input feature), 3·units of peepholes, and the
    read-out's (units + 1)·outputs."""
    outputs = 1 if task == "spike" else config["max_count"]
    peepholes = 3 * units if kind == "peephole" else 0
    return 4 * units * (units + 2) + peepholes + (units + 1) * outputs


def model_units(task, kind, config):
    """LSTM units of ``kind``: ``units``, except "plain_wider": the fewest units at which
    the plain LSTM has at least the peephole model's parameters (a capacity control)."""
    if kind != "plain_wider":
        return config["units"]
    budget = parameters(task, "peephole", config["units"], config)
    units = config["units"]
    while parameters(task, "plain", units, config) < budget:
        units += 1
    return units


def build_model(task, kind, config):
    """``input -> LSTM(units, use_peepholes=kind == "peephole") -> Dense`` for ``task``:
    the logits (``count``: [batch, max_count]; ``spike``: [batch, length])."""
    import keras

    from seqkit.layers import LSTM

    spike = task == "spike"
    inputs = keras.Input((config["length"], 1))
    hidden = LSTM(model_units(task, kind, config), use_peepholes=kind == "peephole",
                  return_sequences=spike, name="lstm")(inputs)
    logits = keras.layers.Dense(1 if spike else config["max_count"], name="readout")(hidden)
    if spike:
        logits = keras.layers.Reshape((config["length"],))(logits)
    return keras.Model(inputs, logits, name=f"{task}_{kind}")


def losses_and_correct(task, logits, targets):
    """Per-sequence loss and whether the sequence is exactly right (both [batch])."""
    import tensorflow as tf

    if task == "count":
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        correct = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), targets)
        return loss, correct
    loss = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), axis=-1)
    # logit > 0 is output > 0.5: a spike exactly where the target has one.
    correct = tf.reduce_all(tf.equal(logits > 0, targets > 0.5), axis=-1)
    return loss, correct


def train_one(task, kind, seed, config, held_out):
    """Train one model; a dict of its held-out results and learning curve."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # the same initial weights for plain and peephole
    model = build_model(task, kind, config)
    optimizer = keras.optimizers.Adam(config["learning_rate"], clipnorm=1.0)
    eval_x, eval_y = (tf.constant(a) for a in held_out)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses_and_correct(task, model(x, training=True), y)[0])
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def evaluate():
        loss, correct = losses_and_correct(task, model(eval_x, training=False), eval_y)
        return tf.reduce_mean(loss), tf.reduce_mean(tf.cast(correct, tf.float32))

    rng = np.random.default_rng(seed)
    curve, solved_at = [], config["train_steps"] + 1
    start = time.perf_counter()
    for step in range(1, config["train_steps"] + 1):
        train_step(*make_batch(task, config["batch_size"], config, rng))
        if step % config["eval_every"] == 0 or step == config["train_steps"]:
            loss, accuracy = (float(v) for v in evaluate())
            curve.append({"step": step, "loss": loss, "accuracy": accuracy})
            if accuracy >= config["solved_accuracy"] and solved_at > config["train_steps"]:
                solved_at = step
    seconds = time.perf_counter() - start
    final = curve[-1]
    logging.info("%s %s seed %d: accuracy %.3f, loss %.4f (%.0f s)", task, kind, seed,
                 final["accuracy"], final["loss"], seconds)
    return {"seed": seed, "accuracy": final["accuracy"], "loss": final["loss"],
            "best_accuracy": max(point["accuracy"] for point in curve),
            "solved_at": solved_at, "seconds": seconds, "curve": curve,
            "parameters": int(model.count_params())}


def _mean_std(values):
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def train_and_evaluate(config):
    """Every task × model × seed; a JSON-able dict of the results."""
    check_config(config)
    results = {"config": config, "tasks": {}}
    for task in config["tasks"]:
        held_out = make_batch(task, config["eval_size"], config,
                              np.random.default_rng(EVAL_SEED))
        rows = {}
        for kind in config["models"]:
            runs = [train_one(task, kind, seed, config, held_out) for seed in config["seeds"]]
            row = {"units": model_units(task, kind, config),
                   "parameters": runs[0]["parameters"], "runs": runs,
                   "solved": sum(r["solved_at"] <= config["train_steps"] for r in runs)}
            for key in ("accuracy", "best_accuracy", "loss", "solved_at", "seconds"):
                row[f"{key}_mean"], row[f"{key}_std"] = _mean_std([r[key] for r in runs])
            rows[kind] = row
        results["tasks"][task] = rows
    return results


def format_results(results):
    config = results["config"]
    lines = [
        f"LSTM({config['units']}), {config['train_steps']} Adam steps of batch "
        f"{config['batch_size']} (lr {config['learning_rate']}), length {config['length']}, "
        f"seeds {config['seeds']}; held-out {config['eval_size']} sequences, mean ± std",
        f"{'task':<6} {'model':<11} {'units':>5} {'params':>6} {'accuracy':>15} "
        f"{'best accuracy':>15} {'loss':>17} "
        f"{'solved':>6} {'steps to ' + format(config['solved_accuracy'], 'g'):>16}",
    ]
    for task, rows in results["tasks"].items():
        for kind, row in rows.items():
            lines.append(
                f"{task:<6} {kind:<11} {row['units']:>5} {row['parameters']:>6} "
                f"{row['accuracy_mean']:7.3f} ± {row['accuracy_std']:5.3f} "
                f"{row['best_accuracy_mean']:7.3f} ± {row['best_accuracy_std']:5.3f} "
                f"{row['loss_mean']:8.4f} ± {row['loss_std']:6.4f} "
                f"{row['solved']:>3}/{len(row['runs']):<2} "
                f"{row['solved_at_mean']:7.0f} ± {row['solved_at_std']:5.0f}"
            )
    return "\n".join(lines)


def main(argv):
    del argv
    import sys

    from absl import flags

    from seqkit import runs

    FLAGS = flags.FLAGS
    config = {name: FLAGS[name].value for name in DEFAULT_CONFIG}
    config["seeds"] = [int(s) for s in config["seeds"]]
    try:
        results = train_and_evaluate(config)
    except runs.UsageError as error:
        print(f"error: {runs.one_line(error)}", file=sys.stderr, flush=True)
        sys.exit(runs.EXIT_USAGE)
    runs.report_study(format_results(results), results, config, FLAGS.train_dir)


def define_flags():
    """The command-line flags (defined only when run as a program, so importing
    this module from tests or other experiments defines none)."""
    from absl import flags

    d = DEFAULT_CONFIG
    flags.DEFINE_list("tasks", d["tasks"], f"Tasks, from {list(TASKS)}.")
    flags.DEFINE_list("models", d["models"], f"Models, from {list(MODELS)}.")
    flags.DEFINE_list("seeds", [str(s) for s in d["seeds"]],
                      "Seeds: initial weights and training batches of one run per model.")
    flags.DEFINE_integer("units", d["units"], "LSTM units (the same for both models).")
    flags.DEFINE_integer("length", d["length"], "Steps per sequence.")
    flags.DEFINE_integer("max_count", d["max_count"], "count: classes (steps since the "
                         "marker, 0 .. max_count - 1).")
    flags.DEFINE_integer("delay", d["delay"], "spike: steps from the marker to the spike.")
    flags.DEFINE_integer("batch_size", d["batch_size"], "Sequences per training step.")
    flags.DEFINE_integer("train_steps", d["train_steps"], "Adam steps per run (the budget).")
    flags.DEFINE_float("learning_rate", d["learning_rate"], "Adam learning rate.")
    flags.DEFINE_integer("eval_size", d["eval_size"], "Held-out sequences.")
    flags.DEFINE_integer("eval_every", d["eval_every"], "Evaluate every this many steps.")
    flags.DEFINE_float("solved_accuracy", d["solved_accuracy"],
                       "Held-out accuracy that counts as solved.")
    flags.DEFINE_string("train_dir", None, "If set, write flags.json and results.json here.")


if __name__ == "__main__":
    from absl import app

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    define_flags()
    app.run(main)

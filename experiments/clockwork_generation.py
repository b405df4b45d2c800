"""Sequence generation from the passage of time alone (Koutník et al. 2014, §4.1).

The paper's first experiment: a network that receives no input must produce a
fixed 320-step waveform as its output, learned by gradient descent; Clockwork,
Elman (SRN) and LSTM networks are compared at an equal number of parameters.
The paper used fragments of real audio and found the Clockwork RNN best by a
wide margin. Here the target is a deterministic multi-scale waveform
(``target_sequence``): five sines with periods of 4, 9, 27, 80 and 320 steps
(none a power of two, so no Clockwork module matches one exactly), amplitudes
falling with frequency.

Each model is ``input -> recurrent layer (return_sequences) -> Dense(1)``; the
input is a constant 1 at every step (nothing but time passing). Sizes: the
Clockwork RNN has ``modules`` modules of ``module_size`` units with periods
1, 2, 4, ...; Elman and LSTM get the hidden size whose parameter count is
closest to the Clockwork's *effective* count (its stored ``recurrent_kernel``
is square, but the fast-to-slow blocks are never used, so they are not counted).
Every model is trained full-batch with Adam (gradient norm clipped to 1) for
``train_steps`` steps at each learning rate of ``learning_rates``; the best
final MSE per model is reported, with all runs.

    python -m experiments.clockwork_generation                 # default run
    python -m experiments.clockwork_generation --train_steps=3000 --seed=1

Prints the parameter counts, a table of MSEs and a JSON line; with
``--train_dir`` (the run-folder flag of every experiment) also writes
``flags.json`` and ``results.json`` there (atomic, strict JSON: ``seqkit.runs``).

Result of the default run (seed 0; 2-core CPU, about 16 minutes on a loaded
machine), MSE on the target (variance 0.155), best of the three rates:

    model      units  params  best lr      MSE      NMSE
    clockwork     36     829     0.01  3.85e-05  2.48e-04
    elman         27     811    0.003  1.52e-01  9.77e-01
    lstm          13     794     0.03  4.38e-02  2.82e-01

This agrees with the paper: the Clockwork RNN reproduces the waveform almost
exactly, three orders of magnitude below the LSTM, while the Elman network
only learns the mean. One seed and a modest budget: the gap, not the exact
figures, is the finding.
"""

import os
import time

import numpy as np
from absl import logging

DEFAULT_CONFIG = {
    "seed": 0,
    "steps": 320,
    "modules": 9,  # periods 1, 2, ..., 256
    "module_size": 4,
    "models": ["clockwork", "elman", "lstm"],
    "train_steps": 1500,
    "learning_rates": [0.003, 0.01, 0.03],
}
# A few steps of a short sequence: for tests.
TEST_CONFIG = {
    **DEFAULT_CONFIG, "steps": 24, "modules": 3, "module_size": 2,
    "train_steps": 2, "learning_rates": [0.01],
}

# (period in steps, amplitude, phase) of the target's components.
COMPONENTS = ((320, 0.50, 0.0), (80, 0.30, 1.0), (27, 0.20, 2.0), (9, 0.12, 0.5), (4, 0.06, 1.5))


def target_sequence(steps=320):
    """The waveform to generate, [steps]: y_t = Σ a·sin(2πt/p + φ), scaled to max |y| = 0.9."""
    t = np.arange(steps, dtype="float64")
    y = sum(a * np.sin(2 * np.pi * t / p + phase) for p, a, phase in COMPONENTS)
    return (0.9 * y / np.abs(y).max()).astype("float32")


def recurrent_layer(kind, units, config):
    """The ``kind`` recurrent layer, returning every step's output."""
    from seqkit.layers import LSTM, Clockwork, Elman

    if kind == "clockwork":
        return Clockwork(
            periods=[2**i for i in range(config["modules"])],
            module_size=config["module_size"],
            return_sequences=True,
        )
    if kind == "elman":
        return Elman(units, return_sequences=True)
    if kind == "lstm":
        return LSTM(units, return_sequences=True)
    raise ValueError(
        f"Received an invalid value for argument `kind`, expected one of "
        f"['clockwork', 'elman', 'lstm'], got {kind!r}."
    )


def build_model(kind, units, config):
    """``constant input -> <kind> recurrent layer -> Dense(1)`` over ``config["steps"]`` steps."""
    import keras

    inputs = keras.Input((config["steps"], 1))
    outputs = keras.layers.Dense(1)(recurrent_layer(kind, units, config)(inputs))
    return keras.Model(inputs, outputs, name=kind)


def effective_parameters(layers):
    """Trainable parameters of ``layers`` that can affect the output: all of them,
    except the Clockwork ``recurrent_kernel`` blocks its block mask removes."""
    from seqkit.layers import Clockwork

    count = 0
    for layer in layers:
        count += sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        if isinstance(layer, Clockwork):
            count -= int((layer.cell.connection_mask == 0).sum())
    return count


def matched_sizes(config):
    """kind -> hidden units: Elman and LSTM sized to the Clockwork's effective count."""

    def count(kind, n):
        layer = recurrent_layer(kind, n, config)
        layer.build((None, config["steps"], 1))
        return effective_parameters([layer]) + layer.units + 1  # + the Dense(1) read-out

    units = config["modules"] * config["module_size"]
    budget = count("clockwork", units)
    sizes = {"clockwork": units}
    for kind in ("elman", "lstm"):
        # The count grows with n: bisect for the first n reaching the budget,
        # then take it or the one below, whichever is closer.
        low, high = 1, units
        while count(kind, high) < budget:
            high *= 2
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if count(kind, middle) < budget else (low, middle)
        sizes[kind] = min((low, max(low - 1, 1)), key=lambda n: abs(count(kind, n) - budget))
    return sizes


def train(model, target, train_steps, learning_rate):
    """Full-batch Adam on the MSE; returns (final MSE, seconds)."""
    import keras
    import tensorflow as tf

    steps = target.shape[0]
    inputs = tf.ones((1, steps, 1))
    target = tf.constant(target.reshape(1, steps, 1))
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=1.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(inputs, training=True) - target))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    start = time.perf_counter()
    for _ in range(train_steps):
        step()
    mse = float(tf.reduce_mean(tf.square(model(inputs) - target)))
    return mse, time.perf_counter() - start


def train_and_evaluate(config):
    """Train every model at every learning rate; a JSON-able dict of the results."""
    import keras

    target = target_sequence(config["steps"])
    sizes = matched_sizes(config)
    results = {"config": config, "target_variance": float(target.var()), "models": {}}
    for kind in config["models"]:
        runs = []
        for learning_rate in config["learning_rates"]:
            keras.utils.set_random_seed(config["seed"])  # same start for every rate
            model = build_model(kind, sizes[kind], config)
            mse, seconds = train(model, target, config["train_steps"], learning_rate)
            logging.info(
                "%s, learning rate %g: MSE %.3g (%.0f s)", kind, learning_rate, mse, seconds
            )
            runs.append({"learning_rate": learning_rate, "mse": mse, "seconds": seconds})
        best = min(runs, key=lambda run: run["mse"] if np.isfinite(run["mse"]) else np.inf)
        results["models"][kind] = {
            "units": sizes[kind],
            "parameters": effective_parameters(model.layers),
            "stored_parameters": model.count_params(),
            "mse": best["mse"],
            "nmse": best["mse"] / float(target.var()),
            "best_learning_rate": best["learning_rate"],
            "runs": runs,
        }
    return results


def format_results(results):
    config = results["config"]
    lines = [
        f"{config['steps']}-step target, constant input, {config['train_steps']} Adam steps, "
        f"learning rates {config['learning_rates']}, seed {config['seed']}",
        f"{'model':<10}{'units':>6}{'params':>8}{'stored':>8}{'best lr':>9}{'MSE':>11}{'NMSE':>10}",
    ]
    for kind, row in results["models"].items():
        lines.append(
            f"{kind:<10}{row['units']:>6}{row['parameters']:>8}{row['stored_parameters']:>8}"
            f"{row['best_learning_rate']:>9g}{row['mse']:>11.2e}{row['nmse']:>10.2e}"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    from absl import flags

    from seqkit import runs

    FLAGS = flags.FLAGS
    config = {
        **DEFAULT_CONFIG,
        "seed": FLAGS.seed,
        "train_steps": FLAGS.train_steps,
        "learning_rates": [float(r) for r in FLAGS.learning_rates],
        "models": list(FLAGS.models),
        "modules": FLAGS.modules,
        "module_size": FLAGS.module_size,
    }
    results = train_and_evaluate(config)
    runs.report_study(format_results(results), results, config, FLAGS.train_dir)


def define_flags():
    """The command-line flags (defined only when run as a program, so importing
    this module from tests or other experiments defines none)."""
    from absl import flags

    flags.DEFINE_integer("seed", DEFAULT_CONFIG["seed"], "Seed of the weight initializers.")
    flags.DEFINE_integer("train_steps", DEFAULT_CONFIG["train_steps"], "Adam steps per run.")
    flags.DEFINE_list(
        "learning_rates", [str(r) for r in DEFAULT_CONFIG["learning_rates"]],
        "Learning rates tried per model; the best final MSE is reported.",
    )
    flags.DEFINE_list("models", DEFAULT_CONFIG["models"], "Models: clockwork, elman, lstm.")
    flags.DEFINE_integer(
        "modules", DEFAULT_CONFIG["modules"], "Clockwork modules (periods 1, 2, 4, ...)."
    )
    flags.DEFINE_integer(
        "module_size", DEFAULT_CONFIG["module_size"], "Units per Clockwork module."
    )
    flags.DEFINE_string("train_dir", None, "If set, write flags.json and results.json here.")


if __name__ == "__main__":
    from absl import app

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    define_flags()
    app.run(main)

"""Clockwork RNN speed: the fast schedule vs the masked reference vs Keras SimpleRNN.

What is timed (``experiments.bench.common.train_step``): one
``tf.function``-compiled training step without the optimizer update: forward
over the whole sequence (``return_sequences=True``, ``training=True``), a
mean-square loss over every output, and its gradient with respect to the
inputs and every weight. Setting (issue 3): batch 32, 256 steps, 32 input
features, a Clockwork RNN of 8 modules × 128 units (periods 1, 2, ..., 128),
against the same Clockwork with ``implementation="masked"`` (same weights) and
``keras.layers.SimpleRNN(1024)`` on the same input.

How: every model is compiled and runs twice to warm up, then the repeats are
interleaved (fast, masked, SimpleRNN, fast, ...) so that a load change on a
shared machine hits all of them alike; the median is reported (and the
minimum: on a loaded machine the long steps of the masked loop and SimpleRNN
suffer more than the short fast one, which inflates the median ratios).

``--quick`` is a smoke test, not a measurement: at its tiny sizes the fast
schedule's fixed cost (one loop per period group) outweighs its savings and
it is slower than the masked loop.

    python -m experiments.bench.clockwork            # full setting, 7 repeats
    python -m experiments.bench.clockwork --quick    # tiny setting, a smoke test

``run()`` returns one dict per model (``vs_fast`` = its median / the fast
median, so the masked row's ``vs_fast`` is the fast speed-up over it;
``min_vs_fast`` the same with minima).
"""

import argparse
import json
import os
import platform

import numpy as np

from experiments.bench import common

FULL = {"batch": 32, "steps": 256, "features": 32, "modules": 8, "module_size": 128}
QUICK = {"batch": 4, "steps": 32, "features": 8, "modules": 4, "module_size": 16}


def _models(config, seed):
    """name -> a Keras layer returning all outputs, fast and masked sharing weights."""
    import keras

    from seqkit.layers import Clockwork

    keras.utils.set_random_seed(seed)
    units = config["modules"] * config["module_size"]
    shape = (config["batch"], config["steps"], config["features"])
    clockwork = {}
    for implementation in ("fast", "masked"):
        layer = Clockwork(
            module_size=config["module_size"],
            periods=[2**i for i in range(config["modules"])],
            implementation=implementation,
            return_sequences=True,
        )
        layer.build(shape)
        clockwork[implementation] = layer
    clockwork["masked"].set_weights(clockwork["fast"].get_weights())
    simple = keras.layers.SimpleRNN(units, return_sequences=True)
    simple.build(shape)
    return {
        "clockwork_fast": clockwork["fast"],
        "clockwork_masked": clockwork["masked"],
        f"keras_simplernn_{units}": simple,
    }


def run(repeats=7, quick=False, seed=0):
    """Time the three models; a list of one dict per model (see the module docstring)."""
    import tensorflow as tf

    config = QUICK if quick else FULL
    rng = np.random.default_rng(seed)
    inputs = tf.constant(
        rng.standard_normal((config["batch"], config["steps"], config["features"]), "float32")
    )
    models = _models(config, seed)
    # The fast schedule must compute the masked reference's numbers.
    difference = float(
        np.max(
            np.abs(
                np.asarray(models["clockwork_fast"](inputs))
                - np.asarray(models["clockwork_masked"](inputs))
            )
        )
    )
    steps = {name: common.train_step(layer, inputs) for name, layer in models.items()}
    seconds = common.interleaved_times(steps, repeats=repeats, warmup=2)
    fast_median = common.median(seconds["clockwork_fast"])
    rows = []
    for name, times in seconds.items():
        rows.append(
            {
                "benchmark": "clockwork",
                "name": name,
                "median_s": common.median(times),
                "min_s": min(times),
                "vs_fast": common.median(times) / fast_median,
                "min_vs_fast": min(times) / min(seconds["clockwork_fast"]),
                "repeats": repeats,
                "max_abs_diff_fast_vs_masked": difference,
                "quick": bool(quick),
                **config,
                "units": config["modules"] * config["module_size"],
                "tensorflow": tf.__version__,
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            }
        )
    return rows


def format_table(rows):
    lines = [f"{'model':<24}{'median s':>10}{'min s':>10}{'x fast':>9}{'x fast (min)':>14}"]
    for row in rows:
        lines.append(
            f"{row['name']:<24}{row['median_s']:>10.4f}{row['min_s']:>10.4f}"
            f"{row['vs_fast']:>9.2f}{row['min_vs_fast']:>14.2f}"
        )
    first = rows[0]
    lines.append(
        f"batch {first['batch']}, {first['steps']} steps, {first['features']} features, "
        f"{first['modules']} modules x {first['module_size']} units; forward+backward, "
        f"median of {first['repeats']}; fast vs masked max |diff| "
        f"{first['max_abs_diff_fast_vs_masked']:.1e}"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0, help="TensorFlow intra-op threads (0: its default)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rows = run(repeats=args.repeats, quick=args.quick, seed=args.seed)
    print(format_table(rows))
    print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()

"""seqkit's Elman, LSTM and GRU against Keras's SimpleRNN, LSTM and GRU.

Setting (issue 2): batch 20, 35 time steps, 200→200 and 650→650 units (the
Penn Treebank "small" and "medium" sizes), float32, ``return_sequences=True``.
For each cell three layers with identical weights are timed, interleaved in one
process:

* ``keras``: Keras's built-in layer (on a CPU it runs its cell step by step);
* ``seqkit``: the seqkit layer (fast path: one input-projection matmul for all
  steps and the fused loop with a batched backward pass, ``seqkit/layers/fused.py``);
* ``reference``: ``keras.layers.RNN(<seqkit cell>)``, the readable per-step path.

Reported: median milliseconds of a forward+backward step (gradients w.r.t.
inputs and weights) and of inference alone, the ratio ``keras / seqkit``
(> 1 means seqkit is faster), the same ratio of the fastest repeats ("best-of",
less disturbed by other processes on a shared machine), the 1-minute load
average when the row started, and seqkit's achieved matmul FLOP/s as a fraction
of a large matmul's FLOP/s measured in the same run.

    python -m experiments.bench --suite=layers
"""

import os

import numpy as np

from experiments.bench import common

SIZES = (200, 650)
BATCH, STEPS = 20, 35
QUICK = {"sizes": (16,), "batch": 4, "steps": 6}


def _pairs():
    import keras

    from seqkit import layers

    return {
        "elman": (layers.Elman, keras.layers.SimpleRNN, layers.ElmanCell, 1),
        "lstm": (layers.LSTM, keras.layers.LSTM, layers.LSTMCell, 4),
        "gru": (layers.GRU, keras.layers.GRU, layers.GRUCell, 3),
    }


def matmul_flops(batch, steps, features, units, gates, backward):
    """Matmul FLOPs of one pass: x·W and h·U at every step; backward costs 2× forward."""
    forward = 2.0 * batch * steps * (features * gates * units + units * gates * units)
    return forward * (3.0 if backward else 1.0)


def run(repeats=10, quick=False, seed=0, peak_flops=None, calls=1):
    """One dict per (cell, size): milliseconds, ratios, FLOP/s fraction.

    ``calls``: consecutive calls per timed round (``common.interleaved_times``).
    """
    import keras

    sizes = QUICK["sizes"] if quick else SIZES
    batch = QUICK["batch"] if quick else BATCH
    steps = QUICK["steps"] if quick else STEPS
    if peak_flops is None:
        peak_flops = common.peak_matmul_flops(size=256 if quick else 2048)
    rows = []
    for kind, (seqkit_layer, keras_layer, seqkit_cell, gates) in _pairs().items():
        for units in sizes:
            keras.utils.set_random_seed(seed)
            inputs = np.random.default_rng(seed).standard_normal(
                (batch, steps, units), dtype=np.float32
            )
            built = {
                "keras": keras_layer(units, return_sequences=True),
                "seqkit": seqkit_layer(units, return_sequences=True),
                "reference": keras.layers.RNN(seqkit_cell(units), return_sequences=True),
            }
            for layer in built.values():
                layer(inputs)
            weights = built["keras"].get_weights()
            for layer in built.values():
                layer.set_weights(weights)
            row = {"cell": kind, "units": units, "batch": batch, "steps": steps,
                   "calls_per_round": calls, "load_average": round(os.getloadavg()[0], 2)}
            for mode, make in (("train", common.train_step), ("inference", common.inference_step)):
                times = common.interleaved_times(
                    {name: make(layer, inputs) for name, layer in built.items()}, repeats=repeats,
                    calls=calls,
                )
                ms = {name: 1e3 * common.median(t) for name, t in times.items()}
                best = {name: 1e3 * min(t) for name, t in times.items()}
                for name, value in ms.items():
                    row[f"{mode}_ms_{name}"] = round(value, 3)
                row[f"{mode}_keras_over_seqkit"] = round(ms["keras"] / ms["seqkit"], 3)
                # Ratio of the fastest repeats: on a loaded machine the minimum
                # is the run least disturbed by other processes (timeit's rule).
                row[f"{mode}_keras_over_seqkit_best"] = round(best["keras"] / best["seqkit"], 3)
                row[f"{mode}_reference_over_seqkit"] = round(ms["reference"] / ms["seqkit"], 3)
                flops = matmul_flops(batch, steps, units, units, gates, mode == "train")
                row[f"{mode}_seqkit_peak_fraction"] = round(
                    flops / (ms["seqkit"] / 1e3) / peak_flops, 4
                )
            rows.append(row)
    return rows


def format_table(rows):
    lines = [
        f"{'cell':6} {'units':>5} | {'train ms keras/seqkit/ref':>27} {'keras÷seqkit':>12} "
        f"| {'infer ms keras/seqkit/ref':>27} {'keras÷seqkit':>12} | {'train % peak':>12} "
        f"| best-of ÷ train/infer | load"
    ]
    for r in rows:
        lines.append(
            f"{r['cell']:6} {r['units']:>5} | "
            f"{r['train_ms_keras']:8.2f} {r['train_ms_seqkit']:8.2f} {r['train_ms_reference']:9.2f} "
            f"{r['train_keras_over_seqkit']:12.2f} | "
            f"{r['inference_ms_keras']:8.2f} {r['inference_ms_seqkit']:8.2f} "
            f"{r['inference_ms_reference']:9.2f} {r['inference_keras_over_seqkit']:12.2f} | "
            f"{100 * r['train_seqkit_peak_fraction']:11.1f}% | "
            f"{r['train_keras_over_seqkit_best']:9.2f} {r['inference_keras_over_seqkit_best']:6.2f}"
            f" | {r['load_average']:.1f}"
        )
    return "\n".join(lines)

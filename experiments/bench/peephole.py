"""The peephole LSTM's cost: seqkit's LSTM with and without peepholes, and Keras's LSTM.

Setting (issue 16, the ``layers`` suite's shapes): batch 20, 35 time steps,
200→200 and 650→650 units, float32, ``return_sequences=True``. Four layers are
timed, interleaved in one process (``common.interleaved_times``):

* ``keras``: ``keras.layers.LSTM`` (the reference; Keras has no peepholes);
* ``plain``: ``seqkit.layers.LSTM`` (fast path), the same weights as ``keras``;
* ``peephole``: ``seqkit.layers.LSTM(use_peepholes=True)`` (fast path), the same
  weights plus a ``peephole_kernel`` [3, units] drawn from U(-0.1, 0.1) (not the
  zero default, so nothing can be skipped);
* ``peephole_reference``: ``keras.layers.RNN(LSTMCell(use_peepholes=True))``,
  the readable per-step path with the peephole weights.

A peephole step adds three elementwise products per unit to the plain step,

    i_t = σ(x_t·W_i + h_{t-1}·U_i + p_i ∘ c_{t-1} + b_i)
    f_t = σ(x_t·W_f + h_{t-1}·U_f + p_f ∘ c_{t-1} + b_f)
    o_t = σ(x_t·W_o + h_{t-1}·U_o + p_o ∘ c_t + b_o)

against 2·(features + units)·4·units multiply-adds of matmul per example, so
the expected cost is a few per cent; what it really costs is the extra ops per
step of the loop (and in training their gradients, which the fused backward
loop computes with the cell's own ``gates``).

Reported per (size, mode ∈ {train, inference}): median milliseconds of each
layer (train: forward + gradients w.r.t. inputs and weights, ``common.train_step``;
inference: forward, ``common.inference_step``) and the ratios

* ``peephole_over_plain``: the peephole's time ÷ the plain LSTM's (> 1 means
  peepholes cost that factor);
* ``keras_over_peephole``, ``keras_over_plain``: Keras's time ÷ seqkit's
  (> 1 means seqkit is faster than Keras's LSTM);
* ``reference_over_peephole``: the per-step reference path ÷ the fast path.

    python -m experiments.bench --suite=peephole
"""

import numpy as np

from experiments.bench import common

SIZES = (200, 650)
BATCH, STEPS = 20, 35
QUICK = {"sizes": (16,), "batch": 4, "steps": 6}
NAMES = ("keras", "plain", "peephole", "peephole_reference")


def _layers(units, inputs, seed):
    """name -> built layer; every LSTM has the same kernel, recurrent kernel and bias."""
    import keras

    from seqkit import layers

    keras.utils.set_random_seed(seed)
    built = {
        "keras": keras.layers.LSTM(units, return_sequences=True),
        "plain": layers.LSTM(units, return_sequences=True),
        "peephole": layers.LSTM(units, use_peepholes=True, return_sequences=True),
        "peephole_reference": keras.layers.RNN(
            layers.LSTMCell(units, use_peepholes=True), return_sequences=True
        ),
    }
    for layer in built.values():
        layer(inputs)
    weights = built["keras"].get_weights()
    peephole = np.random.default_rng(seed + 1).uniform(-0.1, 0.1, (3, units)).astype("float32")
    for name, layer in built.items():
        layer.set_weights(weights + [peephole] if name.startswith("peephole") else weights)
    return built


def run(repeats=10, quick=False, seed=0):
    """One dict per (size): milliseconds of every layer and the ratios, train and inference."""
    sizes = QUICK["sizes"] if quick else SIZES
    batch = QUICK["batch"] if quick else BATCH
    steps = QUICK["steps"] if quick else STEPS
    rows = []
    for units in sizes:
        inputs = np.random.default_rng(seed).standard_normal(
            (batch, steps, units), dtype=np.float32
        )
        built = _layers(units, inputs, seed)
        row = {"cell": "lstm", "units": units, "batch": batch, "steps": steps,
               "peephole_extra_weights": 3 * units}
        for mode, make in (("train", common.train_step), ("inference", common.inference_step)):
            times = common.interleaved_times(
                {name: make(layer, inputs) for name, layer in built.items()}, repeats=repeats
            )
            ms = {name: 1e3 * common.median(t) for name, t in times.items()}
            for name in NAMES:
                row[f"{mode}_ms_{name}"] = round(ms[name], 3)
            row[f"{mode}_peephole_over_plain"] = round(ms["peephole"] / ms["plain"], 3)
            row[f"{mode}_keras_over_peephole"] = round(ms["keras"] / ms["peephole"], 3)
            row[f"{mode}_keras_over_plain"] = round(ms["keras"] / ms["plain"], 3)
            row[f"{mode}_reference_over_peephole"] = round(
                ms["peephole_reference"] / ms["peephole"], 3
            )
        rows.append(row)
    return rows


def format_table(rows):
    lines = [
        f"{'units':>5} {'mode':9} | {'ms keras/plain/peep/peep-ref':>36} | "
        f"{'peep÷plain':>10} {'keras÷peep':>10} {'keras÷plain':>11} {'ref÷peep':>8}"
    ]
    for r in rows:
        for mode in ("train", "inference"):
            lines.append(
                f"{r['units']:>5} {mode:9} | "
                + " ".join(f"{r[f'{mode}_ms_{name}']:8.2f}" for name in NAMES)
                + f" | {r[f'{mode}_peephole_over_plain']:10.2f} "
                f"{r[f'{mode}_keras_over_peephole']:10.2f} "
                f"{r[f'{mode}_keras_over_plain']:11.2f} "
                f"{r[f'{mode}_reference_over_peephole']:8.2f}"
            )
    return "\n".join(lines)

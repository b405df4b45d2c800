"""Language-model training throughput: tokens/s and achieved FLOP/s vs a large matmul.

Times the real training step of ``experiments.lm`` (``make_train_step``: forward,
backward, cross-replica gradient clipping and the SGD update) for the Penn
Treebank "small" configuration (2×200 LSTM, 10,000-word vocabulary, batch 20,
20 steps) on random token ids, and reports tokens/s and the achieved matmul
FLOP/s as a fraction of a large matmul's FLOP/s measured in the same process.
FLOPs counted: matmuls only, 3× the forward pass for forward+backward.

    python -m experiments.bench --suite=lm
"""

import numpy as np

from experiments.bench import common

SMALL = {"vocab_size": 10_000, "hidden_size": 200, "num_layers": 2, "batch_size": 20,
         "num_steps": 20, "cell": "lstm"}
QUICK = {"vocab_size": 50, "hidden_size": 8, "num_layers": 1, "batch_size": 4,
         "num_steps": 5, "cell": "lstm"}


def run(repeats=10, quick=False, seed=0, peak_flops=None):
    import tensorflow as tf

    from experiments.lm import configs, train

    shape = QUICK if quick else SMALL
    if peak_flops is None:
        peak_flops = common.peak_matmul_flops(size=256 if quick else 2048)
    rows = []
    for cell in ("lstm", "gru", "elman"):
        config = configs.get_config("small").replace(
            cell=cell, hidden_size=shape["hidden_size"], num_layers=shape["num_layers"],
            batch_size=shape["batch_size"], num_steps=shape["num_steps"], seed=seed,
        )
        strategy = tf.distribute.get_strategy()
        model = train.build_model(config, shape["vocab_size"])
        import keras

        optimizer = keras.optimizers.SGD(learning_rate=config.learning_rate)
        optimizer.build(model.trainable_variables)
        step = train.make_train_step(model, optimizer, strategy, config)
        rng = np.random.default_rng(seed)
        tokens = rng.integers(0, shape["vocab_size"], (config.batch_size, config.num_steps + 1))
        x = tf.constant(tokens[:, :-1], tf.int32)
        y = tf.constant(tokens[:, 1:], tf.int32)
        states = model.initial_state(config.batch_size)
        times = common.interleaved_times(
            {"step": lambda: float(step(x, y, states)[0])}, repeats=repeats
        )["step"]
        seconds = common.median(times)
        tokens_per_second = config.batch_size * config.num_steps / seconds
        flops = 3 * model.count_params_flops_per_token() * tokens_per_second
        rows.append({
            "cell": cell, **{k: v for k, v in shape.items() if k != "cell"},
            "step_ms": round(1e3 * seconds, 3),
            "tokens_per_second": round(tokens_per_second, 1),
            "gflops_per_second": round(flops / 1e9, 3),
            "peak_fraction": round(flops / peak_flops, 4),
        })
    return rows


def format_table(rows):
    lines = [f"{'cell':6} {'step ms':>9} {'tokens/s':>10} {'GFLOP/s':>9} {'of peak':>8}"]
    for r in rows:
        lines.append(f"{r['cell']:6} {r['step_ms']:9.2f} {r['tokens_per_second']:10.0f} "
                     f"{r['gflops_per_second']:9.2f} {100 * r['peak_fraction']:7.1f}%")
    return "\n".join(lines)

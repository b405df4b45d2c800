"""Language-model training throughput per precision: tokens/s and the fraction of the matmul peak.

Times the real training step of ``experiments.lm`` (``make_train_step``: forward,
backward, cross-replica gradient clipping and the SGD update) for the Penn
Treebank "small" configuration (2×200 network, 10,000-word vocabulary, batch
20, 20 steps) on random token ids, under ``--precision=float32`` and
``--precision=mixed_bfloat16`` (``seqkit.runs.precision_policy``), their
repeats interleaved with those of the same model written with Keras's own
layers and loss (``keras_over_seqkit``, > 1 when seqkit is faster). Each
row's achieved matmul FLOP/s is reported as a
fraction of a large matmul's FLOP/s *in the row's compute dtype* (float32, or
bfloat16 for the mixed policy), both measured in the same process, and the
mixed rows carry their speed-up over float32. FLOPs counted: matmuls only, 3×
the forward pass for forward+backward.

    python -m experiments.bench --suite=lm
"""

import numpy as np

from experiments.bench import common

SMALL = {"vocab_size": 10_000, "hidden_size": 200, "num_layers": 2, "batch_size": 20,
         "num_steps": 20, "cell": "lstm"}
QUICK = {"vocab_size": 50, "hidden_size": 8, "num_layers": 1, "batch_size": 4,
         "num_steps": 5, "cell": "lstm"}
PRECISIONS = ("float32", "mixed_bfloat16")


def peak_matmul_flops_bfloat16(size=2048, repeats=5):
    """FLOP/s of a large bfloat16 matmul (size x size x size): the bfloat16 peak.

    (``common.peak_matmul_flops`` is the float32 one.) On a CPU without bfloat16
    units TensorFlow emulates it, and this peak is then below the float32 one.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), dtype=np.float32), tf.bfloat16)
    b = tf.constant(rng.standard_normal((size, size), dtype=np.float32), tf.bfloat16)

    @tf.function
    def matmul():
        return tf.matmul(a, b)

    times = common.interleaved_times({"matmul": lambda: matmul().numpy()},
                                     repeats=repeats)["matmul"]
    return 2.0 * size**3 / common.median(times)


def _train_step(config, vocab_size, precision, x, y):
    """A zero-argument callable: one real training step of a model built under ``precision``."""
    import keras
    import tensorflow as tf

    from experiments.lm import configs, train
    from seqkit import runs

    with runs.precision_policy(precision):  # the policy must be set when layers are built
        model = train.build_model(config, vocab_size)
    optimizer = keras.optimizers.SGD(learning_rate=configs.base_learning_rate(config))
    optimizer.build(model.trainable_variables)
    step = train.make_train_step(model, optimizer, tf.distribute.get_strategy(), config)
    states = model.initial_state(config.batch_size)
    return model, lambda: float(step(x, y, states)[0])


def _keras_train_step(config, vocab_size, precision, x, y):
    """A zero-argument callable: the same model and step written with Keras's own layers.

    ``Embedding`` → ``LSTM``/``GRU``/``SimpleRNN`` × ``num_layers`` (explicit
    states, uniform ±``init_scale``, forget bias 0 as in the LM) → float32
    ``Dense`` → ``sparse_categorical_crossentropy``, the loss summed over time
    and averaged over the batch, ``clip_by_global_norm``, SGD: what a user
    would write without seqkit, for the ``keras_over_seqkit`` column.
    """
    import keras
    import tensorflow as tf

    from experiments.lm import configs
    from seqkit import runs

    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
                   "elman": keras.layers.SimpleRNN}[config.cell]
    extra = {"unit_forget_bias": False} if config.cell == "lstm" else {}
    state_count = 2 if config.cell == "lstm" else 1
    init = keras.initializers.RandomUniform(-config.init_scale, config.init_scale, seed=config.seed)
    with runs.precision_policy(precision):
        embedding = keras.layers.Embedding(vocab_size, config.hidden_size,
                                           embeddings_initializer=init)
        rnns = [layer_class(config.hidden_size, return_sequences=True, return_state=True,
                            kernel_initializer=init, recurrent_initializer=init, **extra)
                for _ in range(config.num_layers)]
        dropout = keras.layers.Dropout(config.dropout, seed=config.seed)
        softmax = keras.layers.Dense(vocab_size, kernel_initializer=init, dtype="float32")

    def forward(tokens, states):
        hidden, new_states = dropout(embedding(tokens), training=True), []
        for index, rnn in enumerate(rnns):
            hidden, *state = rnn(hidden, training=True, initial_state=list(
                states[state_count * index:state_count * (index + 1)]))
            hidden = dropout(hidden, training=True)
            new_states += [tf.cast(s, tf.float32) for s in state]
        return softmax(hidden), new_states

    states = [tf.zeros((config.batch_size, config.hidden_size))] * (
        state_count * config.num_layers)
    forward(x, states)  # builds the layers
    variables = [v for layer in (embedding, *rnns, softmax) for v in layer.trainable_variables]
    optimizer = keras.optimizers.SGD(learning_rate=configs.base_learning_rate(config))
    optimizer.build(variables)

    @tf.function
    def step(x, y, states):
        with tf.GradientTape() as tape:
            logits, new_states = forward(x, states)
            losses = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
            loss = tf.reduce_sum(losses) / config.batch_size
        gradients, _ = tf.clip_by_global_norm(tape.gradient(loss, variables),
                                              config.max_grad_norm)
        optimizer.apply(gradients, variables)
        return loss, new_states

    return lambda: float(step(x, y, states)[0])


def run(repeats=10, quick=False, seed=0, peak_flops=None):
    import tensorflow as tf

    from experiments.lm import configs

    shape = QUICK if quick else SMALL
    size = 256 if quick else 2048
    peaks = {"float32": peak_flops or common.peak_matmul_flops(size=size),
             "mixed_bfloat16": peak_matmul_flops_bfloat16(size=size)}
    rows = []
    for cell in ("lstm", "gru", "elman"):
        config = configs.get_config("small").replace(
            cell=cell, hidden_size=shape["hidden_size"], num_layers=shape["num_layers"],
            batch_size=shape["batch_size"], num_steps=shape["num_steps"], seed=seed,
        )
        rng = np.random.default_rng(seed)
        tokens = rng.integers(0, shape["vocab_size"], (config.batch_size, config.num_steps + 1))
        x = tf.constant(tokens[:, :-1], tf.int32)
        y = tf.constant(tokens[:, 1:], tf.int32)
        steps, models = {}, {}
        for precision in PRECISIONS:
            models[precision], steps[precision] = _train_step(
                config, shape["vocab_size"], precision, x, y)
            steps["keras " + precision] = _keras_train_step(
                config, shape["vocab_size"], precision, x, y)
        times = common.interleaved_times(steps, repeats=repeats)
        seconds = {name: common.median(values) for name, values in times.items()}
        for precision in PRECISIONS:
            tokens_per_second = config.batch_size * config.num_steps / seconds[precision]
            flops = 3 * models[precision].count_params_flops_per_token() * tokens_per_second
            rows.append({
                "cell": cell, "precision": precision,
                **{k: v for k, v in shape.items() if k != "cell"},
                "step_ms": round(1e3 * seconds[precision], 3),
                "tokens_per_second": round(tokens_per_second, 1),
                "gflops_per_second": round(flops / 1e9, 3),
                "peak_gflops": round(peaks[precision] / 1e9, 2),
                "peak_fraction": round(flops / peaks[precision], 4),
                "speedup_over_float32": round(seconds["float32"] / seconds[precision], 3),
                "keras_step_ms": round(1e3 * seconds["keras " + precision], 3),
                "keras_over_seqkit": round(seconds["keras " + precision] / seconds[precision], 3),
            })
    return rows


def format_table(rows):
    lines = [f"{'cell':6} {'precision':15} {'step ms':>9} {'tokens/s':>10} {'GFLOP/s':>9} "
             f"{'of peak':>8} {'peak':>7} {'vs f32':>7} {'keras ms':>9} {'keras/seqkit':>13}"]
    for r in rows:
        lines.append(f"{r['cell']:6} {r['precision']:15} {r['step_ms']:9.2f} "
                     f"{r['tokens_per_second']:10.0f} {r['gflops_per_second']:9.2f} "
                     f"{100 * r['peak_fraction']:7.1f}% {r['peak_gflops']:7.0f} "
                     f"{r['speedup_over_float32']:6.2f}x {r['keras_step_ms']:9.2f} "
                     f"{r['keras_over_seqkit']:12.2f}x")
    return "\n".join(lines)

"""Timing helpers shared by the benchmarks: interleaved repeats, medians, peak FLOP/s.

Every benchmark compares implementations measured in the same process, with
their repeats interleaved (a, b, c, a, b, c, ...) so that a change of load on a
shared machine hits all of them alike, and reports ratios of medians.
"""

import statistics
import time

import numpy as np


def interleaved_times(functions, repeats=10, warmup=2, calls=1):
    """name -> list of seconds per call, timing each zero-argument callable in turn.

    Each of the ``repeats`` rounds times every callable once, in order, so a
    change of load hits all of them alike. With ``calls`` > 1 a round times
    that many consecutive calls of one callable and records their mean: for
    sub-millisecond calls this measures the steady state a server sees (the
    weights still in cache from the previous call) instead of one cold call
    after another model's weights went through the cache, and averages over
    the timer's resolution.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            for _ in range(calls):
                function()
            times[name].append((time.perf_counter() - start) / calls)
    return times


def median(values):
    return statistics.median(values)


def train_step(layer, inputs):
    """A compiled forward+backward step: gradients of a squared loss w.r.t. inputs and weights."""
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
            loss = tf.reduce_mean(tf.square(outputs))
        return tape.gradient(loss, [inputs, *layer.trainable_weights])

    return lambda: _block(step())


def inference_step(layer, inputs):
    """A compiled forward pass in inference mode."""
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs)

    @tf.function
    def step():
        return layer(inputs, training=False)

    return lambda: _block(step())


def _block(result):
    """Force the result to the host so the timing covers the whole computation."""
    import tensorflow as tf

    for tensor in tf.nest.flatten(result):
        if tensor is not None:
            tensor.numpy()
    return result


def peak_matmul_flops(size=2048, repeats=5):
    """FLOP/s of a large float32 matmul (size x size x size), the machine's practical peak."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
    b = tf.constant(rng.standard_normal((size, size), dtype=np.float32))

    @tf.function
    def matmul():
        return tf.matmul(a, b)

    times = interleaved_times({"matmul": lambda: matmul().numpy()}, repeats=repeats)["matmul"]
    return 2.0 * size**3 / median(times)

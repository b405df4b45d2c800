"""Static shapes: every seqkit layer keeps each static dimension Keras's layer keeps.

A layer's output *values* can be right while its static shape is not: a loop
that stacks a ``TensorArray`` of dynamic length returns ``[batch, None, units]``
inside ``tf.function`` even when the time length is known. Keras's layers keep
``[8, 5, units]``, and layers after them rely on it (``TimeDistributed`` reshapes
with the static time length; issue 11: ``Input((5, 3)) -> GRU -> TimeDistributed``
failed in ``fit``). So each path (fused training loop, reference loop, unrolled,
per-gate masks, Clockwork's schedules) is traced inside ``tf.function`` with
inputs of partly known shape, and the static shapes of the outputs and states are
compared with Keras's layer traced the same way.

The Clockwork RNN has no Keras twin; its output and hidden state are compared
with ``SimpleRNN`` of the same width (also a single [batch, units] recurrence),
and its clock state must be ``[batch, 1]``.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit.layers

FEATURES, UNITS = 3, 4
# (batch, time) of the traced input: fully known (as in model.fit on numpy
# data), then unknown batch and unknown time (the default path only, to keep
# the test fast: the other paths differ in the loop, not in the shape plumbing).
SHAPES = [(8, 5), (None, 5), (8, None)]

# name -> (seqkit layer factory, Keras layer factory); both get the options.
KINDS = {
    "elman": (seqkit.layers.Elman, keras.layers.SimpleRNN),
    "lstm": (seqkit.layers.LSTM, keras.layers.LSTM),
    "gru": (seqkit.layers.GRU, keras.layers.GRU),
    "gru_reset_before": (
        lambda units, **o: seqkit.layers.GRU(units, reset_after=False, **o),
        lambda units, **o: keras.layers.GRU(units, reset_after=False, **o),
    ),
    "clockwork_fast": (
        lambda units, **o: seqkit.layers.Clockwork(periods=[1, 2], module_size=2, **o),
        keras.layers.SimpleRNN,
    ),
    "clockwork_masked": (
        lambda units, **o: seqkit.layers.Clockwork(
            periods=[1, 2], module_size=2, implementation="masked", **o
        ),
        keras.layers.SimpleRNN,
    ),
}

# The options that choose a different loop (see RecurrentLayer.inner_loop).
PATHS = {
    "default": {},  # training: the fused loop; inference: Keras's loop over cell.call
    "last_output": dict(return_sequences=False),
    "go_backwards": dict(go_backwards=True),
    "unroll": dict(unroll=True),
    "recurrent_dropout": dict(recurrent_dropout=0.3, seed=1),  # keras_backend.rnn path
    "implementation_1": dict(implementation=1, dropout=0.3, seed=1),  # per-gate masks
}


def _options(kind, path):
    options = {"return_sequences": True, "return_state": True, **PATHS[path]}
    if path == "implementation_1":
        if kind not in ("lstm", "gru", "gru_reset_before"):
            return None
    return options


def _keras_options(kind, options):
    options = dict(options)
    if kind.startswith("clockwork") or kind == "elman":
        options.pop("implementation", None)
    if kind in ("lstm", "gru", "gru_reset_before"):
        # Keras's cuDNN attempt cannot take per-gate masks (see tests/layers/common.py).
        options["use_cudnn"] = False
    return options


def static_shapes(layer, batch, time, training, masked):
    """The static shapes of ``layer``'s outputs when traced with such inputs."""
    layer.build((batch, time, FEATURES))
    signature = [tf.TensorSpec((batch, time, FEATURES), tf.float32)]
    if masked:
        signature.append(tf.TensorSpec((batch, time), tf.bool))
    shapes = []

    @tf.function(input_signature=signature)
    def call(x, mask=None):
        result = layer(x, mask=mask, training=training)
        shapes.extend(tuple(t.shape) for t in result)
        return result

    call.get_concrete_function()
    return shapes


def _cases():
    for kind in KINDS:
        for path in PATHS:
            if _options(kind, path) is not None:
                yield pytest.param(kind, path, id=f"{kind}-{path}")


@pytest.mark.parametrize("kind, path", list(_cases()))
def test_static_shapes_match_keras(kind, path):
    ours_factory, keras_factory = KINDS[kind]
    options = _options(kind, path)
    checked = 0
    for batch, time in SHAPES if path == "default" else SHAPES[:1]:
        for training in (True, False):
            for masked in (False, True):
                ours = static_shapes(ours_factory(UNITS, **options), batch, time, training, masked)
                theirs = static_shapes(
                    keras_factory(UNITS, **_keras_options(kind, options)),
                    batch, time, training, masked,
                )
                what = f"{kind} {options} input ({batch}, {time}) training={training} mask={masked}"
                if kind.startswith("clockwork"):
                    # [output, hidden, clock] against SimpleRNN's [output, hidden].
                    assert ours[-1] == (batch, 1), what
                    ours = ours[:-1]
                assert ours == theirs, what
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize("kind", list(KINDS))
def test_time_distributed_after_the_layer_trains(kind):
    """The exact report of issue 11: Input((5, 3)) -> GRU -> TimeDistributed(Dense) -> fit."""
    layer_factory, _ = KINDS[kind]
    inputs = keras.Input((5, 3))
    hidden = layer_factory(UNITS, return_sequences=True)(inputs)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(2))(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5, 3)).astype("float32")
    y = rng.normal(size=(16, 5, 2)).astype("float32")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

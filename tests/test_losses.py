"""seqkit.losses.softmax_cross_entropy: equal to the plain projection + cross-entropy."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import runs
from seqkit.language_model import LanguageModel, token_losses
from seqkit.losses import softmax_cross_entropy

N, D, V = 7, 5, 11
RNG = np.random.default_rng(0)
HIDDEN = RNG.standard_normal((N, D)).astype(np.float32)
KERNEL = RNG.standard_normal((D, V)).astype(np.float32)
BIAS = RNG.standard_normal(V).astype(np.float32)
TARGETS = RNG.integers(0, V, N).astype(np.int32)
UPSTREAM = RNG.uniform(0.5, 2.0, N).astype(np.float32)  # not all ones: weights per row


def numpy_reference(hidden, kernel, bias, targets, upstream):
    """The equations in float64: losses and the gradients of Σ upstream · loss."""
    h, w, b = (np.asarray(a, np.float64) for a in (hidden, kernel, bias))
    logits = h @ w + b
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    losses = -log_probs[np.arange(len(targets)), targets]
    dlogits = (np.exp(log_probs) - np.eye(w.shape[1])[targets]) * upstream[:, None]
    return losses, dlogits @ w.T, h.T @ dlogits, dlogits.sum(0)


def fused(hidden, kernel, bias, transpose_kernel=False, **kwargs):
    hidden, kernel, bias = (tf.Variable(a) for a in (hidden, kernel, bias))
    with tf.GradientTape() as tape:
        losses = softmax_cross_entropy(hidden, kernel, bias, TARGETS,
                                       transpose_kernel=transpose_kernel, **kwargs)
        total = tf.reduce_sum(losses * UPSTREAM)
    return (losses, *tape.gradient(total, [hidden, kernel, bias]))


@pytest.mark.parametrize("xla", [True, False])
@pytest.mark.parametrize("transpose_kernel", [False, True])
def test_matches_the_equations_and_the_plain_path(xla, transpose_kernel):
    kernel = KERNEL.T.copy() if transpose_kernel else KERNEL
    losses, dhidden, dkernel, dbias = fused(HIDDEN, kernel, BIAS, transpose_kernel, xla=xla)
    assert losses.dtype == tf.float32 and losses.shape == (N,)
    expected = numpy_reference(HIDDEN, KERNEL, BIAS, TARGETS, UPSTREAM)
    expected_dkernel = expected[2].T if transpose_kernel else expected[2]
    for got, want in zip((losses, dhidden, dkernel, dbias),
                         (expected[0], expected[1], expected_dkernel, expected[3])):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    # The plain Keras path: logits, then sparse categorical cross-entropy.
    h, w, b = tf.Variable(HIDDEN), tf.Variable(KERNEL), tf.Variable(BIAS)
    with tf.GradientTape() as tape:
        plain = token_losses(tf.matmul(h, w) + b, TARGETS)
        total = tf.reduce_sum(plain * UPSTREAM)
    np.testing.assert_allclose(losses.numpy(), plain.numpy(), rtol=1e-5, atol=1e-5)
    for got, want in zip((dhidden, dkernel, dbias), tape.gradient(total, [h, w, b])):
        want = want.numpy().T if (transpose_kernel and want.shape == (D, V)) else want.numpy()
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_large_logits_stay_finite():
    # The max shift: exp(1000) overflows float32, the loss must not.
    losses, *grads = fused(HIDDEN * 300, KERNEL, BIAS)
    assert np.all(np.isfinite(losses.numpy())) and all(np.all(np.isfinite(g)) for g in grads)
    np.testing.assert_allclose(losses.numpy(), numpy_reference(HIDDEN * 300, KERNEL, BIAS,
                                                              TARGETS, UPSTREAM)[0],
                               rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("bad", [V, -1])
def test_an_out_of_range_target_is_an_error(bad):
    # XLA's gather would clamp it to a valid id and return a wrong loss.
    with pytest.raises(tf.errors.InvalidArgumentError, match="targets"):
        softmax_cross_entropy(HIDDEN[:2], KERNEL, BIAS, tf.constant([0, bad]))


def _bfloat16(array):
    return tf.cast(tf.cast(array, tf.bfloat16), tf.float64).numpy()


@pytest.mark.parametrize("transpose_kernel", [False, True])
def test_bfloat16_operands_float32_logits_softmax_and_sums(transpose_kernel):
    # compute_dtype bfloat16: the matmul operands are rounded to bfloat16; the
    # logits (XLA's dot returns float32), the bias, the softmax, the loss and
    # the bias gradient are float32. TensorFlow's bfloat16 matmul would round
    # the logits to bfloat16, and fail this comparison by ~5e-3.
    kernel = KERNEL.T.copy() if transpose_kernel else KERNEL
    losses, dhidden, dkernel, dbias = fused(HIDDEN, kernel, BIAS, transpose_kernel,
                                            compute_dtype=tf.bfloat16)
    assert (losses.dtype, dkernel.dtype, dbias.dtype) == (tf.float32,) * 3
    # The equations on the operands as bfloat16 rounds them.
    expected = numpy_reference(_bfloat16(HIDDEN), _bfloat16(KERNEL), BIAS, TARGETS, UPSTREAM)
    np.testing.assert_allclose(losses.numpy(), expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dbias.numpy(), expected[3], rtol=1e-5, atol=1e-5)
    # The gradient matmuls take the upstream rounded to bfloat16 (8 bits of mantissa).
    expected_dkernel = expected[2].T if transpose_kernel else expected[2]
    np.testing.assert_allclose(dkernel.numpy(), expected_dkernel, rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(dhidden.numpy(), expected[1], rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("tie", [False, True])
def test_language_model_token_losses_equal_its_logits_path(tie):
    model = LanguageModel(V, cell="lstm", num_layers=2, hidden_size=6, tie_embeddings=tie,
                          init_scale=0.5, seed=2)
    model.build()
    tokens = tf.constant(RNG.integers(0, V, (3, 4)), tf.int32)
    targets = tf.constant(RNG.integers(0, V, (3, 4)), tf.int32)
    states = [tf.constant(RNG.standard_normal(s.shape), tf.float32)
              for s in model.initial_state(3)]
    variables = model.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fused_losses, fused_states = model.token_losses((tokens, states), targets)
        logits, states_ = model((tokens, states))
        plain_losses = token_losses(logits, targets)
        fused_total, plain_total = tf.reduce_sum(fused_losses), tf.reduce_sum(plain_losses)
    assert fused_losses.shape == (3, 4)
    np.testing.assert_allclose(fused_losses.numpy(), plain_losses.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip(fused_states, states_):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for variable, a, b in zip(variables, tape.gradient(fused_total, variables),
                              tape.gradient(plain_total, variables)):
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(),
                                   tf.convert_to_tensor(b).numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=variable.path)


def test_language_model_token_losses_under_mixed_bfloat16_are_float32():
    with runs.precision_policy("mixed_bfloat16"):
        model = LanguageModel(V, cell="gru", num_layers=1, hidden_size=6, init_scale=0.5, seed=2)
        model.build()
        tokens = tf.constant(RNG.integers(0, V, (2, 3)), tf.int32)
        losses, states = model.token_losses((tokens, model.initial_state(2)), tokens)
        logits, _ = model((tokens, model.initial_state(2)))
    assert losses.dtype == tf.float32 and {s.dtype for s in states} == {tf.float32}
    # Within bfloat16's rounding of the float32 projection's loss.
    np.testing.assert_allclose(losses.numpy(), token_losses(logits, tokens).numpy(), rtol=1e-2)
    assert keras.config.dtype_policy().name == "float32"  # the scope restored it

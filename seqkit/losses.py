"""Softmax cross-entropy fused with its output projection, for large vocabularies.

    logits = h · W + b                  (W is [d, V], or [V, d] read transposed)
    loss_n = log Σ_v exp(logits_nv) − logits_n,target_n
    ∂loss/∂logits = softmax(logits) − onehot(target)

In a word-level language model this is most of the work (PTB-small: 10,000
words against 2×200 units, ~75% of the FLOPs), and written the plain way
(``Dense`` → ``sparse_categorical_crossentropy``) TensorFlow spends more time
outside the three matmuls than in them: its cross-entropy kernel and the
backward's elementwise passes over the [positions, vocabulary] matrix took
~13 ms of a 53 ms PTB-small step on the 2-core host (BUILD_NOTES.md, "The
softmax and its loss are one fused function"). Here:

* the three matmuls (logits, ∂h, ∂W) are TensorFlow ops, which use oneDNN
  (and AMX for bfloat16 where the CPU has it), except the bfloat16 forward;
* in ``compute_dtype`` bfloat16 the matmuls take bfloat16 operands and
  everything after them is float32: the logits (the forward matmul is XLA's
  dot, which returns float32; TensorFlow's bfloat16 matmul rounds its result
  to bfloat16), the bias add, the softmax,
  the loss, the bias gradient (a sum over every position) and the weight
  gradient handed to the float32 variable; the gradient matmuls stay
  TensorFlow's (faster here) and round ∂h and ∂W to bfloat16;
* the elementwise passes (max, exp, sum, log, the picked logit; softmax −
  one-hot times the upstream gradient, the bias gradient) are one XLA kernel
  each way.

The result equals ``sparse_categorical_crossentropy(targets, h·W + b,
from_logits=True)`` and its gradients (tested to 1e-5 in float32,
``tests/test_losses.py``), without materializing the logits for the caller.

Example:
    >>> hidden = tf.random.normal([6, 8])
    >>> kernel, bias = tf.random.normal([8, 50]), tf.zeros([50])
    >>> softmax_cross_entropy(hidden, kernel, bias, tf.range(6)).shape
    TensorShape([6])
"""

import tensorflow as tf


def _forward(logits, targets):
    """Per-row losses and softmax probabilities of float32 ``logits`` [N, V]."""
    # The max shift keeps exp finite; it cancels exactly in the loss.
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    exp = tf.exp(shifted)
    total = tf.reduce_sum(exp, axis=-1, keepdims=True)
    losses = tf.math.log(total[:, 0]) - tf.gather(shifted, targets, batch_dims=1)
    return losses, exp / total


def _backward(probs, targets, upstream, compute_dtype):
    """(∂logits in ``compute_dtype``, ∂bias in float32) for upstream ∂loss [N]."""
    onehot = tf.one_hot(targets, tf.shape(probs)[-1], dtype=probs.dtype)
    dlogits = (probs - onehot) * upstream[:, None]
    return tf.cast(dlogits, compute_dtype), tf.reduce_sum(dlogits, axis=0)


_forward_xla = tf.function(_forward, jit_compile=True, autograph=False)
_backward_xla = tf.function(_backward, jit_compile=True, autograph=False)


def _forward_mixed(hidden, kernel, bias, targets, transpose_kernel):
    """``_forward`` of ``hidden · kernel + bias`` for bfloat16 operands, in one XLA kernel.

    XLA's dot accumulates and returns float32 here, where TensorFlow's bfloat16
    matmul rounds its result to bfloat16 (its CPU kernel has no bfloat16 →
    float32 variant): the logits keep float32 precision. (PTB-small test
    perplexity over float32: bfloat16 logits +1.01% / +2.49% at seeds 0 / 1,
    these +1.01% at seed 0; BUILD_NOTES.md.)
    """
    logits = tf.raw_ops.BatchMatMulV3(x=hidden, y=kernel, Tout=tf.float32, adj_y=transpose_kernel)
    return _forward(logits + bias, targets)


_forward_mixed_xla = tf.function(_forward_mixed, jit_compile=True, autograph=False)


def softmax_cross_entropy(hidden, kernel, bias, targets, transpose_kernel=False,
                          compute_dtype=None, xla=True):
    """−log softmax(hidden · kernel + bias)[target] per row, with a fused gradient.

    Args:
        hidden: [N, d] inputs of the projection (float32 or bfloat16).
        kernel: [d, V] weights, or [V, d] with ``transpose_kernel`` (tied
            embeddings); float32 (a variable is read as it is).
        bias: [V] float32.
        targets: [N] integer ids in [0, V) (else InvalidArgumentError).
        transpose_kernel: the kernel is [V, d] and used as its transpose.
        compute_dtype: dtype of the matmul operands; default ``hidden``'s.
            The logits, loss and bias gradient are float32 whatever it is.
        xla: compile the elementwise passes with XLA (``False``: the same
            math as plain TensorFlow ops, tested equal in float32; in
            bfloat16 they round the logits to bfloat16).

    Returns:
        float32 [N] losses. Gradients flow to ``hidden`` (in its dtype),
        ``kernel`` and ``bias`` (float32); ``targets`` get none.
    """
    compute_dtype = tf.as_dtype(compute_dtype or hidden.dtype)
    forward = _forward_xla if xla else _forward
    backward = _backward_xla if xla else _backward
    targets = tf.cast(targets, tf.int32)
    # XLA's gather clamps an out-of-range index where TensorFlow's kernel raises:
    # check here, so a bad id is an error and never a silently wrong loss.
    vocab_size = tf.shape(kernel)[0 if transpose_kernel else 1]
    tf.debugging.assert_non_negative(targets, message="`targets` must be >= 0")
    tf.debugging.assert_less(targets, vocab_size,
                             message="`targets` must be < the vocabulary size")

    @tf.custom_gradient
    def fused(hidden, kernel, bias):
        h = tf.cast(hidden, compute_dtype)
        w = tf.cast(kernel, compute_dtype)
        if compute_dtype == tf.float32 or not xla:
            logits = tf.matmul(h, w, transpose_b=transpose_kernel)
            losses, probs = forward(tf.cast(logits, tf.float32) + bias, targets)
        else:
            losses, probs = _forward_mixed_xla(h, w, bias, targets, transpose_kernel)

        def grad(upstream):
            dlogits, dbias = backward(probs, targets, tf.cast(upstream, tf.float32),
                                      compute_dtype)
            # TensorFlow's matmuls (oneDNN; XLA's were 1.5–3.5× slower at these
            # shapes): in bfloat16 their results are rounded to bfloat16, an
            # unbiased 2⁻⁹ relative error of each gradient entry.
            dhidden = tf.matmul(dlogits, w, transpose_b=not transpose_kernel)
            if transpose_kernel:  # kernel [V, d]: ∂W = ∂logitsᵀ · h
                dkernel = tf.matmul(dlogits, h, transpose_a=True)
            else:                 # kernel [d, V]: ∂W = hᵀ · ∂logits
                dkernel = tf.matmul(h, dlogits, transpose_a=True)
            return (tf.cast(dhidden, hidden.dtype), tf.cast(dkernel, kernel.dtype),
                    tf.cast(dbias, bias.dtype))

        return losses, grad

    return fused(hidden, tf.convert_to_tensor(kernel), tf.convert_to_tensor(bias))


__all__ = ["softmax_cross_entropy"]

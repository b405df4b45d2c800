"""Train and evaluate a language model: ``train_and_evaluate(config, train_dir)``.

As in Zaremba et al. (2014) and TensorFlow's PTB tutorial:

* the training stream is cut into ``batch_size`` parallel streams and read in
  windows of ``num_steps`` (truncated BPTT); the recurrent state is carried from
  window to window within an epoch and reset to zero at each epoch start;
* the loss is the cross-entropy summed over the window's steps and averaged
  over the batch (the tutorial's scale, which its learning rate of 1 assumes);
* plain SGD, learning rate ``learning_rate · lr_decay^max(0, epoch − decay_after)``
  (epochs counted from 1), gradients clipped to global norm ``max_grad_norm``;
* validation and test perplexity carry the state through the whole stream
  (``eval_batch_size`` streams; 1 = exactly one stream, as in the tutorial).

Each epoch ends with a checkpoint (TensorFlow checkpoints are written to
temporary files and renamed, so a kill never leaves a half checkpoint); the same
command resumes after the last finished epoch, and with the same ``--seed`` ends
with the same metrics as an uninterrupted run (the dropout generators' states
are part of the checkpoint).

Distribution (``--strategy``, see docs/distributed.md): the step runs under
``strategy.run``; replica ``r`` of ``R`` always gets rows ``[r·b, (r+1)·b)``
(``b = batch_size / R``) of every window and carries those streams' state (the
state is an explicit input and output of the step, never a shared variable).
That slicing by global replica id is the data sharding: every worker builds
the same windows from the corpus and feeds only its own replicas' rows. The
global batch is ``batch_size`` whatever ``R``; the learning rate applies to it
unchanged; gradients are summed across replicas before clipping, so R replicas
compute what one device computes with the same global batch. Only the chief
writes ``train_dir``; on resume every worker takes the chief's checkpoint.
"""

import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from seqkit import distribute, runs
from seqkit.data import text as text_data
from seqkit.language_model import LanguageModel, perplexity, sample, token_losses


def learning_rate(config, epoch):
    """The learning rate of ``epoch`` (counted from 1)."""
    return config.learning_rate * config.lr_decay ** max(0, epoch - config.decay_after)


def load_data(config):
    """The corpus, with every data error raised before any training step."""
    corpus = text_data.load_corpus(
        data_dir=config.data_dir or None,
        text_file=config.text_file or None,
        level=config.level,
    )
    train = text_data.batchify(corpus.train, config.batch_size)
    # Raises a clear error when num_steps is longer than the streams.
    text_data.num_windows(train, config.num_steps)
    for split in ("valid", "test"):
        text_data.num_windows(
            text_data.batchify(corpus.split(split), config.eval_batch_size), 1,
            drop_remainder=False,
        )
    return corpus, train


def build_model(config, vocab_size):
    model = LanguageModel(
        vocab_size=vocab_size,
        cell=config.cell,
        num_layers=config.num_layers,
        hidden_size=config.hidden_size,
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        tie_embeddings=config.tie_embeddings,
        init_scale=config.init_scale,
        seed=config.seed,
        name="language_model",
    )
    model.build()
    return model


def _per_replica(strategy, make):
    """A per-replica value: ``make(replica_id, num_replicas)`` on each replica."""
    return strategy.experimental_distribute_values_from_function(
        lambda context: make(context.replica_id_in_sync_group, context.num_replicas_in_sync)
    )


def make_train_step(model, optimizer, strategy, config):
    """A compiled distributed step: (x, y, states) -> (loss per token, new states)."""
    global_batch = config.batch_size

    def replica_step(x, y, states):
        with tf.GradientTape() as tape:
            logits, new_states = model((x, states), training=True)
            losses = token_losses(logits, y)  # [batch_per_replica, time]
            # Σ over time, mean over the *global* batch: replicas sum to the whole.
            loss = tf.reduce_sum(losses) / global_batch
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        # Keras's optimizer sums gradients across replicas *after* any clipping
        # it does, so clipping there would use each replica's own norm. Clip by
        # the norm of the summed gradient instead: scaling every replica's part
        # by the same factor makes the optimizer's sum equal to
        # clip_by_global_norm(full gradient).
        context = tf.distribute.get_replica_context()
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        norm = tf.linalg.global_norm(total)
        scale = tf.minimum(1.0, config.max_grad_norm / tf.maximum(norm, 1e-12))
        optimizer.apply_gradients([(g * scale, v) for g, v in zip(grads, variables)])
        return tf.reduce_sum(losses), new_states

    @tf.function
    def step(x, y, states):
        loss_sum, new_states = strategy.run(replica_step, args=(x, y, states))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, loss_sum, axis=None)
        # Training windows are always full (iterate_bptt drops the remainder),
        # so every step scores batch_size * num_steps tokens.
        return total / (config.batch_size * config.num_steps), new_states

    return step


def evaluate(model, stream, batch_size, num_steps, eval_step=None):
    """(perplexity, total loss, scored tokens) with the state carried through ``stream``."""
    data = text_data.batchify(stream, batch_size)
    states = model.initial_state(batch_size)
    eval_step = eval_step or make_eval_step(model)
    total, count = 0.0, 0
    for x, y in text_data.iterate_bptt(data, num_steps, drop_remainder=False):
        loss_sum, states = eval_step(tf.constant(x, tf.int32), tf.constant(y, tf.int32), states)
        total += float(loss_sum)
        count += y.size
    return perplexity(total, count), total, count


def make_eval_step(model):
    @tf.function(reduce_retracing=True)
    def step(x, y, states):
        logits, new_states = model((x, states), training=False)
        return tf.reduce_sum(token_losses(logits, y)), new_states

    return step


def floor_perplexity(corpus, split, batch_size):
    """The floor over exactly the positions ``evaluate`` scores (None if unknown)."""
    if not corpus.token_log_probs:
        return None
    log_probs = text_data.batchify(np.asarray(corpus.token_log_probs[split]), batch_size)
    scored = log_probs[:, 1:]  # the first token of each stream is never predicted
    return float(math.exp(-scored.mean()))


class _Checkpoints(distribute.ChiefCheckpointManager):
    """Per-epoch checkpoints in ``<train_dir>/checkpoints``, written by the chief only.

    Every worker saves (MultiWorkerMirroredStrategy needs it); a non-chief's
    copy goes to a temporary folder deleted at once. On resume every worker
    gets the chief's restored values (see ``distribute.ChiefCheckpointManager``).
    """

    def __init__(self, train_dir, model, optimizer, epoch, strategy):
        # Explicit variable lists rather than tf.train.Checkpoint(model=model):
        # TensorFlow's object graph does not reach Keras 3's SeedGenerator states
        # (the dropout RNGs), and without them a resumed run would draw other
        # dropout masks than an uninterrupted one.
        model_variables, optimizer_variables = list(model.variables), list(optimizer.variables)
        checkpoint = tf.train.Checkpoint(
            model_variables=model_variables,
            optimizer_variables=optimizer_variables,
            epoch=epoch,
        )
        super().__init__(checkpoint, os.path.join(train_dir, "checkpoints"), strategy,
                         variables=[*model_variables, *optimizer_variables, epoch],
                         max_to_keep=2)


# Settings a run may change when it resumes in the same train_dir; any other
# change would restore a checkpoint into a different model or data pipeline.
RESUMABLE_CHANGES = ("epochs", "sample_tokens", "prompt", "temperature", "export_dir",
                     "progress", "log_every", "strategy", "num_cpu_devices", "eval_batch_size")


def _check_same_settings(train_dir, config):
    """Refuse to resume a run in ``train_dir`` with different model or data settings."""
    path = os.path.join(train_dir, "flags.json")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    changed = {
        key: (saved[key], value)
        for key, value in config.to_dict().items()
        if key in saved and key not in RESUMABLE_CHANGES and saved[key] != value
    }
    if changed:
        listed = ", ".join(f"--{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
        raise ValueError(
            f"`train_dir`={train_dir!r} holds a run with other settings ({listed}). "
            f"Use a new --train_dir, or the same settings to resume."
        )


def train_and_evaluate(config, train_dir):
    """Train ``config`` into ``train_dir``; returns the final metrics dict.

    Writes ``flags.json`` (the resolved config), ``checkpoints/``, ``logs/``
    (TensorBoard), ``vocab.txt`` and ``results.json`` into ``train_dir``.
    """
    runs.prepare_train_dir(train_dir)
    corpus, train_data = load_data(config)
    # Before any TensorFlow op (load_data is NumPy only): splitting the CPU
    # (--num_cpu_devices) and MultiWorkerMirroredStrategy's collectives can only
    # be configured before the runtime starts.
    strategy = distribute.make_strategy(config.strategy, config.num_cpu_devices or None)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"`batch_size`={config.batch_size} must be divisible by the number of "
            f"replicas ({replicas}): each replica carries whole streams."
        )
    _check_same_settings(train_dir, config)
    chief = distribute.is_chief(strategy)
    runs.set_seed(config.seed)
    if chief:
        runs.write_config(train_dir, {**config.to_dict(), "corpus": corpus.name,
                                      "vocab_size": len(corpus.vocab), "replicas": replicas})
        corpus.vocab.save(os.path.join(train_dir, "vocab.txt"))
    logging.info(
        "corpus %s: vocab %d, train/valid/test tokens %d/%d/%d, oov %s",
        corpus.name, len(corpus.vocab), len(corpus.train), len(corpus.valid),
        len(corpus.test), dict(corpus.oov_counts),
    )

    with strategy.scope():
        model = build_model(config, len(corpus.vocab))
        optimizer = keras.optimizers.SGD(learning_rate=config.learning_rate)
        optimizer.build(model.trainable_variables)
        epoch_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoints = _Checkpoints(train_dir, model, optimizer, epoch_done, strategy)
    restored = checkpoints.restore()  # on every worker: the chief's values
    if int(epoch_done.numpy()):
        logging.info("resumed after epoch %d from %s", int(epoch_done.numpy()),
                     restored or "the chief's checkpoint")
    train_step = make_train_step(model, optimizer, strategy, config)
    eval_step = make_eval_step(model)
    writer = tf.summary.create_file_writer(os.path.join(train_dir, "logs")) if chief else None
    per_replica_batch = config.batch_size // replicas
    windows = text_data.num_windows(train_data, config.num_steps)

    train_tokens, train_seconds, valid_ppl, train_ppl = 0, 0.0, None, None
    for epoch in range(int(epoch_done.numpy()) + 1, config.epochs + 1):
        lr = learning_rate(config, epoch)
        optimizer.learning_rate.assign(lr)
        states = _per_replica(strategy, lambda i, n: model.initial_state(per_replica_batch))
        progress = keras.utils.Progbar(windows, stateful_metrics=["ppl"]) if config.progress else None
        total, count, start = 0.0, 0, time.perf_counter()
        for index, (x, y) in enumerate(text_data.iterate_bptt(train_data, config.num_steps)):
            xs = _per_replica(strategy, lambda i, n, x=x: tf.constant(
                x[i * per_replica_batch:(i + 1) * per_replica_batch], tf.int32))
            ys = _per_replica(strategy, lambda i, n, y=y: tf.constant(
                y[i * per_replica_batch:(i + 1) * per_replica_batch], tf.int32))
            loss, states = train_step(xs, ys, states)
            loss = runs.check_finite(loss, f"{epoch}.{index}", checkpoints.directory)
            total += loss * y.size
            count += y.size
            if progress:
                progress.update(index + 1, [("ppl", perplexity(total, count))])
        seconds = time.perf_counter() - start
        train_tokens += count
        train_seconds += seconds
        train_ppl = perplexity(total, count)
        valid_ppl, _, _ = evaluate(model, corpus.valid, config.eval_batch_size,
                                   config.num_steps, eval_step)
        epoch_done.assign(epoch)
        checkpoints.save(epoch)
        logging.info("epoch %d lr %.4g train ppl %.2f valid ppl %.2f (%.0f tokens/s)",
                     epoch, lr, train_ppl, valid_ppl, count / seconds)
        print(f"epoch {epoch}/{config.epochs}: lr {lr:.4g}  train ppl {train_ppl:.2f}  "
              f"valid ppl {valid_ppl:.2f}  {count / seconds:,.0f} tokens/s", flush=True)
        if writer:
            with writer.as_default(step=epoch):
                tf.summary.scalar("train_perplexity", train_ppl)
                tf.summary.scalar("valid_perplexity", valid_ppl)
                tf.summary.scalar("learning_rate", lr)
                tf.summary.scalar("tokens_per_second", count / seconds)

    if valid_ppl is None:  # resumed after the last epoch: evaluate the restored model
        valid_ppl, _, _ = evaluate(model, corpus.valid, config.eval_batch_size,
                                   config.num_steps, eval_step)
    test_ppl, _, _ = evaluate(model, corpus.test, config.eval_batch_size, config.num_steps,
                              eval_step)
    tokens_per_second = train_tokens / train_seconds if train_seconds else None
    results = {
        "valid_perplexity": valid_ppl,
        "test_perplexity": test_ppl,
        "train_perplexity": train_ppl,
        "tokens_per_second": tokens_per_second,
        "train_flops_per_second": (
            3 * model.count_params_flops_per_token() * tokens_per_second
            if tokens_per_second else None
        ),
        "epochs": config.epochs,
        "parameters": int(model.count_params()),
        "corpus": corpus.name,
    }
    floor = floor_perplexity(corpus, "test", config.eval_batch_size)
    if floor is not None:
        results["floor_perplexity"] = floor
        results["test_over_floor"] = test_ppl / floor

    if config.sample_tokens > 0:
        prompt = config.prompt.split() if config.level == "word" else list(config.prompt)
        words = sample(model, corpus.vocab, prompt, config.sample_tokens,
                       temperature=config.temperature, seed=config.seed)
        joiner = " " if config.level == "word" else ""
        results["sample"] = joiner.join(prompt + words)
        print(f"sample: {results['sample']}", flush=True)

    if chief:
        if config.export_dir:
            from seqkit.export import language_model as lm_export

            lm_export.export_language_model(model, corpus.vocab, config.export_dir,
                                            level=config.level)
            results["export_dir"] = config.export_dir
        runs.write_results(train_dir, results)
    print(json.dumps(results, sort_keys=True), flush=True)
    return results

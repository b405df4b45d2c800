"""The language-model experiment on the ``seqkit.runs`` harness: model, data, steps, metrics.

As in Zaremba et al. (2014) and TensorFlow's PTB tutorial:

* the training stream is cut into ``batch_size`` parallel streams and read in
  windows of ``num_steps`` (truncated BPTT); the recurrent state is carried from
  window to window within an epoch and reset to zero at each epoch start;
* the loss is the cross-entropy summed over the window's steps and averaged
  over the batch (the tutorial's scale, which its learning rate of 1 assumes);
* plain SGD, learning rate ``learning_rate · lr_decay^max(0, epoch − decay_after)``
  (epochs counted from 1; ``learning_rate`` 0 takes the cell's,
  ``configs.CELL_LEARNING_RATES``), gradients clipped to global norm ``max_grad_norm``;
* validation and test perplexity carry the state through the whole stream
  (``eval_batch_size`` streams; 1 = exactly one stream, as in the tutorial).
  The best epoch is the one with the lowest validation perplexity; the test
  perplexity is measured with its weights.

Everything else (flags, train dir, resume, checkpoints with the dropout RNG
states, chief-only writes, logs, errors, results) is ``seqkit.runs``'s.

Distribution (``--strategy``): the step runs under ``strategy.run``; replica
``r`` of ``R`` always gets rows ``[r·b, (r+1)·b)`` (``b = batch_size / R``) of
every window and carries those streams' state (the state is an explicit input
and output of the step, never a shared variable). The global batch is
``batch_size`` whatever ``R``; gradients are summed across replicas before
clipping, so R replicas compute what one device computes.

Example:
    >>> from experiments.lm import configs, train
    >>> results = runs.run(train.EXPERIMENT, configs.PRESETS["test"], "/tmp/lm")  # doctest: +SKIP
    >>> results["test_perplexity"] > results["floor_perplexity"]                  # doctest: +SKIP
    True
"""

import dataclasses
import hashlib
import math

import keras
import numpy as np
import tensorflow as tf

from experiments.lm import configs
from seqkit import distribute, runs
from seqkit.data import text as text_data
from seqkit.language_model import LanguageModel, perplexity, sample


@dataclasses.dataclass
class Data:
    corpus: text_data.Corpus
    train: np.ndarray  # [batch_size, tokens]: the training streams


def learning_rate(config, epoch):
    """The learning rate of ``epoch`` (counted from 1)."""
    base = configs.base_learning_rate(config)
    return base * config.lr_decay ** max(0, epoch - config.decay_after)


def load_data(config):
    """The corpus, with every data error raised before any training step."""
    corpus = text_data.load_corpus(
        data_dir=config.data_dir or None,
        text_file=config.text_file or None,
        level=config.level,
        encoding=config.encoding,
    )
    train = text_data.batchify(corpus.train, config.batch_size)
    # Raises a clear error when num_steps is longer than the streams.
    text_data.num_windows(train, config.num_steps)
    for split in ("valid", "test"):
        text_data.num_windows(
            text_data.batchify(corpus.split(split), config.eval_batch_size), 1,
            drop_remainder=False,
        )
    return Data(corpus, train)


def fingerprint(corpus):
    """What the model is trained on: the vocabulary and every split's token ids, hashed."""
    def digest(array):
        return hashlib.sha256(np.ascontiguousarray(array, dtype=np.int64).tobytes()).hexdigest()

    return {
        "corpus": corpus.name,
        "vocab_size": len(corpus.vocab),
        "vocab_sha256": hashlib.sha256("\n".join(corpus.vocab.tokens).encode()).hexdigest(),
        **{f"{split}_tokens": int(len(corpus.split(split))) for split in ("train", "valid", "test")},
        **{f"{split}_sha256": digest(corpus.split(split)) for split in ("train", "valid", "test")},
    }


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
        # Only when asked: the plain LSTM's arguments stay Keras's exactly.
        cell_kwargs={"use_peepholes": True} if config.use_peepholes else None,
        seed=config.seed,
        name="language_model",
    )
    model.build()
    return model


def make_train_step(model, optimizer, strategy, config):
    """A compiled distributed step: (x, y, states) -> (loss per token, new states)."""
    global_batch = config.batch_size

    def replica_step(x, y, states):
        with tf.GradientTape() as tape:
            # The fused projection + softmax (seqkit.losses); equal to
            # token_losses(model((x, states))[0], y), tested.
            losses, new_states = model.token_losses((x, states), y, training=True)
            # Σ over time, mean over the *global* batch: replicas sum to the whole.
            loss = tf.reduce_sum(losses) / global_batch
        variables = model.trainable_variables
        distribute.apply_clipped_gradients(optimizer, tape.gradient(loss, variables),
                                           variables, config.max_grad_norm)
        return tf.reduce_sum(losses), new_states

    @tf.function
    def step(x, y, states):
        loss_sum, new_states = strategy.run(replica_step, args=(x, y, states))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, loss_sum, axis=None)
        # Training windows are always full (iterate_bptt drops the remainder),
        # so every step scores batch_size * num_steps tokens.
        return total / (config.batch_size * config.num_steps), new_states

    return step


def make_eval_step(model):
    @tf.function(reduce_retracing=True)
    def step(x, y, states):
        losses, new_states = model.token_losses((x, states), y, training=False)
        return tf.reduce_sum(losses), new_states

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


def floor_perplexity(corpus, split, batch_size):
    """The floor over exactly the positions ``evaluate`` scores (None if unknown)."""
    if not corpus.token_log_probs:
        return None
    log_probs = text_data.batchify(np.asarray(corpus.token_log_probs[split]), batch_size)
    scored = log_probs[:, 1:]  # the first token of each stream is never predicted
    return float(math.exp(-scored.mean()))


class LanguageModelExperiment(runs.Experiment):
    """``python -m experiments.lm``: see the module docstring."""

    name = "lm"
    Config = configs.Config
    presets = configs.PRESETS
    preset_help = "Default: builtin on the built-in corpus, small otherwise."
    default_train_dir = "runs/lm"
    monitor, mode, throughput_unit = "perplexity", "min", "tokens"

    def default_preset(self, overrides):
        return configs.default_preset(overrides)

    def validate(self, config):
        if config.use_peepholes and config.cell != "lstm":
            raise runs.UsageError(f"--use_peepholes: only applies to --cell=lstm, got "
                                  f"--cell={config.cell}.")
        if config.data_dir and config.text_file:
            raise runs.UsageError(f"--data_dir and --text_file: expected one data source, got "
                                  f"--data_dir={config.data_dir!r} and "
                                  f"--text_file={config.text_file!r}")
        return config

    def load_data(self, config):
        return load_data(config)

    def fingerprint(self, config, data):
        return fingerprint(data.corpus)

    def build(self, config, data):
        model = build_model(config, len(data.corpus.vocab))
        return model, keras.optimizers.SGD(learning_rate=configs.base_learning_rate(config))

    def start(self, run):
        corpus = run.data.corpus
        run.write_text("vocab.txt", "".join(token + "\n" for token in corpus.vocab.tokens))
        print(f"corpus {corpus.name}: vocab {len(corpus.vocab)}, train/valid/test tokens "
              f"{len(corpus.train)}/{len(corpus.valid)}/{len(corpus.test)}", flush=True)
        run.train_step = make_train_step(run.model, run.optimizer, run.strategy, run.config)
        run.eval_step = make_eval_step(run.model)

    def learning_rate(self, config, epoch):
        return learning_rate(config, epoch)

    def train_epoch(self, run, epoch):
        config, model = run.config, run.model
        rows = config.batch_size // run.replicas
        states = run.per_replica(lambda i, n: model.initial_state(rows))
        progress = run.progress(text_data.num_windows(run.data.train, config.num_steps))
        total, count = 0.0, 0
        for index, (x, y) in enumerate(text_data.iterate_bptt(run.data.train, config.num_steps)):
            xs = run.per_replica(lambda i, n, x=x: tf.constant(
                distribute.rows_of_replica(x, i, n), tf.int32))
            ys = run.per_replica(lambda i, n, y=y: tf.constant(
                distribute.rows_of_replica(y, i, n), tf.int32))
            loss, states = run.train_step(xs, ys, states)
            loss = run.check_finite(loss, f"{epoch}.{index}")
            total += loss * y.size
            count += y.size
            progress.update(index + 1, perplexity=perplexity(total, count))
        return {"loss": total / count, "perplexity": perplexity(total, count), "tokens": count}

    def evaluate(self, run, split):
        ppl, total, count = evaluate(run.model, run.data.corpus.split(split),
                                     run.config.eval_batch_size, run.config.num_steps,
                                     run.eval_step)
        return {"loss": total / count, "perplexity": ppl}

    def finish(self, run, results):
        config, corpus, model = run.config, run.data.corpus, run.model
        speed = results.get("tokens_per_second")
        out = {"corpus": corpus.name,
               "train_flops_per_second": (3 * model.count_params_flops_per_token() * speed
                                          if speed else None)}
        # A uniform guess over the vocabulary scores exactly its size; a model
        # worse than that has diverged, whatever its loss being finite says.
        out["uniform_perplexity"] = len(corpus.vocab)
        out["diverged"] = results["test_perplexity"] > len(corpus.vocab)
        if out["diverged"]:
            print(f"warning: test perplexity {results['test_perplexity']:,.4g} is worse than "
                  f"a uniform guess over the vocabulary ({len(corpus.vocab):,}): training "
                  f"diverged. Try a lower --learning_rate (this run started at "
                  f"{configs.base_learning_rate(config):g}).", flush=True)
        floor = floor_perplexity(corpus, "test", config.eval_batch_size)
        if floor is not None:
            out["floor_perplexity"] = floor
            out["test_over_floor"] = results["test_perplexity"] / floor
        if config.sample_tokens > 0:
            prompt = config.prompt.split() if config.level == "word" else list(config.prompt)
            tokens = sample(model, corpus.vocab, prompt, config.sample_tokens,
                            temperature=config.temperature, seed=config.seed)
            out["sample"] = text_data.detokenize(prompt + tokens, config.level)
            print(f"sample: {out['sample']}", flush=True)
        if run.is_chief and config.export_dir:
            from seqkit.export import language_model as lm_export

            lm_export.export_language_model(model, corpus.vocab, config.export_dir,
                                            level=config.level)
            out["export_dir"] = config.export_dir
        return out


EXPERIMENT = LanguageModelExperiment()


def train_and_evaluate(config, train_dir):
    """``runs.run(EXPERIMENT, config, train_dir)``: train, evaluate, return the results."""
    return runs.run(EXPERIMENT, config, train_dir)


"""Intent recognition (and slot filling) on the run harness: model, data, steps, metrics.

The harness (``seqkit.runs``) owns flags, the train dir, resume, checkpoints, the best
epoch and results; this module supplies:

* data: the built-in generated corpus (``seqkit.data.intents``, with its exact
  ceiling), an SLU folder (``--data_dir``) or a CSV table (``--csv``), tokenized,
  lowercased (``--lowercase``), mapped to ids (``<pad>`` = 0, ``<unk>`` = 1); with
  ``--char_features`` also each word's character ids (``classifier.encode_chars``);
* the model (``seqkit.classifier.build_classifier``) and a distributed Adam step on
  the summed intent + slot cross-entropy;
* metrics: accuracy, macro-F1, slot span F1 (conlleval), exact match; the validation
  ``score`` that picks the best epoch is the accuracy (task intent), the slot F1
  (slots) or their mean (joint);
* ``finish``: the per-intent table, confusion matrix, unseen test labels, the
  majority and bag-of-words baselines, the plot, the SavedModel (always
  ``<train_dir>/saved_model``, which ``--predict`` reads; also ``--export_dir``).

Example:
    >>> from experiments.classify import configs, train           # doctest: +SKIP
    >>> results = runs.run(train.EXPERIMENT, configs.PRESETS["test"], "/tmp/c")  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from experiments.classify import configs
from seqkit import classifier, distribute, metrics, runs
from seqkit.data import intents as intent_corpus
from seqkit.data import slu, tokenize
from seqkit.data.text import Vocabulary

SAVED_MODEL = runs.SAVED_MODEL  # <train_dir>/saved_model: what --predict runs
PLOT_FILE = "confusion_matrix.png"


@dataclasses.dataclass
class Data:
    """The loaded data set, its vocabularies and the id-encoded splits."""

    source: slu.UtteranceData
    task: str
    lowercase: bool
    words: Vocabulary
    intents: list
    tags: list | None
    ids: dict            # split -> list of int32 arrays (word ids)
    intent_ids: dict     # split -> int32 array (-1: a label unseen in training)
    tag_ids: dict        # split -> list of int32 arrays, or None
    chars: Vocabulary | None = None   # --char_features: the character vocabulary
    char_ids: dict | None = None      # split -> list of [words, MAX_WORD_CHARS] arrays

    def tokens(self, split):
        tokens = self.source.split(split).tokens
        return [[t.lower() for t in ts] for ts in tokens] if self.lowercase else tokens


def _source(config) -> slu.UtteranceData:
    if config.data_dir and config.csv:
        raise runs.UsageError(f"--data_dir and --csv: expected one data source, got "
                              f"--data_dir={config.data_dir!r} and --csv={config.csv!r}")
    try:
        if config.data_dir:
            return slu.load_slu_dir(config.data_dir)
        if config.csv:
            return slu.load_csv(config.csv, config.text_column, config.label_column,
                                config.split_column or None, seed=config.seed)
    except slu.DataError as error:
        flag = "--data_dir" if config.data_dir else "--csv"
        raise runs.UsageError(f"{flag}: {error}") from None
    size = config.corpus_size
    corpus = intent_corpus.generate_intent_corpus(
        {"train": size, "valid": max(size // 4, 1), "test": max(size // 4, 1)},
        noise_rate=config.noise_rate, seed=config.seed)
    return slu.from_intent_corpus(corpus)


def load_data(config) -> Data:
    """Reads and encodes the data; every data error is raised here (UsageError)."""
    source = _source(config)
    task = config.task
    if task == "auto":
        task = "joint" if source.has_slots else "intent"
    elif task != "intent" and not source.has_slots:
        raise runs.UsageError(f"--task={task}: the data has no slot tags (seq.out files); "
                              "expected --task=intent or auto")
    lowercase = config.lowercase
    data = Data(source=source, task=task, lowercase=lowercase, words=None, intents=None,
                tags=None, ids={}, intent_ids={}, tag_ids={})
    data.words = tokenize.build_vocabulary(data.tokens("train"), min_count=config.min_count)
    data.intents = sorted(set(source.train.labels))
    intent_index = {label: i for i, label in enumerate(data.intents)}
    if task != "intent":
        data.tags = classifier.tag_vocabulary(source.train.tags)
        tag_index = {tag: i for i, tag in enumerate(data.tags)}
    if config.char_features:
        data.chars = classifier.char_vocabulary(data.tokens("train"))
        data.char_ids = {}
    for split in slu.SPLITS:
        part = source.split(split)
        data.ids[split] = tokenize.encode_batch(data.words, data.tokens(split))
        if data.chars is not None:
            data.char_ids[split] = classifier.encode_chars(data.chars, data.tokens(split))
        data.intent_ids[split] = np.array([intent_index.get(label, -1)
                                           for label in part.labels], np.int32)
        # Tags never seen in training read as "O" for the loss; metrics use the strings.
        data.tag_ids[split] = None if task == "intent" else [
            np.array([tag_index.get(tag, 1) for tag in tags], np.int32) for tags in part.tags]
    return data


def fingerprint(config, data) -> dict:
    source = data.source
    out = {"name": source.name, "task": data.task, "lowercase": data.lowercase,
           "vocabulary_sha256": tokenize.vocabulary_hash(data.words),
           "vocabulary_size": len(data.words), "intents": data.intents, "tags": data.tags,
           "sizes": {split: len(source.split(split)) for split in slu.SPLITS}}
    if data.chars is not None:
        out["char_vocabulary_sha256"] = tokenize.vocabulary_hash(data.chars)
    if source.files:
        out["files"] = [runs.file_digest(path) for path in source.files]
    else:
        out["generator"] = {"corpus_size": config.corpus_size, "noise_rate": config.noise_rate,
                            "seed": config.seed}
    return out


def _bucket(length: int) -> int:
    """Batches are padded to a multiple of 8 words: few distinct shapes, few retraces."""
    return max(8, -(-length // 8) * 8)


def make_train_step(model, optimizer, strategy, config, task):
    """A compiled distributed step over per-replica (ids, intents, tags) with the global
    batch's utterance and word counts as the loss denominators."""

    def replica_step(x, y, z, num_examples, num_words):
        with tf.GradientTape() as tape:
            outputs = runs.float32(model(list(x) if isinstance(x, tuple) else x, training=True))
            loss, intent_loss, slot_loss = classifier.classifier_loss(
                outputs, y, z, task, num_examples=num_examples, num_words=num_words)
        variables = model.trainable_variables
        distribute.apply_clipped_gradients(optimizer, tape.gradient(loss, variables),
                                           variables, config.max_grad_norm)
        return loss, intent_loss, slot_loss

    @tf.function(reduce_retracing=True)
    def step(x, y, z, num_examples, num_words):
        per_replica = strategy.run(replica_step, args=(x, y, z, num_examples, num_words))
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for value in per_replica]

    return step


def predict_split(run_or_model, data, split, slot_decoding="bio"):
    """(intent strings, their probabilities, tag string lists or None) on ``split``."""
    model = getattr(run_or_model, "model", run_or_model)
    ids = tokenize.pad_batch(data.ids[split])
    transitions = (classifier.bio_transitions(data.tags)
                   if data.tags and slot_decoding == "bio" else None)
    chars = data.char_ids[split] if data.chars is not None else None
    probabilities, tag_ids = classifier.predict_ids(model, ids, transitions=transitions,
                                                    chars=chars)
    best = probabilities.argmax(-1)
    intents = [data.intents[i] for i in best]
    tags = None
    if data.task != "intent":
        tags = [[data.tags[i] for i in row[:len(words)]]
                for row, words in zip(tag_ids, data.ids[split])]
    return intents, probabilities.max(-1), tags


def split_metrics(data, split, intents, tags) -> dict:
    part = data.source.split(split)
    out = {"accuracy": metrics.accuracy(part.labels, intents),
           "macro_f1": metrics.macro_f1(part.labels, intents)}
    if data.task == "intent":
        out["score"] = out["accuracy"]
        return out
    slots = metrics.slot_scores(part.tags, tags)
    out.update(slot_precision=slots["precision"], slot_recall=slots["recall"],
               slot_f1=slots["f1"])
    if data.task == "joint":
        out["exact_match"] = metrics.exact_match(part.labels, intents, part.tags, tags)
        out["score"] = (out["accuracy"] + out["slot_f1"]) / 2
    else:
        out["score"] = out["slot_f1"]
    return out


def export(model, data, path, slot_decoding):
    from seqkit.export import classifier as classifier_export

    return classifier_export.export_classifier(model, path, data.words, data.intents, data.tags,
                                               tokenizer=data.source.tokenizer,
                                               lowercase=data.lowercase,
                                               slot_decoding=slot_decoding, chars=data.chars)


class ClassifyExperiment(runs.Experiment):
    """``python -m experiments.classify``: see experiments/classify/__main__.py."""

    name = "classify"
    Config = configs.Config
    presets = configs.PRESETS
    default_train_dir = "runs/classify"
    monitor, mode, throughput_unit = "score", "max", "utterances"

    def validate(self, config):
        if config.predict:
            raise runs.UsageError("--predict: classifies with a finished --train_dir and "
                                  "cannot be combined with training here")
        if config.csv == "" and (config.split_column or config.text_column != "text"
                                 or config.label_column != "label"):
            raise runs.UsageError("--text_column, --label_column, --split_column: expected "
                                  "only with --csv")
        return config

    def load_data(self, config):
        return load_data(config)

    def fingerprint(self, config, data):
        return fingerprint(config, data)

    def build(self, config, data):
        model = classifier.build_classifier(
            len(data.words), len(data.intents), len(data.tags) if data.tags else None,
            task=data.task, cell=config.cell, units=config.units, num_layers=config.num_layers,
            bidirectional=config.bidirectional, embedding_dim=config.embedding_dim,
            dropout=config.dropout, recurrent_dropout=config.recurrent_dropout,
            pooling=config.pooling, seed=config.seed,
            num_chars=len(data.chars) if data.chars is not None else None,
            char_embedding_dim=config.char_embedding_dim, char_filters=config.char_filters)
        return model, keras.optimizers.Adam(learning_rate=config.learning_rate)

    def start(self, run):
        data = run.data
        run.write_text("vocab.txt", "".join(t + "\n" for t in data.words.tokens))
        run.write_text("intents.txt", "".join(t + "\n" for t in data.intents))
        if data.tags:
            run.write_text("tags.txt", "".join(t + "\n" for t in data.tags))
        sizes = "/".join(str(len(data.source.split(s))) for s in slu.SPLITS)
        print(f"data {data.source.name}: {sizes} utterances, {len(data.intents)} intents, "
              f"vocabulary {len(data.words)}"
              + (f", {len(data.tags) - 1} slot tags" if data.tags else "")
              + f"; task {data.task}", flush=True)
        run.train_step = make_train_step(run.model, run.optimizer, run.strategy, run.config,
                                         data.task)

    def train_epoch(self, run, epoch):
        config, data = run.config, run.data
        ids, intents = data.ids["train"], data.intent_ids["train"]
        tag_ids = data.tag_ids["train"]
        count = len(ids)
        batch_size = min(config.batch_size, count)
        # One permutation per (seed, epoch): a resumed run sees the same batches.
        order = np.random.default_rng([config.seed, epoch]).permutation(count)
        steps = count // batch_size
        progress = run.progress(steps)
        totals = np.zeros(3)
        seen = 0
        for index in range(steps):
            rows = order[index * batch_size:(index + 1) * batch_size]
            words = [ids[i] for i in rows]
            if config.max_length:
                words = [w[:config.max_length] for w in words]
            length = _bucket(max(len(w) for w in words))
            x = tokenize.pad_batch(words, length)
            if config.word_dropout:
                drop = np.random.default_rng([config.seed, epoch, index]).random(x.shape)
                x = np.where((x > 0) & (drop < config.word_dropout), 1, x).astype(np.int32)
            y = intents[rows]
            z = (tokenize.pad_batch([tag_ids[i][:len(w)] for i, w in zip(rows, words)], length)
                 if tag_ids is not None else np.zeros_like(x))
            num_words = tf.constant(max(int((x > 0).sum()), 1), tf.float32)
            num_examples = tf.constant(len(rows), tf.float32)
            shard = lambda array: run.per_replica(  # noqa: E731
                lambda i, n, a=array: tf.constant(distribute.rows_of_replica(a, i, n)))
            inputs = shard(x)
            if data.chars is not None:
                inputs = (inputs, shard(classifier.pad_chars(
                    [data.char_ids["train"][i][:len(w)] for i, w in zip(rows, words)],
                    length)))
            losses = run.train_step(inputs, shard(y), shard(z), num_examples, num_words)
            loss = run.check_finite(losses[0], f"{epoch}.{index}")
            totals += [loss, float(losses[1]), float(losses[2])]
            seen += len(rows)
            progress.update(index + 1, loss=totals[0] / (index + 1))
        out = {"loss": totals[0] / steps, "intent_loss": totals[1] / steps,
               "utterances": seen}
        if data.task != "intent":
            out["slot_loss"] = totals[2] / steps
        return out

    def evaluate(self, run, split):
        intents, _, tags = predict_split(run, run.data, split, run.config.slot_decoding)
        return split_metrics(run.data, split, intents, tags)

    def finish(self, run, results):
        config, data, source = run.config, run.data, run.data.source
        test = source.test
        intents, _, _ = predict_split(run, data, "test", config.slot_decoding)
        out = {"task": data.task, "data": source.name}
        labels = metrics.class_labels(test.labels, intents)
        out["test_per_intent"] = metrics.per_class_scores(test.labels, intents)
        out["test_confusion_matrix"] = {
            "labels": labels,
            "counts": metrics.confusion_matrix(test.labels, intents, labels).tolist()}
        out["unseen_test_labels"] = slu.unseen_labels(source.train.labels, test.labels)
        majority = classifier.majority_baseline(source.train.labels)
        out["majority_intent"] = majority
        out["majority_accuracy"] = metrics.accuracy(test.labels, [majority] * len(test))
        bow = classifier.BagOfWordsClassifier(data.words.tokens[2:], data.intents,
                                              seed=config.seed)
        bow.fit(data.tokens("train"), source.train.labels, data.tokens("valid"),
                source.valid.labels, epochs=config.bow_epochs)
        bow_intents = bow.predict(data.tokens("test"))
        out["bag_of_words_accuracy"] = metrics.accuracy(test.labels, bow_intents)
        out["bag_of_words_macro_f1"] = metrics.macro_f1(test.labels, bow_intents)
        if source.ceiling:
            out["ceiling"] = source.ceiling["test"]
            out["expected_ceiling"] = source.info["expected_ceiling"]
            out["bag_of_words_expected_ceiling"] = intent_corpus.bag_of_words_expected_ceiling(
                source.info["noise_rate"])
            out["test_accuracy_below_ceiling"] = out["ceiling"] - results["test_accuracy"]
        if run.is_chief:
            if config.plot:
                out["plot"] = metrics.plot_confusion_matrix(
                    np.array(out["test_confusion_matrix"]["counts"]), labels,
                    run.path(PLOT_FILE))
            export(run.model, data, run.path(SAVED_MODEL), config.slot_decoding)
            if config.export_dir:
                out["export_dir"] = export(run.model, data, config.export_dir,
                                           config.slot_decoding)
        return out

    def report(self, results):
        lines = []
        if "test_per_intent" in results:
            lines.append(metrics.format_class_table(results["test_per_intent"]))
        unseen = results.get("unseen_test_labels")
        if unseen:
            lines.append(f"test labels never seen in training (counted as errors): {unseen}")
        line = f"test accuracy {results.get('test_accuracy', 0):.4f}"
        if results.get("ceiling") is not None:
            line += f" (ceiling {results['ceiling']:.4f}, the best any model can reach)"
        line += (f"; macro-F1 {results.get('test_macro_f1', 0):.4f}; baselines: majority "
                 f"{results.get('majority_accuracy', 0):.4f}, bag of words "
                 f"{results.get('bag_of_words_accuracy', 0):.4f}")
        lines.append(line)
        if "test_slot_f1" in results:
            lines.append(f"slots: span F1 {results['test_slot_f1']:.4f} (P "
                         f"{results['test_slot_precision']:.4f}, R "
                         f"{results['test_slot_recall']:.4f})"
                         + (f"; exact match {results['test_exact_match']:.4f}"
                            if "test_exact_match" in results else ""))
        return "\n".join(lines)

    action = "predict"  # --predict=... uses a finished --train_dir (seqkit.runs.main)

    def act(self, train_dir, inputs, overrides):
        predictions = predict(train_dir, inputs)
        lines = []
        for p in predictions:
            slots = ", ".join(f"{s['type']}={s['text']!r}" for s in p["slots"])
            lines.append(f"{p['utterance']!r} -> {p['intent']} (p={p['probability']:.3f})"
                         + (f"  slots: {slots}" if slots else ""))
        return lines, predictions


EXPERIMENT = ClassifyExperiment()


# --------------------------------------------------------------------------- --predict


def predict(train_dir: str, utterances: list[str]) -> list[dict]:
    """Runs ``<train_dir>/saved_model`` on ``utterances``: one dict each with the intent,
    its probability, the words and their slot tags, and the slot spans."""
    served = runs.load_saved_model(train_dir, "classify")
    out = served.signatures["serving_default"](utterances=tf.constant(utterances))
    results = []
    for row, text in enumerate(utterances):
        n = int(out["num_tokens"][row])
        words = [w.decode("utf-8") for w in out["tokens"].numpy()[row, :n]]
        tags = [t.decode("utf-8") for t in out["tags"].numpy()[row, :n]]
        slots = [{"type": kind, "text": " ".join(words[a:b + 1])}
                 for kind, a, b in metrics.spans(tags)]
        results.append({"utterance": text, "intent": out["intent"].numpy()[row].decode("utf-8"),
                        "probability": float(out["probability"][row]), "words": words,
                        "tags": tags, "slots": slots})
    return results

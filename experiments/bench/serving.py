"""Serving throughput of the exported intent classifier and translator (issues 13, 14).

Each model is built exactly as its experiment builds it, at its ``default``
preset's size on its built-in generated corpus (no download), exported with the
experiment's own export code into a temporary folder, loaded back with
``tf.saved_model.load`` in the same process, and timed beside a same-process
reference that does the same work in Python with the in-process Keras model.
All timings are interleaved (``experiments.bench.common.interleaved_times``);
medians are reported, as items per second = batch / median seconds per call.

* ``intent``: ``python -m experiments.classify`` preset ``default`` (a 1x64
  LSTM over the generated intent corpus, joint intent + slots, BIO slot
  decoding). The weights are the untrained initial ones: the classifier's
  work does not depend on their values. Batches of 1 and 64 test utterances
  (raw text, the test split's tokens joined by spaces):
  - ``saved_model``: ``loaded.signatures["serving_default"](utterances=...)``,
    tokenization, lookup, model and slot decoding in the graph;
  - ``keras``: the same steps in Python, as ``experiments.classify`` predicts:
    ``word_tokenize`` + vocabulary lookup + ``seqkit.classifier.predict_ids``
    (an eager Keras call and the same Viterbi decoding);
  - ``keras_predict``: only ``model.predict`` (Keras's compiled predict loop) on
    the already tokenized and padded ids, no slot decoding: a lower bound on the
    in-process cost of the model itself.
* ``translation``: ``python -m experiments.translate`` preset ``default`` (1x128
  GRU encoder and decoder, Luong attention) on the built-in pair. How long a
  translation is decoded depends on when ``<eos>`` comes, so the model is
  first trained briefly (``TRAIN_EPOCHS`` epochs; the mean output length and
  the share of outputs that reached ``<eos>`` are reported beside the
  figures). Batches of 64 test sentences, greedy and beam 5:
  - ``saved_model``: ``loaded.signatures["translate"]`` (the default decoding,
    greedy) and ``loaded.signatures["translate_beam"]`` with ``beam_size`` 5;
  - ``keras``: ``seqkit.seq2seq.Translator.translate`` (Python normalization,
    tokenization and lookup; the model's compiled ``greedy_decode`` /
    ``beam_search``).

The ratio ``saved_model / keras`` > 1 means the export serves faster than the
in-process Python path. ``--quick`` uses the experiments' ``test`` presets:
seconds, a smoke run, not a measurement.

    python -m experiments.bench --suite=serving
"""

import os
import platform
import shutil
import tempfile
import time

import numpy as np

from experiments.bench import common

# Intent: the batch sizes served; translation: one batch size, beam search width.
INTENT_BATCHES = (1, 64)
TRANSLATE_BATCH = 64
BEAM_SIZE = 5
TRAIN_EPOCHS = 2           # translation: enough for most outputs to end with <eos>


def _config(module, preset, **overrides):
    import dataclasses

    return dataclasses.replace(module.PRESETS[preset], **overrides)


def _take(items, count):
    """``count`` items, cycling through ``items`` if there are fewer."""
    return [items[i % len(items)] for i in range(count)]


def intent_rows(repeats, quick, seed, folder):
    import keras
    import tensorflow as tf

    from experiments.classify import configs, train
    from seqkit import classifier
    from seqkit.data import tokenize

    preset = "test" if quick else "default"
    config = _config(configs, preset, seed=seed)
    keras.utils.set_random_seed(seed)
    data = train.load_data(config)
    model, _ = train.ClassifyExperiment().build(config, data)
    path = os.path.join(folder, "classifier")
    start = time.perf_counter()
    train.export(model, data, path, config.slot_decoding)
    export_seconds = time.perf_counter() - start
    start = time.perf_counter()
    served = tf.saved_model.load(path).signatures["serving_default"]
    load_seconds = time.perf_counter() - start
    transitions = (classifier.bio_transitions(data.tags)
                   if data.tags and config.slot_decoding == "bio" else None)
    texts = [" ".join(tokens) for tokens in data.source.test.tokens]

    def in_process(batch):
        tokens = [tokenize.word_tokenize(text, lowercase=data.lowercase) for text in batch]
        ids = tokenize.pad_batch(tokenize.encode_batch(data.words, tokens))
        return classifier.predict_ids(model, ids, transitions=transitions)

    rows = []
    for size in INTENT_BATCHES:
        batch = _take(texts, size)
        strings = tf.constant(batch)
        # The ids predict_ids would feed (with its extra padding column), for model.predict.
        padded = np.concatenate([tokenize.pad_batch(tokenize.encode_batch(
            data.words, [tokenize.word_tokenize(t, lowercase=data.lowercase) for t in batch])),
            np.zeros((size, 1), np.int32)], axis=1)
        # Every path returns NumPy results: the time covers the copy to the host too.
        times = common.interleaved_times({
            "saved_model": lambda: served(utterances=strings)["intent"].numpy(),
            "keras": lambda: in_process(batch),
            "keras_predict": lambda: model.predict(padded, batch_size=size, verbose=0),
        }, repeats=repeats)
        served_intents = [i.decode("utf-8") for i in served(utterances=strings)["intent"].numpy()]
        intents = [data.intents[i] for i in in_process(batch)[0].argmax(-1)]
        rows.append(_row("intent", f"classify preset {preset}: {config.cell} "
                         f"{config.num_layers}x{config.units}, task {data.task}, "
                         f"untrained", "utterances", size, times, repeats,
                         export_seconds=export_seconds, load_seconds=load_seconds,
                         vocabulary=len(data.words),
                         same_as_in_process=sum(a == b for a, b in zip(served_intents, intents))
                         / size))
    return rows


def translation_rows(repeats, quick, seed, folder):
    import keras
    import tensorflow as tf

    from experiments.translate import configs, train
    from seqkit.data import translation
    from seqkit.export.translator import export_translator

    preset = "test" if quick else "default"
    config = _config(configs, preset, seed=seed)
    keras.utils.set_random_seed(seed)
    data = train.load_data(config)
    model = train.build_model(config, data)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
    step = train.make_train_step(model, optimizer, config.max_grad_norm)
    epochs = 0 if quick else TRAIN_EPOCHS  # quick: a smoke run, no training
    start = time.perf_counter()
    for epoch in range(epochs):
        for batch in translation.batches(data.splits["train"], config.batch_size, shuffle=True,
                                         seed=seed * 1000 + epoch, bos_id=data.bos_id,
                                         eos_id=data.eos_id):
            step(batch.source, batch.target_inputs, batch.target_outputs)
    train_seconds = time.perf_counter() - start
    translator = train.make_translator(config, data, model)
    path = os.path.join(folder, "translator")
    start = time.perf_counter()
    export_translator(translator, path)
    export_seconds = time.perf_counter() - start
    start = time.perf_counter()
    loaded = tf.saved_model.load(path)
    load_seconds = time.perf_counter() - start
    greedy, beam = loaded.signatures["translate"], loaded.signatures["translate_beam"]

    batch = _take(data.splits["test"].source_texts, TRANSLATE_BATCH)
    strings = tf.constant(batch)
    rows = []
    for beam_size in (1, BEAM_SIZE):
        if beam_size == 1:
            def serve():
                return greedy(source=strings)["translation"].numpy()
        else:
            def serve(k=tf.constant(beam_size)):
                return beam(source=strings, beam_size=k)["translation"].numpy()
        times = common.interleaved_times({
            "saved_model": serve,
            "keras": lambda k=beam_size: translator.translate(batch, beam_size=k),
        }, repeats=repeats, warmup=1 if quick else 2)
        # The decoded lengths that the time covers (the loop stops when every row is done).
        outputs, details = translator.translate(batch, beam_size=beam_size,
                                                return_details=True)
        served_outputs = [t.decode("utf-8") for t in serve()]
        decoding = "greedy" if beam_size == 1 else f"beam {beam_size}"
        rows.append(_row(
            "translation", f"translate preset {preset}: {config.cell} "
            f"{config.num_layers}x{config.units}, attention {config.attention}, "
            f"{epochs} epoch(s) trained", "sentences", TRANSLATE_BATCH, times, repeats,
            decoding=decoding, beam_size=beam_size, export_seconds=export_seconds,
            load_seconds=load_seconds, train_seconds=round(train_seconds, 1),
            max_decode_length=config.max_decode_length,
            mean_output_tokens=round(float(np.mean([len(t.split()) for t in outputs])), 2),
            reached_eos=round(float(np.mean(details["reached_eos"])), 3),
            same_as_in_process=sum(a == b for a, b in zip(served_outputs, outputs)) / len(batch)))
    return rows


def _row(task, model, unit, batch, times, repeats, **extra):
    import tensorflow as tf

    per_second = {name: batch / common.median(t) for name, t in times.items()}
    row = {"task": task, "model": model, "unit": unit, "batch": batch, "repeats": repeats,
           **{f"{unit}_per_s_{name}": round(value, 1) for name, value in per_second.items()},
           **{f"saved_model_over_{name}": round(per_second["saved_model"] / value, 2)
              for name, value in per_second.items() if name != "saved_model"},
           "tensorflow": tf.__version__, "cpus": os.cpu_count(),
           "machine": platform.machine()}
    for key, value in extra.items():
        row[key] = round(value, 2) if isinstance(value, float) else value
    return row


def run(repeats=10, quick=False, seed=0):
    """Rows: intent at batch 1 and 64, translation greedy and beam 5 at batch 64."""
    folder = tempfile.mkdtemp(prefix="bench-serving-")
    try:
        return (intent_rows(repeats, quick, seed, folder)
                + translation_rows(repeats, quick, seed, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def format_table(rows):
    lines = [f"{'task':<12} {'decoding':<8} {'batch':>5} | {'saved_model/s':>13} "
             f"{'keras/s':>10} {'ratio':>6} | notes"]
    for r in rows:
        unit = r["unit"]
        if r["task"] == "translation":
            notes = (f"{r['mean_output_tokens']} tokens/output, reached <eos> "
                     f"{100 * r['reached_eos']:.0f}%, export = in-process on "
                     f"{100 * r['same_as_in_process']:.0f}%")
        else:
            notes = (f"model.predict alone {r['utterances_per_s_keras_predict']:.1f}/s "
                     f"({r['saved_model_over_keras_predict']:.2f}x), export = in-process "
                     f"intent on {100 * r['same_as_in_process']:.0f}%")
        lines.append(
            f"{r['task']:<12} {r.get('decoding', ''):<8} {r['batch']:>5} | "
            f"{r[f'{unit}_per_s_saved_model']:13.1f} {r[f'{unit}_per_s_keras']:10.1f} "
            f"{r['saved_model_over_keras']:5.2f}x | {notes}")
    models = dict.fromkeys(f"  {r['task']}: {r['model']}; export {r['export_seconds']:.1f} s, "
                           f"load {r['load_seconds']:.1f} s" for r in rows)
    return "\n".join(lines + list(models))

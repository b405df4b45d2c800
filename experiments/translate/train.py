"""The translation experiment on the ``seqkit.runs`` harness: model, data, steps, metrics.

* Data: ``seqkit.data.translation`` (the generated pair, ``--data_dir``,
  ``--pairs_file``); batches of similar source lengths, shuffled per epoch.
* Model: ``seqkit.seq2seq.Seq2Seq``, teacher-forced: the loss is the
  cross-entropy of every target token (``y_1 .. y_T <eos>``) averaged over the
  batch's target tokens; Adam, gradients clipped to global norm ``max_grad_norm``.
* Validation (every epoch): perplexity, and BLEU of **greedy** translations,
  which picks the best epoch. Test (best weights): perplexity and BLEU / chrF
  (sacreBLEU; its signature is printed) of the run's default decoding
  (``--beam_size``), exact-match accuracy, the share of outputs that reached
  ``<eos>``, decoding sentences/s. ``finish`` adds the copy-the-source BLEU
  baseline, greedy test BLEU when the default is beam search, a table of test
  translations, the attention plot and the SavedModel export
  (``<train_dir>/saved_model``, which ``--translate`` reads; also ``--export_dir``).

Everything else (flags, train dir, resume, checkpoints, logs, errors, results) is
``seqkit.runs``'s.

Example:
    >>> from experiments.translate import configs, train
    >>> results = runs.run(train.EXPERIMENT, configs.PRESETS["test"], "/tmp/tr")  # doctest: +SKIP
    >>> sorted(k for k in results if k.startswith("test_"))[:3]                  # doctest: +SKIP
    ['test_bleu', 'test_chrf', 'test_eos_rate']
"""
import os
import time

import keras
import numpy as np
import tensorflow as tf

from experiments.translate import configs
from seqkit import distribute, runs
from seqkit.data import tokenize as tokenize_lib
from seqkit.data import translation
from seqkit.seq2seq import Seq2Seq, Translator, masked_loss, target_token_counts

SAVED_MODEL = runs.SAVED_MODEL  # <train_dir>/saved_model: what --translate runs
EVAL_BATCH_SIZE = 128
PLOT_FILE = "attention.png"
INSTALL = 'pip install -e ".[translate]"'


def require_sacrebleu():
    """sacrebleu, or a one-line UsageError saying how to install it."""
    try:
        import sacrebleu
    except ImportError:
        raise runs.UsageError(f"python -m experiments.translate needs sacrebleu for BLEU and "
                              f"chrF: {INSTALL}") from None
    return sacrebleu


def load_data(config):
    return translation.load_translation_data(
        data_dir=config.data_dir or None, source_language=config.source_language or None,
        target_language=config.target_language or None, pairs_file=config.pairs_file or None,
        source_column=config.source_column, target_column=config.target_column,
        tokenize_kind=config.tokenize, lowercase=config.lowercase,
        max_length=config.max_length or None, min_count=config.min_count,
        max_vocab_size=config.max_vocab_size or None, num_generated=config.num_generated,
        seed=config.seed)


def build_model(config, data):
    model = Seq2Seq(
        len(data.source_vocab), len(data.target_vocab), bos_id=data.bos_id,
        eos_id=data.eos_id, cell=config.cell, units=config.units,
        num_layers=config.num_layers, embedding_dim=config.embedding_dim or None,
        bidirectional=config.bidirectional, attention=config.attention,
        reverse_source=config.reverse_source, dropout=config.dropout,
        tie_embeddings=config.tie_embeddings, seed=config.seed, name="seq2seq")
    model.build()
    model.initialize_output_bias(target_token_counts(
        data.splits["train"].target_ids, len(data.target_vocab), data.eos_id))
    return model


def make_translator(config, data, model):
    return Translator(model, data.source_vocab, data.target_vocab, tokenize=config.tokenize,
                      lowercase=config.lowercase, max_decode_length=config.max_decode_length,
                      beam_size=config.beam_size, alpha=config.length_alpha,
                      source_language=data.source_language,
                      target_language=data.target_language)


def make_train_step(model, optimizer, max_grad_norm):
    ids = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[ids, ids, ids])
    def step(source, target_inputs, target_outputs):
        with tf.GradientTape() as tape:
            logits = runs.float32(model((source, target_inputs), training=True))
            loss_sum, count = masked_loss(logits, target_outputs)
            loss = loss_sum / count  # mean over the batch's target tokens
        variables = model.trainable_variables
        distribute.apply_clipped_gradients(optimizer, tape.gradient(loss, variables),
                                           variables, max_grad_norm)
        return loss_sum, count

    return step


def make_eval_step(model):
    ids = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[ids, ids, ids])
    def step(source, target_inputs, target_outputs):
        return masked_loss(runs.float32(model((source, target_inputs), training=False)),
                           target_outputs)

    return step


def translate_split(translator, split, beam_size=None, batch_size=EVAL_BATCH_SIZE):
    """(translations, reached_eos, attention per sentence, seconds) of every source of ``split``.

    Sentences are decoded in batches of similar lengths (``translation.batches``);
    the attention matrices [target, source] are kept for the plot (empty without).
    """
    count = len(split)
    hypotheses, reached, attention = [None] * count, np.zeros(count, bool), [None] * count
    start = time.perf_counter()
    for batch in translation.batches(split, batch_size, shuffle=False):
        out = translator.decode_ids(batch.source, beam_size)
        for row, index in enumerate(batch.indices):
            hypotheses[index] = translator.to_text(out["tokens"][row])
            reached[index] = out["reached_eos"][row]
            if "attention" in out:
                attention[index] = out["attention"][row]
    return hypotheses, reached, attention, time.perf_counter() - start


def corpus_scores(hypotheses, references, lowercase):
    """sacreBLEU corpus BLEU and chrF (and their signatures)."""
    sacrebleu = require_sacrebleu()
    # force=True: tokenized references (Multi30k tok/) are the benchmark's convention;
    # sacreBLEU would otherwise warn that the text looks tokenized.
    bleu = sacrebleu.metrics.BLEU(lowercase=lowercase, force=True)
    chrf = sacrebleu.metrics.CHRF(lowercase=lowercase)
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    return {"bleu": bleu_score.score, "chrf": chrf_score.score,
            "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


def references(data, split):
    """Reference texts as the model writes them (detokenized tokens, lowercased if so)."""
    return [translation.detokenize(tokens, data.tokenize)
            for tokens in data.splits[split].target_tokens]


def plot_attention(path, examples):
    """A PNG of the attention (source tokens × target tokens) of each example."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(examples), figsize=(5 * len(examples), 5),
                                squeeze=False)
    for axis, (source, target, weights) in zip(axes[0], examples):
        axis.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        axis.set_xticks(range(len(source)))
        axis.set_xticklabels(source, rotation=90)
        axis.set_yticks(range(len(target)))
        axis.set_yticklabels(target)
        axis.set_xlabel("source")
        axis.set_ylabel("translation")
    figure.tight_layout()
    with tf.io.gfile.GFile(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)


class TranslateExperiment(runs.Experiment):
    """``python -m experiments.translate``: see the module docstring."""

    name = "translate"
    Config = configs.Config
    presets = configs.PRESETS
    preset_help = "Default: default on the built-in pair, data on your data."
    default_train_dir = "runs/translate"
    monitor, mode, throughput_unit = "bleu", "max", "sentences"
    tie_break = "chrf"  # BLEU-4 is 0 at every epoch on references under 4 tokens

    def default_preset(self, overrides):
        return configs.default_preset(overrides)

    def validate(self, config):
        require_sacrebleu()
        if config.translate:
            raise runs.UsageError("--translate: translates with a finished --train_dir and "
                                  "trains nothing; pass it on its own command line, e.g. "
                                  "python -m experiments.translate --train_dir=runs/translate "
                                  "--translate='kato hundo vidi'")
        if config.data_dir and config.pairs_file:
            raise runs.UsageError(f"--data_dir and --pairs_file: expected one data source, got "
                                  f"--data_dir={config.data_dir!r} and "
                                  f"--pairs_file={config.pairs_file!r}")
        if config.data_dir and not (config.source_language and config.target_language):
            raise runs.UsageError("--data_dir needs --source_language and --target_language "
                                  "(the <lang> suffixes of its files, e.g. de and en)")
        if config.pairs_file and config.source_column == config.target_column:
            raise runs.UsageError(f"--source_column and --target_column: expected two "
                                  f"different columns, got {config.source_column} for both")
        if config.strategy != "default":
            raise runs.UsageError(f"--strategy={config.strategy}: experiments.translate runs "
                                  "on one device only (--strategy=default)")
        return config

    def load_data(self, config):
        return load_data(config)

    def fingerprint(self, config, data):
        return {
            "data": data.description,
            "files": [runs.file_digest(path) for path in data.files],
            "tokenize": data.tokenize, "lowercase": data.lowercase,
            "source_vocab_sha256": tokenize_lib.vocabulary_hash(data.source_vocab),
            "target_vocab_sha256": tokenize_lib.vocabulary_hash(data.target_vocab),
            **{f"{split}_pairs": len(data.splits[split]) for split in translation.SPLITS},
        }

    def build(self, config, data):
        model = build_model(config, data)
        return model, keras.optimizers.Adam(learning_rate=config.learning_rate)

    def start(self, run):
        data, config = run.data, run.config
        sizes = "/".join(str(len(data.splits[s])) for s in translation.SPLITS)
        print(f"data {data.description}: train/valid/test pairs {sizes}, vocab "
              f"{len(data.source_vocab)} -> {len(data.target_vocab)} ({data.tokenize})",
              flush=True)
        if config.max_length:
            print(f"--max_length={config.max_length}: dropped {data.dropped['train']} "
                  f"training pair(s)", flush=True)
        run.train_step = make_train_step(run.model, run.optimizer, config.max_grad_norm)
        run.eval_step = make_eval_step(run.model)
        run.translator = make_translator(config, data, run.model)

    def train_epoch(self, run, epoch):
        data, config = run.data, run.config
        split = data.splits["train"]
        total_batches = -(-len(split) // config.batch_size)
        progress = run.progress(total_batches)
        loss_total, token_total = 0.0, 0.0
        # The epoch number seeds the shuffle: a resumed run sees the same order.
        for index, batch in enumerate(translation.batches(
                split, config.batch_size, shuffle=True, seed=config.seed * 1000 + epoch,
                bos_id=data.bos_id, eos_id=data.eos_id)):
            loss_sum, count = run.train_step(batch.source, batch.target_inputs,
                                             batch.target_outputs)
            loss_total += float(loss_sum)
            token_total += float(count)
            run.check_finite(loss_total, f"{epoch}.{index}")
            progress.update(index + 1, loss=loss_total / token_total)
        loss = loss_total / token_total
        return {"loss": loss, "perplexity": float(np.exp(min(loss, 50.0))),
                "sentences": len(split)}

    def evaluate(self, run, split_name):
        data, config = run.data, run.config
        split = data.splits[split_name]
        loss_total, token_total = 0.0, 0.0
        for batch in translation.batches(split, EVAL_BATCH_SIZE, shuffle=False,
                                         bos_id=data.bos_id, eos_id=data.eos_id):
            loss_sum, count = run.eval_step(batch.source, batch.target_inputs,
                                            batch.target_outputs)
            loss_total += float(loss_sum)
            token_total += float(count)
        # Validation (which picks the best epoch) decodes greedily; the test split
        # with the run's default decoding.
        beam = 1 if split_name == "valid" else config.beam_size
        hypotheses, reached, attention, seconds = translate_split(run.translator, split, beam)
        refs = references(data, split_name)
        scores = corpus_scores(hypotheses, refs, config.lowercase)
        if split_name == "test":
            run.test_output = {"hypotheses": hypotheses, "attention": attention,
                               "signature": scores["bleu_signature"],
                               "chrf_signature": scores["chrf_signature"]}
        loss = loss_total / token_total
        return {"loss": loss, "perplexity": float(np.exp(min(loss, 50.0))),
                "bleu": scores["bleu"], "chrf": scores["chrf"],
                "exact_match": float(np.mean([h == r for h, r in zip(hypotheses, refs)])),
                "eos_rate": float(np.mean(reached)),
                "sentences_per_second": len(split) / seconds if seconds else None}

    def finish(self, run, results):
        data, config = run.data, run.config
        test = data.splits["test"]
        refs = references(data, "test")
        output = run.test_output
        print(f"sacreBLEU: {output['signature']}  |  {output['chrf_signature']}", flush=True)
        copy = corpus_scores(test.source_texts, refs, config.lowercase)
        out = {"data": data.description, "bleu_signature": output["signature"],
               "chrf_signature": output["chrf_signature"], "copy_bleu": copy["bleu"],
               "copy_chrf": copy["chrf"], "train_pairs_dropped": data.dropped["train"],
               "decoding": "greedy" if config.beam_size == 1 else f"beam {config.beam_size}"}
        if config.beam_size > 1:
            greedy, _, _, seconds = translate_split(run.translator, test, 1)
            out["test_bleu_greedy"] = corpus_scores(greedy, refs, config.lowercase)["bleu"]
            out["test_greedy_sentences_per_second"] = len(test) / seconds
        out["examples"] = [{"source": test.source_texts[i], "reference": test.target_texts[i],
                            "translation": output["hypotheses"][i]}
                           for i in range(min(config.num_examples, len(test)))]
        if run.is_chief and config.plot:
            if config.attention == "none":
                print("--plot: no attention to draw (--attention=none)", flush=True)
            else:
                # Greedy decoding returns the attention of every emitted token.
                rows = list(range(min(3, len(test))))
                decoded = run.translator.decode_ids(
                    translation.make_batch(test, rows).source, 1)
                examples = []
                for row in rows:
                    words = [run.translator.target_vocab.token_of(t)
                             for t in decoded["tokens"][row] if t != 0]
                    source = test.source_tokens[row] or ["<unk>"]
                    if config.reverse_source:  # the model attends to the reversed source
                        source = source[::-1]
                    examples.append((source, words,
                                     decoded["attention"][row][:len(words), :len(source)]))
                plot_attention(run.path(PLOT_FILE), examples)
                out["plot"] = run.path(PLOT_FILE)
        if run.is_chief:
            from seqkit.export.translator import export_translator

            extra = {"train_dir": os.path.abspath(run.train_dir), "data": data.description}
            export_translator(run.translator, run.path(SAVED_MODEL), extra_metadata=extra)
            if config.export_dir:
                export_translator(run.translator, config.export_dir, extra_metadata=extra)
                out["export_dir"] = config.export_dir
        return out

    def report(self, results):
        lines = [f"test BLEU {results.get('test_bleu', float('nan')):.2f}  chrF "
                 f"{results.get('test_chrf', float('nan')):.2f}  exact match "
                 f"{100 * results.get('test_exact_match', 0):.1f}%  ({results.get('decoding')}; "
                 f"copy-the-source BLEU {results.get('copy_bleu', float('nan')):.2f}; valid "
                 f"perplexity {results.get('valid_perplexity', float('nan')):.3g})"]
        if results.get("test_bleu_greedy") is not None:
            lines.append(f"greedy test BLEU {results['test_bleu_greedy']:.2f}")
        examples = results.get("examples") or []
        if examples:
            width = min(60, max(len(e["source"]) for e in examples))
            lines.append(f"{'source':<{width}} | reference | translation")
            for e in examples:
                lines.append(f"{e['source'][:width]:<{width}} | {e['reference']} | "
                             f"{e['translation']}")
        return "\n".join(lines)

    # --translate=... uses a finished --train_dir (seqkit.runs.main); an empty line of
    # an @file translates to "" (the exported model's rule for an empty string).
    action, empty_inputs = "translate", "keep"

    def act(self, train_dir, inputs, overrides):
        translations = translate(train_dir, inputs, overrides.get("beam_size"))
        return translations, {"translations": [{"source": s, "translation": t}
                                               for s, t in zip(inputs, translations)]}


EXPERIMENT = TranslateExperiment()


# --------------------------------------------------------------------------- --translate


def translate(train_dir, sources, beam_size=None):
    """Translations of ``sources`` by ``<train_dir>/saved_model`` (its default decoding,
    or beam search with ``beam_size``)."""
    served = runs.load_saved_model(train_dir, "translate")
    source = tf.constant(sources)
    if beam_size:
        out = served.signatures["translate_beam"](source=source,
                                                  beam_size=tf.constant(beam_size, tf.int32))
    else:
        out = served.signatures["translate"](source=source)
    return [t.decode("utf-8") for t in out["translation"].numpy()]

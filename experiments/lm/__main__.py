"""``python -m experiments.lm``: train and evaluate a language model.

With no data flags it trains on seqkit's built-in grammar corpus (no download)
and reports how close it gets to that corpus's exact floor perplexity:

    python -m experiments.lm
    python -m experiments.lm --data_dir=../shared/data/ptb --config=small
    python -m experiments.lm --text_file=book.txt --level=char --cell=gru

Every hyper-parameter flag overrides the chosen ``--config`` preset (see
``configs.py``); ``--flagfile`` works; the resolved settings go to
``<train_dir>/flags.json``. The last line printed is one JSON object of metrics.
"""

import os
import sys

from absl import app, flags

from experiments.lm import configs

FLAGS = flags.FLAGS
_DEFAULTS = configs.Config()

flags.DEFINE_string("config", None, "Preset: test|small|medium|large|builtin. Default: "
                    "builtin on the built-in corpus, small otherwise.")
# Data.
flags.DEFINE_string("data_dir", None, "Folder with ptb.{train,valid,test}.txt or "
                    "wiki.{train,valid,test}.tokens.")
flags.DEFINE_string("text_file", None, "One raw text file, split 90/5/5.")
flags.DEFINE_enum("level", "word", ["word", "char"], "Tokens of --text_file.")
# Model and training (None = the preset's value).
flags.DEFINE_enum("cell", None, ["lstm", "gru", "elman", "clockwork"], "Recurrent cell.")
flags.DEFINE_integer("num_layers", None, "Recurrent layers.")
flags.DEFINE_integer("hidden_size", None, "Units per layer (and embedding size).")
flags.DEFINE_integer("num_steps", None, "Truncated-BPTT window length.")
flags.DEFINE_integer("batch_size", None, "Parallel streams (global batch).")
flags.DEFINE_integer("eval_batch_size", None, "Streams for valid/test (1 = one stream).")
flags.DEFINE_integer("epochs", None, "Training epochs.")
flags.DEFINE_float("learning_rate", None, "SGD learning rate.")
flags.DEFINE_float("lr_decay", None, "Learning-rate factor per epoch after --decay_after.")
flags.DEFINE_integer("decay_after", None, "Epochs at the full learning rate.")
flags.DEFINE_float("max_grad_norm", None, "Clip gradients to this global norm.")
flags.DEFINE_float("dropout", None, "Dropout on non-recurrent connections.")
flags.DEFINE_float("recurrent_dropout", None, "Variational dropout inside the recurrence.")
flags.DEFINE_bool("tie_embeddings", None, "Share input and output embeddings.")
flags.DEFINE_float("init_scale", None, "Uniform init range ±init_scale (0: Keras defaults).")
# Run.
flags.DEFINE_string("train_dir", "runs/lm", "Checkpoints, logs, flags.json, results.json.")
flags.DEFINE_integer("seed", 0, "Seed for initialization, dropout and sampling.")
flags.DEFINE_string("export_dir", None, "Also export a SavedModel here.")
flags.DEFINE_integer("sample_tokens", None, "Tokens to generate after training.")
flags.DEFINE_string("prompt", "", "Prompt for the generated sample.")
flags.DEFINE_float("temperature", 1.0, "Sampling temperature (0 = greedy).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy.")
flags.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into N logical devices (mirrored).")
flags.DEFINE_bool("progress", True, "Show a progress bar per epoch.")

def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from experiments.lm import train  # TensorFlow loads after flag parsing (fast --help).

    config = configs.resolve_config({name: FLAGS[name].value for name in FLAGS})
    try:
        train.train_and_evaluate(config, FLAGS.train_dir)
    except (ValueError, FileNotFoundError) as error:
        # A user mistake: one clear line, not a traceback.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)

r"""Recurrent time-series forecasting: train, compare with baselines, report.

    python -m experiments.forecast                     # synthetic series, ~1 min
    python -m experiments.forecast --config=etth1 --data_dir=/work/shared/data --cell=gru
    python -m experiments.forecast --csv=my.csv --targets=load,temp --horizon=24

Starts from ``--config`` (default, etth1, test: experiments/forecast/configs.py)
and overrides it with the flags given. Ends by printing the MSE/MAE table and
one JSON line (also in ``<train_dir>/results.json``). Re-running the same
command resumes from the last completed epoch in ``--train_dir``.
``--batch_size`` is the global batch, split across the replicas of
``--strategy``.
"""
import json

from absl import app
from absl import flags

from experiments.forecast import configs
from experiments.forecast import train

_D = configs.Config()  # the defaults shown by --help are those of --config=default

flags.DEFINE_enum("config", "default", sorted(configs.CONFIGS),
                  "Base configuration; the flags below given on the command line override it.")
# Data.
flags.DEFINE_string("csv", None, "A CSV file to forecast (replaces --dataset).")
flags.DEFINE_string("date_column", None, "CSV date column (default: a column named date, "
                    "datetime, timestamp or time, if any).")
flags.DEFINE_list("targets", None, "CSV columns to forecast (default: every numeric column "
                  "except the date and --features).")
flags.DEFINE_list("features", None, "CSV input-only columns (not forecast).")
flags.DEFINE_string("target", None, "The one target of --mode=S/MS (default: the last target).")
flags.DEFINE_enum("fill", _D.fill, configs.FILLS, "What to do with NaNs in the CSV.")
flags.DEFINE_enum("dataset", _D.dataset, ["synthetic", "etth1"],
                  "Built-in data when --csv is not given.")
flags.DEFINE_string("data_dir", None, "Folder with ETTh1.csv or ETT-small/ETTh1.csv.")
flags.DEFINE_enum("mode", _D.mode, configs.MODES, "M: all -> all targets; S: target -> "
                  "target; MS: all -> target.")
flags.DEFINE_integer("input_length", _D.input_length, "Input window length L.")
flags.DEFINE_integer("horizon", _D.horizon, "Forecast horizon H.")
flags.DEFINE_integer("season", _D.season, "Season of the seasonal-naive baseline.")
flags.DEFINE_integer("synthetic_rows", _D.synthetic_rows, "Rows of the synthetic series.")
# Model.
flags.DEFINE_enum("cell", _D.cell, configs.CELLS, "Recurrent cell of the encoder.")
flags.DEFINE_integer("num_layers", _D.num_layers, "Recurrent layers.")
flags.DEFINE_integer("hidden_size", _D.hidden_size, "Units per layer (and segment embedding).")
flags.DEFINE_boolean("bidirectional", _D.bidirectional, "Bidirectional encoder "
                     "(--decoder=direct only).")
flags.DEFINE_float("dropout", _D.dropout, "Dropout between layers and before the output.")
flags.DEFINE_float("recurrent_dropout", _D.recurrent_dropout, "Variational recurrent dropout.")
flags.DEFINE_integer("segment_length", _D.segment_length, "Steps per recurrent step "
                     "(SegRNN segments, linearly embedded); 0 = one step per time step.")
flags.DEFINE_boolean("channel_independent", _D.channel_independent,
                     "One series per target channel (shared weights) instead of one mixed one.")
flags.DEFINE_enum("instance_norm", _D.instance_norm, configs.INSTANCE_NORMS,
                  "Subtract each window's last value or mean per target, add it back.")
flags.DEFINE_enum("decoder", _D.decoder, configs.DECODERS, "direct: Dense to all steps; "
                  "parallel: SegRNN's positional parallel decoder; autoregressive: piece by "
                  "piece, feeding forecasts back.")
flags.DEFINE_list("clockwork_periods", None, "Clockwork module periods, e.g. 1,2,4,8.")
# Training.
flags.DEFINE_integer("epochs", _D.epochs, "Maximum epochs.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch size (over all replicas).")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Adam learning rate of epoch 1.")
flags.DEFINE_float("lr_decay", _D.lr_decay, "Learning rate factor per epoch.")
flags.DEFINE_integer("patience", _D.patience, "Early stopping: epochs without a better "
                     "validation loss.")
flags.DEFINE_enum("loss", _D.loss, configs.LOSSES, "Training loss.")
flags.DEFINE_float("max_grad_norm", _D.max_grad_norm, "Global gradient norm clip (0 = none).")
flags.DEFINE_integer("seed", _D.seed, "Random seed (data shuffling, initialization, dropout).")
flags.DEFINE_enum("strategy", _D.strategy, configs.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_integer("num_cpu_devices", None, "Split the CPU into this many devices "
                     "(for --strategy=mirrored on a CPU-only machine).")
# Outputs.
flags.DEFINE_string("train_dir", "runs/forecast", "Checkpoints, flags.json, "
                    "results.json, forecast.png.")
flags.DEFINE_string("export_dir", None, "Write a SavedModel (raw window -> raw forecast) here.")
flags.DEFINE_boolean("plot", _D.plot, "Write <train_dir>/forecast.png.")

FLAGS = flags.FLAGS
_NOT_CONFIG = ("config", "train_dir")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    present = {name: FLAGS[name].value for name in FLAGS
               if FLAGS[name].present and name not in _NOT_CONFIG
               and name in configs.Config.__dataclass_fields__}
    if "clockwork_periods" in present:
        present["clockwork_periods"] = [int(p) for p in present["clockwork_periods"]]
    try:
        config = configs.validate(configs.override(configs.get_config(FLAGS.config), present))
        results = train.train_and_evaluate(config, FLAGS.train_dir)
    except ValueError as error:
        # Bad flags or input data: one clear line and exit status 1, before any
        # training (app.UsageError would bury it under the whole flag list).
        raise SystemExit(f"forecast: error: {error}") from error
    print(train.format_table(results))
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    app.run(main)

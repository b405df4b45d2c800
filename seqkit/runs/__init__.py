"""The run harness: what every experiment's run does the same way, written once.

An experiment supplies a Config (its settings), a model, a data pipeline and
its train/evaluate steps; ``seqkit.runs`` does the rest: flags, the train
dir, resume, checkpoints, distribution, logs, errors and results.

Writing an experiment (``experiments/lm`` is the reference; the full recipe is
"How to add an experiment" in BUILD_NOTES.md)::

    # experiments/myjob/configs.py
    @dataclasses.dataclass(frozen=True)
    class Config(runs.RunConfig):          # epochs, seed, strategy, num_cpu_devices, progress
        hidden_size: int = runs.field(64, "Units per layer.", lower=1)
        learning_rate: float = runs.field(1e-3, "Adam learning rate.", above=0)
        cell: str = runs.field("gru", "Recurrent cell.", choices=("gru", "lstm"))
        data_dir: str = runs.field("", "Folder of the data.", resumable=True)
        export_dir: str = runs.field("", "Also export a SavedModel here.", resumable=True)

    PRESETS = {"default": Config(), "test": Config(hidden_size=4, epochs=1)}

    # experiments/myjob/train.py
    class MyJob(runs.Experiment):
        name, Config, presets = "myjob", configs.Config, configs.PRESETS
        default_train_dir = "runs/myjob"
        monitor, mode, throughput_unit = "loss", "min", "examples"
        def load_data(self, config): ...          # all data errors here
        def fingerprint(self, config, data): ...  # files (size, sha256), vocab hash
        def build(self, config, data): ...        # (model, optimizer), under strategy.scope()
        def train_epoch(self, run, epoch): ...    # {"loss": .., "examples": n}
        def evaluate(self, run, split): ...       # {"loss": .., "accuracy": ..}
        def finish(self, run, results): ...       # baselines, export (if run.is_chief)

    EXPERIMENT = MyJob()

    # experiments/myjob/__main__.py
    from seqkit import runs
    from experiments.myjob import train
    if __name__ == "__main__":
        runs.main(train.EXPERIMENT)

    # tests: results = runs.run(train.EXPERIMENT, configs.PRESETS["test"], tmp_path)

Config and flags (``runs.field``, ``runs.RunConfig``; seqkit/runs/config.py):
    Each field is declared once, with its help, ``choices``, bounds
    (``lower``/``upper`` inclusive, ``above``/``below`` exclusive; floats must
    be finite) and ``resumable``. ``runs.main`` generates one absl flag per
    field (type, enum, bounds, help) plus ``--config=<preset>`` (an unknown
    preset is a one-line error listing the valid ones; the default comes from
    ``Experiment.default_preset``), ``--train_dir`` and ``--verbosity``. The
    flags given override the preset's fields. The same validators check a
    Config passed to ``runs.run`` in code. ``RunConfig`` brings ``epochs``,
    ``seed``, ``strategy``, ``num_cpu_devices`` and ``progress``. Conventions
    the harness acts on: a field ``batch_size`` is the global batch (must
    divide by the replicas); ``plot`` needs matplotlib; ``export_dir`` must be
    creatable; ``patience`` is early stopping (``Experiment.patience``).

``runs.run(experiment, config, train_dir, preset=None) -> results``, in order:
    1. checks, before anything is written: every field, ``experiment.validate``,
       ``--plot`` (matplotlib importable), ``--export_dir`` and ``--train_dir``
       creatable; ``experiment.load_data`` (ValueError/OSError there become
       ``UsageError``); the strategy (``--strategy``, ``--num_cpu_devices``,
       TF_CONFIG) and ``batch_size`` divisible by the replicas.
    2. the chief takes ``<train_dir>/.lock`` (pid + host; a second run is
       refused, a stale lock of a dead process taken over), refuses to resume
       a run with other non-resumable settings or another data fingerprint,
       and writes ``flags.json`` (the resolved settings, preset, replicas,
       data fingerprint) and ``flags.txt`` (``--flagfile=<train_dir>/flags.txt``
       replays the run).
    3. ``keras.utils.set_random_seed(seed)``; ``experiment.build`` under the
       strategy's scope; restore of the newest intact checkpoint of
       ``<train_dir>/checkpoints`` (falling back past damaged ones with a
       warning), broadcast from the chief to every worker; ``experiment.start``.
    4. per epoch: ``experiment.learning_rate`` assigned, ``train_epoch``,
       ``evaluate(run, "valid")``; the ``monitor`` value picks the best epoch
       (its weights are kept in memory and in ``<train_dir>/best``), early
       stopping after ``patience`` epochs without improvement; a checkpoint in
       ``<train_dir>/checkpoints`` (model, optimizer, RNG states, harness state;
       two kept; only the chief keeps files); one line per epoch (after a
       progress bar on a terminal); TensorBoard scalars in ``<train_dir>/logs``.
    5. the best epoch's weights are restored; ``valid_*`` and ``test_*``
       metrics from them; ``experiment.finish``; results (``train_*``,
       ``valid_*``, ``test_*``, ``epochs_completed``, ``best_epoch``,
       ``early_stopped``, ``resumed_from_epoch``, ``parameters``, ``replicas``,
       ``train_seconds``, ``<unit>_per_second``, ``wall_seconds`` and the
       experiment's) as strict JSON (NaN/inf → null, reason logged) in
       ``<train_dir>/results.json`` (atomic, chief only). Returns them.

Actions on a finished run (``Experiment.action``, ``act``): an experiment may
    name one string field (``predict``, ``translate``) that, given on the
    command line, uses the finished ``--train_dir`` instead of training:
    ``runs.main`` reads its inputs (``runs.read_inputs``: the text, or
    ``@file``'s lines), calls ``experiment.act(train_dir, inputs, overrides)``
    (which typically runs ``runs.load_saved_model(train_dir, name)``, the
    serving model the run keeps in ``<train_dir>/saved_model``), prints the
    lines it returns and a final JSON line; mistakes exit 2 with one line.

``runs.main(experiment, argv=None)``: the command line (flags → Config →
``run``); prints ``experiment.report(results)`` and a final JSON line. User
mistakes (``UsageError``, ``NonFiniteLossError``, flag errors) print one line
``error: ...`` and exit with status 2 (``runs.EXIT_USAGE``); anything else
keeps its traceback. TensorFlow's INFO lines are hidden unless ``--verbosity=1``.

``Run`` (what hooks get): ``config``, ``train_dir``, ``data``, ``model``,
``optimizer``, ``strategy``, ``is_chief``, ``replicas``, ``epoch``,
``progress(total)`` (``.update(step, **metrics)``), ``scalar(name, value)``,
``per_replica(make)``, ``check_finite(loss, step)``, ``path(*parts)``,
``write_text(name, text)`` (chief only, atomic).

Files (seqkit/runs/files.py): ``atomic_write_text``, ``atomic_write_json``,
``strict_json``, ``read_json``, ``file_digest`` (name, bytes, sha256 for a
fingerprint), ``join``: through ``tf.io.gfile`` (``gs://``
train dirs work), atomic where the filesystem allows, with the user's umask.
"""

from seqkit.runs.config import RunConfig, check_config, field, flag_lines, text_encoding
from seqkit.runs.errors import (
    EXIT_USAGE,
    NonFiniteLossError,
    UsageError,
    check_finite,
    one_line,
)
from seqkit.runs.files import (
    TrainDirLock,
    atomic_write_json,
    atomic_write_text,
    file_digest,
    read_json,
    strict_json,
)
from seqkit.runs.harness import (
    SAVED_MODEL,
    Experiment,
    Progress,
    Run,
    check_output_dir,
    float32,
    load_saved_model,
    main,
    precision_policy,
    read_inputs,
    require_module,
    run,
)


def write_results(train_dir, results, name="results.json"):
    """Write ``results`` as strict JSON into ``train_dir`` (atomic)."""
    from seqkit.runs import files

    atomic_write_json(files.join(train_dir, name), results)


def report_study(table, results, config, train_dir=None):
    """The end of a standalone study script (``experiments.clockwork_generation``,
    ``experiments.peephole_timing``: many small runs, not one harness run): print
    ``table`` and the one JSON line of ``results``; with ``train_dir`` also write
    ``flags.json`` (``config``) and ``results.json`` there, atomically."""
    from seqkit.runs import files

    print(table)
    print(files.dumps(results), flush=True)
    if train_dir:
        write_results(train_dir, config, "flags.json")
        write_results(train_dir, results)


__all__ = [
    "EXIT_USAGE", "SAVED_MODEL", "Experiment", "NonFiniteLossError", "Progress", "Run", "RunConfig",
    "float32", "precision_policy",
    "TrainDirLock", "UsageError", "atomic_write_json", "atomic_write_text", "check_config",
    "check_finite", "check_output_dir", "field", "file_digest", "flag_lines", "load_saved_model",
    "main", "one_line", "read_inputs", "report_study",
    "read_json", "require_module", "run", "strict_json", "text_encoding", "write_results",
]

"""``python -m experiments.bench``: seqkit's speed against same-process references.

Suites (``--suite``, comma-separated; default all that apply):

* ``layers``: Elman/LSTM/GRU vs Keras's SimpleRNN/LSTM/GRU (issue 2 shapes).
* ``clockwork``: the fast Clockwork schedule vs the masked one vs SimpleRNN(1024).
* ``lm``: the language model's training step (PTB small shapes): tokens/s, FLOP/s.
* ``export``: ``step`` latency and ``generate`` tokens/s of an exported language
  model (loaded SavedModel) beside the same in Python with Keras.
* ``serving``: the exported intent classifier (utterances/s at batch 1 and 64)
  and translator (sentences/s at batch 64, greedy and beam 5), loaded
  SavedModels beside the same work in process (``experiments/bench/serving.py``).
* ``peephole``: the peephole LSTM beside the plain one, training and inference
  (``experiments/bench/peephole.py``).

The default is every suite whose module exists.

Also measures a large matmul's FLOP/s (the practical peak of this machine) once
and reports each layer's achieved FLOP/s as a fraction of it. Prints a table per
suite and, last, one JSON line with every figure (also written to ``--output``).
No figure is asserted: these are measurements, not tests.
"""

import json

from absl import app, flags, logging

from experiments.bench import suites

FLAGS = flags.FLAGS
flags.DEFINE_list("suite", suites.default_suites(),
                  f"Benchmark suites to run, from {list(suites.SUITES)}.")
flags.DEFINE_integer("repeats", 10, "Timed repeats per implementation (after 2 warm-ups).")
flags.DEFINE_integer("calls", 1, "layers suite: consecutive calls per timed round (1: each "
                     "call right after the other implementations'; more: the steady state "
                     "of a training loop, which calls one step again and again).",
                     lower_bound=1)
flags.DEFINE_bool("quick", False, "Tiny shapes: a smoke run, not a measurement.")
flags.DEFINE_string("output", None, "Also write the JSON results to this file.")
flags.DEFINE_integer("seed", 0, "Seed for weights and inputs.")


def main(argv):
    del argv
    logging.info("peak matmul, then suites %s", FLAGS.suite)
    try:
        suites.check_suites(FLAGS.suite)
    except ValueError as error:  # an unknown or missing suite: one line, exit 2
        raise app.UsageError(f"--suite: {error}", exitcode=2) from None
    results = suites.run_suites(FLAGS.suite, repeats=FLAGS.repeats, quick=FLAGS.quick,
                                seed=FLAGS.seed, calls=FLAGS.calls)
    line = json.dumps(results, sort_keys=True)
    print(line)
    if FLAGS.output:
        from seqkit.runs import atomic_write_text

        atomic_write_text(FLAGS.output, line + "\n")


if __name__ == "__main__":
    app.run(main)

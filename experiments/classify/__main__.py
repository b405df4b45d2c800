"""``python -m experiments.classify``: intent recognition (and slot filling).

With no data flag it trains on the built-in generated intent corpus (no download) and
prints the test accuracy beside the corpus's ceiling, the best any model can reach:

    python -m experiments.classify
    python -m experiments.classify --config=snips --data_dir=../shared/data/snips
    python -m experiments.classify --csv=utterances.csv --text_column=text --label_column=intent
    python -m experiments.classify --predict="what time is it in paris"   # a finished run
    python -m experiments.classify --export_dir=/tmp/intents              # raw text -> intent

Every flag overrides the chosen ``--config`` preset (experiments/classify/configs.py);
``--flagfile=<train_dir>/flags.txt`` replays a run. The last line printed is one JSON
object (also ``<train_dir>/results.json``).
"""
from experiments.classify import train
from seqkit import runs

if __name__ == "__main__":
    runs.main(train.EXPERIMENT)

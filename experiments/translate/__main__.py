"""``python -m experiments.translate``: an encoder–decoder translator (Sutskever et al. 2014).

With no data flag it trains on the built-in generated language pair (no download) and
prints the exact-match accuracy of its test translations:

    python -m experiments.translate
    python -m experiments.translate --config=multi30k --data_dir=../shared/data/multi30k/tok
    python -m experiments.translate --pairs_file=fra.txt --source_column=0 --target_column=1
    python -m experiments.translate --translate="ein mann fährt fahrrad ." --train_dir=...
    python -m experiments.translate --export_dir=/tmp/translator --plot

Every flag overrides the chosen ``--config`` preset (experiments/translate/configs.py);
``--flagfile=<train_dir>/flags.txt`` replays a run. The last line printed is one JSON
object (also ``<train_dir>/results.json``).
"""
from experiments.translate import train
from seqkit import runs

if __name__ == "__main__":
    runs.main(train.EXPERIMENT)

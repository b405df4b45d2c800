"""``python -m experiments.lm``: train and evaluate a language model.

With no data flags it trains on seqkit's built-in grammar corpus (no download)
and reports how close it gets to that corpus's exact floor perplexity:

    python -m experiments.lm
    python -m experiments.lm --data_dir=../shared/data/ptb --config=small
    python -m experiments.lm --text_file=book.txt --level=char --cell=gru

Every flag overrides the chosen ``--config`` preset (experiments/lm/configs.py);
``--flagfile=<train_dir>/flags.txt`` replays a run. The last line printed is
one JSON object of metrics (also in ``<train_dir>/results.json``).
"""

from experiments.lm import train
from seqkit import runs

if __name__ == "__main__":
    runs.main(train.EXPERIMENT)

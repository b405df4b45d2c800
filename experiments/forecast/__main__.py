r"""``python -m experiments.forecast``: train a recurrent forecaster, compare with baselines.

    python -m experiments.forecast                     # synthetic series, ~1 min
    python -m experiments.forecast --config=etth1 --data_dir=/work/shared/data --cell=gru
    python -m experiments.forecast --csv=my.csv --targets=load,temp --horizon=24
    python -m experiments.forecast --dataset=ettm1 --data_dir=/work/shared/data
    python -m experiments.forecast --csv=my.csv --calendar=hour,dow \
        --future_features=planned --split=2017-06-01,2017-10-01 --train_dir=runs/x
    python -m experiments.forecast --train_dir=runs/x --predict=new.csv --output=f.csv

Starts from ``--config`` (default, etth1, test: experiments/forecast/configs.py)
and overrides it with the flags given. Ends by printing the MSE/MAE table and
one JSON line (also in ``<train_dir>/results.json``). Re-running the same
command resumes from the last completed epoch in ``--train_dir``;
``--flagfile=<train_dir>/flags.txt`` replays a run. ``--batch_size`` is the
global batch, split across the replicas of ``--strategy``.
"""
from experiments.forecast import train
from seqkit import runs

if __name__ == "__main__":
    runs.main(train.EXPERIMENT)

"""ETTh1 (Zhou et al. 2021) with the standard fixed borders of the literature."""
from __future__ import annotations

import dataclasses
import os

from seqkit.data.timeseries.csv_loader import load_csv
from seqkit.data.timeseries.splits import Borders, SeriesSplit

# ETTh1 standard protocol (Zhou et al. 2021; Zeng et al. 2023): 12 months of
# training rows, 4 of validation, 4 of test, months of 30 days, hourly rows.
ETTH1_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
ETTH1_BORDERS = ((0, 8640), (8640, 11520), (11520, 14400))


def etth1(data_dir: str | os.PathLike) -> SeriesSplit:
    """ETTh1 with the standard borders: train [0, 8640), val [8640, 11520),
    test [11520, 14400) (rows from 14400 on are unused by the protocol).

    All seven columns are targets (mode "M" is 7 -> 7; "S"/"MS" default to
    "OT", the last one). ``data_dir`` may be the CSV itself, its folder, or a
    folder holding ``ETT-small/ETTh1.csv``.

    Example:
        >>> data = etth1("/data")                                   # doctest: +SKIP
        >>> data.windows("test", 96, 96).origins[0]                 # doctest: +SKIP
        11520
    """
    data_dir = os.fspath(data_dir)
    candidates = ([data_dir] if data_dir.endswith(".csv") else
                  [os.path.join(data_dir, "ETTh1.csv"),
                   os.path.join(data_dir, "ETT-small", "ETTh1.csv")])
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        raise FileNotFoundError(f"data_dir: expected ETTh1.csv at one of {candidates}, found none")
    data = load_csv(path, date_column="date", targets=list(ETTH1_COLUMNS), fill="error")
    needed = ETTH1_BORDERS[-1][1]
    if data.n_rows < needed:
        raise ValueError(f"data_dir: expected ETTh1.csv with at least {needed} rows, got "
                         f"{data.n_rows} rows in {path}")
    return dataclasses.replace(data, borders=Borders(*ETTH1_BORDERS))

"""The ETT family (Zhou et al. 2021): ETTh1, ETTh2, ETTm1, ETTm2 with the fixed
borders of the literature."""
from __future__ import annotations

import dataclasses
import os

from seqkit.data.timeseries.csv_loader import load_csv
from seqkit.data.timeseries.splits import Borders, SeriesSplit

# Standard protocol (Zhou et al. 2021, Informer's Dataset_ETT_hour and
# Dataset_ETT_minute; Zeng et al. 2023): 12 months of training rows, 4 of
# validation, 4 of test, months of 30 days. Informer's border2s are
# [12*30*24, (12+4)*30*24, (12+8)*30*24] hourly rows and 4x that for the
# 15-minute files; its border1s reach ``seq_len`` rows back, which is our
# window convention (``Borders`` are the rows a split forecasts).
ETTH1_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
ETT_COLUMNS = ETTH1_COLUMNS
_MONTH_HOURS = 30 * 24


def _borders(rows_per_hour: int) -> Borders:
    month = _MONTH_HOURS * rows_per_hour
    return Borders(train=(0, 12 * month), val=(12 * month, 16 * month),
                   test=(16 * month, 20 * month))


ETT_BORDERS = {"etth1": _borders(1), "etth2": _borders(1),
               "ettm1": _borders(4), "ettm2": _borders(4)}
ETT_DATASETS = tuple(ETT_BORDERS)
ETT_FILES = {"etth1": "ETTh1.csv", "etth2": "ETTh2.csv", "ettm1": "ETTm1.csv",
             "ettm2": "ETTm2.csv"}
ETTH1_BORDERS = ((0, 8640), (8640, 11520), (11520, 14400))


def ett(name: str, data_dir: str | os.PathLike) -> SeriesSplit:
    """One ETT data set with its standard borders.

    Hourly (etth1, etth2): train [0, 8640), val [8640, 11520), test
    [11520, 14400). 15-minute (ettm1, ettm2): the same months, 4x the rows:
    train [0, 34560), val [34560, 46080), test [46080, 57600). Rows after the
    test border are unused by the protocol.

    All seven columns are targets (mode "M" is 7 -> 7; "S"/"MS" default to
    "OT", the last one). ``data_dir`` may be the CSV itself, its folder, or a
    folder holding ``ETT-small/<file>`` (ETTh1.csv, ETTh2.csv, ETTm1.csv, ETTm2.csv).

    Example:
        >>> data = ett("ettm1", "/data")                            # doctest: +SKIP
        >>> data.windows("test", 96, 96).origins[0]                 # doctest: +SKIP
        46080
    """
    key = str(name).lower()
    if key not in ETT_BORDERS:
        raise ValueError(f"name: expected one of {ETT_DATASETS}, got {name!r}")
    filename = ETT_FILES[key]
    data_dir = os.fspath(data_dir)
    candidates = ([data_dir] if data_dir.endswith(".csv") else
                  [os.path.join(data_dir, filename),
                   os.path.join(data_dir, "ETT-small", filename)])
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        raise FileNotFoundError(f"data_dir: expected {filename} at one of {candidates}, "
                                f"found none")
    data = load_csv(path, date_column="date", targets=list(ETT_COLUMNS), fill="error",
                    ratios=(0.7, 0.1, 0.2))
    borders = ETT_BORDERS[key]
    needed = borders.test[1]
    if data.n_rows < needed:
        raise ValueError(f"data_dir: expected {filename} with at least {needed} rows, got "
                         f"{data.n_rows} rows in {path}")
    return dataclasses.replace(data, borders=borders)


def etth1(data_dir: str | os.PathLike) -> SeriesSplit:
    """ETTh1 with the standard borders: ``ett("etth1", data_dir)``."""
    return ett("etth1", data_dir)

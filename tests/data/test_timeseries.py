"""Tests of seqkit.data.timeseries: loading, splits, scaling, windows, synthetic floor."""
import dataclasses
import doctest
import importlib
import logging
import math

import numpy as np
import pandas as pd
import pytest

from seqkit.data import timeseries as ts


def write_csv(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text.strip() + "\n")
    return path


# A small file with everything load_csv must report: rows out of order, a
# duplicated timestamp, a 3-hour gap (2 missing hours), a text column.
MESSY = """
date,a,b,station
2020-01-01 02:00,3,30,x
2020-01-01 00:00,1,10,x
2020-01-01 01:00,2,20,x
2020-01-01 01:00,2.5,25,y
2020-01-01 05:00,6,60,x
2020-01-01 06:00,7,70,x
"""


def test_load_csv_sorts_and_reports_duplicates_and_gaps(tmp_path, caplog):
    data = ts.load_csv(write_csv(tmp_path, MESSY))
    # Targets default to the numeric columns; the text column is left out.
    assert data.columns == ("a", "b") and data.target_indices == (0, 1)
    np.testing.assert_array_equal(data.values[:, 0], [1, 2, 2.5, 3, 6, 7])  # stable sort
    assert list(data.timestamps.hour) == [0, 1, 1, 2, 5, 6]
    report = data.report
    assert report.date_column == "date" and not report.was_sorted
    assert report.frequency == pd.Timedelta(hours=1)
    assert [r for r, _ in report.duplicates] == [2, 3]      # file rows of the 01:00 pair
    assert report.gaps == (ts.Gap(pd.Timestamp("2020-01-01 02:00"),
                                  pd.Timestamp("2020-01-01 05:00"), 2),)
    assert not report.ok and report.nan_rows == {}
    with caplog.at_level(logging.INFO, logger=ts.__name__):
        report.log()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not in date order" in m for m in warnings)
    assert any("duplicated timestamp" in m and "row 2" in m for m in warnings)
    assert any("2 missing step(s) between 2020-01-01 02:00:00 and 2020-01-01 05:00:00" in m
               for m in warnings)


@pytest.mark.parametrize("separator, decimal", [(";", ","), (";", "."), ("\t", "."),
                                                ("|", ".")])
def test_load_csv_reads_spreadsheet_exports_with_other_separators(tmp_path, caplog, separator,
                                                                  decimal):
    # What a spreadsheet writes where the comma is the decimal mark: the same
    # values as the comma-separated file, and a warning that says how it was read.
    frame = pd.DataFrame({"date": pd.date_range("2021-03-01", periods=20, freq="h")
                          .strftime("%Y-%m-%d %H:%M"),
                          "load": np.linspace(-2.5, 7.25, 20), "temp": np.arange(20) + 0.5})
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.to_csv(tmp_path / "export.csv", index=False, sep=separator, decimal=decimal)
    plain = ts.load_csv(tmp_path / "plain.csv")
    with caplog.at_level(logging.WARNING, logger=ts.__name__):
        other = ts.load_csv(tmp_path / "export.csv")
    assert other.columns == plain.columns == ("load", "temp")
    np.testing.assert_array_equal(other.values, plain.values)
    assert any(f"separator {separator!r}" in r.getMessage() for r in caplog.records)
    # The forecaster's --predict reads such a file too.
    history = ts.load_history(tmp_path / "export.csv", ["load"], frequency="h",
                              input_length=4, horizon=2)
    np.testing.assert_array_equal(history.values[:, 0], plain.values[-4:, 0])


def test_csv_format_leaves_comma_files_and_single_columns_alone(tmp_path):
    from seqkit.data import reading

    cases = {"a,b\n1;2,3\n": {}, "value\n3\n4\n": {}, "a;b\n1,5;2.5\n": {"sep": ";"},
             "a;b\nx;1,5\n": {"sep": ";", "decimal": ","}, "a\tb\n1,5\t2\n": {"sep": "\t"}}
    for number, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"{number}.csv"
        path.write_text(text)
        assert reading.csv_format(path) == expected, text


def test_load_csv_clean_file_and_split(tmp_path):
    rows = "\n".join(f"2021-03-01 {h:02d}:00,{h},{2 * h}" for h in range(20))
    data = ts.load_csv(write_csv(tmp_path, "date,u,v\n" + rows), features="v")
    assert data.report.ok and data.report.was_sorted
    assert data.columns == ("u", "v") and data.target_columns == ("u",)
    assert data.borders == ts.Borders(train=(0, 14), val=(14, 16), test=(16, 20))
    assert "no date column" not in str(data.report)


def test_load_csv_without_date_column_keeps_file_order(tmp_path):
    data = ts.load_csv(write_csv(tmp_path, "x,y\n3,1\n1,2\n2,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0"))
    assert data.timestamps is None and data.report.date_column is None
    np.testing.assert_array_equal(data.values[:3, 0], [3, 1, 2])


def test_load_csv_bad_date_names_column_and_value(tmp_path):
    path = write_csv(tmp_path, "when,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\nsoon,3\n")
    with pytest.raises(ValueError, match=r"date_column 'when'.*row 2.*'soon'"):
        ts.load_csv(path, date_column="when")
    with pytest.raises(ValueError, match=r"date_column: expected one of.*'a'.*got 'stamp'"):
        ts.load_csv(path, date_column="stamp")


def test_load_csv_missing_or_text_columns_are_named(tmp_path):
    path = write_csv(tmp_path, MESSY)
    with pytest.raises(ValueError, match=r"targets: column 'nope'.*\['a', 'b', 'station'\]"):
        ts.load_csv(path, targets=["a", "nope"])
    with pytest.raises(ValueError, match=r"features: column 'nope'"):
        ts.load_csv(path, features="nope")
    with pytest.raises(ValueError, match=r"targets: expected a numeric column, got 'station'.*"
                                         r"row 0 \(file line 2\) 'x'.*numeric columns: "
                                         r"\['a', 'b'\]"):
        ts.load_csv(path, targets="station")
    with pytest.raises(ValueError, match=r"disjoint.*\['a'\]"):
        ts.load_csv(path, targets="a", features=["a"])
    with pytest.raises(ValueError, match=r"fill: expected one of.*got 'zero'"):
        ts.load_csv(path, fill="zero")


# NaNs at file rows 1 (a) and 3 (a, b); after sorting by date, a's NaNs sit
# between 1.0 and 4.0.
HOLES = """
date,a,b
2020-01-01 00:00,1,10
2020-01-01 03:00,,
2020-01-01 04:00,5,50
2020-01-01 02:00,,30
2020-01-01 01:00,4,20
"""


def test_nan_rows_reported_and_refused_by_default(tmp_path):
    path = write_csv(tmp_path, HOLES)
    with pytest.raises(ValueError, match=r"got 2 rows with NaN.*row 1 \(a, b\), row 3 \(a\)"):
        ts.load_csv(path)


def test_nan_fill_modes(tmp_path):
    path = write_csv(tmp_path, HOLES)
    ffilled = ts.load_csv(path, fill="ffill")
    assert ffilled.report.nan_rows == {"a": (1, 3), "b": (1,)}        # file-order rows
    # time order: 00 01 02 03 04 -> a = 1 4 NaN NaN 5 -> ffill 1 4 4 4 5
    np.testing.assert_array_equal(ffilled.values[:, 0], [1, 4, 4, 4, 5])
    np.testing.assert_array_equal(ffilled.values[:, 1], [10, 20, 30, 30, 50])
    interpolated = ts.load_csv(path, fill="interpolate")
    np.testing.assert_allclose(interpolated.values[:, 0], [1, 4, 13 / 3, 14 / 3, 5])
    np.testing.assert_allclose(interpolated.values[:, 1], [10, 20, 30, 40, 50])


def test_ffill_cannot_fill_a_leading_nan(tmp_path):
    path = write_csv(tmp_path, "date,a\n2020-01-01 01:00,2\n2020-01-01 00:00,\n"
                               "2020-01-01 02:00,3\n2020-01-01 03:00,4\n2020-01-01 04:00,5")
    with pytest.raises(ValueError, match=r"'ffill' cannot fill column 'a'.*file rows 1"):
        ts.load_csv(path, fill="ffill")
    np.testing.assert_array_equal(ts.load_csv(path, fill="interpolate").values[:, 0],
                                  [2, 2, 3, 4, 5])


def test_chronological_split_follows_informer_rounding():
    assert ts.chronological_split(100) == ts.Borders((0, 70), (70, 80), (80, 100))
    # Dataset_Custom on 17,420 rows: int(0.7 n) = 12194, int(0.2 n) = 3484.
    assert ts.chronological_split(17420) == ts.Borders((0, 12194), (12194, 13936),
                                                       (13936, 17420))
    assert ts.chronological_split(10, (0.5, 0.2, 0.3)) == ts.Borders((0, 5), (5, 7), (7, 10))
    with pytest.raises(ValueError, match=r"ratios: expected three positive.*\(0.7, 0.2, 0.2\)"):
        ts.chronological_split(100, (0.7, 0.2, 0.2))
    with pytest.raises(ValueError, match=r"n_rows: expected enough rows.*got 3"):
        ts.chronological_split(3)


def test_scaler_fits_training_rows_only():
    values = np.column_stack([np.arange(10.0), np.full(10, 4.0)])
    data = ts.SeriesSplit(values=values, columns=("x", "const"), target_indices=(0, 1),
                          borders=ts.Borders((0, 4), (4, 6), (6, 10)))
    scaler = data.scaler()
    np.testing.assert_allclose(scaler.mean, [1.5, 4.0])
    np.testing.assert_allclose(scaler.scale, [math.sqrt(1.25), 1.0])   # ddof=0; std 0 -> 1
    changed = dataclasses.replace(data, values=values * np.array([[1.0], [1.0], [1.0], [1.0]]
                                                                 + [[100.0]] * 6))
    np.testing.assert_array_equal(changed.scaler().mean, scaler.mean)   # later rows ignored
    z = scaler.transform(values)
    assert np.all(z[:, 1] == 0)
    np.testing.assert_allclose(scaler.inverse_transform(z), values)
    # Predictions of the first column only.
    np.testing.assert_allclose(scaler.inverse_transform(z[:, :1], columns=[0]), values[:, :1])
    sub = scaler.subset([1])
    assert sub.columns == ("const",) and sub.mean.tolist() == [4.0]
    with pytest.raises(ValueError, match=r"x: expected a last axis of 2 columns, got shape"):
        scaler.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        ts.StandardScaler.fit(np.array([[1.0], [np.nan]]))


def grid(n_rows, n_columns):
    # value = 10 * row + column, so every window element names its own position
    return 10.0 * np.arange(n_rows)[:, None] + np.arange(n_columns)[None, :]


def test_window_starts_reach_back_before_the_split():
    np.testing.assert_array_equal(ts.window_starts(3, 2, start=10, end=15), [7, 8, 9, 10])
    # A split starting at row 0 cannot reach back: first forecast row is L.
    np.testing.assert_array_equal(ts.window_starts(3, 2, start=0, end=6), [0, 1])
    with pytest.raises(ValueError, match=r"input_length=4 \+ horizon=3 = 7 rows.*\[0, 6\) has "
                                         r"only 6 usable rows"):
        ts.window_starts(4, 3, start=0, end=6)
    with pytest.raises(ValueError, match=r"input_length=5 \+ horizon=4 = 9.*only 7 usable rows "
                                         r"\(its 2 rows plus 5 rows of look-back\)"):
        ts.window_starts(5, 4, start=20, end=22)
    with pytest.raises(ValueError, match=r"horizon: expected a positive integer, got 0"):
        ts.window_starts(3, 0, 0, 10)
    with pytest.raises(ValueError, match=r"start, end: expected 0 <= start < end"):
        ts.window_starts(3, 1, 5, 5)


def test_make_windows_content_mode_m():
    values = grid(30, 3)
    w = ts.make_windows(values, 4, 3, start=20, end=30, target_indices=[0, 2], dtype=np.float64)
    assert w.n == 30 - 16 - 7 + 1 == 8
    np.testing.assert_array_equal(w.origins, np.arange(20, 28))
    for i, origin in enumerate(w.origins):
        np.testing.assert_array_equal(w.inputs[i], values[origin - 4:origin])
        np.testing.assert_array_equal(w.targets[i], values[origin:origin + 3][:, [0, 2]])
    assert w.targets[-1, -1, 0] == 10.0 * 29                      # last row of the split
    assert w.input_columns == (0, 1, 2) and w.target_columns == (0, 2)
    assert w.target_channels == (0, 2)
    assert w.inputs.dtype == np.float64


def test_make_windows_modes_s_and_ms():
    values = grid(20, 3)
    s = ts.make_windows(values, 4, 2, start=10, end=20, target_indices=[0, 1])
    assert s.inputs.dtype == np.float32                            # default dtype
    s = ts.make_windows(values, 4, 2, start=10, end=20, mode="S", target_indices=[0, 1])
    assert s.inputs.shape == (9, 4, 1) and s.targets.shape == (9, 2, 1)   # origins 10..18
    assert s.input_columns == s.target_columns == (1,)             # last target by default
    np.testing.assert_array_equal(s.inputs[0, :, 0], [61, 71, 81, 91])
    ms = ts.make_windows(values, 4, 2, start=10, end=20, mode="MS", target=2)
    assert ms.inputs.shape == (9, 4, 3) and ms.targets.shape == (9, 2, 1)
    np.testing.assert_array_equal(ms.targets[0, :, 0], [102, 112])
    assert ms.target_channels == (2,)
    with pytest.raises(ValueError, match=r"target: expected None in mode 'M'.*got 2"):
        ts.make_windows(values, 4, 2, 10, 20, mode="M", target=2)
    with pytest.raises(ValueError, match=r"mode: expected one of \('M', 'S', 'MS'\), got 'SM'"):
        ts.make_windows(values, 4, 2, 10, 20, mode="SM")
    with pytest.raises(ValueError, match=r"end: expected at most the number of rows 20, got 21"):
        ts.make_windows(values, 4, 2, 10, 21)


def test_make_windows_applies_scaler_and_inverts_targets():
    values = grid(40, 2)
    data = ts.SeriesSplit(values=values, columns=("p", "q"), target_indices=(1,),
                          borders=ts.chronological_split(40))
    w = data.windows("test", 5, 3, dtype=np.float64)
    scaler = data.scaler()
    np.testing.assert_allclose(w.inputs[0], scaler.transform(values[27:32]))
    np.testing.assert_allclose(w.inverse_targets(w.targets)[0, :, 0], values[32:35, 1])
    raw = data.windows("test", 5, 3, scaled=False)
    assert raw.scaler is None and raw.targets[0, 0, 0] == 321
    assert data.windows("test", 5, 3, mode="S", target="p").target_columns == (0,)
    with pytest.raises(ValueError, match=r"split: expected one of .*got 'valid'"):
        data.windows("valid", 5, 3)


def etth1_like(tmp_path, n_rows=14500):
    dates = pd.date_range("2016-07-01", periods=n_rows, freq="h")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n_rows, 7)), columns=list(ts.ETTH1_COLUMNS))
    frame.insert(0, "date", dates.strftime("%Y-%m-%d %H:%M:%S"))
    (tmp_path / "ETT-small").mkdir()
    path = tmp_path / "ETT-small" / "ETTh1.csv"
    frame.to_csv(path, index=False)
    return path


def test_etth1_protocol_borders(tmp_path):
    path = etth1_like(tmp_path)
    data = ts.etth1(tmp_path)                      # finds ETT-small/ETTh1.csv
    assert data.borders == ts.Borders((0, 8640), (8640, 11520), (11520, 14400))
    assert data.target_columns == ts.ETTH1_COLUMNS
    test = data.windows("test", 96, 96)
    assert test.n == (2880 + 96) - (96 + 96) + 1 == 2785          # 96 rows of look-back
    assert test.origins[0] == 11520 and test.origins[-1] + 95 == 14399
    train = data.windows("train", 96, 96)
    assert train.origins[0] == 96 and train.n == 8640 - 192 + 1
    np.testing.assert_allclose(data.scaler().mean, data.values[:8640].mean(axis=0))
    assert ts.etth1(path).n_rows == 14500         # the CSV path itself works too
    assert ts.etth1(tmp_path).windows("test", 96, 96, mode="S").target_columns == (6,)  # OT


def test_etth1_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="ETTh1.csv"):
        ts.etth1(tmp_path)
    etth1_like(tmp_path, n_rows=1000)
    with pytest.raises(ValueError, match=r"at least 14400 rows, got 1000"):
        ts.etth1(tmp_path)


def test_calendar_features():
    stamps = pd.DatetimeIndex(["2021-01-04 06:00", "2021-01-04 12:00", "2021-01-07 18:00",
                               "2021-01-10 23:30"])           # Mon 6h, Mon 12h, Thu 18h, Sun
    feats, names = ts.calendar_features(stamps)
    assert names == ("hour_sin", "hour_cos", "week_sin", "week_cos")
    np.testing.assert_allclose(feats[0, :2], [1, 0], atol=1e-12)
    np.testing.assert_allclose(feats[1, :2], [0, -1], atol=1e-12)
    # Thursday 18:00 is hour 90 of the week.
    np.testing.assert_allclose(feats[2, 2:], [math.sin(2 * math.pi * 90 / 168),
                                              math.cos(2 * math.pi * 90 / 168)])
    np.testing.assert_allclose(feats[3, 2:], [math.sin(2 * math.pi * 167.5 / 168),
                                              math.cos(2 * math.pi * 167.5 / 168)])


@pytest.fixture(scope="module")
def default_synthetic():
    return ts.synthetic()


def test_synthetic_is_deterministic_and_structured(default_synthetic):
    data = default_synthetic
    assert data.columns == ("y0", "y1", "y2", "hour_sin", "hour_cos", "week_sin", "week_cos")
    assert data.values.shape == (17472, 7) and data.target_indices == (0, 1, 2)
    np.testing.assert_array_equal(ts.synthetic(n_rows=500).values,
                                  data.values[:500])          # same seed, same stream
    assert not np.allclose(ts.synthetic(n_rows=500, seed=1).values[:, :3], data.values[:500, :3])
    feats, _ = ts.calendar_features(data.timestamps)
    np.testing.assert_array_equal(data.values[:, 3:], feats)
    # The seasonal component is exactly periodic with period 168 h.
    np.testing.assert_allclose(data.seasonal[168:336], data.seasonal[:168], atol=1e-12)
    # The residual x - s is AR(1) with coefficient phi: OLS estimate within
    # 4 standard errors sqrt((1 - phi^2) / n).
    e = data.values[:, :3] - data.seasonal
    phi_hat = (e[1:] * e[:-1]).sum(axis=0) / (e[:-1] ** 2).sum(axis=0)
    se = np.sqrt((1 - data.phi ** 2) / len(e))
    assert np.all(np.abs(phi_hat - data.phi) < 4 * se), (phi_hat, data.phi)
    innovations = e[1:] - data.phi * e[:-1]
    np.testing.assert_allclose(innovations.std(axis=0), data.sigma, rtol=4 / math.sqrt(2 * len(e)))
    with pytest.raises(ValueError, match=r"phi: expected \|phi\| < 1"):
        ts.synthetic(phi=(0.5, 1.0, 0.2))
    with pytest.raises(ValueError, match=r"ar_std: expected 2 values.*got \[1.0\]"):
        ts.synthetic(phi=(0.5, 0.5), ar_std=(1.0,))


def test_floor_closed_form(default_synthetic):
    data = default_synthetic
    floor = data.floor_mse(96)
    v = data.scaler().scale[:3] ** 2
    np.testing.assert_allclose(floor.per_step_per_column[0], data.sigma ** 2 / v)   # h = 1
    stationary = data.sigma ** 2 / (1 - data.phi ** 2) / v
    np.testing.assert_allclose(floor.per_step_per_column[-1], stationary * (1 - data.phi ** 192))
    assert floor.per_step.shape == (96,) and np.all(np.diff(floor.per_step) > 0)
    np.testing.assert_allclose(floor.mae_per_step[0],
                               math.sqrt(2 / math.pi) * np.sqrt(data.sigma ** 2 / v).mean())
    # The default data set the forecast experiment is judged against.
    assert floor.n_windows == 3399
    assert floor.mean == pytest.approx(0.721459, abs=1e-6)
    assert ts.floor_mse(96).mean == floor.mean


def test_oracle_forecaster_reaches_the_floor(default_synthetic):
    """Empirical oracle MSE on the test windows equals the closed form within
    4 exact standard errors (mean) / 4.5 (each of the 96 steps), and a forecaster
    with a one-step error in its AR decay is detected."""
    data = default_synthetic
    floor = data.floor_mse(96)
    test = data.windows("test", 96, 96, dtype=np.float64)
    assert test.n == floor.n_windows
    sq = (data.oracle_forecast(test) - test.targets) ** 2
    z = (sq.mean() - floor.mean) / floor.standard_error
    assert abs(z) < 4, z
    z_step = (sq.mean(axis=(0, 2)) - floor.per_step) / floor.per_step_standard_error
    assert np.all(np.abs(z_step) < 4.5), z_step
    # The tolerance is tight enough to see a decay of phi^(h+1) instead of phi^h
    # (in standardized units the change is (phi^(h+1) - phi^h) e(t) / scale).
    e_last = data.values[test.origins - 1, :3] - data.seasonal[test.origins - 1]
    h = np.arange(1, 97)[:, None]
    shift = (data.phi ** (h + 1) - data.phi ** h)[None] * e_last[:, None] / test.scaler.scale[:3]
    wrong = ((data.oracle_forecast(test) + shift - test.targets) ** 2).mean(axis=(0, 2))
    assert abs((wrong[0] - floor.per_step[0]) / floor.per_step_standard_error[0]) > 4.5


def test_floor_standard_error_matches_seed_to_seed_spread():
    """z = (oracle MSE - floor) / standard_error over 200 independent seeds has
    mean 0 and std 1 within 4 of their own standard errors (1/sqrt(n), 1/sqrt(2n))."""
    zs = []
    for seed in range(200):
        data = ts.synthetic(n_rows=24 * 7 * 8, seed=seed)
        floor = data.floor_mse(12, input_length=24)
        test = data.windows("test", 24, 12, dtype=np.float64)
        zs.append((((data.oracle_forecast(test) - test.targets) ** 2).mean() - floor.mean)
                  / floor.standard_error)
    zs = np.array(zs)
    assert abs(zs.mean()) < 4 / math.sqrt(len(zs)), zs.mean()
    assert abs(zs.std(ddof=1) - 1) < 4 / math.sqrt(2 * len(zs)), zs.std(ddof=1)


def test_floor_is_reachable_by_a_linear_readout_of_the_last_row(default_synthetic):
    """The optimal forecast is linear in (x_c(t), calendar phase at t, 1):
    least squares on the training windows matches the oracle's test MSE."""
    data = default_synthetic
    train = data.windows("train", 96, 96, dtype=np.float64)
    test = data.windows("test", 96, 96, dtype=np.float64)

    def design(w, c):
        return np.column_stack([w.inputs[:, -1, c], w.inputs[:, -1, 3:], np.ones(w.n)])

    pred = np.stack([design(test, c) @ np.linalg.lstsq(design(train, c), train.targets[:, :, c],
                                                       rcond=None)[0] for c in range(3)], axis=2)
    readout = ((pred - test.targets) ** 2).mean()
    oracle = ((data.oracle_forecast(test) - test.targets) ** 2).mean()
    assert abs(readout - oracle) < 0.01 * oracle, (readout, oracle)


def test_docstring_examples():
    attempted = 0
    # ``ts.ett`` is the function ett(name, data_dir); the module is imported by name.
    names = ("csv_loader", "splits", "scaling", "windows", "ett", "features",
             "synthetic_series", "history")
    modules = [ts] + [importlib.import_module(f"seqkit.data.timeseries.{n}") for n in names]
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10


# Every name the single-module seqkit.data.timeseries had (before it became a
# package), public and private: callers keep `from seqkit.data import timeseries
# as ts; ts.<name>` unchanged.
OLD_MODULE_NAMES = (
    "Borders", "DEFAULT_RATIOS", "ETTH1_BORDERS", "ETTH1_COLUMNS", "FILL_MODES", "Floor", "Gap",
    "LoadReport", "MODES", "SPLITS", "SeriesSplit", "StandardScaler", "SyntheticSeries",
    "Windows", "_DATE_NAMES", "_LOG", "_SHOW", "_check_columns", "_error_covariance_kernel",
    "_fill", "_frequency_and_gaps", "_is_numeric", "_parse_dates", "_positive_int", "_preview",
    "_resolve_date_column", "calendar_features", "chronological_split", "etth1", "floor_mse",
    "load_csv", "make_windows", "synthetic", "window_starts",
)


def test_package_keeps_every_name_of_the_old_module():
    missing = [name for name in OLD_MODULE_NAMES if not hasattr(ts, name)]
    assert not missing
    # Names added since (issue 15) are public too, and exist.
    new = {"CALENDAR_FEATURES", "ETT_BORDERS", "ETT_DATASETS", "History", "QuantileFloor",
           "SplitSpec", "calendar", "ett", "future_timestamps", "infer_frequency",
           "load_history", "parse_calendar", "parse_split", "same_frequency", "split_borders",
           "with_calendar", "with_split"}
    assert set(ts.__all__) <= set(OLD_MODULE_NAMES) | new
    assert all(hasattr(ts, name) for name in ts.__all__)
    # The names are the functions themselves (not the modules of the same job).
    assert callable(ts.synthetic) and callable(ts.load_csv) and callable(ts.etth1)
    assert ts.synthetic is ts.synthetic_series.synthetic
    assert ts.SeriesSplit is ts.splits.SeriesSplit and ts.Windows is ts.windows.Windows
    assert ts.SPLITS == ("train", "val", "test")


# ---------------------------------------------------------------------------------
# Data that is wrong but was accepted (issue 11): bad cells, infinities, encodings.
# ---------------------------------------------------------------------------------
def _hourly_csv(tmp_path, load, temp=None, name="bad.csv", extra=""):
    """A date,load,temp[,station] file; ``load``/``temp`` are lists of cell texts."""
    temp = temp or [str(2 * i) for i in range(len(load))]
    rows = [f"2020-01-01 {h:02d}:00,{a},{b}{extra and ',s'}" for h, (a, b) in
            enumerate(zip(load, temp))]
    header = "date,load,temp" + (",station" if extra else "")
    return write_csv(tmp_path, header + "\n" + "\n".join(rows), name=name)


def test_mostly_numeric_column_with_bad_cells_is_an_error_not_dropped(tmp_path):
    load = [str(i) for i in range(20)]
    load[3], load[11] = "abc", '"1,5"'  # a decimal comma, quoted
    path = _hourly_csv(tmp_path, load, extra="station")
    with pytest.raises(ValueError) as error:
        ts.load_csv(path)
    message = str(error.value)
    assert "targets:" in message and "'load'" in message
    assert "row 3 (file line 5) 'abc'" in message and "row 11 (file line 13) '1,5'" in message
    assert "coerce=True (flag --coerce)" in message
    # Named explicitly, the same column is refused with the same rows and the fix.
    with pytest.raises(ValueError, match=r"'load'.*2 non-numeric cell.*row 3 .*'abc'.*"
                                         r"coerce=True"):
        ts.load_csv(path, targets=["load", "temp"])
    # A text column (no majority of numbers) is still left out, and said so.
    data = ts.load_csv(path, targets=["temp"])
    assert data.report.unused_columns == ()
    clean = ts.load_csv(_hourly_csv(tmp_path, [str(i) for i in range(20)], name="ok.csv",
                                    extra="station"))
    assert clean.columns == ("load", "temp") and clean.report.unused_columns == ("station",)
    assert "columns not used (not numeric): ['station']" in str(clean.report)
    # A boolean column is not a numeric one with bad cells: left out, no error.
    flags = tmp_path / "flags.csv"
    flags.write_text("date,load,busy\n" + "".join(
        f"2020-01-01 {h:02d}:00,{h},{h % 2 == 0}\n" for h in range(20)))
    assert ts.load_csv(flags).report.unused_columns == ("busy",)


def test_coerce_reads_bad_cells_as_missing_values_through_fill(tmp_path):
    load = [str(i) for i in range(20)]
    load[3] = "abc"
    path = _hourly_csv(tmp_path, load)
    # Coerced, the cell is a missing value: fill='error' refuses it by row.
    with pytest.raises(ValueError, match=r"fill: 'error' expects no NaN.*row 3 \(load='abc'\)"):
        ts.load_csv(path, coerce=True)
    data = ts.load_csv(path, coerce=True, fill="interpolate")
    assert data.columns == ("load", "temp")  # not dropped
    np.testing.assert_array_equal(data.values[:6, 0], [0, 1, 2, 3, 4, 5])  # (2 + 4) / 2 = 3
    assert data.report.coerced == {"load": ((3, "abc"),)} and not data.report.ok
    assert "1 non-numeric cell(s) coerced to NaN: row 3 'abc'" in str(data.report)
    # Explicit targets are coerced alike; the flag value must be a bool.
    explicit = ts.load_csv(path, targets="load", coerce=True, fill="ffill")
    np.testing.assert_array_equal(explicit.values[:5, 0], [0, 1, 2, 2, 4])
    with pytest.raises(ValueError, match=r"coerce: expected True or False, got 'yes'"):
        ts.load_csv(path, coerce="yes")


def test_infinite_values_are_reported_by_row_and_column_and_filled(tmp_path):
    load = [str(i) for i in range(20)]
    temp = [str(2 * i) for i in range(20)]
    load[5], temp[7], temp[17] = "inf", "-inf", "inf"  # row 17 is in the test split
    path = _hourly_csv(tmp_path, load, temp)
    with pytest.raises(ValueError) as error:
        ts.load_csv(path)
    message = str(error.value)
    assert "fill: 'error' expects no NaN or inf" in message and "got 3 rows" in message
    assert "row 5 (load=inf), row 7 (temp=-inf), row 17 (temp=inf)" in message
    data = ts.load_csv(path, fill="interpolate")
    assert np.isfinite(data.values).all()
    assert data.values[5, 0] == 5 and data.values[7, 1] == 14 and data.values[17, 1] == 34
    assert data.report.inf_rows == {"load": (5,), "temp": (7, 17)}
    assert data.report.nan_rows == {} and not data.report.ok
    assert "column 'temp': 2 inf/-inf value(s) at rows 7, 17" in str(data.report)
    ffilled = ts.load_csv(path, fill="ffill")
    assert ffilled.values[5, 0] == 4 and ffilled.values[7, 1] == 12


def test_encoding_errors_name_the_argument_the_offset_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    text = "date,température\n2020-01-01 00:00,1\n" + "".join(
        f"2020-01-01 {h:02d}:00,{h}\n" for h in range(1, 20))
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError) as error:
        ts.load_csv(path)
    message = str(error.value)
    offset = len("date,temp")  # the é: 9 ASCII bytes before it
    assert message.startswith("encoding: cannot decode path=")
    assert str(path) in message and f"byte 0xe9 at byte offset {offset} (line 1)" in message
    assert "encoding='latin-1' (flag --encoding=latin-1)" in message
    data = ts.load_csv(path, encoding="latin-1")
    assert data.columns == ("température",)
    with pytest.raises(ValueError, match=r"encoding: expected the name of a text encoding.*"
                                         r"got 'utf-9'"):
        ts.load_csv(path, encoding="utf-9")


def test_binary_file_is_refused_as_such(tmp_path):
    path = tmp_path / "model.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    with pytest.raises(ValueError, match=r"path: expected a text file, got .*model.csv.*looks "
                                         r"binary \(a NUL byte at byte offset 5"):
        ts.load_csv(path)


def test_load_csv_detects_a_date_column_not_named_date(tmp_path):
    # "day", "week", Prophet's "ds": found by their values; a text column and a
    # column of years (numbers) are not dates.
    path = tmp_path / "shop.csv"
    days = pd.date_range("2022-01-01", periods=12, freq="D").strftime("%Y-%m-%d").tolist()
    order = [2, 0, 1] + list(range(3, 12))
    pd.DataFrame({"store": ["a", "b"] * 6, "year": [2021] * 6 + [2022] * 6,
                  "day": [days[i] for i in order],
                  "sales": [float(i) for i in order]}).to_csv(path, index=False)
    series = ts.load_csv(path, targets=["sales"])
    assert series.report.date_column == "day"
    np.testing.assert_array_equal(series.values[:4, 0], [0.0, 1.0, 2.0, 3.0])  # sorted by day
    assert str(series.timestamps[0].date()) == "2022-01-01"
    pd.DataFrame({"label": ["odd", "even"] * 6, "x": np.arange(12.0)}).to_csv(path, index=False)
    assert ts.load_csv(path).report.date_column is None

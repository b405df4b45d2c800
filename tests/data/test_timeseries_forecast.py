"""Tests of the issue-15 data side of seqkit.data.timeseries: the ETT family,
--split, calendar features, known-future windows, frequencies and future
timestamps, load_history, the synthetic series' closed-form quantiles."""
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from seqkit.data import timeseries as ts


def ett_like(folder, filename, n_rows, freq, columns=ts.ETT_COLUMNS, seed=0):
    dates = pd.date_range("2016-07-01", periods=n_rows, freq=freq)
    frame = pd.DataFrame(np.random.default_rng(seed).normal(size=(n_rows, len(columns))),
                         columns=list(columns))
    frame.insert(0, "date", dates.strftime("%Y-%m-%d %H:%M:%S"))
    folder.mkdir(exist_ok=True)
    frame.to_csv(folder / filename, index=False)
    return folder / filename


# ------------------------------------------------------------------ ETT family
@pytest.mark.parametrize("name,filename,freq,rows_per_hour", [
    ("etth2", "ETTh2.csv", "h", 1), ("ettm1", "ETTm1.csv", "15min", 4),
    ("ETTm2", "ETTm2.csv", "15min", 4)])
def test_ett_family_borders(tmp_path, name, filename, freq, rows_per_hour):
    month = 30 * 24 * rows_per_hour               # Informer: months of 30 days
    ett_like(tmp_path / "ETT-small", filename, 20 * month + 7, freq)
    data = ts.ett(name, tmp_path)
    assert data.borders == ts.Borders((0, 12 * month), (12 * month, 16 * month),
                                      (16 * month, 20 * month))
    assert data.target_columns == ts.ETT_COLUMNS
    test = data.windows("test", 96, 96)
    assert test.origins[0] == 16 * month and test.origins[-1] + 95 == 20 * month - 1
    # Informer's Dataset_ETT_minute borders, written out.
    if rows_per_hour == 4:
        assert data.borders.val == (34560, 46080) and data.borders.test == (46080, 57600)


def test_ett_errors(tmp_path):
    with pytest.raises(ValueError, match=r"name: expected one of .*etth1.*got 'ettx'"):
        ts.ett("ettx", tmp_path)
    with pytest.raises(FileNotFoundError, match="ETTm1.csv"):
        ts.ett("ettm1", tmp_path)
    ett_like(tmp_path, "ETTm1.csv", 1000, "15min")
    with pytest.raises(ValueError, match=r"at least 57600 rows, got 1000"):
        ts.ett("ettm1", tmp_path)
    ett_like(tmp_path, "ETTh2.csv", 100, "h", columns=("HUFL", "OT"))
    with pytest.raises(ValueError, match=r"targets: column 'HULL' is not in the file"):
        ts.ett("etth2", tmp_path)
    assert ts.etth1 is not None and ts.ETT_BORDERS["etth1"] == ts.Borders(*ts.ETTH1_BORDERS)


# ----------------------------------------------------------------------- split
def test_parse_split():
    assert ts.parse_split("0.6, 0.2, 0.2") == ts.SplitSpec(ratios=(0.6, 0.2, 0.2))
    assert ts.parse_split("2017-06-01,2017-10-01").dates == (pd.Timestamp("2017-06-01"),
                                                             pd.Timestamp("2017-10-01"))
    for text, message in [("0.7,0.2,0.2", "summing to 1"), ("0.7,0.3,0", "summing to 1"),
                          ("0.5,0.5", "expected three fractions"), ("a,b,c", "got 'a,b,c'"),
                          ("2017-10-01,2017-06-01", "validation date before the test date"),
                          ("0.7", "expected three fractions"), ("x,2017-01-01", "got 'x")]:
        with pytest.raises(ValueError, match=rf"^--split: .*{message}"):
            ts.parse_split(text)


def test_split_borders():
    t = pd.date_range("2017-01-01", periods=10, freq="D")
    assert ts.split_borders("0.7,0.1,0.2", 100) == ts.chronological_split(100)
    # val starts at the first row on or after the first date, test at the second.
    assert ts.split_borders("2017-01-06,2017-01-09", 10, t) == ts.Borders((0, 5), (5, 8),
                                                                         (8, 10))
    assert ts.split_borders("2017-01-05 12:00,2017-01-10", 10, t) == ts.Borders(
        (0, 5), (5, 9), (9, 10))
    with pytest.raises(ValueError, match=r"--split=2017-01-06,2017-01-09: date borders need a "
                                         r"date column"):
        ts.split_borders("2017-01-06,2017-01-09", 10)
    with pytest.raises(ValueError, match=r"inside the data's date range .*got 2017-02-01"):
        ts.split_borders("2017-01-06,2017-02-01", 10, t)
    with pytest.raises(ValueError, match=r"inside the data's date range .*got 2017-01-01"):
        ts.split_borders("2017-01-01,2017-01-05", 10, t)
    with pytest.raises(ValueError, match=r"rows between the two dates"):
        ts.split_borders("2017-01-06 01:00,2017-01-06 02:00", 10, t)
    with pytest.raises(ValueError, match=r"^--split=0.5,0.3,0.2: n_rows: .*got 3"):
        ts.split_borders("0.5,0.3,0.2", 3)


def test_with_split_keeps_the_data_and_the_too_short_check(tmp_path):
    data = ts.synthetic(n_rows=24 * 7 * 4)
    resplit = ts.with_split(data, "2021-01-18,2021-01-25")
    assert resplit.borders == ts.Borders((0, 24 * 14), (24 * 14, 24 * 21), (24 * 21, 24 * 28))
    np.testing.assert_array_equal(resplit.values, data.values)
    with pytest.raises(ValueError, match=r"input_length=96 \+ horizon=96 = 192 rows are needed"):
        ts.with_split(data, "2021-01-18,2021-01-31").windows("test", 96, 96)


# -------------------------------------------------------------------- calendar
def test_calendar_phases_against_hand_values():
    t = pd.DatetimeIndex(["2024-03-06 18:30"])          # a Wednesday (dow 2), leap year
    values, columns = ts.calendar(t, "minute,hour,dow,dom,doy,month", frequency="15min")
    assert columns == ("minute_sin", "minute_cos", "hour_sin", "hour_cos", "dow_sin",
                       "dow_cos", "dom_sin", "dom_cos", "doy_sin", "doy_cos", "month_sin",
                       "month_cos")
    d = 18.5
    phases = [30 / 60, d / 24, (2 + d / 24) / 7, (5 + d / 24) / 31, (65 + d / 24) / 366, 2 / 12]
    expected = [f(2 * math.pi * p) for p in phases for f in (math.sin, math.cos)]
    np.testing.assert_allclose(values[0], expected, atol=1e-12)


def test_calendar_matches_calendar_features_and_works_on_future_steps():
    t = pd.date_range("2021-01-04", periods=300, freq="h")
    values, _ = ts.calendar(t, ["hour", "dow"])
    np.testing.assert_allclose(values, ts.calendar_features(t)[0], atol=1e-12)
    future = ts.future_timestamps(t[:200], 100)
    np.testing.assert_allclose(ts.calendar(future, "hour,dow", frequency="h")[0], values[200:],
                               atol=1e-12)


def test_calendar_errors():
    daily = pd.date_range("2020-01-01", periods=10, freq="D")
    with pytest.raises(ValueError, match=r"--calendar: unknown feature 'week'; expected names "
                                         r"from minute, hour, dow, dom, doy, month"):
        ts.calendar(daily, "dow,week")
    with pytest.raises(ValueError, match=r"--calendar: 'hour' is finer than the series' "
                                         r"frequency D"):
        ts.calendar(daily, "hour,dow")
    monthly = pd.date_range("2020-01-01", periods=10, freq="MS")
    with pytest.raises(ValueError, match=r"'dom' is finer .* frequency MS"):
        ts.calendar(monthly, "dom")
    assert ts.calendar(monthly, "month")[0].shape == (10, 2)
    with pytest.raises(ValueError, match="distinct"):
        ts.parse_calendar("hour,hour")
    assert ts.parse_calendar("") == () and ts.parse_calendar(None) == ()


def test_with_calendar_appends_input_only_features():
    data = ts.synthetic(n_rows=24 * 7 * 4)
    extended = ts.with_calendar(data, "doy")
    assert extended.columns == data.columns + ("doy_sin", "doy_cos")
    assert extended.target_indices == data.target_indices
    with pytest.raises(ValueError, match=r"already has the column\(s\) \['hour_cos', "):
        ts.with_calendar(data, "hour")
    bare = ts.SeriesSplit(values=data.values, columns=data.columns,
                          target_indices=data.target_indices, borders=data.borders)
    with pytest.raises(ValueError, match="need a date column"):
        ts.with_calendar(bare, "doy")


# ------------------------------------------------------------ known-future windows
def test_future_columns_in_windows():
    values = np.arange(40.0).reshape(20, 2) * [1, 100]          # column 1 known in advance
    w = ts.make_windows(values, 3, 2, start=10, end=20, target_indices=(0,),
                        future_columns=(1,))
    assert w.future.shape == (w.n, 2, 1) and w.future_columns == (1,)
    for i, origin in enumerate(w.origins):
        np.testing.assert_array_equal(w.future[i, :, 0], values[origin:origin + 2, 1])
    plain = ts.make_windows(values, 3, 2, start=10, end=20, target_indices=(0,))
    assert plain.future is None and plain.future_columns == ()
    for name in ("inputs", "targets", "starts"):
        assert getattr(w, name).tobytes() == getattr(plain, name).tobytes()
    with pytest.raises(ValueError, match=r"future_columns: .*not forecast targets.*\[0\]"):
        ts.make_windows(values, 3, 2, start=10, end=20, target_indices=(0,),
                        future_columns=(0,))
    with pytest.raises(ValueError, match=r"future_columns: expected column indices in \[0, 2\)"):
        ts.make_windows(values, 3, 2, start=10, end=20, future_columns=(5,))


def test_series_windows_future_is_scaled_like_inputs():
    data = ts.with_calendar(ts.synthetic(n_rows=24 * 7 * 6), "doy")
    w = data.windows("val", 48, 24, future=["hour_sin", "doy_cos"])
    cols = [data.columns.index("hour_sin"), data.columns.index("doy_cos")]
    scaled = data.scaler().transform(data.values)[:, cols]
    assert w.future.dtype == np.float32
    np.testing.assert_allclose(w.future[3], scaled[w.origins[3]:w.origins[3] + 24], rtol=1e-6)
    assert w.future_columns == tuple(cols)
    with pytest.raises(ValueError, match=r"future: expected one of the columns"):
        data.windows("val", 48, 24, future=["nope"])


# ----------------------------------------------------------- frequency, future steps
def test_infer_frequency_and_future_timestamps():
    for freq, alias in [("h", "h"), ("15min", "15min"), ("D", "D"), ("MS", "MS"),
                        ("W-SUN", "W-SUN")]:
        t = pd.date_range("2020-01-05", periods=30, freq=freq)
        assert ts.infer_frequency(t) == alias
        future = ts.future_timestamps(t[:20], 10)
        assert list(future) == list(t[20:])
    gappy = pd.date_range("2020-01-01", periods=30, freq="D").delete([3, 4, 10])
    assert ts.infer_frequency(gappy) == "D"
    assert ts.same_frequency("D", "24h") and not ts.same_frequency("h", "D")
    with pytest.raises(ValueError, match=r"at least 2 distinct timestamps"):
        ts.infer_frequency(pd.DatetimeIndex(["2020-01-01"]))
    with pytest.raises(ValueError, match=r"horizon: expected a positive integer, got 0"):
        ts.future_timestamps(gappy, 0)


# ---------------------------------------------------------------- load_history
def history_csv(tmp_path, n_rows=30, freq="h", name="new.csv", text=None):
    path = tmp_path / name
    if text is None:
        t = pd.date_range("2022-03-01", periods=n_rows, freq=freq)
        frame = pd.DataFrame({"date": t.strftime("%Y-%m-%d %H:%M:%S"),
                              "load": np.arange(n_rows, dtype=float), "temp": 1.5,
                              "other": "x"})
        frame.to_csv(path, index=False)
    else:
        path.write_text(text)
    return path


def test_load_history_returns_the_last_rows_and_the_next_steps(tmp_path):
    path = history_csv(tmp_path)
    h = ts.load_history(path, ["temp", "load"], frequency="h", input_length=8, horizon=3)
    assert h.columns == ("temp", "load")
    np.testing.assert_array_equal(h.values[:, 1], np.arange(22, 30))
    assert h.timestamps[-1] == pd.Timestamp("2022-03-02 05:00")
    assert list(h.future_timestamps) == list(pd.date_range("2022-03-02 06:00", periods=3,
                                                           freq="h"))


def test_load_history_errors(tmp_path):
    path = history_csv(tmp_path)
    kwargs = dict(frequency="h", input_length=8, horizon=3)
    with pytest.raises(ValueError, match=r"columns: .* missing the column\(s\) \['OT', 'x'\]"):
        ts.load_history(path, ["load", "OT", "x"], **kwargs)
    with pytest.raises(ValueError, match=r"input_length: the forecaster needs the last 40 rows, "
                                         r"but .* has only 30"):
        ts.load_history(path, ["load"], frequency="h", input_length=40, horizon=3)
    with pytest.raises(ValueError, match=r"frequency: .* has frequency D but the training series "
                                         r"has h"):
        ts.load_history(history_csv(tmp_path, freq="D", name="d.csv"), ["load"], **kwargs)
    with pytest.raises(ValueError, match=r"expected a numeric column, got 'other'"):
        ts.load_history(path, ["other"], **kwargs)
    nan = "date,load\n" + "".join(f"2022-01-01 {h:02d}:00,{'' if h == 5 else h}\n"
                                  for h in range(12))
    with pytest.raises(ValueError, match=r"fill: 'error' expects no NaN .*row 5"):
        ts.load_history(history_csv(tmp_path, name="nan.csv", text=nan), ["load"], **kwargs)
    assert ts.load_history(history_csv(tmp_path, name="nan2.csv", text=nan), ["load"],
                           fill="interpolate", **kwargs).values[1, 0] == 5.0
    gap = "date,load\n" + "".join(f"2022-01-01 {h:02d}:00,{h}\n" for h in range(12) if h != 9)
    with pytest.raises(ValueError, match=r"last 8 rows .* every h without gaps"):
        ts.load_history(history_csv(tmp_path, name="gap.csv", text=gap), ["load"], **kwargs)
    nodate = "load\n" + "".join(f"{h}\n" for h in range(12))
    with pytest.raises(ValueError, match=r"date_column: expected a date column"):
        ts.load_history(history_csv(tmp_path, name="nodate.csv", text=nodate), ["load"],
                        **kwargs)
    with pytest.raises(ValueError, match=r"path: expected an existing CSV file"):
        ts.load_history(tmp_path / "none.csv", ["load"], **kwargs)


# ------------------------------------------------- synthetic closed-form quantiles
def test_expected_pinball_of_the_true_gaussian_quantile_by_monte_carlo():
    """E[pinball_q(Y, mu + z_q sigma)] = sigma phi(z_q), checked on 200k draws."""
    rng = np.random.default_rng(0)
    n, sigma = 200_000, 1.7
    y = sigma * rng.standard_normal(n)
    for q in (0.1, 0.5, 0.9):
        z = statistics.NormalDist().inv_cdf(q)
        u = y - z * sigma
        loss = np.maximum(q * u, (q - 1) * u)
        expected = sigma * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        # 5 standard errors of the sample mean: fails with probability < 1e-6.
        assert abs(loss.mean() - expected) < 5 * loss.std() / math.sqrt(n), q


def test_oracle_quantiles_and_optimal_quantile_loss():
    data = ts.synthetic(n_rows=24 * 7 * 30, seed=3)
    test = data.windows("test", 48, 12)
    q = (0.1, 0.5, 0.9)
    quant = data.oracle_quantiles(test, q)
    assert quant.shape == test.targets.shape + (3,)
    np.testing.assert_allclose(quant[..., 1], data.oracle_forecast(test), atol=1e-12)
    assert np.all(np.diff(quant, axis=-1) > 0)
    floor = data.optimal_quantile_loss(test, q)
    # Step 1: the error is one innovation, sigma / scale in standardized units.
    scale = data.scaler().scale[:3]
    z = statistics.NormalDist().inv_cdf(0.9)
    np.testing.assert_allclose(quant[:, 0, :, 2] - quant[:, 0, :, 1],
                               np.broadcast_to(z * data.sigma / scale, (test.n, 3)))
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(floor.pinball[0, :, 2], data.sigma / scale * density)
    # The realised pinball loss of the true quantiles scatters around its
    # expectation; the windows overlap (correlated errors), so only a loose check
    # here: 10% on ~2000 windows x 12 steps x 3 series.
    y = test.targets[..., None].astype(np.float64)
    u = y - quant
    realised = np.maximum(np.asarray(q) * u, (np.asarray(q) - 1) * u).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(realised, floor.mean_pinball, rtol=0.1)
    inside = ((y[..., 0] >= quant[..., 0]) & (y[..., 0] <= quant[..., 2])).mean()
    assert abs(inside - 0.8) < 0.03
    np.testing.assert_allclose(floor.weighted, 2 * test.n * floor.pinball.sum(axis=(0, 1))
                               / np.abs(test.targets.astype(np.float64)).sum())
    with pytest.raises(ValueError, match=r"quantiles: expected levels strictly between 0 and 1"):
        data.oracle_quantiles(test, (0.5, 1.0))

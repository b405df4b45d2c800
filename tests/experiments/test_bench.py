"""experiments.bench runs end to end on tiny shapes (structure only: no timing assertions)."""

import numpy as np
import pytest

from experiments.bench import serving
from experiments.bench import suites as bench


def test_quick_layers_and_lm_suites_report_every_figure():
    results = bench.run_suites(["layers", "lm"], repeats=1, quick=True)
    assert results["peak_matmul_gflops"] > 0
    assert {row["cell"] for row in results["layers"]} == {"elman", "lstm", "gru"}
    for row in results["layers"]:
        assert row["calls_per_round"] == 1
        for mode in ("train", "inference"):
            for name in ("keras", "seqkit", "reference"):
                assert row[f"{mode}_ms_{name}"] > 0
            assert row[f"{mode}_keras_over_seqkit"] == pytest.approx(
                row[f"{mode}_ms_keras"] / row[f"{mode}_ms_seqkit"], rel=1e-2)
    assert all(row["tokens_per_second"] > 0 for row in results["lm"])
    assert [(r["cell"], r["precision"]) for r in results["lm"]] == [
        (cell, precision) for cell in ("lstm", "gru", "elman")
        for precision in ("float32", "mixed_bfloat16")]
    for row in results["lm"]:
        assert row["peak_fraction"] == pytest.approx(
            row["gflops_per_second"] / row["peak_gflops"], rel=2e-2, abs=1e-3)
        assert row["keras_over_seqkit"] == pytest.approx(
            row["keras_step_ms"] / row["step_ms"], rel=1e-2)
    f32, bf16 = results["lm"][0], results["lm"][1]
    assert bf16["speedup_over_float32"] == pytest.approx(
        f32["step_ms"] / bf16["step_ms"], rel=1e-2)


def test_quick_export_suite_times_every_path_against_an_empty_signature():
    (row,) = bench.run_suites(["export"], repeats=1, quick=True)["export"]
    for name in ("saved_model", "saved_model_function", "keras_function", "keras_eager",
                 "empty_signature"):
        assert row[f"step_ms_{name}"] > 0
    assert row["step_ms_over_empty_signature"] == pytest.approx(
        row["step_ms_saved_model"] - row["step_ms_empty_signature"], abs=2e-3)
    assert row["generate_tokens_per_s_saved_model"] > 0
    assert row["generate_tokens_per_s_keras_sample"] > 0


def test_layers_suite_times_consecutive_calls_when_asked():
    (row, *_) = bench.run_suites(["layers"], repeats=1, quick=True, calls=2)["layers"]
    assert row["calls_per_round"] == 2 and row["train_ms_seqkit"] > 0


def test_unknown_suite_is_a_clear_error():
    with pytest.raises(ValueError, match="suite"):
        bench.run_suites(["nope"])


def test_quick_serving_suite_measures_both_exports_beside_in_process():
    results = bench.run_suites(["serving"], repeats=1, quick=True)
    rows = results["serving"]
    assert [(r["task"], r["batch"], r.get("decoding")) for r in rows] == [
        ("intent", 1, None), ("intent", 64, None),
        ("translation", 64, "greedy"), ("translation", 64, "beam 5")]
    for row in rows:
        unit = row["unit"]
        served, in_process = row[f"{unit}_per_s_saved_model"], row[f"{unit}_per_s_keras"]
        assert served > 0 and in_process > 0
        assert row["saved_model_over_keras"] == pytest.approx(served / in_process, rel=2e-2)
        if row["task"] == "intent":
            assert row["saved_model_over_keras_predict"] == pytest.approx(
                served / row["utterances_per_s_keras_predict"], rel=2e-2)
        # The export serves what the in-process model predicts, row for row.
        assert row["same_as_in_process"] == 1.0
    assert all(0 <= r["reached_eos"] <= 1 for r in rows if r["task"] == "translation")
    table = serving.format_table(rows)
    assert "beam 5" in table and "intent" in table


def test_quick_peephole_suite_times_peephole_beside_plain_and_keras():
    from experiments.bench import peephole

    assert "peephole" in bench.SUITES and bench.default_suites() == list(bench.SUITES)
    results = bench.run_suites(["peephole"], repeats=1, quick=True)
    rows = results["peephole"]
    assert [(r["cell"], r["units"]) for r in rows] == [("lstm", u) for u in
                                                       peephole.QUICK["sizes"]]
    for row in rows:
        assert row["peephole_extra_weights"] == 3 * row["units"]
        for mode in ("train", "inference"):
            ms = {name: row[f"{mode}_ms_{name}"] for name in peephole.NAMES}
            assert all(value > 0 for value in ms.values())
            assert row[f"{mode}_peephole_over_plain"] == pytest.approx(
                ms["peephole"] / ms["plain"], rel=1e-2)
            assert row[f"{mode}_keras_over_peephole"] == pytest.approx(
                ms["keras"] / ms["peephole"], rel=1e-2)
            assert row[f"{mode}_reference_over_peephole"] == pytest.approx(
                ms["peephole_reference"] / ms["peephole"], rel=1e-2)
    table = peephole.format_table(rows)
    assert "peep÷plain" in table and len(table.splitlines()) == 1 + 2 * len(rows)


def test_peephole_bench_layers_share_weights_and_use_nonzero_peepholes():
    # The timed layers compute the same function (plain == keras; peephole ==
    # its reference path), so the ratios compare equal work.
    from experiments.bench import peephole

    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype("float32")
    built = peephole._layers(8, x, seed=0)
    outputs = {name: np.asarray(layer(x)) for name, layer in built.items()}
    np.testing.assert_allclose(outputs["plain"], outputs["keras"], atol=1e-5)
    np.testing.assert_allclose(outputs["peephole"], outputs["peephole_reference"], atol=1e-5)
    assert np.abs(built["peephole"].get_weights()[3]).min() > 0
    assert np.abs(outputs["peephole"] - outputs["plain"]).max() > 1e-4

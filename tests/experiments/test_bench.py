"""experiments.bench runs end to end on tiny shapes (structure only: no timing assertions)."""

import pytest

from experiments.bench import suites as bench


def test_quick_layers_and_lm_suites_report_every_figure():
    results = bench.run_suites(["layers", "lm"], repeats=1, quick=True)
    assert results["peak_matmul_gflops"] > 0
    assert {row["cell"] for row in results["layers"]} == {"elman", "lstm", "gru"}
    for row in results["layers"]:
        for mode in ("train", "inference"):
            for name in ("keras", "seqkit", "reference"):
                assert row[f"{mode}_ms_{name}"] > 0
            assert row[f"{mode}_keras_over_seqkit"] == pytest.approx(
                row[f"{mode}_ms_keras"] / row[f"{mode}_ms_seqkit"], rel=1e-2)
    assert all(row["tokens_per_second"] > 0 for row in results["lm"])


def test_unknown_suite_is_a_clear_error():
    with pytest.raises(ValueError, match="suite"):
        bench.run_suites(["nope"])

"""The benchmark suites behind ``python -m experiments.bench`` (see ``__main__.py``)."""

import importlib
import os
import platform

from experiments.bench import common

SUITES = ("layers", "clockwork", "lm", "export", "serving")


def run_suites(suites, repeats=10, quick=False, seed=0):
    """Run the named suites; returns the JSON-able results dict."""
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise ValueError(
            f"Received an invalid value for argument `suite`, expected names from "
            f"{list(SUITES)}, got {unknown}."
        )
    peak = common.peak_matmul_flops(size=256 if quick else 2048)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "peak_matmul_gflops": round(peak / 1e9, 2),
        "quick": quick,
    }
    for name in SUITES:
        if name not in suites:
            continue
        module = importlib.import_module(f"experiments.bench.{name}")
        kwargs = {"peak_flops": peak} if name in ("layers", "lm") else {}
        rows = module.run(repeats=repeats, quick=quick, seed=seed, **kwargs)
        print(module.format_table(rows), flush=True)
        results[name] = rows
    return results

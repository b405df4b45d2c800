"""The benchmark suites behind ``python -m experiments.bench`` (see ``__main__.py``)."""

import importlib
import os
import platform

from absl import logging

from experiments.bench import common

SUITES = ("layers", "clockwork", "lm", "export", "serving", "peephole")


def module_name(suite):
    return f"experiments.bench.{suite}"


def default_suites():
    """Every registered suite: ``--suite``'s default."""
    return list(SUITES)


def check_suites(suites):
    """Raise a ValueError naming an unknown suite."""
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise ValueError(
            f"Received an invalid value for argument `suite`, expected names from "
            f"{list(SUITES)}, got {unknown}."
        )


def run_suites(suites, repeats=10, quick=False, seed=0, calls=1):
    """Run the named suites (checked first, ``check_suites``); returns the JSON-able
    results dict."""
    check_suites(suites)
    peak = common.peak_matmul_flops(size=256 if quick else 2048)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "peak_matmul_gflops": round(peak / 1e9, 2),
        "quick": quick,
    }
    for name in SUITES:
        if name not in suites:
            continue
        logging.info("suite %s", name)
        module = importlib.import_module(module_name(name))
        kwargs = {"peak_flops": peak} if name in ("layers", "lm") else {}
        if name == "layers":
            kwargs["calls"] = calls
        rows = module.run(repeats=repeats, quick=quick, seed=seed, **kwargs)
        print(module.format_table(rows), flush=True)
        results[name] = rows
    return results

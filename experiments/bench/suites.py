"""The benchmark suites behind ``python -m experiments.bench`` (see ``__main__.py``)."""

import importlib
import importlib.util
import os
import platform

from absl import logging

from experiments.bench import common

SUITES = ("layers", "clockwork", "lm", "export", "serving", "peephole")


def module_name(suite):
    return f"experiments.bench.{suite}"


def available(suite):
    """Whether the suite's module exists (a suite may be registered before it is written)."""
    return importlib.util.find_spec(module_name(suite)) is not None


def default_suites():
    """Every registered suite whose module exists: ``--suite``'s default."""
    return [name for name in SUITES if available(name)]


def check_suites(suites):
    """Raise a ValueError naming an unknown suite, or a registered one whose module is
    missing."""
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise ValueError(
            f"Received an invalid value for argument `suite`, expected names from "
            f"{list(SUITES)}, got {unknown}."
        )
    missing = [name for name in SUITES if name in suites and not available(name)]
    if missing:
        files = ", ".join(module_name(m).replace(".", "/") + ".py" for m in missing)
        raise ValueError(
            f"Received an invalid value for argument `suite`: {missing} not available yet "
            f"({files} not found); expected names from {default_suites()}."
        )


def run_suites(suites, repeats=10, quick=False, seed=0):
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
        rows = module.run(repeats=repeats, quick=quick, seed=seed, **kwargs)
        print(module.format_table(rows), flush=True)
        results[name] = rows
    return results

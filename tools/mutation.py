#!/usr/bin/env python3
"""Mutation testing (`make mutation`): how many small code changes the unit suite notices.

mutmut makes one mutant per small change (an operator, a constant, a removed argument...) in each
function of the modules listed in ``[tool.mutmut] only_mutate`` of pyproject.toml (the one list to
extend), and runs the unit suite (``-m "not integration and not browser"``) against each inside
``mutants/``. A mutant is *killed* when a test fails, *survived* when every test still passes,
*no_tests* when no unit test reaches the function, *timeout* when the tests ran too long, and
*suspicious* when the run ended strangely.

Measured, per module and in total: ``killed_share = killed / mutants`` (timeouts, no_tests and
survivors all count against it). Printed as JSON on stdout; mutmut's own output goes to stderr.
Surviving mutant names are written per module to ``mutants/survivors.txt``
(``python -m mutmut show NAME`` prints the change). Exits 0 after reporting, or 1 with
``--min-share X`` when any module's killed_share is under X.

By default ``mutants/`` is removed first, so every figure comes from this run: mutmut's cache
keeps a survivor's verdict when only tests changed. ``--incremental`` keeps the cache (faster,
for iterating on one module); ``--no-run`` only reports the last run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
# mutmut's status words -> the summary's fields
Row = dict[str, "int | float | None"]
FIELDS = {"killed": "killed", "survived": "survived", "timeout": "timeout",
          "suspicious": "suspicious", "no tests": "no_tests"}


def modules() -> list[str]:
    """Dotted names of the mutated modules, from ``only_mutate`` (glob patterns allowed)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    paths = [p for pattern in patterns for p in sorted(glob.glob(pattern, root_dir=ROOT)) if p.endswith(".py")]
    return list(dict.fromkeys(p.removesuffix(".py").replace("/", ".") for p in paths))


def run_mutmut(max_children: int, incremental: bool) -> None:
    if not incremental:
        shutil.rmtree(MUTANTS, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)],
                   cwd=ROOT, stdout=sys.stderr, check=True)


def statuses() -> dict[str, str]:
    """Mutant name -> mutmut status, from ``mutmut results --all true``."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)


def summarise(names: list[str], status_by_mutant: dict[str, str]) -> tuple[dict[str, Row], dict[str, list[str]]]:
    """Per-module and total counts, and the surviving mutant names per module."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in [*names, "total"]}
    survivors: dict[str, list[str]] = {name: [] for name in names}
    for mutant, status in status_by_mutant.items():
        module = max((n for n in names if mutant.startswith(n + ".")), key=len, default=None)
        if module is None:
            continue
        field = FIELDS.get(status, "other")
        for key in (module, "total"):
            counts[key]["mutants"] += 1
            counts[key][field] += 1
        if status == "survived":
            survivors[module].append(mutant)
    summary: dict[str, Row] = {}
    for name, c in counts.items():
        row: Row = {k: c[k] for k in ["mutants", *FIELDS.values()]}
        if c["other"]:
            row["other"] = c["other"]
        row["killed_share"] = round(c["killed"] / c["mutants"], 4) if c["mutants"] else None
        summary[name] = row
    return summary, survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-share", type=float, help="exit 1 if any module's killed_share is below this")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="parallel mutant runs")
    parser.add_argument("--incremental", action="store_true", help="keep mutants/ and mutmut's cached verdicts")
    parser.add_argument("--no-run", action="store_true", help="report the last run without running mutmut")
    parser.add_argument("--survivors", action="store_true", help="also list surviving mutants in the JSON")
    args = parser.parse_args()

    started = time.monotonic()
    if not args.no_run:
        run_mutmut(args.max_children, args.incremental)
    names = modules()
    summary, survivors = summarise(names, statuses())
    lines = [f"{mutant}\n" for name in names for mutant in [f"# {name}", *survivors[name]]]
    MUTANTS.mkdir(exist_ok=True)
    (MUTANTS / "survivors.txt").write_text("".join(lines))

    report: dict[str, object] = {"modules": {n: summary[n] for n in names}, "total": summary["total"]}
    if not args.no_run:
        report["seconds"] = round(time.monotonic() - started, 1)
    if args.survivors:
        report["survivors"] = survivors
    print(json.dumps(report, indent=2))

    if args.min_share is not None:
        under = [n for n in names if (summary[n]["killed_share"] or 0.0) < args.min_share]
        if under:
            print(f"killed share under {args.min_share}: {', '.join(under)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

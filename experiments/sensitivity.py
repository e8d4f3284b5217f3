"""Global sensitivity analysis (Morris screening, Sobol indices) over configuration keys.

    .venv/bin/python -m experiments.sensitivity                       # Morris, the defaults below
    .venv/bin/python -m experiments.sensitivity --method sobol --n 16
    .venv/bin/python -m experiments.sensitivity \\
        --param ecosystem.firms.growth_quality=0.3:0.7 --param ecosystem.vc.reserve_ratio=0.2:0.6 \\
        --outcome new_gazelles_observed --outcome ts:vc_invested:sum \\
        --out sensitivity/demo -- scale=0.01 years=5

The work is done by :func:`sim.analysis.sensitivity.run_sensitivity` (see its module for the
outputs); this is its command line.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from experiments.cli import TOOL_ERRORS, exit_status, run
from sim.analysis.sensitivity import (
    DEFAULT_BASE,
    DEFAULT_OUTCOMES,
    DEFAULT_PARAMS,
    MIN_EVENTS,
    parse_param,
    run_sensitivity,
)

EPILOG = f"""\
defaults (used when --param or --outcome is not given):
  parameters: {' '.join(f'{k}={lo:g}:{hi:g}' for k, (lo, hi) in DEFAULT_PARAMS.items())}
  outcomes:   {' '.join(DEFAULT_OUTCOMES)}
  overrides:  {' '.join(DEFAULT_BASE)}

configuration overrides for every run come after "--", as on `python -m sim`; they are added
to the default overrides above (a default is replaced only by an override of the same key), e.g.
  python -m experiments.sensitivity --param ecosystem.exits.ipo_rate=0.05:0.2 \\
      --param ecosystem.firms.growth_quality=0.3:0.7 -- scale=0.05 years=8 output.plots=false

outcomes: a total of summary.json (new_gazelles_observed, firms_born, ipos_observed, ...) or
ts:<timeseries column>:<mean|sum|last|max> (docs/outputs.md). An outcome counting fewer than
{MIN_EVENTS} events per run is flagged: raise scale or years for it.

writes OUT/ranking.csv, OUT/ranking.parquet, OUT/morris.png or OUT/sobol.png and OUT/runs/
(one directory per run, and results.parquet); the same command resumes an interrupted analysis.
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    base = None
    if "--" in argv:
        i = argv.index("--")
        argv, base = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="python -m experiments.sensitivity", description=__doc__.split("\n\n")[0],
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", choices=("morris", "sobol"), default="morris", help="default: morris")
    ap.add_argument("--param", action="append", metavar="KEY=LO:HI",
                    help="a parameter and its range (repeat; default below)")
    ap.add_argument("--outcome", action="append", metavar="NAME",
                    help="a total or ts:<column>:<agg> (repeat; default below)")
    ap.add_argument("--n", type=int, default=None,
                    help="Morris trajectories (default 5) or Sobol base sample (default 8)")
    ap.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    ap.add_argument("--replicates", type=int, default=1, help="seeds per point, averaged (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="first seed of every point (default 0)")
    ap.add_argument("--jobs", type=int, default=-1, help="parallel runs (default -1: every core)")
    ap.add_argument("--out", default="sensitivity", help="output directory (default sensitivity)")
    args = ap.parse_args(argv)
    try:
        params = dict(parse_param(p) for p in args.param) if args.param else None
        n = args.n or (5 if args.method == "morris" else 8)
        res = run_sensitivity(params, args.outcome, method=args.method, n=n, levels=args.levels, base=base,
                              seed=args.seed, replicates=args.replicates, out=args.out, n_jobs=args.jobs,
                              log=lambda msg: print(msg, file=sys.stderr))
    except TOOL_ERRORS as exc:
        return exit_status(exc, f"{args.out}/runs")
    cols = ["outcome", "rank", "parameter"] + [c for c in ("mu_star", "sigma", "S1", "ST") if c in res.ranking.columns]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(res.ranking[cols].to_string(index=False))
    for note in res.warnings:
        print(f"warning: {note}", file=sys.stderr)
    for p in res.paths.values():
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    run(main)

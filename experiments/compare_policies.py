"""Compare policy interventions with the baseline over many seeds (common random numbers).

    .venv/bin/python -m experiments.compare_policies                        # every conf/policy/ file, 8 seeds
    .venv/bin/python -m experiments.compare_policies --policies guidance_fund scene_opening \\
        guidance_fund+scene_opening "local_patience:patience_years=2" --seeds 10 --jobs 2
    .venv/bin/python -m experiments.compare_policies ecosystem=shenzhen_htz --outdir out/sz
    .venv/bin/python -m experiments.compare_policies --preset path/to/my_park.yaml --policies guidance_fund
    .venv/bin/python -m experiments.compare_policies --policies guidance_fund state_incubator \\
        --budget-mcny 300 --target-halfwidth new_gazelles=10% --max-seeds 32

The work is done by :func:`sim.analysis.compare.compare_policies`; this is its command line.
"""

from __future__ import annotations

import argparse
import sys

from experiments.cli import TOOL_ERRORS, exit_status, run
from sim.analysis.compare import DEFAULT_MAX_SEEDS, DEFAULT_OVERRIDES, DEFAULT_SCALE, compare_policies
from sim.analysis.paired import OUTCOMES

PARK = "a teaching-size park" if DEFAULT_SCALE < 1 else "the full park"
EPILOG = f"""\
settings: positional arguments are configuration overrides (as on `python -m sim`) added to
the comparison's defaults, {' '.join(DEFAULT_OVERRIDES)} (the scale is
sim.analysis.compare.DEFAULT_SCALE = {DEFAULT_SCALE:g}, {PARK}): a default
is replaced only by an override of the same key, so `ecosystem=shenzhen_htz` keeps them.
--no-defaults starts from the preset itself (full scale, its observed years).

your own park: --preset path/to/my_park.yaml (or the override ecosystem=path/to/my_park.yaml)
uses a preset file outside conf/, written like conf/ecosystem/zhongguancun.yaml (keys it leaves
out keep their defaults); it is checked like a built-in preset before anything runs.

enough worlds: the report gives, for every outcome, how many seeds would tell the observed
effect from zero. --target-halfwidth OUTCOME=H (repeatable; H in the outcome's unit, or N%
of the baseline's mean) adds seeds in rounds until every arm's 95 % interval is at most ±H
wide, up to --max-seeds (default {DEFAULT_MAX_SEEDS}). Outcomes: {', '.join(OUTCOMES)}.

equal budgets: --budget-mcny B scales every policy so that each arm may spend B million CNY a
year (at the size of the real park, like every budget); effects are also given per 100
million CNY.

writes into --outdir: outcomes.parquet, differences.parquet, costs.parquet, timeline.parquet,
split.parquet, comparison.json, differences.png, costs.png, timeline.png, split.png,
report.md (English), report.zh.md (Chinese) and runs/ (one directory per run). Run the same
command again to resume after Ctrl-C: finished runs are reused. docs/outputs.md describes
every table.
"""


def _halfwidth(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: write OUTCOME=H, e.g. new_unicorns=0.5 or new_gazelles=10%")
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.compare_policies", description=__doc__.splitlines()[0],
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="configuration overrides for every run, added to the defaults")
    parser.add_argument("--policies", nargs="+", default=None, metavar="ARM",
                        help="policy arms: a conf/policy/ name, a+b for several together, name:key=value for "
                             "parameters (default: every file in conf/policy/)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds (worlds) per arm, 0..N-1 (default 8)")
    parser.add_argument("--target-halfwidth", action="append", type=_halfwidth, metavar="OUTCOME=H",
                        help="add seeds until every 95%% interval of OUTCOME is at most ±H (repeatable)")
    parser.add_argument("--max-seeds", type=int, default=None, help=f"cap on the seeds (default {DEFAULT_MAX_SEEDS})")
    parser.add_argument("--budget-mcny", type=float, default=None, metavar="B",
                        help="scale every policy to B million CNY of public spending a year")
    parser.add_argument("--preset", metavar="NAME|FILE",
                        help="the ecosystem preset: a name in conf/ecosystem/ or the path of a preset file of your own "
                             "(my_park.yaml), checked like a built-in one; the same as the override ecosystem=...")
    parser.add_argument("--no-defaults", action="store_true",
                        help="start from the preset itself, without the comparison's defaults")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2; 1 runs them one by one)")
    parser.add_argument("--outdir", default="outputs/compare_policies", help="output directory")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        print("error: --seeds must be at least 1 (2 or more for intervals).", file=sys.stderr)
        return 2
    overrides = list(args.overrides)
    if args.preset is not None:
        if any(o.partition("=")[0].strip() == "ecosystem" for o in overrides):
            print("error: give the preset once, as --preset or as ecosystem=..., not both.", file=sys.stderr)
            return 2
        overrides.insert(0, f"ecosystem={args.preset}")
    try:
        comp = compare_policies(overrides, args.policies, args.seeds, args.outdir, jobs=args.jobs,
                                defaults=() if args.no_defaults else DEFAULT_OVERRIDES, budget_mcny=args.budget_mcny,
                                target_halfwidth=dict(args.target_halfwidth or []), max_seeds=args.max_seeds,
                                plots=not args.no_plots, log=lambda msg: print(msg, file=sys.stderr))
    except TOOL_ERRORS as exc:
        return exit_status(exc, f"{args.outdir}/runs")
    print(f"wrote {comp.outdir}/report.md and report.zh.md ({comp.setup['wall_seconds']:.0f} s, "
          f"{len(comp.setup['seeds'])} seeds)")
    return 0


if __name__ == "__main__":
    run(main)

"""Compare policy interventions with the baseline over many seeds (common random numbers).

    .venv/bin/python -m experiments.compare_policies                        # every conf/policy/ file, 8 seeds
    .venv/bin/python -m experiments.compare_policies --policies guidance_fund scene_opening \\
        guidance_fund+scene_opening "local_patience:patience_years=2" --seeds 10 --jobs 2
    .venv/bin/python -m experiments.compare_policies --outdir out/compare scale=0.05 years=8

Positional arguments are configuration overrides shared by every run (Hydra syntax, as for
``python -m sim``); without any, a teaching-size park (scale=0.02 years=6
ecosystem.warmup_years=3) that finishes in a few minutes on a laptop. Writes outcomes.parquet,
differences.parquet, costs.parquet, differences.png, costs.png, report.md and comparison.json
into ``--outdir`` (default ``outputs/compare_policies``). The work is done by
:func:`sim.analysis.compare.compare_policies`; mistakes in the overrides or the policies stop before
the first run with one line (exit status 2).
"""

from __future__ import annotations

import argparse
import sys

from sim.analysis.compare import TEACHING_OVERRIDES, compare_policies
from sim.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.compare_policies", description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="configuration overrides for every run (default: a teaching-size park)")
    parser.add_argument("--policies", nargs="+", default=None, metavar="ARM",
                        help="policy arms: a conf/policy/ name, a+b for several together, name:key=value for parameters "
                             "(default: every file in conf/policy/)")
    parser.add_argument("--seeds", type=int, default=8, help="number of seeds (worlds) per arm, seeds 0..N-1 (default 8)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2; 1 runs them one by one)")
    parser.add_argument("--outdir", default="outputs/compare_policies", help="output directory")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    args = parser.parse_args(argv)

    overrides = args.overrides or TEACHING_OVERRIDES
    if args.seeds < 1:
        print("error: --seeds must be at least 1 (2 or more for intervals).", file=sys.stderr)
        return 2
    try:
        comp = compare_policies(overrides, args.policies, args.seeds, args.outdir, jobs=args.jobs,
                                plots=not args.no_plots, log=lambda msg: print(msg, file=sys.stderr))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"error: interrupted; the finished runs in {args.outdir}/runs are kept: run the same command again "
              "to resume.", file=sys.stderr)
        return 130
    print(f"wrote {comp.outdir}/report.md ({comp.setup['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

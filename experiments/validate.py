"""Validate an ecosystem preset against the report figures (conf/targets/) over several seeds.

    .venv/bin/python -m experiments.validate ecosystem=zhongguancun
    .venv/bin/python -m experiments.validate ecosystem=shenzhen_htz --seeds 4 scale=0.1 --out out/val_sz
    .venv/bin/python -m experiments.validate ecosystem=china --targets cn_new_unicorns_2019 --jobs 2
    .venv/bin/python -m experiments.validate ecosystem=path/to/my_park.yaml --targets-of zhongguancun

Runs R seeds of the preset (default: the preset's run settings in conf/targets/*.yaml), computes
every target that applies to it from the runs' output tables, and writes a Markdown report
(report.md) with plots and the numbers behind them (CSV and Parquet) into --out (default
outputs/validation/<preset>). The preset is a name in conf/ecosystem/ or the path of a preset file
of your own (ending in .yaml; its targets are those of its `name`, or of --targets-of). Other
key=value arguments override the run configuration as on `python -m sim` (e.g. scale=0.1,
ecosystem.warmup_years=4), added to the preset's run settings; `years` is set from the targets'
dates unless given. Each seed runs into <out>/runs/seed=<n>: a validation stopped part-way
(Ctrl-C) resumes when the same command is run again. A thin wrapper around
sim.validation.report.validate.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from experiments.cli import TOOL_ERRORS, exit_status, run
from sim.compose import preset_name
from sim.config import ConfigError
from sim.validation.registry import load_registry
from sim.validation.report import validate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.validate", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="ecosystem=NAME or ecosystem=path/to/my_park.yaml (required) and "
                                                "Hydra-style overrides, e.g. scale=0.1")
    p.add_argument("--seeds", type=int, help="number of seeds (default: the preset's run settings)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel processes (default 2)")
    p.add_argument("--out", help="output directory (default outputs/validation/<preset>)")
    p.add_argument("--targets", help="comma-separated target names (default: every target of the preset)")
    p.add_argument("--targets-of", help="use the targets of another preset (e.g. for a calibrated copy)")
    p.add_argument("--keep-runs", action="store_true", help="also write every run's tables under <out>/runs/")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target misses")
    args = p.parse_intermixed_args(argv)
    argv = sys.argv[1:] if argv is None else argv

    out = None
    try:
        preset = None
        rest = []
        for o in args.overrides:
            k, sep, v = o.partition("=")
            if sep and k == "ecosystem":
                preset = v
            else:
                rest.append(o)
        if not preset:
            raise ConfigError("give the preset as ecosystem=NAME; presets with targets: "
                              + ", ".join(load_registry().presets()))
        out = args.out or os.path.join("outputs", "validation", preset_name(preset))
        res = validate(
            preset,
            seeds=args.seeds,
            overrides=rest,
            outdir=out,
            seed_start=args.seed_start,
            targets=[t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None,
            targets_of=args.targets_of,
            n_jobs=args.jobs,
            keep_runs=args.keep_runs,
            command="python -m experiments.validate " + " ".join(shlex.quote(a) for a in argv),
            log=lambda msg: print(msg, file=sys.stderr),
        )
    except TOOL_ERRORS as exc:
        return exit_status(exc, f"{out}/runs" if out else None)
    t = res.targets
    width = max(len(n) for n in t["target"])
    for _, r in t.iterrows():
        shown = "–" if r["status"] == "n/a" else f"{r['mean']:.4g} [{r['seed_q025']:.4g}, {r['seed_q975']:.4g}]"
        print(f"{r['target']:<{width}}  {r['status']:<4}  simulated {shown}  reported {r['reported']}  band "
              f"[{r['band_low']:g}, {r['band_high']:g}]")
    print(f"{res.passed} pass, {res.missed} miss, {len(t) - res.passed - res.missed} not computable; report: "
          f"{res.outdir / 'report.md'}")
    return 1 if (args.strict and res.missed) else 0


if __name__ == "__main__":
    run(main)

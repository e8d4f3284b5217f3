"""Validate an ecosystem preset against the report figures (conf/targets/) over several seeds.

    .venv/bin/python -m experiments.validate ecosystem=zhongguancun
    .venv/bin/python -m experiments.validate ecosystem=shenzhen_htz --seeds 4 scale=0.1 --out out/val_sz
    .venv/bin/python -m experiments.validate ecosystem=china --targets cn_new_unicorns_2019 --jobs 2
    .venv/bin/python -m experiments.validate ecosystem=path/to/my_park.yaml --targets-of zhongguancun
    .venv/bin/python -m experiments.validate --all --write-status     # every preset; docs/validation-status.md

Runs R seeds of the preset (default: the preset's run settings in conf/targets/*.yaml), computes
every target that applies to it from the runs' output tables, and writes a Markdown report
(report.md) with plots and the numbers behind them (CSV and Parquet) into --out (default
outputs/validation/<preset>). The preset is a name in conf/ecosystem/ or the path of a preset file
of your own (ending in .yaml; its targets are those of its `name`, or of --targets-of). Other
key=value arguments override the run configuration as on `python -m sim` (e.g. scale=0.1,
ecosystem.warmup_years=4), added to the preset's run settings; `years` is set from the targets'
dates unless given. Each seed runs into <out>/runs/seed=<n>: a validation stopped part-way
(Ctrl-C) resumes when the same command is run again. The defaults are each preset's faithful
settings (full scale, at least 5 seeds); the last line gives the share of the preset's evidence
targets (input checks left out) that pass, against the goal of 80 %. --all validates every preset
with targets; --write-status records each validated preset in docs/validation-status/<preset>.csv
and regenerates docs/validation-status.md from those records (sim.validation.status). A thin
wrapper around sim.validation.report.validate.
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
from sim.validation.status import GOAL, record_status, write_status


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
    p.add_argument("--all", action="store_true", help="validate every preset that has targets, one after the other")
    p.add_argument("--write-status", action="store_true",
                   help="record the result in docs/validation-status/<preset>.csv and regenerate "
                        "docs/validation-status.md (only with the presets' own settings: no overrides)")
    args = p.parse_intermixed_args(argv)
    argv = sys.argv[1:] if argv is None else argv

    out = None
    try:
        presets = []
        rest = []
        for o in args.overrides:
            k, sep, v = o.partition("=")
            if sep and k == "ecosystem":
                presets.append(v)
            else:
                rest.append(o)
        if args.all:
            if presets:
                raise ConfigError("give either --all or ecosystem=NAME, not both")
            presets = load_registry().presets()
        if not presets:
            raise ConfigError("give the preset as ecosystem=NAME (or --all); presets with targets: "
                              + ", ".join(load_registry().presets()))
        if args.write_status and (rest or args.targets or args.targets_of):
            raise ConfigError("--write-status records a preset at its own validation settings: drop the overrides "
                              f"({' '.join(rest) or '--targets/--targets-of'}); --seeds may be given")
        results = []
        for preset in presets:
            out = args.out if (args.out and len(presets) == 1) else (
                os.path.join(args.out, preset_name(preset)) if args.out else os.path.join("outputs", "validation",
                                                                               preset_name(preset)))
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
            _print(res)
            if args.write_status:
                record_status(preset, res.targets, scale=res.plan.cfg.scale, seeds=res.plan.seeds)
                print(f"status: {write_status()}")
            results.append(res)
    except TOOL_ERRORS as exc:
        return exit_status(exc, f"{out}/runs" if out else None)
    return 1 if (args.strict and any(r.missed for r in results)) else 0


def _print(res) -> None:
    t = res.targets
    width = max(len(n) for n in t["target"])
    for _, r in t.iterrows():
        shown = "–" if r["status"] == "n/a" else f"{r['mean']:.4g} [{r['seed_q025']:.4g}, {r['seed_q975']:.4g}]"
        tag = " (input check)" if r["input_check"] else ""
        print(f"{r['target']:<{width}}  {r['status']:<4}  simulated {shown}  reported {r['reported']}  band "
              f"[{r['band_low']:g}, {r['band_high']:g}]{tag}")
    ev = len(res.evidence)
    share = res.evidence_passed / ev if ev else float("nan")
    print(f"{res.preset}: {res.passed} pass, {res.missed} miss, {len(t) - res.passed - res.missed} not computable; "
          f"evidence targets passing {res.evidence_passed} / {ev} ({share:.0%}; goal {GOAL:.0%}: "
          f"{'met' if ev and share >= GOAL else 'not met'}); scale {res.plan.cfg.scale:g}, "
          f"{len(res.plan.seeds)} seeds; report: {res.outdir / 'report.md'}")

if __name__ == "__main__":
    run(main)

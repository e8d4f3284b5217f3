"""Calibrate parameters of an ecosystem preset to report figures (method of simulated moments, optuna TPE).

    .venv/bin/python -m experiments.calibrate --spec conf/calibration/zhongguancun.yaml
    .venv/bin/python -m experiments.calibrate ecosystem=zhongguancun \\
        --param ecosystem.funding.revenue_multiple=2:15:log --param ecosystem.firms.growth_quality=0.2:1.0 \\
        --targets zgc_unicorn_stock_2019,zgc_new_unicorns_2024 --trials 40 --seeds 3 scale=0.02

Every candidate runs the same seeds (common random numbers); the loss is the weighted mean of
squared distances of the seed means to the targets' tolerance bands (0 inside a band; outside,
the distance from the reported figure in units of the band, at least 1). Held-out targets
(--holdout; default: the preset's other targets) are computed for every candidate and reported
separately as out-of-sample checks. Trials are stored in <out>/calibration.db and each
candidate's seeds in <out>/runs/: stop with Ctrl-C and run the same command again to resume
(the interrupted trial is tried again, reusing its finished seeds). Writes
<out>/<preset>_calibrated.yaml (and conf/ecosystem/ with --install), trials.csv,
calibration_report.md and loss.png. A --spec YAML file may hold any of: preset, params (list of
"key=low:high[:log][:int]"), targets, holdout, trials, seeds, seed_start, scale, overrides;
command-line options win. Needs optuna (pip install -e '.[calibrate]').
"""

from __future__ import annotations

import argparse
import importlib.util
import os

import yaml

from experiments.cli import TOOL_ERRORS, exit_status, run
from sim.compose import preset_name
from sim.config import ConfigError
from sim.validation.calibrate import calibrate


def _names(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text is not None else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.calibrate", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="ecosystem=NAME (or ecosystem=path/to/my_park.yaml) and Hydra-style "
                                                "overrides, e.g. scale=0.02")
    p.add_argument("--spec", help="YAML file with the calibration's specification")
    p.add_argument("--param", action="append", default=None, help="key=low:high[:log][:int]; repeat for several")
    p.add_argument("--targets", help="comma-separated targets to fit")
    p.add_argument("--holdout", help="comma-separated held-out targets (default: the preset's other targets)")
    p.add_argument("--no-holdout", action="store_true", help="hold out no target")
    p.add_argument("--trials", type=int, help="completed trials wanted in the study (default 30)")
    p.add_argument("--seeds", type=int, help="seeds per candidate (default 3)")
    p.add_argument("--seed-start", type=int, help="first seed (default 0)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel processes per candidate "
                                                                                 "(default 2)")
    p.add_argument("--out", help="output directory, also the study's storage (default outputs/calibration/<preset>)")
    p.add_argument("--study", help="study name (default <preset>-calibration)")
    p.add_argument("--start", choices=("preset", "none"), default="preset",
                   help="evaluate the preset's own values first (default) or let the sampler start")
    p.add_argument("--sampler-seed", type=int, default=0)
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--install", action="store_true", help="also write conf/ecosystem/<preset>_calibrated.yaml")
    args = p.parse_intermixed_args(argv)

    out = None
    try:
        spec = {}
        if args.spec:
            try:
                with open(args.spec, encoding="utf-8") as fh:
                    spec = yaml.safe_load(fh) or {}
            except OSError as exc:
                raise ConfigError(f"--spec {args.spec}: {exc.strerror}") from None
            allowed = {"preset", "params", "targets", "holdout", "trials", "seeds", "seed_start", "scale", "overrides"}
            if not isinstance(spec, dict) or set(spec) - allowed:
                raise ConfigError(f"--spec {args.spec}: allowed keys are {', '.join(sorted(allowed))}")
        overrides = list(spec.get("overrides") or [])
        preset = spec.get("preset")
        for o in args.overrides:
            k, sep, v = o.partition("=")
            if sep and k == "ecosystem":
                preset = v
            elif sep and k == "scale":
                spec["scale"] = float(v)
            else:
                overrides.append(o)
        if not preset:
            raise ConfigError("give the preset as ecosystem=NAME (or preset: in --spec)")
        params = args.param if args.param is not None else list(spec.get("params") or [])
        targets = _names(args.targets) if args.targets is not None else list(spec.get("targets") or [])
        holdout = [] if args.no_holdout else (_names(args.holdout) if args.holdout is not None else spec.get("holdout"))
        if importlib.util.find_spec("optuna") is None:
            raise ConfigError("calibration needs optuna: pip install -e '.[calibrate]' (make test installs it)")
        out = args.out or os.path.join("outputs", "calibration", preset_name(preset))

        res = calibrate(
            preset,
            params,
            targets,
            holdout=holdout,
            outdir=out,
            seeds=args.seeds or spec.get("seeds", 3),
            seed_start=args.seed_start if args.seed_start is not None else spec.get("seed_start", 0),
            n_trials=args.trials or spec.get("trials", 30),
            scale=spec.get("scale"),
            overrides=overrides,
            study_name=args.study,
            initial="preset" if args.start == "preset" else None,
            sampler_seed=args.sampler_seed,
            n_jobs=args.jobs,
            timeout=args.timeout,
            install=args.install,
        )
    except TOOL_ERRORS as exc:
        return exit_status(exc, f"{out}/runs" if out else None)
    start = f" (starting values: {res.initial_loss:.4g})" if res.initial_loss is not None else ""
    fitted = ", ".join(f"{k}={v:.6g}" for k, v in res.best_params.items())
    print(f"best loss {res.best_loss:.4g}{start}; parameters: {fitted}")
    print(f"calibrated preset: {res.preset_file}; report: {res.outdir / 'calibration_report.md'}")
    return 130 if res.interrupted else 0


if __name__ == "__main__":
    run(main)

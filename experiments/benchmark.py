"""Speed and memory of a full-scale run.

    .venv/bin/python -m experiments.benchmark                 # 中关村 at scale 1, 10 observed years
    .venv/bin/python -m experiments.benchmark scale=0.1 years=5 --repeat 3
    .venv/bin/python -m experiments.benchmark --json out.json

Prints the wall time of the whole run (model construction, the warm-up, the observed years
and building the output tables), the time of the simulation alone, firm-steps per second
(the sum over all simulated months, warm-up included, of the firms alive, divided by the
simulation time), the time per phase, and the peak resident memory of the process.
Goals on one core of a 2-core machine: the full run in <= 30 s, >= 5 million
firm-steps/s, peak memory <= 4 GB. This is a script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from sim import load_config
from sim.config import ConfigError
from sim.run import build_model, build_tables

GOALS = {"wall_seconds": 30.0, "firm_steps_per_second": 5e6, "peak_memory_gb": 4.0}


def benchmark(overrides=(), repeat: int = 1) -> dict:
    """Run the configured scenario ``repeat`` times; return the figures of the fastest run."""
    cfg = load_config(list(overrides))
    cfg.output.plots = False
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        model = build_model(cfg)
        t1 = time.perf_counter()
        model.run()
        t2 = time.perf_counter()
        tables = build_tables(model)
        t3 = time.perf_counter()
        sim_seconds = t2 - t1
        row = {
            "scale": cfg.scale,
            "years": cfg.years,
            "warmup_years": cfg.ecosystem.warmup_years,
            "months_simulated": model.end_step + model.warmup_steps,
            "firms_born": int(model.population.n_ever),
            "firms_alive_at_end": int(model.population.n),
            "firm_steps": int(model.firm_steps),
            "wall_seconds": t3 - t0,
            "setup_seconds": t1 - t0,
            "simulation_seconds": sim_seconds,
            "tables_seconds": t3 - t2,
            "firm_steps_per_second": model.firm_steps / sim_seconds if sim_seconds > 0 else float("nan"),
            "phase_seconds": dict(model.phase_seconds),
            "table_rows": {k: len(v) for k, v in tables.items()},
        }
        del model, tables
        if best is None or row["wall_seconds"] < best["wall_seconds"]:
            best = row
    best["peak_memory_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return best


def report(row: dict) -> str:
    lines = [
        f"scale={row['scale']} years={row['years']} (+{row['warmup_years']} warm-up years, {row['months_simulated']} "
        "months)",
        f"firms born {row['firms_born']:,}; alive at the end {row['firms_alive_at_end']:,}; firm-steps "
        f"{row['firm_steps']:,}",
        f"wall time          {row['wall_seconds']:8.2f} s   (goal <= {GOALS['wall_seconds']:.0f} s)",
        f"  set-up           {row['setup_seconds']:8.2f} s",
        f"  simulation       {row['simulation_seconds']:8.2f} s",
        f"  output tables    {row['tables_seconds']:8.2f} s",
        f"firm-steps/s       {row['firm_steps_per_second'] / 1e6:8.2f} M (goal >= "
        f"{GOALS['firm_steps_per_second'] / 1e6:.0f} M)",
        f"peak memory        {row['peak_memory_gb']:8.2f} GB  (goal <= {GOALS['peak_memory_gb']:.0f} GB)",
        "time per phase:",
    ]
    total = sum(row["phase_seconds"].values()) or 1.0
    for name, sec in row["phase_seconds"].items():
        lines.append(f"  {name:<12s} {sec:7.2f} s  {100 * sec / total:5.1f} %")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.benchmark", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="Hydra-style overrides, e.g. scale=0.1 years=5")
    p.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    try:
        row = benchmark(args.overrides, args.repeat)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(row))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(row, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

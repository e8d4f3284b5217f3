"""Sweep throughput: a 100-run sweep of a teaching-size setup on the local cores (joblib launcher).

    .venv/bin/python -m experiments.sweep_benchmark                 # 100 runs: seed=range(0,100), scale=0.01, 5 years
    .venv/bin/python -m experiments.sweep_benchmark --runs 20 -- scale=0.01 years=3
    .venv/bin/python -m experiments.sweep_benchmark --json out.json --keep sweeps/bench

Runs ``python -m sim --multirun seed=range(0,N) <overrides>`` exactly as a user would (a fresh
sweep directory, the default launcher: joblib on every core) and reads back each run's
``run_status.json``. Reports:

* total wall time of the sweep command and runs per minute;
* per-run simulation time (``run_simulation``: building the model, the warm-up, the observed
  years and the output tables);
* per-run overhead, everything else a core spends per run: ``(wall time x worker processes -
  sum of simulation times) / runs``, and its parts: start-up of the command and of each worker
  process (interpreter, imports; paid once per worker, not per run), Hydra's work between two
  jobs of one worker (composing the job's configuration, writing ``.hydra/``), writing the
  run's tables and summary, and the end of the sweep (counting the runs, gathering
  ``results.parquet``);
* efficiency: the share of the cores' time spent simulating.

The joblib launcher keeps its worker processes for the whole sweep, so the heavy imports (numpy,
pandas, scipy, Mesa, the model) are paid once per core, not once per run. This is a script, not
a test: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DEFAULT_OVERRIDES = ["scale=0.01", "years=5", "output.plots=false"]


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def benchmark(runs: int = 100, overrides=None, sweep_dir=None, extra=()) -> dict:
    overrides = list(DEFAULT_OVERRIDES if overrides is None else overrides)
    tmp = None
    if sweep_dir is None:
        tmp = tempfile.mkdtemp(prefix="sweep_bench_")
        sweep_dir = Path(tmp) / "sweep"
    sweep_dir = Path(sweep_dir)
    if sweep_dir.exists():
        raise SystemExit(f"error: {sweep_dir} exists; the benchmark needs a fresh sweep directory")
    cmd = [sys.executable, "-m", "sim", "--multirun", f"seed=range(0,{runs})", *overrides, *extra,
           f"hydra.sweep.dir={sweep_dir}"]
    t_start = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"error: the sweep failed (exit status {proc.returncode})")
    statuses = []
    for d in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        with open(d / "run_status.json", encoding="utf-8") as fh:
            statuses.append(json.load(fh))
    n = len(statuses)
    pids = sorted({s["pid"] for s in statuses})
    sim = [s["simulation_seconds"] for s in statuses]
    write = [s["write_seconds"] for s in statuses]
    imports = [s.get("import_seconds", 0.0) for s in statuses]
    # start-up: from the command's start to the first job of each worker, plus that job's imports
    by_pid = {p: sorted((s for s in statuses if s["pid"] == p), key=lambda s: s["started"]) for p in pids}
    startup = [(_t(v[0]["started"]) - t_start) + v[0].get("import_seconds", 0.0) for v in by_pid.values()]
    # Hydra between two jobs of one worker: end of one job to the start of the next
    gaps = [_t(b["started"]) - _t(a["ended"]) for v in by_pid.values() for a, b in zip(v, v[1:], strict=False)]
    last_end = max(_t(s["ended"]) for s in statuses)
    tail = (t_start + wall) - last_end
    core_seconds = wall * len(pids)
    row = {
        "runs": n,
        "overrides": overrides,
        "workers": len(pids),
        "cpu_count": os.cpu_count(),
        "wall_seconds": wall,
        "runs_per_minute": 60 * n / wall,
        "simulation_seconds_mean": statistics.fmean(sim),
        "simulation_seconds_median": statistics.median(sim),
        "overhead_seconds_per_run": (core_seconds - sum(sim)) / n,
        "startup_seconds_per_worker": statistics.fmean(startup),
        "imports_seconds_per_worker": sum(imports) / len(pids),
        "hydra_seconds_between_jobs": statistics.fmean(gaps) if gaps else 0.0,
        "write_seconds_mean": statistics.fmean(write),
        "sweep_end_seconds": tail,
        "efficiency": sum(sim) / core_seconds,
    }
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return row


def report(r: dict) -> str:
    return "\n".join([
        f"{r['runs']} runs ({' '.join(r['overrides'])}) on {r['workers']} worker processes ({r['cpu_count']} cores)",
        f"total wall time            {r['wall_seconds']:8.1f} s   ({r['runs_per_minute']:.1f} runs/min)",
        f"simulation per run         {r['simulation_seconds_mean']:8.3f} s   (median "
        f"{r['simulation_seconds_median']:.3f} s)",
        f"overhead per run           {r['overhead_seconds_per_run']:8.3f} s   (core time not simulating / runs)",
        f"  start-up per worker      {r['startup_seconds_per_worker']:8.2f} s   (once per worker; imports "
        f"{r['imports_seconds_per_worker']:.2f} s of it)",
        f"  Hydra between jobs       {r['hydra_seconds_between_jobs']:8.3f} s   (per run: compose the job, write "
        ".hydra/)",
        f"  writing tables           {r['write_seconds_mean']:8.3f} s   (per run)",
        f"  end of sweep             {r['sweep_end_seconds']:8.2f} s   (once: report, gather results.parquet)",
        f"efficiency                 {100 * r['efficiency']:8.1f} %   of the cores' time spent simulating",
    ])


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = None
    if "--" in argv:
        i = argv.index("--")
        argv, overrides = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="python -m experiments.sweep_benchmark", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--keep", help="sweep directory to use and keep (must not exist)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    r = benchmark(args.runs, overrides, sweep_dir=args.keep)
    print(report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

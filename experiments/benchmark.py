"""Speed and memory of the default run, end to end, against a plain per-agent Mesa step.

    .venv/bin/python -m experiments.benchmark                  # 中关村 at scale 1, 10 observed years
    .venv/bin/python -m experiments.benchmark --repeat 5       # best of five warm runs
    .venv/bin/python -m experiments.benchmark --cold           # also a run that compiles the kernels
    .venv/bin/python -m experiments.benchmark ecosystem=china --repeat 1
    .venv/bin/python -m experiments.benchmark scale=0.1 years=5 --json out.json
    .venv/bin/python -m experiments.benchmark --outcomes 20 --json after.json   # 20 seeds' main outcomes
    .venv/bin/python -m experiments.benchmark --compare before.json after.json  # are they the same model?

What it measures (issue 13):

* **End to end**: ``python -m sim <overrides>`` as a child process, exactly what a user runs
  (start-up and imports, the eight warm-up and the observed years, every table and plot written),
  ``--repeat`` times with the numba cache warm; the run with the least CPU time is reported, with
  its wall time, CPU time (user + system, from the child's resource usage) and peak memory (the
  child's own high-water mark, which it reports at exit).
  The machine is shared: CPU time is what another process on the other core does not inflate
  (much); wall time is reported too.
* **Cold**: with ``--cold``, one more run with an empty numba cache (``NUMBA_CACHE_DIR`` pointing
  at a new directory), so its time includes compiling the kernels, as a first run on a fresh
  installation does.
* **Throughput**: observed firm-steps (live firms summed over the observed months) per second of
  the end-to-end run, and the ratio to a plain per-agent Mesa step measured in this process: a
  trivial agent whose ``step()`` adds one to an attribute, stepped by
  ``model.agents.shuffle_do("step")`` over ``--mesa-agents`` agents (goal of issue 13: >= 50x).
* **Where the time goes**: the CPU time of each phase (summary.json ``phase_cpu_seconds``) and,
  in this process, of the stages a run goes through (imports, building the model, simulating,
  building the tables, writing them, drawing the plots).

This is a script, not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The goals of issue 13, by preset, for a run at full scale: 中关村 end to end, peak memory and
#: the ratio to a plain Mesa step; the China preset end to end and peak memory.
GOALS = {
    "zhongguancun": {"end_to_end_seconds": 5.0, "mesa_ratio": 50.0, "peak_memory_gb": 2.0},
    "china": {"end_to_end_seconds": 60.0, "peak_memory_gb": 6.0},
}


def _goal(row: dict, key: str, fmt: str) -> str:
    """'(goal ...)' for the run's preset at full scale, or '' where issue 13 sets none."""
    goal = GOALS.get(row["ecosystem"], {}).get(key) if float(row["scale"]) == 1.0 else None
    return "" if goal is None else "  (goal " + fmt.format(goal) + ")"


def mesa_reference(n_agents: int = 200_000, steps: int = 5) -> dict:
    """Agent-steps per second of a trivial Mesa agent stepped with ``shuffle_do`` (CPU and wall)."""
    import mesa  # noqa: PLC0415  (only the reference needs it in this process)

    class Counter(mesa.Agent):
        def __init__(self, model):
            super().__init__(model)
            self.count = 0

        def step(self):
            self.count += 1

    model = mesa.Model(rng=0)
    Counter.create_agents(model, n_agents)
    model.agents.shuffle_do("step")  # the first pass pays for lazily built structures
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        model.agents.shuffle_do("step")
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {"agents": n_agents, "steps": steps, "per_cpu_second": n_agents * steps / cpu,
            "per_wall_second": n_agents * steps / wall}


#: ``python -m sim`` with one addition: at exit the child writes its own peak resident memory (VmHWM
#: of /proc/self/status, Linux) to stderr. The rusage of a child is no measure of it: Linux carries
#: the parent's memory high-water mark into a child it starts (fork, then exec), so a large parent
#: (a test worker) would be reported as the child's peak.
PEAK_TAG = "benchmark-peak-kb"
_CHILD = (
    "import atexit, runpy, sys\n"
    "def _peak():\n"
    "    try:\n"
    "        with open('/proc/self/status') as fh:\n"
    "            kb = [line.split()[1] for line in fh if line.startswith('VmHWM:')]\n"
    "    except OSError:\n"
    "        return\n"
    "    if kb:\n"
    f"        sys.stderr.write('\\n{PEAK_TAG} ' + kb[0] + '\\n')\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['sim', *sys.argv[1:]]\n"
    "runpy.run_module('sim', run_name='__main__', alter_sys=True)\n"
)


def _child_peak_gb(stderr: str, rusage_gb: float) -> float:
    """The peak the child reported (GB), or its rusage where it could not (not Linux)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(PEAK_TAG):
            return int(line.split()[1]) / 1024**2
    return rusage_gb


def run_once(overrides, env=None) -> dict:
    """``python -m sim`` in a child process: wall and CPU time, peak memory, its summary.json."""
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as out:
        cmd = [sys.executable, "-c", _CHILD, *overrides, f"hydra.run.dir={out}", "output.progress=off"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read()
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
        summary = json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))
    return {"wall_seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_memory_gb": _child_peak_gb(err, usage.ru_maxrss / 1024**2), "summary": summary, "stderr": err}


def stages_in_process(overrides) -> dict:
    """CPU seconds of each stage of a run, in a fresh child process (imports included)."""
    code = (
        "import json, sys, tempfile, time\n"
        "c = time.process_time()\n"
        "import sim.run\n"
        "from sim import load_config\n"
        "from sim.io.tables import build_summary\n"
        "from sim.io.files import write_results\n"
        "out = {'imports': time.process_time() - c}\n"
        "cfg = load_config(json.loads(sys.argv[1]))\n"
        "c = time.process_time(); m = sim.run.build_model(cfg); out['build'] = time.process_time() - c\n"
        "c = time.process_time(); m.run(); out['simulate'] = time.process_time() - c\n"
        "c = time.process_time(); t = sim.run.build_tables(m); s = build_summary(m, t, 0.0)\n"
        "out['tables'] = time.process_time() - c\n"
        "d = tempfile.mkdtemp(prefix='sim-bench-')\n"
        "c = time.process_time(); write_results(d, t, s); out['write'] = time.process_time() - c\n"
        "c = time.process_time(); from sim.io.plots import make_plots; make_plots(d)\n"
        "out['plots'] = time.process_time() - c\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(list(overrides))], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def benchmark(overrides=(), repeat: int = 3, cold: bool = False, mesa_agents: int = 200_000) -> dict:
    """Run the benchmark (see the module docstring); returns every figure as a dict."""
    import sim.run  # noqa: F401, PLC0415
    from sim.core import kernels  # noqa: PLC0415  (the kernels register themselves when their modules load)

    overrides = list(overrides)
    row: dict = {"overrides": overrides}
    if not kernels.compiled():  # the warm runs must not compile
        kernels.warm_up()
    if cold:
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
            c = run_once(overrides, env={"NUMBA_CACHE_DIR": cache})
        row["cold"] = {k: c[k] for k in ("wall_seconds", "cpu_seconds", "peak_memory_gb")}
        row["cold"]["said_compiling"] = "compiling" in c["stderr"]
    runs = [run_once(overrides) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["cpu_seconds"])
    s = best["summary"]
    row.update({k: best[k] for k in ("wall_seconds", "cpu_seconds", "peak_memory_gb")})
    row["all_runs"] = [{k: r[k] for k in ("wall_seconds", "cpu_seconds", "peak_memory_gb")} for r in runs]
    row.update({"scale": s["scale"], "years": s["years"], "ecosystem": s["ecosystem"],
                "warmup_years": s["warmup_years"], "firm_steps": s["firm_steps"],
                "firm_steps_observed": s["firm_steps_observed"], "totals": s["totals"],
                "phase_cpu_seconds": s["phase_cpu_seconds"]})
    ref = mesa_reference(mesa_agents)
    row["mesa"] = ref
    obs = s["firm_steps_observed"]
    row["observed_per_wall_second"] = obs / best["wall_seconds"]
    row["observed_per_cpu_second"] = obs / best["cpu_seconds"]
    row["mesa_ratio_wall"] = row["observed_per_wall_second"] / ref["per_wall_second"]
    row["mesa_ratio_cpu"] = row["observed_per_cpu_second"] / ref["per_cpu_second"]
    row["stages_cpu_seconds"] = stages_in_process(overrides)
    row["max_rss_this_process_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return row


# ------------------------------------------------------------------ outcomes over seeds
#: What --outcomes records of each run: summary totals and a few sums of the time series.
OUTCOMES = (
    "firms_born_observed", "failures_observed", "new_gazelles_observed", "new_unicorns_observed", "ipos_observed",
    "acquisitions_observed", "vc_invested_observed", "firms_alive_at_end", "tracks_ever", "tracks_active_at_end",
)


def outcomes(overrides=(), seeds=range(20), out: str | None = None) -> list[dict]:
    """The main outcomes of ``python -m sim <overrides>`` for each seed (what the speed work must
    not change, beyond sampling noise); resumes from ``out`` (JSON) when it exists."""
    from sim import load_config  # noqa: PLC0415
    from sim.run import run_simulation  # noqa: PLC0415

    rows = json.loads(Path(out).read_text(encoding="utf-8")) if out and Path(out).is_file() else []
    done = {r["seed"] for r in rows}
    for seed in seeds:
        if seed in done:
            continue
        cfg = load_config([*overrides, f"seed={seed}", "output.plots=false", "output.firm_years=false"])
        res = run_simulation(cfg, progress=False)
        ts = res.tables["timeseries"]
        row = {"seed": seed, **{k: res.summary["totals"][k] for k in OUTCOMES},
               "angel_invested_observed": float(ts["angel_invested"].sum()),
               "aged_out_observed": int(ts["aged_out"].sum()),
               "gazelles_at_end": int(ts["gazelles"].iloc[-1]), "unicorns_at_end": int(ts["unicorns"].iloc[-1]),
               **{f"tracks_{st}_at_end": int(ts[f"tracks_{st}"].iloc[-1])
                  for st in ("emerging", "formed", "explosive", "mature", "consolidating")}}
        rows.append(row)
        if out:
            Path(out).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return rows


def compare_outcomes(before: list[dict], after: list[dict]) -> str:
    """A Markdown table: each outcome's mean and standard error before and after, the difference
    and the difference in standard errors (Welch)."""
    import numpy as np  # noqa: PLC0415

    keys = [k for k in before[0] if k != "seed" and k in after[0] and not k.endswith("seconds")]
    lines = ["| outcome | before: mean ± s.e. | after: mean ± s.e. | difference | z |", "|---|---|---|---|---|"]
    for k in keys:
        a = np.array([r[k] for r in before], dtype=float)
        b = np.array([r[k] for r in after], dtype=float)
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        z = (b.mean() - a.mean()) / se if se > 0 else 0.0
        lines.append(f"| {k} | {a.mean():,.4g} ± {a.std(ddof=1) / math.sqrt(a.size):,.2g} | "
                     f"{b.mean():,.4g} ± {b.std(ddof=1) / math.sqrt(b.size):,.2g} | "
                     f"{b.mean() - a.mean():+,.3g} | {z:+.2f} |")
    return "\n".join(lines)


def report(row: dict) -> str:
    t = row["totals"]
    lines = [
        f"python -m sim {' '.join(row['overrides'])}".rstrip()
        + f"  ({row['ecosystem']}, scale={row['scale']}, {row['years']} observed"
        f" + {row['warmup_years']} warm-up years)",
        f"firms born {t['firms_born']:,}; alive at the end {t['firms_alive_at_end']:,}; "
        f"firm-steps {row['firm_steps']:,} ({row['firm_steps_observed']:,} observed)",
        f"end to end, warm cache (least CPU of {len(row['all_runs'])}): {row['wall_seconds']:6.2f} s wall, "
        f"{row['cpu_seconds']:6.2f} s CPU" + _goal(row, "end_to_end_seconds", "<= {:.0f} s"),
        "  every run: " + ", ".join(f"{r['wall_seconds']:.1f} s wall / {r['cpu_seconds']:.1f} s CPU"
                                     for r in row["all_runs"]),
    ]
    if "cold" in row:
        c = row["cold"]
        lines.append(f"end to end, cold (compiling the kernels): {c['wall_seconds']:6.2f} s wall, "
                     f"{c['cpu_seconds']:6.2f} s CPU; said it was compiling: {c['said_compiling']}")
    m = row["mesa"]
    lines += [
        f"peak memory {row['peak_memory_gb']:.2f} GB" + _goal(row, "peak_memory_gb", "<= {:.0f} GB"),
        f"observed firm-steps per second, end to end: {row['observed_per_wall_second'] / 1e6:.2f} M (wall), "
        f"{row['observed_per_cpu_second'] / 1e6:.2f} M (CPU)",
        f"plain Mesa step (shuffle_do, {m['agents']:,} trivial agents): {m['per_wall_second'] / 1e6:.3f} M/s (wall), "
        f"{m['per_cpu_second'] / 1e6:.3f} M/s (CPU)",
        f"ratio: {row['mesa_ratio_wall']:.1f}x (wall), {row['mesa_ratio_cpu']:.1f}x (CPU)"
        + _goal(row, "mesa_ratio", ">= {:.0f}x"),
        "CPU seconds by stage (one more run, in a child process):",
    ]
    lines += [f"  {k:<10s} {v:7.2f} s" for k, v in row["stages_cpu_seconds"].items()]
    lines.append("CPU seconds by phase of the simulation (summary.json phase_cpu_seconds):")
    total = sum(row["phase_cpu_seconds"].values()) or 1.0
    lines += [f"  {k:<12s} {v:7.2f} s  {100 * v / total:5.1f} %" for k, v in row["phase_cpu_seconds"].items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="Hydra-style overrides, e.g. ecosystem=china or scale=0.1 years=5")
    p.add_argument("--repeat", type=int, default=3, help="warm end-to-end runs; the one with least CPU is reported")
    p.add_argument("--cold", action="store_true", help="also one run with an empty numba cache (compiling)")
    p.add_argument("--mesa-agents", type=int, default=200_000, help="agents of the plain Mesa reference")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--outcomes", type=int, metavar="SEEDS",
                   help="instead: record the main outcomes of SEEDS seeds (0..SEEDS-1) into --json (resumable)")
    p.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="instead: compare two --outcomes files (Markdown table, Welch z)")
    args = p.parse_args(argv)
    if args.compare:
        before, after = (json.loads(Path(f).read_text(encoding="utf-8")) for f in args.compare)
        print(compare_outcomes(before, after))
        return 0
    if args.outcomes:
        rows = outcomes(args.overrides, range(args.outcomes), args.json)
        print(f"{len(rows)} runs recorded" + (f" in {args.json}" if args.json else ""))
        return 0
    try:
        row = benchmark(args.overrides, max(1, args.repeat), args.cold, args.mesa_agents)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(row))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(row, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sweeps: run one simulation per job, record how it went, carry on after failures, resume.

``python -m sim --multirun KEY=a,b,c seed=range(0,10)`` hands every combination to Hydra's
launcher (``conf/config.yaml`` picks the joblib launcher: all local cores; ``hydra/launcher=ray``
and ``hydra/launcher=slurm`` or ``submitit_local`` send the same jobs to Ray or SLURM). Each job
calls :func:`execute` in its own run directory, ``<hydra.sweep.dir>/<override dirname>`` (for
example ``sweeps/demo/scale=0.01,seed=3``), which is the same every time the same sweep is
launched, so a sweep can be run again into the same ``hydra.sweep.dir``:

* a run whose directory already holds a finished run (``summary.json`` with ``finished: true``)
  of the same resolved configuration is skipped (resume); failed and unfinished runs run again;
* a run that raises is recorded as failed (``run_status.json`` with the error, the traceback in
  ``error.txt``) and the other runs go on; the sweep command then exits with status 1;
* a run killed part-way leaves ``summary.json`` with ``finished: false`` (or none) and
  ``run_status.json`` saying ``running``: :mod:`sim.gather` reports it as ``incomplete``.

``run_status.json`` (written atomically, see :func:`write_status`) holds ``status`` (running,
completed, failed), the job's overrides, host, pid, start and end times (UTC, ISO 8601), the
seconds spent simulating and writing, and for a failed run ``error_type`` and ``error``.

At the end of a sweep :class:`SweepReport` (a Hydra callback, configured in ``conf/config.yaml``)
logs how many runs completed, were skipped, failed or did not finish, and gathers the sweep into
``results.parquet`` and ``timeseries_long.parquet`` (:mod:`sim.gather`). Set
``hydra.callbacks.sweep.resume=false`` to re-run finished runs, ``hydra.callbacks.sweep.gather=false``
to skip the gathering.

If the launcher itself stops (a worker process killed by the OOM killer or by hand makes the
joblib launcher give up on the whole batch), ``python -m sim`` reports what is on disk and
launches the same sweep again into the same directory, ``hydra.callbacks.sweep.relaunch`` times
(default 1), so the runs that were cut off are redone and the finished ones skipped; after that
it exits with status 1 and the same command resumes the sweep.

:func:`run_point` runs a list of overrides into a directory with the same job logic without
Hydra's launcher (used by ``experiments/sensitivity.py`` with joblib).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

log = logging.getLogger("sim")

STATUS_FILE = "run_status.json"
ERROR_FILE = "error.txt"
SUMMARY_FILE = "summary.json"
#: Keys that do not change what a run computes: ignored when deciding whether a finished run
#: can be reused (and left out of run directory names, conf/config.yaml).
NEUTRAL_KEYS = ("output.progress",)

__all__ = [
    "STATUS_FILE",
    "ERROR_FILE",
    "execute",
    "run_point",
    "read_status",
    "write_status",
    "finished_summary",
    "SweepReport",
    "sweep_counts",
]


# --------------------------------------------------------------------------------------------
# Run records
# --------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _atomic_json(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_status(outdir, **fields) -> dict:
    """Write ``outdir/run_status.json`` atomically and return what was written."""
    record = {k: v for k, v in fields.items() if v is not None}
    _atomic_json(Path(outdir) / STATUS_FILE, record)
    return record


def read_status(outdir) -> dict | None:
    """The run-status record of ``outdir`` (None if there is none or it cannot be read)."""
    path = Path(outdir) / STATUS_FILE
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _read_summary(outdir) -> dict | None:
    try:
        with open(Path(outdir) / SUMMARY_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _comparable(config: dict) -> str:
    """The configuration as canonical JSON, without the keys that do not change results."""
    data = json.loads(json.dumps(config, default=str))
    for key in NEUTRAL_KEYS:
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return json.dumps(data, sort_keys=True)


def config_dict(cfg) -> dict:
    """The resolved configuration as plain containers (as summary.json stores it)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.structured(cfg))


def finished_summary(outdir, cfg) -> dict | None:
    """The summary of a finished run of the same configuration in ``outdir``, else None."""
    summary = _read_summary(outdir)
    if not summary or summary.get("finished") is not True or "config" not in summary:
        return None
    if _comparable(summary["config"]) != _comparable(config_dict(cfg)):
        return None
    return summary


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(
    dcfg,
    outdir,
    *,
    overrides: list[str] | None = None,
    job: dict | None = None,
    resume: bool = True,
    catch: bool = True,
) -> dict:
    """Run one job of a sweep into ``outdir``; return a small record of what happened.

    ``dcfg`` is the job's configuration (OmegaConf, dict or :class:`sim.config.Config`).
    With ``resume``, a finished run of the same configuration already in ``outdir`` is not run
    again (status ``skipped``). With ``catch``, an exception (a bad value, an error in the model,
    a full disk) is recorded in ``run_status.json`` and ``error.txt`` and returned as status
    ``failed`` instead of propagating, so that the other jobs of the sweep go on.
    """
    from sim.config import to_config

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    base = {
        "overrides": list(overrides or []),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        **(job or {}),
    }
    started = _now()
    t_import = time.perf_counter()
    from sim.run import run_simulation  # the first job of a worker process pays the imports

    t0 = time.perf_counter()
    base["import_seconds"] = round(t0 - t_import, 4)
    previous = read_status(outdir) or {}
    attempt = int(previous.get("attempt", 0)) + 1
    try:
        cfg = to_config(dcfg)
        if resume:
            done = finished_summary(outdir, cfg)
            if done is not None:
                log.info("Skipped %s: it already holds a finished run of this configuration.", outdir)
                return {"status": "skipped", "dir": str(outdir), "totals": done.get("totals", {})}
        write_status(outdir, status="running", started=started, attempt=attempt, **base)
        progress = {"on": True}.get(cfg.output.progress, False)  # no bars from parallel jobs unless asked
        res = run_simulation(cfg, progress=progress)
        t1 = time.perf_counter()
        res.write(outdir)
        t2 = time.perf_counter()
    except Exception as exc:
        if not catch:
            raise
        tb = traceback.format_exc()
        (outdir / ERROR_FILE).write_text(tb, encoding="utf-8")
        message = _one_line(exc)
        write_status(
            outdir,
            status="failed",
            started=started,
            ended=_now(),
            attempt=attempt,
            error_type=type(exc).__name__,
            error=message,
            traceback_file=ERROR_FILE,
            job_seconds=round(time.perf_counter() - t0, 4),
            **base,
        )
        log.error("Run %s failed: %s (traceback in %s)", outdir, message, outdir / ERROR_FILE)
        return {"status": "failed", "dir": str(outdir), "error": message}
    (outdir / ERROR_FILE).unlink(missing_ok=True)
    write_status(
        outdir,
        status="completed",
        started=started,
        ended=_now(),
        attempt=attempt,
        simulation_seconds=round(t1 - t0, 4),
        write_seconds=round(t2 - t1, 4),
        job_seconds=round(time.perf_counter() - t0, 4),
        **base,
    )
    log.info("Wrote the results to %s", outdir)
    return {"status": "completed", "dir": str(outdir), "totals": res.summary.get("totals", {})}


def hydra_job(dcfg) -> dict:
    """The body of the Hydra task in ``--multirun`` mode: :func:`execute` in the job's directory."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hc = HydraConfig.get()
    cb = OmegaConf.select(hc, "callbacks.sweep", default=None)
    resume = bool(OmegaConf.select(cb, "resume", default=True)) if cb is not None else True
    job = {"job_num": hc.job.get("num"), "job_id": hc.job.get("id")}
    return execute(
        dcfg,
        hc.runtime.output_dir,
        overrides=list(hc.overrides.task),
        job=job,
        resume=resume,
    )


def run_point(overrides, outdir, *, resume: bool = True) -> dict:
    """Compose ``overrides`` like the command line and run them into ``outdir`` (a job without Hydra's launcher).

    Writes ``.hydra/overrides.yaml`` and ``.hydra/config.yaml`` as Hydra does, so that
    :mod:`sim.gather` reads these directories like those of a Hydra sweep. A configuration
    error is recorded as a failed run.
    """
    import yaml

    from sim.compose import load_config

    outdir = Path(outdir)
    overrides = [str(o) for o in overrides]
    record = outdir / ".hydra"
    record.mkdir(parents=True, exist_ok=True)
    (record / "overrides.yaml").write_text(yaml.safe_dump(overrides, allow_unicode=True), encoding="utf-8")
    try:
        cfg = load_config(overrides)
    except Exception as exc:  # recorded like any failed run
        return execute_failure(outdir, exc, overrides)
    (record / "config.yaml").write_text(
        yaml.safe_dump(config_dict(cfg), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return execute(cfg, outdir, overrides=overrides, resume=resume)


def execute_failure(outdir, exc: BaseException, overrides) -> dict:
    """Record a job that failed before it could start (e.g. its overrides do not compose)."""
    outdir = Path(outdir)
    message = _one_line(exc)
    (outdir / ERROR_FILE).write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    now = _now()
    write_status(outdir, status="failed", started=now, ended=now, error_type=type(exc).__name__,
                 error=message, traceback_file=ERROR_FILE, overrides=list(overrides),
                 host=socket.gethostname(), pid=os.getpid())
    return {"status": "failed", "dir": str(outdir), "error": message}


# --------------------------------------------------------------------------------------------
# The sweep as a whole
# --------------------------------------------------------------------------------------------


@dataclass
class SweepState:
    sweep_dir: Path | None = None
    started: float = 0.0
    started_at: str = ""
    relaunch: int = 0
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    reported: bool = False


#: The sweep launched by this process (set by :class:`SweepReport` in the launching process).
CURRENT = SweepState()


def sweep_counts(sweep_dir) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Count the runs of a sweep directory by status; list the failed and unfinished ones."""
    from sim.gather import find_runs, run_state

    counts: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    root = Path(sweep_dir)
    for run in find_runs(root):
        state, error = run_state(run)
        counts[state] = counts.get(state, 0) + 1
        if state != "completed":
            problems.append((str(run.relative_to(root)) or ".", error or state))
    return counts, problems


class SweepReport(Callback):
    """Hydra callback: at the end of a sweep, count the runs by status and gather the results.

    Configured in ``conf/config.yaml`` as ``hydra.callbacks.sweep``. ``resume`` (read by the
    jobs): skip runs already finished with the same configuration. ``gather``: write
    ``results.parquet`` and ``timeseries_long.parquet`` into the sweep directory.
    """

    def __init__(self, resume: bool = True, gather: bool = True, timeseries: bool = True, relaunch: int = 1) -> None:
        self.resume = resume
        self.gather = gather
        self.timeseries = timeseries
        self.relaunch = relaunch

    def on_multirun_start(self, config, **kwargs) -> None:
        CURRENT.sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        CURRENT.relaunch = int(self.relaunch)
        CURRENT.started = time.perf_counter()
        CURRENT.started_at = _now()
        CURRENT.reported = False

    def on_multirun_end(self, config, **kwargs) -> None:
        report_sweep(gather=self.gather, timeseries=self.timeseries)


def report_sweep(*, gather: bool = True, timeseries: bool = True, stopped: bool = False) -> SweepState:
    """Log the state of the current sweep's runs (and gather them); remember the counts in CURRENT."""
    if CURRENT.sweep_dir is None or CURRENT.reported:
        return CURRENT
    CURRENT.reported = True
    root = CURRENT.sweep_dir
    counts, problems = sweep_counts(root)
    CURRENT.counts, CURRENT.problems = counts, problems
    total = sum(counts.values())
    shown = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    if CURRENT.started_at and counts.get("completed"):
        from sim.gather import find_runs

        earlier = sum(
            1 for run in find_runs(root)
            if (st := read_status(run) or {}).get("status") == "completed" and st.get("ended", "") < CURRENT.started_at
        )
        if earlier:
            shown += f"; {earlier} of the completed runs were already done and skipped"
    elapsed = time.perf_counter() - CURRENT.started if CURRENT.started else 0.0
    log.info("Sweep %s: %d runs in the directory (%s); %.1f s.", root, total, shown or "none", elapsed)
    for rel, what in problems[:20]:
        log.warning("  %s: %s", rel, what)
    if len(problems) > 20:
        log.warning("  ... and %d more (see results.parquet)", len(problems) - 20)
    if gather and total and not stopped:
        from sim.gather import gather as gather_dir

        try:
            paths = gather_dir(root, timeseries=timeseries)
            log.info("Gathered the sweep into %s", ", ".join(str(p) for p in paths.values()))
        except Exception as exc:  # the runs are on disk; gathering can be redone with python -m sim.gather
            log.error("Could not gather %s: %s (run python -m sim.gather %s)", root, _one_line(exc), root)
    return CURRENT

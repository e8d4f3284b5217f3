"""Hydra sweeps: each ``--multirun`` job through the batch runner, and a report at the end.

``python -m sim --multirun KEY=a,b,c seed=range(0,10)`` hands every combination to Hydra's
launcher (``conf/config.yaml`` picks the joblib launcher: all local cores; ``hydra/launcher=ray``
and ``hydra/launcher=slurm`` or ``submitit_local`` send the same jobs to Ray or SLURM). Each job
calls :func:`hydra_job`, which runs :func:`sim.batch.runner.execute` in the job's directory,
``<hydra.sweep.dir>/<override dirname>`` (for example ``sweeps/demo/scale=0.01,seed=3``). That
directory is the same every time the same sweep is launched, so a sweep can be run again into
the same ``hydra.sweep.dir``:

* a run whose directory already holds a finished run of the same resolved configuration is
  skipped (resume); failed and interrupted runs run again;
* a run that raises is recorded as failed (``run_status.json`` with the error, the traceback in
  ``error.txt``) and the other runs go on; the sweep command then exits with status 1;
* a run stopped by Ctrl-C or SIGTERM is recorded ``interrupted``; a run whose process was killed
  (SIGKILL, out of memory) is found so at the end of the sweep, and its ``run_status.json`` says
  ``interrupted`` from then on (:func:`sim.batch.status.settle_status`).

At the end of a sweep :class:`SweepReport` (a Hydra callback, ``hydra.callbacks.sweep`` in
``conf/config.yaml``) logs how many runs completed, were skipped, failed or did not finish, and
gathers the sweep into ``results.parquet`` and ``timeseries_long.parquet``
(:mod:`sim.batch.gather`). ``hydra.callbacks.sweep.resume=false`` re-runs finished runs,
``hydra.callbacks.sweep.gather=false`` skips the gathering.

If the launcher itself stops (a worker process killed makes the joblib launcher give up on the
whole batch), ``python -m sim`` reports what is on disk (:func:`report_sweep`) and launches the
same sweep again into the same directory ``hydra.callbacks.sweep.relaunch`` times (default 1),
when :attr:`SweepState.unfinished` runs are left. When the launching process itself is stopped
(Ctrl-C, SIGTERM), :func:`stop_sweep` stops the local worker processes and marks their runs
``interrupted``.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from hydra.experimental.callback import Callback

from sim.batch.gather import find_runs, gather
from sim.batch.runner import WORKER_STOPPED_WARNING, execute
from sim.batch.status import COMPLETED, UNFINISHED, now, read_status, settle_runs, settle_status

log = logging.getLogger("sim")

__all__ = ["hydra_job", "SweepState", "CURRENT", "sweep_counts", "SweepReport", "report_sweep", "stop_sweep"]


def hydra_job(dcfg) -> dict:
    """The body of the Hydra task in ``--multirun`` mode: :func:`execute` in the job's directory."""
    from hydra.core.hydra_config import HydraConfig  # noqa: PLC0415 - only set inside a Hydra job
    from omegaconf import OmegaConf  # noqa: PLC0415 - with Hydra's

    hc = HydraConfig.get()
    cb = OmegaConf.select(hc, "callbacks.sweep", default=None)
    resume = bool(OmegaConf.select(cb, "resume", default=True)) if cb is not None else True
    job = {"job_num": hc.job.get("num"), "job_id": hc.job.get("id")}
    return execute(dcfg, hc.runtime.output_dir, overrides=list(hc.overrides.task), job=job, resume=resume)


@dataclass
class SweepState:
    """What the launching process knows of its sweep (kept in :data:`CURRENT`)."""

    sweep_dir: Path | None = None
    started: float = 0.0
    started_at: str = ""
    relaunch: int = 0
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    reported: bool = False

    @property
    def unfinished(self) -> int:
        """Runs that a relaunch would run again (interrupted, or cut off before they wrote a status)."""
        return sum(self.counts.get(s, 0) for s in UNFINISHED)


#: The sweep launched by this process (set by :class:`SweepReport` in the launching process).
CURRENT = SweepState()


def sweep_counts(sweep_dir) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Count the runs of a sweep directory by state; list the ones that did not complete.

    A ``running`` record whose process is gone is rewritten ``interrupted`` on the way.
    """
    counts: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    root = Path(sweep_dir)
    for run in find_runs(root):
        state, error = settle_status(run)
        counts[state] = counts.get(state, 0) + 1
        if state != COMPLETED:
            problems.append((str(run.relative_to(root)) or ".", error or state))
    return counts, problems


class SweepReport(Callback):
    """Hydra callback: at the end of a sweep, count the runs by status and gather the results.

    ``resume`` (read by the jobs): skip runs already finished with the same configuration.
    ``gather``: write ``results.parquet`` and ``timeseries_long.parquet`` into the sweep
    directory (``timeseries``: the second one too). ``relaunch``: see the module docstring.
    """

    def __init__(self, resume: bool = True, gather: bool = True, timeseries: bool = True, relaunch: int = 1) -> None:
        self.resume = resume
        self.gather = gather
        self.timeseries = timeseries
        self.relaunch = relaunch

    def on_multirun_start(self, config, **kwargs) -> None:
        # the joblib launcher's pool may replace a worker whose memory grew: nothing to act on
        warnings.filterwarnings("ignore", message=WORKER_STOPPED_WARNING, category=UserWarning)
        CURRENT.sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        CURRENT.relaunch = int(self.relaunch)
        CURRENT.started = time.perf_counter()
        CURRENT.started_at = now()
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
    if CURRENT.started_at and counts.get(COMPLETED):
        earlier = sum(
            1 for run in find_runs(root)
            if (st := read_status(run) or {}).get("status") == COMPLETED and st.get("ended", "") < CURRENT.started_at
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
        _gather(root, timeseries)
    return CURRENT


def _gather(root: Path, timeseries: bool) -> None:
    try:
        paths = gather(root, timeseries=timeseries)
        log.info("Gathered the sweep into %s", ", ".join(str(p) for p in paths.values()))
    except Exception as exc:  # the runs are on disk; gathering can be redone with python -m sim.batch.gather
        log.error("Could not gather %s: %s (run python -m sim.batch.gather %s)", root, exc, root)


def stop_sweep(wait: float = 3.0) -> int:
    """The launching process was stopped (Ctrl-C, SIGTERM): stop the local workers, mark their runs interrupted.

    Returns the number of runs marked. Runs on other machines (Ray, SLURM) are left to say so
    themselves, or to be found interrupted when the sweep is resumed.
    """
    if CURRENT.sweep_dir is None:
        return 0
    from joblib.externals.loky import reusable_executor  # noqa: PLC0415 - the joblib launcher's pool, if any

    executor = reusable_executor._executor
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)
    return settle_runs(find_runs(CURRENT.sweep_dir), wait)

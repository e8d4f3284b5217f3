"""The one way to run many simulations: a list of run specifications in, one results table out.

    from sim.batch import RunSpec, run_batch
    specs = [RunSpec(f"seed={s}", ["scale=0.01", "years=5", f"seed={s}"], {"seed": s}) for s in range(8)]
    results = run_batch(specs, "out/batch", jobs=2)          # one row per run

Sweeps (``python -m sim --multirun``, through :func:`execute`), policy comparisons
(:mod:`sim.analysis.compare`), sensitivity analyses (:mod:`sim.analysis.sensitivity`),
validation and calibration (:mod:`sim.validation`) all run their simulations here, in the
spirit of the EMA Workbench's ``perform_experiments``: experiments in, a table of outcomes out.

**A run specification** (:class:`RunSpec`) is a ``run_id`` (its directory below the batch
directory, e.g. ``guidance_fund/seed=3``), configuration ``overrides`` (as on the command line)
or a ready :class:`~sim.config.Config`, and ``labels`` (e.g. ``{"arm": "baseline", "seed": 3}``)
that become columns of the results table. Every configuration is composed and checked in the
calling process before the first run starts, so a mistake costs nothing; runs that differ only
in ``seed=`` share one composition.

**Each run** goes into its own directory with ``run_status.json`` (running, completed, failed,
interrupted: :mod:`sim.batch.status`), its ``summary.json``, ``.hydra/overrides.yaml`` and
``.hydra/config.yaml`` (so :mod:`sim.batch.gather` reads it like a Hydra sweep), its tables
(all, some or none: ``tables``) and, when an ``outcomes`` function is given, ``outcomes.json``:
``outcomes(tables, summary, run_dir) -> {name: number or text}`` is called in the worker with
the run's tables in memory (it may also write files into ``run_dir``), and its values become
columns of the results table.

**Resume.** A run whose directory already holds a finished run of the same resolved
configuration (``output.progress`` aside), with the tables asked for and the outcomes of the
same function, is not run again: its row is read back (``reused`` is true). Failed and
interrupted runs run again. So a batch stopped part-way resumes by calling it again.

**Stopping.** Ctrl-C or SIGTERM stops the batch: the runs in progress are marked
``interrupted`` (by their own process when it can, otherwise by the batch once their process
is gone), the finished ones are kept, and :class:`KeyboardInterrupt` propagates. A ``running``
record left by a process that no longer exists (killed with SIGKILL, out of memory) is read
as ``interrupted`` and rewritten so.

**Parallel** runs use joblib's process pool (``jobs``; 1 runs them one after the other in this
process). A progress bar (tqdm) counts the runs on a terminal (``progress``). joblib's warning
that "a worker stopped while some jobs were given to the executor" (its pool restarting a
worker whose memory grew, which is expected of large runs and changes no result) is not shown.

**The results table** has one row per specification, in their order: ``run_id``, the labels,
``seed``, ``status`` (completed, failed, interrupted), ``reused``, ``error``, ``wall_seconds``,
every total of ``summary.json`` (``firms_born``, ``new_gazelles_observed``, ...) and the
outcome columns (an outcome takes the place of a total of the same name); a run that did not
complete has nulls there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from joblib import Parallel, delayed
from omegaconf import OmegaConf

from sim.batch.status import (
    COMPLETED,
    ERROR_FILE,
    FAILED,
    INTERRUPTED,
    OUTCOMES_FILE,
    RUNNING,
    now,
    read_json,
    read_status,
    read_summary,
    run_state,
    settle_runs,
    settle_status,
    write_json,
    write_status,
)
from sim.compose import load_config
from sim.config import Config, ConfigError, to_config
from sim.core.allocator import release_memory
from sim.core.errors import interrupted
from sim.io.files import read_results, start_results, write_summary, write_table

log = logging.getLogger("sim")

#: Keys that do not change what a run computes: ignored when deciding whether a finished run
#: can be reused (and left out of run directory names, conf/config.yaml).
NEUTRAL_KEYS = ("output.progress",)
#: The message of joblib's (loky's) warning when it replaces a worker process; see the module docstring.
WORKER_STOPPED_WARNING = "A worker stopped while some jobs were given to the executor"
#: Seeds are integers in [0, 2**63 - 1] (sim.config.Config.seed).
MAX_SEED = 2**63 - 1

Outcomes = Callable[[dict, dict, Path], Mapping[str, Any]]

__all__ = [
    "RunSpec",
    "run_batch",
    "execute",
    "resolve_configs",
    "compose_overrides",
    "config_dict",
    "finished_summary",
    "outcome_name",
    "quiet_worker_warnings",
    "NEUTRAL_KEYS",
]


@dataclass
class RunSpec:
    """One run of a batch: where it goes, what it runs, and how the results table labels it.

    ``run_id``: the run's directory relative to the batch directory (``/`` makes subdirectories).
    ``overrides``: configuration overrides composed like the command line (``seed=3`` among them),
    recorded in ``.hydra/overrides.yaml``. ``config``: a ready configuration to run instead (the
    overrides are then only recorded). ``labels``: columns of the results table for this run.
    """

    run_id: str
    overrides: Sequence[str] = ()
    labels: Mapping[str, Any] = field(default_factory=dict)
    config: Config | None = None

    def __post_init__(self) -> None:
        self.overrides = [str(o) for o in self.overrides]
        self.labels = dict(self.labels)
        parts = Path(self.run_id).parts
        if not self.run_id or Path(self.run_id).is_absolute() or ".." in parts or any(p.startswith(".") for p in parts):
            raise ValueError(f"run_id {self.run_id!r}: give a relative directory name without '..' or hidden parts")


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------


def config_dict(cfg) -> dict:
    """The resolved configuration as plain containers (as summary.json stores it)."""
    return OmegaConf.to_container(OmegaConf.structured(cfg))


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


def finished_summary(outdir, cfg) -> dict | None:
    """The summary of a finished run of the same configuration in ``outdir``, else None."""
    summary = read_summary(outdir)
    if not summary or summary.get("finished") is not True or "config" not in summary:
        return None
    if _comparable(summary["config"]) != _comparable(config_dict(cfg)):
        return None
    return summary


def _split_seed(overrides: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    rest, seed = [], None
    for o in overrides:
        key, sep, value = o.partition("=")
        if sep and key.strip() == "seed":
            seed = value.strip()
        else:
            rest.append(o)
    return tuple(rest), seed


def _seed_value(text: str, overrides: Sequence[str]) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise ConfigError(f"seed={text} is not an integer (in {' '.join(overrides)})") from None
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed} is out of range: allowed 0 <= seed <= 2^63 - 1")
    return seed


def _key(override: str) -> str:
    key = str(override).partition("=")[0].strip()
    return key.lstrip("+~")


def compose_overrides(defaults: Sequence[str], overrides: Sequence[str] | None) -> list[str]:
    """``defaults`` with ``overrides`` added: a default is dropped only where an override sets the same key."""
    overrides = list(overrides or [])
    given = {_key(o) for o in overrides}
    return [d for d in defaults if _key(d) not in given] + overrides


def resolve_configs(specs: Sequence[RunSpec]) -> list[Config]:
    """The configuration of every specification, composed and checked here (ConfigError on a mistake).

    Specifications whose overrides differ only in ``seed=`` share one composition.
    """
    composed: dict[tuple[str, ...], Config] = {}
    out = []
    for spec in specs:
        if spec.config is not None:
            out.append(to_config(spec.config))
            continue
        rest, seed = _split_seed(spec.overrides)
        if rest not in composed:
            composed[rest] = load_config(list(spec.overrides))
            out.append(composed[rest])
            continue
        cfg = composed[rest]
        out.append(dataclasses.replace(cfg, seed=_seed_value(seed, spec.overrides)) if seed is not None else cfg)
    return out


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------


def outcome_name(fn) -> str | None:
    """A stable name of an outcome function (with the arguments of a ``functools.partial``)."""
    if fn is None:
        return None
    if isinstance(fn, functools.partial):
        args = repr((fn.args, sorted(fn.keywords.items())))
        return f"{outcome_name(fn.func)}#{hashlib.sha1(args.encode()).hexdigest()[:12]}"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _wanted_tables(tables) -> list[str] | None:
    """None for every table (and the plots the configuration asks for), else the names to write."""
    if tables is True:
        return None
    return [] if tables is False or tables is None else list(tables)


def _tables_present(outdir: Path, tables) -> bool:
    """Whether ``outdir`` holds the tables asked for (those its run produced: an optional table such as
    policy_accounts exists only for runs with a policy)."""
    produced = (read_status(outdir) or {}).get("tables_produced")
    wanted = _wanted_tables(tables)
    if wanted is None:
        wanted = produced or ["timeseries"]
    return all((outdir / f"{n}.parquet").is_file() or (produced is not None and n not in produced) for n in wanted)


def _reuse(outdir: Path, cfg, tables, outcomes) -> dict | None:
    """The record of a finished run in ``outdir`` that this job can reuse, else None."""
    summary = finished_summary(outdir, cfg)
    if summary is None or run_state(outdir)[0] != COMPLETED or not _tables_present(outdir, tables):
        return None
    values = None
    if outcomes is not None:
        stored = read_json(outdir / OUTCOMES_FILE)
        if isinstance(stored, dict) and stored.get("function") == outcome_name(outcomes):
            values = stored.get("values") or {}
        elif _wanted_tables(tables) is None:  # every table is on disk: compute the outcomes from them
            run_tables, run_summary = read_results(outdir)
            values = dict(outcomes(run_tables, run_summary, outdir))
            write_json(outdir / OUTCOMES_FILE, {"function": outcome_name(outcomes), "values": values}, sort_keys=False)
        else:
            return None
    return {"status": "skipped", "dir": str(outdir), "totals": summary.get("totals", {}), "outcomes": values,
            "wall_seconds": summary.get("wall_seconds"), "seed": summary.get("seed")}


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt like Ctrl-C (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_hydra_record(outdir: Path, overrides: Sequence[str], cfg) -> None:
    """``.hydra/overrides.yaml`` and ``.hydra/config.yaml``, as a Hydra job writes them."""
    record = outdir / ".hydra"
    record.mkdir(parents=True, exist_ok=True)
    (record / "overrides.yaml").write_text(yaml.safe_dump(list(overrides), allow_unicode=True), encoding="utf-8")
    (record / "config.yaml").write_text(yaml.safe_dump(config_dict(cfg), allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")


def _simulate(cfg, outdir: Path, tables, outcomes, progress,
              share_warmup: bool) -> tuple[dict, dict | None, list, tuple]:
    """Run ``cfg`` (from this process's shared warm-up of its world with ``share_warmup``) and write
    what is asked into ``outdir``.

    Returns the summary, the outcome values, the names of the tables the run produced, and the
    seconds spent simulating (with the warm-up, when this run had to build it) and writing."""
    from sim.run import run_simulation, shared_warm_start  # noqa: PLC0415 - imported (and timed) by execute

    start_results(outdir, {"seed": cfg.seed, "years": cfg.years, "scale": cfg.scale, "ecosystem": cfg.ecosystem.name})
    t0 = time.perf_counter()
    res = run_simulation(cfg, progress=progress, warm_start=shared_warm_start(cfg) if share_warmup else None)
    t1 = time.perf_counter()
    wanted = _wanted_tables(tables)
    if wanted is None:
        res.write(outdir)
    else:
        for name in wanted:
            if name in res.tables:
                write_table(outdir, name, res.tables[name])
    values = None
    if outcomes is not None:
        values = dict(outcomes(res.tables, res.summary, outdir))
        write_json(outdir / OUTCOMES_FILE, {"function": outcome_name(outcomes), "values": values}, sort_keys=False)
    if wanted is not None:
        write_summary(outdir, res.summary)  # finished: true, after everything else
    return res.summary, values, sorted(res.tables), (t1 - t0, time.perf_counter() - t1)


def execute(
    dcfg,
    outdir,
    *,
    overrides: Sequence[str] | None = None,
    labels: Mapping[str, Any] | None = None,
    job: dict | None = None,
    resume: bool = True,
    catch: bool = True,
    tables=True,
    outcomes: Outcomes | None = None,
    hydra_record: bool = False,
    share_warmup: bool = False,
) -> dict:
    """Run one job into ``outdir`` and return a small record of what happened.

    ``dcfg`` is the job's configuration (OmegaConf, dict or :class:`sim.config.Config`). With
    ``resume``, a reusable finished run in ``outdir`` is not run again (status ``skipped``).
    With ``catch``, an exception (a bad value, an error in the model, a full disk) is recorded in
    ``run_status.json`` and ``error.txt`` and returned as status ``failed`` so that the other jobs
    go on. Ctrl-C or SIGTERM marks the run ``interrupted`` and propagates. ``tables``: True
    writes every table (and the configured plots), False none, a list those named; summary.json
    is always written. ``hydra_record`` writes ``.hydra/`` (a Hydra job has its own).
    ``share_warmup``: go on from this process's warm-up of the run's world when it has one, and keep
    this run's for the next (:func:`sim.run.shared_warm_start`; the same tables as a run from scratch).
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    base = {"overrides": list(overrides or []), "labels": dict(labels) if labels else None,
            "host": socket.gethostname(), "pid": os.getpid(), **(job or {})}
    started = now()
    t_import = time.perf_counter()
    import sim.run  # noqa: F401, PLC0415 - the first job of a worker pays the model's imports; timed here

    t0 = time.perf_counter()
    base["import_seconds"] = round(t0 - t_import, 4)
    attempt = int((read_status(outdir) or {}).get("attempt", 0)) + 1
    try:
        cfg = to_config(dcfg)
        if resume and (done := _reuse(outdir, cfg, tables, outcomes)) is not None:
            log.info("Skipped %s: it already holds a finished run of this configuration.", outdir)
            return done
        if hydra_record:
            _write_hydra_record(outdir, base["overrides"], cfg)
        write_status(outdir, status=RUNNING, started=started, attempt=attempt, **base)
        progress = {"on": True}.get(cfg.output.progress, False)  # no bars from parallel jobs unless asked
        with _sigterm_as_interrupt():
            summary, values, produced, (sim_s, write_s) = _simulate(cfg, outdir, tables, outcomes, progress,
                                                                    share_warmup)
    except KeyboardInterrupt:
        _mark_interrupted(outdir, started, attempt, t0, base)
        raise
    except Exception as exc:
        if interrupted(exc):  # Ctrl-C inside a library, come out as another error: an interruption
            _mark_interrupted(outdir, started, attempt, t0, base)
            raise KeyboardInterrupt from exc
        if not catch:
            raise
        message = _one_line(exc)
        (outdir / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        write_status(outdir, status=FAILED, started=started, ended=now(), attempt=attempt,
                     error_type=type(exc).__name__, error=message, traceback_file=ERROR_FILE,
                     job_seconds=round(time.perf_counter() - t0, 4), **base)
        log.error("Run %s failed: %s (traceback in %s)", outdir, message, outdir / ERROR_FILE)
        return {"status": FAILED, "dir": str(outdir), "error": message}
    (outdir / ERROR_FILE).unlink(missing_ok=True)
    write_status(outdir, status=COMPLETED, started=started, ended=now(), attempt=attempt,
                 simulation_seconds=round(sim_s, 4), write_seconds=round(write_s, 4),
                 job_seconds=round(time.perf_counter() - t0, 4), tables_produced=produced, **base)
    log.info("Wrote the results to %s", outdir)
    return {"status": COMPLETED, "dir": str(outdir), "totals": summary.get("totals", {}), "outcomes": values,
            "wall_seconds": summary.get("wall_seconds"), "seed": summary.get("seed")}


# --------------------------------------------------------------------------------------------
# Many runs
# --------------------------------------------------------------------------------------------


def _mark_interrupted(outdir: Path, started: str, attempt: int, t0: float, base: dict) -> None:
    write_status(outdir, status=INTERRUPTED, started=started, ended=now(), attempt=attempt,
                 error="interrupted (Ctrl-C or SIGTERM) before the run finished",
                 job_seconds=round(time.perf_counter() - t0, 4), **base)


def _job(spec: RunSpec, cfg, rundir: Path, outcomes, tables, resume: bool, catch: bool, share_warmup: bool) -> dict:
    """One task of the pool (runs in a worker process, or here with ``jobs=1``)."""
    for name in ("MESA", "mesa"):
        logging.getLogger(name).setLevel(logging.WARNING)
    record = execute(cfg, rundir, overrides=spec.overrides, labels=spec.labels, resume=resume, catch=catch,
                     tables=tables, outcomes=outcomes, hydra_record=True, share_warmup=share_warmup)
    return {**record, "run_id": spec.run_id}


@contextlib.contextmanager
def quiet_worker_warnings():
    """Hide joblib's warning that it replaced a worker process (see the module docstring)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=WORKER_STOPPED_WARNING, category=UserWarning)
        yield


class _Progress:
    """A tqdm bar over the runs, on a terminal (``progress=None``), always (True) or never (False)."""

    def __init__(self, progress: bool | None, total: int, desc: str):
        self.counts: dict[str, int] = {}
        self.bar = None
        if progress is False or (progress is None and not sys.stderr.isatty()) or total == 0:
            return
        from tqdm import tqdm  # noqa: PLC0415 - only when a bar is shown

        self.bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True)

    def update(self, record: dict) -> None:
        status = {"skipped": "reused"}.get(record["status"], record["status"])
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.bar is not None:
            self.bar.set_postfix_str(", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_unit(unit: list, outcomes, tables, resume: bool, catch: bool, share_warmup: bool):
    """The runs of one unit of work, one after the other in this process, yielding each record; with
    ``share_warmup`` they share their world's warm-up, released when the unit ends (so a pool worker
    keeps no warm model between units). When the unit ends, its models (Mesa agents and their model
    refer to each other, so only the cycle collector frees them) are collected and the freed heap is
    given back (:func:`sim.core.allocator.release_memory`): otherwise a process that runs unit after
    unit can hold an earlier run's arrays while the next one builds its own."""
    try:
        for spec, cfg, rundir in unit:
            yield _job(spec, cfg, rundir, outcomes, tables, resume, catch, share_warmup)
    finally:
        if share_warmup:
            from sim.run import shared_warm_start  # noqa: PLC0415 - imported by the runs already

            shared_warm_start(None)
        gc.collect()
        release_memory()


def _jobs(unit: list, *args) -> list[dict]:
    """One task of the pool: the records of a unit (:func:`_run_unit`)."""
    return list(_run_unit(unit, *args))


def _units(tasks: list, jobs: int, share_warmup: bool) -> list[list]:
    """Units of work: each run alone, or with ``share_warmup`` the consecutive runs of one world
    together (one warm-up each), split further while there are fewer units than workers."""
    if not share_warmup:
        return [[t] for t in tasks]
    from sim.run import same_world  # noqa: PLC0415 - the model's imports only for a batch that shares warm-ups

    units: list[list] = []
    for task in tasks:
        if units and same_world(units[-1][0][1], task[1]):
            units[-1].append(task)
        else:
            units.append([task])
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    while len(units) < workers and any(len(u) > 1 for u in units):
        big = max(units, key=len)
        i = units.index(big)
        units[i:i + 1] = [big[: len(big) // 2], big[len(big) // 2:]]
    return units


def _records(units: list[list], jobs: int, args: tuple, progress: _Progress):
    """Run the units here (``jobs=1``) or in a pool, yielding each run's record as it comes (from a
    pool, a unit's records come together when it ends)."""
    if jobs == 1 or len(units) < 2:
        for unit in units:
            for record in _run_unit(unit, *args):
                progress.update(record)
                yield record
        return
    n_jobs = min(jobs, len(units)) if jobs > 0 else jobs
    pool = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    results = pool(delayed(_jobs)(unit, *args) for unit in units)
    try:
        for records in results:
            for record in records:
                progress.update(record)
                yield record
    finally:
        results.close()  # on an interruption: stop the pool's workers


def run_batch(
    specs: Iterable[RunSpec],
    batch_dir,
    *,
    outcomes: Outcomes | None = None,
    tables=True,
    jobs: int = 1,
    resume: bool = True,
    progress: bool | None = None,
    desc: str = "runs",
    catch: bool = True,
    note: Callable[[str], None] | None = None,
    share_warmup: bool = False,
) -> pd.DataFrame:
    """Run every specification into ``batch_dir/<run_id>``; return the results table (see the module docstring).

    ``outcomes``: a function of the run's ``(tables, summary, run_dir)`` returning named
    outcomes (it must be picklable for ``jobs`` > 1: a module-level function or a
    ``functools.partial`` of one). ``tables``: True (every table and the configured plots),
    False (summary.json only) or a list of table names. ``jobs``: parallel processes (joblib;
    -1 every core). ``resume``: reuse finished runs. ``progress``: the bar (None: on a terminal).
    ``catch``: record a failing run and go on (False: the first error propagates). ``note``: called
    with one line saying how many finished runs are reused, when a batch resumes.
    ``share_warmup``: consecutive runs that differ only in their policies and outputs (the same
    world) run together in one process and branch from one warm-up (:class:`sim.run.WarmStart`:
    the same tables as from scratch); list such runs next to each other, as a comparison does,
    seed by seed. A world's runs are split over the workers only when there are fewer worlds
    than workers.
    Raises ConfigError before any run if a configuration is wrong, KeyboardInterrupt when stopped.
    """
    specs = list(specs)
    ids = [s.run_id for s in specs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"run_id(s) {', '.join(dup)} appear more than once in the batch")
    configs = resolve_configs(specs)
    batch_dir = Path(batch_dir)
    tasks = [(spec, cfg, batch_dir / spec.run_id) for spec, cfg in zip(specs, configs, strict=False)]
    records: dict[str, dict] = {}
    for spec, cfg, rundir in tasks:
        if rundir.is_dir():
            settle_status(rundir)  # a 'running' left by a process that is gone: interrupted
            if resume and (done := _reuse(rundir, cfg, tables, outcomes)) is not None:
                records[spec.run_id] = {**done, "run_id": spec.run_id}
    todo = [t for t in tasks if t[0].run_id not in records]
    if records and note is not None:
        note(f"resuming: {len(records)} of the {len(tasks)} runs in {batch_dir} are finished and reused; "
             f"{len(todo)} to run")
    bar = _Progress(progress, len(tasks), desc)
    for record in records.values():
        bar.update(record)
    try:
        with quiet_worker_warnings(), _sigterm_as_interrupt():
            units = _units(todo, jobs, share_warmup)
            for record in _records(units, jobs, (outcomes, tables, resume, catch, share_warmup), bar):
                records[record["run_id"]] = record
    except KeyboardInterrupt:
        settle_runs(rundir for _, _, rundir in tasks)
        raise
    finally:
        bar.close()
    return results_frame(specs, configs, records)


def _is_number(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def results_frame(specs: Sequence[RunSpec], configs: Sequence[Config], records: Mapping[str, dict]) -> pd.DataFrame:
    """One row per specification from the runs' records (see the module docstring)."""
    rows = []
    for spec, cfg in zip(specs, configs, strict=False):
        rec = records.get(spec.run_id, {"status": INTERRUPTED, "error": "not run (the batch stopped)"})
        done = rec["status"] in (COMPLETED, "skipped")
        row: dict[str, Any] = {"run_id": spec.run_id, **spec.labels, "seed": int(cfg.seed),
                               "status": COMPLETED if done else rec["status"], "reused": rec["status"] == "skipped",
                               "error": None if done else rec.get("error"),
                               "wall_seconds": rec.get("wall_seconds") if done else None}
        if done:  # an outcome takes the place of a total of the same name
            row.update(sorted((rec.get("totals") or {}).items()))  # as summary.json stores them
            row.update(rec.get("outcomes") or {})
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in df.columns:
        if df[c].dtype == object and df[c].map(_is_number).all():
            df[c] = pd.to_numeric(df[c], errors="coerce") if df[c].notna().any() else df[c]
    return df

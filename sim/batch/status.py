"""The record a run leaves in its directory, and how to read it back.

A run directory (one per run of a sweep, a comparison, a validation, a calibration or a
sensitivity analysis) holds, besides the run's own tables and ``summary.json``:

``run_status.json``
    written atomically (a reader sees the old or the new record, never half of one) when the
    run starts and when it ends. ``status`` is one of

    * ``running``: the run started (``pid`` and ``host`` say which process runs it);
    * ``completed``: the run and its tables are written;
    * ``failed``: it raised (``error_type``, ``error``; the traceback in ``error.txt``);
    * ``interrupted``: it was stopped by Ctrl-C or SIGTERM, or its process disappeared
      (killed, out of memory) and a later reader found it so.

    with the job's ``overrides`` and ``labels``, ``attempt`` (1 the first time), ``started`` and
    ``ended`` (UTC, ISO 8601), and for a completed run the seconds spent simulating and writing.

``outcomes.json``
    the outcomes a batch computed from the run's tables (:mod:`sim.batch.runner`), kept so
    that a resumed batch need not compute them again.

:func:`run_state` tells, from these files alone, what became of a run: a ``running`` record
whose process no longer exists is ``interrupted`` (a process killed with SIGKILL cannot say so
itself), and :func:`settle_status` writes that into the file. This module imports nothing from
the rest of the package, so the runner, the gathering and the Hydra callback all build on it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.batch.tabledoc import Col, FileDoc

__all__ = [
    "STATUS_FILE",
    "SUMMARY_FILE",
    "ERROR_FILE",
    "OUTCOMES_FILE",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "INTERRUPTED",
    "INCOMPLETE",
    "UNFINISHED",
    "now",
    "write_json",
    "write_status",
    "read_status",
    "read_json",
    "read_summary",
    "process_alive",
    "run_state",
    "settle_status",
    "settle_runs",
    "RUN_FILES",
]

STATUS_FILE = "run_status.json"
SUMMARY_FILE = "summary.json"
ERROR_FILE = "error.txt"
OUTCOMES_FILE = "outcomes.json"

RUNNING, COMPLETED, FAILED, INTERRUPTED = "running", "completed", "failed", "interrupted"
#: A run with no usable record: it never started, or was cut off before it wrote its status.
INCOMPLETE = "incomplete"
#: The states of a run that a resumed batch or sweep runs again.
UNFINISHED = (INTERRUPTED, INCOMPLETE)

#: What every run of a sweep, comparison, validation, calibration or sensitivity analysis leaves in its directory
#: besides the run's own files (docs/outputs.md).
RUN_FILES = (
    FileDoc(STATUS_FILE, "How the run went, written when it starts and when it ends (JSON; UTC times in ISO 8601).",
            "one object per run", (
                Col("status", "string", "", "running, completed, failed or interrupted (Ctrl-C, SIGTERM, or its "
                    "process found gone by a later reader)."),
                Col("attempt", "integer", "", "1 the first time the run is made, +1 each time it is run again."),
                Col("started", "string", "time", "When the run started."),
                Col("ended", "string", "time", "When it completed, failed or was interrupted."),
                Col("overrides", "list of strings", "", "The run's configuration overrides."),
                Col("labels", "object", "", "The labels a batch gave the run (e.g. arm), when any."),
                Col("host", "string", "", "Machine that ran it."),
                Col("pid", "integer", "", "Process that ran it."),
                Col("import_seconds", "number", "s", "Time the process spent importing the model (its first run)."),
                Col("simulation_seconds", "number", "s", "Time spent simulating (completed runs)."),
                Col("write_seconds", "number", "s", "Time spent writing the tables (completed runs)."),
                Col("job_seconds", "number", "s", "Time from the start of the job to its end."),
                Col("tables_produced", "list of strings", "", "The tables the run produced (completed runs)."),
                Col("error_type", "string", "", "The exception's class (failed runs)."),
                Col("error", "string", "", "One line on why it failed or was interrupted."),
                Col("traceback_file", "string", "", "error.txt (failed runs)."),
                Col("detected", "string", "time", "When a reader found the process of a running run gone."),
                Col("job_num, job_id", "integer, string", "", "Hydra's job number and id (sweeps)."),
            )),
    FileDoc(ERROR_FILE, "The traceback of a failed run."),
    FileDoc(OUTCOMES_FILE, "The outcomes a batch computed from the run's tables (JSON: `function`, the outcome "
            "function's name, and `values`), reused when the batch is resumed; the same values as the batch's results "
            "table."),
)


def now() -> str:
    """The current time, UTC, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _plain(obj: Any) -> Any:
    """JSON values only: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, obj: Any, *, sort_keys: bool = True) -> Path:
    """Write ``obj`` as JSON through a temporary file and a rename: readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(_plain(obj), fh, indent=2, sort_keys=sort_keys, default=str, allow_nan=False, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_json(path) -> Any:
    """The JSON in ``path``, or None if it is missing or cannot be read."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def write_status(outdir, **fields) -> dict:
    """Write ``outdir/run_status.json`` atomically (None values left out); return the record."""
    record = {k: v for k, v in fields.items() if v is not None}
    write_json(Path(outdir) / STATUS_FILE, record)
    return record


def read_status(outdir) -> dict | None:
    """The run-status record of ``outdir`` (None if there is none or it cannot be read)."""
    record = read_json(Path(outdir) / STATUS_FILE)
    return record if isinstance(record, dict) else None


def read_summary(outdir) -> dict | None:
    """``outdir/summary.json`` (None if there is none or it cannot be read)."""
    summary = read_json(Path(outdir) / SUMMARY_FILE)
    return summary if isinstance(summary, dict) else None


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rpartition(")")[2].split()
        ticks = int(fields[19])  # field 22 of stat, counted after the command name
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_alive(pid, started: str | None = None) -> bool:
    """Whether process ``pid`` of this machine still exists and is the one that started at ``started``.

    A pid can be reused: where /proc tells when the process started, a process that started
    after ``started`` (the time the run wrote ``running``) is another one.
    """
    try:
        pid = int(pid)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    except (TypeError, ValueError, OSError):
        return False
    if started:
        began = _process_start(pid)
        try:
            then = datetime.fromisoformat(started).timestamp()
        except ValueError:
            then = None
        if began is not None and then is not None and began > then + 1.0:
            return False
    return True


def run_state(run) -> tuple[str, str | None]:
    """``(state, reason)`` of a run directory, from its files.

    ``state`` is completed, failed, interrupted, running (its process is alive) or incomplete
    (no record of a finished or stopped run: never started, or running on another machine).
    """
    status = read_status(run) or {}
    summary = read_summary(run)
    kind = status.get("status")
    if kind == FAILED:
        return FAILED, status.get("error") or FAILED
    if summary is not None and summary.get("finished") is True and kind != INTERRUPTED:
        return COMPLETED, None
    if kind == INTERRUPTED:
        return INTERRUPTED, status.get("error") or "interrupted before it finished"
    if kind == RUNNING:
        host = status.get("host")
        if host and host != socket.gethostname():
            return INCOMPLETE, f"did not finish, or is still running on {host} (pid {status.get('pid')})"
        if process_alive(status.get("pid"), status.get("started")):
            return RUNNING, f"still running (pid {status.get('pid')})"
        return INTERRUPTED, f"interrupted: its process (pid {status.get('pid')}) stopped before the run finished"
    if summary is not None:
        return INCOMPLETE, "did not finish (killed, or still running)"
    return INCOMPLETE, "no results (the run never started or was killed at once)"


def settle_status(run) -> tuple[str, str | None]:
    """:func:`run_state`, and write ``interrupted`` into a ``running`` record whose process is gone."""
    state, reason = run_state(run)
    status = read_status(run)
    if state == INTERRUPTED and status and status.get("status") == RUNNING:
        write_status(run, **{**status, "status": INTERRUPTED, "error": reason, "detected": now()})
    return state, reason


def settle_runs(rundirs: Iterable, wait: float = 3.0) -> int:
    """Mark every ``running`` run whose process is gone ``interrupted``; return how many were marked.

    Processes that are stopping (workers of an interrupted pool) get up to ``wait`` seconds.
    """
    pending = [Path(d) for d in rundirs if (read_status(d) or {}).get("status") == RUNNING]
    deadline = time.monotonic() + wait
    marked = 0
    while pending:
        still = []
        for d in pending:
            state, _ = settle_status(d)
            if state == INTERRUPTED:
                marked += 1
            elif state == RUNNING:
                still.append(d)
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return marked

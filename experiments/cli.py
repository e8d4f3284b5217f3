"""What every command line of experiments/ does when a tool stops: one line on stderr and an exit status."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.batch.status import COMPLETED, STATUS_FILE, run_state
from sim.config import ConfigError

__all__ = ["TOOL_ERRORS", "exit_status", "finished_runs", "run"]

#: What a tool may stop with: a mistake in the input, runs that did not complete, Ctrl-C or SIGTERM.
TOOL_ERRORS = (ConfigError, RuntimeError, KeyboardInterrupt)


def finished_runs(runs_dir) -> int:
    """The runs below ``runs_dir`` that are finished, by the rule a resumed batch reuses them with
    (:func:`sim.batch.status.run_state`): a Ctrl-C between a run's last table and its status record
    leaves a finished run that the next command reuses, so it is counted as kept."""
    root = Path(runs_dir)
    return sum(run_state(p.parent)[0] == COMPLETED for p in root.rglob(STATUS_FILE)) if root.is_dir() else 0


def exit_status(exc: BaseException, runs_dir=None) -> int:
    """Say why the tool stopped, on one line; return 2 for a mistake in the input, 1 when runs did not
    complete, 130 when it was interrupted (the finished runs in ``runs_dir`` are kept)."""
    if isinstance(exc, KeyboardInterrupt):
        kept = ""
        if runs_dir:
            done = finished_runs(runs_dir)
            kept = (f"; the {done} finished run{'s' if done != 1 else ''} in {runs_dir} "
                    f"{'are' if done != 1 else 'is'} kept: run the same command again to resume") if done else \
                "; no run had finished yet"
        print(f"error: interrupted{kept}.", file=sys.stderr)
        return 130
    print(f"error: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, ConfigError) else 1


def run(main) -> None:
    """Run a command line's ``main`` and exit with its status; Ctrl-C outside the tool's own handling
    (while Python starts or shuts the worker processes down) stops it with one line, status 130."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        code = 130
    raise SystemExit(code)

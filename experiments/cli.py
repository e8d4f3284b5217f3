"""What every command line of experiments/ does when a tool stops: one line on stderr and an exit status."""

from __future__ import annotations

import sys

from sim.config import ConfigError

__all__ = ["TOOL_ERRORS", "exit_status"]

#: What a tool may stop with: a mistake in the input, runs that did not complete, Ctrl-C or SIGTERM.
TOOL_ERRORS = (ConfigError, RuntimeError, KeyboardInterrupt)


def exit_status(exc: BaseException, runs_dir=None) -> int:
    """Say why the tool stopped, on one line; return 2 for a mistake in the input, 1 when runs did not
    complete, 130 when it was interrupted (the finished runs in ``runs_dir`` are kept)."""
    if isinstance(exc, KeyboardInterrupt):
        kept = f"; the finished runs in {runs_dir} are kept: run the same command again to resume" if runs_dir else ""
        print(f"error: interrupted{kept}.", file=sys.stderr)
        return 130
    print(f"error: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, ConfigError) else 1

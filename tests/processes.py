"""Helpers for tests that start the command in a child process and stop it with a signal."""

from __future__ import annotations

import signal


def sigint_as_on_a_terminal() -> None:
    """``preexec_fn`` of a child that a test stops with SIGINT (Ctrl-C).

    Python turns SIGINT into KeyboardInterrupt only if SIGINT is not ignored when it starts, and it is
    ignored in the background jobs of a non-interactive shell (``cmd &``, as some CI runners start the
    suite): the child gets SIGINT back at its default, as a command started from a terminal has it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)

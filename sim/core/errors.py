"""Errors meant for users."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user mistake in the configuration. The message is meant to be shown as is."""


def interrupted(exc: BaseException) -> bool:
    """``exc`` is, or was raised while handling, a Ctrl-C (KeyboardInterrupt).

    A Ctrl-C that lands inside a library can come out as another error (OmegaConf, stopped while
    building a node, raises an AttributeError about the half-built node): such an error is an
    interruption, not a failure of the run or a mistake in the configuration."""
    seen = []
    while exc is not None and exc not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return False


__all__ = ["ConfigError", "interrupted"]

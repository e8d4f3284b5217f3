"""Errors meant for users."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user mistake in the configuration. The message is meant to be shown as is."""


__all__ = ["ConfigError"]

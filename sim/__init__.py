"""Agent-based simulation of an innovation ecosystem: startups, gazelles (瞪羚) and unicorns (独角兽).

Kept light on purpose: importing ``sim`` loads nothing heavy. ``sim.load_config`` (Hydra's compose
API over ``conf/``) is imported on first use; the run API is in :mod:`sim.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["load_config"]

if TYPE_CHECKING:  # pragma: no cover
    from sim.compose import load_config


def __getattr__(name: str):
    if name == "load_config":
        from sim.compose import load_config  # noqa: PLC0415  (keeps `import sim` light: Hydra loads on first use)

        return load_config
    raise AttributeError(f"module 'sim' has no attribute {name!r}")

"""Running part of a model's month in tests: the phases before a given one."""

from __future__ import annotations

from sim.model import EcosystemModel


def run_until(m: EcosystemModel, phase: str) -> None:
    """Run this month's phases before ``phase`` (the month is left unfinished)."""
    m.market.new_month()
    for name, methods in m._phases:
        if name == phase:
            return
        for method in methods:
            method()

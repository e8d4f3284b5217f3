"""Time: one step is one month.

``current_step`` counts months; step 0 is January of ``ecosystem.start_year`` and the warm-up
runs at negative steps. Rates in the configuration are per year; a rule applies one month of a
rate ``r`` as ``r * DT``.
"""

from __future__ import annotations

MONTHS = 12
#: One month in years.
DT = 1.0 / 12.0
#: Added to a step before it goes into a firm's birth key, so that warm-up (negative) steps
#: give non-negative keys (:func:`sim.core.rng.birth_keys`).
STEP_OFFSET = 1 << 16


def year_of(start_year: int, step):
    """Calendar year of ``step`` (an int or an integer array); floor division, so step -1 is
    December of the year before ``start_year``."""
    return start_year + step // MONTHS


def step_of(start_year: int, year: int, month: int = 1) -> int:
    """The step of ``month`` (1-12) of calendar ``year``."""
    return (year - start_year) * MONTHS + month - 1


def is_year_end(step: int) -> bool:
    """Whether ``step`` is a December."""
    return (step + 1) % MONTHS == 0


def years_since(step, start):
    """Years from ``start`` (a step, or an array of steps) to ``step``: ``(step - start) / 12``."""
    return (step - start) / 12.0


__all__ = ["MONTHS", "DT", "STEP_OFFSET", "year_of", "step_of", "is_year_end", "years_since"]

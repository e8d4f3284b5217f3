"""Resources of a run: refuse one that would not fit in memory, before anything is built (the C
allocator's settings are :mod:`sim.core.allocator`).

A run keeps one record per firm ever born and, with ``output.firm_years``, one row per live firm
per observed year end; both are held in memory until the tables are written. Their number follows
from the configuration, so the memory a run needs can be estimated before the model is built:

* firms born: ``births_per_year * scale`` a year, growing by ``births_growth``, over
  ``warmup_years + years``;
* live firms (for the firm-year panel): the yearly births times the expected time a firm stays
  in the population, from the closure hazards of a one-person firm and capped at
  ``graduation_age_years`` (insolvencies and exits shorten it; larger firms, with a lower hazard,
  stay longer, but most firms have a few employees and the byte constants below carry a margin);
* bytes per firm and per firm-year row: measured peak resident memory of ``python -m sim``
  runs (about 330 B per firm born and 140 B per firm-year row at scales 0.05-0.2; the constants
  below add a margin), plus the interpreter and libraries.

:func:`check_memory` compares the estimate with ``memory_limit_gb`` (0: the machine's memory,
physical RAM or the cgroup limit, whichever is lower) and raises :class:`ConfigError` naming
``scale`` with both numbers. The estimate is deliberately simple; ``memory_limit_gb`` overrides
the machine's figure when you know better.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from sim.config import Config
from sim.core.errors import ConfigError

__all__ = ["estimate_memory_bytes", "machine_memory_bytes", "check_memory", "expected_firms"]

BASE_BYTES = 350 * 2**20  # interpreter, numpy/pandas/pyarrow/mesa, track system, plots
BYTES_PER_FIRM = 400  # live columns, per-firm records, firms table, deals and positions
BYTES_PER_FIRM_YEAR = 160  # firm_years panel in the model and as a table


def _births_integral(per_year: float, growth: float, years: float) -> float:
    """Firms born over ``years`` at ``per_year`` growing by ``growth`` a year."""
    if years <= 0 or per_year <= 0:
        return 0.0
    if abs(growth) < 1e-12:
        return per_year * years
    r = math.log1p(growth)
    return per_year * math.expm1(r * years) / r


def _expected_stay_years(cfg: Config) -> float:
    """Expected years a firm stays in the population under the closure hazards alone."""
    f = cfg.ecosystem.firms
    cap = f.graduation_age_years
    n = 240
    da = cap / n
    total, cum = 0.0, 0.0
    for i in range(n):
        a = (i + 0.5) * da
        hazard = f.closure_hazard_mature + (f.closure_hazard - f.closure_hazard_mature) * math.exp(
            -a / f.closure_decay_years
        )
        total += math.exp(-(cum + hazard * da / 2)) * da
        cum += hazard * da
    return total


def expected_firms(cfg: Config) -> tuple[float, float, float]:
    """(firms born, live firms at the end, firm-year rows), upper-end estimates."""
    f = cfg.ecosystem.firms
    horizon = cfg.ecosystem.warmup_years + cfg.years
    per_year = f.births_per_year * cfg.scale
    born = _births_integral(per_year, f.births_growth, horizon)
    peak_rate = per_year * max(1.0, (1.0 + f.births_growth) ** horizon)
    live = min(born, peak_rate * _expected_stay_years(cfg))
    rows = live * cfg.years if cfg.output.firm_years else 0.0
    return born, live, rows


def estimate_memory_bytes(cfg: Config) -> int:
    """Peak memory a run of ``cfg`` is expected to need, in bytes."""
    born, _, rows = expected_firms(cfg)
    return int(BASE_BYTES + BYTES_PER_FIRM * born + BYTES_PER_FIRM_YEAR * rows)


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def machine_memory_bytes() -> int | None:
    """Physical memory of the machine, or the cgroup's memory limit if lower; None if unknown."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = None
    limits = [x for x in (physical, _cgroup_limit()) if x]
    return min(limits) if limits else None


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def check_memory(cfg: Config) -> int:
    """Raise ConfigError if ``cfg`` would need more memory than allowed; return the estimate."""
    need = estimate_memory_bytes(cfg)
    if cfg.memory_limit_gb > 0:
        limit, what = int(cfg.memory_limit_gb * 2**30), "memory_limit_gb"
    else:
        limit, what = machine_memory_bytes(), "this machine's memory"
        if limit is None:
            return need
    if need > limit:
        born, _, rows = expected_firms(cfg)
        panel = f" and {rows:,.0f} firm-year rows" if rows else ""
        raise ConfigError(
            f"scale={cfg.scale:g} (with years={cfg.years}, ecosystem.warmup_years={cfg.ecosystem.warmup_years}, "
            f"ecosystem.firms.births_per_year={cfg.ecosystem.firms.births_per_year:g}) needs about {_gb(need)} "
            f"for {born:,.0f} firms{panel}, more than {what} ({_gb(limit)}); lower scale or years, "
            "set output.firm_years=false, or raise memory_limit_gb if you know the run fits."
        )
    return need

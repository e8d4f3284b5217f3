"""Target functions: the simulated counterparts of report figures, computed from output tables.

Every function has the signature ``f(tables, summary, **params) -> float``: ``tables`` is the
dict of output tables of one run (:attr:`sim.run.Results.tables`, or
:func:`sim.io.files.read_results`), ``summary`` its summary. They read nothing else: no live
model state, no hard-coded result. Every number a definition needs (a year, a revenue
threshold, a horizon) is a parameter given in the target's YAML entry (``conf/targets/``),
where its reason is written down.

The value returned is the raw model quantity of the run; for an ``extensive`` target the
registry divides it by the run's ``scale``. A function raises
:class:`sim.validation.registry.TargetUnavailable` when the run cannot answer: the calendar
does not cover the date, or a table it needs is missing.

Calendar: step 0 is January of ``start_year``; year ``y`` covers steps
``12 * (y - start_year)`` to ``12 * (y - start_year) + 11``; a stock "at the end of y" is
read at the December step.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.validation.registry import TargetUnavailable

__all__ = [
    "calendar",
    "year_steps",
    "births_in_year",
    "mean_births_per_year",
    "new_unicorns_in_year",
    "unicorns_at",
    "gazelles_held_in_window",
    "gazelles_listed_in_window",
    "gazelle_share_of_established",
    "new_established_firms_in_year",
    "new_high_tech_enterprises_in_year",
    "incubator_success_rate",
    "time_to_unicorn_quantile",
]

PRIVATE_EQUITY = ("angel", "vc")


# --------------------------------------------------------------------------------------------
# Calendar helpers
# --------------------------------------------------------------------------------------------


def calendar(summary: dict) -> tuple[int, int]:
    """(start_year, years) of a run, from its summary."""
    cfg = summary.get("config") or {}
    start = summary.get("start_year", (cfg.get("ecosystem") or {}).get("start_year"))
    years = summary.get("years", cfg.get("years"))
    if start is None or years is None:
        raise TargetUnavailable("the summary gives no start_year/years: cannot place calendar years")
    return int(start), int(years)


def year_steps(summary: dict, year: int, *, month: int = 12) -> tuple[int, int]:
    """(first step, step of ``month``) of calendar ``year``; TargetUnavailable outside the window."""
    start, years = calendar(summary)
    if not start <= year <= start + years - 1:
        raise TargetUnavailable(
            f"year {year} is outside the observed window {start}–{start + years - 1} (ecosystem.start_year={start}, "
            f"years={years})"
        )
    first = 12 * (year - start)
    return first, first + month - 1


def _table(tables: dict, name: str, *, rows: bool = True) -> pd.DataFrame:
    df = tables.get(name)
    if df is None:
        raise TargetUnavailable(f"the run has no {name} table")
    if rows and len(df) == 0:
        hint = " (output.firm_years=false?)" if name == "firm_years" else ""
        raise TargetUnavailable(f"the {name} table is empty{hint}")
    return df


def _steps(series: pd.Series) -> np.ndarray:
    """A nullable step column as floats, NaN for null."""
    return series.to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------------


def _flow_in_year(tables, summary, column: str, year: int) -> float:
    """timeseries.``column`` summed over the 12 months of calendar ``year``."""
    first, last = year_steps(summary, year)
    ts = _table(tables, "timeseries")
    sel = ts["step"].between(first, last)
    if sel.sum() != 12:
        raise TargetUnavailable(f"the timeseries does not hold the 12 months of {year}")
    return float(ts.loc[sel, column].sum())


def births_in_year(tables, summary, *, year: int) -> float:
    """Firms founded in calendar ``year``, all channels (timeseries.births summed over the year)."""
    return _flow_in_year(tables, summary, "births", year)


def new_high_tech_enterprises_in_year(tables, summary, *, year: int) -> float:
    """Firms certified as high-tech enterprises (高新技术企业) for the first time at the end of
    calendar ``year`` (timeseries.new_high_tech): the model's certification round applies the
    certification's own criteria to the year's accounts (agents.firms.rules.certify_high_tech)."""
    return _flow_in_year(tables, summary, "new_high_tech", year)


def mean_births_per_year(tables, summary, *, first_year: int | None = None, last_year: int | None = None) -> float:
    """Mean yearly firm births over the observed years ``first_year``..``last_year`` (default: all)."""
    start, years = calendar(summary)
    a = start if first_year is None else first_year
    b = start + years - 1 if last_year is None else last_year
    if years < 1 or a > b:
        raise TargetUnavailable("no complete observed year to average over")
    return float(np.mean([births_in_year(tables, summary, year=y) for y in range(a, b + 1)]))


def new_unicorns_in_year(tables, summary, *, year: int) -> float:
    """Firms whose first month as a unicorn (firms.unicorn_step) falls in calendar ``year``."""
    first, last = year_steps(summary, year)
    firms = _table(tables, "firms", rows=False)
    u = _steps(firms["unicorn_step"])
    return float(np.sum((u >= first) & (u <= last)))


# --------------------------------------------------------------------------------------------
# Stocks
# --------------------------------------------------------------------------------------------


def unicorns_at(tables, summary, *, year: int, month: int = 12) -> float:
    """Live unicorns at the end of ``month`` of ``year`` (timeseries.unicorns of that step)."""
    _, step = year_steps(summary, year, month=month)
    ts = _table(tables, "timeseries")
    row = ts.loc[ts["step"] == step, "unicorns"]
    if row.empty:
        raise TargetUnavailable(f"no timeseries row for {year}-{month:02d}")
    return float(row.iloc[0])


def gazelles_held_in_window(tables, summary, *, first_year: int, last_year: int) -> float:
    """Distinct firms that held the gazelle stage at any time from January ``first_year`` to December ``last_year``.

    From stage_changes (complete history, warm-up included): firms that changed to gazelle
    inside the window, plus firms whose stage at the window's start was gazelle (their last
    change before it was to gazelle) and that were still alive then.
    """
    s0, _ = year_steps(summary, first_year)
    _, s1 = year_steps(summary, last_year)
    ch = _table(tables, "stage_changes", rows=False)
    inside = set(ch.loc[ch["step"].between(s0, s1) & (ch["to_stage"] == "gazelle"), "firm_id"].tolist())
    before = ch[ch["step"] < s0].sort_values(["firm_id", "step"], kind="stable")
    last = before.groupby("firm_id", sort=False).tail(1)
    held = set(last.loc[last["to_stage"] == "gazelle", "firm_id"].tolist())
    if held:
        firms = _table(tables, "firms", rows=False).set_index("firm_id")
        end = _steps(firms.loc[sorted(held), "end_step"])
        alive = np.isnan(end) | (end >= s0)
        held = set(np.asarray(sorted(held))[alive].tolist())
    return float(len(inside | held))


def gazelles_listed_in_window(tables, summary, *, first_year: int, last_year: int) -> float:
    """Firms the government added to its gazelle list (gazelle_list) from ``first_year`` to ``last_year``.

    The list is the government's selection (criteria, applications and a quota:
    :class:`agents.government.GazelleList`); a run whose preset keeps no list has an empty table
    and the target is not computable.
    """
    year_steps(summary, first_year)
    year_steps(summary, last_year)
    gl = _table(tables, "gazelle_list", rows=False)
    cfg = ((summary.get("config") or {}).get("ecosystem") or {}).get("government", {}).get("gazelle_list", {})
    if len(gl) == 0 and not float(cfg.get("quota_per_year") or 0.0):
        raise TargetUnavailable("the preset keeps no gazelle list (ecosystem.government.gazelle_list.quota_per_year=0)")
    return float(gl["year"].between(first_year, last_year).sum())


# --------------------------------------------------------------------------------------------
# Ratios and counts over the firm-year panel
# --------------------------------------------------------------------------------------------


def gazelle_share_of_established(tables, summary, *, year: int, min_revenue_mcny: float) -> float:
    """Share of gazelles among live firms with revenue >= ``min_revenue_mcny`` at the end of ``year``.

    The base stands for the firms that file the high-tech-zone statistics (an established,
    revenue-earning firm), not for every registered firm: see the target's definition.
    """
    year_steps(summary, year)
    fy = _table(tables, "firm_years")
    rows = fy[(fy["year"] == year) & (fy["revenue"] >= min_revenue_mcny)]
    if rows.empty:
        raise TargetUnavailable(f"no live firm with revenue >= {min_revenue_mcny} mcny/yr at the end of {year}")
    return float((rows["stage"] == "gazelle").mean())


def new_established_firms_in_year(tables, summary, *, year: int, min_revenue_mcny: float,
                                  min_age_years: float) -> float:
    """Firms that pass the size-and-age test for the first time at the end of ``year``.

    The test: revenue >= ``min_revenue_mcny`` and age >= ``min_age_years`` at a year end
    (firm_years). "First time": the firm passed it at no earlier observed year end. Needs at
    least one observed year before ``year``.
    """
    start, _ = calendar(summary)
    year_steps(summary, year)
    if year <= start:
        raise TargetUnavailable(f"year {year} is the first observed year: no earlier year end to tell new from old")
    fy = _table(tables, "firm_years")
    ok = fy[(fy["revenue"] >= min_revenue_mcny) & (fy["age_years"] >= min_age_years) & (fy["year"] <= year)]
    first = ok.groupby("firm_id")["year"].min()
    return float((first == year).sum())


# --------------------------------------------------------------------------------------------
# Policy outcomes
# --------------------------------------------------------------------------------------------


def incubator_success_rate(tables, summary, *, kind: str = "state_incubator") -> float:
    """Share of incubated firms the incubator judged successful, over the incubations that ended in the run.

    Read from summary.json's ``policy_accounts`` of every policy of ``kind`` in force (their
    ``successes`` / ``incubations_ended``, pooled): the state-incubator policy
    (:class:`sim.policies.firms.StateIncubator`) judges each firm at the end of its incubation,
    a success being a firm still alive with revenue of at least its ``success_revenue_mcny``
    or with equity raised.
    """
    accounts = summary.get("policy_accounts") or {}
    mine = [a for a in accounts.values() if a.get("kind") == kind]
    if not mine:
        raise TargetUnavailable(f"no policy of kind {kind!r} in force (policy=[{kind}])")
    ended = sum(int(a.get("incubations_ended") or 0) for a in mine)
    if ended == 0:
        raise TargetUnavailable(f"no incubation of the {kind!r} policy ended within the run")
    return float(sum(int(a.get("successes") or 0) for a in mine) / ended)


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


def time_to_unicorn_quantile(tables, summary, *, q: float, first_year: int | None = None,
                             last_year: int | None = None) -> float:
    """The ``q`` quantile of years from founding to the first unicorn month, over firms that became
    unicorns in the window."""
    start, years = calendar(summary)
    a = start if first_year is None else first_year
    b = start + years - 1 if last_year is None else last_year
    s0, _ = year_steps(summary, a)
    _, s1 = year_steps(summary, b)
    firms = _table(tables, "firms", rows=False)
    u = _steps(firms["unicorn_step"])
    sel = (u >= s0) & (u <= s1)
    if not sel.any():
        raise TargetUnavailable(f"no firm became a unicorn in {a}–{b}")
    t = (u[sel] - firms["born_step"].to_numpy(dtype=float)[sel]) / 12.0
    if not 0 <= q <= 1 or math.isnan(q):
        raise ValueError(f"q={q} must be in [0, 1]")
    return float(np.quantile(t, q))

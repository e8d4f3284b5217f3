"""Stage classification: startup, gazelle (瞪羚), unicorn (独角兽).

The seed reports give no numeric stage gates, so the tests here are the standard external
definitions (report-figures.md §9), chosen in ``conf`` under ``stages``:

* ``oecd``: OECD-Eurostat high-growth enterprise, average annualised growth >= 20 % over a
  3-year window measured in employees (or revenue, ``gazelle_measure``), >= 10 employees at the
  start of the window; a gazelle is such a firm aged <= 5 years.
* ``eu10``: the EU variant, employment growth > 10 %/yr over 3 years, same size and age tests.
* ``tiered_cn``: Chinese local kind (济南高新区 瞪羚计划 2016): previous-year revenue in tiers
  (10-100, 100-500, >= 500 million CNY) each with its own 2-year revenue CAGR (20, 15, 10 %).
* Unicorn: last private valuation >= US$1 B, unlisted (still in the young-firm population),
  aged <= 10 years, optionally >= US$50 M raised (GB/T 41464-2022).

Gazelle status is assessed once a year, at year end, from the year-end history; unicorn status
is assessed every month, because valuations change at financing rounds.

Histories are arrays of shape (n_firms, H) holding year-end values, oldest first, the last
column being the current year end; NaN marks a year end at which the firm did not yet exist.

:class:`Stages` applies these tests to a model's firms: every month it finds the unicorns
(:meth:`Stages.step`), at each year end the gazelles (:meth:`Stages.year_end`); it records each
firm's first month as a gazelle and as a unicorn, every change of stage (``stage_changes``), and
tells the tracks: a track's new gazelles and unicorns count towards its lifecycle and its
attention (a unicorn twice), and its first unicorn forms it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.config import StageConfig
from sim.core.clock import is_year_end, years_since
from sim.core.kernels import register
from sim.core.vocabulary import GAZELLE, NEVER, STARTUP, UNICORN
from sim.tracks import attention

HISTORY_YEARS = 4  # year ends kept per firm: enough for a 3-year window

__all__ = [
    "Stages",
    "HISTORY_YEARS",
    "gazelle_mask",
    "unicorn_mask",
    "unicorn_threshold_mcny",
]


def _window_growth_ok(hist: np.ndarray, window: int, annual: float, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """(test passed, start value) for average annualised growth over ``window`` years."""
    start = hist[:, -1 - window]
    end = hist[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = end / start
        need = (1.0 + annual) ** window
        # a small tolerance so that exactly 20 %/yr counts as 20 %/yr despite float rounding
        passed = ratio > need * (1 + 1e-12) if strict else ratio >= need * (1 - 1e-12)
    passed &= np.isfinite(start) & np.isfinite(end) & (start > 0)
    return passed, start


def gazelle_mask(
    employees_hist: np.ndarray,
    revenue_hist: np.ndarray,
    age_years: np.ndarray,
    cfg: StageConfig,
) -> np.ndarray:
    """Boolean mask of firms that are gazelles at the current year end.

    ``employees_hist`` and ``revenue_hist`` have shape (n, H) with H >= the window + 1
    (oldest first); ``age_years`` is each firm's age at the current year end.
    """
    emp = np.asarray(employees_hist, dtype=float)
    rev = np.asarray(revenue_hist, dtype=float)
    age = np.asarray(age_years, dtype=float)
    definition = cfg.gazelle_definition
    if definition in ("oecd", "eu10"):
        window = cfg.gazelle_window_years
        if emp.shape[1] < window + 1:
            raise ValueError(f"need {window + 1} year ends of history, got {emp.shape[1]}")
        if definition == "oecd":
            measure = rev if cfg.gazelle_measure == "revenue" else emp
            ok, _ = _window_growth_ok(measure, window, 0.20, strict=False)
        else:  # EU: employment growth above 10 % a year
            ok, _ = _window_growth_ok(emp, window, 0.10, strict=True)
        start_emp = emp[:, -1 - window]
        ok &= np.nan_to_num(start_emp, nan=-1.0) >= cfg.gazelle_min_start_employees
    elif definition == "tiered_cn":
        window = cfg.tiered_cn_window_years
        if rev.shape[1] < window + 1:
            raise ValueError(f"need {window + 1} year ends of history, got {rev.shape[1]}")
        current = rev[:, -1]
        ok = np.zeros(len(current), dtype=bool)
        tiers = sorted(cfg.tiered_cn_tiers, key=lambda t: t.min_revenue_mcny)
        for i, tier in enumerate(tiers):
            upper = tiers[i + 1].min_revenue_mcny if i + 1 < len(tiers) else np.inf
            in_tier = (current >= tier.min_revenue_mcny) & (current < upper)
            grew, _ = _window_growth_ok(rev, window, tier.min_cagr, strict=False)
            ok |= in_tier & grew
    else:
        raise ValueError(f"unknown gazelle definition {definition!r}")
    if cfg.gazelle_max_age_years > 0:
        ok &= age <= cfg.gazelle_max_age_years
    return ok


def unicorn_threshold_mcny(cfg: StageConfig) -> float:
    return cfg.unicorn_min_valuation_usd_bn * 1000.0 * cfg.fx_cny_per_usd


def unicorn_mask(
    valuation_mcny: np.ndarray,
    age_years: np.ndarray,
    raised_mcny: np.ndarray,
    cfg: StageConfig,
    listed: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of unicorns: valued >= threshold, unlisted, young enough, funded enough."""
    val = np.asarray(valuation_mcny, dtype=float)
    ok = val >= unicorn_threshold_mcny(cfg)
    ok &= np.asarray(age_years, dtype=float) <= cfg.unicorn_max_age_years
    ok &= np.asarray(raised_mcny, dtype=float) > 0  # VC/PE-backed
    if cfg.unicorn_min_raised_usd_m > 0:
        ok &= np.asarray(raised_mcny, dtype=float) >= cfg.unicorn_min_raised_usd_m * cfg.fx_cny_per_usd
    if listed is not None:
        ok &= ~np.asarray(listed, dtype=bool)
    return ok


@njit(cache=True)
def _may_change(valuation, stage, gazelle_flag, threshold, out):
    """Rows (into ``out``, ascending; returns their number) of the firms whose stage the monthly
    assessment may change: valued at ``threshold`` or more, or not in the stage their gazelle
    flag gives (a unicorn of last month)."""
    k = 0
    for i in range(valuation.size):
        base = GAZELLE if gazelle_flag[i] else STARTUP
        if valuation[i] >= threshold or stage[i] != base:
            out[k] = i
            k += 1
    return k


register("stage_watch", _may_change, lambda: (np.ones(2), np.zeros(2, np.int8), np.zeros(2, np.bool_), 1.0,
                                              np.zeros(2, np.int64)))


class Stages:
    """The stage of every live firm of one model, month by month, and its history."""

    def __init__(self, model):
        self.model = model
        self.cfg = model.cfg.stages
        #: every change of a firm's stage: chunks of (firm_id, step, from_stage, to_stage)
        self.changes: list[dict[str, np.ndarray]] = []
        self._out = np.empty(0, dtype=np.int64)

    def step(self) -> None:
        """The stages phase: unicorns are assessed every month (valuations change at rounds);
        gazelle-flagged firms are gazelles, the others startups.

        Only two kinds of firm can change stage here: those valued at the unicorn threshold or
        more, and those whose stage is not what their gazelle flag says (the unicorns of last
        month); one compiled pass finds them (:func:`_may_change`), the rules run on them."""
        m = self.model
        pop = m.population
        if pop.n == 0:
            return
        step = m.current_step
        threshold = unicorn_threshold_mcny(self.cfg)
        if self._out.size < pop.n:
            self._out = np.empty(max(pop.n, int(1.25 * self._out.size)), dtype=np.int64)
        k = _may_change(pop["valuation"], pop["stage"], pop["gazelle_flag"], threshold, self._out)
        rows = self._out[:k].copy()
        uni = np.zeros(rows.size, dtype=bool)
        cand = np.flatnonzero(pop["valuation"][rows] >= threshold)
        r = rows[cand]
        uni[cand] = unicorn_mask(pop["valuation"][r], years_since(step, pop["born"][r]), pop["raised"][r], self.cfg)
        ids = pop["id"][rows]
        rec_u = pop.records["unicorn_step"]
        new_u = uni & (rec_u[ids] == NEVER)
        if new_u.any():
            new_ids = ids[new_u]
            rec_u[new_ids] = step
            new_tracks = pop["track"][rows[new_u]]
            np.add.at(m.tracks["unicorns_ever"], new_tracks, 1)
            m.track_dynamics.record_new_firms(np.empty(0, dtype=np.int64), new_tracks, step)
            attention.add_firms(m.tracks, new_tracks, 2.0)
            m.counts["new_unicorns"] = int(new_u.sum())
            for fid in new_ids:  # unicorns are rare and get individual attention: register them
                m.firm(int(fid))
        stage = np.where(uni, UNICORN, np.where(pop["gazelle_flag"][rows], GAZELLE, STARTUP)).astype(np.int8)
        self._first_gazelle_rows(rows[stage == GAZELLE])  # a unicorn falling back to a gazelle-flagged firm
        self._set_stage_rows(rows, stage)

    def year_end(self) -> None:
        """At the end of each year the gazelle test runs on the year-end histories; a unicorn
        that also passes stays a unicorn."""
        m = self.model
        pop = m.population
        step = m.current_step
        if not is_year_end(step) or pop.n == 0:
            return
        age = years_since(step + 1, pop["born"])
        flag = gazelle_mask(pop["emp_hist"], pop["rev_hist"], age, self.cfg)
        pop["gazelle_flag"][:] = flag
        # first step *in the gazelle stage*: a unicorn that also passes the test stays a unicorn
        self._first_gazelles(flag & (pop["stage"] != UNICORN))
        stage = pop["stage"].copy()
        stage = np.where(stage == UNICORN, UNICORN, np.where(flag, GAZELLE, STARTUP)).astype(np.int8)
        self._set_stages(stage)

    def _first_gazelles(self, in_gazelle: np.ndarray) -> None:
        """Record the first step in the gazelle stage of the live firms in ``in_gazelle`` (a mask)."""
        self._first_gazelle_rows(np.flatnonzero(in_gazelle))

    def _first_gazelle_rows(self, rows: np.ndarray) -> None:
        """Record the first step in the gazelle stage of the live firms at ``rows`` (ascending)."""
        m = self.model
        pop = m.population
        rec_g = pop.records["gazelle_step"]
        new = rows[rec_g[pop["id"][rows]] == NEVER]
        if new.size:
            step = m.current_step
            rec_g[pop["id"][new]] = step
            tracks = pop["track"][new]
            np.add.at(m.tracks["gazelles_ever"], tracks, 1)
            m.track_dynamics.record_new_firms(tracks, np.empty(0, dtype=np.int64), step)
            attention.add_firms(m.tracks, tracks, 1.0)
            m.counts["new_gazelles"] += int(new.size)

    def _set_stages(self, stage: np.ndarray) -> None:
        """Set the stage of every live firm (``stage``: one per live row)."""
        self._set_stage_rows(np.arange(stage.size), stage)

    def _set_stage_rows(self, rows: np.ndarray, stage: np.ndarray) -> None:
        """Set the stage of the live firms at ``rows`` (ascending) to ``stage``; record the changes."""
        pop = self.model.population
        old = pop["stage"]
        moved = old[rows] != stage
        changed = rows[moved]
        if changed.size:
            to = stage[moved].astype(np.int8)
            self.changes.append(
                {
                    "firm_id": pop["id"][changed].copy(),
                    "step": np.full(changed.size, self.model.current_step, dtype=np.int32),
                    "from_stage": old[changed].copy(),
                    "to_stage": to,
                }
            )
            old[changed] = to

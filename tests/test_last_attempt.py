"""A venture-backed firm's last attempt (``firms.last_attempt_months``, agents.firms.rules.attempt_rows):
drawn to close while it holds cash, it spends that cash on top of its costs at a steady pace, its money
buys no growth, it raises no round and is sold only for its team, and it closes when the term is over."""

from __future__ import annotations

import numpy as np
import pytest
from phases import run_until

from agents.firms.rules import attempt_rows, trying
from sim.config import Config
from sim.core.clock import DT, MONTHS
from sim.model import EcosystemModel
from sim.run import run_simulation


def _model(months: float = 12.0, seed: int = 5) -> EcosystemModel:
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = seed, 0.03, 2
    cfg.ecosystem.warmup_years = 3
    cfg.ecosystem.firms.last_attempt_months = months
    cfg.output.firm_years = False
    m = EcosystemModel(cfg)
    while m.current_step < 0:
        m.step()
    return m



def _backed(m: EcosystemModel, k: int = 6) -> np.ndarray:
    pop = m.population
    # venture-backed, with cash, no round in the last year (an attempt begun up to a year ago is still on)
    rows = np.flatnonzero((pop["rounds"] > 0) & (pop["cash"] > 1.0) & ~trying(pop)
                          & (pop["last_round"] < m.current_step - MONTHS - 1))
    assert rows.size >= 2 * k, rows.size
    return rows[:2 * k]


def test_drawn_venture_backed_firms_with_cash_begin_an_attempt_and_the_others_close():
    m = _model()
    pop, step = m.population, m.current_step
    backed = _backed(m)
    own = np.flatnonzero((pop["rounds"] == 0) & (pop["cash"] > 0))[:4]
    broke = np.flatnonzero((pop["rounds"] > 0) & (pop["cash"] <= 0))[:2]
    drawn = np.sort(np.concatenate([backed, own, broke]))
    closes, begin = attempt_rows(pop, m.cfg.ecosystem.firms, drawn, step)
    np.testing.assert_array_equal(np.sort(begin), np.sort(backed))
    np.testing.assert_array_equal(closes, np.sort(np.concatenate([own, broke])))
    # with the term 0 every drawn firm closes at once
    m.cfg.ecosystem.firms.last_attempt_months = 0.0
    closes, begin = attempt_rows(pop, m.cfg.ecosystem.firms, drawn, step)
    np.testing.assert_array_equal(closes, drawn)
    assert begin.size == 0


def test_an_attempt_spends_its_cash_at_its_pace_and_ends_with_its_term():
    m = _model()
    pop = m.population
    rows = _backed(m)
    ids = pop["id"][rows].copy()
    a = rows[: rows.size // 2]  # in an attempt; the other half as they were
    step = m.current_step
    pop["attempt_since"][a] = step - 12  # begun a year ago: this is its last month
    pop["attempt_burn"][a] = pop["cash"][a] * (MONTHS / 12.0)
    run_until(m, "operations")
    before = {k: pop[k][rows].copy() for k in ("cash", "employees", "revenue")}
    cfg = m.cfg.ecosystem.firms
    gross = before["revenue"] * (1.0 - cfg.cost_of_revenue)
    m.firms.step()
    rows = pop.row_of[ids]
    a = rows[: rows.size // 2]
    # cash moved by the month's gross margin less the wages of the staff after hiring and the R&D beyond
    # wages (rules.burn_cash, rules.spend_on_rd), less the attempt's pace
    wages = np.maximum(pop["employees"][rows] - 1.0, 0.0) * cfg.wage_mcny
    rd_other = pop["rd_phi"][rows] * wages * m.cfg.ecosystem.rd.nonlabour_ratio * DT
    flow = (pop["revenue"][rows] * (1.0 - cfg.cost_of_revenue) - wages) * DT - rd_other
    flow[: a.size] -= pop["attempt_burn"][a] * DT
    np.testing.assert_allclose(pop["cash"][rows] - before["cash"], flow, rtol=1e-9, atol=1e-12)
    assert (gross > 0).any()
    # the term is over: every firm of a closes this month (noted for the deaths phase)
    w = m.firms.watch
    closed = set(pop.row_of[w.closed].tolist())
    assert set(a.tolist()) <= closed


def test_a_firm_in_its_attempt_runs_no_round_and_is_not_sold_as_a_going_concern():
    m = _model()
    pop = m.population
    run_until(m, "financing")
    step = m.current_step
    f = m.market.month_filters(step)
    cand = np.unique(np.concatenate([f.rounds, f.acquisition]))
    assert cand.size >= 4
    pop["attempt_since"][cand] = step - 1  # they began an attempt last month
    m.market._filters = None
    f = m.market.month_filters(step)
    assert f.rounds.size == 0 and f.acquisition.size == 0
    assert m.market.rounds.candidates_vectorised(step).size == 0
    assert m.market.exits.acquisition_draws(step).size == 0
    # a round after the attempt began ends it
    pop["last_round"][cand] = step
    assert not trying(pop, cand).any()


@pytest.mark.parametrize("months", [0.0, 12.0])
def test_written_off_venture_positions_return_nothing_when_firms_try_once_more(months):
    """With the attempt, a venture-backed firm drawn to close has spent its cash before it fails, so
    its written-off positions return nothing; without it (0) they recover what it held."""
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = 3, 0.1, 5
    cfg.ecosystem.warmup_years = 3
    cfg.ecosystem.firms.last_attempt_months = months
    cfg.output.plots = False
    pos = run_simulation(cfg, progress=False).tables["positions"]
    wo = pos[(pos["status"] == "written_off") & pos["investor_kind"].isin(["vc", "cvc", "guidance_fund"])]
    assert len(wo) >= 20, len(wo)
    zero = float((wo["multiple"] == 0).mean())
    assert (zero > 0.8) if months else (zero < 0.6), zero

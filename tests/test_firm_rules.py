"""Firms' rules (agents.firms.rules) against arithmetic written out by hand: cash buys growth only
in a firm that spends beyond its gross margin; a founder-owned firm out of cash whose margin nearly
pays its staff lets go the staff it cannot pay instead of failing."""

from __future__ import annotations

import numpy as np
import pytest

from agents.firms.rules import grow
from sim.config import Config
from sim.core.clock import DT
from sim.model import EcosystemModel


@pytest.fixture(scope="module")
def model() -> EcosystemModel:
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = 4, 0.03, 1
    cfg.ecosystem.warmup_years = 2
    cfg.output.firm_years = False
    m = EcosystemModel(cfg, policies=())
    while m.current_step < -12:
        m.step()
    assert m.population.n > 500
    return m


def test_cash_buys_growth_only_in_a_firm_that_spends_beyond_its_margin(model):
    pop, cfg = model.population, model.cfg.ecosystem.firms
    saved = {k: pop[k].copy() for k in ("revenue", "employees", "cash", "qsat", "vol", "growth_12m")}
    try:
        n = pop.n
        wage, margin = cfg.wage_mcny, 1.0 - cfg.cost_of_revenue
        emp = np.full(n, 10.0)  # a wage bill of 10 * wage = 3 mcny a year
        bill = 10.0 * wage
        # gross margin covering none, half, all and twice the wage bill; cash equal to the bill
        cover = np.resize([0.0, 0.5, 1.0, 2.0], n)
        pop["employees"][:] = emp
        pop["revenue"][:] = np.maximum(cover * bill / margin, 1e-9)
        pop["cash"][:] = bill
        pop["qsat"][:] = 0.0
        pop["vol"][:] = 0.0  # no shock: the month's log growth is the drift times dt
        before = pop["revenue"].copy()
        zeros = np.zeros(model.tracks.n)
        grow(pop, cfg, model.firms.draws, model.current_step, zeros, zeros)
        dlog = np.log(pop["revenue"] / before) / DT
        # by hand: capital = cash / (cash + bill) = 1/2; reliance = 1 - cover (floored at 0)
        expected = cfg.growth_base + cfg.growth_capital * 0.5 * np.maximum(1.0 - cover, 0.0)
        np.testing.assert_allclose(dlog, expected, rtol=0, atol=1e-9)
        assert cfg.growth_capital > 0  # the default lever, so the four cases differ
        assert dlog[0] - dlog[2] == pytest.approx(cfg.growth_capital * 0.5, abs=1e-9)
        assert dlog[2] == pytest.approx(dlog[3], abs=1e-12)  # self-financing: no capital term at all
    finally:
        for k, v in saved.items():
            pop[k][:] = v


def test_a_founder_owned_firm_out_of_cash_trims_its_staff_when_its_margin_nearly_pays_them(model):
    """Eight firms out of cash with 5 employees (4 paid): margin paying 0.3, 0.6, 0.9 of the staff's wages,
    with or without outside equity (the last two: a margin of 0.9 with a loan whose service leaves 0.4).
    By hand, at ``trim_coverage`` 0.5: the founder-owned firms paying 0.6 and 0.9 carry on with
    1 + margin / cost of an employee, cash 0, their founders paying the shortfall into the ledger;
    every other firm fails."""
    pop, cfg, m = model.population, model.cfg.ecosystem.firms, model
    assert cfg.trim_coverage == 0.5  # the default
    keys = ("revenue", "employees", "cash", "rounds", "debt_payment", "rd_phi")
    saved = {k: pop[k].copy() for k in keys}
    topups = m.ledger.founder_topups
    try:
        rows = np.arange(8)
        wage, margin = cfg.wage_mcny, 1.0 - cfg.cost_of_revenue
        staff = 4.0 * wage  # rd_phi 0: a paid employee costs one wage
        cover = np.array([0.3, 0.6, 0.9, 0.3, 0.6, 0.9, 0.9, 0.9])
        pop["employees"][rows] = 5.0
        pop["rd_phi"][rows] = 0.0
        pop["revenue"][rows] = cover * staff / margin
        pop["cash"][rows] = -0.01 * (rows + 1)
        pop["rounds"][rows] = [0, 0, 0, 1, 1, 1, 0, 0]
        pop["debt_payment"][rows] = 0.0
        pop["debt_payment"][7] = 0.5 * staff / 12.0  # net of debt service the margin pays 0.4: below 0.5
        failing = m.firms._trim(rows)
        np.testing.assert_array_equal(failing, [0, 3, 4, 5, 7])
        kept = np.array([1, 2, 6])
        np.testing.assert_allclose(pop["employees"][kept], 1.0 + cover[kept] * staff / wage, rtol=1e-12)
        assert (pop["cash"][kept] == 0.0).all()
        assert m.ledger.founder_topups - topups == pytest.approx(0.01 * (2 + 3 + 7), rel=1e-12)
        np.testing.assert_allclose(pop["cash"][failing], -0.01 * (failing + 1))  # untouched: they fail
        assert (pop["employees"][failing] == 5.0).all()
    finally:
        for k, v in saved.items():
            pop[k][:] = v
        m.ledger.founder_topups = topups

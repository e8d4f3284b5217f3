"""Firms' rules (agents.firms.rules) against arithmetic written out by hand: cash buys growth only
in a firm that spends beyond its gross margin."""

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

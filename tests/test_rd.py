"""R&D in firms, product breakthroughs, the high-tech enterprise certification and the R&D
super-deduction (agents.firms.rules, sim.policies.firms.RDTaxCredit).

Fast tier: identities computed here from the configuration, independently of the rules: one
month's R&D spending and cash of every firm (R&D performers and the others); a firm's R&D
status kept for life, in the configured share of firms; no certificate for a firm without R&D;
the certification rule on a hand-built population;
the tax expenditure of the super-deduction. Slow tier: paired comparisons over five seeds with
common random numbers (one root seed per pair, named streams), judged by the 95 % interval of the
paired mean difference: R&D raises product breakthroughs; rd_tax_credit raises R&D spending at its
defaults and spends within its budget.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from phases import run_until
from scipy import stats

from agents.firms.population import FirmPopulation
from agents.firms.rules import certify_high_tech, high_tech_test
from sim.config import Config, RDConfig
from sim.core.clock import DT
from sim.core.vocabulary import NEVER
from sim.model import EcosystemModel
from sim.policies.registry import configured_policy

SEEDS = (21, 22, 23, 24, 25)


def config(seed: int = 3, scale: float = 0.02, years: int = 3, warmup: int = 2) -> Config:
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = seed, scale, years
    cfg.ecosystem.warmup_years = warmup
    cfg.output.firm_years = False
    return cfg



# ------------------------------------------------------------------------------ fast: identities


def test_one_month_of_rd_follows_the_configuration():
    cfg = config()
    m = EcosystemModel(cfg)
    for _ in range(14):
        m.step()
    run_until(m, "operations")
    pop = m.population
    r, f = cfg.ecosystem.rd, cfg.ecosystem.firms
    tech = m.tracks["tech_intensity"][pop["track"]]
    # an R&D performer: its keyed uniform of the rd stream at (step 0, slot 1) below performer_share
    performer = m.streams.keyed("rd").uniform(pop["hkey"], 0, 1, prehashed=True) < r.performer_share
    assert performer.any() and (~performer).any()
    share = np.where(performer, np.array(r.staff_share)[pop["stage"]] * tech, 0.0)
    # the user cost is the preset's: no response, profitable or not
    taxable_before = pop["taxable"].copy()
    assert (taxable_before > 0).any() and (taxable_before <= 0).any()
    cash, stock = pop["cash"].copy(), pop["rd_stock"].copy()
    ledger, counted = m.ledger.rd_nonlabour, m.counts["rd_spending"]
    m.firms.step()
    emp = pop["employees"]
    wages = np.maximum(emp - 1.0, 0.0) * f.wage_mcny
    rd = share * wages * DT * (1.0 + r.nonlabour_ratio)
    np.testing.assert_allclose(pop["rd_phi"], share, rtol=1e-12)
    np.testing.assert_allclose(pop["rd_last"], rd, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pop["rd_stock"], stock * math.exp(-r.stock_decay / 12) + rd, rtol=1e-12, atol=1e-15)
    # cash: gross margin less all wages less the R&D beyond the R&D staff's wages
    gross = pop["revenue"] * (1.0 - f.cost_of_revenue)
    other = share * wages * DT * r.nonlabour_ratio
    np.testing.assert_allclose(pop["cash"], cash + (gross - wages) * DT - other, rtol=1e-9, atol=1e-9)
    assert m.ledger.rd_nonlabour - ledger == pytest.approx(other.sum(), rel=1e-9)
    assert m.counts["rd_spending"] - counted == pytest.approx(rd.sum(), rel=1e-9)
    held, flowed = m.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_a_firm_does_rd_or_not_for_life_and_the_configured_share_do():
    """Whether a firm does R&D is its own draw, kept for life: over a year the firms alive throughout
    keep their status month after month, and the share of performers among all the live firms is
    rd.performer_share (binomial, four standard deviations)."""
    m = EcosystemModel(config())
    for _ in range(14):
        m.step()
    pop = m.population
    p = m.cfg.ecosystem.rd.performer_share
    status = {}
    for _ in range(12):
        m.step()
        for i, on in zip(pop["id"].tolist(), (pop["rd_phi"] > 0).tolist(), strict=True):
            status.setdefault(i, set()).add(on)
    assert all(len(v) == 1 for v in status.values())
    on = np.array([next(iter(v)) for v in status.values()])
    tech = m.tracks["tech_intensity"][pop["track"]]
    assert (tech > 0).all()  # so a performer's share is above 0
    assert abs(on.mean() - p) < 4 * math.sqrt(p * (1 - p) / on.size), (on.mean(), p, on.size)


def test_firms_without_rd_are_never_certified():
    """A firm that does no R&D has no R&D staff: it fails the certification's staff criterion
    whatever else it has (here, the live firms at the end of a small park's four warm-up and three
    observed years, certified at any year end)."""
    m = EcosystemModel(config(warmup=4))
    m.run()
    pop = m.population
    ever = pop["ht_since"] != NEVER
    assert ever.sum() >= 10  # 23 at this seed
    performer = m.streams.keyed("rd").uniform(pop["hkey"], 0, 1, prehashed=True) < m.cfg.ecosystem.rd.performer_share
    assert performer[ever].all()


def _population(rows: list[dict]) -> FirmPopulation:
    pop = FirmPopulation(capacity=16)
    n = len(rows)
    base = {"employees": 20.0, "rd_phi": 0.2, "rev_year": 10.0, "rd_year": 1.0, "ip": 1}
    values = {k: np.array([row.get(k, v) for row in rows]) for k, v in base.items()}
    values["key"] = values["hkey"] = np.arange(n, dtype=np.uint64)  # the key numbers the cases
    born = np.array([row.get("born", -24) for row in rows])
    for b in np.unique(born):  # add() stamps the birth step
        sel = born == b
        pop.add(int(b), **{k: v[sel] for k, v in values.items()})
    return pop


def test_certification_applies_each_criterion_on_a_hand_built_population():
    r = RDConfig()
    step = 11  # December of the first observed year
    # a firm of 20 with 0.2 of the paid staff in R&D has 19 * 0.2 / 20 = 0.19 of its staff in R&D
    cases = [
        ({}, True),
        ({"born": 4}, False),  # 7 months old
        ({"born": -1}, True),  # exactly one year at the year end
        ({"rd_phi": 0.1}, False),  # 19 * 0.1 / 20 = 0.095 < 0.10
        ({"rd_phi": 0.106}, True),  # 0.1007
        ({"ip": 0}, False),  # no IP
        ({"rev_year": 4.0, "rd_year": 1.0}, False),  # revenue below 5 mcny
        ({"rev_year": 40.0, "rd_year": 1.9}, False),  # 4.75 % < 5 % below 50 mcny
        ({"rev_year": 40.0, "rd_year": 2.0}, True),  # 5 %
        ({"rev_year": 50.0, "rd_year": 2.4}, False),  # 50 mcny is still the lowest tier: 4.8 % < 5 %
        ({"rev_year": 100.0, "rd_year": 4.0}, True),  # 4 % between 50 and 200
        ({"rev_year": 100.0, "rd_year": 3.9}, False),
        ({"rev_year": 300.0, "rd_year": 9.0}, True),  # 3 % above 200
        ({"rev_year": 300.0, "rd_year": 8.9}, False),
    ]
    pop = _population([c for c, _ in cases])
    want = np.array([ok for _, ok in cases])
    order = np.argsort(pop["key"])  # rows by case
    np.testing.assert_array_equal(high_tech_test(pop, r, step)[order], want)
    first, again = certify_high_tech(pop, r, step)
    assert sorted(pop["key"][first].tolist()) == np.flatnonzero(want).tolist() and again.size == 0
    assert (pop["ht_until"][first] == step + 36).all() and (pop["ht_since"][first] == step).all()
    # a certificate is valid three years: no new round for those firms until it lapses
    young = np.flatnonzero(pop["key"] == 1)  # 7 months old in the first round, 19 in the next
    for later, expect_first, expect_again in ((step + 12, young, 0), (step + 24, [], 0),
                                              (step + 36, [], want.sum())):
        first2, again2 = certify_high_tech(pop, r, later)
        assert first2.tolist() == list(expect_first) and again2.size == expect_again
    assert (pop["ht_since"][first] == step).all()  # re-certification is not new
    never = pop["key"][pop["ht_since"] == NEVER]
    assert sorted(never.tolist()) == sorted(set(np.flatnonzero(~want).tolist()) - {1})


def test_tax_expenditure_is_the_rate_times_the_tax_rate_times_qualifying_rd():
    cfg = config()
    cfg.ecosystem.government.budget_mcny_per_year = 1e6
    policy = configured_policy("rd_tax_credit", budget_mcny_per_year=1e6)
    m = EcosystemModel(cfg, policies=[policy])
    while m.current_step < 0:
        m.step()
    m.step()  # the policy starts: its lever is set, relief for last month's R&D paid
    run_until(m, "policies")
    r = cfg.ecosystem.rd
    pop = m.population
    rd, taxable, cash = pop["rd_last"].copy(), pop["taxable"].copy(), pop["cash"].copy()
    spent = policy.spent
    m.government.step()
    # by hand: deduct (1.0 - 0.75) of R&D more at 25 %, never more than the tax due after the base deduction
    due = np.where(taxable > 0, np.maximum(taxable - 0.75 * rd, 0.0), 0.0)
    relief = np.where(rd > 0, 0.25 * np.minimum(0.25 * rd, due), 0.0)
    assert r.tax_rate == 0.25 and r.deduction_rate == 0.75 and policy.deduction_rate == 1.0
    assert relief.sum() > 0 and (relief > 0).sum() < pop.n  # some firms, not all, have taxable profit
    np.testing.assert_allclose(pop["cash"] - cash, relief, rtol=1e-12, atol=1e-12)
    assert policy.spent - spent == pytest.approx(relief.sum(), rel=1e-12)
    # the user cost of R&D of profitable firms: (1 - 0.25 * 2) / (1 - 0.25 * 1.75) = 0.5 / 0.5625
    np.testing.assert_allclose(m.levers.track("rd_user_cost")[m.tracks["active"]], 0.5 / 0.5625)


def test_firms_respond_to_the_relief_they_get_when_the_budget_runs_short():
    """A budget below the month's claims: relief is cut pro rata, the user-cost lever follows the
    effective extra deduction, and once the year's budget is spent the lever is back to 1."""
    cfg = config()
    policy = configured_policy("rd_tax_credit", budget_mcny_per_year=0.5)
    m = EcosystemModel(cfg, policies=[policy])
    while m.current_step < 0:
        m.step()
    run_until(m, "policies")
    pop = m.population
    rd, taxable = pop["rd_last"].copy(), pop["taxable"].copy()
    m.government.step()
    due = np.where(taxable > 0, np.maximum(taxable - 0.75 * rd, 0.0), 0.0)
    claimed = np.where(rd > 0, 0.25 * np.minimum(0.25 * rd, due), 0.0).sum()
    budget = 0.5 * cfg.scale
    assert claimed > budget  # the case under test: the claims exceed the year's budget
    assert policy.spent == pytest.approx(budget, rel=1e-12)
    share = budget / claimed
    assert policy.covered == pytest.approx(share, rel=1e-9)
    extra = 0.75 + 0.25 * share  # the extra deduction the firms actually get
    active = m.tracks["active"]
    np.testing.assert_allclose(m.levers.track("rd_user_cost")[active], (1 - 0.25 * (1 + extra)) / 0.5625)
    m.step()  # the rest of this month and the next, whose policies phase pays nothing
    run_until(m, "policies")
    m.government.step()  # and the month after: the year's budget is spent, no relief, no response
    assert policy.spent == pytest.approx(budget, rel=1e-12) and policy.covered == 0.0
    np.testing.assert_allclose(m.levers.track("rd_user_cost")[m.tracks["active"]], 1.0)


# ------------------------------------------------------------------------------ slow: paired over five seeds


def paired_interval(a, b) -> tuple[float, float, float]:
    """Mean of the paired differences a - b and its 95 % t interval."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def assert_rises(a, b, what: str) -> None:
    mean, lo, hi = paired_interval(a, b)
    assert lo > 0, f"{what}: paired mean difference {mean:.4g}, 95 % interval [{lo:.4g}, {hi:.4g}] includes zero"


def _totals(cfg, policies=()) -> dict:
    m = EcosystemModel(cfg, policies=list(policies))
    m.run()
    ts = m.recorder.timeseries
    return {"rd": sum(row["rd_spending"] for row in ts), "found": sum(row["rd_breakthroughs"] for row in ts),
            "model": m}


@pytest.mark.slow
def test_rd_raises_product_breakthroughs():
    """Doubling every firm's R&D staff share raises the product breakthroughs (same worlds)."""
    base, more = [], []
    for seed in SEEDS:
        cfg = config(seed)
        base.append(_totals(cfg)["found"])
        cfg2 = config(seed)
        cfg2.ecosystem.rd.staff_share = [2 * s for s in cfg2.ecosystem.rd.staff_share]
        more.append(_totals(cfg2)["found"])
    assert_rises(more, base, "product breakthroughs with twice the R&D staff")


@pytest.mark.slow
def test_rd_tax_credit_raises_rd_spending_and_spends_within_its_budget():
    base, treated = [], []
    for seed in SEEDS:
        cfg = config(seed)
        base.append(_totals(cfg)["rd"])
        policy = configured_policy("rd_tax_credit")
        res = _totals(config(seed), [policy])
        treated.append(res["rd"])
        m = res["model"]
        assert policy.spent > 0
        for year, (spent, _, _) in policy.accounts.items():
            assert spent <= policy.budget_mcny_per_year * cfg.scale * (1 + 1e-9), year
        held, flowed = m.cash_identity()
        assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    assert_rises(treated, base, "R&D spending under rd_tax_credit")

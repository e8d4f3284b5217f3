"""What each policy does to the model in a month, exactly, at its defaults.

A small park is stepped into the observed window with one policy in force; the test then reads
what the policy set through the model's public state (the levers, the support columns of the
population, the firms' cash, the policy's spending) and compares it with the policy's documented
rule and default parameters (docs/policies.md), computed here. These are fast and deterministic,
and they pin every lever's size and direction, which the statistical checks of
tests/test_policy_effects.py (over five worlds) cannot do at this precision.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.contracts import GOVERNMENT, INCUMBENT, INSURED
from sim.config import Config, ConfigError
from sim.core.clock import DT
from sim.core.vocabulary import DIRECTIONS, INDEPENDENT, LOAN_ROUND, ORIGINS, SPINOFF, STAGES
from sim.model import EcosystemModel
from sim.policies.people import channel_of
from sim.policies.registry import REGISTRY, configured_policy, policy_from_dict
from sim.policies.tracks import EXPOSED_TRACKS

SCALE = 0.01


def park(policy, months: int = 1, warmup: int = 1, scale: float = SCALE, seed: int = 3):
    """A model with ``policy`` in force, stepped to the end of its ``months``-th observed month."""
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = seed, scale, 3
    cfg.ecosystem.warmup_years = warmup
    cfg.output.plots = False
    m = EcosystemModel(cfg, policies=[policy])
    while m.current_step < months:
        m.step()
    return m


def whole_places(per_draw: float, draws: int) -> int:
    """Whole firms (or scenes) a sample gets from ``draws`` draws of ``per_draw`` places each, by the
    documented rule (docs/policies.md, *Scale*): the fractions are carried from draw to draw, so the
    whole units after any number of draws are their running sum rounded to the nearest (halves up)."""
    return math.floor(per_draw * draws + 0.5 + 1e-9)


def step_policy_alone(m, policy):
    """Run the policies phase of the next month (the government ticks its policies)."""
    m.government.step()


def directions_mask(m, directions) -> np.ndarray:
    codes = [DIRECTIONS.index(d) for d in directions]
    return np.isin(m.tracks.directions(), codes) & m.tracks["active"]


def tracks_with_descendants(m, keys) -> np.ndarray:
    tr = m.tracks
    listed = np.array([k in set(keys) for k in tr.key[: tr.n]])
    for t in range(tr.n):
        if not listed[t] and any(listed[p] for p in tr.parents[t]):
            listed[t] = True
    return listed & tr["active"]


# ------------------------------------------------------------------------------ levers


def test_exit_channels_set_the_listing_route_and_both_hazards():
    p = configured_policy("exit_channels")
    m = park(p)
    assert m.levers.value("ipo_multiple") == pytest.approx(1.5)
    assert m.levers.value("acquisition_multiple") == pytest.approx(1.3)
    want = np.where(directions_mask(m, ["科技", "产业"]), 0.6, 0.0)
    np.testing.assert_allclose(m.levers.track("ipo_relief"), want)
    assert want.max() == 0.6 and want.min() == 0.0 and p.spent == 0


def test_tech_transfer_reform_sets_the_transfer_regime_and_pays_its_brokers():
    p = configured_policy("tech_transfer_reform")
    m = park(p)
    assert m.levers.value("rank_retention") == pytest.approx(0.3)
    assert m.levers.value("equity_share") == pytest.approx(0.2)
    researchers = sum(a.researchers for a in m.institutes)
    assert researchers > 0
    # 2 brokers per 1,000 researchers at 0.3 a year each, paid monthly while the budget lasts
    assert m.levers.value("transfer_brokers") == pytest.approx(2.0)
    before = p.spent
    step_policy_alone(m, p)
    assert p.spent - before == pytest.approx(2.0 * researchers / 1000.0 * 0.3 * DT)
    assert p.brokers == pytest.approx(2.0 * researchers / 1000.0)


def test_entry_subsidy_cuts_the_cost_of_founding_by_its_coverage_and_the_registration_cut():
    p = configured_policy("entry_subsidy")
    m = park(p)
    f = m.cfg.ecosystem.firms
    expected = f.births_per_year * (1.0 - f.alumni_share - f.spinoff_share)
    want = 0.02 * min(1.0, 50_000.0 / expected) + 0.01
    assert {o: m.levers.value("founding_cost_cut", o) for o in ORIGINS} == pytest.approx(
        {"independent": want, "spinoff": 0.0, "alumni": 0.0})
    # the subsidy: 0.02 per new independent firm, first come, within the month's slots
    assert p.subsidised > 0 and p.spent == pytest.approx(0.02 * p.subsidised)


def test_talent_programme_cuts_students_and_returnees_founding_costs_and_funds_returnee_firms():
    p = configured_policy("talent_programme")
    m = park(p, months=12)
    # students: a share of 0.1 of the independent founders, 0.03 each
    assert m.levers.value("founding_cost_cut", "independent") == pytest.approx(0.1 * 0.03)
    assert m.levers.value("founding_cost_cut", "spinoff") == 0.0
    # returnees: the rent (0.3 a year for 2 years) times the share of them the programme can support
    assert p.student_firms > 0
    step_policy_alone(m, p)  # the coverage follows the tracks' markets: compare within one step
    assert m.levers.value("returnee_cost_cut") == pytest.approx(p._returnee_coverage(m) * 0.3 * 2.0)
    assert 0 < p._returnee_coverage(m) <= 1
    # returnees arrive at 60 a year at scale 1: 0.6 here; a sample's places are whole firms, the
    # fraction carried and rounded to the nearest (Policy.sampled), so one in the first year
    assert p.returnee_ids.size == math.floor(60 * SCALE + 0.5)
    big = configured_policy("talent_programme")
    m = park(big, months=12, scale=0.05)
    assert big.returnee_ids.size == 3
    rows = m.population.row_of[big.returnee_ids]
    assert (m.population["origin"][rows[rows >= 0]] == 0).all()  # independent founders
    assert directions_mask(m, ["科技", "数字", "产业"])[m.population["track"][rows[rows >= 0]]].all()


def test_talent_programme_rent_follows_its_returnee_coverage_and_students_are_independent_founders():
    p = configured_policy("talent_programme")
    m = park(p, months=12)
    step_policy_alone(m, p)
    f, tr = m.cfg.ecosystem.firms, m.tracks
    # the returnee founders a year in the target directions: the preset's independent births times the
    # returnee share, spread over the tracks by the square root of their markets
    w = np.where(tr["active"], np.sqrt(tr["market"]), 0.0)
    share = w[directions_mask(m, ["科技", "数字", "产业"])].sum() / w.sum()
    returnees = f.births_per_year * (1.0 - f.alumni_share - f.spinoff_share) * f.returnee_share * share
    coverage = min(1.0, 60.0 / returnees)
    assert m.levers.value("returnee_cost_cut") == pytest.approx(coverage * 0.3 * 2.0)
    students = np.setdiff1d(p.supported(), p.returnee_ids)
    pop = m.population
    rows = pop.row_of[students]
    rows = rows[rows >= 0]
    assert students.size == p.student_firms and rows.size > 0
    assert (channel_of(pop["key"][rows]) == INDEPENDENT).all() and (pop["origin"][rows] == INDEPENDENT).all()


def test_basic_research_pays_its_monthly_budget_to_the_institutes():
    p = configured_policy("basic_research")
    m = park(p)
    before, years = p.spent, p.researcher_years
    researchers = sum(a.researchers for a in m.institutes)
    step_policy_alone(m, p)
    assert p.spent - before == pytest.approx(1000.0 * SCALE * DT)
    assert p.researcher_years - years == pytest.approx(researchers * DT) and researchers > 0


def test_programmes_support_no_firm_once_their_budget_is_spent():
    p = configured_policy("proof_of_concept", budget_mcny_per_year=10.0)  # 0.5 a year at this scale: one grant
    park(p, months=4, scale=0.05)
    paid = np.concatenate(p.granted_ids)
    assert p.spent == pytest.approx(0.5) and paid.size > 0
    np.testing.assert_array_equal(np.sort(p.supported()), np.sort(paid))
    q = configured_policy("entry_subsidy", budget_mcny_per_year=20.0)  # 0.2 a year: spent in the first month
    park(q, months=3)
    paid = np.concatenate(q.granted_ids)
    assert q.spent == pytest.approx(0.2) and q.subsidised == paid.size == q.supported().size


def test_track_cultivation_counts_the_young_firms_it_grants_each_january():
    p = configured_policy("local_patience")
    m = park(p, months=0, warmup=3)
    pop = m.population
    mask = directions_mask(m, ["科技"])
    young = ((m.current_step - pop["born"]) <= 36) & mask[pop["track"]]
    m.step()
    assert young.sum() > 0 and p.accounts[m.year_of(0)][2] == young.sum()


def test_track_cultivation_supports_its_direction_and_grants_its_young_firms():
    p = configured_policy("local_patience")
    m = park(p, warmup=3)
    mask = directions_mask(m, ["科技"])
    np.testing.assert_allclose(m.levers.track("entry_bonus"), np.where(mask, 1.25, 1.0))
    np.testing.assert_allclose(m.levers.track("growth_bonus"), np.where(mask, 0.03, 0.0))
    pop = m.population
    young = (m.current_step - pop["born"] <= 36) & mask[pop["track"]]
    cash = pop["cash"].copy()
    before = p.spent
    step_policy_alone(m, p)
    # 0.2 a year to each young firm, cut in proportion when the year's budget (300 at scale 1) runs out
    want = 0.2 * DT * young.sum()
    cut = min(1.0, (300.0 * SCALE - before) / want)
    assert cut < 1  # the budget binds in the second month at this scale
    assert p.spent - before == pytest.approx(want * cut)
    np.testing.assert_allclose(pop["cash"] - cash, np.where(young, 0.2 * DT * cut, 0.0))


def test_sanctions_shock_hits_the_exposed_tracks_and_targeted_support_helps_their_firms():
    p = configured_policy("sanctions_shock")
    m = park(p)
    exposed = tracks_with_descendants(m, EXPOSED_TRACKS)
    assert exposed.any() and not exposed.all()
    np.testing.assert_allclose(m.levers.track("growth_bonus"), np.where(exposed, -0.3, 0.0))
    np.testing.assert_allclose(m.levers.track("screen_shift"), np.where(exposed, 0.3, 0.0))
    assert p.spent == 0 and p.supported().size == 0
    q = configured_policy("targeted_support")
    m = park(q, months=2)
    pop = m.population
    rows = pop.row_of[q.supported()]
    rows = rows[rows >= 0]
    # 400 supported firms a year at scale 1: 0.33 a month here, so the second month brings the first
    assert rows.size == whole_places(400 * SCALE * DT, 2) == 1 and exposed[pop["track"][rows]].all()
    np.testing.assert_allclose(pop["support_growth"][rows], 0.15)
    np.testing.assert_allclose(pop["support_closure"][rows], 0.7)
    assert q.spent == pytest.approx(0.5 * q.supported().size)


def test_targeted_support_goes_to_the_exposed_firms_with_the_most_revenue_first():
    q = configured_policy("targeted_support")
    m = park(q, months=3, scale=0.1)
    pop = m.population
    exposed = tracks_with_descendants(m, EXPOSED_TRACKS)
    before = set(q.supported().tolist())
    pool = np.flatnonzero(exposed[pop["track"]] & ~np.isin(pop["id"], list(before)))
    ranked = pop["id"][pool][np.argsort(-pop["revenue"][pool], kind="stable")]
    step_policy_alone(m, q)  # the next month's selection, from this state
    new = [i for i in q.supported().tolist() if i not in before]
    # 400 a year at scale 1 is 3.33 a month at scale 0.1: three or four this month
    assert len(new) in (3, 4)
    assert set(new) == set(ranked[: len(new)].tolist())
    assert pop["revenue"][pop.row_of[new]].min() > np.median(pop["revenue"][pool])


def test_credit_relaxation_moves_both_bank_levers_and_pays_half_the_interest():
    p = configured_policy("credit_relaxation", risk_pool_mcny=0.0)  # the pool would take the first year's budget
    m = park(p, warmup=3)
    assert m.levers.value("credit_multiplier") == pytest.approx(2.0)
    assert m.levers.value("loan_size_multiplier") == pytest.approx(1.5)
    pop = m.population
    rate = np.array([getattr(a, "rate", 0.0) for a in m.market.investors])
    borrowers = np.flatnonzero(pop["debt"] > 0)
    assert borrowers.size > 0
    interest = pop["debt"][borrowers] * rate[pop["bank"][borrowers]] * DT
    deals_before = m.market.deals.n
    before = p.spent
    step_policy_alone(m, p)
    # venture loans beside last month's VC rounds come first, then the interest subsidy of every
    # borrower, within what is left of the year's budget (300 at scale 1)
    d = m.market.deals
    lent = pop.row_of[d["firm"][np.arange(deals_before, d.n)]]
    want = 0.5 * (interest.sum() + (pop["debt"][lent] * rate[pop["bank"][lent]] * DT).sum())
    assert p.spent - before == pytest.approx(min(want, 300.0 * SCALE - before))
    assert want > 0


def test_venture_loans_are_three_tenths_of_the_vc_money_of_last_month():
    p = configured_policy("credit_relaxation")
    m = park(p, months=6, scale=0.03)
    d = m.market.deals
    loans = np.flatnonzero(d["round"] == 5)
    mine = [i for i in loans if d["step"][i] >= 1]
    checked = 0
    for i in mine:
        prev = (d["firm"] == d["firm"][i]) & (d["step"] == d["step"][i] - 1) & (d["round"] >= 1) & (d["round"] <= 3)
        vc = np.array([m.market.investors[j].kind == "vc" for j in d["investor"]])
        vc_money = d["amount"][prev & vc].sum()
        if vc_money > 0:
            assert d["amount"][i] == pytest.approx(0.3 * vc_money)
            checked += 1
    assert checked > 0 and p.venture_loans >= checked


def _loans_below(m, revenue_floor: float, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(firm ids, amounts) of the bank loans in the deal log since the policy started that are
    smaller than ``size`` (the loan size per unit of revenue) times ``revenue_floor``: loans the
    banks' own test (revenue at least the floor) cannot have made."""
    d = m.market.deals
    loans = np.flatnonzero((d["round"] == LOAN_ROUND) & (d["step"] >= 0))
    small = loans[d["amount"][loans] < size * revenue_floor]
    return d["firm"][small], d["amount"][small]


def test_credit_relaxation_risk_pool_backs_loans_below_the_banks_floor_within_ten_times_what_is_left_in_it():
    p = configured_policy("credit_relaxation", venture_debt_ratio=0.0)  # no venture loans: every loan is the banks'
    m = park(p, warmup=3, months=8, scale=0.02)  # the quota binds from the sixth month on in this small park
    pop = m.population
    bcfg = m.cfg.ecosystem.banks
    # 500 mcny at scale 1 paid into the pool first, within the year's budget of 300 at scale 1
    assert p.pool_in == pytest.approx(300.0 * 0.02) and p.pool + p.pool_paid == pytest.approx(p.pool_in)
    rows = pop.row_of[p.backed_ids]
    assert p.backed_ids.size > 20 and (rows >= 0).all()
    # the quota: what the backed loans still owe stays within pool_leverage (10) times the pool, and
    # binds: what is left is less than the largest loan the pool backs, plus the principal the
    # borrowers repaid in the month's financing after the policy lent (an annuity over 36 months at
    # 4.5 % repays less than 1/30 of what it owes in a month)
    owed = pop["debt"][rows].sum()
    size = bcfg.loan_to_revenue * 1.5  # the policy's loan size: 0.25 x 1.5 of a revenue run rate
    ids, amounts = _loans_below(m, bcfg.min_revenue_mcny, size)
    assert owed <= 10.0 * p.pool + 1e-9
    assert 10.0 * p.pool - owed < amounts.max() + owed / 30.0
    # the loans the banks' own test cannot have made (to a revenue run rate below its 5 mcny) are
    # the pool's, each to a firm with at least the pool's floor of 1 mcny
    assert set(p.backed_ids) <= set(ids)
    assert (amounts / size >= 1.0 - 1e-9).all()
    assert p.pool_loans == ids.size and p.pool_lent == pytest.approx(amounts.sum())
    # half the leverage, about half the backed loans (the same applicants, in the same order)
    q = configured_policy("credit_relaxation", venture_debt_ratio=0.0, pool_leverage=5.0)
    half = park(q, months=8, scale=0.02)
    owed_half = half.population["debt"][half.population.row_of[q.backed_ids]].sum()
    assert owed_half <= 5.0 * q.pool + 1e-9
    assert 0.35 < owed_half / owed < 0.65
    assert all(b.balanced() for b in m.market.lending.banks())


def test_credit_relaxation_risk_pool_ends_with_the_policy():
    p = configured_policy("credit_relaxation")
    m = park(p, months=1, scale=0.02)
    p.end_year = m.year_of(0)  # in force in the first observed year only
    while m.current_step < 12:
        m.step()
    loans = p.pool_loans
    assert loans > 0 and m.market.lending.loss_cover is not None
    while m.current_step < 15:
        m.step()
    assert m.market.lending.loss_cover is None
    assert p.pool == 0 and p.received == pytest.approx(p.pool_in - p.pool_paid) and p.pool_in > 0
    assert m.government.received_by_policy[p.name] == pytest.approx(p.received)
    assert p.pool_loans == loans  # no loan on its guarantee once the policy ended
    assert all(b.balanced() for b in m.market.lending.banks())


def test_credit_relaxation_risk_pool_pays_half_of_what_a_failed_borrower_it_backs_still_owes():
    p = configured_policy("credit_relaxation")
    m = park(p, warmup=3, months=2, scale=0.02)
    pop = m.population
    backed = pop.row_of[p.backed_ids[:4]]
    other = np.setdiff1d(np.flatnonzero(pop["debt"] > 0), pop.row_of[p.backed_ids])[:4]
    assert backed.size == 4 and other.size == 4 and (backed >= 0).all()
    rows = np.concatenate([backed, other])
    pop["cash"][rows] = 0.0
    rr = m.cfg.ecosystem.banks.recovery_rate
    loss = pop["debt"][rows] * (1.0 - rr)
    banks = m.market.investors
    lender = pop["bank"][rows].copy()
    before = {i: banks[i].covered for i in np.unique(lender)}
    pool = p.pool
    want = 0.5 * loss[:4]  # the pool backs the first four loans only
    assert want.sum() < pool  # the pool covers all of it
    m.market.lending.write_off(rows)
    assert p.pool == pytest.approx(pool - want.sum())
    for i in np.unique(lender):
        assert banks[i].covered - before[i] == pytest.approx(want[lender[:4] == i].sum())
        assert banks[i].balanced()


def test_long_term_capital_raises_commitments_at_its_tax_cost_and_lengthens_new_funds():
    p = configured_policy("long_term_capital")
    m = park(p)
    base = m.cfg.ecosystem.vc.commitments_mcny_per_year * SCALE
    assert m.levers.value("fund_life_multiplier") == pytest.approx(1.5)
    assert m.levers.value("lp_multiplier") == pytest.approx(1.25)
    assert p.extra_committed == pytest.approx(0.25 * base)
    assert p.spent == pytest.approx(0.02 * 0.25 * base)


# ------------------------------------------------------------------------------ programmes for firms


def test_state_incubator_admits_last_months_best_founders_with_a_grant_and_services():
    p = configured_policy("state_incubator")
    m = park(p, months=3, scale=0.05)
    pop = m.population
    rows = pop.row_of[p.ids]
    alive = rows >= 0
    # 300 places a year at scale 1: 1.25 a month here, 3.75 -> 4 firms in three months
    assert p.ids.size == whole_places(300 * 0.05 * DT, 3) == 4 and alive.any()
    r = rows[alive]
    np.testing.assert_allclose(pop["support_closure"][r], 0.5)
    np.testing.assert_allclose(pop["support_growth"][r], 0.1)
    assert directions_mask(m, ["科技", "产业"])[pop["track"][r]].all()
    np.testing.assert_array_equal(pop["born"][r], p.admitted[alive] - 1)  # founders of the month before
    assert p.spent == pytest.approx(2.0 * p.ids.size) and (p.granted == 2.0).all()


def test_state_incubator_judges_its_firms_when_incubation_ends_and_collects_royalties_from_the_successes():
    p = configured_policy("state_incubator", incubation_years=0.75, capacity_per_year=1200.0,
                          budget_mcny_per_year=2000.0)  # nine months; five firms a month at this scale
    m = park(p, months=9, scale=0.05)
    pop = m.population
    first = np.flatnonzero(p.admitted == 0)  # the firms admitted in the first month: their term ends now
    rows = pop.row_of[p.ids[first]]
    live = rows >= 0
    assert live.sum() >= 2 and (p.status[first] == 0).all()
    r = rows[live]
    rev, cash = pop["revenue"][r].copy(), pop["cash"][r].copy()
    p.success_revenue_mcny = float(np.median(rev))  # success: at least this revenue, or equity raised
    ok = (rev >= p.success_revenue_mcny) | (pop["rounds"][r] > 0)
    assert ok.any() and not ok.all()
    step_policy_alone(m, p)
    np.testing.assert_array_equal(p.status[first][~live], 2)
    np.testing.assert_array_equal(p.status[first][live] == 2, ~ok)
    # a success owes its grant of 2 with 3 % a year of interest over its incubation and pays 3 % of its
    # revenue a month towards it (within its cash); a failure owes nothing
    owed = 2.0 * 1.03**0.75
    royalty = np.where(ok, np.minimum(np.minimum(0.03 * np.maximum(rev, 0.0) * DT, owed), np.maximum(cash, 0.0)), 0.0)
    assert royalty.sum() > 0
    np.testing.assert_allclose(cash - pop["cash"][r], royalty, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.due[first][live], np.where(ok, owed - royalty, 0.0), rtol=1e-9)
    assert p.received == pytest.approx(royalty.sum()) and m.ledger.public_repayments >= p.received
    # judged so far: the first month's firms and the later ones that died in incubation (failures)
    others = np.setdiff1d(np.arange(p.ids.size), first)
    ended = first.size + int((pop.row_of[p.ids[others]] < 0).sum())
    assert p.stats() == pytest.approx({
        "firms_supported": p.ids.size, "incubations_ended": ended, "successes": ok.sum(),
        "success_rate": ok.sum() / ended, "success_rate_reference": 0.5, "granted_mcny": 2.0 * p.ids.size,
        "repaid_mcny": royalty.sum()})


def test_incubator_chain_gives_new_teams_desks_cuts_the_cost_of_founding_and_pays_the_operators():
    p = configured_policy("incubator_chain")
    m = park(p, months=2)
    f = m.cfg.ecosystem.firms
    independents = f.births_per_year * (1.0 - f.alumni_share - f.spinoff_share)
    # founders count on a desk for a year at 0.02 a year, for the share of them the 228 x 20 desks a year cover
    cut = min(1.0, 228 * 20 / independents) * 0.02
    assert {o: m.levers.value("founding_cost_cut", o) for o in ORIGINS} == pytest.approx(
        {"independent": cut, "spinoff": 0.0, "alumni": 0.0})
    # 228 x 20 teams a year at scale 1: 3.8 a month here, carried
    assert p.admitted == [whole_places(228 * 20 * SCALE * DT, 2), 0, 0]
    pop = m.population
    rows = pop.row_of[p.ids]
    r = rows[rows >= 0]
    assert r.size > 0 and np.isin(pop["origin"][r], [ORIGINS.index("independent"), SPINOFF]).all()
    np.testing.assert_allclose(pop["support_closure"][r], 0.8)
    np.testing.assert_allclose(pop["support_growth"][r], 0.0)
    np.testing.assert_allclose(pop["support_screen"][r], 0.0)  # a desk does not change investors' bar
    before = p.spent
    step_policy_alone(m, p)
    # the operators are paid 0.02 a year for each team at a desk this month
    assert p.spent - before == pytest.approx(0.02 * DT * p.ids.size)


def test_proof_of_concept_puts_new_spinoffs_on_the_base():
    p = configured_policy("proof_of_concept")
    m = park(p, months=3, scale=0.05)
    pop = m.population
    rows = pop.row_of[p.supported()]
    r = rows[rows >= 0]
    assert p.supported().size > 0 and r.size > 0
    assert (pop["origin"][r] == SPINOFF).all()
    np.testing.assert_allclose(pop["support_closure"][r], 0.6)
    np.testing.assert_allclose(pop["support_growth"][r], 0.25)
    assert p.spent == pytest.approx(0.5 * p.supported().size)


def test_rd_grants_pay_two_thirds_of_the_grantees_rd_and_lower_their_user_cost_of_rd():
    p = configured_policy("rd_grants")
    m = park(p)
    pop = m.population
    assert p.ids.size == whole_places(400 * SCALE * DT, 1) == 0  # 0.33 of a place: none yet
    m = park(p := configured_policy("rd_grants"), scale=0.05)
    pop = m.population
    rows = pop.row_of[p.ids]
    assert p.ids.size == whole_places(400 * 0.05 * DT, 1) == 2 and (rows >= 0).all()  # 1.67 -> 2
    assert (m.tracks["tech_intensity"][pop["track"][rows]] >= 0.5).all()
    # a grantee's R&D staff share is raised by its user cost 1 - 0.66 to the power -elasticity (1 at the preset)
    np.testing.assert_allclose(pop["support_rd"][rows], 1.0 / (1.0 - 0.66))
    base = np.outer(m.tracks["tech_intensity"], m.cfg.ecosystem.rd.staff_share)[pop["track"], pop["stage"]]
    phi = pop["rd_phi"][rows]  # no tax credit here: the track response is 1
    np.testing.assert_allclose(phi, np.minimum(base[rows] / (1.0 - 0.66), 1.0))
    others = np.setdiff1d(np.arange(pop.n), rows)
    np.testing.assert_allclose(pop["support_rd"][others], 1.0)
    paid = p.paid.copy()
    rd = pop["rd_last"][rows].copy()
    assert (rd > 0).all()
    step_policy_alone(m, p)
    new = p.ids.size - paid.size
    # the next month pays 66 % of last month's R&D spending, within the cap
    np.testing.assert_allclose(p.paid[: paid.size] - paid, np.minimum(0.66 * rd, 5.32 - paid))
    assert new == whole_places(400 * 0.05 * DT, 2) - paid.size == 1  # 3.33 -> 3 in two months
    np.testing.assert_allclose(pop["support_rd"][pop.row_of[p.ids]], 1.0 / (1.0 - 0.66))


def test_rd_grants_take_firms_of_tracks_at_the_research_intensity_floor_and_their_response_ends_with_the_term():
    # the first park of 7 to 12 months whose live grantees are both in and out of their term in its last month
    for months in range(7, 13):
        p = configured_policy("rd_grants", min_tech_intensity=0.98, duration_years=0.25)  # three-month grants
        m = park(p, months=months, scale=0.05)
        pop = m.population
        rows = pop.row_of[p.ids]
        live = rows >= 0
        on = (months - 1) - p.started < 3  # in their term in the last month in force
        if (live & on).any() and (live & ~on).any():
            break
    # the floor is the most research-intensive tracks' intensity: their firms apply
    assert live.sum() >= 2 and (m.tracks["tech_intensity"][pop["track"][rows[live]]] == 0.98).all()
    assert (live & on).any() and (live & ~on).any(), months
    np.testing.assert_allclose(pop["support_rd"][rows[live & on]], 1.0 / (1.0 - 0.66))
    np.testing.assert_allclose(pop["support_rd"][rows[live & ~on]], 1.0)


def test_stage_cultivation_lists_potential_unicorns_valued_from_350_and_at_most_nine_years_old():
    p = configured_policy("stage_cultivation", target_stages=["unicorn"])
    m = park(p)
    pop = m.population
    free = np.flatnonzero(~np.isin(pop["id"], p.enrolled) & (pop["stage"] == STAGES.index("startup"))
                          & (pop["valuation"] < 350.0))
    young, old, cheap = free[:3]
    pop["valuation"][[young, old]] = 400.0
    pop["valuation"][cheap] = 349.0
    pop["born"][young] = m.current_step - 107  # 8.9 years old
    pop["born"][old] = m.current_step - 114  # 9.5 years old
    pop["born"][cheap] = m.current_step - 12
    step_policy_alone(m, p)
    enrolled = set(p.enrolled.tolist())
    assert pop["id"][young] in enrolled and pop["id"][old] not in enrolled and pop["id"][cheap] not in enrolled


def test_rd_grants_admit_only_the_grantees_the_years_budget_can_pay():
    # 2 mcny/yr at scale 0.05 (0.5 admitted no one once only R&D performers apply: the best-looking
    # of them spend 0.02-0.09 mcny a month on R&D, more than that budget could pay for the year)
    p = configured_policy("rd_grants", budget_mcny_per_year=40.0)
    park(p, months=6, scale=0.05)
    slots = whole_places(400 * 0.05 * DT, 6)
    assert 0 < p.ids.size < slots  # the budget, not the capacity, bounds the programme
    assert p.covered == 1.0 and 0 < p.spent <= 2.0  # every grant it took on was paid in full
    big = configured_policy("rd_grants")
    park(big, months=6, scale=0.05)
    assert big.ids.size == slots  # at the default budget the capacity binds in the first months


def test_rd_grants_cut_pro_rata_lower_the_response_to_the_share_actually_paid():
    p = configured_policy("rd_grants")
    m = park(p, months=2, scale=0.05)
    pop = m.population
    # the budget is cut after the grantees were admitted: the next month's grants are cut pro rata
    on = (pop.row_of[p.ids] >= 0) & (p.paid < p.cap_mcny)
    want = float(np.minimum(0.66 * pop["rd_last"][pop.row_of[p.ids[on]]], p.cap_mcny - p.paid[on]).sum())
    p.budget_mcny_per_year = (p.spent_this_year + 0.5 * want) / 0.05
    step_policy_alone(m, p)
    rows = pop.row_of[p.ids]
    assert p.spent > 0 and 0 < p.covered < 1
    s = 0.66 * p.covered
    live = rows[rows >= 0]
    np.testing.assert_allclose(pop["support_rd"][live], 1.0 / (1.0 - s))
    p.stop(m, m.government)
    np.testing.assert_allclose(pop["support_rd"], 1.0)


def test_ocs_consortia_pay_two_thirds_of_the_members_rd_within_the_years_cap_and_lower_their_user_cost():
    p = configured_policy("ocs_programmes")
    m = park(p, warmup=3, months=11, scale=0.2)  # the large members reach the year's cap by December
    pop = m.population
    rows = pop.row_of[p.ids]
    live = rows >= 0
    assert p.ids.size >= 3 and live.sum() >= 2 and p.covered == 1.0
    tracks = pop["track"][rows[live]]
    assert (m.tracks["tech_intensity"][tracks] >= 0.5).all()
    assert np.isin(m.tracks.directions()[tracks], [DIRECTIONS.index("科技"), DIRECTIONS.index("产业")]).all()
    # a member with room left under its year's cap (2 mcny) does R&D at a user cost of 1 - 0.66
    room = live & (p.paid_year < 2.0)
    assert room.any() and (live & ~room).any()  # the large members use their cap within the year
    np.testing.assert_allclose(pop["support_rd"][rows[room]], 1.0 / (1.0 - 0.66))
    np.testing.assert_allclose(pop["support_rd"][rows[live & ~room]], 1.0)
    others = np.setdiff1d(np.arange(pop.n), rows[live])
    np.testing.assert_allclose(pop["support_rd"][others], 1.0)
    paid, granted = p.paid_year.copy(), p.granted
    rd = pop["rd_last"][rows[live]].copy()
    assert (rd > 0).all()
    step_policy_alone(m, p)
    # the next month pays 66 % of last month's R&D spending, within the year's cap
    got = p.paid_year[: paid.size][live] - paid[live]
    np.testing.assert_allclose(got, np.minimum(0.66 * rd, 2.0 - paid[live]))
    assert p.granted - granted == pytest.approx(got.sum())
    p.stop(m, m.government)
    np.testing.assert_allclose(pop["support_rd"], 1.0)


def test_ocs_consortia_cut_pro_rata_lower_the_response_to_the_share_actually_paid():
    p = configured_policy("ocs_programmes", budget_mcny_per_year=2.0)  # below what the consortia ask for
    m = park(p, months=13, scale=0.05)
    pop = m.population
    rows = pop.row_of[p.ids]
    assert p.spent > 0 and 0 < p.covered < 1
    respond = (rows >= 0) & (p.paid_year < 2.0)
    np.testing.assert_allclose(pop["support_rd"][rows[respond]], 1.0 / (1.0 - 0.66 * p.covered))


def test_scene_opening_gives_its_firms_a_customer_a_test_report_and_draws_founders():
    p = configured_policy("scene_opening")
    scale = 0.05
    m = park(p, months=12, scale=scale)
    # the real park's 16 scenes a year open at every scale (1.33 a month, carried: 16 in 12 months)
    assert len(p.scene_log) == whole_places(16 * DT, 12) == 16
    # each takes on 5 x 0.05 = 0.25 firms of this sample, carried from scene to scene: 4 firms in
    # all when every scene had candidates (a scene short of them gives back one place at most)
    firms = [s["firms"] for s in p.scene_log]
    assert sum(firms) == whole_places(5 * scale, len(firms)) == 4
    assert all(f <= 1 for f in firms)
    scene = next(s for s in p.scene_log if s["firms"] > 0)
    pop = m.population
    rows = pop.row_of[p.supported()]
    r = rows[rows >= 0]
    assert r.size > 0 and set(pop["track"][r]) <= {s["track_id"] for s in p.scene_log}
    np.testing.assert_allclose(pop["support_growth"][r], 0.4)
    np.testing.assert_allclose(pop["support_screen"][r], -0.3)
    bonus = m.levers.track("entry_bonus")
    assert bonus[scene["track_id"]] == pytest.approx(1.2)
    open_tracks = sorted({s["track_id"] for s in p.scene_log})
    assert (np.delete(bonus, open_tracks) == 1.0).all()
    # a scene costs 5 at scale 1: this sample pays its share, 5 x 0.05
    assert p.spent == pytest.approx(5.0 * scale * len(p.scene_log))


def test_stage_cultivation_lists_new_gazelles_and_pays_them_after_the_lag():
    p = configured_policy("stage_cultivation")
    at_enrolment = {}  # firm id -> (gazelle flag, valuation) when the programme enrolled it
    step_policy = p.step

    def spy(model, government):
        before = set(p.enrolled.tolist())
        step_policy(model, government)
        new = np.array([i for i in p.enrolled.tolist() if i not in before], dtype=np.int64)
        rows = model.population.row_of[new]
        at_enrolment.update(zip(new.tolist(), zip(model.population["gazelle_flag"][rows].tolist(),
                                                  model.population["valuation"][rows].tolist(), strict=True),
                                strict=True))

    p.step = spy
    m = park(p, months=1, warmup=4, scale=0.02)
    pop = m.population
    rows = pop.row_of[p.enrolled]
    r = rows[rows >= 0]
    assert p.enrolled.size > 0 and (p.enrolled_step == 0).all()
    np.testing.assert_allclose(pop["support_screen"][r], -0.3)
    # a new gazelle or a potential unicorn (valued at 350 mcny or more) when enrolled; a round later in the
    # month may price it lower (at seed 3, a round of step 0 took one firm from 474 to 177)
    assert sorted(at_enrolment) == sorted(p.enrolled.tolist())
    assert all(flag or value >= 350.0 for flag, value in at_enrolment.values()), at_enrolment
    assert p.paid == 0 and p.spent == 0  # paid six months after enrolment
    ids0, amounts0 = p.queue_ids.copy(), p.queue_amount.copy()
    assert set(np.round(amounts0, 9)) <= {0.3, 1.0} and ids0.size == p.enrolled.size
    for _ in range(5):
        m.step()
    assert p.paid == 0
    alive = m.population.row_of[ids0] >= 0  # paid to the firms still alive when the grant is due
    m.step()
    # whole grants, in the order they fell due, while the year's budget (400 at scale 1) lasts
    fits = np.cumsum(amounts0[alive]) <= 400.0 * 0.02 + 1e-12
    assert p.paid == pytest.approx(amounts0[alive][fits].sum()) and p.spent == pytest.approx(p.paid)


def test_guidance_fund_is_set_up_and_paid_in_by_yearly_tranches():
    p = configured_policy("guidance_fund")
    m = park(p, months=13)
    f = p.fund
    assert f.coinvest_ratio == 0.5 and f.return_cap == 0.05 and f.stacks
    assert f.committed == pytest.approx(2 * 5000.0 * SCALE / 5)  # two Januaries
    assert p.spent == pytest.approx(f.committed) and p.paid_in == pytest.approx(f.committed)
    step_policy_alone(m, p)  # the mandate follows the tracks of the mandated directions month by month
    mandated = directions_mask(m, ["科技", "产业", "数字"])
    np.testing.assert_array_equal(np.sort(f.mandated_tracks), np.flatnonzero(mandated))


def test_guidance_fund_that_ends_draws_no_more_ahead_and_what_it_drew_is_paid_in_without_further_tranches():
    p = configured_policy("guidance_fund")
    m = park(p, months=12)  # the first observed year: the first of five yearly tranches of 5,000 x 0.01
    f = p.fund
    tranche = 5000.0 * SCALE / 5
    assert p.paid_in == pytest.approx(tranche) and f.credit == pytest.approx(5 * tranche - p.paid_in)
    p.end_year = m.year_of(0)  # the programme ends with the first year
    f.cash = -3.0  # its cheques drew 3 ahead of what was paid in (whatever it invested this first year)
    m.step()
    # January: no tranche; what the fund drew ahead is paid in from the new year's budget (1,000 x 0.01)
    assert p.paid_in == pytest.approx(tranche + 3.0) and p.spent == pytest.approx(p.paid_in)
    assert f.cash == pytest.approx(0.0, abs=1e-12) and f.credit == 0.0
    while m.current_step < 25:
        m.step()
    assert p.paid_in == pytest.approx(tranche + 3.0) and f.credit == 0.0  # the rest of the commitment is not


def test_state_incubator_that_ends_takes_its_services_back_and_admits_no_one():
    p = configured_policy("state_incubator")
    m = park(p, months=12, scale=0.05)
    pop = m.population
    rows = pop.row_of[p.ids]
    assert p.ids.size > 5 and (rows >= 0).sum() > 5
    np.testing.assert_allclose(pop["support_closure"][rows[rows >= 0]], 0.5)
    p.end_year = m.year_of(0)
    ids, spent = p.ids.copy(), p.spent
    for _ in range(3):
        m.step()
    rows = pop.row_of[ids]
    np.testing.assert_allclose(pop["support_closure"][rows[rows >= 0]], 1.0)
    np.testing.assert_allclose(pop["support_growth"][rows[rows >= 0]], 0.0)
    np.testing.assert_array_equal(p.ids, ids)
    assert p.spent == spent
    # a firm is judged when its two years end, not when the programme does; one that died has failed
    np.testing.assert_array_equal(p.status, np.where(rows >= 0, 0, 2))


def test_ocs_programmes_fund_members_and_academic_research():
    p = configured_policy("ocs_programmes")
    scale = 0.05
    m = park(p, months=3, scale=scale)
    pop = m.population
    # Magnet members: 100 a year at scale 1, 0.42 a month here (carried): 1 in three months; academic
    # projects: 100 a year, 1 in three months, each 15 months long
    assert p.ids.size == whole_places(100 * scale * DT, 3) == 1
    assert len(p.projects_until) == whole_places(100 * scale * DT, 3) == 1
    rows = pop.row_of[p.ids]
    assert (rows >= 0).all() and (pop["employees"][rows] >= 5).all()
    assert (m.tracks["tech_intensity"][pop["track"][rows]] >= 0.5).all()
    assert directions_mask(m, ["科技", "产业"])[pop["track"][rows]].all()
    before, cash, paid = p.spent, pop["cash"].copy(), p.paid_year.copy()
    step_policy_alone(m, p)
    members = pop.row_of[p.ids]
    projects = len(p.projects_until)
    assert projects == whole_places(100 * scale * DT, 4)
    # each member that joined before this month: 66 % of its R&D spending of last month, at most 2
    # in the calendar year; the institutes: 80 % of 1.0 a year of consortium research per member;
    # each project 0.875 over its 15 months
    earlier = p.joined < m.current_step
    assert earlier.any() and (pop["rd_last"][members[earlier]] > 0).all()
    old = np.zeros(members.size)
    old[: paid.size] = paid
    firm = np.where(earlier, np.minimum(0.66 * pop["rd_last"][members], 2.0 - old), 0.0)
    academic = 0.8 * 1.0 * members.size * DT
    want = firm.sum() + academic + 0.875 / 15 * projects
    assert p.spent - before == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose((pop["cash"] - cash)[members], firm, rtol=1e-9)


def test_patience_withdraws_a_tracks_support_once_patience_years_passed_without_a_new_gazelle_or_unicorn():
    p = configured_policy("local_patience", patience_years=2.0)
    m = park(p, months=0, warmup=1)
    p.start_year = m.year_of(12)  # in force from the second observed year: the support starts in month 12
    while m.current_step < 25:
        m.step()
    targeted = p.target_track_ids(m)
    assert targeted.size > 1 and p.withdrawn == set()  # one year of the two: nothing withdrawn yet
    lucky = int(targeted[0])
    m.tracks["gazelles_ever"][lucky] += 1  # a new gazelle in one targeted track
    while m.current_step < 37:
        m.step()
    # two years after the support started (month 36), every track without a new result loses it
    started = {t for t in targeted.tolist() if p._track_start[t][0] == 12}
    assert lucky in started and p.withdrawn == started - {lucky}
    bonus = m.levers.track("entry_bonus")
    assert bonus[lucky] == pytest.approx(1.25)
    np.testing.assert_allclose(bonus[sorted(p.withdrawn)], 1.0)


def test_target_stages_and_origins_restrict_a_policy_to_firms_of_those_stages_and_channels():
    p = configured_policy("rd_grants", target_stages=["startup"], target_origins=["spinoff"])
    m = park(p, warmup=3)
    pop = m.population
    want = (pop["stage"] == STAGES.index("startup")) & (pop["origin"] == ORIGINS.index("spinoff"))
    assert want.any() and not want.all()
    np.testing.assert_array_equal(p.eligible(m), want)
    q = configured_policy("rd_grants", target_stages=["gazelle", "unicorn"])
    park(q, warmup=3)
    np.testing.assert_array_equal(q.eligible(m), pop["stage"] != STAGES.index("startup"))


def test_venture_loans_go_to_every_firm_without_debt_that_raised_a_vc_round_a_to_c_last_month():
    p = configured_policy("credit_relaxation", risk_pool_mcny=0.0)
    m = park(p, months=2, scale=0.03)
    d, pop = m.market.deals, m.population
    for _ in range(24):  # the first month after which the policy sees a series A round
        new = np.arange(p._deal_ptr, d.n)
        vc = np.array([m.market.investors[j].kind == "vc" for j in d["investor"][new]], dtype=bool)
        new = new[vc & (d["round"][new] >= 1) & (d["round"][new] <= 3)]
        if 1 in d["round"][new]:
            break
        m.step()
    firms = np.unique(d["firm"][new])
    rows = pop.row_of[firms]
    firms = firms[(rows >= 0) & (pop["debt"][np.maximum(rows, 0)] <= 0)]
    assert 1 in d["round"][new] and firms.size > 0  # series A rounds among them
    before = d.n
    step_policy_alone(m, p)
    loans = np.arange(before, d.n)
    loans = loans[d["round"][loans] == LOAN_ROUND]
    assert sorted(d["firm"][loans].tolist()) == sorted(firms.tolist())
    vc_money = {f: d["amount"][new][d["firm"][new] == f].sum() for f in firms.tolist()}
    for i in loans:
        assert d["amount"][i] == pytest.approx(0.3 * vc_money[int(d["firm"][i])])


def test_a_risk_pool_smaller_than_the_years_budget_is_paid_in_whole_in_the_first_month():
    p = configured_policy("credit_relaxation", risk_pool_mcny=50.0)  # 0.5 at this scale, the budget 3
    park(p)
    assert p.pool_in == pytest.approx(50.0 * SCALE) and p.pool + p.pool_paid == pytest.approx(p.pool_in)


def test_public_procurement_signs_contracts_and_insures_first_units_at_the_documented_values_and_pays_for_them():
    p = configured_policy("public_procurement")
    m = park(p, months=1, warmup=3, scale=0.05)
    pop, book = m.population, m.contracts
    c, cc = book.contracts, m.cfg.ecosystem.contracts
    revenue = {}
    while m.current_step < 9:
        revenue[m.current_step] = dict(zip(pop["id"].tolist(), pop["revenue"].tolist(), strict=True))
        m.step()
    mine = np.flatnonzero((c["buyer"] == p.buyer) & np.isin(c["buyer_kind"], [GOVERNMENT, INSURED]) & (c["start"] >= 1))
    kinds = c["buyer_kind"][mine]
    public, insured = mine[kinds == GOVERNMENT], mine[kinds == INSURED]
    assert public.size > 0 and insured.size > 0
    at_signing = np.array([revenue[s][f] for s, f in zip(c["start"][mine], c["firm"][mine], strict=True)])
    # a public contract runs two years at the share of its supplier's revenue that contracts take, an insured
    # first unit one year at the supplier's revenue (first_unit_value_share 1), both at most contracts.max_mcny
    share = np.where(kinds == GOVERNMENT, cc.revenue_share, 1.0)
    np.testing.assert_allclose(c["value"][mine], np.minimum(share * at_signing, cc.max_mcny), rtol=1e-12)
    np.testing.assert_array_equal(c["end"][mine] - c["start"][mine], np.where(kinds == GOVERNMENT, 24, 12))
    # first units: a firm's first sale is insured once, at 300 a year at scale 1 (15 here, carried)
    assert len(set(p.insured.tolist())) == p.insured.size == whole_places(300 * 0.05 * DT, 9)
    all_insured = np.flatnonzero((c["buyer"] == p.buyer) & (c["buyer_kind"] == INSURED))
    assert p.premiums == pytest.approx(0.03 * 0.8 * c["value"][all_insured].sum())
    # the suppliers are in the target directions; what the government paid is what its suppliers were paid
    rows = pop.row_of[c["firm"][mine]]
    assert directions_mask(m, ["科技", "产业"])[pop["track"][rows[rows >= 0]]].all()
    assert p.paid == pytest.approx(book.paid(GOVERNMENT, p.buyer)) and p.spent == pytest.approx(p.paid + p.premiums)
    signed = np.flatnonzero((c["buyer"] == p.buyer) & (c["buyer_kind"] == GOVERNMENT))
    assert p.stats() == pytest.approx({
        "contracts": signed.size, "contract_value_mcny_per_year": c["value"][signed].sum(),
        "purchases_paid_mcny": p.paid, "first_units_insured": all_insured.size, "premium_subsidies_mcny": p.premiums})


def test_fund_of_funds_backs_as_many_funds_as_its_budget_pays_and_takes_the_non_additional_money_from_other_funds():
    p = configured_policy("fund_of_funds")
    m = park(p)
    size = 1000.0 * SCALE
    # a budget of 1,000 a year pays the government's 30 % of three funds of 1,000 (the rest is carried)
    assert len(p.funds) == 3 and p.spent == pytest.approx(3 * 0.3 * size)
    assert all(f.committed == pytest.approx(size) for f in p.funds)
    # half the private LPs' 70 % of each fund would have gone to other VC funds: the year's commitments fall by that
    base = m.cfg.ecosystem.vc.commitments_mcny_per_year * SCALE
    assert m.levers.value("lp_multiplier") == pytest.approx(1.0 - 3 * 0.5 * 0.7 * size / base)


def test_fund_of_funds_renews_its_funds_mandates_over_the_target_tracks_of_the_day_every_january():
    p = configured_policy("fund_of_funds")
    m = park(p, months=12, seed=4)
    first = set(p.funds[0].mandate[0].tolist())
    step_policy_alone(m, p)  # January of the second year
    ids = p.target_track_ids(m)
    assert set(ids.tolist()) > first  # tracks derived from the target tracks during the year
    for f in p.funds:
        assert set(f.mandate[0].tolist()) == set(ids.tolist()) and f.mandate[1] == 0.6
        assert f.prefs.size == m.tracks.n and f.prefs[ids].sum() >= (0.6 - 1e-9) * f.prefs.sum()


def test_fund_of_funds_gets_its_share_of_a_backed_funds_distributions_up_to_its_return_cap():
    p = configured_policy("fund_of_funds")
    m = park(p, months=7)
    big, small = p.funds[0], p.funds[1]
    paid = 0.3 * 1000.0 * SCALE  # the government's share of each fund, paid when it was raised in month 0
    assert p.paid_in[:2] == pytest.approx([paid, paid]) and big.committed == pytest.approx(paid / 0.3)
    big.proceeds += 10 * big.committed  # a distribution far above the cap
    small.proceeds += 0.1 * small.committed
    received = p.received
    p.collect(m, m.government)
    # its share (30 %) of what a fund distributes, up to what it paid in grown at 8 % a year since then
    cap = paid * 1.08 ** (m.current_step / 12)
    assert p.received - received == pytest.approx(cap + 0.3 * 0.1 * small.committed)
    big.proceeds += big.committed
    p.collect(m, m.government)
    assert p.received - received == pytest.approx(cap + 0.3 * 0.1 * small.committed)  # the cap is reached


def test_open_innovation_gets_its_share_of_the_corporate_funds_distributions_up_to_its_return_cap():
    p = configured_policy("open_innovation")
    m = park(p, months=7, warmup=3)
    p.collect(m, m.government)  # what the fund distributed since the policy's own collection this month
    (idx, (paid, _, got_before, since)), *_ = p._lp.items()  # got_before: its share of distributions so far
    cvc = m.market.investors[idx]
    assert paid > 0 and since == 0
    share = paid / cvc.committed
    cvc.proceeds += 0.1 * cvc.committed  # below the cap: its share of it
    received = p.received
    p.collect(m, m.government)
    assert p.received - received == pytest.approx(share * 0.1 * cvc.committed)
    cvc.proceeds += 100 * cvc.committed  # far above: up to what it paid in grown at 5 % a year, in all
    p.collect(m, m.government)
    assert p.received - received == pytest.approx(paid * 1.05 ** (m.current_step / 12) - got_before)


def test_open_innovation_matches_cvc_commitments_stretches_procurement_and_copays_incumbents_purchases():
    p = configured_policy("open_innovation")
    m = park(p, months=3, warmup=3)  # the match and the stretch of the year are set in January
    incs = list(m.incumbents)
    match = 0.1 * sum(inc.cvc_commitment for inc in incs)
    budget = 1000.0 * SCALE
    assert 0 < match < budget and p.matched == pytest.approx(match)
    own = sum(inc.proc_budget for inc in incs)
    stretch = min(1.0 / (1.0 - 0.15), 1.0 + (budget - match) / own)
    assert own > 0 and m.levers.value("procurement_multiplier") == pytest.approx(stretch)
    due = sum(m.contracts.due(INCUMBENT, inc.index) for inc in incs)
    copaid, spent = p.copaid, p.spent
    step_policy_alone(m, p)
    assert due > 0 and p.copaid - copaid == pytest.approx(min(0.15 * due, budget - spent))
    assert p.spent - spent == pytest.approx(p.copaid - copaid)


def test_rd_tax_credit_pays_the_tax_saved_by_the_higher_deduction_and_lowers_the_user_cost_of_rd():
    p = configured_policy("rd_tax_credit")
    m = park(p, warmup=3, scale=0.05)
    pop, r = m.population, m.cfg.ecosystem.rd
    rd, taxable, cash = pop["rd_last"].copy(), pop["taxable"].copy(), pop["cash"].copy()
    room, paid_before = p.room(m, m.government), p.relief_paid
    step_policy_alone(m, p)
    # 25 % of the extra deduction (100 % instead of 75 % of R&D), within the profit left to deduct it from
    relief = np.where((rd > 0) & (taxable > 0),
                      0.25 * np.minimum(0.25 * rd, np.maximum(taxable - 0.75 * rd, 0.0)), 0.0)
    assert (r.tax_rate, r.deduction_rate) == (0.25, 0.75) and relief.sum() > 0 and room > 0
    cut = min(1.0, room / relief.sum())
    np.testing.assert_allclose(pop["cash"] - cash, relief * cut, rtol=1e-9, atol=1e-12)
    assert paid_before > 0 and p.relief_paid - paid_before == pytest.approx(relief.sum() * cut)
    # firms respond to the deduction they get: 0.75 + 0.25 x the share of the claims paid
    user_cost = (1 - 0.25 * (1 + 0.75 + 0.25 * cut)) / (1 - 0.25 * 1.75)
    np.testing.assert_allclose(m.levers.track("rd_user_cost"), np.where(m.tracks["active"], user_cost, 1.0))


# ------------------------------------------------------------------------------ pace, order and later stages


def _procurement_choice(m, p):
    """The qualified suppliers of public procurement this month, in the order it signs them, worked out
    from its documented rule: a free firm with a product on sale in the target directions whose quality
    plus ``contracts.evaluation_noise`` times its own keyed normal draw (slot 8) reaches ``qualification_sd``,
    in the order of its keyed uniform draw (slot 10)."""
    pop, cc = m.population, m.cfg.ecosystem.contracts
    pool = np.flatnonzero((pop["revenue"] >= cc.min_revenue_mcny) & (pop["contract_revenue"] <= 1e-9))
    pool = pool[directions_mask(m, ["科技", "产业"])[pop["track"][pool]]]
    draws = m.streams.keyed(p.stream_name)
    step = m.current_step
    score = pop["quality"][pool] + cc.evaluation_noise * draws.normal(pop["key"][pool], step, 8)
    rows = pool[score >= 1.0]
    return rows[np.argsort(draws.uniform(pop["key"][rows], step, 10), kind="stable")], draws


def test_public_procurement_signs_its_qualified_suppliers_in_their_keyed_order_within_its_pace_and_cap():
    p = configured_policy("public_procurement")
    m = park(p, months=2, warmup=3, scale=0.05)
    pop, c = m.population, m.contracts.contracts
    step = m.current_step
    order, draws = _procurement_choice(m, p)
    running = int((c["open"] & (c["buyer_kind"] == GOVERNMENT) & (c["buyer"] == p.buyer)).sum())
    limit = 0.8 * 500.0 * 0.05  # purchase_share of the budget, a year of contracts
    assert running > 0 and order.size > 8
    # its typical contract: the mean of those signed recently, weighed by recency, even before a second one
    # (a weight of 0.9 here); its room is full (the whole limit), so the cap of the running contracts binds:
    # limit - running x typical, counted in typical contracts, the fraction a chance of one more
    typical = 3.0
    p._recent = np.array([0.9 * typical, 0.9])
    p._room = 100.0
    n_before = c.n
    places = (limit - running * typical) / typical
    n = int(places)
    n += int(draws.uniform(pop["key"][order[n : n + 1]], step, 11)[0] < places - n)
    assert 0 < n < order.size
    p._purchase(m)
    new = np.arange(n_before, c.n)
    np.testing.assert_array_equal(c["firm"][new], pop["id"][order[:n]])
    np.testing.assert_allclose(c["value"][new], np.minimum(0.5 * pop["revenue"][order[:n]], 50.0), rtol=1e-12)
    assert (c["end"][new] - c["start"][new] == 24).all() and (c["buyer_kind"][new] == GOVERNMENT).all()
    # the room it had (the limit) less the typical contracts it signed
    assert p._room == pytest.approx(limit - n * typical)
    # a typical contract so small that its places exceed the qualified suppliers left: it signs all of them
    rest = order[n:]
    p._recent = np.array([0.009, 0.9])
    p._room = 100.0
    n_before = c.n
    p._purchase(m)
    np.testing.assert_array_equal(c["firm"][n_before:c.n], pop["id"][rest])
    assert p._room == pytest.approx(limit - rest.size * 0.01)


def test_public_procurement_insures_a_firms_first_unit_once_even_when_its_first_year_is_over():
    p = configured_policy("public_procurement")
    m = park(p, months=4, warmup=3, scale=0.05)
    pop = m.population
    old = p.insured.copy()
    rows = pop.row_of[old]
    rows = rows[(rows >= 0)]
    rows = rows[pop["revenue"][rows] >= m.cfg.ecosystem.contracts.min_revenue_mcny]
    assert rows.size >= 2
    # their insured year over (no running contract) and the best firms of the park by far: still not insured
    pop["contract_revenue"][rows] = 0.0
    pop["quality"][rows] = 50.0
    premiums = p.premiums
    p._first_units(m, m.government)
    new = p.insured[old.size:]
    assert new.size > 0 and not np.isin(new, old).any()
    assert p.premiums > premiums


def test_incubator_chain_graduates_teams_with_traction_into_incubators_that_take_the_best_of_them():
    p = configured_policy("incubator_chain", selection_noise=0.0)  # the incubators see quality as it is
    m = park(p, months=2, scale=0.05)
    pop, step = m.population, m.current_step
    at_desk = np.flatnonzero((p.stage == 0) & (pop.row_of[p.ids] >= 0))
    assert at_desk.size >= 15
    # the desks of these teams end this month; a third has a revenue run rate of 0.5 mcny a year or more,
    # a third an equity round, a third neither
    p.since[at_desk] = step - 12
    rows = pop.row_of[p.ids[at_desk]]
    selling, funded, neither = np.array_split(rows, 3)
    pop["revenue"][selling], pop["rounds"][selling] = 0.6, 0
    pop["revenue"][funded], pop["rounds"][funded] = 0.1, 1
    pop["revenue"][neither], pop["rounds"][neither] = 0.1, 0
    graduates = np.concatenate([selling, funded])
    pop["quality"][graduates] = np.linspace(3.0, 1.0, graduates.size)  # the teams with revenue first
    # 131 incubators x 10 firms a year at scale 1: 5.46 a month here, carried from a half; the first two months
    # found no graduate and gave one place back each (Policy.unfilled): 0.5 + 5.46 = 5.96 gave 5, 0.96 + 1 + 5.46
    # = 7.42 gave 7, and 0.42 + 1 + 5.46 = 6.88 gives 6 this month
    x = 131 * 10 * 0.05 * DT
    places = math.floor(0.5 + 3 * x - 5 - 7 + 2)
    assert places == 6 and graduates.size > places
    best = pop["id"][graduates[:places]]
    closure, growth = pop["support_closure"].copy(), pop["support_growth"].copy()
    # this month's new teams at the desks: the month's independent and spin-off founders, first come (their
    # keyed uniform draw, slot 1), 228 x 20 a year at scale 1 (19 a month here)
    new = np.flatnonzero((pop["born"] == step - 1) & np.isin(pop["origin"], [INDEPENDENT, SPINOFF]))
    u = m.streams.keyed(p.stream_name).uniform(pop["key"][new], step, 1)
    desks = whole_places(228 * 20 * 0.05 * DT, 3) - whole_places(228 * 20 * 0.05 * DT, 2)
    assert new.size > desks == 19
    first_come = pop["id"][new[np.argsort(u, kind="stable")[:desks]]]
    step_policy_alone(m, p)
    incubated = p.ids[p.stage == 1]
    np.testing.assert_array_equal(np.sort(incubated), np.sort(best))
    assert p.admitted[1] == places and (p.since[p.stage == 1] == step).all()
    r = pop.row_of[best]
    # in the incubator: the closure hazard times 1 - 0.5, 0.1 a year of extra growth, for two years
    np.testing.assert_allclose(pop["support_closure"][r] / closure[r], 0.5)
    np.testing.assert_allclose(pop["support_growth"][r] - growth[r], 0.1)
    # the teams whose desk ended leave the desks; those without traction leave the chain
    assert not np.isin(pop["id"][neither], p.ids).any()
    np.testing.assert_array_equal(np.sort(p.ids[(p.stage == 0) & (p.since == step)]), np.sort(first_come))


def test_rd_grants_take_on_new_grantees_only_as_far_as_the_rest_of_the_years_budget_pays_them():
    p = configured_policy("rd_grants")
    m = park(p, months=2, scale=0.05)
    pop, step = m.population, m.current_step
    month = step % 12
    grantees = pop.row_of[p.ids]
    assert p.ids.size >= 2 and (grantees >= 0).all()
    p.started[0] = step - 23  # the first grantee is in the last month of its two years
    # what the grantees are expected to draw in the rest of the year: 66 % of last month's R&D a month, for the
    # months left of the year and of their term, within what is left of their cap of 5.32
    left = 24 - (step - p.started)
    months = np.minimum(12 - month, left)
    promised = np.minimum(5.32 - p.paid, 0.66 * pop["rd_last"][grantees] * months).clip(min=0).sum()
    assert left[0] == 1 and promised > 0
    # candidates (best first): 66 % of their R&D raised by their response to the grant (1 / (1 - 0.66) at an
    # elasticity of 1), for the months after this one, within the cap
    cands = np.flatnonzero((pop["rd_last"] > 0) & ~np.isin(pop["id"], p.ids))[:6]
    want = np.minimum(5.32, 0.66 * pop["rd_last"][cands] / (1 - 0.66) * (11 - month))
    assert cands.size == 6 and (want < 5.32).all()
    need = promised + np.cumsum(want)[2]  # what three new grantees need

    def affordable(room):
        p.budget_mcny_per_year = (p.spent_this_year + room) / 0.05
        assert p.room(m, m.government) == pytest.approx(room, rel=1e-12)
        return p._affordable(m, m.government, cands)

    assert affordable(need * (1 + 1e-9)) == 3
    assert affordable(need * (1 - 1e-9)) == 2
    # a programme without grantees promises nothing
    p.ids, p.started, p.paid = p.ids[:0], p.started[:0], p.paid[:0]
    assert affordable(np.cumsum(want)[2] * (1 + 1e-9)) == 3
    assert affordable(np.cumsum(want)[2] * (1 - 1e-9)) == 2


def test_rd_tax_credit_response_follows_the_share_of_the_claims_paid_and_a_month_without_claims_or_money():
    p = configured_policy("rd_tax_credit")
    m = park(p, warmup=3, scale=0.05)
    pop = m.population
    rd, taxable, cash = pop["rd_last"].copy(), pop["taxable"].copy(), pop["cash"].copy()
    relief = np.where((rd > 0) & (taxable > 0),
                      0.25 * np.minimum(0.25 * rd, np.maximum(taxable - 0.75 * rd, 0.0)), 0.0)
    assert relief.sum() > 0
    p.budget_mcny_per_year = (p.spent_this_year + 0.4 * relief.sum()) / 0.05  # the year's budget pays 40 % of them
    step_policy_alone(m, p)
    np.testing.assert_allclose(pop["cash"] - cash, 0.4 * relief, rtol=1e-9, atol=1e-12)
    active = m.tracks["active"]

    def user_cost(extra):  # the user cost of R&D at this extra deduction against the preset's 75 %
        return np.where(active, (1 - 0.25 * (1 + extra)) / (1 - 0.25 * 1.75), 1.0)

    # firms respond to the deduction they get: 0.75 + 0.25 x 0.4
    np.testing.assert_allclose(m.levers.track("rd_user_cost"), user_cost(0.75 + 0.25 * 0.4))
    # the budget spent, claims get nothing: the preset's deduction
    step_policy_alone(m, p)
    np.testing.assert_allclose(m.levers.track("rd_user_cost"), 1.0)
    # a month without claims (no firm has taxable profit): the full rate while there is money, none without
    pop["taxable"][:] = 0.0
    step_policy_alone(m, p)
    np.testing.assert_allclose(m.levers.track("rd_user_cost"), 1.0)
    p.budget_mcny_per_year *= 2
    step_policy_alone(m, p)
    np.testing.assert_allclose(m.levers.track("rd_user_cost"), user_cost(1.0))


def test_ocs_pays_an_academic_project_through_its_last_month_and_no_consortium_money_without_research_or_budget():
    p = configured_policy("ocs_programmes", projects_per_year=0.0)
    m = park(p, months=3, scale=0.05)
    step, gov = m.current_step, m.government
    active = m.tracks["active"].copy()
    # projects whose last month was the month before, is this month, and is five months on
    p.projects_until = [step - 1, step, step + 5]
    spent = p.spent
    p._academic_projects(m, gov, active)
    assert p.projects_until == [step, step + 5]
    assert p.spent - spent == pytest.approx(0.875 / 15 * 2)
    # no institute does research in the members' tracks: the members get their grants, the institutes nothing
    pop = m.population
    rows = pop.row_of[p.ids]
    members = (rows >= 0) & (p.joined < step)
    assert members.any()
    want = np.minimum(0.66 * pop["rd_last"][rows[members]], 2.0 - p.paid_year[members]).sum()
    spent = p.spent
    m.institutes.fundable = lambda tracks=None: False
    p._pay_consortia(m, gov, active)
    assert want > 0 and p.spent - spent == pytest.approx(want, rel=1e-9)
    del m.institutes.fundable
    # a month in which every member joined this month and the year's money is spent: they do R&D without a grant
    p.joined[:] = step
    p.budget_mcny_per_year = p.spent_this_year / 0.05
    assert p.room(m, gov) == 0
    p._pay_consortia(m, gov, active)
    np.testing.assert_allclose(pop["support_rd"][rows[rows >= 0]], 1.0)


def test_talent_programme_pays_the_rent_for_its_whole_term_and_covers_at_most_every_returnee():
    p = configured_policy("talent_programme", returnee_firms_per_year=1e6, returnee_support_years=3.0)
    m = park(p)
    # more places than returnee founders: every one of them counts on 0.3 a year of rent for 3 years
    assert m.levers.value("returnee_cost_cut") == pytest.approx(1.0 * 0.3 * 3.0)


def test_scene_opening_ends_a_scenes_entry_bonus_with_its_last_month_and_ranks_applicants_by_their_growth():
    p = configured_policy("scene_opening", capacity=100, selection_noise=0.0)  # 5 firms a scene at this scale
    m = park(p, scale=0.05)
    pop, step = m.population, m.current_step
    # equal quality: the government ranks the applicants by their growth over the last 12 months
    pop["quality"][:] = 0.0
    pop["growth_12m"][:] = np.random.default_rng(0).uniform(-1.9, 1.9, pop.n)
    busy = p.support.ids.copy()
    logged = len(p.scene_log)
    # a scene whose last month was the month before this one, in a track no new scene can draw (its weight
    # in the draw, market times heat among the targeted tracks, is 0: an ended track), so its bonus can only end
    tr = m.tracks
    weight = np.where(p.target_track_mask(m), tr["market"] * np.maximum(tr["heat"], 1e-6), 0.0)
    t_old = int(np.flatnonzero(weight <= 0)[0])
    p.scenes = [(t_old, step)]
    step_policy_alone(m, p)
    scene = p.scene_log[logged]
    t, n = scene["track_id"], scene["firms"]
    rows = np.flatnonzero((pop["track"] == t) & (step - pop["born"] >= 6) & ~np.isin(pop["id"], busy))
    assert 0 < n < rows.size
    best = rows[np.argsort(-pop["growth_12m"][rows], kind="stable")[:n]]
    np.testing.assert_array_equal(np.sort(p.support.ids[busy.size : busy.size + n]), np.sort(pop["id"][best]))
    bonus = m.levers.track("entry_bonus")
    assert t_old not in {s["track_id"] for s in p.scene_log[logged:]} and bonus[t_old] == 1.0
    assert bonus[t] == pytest.approx(1.2)


def test_targeted_support_supports_no_firm_once_its_budget_is_spent():
    q = configured_policy("targeted_support", budget_mcny_per_year=10.0)  # 1.0 a year at this scale
    m = park(q, months=1, scale=0.1)
    # 3.33 firms a month at this scale: the first month's grants of 0.5, cut pro rata, take the year's budget
    ids = q.supported()
    assert q.spent == pytest.approx(1.0) and ids.size == whole_places(400 * 0.1 * DT, 1) == 3
    while m.current_step < 3:
        m.step()
    pop = m.population
    np.testing.assert_array_equal(q.supported(), ids)
    rows = pop.row_of[ids]
    np.testing.assert_allclose(pop["support_growth"][rows[rows >= 0]], 0.15)
    others = np.setdiff1d(np.arange(pop.n), rows)
    np.testing.assert_allclose(pop["support_growth"][others], 0.0)


def test_state_incubator_collects_no_royalty_for_a_success_that_died():
    p = configured_policy("state_incubator")
    m = park(p, months=2, scale=0.05)
    pop = m.population
    dead = np.setdiff1d(np.arange(pop.n_ever), pop["id"])[0]
    assert pop.row_of[dead] < 0
    p.status[:] = 2  # judged failures: they owe nothing
    p.ids[0], p.status[0], p.due[0] = dead, 1, 1.0  # a success that owes 1.0, since dead
    pop["revenue"][-1], pop["cash"][-1] = 100.0, 10.0
    cash, received = pop["cash"].copy(), p.received
    p.collect(m, m.government)
    np.testing.assert_array_equal(pop["cash"], cash)
    assert p.received == received and p.due[0] == 1.0


def test_entry_subsidy_for_spinoffs_cuts_their_cost_of_founding_by_its_coverage_of_them():
    p = configured_policy("entry_subsidy", target_origins=["spinoff"])
    m = park(p)
    f = m.cfg.ecosystem.firms
    want = 0.02 * min(1.0, 50_000.0 / (f.births_per_year * f.spinoff_share)) + 0.01
    assert {o: m.levers.value("founding_cost_cut", o) for o in ORIGINS} == pytest.approx(
        {"independent": 0.0, "spinoff": want, "alumni": 0.0})


def test_tech_transfer_reform_without_brokers_pays_none():
    p = configured_policy("tech_transfer_reform", brokers_per_1000_researchers=0.0)
    m = park(p)
    assert p.brokers == 0.0 and m.levers.value("transfer_brokers") == 0.0 and p.spent == 0.0
    assert m.levers.value("rank_retention") == pytest.approx(0.3)


def test_credit_relaxation_risk_pool_lends_within_a_quota_under_one_mcny():
    p = configured_policy("credit_relaxation", venture_debt_ratio=0.0)
    m = park(p, warmup=3, months=2, scale=0.02)
    pop = m.population
    owed = pop["debt"][pop.row_of[p.backed_ids]].sum()
    p.pool = (owed + 0.9) / 10.0  # 0.9 mcny left under the quota of 10 times the pool
    loans, ids = p.pool_loans, p.backed_ids.copy()
    p._pool_lending(m, m.current_step)
    new = np.setdiff1d(p.backed_ids, ids)
    assert p.pool_loans > loans and new.size == p.pool_loans - loans
    assert 0 < pop["debt"][pop.row_of[new]].sum() <= 0.9


def test_fund_of_funds_carries_nothing_over_once_the_governments_budget_ran_out():
    p = configured_policy("fund_of_funds")
    m = park(p)
    gov = m.government
    funds, spent = len(p.funds), p.spent
    gov.spent_this_year = gov.budget_per_year - 0.5  # 0.5 left: less than the government's 3.0 of a fund
    p._carry = 2.0
    p._raise_funds(m, gov)
    assert len(p.funds) == funds and p._carry == 0.0 and p.spent - spent == pytest.approx(0.5)


def test_guidance_fund_pays_its_proceeds_to_the_treasury():
    p = configured_policy("guidance_fund")
    m = park(p, months=2)
    p.fund.proceeds += 4.0
    received = m.government.received_by_policy[p.name]
    p.collect(m, m.government)
    assert p.received == pytest.approx(4.0) and m.government.received_by_policy[p.name] - received == pytest.approx(4.0)
    p.collect(m, m.government)  # the same proceeds are not paid twice
    assert p.received == pytest.approx(4.0)


def test_open_innovation_matches_commitments_under_one_mcny():
    p = configured_policy("open_innovation")
    m = park(p, warmup=3)
    incs = list(m.incumbents)
    top = max(inc.cvc_commitment for inc in incs)
    p.cvc_match = 0.5 / top  # every incumbent's match under 0.5 mcny
    matched = p.matched
    p._new_year(m, m.government, incs)
    assert p.matched - matched == pytest.approx(0.5 / top * sum(inc.cvc_commitment for inc in incs)) and top > 0


# ------------------------------------------------------------------------------ programme figures (summary.json)
# A policy's stats() are its figures in summary.json (policies.<name>), by name; each value is worked out here
# from the model's own records (the deal log, the lots, the firms' R&D and profits, the incumbents).


def test_credit_relaxation_figures_count_its_venture_loans_and_what_they_lent_and_an_idle_risk_pool():
    # the banks' own lending all but off (their chance of lending to a firm times 1e-6) and no risk pool: every
    # bank loan of the observed months is a venture loan, three tenths of its firm's VC money (rounds A-C) of
    # the month before
    p = configured_policy("credit_relaxation", risk_pool_mcny=0.0, apply_multiplier=1e-6)
    m = park(p, months=6, scale=0.03)
    d = m.market.deals
    vc = np.array([m.market.investors[j].kind == "vc" for j in d["investor"]], dtype=bool)
    loans = np.flatnonzero((d["round"] == LOAN_ROUND) & (d["step"] >= 0))
    for i in loans:
        prev = (d["firm"] == d["firm"][i]) & (d["step"] == d["step"][i] - 1) & (d["round"] >= 1) & (d["round"] <= 3)
        assert d["amount"][i] == pytest.approx(0.3 * d["amount"][prev & vc].sum())
    assert loans.size > 5
    assert p.stats() == pytest.approx({
        "venture_loans": loans.size, "venture_lent_mcny": d["amount"][loans].sum(), "risk_pool_paid_mcny": 0.0,
        "risk_pool_left_mcny": 0.0, "risk_pool_loans": 0, "risk_pool_lent_mcny": 0.0})


def test_fund_of_funds_figures_count_its_funds_what_it_committed_their_capital_and_what_they_invested():
    p = configured_policy("fund_of_funds")
    m = park(p, months=6)
    size = 1000.0 * SCALE
    d = m.market.deals
    invested = d["amount"][np.isin(d["investor"], [f.index for f in p.funds])].sum()  # the backed funds' deals
    assert invested > 0
    # three funds of 1,000 (at scale 1), the government's 30 % of each paid when they were raised in month 0
    assert p.stats() == pytest.approx({"funds_backed": 3, "committed_mcny": 3 * 0.3 * size,
                                       "backed_fund_capital_mcny": 3 * size, "backed_funds_invested_mcny": invested})


def test_guidance_fund_figures_are_what_was_paid_in_what_its_fund_invested_and_what_it_got_back():
    p = configured_policy("guidance_fund")
    # a world whose fund got money back within its first three years, none of it above its return cap
    # (seed 3 until 2026-12-05, then seed 5; seed 8 once only some firms do R&D)
    m = park(p, months=35, scale=0.05, seed=8)
    f, d, lots = p.fund, m.market.deals, m.market.lots
    invested = d["amount"][d["investor"] == f.index].sum()
    mine = lots["investor"] == f.index
    proceeds = lots["proceeds"][mine].sum()
    # its lots got back less than they cost: nothing above its return cap to cede to the co-investing VC
    assert invested > 0 and 0 < proceeds < lots["invested"][mine].sum()
    # three tranches in three Januaries: 5,000 (at scale 1) over five years
    assert p.stats() == pytest.approx({"paid_in_mcny": 3 * 5000.0 * 0.05 / 5, "invested_mcny": invested,
                                       "proceeds_mcny": proceeds, "ceded_to_vc_mcny": 0.0})


def test_what_a_fund_gets_back_in_the_last_month_reaches_the_governments_books_in_that_year():
    """An exit in the last month comes after that month's policies phase (a long-tier world, seed 8 at scale
    0.1, had one: 12.96 mcny the books missed). After the last step the government books it, in the last
    observed year: what the policy received is then all its fund got back."""
    p = configured_policy("guidance_fund")
    m = park(p, months=36, scale=0.05, seed=8)  # the three observed years, not yet finished
    assert m.current_step == m.end_step
    before, last_year = p.received, m.year_of(m.end_step - 1)
    booked = p.accounts.get(last_year, [0.0, 0.0, 0.0])[1]
    p.fund.proceeds += 5.0  # what an exit after the policies phase of the last month pays the fund
    m.finish()
    assert p.received == pytest.approx(before + 5.0) and p.received == pytest.approx(p.fund.proceeds)
    assert p.accounts[last_year][1] == pytest.approx(booked + 5.0)
    assert max(p.accounts) == last_year  # no year after the window


def test_open_innovation_figures_start_at_nothing_and_are_its_match_and_its_copayments():
    p = configured_policy("open_innovation")
    m = park(p, months=0, warmup=3)  # the observed window begins: the programme has not acted yet
    assert p.stats() == {"copaid_mcny": 0.0, "cvc_matched_mcny": 0.0}
    incs = list(m.incumbents)
    match = 0.1 * sum(inc.cvc_commitment for inc in incs)
    due = sum(m.contracts.due(INCUMBENT, inc.index) for inc in incs)
    step_policy_alone(m, p)  # its first month, a January: the match first, then 15 % of what is due, within budget
    assert match > 0 and due > 0
    assert p.stats() == pytest.approx({"copaid_mcny": min(0.15 * due, 1000.0 * SCALE - match),
                                       "cvc_matched_mcny": match})


def test_rd_tax_credit_figures_are_the_relief_claimed_and_paid_and_the_rd_that_qualified():
    p = configured_policy("rd_tax_credit", budget_mcny_per_year=2.0)  # 0.1 a year here: less than the claims
    m = park(p, months=0, warmup=3, scale=0.05)
    assert p.stats() == {"relief_paid_mcny": 0.0, "relief_claimed_mcny": 0.0, "qualifying_rd_mcny": 0.0}
    pop = m.population
    rd, taxable = pop["rd_last"].copy(), pop["taxable"].copy()
    step_policy_alone(m, p)
    # claimed: 25 % of the extra deduction (100 % instead of 75 % of R&D), within the profit left to deduct it
    # from; paid: the year's whole budget, the claims cut pro rata; qualifying: the R&D of the firms with a claim
    relief = np.where((rd > 0) & (taxable > 0), 0.25 * np.minimum(0.25 * rd, np.maximum(taxable - 0.75 * rd, 0.0)), 0.0)
    assert relief.sum() > 2.0 * 0.05 and 0 < (relief > 0).sum() < (rd > 0).sum()
    assert p.stats() == pytest.approx({"relief_paid_mcny": 2.0 * 0.05, "relief_claimed_mcny": relief.sum(),
                                       "qualifying_rd_mcny": rd[relief > 0].sum()})


# ------------------------------------------------------------------------------ configuration ranges

#: The range of every numeric parameter of every kind (the key under ``policy.<name>``): (lower bound
#: kind, lower bound, upper bound kind, upper bound, unit). "ge"/"le" include the bound, "gt"/"lt" exclude
#: it. "policy": the parameters every kind has. A share of money or of firms is in [0, 1], a duration
#: positive, a multiplier of a lever in (0, 100]; an amount, a count or a capacity cannot be negative.
RANGES: dict[str, dict[str, tuple]] = {
    "policy": {
        "budget_mcny_per_year": ("ge", 0, None, None, "mcny/yr at scale 1"),
        "patience_years": ("ge", 0, None, None, "years"),
    },
    "guidance_fund": {
        "fund_size_mcny": ("ge", 0, None, None, "mcny at scale 1"),
        "paid_in_years": ("gt", 0, "le", 30, "years"),
        "coinvest_ratio": ("gt", 0, "le", 5, "x"),
        "return_cap": ("ge", 0, "le", 1, "1/yr"),
        "life_years": ("gt", 0, "le", 30, "years"),
    },
    "fund_of_funds": {
        "fund_size_mcny": ("gt", 0, None, None, "mcny at scale 1"),
        "lp_share": ("gt", 0, "le", 1, "share"),
        "private_additionality": ("ge", 0, "le", 1, "share"),
        "mandate_share": ("ge", 0, "le", 1, "share"),
        "early_share": ("ge", 0, "le", 1, "share"),
        "return_cap": ("ge", 0, "le", 1, "1/yr"),
    },
    "credit_relaxation": {
        "apply_multiplier": ("gt", 0, "le", 100, ""),
        "loan_size_multiplier": ("gt", 0, "le", 100, ""),
        "interest_subsidy_share": ("ge", 0, "le", 1, "share"),
        "venture_debt_ratio": ("ge", 0, "le", 5, "x"),
        "risk_pool_mcny": ("ge", 0, None, None, "mcny at scale 1"),
        "pool_leverage": ("ge", 0, "le", 50, "x"),
        "pool_min_revenue_mcny": ("ge", 0, None, None, "mcny/yr"),
        "loss_cover_share": ("ge", 0, "le", 1, "share"),
    },
    "exit_channels": {
        "listing_relief": ("ge", 0, "lt", 1, "share"),
        "ipo_rate_multiplier": ("gt", 0, "le", 100, ""),
        "acquisition_multiplier": ("gt", 0, "le", 100, ""),
    },
    "long_term_capital": {
        "extra_commitment_share": ("ge", 0, "le", 5, "share"),
        "fund_life_multiplier": ("gt", 0, "le", 100, ""),
        "tax_incentive_rate": ("ge", 0, "le", 1, "share"),
    },
    "public_procurement": {
        "purchase_share": ("ge", 0, "le", 1, "share"),
        "contract_years": ("gt", 0, "le", 20, "years"),
        "qualification_sd": ("ge", -5, "le", 5, "sd"),
        "first_units_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "first_unit_value_share": ("gt", 0, "le", 10, "share"),
        "premium_rate": ("ge", 0, "le", 1, "share"),
        "premium_subsidy_share": ("ge", 0, "le", 1, "share"),
    },
    "open_innovation": {
        "copay_share": ("ge", 0, "lt", 1, "share"),
        "cvc_match": ("ge", 0, "le", 5, "x"),
        "return_cap": ("ge", 0, "le", 1, "1/yr"),
    },
    "state_incubator": {
        "capacity_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "grant_mcny": ("ge", 0, None, None, "mcny"),
        "incubation_years": ("gt", 0, "le", 10, "years"),
        "closure_relief": ("ge", 0, "lt", 1, "share"),
        "growth_support": ("ge", 0, "le", 2, "1/yr"),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
        "success_revenue_mcny": ("ge", 0, None, None, "mcny/yr"),
        "royalty_rate": ("ge", 0, "le", 1, "share of revenue"),
        "repayment_interest": ("ge", 0, "le", 1, "1/yr"),
    },
    "rd_grants": {
        "capacity_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "grant_share": ("gt", 0, "lt", 1, "share"),
        "cap_mcny": ("ge", 0, None, None, "mcny"),
        "duration_years": ("gt", 0, "le", 10, "years"),
        "min_employees": ("ge", 0, None, None, "employees"),
        "min_tech_intensity": ("ge", 0, "le", 1, ""),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
    },
    "proof_of_concept": {
        "capacity_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "poc_grant_mcny": ("ge", 0, None, None, "mcny"),
        "pilot_years": ("gt", 0, "le", 10, "years"),
        "closure_relief": ("ge", 0, "lt", 1, "share"),
        "growth_support": ("ge", 0, "le", 2, "1/yr"),
    },
    "stage_cultivation": {
        "gazelle_grant_mcny": ("ge", 0, None, None, "mcny"),
        "potential_unicorn_valuation_mcny": ("gt", 0, None, None, "mcny"),
        "potential_unicorn_max_age_years": ("gt", 0, "le", 30, "years"),
        "potential_unicorn_grant_mcny": ("ge", 0, None, None, "mcny"),
        "screen_relief": ("ge", 0, "le", 5, "sd"),
        "support_years": ("gt", 0, "le", 10, "years"),
        "payment_lag_months": ("ge", 0, "le", 60, "months"),
    },
    "entry_subsidy": {
        "subsidy_mcny": ("ge", 0, None, None, "mcny"),
        "capacity_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "registration_cost_cut_mcny": ("ge", 0, None, None, "mcny"),
    },
    "incubator_chain": {
        "maker_spaces": ("ge", 0, None, None, ""),
        "teams_per_maker_space": ("ge", 0, None, None, ""),
        "incubators": ("ge", 0, None, None, ""),
        "firms_per_incubator": ("ge", 0, None, None, ""),
        "accelerators": ("ge", 0, None, None, ""),
        "firms_per_accelerator": ("ge", 0, None, None, ""),
        "desk_cost_mcny_per_year": ("ge", 0, None, None, ""),
        "graduation_revenue_mcny": ("ge", 0, None, None, ""),
        "incubator_cost_mcny_per_year": ("ge", 0, None, None, ""),
        "acceleration_revenue_mcny": ("ge", 0, None, None, ""),
        "accelerator_cost_mcny_per_year": ("ge", 0, None, None, ""),
        "maker_closure_relief": ("ge", 0, "lt", 1, "share"),
        "incubator_closure_relief": ("ge", 0, "lt", 1, "share"),
        "incubator_growth_support": ("ge", 0, "le", 2, "1/yr"),
        "accelerator_growth_support": ("ge", 0, "le", 2, "1/yr"),
        "maker_space_months": ("ge", 1, "le", 120, "months"),
        "accelerator_months": ("ge", 1, "le", 120, "months"),
        "incubation_years": ("gt", 0, "le", 10, "years"),
        "accelerator_screen_relief": ("ge", 0, "le", 5, "sd"),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
    },
    "rd_tax_credit": {
        "deduction_rate": ("ge", 0, "le", 1.5, "share"),
    },
    "talent_programme": {
        "returnee_firms_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "returnee_grant_mcny": ("ge", 0, None, None, "mcny"),
        "returnee_rent_mcny_per_year": ("ge", 0, None, None, "mcny/yr"),
        "returnee_support_years": ("ge", 0, "le", 10, "years"),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
        "student_share": ("ge", 0, "le", 1, "share"),
        "student_subsidy_mcny": ("ge", 0, None, None, "mcny"),
    },
    "tech_transfer_reform": {
        "rank_retention_gain": ("ge", -1, "le", 1, "share"),
        "equity_share_gain": ("ge", -1, "le", 1, "share"),
        "brokers_per_1000_researchers": ("ge", 0, "le", 1000, "per 1,000"),
        "broker_cost_mcny_per_year": ("ge", 0, None, None, "mcny/yr"),
    },
    "ocs_programmes": {
        "members_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "consortium_years": ("gt", 0, "le", 10, "years"),
        "firm_grant_share": ("gt", 0, "lt", 1, "share"),
        "firm_grant_cap_mcny_per_year": ("ge", 0, None, None, "mcny/yr"),
        "academic_grant_share": ("ge", 0, "le", 1, "share"),
        "academic_rd_mcny_per_member": ("ge", 0, None, None, "mcny/yr"),
        "min_employees": ("ge", 0, None, None, "employees"),
        "min_tech_intensity": ("ge", 0, "le", 1, ""),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
        "projects_per_year": ("ge", 0, None, None, "projects/yr at scale 1"),
        "project_grant_mcny": ("ge", 0, None, None, "mcny"),
        "project_months": ("ge", 1, "le", 120, "months"),
    },
    "scene_opening": {
        "scenes_per_year": ("ge", 0, "le", 10000, "scenes/yr"),
        "capacity": ("ge", 1, "le", 10000, "firms per scene"),
        "duration_months": ("ge", 1, "le", 240, "months"),
        "cost_per_scene_mcny": ("ge", 0, None, None, "mcny at scale 1"),
        "growth_support": ("ge", 0, "le", 3, "1/yr"),
        "screen_relief": ("ge", 0, "le", 5, "sd"),
        "entry_bonus": ("gt", 0, "le", 100, ""),
        "min_age_months": ("ge", 0, "le", 240, "months"),
        "selection_noise": ("ge", 0, "le", 10, "sd"),
    },
    "track_cultivation": {
        "entry_bonus": ("gt", 0, "le", 100, ""),
        "growth_bonus": ("ge", -1, "le", 1, "1/yr"),
        "young_firm_grant_mcny_per_year": ("ge", 0, None, None, "mcny/yr"),
        "young_age_years": ("gt", 0, "le", 10, "years"),
    },
    "sanctions_shock": {
        "shock_growth": ("ge", -3, "le", 0, "1/yr"),
        "shock_screen": ("ge", 0, "le", 5, "sd"),
        "support_capacity_per_year": ("ge", 0, None, None, "firms/yr at scale 1"),
        "support_grant_mcny": ("ge", 0, None, None, "mcny"),
        "support_closure_relief": ("ge", 0, "lt", 1, "share"),
        "support_growth": ("ge", 0, "le", 3, "1/yr"),
        "support_years": ("gt", 0, "le", 10, "years"),
    },}


def _range_cases():
    for kind, keys in RANGES.items():
        for key in keys:
            for k in REGISTRY if kind == "policy" else [kind]:
                yield pytest.param(k, key, RANGES[kind][key], id=f"{k}.{key}")


@pytest.mark.parametrize("kind, key, spec", list(_range_cases()))
def test_a_value_outside_a_parameters_range_is_refused_with_one_line_naming_the_key_and_the_range(kind, key, spec):
    lo_op, lo, hi_op, hi, unit = spec
    cls = REGISTRY[kind]
    name = cls().name
    step = 1 if isinstance(getattr(cls(), key), int) and not isinstance(getattr(cls(), key), bool) else 1e-3
    allowed = [f">= {lo}" if lo_op == "ge" else f"> {lo}"]
    if hi_op is not None:
        allowed.append(f"<= {hi}" if hi_op == "le" else f"< {hi}")
    tail = " and ".join(allowed) + (f" ({unit})" if unit else "")

    def refused(value):
        with pytest.raises(ConfigError) as err:
            policy_from_dict({"kind": kind, key: value})
        assert str(err.value) == f"policy.{name}.{key}={value!r} is out of range; use a value {tail}."

    def accepted(value):
        assert getattr(policy_from_dict({"kind": kind, key: value}), key) == value

    refused(lo - step)
    (accepted if lo_op == "ge" else refused)(lo)
    accepted(lo + step)
    if hi_op is not None:
        refused(hi + step)
        (accepted if hi_op == "le" else refused)(hi)
        accepted(hi - step)

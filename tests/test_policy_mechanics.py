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

from sim.config import Config
from sim.core.clock import DT
from sim.core.vocabulary import DIRECTIONS, LOAN_ROUND, ORIGINS, SPINOFF
from sim.model import EcosystemModel
from sim.policies.registry import configured_policy
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


def test_rd_grants_admit_only_the_grantees_the_years_budget_can_pay():
    p = configured_policy("rd_grants", budget_mcny_per_year=10.0)  # 0.5 mcny/yr at scale 0.05
    park(p, months=6, scale=0.05)
    slots = whole_places(400 * 0.05 * DT, 6)
    assert 0 < p.ids.size < slots  # the budget, not the capacity, bounds the programme
    assert p.covered == 1.0 and 0 < p.spent <= 0.5  # every grant it took on was paid in full
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
    m = park(p, warmup=3, months=11, scale=0.1)  # the large members reach the year's cap by December
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
    m = park(p, months=1, warmup=4, scale=0.02)
    pop = m.population
    rows = pop.row_of[p.enrolled]
    r = rows[rows >= 0]
    assert p.enrolled.size > 0 and (p.enrolled_step == 0).all()
    np.testing.assert_allclose(pop["support_screen"][r], -0.3)
    assert (pop["gazelle_flag"][r] | (pop["valuation"][r] >= 350.0)).all()
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

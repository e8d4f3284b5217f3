"""Equity rounds step by step (agents/investors/rounds.py): candidates -> price -> screen ->
allocate -> settle, checked against what each step promises."""

from __future__ import annotations

import copy
import functools
from types import SimpleNamespace

import mesa
import numpy as np
import pytest
from conftest import module_scope

from agents.investors.books import Angel, Bank, GuidanceFund, Investor, VCFund
from agents.investors.matching import SLOT_HARVEST, pick
from agents.investors.rounds import DUST, EquityRounds
from sim.config import Config
from sim.core.clock import DT
from sim.core.rng import KeyedDraws
from sim.model import EcosystemModel


def small_model(seed: int = 5, scale: float = 0.02, warmup: int = 3) -> EcosystemModel:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = scale
    cfg.years = 2
    cfg.ecosystem.warmup_years = warmup
    cfg.output.firm_years = False
    m = EcosystemModel(cfg)
    while m.current_step < 3:
        m.step()
    return m


def before_financing(m: EcosystemModel) -> None:
    """Run this month's phases up to the financing phase (the month is not finished)."""
    m.market.new_month()
    for name, methods in m._phases:
        if name == "financing":
            return
        for method in methods:
            method()


@pytest.fixture(scope=module_scope)
def month():
    """A model in the middle of a month, just before its rounds, and the steps' results."""
    m = small_model()
    before_financing(m)
    r = m.market.rounds
    step = m.current_step
    rows = r.candidates(step)
    priced = r.price(rows, step)
    screened = r.screen(priced.take(np.arange(rows.size)), step)
    return m, step, rows, priced, screened


def test_candidates_are_live_firms_ready_for_a_round(month):
    m, step, rows, _, _ = month
    pop = m.population
    fcfg = m.cfg.ecosystem.funding
    assert rows.size > 20 and np.unique(rows).size == rows.size
    assert (rows >= 0).all() and (rows < pop.n).all()
    assert (step - pop["last_round"][rows] >= fcfg.min_months_between_rounds).all()


def test_price_reaches_the_round_floor_and_the_next_round(month):
    m, _, rows, priced, _ = month
    pop = m.population
    floors = np.asarray(m.cfg.ecosystem.funding.round_floor_mcny)
    assert (priced.pre >= floors[priced.rnd]).all()
    assert (priced.rnd >= np.minimum(pop["rounds"][rows], 4)).all() and (priced.rnd <= 4).all()
    np.testing.assert_array_equal(priced.rows, rows)


def test_a_growing_firms_price_is_its_last_post_money_grown_since_that_round(month):
    """The last-round anchor counts the growth since that round: a firm growing at g a year is priced at
    least its last post-money times exp(anchor * g * months / 12), months since its last round (at most
    12), so a firm raising every six months is not credited a year's growth at each round; a shrinking
    firm is not anchored (down rounds)."""
    m = copy.deepcopy(month[0])
    step, rows = month[1], month[2][:40]
    pop = m.population
    months = np.resize([1, 3, 6, 9, 12, 24], rows.size).astype(float)
    pop["valuation"][rows] = 1e9  # far above what its sales are worth: the anchor decides the price
    pop["last_round"][rows] = step - months
    pop["growth_12m"][rows] = np.where(np.arange(rows.size) % 2 == 0, 0.8, -0.5)
    priced = m.market.rounds.price(rows, step)
    grow = pop["growth_12m"][rows] > 0
    anchor = m.cfg.ecosystem.funding.last_round_anchor
    np.testing.assert_allclose(priced.pre[grow], 1e9 * np.exp(anchor * 0.8 * np.minimum(months[grow], 12) / 12),
                               rtol=1e-12)
    assert (priced.pre[~grow] < 1e8).all()  # priced on its sales


def test_screening_keeps_some_and_sizes_the_round(month):
    m, _, rows, priced, screened = month
    f = m.cfg.ecosystem.funding
    assert 0 < screened.rows.size < rows.size
    assert set(screened.rows.tolist()) <= set(rows.tolist())
    d = screened.amount / (screened.pre + screened.amount)  # the share sold
    factor = np.asarray(f.round_dilution_factor)[screened.rnd]  # later rounds sell less of the firm
    assert (d >= f.dilution_min * factor - 1e-12).all() and (d <= f.dilution_max * factor + 1e-12).all()
    assert np.unique(screened.rnd).size >= 2 and np.unique(factor).size >= 2
    np.testing.assert_allclose(screened.rank, screened.bar - screened.signal)
    # the bar: the round's bar, easier in hot tracks
    base = np.asarray(f.screening_bar)[screened.rnd]
    np.testing.assert_allclose(screened.bar, base - f.heat_bar_elasticity * np.log(screened.heat))


def test_allocation_gives_each_funded_round_a_lead_that_can_pay(month):
    m, step, _, _, screened = month
    investors = m.market.investors
    funded, parts = m.market.rounds.allocate(screened.take(np.arange(screened.rows.size)), step)
    assert parts is not None and funded.rows.size > 0
    assert (funded.lead >= 0).all()
    for lead, rnd in zip(funded.lead, funded.rnd, strict=True):
        agent = investors[lead]
        assert isinstance(agent, (Angel, VCFund)) and not isinstance(agent, GuidanceFund)
        assert (rnd == 0) == isinstance(agent, Angel)  # seed rounds with angels, later rounds with VC funds
    live = (parts.investor >= 0) & (parts.amount > 0)
    assert (parts.deal[live] < funded.rows.size).all()
    per_investor = np.bincount(parts.investor[live], weights=parts.amount[live], minlength=len(investors))
    for i in np.flatnonzero(per_investor):
        assert per_investor[i] <= investors[i].cash * (1 + 1e-9) + 1e-9, investors[i].name
    guidance = np.array([isinstance(investors[i], GuidanceFund) for i in parts.investor[live]], dtype=bool)
    assert ((parts.partner[live] >= 0) == guidance).all()  # a guidance participation names its VC partner


def test_settlement_moves_cash_shares_books_and_ledger():
    m = small_model(seed=8, scale=0.2)  # a month with rounds (at scale 0.02 a month may fund none)
    before_financing(m)
    r = m.market.rounds
    pop = m.population
    step = m.current_step
    app = r.screen(r.price(r.candidates(step), step), step)
    funded, parts = r.allocate(app, step)
    assert parts is not None and funded.rows.size >= 10, "the month must have rounds to settle"
    rows = funded.rows
    cash, shares, raised0 = pop["cash"][rows].copy(), pop["shares"][rows].copy(), pop["raised"][rows].copy()
    n_lots, equity_in = m.market.lots.n, m.ledger.equity_in
    r.settle(funded, parts, step)
    live = (parts.investor >= 0) & (parts.amount > 0)
    raised = np.bincount(parts.deal[live], weights=parts.amount[live], minlength=rows.size)
    np.testing.assert_allclose(pop["cash"][rows] - cash, raised)
    np.testing.assert_allclose(pop["raised"][rows] - raised0, raised)
    np.testing.assert_allclose(pop["valuation"][rows], funded.pre + raised)
    # new shares: the investors own raised / post of the firm after the round
    np.testing.assert_allclose((pop["shares"][rows] - shares) / pop["shares"][rows], raised / (funded.pre + raised))
    assert m.market.lots.n - n_lots == int(live.sum())
    assert m.ledger.equity_in - equity_in == pytest.approx(parts.amount[live].sum())
    assert (pop["last_round"][rows] == step).all()
    # one new lot per participation, open, holding amount / post-money of the firm after the round
    lots, new = m.market.lots, np.arange(n_lots, n_lots + int(live.sum()))
    deal = parts.deal[live]
    np.testing.assert_array_equal(lots["investor"][new], parts.investor[live])
    np.testing.assert_array_equal(lots["firm"][new], pop["id"][rows][deal])
    np.testing.assert_array_equal(lots["invested"][new], parts.amount[live])
    np.testing.assert_allclose(lots["shares"][new] / pop["shares"][rows][deal],
                               parts.amount[live] / (funded.pre + raised)[deal])
    assert (lots["step"][new] == step).all() and (lots["status"][new] == 0).all()
    assert (lots["proceeds"][new] == 0).all() and (lots["residual"][new] == 0).all()  # nothing paid, nothing marked


def test_the_five_steps_are_the_financing_phase():
    """Running the steps one by one leaves the model exactly as EquityRounds.step does."""
    # scale 0.2: a month with some funded rounds (18 at seed 8; at 0.02 a month may fund none)
    a, b = small_model(seed=8, scale=0.2), small_model(seed=8, scale=0.2)
    before_financing(a)
    before_financing(b)
    a.market.rounds.step()
    r, step = b.market.rounds, b.current_step
    funded, parts = allocate_month(b)
    assert parts is not None and funded.rows.size >= 10, "the month must have rounds to compare"
    r.settle(funded, parts, step)
    for name in ("cash", "shares", "valuation", "raised", "rounds", "lead"):
        np.testing.assert_array_equal(a.population[name], b.population[name], err_msg=name)
    for name in a.market.lots:
        np.testing.assert_array_equal(a.market.lots[name], b.market.lots[name], err_msg=name)
    assert a.market.flows == b.market.flows


@functools.cache
def _at_financing() -> EcosystemModel:
    """A park at scale 0.2 after the default warm-up (the guidance funds at their full size), at this month's
    financing phase; built once, each use takes a copy."""
    m = small_model(seed=7, scale=0.2, warmup=8)
    before_financing(m)
    return m


def allocate_month(m: EcosystemModel):
    """The month's rounds of ``m`` up to their allocation: (funded applicants, participations)."""
    r, step = m.market.rounds, m.current_step
    return r.allocate(r.screen(r.price(r.candidates(step), step), step), step)


def _month_participations(ratio: float):
    """This month's allocation at scale 0.2 with every guidance fund co-investing ``ratio`` per unit of VC money."""
    m = copy.deepcopy(_at_financing())
    for g in m.market.investors:
        if isinstance(g, GuidanceFund):  # every track mandated, all its cash available: many co-investments
            g.coinvest_ratio, g.paced, g.mandated_tracks = ratio, False, np.arange(m.tracks.n)
    funded, parts = allocate_month(m)
    assert parts is not None
    guidance = np.array([isinstance(m.market.investors[i], GuidanceFund) if i >= 0 else False
                         for i in parts.investor], dtype=bool)
    return funded, parts, guidance


def _month_fill(min_fill: float):
    """This month's funded rounds at scale 0.2 under ``funding.min_fill``, and the share of what each VC round
    set out to raise that its lead and co-investors put in."""
    m = copy.deepcopy(_at_financing())
    m.cfg.ecosystem.funding.min_fill = min_fill
    funded, _ = allocate_month(m)
    vc = funded.rnd >= 1
    return funded, (funded.lead_amount + funded.co_amt.sum(axis=1))[vc] / funded.amount[vc]


def test_a_vc_round_closes_only_with_at_least_min_fill_of_its_money():
    """``funding.min_fill``: a price needs money behind it. Without the rule some of the month's VC rounds close
    with less than half of what they set out to raise (priced as planned); with it (the default, 0.5) none
    does, and the rounds it stops keep their investors' money (other rounds close as before)."""
    loose_rounds, loose = _month_fill(0.0)
    assert (loose < 0.5).any() and (loose >= 0.5).any()
    funded, fill = _month_fill(0.5)
    assert fill.size > 0 and (fill >= 0.5 - 1e-12).all()
    kept = set(loose_rounds.rows[loose_rounds.rnd == 0].tolist())  # seed rounds (angels) are not VC rounds
    assert kept <= set(funded.rows.tolist())


def test_a_dropped_round_hands_back_its_lead_and_co_investors_money_whatever_their_index():
    """``_drop_unfilled`` by hand: four VC-led rounds of 100; the first raised 40 (lead 30 from investor 5,
    10 from investor 0, the market's first index), the second 45 (lead 25 from 7, 20 from 3), the third 80
    (lead 50 from 7, 30 from 0), the fourth exactly half (lead 40 from 9, 10 from 2). At ``min_fill`` 0.5
    the first two do not close: each investor gets back exactly what it put into them, the rounds lose
    their lead and co-investors and the syndication count the two co-investments; the third and the
    fourth (at least half: it closes) keep everything."""
    m = copy.deepcopy(_at_financing())
    r = m.market.rounds
    assert m.cfg.ecosystem.funding.min_fill == 0.5  # the default
    n = len(m.market.investors)
    r._used = np.zeros(n)
    app = SimpleNamespace(
        amount=np.full(4, 100.0), lead=np.array([5, 7, 7, 9]), lead_amount=np.array([30.0, 25.0, 50.0, 40.0]),
        co_inv=np.array([[0, -1], [3, -1], [0, -1], [2, -1]]),
        co_amt=np.array([[10.0, 0.0], [20.0, 0.0], [30.0, 0.0], [10.0, 0.0]]))
    for i, lead in enumerate(app.lead):  # what the allocation booked
        r._used[lead] += app.lead_amount[i]
        r._used[app.co_inv[i, 0]] += app.co_amt[i, 0]
    r.syndicated = 4
    r._drop_unfilled(app, np.ones(4, dtype=bool))
    expected = np.zeros(n)
    expected[[7, 0, 9, 2]] = 50.0, 30.0, 40.0, 10.0  # only the last two rounds' money stays used
    np.testing.assert_allclose(r._used, expected, atol=1e-12)
    assert r.syndicated == 2
    np.testing.assert_array_equal(app.lead, [-1, -1, 7, 9])
    np.testing.assert_array_equal(app.lead_amount, [0.0, 0.0, 50.0, 40.0])
    np.testing.assert_array_equal(app.co_inv, [[-1, -1], [-1, -1], [0, -1], [2, -1]])
    np.testing.assert_array_equal(app.co_amt, [[0.0, 0.0], [0.0, 0.0], [30.0, 0.0], [10.0, 0.0]])


def test_growth_funds_are_late_size_multiple_times_the_size_of_early_funds():
    """``vc.late_size_multiple``: the year end's newcomers draw the same focus and base size whatever the multiple
    (keyed draws); a fund focused on rounds C and later is the multiple times larger, so the year's commitments
    make fewer of them. Incumbents raise by their own last size."""
    base = _at_financing()
    made = {}
    for mult in (1.0, 5.0):
        m = copy.deepcopy(base)
        m.cfg.ecosystem.vc.late_size_multiple = mult
        m.cfg.ecosystem.vc.commitments_mcny_per_year *= 10  # many newcomers in one year
        n0, managers = len(m.market.investors), set(m.market.funds.managers)
        m.market.funds.cycle(m.current_step - m.current_step % 12 + 11)
        new = [f for f in m.market.investors[n0:] if isinstance(f, VCFund)]
        assert all(f.raised_step == m.current_step - m.current_step % 12 + 11 for f in new)
        made[mult] = [(f.focus, f.size) for f in new if f.manager_id not in managers]  # newcomers
    one, five = made[1.0], made[5.0]
    common = min(len(one), len(five)) - 1  # the last newcomer may take what is left of the budget
    assert common > 5 and {f for f, _ in one[:common]} == {"early", "late"}
    for (f1, s1), (f5, s5) in zip(one[:common], five[:common], strict=True):
        assert f1 == f5 and s5 == pytest.approx(s1 * (5.0 if f1 == "late" else 1.0))


def test_a_dust_amount_makes_no_participation():
    """A participation whose money rounds to nothing (here a denormal coinvest_ratio, 5e-324, times the VC
    money: 1.8e-322 mcny in a hypothesis example) buys no share of the firm, so it is not made; a small but
    real cheque (ratio 1e-6: about a thousand yuan) still is."""
    _, real, real_g = _month_participations(0.5)
    assert ((real.investor >= 0) & real_g).any(), "the month must have a guidance co-investment"
    for ratio, expect_guidance in ((5e-324, False), (1e-13, False), (1e-6, True)):
        funded, parts, guidance = _month_participations(ratio)
        made = parts.investor >= 0
        assert (parts.amount[made] > DUST).all(), ratio
        assert ((made & guidance).sum() > 0) == expect_guidance, ratio
        # the leads, syndicates and insiders do not depend on the guidance funds' ratio
        np.testing.assert_array_equal(funded.lead, _month_participations(0.5)[0].lead)


class _Fund:
    """A policy's guidance fund as _whole_cheques sees it: places, cash and credit."""

    def __init__(self, places, cash, credit):
        self.places, self.cash, self.credit = places, cash, credit

    open_places = GuidanceFund.open_places
    fill_places = GuidanceFund.fill_places


def _whole_cheques(fund, want, step):
    rounds = SimpleNamespace(model=SimpleNamespace(draws={"finance": KeyedDraws(7, "finance")}))
    key = np.arange(1000, 1000 + want.size, dtype=np.uint64) + np.uint64(step * 7919)
    return EquityRounds._whole_cheques(rounds, fund, key, want, np.ones(want.size, dtype=bool), step)


def test_a_policy_fund_takes_as_many_whole_cheques_as_its_places_whatever_their_size():
    """A small park's policy fund has little cash and the real park's cheques: it takes as many whole
    cheques as its places, in the month's deals in a random order, so the sizes it takes are those offered
    (a fund taking what fits in its cash would take the small ones), and never more than its cash and the
    capital still to be paid in."""
    rng = np.random.default_rng(4)
    taken, offered = [], []
    for step in range(3000):
        want = np.exp(rng.normal(3.0, 1.2, 5))  # cheques of 2-200, mean about 40
        fund = _Fund(places=2.7, cash=1.0, credit=1e9)  # cash far below any cheque: drawn ahead
        ok = _whole_cheques(fund, want, step)
        assert ok.sum() == 2 and fund.places == pytest.approx(0.7)  # two whole places, the fraction waits
        taken.append(want[ok])
        offered.append(want)
    taken, offered = np.concatenate(taken), np.concatenate(offered)
    assert taken.mean() == pytest.approx(offered.mean(), abs=4 * taken.std() / np.sqrt(taken.size))
    assert np.median(taken) == pytest.approx(np.median(offered), rel=0.06)
    # fewer deals than places: all of them, the places left wait
    fund = _Fund(places=5.2, cash=1e6, credit=0.0)
    assert _whole_cheques(fund, np.array([10.0, 20.0]), 1).all() and fund.places == pytest.approx(3.2)
    # no cheque beyond the cash and the credit: 30 + 50 > 60 stops at the second in its order
    for step in range(200):
        fund = _Fund(places=3.0, cash=20.0, credit=40.0)
        want = np.array([30.0, 50.0, 5.0])
        ok = _whole_cheques(fund, want, step)
        assert want[ok].sum() <= 60.0 and ok.sum() >= 1 or want[0] > 60
        assert fund.places == pytest.approx(3.0 - ok.sum())
    assert not _whole_cheques(_Fund(places=0.9, cash=1e6, credit=0.0), np.array([1.0]), 0).any()


def test_harvest_sales_follow_their_hazard_times_the_acquisition_lever():
    """A harvesting fund's portfolio firms are sold at the yearly hazard ``harvest_sale_rate`` times
    the ``acquisition_multiple`` lever: of the candidates (all of them come out at a hazard so high
    that the month's chance is one), exactly those whose keyed draw is below ``1 - exp(-rate * k *
    dt)``, the same draw at every k, so a larger lever sells a superset."""
    m = small_model(seed=5, scale=0.3, warmup=5)  # funds past their investment period, with portfolios
    ex, ecfg = m.market.exits, m.cfg.ecosystem.exits
    none = np.empty(0, dtype=np.int64)
    rate = ecfg.harvest_sale_rate
    assert m.levers.value("acquisition_multiple") == 1.0
    sold = {1.0: 0, 8.0: 0}
    for step in range(m.current_step, m.current_step + 12):  # a year of months' draws (firms as they are now)
        ecfg.harvest_sale_rate = 1e6  # the month's chance is one: every candidate
        everyone = ex.harvest(step, none)[0]
        ecfg.harvest_sale_rate = rate
        assert everyone.size > 20, everyone.size
        u = m.draws["finance"].uniform(m.population["hkey"][everyone], step, SLOT_HARVEST, prehashed=True)
        for k in (1.0, 8.0):
            m.levers.change("acquisition_multiple", m.levers.value("acquisition_multiple"), k)  # as a policy would
            got = ex.harvest(step, none)[0]
            np.testing.assert_array_equal(got, everyone[u < 1.0 - np.exp(-rate * k * DT)])
            sold[k] += got.size
        m.levers.change("acquisition_multiple", 8.0, 1.0)
    assert 0 < sold[1.0] < sold[8.0], sold


def test_exits_of_a_park_without_firms_are_empty():
    cfg = Config()
    cfg.scale, cfg.years, cfg.ecosystem.warmup_years = 0.01, 1, 1
    m = EcosystemModel(cfg)  # before the first month: no firm yet
    assert m.population.n == 0
    out = m.market.exits.draw(m.current_step)
    assert sorted(out) == ["acquired", "ipo"]
    for rows, values in out.values():
        assert rows.dtype == np.int64 and rows.size == 0 and values.size == 0


def test_bank_loans_are_a_share_of_revenue_times_the_loan_size_lever():
    m = small_model(seed=7, scale=0.05)
    before_financing(m)
    step, pop, lending = m.current_step, m.population, m.market.lending
    m.levers.change("loan_size_multiplier", 1.0, 1.5)  # as credit_relaxation sets it
    revenue = pop["revenue"].copy()
    first = m.market.deals.n
    lending.step()
    d = m.market.deals
    new = np.arange(first, d.n)
    assert new.size > 0
    rows = pop.row_of[d["firm"][new]]
    want = m.cfg.ecosystem.banks.loan_to_revenue * revenue[rows] * 1.5
    np.testing.assert_allclose(d["amount"][new], want, rtol=1e-12)
    np.testing.assert_allclose(pop["debt"][rows], want, rtol=1e-12)
    assert (d["step"][new] == step).all()


def test_typical_vc_money_halves_a_rounds_weight_every_year():
    # the typical co-investment a guidance fund plans with (EquityRounds.typical_vc_money): the VC
    # money of recent VC-led rounds in the tracks, each weighted by 0.5 ** (its age / 12 months)
    m = small_model()
    r = m.market.rounds
    n = m.tracks.n
    r.vc_money_by_track, r.vc_rounds_by_track, r._vc_counted_step = np.zeros(n), np.zeros(n), None
    t = np.array([3])
    m.current_step = 0
    r._count_vc_rounds(t, np.array([100.0]))
    m.current_step = 6
    r._count_vc_rounds(t, np.array([400.0]))
    w = 0.5 ** (6 / 12)
    assert r.typical_vc_money(t) == pytest.approx((100.0 * w + 400.0) / (w + 1.0))
    m.current_step = 30  # two years after the second round, 2.5 after the first
    r._count_vc_rounds(t, np.array([50.0]))
    w1, w2 = 0.5 ** 2.5, 0.5 ** 2
    assert r.typical_vc_money(t) == pytest.approx((100.0 * w1 + 400.0 * w2 + 50.0) / (w1 + w2 + 1.0))
    assert r.typical_vc_money(np.array([4])) == 0.0  # a track without VC rounds


# ------------------------------------------------------------------------------ the investors' books, verb by verb
# (agents/investors/books.py: what each verb moves, and what the books' checks accept and refuse, against
# figures worked out by hand; mutation testing found these reached only through whole runs that do not
# depend on them)


def test_the_equity_books_check_refuses_a_booking_missing_on_one_side():
    """``Investor.balanced``: committed == cash + invested + returned, within ``tol`` of the
    commitments (relative) and at least ``tol`` mcny (absolute, for small books)."""
    a = Investor(mesa.Model(), "angel")
    a.commit(1000.0)
    a.invest(400.0)
    assert a.balanced()
    a.invested += 0.01  # 10 thousand yuan invested that left no cash: 1e-5 of the books, above 1e-6
    assert not a.balanced()
    a.invested -= 0.01 - 1e-4  # rounding residue: 1e-7 of the books, within the relative tolerance
    assert a.balanced()
    small = Investor(mesa.Model(), "small")
    small.commit(0.5)
    small.cash -= 1.5e-6  # half a million's tolerance is absolute: 1e-6 mcny, not 1e-6 of 0.5
    assert not small.balanced()
    small.cash += 0.8e-6  # 0.7e-6 short: within it
    assert small.balanced()


def test_the_bank_books_check_refuses_a_booking_missing_on_one_side():
    """``Bank.balanced``: cash + outstanding == capital + interest - losses + covered, within ``tol``
    of the right side (relative) and at least ``tol`` mcny (absolute)."""
    b = Bank(mesa.Model(), "bank", capital=1000.0, rate=0.06, term_months=36)
    b.lend(300.0)
    assert b.balanced()
    b.outstanding += 0.01  # a loan booked without its cash: 1e-5 of the books
    assert not b.balanced()
    b.outstanding -= 0.01 - 1e-4  # 1e-7 of the books: rounding residue
    assert b.balanced()
    small = Bank(mesa.Model(), "small", capital=0.5, rate=0.06, term_months=36)
    small.cash -= 1.5e-6
    assert not small.balanced()
    small.cash += 0.8e-6
    assert small.balanced()


def test_a_banks_books_through_loans_repaid_written_off_and_covered():
    """Each of the bank's verbs moves the fields the identity names, by amounts worked out by hand."""
    b = Bank(mesa.Model(), "bank", capital=500.0, rate=0.12, term_months=12)
    b.lend(200.0)
    b.lend(100.0)
    assert (b.cash, b.outstanding, b.invested) == pytest.approx((200.0, 300.0, 300.0))
    b.collect(principal=20.0, interest=3.0)
    assert (b.cash, b.outstanding, b.interest) == pytest.approx((223.0, 280.0, 3.0))
    b.write_off(principal=80.0, recovered=24.0)  # 30 % recovered
    b.write_off(principal=50.0, recovered=15.0)
    assert b.outstanding == pytest.approx(150.0)
    assert b.recovered == pytest.approx(39.0)  # both recoveries
    assert b.losses == pytest.approx(130.0 - 39.0)
    assert b.cash == pytest.approx(223.0 + 39.0)
    b.cover(10.0)
    assert (b.cash, b.covered) == pytest.approx((272.0, 10.0))
    assert b.balanced()
    # 272 + 150 == 500 + 3 - 91 + 10
    assert b.cash + b.outstanding == pytest.approx(b.capital + b.interest - b.losses + b.covered)


def test_a_fund_that_winds_down_hands_back_its_cash_and_leaves_the_market():
    """``VCFund.wind_down`` at the end of a fund's life: its uninvested cash goes back to the limited
    partners, and the fund is closed: no longer among the market's open funds (so never wound down,
    drifted or drawn again), with nothing for new firms or follow-ons."""
    m = small_model()
    f = next(a for a in m.market.investors if isinstance(a, VCFund) and a.cash > 0)
    assert f in m.market.open_funds()
    cash, returned = f.cash, f.returned_unused
    assert f.wind_down() == cash
    assert f.cash == 0.0 and f.returned_unused == pytest.approx(returned + cash) and f.balanced()
    m.market.invalidate_fund_view()
    assert f not in m.market.open_funds()
    f.commit(5.0)  # even money coming in later stays out of new rounds and follow-ons
    assert f.available_new(f.vintage_step) == 0.0 and f.available_followon(f.vintage_step) == 0.0


def test_a_guidance_fund_given_tracks_enters_those_tracks_not_its_directions():
    """A policy's guidance fund is given its target tracks (``mandated_tracks``); a preset's fund enters
    the tracks of its mandated directions."""

    class Tracks:
        def ids_in_directions(self, directions):
            return np.array([0, 5] if list(directions) == ["ai"] else [], dtype=np.int64)

    kw = dict(capital=10.0, coinvest_ratio=0.5, return_cap=0.05, mandated_directions=["ai"], start_step=0,
              life_years=10.0)
    policy_fund = GuidanceFund(mesa.Model(), "policy fund", mandated_tracks=[1, 3], stacks=True, **kw)
    assert policy_fund.mandated_ids(Tracks()).tolist() == [1, 3]
    assert GuidanceFund(mesa.Model(), "preset fund", **kw).mandated_ids(Tracks()).tolist() == [0, 5]


# ------------------------------------------------------------------------------ follow-ons of the last lead


def test_the_first_investor_follows_on_and_carries_inside_rounds_like_any_other():
    """Investor indices start at 0: in a park without angels the first investor is a VC fund. As a firm's
    last lead it takes ``insider_share`` of a later round led by another fund (``share / (1 - share)`` of
    the new money: it then holds that share of the round) and carries alone a round no new lead took."""
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years, cfg.ecosystem.warmup_years = 8, 0.2, 2, 3
    cfg.ecosystem.angels.count = 0
    m = EcosystemModel(cfg)
    while m.current_step < 0:
        m.step()
    before_financing(m)
    first = m.market.investors[0]
    assert isinstance(first, VCFund)
    first.commit(1e6)  # money for every follow-on ...
    first.investment_period_years = -1.0  # ... and none for new firms: it leads no new round
    for f in m.market.open_funds()[1:]:  # the other late-stage funds have money to lead (and fill) rounds C
        if f.focus == "late":  # and later; rounds A and B find no new lead
            f.commit(5e4)
    r, step, pop = m.market.rounds, m.current_step, m.population
    app = r.screen(r.price(r.candidates(step), step), step)
    pop["lead"][app.rows] = 0  # the first investor led every applicant's last round
    funded, parts = r.allocate(app, step)
    assert parts is not None
    share = m.cfg.ecosystem.funding.insider_share
    later = funded.rnd >= 1
    carried = later & (funded.lead == 0)  # inside rounds: the whole round
    np.testing.assert_allclose(funded.lead_amount[carried], funded.amount[carried])
    led = later & (funded.lead != 0)
    new_money = funded.lead_amount + funded.co_amt.sum(axis=1)
    mine = (parts.investor == 0) & (parts.amount > 0)
    got = np.bincount(parts.deal[mine], weights=parts.amount[mine], minlength=funded.rows.size)
    np.testing.assert_allclose(got[led], share / (1.0 - share) * new_money[led])
    np.testing.assert_allclose(got[led] / (got[led] + new_money[led]), share)
    assert carried.sum() >= 1 and led.sum() >= 3, (carried.sum(), led.sum())


def test_an_investor_cannot_invest_beyond_its_cash_and_credit():
    """``Investor.invest`` refuses more than the cash plus what the investor may draw ahead (``credit``),
    beyond rounding (1e-9 relative and absolute)."""
    a = Investor(mesa.Model(), "angel")
    a.commit(100.0)
    with pytest.raises(ValueError, match="cannot invest 150.000"):
        a.invest(150.0)
    a.invest(100.0 + 1e-8)  # rounding residue
    a.credit = 60.0  # capital committed but not paid in yet: cash may go down to -60
    a.invest(55.0)
    assert a.cash == pytest.approx(-55.0) and a.balanced()
    with pytest.raises(ValueError):
        a.invest(6.0)


def test_an_angel_spends_its_budget_through_the_year_at_most_pace_slack_times_an_even_pace():
    """``Angel.available``: by the k-th month of its budget year an angel has put in at most
    ``pace_slack * k / 12`` of the year's budget; what a month leaves unused is carried on; without
    pacing (0) all its cash is available at once."""
    a = Angel(mesa.Model(), "angel", budget_per_year=24.0, pace_slack=1.5)
    a.new_year(12, share=0.5)  # a budget year of 12 mcny from month 12
    assert a.cash == 12.0 and a.available(12) == pytest.approx(1.5)
    a.invest(1.5)
    assert a.available(12) == 0.0 and a.available(13) == pytest.approx(1.5)
    assert a.available(16) == pytest.approx(1.5 * 12 * 5 / 12 - 1.5)  # months 12-16 unused: carried on
    assert a.available(19) == pytest.approx(10.5) and a.available(23) == pytest.approx(10.5)  # within its cash
    a.new_year(24, share=1.0)  # the unspent 10.5 goes back; 24 comes in
    assert a.returned_unused == pytest.approx(10.5) and a.available(24) == pytest.approx(3.0) and a.balanced()
    free = Angel(mesa.Model(), "angel", budget_per_year=24.0)
    free.new_year(0)
    assert free.available(0) == 24.0


def test_a_fund_raised_at_a_year_end_invests_from_its_first_month_and_lives_from_its_raise():
    """``VCFund.investing``: not before its vintage (its first month) and not after its investment period;
    its age (life, next raise) counts from the year end it was raised."""
    f = VCFund(mesa.Model(), "fund", manager_id=0, vintage_step=16, raised_step=11, size=100.0, focus="early",
               prefs=np.array([1.0]), life_years=10.0, investment_period_years=5.0, reserve_ratio=0.3)
    assert not f.investing(15) and f.available_new(15) == 0.0
    assert f.investing(16) and f.available_new(16) == pytest.approx(70.0)
    assert f.investing(16 + 59) and not f.investing(16 + 60)
    assert f.age_years(11 + 120) == 10.0


def test_a_funds_preferences_drift_toward_the_heat_and_stay_a_distribution():
    """``VCFund.drift_prefs``: ``(1 - w) * prefs + w * heat share``, normalised, the vector grown to tracks
    born since; without any weight left (no heat, w = 1) the preferences are zero, not undefined."""
    f = VCFund(mesa.Model(), "fund", manager_id=0, vintage_step=0, size=100.0, focus="early",
               prefs=np.array([0.5, 0.5]), life_years=10.0, investment_period_years=5.0, reserve_ratio=0.3)
    f.drift_prefs(np.array([0.0, 0.0, 1.0]), 0.2)  # a third track, born since, has all the heat
    np.testing.assert_allclose(f.prefs, [0.4, 0.4, 0.2])
    f.drift_prefs(np.zeros(3), 1.0)
    np.testing.assert_array_equal(f.prefs, [0.0, 0.0, 0.0])


def test_a_month_of_loan_service_books_each_banks_interest_and_principal_from_its_borrowers():
    """A month's service (Lending.service): each bank books as interest its annual rate / 12 on what its
    borrowers owe, and as repaid principal what their debt went down by, computed from the firms' side
    (mutation testing, issue 16: a bank's interest counted as its number of loans passed the suite)."""
    m = copy.deepcopy(_at_financing())
    pop, investors = m.population, m.market.investors
    debt, bank = np.asarray(pop["debt"]).copy(), np.asarray(pop["bank"]).copy()
    banks = [(i, a) for i, a in enumerate(investors) if isinstance(a, Bank)]
    before = {i: (b.interest, b.outstanding, b.cash) for i, b in banks}
    lending = debt > 0
    assert lending.sum() >= 20, "the month must have loans to service"
    m.market.lending.service()
    paid_down = debt - np.asarray(pop["debt"])
    for i, b in banks:
        mine = lending & (bank == i)
        want_interest = float((debt[mine] * b.rate / 12.0).sum())
        interest0, outstanding0, cash0 = before[i]
        assert b.interest - interest0 == pytest.approx(want_interest, rel=1e-12, abs=1e-12), b.name
        assert outstanding0 - b.outstanding == pytest.approx(float(paid_down[mine].sum()), rel=1e-9, abs=1e-9), b.name
        assert b.cash - cash0 == pytest.approx(want_interest + float(paid_down[mine].sum()), rel=1e-9, abs=1e-9)
    assert sum(b.interest - before[i][0] for i, b in banks) > 0


def test_banks_without_cash_lend_to_nobody():
    """Lending.lend_to when no bank can carry any of the loans: no firm is reported as lent to, and no
    firm's debt or cash moves (mutation testing, issue 16: handing back one row passed the suite)."""
    m = copy.deepcopy(_at_financing())
    pop, lending = m.population, m.market.lending
    for b in lending.banks():
        b.cash = 0.0
    rows = np.flatnonzero(np.asarray(pop["debt"]) == 0)[:50]
    assert rows.size == 50 and lending.banks()
    debt, cash = np.asarray(pop["debt"]).copy(), np.asarray(pop["cash"]).copy()
    got = lending.lend_to(rows, np.full(rows.size, 1.0), m.current_step, np.linspace(0.01, 0.99, rows.size))
    assert got.size == 0
    np.testing.assert_array_equal(np.asarray(pop["debt"]), debt)
    np.testing.assert_array_equal(np.asarray(pop["cash"]), cash)


@pytest.mark.parametrize("allowed", [False, True])
def test_early_funds_put_new_money_into_late_rounds_only_when_the_preset_lets_them(allowed):
    """``funding.early_funds_in_late_rounds``: with the growth funds out of money, rounds C and later
    find no new lead or co-investor among the early-stage funds (False, the default), or find them
    there (True). A-B rounds are led by early funds either way."""
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years, cfg.ecosystem.warmup_years = 8, 0.2, 2, 3
    cfg.ecosystem.funding.early_funds_in_late_rounds = allowed
    m = EcosystemModel(cfg)
    while m.current_step < 0:
        m.step()
    before_financing(m)
    funds = m.market.open_funds()
    for f in funds:
        if f.focus == "late":
            f.investment_period_years = -1.0  # no money for new firms
        else:
            f.commit(5e4)  # early funds have money to lead anything they may lead
    r, step, pop = m.market.rounds, m.current_step, m.population
    rows = r.candidates(step)
    pop["rounds"][rows[::2]] = 3  # every other applicant has had seed, A and B rounds: its next is C or later
    pop["lead"][rows] = -1  # and no earlier VC lead to carry it (no inside rounds, no insiders)
    app = r.screen(r.price(rows, step), step)
    funded, _ = r.allocate(app, step)
    early = {f.index for f in funds if f.focus == "early"}
    late_round = funded.rnd >= 3
    by_early = np.array([i in early for i in funded.lead]) | np.isin(funded.co_inv, list(early)).any(axis=1)
    assert (app.rnd >= 3).sum() >= 5 and ((app.rnd >= 1) & (app.rnd <= 2)).sum() >= 5
    assert by_early[(funded.rnd >= 1) & (funded.rnd <= 2)].all()
    if allowed:
        assert by_early[late_round].sum() >= 3, int(by_early[late_round].sum())
    else:
        assert late_round.sum() == 0, funded.rnd[late_round]


def _pick_over_every_column(weights, tracks, u):
    """The investor draw of agents.investors.matching.pick as it was written before it left out the
    columns no deal draws from: every column's scaled cumulative weights, shifted by the column's
    index, searched at once."""
    n_inv, n_cols = weights.shape
    if n_inv == 0 or len(tracks) == 0:
        return np.full(len(tracks), -1, dtype=np.int64)
    cum = np.cumsum(weights, axis=0)
    total = cum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(total > 0, cum / total, 1.0)
    keys = (scaled + np.arange(n_cols)[None, :]).T.ravel()
    idx = np.clip(np.searchsorted(keys, tracks + u, side="right") - tracks * n_inv, 0, n_inv - 1)
    return np.where(total[tracks] > 0, idx, -1)


def test_an_investor_draw_over_the_deals_columns_is_the_draw_over_every_column():
    """pick searches only the columns of the deals' tracks: the same investor for every deal as the
    search over every column, with columns and investors without weight, draws at 0 and just below
    1 (where track + u rounds up to the next column) and many columns; and, away from rounding, the
    investor whose share of the column's cumulative weight first exceeds the draw."""
    rng = np.random.default_rng(5)
    for trial in range(2000):
        n_inv, n_cols = int(rng.integers(1, 30)), int(rng.integers(1, 400 if trial % 10 == 0 else 12))
        w = rng.random((n_inv, n_cols)) * (rng.random((n_inv, n_cols)) < 0.5)
        if trial % 3 == 0:
            w[:, rng.random(n_cols) < 0.3] = 0.0
        n = int(rng.integers(0, 50))
        tracks, u = rng.integers(0, n_cols, size=n), rng.random(n)
        if trial % 4 == 0:
            u[: n // 2] = np.nextafter(1.0, 0.0)
        if trial % 5 == 0:
            u[: n // 3] = 0.0
        got = pick(w, tracks, u)
        np.testing.assert_array_equal(got, _pick_over_every_column(w, tracks, u))
        for j in range(n):
            col = w[:, tracks[j]]
            if col.sum() == 0:
                assert got[j] == -1
                continue
            share = np.cumsum(col) / col.sum()
            if np.min(np.abs(share - u[j])) > 1e-9 and u[j] < 1 - 1e-9:
                assert got[j] == int(np.searchsorted(share, u[j], side="right"))

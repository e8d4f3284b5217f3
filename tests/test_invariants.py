"""Independent invariants of whole runs (tests/invariants.py), and proof that they can fail.

The run is the default park (the 中关村 preset, 8 warm-up and 10 observed years) at a small scale
with a guidance fund, credit relaxation (loans beside VC rounds) and exit channels in force, so
that rounds, guidance co-investment, capped guidance returns, loans of both kinds, IPOs,
acquisitions, failures and firms ageing out all occur; each test also says how much it checked,
so that it cannot pass on an empty table. The tests named ``..._catches_...`` break one rule of
the model on purpose (monkeypatched for one run) and require the invariant to fail.
"""

from __future__ import annotations

import invariants as inv
import numpy as np
import pytest
from conftest import module_scope

import agents.investors.exits as exits_module
import sim.stages as stages_module
from agents.investors.books import GuidanceFund, VCFund
from agents.investors.exits import Exits
from sim.config import Config
from sim.policies.registry import configured_policy
from sim.run import run_simulation

SCALE = 0.03
POLICIES = ("guidance_fund", "credit_relaxation", "exit_channels")


def config(seed: int = 3, **stages) -> Config:
    cfg = Config()
    cfg.seed, cfg.scale = seed, SCALE
    cfg.output.plots = False
    for k, v in stages.items():
        setattr(cfg.stages, k, v)
    return cfg


def simulate(cfg: Config, policies=POLICIES):
    return run_simulation(cfg, progress=False, policies=[configured_policy(p) for p in policies])


@pytest.fixture(scope=module_scope)
def result():
    return simulate(config())


def test_failed_firms_cash_reaches_their_investors_by_the_cap_table():
    """With ``firms.last_attempt_months`` 0 a venture-backed firm drawn to close hands its cash to its
    investors: the liquidation branch of the waterfall, checked lot by lot on many failures."""
    cfg = config()
    cfg.ecosystem.firms.last_attempt_months = 0.0
    r = simulate(cfg)
    seen = inv.check_rounds_and_cap_tables(r.tables, r.summary, r.config)
    assert seen["liquidations_paid"] > 20 and seen["preferences_paid"] > 20, seen


def test_rounds_cap_tables_and_exit_proceeds(result):
    seen = inv.check_rounds_and_cap_tables(result.tables, result.summary, result.config)
    assert seen["rounds"] > 500 and seen["exits"] > 20 and seen["unrealized"] > 100 and seen["written_off"] > 100, seen
    # the waterfall's branches: preferences paid at acquisitions and failures, team sales, corporate
    # venture funds' exits (failed firms' cash reaching investors: the next test, where venture-backed
    # firms close with their cash instead of spending it on a last attempt)
    assert seen["preferences_paid"] > 20 and seen["liquidations_paid"] >= 1, seen
    assert seen["team_sales"] >= 1, seen
    # corporate venture funds invest in older firms, founded in the warm-up: their money is
    # checked by kind in the time series (check_derived_columns), their cap tables when whole
    assert (result.tables["deals"]["investor_kind"] == "cvc").any()
    # guidance funds (the preset's or the policy's: one rule, GuidanceFund.capped) were in some of the
    # exited firms, and their cap bound at least once
    assert sum(g.excess_ceded for g in result.model.market.investors if isinstance(g, GuidanceFund)) > 0
    # and it binds on positions still held at the end: they are worth the fund's capped claim
    assert seen["capped_held"] > 0, seen


def test_loans_follow_their_annuity_schedule(result):
    assert inv.check_loans(result.tables, result.config) > 200
    f = result.tables["firms"]
    # the schedule is tested against every way a loan ends: repaid at an exit or age-out,
    # written off at a failure, still running at the end
    borrowers = f[f["debt_at_end"] > 0]
    assert set(borrowers["end_kind"].fillna("alive")) >= {"alive", "failed", "acquired"}


def test_cash_is_conserved_through_loans_exits_and_failures(result):
    # the firms' cash, live and ended, against the flows booked by each module (sim.core.ledger): a
    # loan repaid from the wrong account, or not at all, when its firm leaves shows here
    held, flowed = result.model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    assert result.model.ledger.debt_service > 0 and result.model.ledger.loans_in > 0


def test_vc_funds_draw_their_follow_ons_from_their_reserve(result):
    # a VC fund keeps reserve_ratio of its size for follow-on rounds in its firms; money it puts into
    # a firm it led before (inside rounds, insiders) draws the reserve down. For the funds raised in
    # the window (all their deals are in deals.parquet), what they booked as follow-ons is at most
    # what they put into firms they had backed in an earlier month, and what is left for new firms
    # is the cash beyond the rest of the reserve
    d = result.tables["deals"]
    d = d[d["round"] != "loan"]
    funds = [a for a in result.model.market.investors if isinstance(a, VCFund) and a.vintage_step >= 0]
    step = result.model.current_step - 1
    drawn = 0.0
    for f in funds:
        mine = d[d["investor_id"] == f.unique_id]
        first = mine.groupby("firm_id")["step"].transform("min")
        again = float(mine.loc[mine["step"] > first, "amount"].sum())
        assert -1e-9 <= f.followon_invested <= again + 1e-6 * max(1.0, again), (f.name, f.followon_invested, again)
        reserve = max(0.0, f.size * f.reserve_ratio - f.followon_invested)
        if f.investing(step):
            assert f.available_new(step) == pytest.approx(max(0.0, f.cash - reserve))
        drawn += f.followon_invested
    assert len(funds) > 5 and drawn > 0


def test_money_comes_through_the_year_and_funds_invest_from_their_first_month(result):
    """Angels pace their budgets (``angels.pace_slack``) and VC funds raised at a year end start in one of
    the next twelve months, so no calendar month takes the bulk of a year's equity money (before, 80 % of
    VC and 67 % of angel money went in January, and nearly every new unicorn was made in a January). From
    the deals table: each fund's deals come at or after its first month."""
    d = result.tables["deals"]
    for kind in ("angel", "vc"):
        by_month = d[d["investor_kind"] == kind].groupby(d["step"] % 12)["amount"].sum()
        assert by_month.size == 12 and by_month.max() < 0.3 * by_month.sum(), (kind, by_month.round(1).tolist())
    funds = [a for a in result.model.market.investors if isinstance(a, VCFund) and a.raised_step >= 0]
    starts = np.array([f.vintage_step - f.raised_step for f in funds])
    assert len(funds) > 10 and ((starts >= 1) & (starts <= 12)).all() and np.unique(starts).size >= 6
    first = d[d["round"] != "loan"].groupby("investor_id")["step"].min()
    for f in funds:
        if f.unique_id in first.index:
            assert first[f.unique_id] >= f.vintage_step, f.name


def test_each_banks_outstanding_principal_is_what_its_live_borrowers_owe(result):
    # computed from the firms' side: the debt of the live firms that borrowed from each bank. A loan
    # closed at an exit or a failure takes off its bank's books the principal the firm still owed, no
    # more and no less, however small the loan (mutation testing of agents/investors/lending.py, issue 16:
    # a count of loans for their principal, small loans left open, the cash paid at a failure added to
    # what is written off instead of taken from it all passed the suite)
    m = result.model
    pop = m.population
    debt, bank = np.asarray(pop["debt"]), np.asarray(pop["bank"])
    assert ((bank >= 0) == (debt > 0)).all()  # a firm owes a bank exactly when it has one
    banks = [(i, a) for i, a in enumerate(m.market.investors) if a.kind == "bank"]
    owed = np.bincount(bank[bank >= 0], weights=debt[bank >= 0], minlength=len(m.market.investors))
    for i, b in banks:
        assert b.outstanding == pytest.approx(owed[i], rel=1e-9, abs=1e-6), b.name
    f = result.tables["firms"]
    ended = f[f["end_kind"].notna() & (f["debt_at_end"] > 0)]
    assert set(ended["end_kind"]) >= {"failed", "acquired"}  # loans closed both ways in this run
    assert sum(b.outstanding for _, b in banks) > 0 and sum(b.losses for _, b in banks) > 0


def test_every_investors_books_balance(result):
    # committed = cash + invested + returned, and for banks cash + outstanding = capital + interest
    # - losses + covered: a booking missing on one side, or a stat of the books updated the wrong way
    investors = result.model.market.investors
    assert {a.kind for a in investors} >= {"angel", "vc", "bank", "guidance_fund"}
    assert all(a.balanced() for a in investors), [a.name for a in investors if not a.balanced()]


def test_stages_follow_their_definitions(result):
    seen = inv.check_stage_rules(result.tables, result.config)
    assert seen["year_ends"] > 10_000 and seen["gazelles"] > 50, seen


def test_unicorns_follow_their_definition_with_a_lower_bar():
    cfg = config(seed=4, unicorn_min_valuation_usd_bn=0.015)
    cfg.years, cfg.ecosystem.warmup_years = 6, 4
    # enough firms of the window reach the lower bar for the checks to bite (32 after the R&D merge)
    cfg.scale = 4 * SCALE
    res = simulate(cfg, policies=())
    seen = inv.check_stage_rules(res.tables, res.config)
    assert seen["unicorns"] > 10, seen
    inv.check_derived_columns(res.tables, res.summary, res.config)  # new unicorns in the time series too
    inv.check_rounds_and_cap_tables(res.tables, res.summary, res.config)


def test_derived_columns_are_their_sources(result):
    inv.check_derived_columns(result.tables, result.summary, result.config)


def test_the_annuity_formula_against_a_month_by_month_schedule():
    principal, rate, term = 1200.0, 0.01, 12
    payment = 106.61854641401  # 1200 * 0.01 / (1 - 1.01 ** -12)
    debt = principal
    for k in range(1, term + 1):
        debt -= payment - debt * rate
        assert inv.outstanding_after(principal, rate, term, k) == pytest.approx(max(debt, 0.0), abs=1e-6), k
    assert inv.outstanding_after(principal, rate, term, 6) == pytest.approx(617.905, abs=1e-3)
    assert inv.outstanding_after(1200.0, 0.0, 12, 3) == pytest.approx(900.0)
    assert inv.outstanding_after(1200.0, 1e-300, 12, 3) == pytest.approx(900.0)  # tiny rates: no cancellation
    assert inv.outstanding_after([1200.0], 0.01, 12, [13]).tolist() == [0.0]


# ------------------------------------------------------------------------------ the invariants can fail


def small_run():
    cfg = config(seed=5)
    cfg.years, cfg.ecosystem.warmup_years = 6, 4
    return simulate(cfg)


def test_the_exit_check_catches_investors_paid_the_whole_exit_value(monkeypatch):
    original = Exits.settle

    def settle(self, rows, values, step, *args, **kwargs):
        market = self.market
        if rows.size:
            li, pos, frac = market.lots_of_rows(rows)
            market.lots["shares"][li] = self.model.population["shares"][rows][pos]  # every lot: the whole firm
        return original(self, rows, values, step, *args, **kwargs)

    monkeypatch.setattr(Exits, "settle", settle)
    res = small_run()
    with pytest.raises(AssertionError, match="waterfall|shareholders shared"):
        inv.check_rounds_and_cap_tables(res.tables, res.summary, res.config)


def test_the_exit_check_catches_preferences_ignored(monkeypatch):
    original = exits_module.waterfall
    monkeypatch.setattr(exits_module, "waterfall",
                        lambda pos, frac, pref, values: original(pos, frac, 0 * pref, values))  # no preferences
    res = small_run()
    with pytest.raises(AssertionError, match="waterfall"):
        inv.check_rounds_and_cap_tables(res.tables, res.summary, res.config)


def test_the_liquidation_check_catches_wages_owed_paid_to_investors(monkeypatch):
    monkeypatch.setattr(exits_module, "wage_bill", lambda employees, cfg: 0.0 * employees)  # staff owed nothing
    res = small_run()
    with pytest.raises(AssertionError, match="waterfall"):
        inv.check_rounds_and_cap_tables(res.tables, res.summary, res.config)


def test_the_waterfall_by_hand_on_cases_worked_out_on_paper():
    # 1x non-participating, pari passu: 30 % bought for 10, 20 % for 20; the founders hold 50 %
    f, p = np.array([0.3, 0.2]), np.array([10.0, 20.0])
    assert inv.waterfall_by_hand(300.0, f, p).tolist() == pytest.approx([90.0, 60.0])  # both convert
    # at 60 the second lot takes its 20; the rest, 40, is shared by 0.5 + 0.3: the first gets 15
    assert inv.waterfall_by_hand(60.0, f, p).tolist() == pytest.approx([15.0, 20.0])
    assert inv.waterfall_by_hand(30.0, f, p).tolist() == pytest.approx([10.0, 20.0])  # both preferences, no more
    assert inv.waterfall_by_hand(15.0, f, p).tolist() == pytest.approx([5.0, 10.0])  # pro rata to preferences
    assert inv.waterfall_by_hand(100.0, f, 0 * p).tolist() == pytest.approx([30.0, 20.0])  # no preference


def test_the_models_waterfall_agrees_with_the_rule_written_out():
    """The model's vectorised waterfall against :func:`invariants.waterfall_by_hand` on random
    cap tables (several firms at once, preferences from none to above the value)."""
    rng = np.random.default_rng(16)
    for _ in range(200):
        n_firms = int(rng.integers(1, 5))
        n_lots = int(rng.integers(1, 9))
        pos = rng.integers(0, n_firms, n_lots)
        frac = rng.dirichlet(np.ones(n_lots + 1))[:n_lots] * rng.uniform(0.2, 1.0)
        pref = rng.uniform(0, 50, n_lots) * (rng.uniform(size=n_lots) < 0.8)
        values = rng.uniform(0, 200, n_firms)
        got = exits_module.waterfall(pos, frac, pref, values)
        for k in range(n_firms):
            at = pos == k
            if at.any():
                want = inv.waterfall_by_hand(values[k], frac[at], pref[at])
                assert got[at] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_the_stage_check_catches_a_wrong_age_handed_to_the_gazelle_test(monkeypatch):
    original = stages_module.gazelle_mask
    monkeypatch.setattr(stages_module, "gazelle_mask",
                        lambda emp, rev, age, cfg: original(emp, rev, np.asarray(age) - 1.0, cfg))  # a year too young
    res = small_run()
    with pytest.raises(AssertionError, match="stage at a year end"):
        inv.check_stage_rules(res.tables, res.config)


def test_the_derived_column_check_catches_a_year_off_by_one(result):
    tables = dict(result.tables)
    tables["deals"] = tables["deals"].assign(year=tables["deals"]["year"] + (tables["deals"]["step"] % 12 == 11))
    with pytest.raises(AssertionError, match="deals.year"):
        inv.check_derived_columns(tables, result.summary, result.config)


def test_the_loan_check_catches_a_wrong_rate(result):
    cfg = Config()
    cfg.ecosystem.banks.rate = result.config.ecosystem.banks.rate * 1.01
    cfg.years = result.config.years
    with pytest.raises(AssertionError, match="annuity schedule"):
        inv.check_loans(result.tables, cfg)


def test_the_cap_table_check_catches_a_round_priced_wrongly(result):
    tables = dict(result.tables)
    d = tables["deals"].copy()
    eq = np.flatnonzero((d["round"] != "loan").to_numpy())
    d.loc[d.index[eq[::50]], "post_money"] *= 1.001
    tables["deals"] = d
    with pytest.raises(AssertionError, match="post-money"):
        inv.check_rounds_and_cap_tables(tables, result.summary, result.config)

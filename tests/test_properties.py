"""Invariants of whole runs over random valid configurations (hypothesis).

Each example draws the influential keys (births, closure hazards, funding screening, investor
numbers and VC commitments, bank settings, exits, stage definitions, the seed) inside their
documented ranges, runs a teaching-size simulation (scale <= 0.012, at most 3 + 3 years, well
under a second here) and checks what must hold whatever the numbers:

* every firm born is alive at the end or has exactly one end, and the monthly stock of firms
  follows births and ends;
* stage changes follow the model's rules (:data:`ALLOWED`) and replay to the stages in the
  firm-year panel and the time series;
* money is conserved: the firms' cash identity, every investor's books, investor books against
  the lots and deals they hold, positions against investors, public spending against the
  policies' spending;
* no NaN or infinity in any table (pre- and post-money are NaN exactly for loans), no negative
  count or amount, every table follows the output contract;
* the same configuration and seed give byte-identical files.

* and the independent invariants of tests/invariants.py: rounds and cap tables, exit proceeds,
  loans against their annuity schedules, derived columns, and (for the OECD and EU gazelle
  definitions) every stage at every year end.

There is one case per intervention (every configuration of ``conf/policy/``, the test spender,
and no policy): each example runs the case's intervention with up to two others drawn at random,
so every intervention is drawn in every tier. The examples are derandomised (the same on every
run: the ``repro`` profile of tests/conftest.py) and each case starts from its own fixed seed;
the default tier runs the ``runs-fast`` profile, the slow tier ``runs-slow``. Each case records
which paths its examples took and requires unicorns, IPOs and acquisitions among them.
"""

from __future__ import annotations

import dataclasses
import json

import invariants as inv
import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, seed, settings
from hypothesis import strategies as st

from agents import Bank
from sim.config import Config, Tier, validate
from sim.io.files import write_results
from sim.io.schema import SUMMARY_TIMINGS, TABLE_SCHEMAS, to_arrow
from sim.policies.base import Policy
from sim.policies.registry import CONFIGS, configured_policy
from sim.run import run_simulation

# ------------------------------------------------------------------------------ the rules

STARTUP, GAZELLE, UNICORN = "startup", "gazelle", "unicorn"
#: Stage changes the model can make, and when. Gazelle status is assessed once a year, at the
#: December step (the year_end phase), so startup <-> gazelle changes happen only then; unicorn
#: status is assessed every month (the stages phase: valuation, age, funding), so a firm can become
#: a unicorn from either stage, and fall back to the stage its gazelle flag says, in any month.
ALLOWED = {
    (STARTUP, GAZELLE): "december",
    (GAZELLE, STARTUP): "december",
    (STARTUP, UNICORN): "any",
    (GAZELLE, UNICORN): "any",
    (UNICORN, STARTUP): "any",
    (UNICORN, GAZELLE): "any",
}
SIGNED = {"quality", "year", "month", "cash_at_end"}  # besides steps, the only columns that may be negative
# (cash_at_end: firms fail and are sold for their team when they run out of cash)
# NaN exactly for loans, and for firms that did not exit by IPO or acquisition
NAN_ALLOWED = {("deals", "pre_money"), ("deals", "post_money"), ("firms", "exit_value")}



# ------------------------------------------------------------------------------ a test policy


@dataclasses.dataclass
class Spender(Policy):
    """Spends a random share of its monthly budget (no transfer to firms), through the
    government's books: public spending must add up and the budgets hold whatever the amounts."""

    kind = "test_spender"
    share: float = 1.0

    def step(self, model, government) -> None:
        self.spend(model, government, self.share * self.rng(model).uniform(0.0, 2.0) * self.budget(model) / 12.0)


INTERVENTIONS = sorted(CONFIGS)  # the configured policies of conf/policy/
CASES = ["none", "spender", *INTERVENTIONS]


def make_policies(data, case: str) -> list[Policy]:
    """The case's intervention (none, the test spender, or a configured policy) with up to two
    configured interventions drawn at random beside it."""
    names = [] if case in ("none", "spender") else [case]
    if case != "none":
        names += data.draw(st.lists(st.sampled_from(INTERVENTIONS), max_size=2, unique=True), label="with")
    names = list(dict.fromkeys(names))
    if "sanctions_shock" in names and "targeted_support" in names:  # two shocks on the same tracks: refused
        names.remove("targeted_support" if case != "targeted_support" else "sanctions_shock")
    policies = [configured_policy(n) for n in names]
    if case == "spender":
        policies.append(Spender(name="spender", budget_mcny_per_year=data.draw(fl(0.0, 500.0), label="spender.budget"),
                                share=data.draw(fl(0.0, 1.5), label="spender.share")))
    return policies


# ------------------------------------------------------------------------------ configurations


def fl(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def draw_config(data, eventful: bool = False) -> Config:
    """A random valid configuration of a teaching-size run. ``eventful`` narrows the keys that
    decide whether a small run has unicorns, IPOs and acquisitions to the part of their range
    where it does (enough time, investors and survival; low listing and unicorn bars); the
    other keys keep their whole range."""
    d = data.draw

    def r(broad, narrow):
        return narrow if eventful else broad

    cfg = Config()
    cfg.seed = d(st.integers(0, 2**32), label="seed")
    cfg.scale = d(r(fl(0.003, 0.012), fl(0.006, 0.012)), label="scale")
    cfg.years = d(r(st.integers(1, 3), st.just(3)), label="years")
    cfg.output.plots = False
    cfg.output.firm_years = d(st.booleans(), label="firm_years")
    eco = cfg.ecosystem
    eco.warmup_years = d(r(st.integers(0, 3), st.integers(2, 3)), label="warmup_years")
    f = eco.firms
    f.births_per_year = d(fl(30_000, 200_000), label="births_per_year")  # zero births: test_faults
    f.births_growth = d(fl(-0.5, 0.5), label="births_growth")
    f.alumni_share = d(fl(0.0, 0.5), label="alumni_share")
    f.spinoff_share = d(fl(0.0, 0.5), label="spinoff_share")
    f.closure_hazard = d(r(fl(0.0, 2.0), fl(0.0, 0.5)), label="closure_hazard")
    f.closure_hazard_mature = d(r(fl(0.0, 2.0), fl(0.0, 0.3)), label="closure_hazard_mature")
    f.closure_decay_years = d(fl(0.1, 10.0), label="closure_decay_years")
    f.graduation_age_years = d(r(fl(1.0, 12.0), fl(3.0, 12.0)), label="graduation_age_years")
    f.founder_cash_mcny = d(r(fl(0.05, 5.0), fl(0.05, 0.5)), label="founder_cash_mcny")
    f.growth_sigma = d(fl(0.0, 2.0), label="growth_sigma")
    fu = eco.funding
    fu.screening_noise = d(r(fl(0.0, 5.0), fl(0.0, 1.5)), label="screening_noise")
    fu.screening_bar = d(st.lists(r(fl(-2.0, 4.0), fl(-2.0, 1.5)), min_size=5, max_size=5), label="screening_bar")
    fu.attempt_probability = d(r(fl(0.01, 1.0), fl(0.2, 1.0)), label="attempt_probability")
    fu.dilution_min, fu.dilution_max = sorted(d(st.lists(fl(0.01, 0.9), min_size=2, max_size=2), label="dilution"))
    fu.insider_share = d(fl(0.0, 0.9), label="insider_share")
    eco.angels.count = d(r(st.integers(0, 800), st.integers(100, 800)), label="angels.count")
    eco.vc.initial_funds = d(r(st.integers(0, 600), st.integers(50, 600)), label="vc.initial_funds")
    eco.vc.commitments_mcny_per_year = d(r(fl(0.0, 200_000), fl(10_000, 200_000)), label="vc.commitments")
    eco.vc.reserve_ratio = d(fl(0.0, 0.9), label="vc.reserve_ratio")
    eco.vc.life_years = d(fl(1.0, 12.0), label="vc.life_years")
    eco.vc.investment_period_years = d(fl(0.5, eco.vc.life_years), label="vc.investment_period_years")
    eco.guidance.count = d(st.integers(0, 8), label="guidance.count")
    eco.guidance.coinvest_ratio = d(fl(0.0, 5.0), label="guidance.coinvest_ratio")
    b = eco.banks
    b.count = d(st.integers(0, 10), label="banks.count")
    b.capital_mcny = d(fl(0.0, 20_000), label="banks.capital_mcny")
    b.min_revenue_mcny = d(fl(0.0, 20.0), label="banks.min_revenue_mcny")
    b.loan_to_revenue = d(fl(0.01, 5.0), label="banks.loan_to_revenue")
    b.rate = d(fl(0.0, 1.0), label="banks.rate")
    b.term_months = d(st.integers(1, 120), label="banks.term_months")
    b.min_margin = d(fl(-10.0, 1.0), label="banks.min_margin")
    b.apply_probability = d(fl(0.0, 1.0), label="banks.apply_probability")
    b.recovery_rate = d(fl(0.0, 1.0), label="banks.recovery_rate")
    ex = eco.exits
    ex.ipo_rate = d(r(fl(0.0, 12.0), fl(2.0, 12.0)), label="exits.ipo_rate")
    ex.ipo_min_revenue_mcny = d(r(fl(0.0, 300.0), fl(0.0, 2.0)), label="exits.ipo_min_revenue_mcny")
    ex.ipo_min_valuation_mcny = d(r(fl(0.0, 2000.0), fl(0.0, 20.0)), label="exits.ipo_min_valuation_mcny")
    ex.ipo_min_age_years = d(r(fl(0.0, 3.0), fl(0.0, 0.5)), label="exits.ipo_min_age_years")
    ex.acquisition_rate = d(r(fl(0.0, 12.0), fl(1.0, 12.0)), label="exits.acquisition_rate")
    ex.acquisition_min_employees = d(r(fl(1.0, 30.0), fl(1.0, 5.0)), label="exits.acquisition_min_employees")
    eco.institutes.count = d(st.integers(0, 80), label="institutes.count")
    s = cfg.stages
    s.gazelle_definition = d(st.sampled_from(["oecd", "eu10", "tiered_cn"]), label="gazelle_definition")
    s.gazelle_measure = d(st.sampled_from(["employees", "revenue"]), label="gazelle_measure")
    s.gazelle_window_years = d(st.integers(1, 3), label="gazelle_window_years")
    s.gazelle_min_start_employees = d(fl(0.0, 10.0), label="gazelle_min_start_employees")
    s.gazelle_max_age_years = d(fl(0.0, 8.0), label="gazelle_max_age_years")
    lows = sorted(set(d(st.lists(fl(0.0, 200.0), min_size=1, max_size=3), label="tier lows")))
    s.tiered_cn_tiers = [Tier(lo, d(fl(-0.9, 1.0), label="tier cagr")) for lo in lows]
    s.tiered_cn_window_years = d(st.integers(1, 3), label="tiered_cn_window_years")
    # low unicorn bars, so that small runs have unicorns and every transition can occur
    s.unicorn_min_valuation_usd_bn = d(st.sampled_from(r([0.003, 0.01, 0.03, 1.0], [0.003, 0.01])),
                                       label="unicorn_min_valuation_usd_bn")
    s.unicorn_max_age_years = d(r(fl(0.5, 12.0), fl(3.0, 12.0)), label="unicorn_max_age_years")
    s.unicorn_min_raised_usd_m = d(st.one_of(st.just(0.0), r(fl(0.0, 5.0), fl(0.0, 0.5))),
                                   label="unicorn_min_raised_usd_m")
    return validate(cfg)  # the draws stay inside the documented ranges


def draw_run(data, case: str, eventful: bool = False):
    cfg = draw_config(data, eventful)
    policies = make_policies(data, case)
    # the government funds the composition: its budget is drawn between the sum of the policies'
    # budgets (the most a run accepts: more stops it with a ConfigError) and twice that
    total = sum(p.budget_mcny_per_year for p in policies)
    if total > 0:
        cfg.ecosystem.government.budget_mcny_per_year = total * data.draw(fl(1.0, 2.0), label="government.budget")
    return run_simulation(cfg, progress=False, policies=policies), policies


# ------------------------------------------------------------------------------ the checks


def check_firm_lives(res) -> None:
    firms, model = res.tables["firms"], res.model
    assert (firms["firm_id"].to_numpy() == np.arange(len(firms))).all()
    ended = firms["end_kind"].notna()
    assert (ended == firms["end_step"].notna()).all(), "an end kind without an end step, or the reverse"
    assert int((~ended).sum()) == model.population.n
    assert set(model.population["id"].tolist()) == set(firms.loc[~ended, "firm_id"].tolist())
    end = firms["end_step"].astype("float64")
    assert (end[ended] >= firms.loc[ended, "born_step"]).all()
    last_step = res.config.years * 12 - 1
    assert (end[ended] <= last_step).all()
    assert (firms["born_step"] >= -res.config.ecosystem.warmup_years * 12).all()
    assert (firms["born_step"] <= last_step).all()
    # stage dates inside the firm's life; ends happen before the stage tests of their month
    for col in ("gazelle_step", "unicorn_step"):
        s = firms[col].astype("float64")
        has = s.notna()
        assert (s[has] >= firms.loc[has, "born_step"]).all(), col
        assert (s[has & ended] < end[has & ended]).all(), col
    # gazelles are assessed at the December step; a firm enters the gazelle stage in another month only
    # when it falls back from unicorn (too old or valued below the bar) with its gazelle flag set
    has_g = firms["gazelle_step"].notna()
    g = firms.loc[has_g, "gazelle_step"].astype(int)
    u = firms.loc[has_g, "unicorn_step"].astype("float64")
    assert ((g % 12 == 11) | (u < g)).all(), "a gazelle outside December that was not a unicorn before"

    ts = res.tables["timeseries"]
    if len(ts):
        # the monthly stock follows births and ends
        ends = ts["deaths"] + ts["exits_ipo"] + ts["exits_acquired"] + ts["aged_out"]
        alive_before = int(((firms["born_step"] < 0) & (end.isna() | (end >= 0))).sum())
        prev = np.concatenate([[alive_before], ts["firms"].to_numpy()[:-1]])
        assert (ts["firms"].to_numpy() == prev + ts["births"].to_numpy() - ends.to_numpy()).all()
        assert (ts["startups"] + ts["gazelles"] + ts["unicorns"] == ts["firms"]).all()
        assert (ts["births_independent"] + ts["births_spinoff"] + ts["births_alumni"] == ts["births"]).all()
        kind = firms["end_kind"].fillna("alive")
        observed_end = end.fillna(-1e9) >= 0
        for column, k in (
            ("deaths", "failed"),
            ("exits_ipo", "ipo"),
            ("exits_acquired", "acquired"),
            ("aged_out", "aged_out"),
        ):
            assert ts[column].sum() == int((observed_end & (kind == k)).sum()), column
        assert ts["births"].sum() == int((firms["born_step"] >= 0).sum())
        assert ts["new_unicorns"].sum() == int((firms["unicorn_step"].astype("float64").fillna(-1e9) >= 0).sum())
        assert ts["new_gazelles"].sum() == int((firms["gazelle_step"].astype("float64").fillna(-1e9) >= 0).sum())


def stage_history(ch: pd.DataFrame) -> pd.DataFrame:
    """Stage changes in the order they happened (the table's order within a step)."""
    return (
        ch.reset_index(drop=True)
        .rename_axis("order")
        .reset_index()
        .sort_values(["firm_id", "step", "order"], kind="stable")
    )


def check_stage_changes(res) -> None:
    ch = res.tables["stage_changes"]
    firms = res.tables["firms"].set_index("firm_id")
    pairs = set(zip(ch["from_stage"], ch["to_stage"], strict=True))
    assert pairs <= set(ALLOWED), pairs - set(ALLOWED)
    december = ch["step"] % 12 == 11
    for (a, b), when in ALLOWED.items():
        if when == "december":
            sel = (ch["from_stage"] == a) & (ch["to_stage"] == b)
            assert december[sel].all(), f"{a} -> {b} outside a year end"
    h = stage_history(ch)
    if len(h):
        born = firms.loc[h["firm_id"], "born_step"].to_numpy()
        end = firms.loc[h["firm_id"], "end_step"].astype("float64").to_numpy()
        assert (h["step"].to_numpy() >= born).all()
        assert (np.isnan(end) | (h["step"].to_numpy() < end)).all(), "a stage change after the firm ended"
        first = h.groupby("firm_id").head(1)
        assert (first["from_stage"] == STARTUP).all(), "firms are born startups"
        same_firm = h["firm_id"].to_numpy()[1:] == h["firm_id"].to_numpy()[:-1]
        chained = h["from_stage"].to_numpy()[1:] == h["to_stage"].to_numpy()[:-1]
        assert chained[same_firm].all(), "a change does not start from the stage the previous one left"
        # the unicorn date is the first change to unicorn
        to_u = h[h["to_stage"] == UNICORN].groupby("firm_id")["step"].min()
        u = firms["unicorn_step"].dropna().astype(int)
        assert to_u.sort_index().to_dict() == u.sort_index().to_dict()
        # a firm shown as a gazelle was assessed one, at or before that change
        to_g = h[h["to_stage"] == GAZELLE].groupby("firm_id")["step"].min()
        g = firms["gazelle_step"].astype("float64")
        assert g.loc[to_g.index].notna().all()
        assert (g.loc[to_g.index].to_numpy() <= to_g.to_numpy()).all()

    # replaying the changes gives the stages of the panel and of the time series
    last = h.groupby(["firm_id", "step"]).tail(1)[["firm_id", "step", "to_stage"]]
    start = res.config.ecosystem.start_year
    fy = res.tables.get("firm_years")
    if fy is not None and len(fy):
        rows = fy.assign(step=(fy["year"].astype(np.int64) - start) * 12 + 11).sort_values("step")
        last64 = last.astype({"step": np.int64, "firm_id": np.int64}).sort_values("step")
        replay = pd.merge_asof(rows, last64, on="step", by="firm_id", direction="backward")
        assert (replay["to_stage"].fillna(STARTUP) == replay["stage"]).all()
    ts = res.tables["timeseries"]
    if len(ts):
        alive = firms.index[firms["end_kind"].isna()]
        final = last.groupby("firm_id")["to_stage"].last().reindex(alive).fillna(STARTUP)
        counts = final.value_counts()
        row = ts.iloc[-1]
        for stage, column in ((STARTUP, "startups"), (GAZELLE, "gazelles"), (UNICORN, "unicorns")):
            assert int(counts.get(stage, 0)) == int(row[column]), column


def check_money(res, policies) -> None:
    model = res.model
    held, flowed = model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    market = model.market
    n = len(market.investors)
    lots, deals = market.lots, market.deals
    lot_invested = np.bincount(lots["investor"], weights=lots["invested"], minlength=n)
    lot_proceeds = np.bincount(lots["investor"], weights=lots["proceeds"], minlength=n)
    dealt = np.bincount(deals["investor"], weights=deals["amount"], minlength=n)
    for agent in market.investors:
        assert agent.balanced(), agent.name  # committed == cash + invested + returned (banks: their identity)
        assert agent.cash >= -agent.credit - 1e-6 and agent.invested >= 0 and agent.committed >= 0, agent.name
        # every yuan an investor paid out is a deal, and every equity deal a lot
        assert dealt[agent.index] == pytest.approx(agent.invested, rel=1e-9, abs=1e-6), agent.name
        if not isinstance(agent, Bank):
            assert lot_invested[agent.index] == pytest.approx(agent.invested, rel=1e-9, abs=1e-6), agent.name
            assert lot_proceeds[agent.index] == pytest.approx(agent.proceeds, rel=1e-9, abs=1e-6), agent.name
    equity = deals["round"] < 5
    assert deals["amount"][equity].sum() == pytest.approx(res.tables["firms"]["total_raised"].sum(), rel=1e-9, abs=1e-6)
    # the written tables tell the same story
    inv = res.tables["investors"].set_index("investor_id")
    pos = res.tables["positions"].groupby("investor_id")[["invested", "proceeds"]].sum()
    equity_inv = inv[inv["kind"] != "bank"]
    got = pos.reindex(equity_inv.index, fill_value=0.0)
    np.testing.assert_allclose(got["invested"], equity_inv["invested"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got["proceeds"], equity_inv["proceeds"], rtol=1e-9, atol=1e-6)
    assert set(res.tables["positions"]["investor_kind"]) <= {"angel", "vc", "guidance_fund", "cvc"}
    d = res.tables["deals"]
    by_kind = d.groupby("investor_kind")["amount"].sum()
    ts = res.tables["timeseries"]
    for kind, column in (
        ("angel", "angel_invested"),
        ("vc", "vc_invested"),
        ("guidance_fund", "guidance_invested"),
        ("cvc", "cvc_invested"),
        ("bank", "bank_lending"),
    ):
        assert ts[column].sum() == pytest.approx(by_kind.get(kind, 0.0), rel=1e-9, abs=1e-6), column
    # public spending is the policies' spending, within every budget
    gov = model.government
    spent = [p.spent for p in policies]
    assert gov.spent_total == pytest.approx(sum(spent), rel=1e-12, abs=1e-9)
    assert sum(gov.spent_by_policy.values()) == pytest.approx(gov.spent_total, rel=1e-12, abs=1e-9)
    for p in policies:
        assert gov.spent_by_policy.get(p.name, 0.0) == pytest.approx(p.spent, rel=1e-12, abs=1e-9)
    observed = ts["public_spending"].sum() if len(ts) else 0.0
    assert observed == pytest.approx(res.summary["totals"]["public_spending_observed"], abs=1e-6)
    assert observed <= gov.spent_total * (1 + 1e-12) + 1e-9
    if not policies:
        assert gov.spent_total == 0.0 and observed == 0.0
    if len(ts):
        yearly = ts.groupby("year")["public_spending"].sum()
        assert (yearly <= gov.budget_per_year * (1 + 1e-9) + 1e-9).all()
        assert (yearly <= sum(p.budget(model) for p in policies) * (1 + 1e-9) + 1e-9).all()


def check_values(res) -> None:
    for name, df in res.tables.items():
        to_arrow(name, df)  # columns, types, allowed values: the output contract
        for col in df.columns:
            s = df[col]
            if pd.api.types.is_float_dtype(s):
                v = s.to_numpy(dtype=float)
                assert not np.isinf(v).any(), (name, col)
                if (name, col) not in NAN_ALLOWED:
                    assert not np.isnan(v).any(), (name, col)
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                if col.endswith("step") or col in SIGNED:
                    continue  # steps are negative in the warm-up; quality is in sd around 0
                v = s.dropna().to_numpy(dtype=float)
                assert (v >= 0).all(), f"negative value in {name}.{col}"
    d = res.tables["deals"]
    loans = (d["round"] == "loan").to_numpy()
    for col in ("pre_money", "post_money"):
        assert d[col].isna().to_numpy()[loans].all() and d[col].notna().to_numpy()[~loans].all(), col
    assert (d["amount"] > 0).all()
    eq = d[~loans]
    assert np.allclose(
        eq["post_money"], eq["pre_money"] + eq.groupby(["firm_id", "step", "round"])["amount"].transform("sum")
    )


# ------------------------------------------------------------------------------ the tests


def check_independent_invariants(res) -> None:
    """tests/invariants.py on a run of any valid configuration."""
    inv.check_rounds_and_cap_tables(res.tables, res.summary, res.config)
    inv.check_loans(res.tables, res.config)
    inv.check_derived_columns(res.tables, res.summary, res.config)
    st_cfg = res.config.stages
    if (st_cfg.gazelle_definition == "oecd" and st_cfg.unicorn_min_raised_usd_m == 0
            and res.config.output.firm_years):
        inv.check_stage_rules(res.tables, res.config)


def paths_of(res) -> set[str]:
    t = res.summary["totals"]
    return {name for name, key in (("unicorn", "unicorns_ever"), ("ipo", "ipos_observed"),
                                   ("acquisition", "acquisitions_observed")) if t[key] > 0}


#: Examples per case: the default tier's (``runs-fast``) and the slow tier's (``runs-slow``), which runs the
#: default tier's examples and more (so a whole run needs only the slow test: tests/conftest.py deselects the
#: fast test of a case whose slow test is selected).
FAST = settings.get_profile("runs-fast").max_examples
SLOW = settings.get_profile("runs-slow").max_examples


def _batches(profile: str) -> list[tuple[int, int, int]]:
    """(first seed, eventful examples, broad examples) of each batch of ``profile``'s examples: the
    default tier's batch, then, for the slow tier, the examples beyond it from other seeds."""
    fast = (0, FAST, max(1, FAST // 2))
    if profile == "runs-fast":
        return [fast]
    return [fast, (2000, SLOW - FAST, max(1, SLOW // 2 - fast[2]))]


def run_case(case: str, profile: str) -> None:
    """The case's examples (``profile``'s number of them in eventful worlds, half as many in
    worlds drawn from the whole ranges) must keep every invariant; the eventful examples must
    reach a unicorn, an IPO and an acquisition."""
    seen: set[str] = set()

    def check(data, eventful: bool) -> None:
        res, policies = draw_run(data, case, eventful)
        assert res.summary["finished"] is True
        assert len(res.tables["timeseries"]) == res.config.years * 12
        check_firm_lives(res)
        check_stage_changes(res)
        check_money(res, policies)
        check_values(res)
        check_independent_invariants(res)
        for path in paths_of(res):
            event(path)
        if eventful:
            seen.update(paths_of(res))

    base = settings.get_profile(profile)
    for first, n_eventful, n_broad in _batches(profile):

        @seed(first + CASES.index(case))
        @settings(base, max_examples=n_eventful)
        @given(st.data())
        def eventful(data):
            check(data, True)

        @seed(first + 1000 + CASES.index(case))
        @settings(base, max_examples=n_broad)
        @given(st.data())
        def broad(data):
            check(data, False)

        eventful()
        broad()
    assert seen == {"unicorn", "ipo", "acquisition"}, f"the eventful examples of {case} reached only {sorted(seen)}"


@pytest.mark.subsumed_by("test_invariants_hold_for_many_random_valid_configurations")
@pytest.mark.parametrize("case", CASES)
def test_invariants_hold_for_random_valid_configurations(case):
    run_case(case, "runs-fast")


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("case", CASES)
def test_invariants_hold_for_many_random_valid_configurations(case):
    assert sum(b[1] for b in _batches("runs-slow")) == SLOW and _batches("runs-slow")[0] == _batches("runs-fast")[0]
    run_case(case, "runs-slow")


@settings(settings.get_profile("runs-fast"), max_examples=5)
@given(data=st.data())
def test_the_same_seed_reproduces_byte_identical_files(tmp_path_factory, data):
    cfg = draw_config(data)
    files = []
    for _attempt in range(2):
        policies = [Spender(name="spender", budget_mcny_per_year=20.0, share=0.8)]
        res = run_simulation(dataclasses.replace(cfg), progress=False, policies=policies)
        out = tmp_path_factory.mktemp("repro")
        summary = {k: v for k, v in res.summary.items() if k not in SUMMARY_TIMINGS}
        write_results(out, res.tables, summary)
        files.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert files[0].keys() == files[1].keys()
    assert {f"{t}.parquet" for t in TABLE_SCHEMAS if t != "firm_years" or cfg.output.firm_years} <= set(files[0])
    for name in files[0]:
        assert files[0][name] == files[1][name], f"{name} differs between two runs with seed {cfg.seed}"
    assert json.loads(files[0]["summary.json"])["finished"] is True


def test_the_stage_rules_are_all_seen():
    """The allowed set is not wider than the model: with a low unicorn bar, a few runs show
    every transition of :data:`ALLOWED` (a rule the model cannot produce would not belong there)."""
    seen = set()
    for root in range(3):
        cfg = Config()
        cfg.seed, cfg.scale, cfg.years = root, 0.01, 4
        cfg.ecosystem.warmup_years = 3
        cfg.output.plots = False
        cfg.stages.gazelle_definition = "oecd"
        cfg.stages.gazelle_window_years = 1
        cfg.stages.gazelle_min_start_employees = 2.0
        cfg.stages.gazelle_max_age_years = 0.0  # gazelle flags outlive unicorn status ...
        cfg.stages.unicorn_min_valuation_usd_bn = 0.004
        cfg.stages.unicorn_max_age_years = 2.0  # ... which ends at age 2: unicorn -> gazelle/startup
        res = run_simulation(cfg, progress=False)
        ch = res.tables["stage_changes"]
        seen |= set(zip(ch["from_stage"], ch["to_stage"], strict=True))
        check_stage_changes(res)
        if seen >= set(ALLOWED):
            break
    assert seen == set(ALLOWED)

"""Whole-model behaviour: invariants, reproducibility, agents and outputs of real runs."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest

from agents import Angel, Bank, Firm, GuidanceFund, VCFund
from sim import load_config
from sim.config import Config
from sim.io.schema import TABLE_SCHEMAS, to_arrow
from sim.model import PHASES, EcosystemModel
from sim.policies.registry import CONFIGS
from sim.run import WarmStart, run_simulation


def small_config(seed: int = 7, **eco) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = 0.02
    cfg.years = 4
    cfg.ecosystem.warmup_years = 4
    cfg.output.plots = False
    for key, value in eco.items():
        section, name = key.split("__")
        setattr(getattr(cfg.ecosystem, section), name, value)
    return cfg


@pytest.fixture(scope="module")
def result():
    return run_simulation(small_config(), progress=False)


# ------------------------------------------------------------------------------ invariants


def test_every_firm_is_alive_or_has_exactly_one_end(result):
    firms = result.tables["firms"]
    model = result.model
    ended = firms["end_kind"].notna()
    # an end kind always comes with an end step, and only then
    assert (ended == firms["end_step"].notna()).all()
    assert int((~ended).sum()) == model.population.n
    live_ids = set(model.population["id"].tolist())
    assert live_ids == set(firms.loc[~ended, "firm_id"].tolist())
    assert firms["firm_id"].is_unique
    assert (firms.loc[ended, "end_step"] >= firms.loc[ended, "born_step"]).all()
    assert set(firms.loc[ended, "end_kind"]) <= {"failed", "acquired", "ipo", "aged_out"}


def test_cash_is_conserved_between_firms_investors_and_banks(result):
    held, flowed = result.model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_investor_books_balance(result):
    market = result.model.market
    assert any(isinstance(a, VCFund) for a in market.investors)
    for agent in market.investors:
        assert agent.balanced(), agent.name
    lots = market.lots
    per_investor = np.bincount(lots["investor"], weights=lots["invested"], minlength=len(market.investors))
    for agent in market.investors:
        if isinstance(agent, Bank):
            continue
        # every yuan an equity investor paid out is a lot in some firm
        assert per_investor[agent.index] == pytest.approx(agent.invested, rel=1e-9, abs=1e-6), agent.name
    # proceeds received equal the proceeds booked on lots
    proceeds = np.bincount(lots["investor"], weights=lots["proceeds"], minlength=len(market.investors))
    for agent in market.investors:
        if not isinstance(agent, Bank):
            assert proceeds[agent.index] == pytest.approx(agent.proceeds, rel=1e-9, abs=1e-6), agent.name


def test_deals_match_money_raised_by_firms(result):
    d = result.model.market.deals
    equity = d["round"] < 5
    firms = result.tables["firms"]
    assert d["amount"][equity].sum() == pytest.approx(firms["total_raised"].sum(), rel=1e-9)


def test_timeseries_counts_add_up(result):
    ts = result.tables["timeseries"]
    assert len(ts) == result.config.years * 12
    assert (ts["startups"] + ts["gazelles"] + ts["unicorns"] == ts["firms"]).all()
    assert (ts["births_independent"] + ts["births_spinoff"] + ts["births_alumni"] == ts["births"]).all()
    # flows in the time series equal the firm records of the observed window
    firms = result.tables["firms"]
    assert ts["births"].sum() == (firms["born_step"] >= 0).sum()
    observed_end = firms["end_step"].fillna(-10**9) >= 0
    kind = firms["end_kind"].fillna("alive")
    assert ts["deaths"].sum() == (observed_end & (kind == "failed")).sum()
    assert ts["exits_acquired"].sum() == (observed_end & (kind == "acquired")).sum()
    assert ts["exits_ipo"].sum() == (observed_end & (kind == "ipo")).sum()
    assert ts["aged_out"].sum() == (observed_end & (kind == "aged_out")).sum()
    assert ts["new_gazelles"].sum() == (firms["gazelle_step"].fillna(-10**9) >= 0).sum()


def test_no_nan_or_infinity_in_any_table(result):
    allowed_nan = {("deals", "pre_money"), ("deals", "post_money"), ("firms", "exit_value")}
    for name, df in result.tables.items():
        for col in df.columns:
            s = df[col]
            if pd.api.types.is_float_dtype(s):
                assert np.isfinite(s.to_numpy(dtype=float)[~s.isna().to_numpy()]).all(), (name, col)
                if (name, col) not in allowed_nan:
                    assert not s.isna().any(), (name, col)
        if name == "deals":
            loans = df["round"] == "loan"
            assert df.loc[~loans, ["pre_money", "post_money"]].notna().all().all()


def test_tables_follow_the_output_contract(result):
    for name, df in result.tables.items():
        assert name in TABLE_SCHEMAS
        to_arrow(name, df)  # raises on a missing, extra or mistyped column


def test_stage_transitions_are_consistent_with_first_stage_steps(result):
    ch = result.tables["stage_changes"]
    firms = result.tables["firms"].set_index("firm_id")
    assert (ch["from_stage"] != ch["to_stage"]).all()
    to_g = ch[ch["to_stage"] == "gazelle"].groupby("firm_id")["step"].min()
    to_u = ch[ch["to_stage"] == "unicorn"].groupby("firm_id")["step"].min()
    g = firms["gazelle_step"].dropna()
    u = firms["unicorn_step"].dropna()
    assert set(to_g.index) == set(g.index)
    assert (to_g.sort_index().to_numpy() == g.sort_index().to_numpy()).all()
    assert set(to_u.index) == set(u.index)
    # each firm's successive changes chain: from_stage of one change is to_stage of the previous
    for _, grp in ch.sort_values(["firm_id", "step"]).groupby("firm_id"):
        assert (grp["from_stage"].to_numpy()[1:] == grp["to_stage"].to_numpy()[:-1]).all()


def test_positions_multiples_and_status(result):
    pos = result.tables["positions"]
    assert (pos["invested"] > 0).all()
    assert set(pos["status"]) <= {"realized", "written_off", "unrealized"}
    wo = pos["status"] == "written_off"
    # a failed firm's cash left after the bank and its wind-down costs goes to its investors by
    # their liquidation preference (1x): they recover something, never a gain on the whole
    assert (pos.loc[wo, "proceeds"] >= 0).all() and (pos.loc[wo, "residual_value"] == 0).all()
    assert pos.loc[wo, "proceeds"].sum() < pos.loc[wo, "invested"].sum()
    m = (pos["proceeds"] + pos["residual_value"]) / pos["invested"]
    assert np.allclose(m, pos["multiple"])


def test_many_failures_leave_their_investors_nothing():
    """Over five worlds (seeds 7-11, scale 0.02), more than 30 % of the written-off VC positions get nothing
    back. One world's share is too noisy to judge (0.24-0.46 across these seeds; it was one seed's until
    2026-12-05): the mean over the five is checked, with each world's share named in the message."""
    shares = []
    for seed in range(7, 12):
        pos = run_simulation(small_config(seed=seed), progress=False).tables["positions"]
        wo = pos[pos["status"] == "written_off"]
        assert len(wo) > 30, seed
        shares.append(float((wo["multiple"] == 0).mean()))
    assert np.mean(shares) > 0.3, shares


# ------------------------------------------------------------------------------ agents


def test_all_actor_kinds_are_mesa_agents(result):
    model = result.model
    kinds = {type(a).__name__ for a in model.agents}
    assert {"Angel", "VCFund", "GuidanceFund", "Bank", "ResearchInstitute", "Government", "Incumbent",
            "CorporateVC"} <= kinds


def test_every_firm_is_addressable_as_an_agent(result):
    model = result.model
    firms = result.tables["firms"]
    alive = int(firms.loc[firms["end_kind"].isna(), "firm_id"].iloc[0])
    dead = int(firms.loc[firms["end_kind"].notna(), "firm_id"].iloc[0])
    a = model.firm(alive)
    assert isinstance(a, Firm) and a.alive and a in model.agents
    assert a.employees == pytest.approx(model.population["employees"][model.population.row(alive)])
    b = model.firm(dead)
    assert not b.alive and b.end_kind == firms.set_index("firm_id").loc[dead, "end_kind"]
    assert model.firm(alive) is a
    with pytest.raises(KeyError):
        model.firm(10**12)


def test_unicorns_are_registered_as_agents():
    cfg = small_config(seed=3)
    cfg.stages.unicorn_min_valuation_usd_bn = 0.02  # a low bar so a small run has some
    res = run_simulation(cfg, progress=False)
    uni = res.tables["firms"]["unicorn_step"].dropna().index
    assert len(uni) > 0
    registered = {a.firm_id for a in res.model.agents if isinstance(a, Firm)}
    assert set(res.tables["firms"].loc[uni, "firm_id"]) <= registered


def test_phases_are_timed_and_listed_once():
    names = [n for n, _ in PHASES]
    assert len(names) == len(set(names))
    model = EcosystemModel(small_config())
    t0 = time.perf_counter()
    model.step()
    wall = time.perf_counter() - t0
    assert set(model.phase_seconds) == set(names)
    # every phase ran (a clock read before and after it) and the phases add up to at most the step
    assert all(v > 0 for v in model.phase_seconds.values()), model.phase_seconds
    assert sum(model.phase_seconds.values()) <= wall


# ------------------------------------------------------------------------------ reproducibility


def _table_bytes(res, tmp_path, tag):
    out = tmp_path / tag
    res.write(out)
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}


def test_same_seed_gives_byte_identical_tables_and_another_seed_differs(tmp_path):
    a = _table_bytes(run_simulation(small_config(seed=11), progress=False), tmp_path, "a")
    b = _table_bytes(run_simulation(small_config(seed=11), progress=False), tmp_path, "b")
    c = _table_bytes(run_simulation(small_config(seed=12), progress=False), tmp_path, "c")
    assert a == b
    assert a["firms.parquet"] != c["firms.parquet"]
    assert a["timeseries.parquet"] != c["timeseries.parquet"]


def test_common_random_numbers_keep_a_firms_luck_when_others_change():
    """More alumni founders must not change what happens to the independent founders' firms
    in the first month (same keys, same draws)."""
    base = small_config(seed=5)
    more = dataclasses.replace(base, ecosystem=dataclasses.replace(base.ecosystem))
    more.ecosystem.firms = dataclasses.replace(base.ecosystem.firms, alumni_share=0.3)
    m1, m2 = EcosystemModel(base), EcosystemModel(more)
    m1.step()
    m2.step()
    p1, p2 = m1.population, m2.population
    k1 = {int(k): i for i, k in enumerate(p1["key"]) if p1["origin"][i] == 0}
    k2 = {int(k): i for i, k in enumerate(p2["key"]) if p2["origin"][i] == 0}
    common = sorted(set(k1) & set(k2))
    assert len(common) > 10
    r1 = np.array([k1[k] for k in common])
    r2 = np.array([k2[k] for k in common])
    np.testing.assert_array_equal(p1["quality"][r1], p2["quality"][r2])
    np.testing.assert_array_equal(p1["track"][r1], p2["track"][r2])


# ------------------------------------------------------------------------------ shared warm-up

_WARM_WORLD = ["scale=0.03", "years=3", "ecosystem.warmup_years=2", "seed=4", "output.plots=false",
               "output.progress=off"]


def _branched_equals_scratch(warm, overrides, tmp_path, tag):
    cfg = load_config(_WARM_WORLD + overrides)
    scratch = run_simulation(cfg, progress=False)
    branched = run_simulation(cfg, progress=False, warm_start=warm)
    assert branched.model.current_step == scratch.model.current_step == cfg.years * 12
    assert _table_bytes(branched, tmp_path, tag + "-b") == _table_bytes(scratch, tmp_path, tag + "-s")
    keep = ("wall_seconds", "phase_seconds", "phase_cpu_seconds")  # clocks
    same = {k: v for k, v in scratch.summary.items() if k not in keep}
    assert {k: v for k, v in branched.summary.items() if k not in keep} == same


@pytest.fixture(scope="module")
def warm():
    return WarmStart(load_config(_WARM_WORLD))


# a policy that founds firms (talent), one that adds an investor agent (fund), one that buys through
# the contract book (procurement), one that supports firms individually, and two policies together
@pytest.mark.parametrize("overrides", [[], ["policy=[talent_programme]"], ["policy=[guidance_fund]"],
                                       ["policy=[public_procurement]"], ["policy=[state_incubator,rd_grants]"],
                                       ["output.firm_years=false", "policy=[scene_opening]"]],
                         ids=["baseline", "talent", "fund", "procurement", "two", "outputs"])
def test_a_run_branched_from_the_shared_warm_up_is_the_run_from_scratch(warm, overrides, tmp_path):
    _branched_equals_scratch(warm, overrides, tmp_path, "x")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(CONFIGS) - {"talent_programme", "guidance_fund", "public_procurement",
                                                         "state_incubator", "rd_grants", "scene_opening"}))
def test_every_policy_branches_from_the_shared_warm_up_unchanged(warm, name, tmp_path):
    """The other policy configurations (those above are checked in the fast tier)."""
    _branched_equals_scratch(warm, [f"policy=[{name}]"], tmp_path, name)


@pytest.mark.parametrize("override", ["seed=5", "scale=0.04", "years=4", "ecosystem.warmup_years=3",
                                      "ecosystem.firms.alumni_share=0.3"])
def test_a_warm_start_refuses_another_world(warm, override):
    cfg = load_config(_WARM_WORLD + [override])
    assert not warm.fits(cfg)
    with pytest.raises(ValueError, match="another world"):
        run_simulation(cfg, progress=False, warm_start=warm)


def test_policies_cannot_be_adopted_once_the_window_has_begun(warm):
    model = warm.branch(load_config(_WARM_WORLD))
    model.step()
    with pytest.raises(RuntimeError, match="before the observed window"):
        model.government.adopt([])


# ------------------------------------------------------------------------------ extreme inputs


@pytest.mark.parametrize(
    "change",
    [
        {
            "angels__count": 0,
            "vc__initial_funds": 0,
            "vc__commitments_mcny_per_year": 0.0,
            "guidance__count": 0,
            "banks__count": 0,
            "incumbents__count": 0,  # their corporate venture funds are investors too
        },
        {"institutes__count": 0},
        {"incumbents__count": 0},
        {"firms__births_per_year": 0.0},
    ],
    ids=["no-investors", "no-institutes", "no-incumbents", "no-births"],
)
def test_empty_actor_sets_run_to_the_end(change):
    cfg = small_config(**change)
    cfg.years = 2
    res = run_simulation(cfg, progress=False)
    assert res.summary["finished"]
    assert len(res.tables["timeseries"]) == 24
    held, flowed = res.model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    if "angels__count" in change:
        assert res.tables["deals"]["investor_kind"].eq("bank").all() or len(res.tables["deals"]) == 0
        assert res.tables["firms"]["total_raised"].sum() == 0
    if "incumbents__count" in change:  # no incumbents: no alumni founders, no incumbent buyer
        assert res.tables["timeseries"]["births_alumni"].sum() == 0
        assert res.tables["firms"]["acquirer_id"].isna().all() and len(res.tables["incumbents"]) == 0


def test_horizons_of_zero_and_one_year():
    """years=0 runs no observed month; years=1 runs twelve, January to December of start_year
    (one month is tests/test_faults.py::test_one_month_horizon)."""
    cfg = small_config()
    cfg.years = 0
    cfg.ecosystem.warmup_years = 0
    res = run_simulation(cfg, progress=False)
    assert res.summary["finished"] and len(res.tables["timeseries"]) == 0 and len(res.tables["firms"]) == 0
    cfg.years = 1
    res = run_simulation(cfg, progress=False)
    ts = res.tables["timeseries"]
    assert ts["step"].tolist() == list(range(12)) and ts["month"].tolist() == list(range(1, 13))
    assert (ts["year"] == cfg.ecosystem.start_year).all() and res.summary["years"] == 1


def test_investor_classes_present_at_teaching_scale():
    model = EcosystemModel(small_config())
    counts = {cls: len(model.agents_by_type.get(cls, [])) for cls in (Angel, VCFund, GuidanceFund, Bank)}
    assert all(n >= 1 for n in counts.values()), counts

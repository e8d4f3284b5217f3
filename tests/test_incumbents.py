"""Large incumbent firms (agents/incumbents.py), supply contracts (agents/contracts.py) and the
tracks' fission count: budgets, strategic tracks, alumni founders and conservation, checked from the
output tables and recomputed independently (budgets rebuilt from the incumbents' final size and
growth, strategic tracks rebuilt from the genealogy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import Config
from sim.core.clock import MONTHS
from sim.model import EcosystemModel
from sim.run import run_simulation

START = 2015
YEARS = 4


def config(seed: int = 2, scale: float = 0.05, **incumbents) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = scale
    cfg.years = YEARS
    cfg.ecosystem.warmup_years = 3
    cfg.output.plots = False
    for key, value in incumbents.items():
        setattr(cfg.ecosystem.incumbents, key, value)
    return cfg


@pytest.fixture(scope="module")
def result():
    return run_simulation(config(), progress=False)


def yearly_budget(row, share: float, growth: float, year: int, last_year: int, rev_per_employee: float) -> float:
    """An incumbent's budget in ``year``, rebuilt from its size at the end of the run: it grew by
    ``growth`` at every year end, and the budget of a year is set at the end of the year before."""
    employees = row["employees"] / (1.0 + growth) ** (last_year - year + 1)
    return share * employees * rev_per_employee


def strategic_closure(tracks, home) -> set[int]:
    """Home tracks, every track derived from one of them and every track that absorbed one of those
    (from the genealogy and the merges), to a fixed point."""
    out = set(int(h) for h in home)
    merged = tracks["merged_into"]
    while True:
        size = len(out)
        for t, parents, into in zip(tracks["track_id"], tracks["parent_ids"], merged, strict=True):
            if any(int(p) in out for p in parents):
                out.add(int(t))
            if int(t) in out and pd.notna(into) and int(into) >= 0:
                out.add(int(into))
        if len(out) == size:
            return out


def test_a_track_that_absorbs_a_strategic_track_becomes_strategic():
    """A consolidated track's business moves to its absorber, and so does the incumbents' interest."""
    m = EcosystemModel(config())
    tr = m.tracks
    inc = next(iter(m.incumbents))
    fit = inc.fit(tr)
    home = next(t for t in range(tr.n) if fit[t] > 0 and tr.level[t] == "new")
    other = next(t for t in range(tr.n) if fit[t] == 0 and tr.level[t] == "new" and tr["active"][t])
    m.track_dynamics.merge(home, other, m.current_step)
    assert inc.fit(tr)[other] == 1.0
    assert inc.strategic_prefs(tr)[other] > 0 and inc.strategic_prefs(tr)[home] == 0  # an ended track has no weight


def test_incumbents_are_mesa_agents_with_a_table(result):
    m = result.model
    inc = result.tables["incumbents"]
    cfg = m.cfg.ecosystem.incumbents
    assert len(inc) == len(m.incumbents) == max(1, round(cfg.count * m.scale))
    assert all(a in m.agents for a in m.incumbents)
    # their size: weight preset incumbents of mean headcount, grown since start_year
    grown = (1 + cfg.growth) ** YEARS
    assert inc["employees"].sum() == pytest.approx(m.incumbents.reference_employees * grown)
    assert inc["weight"].sum() == pytest.approx(cfg.count * m.scale)


def test_acquisitions_stay_within_each_year_budget(result):
    m = result.model
    cfg = m.cfg.ecosystem.incumbents
    firms = result.tables["firms"]
    inc = result.tables["incumbents"].set_index("incumbent_id")
    bought = firms[firms["acquirer_id"].notna() & (firms["end_step"] >= 0)].copy()
    assert len(bought) > 0, "incumbents bought firms in the window"
    assert (bought["end_kind"] == "acquired").all()
    bought["year"] = START + bought["end_step"].astype(int) // MONTHS
    last = START + YEARS - 1
    for (iid, year), spent in bought.groupby(["acquirer_id", "year"])["exit_value"].sum().items():
        budget = yearly_budget(inc.loc[iid], cfg.acquisition_budget_share, cfg.growth, year, last,
                               cfg.revenue_per_employee_mcny)
        assert spent <= budget * (1 + 1e-9), (iid, year)
    assert inc["acquisitions"].sum() >= len(bought)
    assert (inc["acquisition_spend"] >= 0).all()


def test_corporate_funds_invest_only_in_their_parents_strategic_tracks(result):
    deals = result.tables["deals"]
    tracks = result.tables["tracks"]
    inc = result.tables["incumbents"]
    cvc_deals = deals[deals["investor_kind"] == "cvc"]
    assert len(cvc_deals) > 0
    for row in inc.itertuples():
        own = cvc_deals[cvc_deals["investor_id"] == row.cvc_investor_id]
        allowed = strategic_closure(tracks, row.strategic_track_ids)
        assert set(own["track_id"]) <= allowed, row.name
    # the corporate funds' money is in the time series
    ts = result.tables["timeseries"]
    assert ts["cvc_invested"].sum() == pytest.approx(cvc_deals["amount"].sum())


def test_procurement_contracts_run_within_the_budget_and_pay_out_exactly(result):
    m = result.model
    cfg = m.cfg.ecosystem.incumbents
    ccfg = m.cfg.ecosystem.contracts
    con = result.tables["contracts"]
    inc = result.tables["incumbents"].set_index("incumbent_id")
    mine = con[con["buyer_kind"] == "incumbent"]
    assert len(mine) > 0
    assert (mine["value"] <= ccfg.max_mcny + 1e-9).all() and (mine["value"] > 0).all()
    # at every observed month, the contracts an incumbent runs are worth at most its budget
    last = START + YEARS - 1
    for step in range(0, 12 * YEARS, 3):
        year = START + step // MONTHS
        running = mine[(mine["start_step"] <= step) & (mine["end_step"] > step)]
        for iid, value in running.groupby("buyer_id")["value"].sum().items():
            budget = yearly_budget(inc.loc[iid], cfg.procurement_share, cfg.growth, year, last,
                                   cfg.revenue_per_employee_mcny)
            assert value <= budget * (1 + 1e-9)
    # what the contracts paid in the window is the time series' contract payments, and the margin
    # went into the firms' cash (the ledger)
    paid_window = m.contracts.paid_total
    assert con["paid"].sum() == pytest.approx(paid_window)
    assert m.ledger.contract_margin == pytest.approx(paid_window * (1 - m.cfg.ecosystem.firms.cost_of_revenue))
    observed = result.tables["timeseries"]["contract_payments"].sum()
    assert 0 < observed <= paid_window * (1 + 1e-9)
    held, flowed = m.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_alumni_founders_follow_the_incumbents_headcount():
    """With static incumbents the alumni share of births is firms.alumni_share (the calibration
    point); with growing ones it rises with their headcount; with none there are no alumni."""
    static = run_simulation(config(scale=0.05, growth=0.0), progress=False).tables["timeseries"]
    share = static["births_alumni"].sum() / static["births"].sum()
    n = static["births"].sum()
    base = 0.15
    assert abs(share - base) < 4 * np.sqrt(base * (1 - base) / n) + 0.01
    grow = run_simulation(config(scale=0.05, growth=0.2), progress=False)
    ts = grow.tables["timeseries"]
    by_year = ts.groupby("year")[["births_alumni", "births"]].sum()
    shares = (by_year["births_alumni"] / by_year["births"]).to_numpy()
    expected = base * 1.2 ** np.arange(YEARS)  # headcount relative to start_year
    np.testing.assert_allclose(shares, expected, rtol=0.15)
    firms = grow.tables["firms"]
    alumni = firms[firms["origin"] == "alumni"]
    assert alumni["employer_id"].notna().all() and firms.loc[firms["origin"] != "alumni", "employer_id"].isna().all()
    table = grow.tables["incumbents"].set_index("incumbent_id")
    counts = alumni["employer_id"].value_counts()
    assert (table.loc[counts.index, "alumni_founders"].to_numpy() == counts.to_numpy()).all()


def test_alumni_found_more_often_in_their_employers_tracks(result):
    firms = result.tables["firms"]
    tracks = result.tables["tracks"]
    inc = result.tables["incumbents"].set_index("incumbent_id")
    born = firms[firms["born_step"] >= 0]
    strategic = set().union(*(strategic_closure(tracks, h) for h in inc["strategic_track_ids"]))
    alumni = born[born["origin"] == "alumni"]["track_id"].isin(strategic).mean()
    others = born[born["origin"] == "independent"]["track_id"].isin(strategic).mean()
    assert alumni > others + 0.05


def test_a_small_scale_keeps_the_preset_incumbents_strategic_tracks():
    cfg = config(scale=0.01)
    m = EcosystemModel(cfg)
    inc = list(m.incumbents)
    c = cfg.ecosystem.incumbents
    assert len(inc) == 1
    assert len(inc[0].home) == c.home_tracks * c.count  # it stands for all twelve
    assert inc[0].weight == pytest.approx(c.count * cfg.scale)


# ------------------------------------------------------------------------------ fission


def test_fission_can_split_a_main_track_several_times_a_year_conserving_market_and_firms():
    cfg = config(scale=0.02)
    m = EcosystemModel(cfg)
    while m.current_step < 1:
        m.step()
    tr, pop = m.tracks, m.population
    parent = int(np.argmax(np.bincount(pop["track"], minlength=tr.n)))
    market, firms = tr["market"][parent], int((pop["track"] == parent).sum())
    dyn = m.track_dynamics
    dyn._splits_this_year = {}
    children = [dyn.split(parent, m.current_step) for _ in range(3)]
    assert tr["market"][[parent, *children]].sum() == pytest.approx(market)
    moved = [int((pop["track"] == c).sum()) for c in children]
    assert int((pop["track"] == parent).sum()) + sum(moved) == firms
    assert all(k > 0 for k in moved), "each child takes its own share of the parent's firms"
    share = cfg.ecosystem.tracks.fission_share
    np.testing.assert_allclose(tr["market"][children], market * share * (1 - share) ** np.arange(3))


def test_a_fast_fission_rate_gives_several_derived_tracks_per_main_track_a_year():
    cfg = config(scale=0.02)
    cfg.years = 2
    cfg.ecosystem.tracks.fission_rate = 3.0
    res = run_simulation(cfg, progress=False)
    tr = res.tables["tracks"]
    fis = tr[tr["created_by"] == "fission"]
    per_parent_year = fis.groupby([fis["parent_ids"].map(lambda p: int(p[0])), fis["born_step"] // 12]).size()
    assert per_parent_year.max() >= 2

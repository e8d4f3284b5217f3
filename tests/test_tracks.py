"""Track (赛道) mechanisms on small hand-built cases, invariants over random runs, and the
track-system statistics on tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import Config
from sim.core.vocabulary import EMERGING, LATENT, LIFECYCLE, NEVER
from sim.model import EcosystemModel
from sim.run import run_simulation
from sim.validation.track_targets import (
    derived_per_main,
    sector_spread,
    track_count_change,
    track_system_change,
    unicorn_sector_stat,
)


def tiny(seed=1, **tracks) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = 0.01
    cfg.years = 3
    cfg.ecosystem.warmup_years = 2
    cfg.output.plots = False
    cfg.output.firm_years = False
    for k, v in tracks.items():
        setattr(cfg.ecosystem.tracks, k, v)
    return cfg


@pytest.fixture()
def model():
    m = EcosystemModel(tiny())
    while m.current_step < 1:  # through the warm-up, into the observed window
        m.step()
    return m


def _main_with_firms(m) -> int:
    tr, pop = m.tracks, m.population
    counts = np.bincount(pop["track"], minlength=tr.n)
    mains = [t for t in range(tr.n) if tr.level[t] == "main" and tr["active"][t]]
    return max(mains, key=lambda t: counts[t])


# ------------------------------------------------------------------------------ mechanisms


def test_fission_conserves_firms_and_market(model):
    m, tr, pop = model, model.tracks, model.population
    parent = _main_with_firms(m)
    firms_before = int((pop["track"] == parent).sum())
    market_before = tr["market"].sum()
    parent_market = tr["market"][parent]
    assert firms_before >= 50
    child = m.track_dynamics.split(parent, m.current_step)
    assert tr.parents[child] == (parent,) and tr.created_by[child] == "fission" and tr.level[child] == "new"
    assert tr.direction[child] == tr.direction[parent]
    assert tr["market"].sum() == pytest.approx(market_before, rel=1e-12)
    share = m.cfg.ecosystem.tracks.fission_share
    assert tr["market"][child] == pytest.approx(share * parent_market)
    moved = int((pop["track"] == child).sum())
    assert moved + int((pop["track"] == parent).sum()) == firms_before
    # the child takes about fission_share of the firms: within 4 binomial standard deviations
    sd = np.sqrt(firms_before * share * (1 - share))
    assert abs(moved - share * firms_before) <= 4 * sd + 1


def test_fused_track_has_two_parents_and_conserves_market(model):
    m, tr = model, model.tracks
    a = tr.key.index("artificial_intelligence")
    b = tr.key.index("healthcare")
    total = tr["market"].sum()
    t = m.track_dynamics.fuse(a, b, m.current_step)
    assert tr.parents[t] == (a, b)
    assert tr.created_by[t] == "fusion"
    assert tr.direction[t] == "科技"  # the more research-intensive parent's direction
    assert tr.level[t] == "main"  # two main tracks of different directions
    assert tr["market"].sum() == pytest.approx(total, rel=1e-12)
    assert tr["born_step"][t] == m.current_step


def test_a_track_is_formed_exactly_at_its_first_unicorn(model):
    m, tr, pop = model, model.tracks, model.population
    shaking = m.track_dynamics.shaking_out()  # (a track under a main track in a shakeout would consolidate at once)
    t = next(i for i in range(tr.n) if tr["formed_step"][i] == NEVER and tr["active"][i] and tr["maturity"][i] < 0.5
             and not (tr.parents[i] and shaking[tr.parents[i][0]]))
    tr.set_state(t, "emerging", m.current_step)
    row = int(np.flatnonzero(pop["track"] == t)[0]) if (pop["track"] == t).any() else 0
    pop["track"][row] = t
    pop["valuation"][row] = 1e6  # far above US$1B
    pop["raised"][row] = 100.0
    pop["born"][row] = m.current_step - 24
    step = m.current_step
    m.stages.step()
    assert tr["formed_step"][t] == step
    m.track_dynamics.update_lifecycle(step)
    assert LIFECYCLE[tr["state"][t]] == "formed"
    assert (t, step, "emerging", "formed") in tr.transitions


def test_gazelle_cluster_turns_a_latent_track_emerging(model):
    m, tr = model, model.tracks
    t = m.track_dynamics.open_from_breakthrough(tr.key.index("quantum_technology"), m.current_step)
    assert tr["state"][t] == LATENT and tr.created_by[t] == "breakthrough"
    m.track_dynamics.update_lifecycle(m.current_step)
    assert tr["state"][t] == LATENT
    m.track_dynamics.record_new_firms(np.array([t] * 3), np.empty(0, dtype=np.int64), m.current_step)
    m.track_dynamics.update_lifecycle(m.current_step)
    assert tr["state"][t] == EMERGING


def test_consolidation_moves_firms_and_market_and_ends_the_track(model):
    m, tr, pop = model, model.tracks, model.population
    a = tr.key.index("second_hand_trading")
    into = tr.key.index("e_commerce")
    firms = int((pop["track"] == a).sum()) + int((pop["track"] == into).sum())
    market = tr["market"][a] + tr["market"][into]
    m.track_dynamics.merge(a, into, m.current_step)
    assert not tr["active"][a] and tr.end_kind[a] == "merged" and tr["merged_into"][a] == into
    assert tr["ended_step"][a] == m.current_step
    assert int((pop["track"] == a).sum()) == 0
    assert int((pop["track"] == into).sum()) == firms
    assert tr["market"][into] == pytest.approx(market)
    for _ in range(3):  # nobody founds into an ended track
        m.step()
    assert int((m.population["track"] == a).sum()) == 0


def test_consolidating_tracks_are_absorbed_by_a_related_track(model):
    m, tr = model, model.tracks
    t = tr.key.index("rural_ecommerce")
    tr.set_state(t, "consolidating", m.current_step)
    m.cfg.ecosystem.tracks.consolidation_rate = 1e6  # certain
    merged = m.track_dynamics.consolidation(m.current_step)
    assert (t, tr["merged_into"][t]) in merged
    into = tr["merged_into"][t]
    assert tr.parents[t][0] in (into, *tr.parents[into])  # a sibling or the parent


def _set_market(tr, t, *, maturity, growth_now):
    tr["maturity"][t] = maturity
    tr["growth_now"][t] = growth_now


@pytest.mark.parametrize("shakeout", [True, False])
def test_new_tracks_consolidate_when_their_main_track_shakes_out(shakeout):
    """Shakeout (M9): a formed or mature new track under a main track whose market has matured and slowed
    consolidates, unicorns or not; an explosive one holds out, and so does one under a main track that is
    still growing at the consolidation threshold or is not yet mature."""
    m = EcosystemModel(tiny(shakeout=shakeout))
    tr, dyn = m.tracks, m.track_dynamics
    cfg = m.cfg.ecosystem.tracks
    step = m.current_step
    state = lambda t: LIFECYCLE[tr["state"][t]]  # noqa: E731
    main = tr.key.index("e_commerce")
    kids = [t for t in range(tr.n) if tr.parents[t] and tr.parents[t][0] == main and tr.level[t] == "new"]
    assert len(kids) >= 2
    calm, hot = kids[:2]
    for t, state_name in ((calm, "formed"), (hot, "explosive")):
        tr.set_state(t, state_name, step)
        _set_market(tr, t, maturity=0.4, growth_now=0.3)  # young and growing: no consolidation of its own
        tr["last_unicorn_step"][t] = step  # and a unicorn this month
    tr["recent_unicorns"][hot] = 1e6  # stays explosive
    other = tr.key.index("artificial_intelligence")
    young_kid = next(t for t in range(tr.n) if tr.parents[t] and tr.parents[t][0] == other and tr.level[t] == "new")
    tr.set_state(young_kid, "formed", step)
    _set_market(tr, young_kid, maturity=0.4, growth_now=0.3)
    _set_market(tr, other, maturity=cfg.mature_maturity - 0.01, growth_now=cfg.consolidation_growth / 2)

    # the main track is mature but still grows at the threshold: no shakeout
    _set_market(tr, main, maturity=cfg.mature_maturity + 0.05, growth_now=cfg.consolidation_growth)
    dyn.update_lifecycle(step)
    assert not dyn.shaking_out()[main]
    assert (state(calm), state(hot), state(young_kid)) == ("formed", "explosive", "formed")

    # it slows below the threshold: its formed new track consolidates (if the mechanism is on)
    _set_market(tr, main, maturity=cfg.mature_maturity + 0.05, growth_now=cfg.consolidation_growth - 0.01)
    dyn.update_lifecycle(step)
    assert bool(dyn.shaking_out()[main]) is shakeout
    assert state(calm) == ("consolidating" if shakeout else "formed")
    assert state(hot) == "explosive"
    assert state(young_kid) == "formed"  # its main track is slow but not yet mature


def test_demand_complementarity_raises_the_needed_tracks_growth(model):
    m, tr = model, model.tracks
    pay = tr.key.index("third_party_payment")
    eco = tr.key.index("e_commerce")
    tr["growth_now"][eco] = 0.4
    with_c = m.track_dynamics.extra_growth()[pay]
    m.track_dynamics.cfg.complementarity = 0.0
    without = m.track_dynamics.extra_growth()[pay]
    assert with_c > without + 0.01


def test_fission_favours_tracks_close_to_everyday_needs():
    """M8, statistically: over many yearly draws, splits per main track rise with needs_proximity."""
    m = EcosystemModel(tiny(seed=3, fission_rate=1.0))
    tr = m.tracks
    mains = [t for t in range(tr.n) if tr.level[t] == "main"]
    tr["growth_now"][mains] = 0.15
    for t in mains:
        tr.set_state(t, "formed", 0)
    counts = dict.fromkeys(mains, 0)
    for year in range(40):
        for c in m.track_dynamics.fission(12 * year):
            counts[tr.parents[c][0]] += 1
        tr["growth_now"][mains] = 0.15
    prox = np.array([tr["needs_proximity"][t] for t in mains])
    n = np.array([counts[t] for t in mains])
    rho = pd.Series(prox).rank().corr(pd.Series(n).rank())
    assert rho > 0.5  # the expected count is proportional to proximity; sampling noise is small at 40 years


# ------------------------------------------------------------------------------ invariants


@pytest.fixture(scope="module", params=[11, 12])
def busy_run(request):
    cfg = tiny(
        seed=request.param, fission_rate=1.0, fusion_rate=6.0, consolidation_rate=0.8, breakthrough_open_probability=0.3
    )
    cfg.years = 4
    return run_simulation(cfg, progress=False)


def test_track_system_invariants(busy_run):
    tr = busy_run.tables["tracks"]
    tt = busy_run.tables["track_transitions"]
    ts = busy_run.tables["timeseries"]
    assert tr["born_step"].notna().all()
    assert (tr["created_by"] != "initial").sum() > 0 and (tr["end_kind"] == "merged").sum() > 0
    born = tr.set_index("track_id")["born_step"]
    for _, row in tr.iterrows():
        for p in row["parent_ids"]:
            assert born[int(p)] <= row["born_step"]  # a child is born after its parents
        if row["created_by"] == "fusion":
            assert len(row["parent_ids"]) == 2
        if row["created_by"] in ("fission", "breakthrough"):
            assert len(row["parent_ids"]) == 1
    ended = tr["ended_step"].notna()
    assert (ended == tr["end_kind"].notna()).all()
    assert (tr.loc[ended, "state"] == "ended").all()
    assert tr.loc[tr["end_kind"] == "merged", "merged_into"].notna().all()
    # per-direction counts add up to the active tracks, every month
    cols = [c for c in ts.columns if c.startswith(("main_tracks_", "new_tracks_"))]
    assert (ts[cols].sum(axis=1) == ts["active_tracks"]).all()
    states = [f"tracks_{s}" for s in LIFECYCLE if s != "ended"]
    assert (ts[states].sum(axis=1) == ts["active_tracks"]).all()
    # lifecycle transitions chain per track, in time order, and only move forward
    order = {s: i for i, s in enumerate(LIFECYCLE)}
    for _, grp in tt[~tt["from_state"].str.startswith("level:")].groupby("track_id"):
        grp = grp.sort_values("step", kind="stable")
        assert (grp["from_state"].to_numpy()[1:] == grp["to_state"].to_numpy()[:-1]).all()
        assert all(order[b] > order[a] for a, b in zip(grp["from_state"], grp["to_state"], strict=True))
    # firms live only in active tracks
    firms = busy_run.tables["firms"]
    live_tracks = firms.loc[firms["end_kind"].isna(), "track_id"].unique()
    assert tr.set_index("track_id").loc[live_tracks, "ended_step"].isna().all()


def test_frozen_warmup_keeps_the_listed_system(busy_run):
    tr = busy_run.tables["tracks"]
    assert (tr.loc[tr["created_by"] != "initial", "born_step"] >= 0).all()
    assert (tr["ended_step"].dropna() >= 0).all()


# ------------------------------------------------------------------------------ statistics


TABLE2 = [7, 6, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]  # seed 000 Table 2, 48 firms


def test_sector_spread_reproduces_table_2_statistics():
    s = sector_spread(pd.Series(TABLE2, index=[f"s{i}" for i in range(21)]))
    assert s["unicorns"] == 48 and s["sectors"] == 21
    assert s["top3_share"] == pytest.approx(17 / 48)
    assert s["hhi"] == pytest.approx(166 / 48**2)
    assert s["singleton_share"] == pytest.approx(9 / 21)


def _fake_track_tables():
    tracks = pd.DataFrame(
        {
            "track_id": [0, 1, 2, 3, 4, 5, 6],
            "name": ["A", "B", "a1", "a2", "b1", "C", "a3"],
            "key": list("ABCDEFG"),
            "direction": ["商业", "科技", "商业", "商业", "科技", "科技", "商业"],
            "level": ["main", "main", "new", "new", "new", "new", "new"],
            "parent_ids": [[], [], [0], [0], [1], [1], [0]],
            "born_step": [-12, -12, 3, 20, 5, -12, 30],
            "created_by": ["initial", "initial", "fission", "fission", "fission", "initial", "fission"],
        }
    )
    row = {
        f"{lvl}_tracks_{d}": 0
        for d in ("commerce", "livelihood", "society", "digital", "industry", "technology")
        for lvl in ("main", "new")
    }
    row.update(
        {
            "step": 47,
            "main_tracks_commerce": 1,
            "new_tracks_commerce": 2,
            "main_tracks_technology": 2,
            "new_tracks_technology": 3,
        }
    )
    return {"tracks": tracks, "timeseries": pd.DataFrame([row])}


def test_track_system_change_on_a_hand_made_table():
    t = _fake_track_tables()
    tab = track_system_change(t, years_later=4)
    assert tab.loc["商业", "new_start"] == 0 and tab.loc["商业", "new_end"] == 2
    assert tab.loc["科技", "main_change"] == 1 and tab.loc["科技", "new_change"] == 2
    assert tab.loc["total", "new_change"] == 4
    assert track_count_change(t, level="new", years_later=4, direction="technology") == 2.0


def test_derived_per_main_counts_fission_children_in_the_window():
    t = _fake_track_tables()
    s = derived_per_main(t, first_step=0, last_step=23)
    assert s.to_dict() == {"A": 2, "B": 1}


def test_unicorn_sector_stat_pools_years():
    tracks = pd.DataFrame({"track_id": [0, 1, 2], "name": ["x", "y", "z"], "direction": ["商业"] * 3})
    firms = pd.DataFrame({"track_id": [0, 0, 1, 2, 2], "unicorn_step": pd.array([2, 5, 14, None, 20], dtype="Int32")})
    t = {"tracks": tracks, "firms": firms}
    assert unicorn_sector_stat(t, stat="unicorns", year_index=0, pooled_years=1) == 2
    assert unicorn_sector_stat(t, stat="sectors", year_index=0, pooled_years=2) == 3
    assert unicorn_sector_stat(t, stat="top3_share", year_index=0, pooled_years=2) == 1.0

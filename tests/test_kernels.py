"""The compiled loops (sim.core.kernels, agents/*/kernels.py) against the vectorised rules they
replace: same keyed draws bit for bit, same subsets of firms, the same arithmetic up to the last
bit of exp and log; the exp and log of sim.core.kernels against the C library; the Arrow tables
against the DataFrame path of the output contract."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numba import njit
from phases import run_until
from scipy.stats import poisson

from agents.contracts import (
    _EDGES_HI,
    _EDGES_LO,
    INCUMBENT,
    bracket_scores,
    choose_suppliers,
    choose_suppliers_vectorised,
    pool_by_track,
)
from agents.firms.founding import poisson_quantile, poisson_quantiles
from agents.firms.kernels import operate
from agents.firms.rules import aged_out, attempt_rows, closure_draw, insolvent, trying
from sim import load_config
from sim.config import Config
from sim.core import kernels as K
from sim.core.clock import years_since
from sim.core.rng import KeyedDraws
from sim.core.vocabulary import END_KINDS, NEVER, ORIGINS, STAGES
from sim.io.schema import to_arrow
from sim.io.tables import build_tables
from sim.model import EcosystemModel
from sim.policies.registry import policies_from_config
from sim.stages import unicorn_mask


@njit
def _apply(f, x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = f(x[i])
    return out


@njit
def _draws(hkey, c, laplace):
    out = np.empty(hkey.size)
    for i in range(hkey.size):
        bits = K.mix64(hkey[i] ^ c)
        out[i] = K.laplace(bits) if laplace else K.unit(bits)
    return out


def _ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_exp_and_log_are_within_an_ulp_or_two_of_the_c_library():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-0.5, 0.5, 100_000), rng.uniform(-700, 700, 100_000), [0.0, 1.0, -1.0]])
    ref = np.array([math.exp(v) for v in x])
    assert _ulps(_apply(K.exp, x), ref).max() <= 1.0
    y = np.exp(rng.uniform(-40, 40, 100_000))
    y = np.concatenate([y, 1.0 + rng.uniform(-0.02, 0.02, 50_000), [1.0, 2.0, 0.5, math.e]])
    ref = np.array([math.log(v) for v in y])
    got = _apply(K.log, y)
    ok = ref != 0
    assert _ulps(got[ok], ref[ok]).max() <= 2.0
    assert got[~ok].tolist() == [0.0] * int((~ok).sum())
    edge = _apply(K.exp, np.array([-800.0, 800.0, np.nan]))
    assert edge[0] == 0.0 and edge[1] == np.inf and np.isnan(edge[2])
    assert np.isnan(_apply(K.log, np.array([0.0, -1.0, np.nan]))).all()


def test_stored_tables_are_the_exact_ones():
    np.testing.assert_array_equal(K.exact_tables(), K._T)


def test_keyed_draws_are_reproduced_bit_for_bit():
    draws = KeyedDraws(11, "firms")
    hkey = KeyedDraws.prehash(np.arange(50_000, dtype=np.uint64) * np.uint64(7919))
    for step, slot in ((-96, 0), (0, 1), (37, 5)):
        c = draws.step_constant(step, slot)
        np.testing.assert_array_equal(_draws(hkey, c, False), draws.uniform(hkey, step, slot, prehashed=True))
        np.testing.assert_array_equal(_draws(hkey, c, True), draws.laplace(hkey, step, slot, prehashed=True))


def test_poisson_quantile_is_scipys():
    rng = np.random.default_rng(2)
    for mean in [1e-4, 0.3, 4.0, 87.5, 7333.3, 9166.7, 25000.0]:
        for u in np.concatenate([rng.random(40), [1e-12, 0.5, 1 - 1e-12]]):
            assert poisson_quantile(float(u), mean) == int(poisson.ppf(u, mean))
    u = rng.random(5000)
    mean = np.exp(rng.uniform(np.log(1e-4), np.log(3e4), 5000))
    np.testing.assert_array_equal(poisson_quantiles(u, mean), poisson.ppf(u, mean))


# ------------------------------------------------------------------------------ the model's loops


def _model(policies=(), seed: int = 5, months: int = 14) -> EcosystemModel:
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = seed, 0.03, 2
    cfg.ecosystem.warmup_years = 2
    cfg.output.firm_years = False
    m = EcosystemModel(cfg, policies=policies)
    while m.current_step < -24 + months:
        m.step()
    return m



@pytest.mark.parametrize("months", [26, 24])
def test_operations_pass_matches_the_vectorised_rules(months):
    """In a month (26: March, firms founded since January draw their year's volatility) and in a
    January (24: every firm draws it again)."""
    m = _model(months=months)  # firms that closed and firms that ran out of cash this month
    run_until(m, "operations")
    pop = m.population
    assert (m.current_step % 12 == 0) == (months == 24)
    new = pop["vmix"] == 0.0
    assert new.any() and not new.all()  # founded this month, not drawn yet; the others hold last month's
    before = {k: v.copy() for k, v in pop.live.data.items()}
    ledger = m.ledger.operating
    m.firms.step_vectorised()
    ref = {k: pop[k].copy() for k in ("revenue", "employees", "cash", "growth_12m", "vol", "vmix")}
    if months == 24:  # a January: every firm's multiplier is drawn again
        assert (ref["vmix"] != before["vmix"][: pop.n]).mean() > 0.99
    else:
        np.testing.assert_array_equal(ref["vmix"][~new], before["vmix"][: pop.n][~new])
    assert (ref["vmix"] > 0).all()
    ref_operating = m.ledger.operating - ledger
    for k, v in before.items():
        pop.live.data[k][...] = v
    m.ledger.operating = ledger
    m.firms.step()
    for k, v in ref.items():  # only exp/log may differ, in the last bit
        np.testing.assert_allclose(pop[k], v, rtol=1e-13, atol=0, err_msg=k)
    assert m.ledger.operating - ledger == pytest.approx(ref_operating, rel=1e-12)
    # what the pass noted for the deaths phase is what those rules find
    step, w = m.current_step, m.firms.watch
    drawn = closure_draw(pop, m.firms.cfg, m.firms.draws, step)  # less the venture-backed with cash: a last attempt
    closes, _ = attempt_rows(pop, m.firms.cfg, drawn, step)
    np.testing.assert_array_equal(np.sort(pop.row_of[w.closed]), closes)
    np.testing.assert_array_equal(np.sort(pop.row_of[w.aged]), aged_out(pop, m.firms.cfg, step))
    assert set(insolvent(pop).tolist()) <= set(pop.row_of[w.insolvent].tolist())
    assert w.closed.size > 0 and w.insolvent.size > 0


@pytest.mark.parametrize("policy_names", [(), ("credit_relaxation", "exit_channels", "guidance_fund")])
def test_month_filters_match_the_vectorised_rules(policy_names):
    overrides = ["seed=7", "scale=0.03", "years=2", "ecosystem.warmup_years=2", "output.firm_years=false",
                 # listing within reach of a small, young park, so that path is exercised too
                 "ecosystem.exits.ipo_min_revenue_mcny=3", "ecosystem.exits.ipo_min_valuation_mcny=20",
                 "ecosystem.exits.ipo_min_age_years=1.5",
                 # and acquisitions frequent enough that its few firms with traction are drawn in 40 months
                 "ecosystem.exits.acquisition_rate=0.5"]
    cfg = load_config(overrides + ([f"policy=[{','.join(policy_names)}]"] if policy_names else []))
    m = EcosystemModel(cfg, policies=policies_from_config(cfg))
    sizes = np.zeros(4, dtype=int)
    listable = [0, 0]  # firms that may list, and those of them only thanks to a relief
    for _ in range(40):
        run_until(m, "financing")
        step, market = m.current_step, m.market
        f = market.month_filters(step)
        np.testing.assert_array_equal(f.rounds, market.rounds.candidates_vectorised(step))
        np.testing.assert_array_equal(f.loans, market.lending.applicants(step))
        np.testing.assert_array_equal(f.acquisition, market.exits.acquisition_draws(step))
        # listing, by the documented rule computed here: revenue and valuation at least the thresholds
        # (lowered by the track's listing relief) and old enough; the scan tests revenue at the lowest
        # threshold of any track and leaves the valuation to Exits.draw
        pop, ex = m.population, m.cfg.ecosystem.exits
        relief = m.levers.track("ipo_relief")
        cut = 1.0 - relief[pop["track"]] if relief.size else np.ones(pop.n)
        old_enough = step - pop["born"] >= 12.0 * ex.ipo_min_age_years
        free = ~trying(pop)  # a firm in its last attempt is not listed
        rule = ((pop["revenue"] >= ex.ipo_min_revenue_mcny * cut)
                & (pop["valuation"] >= ex.ipo_min_valuation_mcny * cut) & old_enough & free)
        np.testing.assert_array_equal(market.exits.listing_candidates(step), np.flatnonzero(rule))
        lowest = ex.ipo_min_revenue_mcny * (cut.min() if pop.n else 1.0)
        np.testing.assert_array_equal(f.listing, np.flatnonzero((pop["revenue"] >= lowest) & old_enough & free))
        listable[0] += rule.sum()
        strict = ((pop["revenue"] >= ex.ipo_min_revenue_mcny) & (pop["valuation"] >= ex.ipo_min_valuation_mcny)
                  & old_enough)
        listable[1] += (rule & ~strict).sum()
        sizes += [f.rounds.size, f.loans.size, f.listing.size, f.acquisition.size]
        for _name, methods in m._phases[[n for n, _ in m._phases].index("financing"):]:
            for method in methods:
                method()
        m.current_step += 1
    assert (sizes > 0).all(), sizes
    assert listable[0] > 0 and (listable[1] > 0) == ("exit_channels" in policy_names), listable


def test_lots_of_a_firm_are_found_through_their_chains():
    m = _model(months=24)
    market = m.market
    lots = market.lots
    assert lots.n > 50
    rng = np.random.default_rng(3)
    for _ in range(5):
        ids = rng.choice(m.population.n_ever, 40, replace=False)
        ids = np.concatenate([ids, lots["firm"][rng.integers(0, lots.n, 20)]])
        expected = np.flatnonzero(np.isin(lots["firm"], ids) & (lots["status"] == 0))
        np.testing.assert_array_equal(market.open_lots(ids), expected)
        lots.append(investor=[0, 0], firm=[int(ids[0]), int(ids[-1])], step=[0, 0], invested=[1.0, 1.0],
                    shares=[0.1, 0.1], proceeds=[0.0, 0.0], residual=[0.0, 0.0], status=[0, 0], partner=[-1, -1])


def test_stage_assessment_looks_at_the_firms_that_can_change():
    m = _model(months=20)
    m.stages.cfg.unicorn_min_valuation_usd_bn = 0.005  # enough unicorns in a small park
    for _ in range(12):
        run_until(m, "stages")
        pop = m.population
        # the whole-population rule: a unicorn if it passes the test, else its flag's stage
        uni = unicorn_mask(pop["valuation"], years_since(m.current_step, pop["born"]), pop["raised"], m.stages.cfg)
        expected = np.where(uni, 2, np.where(pop["gazelle_flag"], 1, 0))
        for _name, methods in m._phases[[n for n, _ in m._phases].index("stages"):]:
            for method in methods:
                method()
        if not (m.current_step % 12 == 11):  # a year end reclassifies gazelles after the stages phase
            np.testing.assert_array_equal(pop["stage"], expected)
        m.current_step += 1
    assert (m.population["stage"] == 2).any()


def test_key_constants_reproduce_the_keyed_draws():
    draws = KeyedDraws(3, "incumbent")
    keys = np.arange(20_000, dtype=np.uint64) * np.uint64(104729) + np.uint64(2**40)
    for step, slot in ((-96, 0), (0, 2), (41, 255)):
        base, d = draws.key_constants(step, slot)
        assert np.array_equal(_keyed_bits(keys, base, d), draws.bits(keys, step, slot))


@njit
def _keyed_bits(keys, base, d):
    out = np.empty_like(keys)
    for i in range(keys.size):
        out[i] = K.mix64(K.mix64(keys[i] * np.uint64(0x9E3779B97F4A7C15) + base) ^ d)
    return out


def test_bracket_scores_lists_every_candidate_that_may_rank():
    """The compiled pass keeps the k largest lower bounds in a heap and lists only candidates whose
    upper bound reaches the heap's least: against the bounds of every free candidate computed
    here (numpy: the k-th largest lower bound by np.partition), it counts the same free candidates,
    finds the same k-th largest lower bound and lists every candidate whose upper bound reaches it,
    with qualities rounded so that bounds tie (and no noise: bounds equal to the cut), k from 1 to
    above the candidates, and groups skipped."""
    rng = np.random.default_rng(11)
    bits = np.uint64(64 - 12)
    listed_small_k = free_small_k = 0
    for _trial in range(60):
        n = int(rng.integers(0, 400))
        quality = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # ties between candidates
        key = rng.integers(0, 2**63, size=n, dtype=np.uint64)
        free = rng.random(n) < rng.uniform(0.2, 1.0)
        cuts = np.sort(rng.integers(0, n + 1, size=3))
        starts = np.concatenate(([0], cuts, [n])).astype(np.int64)
        groups = np.flatnonzero(rng.random(starts.size - 1) < 0.7).astype(np.int64)
        base, d = np.uint64(rng.integers(0, 2**63)), np.uint64(rng.integers(0, 2**63))
        noise = 0.8 if _trial % 3 else 0.0  # without noise the bounds are the qualities: ties at the cut
        member = np.zeros(n, dtype=bool)
        for g in groups:
            member[starts[g]:starts[g + 1]] = True
        idx = np.flatnonzero(member & free)
        j = (_keyed_bits(key[idx], base, d) >> bits).astype(np.intp)
        a, b = quality[idx] + noise * _EDGES_LO[j], quality[idx] + noise * _EDGES_HI[j + 1]
        lo_all, hi_all = np.minimum(a, b), np.maximum(a, b)
        for k in {1, 2, 5, max(1, idx.size - 1), idx.size, idx.size + 3}:
            pos, lo, hi = np.empty(n, np.int64), np.empty(n), np.empty(n)
            m, n_free, cut = bracket_scores(starts, groups, free, key, quality, base, d, noise, _EDGES_LO, _EDGES_HI,
                                            k, np.empty(k), pos, lo, hi)
            assert n_free == idx.size
            listed = pos[:m]
            assert np.all(np.diff(listed) > 0) or groups.size > 1  # scan order
            if idx.size > k:
                assert cut == np.partition(lo_all, idx.size - k)[idx.size - k]
                want = idx[hi_all >= cut]
                assert np.isin(want, listed).all()
                if k <= 5:
                    listed_small_k += m
                    free_small_k += idx.size
            else:
                assert cut == -np.inf
                np.testing.assert_array_equal(np.sort(listed), idx)
            sel = np.searchsorted(idx, listed)
            np.testing.assert_array_equal(lo[:m], lo_all[sel])
            np.testing.assert_array_equal(hi[:m], hi_all[sel])
    assert listed_small_k < 0.5 * free_small_k  # with a few contracts to sign, most candidates are not listed


@pytest.mark.parametrize("share_in_pool", [0.0, 0.3, 1.0])
def test_supplier_pool_by_track_is_the_pool_sorted_by_track(share_in_pool):
    """pool_by_track against numpy: the rows at or above the revenue floor in row order, and the
    same rows by track (a stable sort keeps row order within a track) with their contract status,
    keys and qualities; revenue exactly at the floor counts, empty tracks have empty ranges."""
    rng = np.random.default_rng(7)
    n, n_tracks, floor = 5_000, 9, 1.0
    revenue = np.where(rng.random(n) < share_in_pool, floor + rng.exponential(2.0, n), floor * rng.random(n))
    revenue[rng.choice(n, 50, replace=False)] = floor if share_in_pool > 0 else 0.0
    track = rng.choice(np.array([0, 1, 2, 4, 5, 8], dtype=np.int32), n)  # tracks 3, 6 and 7 empty
    contract = np.where(rng.random(n) < 0.2, rng.random(n), 0.0)
    key, quality = rng.integers(0, 2**63, n).astype(np.uint64), rng.normal(size=n)
    pool, rows, starts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n_tracks + 1, np.int64)
    free, key_out, quality_out = np.empty(n, np.bool_), np.empty(n, np.uint64), np.empty(n)
    m = pool_by_track(revenue, track, contract, key, quality, floor, pool, rows, starts, free, key_out, quality_out)
    want = np.flatnonzero(revenue >= floor)
    assert m == want.size
    np.testing.assert_array_equal(pool[:m], want)
    by_track = want[np.argsort(track[want], kind="stable")]
    np.testing.assert_array_equal(rows[:m], by_track)
    np.testing.assert_array_equal(starts, np.searchsorted(track[by_track], np.arange(n_tracks + 1)))
    np.testing.assert_array_equal(free[:m], contract[by_track] <= 1e-9)
    np.testing.assert_array_equal(key_out[:m], key[by_track])
    np.testing.assert_array_equal(quality_out[:m], quality[by_track])


def test_suppliers_are_the_ones_the_vectorised_rule_chooses():
    """choose_suppliers (bounds from a compiled pass, exact scores for the few that may rank)
    against every candidate's exact score: the same rows and values, for the incumbents' track
    masks and a row mask, with budgets from a fraction of one contract to no limit, as firms
    sign contracts during the month and contracts end between months."""
    m = _model(months=20)
    pop = m.population
    rng = np.random.default_rng(4)
    taken = signed = 0
    for _ in range(3):
        run_until(m, "operations")
        masks = [(None, inc.fit(m.tracks) > 0, inc.draws) for inc in m.incumbents]
        masks.append((rng.random(pop.n) < 0.3, None, KeyedDraws(1, "policy")))
        for eligible, tracks, draws in masks:
            for room, limit, share in ((0.2, None, None), (3.0, None, None), (40.0, 5, 0.2), (np.inf, 12, None),
                                       (np.inf, None, None)):
                for slot in (0, 7):
                    got = choose_suppliers(m, eligible, room, draws, share, slot, limit, tracks)
                    ref = choose_suppliers_vectorised(m, eligible, room, draws, share, slot, limit, tracks)
                    np.testing.assert_array_equal(got[0], ref[0])
                    np.testing.assert_array_equal(got[1], ref[1])
                    taken += got[0].size
            # the suppliers of a budget of some contracts sign: they are no longer candidates
            rows, values = choose_suppliers(m, eligible, 3.0, draws, tracks=tracks)
            m.contracts.sign(rows, values, 36, INCUMBENT, 0)
            signed += rows.size
            got = choose_suppliers(m, eligible, 3.0, draws, tracks=tracks)
            ref = choose_suppliers_vectorised(m, eligible, 3.0, draws, tracks=tracks)
            np.testing.assert_array_equal(got[0], ref[0])
            assert not np.isin(got[0], rows).any()
        # contracts that end this month (a term of zero months) free their suppliers again
        rows, values = choose_suppliers(m, None, 5.0, masks[0][2], tracks=masks[0][1])
        m.contracts.sign(rows, values, 0, INCUMBENT, 1)
        m.contracts.step()
        got = choose_suppliers(m, None, 5.0, masks[0][2], tracks=masks[0][1])
        np.testing.assert_array_equal(got[0], rows)
        for _name, methods in m._phases[[n for n, _ in m._phases].index("operations"):]:
            for method in methods:
                method()
        m.current_step += 1
    assert taken > 100 and signed > 10


def test_kernels_are_recompiled_when_the_primitives_change():
    from agents.firms import kernels as firm_kernels  # noqa: PLC0415

    stamp = firm_kernels.operate._cache._impl.locator.get_source_stamp()
    assert stamp[1] == K._STAMP  # the hash of sim/core/kernels.py and sim/core/rng.py is part of it
    assert operate._cache._impl.locator.__class__.__name__.startswith("Sim")


@pytest.mark.slow
def test_first_run_says_it_is_compiling(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code = "from sim.core import kernels; import sim.model; kernels.warm_up()"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "compiling the numerical kernels" in first.stderr
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "compiling" not in again.stderr


# ------------------------------------------------------------------------------ tables


def test_arrow_tables_are_what_the_dataframe_path_gives():
    m = _model(months=30)
    m.cfg.output.firm_years = True
    while m.current_step < 12:
        m.step()
    m.finish()
    chunks = [dict(c) for c in m.recorder.firm_years]  # building the tables hands the recorded panel over
    tables = build_tables(m)
    assert not m.recorder.firm_years and build_tables(m).arrow("firm_years") is tables.arrow("firm_years")
    rec = m.population.records
    debt = rec["debt_at_end"].astype(np.float64)  # what ended firms owed when they left; live firms owe now
    debt[m.population["id"]] = m.population["debt"]
    incs = [inc.unique_id for inc in m.incumbents]
    cash = rec["cash_at_end"].astype(np.float64)  # firms that left: cash before paying out; live firms: now
    cash[m.population["id"]] = m.population["cash"]
    firms = pd.DataFrame({
        "firm_id": np.arange(rec.n, dtype=np.int64), "born_step": rec["born_step"],
        "origin": np.asarray(ORIGINS, dtype=object)[rec["origin"]], "track_id": rec["track_id"],
        "end_step": pd.array(np.where(rec["end_step"] == NEVER, None, rec["end_step"]), dtype="Int32"),
        "end_kind": pd.array(np.asarray(END_KINDS, dtype=object)[rec["end_kind"]], dtype="string"),
        "gazelle_step": pd.array(np.where(rec["gazelle_step"] == NEVER, None, rec["gazelle_step"]), dtype="Int32"),
        "unicorn_step": pd.array(np.where(rec["unicorn_step"] == NEVER, None, rec["unicorn_step"]), dtype="Int32"),
        **{k: rec[k] for k in ("total_raised", "employees", "revenue", "valuation", "exit_value")},
        "debt_at_end": debt,
        "quality": rec["quality"],
        "licences": m.institutes.licences_of(rec.n).astype(np.int32),
        **{f"{k}_id": pd.array([None if i < 0 else incs[i] for i in rec[k]], dtype="Int32")
           for k in ("employer", "acquirer")},
        "cash_at_end": cash,
        "team_sale": rec["team_sale"],
    })
    assert tables.arrow("firms").equals(to_arrow("firms", firms))
    assert chunks
    cols = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    fy = pd.DataFrame({**{k: cols[k].astype(np.float64) for k in ("age_years", "employees", "revenue", "valuation",
                                                                  "rd_spending", "rd_staff_share")},
                       "firm_id": cols["firm_id"], "year": cols["year"],
                       "stage": np.asarray(STAGES, dtype=object)[cols["stage"]], "high_tech": cols["high_tech"]})
    assert tables.arrow("firm_years").equals(to_arrow("firm_years", fy))
    # the DataFrame handed out is what reading the file back gives
    assert tables["firms"]["origin"].tolist() == firms["origin"].tolist()
    assert tables["firms"]["unicorn_step"].isna().sum() == (rec["unicorn_step"] == NEVER).sum()


def test_firms_past_the_venture_age_run_no_round():
    """``funding.venture_max_age_years``: in a park that keeps its firms to 30 (the 深圳高新区 preset's
    kind), the compiled scan and the vectorised rule agree, and no firm older than the limit runs a
    round, while firms of that age that need money are there (with the limit raised, some run one)."""
    base = ["seed=3", "scale=0.03", "years=1", "ecosystem.warmup_years=12", "output.firm_years=false",
            "ecosystem.firms.graduation_age_years=30"]
    for limit, older in ((10.0, 0), (30.0, None)):
        cfg = load_config(base + [f"ecosystem.funding.venture_max_age_years={limit}"])
        m = EcosystemModel(cfg, policies=())
        while m.current_step < -6:
            m.step()
        n_older = 0
        for _ in range(3):
            run_until(m, "financing")
            step, market = m.current_step, m.market
            f = market.month_filters(step)
            np.testing.assert_array_equal(f.rounds, market.rounds.candidates_vectorised(step))
            age_months = step - m.population["born"][f.rounds]
            assert (age_months <= 12.0 * limit).all()
            n_older += int((age_months > 120).sum())
            for _name, methods in m._phases[[n for n, _ in m._phases].index("financing"):]:
                for method in methods:
                    method()
            m.current_step += 1
        assert (m.current_step - m.population["born"] > 120).sum() > 100  # the park holds older firms
        if older is not None:
            assert n_older == older
        else:
            assert n_older > 0  # without the limit, older firms do run rounds


def test_the_firm_year_table_built_mid_run_grows_with_the_run():
    """Tables built after the first observed year end and again at the end hold both years, as tables
    built once at the end do: the year ends recorded after a build are appended to the table the
    build kept (Recorder.firm_years_table)."""
    def panel_model():
        m = _model(months=23)
        m.cfg.output.firm_years = True
        return m

    def run_to(m, step):
        while m.current_step < step:
            m.step()

    m = panel_model()
    run_to(m, 12)  # past December of the first observed year
    first = build_tables(m).arrow("firm_years")
    assert first.num_rows > 0 and set(first.column("year").to_pylist()) == {m.start_year}
    run_to(m, 24)
    both = build_tables(m).arrow("firm_years")
    assert set(both.column("year").to_pylist()) == {m.start_year, m.start_year + 1}
    once = panel_model()
    run_to(once, 24)
    assert both.equals(build_tables(once).arrow("firm_years"))

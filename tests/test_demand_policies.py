"""The fund of funds (母基金), public procurement (政府采购, 首台套) and open innovation policies:
invariants of their books (fast, one seed). Their direct targets at their defaults are checked over
five worlds with common random numbers by the policy-effects harness (tests/policy_effects.py,
``fund_of_funds:direct`` and so on): a small park's single run cannot tell them (at scale 0.02 the
park has one incumbent, whose corporate fund's few deals decide open innovation's target)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.contracts import GOVERNMENT, INCUMBENT, INSURED
from sim.config import Config
from sim.policies.registry import configured_policy
from sim.run import run_simulation

YEARS = 4


def config(seed: int = 1, scale: float = 0.02, warmup: int = 2) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = scale
    cfg.years = YEARS
    cfg.ecosystem.warmup_years = warmup
    cfg.output.plots = False
    cfg.output.firm_years = False
    return cfg


_CACHE: dict = {}


def run(name: str | None, seed: int = 1, scale: float = 0.02):
    key = (name, seed, scale)
    if key not in _CACHE:
        policies = [] if name is None else [configured_policy(name)]
        res = run_simulation(config(seed, scale), progress=False, policies=policies)
        _CACHE[key] = (res, policies[0] if policies else None)
    return _CACHE[key]


def test_public_procurement_buys_from_target_firms_and_insures_first_units():
    res, p = run("public_procurement")
    assert p.paid > 0
    con = res.tables["contracts"]
    mine = con[con["buyer_kind"].isin(["government", "insured_buyer"])]
    tracks = res.tables["firms"].set_index("firm_id")["track_id"]
    target = set(np.flatnonzero(p.target_track_mask(res.model)).tolist())
    # suppliers were in target tracks when they signed (their track can only move to a derived one)
    assert mine["firm_id"].map(tracks).isin(target).mean() > 0.95
    first = con[con["buyer_kind"] == "insured_buyer"]
    assert len(first) == p.stats()["first_units_insured"] and first["firm_id"].is_unique
    # the premium subsidies are 80 % of 3 % of the insured sales
    assert p.premiums == pytest.approx(p.premium_rate * p.premium_subsidy_share * first["value"].sum())
    book = res.model.contracts
    assert book.paid(GOVERNMENT, p.buyer) == pytest.approx(p.paid)
    assert book.paid(INSURED, p.buyer) > 0


def test_public_procurement_buys_from_suppliers_above_its_quality_bar():
    """A higher bar (the innovative-products list) buys from better firms; each qualified supplier, met in a
    random order, gets a whole contract of the real park's size (contracts.revenue_share of its revenue, at
    most contracts.max_mcny a year)."""
    quality = {}
    for bar in (0.0, 2.0):
        policy = configured_policy("public_procurement")
        policy.qualification_sd = bar
        # a park four years old: suppliers of every quality (in a two-year-old one the few firms big
        # enough to supply are its best already)
        res = run_simulation(config(seed=1, warmup=4), progress=False, policies=[policy])
        con = res.tables["contracts"]
        gov = con[con["buyer_kind"] == "government"]
        assert len(gov) >= 5, bar
        quality[bar] = res.tables["firms"].set_index("firm_id").loc[gov["firm_id"], "quality"].mean()
        ccfg = res.config.ecosystem.contracts
        assert (gov["value"] <= ccfg.max_mcny + 1e-9).all() and (gov["value"] > 0).all()
    assert quality[2.0] > quality[0.0] + 0.5  # a bar two sd higher: suppliers better by more than half an sd


def test_open_innovation_stretches_procurement_and_matches_corporate_funds():
    res, p = run("open_innovation")
    st = p.stats()
    assert st["copaid_mcny"] > 0 and st["cvc_matched_mcny"] > 0
    assert p.spent == pytest.approx(st["copaid_mcny"] + st["cvc_matched_mcny"])
    m = res.model
    cfg = m.cfg.ecosystem.incumbents
    # the match is cvc_match times the incumbents' own commitments, year by year
    own = sum(inc.cvc.committed for inc in m.incumbents) - st["cvc_matched_mcny"]
    assert st["cvc_matched_mcny"] <= p.cvc_match * own * (1 + 1e-9)
    # the co-payment is at most copay_share of what incumbents paid their suppliers in those years
    paid = sum(m.contracts.paid(INCUMBENT, inc.index) for inc in m.incumbents)
    assert st["copaid_mcny"] <= p.copay_share * paid * (1 + 1e-9)
    assert cfg.procurement_share > 0


def test_fund_of_funds_commits_its_share_of_mandated_early_funds():
    res, p = run("fund_of_funds")
    m = res.model
    st = p.stats()
    assert st["funds_backed"] > 0
    # the government's commitment is lp_share of each backed fund's capital, within the budget
    for f, paid in zip(p.funds, p.paid_in, strict=True):
        assert paid == pytest.approx(p.lp_share * f.committed)
        assert f.focus == "early" and f.kind == "vc"
        ids, share = f.mandate  # the target tracks of the last January (derived ones included)
        assert share == p.mandate_share and set(ids.tolist()) <= set(range(m.tracks.n))
        assert f.prefs[ids].sum() >= share - 1e-9 or f.closed
    for year, (spent, _, _) in p.accounts.items():
        assert spent <= p.budget_mcny_per_year * m.scale * (1 + 1e-9), year
    # the private LPs' money that is not additional comes out of the year's commitments to others
    diverted = (1 - p.private_additionality) * (1 - p.lp_share) * p.fund_size_mcny * m.scale
    per_year = len(p.funds) / YEARS
    base = m.cfg.ecosystem.vc.commitments_mcny_per_year * m.scale
    assert m.levers.value("lp_multiplier") == pytest.approx(1 - per_year * diverted / base, rel=0.2)
    held, flowed = m.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_fund_of_funds_and_open_innovation_keep_at_most_their_capped_return():
    """The government takes its pro-rata share of a backed fund's distributions, but never more
    than what it paid in grown at ``return_cap`` a year to the end of the run (让利: the excess
    goes to the private LPs); below the cap it takes exactly its share."""
    res, p = run("fund_of_funds")
    end = res.model.current_step
    got = np.array(p._received)
    assert got.sum() == pytest.approx(p.received) and p.received > 0
    for f, paid, raised, g in zip(p.funds, p.paid_in, p.raised_step, got, strict=True):
        share = paid / f.committed * f.proceeds
        cap = paid * (1 + p.return_cap) ** ((end - raised) / 12)
        assert g <= min(share, cap) * (1 + 1e-9) + 1e-12
        if share <= paid:  # the cap (at least what was paid in) cannot bind
            assert g == pytest.approx(share, rel=1e-9, abs=1e-12)
    # a world where the programme's funds distribute within the window (seed 1 did until 2026-12-05)
    res, q = next((r, q) for r, q in (run("open_innovation", seed=s) for s in (1, 2, 3, 4)) if q.received > 0)
    end = res.model.current_step
    for paid, _, received, since in q._lp.values():
        assert received <= paid * (1 + q.return_cap) ** ((end - since) / 12) * (1 + 1e-9)

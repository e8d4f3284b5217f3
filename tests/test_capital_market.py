"""The capital market's mechanisms of issue 14: liquidation preferences, the liquidation of failed
firms, syndicated rounds, guidance-fund vintages through the observed window, team acquisitions,
and the government's gazelle list. Checks are computed independently of the code they check:
a brute-force waterfall, the lots against the ledger, the deals against the syndicate's size,
firm_years against the list's criteria."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.investors.books import LOT_WRITTEN_OFF, GuidanceFund
from agents.investors.exits import waterfall
from sim.config import Config, GazelleListConfig
from sim.model import EcosystemModel
from sim.run import run_simulation

START = 2015


def small_config(seed: int = 3, scale: float = 0.02, years: int = 4, warmup: int = 3, **eco) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = scale
    cfg.years = years
    cfg.ecosystem.warmup_years = warmup
    cfg.output.plots = False
    for key, value in eco.items():
        group, _, name = key.partition("__")
        setattr(getattr(cfg.ecosystem, group), name, value)
    return cfg


_CACHE: dict = {}


def run(scale: float = 0.02, seed: int = 3, **eco):
    key = (scale, seed, *sorted((k, repr(v)) for k, v in eco.items()))
    if key not in _CACHE:
        _CACHE[key] = run_simulation(small_config(seed=seed, scale=scale, **eco), progress=False)
    return _CACHE[key]


# ------------------------------------------------------------------------------ the waterfall


def brute_force(frac, pref, value):
    """Every set of converting lots; the one where no lot would rather switch (non-participating
    preferred, pari passu)."""
    common = max(1.0 - sum(frac), 0.0)
    prefs = sum(pref)
    if value <= prefs:  # nobody converts: the preferences share the value
        return [p * value / prefs if prefs > 0 else 0.0 for p in pref]
    for mask in itertools.product((False, True), repeat=len(frac)):
        kept = sum(p for p, c in zip(pref, mask, strict=True) if not c)
        units = common + sum(f for f, c in zip(frac, mask, strict=True) if c)
        if kept > value:
            continue
        per_unit = (value - kept) / units if units > 0 else np.inf
        stable = all((f * per_unit >= p - 1e-9) if c else (f * per_unit <= p + 1e-9)
                     for f, p, c in zip(frac, pref, mask, strict=True))
        if stable:
            return [f * per_unit if c else p for f, p, c in zip(frac, pref, mask, strict=True)]
    raise AssertionError("no stable conversion")


lot = st.tuples(st.floats(0.01, 0.4), st.floats(0.0, 10.0))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(lot, min_size=1, max_size=4), min_size=1, max_size=3),
       st.lists(st.floats(0.0, 60.0), min_size=3, max_size=3))
def test_waterfall_matches_brute_force_and_pays_out_the_value(firms, values):
    pos, frac, pref = [], [], []
    for f, lots in enumerate(firms):
        scale = min(1.0, 0.95 / sum(x for x, _ in lots))  # the lots hold at most 95 % of the shares
        for x, p in lots:
            pos.append(f)
            frac.append(x * scale)
            pref.append(p)
    pos, frac, pref = np.array(pos), np.array(frac), np.array(pref)
    v = np.array(values[: len(firms)])
    order = np.random.default_rng(len(pos)).permutation(len(pos))  # lots come in any order
    got = np.empty(len(pos))
    got[order] = waterfall(pos[order], frac[order], pref[order], v)
    for f in range(len(firms)):
        sel = pos == f
        np.testing.assert_allclose(got[sel], brute_force(frac[sel], pref[sel], v[f]), atol=1e-9)
        assert got[sel].sum() <= v[f] + 1e-9  # never more than the firm was worth
        assert (got[sel] >= -1e-12).all()


def test_without_preferences_the_waterfall_is_pro_rata():
    pos = np.array([0, 0, 1])
    frac = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(waterfall(pos, frac, np.zeros(3), np.array([100.0, 10.0])), [20.0, 30.0, 5.0])


def test_a_sale_below_the_preferences_pays_them_pari_passu():
    pos = np.zeros(2, dtype=np.int64)
    # 10 put in for 20 %, 30 for 30 %: a sale at 20 pays 1x preferences in proportion, founders nothing
    np.testing.assert_allclose(waterfall(pos, np.array([0.2, 0.3]), np.array([10.0, 30.0]), np.array([20.0])),
                               [5.0, 15.0])
    # a sale at 200: both convert (0.2 * 200 > 10, 0.3 * 200 > 30)
    np.testing.assert_allclose(waterfall(pos, np.array([0.2, 0.3]), np.array([10.0, 30.0]), np.array([200.0])),
                               [40.0, 60.0])


# ------------------------------------------------------------------------------ failures and exits


def test_failed_firms_pay_their_investors_what_cash_is_left_and_the_books_balance():
    res = run()
    m = res.model
    lots = m.market.lots
    wo = lots["status"] == LOT_WRITTEN_OFF
    # what written-off lots got back is exactly what failed firms paid out (the ledger account)
    assert m.ledger.liquidation_paid > 0
    assert lots["proceeds"][wo].sum() == pytest.approx(m.ledger.liquidation_paid, rel=1e-9)
    # by firm: a failed firm's investors never get more than they put in (1x, pari passu)
    firms = lots["firm"][wo]
    got = np.bincount(firms, weights=lots["proceeds"][wo], minlength=m.population.n_ever)
    put = np.bincount(firms, weights=lots["invested"][wo], minlength=m.population.n_ever)
    assert (got <= put * m.cfg.ecosystem.exits.liquidation_preference + 1e-9).all()
    held, flowed = m.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    assert all(a.balanced() for a in m.market.investors)


def test_exits_record_their_value_and_team_acquisitions_happen():
    # venture-backed firms run out of cash years after their rounds: 4 observed years at scale 0.05
    # gave 0-3 team acquisitions by seed (0.2: 0-4); 8 years at scale 0.1 give 3-10 a seed (seeds 1-8, mean
    # 7.3, with the track shakeout; 4-15 before it; 4-10, mean 6.6, since the firm demography of
    # 2026-12-05), so seeds are pooled: at least 5 a seed on average. Two seeds (3 and 4, 5 + 4 since then)
    # left the mean's standard error at 1.6; four (1-4: 6, 7, 5, 4) brought it to 1.1. Since a firm's growth
    # volatility is drawn each year (2026-12-05) seeds 1-8 give 6, 3, 1, 7, 5, 7, 14, 10 (mean 6.6, as before
    # the change: 6, 7, 5, 4, 8, 4, 10, 9), seeds 1-4 alone 4.25: all eight are pooled (standard error 1.4)
    runs = [run(scale=0.1, years=8, seed=s) for s in range(1, 9)]
    distressed = [int(r.tables["timeseries"]["exits_distressed"].sum()) for r in runs]
    assert sum(distressed) >= 5 * len(runs), distressed
    res = runs[0]
    firms = res.tables["firms"]
    ts = res.tables["timeseries"]
    assert ts["exits_distressed"].sum() <= ts["exits_acquired"].sum()
    acquired = firms[firms["end_kind"] == "acquired"]
    assert acquired["exit_value"].notna().all() and (acquired["exit_value"] > 0).all()
    ipo = firms[firms["end_kind"] == "ipo"]
    assert ipo["exit_value"].notna().all()
    assert firms.loc[firms["end_kind"].isna() | (firms["end_kind"] == "failed"), "exit_value"].isna().all()


def test_without_liquidation_preference_every_share_is_paid_pro_rata():
    res = run(exits__liquidation_preference=0.0, exits__liquidation_cost_months=0.0)
    lots = res.model.market.lots
    pop = res.model.population
    # every realised lot of a firm got the same value per share
    real = np.flatnonzero((lots["status"] == 1) & (lots["shares"] > 0))
    per_share = lots["proceeds"][real] / lots["shares"][real]
    firm = lots["firm"][real]
    for f in np.unique(firm)[:50]:
        sel = firm == f
        if sel.sum() > 1 and not np.isin(f, _guidance_firms(res)):
            np.testing.assert_allclose(per_share[sel], per_share[sel][0], rtol=1e-9)
    assert pop.n_ever > 0


def _guidance_firms(res):
    """Firms with a guidance-fund lot (their return cap moves money between lots)."""
    lots = res.model.market.lots
    g = np.array([isinstance(a, GuidanceFund) for a in res.model.market.investors], dtype=bool)
    return np.unique(lots["firm"][g[lots["investor"]]])


# ------------------------------------------------------------------------------ rounds


def test_syndicates_stay_within_their_size_and_fill_rounds_a_lead_cannot_carry():
    # scale 0.1: about 125 VC rounds in four years, about twenty of them syndicated (at 0.02 after the
    # calibration of round pricing: 20 rounds, none with more than two venture investors). A round of two can
    # be the lead and an insider (the previous lead following on) as well as a syndicate, so the syndicates
    # show as more rounds of two or more than without them: 17 against 11 at seed 3 (2026-12-05; seeds 4
    # and 5: 23 against 11 and 19 against 9, seed 4 with rounds of three and four)
    res = run(scale=0.1)
    deals = res.tables["deals"]
    k = res.model.cfg.ecosystem.funding.syndicate_size
    vc = deals[deals["investor_kind"].isin(["vc", "cvc"])]
    per_round = vc.groupby(["firm_id", "step"])["investor_id"].nunique()
    assert per_round.max() <= 1 + k + 1  # lead, co-investors, the previous lead following on
    assert res.model.market.rounds.syndicated > 0
    alone = run(scale=0.1, funding__syndicate_size=0)
    d0 = alone.tables["deals"]
    vc0 = d0[d0["investor_kind"].isin(["vc", "cvc"])]
    per_round0 = vc0.groupby(["firm_id", "step"])["investor_id"].nunique()
    assert per_round0.max() <= 2  # the lead and the insider
    assert alone.model.market.rounds.syndicated == 0
    assert (per_round >= 2).sum() > (per_round0 >= 2).sum(), "syndicates put co-investors into rounds"


# ------------------------------------------------------------------------------ guidance funds


def test_guidance_funds_raise_vintages_and_invest_in_every_observed_year():
    res = run_simulation(small_config(scale=0.1, years=6, warmup=8), progress=False)  # the default warm-up
    deals = res.tables["deals"]
    years = set(deals.loc[deals["investor_kind"] == "guidance_fund", "year"])
    assert years == set(range(START, START + 6))
    inv = res.tables["investors"]
    g = inv[inv["kind"] == "guidance_fund"]
    assert (g["vintage_year"] >= START).any(), "a vintage raised in the observed window"
    # a later vintage is larger (size_growth), and no fund invests more than it was committed
    gcfg = res.model.cfg.ecosystem.guidance
    funds = [a for a in res.model.market.investors if isinstance(a, GuidanceFund)]
    for a in funds:
        assert a.invested <= a.committed * (1 + 1e-9) and a.balanced()
        # in the warm-up a vintage is cut to the share of a full park's demand present when it starts
        # investing (ecosystem.warmup_ramp): (years since the model started + 2.5) / graduation age
        first = -12 * res.model.cfg.ecosystem.warmup_years
        elapsed = (max(a.start_step, first) - first) / 12
        share = min(1.0, (elapsed + 2.5) / res.model.cfg.ecosystem.firms.graduation_age_years)
        expected = gcfg.fund_size_mcny * a.weight * (1 + gcfg.size_growth) ** (a.start_step / 12) * share
        assert a.committed == pytest.approx(expected)
    assert any(a.committed < 0.9 * gcfg.fund_size_mcny * a.weight for a in funds), "the ramp cut the first vintages"


def test_a_paced_guidance_fund_invests_at_an_even_pace_and_carries_what_a_month_leaves():
    m = EcosystemModel(small_config())
    g = next(a for a in m.market.investors if isinstance(a, GuidanceFund))
    assert g.investment_period_years == 5 and g.paced
    capital, spent = g.committed, g.invested
    month = capital / 60  # an even pace over five years
    # a year in, by the end of the 13th month: thirteen months' shares, less what it has invested
    assert g.available(g.start_step + 12) == pytest.approx(min(g.cash, 13 * month - spent))
    g.invest(0.5 * month)
    assert g.available(g.start_step + 12) == pytest.approx(min(g.cash, 12.5 * month - spent))
    assert g.available(g.start_step) == pytest.approx(max(0.0, min(g.cash, month - spent - 0.5 * month)))
    # in its last month everything left is due; outside its period nothing
    assert g.available(g.start_step + 59) == pytest.approx(g.cash)
    assert g.available(g.start_step - 1) == 0.0 and g.available(g.start_step + 60) == 0.0


# ------------------------------------------------------------------------------ the gazelle list


def test_the_gazelle_list_takes_qualifying_applicants_up_to_its_quota():
    quota = 400.0  # at scale 1: 8 a year at 0.02
    res = run(government__gazelle_list=_gazelle_list(quota))
    listed = res.tables["gazelle_list"]
    assert len(listed) > 0 and listed["firm_id"].is_unique
    per_year = listed.groupby("year").size()
    assert (per_year <= quota * 0.02 + 1).all()
    assert per_year.sum() <= quota * 0.02 * 4 + 1e-9
    assert res.tables["timeseries"]["gazelle_list_size"].iloc[-1] == len(listed)
    # every listed firm passed tiered_cn at that year end: revenue tier and 2-year CAGR (firm_years)
    fy = res.tables["firm_years"].set_index(["firm_id", "year"])["revenue"]
    tiers = res.model.cfg.stages.tiered_cn_tiers
    checked = 0
    for fid, year, growth in listed[["firm_id", "year", "growth"]].itertuples(index=False):
        now, before = fy[(fid, year)], fy.get((fid, year - 2))
        if before is None:  # two years before the window: the test used the warm-up history
            continue
        cagr = (now / before) ** 0.5 - 1
        tier = max((t for t in tiers if t.min_revenue_mcny <= now * (1 + 1e-6)), key=lambda t: t.min_revenue_mcny)
        assert cagr >= tier.min_cagr - 1e-4 and growth == pytest.approx(cagr, rel=1e-4, abs=1e-6)
        checked += 1
    assert checked >= 5


def test_no_list_by_default():
    assert len(run().tables["gazelle_list"]) == 0


def _gazelle_list(quota):
    return GazelleListConfig(quota_per_year=quota, criteria="tiered_cn", apply_probability=0.8)


def test_a_mandate_puts_its_share_of_a_funds_preferences_on_its_tracks():
    # a fund of funds' condition (VCFund.mandate): at least `share` of the preferences on the listed
    # tracks, each keeping its relative weight inside and outside; unchanged where it holds already
    m = EcosystemModel(small_config())
    f = next(a for a in m.market.investors if a.kind == "vc")
    prefs = np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    assert f.hold_mandate(prefs) is prefs  # no mandate
    f.mandate = (np.array([2, 3, 9]), 0.6)  # track 9 is not in the vector (a track born later)
    out = f.hold_mandate(prefs)
    np.testing.assert_allclose(out, [0.4 * 0.4 / 0.7, 0.4 * 0.3 / 0.7, 0.6 * 2 / 3, 0.6 / 3, 0.0])
    assert out.sum() == pytest.approx(1.0)
    f.mandate = (np.array([0, 1]), 0.6)  # 0.7 on those tracks already
    np.testing.assert_array_equal(f.hold_mandate(prefs), prefs)
    f.mandate = (np.array([4]), 0.5)  # nothing on the mandated track yet: it gets the whole share
    np.testing.assert_allclose(f.hold_mandate(prefs), [0.2, 0.15, 0.1, 0.05, 0.5])
    f.mandate = (np.array([2, 3]), 0.4)  # no weight on any mandated track: the share split evenly
    np.testing.assert_allclose(f.hold_mandate(np.array([0.5, 0.5, 0.0, 0.0])), [0.3, 0.3, 0.2, 0.2])


def test_a_guidance_funds_ceded_claim_goes_to_its_partners_first_lot_in_the_firm():
    """Exits.marked (a held lot at a value: a guidance fund keeps its capped claim, the excess is its
    partner's) against the rule written as a loop over the ceding lots: the partner's first lot in the
    same firm gets the excess, added one lot after another; a lot without a partner keeps it."""
    res = run(scale=0.05, seed=5)
    m = res.model
    lots = m.market.lots
    li = np.arange(lots.n)
    values = lots["invested"][li] * 20.0  # far above any return cap: every guidance lot cedes
    step = m.current_step
    net, ceded = m.market.exits.capped(li, values, step)
    want = net.copy()
    for j in np.flatnonzero(ceded > 0):
        p = lots["partner"][li[j]]
        if p < 0:
            want[j] += ceded[j]
            continue
        mate = np.flatnonzero((lots["firm"][li] == lots["firm"][li[j]]) & (lots["investor"][li] == p))
        want[mate[0]] += ceded[j]
    got = m.market.exits.marked(li, values, step)
    assert (ceded > 0).sum() > 10 and (lots["partner"][li[ceded > 0]] >= 0).sum() > 10
    np.testing.assert_array_equal(got, want)
    # nothing is lost or made: the lots' claims add up to their values
    assert got.sum() == pytest.approx(values.sum(), rel=1e-12)

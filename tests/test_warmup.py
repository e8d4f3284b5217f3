"""The warm-up ramp (``ecosystem.warmup_ramp``): the park starts empty, so in its first years what comes
from outside grows with the share of a full park's demand present (docs/model.md, *Time, scale and
randomness*). The profiles are checked against their formulas written out here, and the ramp against
what it is for: the first cohort of the empty park gets about the money of later ones, not several
times it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import Config
from sim.model import EcosystemModel
from sim.run import run_simulation

G = 10.0  # the default graduation age


def _model(ramp: bool = True, warmup: int = 8) -> EcosystemModel:
    cfg = Config()
    cfg.scale, cfg.years = 0.1, 1
    cfg.ecosystem.warmup_years = warmup
    cfg.ecosystem.warmup_ramp = ramp
    return EcosystemModel(cfg)


@pytest.mark.parametrize("years_in", [0.0, 0.5, 1.0, 3.25, 7.0, 9.5, 10.0, 14.0])
def test_the_shares_follow_the_three_demand_profiles(years_in):
    m = _model()
    assert m.cfg.ecosystem.firms.graduation_age_years == G
    step = -m.warmup_steps + round(12 * years_in)
    for lead in (0.0, 0.5, 2.5):
        t = years_in + lead
        even = min(1.0, t / G)
        seed = 1.0 if t >= G else (1 - math.exp(-t / 2.5)) / (1 - math.exp(-G / 2.5))
        assert m.supply_share(step, "even", lead) == pytest.approx(even, rel=1e-12)
        assert m.supply_share(step, "revenue", lead) == pytest.approx(even**2, rel=1e-12)
        assert m.supply_share(step, "seed", lead) == pytest.approx(seed, rel=1e-12)
        assert 0 <= m.supply_share(step, "seed", lead) <= 1


def test_without_the_ramp_or_after_the_graduation_age_every_share_is_one():
    m = _model(ramp=False)
    for step in (-m.warmup_steps, -m.warmup_steps + 7, 0):
        for demand in ("even", "revenue", "seed"):
            assert m.supply_share(step, demand, 0.0) == 1.0
    m = _model()
    assert m.supply_share(-m.warmup_steps + 120, "revenue", 0.0) == 1.0  # ten years in
    assert m.supply_share(-m.warmup_steps + 119, "revenue", 0.0) < 1.0
    with pytest.raises(ValueError, match="unknown demand profile 'flat'; allowed: even, revenue, seed"):
        m.supply_share(0, "flat")


def test_a_park_that_keeps_older_firms_has_its_full_demand_after_ten_years():
    """Firms ask for venture money, contracts and market room in their first ten years
    (DEMAND_AGE_SPAN_YEARS): a preset that keeps firms to 30 (深圳高新区) ramps over ten years, not 30."""
    cfg = Config()
    cfg.scale, cfg.years = 0.1, 1
    cfg.ecosystem.warmup_years = 18
    cfg.ecosystem.firms.graduation_age_years = 30.0
    m = EcosystemModel(cfg)
    start = -m.warmup_steps
    assert m.supply_share(start + 60, "even", 0.0) == pytest.approx(0.5, rel=1e-12)
    assert m.supply_share(start + 60, "revenue", 0.0) == pytest.approx(0.25, rel=1e-12)
    assert m.supply_share(start + 119, "even", 0.0) < 1.0
    for demand in ("even", "revenue", "seed"):
        assert m.supply_share(start + 120, demand, 0.0) == 1.0
        assert m.supply_share(0, demand, 0.0) == 1.0  # the observed window: the full park


def test_the_first_funds_and_budgets_are_cut_to_the_park_present():
    ramped, full = _model(), _model(ramp=False)
    # VC funds at the start: about 0.1 of the preset's count (t = 0 plus a year's lead, over 10 years)
    n = {k: sum(a.kind == "vc" for a in mod.market.investors) for k, mod in (("ramped", ramped), ("full", full))}
    assert n["ramped"] < 0.3 * n["full"]
    # angels: the first year's budget is the seed share of half a year, about 0.18 of the full budget
    share = (1 - math.exp(-0.5 / 2.5)) / (1 - math.exp(-G / 2.5))
    for a, b in zip(ramped.market.angels, full.market.angels, strict=True):
        assert a.cash == pytest.approx(share * b.cash, rel=1e-12)


def _raised_per_firm_by_cohort(seed: int, ramp: bool) -> tuple[float, float]:
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = seed, 0.1, 10  # cohorts 0-5 have left by the end: whole histories
    cfg.ecosystem.warmup_ramp = ramp
    cfg.output.plots = cfg.output.firm_years = False
    firms = run_simulation(cfg, progress=False).tables["firms"]
    cohort = (firms["born_step"] + 12 * cfg.ecosystem.warmup_years) // 12  # 0: the park's first year
    per_firm = firms.groupby(cohort)["total_raised"].mean()
    return float(per_firm[0]), float(per_firm[[2, 3, 4, 5]].mean())


# The track shakeout (tracks.shakeout, 2026-12-04) widened the first cohort's lead with the ramp: seeds 1-6 gave
# 2.83, 2.82, 2.47, 1.81, 3.14, 2.89 times the money a firm of cohorts 2-5 (1.4-2.2 at seeds 1-4 before it), and
# 5.3-9.8 times without the ramp; after a self-financing firm's cash stopped buying growth (ce7fd29) seed 2 gave
# 2.43 and seed 1 2.80, so seed 1 was a known failure. Since the firm demography of 2026-12-05 (a founder-owned
# firm that nearly pays its way trims instead of failing; the closure hazard of firm demography, falling with
# size) seeds 1 and 2 give 1.74 and 1.97 and the test passes again at both seeds (which firms live on and
# raise money changed with it; the decomposition of the ratio was not measured).


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_the_first_cohort_of_the_empty_park_gets_about_the_money_of_later_ones(seed):
    """Default run, seed 0, full scale: the first cohort raised 4.5 mcny a firm against 0.6 for later
    ones without the ramp (and made 109 unicorns against about 20), 0.9 with it. At scale 0.1, whole
    histories (cohort 0 against cohorts 2-5), seeds 1-4 measured 1.4-2.2 times with the ramp before the
    track shakeout: the test asks for less than 2.5 times with it."""
    first, later = _raised_per_firm_by_cohort(seed, ramp=True)
    assert np.isfinite([first, later]).all()
    assert first < 2.5 * later, (first, later)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_without_the_ramp_the_first_cohort_of_the_empty_park_is_flooded(seed):
    """Without the ramp every investor comes in at full size into an empty park: seeds 1-4 measured 4.3-7.5
    times the later cohorts' money a firm before the track shakeout, 5.3-9.8 (seeds 1-6) after it; the test
    asks for more than 3.5 times (with the ramp: 1.8-3.1)."""
    first_off, later_off = _raised_per_firm_by_cohort(seed, ramp=False)
    assert np.isfinite([first_off, later_off]).all()
    assert first_off > 3.5 * later_off, (first_off, later_off)

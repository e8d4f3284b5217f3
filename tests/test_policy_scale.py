"""Costs that do not depend on scale (issue 18): the public money a policy spends per firm it reaches
is the same at every scale (the rule in sim.policies.base: money and firm places are sampled,
what one firm receives is not, units that exist once in the real park keep their number).

The fast tests check the rule's pieces on short teaching-size runs; the slow test runs every
configuration of conf/policy/ at scales 0.05 and 0.2 (tests/policy_scale.py, which also prints
the table by hand).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from policy_scale import measure_precisely, summarize

from sim import load_config
from sim.policies.base import PAYS, Policy
from sim.policies.registry import CONFIGS, configured_policy
from sim.run import run_simulation

SHORT = ["years=2", "ecosystem.warmup_years=1", "output.plots=false", "output.firm_years=false",
         "output.progress=off"]


class _Model:
    scale = 0.02


def test_whole_units_add_up_to_the_rounded_sum_of_the_amounts():
    p = Policy(name="p")
    got = [p.whole(0.32, "scenes") for _ in range(100)]
    assert set(got) <= {0, 1}
    # over any first n calls: round(0.32 n) units (the running total starts at one half)
    assert all(sum(got[:n]) == math.floor(0.5 + 0.32 * n + 1e-9) for n in range(1, 101))
    assert [p.sampled(_Model, 5, "places") for _ in range(10)] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]  # 0.1 a call
    p.unfilled(1, "places")  # a place that found no firm goes to the next draw
    assert p.sampled(_Model, 5, "places") == 1
    assert p.sample_cost(_Model, 5.0) == pytest.approx(0.1)


def _run(overrides):
    return run_simulation(load_config([*overrides, *SHORT]), progress=False)


@pytest.mark.parametrize("scale", [0.01, 0.04])
def test_a_scene_is_one_of_the_real_parks_its_firms_and_cost_are_sampled(scale):
    res = _run(["policy=[scene_opening]", f"scale={scale}", "seed=1"])
    p = res.model.government.policies[0]
    years = res.model.cfg.years
    # the same 16 scenes a year at every scale
    assert p.stats()["scenes_opened"] == round(p.scenes_per_year * years) == 32
    # each costs scale x its price, and takes on capacity x scale firms (whole, the fraction carried over)
    assert p.spent == pytest.approx(32 * p.cost_per_scene_mcny * scale)
    firms = sum(s["firms"] for s in p.scene_log)
    assert abs(firms - 32 * p.capacity * scale) <= 1
    assert firms == p.supported().size > 0
    # so the money per firm reached is the real park's: a scene's price over its firms
    assert p.spent / firms == pytest.approx(p.cost_per_scene_mcny / p.capacity, rel=0.5 if firms < 3 else 0.25)


def test_equal_budgets_scale_scenes_per_year_but_not_a_scenes_firms_or_price():
    assert configured_policy("scene_opening").size_parameters() == ["budget_mcny_per_year", "scenes_per_year"]
    assert "fund_size_mcny" in configured_policy("guidance_fund").size_parameters()
    assert "capacity_per_year" in configured_policy("state_incubator").size_parameters()


def test_a_guidance_fund_co_invests_whole_cheques():
    """A policy's fund backs whole co-investments (coinvest_ratio x the VC lead's and syndicate's money), as
    many as its money's pace buys at the typical cheque, whatever the size of each: a cheque is never cut to
    the fund's sampled cash (what one firm gets cannot depend on the scale), and may exceed it, drawn ahead on
    the capital still to be paid in."""
    ratio = 3.0
    # a world whose fund meets a large round (seed 2 did until rounds needed their money, 2026-12-05, then seed 0;
    # once only some firms do R&D, of seeds 0-7 now 1, 3, 4, 5 and 6 have a cheque above the tranche)
    res = _run(["policy=[guidance_fund]", "scale=0.05", "seed=1", f"policy.guidance_fund.coinvest_ratio={ratio}"])
    p = res.model.government.policies[0]
    deals = res.tables["deals"]
    ours = deals[deals["investor_id"] == p.fund.unique_id]
    assert len(ours) >= 1  # at three times the usual cheque, a place in about three years
    tranche = p.fund_size_mcny * 0.05 / p.paid_in_years
    assert ours["amount"].max() > tranche  # more than a year's paid-in capital of this sample
    vc = deals[deals["investor_kind"].isin(["vc", "cvc"])]
    for _, d in ours.iterrows():
        same_round = vc[(vc["step"] == d["step"]) & (vc["firm_id"] == d["firm_id"])]["amount"].to_numpy()
        # equal to the venture money of the same round (the lead's and its syndicate's, not the
        # insiders'), times coinvest_ratio: the sum of some of the round's venture participations
        sums = [same_round[list(c)].sum() for k in range(1, same_round.size + 1)
                for c in itertools.combinations(range(same_round.size), k)]
        assert np.isclose(sums, d["amount"] / ratio, rtol=1e-9).any(), (d["step"], d["firm_id"], same_round,
                                                                         d["amount"])


#: Cost per firm reached (per unit paid for) at scale 0.05 within this share of the cost at scale 0.2,
#: pooled over the seeds; the spending per year at full scale within SPENDING_TOLERANCE.
TOLERANCE = 0.15
SPENDING_TOLERANCE = 0.05
SCALES = (0.05, 0.2)
#: Every policy runs seeds 0-2 at both scales; a policy whose costs or spending vary between seeds gets more
#: seeds, one run at a time at the noisier scale, until the relative standard error of each comparison (the two
#: scales' combined) is at most a third of its tolerance (a policy whose cost does not depend on scale then
#: passes with about 99.7 % probability), or MORE_SEEDS run out: the tolerances, not the noise of three seeds,
#: say what a failure is; seeds stop early when a comparison already fails by more than three standard errors
#: beyond its tolerance (more seeds cannot make it pass). The seeds are fixed, so the verdict is reproducible;
#: a failure message gives the seeds and standard errors.
SEEDS = (0, 1, 2)
MORE_SEEDS = (3, 4, 5, 6, 7, 8, 9)
PRECISION = {"cost": TOLERANCE / 3, "spending": SPENDING_TOLERANCE / 3}


#: Known defects (strict: the test fails when one is fixed). (Earlier, a policy that took whole amounts of the real
#: park while they fit in its sampled money, or the best firms of the month, reached more, smaller firms in a
#: smaller park: sim.policies.base, *Scale*.)
# ocs_programmes and public_procurement were known defects here (5.5 % and 6.4 % apart, standard errors 2.1 and
# 3.5 %, against the 5 % tolerance) from 2026-12-04 until the track shakeout of the same day, after which both pass
# (strict XPASS at 7c62531): they sat at the tolerance's edge.
# incubator_chain was a known defect from 2026-12-04 (spent 5-7 % less a year at scale 0.05 than at full-scale size,
# standard error 1.5 %: its firms stayed fewer years in a small park's incubators) until a self-financing firm's
# cash stopped buying growth the same evening (ce7fd29), after which it passes (strict XPASS at 249abcf).
KNOWN_DEFECTS: dict[str, str] = {
    "stage_cultivation": (
        "measured on 2026-12-04 (fresh clone of 249abcf) after a self-financing firm's cash stopped buying growth: "
        "at scale 0.05 the programme spends 384 mcny a year at full-scale size against 318 at scale 0.2 (4 and 3 "
        "seeds, standard errors 4.0 % and 4.3 %; tolerance 5 %); it passed before the change. Its enrolment is of "
        "gazelles, now fewer: a sampled park's few gazelles are not yet a faithful sample (issue 13)"
    ),
    "guidance_fund": (
        "measured on 2026-12-05 after a round began to need its money (docs/calibration/zhongguancun.md): the cost "
        "per firm reached is 46.2 mcny at scale 0.05 against 76.9 at scale 0.2 (3 and 5 seeds, standard error "
        "10.5 %; tolerance 15 %); it passed before the change. The fund's whole cheques are coinvest_ratio times "
        "the VC money of the rounds it joins, and a park at 5 % holds few growth funds, so its large rounds "
        "close less often: late-stage finance is not yet faithful below scale 0.2 (issue 13)"
    ),
}


def _by_name(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[n])) if n in KNOWN_DEFECTS
            else n for n in names]


@pytest.fixture
def costs(name):
    """The summary of this test's policy's runs (:func:`summarize`): the policies' runs share nothing, so
    each test does its own and xdist spreads them over the workers (a module fixture of every policy's
    runs was simulated in full on each worker that took one of these tests)."""
    return summarize(measure_precisely(name, SCALES, SEEDS, MORE_SEEDS, PRECISION,
                                       {"cost": TOLERANCE, "spending": SPENDING_TOLERANCE})).set_index("scale")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_policy_says_whom_it_pays(name):
    p = configured_policy(name)
    assert p.pays in PAYS, (name, p.pays)
    # a policy that pays others than firms names the unit its cost is counted in; one that pays firms counts them
    assert bool(p.unit) == (p.pays not in ("firms", "nobody")), (name, p.unit)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("name", _by_name(CONFIGS))
def test_cost_per_firm_reached_is_the_same_at_two_scales(costs, name):
    table = costs
    small, large = table.loc[SCALES[0]], table.loc[SCALES[1]]
    pays = configured_policy(name).pays
    noise = (f"{int(small['seeds'])} and {int(large['seeds'])} seeds: standard errors {small['se_cost']:.1%} "
             f"(cost), {small['se_spending']:.1%} (spending)")
    # what the policy spends per year, counted at the size of the real park, does not depend on scale
    assert small["spending_per_year_full_scale"] == pytest.approx(large["spending_per_year_full_scale"],
                                                                   rel=SPENDING_TOLERANCE, abs=1e-9), noise
    if pays == "nobody":  # a lever or a rule: no public money, no firm paid
        assert small["spent"] == large["spent"] == 0 and small["reached"] == large["reached"] == 0
        return
    if pays != "firms":  # it pays institutes, funds or incumbents: the same money per unit it pays for
        assert small["reached"] == large["reached"] == 0, "a policy that reaches firms says it pays firms"
        assert small["units"] > 0 and small["spent"] > 0
        assert small["cost_per_unit"] == pytest.approx(large["cost_per_unit"], rel=TOLERANCE), noise
        return
    assert small["reached"] > 0 and small["spent"] > 0
    assert small["cost_per_firm"] == pytest.approx(large["cost_per_firm"], rel=TOLERANCE), noise
    if name == "scene_opening":  # a scene's price over its firms: 5 / 5 million CNY per firm
        p = configured_policy(name)
        for scale in SCALES:
            assert table.loc[scale, "cost_per_firm"] == pytest.approx(p.cost_per_scene_mcny / p.capacity, rel=0.1)

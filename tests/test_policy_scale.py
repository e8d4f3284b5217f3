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
from policy_scale import measure, summarize

from sim import load_config
from sim.policies.base import Policy
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
    """A fund short of money backs whole co-investments (coinvest_ratio x the VC lead's money), the best
    applicants first, instead of cutting every cheque of the month: what one firm gets cannot depend on how
    many rounds the (sampled) month has."""
    res = _run(["policy=[guidance_fund]", "scale=0.05", "seed=2", "policy.guidance_fund.coinvest_ratio=1.0"])
    p = res.model.government.policies[0]
    deals = res.tables["deals"]
    ours = deals[deals["investor_id"] == p.fund.unique_id]
    assert len(ours) >= 5
    # the fund was short of money (a fund cutting every cheque to fit would have invested all of it)
    assert p.fund.invested < p.paid_in - 1e-6
    vc = deals[deals["investor_kind"].isin(["vc", "cvc"])]
    for _, d in ours.iterrows():
        same_round = vc[(vc["step"] == d["step"]) & (vc["firm_id"] == d["firm_id"])]["amount"].to_numpy()
        # equal to the venture money of the same round (the lead's and its syndicate's, not the
        # insiders'), times coinvest_ratio = 1: the sum of some of the round's venture participations
        sums = [same_round[list(c)].sum() for k in range(1, same_round.size + 1)
                for c in itertools.combinations(range(same_round.size), k)]
        assert np.isclose(sums, d["amount"], rtol=1e-9).any(), (d["step"], d["firm_id"], same_round, d["amount"])


#: Cost per firm reached at scale 0.05 within this share of the cost at scale 0.2, pooled over the
#: seeds (a guidance fund's cheques are heavy-tailed: over seeds 0-2 its two costs are 8 % apart).
TOLERANCE = 0.15
SCALES = (0.05, 0.2)
SEEDS = (0, 1, 2)


@pytest.fixture
def costs(name):
    # the runs of this test's policy only: the policies' runs share nothing, so each test does its
    # own and xdist spreads them over the workers (a module fixture of every policy's runs was
    # simulated in full on each worker that took one of these tests)
    return summarize(measure([name], SCALES, SEEDS)).set_index(["policy", "scale"])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_cost_per_firm_reached_is_the_same_at_two_scales(costs, name):
    small, large = costs.loc[(name, SCALES[0])], costs.loc[(name, SCALES[1])]
    # what the policy spends per year, counted at the size of the real park, does not depend on scale
    assert small["spending_per_year_full_scale"] == pytest.approx(large["spending_per_year_full_scale"], rel=0.05,
                                                                   abs=1e-9)
    if large["reached"] == 0:  # levers and tax incentives only: no firm is reached individually
        assert small["reached"] == 0 and name in ("exit_channels", "long_term_capital", "sanctions_shock")
        return
    assert small["reached"] > 0 and small["spent"] > 0
    assert small["cost_per_firm"] == pytest.approx(large["cost_per_firm"], rel=TOLERANCE)
    if name == "scene_opening":  # a scene's price over its firms: 5 / 5 million CNY per firm
        p = configured_policy(name)
        for scale in SCALES:
            assert costs.loc[(name, scale), "cost_per_firm"] == pytest.approx(p.cost_per_scene_mcny / p.capacity,
                                                                               rel=0.1)

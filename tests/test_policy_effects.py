"""Policy effects across worlds (tests/policy_effects.py): every intervention's direct target at
its defaults, and every secondary lever, over five worlds with common random numbers.

The checks themselves are slow (two arms, five worlds each, at ``policy_effects.SCALE``); the
fast tests here check the harness: its interval, that a check can fail, and that every
parameter of every registered policy kind is covered by a check.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import policy_effects as pe
import pytest
import test_demand_policies
import test_policies
import test_policy_mechanics
from scipy import stats

from sim.policies.base import Policy
from sim.policies.registry import CONFIGS, REGISTRY


def _param(e):
    marks = [pytest.mark.xfail(strict=True, reason=e.known_defect)] if getattr(e, "known_defect", None) else []
    if isinstance(e, pe.Effect) and e.lever != "direct":
        marks.append(pytest.mark.long)  # a secondary lever over worlds: make test-long (CI: direct targets, rules)
    return pytest.param(e, id=e.id, marks=marks)


def _by_policy(checks):
    """The checks with those of one policy together (in the order the policies first appear), so
    that a policy's runs are still in the harness's in-process cache when its next check needs them."""
    first = {}
    for c in checks:
        first.setdefault(c.policy, len(first))
    return sorted(checks, key=lambda c: first[c.policy])


@pytest.mark.slow
@pytest.mark.parametrize("effect", [_param(e) for e in _by_policy(pe.EFFECTS)])
def test_policy_moves_what_it_acts_on(effect):
    pe.check(effect)


@pytest.mark.slow
@pytest.mark.parametrize("rule", [_param(r) for r in _by_policy(pe.RULES)])
def test_policy_mechanism_keeps_its_rule(rule):
    pe.check_rule(rule)


# ------------------------------------------------------------------------------ the harness


def test_every_configuration_has_a_direct_target_check_at_its_defaults():
    direct = {e.policy: e for e in pe.EFFECTS if e.lever == "direct"}
    assert set(direct) == set(CONFIGS)
    for e in direct.values():
        assert e.treated == (), f"{e.id} must test the defaults users get"


def test_every_parameter_of_every_policy_is_covered_by_a_check():
    ids = {c.id for c in pe.EFFECTS + pe.RULES}
    # a parameter may also be covered by a deterministic test that pins its effect at the default
    modules = (test_policies, test_policy_mechanics, test_demand_policies)
    tests = {name for mod in modules for name, _ in inspect.getmembers(mod, inspect.isfunction)
             if name.startswith("test_")}
    base = {f.name for f in dataclasses.fields(Policy)}
    assert set(pe.BASE_PARAMETERS) == base
    assert set(pe.LEVERS) == set(REGISTRY)
    for kind, cls in REGISTRY.items():
        own = {f.name for f in dataclasses.fields(cls)} - base
        assert set(pe.LEVERS[kind]) == own, f"{kind}: parameters without a check {own - set(pe.LEVERS[kind])}"
    refs = [ref for m in pe.LEVERS.values() for ref in m.values()] + list(pe.BASE_PARAMETERS.values())
    unknown = [ref for ref in refs if ref not in ids and ref not in tests]
    assert not unknown, f"checks that do not exist: {unknown}"
    # a secondary lever's check switches that lever off in its control arm (or is a rule)
    for e in pe.EFFECTS:
        if e.lever != "direct":
            assert e.control is None or e.lever in dict(e.control), e.id
    # every check is about a configuration of conf/policy
    assert {c.policy for c in pe.EFFECTS + pe.RULES} <= set(CONFIGS)


def test_the_interval_is_the_paired_t_interval():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4])
    mean, lo, hi = pe.paired_interval(d)
    want = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert mean == pytest.approx(d.mean()) and (lo, hi) == pytest.approx(want)
    with pytest.raises(ValueError):
        pe.paired_interval([1.0])


def _outcome(treated, control, direction=1):
    effect = pe.Effect("entry_subsidy", "direct", "a quantity", lambda t, c: (0.0, 0.0), direction)
    return pe.Outcome(effect, (1, 2, 3, 4, 5), np.array(treated, float), np.array(control, float))


def test_a_check_passes_only_when_the_interval_excludes_zero_in_its_direction():
    up = _outcome([11, 12, 13, 12, 11], [10, 10, 11, 10, 10])
    assert up.passed and "should go up" in up.describe()
    assert not _outcome([11, 12, 13, 12, 11], [10, 10, 11, 10, 10], direction=-1).passed
    noisy = _outcome([11, 9, 13, 8, 11], [10, 10, 11, 10, 10])
    assert noisy.interval[1] < 0 < noisy.interval[2] and not noisy.passed
    down = _outcome([9, 8, 9, 9, 8], [10, 10, 11, 10, 10], direction=-1)
    assert down.passed

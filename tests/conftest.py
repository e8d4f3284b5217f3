"""Settings shared by the whole suite: hypothesis profiles.

Every hypothesis test is derandomised (the same examples on every run and machine, so a
failure reproduces) and keeps no example database. The whole-run property tests
(tests/test_properties.py) use two profiles: ``runs-fast`` in the default tier and
``runs-slow``, with more examples, in the slow tier.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

settings.register_profile("repro", derandomize=True, database=None, deadline=None)
settings.load_profile("repro")

_RUNS = dict(
    parent=settings.get_profile("repro"),
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a whole run per step makes it slow
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: examples per case of a whole-run property test (one case per intervention) in the default tier
settings.register_profile("runs-fast", max_examples=3, **_RUNS)
#: ... and in the slow tier
settings.register_profile("runs-slow", max_examples=6, **_RUNS)


# ------------------------------------------------------------------------------ xdist scheduling

_ROOT = Path(__file__).resolve().parents[1]
#: a test module whose tests share state: a fixture wider than one test, or a cache in the module
_SHARED = re.compile(
    r'scope="(?:class|module|package|session)"|scope=module_scope|^_CACHE\b|functools\.cache|lru_cache', re.M
)


def module_scope(fixture_name: str, config) -> str:
    """Scope of a fixture shared by a module's tests: ``module``, or ``function`` under mutation
    testing. mutmut (tests/mutation.py) runs, for each mutant, only the tests it saw call the
    mutated function; a module fixture's calls are seen in the first test that requests it, so the
    module's other tests would never run against a mutant."""
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"


@functools.cache
def _shares_state(module: str) -> bool:
    path = _ROOT / module
    return path.suffix == ".py" and path.is_file() and bool(_SHARED.search(path.read_text(encoding="utf-8")))


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist (all tests of a unit run on one worker).

    - a policy's checks in tests/test_policy_effects.py (``...[policy:lever]``): one unit per
      policy, so that the policy's runs, cached in the worker's process, are simulated once;
    - every test of a module that shares state between tests (a module-, class- or session-scoped
      fixture, or a cache of runs in the module): one unit per module, so that the shared run is
      built once and not once on each worker;
    - every other test: its own unit, spread over the workers.
    """
    module, _, rest = nodeid.partition("::")
    if module.endswith("test_policy_effects.py") and "[" in rest:
        return "policy_effects:" + rest.partition("[")[2].partition(":")[0]
    return module if _shares_state(module) else nodeid


#: seconds each test took in an earlier whole run (setup + call + teardown), to hand the longest units
#: of work out first; refresh with ``make test PYTEST_ARGS=--store-durations`` (it only orders the tests)
DURATIONS = _ROOT / "tests" / "durations.json"
#: the time of a test the file does not list (most tests take well under a second)
UNKNOWN_SECONDS = 0.5


@functools.cache
def known_durations() -> dict[str, float]:
    try:
        return json.loads(DURATIONS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def pytest_addoption(parser):
    parser.addoption("--store-durations", action="store_true",
                     help=f"write every test's duration into {DURATIONS.relative_to(_ROOT)} (orders the units of work)")


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(session, config, items):
    """Units of work (:func:`xdist_scope`) in order of their expected time, longest first, each
    unit's tests in their own order: the longest units start first and the workers finish together
    (without it the last long unit starts when the other worker has nothing left)."""
    _deselect_subsumed(config, items)
    known = known_durations()
    cost: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        unit = xdist_scope(item.nodeid)
        cost[unit] = cost.get(unit, 0.0) + known.get(item.nodeid, UNKNOWN_SECONDS)
        first.setdefault(unit, i)
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda it: (-cost[xdist_scope(it.nodeid)], first[xdist_scope(it.nodeid)], order[id(it)]))


def _deselect_subsumed(config, items) -> None:
    """Leave out a test marked ``subsumed_by(name)`` when the test ``name`` of the same module with the same
    parameters is selected too: that test runs the same examples and more (a whole run, ``make test``, runs
    the slow tier's property tests, which start with the default tier's examples)."""
    ids = {item.nodeid for item in items}

    def subsumed(item) -> bool:
        mark = item.get_closest_marker("subsumed_by")
        if mark is None:
            return False
        module, _, rest = item.nodeid.partition("::")
        return f"{module}::{mark.args[0]}{rest[len(item.originalname):]}" in ids

    dropped = [item for item in items if subsumed(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not subsumed(item)]


_TIMES: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _TIMES[report.nodeid] = _TIMES.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--store-durations") or hasattr(config, "workerinput") or not _TIMES:
        return
    merged = {**known_durations(), **{k: round(v, 2) for k, v in _TIMES.items()}}
    DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=0) + "\n", encoding="utf-8")


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` (pyproject.toml) with the scopes of :func:`xdist_scope`, handed out in
    the order of :func:`pytest_collection_modifyitems` (longest expected first) rather than by
    number of tests. (pytest-xdist's ``loadgroup`` cannot be used for this: with pytest 9.2 it no
    longer sees the groups, pytest-xdist issue 1386.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415  (only in xdist's controller)

    config.option.loadscopereorder = False  # keep the collection's order: longest units first

    class SuiteScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SuiteScheduling(config, log)

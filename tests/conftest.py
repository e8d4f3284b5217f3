"""Settings shared by the whole suite: hypothesis profiles.

Every hypothesis test is derandomised (the same examples on every run and machine, so a
failure reproduces) and keeps no example database. The whole-run property tests
(tests/test_properties.py) use two profiles: ``runs-fast`` in the default tier and
``runs-slow``, with more examples, in the slow tier.
"""

from __future__ import annotations

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


# ------------------------------------------------------------------------------ xdist grouping

_SHARED_SCOPES = ("class", "module", "package", "session")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist appends the group to each test's node id
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject.toml), keep the tests that share a module-, class- or
    session-scoped fixture of this suite (most of them a whole simulation) on one worker, so that
    the fixture is built once and not once per worker. Tests with an explicit ``xdist_group`` mark
    keep it; every other test is distributed on its own."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = sorted({
            fdef.baseid for name in info.names_closure for fdef in info.name2fixturedefs.get(name, ())
            if fdef.scope in _SHARED_SCOPES and fdef.baseid.startswith("tests")
        })
        if shared:
            item.add_marker(pytest.mark.xdist_group("shared:" + "+".join(shared)))

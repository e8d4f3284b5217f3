"""Settings shared by the whole suite: hypothesis profiles.

Every hypothesis test is derandomised (the same examples on every run and machine, so a
failure reproduces) and keeps no example database. The whole-run property tests
(tests/test_properties.py) use two profiles: ``runs-fast`` in the default tier and
``runs-slow``, with more examples, in the slow tier.
"""

from __future__ import annotations

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

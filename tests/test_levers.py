"""Levers (sim/levers.py): declared once, combined as declared, undone when a policy stops."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.vocabulary import ORIGINS
from sim.levers import LEVERS, LeverContributions, Levers


class _Tracks:
    def __init__(self, n):
        self.n = n


class _Model:
    def __init__(self, n_tracks=3):
        self.tracks = _Tracks(n_tracks)
        self.levers = Levers(self.tracks)


def test_every_lever_starts_neutral():
    m = _Model()
    for lever in LEVERS.values():
        assert lever.combine in ("mul", "add") and lever.per in ("model", "origin", "track") and lever.doc
        assert lever.neutral == (1.0 if lever.combine == "mul" else 0.0)
        if lever.per == "model":
            assert m.levers.value(lever.name) == lever.neutral
        elif lever.per == "origin":
            assert [m.levers.value(lever.name, o) for o in ORIGINS] == [lever.neutral] * len(ORIGINS)
        else:
            np.testing.assert_array_equal(m.levers.track(lever.name), np.full(3, lever.neutral))


def test_contributions_multiply_and_are_undone():
    m = _Model()
    a, b = LeverContributions(), LeverContributions()
    a.set(m, "credit_multiplier", 2.0)
    b.set(m, "credit_multiplier", 1.5)
    assert m.levers.value("credit_multiplier") == pytest.approx(3.0)
    a.set(m, "credit_multiplier", 4.0)  # a restates its factor: value / old * new
    assert m.levers.value("credit_multiplier") == pytest.approx(6.0)
    a.clear(m)
    assert m.levers.value("credit_multiplier") == pytest.approx(1.5)
    b.clear(m)
    assert m.levers.value("credit_multiplier") == pytest.approx(1.0)


def test_per_origin_levers_move_one_channel():
    m = _Model()
    c = LeverContributions()
    d = LeverContributions()
    c.set(m, "founding_cost_cut", 0.02, "spinoff")
    d.set(m, "founding_cost_cut", 0.01, "spinoff")
    assert m.levers.value("founding_cost_cut", "spinoff") == pytest.approx(0.03)
    assert m.levers.value("founding_cost_cut", "independent") == 0.0
    c.clear(m)
    assert m.levers.value("founding_cost_cut", "spinoff") == pytest.approx(0.01)
    d.clear(m)
    assert m.levers.value("founding_cost_cut", "spinoff") == pytest.approx(0.0)


def test_track_levers_add_or_multiply_and_follow_new_tracks():
    m = _Model(3)
    a, b = LeverContributions(), LeverContributions()
    a.set_track(m, "screen_shift", np.array([0.3, 0.0, 0.0]))
    b.set_track(m, "screen_shift", np.array([0.1, 0.1, 0.0]))
    np.testing.assert_allclose(m.levers.track("screen_shift"), [0.4, 0.1, 0.0])
    a.set_track(m, "entry_bonus", np.array([2.0, 1.0, 1.0]))
    b.set_track(m, "entry_bonus", np.array([1.5, 1.0, 1.0]))
    np.testing.assert_allclose(m.levers.track("entry_bonus"), [3.0, 1.0, 1.0])
    m.tracks.n = 5  # two tracks created during the run start neutral
    np.testing.assert_allclose(m.levers.track("entry_bonus"), [3.0, 1.0, 1.0, 1.0, 1.0])
    a.clear(m)
    b.clear(m)
    np.testing.assert_allclose(m.levers.track("entry_bonus"), 1.0)
    np.testing.assert_allclose(m.levers.track("screen_shift"), 0.0, atol=1e-12)  # undone up to rounding


def test_undeclared_and_misused_levers_are_errors():
    m = _Model()
    c = LeverContributions()
    with pytest.raises(KeyError, match="no lever 'credit_multiplyer'"):
        c.set(m, "credit_multiplyer", 2.0)
    with pytest.raises(ValueError, match="per track"):
        c.set(m, "entry_bonus", 2.0)
    with pytest.raises(ValueError, match="per origin"):
        c.set(m, "founding_cost_cut", 0.1)
    with pytest.raises(ValueError, match="must be > 0"):
        c.set(m, "ipo_multiple", 0.0)
    with pytest.raises(ValueError, match="per model"):
        c.set_track(m, "ipo_multiple", np.ones(3))

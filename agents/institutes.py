"""Research institutes and universities: breakthroughs and spin-offs.

An institute with a yearly research budget and a staff of researchers produces
breakthroughs at a rate that grows with both, with diminishing returns::

    rate = breakthroughs_per_year * sqrt(budget / 1000) * sqrt(researchers / 1000)   [1/yr]

A breakthrough lands in a track chosen in proportion to the track's research intensity
(squared, so 科技 tracks get most of them). It raises the track's market growth for a few
years (``breakthrough_boost``, decaying over ``boost_decay_years``), raises the rate at which
researchers spin firms out into it, and, with a probability that rises with the track's
research intensity and with general-purpose technologies nearby, opens a new track (see
:mod:`sim.tracks.dynamics`; the tracks issue elaborates the emergence mechanisms).
"""

from __future__ import annotations

import math

import mesa
import numpy as np


class ResearchInstitute(mesa.Agent):
    """A research institute or university."""

    kind = "institute"

    def __init__(self, model, name: str, *, budget: float, researchers: float, base_rate: float,
                 focus: np.ndarray | None = None):
        super().__init__(model)
        self.name = name
        self.budget = budget
        self.researchers = researchers
        self.base_rate = base_rate
        self.focus = focus  # optional per-direction weights
        self.breakthroughs = 0
        self.spinoff_multiplier = 1.0  # raised by technology-transfer reform policies

    def breakthrough_rate(self) -> float:
        """Expected breakthroughs per year."""
        return self.base_rate * math.sqrt(max(self.budget, 0.0) / 1000.0) * math.sqrt(
            max(self.researchers, 0.0) / 1000.0
        )

    def count_breakthroughs(self, rng: np.random.Generator, dt: float) -> int:
        n = int(rng.poisson(self.breakthrough_rate() * dt))
        self.breakthroughs += n
        return n

    def choose_track(self, rng: np.random.Generator, tech_intensity: np.ndarray, active: np.ndarray) -> int:
        w = np.where(active, tech_intensity**2, 0.0)
        if self.focus is not None:
            w = w * self.focus
        s = w.sum()
        if s <= 0:
            return -1
        return int(rng.choice(len(w), p=w / s))

    def step(self) -> None:  # behaviour runs in the model's phases
        return None

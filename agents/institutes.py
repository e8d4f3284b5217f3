"""Research institutes and universities: breakthroughs and spin-offs.

An institute with a yearly research budget and a staff of researchers produces
breakthroughs at a rate that grows with both, with diminishing returns::

    rate = breakthroughs_per_year * sqrt(budget / 1000) * sqrt(researchers / 1000)   [1/yr]

A park sampled at ``scale`` < 1 sees the breakthroughs of the whole park (its institutes stand
for 1/scale of their kind each; the time series counts the park's own share of them), because
the tracks they act on are national markets: a sampled park's tracks then move as the full
park's do.

A breakthrough lands in a track chosen in proportion to the track's research intensity
(squared, so 科技 tracks get most of them). It raises the track's market growth for a few
years (``breakthrough_boost``, decaying over ``boost_decay_years``), raises the rate at which
researchers spin firms out into it, and, with a probability that rises with the track's
research intensity and with general-purpose technologies nearby, opens a new track (see
:mod:`sim.tracks.dynamics`; the tracks issue elaborates the emergence mechanisms).

:class:`Institutes` holds a model's institutes and runs their month (the institutes phase).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.config import scaled_count
from sim.core.clock import DT


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


class Institutes:
    """The research institutes of one model (the preset's, at the model's scale), and their
    month: breakthroughs boost the tracks they land in and may open new tracks."""

    def __init__(self, model):
        self.model = model
        eco = model.cfg.ecosystem
        n = scaled_count(eco.institutes.count, model.scale)
        self.agents: list[ResearchInstitute] = []
        for i in range(n):
            share = eco.institutes.count * model.scale / n
            self.agents.append(
                ResearchInstitute(
                    model,
                    f"institute {i}",
                    budget=eco.institutes.budget_mcny * share,
                    researchers=eco.institutes.researchers * share,
                    base_rate=eco.institutes.breakthroughs_per_year,
                )
            )

    def __len__(self) -> int:
        return len(self.agents)

    def __iter__(self):
        return iter(self.agents)

    def step(self) -> None:
        """This month's breakthroughs (the ``institutes`` stream)."""
        m = self.model
        icfg = m.cfg.ecosystem.institutes
        rng = m.streams["institutes"]
        tr = m.tracks
        # The tracks are national markets: a park sampled at scale < 1 sees the breakthroughs of the
        # whole park (each institute stands for 1/scale of its kind), so its tracks move as the full
        # park's do; its own institutes make ``scale`` of them (the time series' count).
        sampled = min(m.scale, 1.0)
        dt = DT / sampled if sampled > 0 else DT
        for inst in self.agents:
            for _ in range(inst.count_breakthroughs(rng, dt)):
                t = inst.choose_track(rng, tr["tech_intensity"], tr["active"])
                if t < 0:
                    continue
                tr["boost"][t] += icfg.breakthrough_boost
                tr["breakthroughs"][t] += 1.0
                if sampled >= 1.0 or rng.random() < sampled:
                    m.counts["breakthroughs"] += 1
                if rng.random() < m.track_dynamics.open_probability(t):
                    m.track_dynamics.open_from_breakthrough(t, m.current_step)


"""Levers: the knobs of the model that policies move, each declared once (:data:`LEVERS`).

A lever has a name, a neutral value (what it is without any policy), how the contributions of
several policies combine, and what it applies to: the whole model, each founding channel, or each
track. The model owns one :class:`Levers` (the current value of every lever); the rules read it
(``model.levers.value("credit_multiplier")``, ``model.levers.track("entry_bonus")``). A policy
never sets a lever directly: it holds its own :class:`LeverContributions` and changes them, so
that it can undo them when it stops.

Combining contributions (the same arithmetic in every run, so results do not depend on how
often a policy restates its contribution):

* ``mul``: the lever is multiplied by each policy's factor; changing a factor from ``old`` to
  ``new`` sets ``value = value / old * new``;
* ``add``: the lever is shifted by each policy's term; ``value = value + (new - old)``.

Per-track levers are arrays over the track registry; a track created during the run starts
at the neutral value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.vocabulary import ORIGINS

__all__ = ["Lever", "LEVERS", "Levers", "LeverContributions"]


@dataclass(frozen=True)
class Lever:
    """One lever: ``per`` is ``model`` (one value), ``origin`` (one per founding channel) or
    ``track`` (one per track); ``combine`` is ``mul`` or ``add``."""

    name: str
    neutral: float
    combine: str
    per: str
    doc: str


#: Every lever, by name.
LEVERS: dict[str, Lever] = {
    lever.name: lever
    for lever in (
        Lever("founding_cost_cut", 0.0, "add", "origin",
              "Expected cut of the cost of founding for a founding channel's potential founders, mcny; enters their "
              "entry decision (agents.firms.founding)."),
        Lever("returnee_cost_cut", 0.0, "add", "model",
              "Further expected cut of the cost of founding for returnee founders, mcny (agents.firms.founding)."),
        Lever("rank_retention", 0.0, "add", "model",
              "Shift of the share of rank researchers keep when they found a firm (agents.institutes)."),
        Lever("equity_share", 0.0, "add", "model",
              "Shift of researchers' share of the equity and income from their results (agents.institutes)."),
        Lever("transfer_brokers", 0.0, "add", "model",
              "Extra technology brokers per 1,000 researchers (agents.institutes)."),
        Lever("credit_multiplier", 1.0, "mul", "model",
              "Banks' monthly chance of lending to an eligible firm, times this (agents.investors.lending)."),
        Lever("loan_size_multiplier", 1.0, "mul", "model",
              "Loan size (a share of revenue), times this (agents.investors.lending)."),
        Lever("ipo_multiple", 1.0, "mul", "model", "Yearly IPO hazard, times this (agents.investors.exits)."),
        Lever("acquisition_multiple", 1.0, "mul", "model",
              "Yearly acquisition hazard, times this (agents.investors.exits)."),
        Lever("lp_multiplier", 1.0, "mul", "model",
              "Limited partners' yearly commitments to VC funds, times this (agents.investors.fund_cycle)."),
        Lever("fund_life_multiplier", 1.0, "mul", "model",
              "Life of the VC funds raised now, times this (agents.investors.fund_cycle)."),
        Lever("procurement_multiplier", 1.0, "mul", "model",
              "Incumbents' yearly purchases from young firms, times this (agents.incumbents)."),
        Lever("entry_bonus", 1.0, "mul", "track", "Founders' entry weight of a track, times this "
                                                  "(agents.firms.founding)."),
        Lever("screen_shift", 0.0, "add", "track",
              "Shift of the investors' screening bar in a track, sd; negative is easier (agents.investors.rounds)."),
        Lever("rd_user_cost", 1.0, "mul", "track",
              "After-tax user cost of R&D of the firms of a track with taxable profit, relative to the preset's tax "
              "regime; their R&D staff share moves as its power -ecosystem.rd.user_cost_elasticity "
              "(agents.firms.rules)."),
        Lever("growth_bonus", 0.0, "add", "track",
              "Extra yearly log revenue growth of a track's firms (agents.firms.rules)."),
        Lever("ipo_relief", 0.0, "add", "track",
              "Share by which a track's listing thresholds are cut (agents.investors.exits)."),
    )
}


def _lever(name: str, per: str | None = None) -> Lever:
    lever = LEVERS.get(name)
    if lever is None:
        raise KeyError(f"no lever {name!r}; the levers are {', '.join(LEVERS)} (sim.levers.LEVERS)")
    if per is not None and lever.per != per:
        raise ValueError(f"lever {name!r} is per {lever.per}, not per {per}")
    return lever


class Levers:
    """The current value of every lever of one model (neutral until a policy moves it)."""

    def __init__(self, tracks):
        self._tracks = tracks  # the registry: per-track levers follow its length
        self._values: dict[str, float] = {}
        self._by_origin: dict[str, dict[str, float]] = {}
        self._by_track: dict[str, np.ndarray] = {}
        for lever in LEVERS.values():
            if lever.per == "model":
                self._values[lever.name] = lever.neutral
            elif lever.per == "origin":
                self._by_origin[lever.name] = dict.fromkeys(ORIGINS, lever.neutral)
            else:
                self._by_track[lever.name] = np.full(tracks.n, lever.neutral)

    def value(self, name: str, origin: str | None = None) -> float:
        """The value of a model-wide lever, or of a per-origin lever for ``origin``."""
        if origin is None:
            return self._values[name]
        return self._by_origin[name][origin]

    def track(self, name: str) -> np.ndarray:
        """The array of a per-track lever, one value per track of the registry (the stored
        array: contributions change it in place)."""
        arr = self._by_track[name]
        n = self._tracks.n
        if arr.size < n:  # tracks created since: neutral
            arr = np.concatenate([arr, np.full(n - arr.size, LEVERS[name].neutral)])
            self._by_track[name] = arr
        return arr

    def change(self, name: str, old: float, new: float, origin: str | None = None) -> None:
        """One contribution to a model-wide or per-origin lever changes from ``old`` to ``new``."""
        lever = _lever(name)
        store, key = (self._values, name) if origin is None else (self._by_origin[name], origin)
        if lever.combine == "mul":
            store[key] = store[key] / old * new
        else:
            store[key] = store[key] + (new - old)

    def change_track(self, name: str, old: np.ndarray, new: np.ndarray) -> None:
        """One contribution to a per-track lever changes from ``old`` to ``new`` (arrays over
        the current tracks)."""
        arr = self.track(name)
        if _lever(name, "track").combine == "mul":
            arr *= new / old
        else:
            arr += new - old


class LeverContributions:
    """One policy's contributions to the model's levers, so it can change and undo them.

    A contribution starts at the lever's neutral value: a factor of 1 (``mul``) or a term of 0
    (``add``)."""

    def __init__(self):
        self.scalar: dict[tuple[str, str | None], float] = {}
        self.track: dict[str, np.ndarray] = {}

    def set(self, model, name: str, value: float, origin: str | None = None) -> None:
        """Set this policy's contribution to a model-wide lever (or a per-origin one for
        ``origin``) to ``value``."""
        lever = _lever(name)
        how = {"track": "set_track", "origin": "an origin", "model": "no origin"}[lever.per]
        if lever.per == "track" or (lever.per == "origin") != (origin is not None):
            raise ValueError(f"lever {name!r} is per {lever.per}; set it with {how}")
        old = self.scalar.get((name, origin), lever.neutral)
        if value == old:
            return
        if lever.combine == "mul" and value <= 0:
            raise ValueError(f"lever {name} factor must be > 0")
        model.levers.change(name, old, value, origin)
        self.scalar[(name, origin)] = value

    def set_track(self, model, name: str, values: np.ndarray) -> None:
        """Set this policy's contribution to a per-track lever (an array over tracks; tracks
        beyond its end take the neutral value)."""
        neutral = _lever(name, "track").neutral
        n = model.levers.track(name).size
        values = np.asarray(values, dtype=float)[:n]
        if values.size < n:
            values = np.concatenate([values, np.full(n - values.size, neutral)])
        old = self.track.get(name)
        if old is None:
            old = np.full(n, neutral)
        elif old.size < n:
            old = np.concatenate([old, np.full(n - old.size, neutral)])
        if np.array_equal(old, values):
            return
        model.levers.change_track(name, old, values)
        self.track[name] = values.copy()

    def clear(self, model) -> None:
        """Undo every contribution (the policy stopped)."""
        for name, origin in list(self.scalar):
            self.set(model, name, LEVERS[name].neutral, origin)
        for name in list(self.track):
            self.set_track(model, name, np.full(model.tracks.n, LEVERS[name].neutral))
        self.scalar.clear()
        self.track.clear()

"""Levers: the model's knobs that policies move (births per founding channel, bank credit, exit
hazards, LP commitments, fund life, and per-track entry, screening, growth and listing relief).

Each policy holds its own contributions (:class:`LeverContributions`), so it can change them
and undo them when it stops.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LeverContributions"]


_TRACK_LEVERS = {  # name -> (model attribute or None, neutral value, how policies combine)
    "entry_bonus": ("track_entry_bonus", 1.0, "mul"),
    "screen_shift": ("track_screen_shift", 0.0, "add"),
    "growth_bonus": ("track_growth_bonus", 0.0, "add"),
    "ipo_relief": (None, 0.0, "add"),
}


class LeverContributions:
    """A policy's own contribution to the model's levers, so it can be changed and undone.

    Scalar levers (``births_multiplier[origin]``, ``credit_multiplier``, ...) are multiplied by
    the policy's factor; per-track levers are multiplied (entry bonus) or shifted (screening
    bar, growth, listing relief) by a per-track array of the policy."""

    def __init__(self):
        self.scalar: dict[tuple[str, str | None], float] = {}
        self.track: dict[str, np.ndarray] = {}

    def set(self, model, attr: str, factor: float, key: str | None = None) -> None:
        old = self.scalar.get((attr, key), 1.0)
        if factor == old:
            return
        if factor <= 0:
            raise ValueError(f"lever {attr} factor must be > 0")
        if key is None:
            setattr(model, attr, getattr(model, attr) / old * factor)
        else:
            d = getattr(model, attr)
            d[key] = d[key] / old * factor
        self.scalar[(attr, key)] = factor

    def set_track(self, model, name: str, values: np.ndarray) -> None:
        attr, neutral, mode = _TRACK_LEVERS[name]
        arr = model.track_array(name, neutral)
        if attr is not None and getattr(model, attr) is not arr:
            setattr(model, attr, arr)
        n = arr.size
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
        if mode == "mul":
            arr *= values / old
        else:
            arr += values - old
        self.track[name] = values.copy()

    def clear(self, model) -> None:
        for (attr, key) in list(self.scalar):
            self.set(model, attr, 1.0, key)
        for name in list(self.track):
            _, neutral, _ = _TRACK_LEVERS[name]
            self.set_track(model, name, np.full(model.tracks.n, neutral))
        self.scalar.clear()
        self.track.clear()

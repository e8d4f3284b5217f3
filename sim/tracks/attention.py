"""Attention and heat: which tracks investors and founders are looking at.

Each month the money raised in a track and its new gazelles and unicorns (a unicorn counts
twice) are its *attention*; the signal is ``0.6 * money share + 0.4 * new-firm share``, times
the lifecycle state's multiplier (``state_heat``), normalised over tracks (every active track
alike in a month with neither). Heat is the smoothed signal relative to the track's
(square-rooted) share of the market, bounded to [1/4, 4] and scaled to a mean of 1 over active
tracks (:func:`update_heat`).

The month's inflows are track columns (``attention_money``, ``attention_firms``) written by the
financing rounds and the stage bookkeeping through :func:`add_money` and :func:`add_firms`, and
cleared when they have been turned into heat.
"""

from __future__ import annotations

import numpy as np

from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS, LIFECYCLE

__all__ = ["MONEY_WEIGHT", "FIRMS_WEIGHT", "HEAT_CAP", "add_money", "add_firms", "signal", "update_heat", "step",
           "track_counts"]

MONEY_WEIGHT = 0.6  # weight of the share of money raised in the attention signal
FIRMS_WEIGHT = 0.4  # weight of the share of new gazelles and unicorns
HEAT_CAP = 4.0  # heat is bounded to [1/4, 4] (see update_heat)


def add_money(tracks, track_ids: np.ndarray, amounts: np.ndarray) -> None:
    """Money raised this month in the tracks ``track_ids`` (one entry per participation)."""
    col = tracks["attention_money"]
    col += np.bincount(track_ids, weights=amounts, minlength=tracks.n)[: tracks.n]


def add_firms(tracks, track_ids: np.ndarray, weight: float) -> None:
    """New high-growth firms this month in the tracks ``track_ids``, each counted ``weight`` times."""
    col = tracks["attention_firms"]
    col += np.bincount(track_ids, minlength=tracks.n) * weight


def signal(tracks, state_multiplier: np.ndarray) -> np.ndarray:
    """This month's attention shares (summing to 1 over tracks)."""
    money = tracks["attention_money"]
    firms = tracks["attention_firms"]
    sig = np.zeros(tracks.n)
    if money.sum() > 0:
        sig += MONEY_WEIGHT * money / money.sum()
    if firms.sum() > 0:
        sig += FIRMS_WEIGHT * firms / firms.sum()
    if sig.sum() == 0:
        sig = np.where(tracks["active"], 1.0, 0.0)
    sig = sig * state_multiplier
    if sig.sum() > 0:
        sig = sig / sig.sum()
    return sig


def update_heat(tracks, signal: np.ndarray, dt: float, memory_months: float, cap: float = HEAT_CAP) -> None:
    """Blend this step's attention signal (shares summing to 1 over tracks) into heat.

    Heat is the track's smoothed share of attention relative to its share of the market
    (square-root weighted, so small tracks are not judged against their tiny markets):
    a big market draws more money without being "hot". It is bounded to
    [1/``cap``, ``cap``] and scaled to a mean of 1 over active tracks; 1.5 means the track
    draws 50 % more money and new high-growth firms than its size alone would. The bound
    keeps the feedback between heat, entry, valuations and investors' preferences from
    running away into a single track.
    """
    act = tracks["active"]
    w = 1.0 - np.exp(-dt * 12.0 / memory_months)
    att = tracks["attention"]
    att[:] = (1.0 - w) * att + w * signal
    size = np.where(act, np.sqrt(np.maximum(tracks["market"], 0.0)), 0.0)
    if size.sum() <= 0:
        size = act.astype(float)
    base = size / max(size.sum(), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(act & (base > 0), (att + 0.25 * base) / (1.25 * base), 0.0)
    heat = np.where(act, np.clip(ratio, 1.0 / cap, cap), 0.0)
    mean = heat[act].mean() if act.any() else 1.0
    tracks["heat"][:] = heat / mean if mean > 0 else heat


def step(tracks, state_multiplier: np.ndarray, dt: float, memory_months: float) -> None:
    """Turn this month's attention into heat and clear the inflows."""
    update_heat(tracks, signal(tracks, state_multiplier), dt, memory_months)
    tracks["attention_money"][:] = 0.0
    tracks["attention_firms"][:] = 0.0


def track_counts(tracks) -> dict[str, int]:
    """Active main and new tracks per direction, and tracks per lifecycle state."""
    act = tracks["active"]
    level_main = tracks.level_mask("main")
    d = tracks.directions()
    out = {}
    main = np.bincount(d[act & level_main], minlength=len(DIRECTIONS))
    new = np.bincount(d[act & ~level_main], minlength=len(DIRECTIONS))
    for i, name in enumerate(DIRECTIONS):
        out[f"main_tracks_{DIRECTION_EN[name]}"] = int(main[i])
        out[f"new_tracks_{DIRECTION_EN[name]}"] = int(new[i])
    states = np.bincount(tracks["state"], minlength=len(LIFECYCLE))
    for i, name in enumerate(LIFECYCLE):
        out[f"tracks_{name}"] = int(states[i])
    return out

"""Founding: the state of new firms and the track they found into.

* **Founding** (:func:`founding_state`): latent quality ``q ~ N(shift_origin, 1)``; founders'
  cash, revenue and headcount log-normal around the preset's medians; research spin-offs start
  with less revenue (the death valley between sample and product).
* **Track** (:func:`choose_tracks`): inverse-CDF choice over the tracks' entry weights.

Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.firms.rules import saturated_quality
from sim.config import FirmConfig
from sim.core.rng import KeyedDraws
from sim.core.vocabulary import SPINOFF

# slots of the keyed "founding" stream
_SLOT_TRACK, _SLOT_QUALITY, _SLOT_CASH, _SLOT_REVENUE, _SLOT_EMPLOYEES = range(5)


def founding_state(keys: np.ndarray, origin: np.ndarray, cfg: FirmConfig, draws: KeyedDraws, step: int) -> dict:
    """Initial columns for firms with birth ``keys`` and founding channel ``origin``."""
    z_q = draws.normal(keys, step, _SLOT_QUALITY)
    z_c = draws.normal(keys, step, _SLOT_CASH)
    z_r = draws.normal(keys, step, _SLOT_REVENUE)
    z_e = draws.normal(keys, step, _SLOT_EMPLOYEES)
    shift = np.choose(origin, [0.0, cfg.quality_shift_spinoff, cfg.quality_shift_alumni])
    revenue = cfg.initial_revenue_mcny * np.exp(0.8 * z_r)
    revenue = np.where(origin == SPINOFF, revenue * cfg.spinoff_revenue_factor, revenue)
    cash = cfg.founder_cash_mcny * np.exp(cfg.founder_cash_sigma * z_c)
    # founders hire what margin plus a runway-limited draw on their cash can pay (at least themselves)
    affordable = 1.0 + (revenue * (1.0 - cfg.cost_of_revenue) + cash / cfg.runway_target_years) / cfg.wage_mcny
    employees = np.clip(np.round(cfg.initial_employees * np.exp(0.5 * z_e - 0.125)), 1.0, np.maximum(1.0, np.floor(affordable)))
    quality = shift + z_q
    return {
        "vol": cfg.growth_sigma * employees ** (-cfg.growth_size_exponent),
        "quality": quality,
        "qsat": saturated_quality(quality),
        "revenue": revenue,
        "employees": employees,
        "cash": cash,
    }


def choose_tracks(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Inverse-CDF choice of a track for each uniform draw ``u`` given track ``weights``."""
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        raise ValueError("no track has a positive entry weight")
    idx = np.searchsorted(cum, u * cum[-1], side="right")
    return np.minimum(idx, len(weights) - 1).astype(np.int32)

"""Founding: how many firms are born, into which tracks, and their state at birth.

Every firm is born through :meth:`Founding.found` (the births phase, and policies that bring
founders of their own).

* **Births** (:class:`Founding`): see its docstring.
* **Entry decision** (:func:`entry_probability`): a potential founder founds when the net value
  of founding (the value of the firm less the outside option, logistic across potential founders)
  exceeds the cost of founding; policies that cut the cost raise entry.
* **Founding state** (:func:`founding_state`): latent quality ``q ~ N(shift_origin, 1)``; founders'
  cash, revenue and headcount log-normal around the preset's medians; research spin-offs start
  with less revenue (the death valley between sample and product).
* **Track** (:func:`choose_tracks`): inverse-CDF choice over the tracks' entry weights.

Money in million CNY.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import pdtr, pdtrik

from agents.firms.rules import saturated_quality
from sim.config import FirmConfig
from sim.core.clock import DT, STEP_OFFSET
from sim.core.rng import KeyedDraws, birth_keys
from sim.core.vocabulary import INDEPENDENT, ORIGINS, SPINOFF

# slots of the keyed "founding" stream
_SLOT_TRACK, _SLOT_QUALITY, _SLOT_CASH, _SLOT_REVENUE, _SLOT_EMPLOYEES = range(5)
#: Code of the returnee founders (海归, independent founders) in birth keys and the births draw; the
#: founding channels of ORIGINS use their index (0-2).
RETURNEE_CHANNEL = 3


def entry_probability(cut, cfg: FirmConfig):
    """Share of potential founders who found when the cost of founding is cut by ``cut`` mcny.

    Each potential founder founds when the net value of founding ``v`` (the value of the firm less
    the outside option) exceeds the cost of founding ``C``; ``v`` is logistic across potential
    founders with location ``mu`` and spread ``sigma``, so the share who found is
    ``p(C) = 1 / (1 + exp((C - mu) / sigma))``. At the preset's cost ``C0`` (``founding_cost_mcny``)
    it is ``founding_propensity`` (``p0``), and the elasticity of entry with respect to the cost
    there is ``entry_cost_elasticity`` (``eps``, ASSUMED), which sets ``sigma = C0 (1 - p0) / eps``.
    Then ``p(C0 - cut) = 1 / (1 + (1 / p0 - 1) exp(-cut / sigma))``; ``eps = 0``: no response."""
    p0 = cfg.founding_propensity
    if cfg.entry_cost_elasticity <= 0:
        return p0 + 0.0 * np.asarray(cut)
    sigma = cfg.founding_cost_mcny * (1.0 - p0) / cfg.entry_cost_elasticity
    return 1.0 / (1.0 + (1.0 / p0 - 1.0) * np.exp(-np.asarray(cut) / sigma))


def entry_factor(cut, cfg: FirmConfig):
    """Founders relative to the preset's cost of founding when it is cut by ``cut`` mcny."""
    return entry_probability(cut, cfg) / cfg.founding_propensity


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
    employees = np.clip(
        np.round(cfg.initial_employees * np.exp(0.5 * z_e - 0.125)), 1.0, np.maximum(1.0, np.floor(affordable))
    )
    quality = shift + z_q
    return {
        "vol": cfg.growth_sigma * employees ** (-cfg.growth_size_exponent),
        "quality": quality,
        "qsat": saturated_quality(quality),
        "revenue": revenue,
        "employees": employees,
        "cash": cash,
    }


def poisson_quantile(u: float, mean: float) -> int:
    """The smallest n with P(N <= n) >= u for N ~ Poisson(mean), 0 < u < 1 and mean > 0: what
    ``scipy.stats.poisson.ppf(u, mean)`` computes, with the same two special functions, without
    importing scipy.stats (half a second at start-up)."""
    n = math.ceil(pdtrik(u, mean))
    below = max(n - 1, 0)
    return below if pdtr(below, mean) >= u else n


def poisson_quantiles(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """:func:`poisson_quantile` element by element (0 < u < 1, mean > 0): what
    ``scipy.stats.poisson.ppf(u, mean)`` computes for such arguments, as floats."""
    n = np.ceil(pdtrik(u, mean))
    below = np.maximum(n - 1, 0)
    return np.where(pdtr(below, mean) >= u, below, n)


def choose_tracks(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Inverse-CDF choice of a track for each uniform draw ``u`` given track ``weights``."""
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        raise ValueError("no track has a positive entry weight")
    idx = np.searchsorted(cum, u * cum[-1], side="right")
    return np.minimum(idx, len(weights) - 1).astype(np.int32)


class Founding:
    """The births phase (:meth:`step`) and the only way a firm is born (:meth:`found`).

    Births per month of each founding channel are a Poisson draw (inverse CDF of one keyed uniform,
    so a policy that changes one channel leaves the others unchanged) with mean:

    * independents: ``births_per_year * scale * dt * (1 + births_growth) ** years since the start``
      times ``1 - alumni_share - spinoff_share``, of whom ``returnee_share`` are returnees (海归:
      own birth keys, latent quality ``quality_shift_returnee`` higher);
    * alumni: the same base times ``alumni_share`` times the incumbent firms' headcount relative to
      start_year (:mod:`agents.incumbents`: no incumbents, no alumni founders);
    * spin-offs: the researchers' founding rate of the institutes (:meth:`agents.institutes.
      Institutes.spinoff_rates`: knowledge and transfer regime), each credited to an institute;

    each times :func:`entry_factor` of the channel's expected cut of the cost of founding (lever
    ``founding_cost_cut``; for returnees also ``returnee_cost_cut``): the potential founders'
    entry decision, so an entry subsidy raises births through the cost of founding. Founders
    choose a track in proportion to ``(market * scale) ** entry_market_elasticity * heat **
    entry_heat_elasticity`` times the lifecycle state's multiplier and the ``entry_bonus`` lever;
    alumni also by the track's unicorns so far and their former employer's strategic tracks;
    researchers found where their institutes' founding rates are (knowledge), times the square root
    of heat, even in tracks investors have not noticed.
    """

    def __init__(self, model):
        self.model = model
        self.cfg = model.cfg.ecosystem.firms
        self.draws = model.draws["founding"]

    def channel_means(self) -> dict[str, float]:
        """Expected births this month of each channel (independent, returnee, spinoff, alumni)."""
        m = self.model
        fcfg = self.cfg
        years = (m.current_step + m.warmup_steps) / 12.0
        lam = fcfg.births_per_year * m.scale * DT * (1.0 + fcfg.births_growth) ** years
        cut = {o: m.levers.value("founding_cost_cut", o) for o in ORIGINS}
        indep = lam * max(1.0 - fcfg.alumni_share - fcfg.spinoff_share, 0.0)
        return {
            "independent": indep * (1.0 - fcfg.returnee_share) * float(entry_factor(cut["independent"], fcfg)),
            "spinoff": float(m.institutes.spinoff_rates().sum()) * DT * float(entry_factor(cut["spinoff"], fcfg)),
            # alumni founders follow the incumbents' presence and headcount (agents.incumbents)
            "alumni": lam * m.incumbents.alumni_share(fcfg.alumni_share) * float(entry_factor(cut["alumni"], fcfg)),
            "returnee": indep * fcfg.returnee_share * float(
                entry_factor(cut["independent"] + m.levers.value("returnee_cost_cut"), fcfg)),
        }

    def step(self) -> None:
        """This month's births of every founding channel."""
        m = self.model
        fcfg = self.cfg
        step = m.current_step
        tr = m.tracks
        active = tr["active"]
        entry_bonus = m.levers.track("entry_bonus")
        market_w = np.where(active, (tr["market"] * m.scale) ** fcfg.entry_market_elasticity, 0.0)
        heat_w = np.maximum(tr["heat"], 1e-6) ** fcfg.entry_heat_elasticity
        state_w = m.track_dynamics.state_multiplier()
        w_common = market_w * heat_w * state_w * entry_bonus
        weights = {
            "independent": w_common,
            "returnee": w_common,
            "alumni": w_common * (1.0 + tr["unicorns_ever"]) ** m.cfg.ecosystem.tracks.alumni_unicorn_elasticity,
            # researchers found where their knowledge is, even in tracks investors have not noticed yet
            "spinoff": np.where(active, m.institutes.spinoff_rates()[: tr.n], 0.0) * np.sqrt(heat_w) * entry_bonus,
        }
        key_step = step + STEP_OFFSET
        for channel, mean in self.channel_means().items():
            code = RETURNEE_CHANNEL if channel == "returnee" else ORIGINS.index(channel)
            if mean <= 0 or weights[channel].sum() <= 0:
                continue
            u = m.draws["births"].uniform(np.array([key_step * 8 + code], dtype=np.uint64), 0, 0)[0]
            n = poisson_quantile(u, mean)
            if n <= 0:
                continue
            keys = birth_keys(key_step, code, n)
            origin = INDEPENDENT if channel == "returnee" else code
            shift = fcfg.quality_shift_returnee if channel == "returnee" else 0.0
            track_u = self.draws.uniform(keys, step, _SLOT_TRACK)
            if channel == "alumni":  # each founder's former employer, and its tracks (agents.incumbents)
                m.incumbents.found_alumni(keys, track_u, weights[channel])
                continue
            rows = self.found(keys, origin, track_u, weights[channel], quality_shift=shift)
            if origin == SPINOFF:
                m.institutes.credit_spinoffs(keys, m.population["track"][rows])

    def found(self, keys: np.ndarray, origin: int, track_u: np.ndarray, weights: np.ndarray,
              quality_shift: float = 0.0) -> np.ndarray:
        """Found firms with birth ``keys`` (:func:`sim.core.rng.birth_keys`) through founding
        channel ``origin`` (an index into ORIGINS) into tracks chosen by the uniforms ``track_u``
        in proportion to ``weights``; their mean quality is raised by ``quality_shift`` sd.
        Books the founders' cash and the births. Returns the new firms' live rows."""
        return self.found_in(keys, origin, choose_tracks(track_u, weights), quality_shift)

    def found_in(self, keys: np.ndarray, origin: int, track: np.ndarray, quality_shift: float = 0.0) -> np.ndarray:
        """:meth:`found` with each firm's track given (``track``, int32, one per key): the firms are
        added in the order of ``keys``."""
        m = self.model
        pop = m.population
        step = m.current_step
        n = keys.size
        orig = np.full(n, origin, dtype=np.int8)
        state = founding_state(keys, orig, self.cfg, self.draws, step)
        if quality_shift != 0.0:
            state["quality"] = state["quality"] + quality_shift
            state["qsat"] = saturated_quality(state["quality"])
        before = pop.n
        pop.add(step, key=keys, hkey=KeyedDraws.prehash(keys), origin=orig, track=track, **state)
        m.ledger.founder_cash += float(state["cash"].sum())
        m.counts["births"] += n
        m.counts[f"births_{ORIGINS[origin]}"] += n
        return np.arange(before, before + n)

"""Firms' vectorised rules: growth, hiring, cash, closure, insolvency and ageing.

The firm population is large (a 中关村-sized park founds about 110,000 firms a year), so the
behaviour of firms is written as *vectorised verbs* over the columnar store
(:class:`agents.firms.population.FirmPopulation`): each function below applies one rule to every
live firm at once. Every random number comes from a keyed stream
(:class:`sim.core.rng.KeyedDraws`), indexed by the firm's birth key and the step, so a firm's luck
does not depend on which other firms exist (common random numbers). How firms are founded is in
:mod:`agents.firms.founding`; the Mesa agent of one firm in :mod:`agents.firms.view`.

Rules (monthly step ``dt = 1/12`` year; money in million CNY):

* **Growth** (:func:`grow`): log revenue follows a random walk with drift
  ``growth_base + growth_quality * 2.5 tanh(q / 2.5) * exp(-age / growth_age_decay_years)
  + growth_capital * cash / (cash + yearly burn) + track demand growth - crowding``, and shocks
  that are fat-tailed (Laplace) with a volatility that falls with size
  (``growth_sigma * employees ** -growth_size_exponent``, refreshed quarterly): Gibrat's
  law with the size-variance relation seen in firm data.
* **Hiring** (:func:`hire`): headcount moves toward what gross margin plus a runway-limited
  draw on cash can pay, closing ``hiring_speed`` of the gap each month (never below one).
* **Cash** (:func:`burn_cash`): gross margin minus wages (debt service is paid to the bank).
* **Closure** (:func:`closure_draw`): a non-financial closure hazard that falls with age
  (liability of newness), from ``closure_hazard`` to ``closure_hazard_mature``.
* **Insolvency**: a firm whose cash is negative after the financing phase fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.firms import kernels
from agents.firms.population import FirmPopulation
from sim.config import FirmConfig
from sim.core.clock import DT, is_year_end, years_since
from sim.core.rng import KeyedDraws

QUALITY_LIMIT = 2.5  # sd: the quality effect on growth saturates here (see saturated_quality)


def age_years(pop: FirmPopulation, step: int, rows=None) -> np.ndarray:
    """Exact ages in years at ``step`` (of all live firms, or of ``rows``)."""
    born = pop["born"] if rows is None else pop["born"][rows]
    return years_since(step, born)


def age_in_months(pop: FirmPopulation, step: int) -> np.ndarray:
    return step - pop["born"]


def update_volatility(pop: FirmPopulation, cfg: FirmConfig, rows=slice(None)) -> None:
    """Refresh the growth volatility ``growth_sigma * employees ** -growth_size_exponent``."""
    emp = pop["employees"][rows]
    pop["vol"][rows] = cfg.growth_sigma * np.exp(-cfg.growth_size_exponent * np.log(emp))


def get_older(pop: FirmPopulation, cfg: FirmConfig) -> None:
    """One month passes: the age-dependent factors decay (by multiplication, not exp(age))."""
    pop["qdecay"][:] *= np.exp(-DT / cfg.growth_age_decay_years)
    pop["newness"][:] *= np.exp(-DT / cfg.closure_decay_years)


def wage_bill(employees: np.ndarray, cfg: FirmConfig) -> np.ndarray:
    """Yearly wages. The founder is paid out of what is left, so only staff beyond the first
    person cost a full wage: a one-person firm with a positive margin never burns cash."""
    return np.maximum(employees - 1.0, 0.0) * cfg.wage_mcny


def yearly_burn(pop: FirmPopulation, cfg: FirmConfig) -> np.ndarray:
    """Wages plus debt service minus gross margin, per year (negative when profitable)."""
    gross = pop["revenue"] * (1.0 - cfg.cost_of_revenue)
    return wage_bill(pop["employees"], cfg) + 12.0 * pop["debt_payment"] - gross


def grow(
    pop: FirmPopulation,
    cfg: FirmConfig,
    draws: KeyedDraws,
    step: int,
    track_growth: np.ndarray,
    track_crowding: np.ndarray,
    growth_multiplier: np.ndarray | None = None,
) -> None:
    """Multiplicative revenue growth for one step (see the module docstring)."""
    if pop.n == 0:
        return
    emp = pop["employees"]
    cash = np.maximum(pop["cash"], 0.0)
    trk = pop["track"]
    capital = cash / (cash + emp * cfg.wage_mcny)
    drift = cfg.growth_quality * pop["qsat"] * pop["qdecay"]
    drift += cfg.growth_capital * capital
    drift += (track_growth - cfg.crowding * track_crowding)[trk]
    drift += cfg.growth_base
    if growth_multiplier is not None:
        drift += growth_multiplier
    shock = draws.laplace(pop["hkey"], step, 0, prehashed=True)
    shock *= pop["vol"]
    dlog = drift * DT + np.sqrt(DT) * shock
    rev = pop["revenue"]
    rev *= np.exp(dlog)
    # 12-month log growth, as an exponential average of monthly log changes (for signals)
    g = pop["growth_12m"]
    g *= 1.0 - DT
    g += dlog


def saturated_quality(q: np.ndarray, limit: float = QUALITY_LIMIT) -> np.ndarray:
    """Latent quality as it acts on growth: linear near the mean, saturating at +-``limit`` sd
    (no firm compounds a five-sigma advantage forever; growth rates of the best firms level off)."""
    return limit * np.tanh(q / limit)


def gross_margin(pop: FirmPopulation, cfg: FirmConfig) -> np.ndarray:
    """Yearly gross margin (revenue less non-wage costs) of every live firm."""
    return pop["revenue"] * (1.0 - cfg.cost_of_revenue)


def hire(pop: FirmPopulation, cfg: FirmConfig, gross: np.ndarray | None = None) -> None:
    """Move headcount toward what margin plus a runway-limited draw on cash can pay.

    Cutting is three times faster than hiring when the money is running out (cash for less
    than six months of the current burn)."""
    if pop.n == 0:
        return
    avail = gross_margin(pop, cfg) if gross is None else gross.copy()
    debtors = np.flatnonzero(pop["debt_payment"] > 0)
    avail[debtors] -= 12.0 * pop["debt_payment"][debtors]
    emp = pop["employees"]
    cash = np.maximum(pop["cash"], 0.0)
    # burn before hiring: wages of staff beyond the founder minus margin net of debt service
    burn = emp - 1.0
    np.maximum(burn, 0.0, out=burn)
    burn *= cfg.wage_mcny
    burn -= avail
    short = burn > 2.0 * cash
    # target headcount: 1 + (margin + cash / runway) / wage
    np.maximum(avail, 0.0, out=avail)
    avail += cash * (1.0 / cfg.runway_target_years)
    avail *= 1.0 / cfg.wage_mcny
    avail += 1.0
    target = avail
    target -= emp  # now the gap
    speed = np.where(short & (target < 0), min(1.0, 3.0 * cfg.hiring_speed), cfg.hiring_speed)
    target *= speed
    emp += target
    np.maximum(emp, 1.0, out=emp)


def burn_cash(pop: FirmPopulation, cfg: FirmConfig, gross: np.ndarray | None = None) -> float:
    """Apply one month of operating cash flow (gross margin minus wages); returns its total.

    Debt service is paid separately, to the lending bank (:meth:`agents.investors.lending.Lending.service`).
    """
    if pop.n == 0:
        return 0.0
    operating = gross_margin(pop, cfg) if gross is None else gross.copy()
    operating -= wage_bill(pop["employees"], cfg)
    operating *= DT
    pop["cash"][:] += operating
    return float(operating.sum())


def closure_draw(pop: FirmPopulation, cfg: FirmConfig, draws: KeyedDraws, step: int, multiplier=1.0) -> np.ndarray:
    """Rows of firms that close this step for non-financial reasons."""
    if pop.n == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(_closure_draw_rows(pop, cfg, draws, step, multiplier, slice(None)))


def _closure_draw_rows(pop: FirmPopulation, cfg: FirmConfig, draws: KeyedDraws, step: int, multiplier,
                       rows) -> np.ndarray:
    """Whether each firm at ``rows`` closes this step (``multiplier``: of the hazard, for those rows)."""
    hazard = cfg.closure_hazard_mature + (cfg.closure_hazard - cfg.closure_hazard_mature) * pop["newness"][rows]
    x = hazard * (multiplier * DT)
    p = x * (1.0 - 0.5 * x)  # 1 - exp(-x) to second order (x < 0.2 here, error < 0.2 %)
    return draws.uniform(pop["hkey"][rows], step, 1, prehashed=True) < p


def insolvent(pop: FirmPopulation) -> np.ndarray:
    """Rows of firms whose cash is negative (after the financing phase had its chance)."""
    return np.flatnonzero(pop["cash"] < 0.0)


def aged_out(pop: FirmPopulation, cfg: FirmConfig, step: int) -> np.ndarray:
    """Rows of firms at the graduation age."""
    return np.flatnonzero(age_in_months(pop, step) >= graduation_months(cfg))


TRACK_DEMAND_PASS_THROUGH = 0.5  # share of a track's market growth that shows in its firms' drift


class Firms:
    """The firm rules of one model, as the phases of its month: operations (:meth:`step`),
    deaths (:meth:`end_step`), year-end histories (:meth:`year_end`) and ageing (:meth:`ageing`).
    Every firm leaves the population through :meth:`end`.

    The operations and ageing phases run the compiled loops of :mod:`agents.firms.kernels` (one
    pass over the live firms each); :meth:`step_vectorised` is the same month written with the
    vectorised rules above, kept as the reference the tests compare the loop with. The
    operations pass also notes which firms the deaths phase has to look at (:class:`Watch`), so
    that phase does not scan the whole population again."""

    def __init__(self, model):
        self.model = model
        self.population = model.population
        self.cfg = model.cfg.ecosystem.firms
        self.draws = model.draws["firms"]
        c = self.cfg
        self._par = kernels.op_params(
            growth_quality=c.growth_quality, growth_capital=c.growth_capital, growth_base=c.growth_base,
            wage=c.wage_mcny, cost_of_revenue=c.cost_of_revenue, runway_years=c.runway_target_years,
            hiring_speed=c.hiring_speed, fast_speed=min(1.0, 3.0 * c.hiring_speed), growth_sigma=c.growth_sigma,
            size_exponent=c.growth_size_exponent, dt=DT, sqrt_dt=np.sqrt(DT), crowding=c.crowding,
            closure_hazard=c.closure_hazard, closure_hazard_mature=c.closure_hazard_mature,
            graduation_months=graduation_months(c),
        )
        self._out = np.empty((3, 0), dtype=np.int64)  # work arrays of the operations pass
        self._scratch = np.empty(0)
        self._flags = np.empty(0, dtype=np.uint8)
        #: what the last operations pass noted for the deaths phase (None before the first)
        self.watch: Watch | None = None

    def _track_demand(self) -> tuple[np.ndarray, np.ndarray]:
        """(demand growth passed to each track's firms, the park's capacity of each track's market)."""
        m = self.model
        tr = m.tracks
        mat = tr["maturity"]
        track_growth = TRACK_DEMAND_PASS_THROUGH * (tr["growth"] * (1.0 - mat) / 0.7 + tr["boost"]) + m.levers.track(
            "growth_bonus"
        )
        capacity = m.cfg.ecosystem.tracks.park_market_share * tr["market"] * m.scale
        return track_growth, capacity

    def step(self) -> None:
        """Operations: revenue grows (quality, capital, track demand net of crowding, policy
        support), headcount follows what the firm can pay, volatility is refreshed quarterly,
        and a month of operating cash flow is booked (one compiled pass,
        :func:`agents.firms.kernels.operate`)."""
        m = self.model
        step = m.current_step
        pop = self.population
        n = pop.n
        if self._out.shape[1] < n:
            cap = max(n, int(1.25 * self._out.shape[1]))
            self._out = np.empty((3, cap), dtype=np.int64)
            self._scratch = np.empty(cap)
            self._flags = np.empty(cap, dtype=np.uint8)
        track_growth, capacity = self._track_demand()
        total, n_closed, n_watch, n_aged = kernels.operate(
            np.int64(step), self._par, pop["id"], pop["hkey"], pop["track"], pop["born"], pop["qsat"],
            pop["qdecay"], pop["newness"], pop["cash"], pop["employees"], pop["revenue"], pop["growth_12m"],
            pop["vol"], pop["debt"], pop["debt_payment"], bool(pop.supported), pop["support_growth"],
            pop["support_closure"], np.ascontiguousarray(track_growth, dtype=np.float64),
            np.ascontiguousarray(capacity, dtype=np.float64), step % 3 == 0,
            self.draws.step_constant(step, 0), self.draws.step_constant(step, 1), self._out, self._scratch,
            self._flags,
        )
        out = self._out
        self.watch = Watch(step, pop.n_ever, out[0, :n_closed].copy(), out[1, :n_watch].copy(),
                           out[2, :n_aged].copy())
        m.ledger.operating += total

    def step_vectorised(self) -> None:
        """The operations phase with the vectorised rules (the reference for :meth:`step`)."""
        m = self.model
        step = m.current_step
        fcfg = self.cfg
        pop = self.population
        track_growth, capacity = self._track_demand()
        used = np.bincount(pop["track"], weights=pop["revenue"], minlength=m.tracks.n)
        crowding = np.where(capacity > 0, used / np.maximum(capacity, 1e-9), 0.0)
        grow(pop, fcfg, self.draws, step, track_growth, crowding, pop["support_growth"] if pop.supported else None)
        gross = gross_margin(pop, fcfg)
        hire(pop, fcfg, gross)
        if step % 3 == 0:
            update_volatility(pop, fcfg)
        m.ledger.operating += burn_cash(pop, fcfg, gross)
        self.watch = None

    def end(self, ids: np.ndarray, kind: str) -> None:
        """End the firms ``ids`` (``kind``: an end kind); their cash leaves the ledger's live firms."""
        pop = self.population
        if ids.size == 0:
            return
        rows = pop.row_of[ids]
        self.model.ledger.ended_cash += float(pop["cash"][rows].sum())
        pop.end(rows, self.model.current_step, kind)

    def _failing(self, step: int) -> np.ndarray:
        """Rows of the firms that fail this month: out of cash, or drawn to close."""
        pop = self.population
        closure = pop["support_closure"] if pop.supported else 1.0
        w = self.watch
        if w is None or w.step != step:  # no operations pass this month: look at every firm
            return np.union1d(insolvent(pop), closure_draw(pop, self.cfg, self.draws, step, closure))
        broke = w.live_rows(pop, w.insolvent)
        broke = broke[pop["cash"][broke] < 0.0]
        closed = w.live_rows(pop, w.closed)
        born_since = w.born_since(pop)  # founded after the operations pass (none in the usual month)
        if born_since.size:
            broke = np.union1d(broke, born_since[pop["cash"][born_since] < 0.0])
            c = closure[born_since] if pop.supported else closure
            closed = np.union1d(closed, born_since[_closure_draw_rows(pop, self.cfg, self.draws, step, c, born_since)])
        return np.union1d(broke, closed)

    def _graduating(self, step: int) -> np.ndarray:
        """Rows of the firms at the graduation age (after this month's failures left)."""
        pop = self.population
        w = self.watch
        if w is None or w.step != step:
            return aged_out(pop, self.cfg, step)
        return np.sort(w.live_rows(pop, w.aged))  # founded since the pass: too young to graduate

    def end_step(self) -> None:
        """Deaths: firms out of cash and firms drawn to close fail (their investors write off,
        their banks recover part); firms past the graduation age leave the young-firm
        population (their lots stay, unrealised)."""
        m = self.model
        step = m.current_step
        pop = self.population
        rows = self._failing(step)
        m.market.write_off(rows)
        self.end(pop["id"][rows].copy(), "failed")
        m.counts["deaths"] = rows.size
        old = self._graduating(step)
        m.market.mark_unrealized(old)
        self.end(pop["id"][old].copy(), "aged_out")
        m.counts["aged_out"] = old.size

    def year_end(self) -> None:
        """At the end of each year the year-end headcount and revenue join each firm's history."""
        pop = self.population
        if not is_year_end(self.model.current_step) or pop.n == 0:
            return
        kernels.shift_history(pop["emp_hist"], pop["rev_hist"], pop["employees"], pop["revenue"])

    def ageing(self) -> None:
        """A month passes for every firm (:func:`get_older`, in one compiled pass)."""
        pop = self.population
        kernels.age(pop["qdecay"], pop["newness"], np.exp(-DT / self.cfg.growth_age_decay_years),
                    np.exp(-DT / self.cfg.closure_decay_years))


def graduation_months(cfg: FirmConfig) -> int:
    """Age in months at which a firm leaves the young-firm population."""
    return int(round(12 * cfg.graduation_age_years))


@dataclass
class Watch:
    """What the operations pass of month ``step`` noted for the deaths phase, by firm id: the
    firms drawn to close, those that may be insolvent after financing (cash below zero, or a
    loan still to service) and those at the graduation age; ``n_ever`` firms existed then."""

    step: int
    n_ever: int
    closed: np.ndarray
    insolvent: np.ndarray
    aged: np.ndarray

    @staticmethod
    def live_rows(pop: FirmPopulation, ids: np.ndarray) -> np.ndarray:
        """Live rows of the firms ``ids`` that are still alive."""
        rows = pop.row_of[ids]
        return rows[rows >= 0]

    def born_since(self, pop: FirmPopulation) -> np.ndarray:
        """Live rows of the firms founded since the pass."""
        return self.live_rows(pop, np.arange(self.n_ever, pop.n_ever))

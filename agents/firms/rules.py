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
  + growth_capital * cash / (cash + wage bill) * reliance + track demand growth - crowding``, where
  ``reliance`` is the share of the wage bill (``employees * wage``) that the gross margin does not
  cover (0 for a self-financing firm: its cash buys no extra growth), and shocks
  that are fat-tailed (Laplace) with a volatility that falls with size
  (``growth_sigma * employees ** -growth_size_exponent``, refreshed quarterly): Gibrat's
  law with the size-variance relation seen in firm data. Each calendar year a firm's volatility
  is multiplied by ``sqrt(1 - w + w * E)``, ``E`` exponential with mean 1 and ``w`` =
  ``growth_shock_mixing`` (:func:`year_volatility`): a normal whose variance is exponential is a
  Laplace, so yearly growth rates are tent-shaped as in firm data (monthly shocks of a fixed
  volatility would add up to a nearly normal year), the yearly variance unchanged.
* **Hiring** (:func:`hire`): headcount moves toward what gross margin plus a runway-limited
  draw on cash can pay, closing ``hiring_speed`` of the gap each month (never below one).
* **Cash** (:func:`burn_cash`): gross margin minus wages (debt service is paid to the bank).
* **Closure** (:func:`closure_draw`): a non-financial closure hazard that falls with age
  (liability of newness), from ``closure_hazard`` to ``closure_hazard_mature``, and with size,
  times ``employees ** -closure_size_elasticity`` (larger firms close less often). A
  venture-backed firm drawn to close while it holds cash makes a last attempt instead
  (:func:`attempt_rows`): it spends that cash at a steady pace over ``last_attempt_months`` on
  top of its costs (the money buys no growth) and closes when the term is over or fails when the
  cash is gone, unless an equity round comes first (a pivot that works ends the attempt).
* **Insolvency**: a firm whose cash is negative after the financing phase fails, unless it has
  no outside equity and its gross margin net of debt service still pays ``trim_coverage`` of its
  staff's wages: then it lets go the staff it cannot pay and its founder covers the shortfall
  (``Firms._trim``). Without this, firms that nearly paid their way spent their cash down to
  nothing and failed by a few hundred yuan at ages 4-6, which made the failure hazard rise with age.
* **R&D** (:func:`rd_staff_share`, :func:`spend_on_rd`): a share ``rd.performer_share`` of the
  firms do R&D at all (:func:`rd_performers`: each firm's own keyed draw, fixed for its life; R&D
  in firm data is concentrated, many firms report none). A share ``phi`` of an R&D performer's
  paid staff does R&D, ``phi = rd.staff_share[stage] * tech_intensity`` of its track, times
  ``(user cost of R&D) ** -rd.user_cost_elasticity`` for a firm with taxable profit last month
  (the ``rd_user_cost`` lever: a tax credit lowers it), and times the firm's own ``support_rd``
  when a programme pays part of its R&D (a matched grant, :class:`sim.policies.firms.RDGrants`).
  R&D spending is the R&D staff's wages plus ``rd.nonlabour_ratio`` times them (materials,
  equipment), which come from cash on top of the wage bill; hiring plans for them (a paid
  employee costs ``wage * (1 + phi * nonlabour)``).
  Spending accumulates in an R&D stock ``S`` that depreciates at ``rd.stock_decay``; a *product
  breakthrough* arrives at the hazard ``rd.breakthrough_rate * S ** rd.stock_elasticity * (1 +
  rd.absorption * k_t)`` (``k_t``: the institutes' knowledge in the firm's track over their mean
  per active track), at most one a month, and lifts the firm's latent quality by
  ``rd.quality_lift`` (:func:`apply_breakthroughs`).
* **High-tech enterprise certification** (高新技术企业, :func:`certify_high_tech`): at each year
  end, with the certification's own criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.firms import kernels
from agents.firms.population import FirmPopulation
from sim.config import FirmConfig, RDConfig
from sim.core.clock import DT, MONTHS, is_year_end, years_since
from sim.core.rng import KeyedDraws
from sim.core.vocabulary import NEVER

QUALITY_LIMIT = 2.5  # sd: the quality effect on growth saturates here (see saturated_quality)
MIX_SLOT = 2  # slot of the year's volatility draw in the keyed "firms" stream (0: growth shocks, 1: closures)


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
    bill = emp * cfg.wage_mcny
    capital = cash / (cash + bill)
    # the share of the wage bill that the gross margin does not cover: cash buys growth in a firm
    # that spends beyond its margin, not in a self-financing one (retained profit is not a war chest)
    reliance = np.clip(1.0 - gross_margin(pop, cfg) / bill, 0.0, 1.0)
    drift = cfg.growth_quality * pop["qsat"] * pop["qdecay"]
    drift += cfg.growth_capital * np.where(trying(pop), 0.0, capital) * reliance  # a last attempt buys no growth
    drift += (track_growth - cfg.crowding * track_crowding)[trk]
    drift += cfg.growth_base
    if growth_multiplier is not None:
        drift += growth_multiplier
    year_volatility(pop, cfg, draws, step)
    shock = draws.laplace(pop["hkey"], step, 0, prehashed=True)
    shock *= pop["vol"] * pop["vmix"]
    dlog = drift * DT + np.sqrt(DT) * shock
    rev = pop["revenue"]
    rev *= np.exp(dlog)
    # 12-month log growth, as an exponential average of monthly log changes (for signals)
    g = pop["growth_12m"]
    g *= 1.0 - DT
    g += dlog


def year_volatility(pop: FirmPopulation, cfg: FirmConfig, draws: KeyedDraws, step: int) -> None:
    """Draw this calendar year's volatility multiplier ``vmix`` of every live firm in January, and
    of a firm founded since then in its first month: ``sqrt(1 - mixing + mixing * E)``, ``E``
    exponential with mean 1 (keyed by the firm and the year's January, so a firm's draw does not
    depend on its month of birth), ``mixing`` = ``growth_shock_mixing``."""
    rows = np.arange(pop.n) if step % MONTHS == 0 else np.flatnonzero(pop["vmix"] == 0.0)
    if rows.size == 0:
        return
    e = -np.log(draws.uniform(pop["hkey"][rows], step - step % MONTHS, MIX_SLOT, prehashed=True))
    w = cfg.growth_shock_mixing
    pop["vmix"][rows] = np.sqrt((1.0 - w) + w * e)


def saturated_quality(q: np.ndarray, limit: float = QUALITY_LIMIT) -> np.ndarray:
    """Latent quality as it acts on growth: linear near the mean, saturating at +-``limit`` sd
    (no firm compounds a five-sigma advantage forever; growth rates of the best firms level off)."""
    return limit * np.tanh(q / limit)


def gross_margin(pop: FirmPopulation, cfg: FirmConfig) -> np.ndarray:
    """Yearly gross margin (revenue less non-wage costs) of every live firm."""
    return pop["revenue"] * (1.0 - cfg.cost_of_revenue)


def hire(pop: FirmPopulation, cfg: FirmConfig, gross: np.ndarray | None = None,
         staff_cost: np.ndarray | None = None) -> None:
    """Move headcount toward what margin plus a runway-limited draw on cash can pay.

    ``staff_cost``: what a paid employee costs per unit of wage (1 + the R&D beyond wages it
    brings, :func:`rd_staff_share`); 1 when None. Cutting is three times faster than hiring when
    the money is running out (cash for less than six months of the current burn)."""
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
    burn *= cfg.wage_mcny if staff_cost is None else cfg.wage_mcny * staff_cost
    burn -= avail
    short = burn > 2.0 * cash
    # target headcount: 1 + (margin + cash / runway) / (wage * staff cost)
    np.maximum(avail, 0.0, out=avail)
    avail += cash * (1.0 / cfg.runway_target_years)
    avail *= 1.0 / cfg.wage_mcny if staff_cost is None else (1.0 / cfg.wage_mcny) / staff_cost
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
    operating -= np.where(trying(pop), pop["attempt_burn"], 0.0)  # a last attempt's spending
    operating *= DT
    pop["cash"][:] += operating
    return float(operating.sum())


def rd_performers(pop: FirmPopulation, rcfg: RDConfig, draws: KeyedDraws) -> np.ndarray:
    """Whether each live firm does R&D at all: its keyed uniform of the ``rd`` stream's
    ``PERFORMER_SLOT`` (the same draw every month: a firm is a performer or not for life) is below
    ``rd.performer_share``."""
    return draws.uniform(pop["hkey"], 0, PERFORMER_SLOT, prehashed=True) < rcfg.performer_share


def rd_staff_share(pop: FirmPopulation, share: np.ndarray, response: np.ndarray,
                   performer: np.ndarray) -> np.ndarray:
    """Share of each firm's paid staff in R&D this month: ``share[track, stage]`` (tracks x
    stages) for an R&D performer (``performer``, :func:`rd_performers`) and 0 for the others,
    times ``response[track]`` for firms with taxable profit last month, times the firm's
    ``support_rd`` (a programme that pays part of its R&D), at most 1."""
    trk = pop["track"]
    phi = np.where(performer, share[trk, pop["stage"]], 0.0)
    profitable = pop["taxable"] > 0.0
    phi[profitable] *= response[trk[profitable]]
    if pop.supported:
        phi *= pop["support_rd"]
    return np.minimum(phi, 1.0)


def spend_on_rd(pop: FirmPopulation, fcfg: FirmConfig, rcfg: RDConfig, phi: np.ndarray, gross: np.ndarray,
                absorb: np.ndarray, draws: KeyedDraws, step: int, slot: int) -> tuple[float, float, np.ndarray]:
    """A month of R&D after hiring: the R&D staff's wages (already in the wage bill) and the
    spending beyond them (from cash), the year's accounts, the R&D stock and the product
    breakthroughs it brings (``absorb``: the hazard's factor per track). Returns (R&D spending,
    the part beyond wages, rows of the firms with a breakthrough)."""
    wages = wage_bill(pop["employees"], fcfg)
    operating = (gross - wages) * DT
    rd_wages = phi * wages * DT
    rd_other = rd_wages * rcfg.nonlabour_ratio
    rd = rd_wages + rd_other
    pop["cash"][:] -= rd_other
    pop["taxable"][:] = operating - rd_other
    pop["rd_phi"][:] = phi
    pop["rd_last"][:] = rd
    if step % MONTHS == 0:
        pop["rd_year"][:] = 0.0
        pop["rev_year"][:] = 0.0
    pop["rd_year"][:] += rd
    pop["rev_year"][:] += pop["revenue"] * DT
    stock = pop["rd_stock"]
    stock *= np.exp(-DT * rcfg.stock_decay)
    stock += rd
    lam = (absorb * rcfg.breakthrough_rate)[pop["track"]] * np.exp(
        rcfg.stock_elasticity * np.log(np.maximum(stock, kernels.RD_STOCK_FLOOR)))
    y = lam * DT
    found = draws.uniform(pop["hkey"], step, slot, prehashed=True) < y * (1.0 - 0.5 * y)
    return float(rd.sum()), float(rd_other.sum()), np.flatnonzero(found)


def apply_breakthroughs(pop: FirmPopulation, rcfg: RDConfig, rows: np.ndarray) -> None:
    """Product breakthroughs of the firms at ``rows``: latent quality rises by ``quality_lift``;
    each counts as a piece of the firm's own IP."""
    if rows.size == 0:
        return
    q = pop["quality"]
    q[rows] += rcfg.quality_lift
    pop["qsat"][rows] = saturated_quality(q[rows])
    pop["ip"][rows] += 1


def rd_share_of_revenue_floor(revenue: np.ndarray, rcfg: RDConfig) -> np.ndarray:
    """The certification's least R&D share of revenue for a yearly ``revenue`` (mcny): the tier
    below, between or above ``cert_revenue_bands_mcny`` (the bounds belong to the lower tier)."""
    tier = np.searchsorted(np.asarray(rcfg.cert_revenue_bands_mcny, dtype=float), revenue, side="left")
    return np.asarray(rcfg.cert_min_rd_share, dtype=float)[tier]


def high_tech_test(pop: FirmPopulation, rcfg: RDConfig, step: int) -> np.ndarray:
    """Whether each live firm passes the high-tech enterprise criteria at ``step`` (a December),
    on this calendar year's accounts: registered at least ``cert_min_age_years``; R&D staff at
    least ``cert_min_rd_staff_share`` of all staff (the founder included); R&D spending at least
    the tier's share of the year's revenue; revenue at least ``cert_min_revenue_mcny``; own IP (a
    product breakthrough or a licence)."""
    age = years_since(step + 1, pop["born"])
    emp = pop["employees"]
    staff = pop["rd_phi"] * np.maximum(emp - 1.0, 0.0) / emp
    rev = pop["rev_year"]
    return (
        (age >= rcfg.cert_min_age_years)
        & (staff >= rcfg.cert_min_rd_staff_share)
        & (rev >= rcfg.cert_min_revenue_mcny)
        & (pop["rd_year"] >= rd_share_of_revenue_floor(rev, rcfg) * rev)
        & (rev > 0)
        & (pop["ip"] > 0)
    )


def certify_high_tech(pop: FirmPopulation, rcfg: RDConfig, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The year-end certification round (高新技术企业): firms without a valid certificate that pass
    :func:`high_tech_test` are certified for ``cert_valid_years``. Returns (rows certified for the
    first time, rows certified again after their certificate lapsed)."""
    if pop.n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    due = pop["ht_until"] <= step
    rows = np.flatnonzero(due & high_tech_test(pop, rcfg, step))
    first = pop["ht_since"][rows] == NEVER
    pop["ht_since"][rows[first]] = step
    pop["ht_until"][rows] = step + MONTHS * rcfg.cert_valid_years
    return rows[first], rows[~first]


def closure_draw(pop: FirmPopulation, cfg: FirmConfig, draws: KeyedDraws, step: int, multiplier=1.0) -> np.ndarray:
    """Rows of firms that close this step for non-financial reasons."""
    if pop.n == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(_closure_draw_rows(pop, cfg, draws, step, multiplier, slice(None)))


def _closure_draw_rows(pop: FirmPopulation, cfg: FirmConfig, draws: KeyedDraws, step: int, multiplier,
                       rows) -> np.ndarray:
    """Whether each firm at ``rows`` closes this step (``multiplier``: of the hazard, for those rows)."""
    hazard = cfg.closure_hazard_mature + (cfg.closure_hazard - cfg.closure_hazard_mature) * pop["newness"][rows]
    if cfg.closure_size_elasticity != 0.0:
        hazard *= np.exp(-cfg.closure_size_elasticity * np.log(pop["employees"][rows]))
    x = hazard * (multiplier * DT)
    p = x * (1.0 - 0.5 * x)  # 1 - exp(-x) to second order (x < 0.2 here, error < 0.2 %)
    return draws.uniform(pop["hkey"][rows], step, 1, prehashed=True) < p


def trying(pop: FirmPopulation, rows=slice(None)) -> np.ndarray:
    """Whether each firm (at ``rows``) is in a last attempt: one began (``attempt_since``) and no equity
    round came since. Such a firm raises no round and is sold only for its team."""
    return pop["attempt_since"][rows] > pop["last_round"][rows]


def attempt_rows(pop: FirmPopulation, cfg: FirmConfig, drawn: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """A venture-backed firm's last attempt (``firms.last_attempt_months`` > 0): of the firms drawn to
    close at ``drawn`` (ascending), the venture-backed ones (an equity round sold) that hold cash and
    are not in an attempt begin one instead; firms in an attempt close when its term is over, drawn
    or not, and not before. Returns (the rows that close, ascending; the rows that begin an attempt)."""
    if cfg.last_attempt_months <= 0:
        return drawn, drawn[:0]
    now = trying(pop)
    over = np.flatnonzero(now & (step - pop["attempt_since"] >= cfg.last_attempt_months))
    d = drawn[~now[drawn]]
    begin = (pop["rounds"][d] > 0) & (pop["cash"][d] > 0.0)
    return np.union1d(d[~begin], over), d[begin]


def insolvent(pop: FirmPopulation) -> np.ndarray:
    """Rows of firms whose cash is negative (after the financing phase had its chance)."""
    return np.flatnonzero(pop["cash"] < 0.0)


def aged_out(pop: FirmPopulation, cfg: FirmConfig, step: int) -> np.ndarray:
    """Rows of firms at the graduation age."""
    return np.flatnonzero(age_in_months(pop, step) >= graduation_months(cfg))


TRACK_DEMAND_PASS_THROUGH = 0.5  # share of a track's market growth that shows in its firms' drift
RD_SLOT = 0  # slot of the product-breakthrough draw in the keyed "rd" stream
PERFORMER_SLOT = 1  # slot of the draw (at step 0, for every month) that makes a firm an R&D performer


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
        self.rcfg = model.cfg.ecosystem.rd
        self.rd_draws = model.streams.keyed("rd")  # product breakthroughs
        c, r = self.cfg, self.rcfg
        self._par = kernels.op_params(
            growth_quality=c.growth_quality, growth_capital=c.growth_capital, growth_base=c.growth_base,
            wage=c.wage_mcny, cost_of_revenue=c.cost_of_revenue, runway_years=c.runway_target_years,
            hiring_speed=c.hiring_speed, fast_speed=min(1.0, 3.0 * c.hiring_speed), growth_sigma=c.growth_sigma,
            size_exponent=c.growth_size_exponent, dt=DT, sqrt_dt=np.sqrt(DT), crowding=c.crowding,
            closure_hazard=c.closure_hazard, closure_hazard_mature=c.closure_hazard_mature,
            graduation_months=graduation_months(c), rd_nonlabour=r.nonlabour_ratio,
            rd_keep=np.exp(-DT * r.stock_decay), rd_theta=r.breakthrough_rate, rd_beta=r.stock_elasticity,
            closure_size=c.closure_size_elasticity, shock_mixing=c.growth_shock_mixing,
            last_attempt_years=c.last_attempt_months / MONTHS, rd_performer_share=r.performer_share,
        )
        self._out = np.empty((4, 0), dtype=np.int64)  # the lists of the operations pass
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
        # in the warm-up the park's oldest firms are young: its firms hold what a park of that age holds
        capacity = m.cfg.ecosystem.tracks.park_market_share * tr["market"] * m.scale \
            * m.supply_share(m.current_step + 1, "revenue", 0.0)
        return track_growth, capacity

    def _rd_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(R&D staff share per track and stage, its response per track for firms with taxable
        profit, the breakthrough hazard's factor per track): see the module docstring."""
        m = self.model
        r = self.rcfg
        tr = m.tracks
        share = np.outer(tr["tech_intensity"], np.asarray(r.staff_share, dtype=np.float64))
        response = m.levers.track("rd_user_cost") ** -r.user_cost_elasticity
        know = m.institutes.knowledge_by_track()
        active = tr["active"]
        mean = float(know[active].mean()) if active.any() else 0.0
        absorb = 1.0 + r.absorption * know / mean if mean > 0 else np.ones(tr.n)
        return (np.ascontiguousarray(share), np.ascontiguousarray(response, dtype=np.float64),
                np.ascontiguousarray(absorb, dtype=np.float64))

    def _book_rd(self, rd: float, rd_other: float, found_rows: np.ndarray) -> None:
        m = self.model
        m.ledger.rd_nonlabour += rd_other
        m.counts["rd_spending"] += rd
        apply_breakthroughs(self.population, self.rcfg, found_rows)
        m.counts["rd_breakthroughs"] += found_rows.size

    def step(self) -> None:
        """Operations: revenue grows (quality, capital, track demand net of crowding, policy
        support), headcount follows what the firm can pay, volatility is refreshed quarterly,
        a month of operating cash flow and of R&D is booked and R&D brings product
        breakthroughs (one compiled pass, :func:`agents.firms.kernels.operate`)."""
        m = self.model
        step = m.current_step
        pop = self.population
        n = pop.n
        if self._out.shape[1] < n:
            cap = max(n, int(1.25 * self._out.shape[1]))
            self._out = np.empty((4, cap), dtype=np.int64)
        track_growth, capacity = self._track_demand()
        share, response, absorb = self._rd_terms()
        total, rd, rd_other, n_closed, n_watch, n_aged, n_found = kernels.operate(
            np.int64(step), self._par, pop["id"], pop["hkey"], pop["track"], pop["born"], pop["stage"], pop["qsat"],
            pop["qdecay"], pop["newness"], pop["cash"], pop["employees"], pop["revenue"], pop["growth_12m"],
            pop["vol"], pop["vmix"], pop["debt"], pop["debt_payment"], pop["rounds"], pop["last_round"],
            pop["attempt_since"], pop["attempt_burn"], bool(pop.supported), pop["support_growth"],
            pop["support_closure"], pop["support_rd"], np.ascontiguousarray(track_growth, dtype=np.float64),
            np.ascontiguousarray(capacity, dtype=np.float64), share, response, absorb, pop["rd_stock"],
            pop["rd_year"], pop["rev_year"], pop["rd_phi"], pop["rd_last"], pop["taxable"], step % 3 == 0,
            step % MONTHS == 0, self.draws.step_constant(step, 0), self.draws.step_constant(step, 1),
            self.rd_draws.step_constant(step, RD_SLOT), self.draws.step_constant(step - step % MONTHS, MIX_SLOT),
            self.rd_draws.step_constant(0, PERFORMER_SLOT), self._out,
        )
        out = self._out
        self.watch = Watch(step, pop.n_ever, out[0, :n_closed].copy(), out[1, :n_watch].copy(),
                           out[2, :n_aged].copy())
        m.ledger.operating += total
        self._book_rd(rd, rd_other, np.sort(pop.row_of[out[3, :n_found]]))

    def step_vectorised(self) -> None:
        """The operations phase with the vectorised rules (the reference for :meth:`step`)."""
        m = self.model
        step = m.current_step
        fcfg = self.cfg
        pop = self.population
        track_growth, capacity = self._track_demand()
        used = np.bincount(pop["track"], weights=pop["revenue"], minlength=m.tracks.n)
        crowding = np.where(capacity > 0, used / np.maximum(capacity, 1e-9), 0.0)
        share, response, absorb = self._rd_terms()
        phi = rd_staff_share(pop, share, response, rd_performers(pop, self.rcfg, self.rd_draws))
        grow(pop, fcfg, self.draws, step, track_growth, crowding, pop["support_growth"] if pop.supported else None)
        gross = gross_margin(pop, fcfg)
        hire(pop, fcfg, gross, 1.0 + phi * self.rcfg.nonlabour_ratio)
        if step % 3 == 0:
            update_volatility(pop, fcfg)
        m.ledger.operating += burn_cash(pop, fcfg, gross)
        rd, rd_other, found = spend_on_rd(pop, fcfg, self.rcfg, phi, gross, absorb, self.rd_draws, step, RD_SLOT)
        self._book_rd(rd, rd_other, found)
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
            closed = closure_draw(pop, self.cfg, self.draws, step, closure)  # before trimming: at this month's staff
            return np.union1d(self._trim(insolvent(pop)), self._last_attempts(closed, step))
        broke = w.live_rows(pop, w.insolvent)
        broke = broke[pop["cash"][broke] < 0.0]
        closed = w.live_rows(pop, w.closed)
        born_since = w.born_since(pop)  # founded after the operations pass (none in the usual month)
        if born_since.size:
            broke = np.union1d(broke, born_since[pop["cash"][born_since] < 0.0])
            c = closure[born_since] if pop.supported else closure
            closed = np.union1d(closed, born_since[_closure_draw_rows(pop, self.cfg, self.draws, step, c, born_since)])
        return np.union1d(self._trim(np.sort(broke)), closed)

    def _last_attempts(self, drawn: np.ndarray, step: int) -> np.ndarray:
        """Of the firms drawn to close at ``drawn``, those that begin a last attempt do
        (:func:`attempt_rows`); returns the rows that close."""
        pop = self.population
        closes, begin = attempt_rows(pop, self.cfg, drawn, step)
        pop["attempt_since"][begin] = step
        pop["attempt_burn"][begin] = pop["cash"][begin] * (MONTHS / self.cfg.last_attempt_months)
        return closes

    def _trim(self, broke: np.ndarray) -> np.ndarray:
        """Of the firms out of cash at ``broke``, those without outside equity whose gross margin
        net of debt service pays at least ``trim_coverage`` of their staff's wages let go the staff
        it cannot pay (headcount ``1 + margin / cost of an employee``, never more than before) and
        their founder covers the shortfall; returns the rest, which fail."""
        pop = self.population
        own = broke[pop["rounds"][broke] == 0]
        if own.size == 0:
            return broke
        avail = pop["revenue"][own] * (1.0 - self.cfg.cost_of_revenue) - 12.0 * pop["debt_payment"][own]
        staff_cost = self.cfg.wage_mcny * (1.0 + pop["rd_phi"][own] * self.rcfg.nonlabour_ratio)
        paid = np.maximum(pop["employees"][own] - 1.0, 0.0) * staff_cost
        ok = avail >= self.cfg.trim_coverage * paid  # >= 0 too: the right side is never negative
        if not ok.any():
            return broke
        keep = own[ok]
        emp = pop["employees"]
        emp[keep] = np.minimum(emp[keep], 1.0 + avail[ok] / staff_cost[ok])
        self.model.ledger.founder_topups -= float(pop["cash"][keep].sum())
        pop["cash"][keep] = 0.0
        return np.setdiff1d(broke, keep, assume_unique=True)

    def _graduating(self, step: int) -> np.ndarray:
        """Rows of the firms at the graduation age (after this month's failures left)."""
        pop = self.population
        w = self.watch
        if w is None or w.step != step:
            return aged_out(pop, self.cfg, step)
        return np.sort(w.live_rows(pop, w.aged))  # founded since the pass: too young to graduate

    def end_step(self) -> None:
        """Deaths: firms out of cash (but those that trim their staff, :meth:`_trim`) and firms
        drawn to close fail (their investors write off, their banks recover part); firms past the
        graduation age leave the young-firm population (their lots stay, unrealised)."""
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
        """At the end of each year the year-end headcount and revenue join each firm's history,
        and firms that pass the high-tech enterprise criteria are certified
        (:func:`certify_high_tech`)."""
        m = self.model
        pop = self.population
        if not is_year_end(m.current_step) or pop.n == 0:
            return
        kernels.shift_history(pop["emp_hist"], pop["rev_hist"], pop["employees"], pop["revenue"])
        first, _ = certify_high_tech(pop, self.rcfg, m.current_step)
        m.counts["new_high_tech"] += first.size

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

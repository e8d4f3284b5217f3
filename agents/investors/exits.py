"""Exits: IPOs and acquisitions, and how their proceeds reach the investors.

A firm at least ``ipo_min_age_years`` old with a valuation of at least ``ipo_min_valuation_mcny``
and revenue of at least ``ipo_min_revenue_mcny`` (both cut by the ``ipo_relief`` lever of its
track) lists with a yearly hazard ``ipo_rate`` (times the ``ipo_multiple`` lever), at its last
valuation times a log-normal uplift. A firm with at least ``acquisition_min_employees`` is
acquired with a yearly hazard ``acquisition_rate`` (times ``acquisition_multiple``), at the larger
of its valuation and ``acquisition_revenue_multiple`` times revenue, times a log-normal factor.

At an exit the bank is repaid first (from the firm's cash), then every lot is paid pro rata to
its shares; a guidance fund keeps what its return cap allows and cedes the excess to the VC it
co-invested with (让利). Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.investors.books import LOT_REALIZED
from agents.investors.matching import SLOT_ACQ, SLOT_ACQ_PRICE, SLOT_IPO, SLOT_IPO_UPLIFT
from sim.core.clock import DT

__all__ = ["Exits"]


class Exits:
    """The exits of one capital market."""

    def __init__(self, market):
        self.market = market
        self.model = market.model

    def step(self) -> None:
        """The exits phase: draw IPOs and acquisitions, pay them out, and end the firms."""
        m = self.model
        step = m.current_step
        pop = m.population
        ids = {}
        for kind, (rows, values) in self.draw(step).items():
            self.settle(rows, values, step)
            ids[kind] = pop["id"][rows].copy()
        for kind, i in ids.items():
            m.firms.end(i, kind)
        m.counts["exits_ipo"] = len(ids["ipo"])
        m.counts["exits_acquired"] = len(ids["acquired"])

    def draw(self, step: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Draw IPOs and acquisitions. Returns the rows and values of each kind (not yet ended)."""
        m = self.model
        pop = m.population
        out = {"ipo": (np.empty(0, np.int64), np.empty(0)), "acquired": (np.empty(0, np.int64), np.empty(0))}
        if pop.n == 0:
            return out
        ecfg = m.cfg.ecosystem.exits
        draws = m.draws["finance"]
        keys = pop["key"]
        val = pop["valuation"]
        rev = pop["revenue"]
        # the month's scan found the firms with the revenue and age to list and those drawn to
        # be acquired (the rules of listing_candidates and acquisition_draws)
        scan = m.market.month_filters(step)
        cand = scan.listing
        relief = m.levers.track("ipo_relief")  # policies: a listing route with lower thresholds
        if relief.any():
            cut = 1.0 - relief[pop["track"][cand]]
            cand = cand[(val[cand] >= ecfg.ipo_min_valuation_mcny * cut)
                        & (rev[cand] >= ecfg.ipo_min_revenue_mcny * cut)]
        else:
            cand = cand[val[cand] >= ecfg.ipo_min_valuation_mcny]
        p_ipo = 1.0 - np.exp(-ecfg.ipo_rate * m.levers.value("ipo_multiple") * DT)
        r_ipo = cand[draws.uniform(pop["hkey"][cand], step, SLOT_IPO, prehashed=True) < p_ipo]
        v_ipo = val[r_ipo] * np.exp(
            ecfg.ipo_uplift_mean + ecfg.ipo_uplift_sigma * draws.normal(keys[r_ipo], step, SLOT_IPO_UPLIFT)
        )
        r_acq = scan.acquisition[~np.isin(scan.acquisition, r_ipo)]
        base = np.maximum(val[r_acq], ecfg.acquisition_revenue_multiple * rev[r_acq])
        v_acq = base * np.exp(
            ecfg.acquisition_price_mean + ecfg.acquisition_price_sigma * draws.normal(keys[r_acq], step, SLOT_ACQ_PRICE)
        )
        out["ipo"] = (r_ipo, v_ipo)
        out["acquired"] = (r_acq, v_acq)
        return out

    def listing_candidates(self, step: int) -> np.ndarray:
        """Rows of the firms that may list this month (before the draw), by whole-population array
        operations (the reference for the month's scan)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        val, rev = pop["valuation"], pop["revenue"]
        relief = m.levers.track("ipo_relief")
        if relief.any():
            cut = 1.0 - relief[pop["track"]]
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny * cut) & (rev >= ecfg.ipo_min_revenue_mcny * cut))
        else:
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny) & (rev >= ecfg.ipo_min_revenue_mcny))
        return cand[(step - pop["born"][cand]) >= 12.0 * ecfg.ipo_min_age_years]

    def acquisition_draws(self, step: int) -> np.ndarray:
        """Rows of the firms with traction drawn to be acquired this month (before listings take
        precedence), by whole-population array operations (the reference for the month's scan)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        cand = np.flatnonzero(pop["employees"] >= ecfg.acquisition_min_employees)
        p_acq = 1.0 - np.exp(-ecfg.acquisition_rate * m.levers.value("acquisition_multiple") * DT)
        return cand[m.draws["finance"].uniform(pop["hkey"][cand], step, SLOT_ACQ, prehashed=True) < p_acq]

    def settle(self, rows: np.ndarray, values: np.ndarray, step: int) -> None:
        """Pay out an exit at ``values``: banks first (from the firm's cash), then every lot pro
        rata to its shares."""
        market = self.market
        investors = market.investors
        if rows.size == 0:
            return
        pop = self.model.population
        pop.records["exit_value"][pop["id"][rows]] = values
        market.lending.repay(rows)
        equity = np.maximum(values, 0.0)
        li, pos, frac = market.lots_of_rows(rows)
        if li.size == 0:
            return
        lots = market.lots
        gross = frac * equity[pos]
        kind = np.array([investors[i].kind for i in lots["investor"][li]])
        net = gross.copy()
        ceded = np.zeros_like(gross)
        for j in np.flatnonzero(kind == "guidance_fund"):
            g = investors[lots["investor"][li[j]]]
            years = (step - lots["step"][li[j]]) / 12.0
            net[j] = g.capped(lots["invested"][li[j]], gross[j], years)
            ceded[j] = gross[j] - net[j]
        lots["proceeds"][li] = net
        lots["status"][li] = LOT_REALIZED
        per_inv = np.bincount(lots["investor"][li], weights=net, minlength=len(investors))
        partners = lots["partner"][li]
        has = (ceded > 0) & (partners >= 0)
        if has.any():
            per_inv += np.bincount(partners[has], weights=ceded[has], minlength=len(investors))
            for j in np.flatnonzero(has):
                investors[lots["investor"][li[j]]].excess_ceded += ceded[j]
            # the partner's extra proceeds are booked on its own lot in that firm
            self._book_ceded(li[has], partners[has], ceded[has])
        for i in np.flatnonzero(per_inv > 0):
            investors[i].receive(float(per_inv[i]))

    def _book_ceded(self, lot_idx: np.ndarray, partners: np.ndarray, amounts: np.ndarray) -> None:
        lots = self.market.lots
        for li, p, a in zip(lot_idx, partners, amounts, strict=True):
            firm = lots["firm"][li]
            cand = np.flatnonzero((lots["firm"] == firm) & (lots["investor"] == p))
            if cand.size:
                lots["proceeds"][cand[0]] += a
            else:  # no own lot (should not happen): book a zero-cost lot
                lots.append(investor=[p], firm=[firm], step=[lots["step"][li]], invested=[0.0], shares=[0.0],
                            proceeds=[a], residual=[0.0], status=[LOT_REALIZED], partner=[-1])

"""Supply contracts: buyers (incumbent firms, the government, insured first buyers) purchasing
the products of young firms.

A contract has a buyer, a supplier (a live firm), a value per year and a term. While it runs the
buyer pays ``value * dt`` a month; the supplier keeps that payment net of the cost of delivering
it (``firms.cost_of_revenue``), which enters its cash and the cash ledger as ``contract_margin``,
so the money identity holds. A firm's running contracts add up in its live column
``contract_revenue`` (mcny/yr, written only here): the capital market counts it with the firm's own
revenue when it prices a round or a loan (:func:`sales`). A contract ends at the end of its term or
when its supplier leaves the population.

Buyers are identified by a kind (:data:`BUYER_KINDS`) and an index (the incumbent's index in
``model.incumbents``, or the buying policy's position among the government's policies); what each
buyer has paid is kept per (kind, index) for the budgets and the outputs. A public buyer that cannot
pay all it owes in a month (its budget is used up) says so before the payments
(:meth:`ContractBook.set_pay_ratio`), and its suppliers get that share.

Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from sim.core.clock import DT
from sim.core.columns import Columns
from sim.core.vocabulary import BUYER_KINDS

__all__ = ["INCUMBENT", "GOVERNMENT", "INSURED", "CONTRACT_COLUMNS", "ContractBook", "sales", "choose_suppliers"]

#: Kinds of buyer (:data:`sim.core.vocabulary.BUYER_KINDS`): a large incumbent firm, the government
#: (public procurement), a first buyer whose risk is insured (首台套: the buyer is outside the
#: model, the government subsidises the premium).
INCUMBENT, GOVERNMENT, INSURED = range(len(BUYER_KINDS))

CONTRACT_COLUMNS: dict[str, tuple] = {
    "firm": (np.int64, -1),  # supplier's firm id
    "buyer_kind": (np.int8, 0),  # index into BUYER_KINDS
    "buyer": (np.int64, -1),  # incumbent index or policy position
    "value": (np.float64, 0.0),  # mcny/yr
    "start": (np.int32, 0),
    "end": (np.int32, 0),  # first step without payment
    "paid": (np.float64, 0.0),  # mcny paid so far
    "open": (np.bool_, True),
}


def sales(pop) -> np.ndarray:
    """Revenue run rate of every live firm including its running supply contracts (mcny/yr)."""
    return pop["revenue"] + pop["contract_revenue"]


def choose_suppliers(model, eligible: np.ndarray | None, room: float, draws, value_share: float | None = None,
                     slot: int = 0, limit: int | None = None,
                     tracks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Suppliers a buyer contracts: among the live firms of the mask ``eligible`` (or, if it is None,
    in the tracks of the track mask ``tracks``) that have a product
    on sale (``contracts.min_revenue_mcny``) and no running contract, the best by the buyer's noisy
    view of their quality (``contracts.evaluation_noise``, keyed ``draws`` at ``slot``), while their
    contracts' value per year fits in ``room`` (and at most ``limit`` of them). A contract is worth
    ``value_share`` (default ``contracts.revenue_share``) of the supplier's revenue a year, at most
    ``contracts.max_mcny``. Returns (rows, values)."""
    pop = model.population
    ccfg = model.cfg.ecosystem.contracts
    empty = (np.empty(0, np.int64), np.empty(0))
    if room <= 0 or pop.n == 0:
        return empty
    pool = model.contracts.supplier_pool()
    cand = pool[eligible[pool]] if eligible is not None else pool[tracks[pop["track"][pool]]]
    if cand.size == 0:
        return empty
    share = ccfg.revenue_share if value_share is None else value_share
    # the most contracts that can fit: each is worth at least share * min_revenue (the pool's floor)
    floor = share * max(ccfg.min_revenue_mcny, 1e-9)
    k = cand.size if limit is None else min(limit, cand.size)
    if np.isfinite(room):
        k = min(k, int(room / floor) + 1)
    score = pop["quality"][cand] + ccfg.evaluation_noise * draws.normal(pop["key"][cand], model.current_step, slot)
    if k < cand.size:
        top = np.argpartition(-score, k - 1)[:k]
        cand, score = cand[top], score[top]
    order = cand[np.argsort(-score, kind="stable")]
    values = np.minimum(share * pop["revenue"][order], ccfg.max_mcny)
    take = np.cumsum(values) <= room
    return order[take], values[take]


class ContractBook:
    """Every supply contract of one model, and the monthly payments."""

    def __init__(self, model):
        self.model = model
        self.contracts = Columns(CONTRACT_COLUMNS, capacity=256)
        #: (buyer kind, buyer) -> mcny paid this month, for the buyers' books
        self.paid_this_month: dict[tuple[int, int], float] = {}
        #: (buyer kind, buyer) -> share of this month's payments made (public buyers short of budget)
        self.pay_ratio: dict[tuple[int, int], float] = {}
        self.paid_total = 0.0
        self._pool = np.empty(0, dtype=np.int64)  # the month's potential suppliers (supplier_pool)
        self._pool_step, self._pool_n = None, -1

    # ---- signing -------------------------------------------------------------------------
    def sign(self, rows: np.ndarray, values: np.ndarray, months: int, buyer_kind: int, buyer: int) -> None:
        """Contracts with the live firms at ``rows`` worth ``values`` (mcny/yr each) for ``months``."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        m = self.model
        pop = m.population
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), rows.shape)
        step = m.current_step
        self.contracts.append(
            rows.size,
            firm=pop["id"][rows],
            buyer_kind=buyer_kind,
            buyer=buyer,
            value=values,
            start=step,
            end=step + int(months),
            paid=0.0,
            open=True,
        )
        np.add.at(pop["contract_revenue"], rows, values)

    def supplier_pool(self) -> np.ndarray:
        """Rows of the live firms that could supply a new contract this month: a product on sale
        (``contracts.min_revenue_mcny``) and no running contract. Found once a month; rows that
        signed since are dropped."""
        m = self.model
        pop = m.population
        if self._pool_step != m.current_step or self._pool_n != pop.n:
            self._pool = np.flatnonzero(pop["revenue"] >= m.cfg.ecosystem.contracts.min_revenue_mcny)
            self._pool_step, self._pool_n = m.current_step, pop.n
        pool = self._pool
        return pool[pop["contract_revenue"][pool] <= 1e-9]

    def set_pay_ratio(self, buyer_kind: int, buyer: int, ratio: float) -> None:
        """The share of what it owes this month that a buyer pays (a public buyer short of budget)."""
        self.pay_ratio[(buyer_kind, buyer)] = ratio

    def due(self, buyer_kind: int, buyer: int) -> float:
        """What the buyer owes this month (mcny): its running contracts with live suppliers."""
        c = self.contracts
        if c.n == 0:
            return 0.0
        m = self.model
        sel = np.flatnonzero(c["open"] & (c["buyer_kind"] == buyer_kind) & (c["buyer"] == buyer)
                             & (c["end"] > m.current_step))
        sel = sel[m.population.row_of[c["firm"][sel]] >= 0]
        return float(c["value"][sel].sum() * DT)

    def committed(self, buyer_kind: int, buyer: int) -> float:
        """Value per year of the buyer's running contracts (mcny/yr)."""
        c = self.contracts
        if c.n == 0:
            return 0.0
        sel = c["open"] & (c["buyer_kind"] == buyer_kind) & (c["buyer"] == buyer)
        return float(c["value"][sel].sum())

    def paid(self, buyer_kind: int, buyer: int) -> float:
        """What the buyer has paid so far (mcny)."""
        c = self.contracts
        if c.n == 0:
            return 0.0
        sel = (c["buyer_kind"] == buyer_kind) & (c["buyer"] == buyer)
        return float(c["paid"][sel].sum())

    # ---- the month -----------------------------------------------------------------------
    def step(self) -> None:
        """The month's payments: every running contract pays ``value * dt``; the supplier keeps
        the margin. Contracts whose term is over or whose supplier has left end first."""
        m = self.model
        self.paid_this_month = {}
        c = self.contracts
        if c.n == 0:
            return
        pop = m.population
        step = m.current_step
        live = np.flatnonzero(c["open"])
        if live.size == 0:
            return
        rows = pop.row_of[c["firm"][live]]
        over = (rows < 0) | (c["end"][live] <= step)
        if over.any():
            done = live[over]
            c["open"][done] = False
            alive = rows[over] >= 0
            np.subtract.at(pop["contract_revenue"], rows[over][alive], c["value"][done][alive])
            live, rows = live[~over], rows[~over]
            if live.size == 0:
                return
        pay = c["value"][live] * DT
        kinds, buyers = c["buyer_kind"][live], c["buyer"][live]
        if self.pay_ratio:
            for (k, b), ratio in self.pay_ratio.items():
                pay[(kinds == k) & (buyers == b)] *= ratio
            self.pay_ratio = {}
        c["paid"][live] += pay
        margin = pay * (1.0 - m.cfg.ecosystem.firms.cost_of_revenue)
        np.add.at(pop["cash"], rows, margin)
        m.ledger.contract_margin += float(margin.sum())
        self.paid_total += float(pay.sum())
        for k in np.unique(kinds):
            sel = kinds == k
            b, inv = np.unique(buyers[sel], return_inverse=True)
            per = np.bincount(inv, weights=pay[sel])
            for bi, amount in zip(b, per, strict=True):
                self.paid_this_month[(int(k), int(bi))] = float(amount)

    def paid_month(self, buyer_kind: int, buyer: int) -> float:
        """What the buyer paid this month (mcny)."""
        return self.paid_this_month.get((buyer_kind, buyer), 0.0)

    def monthly_total(self) -> float:
        """Contract payments this month, all buyers (mcny)."""
        return float(sum(self.paid_this_month.values()))

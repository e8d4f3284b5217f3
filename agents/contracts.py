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

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import ndtri

from sim.core import kernels as K
from sim.core.clock import DT
from sim.core.columns import Columns
from sim.core.vocabulary import BUYER_KINDS

__all__ = ["INCUMBENT", "GOVERNMENT", "INSURED", "CONTRACT_COLUMNS", "ContractBook", "sales", "choose_suppliers",
           "choose_suppliers_vectorised", "bracket_scores"]

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


def sales(pop, rows=None) -> np.ndarray:
    """Revenue run rate including the running supply contracts (mcny/yr) of every live firm, or
    of the live ``rows``."""
    if rows is None:
        return pop["revenue"] + pop["contract_revenue"]
    return pop["revenue"][rows] + pop["contract_revenue"][rows]


def choose_suppliers(model, eligible: np.ndarray | None, room: float, draws, value_share: float | None = None,
                     slot: int = 0, limit: int | None = None,
                     tracks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Suppliers a buyer contracts: among the live firms of the mask ``eligible`` (or, if it is None,
    in the tracks of the track mask ``tracks``) that have a product
    on sale (``contracts.min_revenue_mcny``) and no running contract, the best by the buyer's noisy
    view of their quality (``contracts.evaluation_noise``, keyed ``draws`` at ``slot``), while their
    contracts' value per year fits in ``room`` (and at most ``limit`` of them). A contract is worth
    ``value_share`` (default ``contracts.revenue_share``) of the supplier's revenue a year, at most
    ``contracts.max_mcny``. Returns (rows, values).

    The same choice as :func:`choose_suppliers_vectorised` (the reference), found faster: one
    compiled pass over the supplier pool (:func:`bracket_scores`) gives each candidate's score to
    within the width of a 2**-12 quantile bin of its normal draw, and lists only the candidates
    that may rank among the best ``k`` (their upper bound reaches the k-th largest lower bound,
    kept in a heap as the pass goes); only those get their exact score. A buyer contracts a few
    of some ten thousand candidates a month."""
    pop = model.population
    ccfg = model.cfg.ecosystem.contracts
    empty = (np.empty(0, np.int64), np.empty(0))
    if room <= 0 or pop.n == 0:
        return empty
    base, d = draws.key_constants(model.current_step, slot)
    if eligible is None:  # the pool's rows in the tracks of the mask, track by track
        g = model.contracts.supplier_pool_by_track()
        mask = np.zeros(g.starts.size - 1, dtype=np.bool_)
        mask[: min(tracks.size, mask.size)] = tracks[: mask.size]
        groups = np.flatnonzero(mask)
        pool, starts, free, key, quality = g.rows, g.starts, g.free, g.key, g.quality
    else:
        pool = model.contracts.supplier_pool(filtered=False)
        starts, groups = np.array([0, pool.size]), np.zeros(1, dtype=np.int64)
        free = (pop["contract_revenue"][pool] <= 1e-9) & eligible[pool]
        key, quality = pop["key"][pool], pop["quality"][pool]
    n = int((starts[groups + 1] - starts[groups]).sum())
    share = ccfg.revenue_share if value_share is None else value_share
    kmax = _most_contracts(ccfg, n, share, room, limit)  # k if every position were a free candidate
    if kmax <= 0:
        return empty
    pos, lo, hi = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
    m, n_free, cut = bracket_scores(starts, groups, free, key, quality, base, d, float(ccfg.evaluation_noise),
                                    _EDGES_LO, _EDGES_HI, kmax, np.empty(kmax), pos, lo, hi)
    # k = min(kmax, n_free): below kmax free candidates every one is kept (and the pass kept them all)
    cand = pool[pos[:m]]
    if n_free > kmax:
        # at least k candidates score at least the k-th largest lower bound ``cut``, so each of the
        # best k has an upper bound that reaches it
        cand = cand[hi[:m] >= cut]
    if cand.size == 0:
        return empty
    k = min(kmax, n_free)
    return _best_that_fit(model, np.sort(cand), draws, slot, k, share, room)  # in row order, as the reference


def _most_contracts(ccfg, n_cand: int, share: float, room: float, limit: int | None) -> int:
    """The most contracts that can fit in ``room``: each is worth at least share * min_revenue
    (the pool's floor); at most ``limit`` and the candidates."""
    floor = share * max(ccfg.min_revenue_mcny, 1e-9)
    k = n_cand if limit is None else min(limit, n_cand)
    if np.isfinite(room):
        k = min(k, int(room / floor) + 1)
    return k


def _best_that_fit(model, cand: np.ndarray, draws, slot: int, k: int, share: float,
                   room: float) -> tuple[np.ndarray, np.ndarray]:
    """Of the candidate rows ``cand``, the best ``k`` by the buyer's noisy view of quality, best
    first, while their contracts' value fits in ``room``: (rows, values)."""
    pop = model.population
    ccfg = model.cfg.ecosystem.contracts
    score = pop["quality"][cand] + ccfg.evaluation_noise * draws.normal(pop["key"][cand], model.current_step, slot)
    if k < cand.size:
        top = np.argpartition(-score, k - 1)[:k]
        cand, score = cand[top], score[top]
    order = cand[np.argsort(-score, kind="stable")]
    values = np.minimum(share * pop["revenue"][order], ccfg.max_mcny)
    take = np.cumsum(values) <= room
    return order[take], values[take]


def choose_suppliers_vectorised(model, eligible: np.ndarray | None, room: float, draws,
                                value_share: float | None = None, slot: int = 0, limit: int | None = None,
                                tracks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`choose_suppliers` by whole-pool array operations: every candidate's exact score
    (the reference the tests compare the compiled selection with)."""
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
    k = _most_contracts(ccfg, cand.size, share, room, limit)
    if k <= 0:
        return empty
    return _best_that_fit(model, cand, draws, slot, k, share, room)


# Bounds of the standard normal quantile on the 2**12 bins of the uniform draw: a draw whose top 12
# bits are j has u in [j, j + 1) / 2**12 (KeyedDraws.uniform), so its normal draw ndtri(u) lies in
# [EDGES_LO[j], EDGES_HI[j + 1]]. The ends are the quantiles of the smallest and largest uniform
# (2**-53 and 1 - 2**-53), and each edge is widened by 1e-9 (far above any rounding of ndtri).
_BITS = 12
_BINS = 1 << _BITS
_EDGES = ndtri(np.concatenate(([2.0**-53], np.arange(1, _BINS) / _BINS, [1.0 - 2.0**-53])))
_EDGES_LO = _EDGES - 1e-9
_EDGES_HI = _EDGES + 1e-9
_GOLD = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, error_model="numpy")
def bracket_scores(starts, groups, free, key, quality, base, d, noise, edges_lo, edges_hi, k, heap, pos, lo, hi):
    """The candidates among the positions ``starts[g]:starts[g + 1]`` of the groups ``g`` in
    ``groups`` of a supplier pool whose entries have ``free`` (no running contract, eligible),
    birth ``key`` and ``quality``, with bounds ``lo <= score <= hi`` of the score ``quality + noise
    * z`` that :func:`choose_suppliers_vectorised` computes (``z`` the keyed normal draw
    ``KeyedDraws.normal(key, step, slot)``, ``(base, d) = KeyedDraws.key_constants(step, slot)``;
    floating-point rounding is monotone, so the bounds hold for the computed score too).

    Only the best ``k`` (>= 1) scores matter. A min-heap (``heap``, room for ``k``) keeps the
    ``k`` largest lower bounds seen so far; once it is full, its least is a lower bound of the
    final k-th largest lower bound, and a candidate whose upper bound is below it cannot be among
    the best ``k``: it is not listed. The others' positions, in scan order, go to ``pos``, their
    bounds to ``lo`` and ``hi``. Returns (how many were listed, how many free candidates there
    are, the k-th largest lower bound of all of them: -inf if there are at most ``k``). Every
    free candidate whose upper bound reaches that bound is listed (and, with at most ``k`` free
    candidates, every one is)."""
    m = 0
    n_free = 0
    h = 0  # entries in the heap
    cut = -np.inf
    shift = np.uint64(64 - _BITS)
    for g in groups:
        for i in range(starts[g], starts[g + 1]):
            if not free[i]:
                continue
            n_free += 1
            j = np.intp(K.mix64(K.mix64(key[i] * _GOLD + base) ^ d) >> shift)
            q = quality[i]
            a = q + noise * edges_lo[j]
            b = q + noise * edges_hi[j + 1]
            low, high = min(a, b), max(a, b)
            if h < k:  # push
                c = h
                h += 1
                while c > 0:
                    parent = (c - 1) >> 1
                    if heap[parent] <= low:
                        break
                    heap[c] = heap[parent]
                    c = parent
                heap[c] = low
                if h == k:
                    cut = heap[0]
            elif low > heap[0]:  # replace the least and sift it down
                c = 0
                while True:
                    child = 2 * c + 1
                    if child >= k:
                        break
                    if child + 1 < k and heap[child + 1] < heap[child]:
                        child += 1
                    if heap[child] >= low:
                        break
                    heap[c] = heap[child]
                    c = child
                heap[c] = low
                cut = heap[0]
            if high >= cut:
                pos[m] = i
                lo[m] = low
                hi[m] = high
                m += 1
    return m, n_free, cut if n_free > k else -np.inf


@njit(cache=True)
def group_by_track(pool, track, n_tracks, out, starts):
    """Counting sort of the rows ``pool`` by track: ``out[starts[t]:starts[t + 1]]`` are the rows
    of track ``t``, in the order of ``pool``."""
    starts[:] = 0
    for r in pool:
        starts[track[r] + 1] += 1
    for t in range(n_tracks):
        starts[t + 1] += starts[t]
    pos = starts[:-1].copy()
    for r in pool:
        t = track[r]
        out[pos[t]] = r
        pos[t] += 1


@njit(cache=True)
def pool_by_track(revenue, track, contract_revenue, key, quality, min_revenue, pool, rows, starts, free, key_out,
                  quality_out):
    """:meth:`ContractBook.supplier_pool` and its grouping by track (:func:`group_by_track` with
    the gathers of :class:`GroupedPool`) in two passes over the live firms: ``pool`` receives the
    rows with ``revenue >= min_revenue`` in row order, ``rows[starts[t]:starts[t + 1]]`` those of
    track ``t`` (in row order), ``free``, ``key_out`` and ``quality_out`` theirs. Returns the size
    of the pool (the arrays have room for every live firm).

    The first loop has no branch (every row is written at the next place, which moves on for the
    rows in the pool; that place is never past the row itself), since whether a firm is in the
    pool is hard to predict: 3.3 -> 2.3 ms a month for 中关村's 650,000 firms; the tracks are
    counted over the pool afterwards."""
    starts[:] = 0
    m = 0
    for r in range(revenue.size):
        pool[m] = r
        m += revenue[r] >= min_revenue
    for j in range(m):
        starts[track[pool[j]] + 1] += 1
    for t in range(starts.size - 1):
        starts[t + 1] += starts[t]
    pos = starts[:-1].copy()
    for j in range(m):
        r = pool[j]
        t = track[r]
        p = pos[t]
        rows[p] = r
        free[p] = contract_revenue[r] <= 1e-9
        key_out[p] = key[r]
        quality_out[p] = quality[r]
        pos[t] = p + 1
    return m


def _example_pool():
    f, i = np.ones(3), np.empty(3, np.int64)
    return (f, np.zeros(3, np.int32), f, np.arange(3, dtype=np.uint64), f, 0.5, i, i.copy(), np.empty(2, np.int64),
            np.empty(3, np.bool_), np.empty(3, np.uint64), np.empty(3))


def _example_bracket():
    return (np.array([0, 3]), np.zeros(1, np.int64), np.ones(3, np.bool_), np.arange(3, dtype=np.uint64), np.ones(3),
            np.uint64(1), np.uint64(2), 0.8, _EDGES_LO, _EDGES_HI, 2, np.empty(2), np.empty(3, np.int64), np.empty(3),
            np.empty(3))


K.register("bracket_scores", bracket_scores, _example_bracket)
K.register("pool_by_track", pool_by_track, _example_pool)
K.register("group_by_track", group_by_track, lambda: (np.arange(3, dtype=np.int64), np.zeros(3, np.int32), 2,
                                                      np.empty(3, np.int64), np.empty(3, np.int64)))


@dataclass
class GroupedPool:
    """The supplier pool of a month grouped by track: the live rows of track ``t`` at
    ``rows[starts[t]:starts[t + 1]]`` (ascending), and by position the firms' birth ``key``,
    ``quality`` and whether they are ``free`` of running contracts; valid while the population's
    live rows, the tracks and the month are those of ``stamp``."""

    stamp: tuple
    rows: np.ndarray
    starts: np.ndarray
    free: np.ndarray
    key: np.ndarray
    quality: np.ndarray

    def update(self, rows: np.ndarray, pop) -> None:
        """Whether the live ``rows`` (their contracts just changed) are free, where they are in the pool."""
        for r in rows.tolist():
            t = int(pop["track"][r])
            lo, hi = self.starts[t], self.starts[t + 1]
            p = lo + int(np.searchsorted(self.rows[lo:hi], r))
            if p < hi and self.rows[p] == r:
                self.free[p] = pop["contract_revenue"][r] <= 1e-9


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
        self._by_track: GroupedPool | None = None  # the month's pool by track (supplier_pool_by_track)

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
        g = self._by_track
        if g is not None and g.stamp == (step, pop.n, pop.n_ever, m.tracks.n):
            g.update(rows, pop)

    def supplier_pool(self, filtered: bool = True) -> np.ndarray:
        """Rows of the live firms that could supply a new contract this month: a product on sale
        (``contracts.min_revenue_mcny``) and no running contract. Found once a month; rows that
        signed since are dropped (``filtered=False``: they are not, the caller tests
        ``contract_revenue`` itself)."""
        m = self.model
        pop = m.population
        if self._pool_step != m.current_step or self._pool_n != pop.n:
            self._pool = np.flatnonzero(pop["revenue"] >= m.cfg.ecosystem.contracts.min_revenue_mcny)
            self._pool_step, self._pool_n = m.current_step, pop.n
        pool = self._pool
        return pool[pop["contract_revenue"][pool] <= 1e-9] if filtered else pool

    def supplier_pool_by_track(self) -> GroupedPool:
        """The month's pool (:meth:`supplier_pool`, unfiltered) grouped by track, with its firms'
        keys, qualities and whether each is free of contracts (:class:`GroupedPool`). Made at the
        first call while the live rows, the tracks and the month stay the same (firms change track
        only in the tracks phase); :meth:`sign` keeps ``free`` up to date, and a contract that ends
        makes it again."""
        m = self.model
        pop = m.population
        stamp = (m.current_step, pop.n, pop.n_ever, m.tracks.n)
        g = self._by_track
        if g is None or g.stamp != stamp:
            starts = np.empty(m.tracks.n + 1, dtype=np.int64)
            if self._pool_step != m.current_step or self._pool_n != pop.n:  # the pool too, in one compiled pass
                n = pop.n
                pool, rows, free = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.bool_)
                key, quality = np.empty(n, np.uint64), np.empty(n)
                k = pool_by_track(pop["revenue"], pop["track"], pop["contract_revenue"], pop["key"], pop["quality"],
                                  float(m.cfg.ecosystem.contracts.min_revenue_mcny), pool, rows, starts, free, key,
                                  quality)
                self._pool, self._pool_step, self._pool_n = pool[:k], m.current_step, n
                g = GroupedPool(stamp, rows[:k], starts, free[:k], key[:k], quality[:k])
            else:
                pool = self._pool
                rows = np.empty(pool.size, dtype=np.int64)
                group_by_track(pool, pop["track"], m.tracks.n, rows, starts)
                g = GroupedPool(stamp, rows, starts, pop["contract_revenue"][rows] <= 1e-9, pop["key"][rows],
                                pop["quality"][rows])
            self._by_track = g
        return g

    def set_pay_ratio(self, buyer_kind: int, buyer: int, ratio: float) -> None:
        """The share of what it owes this month that a buyer pays (a public buyer short of budget)."""
        self.pay_ratio[(buyer_kind, buyer)] = ratio

    def due(self, buyer_kind: int, buyer: int) -> float:
        """What the buyer owes this month (mcny): its running contracts with live suppliers."""
        c = self.contracts
        if c.n == 0:
            return 0.0
        m = self.model
        sel = np.flatnonzero(self._running_mask(buyer_kind, buyer) & (c["end"] > m.current_step))
        sel = sel[m.population.row_of[c["firm"][sel]] >= 0]
        return float(c["value"][sel].sum() * DT)

    def committed(self, buyer_kind: int, buyer: int) -> float:
        """Value per year of the buyer's running contracts (mcny/yr)."""
        c = self.contracts
        return float(c["value"][self._running_mask(buyer_kind, buyer)].sum()) if c.n else 0.0

    def running(self, buyer_kind: int, buyer: int) -> int:
        """Number of the buyer's running contracts."""
        return int(self._running_mask(buyer_kind, buyer).sum()) if self.contracts.n else 0

    def _running_mask(self, buyer_kind: int, buyer: int) -> np.ndarray:
        c = self.contracts
        return c["open"] & (c["buyer_kind"] == buyer_kind) & (c["buyer"] == buyer)

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
            self._by_track = None  # suppliers may be free again
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

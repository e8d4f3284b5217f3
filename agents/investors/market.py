"""The capital market: the investors, their books (lots and deals), and the rules that move
money between investors and firms.

One :class:`CapitalMarket` per model holds every investor agent ever (an investor's
``index`` is its position in :attr:`CapitalMarket.investors`), the *lots* (one per
participation of an investor in a firm: money in, shares bought) and the *deals* (the
``deals`` table), the month's flows by kind of investor, and four parts, one module each:

* :mod:`agents.investors.rounds` — equity rounds (candidates → price → screen → allocate → settle);
* :mod:`agents.investors.lending` — bank loans, servicing, repayment and write-offs;
* :mod:`agents.investors.exits` — IPOs and acquisitions and their payouts;
* :mod:`agents.investors.fund_cycle` — funds winding down, managers raising, preferences drifting.

The books here: exits pay lots after debt is repaid, by their liquidation preferences
(:func:`agents.investors.exits.waterfall`); failures repay the bank from the cash left, pay what
remains to the investors by the same preferences and write the lots off; firms that age out of
the young-firm population leave their lots unrealised at the last valuation
(:meth:`CapitalMarket.mark_unrealized`), and so do firms alive at the end of the run
(:meth:`CapitalMarket.close_books`). Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.firms.rules import trying
from agents.investors import kernels
from agents.investors.books import (
    DEAL_COLUMNS,
    LOT_COLUMNS,
    LOT_OPEN,
    LOT_UNREALIZED,
    LOT_WRITTEN_OFF,
    Angel,
    Bank,
    VCFund,
)
from agents.investors.exits import Exits
from agents.investors.fund_cycle import FIRST_FUNDS_LEAD_YEARS, FundCycle
from agents.investors.kernels import MonthFilters
from agents.investors.lending import Lending
from agents.investors.matching import SLOT_ACQ, SLOT_ATTEMPT, SLOT_BANK_APPLY
from agents.investors.rounds import EquityRounds
from sim.config import scaled_count
from sim.core.clock import DT
from sim.core.columns import Columns
from sim.core.vocabulary import INVESTOR_KINDS

__all__ = ["CapitalMarket"]


class CapitalMarket:
    """Investors, lots, deals and the financing, lending and exit rules of one model."""

    def __init__(self, model):
        self.model = model
        self.investors: list = []  # every investor agent ever, index = position here
        self.angels: list[Angel] = []
        self.lots = Columns(LOT_COLUMNS, capacity=4096)
        self.deals = Columns(DEAL_COLUMNS, capacity=4096)
        self.flows = dict.fromkeys(INVESTOR_KINDS, 0.0)  # money invested or lent this month, by kind
        self._view: dict | None = None  # cached open funds and their preferences
        self._filters: MonthFilters | None = None  # this month's subsets of the firms (month_filters)
        self._scan_out = np.empty((4, 0), dtype=np.int64)  # work arrays of the scan
        self._scan_flags = np.empty(0, dtype=np.uint8)
        self._lot_index = _LotIndex()  # lots by firm (open_lots, lots_in)
        self.rounds = EquityRounds(self)
        self.lending = Lending(self)
        self.exits = Exits(self)
        self.funds = FundCycle(self)

    # ------------------------------------------------------------------ investors
    def create_investors(self) -> None:
        """The preset's angels, VC funds, guidance funds and banks, at the model's scale."""
        m = self.model
        eco = m.cfg.ecosystem
        s = m.scale
        rng = m.streams["investors_init"]
        n = scaled_count(eco.angels.count, s)
        for i in range(n):
            a = Angel(m, f"angel {i}", budget_per_year=eco.angels.budget_mcny_per_year * eco.angels.count * s / n,
                      pace_slack=eco.angels.pace_slack)
            a.new_year(m.current_step, m.supply_share(m.current_step, "seed"))
            self.add(a)
        # the first funds: as many as the park's demand present wants (ecosystem.warmup_ramp), each
        # with the part of its capital left for the rest of its investment period (the rest went into
        # firms the model does not hold); their sizes carry what rounding the count to whole funds
        # took or added, so that a sampled park starts with its share of the money at every scale
        wanted = eco.vc.initial_funds * m.supply_share(m.current_step, "even", FIRST_FUNDS_LEAD_YEARS) * s
        n = scaled_count(wanted, 1.0)
        period = eco.vc.investment_period_years * 12
        for _ in range(n):
            size = eco.vc.fund_size_mcny * float(np.exp(eco.vc.fund_size_sigma * rng.standard_normal())) * wanted / n
            vintage = m.current_step - int(rng.uniform(0, period))
            size *= 1.0 - (m.current_step - vintage) / period
            focus = "early" if rng.random() < eco.vc.early_stage_share else "late"
            size = self.funds.by_focus(size, focus)
            self.funds.new_fund(
                vintage,
                manager_id=self.funds.new_manager_id(),
                size=size,
                focus=focus,
                prefs=self.funds.initial_prefs(rng),
            )
        gcfg = eco.guidance
        n = scaled_count(gcfg.count, s)
        for i in range(n):  # vintages staggered over an investment period, like the VC funds
            start = m.current_step - int(rng.uniform(0, gcfg.investment_period_years * 12))
            self.funds.new_guidance_fund(start, programme=i, weight=gcfg.count * s / n)
        n = scaled_count(eco.banks.count, s)
        for i in range(n):
            b = Bank(
                m,
                f"bank {i}",
                capital=eco.banks.capital_mcny * eco.banks.count * s / n,
                rate=eco.banks.rate,
                term_months=eco.banks.term_months,
            )
            self.add(b)

    def add(self, agent) -> int:
        """Register an investor agent; returns its index."""
        agent.index = len(self.investors)
        self.investors.append(agent)
        if isinstance(agent, Angel):
            self.angels.append(agent)
        self._view = None
        return agent.index

    def new_month(self) -> None:
        """A new month: the month's flows start at zero."""
        for k in self.flows:
            self.flows[k] = 0.0

    def open_funds(self) -> list[VCFund]:
        """VC funds that have not wound down (cached)."""
        if self._view is None:
            self._view = {"funds": [a for a in self.investors if isinstance(a, VCFund) and not a.closed]}
        return self._view["funds"]

    def fund_view(self, funds: list, n_tracks: int):
        """(preferences matrix funds x tracks, early-focus mask), rebuilt only when funds,
        their preferences or the tracks change."""
        view = self._view
        if view.get("n_tracks") != n_tracks:
            prefs = np.zeros((len(funds), n_tracks))
            for i, f in enumerate(funds):
                k = min(len(f.prefs), n_tracks)
                prefs[i, :k] = f.prefs[:k]
            view["prefs"] = prefs
            view["early"] = np.array([f.focus == "early" for f in funds])
            view["n_tracks"] = n_tracks
        return view["prefs"], view["early"]

    def month_filters(self, step: int) -> MonthFilters:
        """This month's firms that run a round, apply for a loan, may list or are drawn to be
        acquired (:func:`agents.investors.kernels.scan`, one pass over the live firms, run at the
        first call of the month, the start of the financing phase, and again only if firms were
        founded or ended since)."""
        f = self._filters
        pop = self.model.population
        if f is not None and (f.step, f.n, f.n_ever) == (step, pop.n, pop.n_ever):
            return f
        m = self.model
        eco = m.cfg.ecosystem
        fund, bank, ex, firm = eco.funding, eco.banks, eco.exits, eco.firms
        relief = m.levers.track("ipo_relief")
        cut = float(np.min(1.0 - relief)) if relief.size and relief.any() else 1.0
        par = kernels.scan_params(
            cost_of_revenue=firm.cost_of_revenue, wage=firm.wage_mcny, attempt_runway_months=fund.attempt_runway_months,
            due_months=12.0 * firm.runway_target_years - fund.attempt_runway_months,
            min_months_between_rounds=fund.min_months_between_rounds, attempt_probability=fund.attempt_probability,
            growth_attempt_probability=fund.growth_attempt_probability, bank_min_revenue=bank.min_revenue_mcny,
            bank_min_margin=bank.min_margin,
            bank_apply_probability=bank.apply_probability * m.levers.value("credit_multiplier"),
            ipo_revenue_floor=ex.ipo_min_revenue_mcny * cut if cut != 1.0 else ex.ipo_min_revenue_mcny,
            ipo_min_age_months=12.0 * ex.ipo_min_age_years, acquisition_min_employees=ex.acquisition_min_employees,
            acquisition_probability=1.0 - np.exp(-ex.acquisition_rate * m.levers.value("acquisition_multiple") * DT),
            venture_max_age_months=12.0 * fund.venture_max_age_years,
        )
        if self._scan_out.shape[1] < pop.n:
            cap = max(pop.n, int(1.25 * self._scan_out.shape[1]))
            self._scan_out = np.empty((4, cap), dtype=np.int64)
            self._scan_flags = np.empty(cap, dtype=np.uint8)
        draws = m.draws["finance"]
        counts = kernels.scan(
            np.int64(step), par, pop["hkey"], pop["born"], pop["employees"], pop["revenue"], pop["cash"], pop["debt"],
            pop["debt_payment"], pop["last_round"], pop["rounds"], pop["growth_12m"],
            draws.step_constant(step, SLOT_ATTEMPT), draws.step_constant(step, SLOT_BANK_APPLY),
            draws.step_constant(step, SLOT_ACQ), self._scan_out, self._scan_flags,
        )
        out = self._scan_out
        rounds, loans, listing, acquisition = (out[j, :k].copy() for j, k in enumerate(counts))
        # a firm in its last attempt raises no round and is not sold as a going concern (agents.firms.rules.trying)
        rounds, listing, acquisition = (r[~trying(pop, r)] for r in (rounds, listing, acquisition))
        self._filters = MonthFilters(step, pop.n, pop.n_ever, rounds, loans, listing, acquisition)
        return self._filters

    def invalidate_fund_view(self) -> None:
        """Funds closed or their preferences moved: rebuild the view when next needed."""
        self._view = None

    # ------------------------------------------------------------------ lots
    def open_lots(self, firm_ids: np.ndarray) -> np.ndarray:
        """Indices of the open lots in the firms ``firm_ids`` (ascending)."""
        lots = self.lots
        if lots.n == 0 or firm_ids.size == 0:
            return np.empty(0, dtype=np.int64)
        li = self._lot_index.lots_of(lots["firm"], np.asarray(firm_ids, dtype=np.int64))
        return li[lots["status"][li] == LOT_OPEN]

    def lots_in(self, firm_ids: np.ndarray) -> np.ndarray:
        """Indices of every lot (open or not) in the firms ``firm_ids`` (ascending)."""
        lots = self.lots
        if lots.n == 0 or firm_ids.size == 0:
            return np.empty(0, dtype=np.int64)
        return self._lot_index.lots_of(lots["firm"], np.asarray(firm_ids, dtype=np.int64))

    def lots_of_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open lots in the firms at ``rows``: (lot indices, position of each lot's firm in
        ``rows``, each lot's fraction of its firm's shares)."""
        pop = self.model.population
        firm_ids = pop["id"][rows]
        li = self.open_lots(firm_ids)
        if li.size == 0:
            return li, li, np.empty(0)
        order = np.argsort(firm_ids)
        pos = order[np.searchsorted(firm_ids[order], self.lots["firm"][li])]
        return li, pos, self.lots["shares"][li] / pop["shares"][rows][pos]

    def write_off(self, rows: np.ndarray) -> None:
        """Failed firms: the bank is repaid from the cash left and recovers part of the rest; what
        cash remains goes to the investors by their liquidation preferences
        (:meth:`agents.investors.exits.Exits.liquidate`); the equity lots are written off."""
        pop = self.model.population
        if rows.size == 0:
            return
        pop.records["cash_at_end"][pop["id"][rows]] = pop["cash"][rows]
        self.lending.write_off(rows)
        self.exits.liquidate(rows, self.model.current_step)
        li = self.open_lots(pop["id"][rows])
        if li.size:
            self.lots["status"][li] = LOT_WRITTEN_OFF

    def mark_unrealized(self, rows: np.ndarray) -> None:
        """Firms leaving the young-firm population alive: lots stay, marked at the last valuation."""
        pop = self.model.population
        if rows.size == 0:
            return
        pop.records["cash_at_end"][pop["id"][rows]] = pop["cash"][rows]
        self.lending.repay(rows)
        li, pos, frac = self.lots_of_rows(rows)
        if li.size == 0:
            return
        self.lots["residual"][li] = self.exits.marked(li, frac * pop["valuation"][rows][pos], self.model.current_step)
        self.lots["status"][li] = LOT_UNREALIZED

    def _marked_value(self, lot_idx: np.ndarray) -> np.ndarray:
        """Value of held lots at their live firm's last post-money valuation, pro rata to shares,
        as their holders' claims (a guidance fund's lot within its return cap, the excess its
        partner's: :meth:`agents.investors.exits.Exits.marked`)."""
        pop = self.model.population
        rows = pop.row_of[self.lots["firm"][lot_idx]]
        ok = rows >= 0
        v = np.zeros(lot_idx.size)
        v[ok] = self.lots["shares"][lot_idx][ok] / pop["shares"][rows[ok]] * pop["valuation"][rows[ok]]
        return self.exits.marked(lot_idx, v, self.model.current_step)

    def nav(self) -> np.ndarray:
        """Marked value of open and unrealised lots per investor."""
        lots = self.lots
        out = np.zeros(len(self.investors))
        if lots.n == 0:
            return out
        open_ = np.flatnonzero(lots["status"] == LOT_OPEN)
        if open_.size:
            out += np.bincount(
                lots["investor"][open_], weights=self._marked_value(open_), minlength=len(self.investors)
            )
        unr = np.flatnonzero(lots["status"] == LOT_UNREALIZED)
        if unr.size:
            out += np.bincount(lots["investor"][unr], weights=lots["residual"][unr], minlength=len(self.investors))
        return out

    def close_books(self) -> None:
        """End of run: open lots become unrealised at the current valuation."""
        lots = self.lots
        open_ = np.flatnonzero(lots["status"] == LOT_OPEN)
        if open_.size == 0:
            return
        lots["residual"][open_] = self._marked_value(open_)
        lots["status"][open_] = LOT_UNREALIZED


class _LotIndex:
    """The lots of each firm, as chains (lots are only appended and never change firm): for each
    firm its last lot, for each lot the previous lot of the same firm. Brought up to date with the
    lots appended since the last look, so finding the lots of a few firms costs O(their lots),
    not O(all lots)."""

    def __init__(self):
        self.n = 0  # lots chained so far
        self.head = np.full(0, -1, dtype=np.int64)  # by firm id
        self.prev = np.full(0, -1, dtype=np.int64)  # by lot

    def _update(self, firm: np.ndarray) -> None:
        n = firm.size
        if n == self.n:
            return
        top = int(firm[self.n:].max()) + 1
        if top > self.head.size:
            head = np.full(max(top, int(1.5 * self.head.size)), -1, dtype=np.int64)
            head[: self.head.size] = self.head
            self.head = head
        if n > self.prev.size:
            prev = np.full(max(n, int(1.5 * self.prev.size)), -1, dtype=np.int64)
            prev[: self.prev.size] = self.prev
            self.prev = prev
        kernels.link_lots(np.ascontiguousarray(firm, dtype=np.int64), self.n, self.head, self.prev)
        self.n = n

    def lots_of(self, firm: np.ndarray, firm_ids: np.ndarray) -> np.ndarray:
        """Indices of every lot of the firms ``firm_ids`` (ascending), given ``firm``, the firm
        of each lot."""
        self._update(firm)
        ids = np.unique(firm_ids[(firm_ids >= 0) & (firm_ids < self.head.size)])
        cur = self.head[ids]
        cur = cur[cur >= 0]
        found = []
        while cur.size:
            found.append(cur)
            cur = self.prev[cur]
            cur = cur[cur >= 0]
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.sort(np.concatenate(found))

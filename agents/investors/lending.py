"""Bank loans: who borrows, from which bank, servicing, repayment and losses.

Banks lend ``loan_to_revenue`` of yearly revenue (times the ``loan_size_multiplier`` lever) to
firms with at least ``min_revenue_mcny`` of revenue, a gross margin net of wages of at least
``min_margin`` and no loan yet; an eligible firm applies with probability ``apply_probability``
a month (times the ``credit_multiplier`` lever). The bank is drawn in proportion to its cash,
within its cash. Loans are amortising annuities over ``term_months`` at ``rate``; a firm that
leaves the population repays in full from its cash; on failure a bank is repaid first from the
firm's remaining cash and recovers ``recovery_rate`` of what is still outstanding; a public
risk-compensation pool (``loss_cover``, set by a credit policy) may pay back part of the rest on
the loans it backs (a credit policy lends those itself, through :meth:`Lending.lend_to`, to firms
below the banks' revenue floor, :meth:`Lending.creditworthy`).

Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.firms.rules import wage_bill
from agents.investors.books import Bank
from agents.investors.matching import SLOT_BANK_APPLY, SLOT_BANK_PICK, fit_capacity, pick
from sim.core.vocabulary import LOAN_ROUND

__all__ = ["Lending"]


class Lending:
    """The bank loans of one capital market."""

    def __init__(self, market):
        self.market = market
        self.model = market.model
        #: A public risk-compensation pool: called with the rows of failed borrowers and each
        #: one's loss to its bank (after the firm's cash and the recovery), returns what the
        #: pool pays back for each; None when no pool is in force.
        self.loss_cover = None
        #: Loans a public risk-compensation pool backs: called with the month's step after the
        #: banks' own loans of the month (so both are first serviced the next month); None when
        #: no pool is in force.
        self.backed_lending = None

    def banks(self) -> list[Bank]:
        return [b for b in self.market.investors if isinstance(b, Bank)]

    def step(self) -> None:
        """This month's loans to eligible firms that apply."""
        m = self.model
        step = m.current_step
        pop = m.population
        if pop.n == 0 or not self.banks():
            return
        draws = m.draws["finance"]
        rows = self.market.month_filters(step).loans  # the rule of applicants(), in the month's scan
        if rows.size:
            self.lend_to(rows, self.loan_size(rows), step, draws.uniform(pop["key"][rows], step, SLOT_BANK_PICK))
        if self.backed_lending is not None:
            self.backed_lending(step)

    def loan_size(self, rows: np.ndarray) -> np.ndarray:
        """The loan the banks make to the firms at ``rows``: ``loan_to_revenue`` of their yearly
        revenue, times the ``loan_size_multiplier`` lever."""
        m = self.model
        return m.cfg.ecosystem.banks.loan_to_revenue * m.population["revenue"][rows] * m.levers.value(
            "loan_size_multiplier")

    def applicants(self, step: int) -> np.ndarray:
        """Rows of the firms that apply for a loan this month, by whole-population array
        operations (the reference for the month's scan,
        :meth:`agents.investors.market.CapitalMarket.month_filters`)."""
        m = self.model
        pop = m.population
        cand = self.creditworthy(m.cfg.ecosystem.banks.min_revenue_mcny)
        u = m.draws["finance"].uniform(pop["hkey"][cand], step, SLOT_BANK_APPLY, prehashed=True)
        return cand[u < m.cfg.ecosystem.banks.apply_probability * m.levers.value("credit_multiplier")]

    def creditworthy(self, min_revenue_mcny: float) -> np.ndarray:
        """Rows of the live firms without a bank loan that pass the banks' test with a revenue
        floor of ``min_revenue_mcny``: that revenue run rate or more, and a gross margin net of
        wages of at least ``banks.min_margin``."""
        m = self.model
        pop = m.population
        fcfg = m.cfg.ecosystem.firms
        rev = pop["revenue"]
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = (rev * (1.0 - fcfg.cost_of_revenue) - wage_bill(pop["employees"], fcfg)) / rev
        ok = (rev >= min_revenue_mcny) & (pop["debt"] <= 0) & (margin >= m.cfg.ecosystem.banks.min_margin)
        return np.flatnonzero(ok)

    def lend_to(self, rows: np.ndarray, amount: np.ndarray, step: int, up: np.ndarray) -> np.ndarray:
        """Banks lend ``amount`` to the firms at ``rows`` (live rows without debt), each bank
        drawn with uniforms ``up`` in proportion to its cash, within its cash. Returns the rows
        that got a loan."""
        m = self.model
        market = self.market
        pop = m.population
        banks = self.banks()
        if rows.size == 0 or not banks:
            return rows[:0]
        cap = np.array([b.cash for b in banks])
        chosen = pick(cap[:, None], np.zeros(rows.size, dtype=np.int64), up)
        ok = fit_capacity(chosen, amount, cap, up)
        if not ok.any():
            return rows[:0]
        rows, amount, chosen = rows[ok], amount[ok], chosen[ok]
        idx = np.array([banks[p].index for p in chosen], dtype=np.int64)
        pop["debt"][rows] = amount
        pop["bank"][rows] = idx
        pay = np.zeros(rows.size)
        for b_i in np.unique(chosen):
            sel = chosen == b_i
            pay[sel] = banks[b_i].monthly_payment(amount[sel])
            banks[b_i].lend(float(amount[sel].sum()))
        pop["debt_payment"][rows] = pay
        pop["cash"][rows] += amount
        m.ledger.loans_in += float(amount.sum())
        market.flows["bank"] += float(amount.sum())
        firm_ids = pop["id"][rows]
        nan = np.full(rows.size, np.nan)
        market.deals.append(
            step=np.full(rows.size, step),
            investor=idx,
            firm=firm_ids,
            round=np.full(rows.size, LOAN_ROUND, dtype=np.int8),
            amount=amount,
            pre_money=nan,
            post_money=nan,
            track=pop["track"][rows],
        )
        return rows

    def service(self) -> None:
        """Monthly interest and principal from borrowers to their banks."""
        m = self.model
        investors = self.market.investors
        pop = m.population
        rows = np.flatnonzero(pop["debt"] > 0)
        if rows.size == 0:
            return
        b = pop["bank"][rows]
        lenders = np.unique(b)  # the few banks with loans out, not every investor
        rate = np.array([getattr(investors[i], "rate", 0.0) for i in lenders])[np.searchsorted(lenders, b)]
        debt = pop["debt"][rows]
        interest = debt * rate / 12.0
        payment = np.minimum(pop["debt_payment"][rows], debt + interest)
        principal = payment - interest
        new_debt = debt - principal
        done = new_debt <= 1e-9
        pop["debt"][rows] = np.where(done, 0.0, new_debt)
        pop["debt_payment"][rows] = np.where(done, 0.0, pop["debt_payment"][rows])
        pop["bank"][rows] = np.where(done, -1, b)
        pop["cash"][rows] -= payment
        m.ledger.debt_service += float(payment.sum())
        tot_p = np.bincount(b, weights=principal, minlength=len(investors))
        tot_i = np.bincount(b, weights=interest, minlength=len(investors))
        for i in np.flatnonzero((tot_p != 0) | (tot_i != 0)):
            investors[i].collect(float(tot_p[i]), float(tot_i[i]))

    def repay(self, rows: np.ndarray) -> None:
        """Firms leaving the population repay their bank loans in full from their cash."""
        m = self.model
        pop = m.population
        debt = pop["debt"][rows]
        has = debt > 0
        if not has.any():
            return
        r = rows[has]
        d = debt[has]
        pop["cash"][r] -= d
        m.ledger.debt_service += float(d.sum())
        for bank, principal in self._close(r, d):
            bank.collect(principal, 0.0)

    def write_off(self, rows: np.ndarray) -> None:
        """Failed firms: the bank is repaid from what cash the firm has left (before anyone
        else), and recovers ``recovery_rate`` of what is still outstanding."""
        m = self.model
        pop = m.population
        debt = pop["debt"][rows]
        has = debt > 0
        if not has.any():
            return
        r, d = rows[has], debt[has]
        paid = np.minimum(np.maximum(pop["cash"][r], 0.0), d)
        if paid.any():
            pop["cash"][r] -= paid
            m.ledger.debt_service += float(paid.sum())
            investors = self.market.investors
            per_bank = np.bincount(pop["bank"][r], weights=paid, minlength=len(investors))
            for i in np.flatnonzero(per_bank > 0):
                investors[i].collect(float(per_bank[i]), 0.0)
        rr = m.cfg.ecosystem.banks.recovery_rate
        if self.loss_cover is not None:
            covered = np.asarray(self.loss_cover(r, (d - paid) * (1.0 - rr)), dtype=np.float64)
            if covered.any():
                investors = self.market.investors
                per_bank = np.bincount(pop["bank"][r], weights=covered, minlength=len(investors))
                for i in np.flatnonzero(per_bank > 0):
                    investors[i].cover(float(per_bank[i]))
        for bank, principal in self._close(r, d - paid):
            bank.write_off(principal, principal * rr)
        # the record keeps what the firm owed when it failed, before its cash repaid part of it
        pop.records["debt_at_end"][pop["id"][r]] = d

    def _close(self, rows: np.ndarray, debt: np.ndarray) -> list[tuple[Bank, float]]:
        """Close the loans of the firms at ``rows`` (outstanding ``debt``); returns each bank
        with the principal it had outstanding in them."""
        investors = self.market.investors
        pop = self.model.population
        pop.records["debt_at_end"][pop["id"][rows]] = debt  # loans are closed only when a firm leaves
        tot = np.bincount(pop["bank"][rows], weights=debt, minlength=len(investors))
        pop["debt"][rows] = 0.0
        pop["debt_payment"][rows] = 0.0
        pop["bank"][rows] = -1
        return [(investors[i], float(tot[i])) for i in np.flatnonzero(tot > 0)]

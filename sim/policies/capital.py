"""Policies on capital: a government guidance fund (引导基金) co-investing directly, a fund of funds
(母基金) committing to VC funds as a limited partner, credit relaxation and combined credit and
equity (投贷联动), exit channels (a STAR-market-like listing route, M&A openness) and long-term
capital (insurance and pension money as limited partners).

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

import numpy as np

from agents.investors.books import GuidanceFund
from sim.config import P
from sim.core.clock import DT
from sim.policies.base import Policy, check_range, positive_factor
from sim.policies.instruments import SLOT_LOAN, SLOT_POOL_APPLY, SLOT_POOL_PICK

__all__ = ["GuidanceFundPolicy", "FundOfFunds", "CreditRelaxation", "ExitChannels", "LongTermCapital"]


# --------------------------------------------------------------------------------------------
# 1. Government guidance fund (引导基金)
# --------------------------------------------------------------------------------------------


@dataclass
class GuidanceFundPolicy(Policy):
    """Government guidance fund (引导基金): public money co-invests beside VC in mandated tracks."""

    kind: ClassVar[str] = "guidance_fund"
    target: ClassVar[str] = "guidance-fund money invested in the mandated tracks (timeseries guidance_invested)"
    source: ClassVar[str] = (
        "M15 banks -> guidance funds -> VC, money does not reach embryonic tracks (seeds/001_52e3b34853073898.txt:28); "
        "Xi'an hard-tech fund 100亿元 (seeds/002_a935e4fe392ee53f.txt:3469-3471)"
    )
    name: str = "guidance_fund"
    budget_mcny_per_year: float = 1000.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业", "数字"])
    fund_size_mcny: float = P(5000.0, 'Capital the government commits to the new guidance fund, paid in over '
                                      'paid_in_years.', 'mcny at scale 1')
    paid_in_years: float = P(5.0, 'Years over which the capital is paid in (one tranche each January).', 'years')
    coinvest_ratio: float = P(0.5, "Guidance money per unit of VC money in a round in a mandated track, on top of the "
                                   "preset's guidance funds.", 'x')
    return_cap: float = P(0.05, 'Yearly return the government keeps; proceeds above it go to the co-investing VC '
                                '(让利).', '1/yr')
    life_years: float = P(10.0, 'Investment life of the fund.', 'years')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "fund_size_mcny", self.fund_size_mcny, ge=0, unit="mcny at scale 1")
        check_range(self.name, "paid_in_years", self.paid_in_years, gt=0, le=30, unit="years")
        check_range(self.name, "coinvest_ratio", self.coinvest_ratio, gt=0, le=5, unit="x")
        check_range(self.name, "return_cap", self.return_cap, ge=0, le=1, unit="1/yr")
        check_range(self.name, "life_years", self.life_years, gt=0, le=30, unit="years")

    def __post_init__(self):
        super().__post_init__()
        self.fund = None
        self.paid_in = 0.0
        self._tranches = 0  # Januaries (and the first month) in force: the paid-in schedule
        self._paced = 0.0  # money the fund's pace has given it places for
        self._proceeds_seen = 0.0

    def start(self, model, government) -> None:
        self.fund = GuidanceFund(
            model,
            f"guidance fund ({self.name})",
            capital=0.0,
            coinvest_ratio=self.coinvest_ratio,
            return_cap=self.return_cap,
            mandated_directions=list(self.target_directions),
            start_step=model.current_step,
            life_years=self.life_years,
            mandated_tracks=self.target_track_ids(model),
            stacks=True,
        )
        model.market.add(self.fund)

    def step(self, model, government) -> None:
        """Each January (and the first month) the tranche that brings the paid-in capital to its schedule
        (``fund_size_mcny * scale`` over ``paid_in_years``); the fund co-invests at the schedule's pace, its
        cash negative at times (drawn ahead on the capital still to be paid in, which the next tranches pay
        off) or positive, so the government pays the schedule at every scale."""
        f = self.fund
        f.mandated_tracks = self.target_track_ids(model)
        size = self.fund_size_mcny * model.scale
        if model.current_step % 12 == 0 or self._tranches == 0:
            self._tranches += 1
            due = min(size, self._tranches * size / self.paid_in_years) - self.paid_in
            if due > 0:
                self._pay_in(model, government, due)
        # the capital committed and not yet paid in: the fund may draw a whole cheque ahead on it
        # (agents.investors.rounds: at a small scale a co-investment of the real park's size can exceed
        # what the fund has, and is not cut to fit)
        f.credit = max(0.0, size - self.paid_in)
        # its pace: the schedule's money a month, as whole co-investments of a typical size (the recent mean VC
        # money of the VC-led rounds in its tracks, times its ratio); the places a month does not fill wait
        if self._paced < size:
            pace = min(size / self.paid_in_years * DT, size - self._paced)
            self._paced += pace
            f.add_places(pace, f.coinvest_ratio * model.market.rounds.typical_vc_money(f.mandated_tracks))

    def _pay_in(self, model, government, amount: float) -> None:
        paid = self.spend(model, government, amount)
        self.fund.commit(paid)
        self.paid_in += paid

    def stop(self, model, government) -> None:
        """The programme ends: its fund draws no more ahead, and what it drew is paid in (within the
        budget, month after month if need be); the rest of the commitment is not."""
        super().stop(model, government)
        self.fund.credit = max(0.0, -self.fund.cash)

    def collect(self, model, government) -> None:
        super().collect(model, government)
        f = self.fund
        if not self._running and f is not None and f.cash < 0:
            self._pay_in(model, government, -f.cash)
            f.credit = max(0.0, -f.cash)

    def book_distributions(self, model, government, step: int) -> None:
        """The fund's proceeds since the last booking."""
        f = self.fund
        if f is not None and f.proceeds > self._proceeds_seen:
            self.receive(model, government, f.proceeds - self._proceeds_seen, step)
            self._proceeds_seen = f.proceeds

    def stats(self) -> dict:
        f = self.fund
        return {
            "paid_in_mcny": self.paid_in,
            "invested_mcny": 0.0 if f is None else f.invested,
            "proceeds_mcny": 0.0 if f is None else f.proceeds,
            "ceded_to_vc_mcny": 0.0 if f is None else f.excess_ceded,
        }


# --------------------------------------------------------------------------------------------
# 1b. Government fund of funds (母基金)
# --------------------------------------------------------------------------------------------


@dataclass
class FundOfFunds(Policy):
    """Government fund of funds (母基金): public money commits to new VC funds as a limited
    partner, beside private LPs, on condition that the funds invest mainly in the target tracks;
    the government caps its return and leaves the excess to the private LPs (让利)."""

    kind: ClassVar[str] = "fund_of_funds"
    pays: ClassVar[str] = "funds"
    unit: ClassVar[str] = ("VC fund of the real park backed (each of its funds is one at the model's scale: "
                           "fund_size_mcny x scale)")
    target: ClassVar[str] = (
        "capital committed to VC funds raised in the observed window (investors.committed): the backed funds' public "
        "and private money, net of the private money taken from other funds"
    )
    source: ClassVar[str] = (
        "M15 银行、保险…是源头活水，国家级政府引导基金是蓄水池，创业投资和股权投资是末梢动力; money does not reach "
        "embryonic tracks (seeds/001_52e3b34853073898.txt:28); 国有资本加速入局 "
        "(seeds/003_05603e1a4834c126.txt:343-345); Israel's Yozma fund of funds, 1993 (external, named in "
        "conf/ecosystem/israel.yaml)"
    )
    name: str = "fund_of_funds"
    budget_mcny_per_year: float = 1000.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    fund_size_mcny: float = P(1000.0, "Size of each VC fund the fund of funds backs.", 'mcny at scale 1')
    lp_share: float = P(0.3, "Share of a backed fund the government commits (capital paid in when the fund is "
                             "raised); private LPs commit the rest.", 'share')
    private_additionality: float = P(
        0.5, "Share of the private LPs' money in a backed fund that would not have gone to VC otherwise (crowding "
             "in); the rest is taken from the year's commitments to other VC funds.", 'share'
    )
    mandate_share: float = P(0.6, "Share of a backed fund's track preferences held on the target tracks (its "
                                  "mandate), renewed every January.", 'share')
    early_share: float = P(1.0, "Share of the backed funds that invest early (rounds A-B; 投早), the rest in "
                                "later rounds.", 'share')
    return_cap: float = P(0.08, "Yearly return the government keeps on what it paid in; its share of the "
                                "distributions above that goes to the private LPs (让利).", '1/yr')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "fund_size_mcny", self.fund_size_mcny, gt=0, unit="mcny at scale 1")
        check_range(self.name, "lp_share", self.lp_share, gt=0, le=1, unit="share")
        check_range(self.name, "private_additionality", self.private_additionality, ge=0, le=1, unit="share")
        check_range(self.name, "mandate_share", self.mandate_share, ge=0, le=1, unit="share")
        check_range(self.name, "early_share", self.early_share, ge=0, le=1, unit="share")
        check_range(self.name, "return_cap", self.return_cap, ge=0, le=1, unit="1/yr")

    def __post_init__(self):
        super().__post_init__()
        self.funds: list = []  # the VC funds it backs
        self.paid_in: list[float] = []  # what it committed to each
        self.raised_step: list[int] = []
        self._seen: list[float] = []  # each fund's distributions already shared out
        self._received: list[float] = []  # what the government got back from each fund
        self._carry = 0.0  # budget carried to the next fund (fractions of a fund at small scales)
        self._raise_year = None

    def step(self, model, government) -> None:
        year = model.year_of(model.current_step)
        if year == self._raise_year:
            return
        self._raise_year = year
        self._raise_funds(model, government)
        self._renew_mandates(model)

    def _raise_funds(self, model, government) -> None:
        """This year's backed funds: as many as the budget pays the government's share of."""
        size = self.fund_size_mcny * model.scale
        public = self.lp_share * size
        self._carry += self.budget(model)
        cycle = model.market.funds
        rng = self.rng(model)
        diverted = 0.0
        while self._carry >= public * (1 - 1e-9):
            paid = self.spend(model, government, public)
            self._carry -= public
            if paid < public * (1 - 1e-9):  # the government's budget ran out: no fund this time
                self._carry = 0.0
                break
            focus = "early" if rng.random() < self.early_share else "late"
            f = cycle.new_fund(model.current_step, manager_id=cycle.new_manager_id(policy=True), size=size, focus=focus,
                               prefs=cycle.initial_prefs(rng))
            f.mandate = (self.target_track_ids(model), self.mandate_share)
            f.prefs = f.hold_mandate(f.prefs)
            self.funds.append(f)
            self.paid_in.append(paid)
            self.raised_step.append(model.current_step)
            self._seen.append(0.0)
            self._received.append(0.0)
            diverted += (1.0 - self.private_additionality) * (size - public)
        # private money that is not additional comes out of this year's commitments to other funds
        base = model.cfg.ecosystem.vc.commitments_mcny_per_year * model.scale
        self.levers.set(model, "lp_multiplier", max(1e-6, 1.0 - diverted / base) if base > 0 else 1.0)
        model.market.invalidate_fund_view()

    def _renew_mandates(self, model) -> None:
        """Every January the backed funds' mandate covers the target tracks of the day (tracks
        derived from them included): at least ``mandate_share`` of their preferences there."""
        ids = self.target_track_ids(model)
        for f in self.funds:
            if not f.closed:
                f.mandate = (ids, self.mandate_share)
                prefs = np.concatenate([f.prefs, np.zeros(max(0, model.tracks.n - f.prefs.size))])
                f.prefs = f.hold_mandate(prefs)
        model.market.invalidate_fund_view()

    def book_distributions(self, model, government, step: int) -> None:
        """The government's share of the backed funds' distributions, up to its return cap."""
        for i, f in enumerate(self.funds):
            new = f.proceeds - self._seen[i]
            if new <= 0:
                continue
            self._seen[i] = f.proceeds
            years = (step - self.raised_step[i]) / 12.0
            cap = self.paid_in[i] * (1.0 + self.return_cap) ** max(years, 0.0)
            got = min(self.paid_in[i] / f.committed * new, max(0.0, cap - self._received[i]))
            self._received[i] += got
            self.receive(model, government, got, step)

    def stats(self) -> dict:
        return {
            "funds_backed": len(self.funds),
            "committed_mcny": float(sum(self.paid_in)),
            "backed_fund_capital_mcny": float(sum(f.committed for f in self.funds)),
            "backed_funds_invested_mcny": float(sum(f.invested for f in self.funds)),
        }

    def units(self, model) -> float:
        return len(self.funds) * model.scale


# --------------------------------------------------------------------------------------------
# 6. Credit relaxation (放宽信贷) and combined credit and equity (投贷联动)
# --------------------------------------------------------------------------------------------


@dataclass
class CreditRelaxation(Policy):
    """Credit relaxation (放宽信贷) and combined credit and equity (投贷联动): a public
    risk-compensation pool backs bank loans to firms below the banks' own bar, banks lend more
    often and more, the government subsidises part of the interest, and a venture-backed firm
    gets a bank loan beside each VC round.

    Bank money is ample (M15, "源头充足"): the banks' capital does not bind at the defaults, and
    what keeps credit from young firms is the banks' test (a revenue floor and a margin floor,
    ``ecosystem.banks``). More frequent applications (``apply_multiplier``) and larger loans
    (``loan_size_multiplier``) act on every firm that passes it. The risk-compensation pool
    (科技信贷风险补偿资金池) opens the banks to the eligible firms below their revenue floor: the
    government pays ``risk_pool_mcny`` (at scale 1, times ``scale``) into the pool from the
    policy's yearly budget, before anything else, from the month the policy starts until it is
    paid in (at the defaults over its first two years, which leaves less of the budget to the
    interest subsidy then); while the policy is in force, an eligible firm without a loan whose
    revenue run rate is at least ``pool_min_revenue_mcny`` but below the banks' floor (and
    whose margin passes the banks' margin floor) applies as other firms do, and the banks lend
    to it on the pool's guarantee as long as the loans the pool backs stay within
    ``pool_leverage`` times what is left in it (the quota of local pools), in the order of the
    applications' draws. The pool pays the banks ``loss_cover_share`` of what a borrower it
    backs still owes when the firm fails, after the firm's cash and the banks' recovery, while
    money is left in it. When the policy ends the pool stops backing new loans and covering
    losses, and what is left of it goes back to the treasury. Defaults (assumed, of the order of
    local pools, not from the seed reports): Guangzhou's pool for tech SMEs, up to 2亿元 a year,
    covers up to 50 % of a bad loan; Ningbo's 科技信贷风险池 counts on 10 times leverage.
    """

    kind: ClassVar[str] = "credit_relaxation"
    target: ClassVar[str] = "bank lending to the park's firms (timeseries bank_lending)"
    source: ClassVar[str] = (
        "seed 001 package (3) relaxed credit and financing (seeds/001_52e3b34853073898.txt:1, :37); "
        "张江 投贷联动 (seeds/004_04d71fc19d7d077d.txt:1511-1517); 5050 full interest subsidy (:1667-1673); "
        "M15 bank money ample but not reaching new tracks (seeds/001_52e3b34853073898.txt:28)"
    )
    name: str = "credit_relaxation"
    budget_mcny_per_year: float = 300.0
    apply_multiplier: float = P(2.0, "Banks' monthly lending chance to an eligible firm, times this.", 'x')
    loan_size_multiplier: float = P(1.5, 'Loan size (a share of revenue), times this.', 'x')
    interest_subsidy_share: float = P(0.5, "Share of the interest on targeted firms' bank loans the government "
                                           "pays.", 'share')
    venture_debt_ratio: float = P(
        0.3, "投贷联动: bank loan per unit of a VC round (rounds A-C) to a firm without debt; 0 switches it off.", "x"
    )
    risk_pool_mcny: float = P(
        500.0, "风险补偿资金池: public money paid into a risk-compensation pool from the yearly budget, before "
        "anything else, from the start until paid in; the banks lend on its guarantee to eligible firms below their "
        "revenue floor, up to pool_leverage times what is left in it, and it pays part of their losses on those "
        "loans; 0 switches it off.", "mcny at scale 1"
    )
    pool_leverage: float = P(10.0, "Quota of the loans the risk pool backs, per unit of money left in it.", "x")
    pool_min_revenue_mcny: float = P(
        1.0, "Least revenue run rate of a firm the risk pool backs a loan to (the banks' own floor is "
        "ecosystem.banks.min_revenue_mcny).", "mcny/yr"
    )
    loss_cover_share: float = P(
        0.5, "Share of the loss on a failed borrower the risk pool backs (what it still owes after its cash and the "
        "bank's recovery) the pool pays the bank, while money is left in it.", "share"
    )

    def validate(self) -> None:
        super().validate()
        positive_factor(self, "apply_multiplier", self.apply_multiplier)
        positive_factor(self, "loan_size_multiplier", self.loan_size_multiplier)
        check_range(self.name, "interest_subsidy_share", self.interest_subsidy_share, ge=0, le=1, unit="share")
        check_range(self.name, "venture_debt_ratio", self.venture_debt_ratio, ge=0, le=5, unit="x")
        check_range(self.name, "risk_pool_mcny", self.risk_pool_mcny, ge=0, unit="mcny at scale 1")
        check_range(self.name, "pool_leverage", self.pool_leverage, ge=0, le=50, unit="x")
        check_range(self.name, "pool_min_revenue_mcny", self.pool_min_revenue_mcny, ge=0, unit="mcny/yr")
        check_range(self.name, "loss_cover_share", self.loss_cover_share, ge=0, le=1, unit="share")

    def __post_init__(self):
        super().__post_init__()
        self._deal_ptr = 0
        self.venture_loans = 0
        self.venture_lent = 0.0
        self.pool = 0.0  # money left in the risk-compensation pool
        self.pool_in = 0.0  # what the government paid into it
        self._pool_due = 0.0  # what is still to be paid in
        self.pool_paid = 0.0  # what the pool paid the banks
        self.pool_loans = 0  # loans the pool backed
        self.pool_lent = 0.0  # their principal
        self.backed_ids = np.empty(0, dtype=np.int64)  # firms whose bank loan the pool backs
        self.backed_payment = np.empty(0)  # and that loan's monthly payment (which tells it from a later loan)

    def start(self, model, government) -> None:
        self._deal_ptr = model.market.deals.n
        self._pool_due = self.sample_cost(model, self.risk_pool_mcny)
        if self._pool_due > 0:
            model.market.lending.loss_cover = partial(self._cover, model)
            model.market.lending.backed_lending = partial(self._pool_lending, model)

    def stop(self, model, government) -> None:
        super().stop(model, government)
        model.market.lending.loss_cover = None
        model.market.lending.backed_lending = None
        self._pool_due = 0.0
        if self.pool > 0:
            self.receive(model, government, self.pool)
            self.pool = 0.0

    def backed_rows(self, model) -> np.ndarray:
        """Rows of the live firms whose current bank loan the pool backs; firms that repaid it
        or left are dropped from the list (a firm that repaid it and took a loan from the banks
        alone is told apart by the loan's monthly payment)."""
        pop = model.population
        rows = pop.row_of[self.backed_ids]
        keep = rows >= 0
        keep[keep] = pop["debt_payment"][rows[keep]] == self.backed_payment[keep]
        self.backed_ids, self.backed_payment = self.backed_ids[keep], self.backed_payment[keep]
        return rows[keep]

    def _cover(self, model, rows: np.ndarray, loss: np.ndarray) -> np.ndarray:
        """The pool's payment for each failed borrower at ``rows`` with ``loss`` to its bank:
        ``loss_cover_share`` of it on the loans the pool backs, within what is left in it."""
        backed = np.isin(rows, self.backed_rows(model))
        want = np.where(backed, self.loss_cover_share * loss, 0.0)
        total = float(want.sum())
        if total <= 0 or self.pool <= 0:
            return np.zeros(rows.size)
        paid = want * min(1.0, self.pool / total)
        self.pool = max(0.0, self.pool - float(paid.sum()))
        self.pool_paid += float(paid.sum())
        return paid

    def _pool_lending(self, m, step: int) -> None:
        """This month's loans on the pool's guarantee (called by the banks after their own loans
        of the month, :attr:`agents.investors.lending.Lending.backed_lending`): eligible firms
        below the banks' revenue floor that apply, in the order of their draws, within the
        pool's quota."""
        if self.pool <= 0:
            return
        room = self.pool_leverage * self.pool - float(m.population["debt"][self.backed_rows(m)].sum())
        bcfg = m.cfg.ecosystem.banks
        if room <= 0 or self.pool_min_revenue_mcny >= bcfg.min_revenue_mcny:
            return
        pop = m.population
        rows = m.market.lending.creditworthy(self.pool_min_revenue_mcny)
        rows = rows[pop["revenue"][rows] < bcfg.min_revenue_mcny]
        rows = rows[self.eligible(m, rows)]
        if rows.size == 0:
            return
        draws = self.draws(m)
        apply = draws.uniform(pop["key"][rows], step, SLOT_POOL_APPLY)
        rows = rows[apply < bcfg.apply_probability * m.levers.value("credit_multiplier")]
        if rows.size == 0:
            return
        up = draws.uniform(pop["key"][rows], step, SLOT_POOL_PICK)
        order = np.argsort(up, kind="stable")
        rows, up = rows[order], up[order]
        amount = m.market.lending.loan_size(rows)
        fits = np.cumsum(amount) <= room
        lent = m.market.lending.lend_to(rows[fits], amount[fits], step, up[fits])
        if lent.size:
            self.backed_ids = np.concatenate([self.backed_ids, pop["id"][lent]])
            self.backed_payment = np.concatenate([self.backed_payment, pop["debt_payment"][lent]])
            self.pool_loans += int(lent.size)
            self.pool_lent += float(pop["debt"][lent].sum())
            self.note_supported(m, lent)

    def step(self, model, government) -> None:
        m = model
        if self._pool_due > 0:  # the pool is paid in first, within the yearly budget
            paid = self.spend(m, government, self._pool_due)
            self._pool_due -= paid
            self.pool += paid
            self.pool_in += paid
        self.levers.set(m, "credit_multiplier", self.apply_multiplier)
        self.levers.set(m, "loan_size_multiplier", self.loan_size_multiplier)
        pop = m.population
        if self.venture_debt_ratio > 0:
            self._venture_debt(m)
        if self.interest_subsidy_share > 0 and pop.n:
            rows = np.flatnonzero(pop["debt"] > 0)
            rows = rows[self.eligible(m, rows)]
            if rows.size:
                rate = np.array([getattr(m.market.investors[i], "rate", 0.0) for i in range(len(m.market.investors))])
                interest = pop["debt"][rows] * rate[pop["bank"][rows]] * DT
                self.grant(m, government, rows, self.interest_subsidy_share * interest)

    def _venture_debt(self, m) -> None:
        d = m.market.deals
        lo, hi = self._deal_ptr, d.n
        self._deal_ptr = hi
        if hi <= lo:
            return
        inv = d["investor"][lo:hi]
        kinds = np.array([m.market.investors[i].kind == "vc" for i in inv], dtype=bool)
        rnd = d["round"][lo:hi]
        sel = kinds & (rnd >= 1) & (rnd <= 3)
        if not sel.any():
            return
        firms = d["firm"][lo:hi][sel]
        amounts = d["amount"][lo:hi][sel]
        ids, inverse = np.unique(firms, return_inverse=True)
        per_firm = np.bincount(inverse, weights=amounts)
        pop = m.population
        rows = pop.row_of[ids]
        ok = rows >= 0
        rows, per_firm = rows[ok], per_firm[ok]
        keep = pop["debt"][rows] <= 0
        rows, per_firm = rows[keep], per_firm[keep]
        if rows.size == 0:
            return
        keep = self.eligible(m, rows)
        rows, per_firm = rows[keep], per_firm[keep]
        if rows.size == 0:
            return
        up = self.draws(m).uniform(pop["key"][rows], m.current_step, SLOT_LOAN)
        lent = m.market.lending.lend_to(rows, self.venture_debt_ratio * per_firm, m.current_step, up)
        self.venture_loans += int(lent.size)
        self.venture_lent += float(pop["debt"][lent].sum()) if lent.size else 0.0
        self.note_supported(m, lent)

    def stats(self) -> dict:
        return {
            "venture_loans": self.venture_loans,
            "venture_lent_mcny": self.venture_lent,
            "risk_pool_paid_mcny": self.pool_paid,
            "risk_pool_left_mcny": self.pool,
            "risk_pool_loans": self.pool_loans,
            "risk_pool_lent_mcny": self.pool_lent,
        }


# --------------------------------------------------------------------------------------------
# 7. Exit channels (STAR-market-like listing route, M&A openness)
# --------------------------------------------------------------------------------------------


@dataclass
class ExitChannels(Policy):
    """Exit channels: a STAR-market-like listing route with lower listing thresholds for
    targeted tracks, a registration system that speeds listings, and open M&A."""

    kind: ClassVar[str] = "exit_channels"
    pays: ClassVar[str] = "nobody"
    target: ClassVar[str] = "exits by IPO and acquisition (timeseries exits_ipo, exits_acquired)"
    source: ClassVar[str] = (
        "STAR Market with registration (seeds/002_a935e4fe392ee53f.txt:233-237; 172/417 registrations effective, "
        ":1137-1139); "
        "open M&A and IPOs, more exit room for early money (seeds/001_52e3b34853073898.txt:43-44)"
    )
    name: str = "exit_channels"
    budget_mcny_per_year: float = 0.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    listing_relief: float = P(0.6, 'Listing revenue and valuation thresholds cut by this share in the targeted tracks '
                                   '(STAR-market-like route).', 'share')
    ipo_rate_multiplier: float = P(1.5, 'Yearly IPO hazard of an eligible firm, times this (registration system).', 'x')
    acquisition_multiplier: float = P(1.3, 'Yearly acquisition hazard, times this (M&A openness).', 'x')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "listing_relief", self.listing_relief, ge=0, lt=1, unit="share")
        positive_factor(self, "ipo_rate_multiplier", self.ipo_rate_multiplier)
        positive_factor(self, "acquisition_multiplier", self.acquisition_multiplier)

    def step(self, model, government) -> None:
        self.levers.set(model, "ipo_multiple", self.ipo_rate_multiplier)
        self.levers.set(model, "acquisition_multiple", self.acquisition_multiplier)
        self.levers.set_track(model, "ipo_relief", np.where(self.target_track_mask(model), self.listing_relief, 0.0))


# --------------------------------------------------------------------------------------------
# 8. Long-term capital (insurance and pension money, longer fund lives)
# --------------------------------------------------------------------------------------------


@dataclass
class LongTermCapital(Policy):
    """Long-term capital: insurance and pension money joins VC funds as limited partners,
    drawn by tax incentives, and funds live longer."""

    kind: ClassVar[str] = "long_term_capital"
    pays: ClassVar[str] = "funds"
    unit: ClassVar[str] = "mcny of extra commitments by insurance and pension LPs to VC funds"
    target: ClassVar[str] = (
        "capital committed to new VC funds (investors.committed of VC funds raised under the policy)"
    )
    source: ClassVar[str] = (
        "insurance and pension money into tech equity with tax incentives (seeds/001_52e3b34853073898.txt:45); VC "
        "across cycles (:29)"
    )
    name: str = "long_term_capital"
    #: pays the tax cost of the whole extra share at 中关村's commitments: 0.02 * 0.25 * 118,800 = 594 a year
    budget_mcny_per_year: float = 600.0
    extra_commitment_share: float = P(0.25, 'Insurance and pension money raises yearly LP commitments to VC by this '
                                            'share.', 'share')
    fund_life_multiplier: float = P(1.5, 'Life of VC funds raised while the policy is in force, times this.', 'x')
    tax_incentive_rate: float = P(0.02, 'Tax expenditure per unit of extra commitments (public spending); when the '
                                        'budget is short, commitments rise less.', 'share')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "extra_commitment_share", self.extra_commitment_share, ge=0, le=5, unit="share")
        positive_factor(self, "fund_life_multiplier", self.fund_life_multiplier)
        check_range(self.name, "tax_incentive_rate", self.tax_incentive_rate, ge=0, le=1, unit="share")

    def __post_init__(self):
        super().__post_init__()
        self.extra_committed = 0.0
        self._lp_year = None

    def step(self, model, government) -> None:
        self.levers.set(model, "fund_life_multiplier", self.fund_life_multiplier)
        year = model.year_of(model.current_step)
        if year == self._lp_year:
            return
        self._lp_year = year
        base = model.cfg.ecosystem.vc.commitments_mcny_per_year * model.scale
        planned = self.extra_commitment_share * base
        if self.tax_incentive_rate > 0:
            paid = self.spend(model, government, planned * self.tax_incentive_rate)
            extra = paid / self.tax_incentive_rate
        else:
            extra = planned
        self.extra_committed += extra
        self.levers.set(model, "lp_multiplier", 1.0 + (extra / base if base > 0 else 0.0))

    def stats(self) -> dict:
        return {"extra_commitments_mcny": self.extra_committed}

    def units(self, model) -> float:
        return self.extra_committed

"""Policies on firms: a state incubator (孵化+资助), matched R&D grants, proof-of-concept and pilot
bases (概念验证, 中试), stage-targeted cultivation of gazelles and unicorns, entry subsidies, the
incubation chain (众创空间-孵化器-加速器) and the R&D super-deduction (研发费用加计扣除).

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.config import P
from sim.core.clock import DT, MONTHS
from sim.core.errors import ConfigError
from sim.core.vocabulary import ORIGINS, UNICORN
from sim.policies.base import Policy, check_range
from sim.policies.instruments import RDCostShare

__all__ = ["StateIncubator", "RDGrants", "ProofOfConcept", "StageCultivation", "EntrySubsidy", "IncubatorChain",
           "RDTaxCredit", "expected_births_per_year", "rd_user_cost", "rd_tax_relief"]


# --------------------------------------------------------------------------------------------
# 2. State incubator, the Israeli 孵化+资助 model
# --------------------------------------------------------------------------------------------


@dataclass
class StateIncubator(Policy):
    """State incubator (孵化+资助, Israel): selected new firms get a grant and services; a firm
    that succeeds repays through a royalty on revenue, a firm that fails repays nothing."""

    kind: ClassVar[str] = "state_incubator"
    target: ClassVar[str] = "survival of the incubated firms (against the same firms without the programme)"
    source: ClassVar[str] = (
        "入孵企业创业成功率50%, 3% of revenue plus interest on success, nothing on failure "
        "(seeds/004_04d71fc19d7d077d.txt:1010-1018)"
    )
    name: str = "state_incubator"
    budget_mcny_per_year: float = 600.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    capacity_per_year: float = P(300.0, "New firms admitted per year (selected from the previous month's "
                                        "founders).", 'firms/yr at scale 1')
    grant_mcny: float = P(2.0, 'Grant per admitted firm, paid on admission.', 'mcny')
    incubation_years: float = P(2.0, 'Length of incubation; success or failure is judged at its end.', 'years')
    closure_relief: float = P(0.5, 'Closure hazard times (1 - relief) during incubation (space, services).', 'share')
    growth_support: float = P(0.1, 'Extra log revenue growth during incubation (mentoring, networks).', '1/yr')
    selection_noise: float = P(1.0, "Error of the incubator's view of a founding team's quality (it admits the best it "
                                    "sees).", 'sd')
    success_revenue_mcny: float = P(1.0, 'Success: alive at the end of incubation with at least this revenue, or with '
                                         'equity raised.', 'mcny/yr')
    royalty_rate: float = P(0.03, 'After success the firm pays back this share of its revenue until the grant plus '
                                  'interest is repaid; after failure nothing.', 'share of revenue')
    repayment_interest: float = P(0.03, 'Interest on the grant owed after success.', '1/yr')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "grant_mcny", self.grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "incubation_years", self.incubation_years, gt=0, le=10, unit="years")
        check_range(self.name, "closure_relief", self.closure_relief, ge=0, lt=1, unit="share")
        check_range(self.name, "growth_support", self.growth_support, ge=0, le=2, unit="1/yr")
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")
        check_range(self.name, "success_revenue_mcny", self.success_revenue_mcny, ge=0, unit="mcny/yr")
        check_range(self.name, "royalty_rate", self.royalty_rate, ge=0, le=1, unit="share of revenue")
        check_range(self.name, "repayment_interest", self.repayment_interest, ge=0, le=1, unit="1/yr")

    def __post_init__(self):
        super().__post_init__()
        self.ids = np.empty(0, dtype=np.int64)
        self.admitted = np.empty(0, dtype=np.int64)
        self.granted = np.empty(0)
        self.status = np.empty(0, dtype=np.int8)  # 0 incubating, 1 succeeded (repaying), 2 failed, 3 repaid
        self.due = np.empty(0)

    def step(self, model, government) -> None:
        k = self.monthly_slots(model, self.capacity_per_year)
        if k <= 0:
            return
        rows = self.new_firms(model)
        rows = rows[self.eligible(model, rows)]
        rows = self.select_best(model, rows, k, self.selection_noise)
        if rows.size == 0:
            return
        got = self.grant(model, government, rows, self.grant_mcny)
        if self.grant_mcny > 0:  # no money left this year: nobody is admitted
            keep = got > 0
            rows, got = rows[keep], got[keep]
        if rows.size == 0:
            return
        until = model.current_step + int(round(12 * self.incubation_years))
        self.support.add(model, rows, until, growth=self.growth_support, closure=1.0 - self.closure_relief)
        self.note_supported(model, rows)
        pop = model.population
        self.ids = np.concatenate([self.ids, pop["id"][rows]])
        self.admitted = np.concatenate([self.admitted, np.full(rows.size, model.current_step, dtype=np.int64)])
        self.granted = np.concatenate([self.granted, got])
        self.status = np.concatenate([self.status, np.zeros(rows.size, dtype=np.int8)])
        self.due = np.concatenate([self.due, np.zeros(rows.size)])

    def stop(self, model, government) -> None:
        super().stop(model, government)  # services end; firms in incubation are judged when their term ends

    def collect(self, model, government) -> None:
        super().collect(model, government)
        if self.ids.size == 0:
            return
        pop = model.population
        step = model.current_step
        term = int(round(12 * self.incubation_years))
        rows = pop.row_of[self.ids]
        # the end of incubation: success or failure
        ending = (self.status == 0) & (step - self.admitted >= term)
        if ending.any():
            r = rows[ending]
            alive = r >= 0
            ok = np.zeros(r.size, dtype=bool)
            ok[alive] = (pop["revenue"][r[alive]] >= self.success_revenue_mcny) | (pop["rounds"][r[alive]] > 0)
            idx = np.flatnonzero(ending)
            self.status[idx] = np.where(ok, 1, 2)
            self.due[idx] = np.where(
                ok, self.granted[idx] * (1.0 + self.repayment_interest) ** self.incubation_years, 0.0
            )
        # incubating firms that died failed
        dead = (self.status == 0) & (rows < 0)
        self.status[dead] = 2
        # royalties from the successful ones, while they live and owe
        pay = np.flatnonzero((self.status == 1) & (rows >= 0) & (self.due > 0))
        if pay.size:
            r = rows[pay]
            royalty = self.royalty_rate * np.maximum(pop["revenue"][r], 0.0) * DT
            royalty = np.minimum(np.minimum(royalty, self.due[pay]), np.maximum(pop["cash"][r], 0.0))
            total = float(royalty.sum())
            if total > 0:
                pop["cash"][r] -= royalty
                model.ledger.public_repayments += total
                self.due[pay] -= royalty
                self.receive(model, government, total)
            self.status[pay[self.due[pay] <= 1e-12]] = 3

    def stats(self) -> dict:
        judged = np.isin(self.status, (1, 2, 3))
        succeeded = np.isin(self.status, (1, 3))
        return {
            "firms_supported": int(self.ids.size),
            "incubations_ended": int(judged.sum()),
            "successes": int(succeeded.sum()),
            "success_rate": float(succeeded.sum() / judged.sum()) if judged.any() else None,
            "success_rate_reference": 0.5,
            "granted_mcny": float(self.granted.sum()),
            "repaid_mcny": float(self.received),
        }


# --------------------------------------------------------------------------------------------
# 3. Matched R&D grants (Israel's Office of the Chief Scientist)
# --------------------------------------------------------------------------------------------


@dataclass
class RDGrants(Policy):
    """Matched R&D grants (OCS style): the government pays a share of a selected firm's R&D
    spending, up to a cap per firm, for a limited time.

    Each month a grantee receives ``grant_share`` of its R&D spending of the last month (its R&D
    staff's wages and the spending beyond them, ``rd_last``) until its cap is used up or its term
    ends. The programme admits new grantees (firms that do R&D, at most ``capacity_per_year``, the
    best it sees) only
    as far as the budget left this year covers what they and the current grantees are expected
    to draw in the rest of the year (at the share of their last month's R&D, within their caps):
    it does not take on grants it cannot pay. The grant lowers the firm's user cost of R&D to
    ``1 - s``, where ``s`` is the share the programme actually paid last month (``grant_share``,
    less when the budget ran short and grants were cut pro rata), so the firm's R&D staff share
    rises by ``(1 - s) ** -ecosystem.rd.user_cost_elasticity`` (the population's ``support_rd``
    column; the same response as to a tax credit, :class:`RDTaxCredit`), at most all of its paid
    staff. More R&D builds its R&D stock and brings product breakthroughs
    (:mod:`agents.firms.rules`)."""

    kind: ClassVar[str] = "rd_grants"
    target: ClassVar[str] = "R&D spending of the granted firms (against the same firms without the programme)"
    source: ClassVar[str] = (
        "OCS 磁子计划 Magneton: 66% of R&D, < US$0.76M, 2 years (seeds/004_04d71fc19d7d077d.txt:1086-1098); 磁石 "
        "Magnet 66%/80%, 3-5 years (:1031-1084)"
    )
    name: str = "rd_grants"
    budget_mcny_per_year: float = 500.0
    capacity_per_year: float = P(400.0, 'New grantees per year (the best applicants the programme '
                                        'sees).', 'firms/yr at scale 1')
    grant_share: float = P(0.66, "Share of the firm's R&D spending the grant covers.", 'share')
    cap_mcny: float = P(5.32, 'Most a firm can receive over its grant (US$0.76M at 7 CNY/USD).', 'mcny')
    duration_years: float = P(2.0, 'Length of a grant.', 'years')
    min_employees: float = P(3.0, 'Applicants need at least this headcount.', 'employees')
    min_tech_intensity: float = P(0.5, 'Only firms in tracks at least this research-intensive apply.', '0-1')
    selection_noise: float = P(0.8, "Error of the programme's view of an applicant's quality.", 'sd')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "grant_share", self.grant_share, gt=0, lt=1, unit="share")
        check_range(self.name, "cap_mcny", self.cap_mcny, ge=0, unit="mcny")
        check_range(self.name, "duration_years", self.duration_years, gt=0, le=10, unit="years")
        check_range(self.name, "min_employees", self.min_employees, ge=0, unit="employees")
        check_range(self.name, "min_tech_intensity", self.min_tech_intensity, ge=0, le=1)
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")

    def __post_init__(self):
        super().__post_init__()
        self.ids = np.empty(0, dtype=np.int64)
        self.started = np.empty(0, dtype=np.int64)
        self.paid = np.empty(0)
        self.rd = RDCostShare()  # the grantees' R&D response (their multipliers in support_rd)
        self.covered = 1.0  # share of the requested grants paid last month (1 until the budget runs short)

    def step(self, model, government) -> None:
        pop = model.population
        step = model.current_step
        k = self.monthly_slots(model, self.capacity_per_year)
        if k > 0 and pop.n:
            tech = model.tracks["tech_intensity"]
            ok = (
                self.eligible(model)
                & (pop["employees"] >= self.min_employees)
                & (tech[pop["track"]] >= self.min_tech_intensity)
                & (pop["rd_phi"] > 0.0)  # only firms that do R&D apply for a grant of part of it
            )
            rows = np.flatnonzero(ok)
            if self.ids.size:
                rows = rows[~np.isin(pop["id"][rows], self.ids)]
            rows = self.select_best(model, rows, k, self.selection_noise)
            rows = rows[: self._affordable(model, government, rows)]
            if rows.size:
                self.ids = np.concatenate([self.ids, pop["id"][rows]])
                self.started = np.concatenate([self.started, np.full(rows.size, step, dtype=np.int64)])
                self.paid = np.concatenate([self.paid, np.zeros(rows.size)])
                self.rd.add(rows.size)
                self.note_supported(model, rows)
        if self.ids.size == 0:
            return
        rows = pop.row_of[self.ids]
        on = (rows >= 0) & (step - self.started < 12 * self.duration_years) & (self.paid < self.cap_mcny)
        j = np.flatnonzero(on & (self.started < step))  # last month's R&D of firms granted before this month
        if j.size:
            want = self.rd.request(model, rows[j], self.grant_share, self.cap_mcny - self.paid[j])
            got = self.grant(model, government, rows[j], want)
            self.paid[j] += got
            asked = float(want.sum())
            if asked > 0:
                self.covered = float(got.sum()) / asked
        elif self.room(model, government) <= 0:
            self.covered = 0.0
        on &= self.paid < self.cap_mcny
        # the user cost of R&D is 1 - s, s the share of R&D the programme paid last month
        self.rd.set(model, rows, np.where(on, self.rd.response(model, self.grant_share * self.covered), 1.0))

    def _affordable(self, model, government, rows: np.ndarray) -> int:
        """How many of the candidates at ``rows`` (best first) the budget left this year can
        take on: it must cover what the current grantees (live, in their term) and the new ones
        are expected to draw in the rest of the year, at the share of their R&D of the last
        month (a candidate's raised by its response to the grant), within their caps."""
        if rows.size == 0:
            return 0
        pop = model.population
        month = model.current_step % MONTHS
        term = int(round(12 * self.duration_years))
        promised = 0.0
        if self.ids.size:
            r = pop.row_of[self.ids]
            left = term - (model.current_step - self.started)
            on = (r >= 0) & (left > 0)
            months = np.minimum(MONTHS - month, left[on])
            promised = float(np.minimum(self.cap_mcny - self.paid[on],
                                        self.grant_share * pop["rd_last"][r[on]] * months).clip(min=0).sum())
        rd = pop["rd_last"][rows] * self.rd.response(model, self.grant_share)
        want = np.minimum(self.cap_mcny, self.grant_share * rd * min(MONTHS - 1 - month, term))
        free = self.room(model, government) - promised
        return int(np.searchsorted(np.cumsum(want), free, side="right"))

    def stop(self, model, government) -> None:
        super().stop(model, government)
        if self.ids.size:
            self.rd.set(model, model.population.row_of[self.ids], np.ones(self.ids.size))

    def stats(self) -> dict:
        return {"firms_supported": int(self.ids.size), "granted_mcny": float(self.paid.sum())}


# --------------------------------------------------------------------------------------------
# 4. Proof-of-concept and pilot bases (概念验证, 中试)
# --------------------------------------------------------------------------------------------


@dataclass
class ProofOfConcept(Policy):
    """Proof-of-concept and pilot bases (概念验证, 中试基地): research spin-offs get a
    proof-of-concept grant and pilot facilities that carry them across the death valley."""

    kind: ClassVar[str] = "proof_of_concept"
    target: ClassVar[str] = "survival of the supported spin-offs (against the same firms without the programme)"
    source: ClassVar[str] = (
        "M14 death valley, 概念验证/中试基地 (seeds/001_52e3b34853073898.txt:39, :42); Israel pre-seed 趋势基金 "
        "(seeds/004_04d71fc19d7d077d.txt:1004-1010)"
    )
    name: str = "proof_of_concept"
    budget_mcny_per_year: float = 300.0
    target_origins: list[str] = field(default_factory=lambda: ["spinoff"])
    capacity_per_year: float = P(500.0, "Spin-offs taken onto the proof-of-concept and pilot bases per year (from the "
                                        "previous month's founders).", 'firms/yr at scale 1')
    poc_grant_mcny: float = P(0.5, 'Proof-of-concept grant per firm.', 'mcny')
    pilot_years: float = P(2.0, 'Time on the pilot base.', 'years')
    closure_relief: float = P(0.4, 'Closure hazard times (1 - relief) on the pilot base.', 'share')
    growth_support: float = P(0.25, 'Extra log revenue growth on the pilot base: from sample (样品) to product '
                                    '(商品).', '1/yr')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "poc_grant_mcny", self.poc_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "pilot_years", self.pilot_years, gt=0, le=10, unit="years")
        check_range(self.name, "closure_relief", self.closure_relief, ge=0, lt=1, unit="share")
        check_range(self.name, "growth_support", self.growth_support, ge=0, le=2, unit="1/yr")

    def step(self, model, government) -> None:
        k = self.monthly_slots(model, self.capacity_per_year)
        if k <= 0:
            return
        rows = self.new_firms(model)
        rows = self.random_order(model, rows[self.eligible(model, rows)])[:k]
        if rows.size == 0:
            return
        if self.poc_grant_mcny > 0:
            got = self.grant(model, government, rows, self.poc_grant_mcny)
            rows = rows[got > 0]
        until = model.current_step + int(round(12 * self.pilot_years))
        self.support.add(model, rows, until, growth=self.growth_support, closure=1.0 - self.closure_relief)
        self.note_supported(model, rows)


# --------------------------------------------------------------------------------------------
# 11. Stage-targeted cultivation of gazelles and unicorns
# --------------------------------------------------------------------------------------------


@dataclass
class StageCultivation(Policy):
    """Stage-targeted cultivation (瞪羚/独角兽培育): new gazelles and potential unicorns get a
    grant (paid with a lag) and a place on the government's list, which eases fund raising."""

    kind: ClassVar[str] = "stage_cultivation"
    target: ClassVar[str] = (
        "equity raised by the cultivated firms from the month they join the list (against the same firms without "
        "the programme)"
    )
    source: ClassVar[str] = (
        "gazelle/unicorn cultivation absent in Shenzhen HTZ; subsidies 申请困难、补助周期冗长 "
        "(seeds/004_04d71fc19d7d077d.txt:664-674); "
        "Xi'an 10+10+N listing cultivation (seeds/002_a935e4fe392ee53f.txt:3455-3471); potential unicorns "
        "(report-figures.md §9)"
    )
    name: str = "stage_cultivation"
    budget_mcny_per_year: float = 400.0
    target_stages: list[str] = field(default_factory=lambda: ["gazelle", "unicorn"])  # unicorn: potential unicorns
    gazelle_grant_mcny: float = P(0.3, 'Grant per new gazelle (瞪羚计划).', 'mcny')
    potential_unicorn_valuation_mcny: float = P(350.0, 'Valuation from which a firm counts as a potential unicorn '
                                                       '(US$50M, the local 潜在独角兽 floor).', 'mcny')
    potential_unicorn_max_age_years: float = P(9.0, 'Potential unicorns are at most this old.', 'years')
    potential_unicorn_grant_mcny: float = P(1.0, 'Grant per potential unicorn.', 'mcny')
    screen_relief: float = P(0.3, "A place on the government's list lowers investors' screening bar by this "
                                  "much.", 'sd')
    support_years: float = P(2.0, 'Time on the list.', 'years')
    payment_lag_months: int = P(6, 'Grants are paid this long after enrolment, to firms still alive '
                                   '(补助周期冗长).', 'months')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "gazelle_grant_mcny", self.gazelle_grant_mcny, ge=0, unit="mcny")
        check_range(
            self.name, "potential_unicorn_valuation_mcny", self.potential_unicorn_valuation_mcny, gt=0, unit="mcny"
        )
        check_range(
            self.name,
            "potential_unicorn_max_age_years",
            self.potential_unicorn_max_age_years,
            gt=0,
            le=30,
            unit="years",
        )
        check_range(self.name, "potential_unicorn_grant_mcny", self.potential_unicorn_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "screen_relief", self.screen_relief, ge=0, le=5, unit="sd")
        check_range(self.name, "support_years", self.support_years, gt=0, le=10, unit="years")
        check_range(self.name, "payment_lag_months", self.payment_lag_months, ge=0, le=60, unit="months")
        if not self.target_stages or "startup" in self.target_stages:
            raise ConfigError(
                f"policy.{self.name}.target_stages={list(self.target_stages)} must list gazelle and/or unicorn "
                "(unicorn: the potential-unicorn programme)."
            )

    def __post_init__(self):
        super().__post_init__()
        self.enrolled = np.empty(0, dtype=np.int64)
        self.enrolled_step = np.empty(0, dtype=np.int64)  # step each enrolled firm joined the list
        self.queue_ids = np.empty(0, dtype=np.int64)
        self.queue_step = np.empty(0, dtype=np.int64)
        self.queue_amount = np.empty(0)
        self.paid = 0.0

    def eligible(self, model, rows=None):  # stages are this programme's own selection rule
        saved = self.target_stages
        self.target_stages = []
        try:
            return super().eligible(model, rows)
        finally:
            self.target_stages = saved

    def step(self, model, government) -> None:
        pop = model.population
        step = model.current_step
        if pop.n:
            ok = self.eligible(model)
            if self.enrolled.size:
                ok &= ~np.isin(pop["id"], self.enrolled)
            new_rows, amounts = [], []
            if "gazelle" in self.target_stages:
                r = np.flatnonzero(ok & pop["gazelle_flag"] & (pop["stage"] != UNICORN))
                new_rows.append(r)
                amounts.append(np.full(r.size, self.gazelle_grant_mcny))
                ok[r] = False
            if "unicorn" in self.target_stages:
                age = (step - pop["born"]) / 12.0
                r = np.flatnonzero(ok & (pop["valuation"] >= self.potential_unicorn_valuation_mcny)
                                   & (age <= self.potential_unicorn_max_age_years) & (pop["stage"] != UNICORN))
                new_rows.append(r)
                amounts.append(np.full(r.size, self.potential_unicorn_grant_mcny))
            rows = np.concatenate(new_rows)
            if rows.size:
                amt = np.concatenate(amounts)
                ids = pop["id"][rows]
                self.enrolled = np.concatenate([self.enrolled, ids])
                self.enrolled_step = np.concatenate([self.enrolled_step, np.full(rows.size, step, dtype=np.int64)])
                self.queue_ids = np.concatenate([self.queue_ids, ids])
                self.queue_step = np.concatenate(
                    [self.queue_step, np.full(rows.size, step + self.payment_lag_months, dtype=np.int64)]
                )
                self.queue_amount = np.concatenate([self.queue_amount, amt])
                self.support.add(model, rows, step + int(round(12 * self.support_years)), screen=-self.screen_relief)
                self.note_supported(model, rows)
        # pay grants whose lag has passed, to firms still alive, while the budget lasts
        due = np.flatnonzero(self.queue_step <= step)
        if due.size:
            rows = pop.row_of[self.queue_ids[due]]
            alive = rows >= 0
            drop = due[~alive]
            pay = due[alive]
            if pay.size:
                room = self.room(model, government)
                want = self.queue_amount[pay]
                order = np.argsort(self.queue_step[pay], kind="stable")
                fits = np.cumsum(want[order]) <= room + 1e-12
                pay_now = pay[order[fits]]
                if pay_now.size:
                    got = self.grant(model, government, pop.row_of[self.queue_ids[pay_now]], self.queue_amount[pay_now])
                    self.paid += float(got.sum())
                drop = np.concatenate([drop, pay[order[fits]]])
            keep = np.ones(self.queue_ids.size, dtype=bool)
            keep[drop] = False
            self.queue_ids, self.queue_step, self.queue_amount = (
                self.queue_ids[keep],
                self.queue_step[keep],
                self.queue_amount[keep],
            )

    def stats(self) -> dict:
        return {"firms_supported": int(self.enrolled.size), "granted_mcny": self.paid,
                "grants_unpaid_mcny": float(self.queue_amount.sum())}


# --------------------------------------------------------------------------------------------
# 14. Entry subsidies and easier registration
# --------------------------------------------------------------------------------------------


def expected_births_per_year(model, origins) -> float:
    """Births a year of the founding channels ``origins`` at the preset's cost of founding, at scale 1."""
    fcfg = model.cfg.ecosystem.firms
    shares = {"independent": max(1.0 - fcfg.alumni_share - fcfg.spinoff_share, 0.0),
              "spinoff": fcfg.spinoff_share, "alumni": fcfg.alumni_share}
    return fcfg.births_per_year * sum(shares[o] for o in origins)


@dataclass
class EntrySubsidy(Policy):
    """Entry subsidies and easier registration (一室多照, 工位注册制): new firms get a small
    subsidy (registration, first rent) and registering costs less, so the cost of founding falls
    and more potential founders found (their entry decision, :func:`agents.firms.founding.
    entry_probability`; how strongly they respond is the ASSUMED ``ecosystem.firms.
    entry_cost_elasticity``)."""

    kind: ClassVar[str] = "entry_subsidy"
    target: ClassVar[str] = "independent firm births (timeseries births_independent)"
    source: ClassVar[str] = (
        "M2 鼓励创业是培育新赛道的起点 (seeds/000_7c3d64ef66a46d97.txt:624-626); 一室多照, 工位注册制 "
        "(seeds/004_04d71fc19d7d077d.txt:1645-1659); student registration fees subsidised (:1673-1677)"
    )
    name: str = "entry_subsidy"
    budget_mcny_per_year: float = 1000.0
    target_origins: list[str] = field(default_factory=lambda: ["independent"])
    subsidy_mcny: float = P(0.02, 'Subsidy per new firm (registration, first rent).', 'mcny')
    capacity_per_year: float = P(50_000.0, 'Subsidised new firms per year (first come).', 'firms/yr at scale 1')
    registration_cost_cut_mcny: float = P(
        0.01, "Cut of the cost of founding from easier registration (一室多照, 工位注册制: no office lease needed to "
              "register); no public cost (ASSUMED).", 'mcny'
    )

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "subsidy_mcny", self.subsidy_mcny, ge=0, unit="mcny")
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "registration_cost_cut_mcny", self.registration_cost_cut_mcny, ge=0, unit="mcny")

    def __post_init__(self):
        super().__post_init__()
        self.subsidised = 0

    def step(self, model, government) -> None:
        m = model
        origins = self.target_origins or list(ORIGINS)
        expected = expected_births_per_year(m, origins)
        coverage = min(1.0, self.capacity_per_year / expected) if expected > 0 else 0.0
        # founders count on the subsidy they can expect and on the cheaper registration
        for o in origins:
            self.levers.set(m, "founding_cost_cut", coverage * self.subsidy_mcny + self.registration_cost_cut_mcny, o)
        k = self.monthly_slots(m, self.capacity_per_year)
        if k > 0 and self.subsidy_mcny > 0:
            rows = self.new_firms(m)
            rows = self.random_order(m, rows[self.eligible(m, rows)])[:k]
            got = self.grant(m, government, rows, self.subsidy_mcny)
            self.subsidised += int((got > 0).sum())
            self.note_supported(m, rows[got > 0])

    def stats(self) -> dict:
        return {"firms_subsidised": self.subsidised}


# --------------------------------------------------------------------------------------------
# 17. The incubation chain: maker space -> incubator -> accelerator
# --------------------------------------------------------------------------------------------

_MAKER, _INCUBATOR, _ACCELERATOR = range(3)
_STAGES = ("maker_space", "incubator", "accelerator")


@dataclass
class IncubatorChain(Policy):
    """The incubation chain 众创空间-孵化器-加速器: maker spaces give new founding teams a desk (a lower
    cost of founding and closure hazard); teams with traction at the end of their year graduate into
    incubators, which admit the best they see (services: a lower closure hazard, mentoring); incubator
    firms that grow graduate into accelerators, which admit the best they see (growth support and
    investors' attention). The public money pays the operators for each firm-year of each stage."""

    kind: ClassVar[str] = "incubator_chain"
    target: ClassVar[str] = "survival of the firms in the chain (against the same firms without the programme)"
    source: ClassVar[str] = (
        "Shenzhen: 131 incubators (30 national), 228 众创空间 (91 national), the chain 众创空间-孵化器-加速器 "
        "(seeds/004_04d71fc19d7d077d.txt:542-550); the biomedical maker space trained > 200 teams (:552-554); "
        "Guangzhou 369 incubators, 255 maker spaces (seeds/002_a935e4fe392ee53f.txt:3368-3370); 中关村 22 hard-tech "
        "incubators (:211-215)"
    )
    name: str = "incubator_chain"
    budget_mcny_per_year: float = 800.0
    target_origins: list[str] = field(default_factory=lambda: ["independent", "spinoff"])
    maker_spaces: float = P(228.0, "Maker spaces (Shenzhen's 228).", 'spaces at scale 1')
    teams_per_maker_space: float = P(20.0, "New teams a maker space takes in per year (ASSUMED).", 'teams/yr')
    maker_space_months: int = P(12, "Time a team keeps its desk.", 'months')
    desk_cost_mcny_per_year: float = P(0.02, "Public cost of a desk (工位) for a year; what a team saves on its cost "
                                             "of founding (ASSUMED: about 1,700 CNY a month).", 'mcny/yr')
    maker_closure_relief: float = P(0.2, "Closure hazard times (1 - relief) at the maker space (ASSUMED).", 'share')
    graduation_revenue_mcny: float = P(0.5, "A team graduates into an incubator with this revenue run rate, or an "
                                            "equity round raised.", 'mcny/yr')
    incubators: float = P(131.0, "Incubators (Shenzhen's 131 at municipal level or above).", 'incubators at scale 1')
    firms_per_incubator: float = P(10.0, "Firms an incubator admits per year (ASSUMED).", 'firms/yr')
    incubation_years: float = P(2.0, "Time in the incubator.", 'years')
    incubator_cost_mcny_per_year: float = P(0.2, "Public cost of a firm-year in an incubator (ASSUMED).", 'mcny/yr')
    incubator_closure_relief: float = P(0.5, "Closure hazard times (1 - relief) in the incubator (ASSUMED, as the "
                                             "state incubator).", 'share')
    incubator_growth_support: float = P(0.1, "Extra log revenue growth in the incubator (ASSUMED).", '1/yr')
    acceleration_revenue_mcny: float = P(5.0, "A firm graduates into an accelerator with this revenue run rate.",
                                         'mcny/yr')
    accelerators: float = P(30.0, "Accelerators (one per national incubator: Shenzhen's 30).",
                            'accelerators at scale 1')
    firms_per_accelerator: float = P(10.0, "Firms an accelerator admits per year (ASSUMED).", 'firms/yr')
    accelerator_months: int = P(12, "Time in the accelerator.", 'months')
    accelerator_cost_mcny_per_year: float = P(0.5, "Public cost of a firm-year in an accelerator (ASSUMED).",
                                              'mcny/yr')
    accelerator_growth_support: float = P(0.2, "Extra log revenue growth in the accelerator (ASSUMED).", '1/yr')
    accelerator_screen_relief: float = P(0.3, "Investors' screening bar is this much lower for accelerator firms "
                                              "(demo days; ASSUMED).", 'sd')
    selection_noise: float = P(1.0, "Error of an incubator's or accelerator's view of an applicant's quality.", 'sd')

    def validate(self) -> None:
        super().validate()
        for key in ("maker_spaces", "teams_per_maker_space", "incubators", "firms_per_incubator", "accelerators",
                    "firms_per_accelerator", "desk_cost_mcny_per_year", "graduation_revenue_mcny",
                    "incubator_cost_mcny_per_year", "acceleration_revenue_mcny", "accelerator_cost_mcny_per_year"):
            check_range(self.name, key, getattr(self, key), ge=0)
        for key in ("maker_closure_relief", "incubator_closure_relief"):
            check_range(self.name, key, getattr(self, key), ge=0, lt=1, unit="share")
        for key in ("incubator_growth_support", "accelerator_growth_support"):
            check_range(self.name, key, getattr(self, key), ge=0, le=2, unit="1/yr")
        check_range(self.name, "maker_space_months", self.maker_space_months, ge=1, le=120, unit="months")
        check_range(self.name, "accelerator_months", self.accelerator_months, ge=1, le=120, unit="months")
        check_range(self.name, "incubation_years", self.incubation_years, gt=0, le=10, unit="years")
        check_range(self.name, "accelerator_screen_relief", self.accelerator_screen_relief, ge=0, le=5, unit="sd")
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")

    def __post_init__(self):
        super().__post_init__()
        self.ids = np.empty(0, dtype=np.int64)  # firms in the chain, each in its current stage
        self.stage = np.empty(0, dtype=np.int8)
        self.since = np.empty(0, dtype=np.int64)
        self.admitted = [0, 0, 0]  # firms admitted to each stage

    def _terms(self) -> np.ndarray:
        months = np.array([self.maker_space_months, round(12 * self.incubation_years), self.accelerator_months])
        return months[self.stage]

    def step(self, model, government) -> None:
        m = model
        independents = expected_births_per_year(m, ["independent"])
        capacity = self.maker_spaces * self.teams_per_maker_space
        coverage = min(1.0, capacity / independents) if independents > 0 else 0.0
        self.levers.set(m, "founding_cost_cut", coverage * self.desk_cost_mcny_per_year
                        * self.maker_space_months / 12.0, "independent")
        ending = self._end_terms(m)
        self._admit(m, _ACCELERATOR, ending.get(_INCUBATOR, np.empty(0, dtype=np.int64)))
        self._admit(m, _INCUBATOR, ending.get(_MAKER, np.empty(0, dtype=np.int64)))
        rows = self.new_firms(m)
        self._admit(m, _MAKER, self.random_order(m, rows[self.eligible(m, rows)]))
        self._pay(m, government)

    def _end_terms(self, m) -> dict[int, np.ndarray]:
        """Firms whose stage ends this month leave the chain: the live rows of those that may
        graduate, by stage (traction after the maker space, growth after the incubator)."""
        if self.ids.size == 0:
            return {}
        pop = m.population
        rows = pop.row_of[self.ids]
        done = (rows < 0) | (m.current_step - self.since >= self._terms())
        out = {}
        for stage, ok in ((_MAKER, self.graduation_revenue_mcny), (_INCUBATOR, self.acceleration_revenue_mcny)):
            r = rows[done & (self.stage == stage) & (rows >= 0)]
            traction = pop["revenue"][r] >= ok
            if stage == _MAKER:
                traction |= pop["rounds"][r] > 0
            out[stage] = r[traction]
        keep = ~done
        self.ids, self.stage, self.since = self.ids[keep], self.stage[keep], self.since[keep]
        return out

    def _admit(self, m, stage: int, rows: np.ndarray) -> None:
        per_year = (self.maker_spaces * self.teams_per_maker_space, self.incubators * self.firms_per_incubator,
                    self.accelerators * self.firms_per_accelerator)[stage]
        # each stage's places sampled like every capacity (Policy.monthly_slots); a place that found no
        # firm this month goes to the next draw (Policy.unfilled), so thin samples do not lose places
        key = _STAGES[stage]
        k = self.monthly_slots(m, per_year, key) if self.room(m, m.government) > 0 else 0
        rows = rows[:k] if stage == _MAKER else self.select_best(m, rows, k, self.selection_noise)
        self.unfilled(k - rows.size, key)
        if rows.size == 0:
            return
        step = m.current_step
        months = (self.maker_space_months, round(12 * self.incubation_years), self.accelerator_months)[stage]
        support = (
            {"closure": 1.0 - self.maker_closure_relief},
            {"closure": 1.0 - self.incubator_closure_relief, "growth": self.incubator_growth_support},
            {"growth": self.accelerator_growth_support, "screen": -self.accelerator_screen_relief},
        )[stage]
        self.support.add(m, rows, step + months, **support)
        pop = m.population
        self.ids = np.concatenate([self.ids, pop["id"][rows]])
        self.stage = np.concatenate([self.stage, np.full(rows.size, stage, dtype=np.int8)])
        self.since = np.concatenate([self.since, np.full(rows.size, step, dtype=np.int64)])
        self.admitted[stage] += int(rows.size)
        if stage == _MAKER:
            self.note_supported(m, rows)

    def _pay(self, m, government) -> None:
        """The operators' monthly payment for the firm-years of each stage."""
        if self.ids.size == 0:
            return
        cost = np.array([self.desk_cost_mcny_per_year, self.incubator_cost_mcny_per_year,
                         self.accelerator_cost_mcny_per_year])
        self.spend(m, government, float(cost[self.stage].sum()) * DT)

    def stats(self) -> dict:
        return {"firms_supported": self.admitted[_MAKER], **{f"admitted_{s}": self.admitted[i]
                                                             for i, s in enumerate(_STAGES)}}


# --------------------------------------------------------------------------------------------
# R&D super-deduction (研发费用加计扣除)
# --------------------------------------------------------------------------------------------


def rd_user_cost(tax_rate: float, extra_deduction: float) -> float:
    """After-tax cost of one unit of R&D for a firm with taxable profit: the spending is
    deducted, and ``extra_deduction`` of it again (研发费用加计扣除), at ``tax_rate``."""
    return 1.0 - tax_rate * (1.0 + extra_deduction)


def rd_tax_relief(rd: np.ndarray, taxable: np.ndarray, tax_rate: float, base_rate: float, rate: float) -> np.ndarray:
    """Tax a firm saves in a month from raising the extra deduction from ``base_rate`` to ``rate``:
    ``tax_rate * min((rate - base_rate) * rd, taxable profit left after the base deduction)``; no
    relief without taxable profit (no refund, losses not carried forward)."""
    left = np.maximum(taxable - base_rate * rd, 0.0)
    return tax_rate * np.minimum((rate - base_rate) * rd, left)


@dataclass
class RDTaxCredit(Policy):
    """R&D super-deduction (研发费用加计扣除): firms deduct ``deduction_rate`` of their R&D
    spending on top of the spending itself, more than under the preset's regime
    (``ecosystem.rd.deduction_rate``). For a firm with taxable profit the after-tax user cost of
    R&D falls, and its R&D staff share rises with the user-cost elasticity
    (``ecosystem.rd.user_cost_elasticity``); the tax it saves is paid into its cash each month and
    booked as the policy's spending (the tax expenditure). Loss-making firms get nothing: the
    model has no refund and does not carry losses forward.

    The tax expenditure is bounded by the policy's yearly budget (and the government's): when
    the claims of a month exceed what is left, every firm's relief is cut in the same proportion,
    and once the year's budget is spent no relief is paid until January. Firms respond to the
    relief they get, not to the statutory rate: the user-cost lever follows the effective extra
    deduction ``base + (deduction_rate - base) * paid / claimed`` of the month
    (:meth:`effective_rate`). No source gives the super-deduction's tax expenditure in the park,
    so the default budget is a budget, not an estimate of the statutory cost: at full scale the
    claims run above it and the policy acts in the first months of each year only (its stats
    report the relief claimed and paid)."""

    kind: ClassVar[str] = "rd_tax_credit"
    target: ClassVar[str] = "R&D spending of the firms (timeseries rd_spending)"
    source: ClassVar[str] = (
        "扩大…研发费用加计扣除…等政策的适用范围 (seeds/001_52e3b34853073898.txt:49); 税收优惠试点政策 "
        "(seeds/004_04d71fc19d7d077d.txt:1424); rates EXTERNAL: 75 % from 2018, 100 % for manufacturing from 2021 "
        "and for all firms from 2023 (财政部 税务总局公告 2023年第7号)"
    )
    name: str = "rd_tax_credit"
    budget_mcny_per_year: float = 1000.0
    deduction_rate: float = P(1.0, "Extra deduction of R&D spending under the policy, on top of deducting the "
                                   "spending itself (1.0: 100 %, a total deduction of 200 %).", 'share')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "deduction_rate", self.deduction_rate, ge=0, le=1.5, unit="share")

    def __post_init__(self):
        super().__post_init__()
        self.relief_paid = 0.0
        self.claimed = 0.0  # relief the firms claimed (what the statutory rate gives), mcny
        self.qualifying_rd = 0.0
        self.covered = 1.0  # share of this month's claimed relief the budget paid

    def step(self, model, government) -> None:
        r = model.cfg.ecosystem.rd
        # last month's R&D of the firms with taxable profit: the tax they save is paid now
        pop = model.population
        rows = np.flatnonzero((pop["rd_last"] > 0.0) & (pop["taxable"] > 0.0))
        rows = rows[self.eligible(model, rows)]
        relief = np.empty(0)
        if rows.size:
            relief = rd_tax_relief(pop["rd_last"][rows], pop["taxable"][rows], r.tax_rate, r.deduction_rate,
                                   self.deduction_rate)
        claimed = float(relief.sum())
        if claimed > 0:
            paid = relief > 0.0
            got = self.grant(model, government, rows[paid], relief[paid])
            self.relief_paid += float(got.sum())
            self.claimed += claimed
            self.qualifying_rd += float(pop["rd_last"][rows[paid]].sum())
            self.covered = float(got.sum()) / claimed
        else:
            self.covered = 1.0 if self.room(model, government) > 0 else 0.0
        # firms respond to the relief they get: the effective extra deduction this month
        factor = rd_user_cost(r.tax_rate, self.effective_rate(model)) / rd_user_cost(r.tax_rate, r.deduction_rate)
        mask = self.target_track_mask(model)
        self.levers.set_track(model, "rd_user_cost", np.where(mask, factor, 1.0))

    def effective_rate(self, model) -> float:
        """The extra deduction firms actually get: the preset's rate plus the policy's increase
        times the share of the claimed relief paid this month (1 within the budget, less when the
        year's budget is running out and relief is cut pro rata, 0 once it is spent)."""
        base = model.cfg.ecosystem.rd.deduction_rate
        return base + (self.deduction_rate - base) * self.covered

    def stats(self) -> dict:
        return {"relief_paid_mcny": self.relief_paid, "relief_claimed_mcny": self.claimed,
                "qualifying_rd_mcny": self.qualifying_rd}

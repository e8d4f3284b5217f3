"""Policies on firms: a state incubator (孵化+资助), matched R&D grants, proof-of-concept and pilot
bases (概念验证, 中试), stage-targeted cultivation of gazelles and unicorns, and entry subsidies.

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from agents.firms.rules import wage_bill
from sim.config import P
from sim.core.clock import DT
from sim.core.errors import ConfigError
from sim.core.vocabulary import ORIGINS, UNICORN
from sim.policies.base import Policy, check_range

__all__ = ["StateIncubator", "RDGrants", "ProofOfConcept", "StageCultivation", "EntrySubsidy"]


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
    spending, up to a cap per firm, for a limited time."""

    kind: ClassVar[str] = "rd_grants"
    target: ClassVar[str] = "jobs in the granted firms (against the same firms without the programme)"
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
    rd_share_of_wages: float = P(0.5, 'R&D spending as a share of the wage bill (assumed; the model has no R&D '
                                      'account).', 'share')
    min_employees: float = P(3.0, 'Applicants need at least this headcount.', 'employees')
    min_tech_intensity: float = P(0.5, 'Only firms in tracks at least this research-intensive apply.', '0-1')
    selection_noise: float = P(0.8, "Error of the programme's view of an applicant's quality.", 'sd')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "grant_share", self.grant_share, gt=0, le=1, unit="share")
        check_range(self.name, "cap_mcny", self.cap_mcny, ge=0, unit="mcny")
        check_range(self.name, "duration_years", self.duration_years, gt=0, le=10, unit="years")
        check_range(self.name, "rd_share_of_wages", self.rd_share_of_wages, gt=0, le=1, unit="share")
        check_range(self.name, "min_employees", self.min_employees, ge=0, unit="employees")
        check_range(self.name, "min_tech_intensity", self.min_tech_intensity, ge=0, le=1)
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")

    def __post_init__(self):
        super().__post_init__()
        self.ids = np.empty(0, dtype=np.int64)
        self.started = np.empty(0, dtype=np.int64)
        self.paid = np.empty(0)

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
            )
            rows = np.flatnonzero(ok)
            if self.ids.size:
                rows = rows[~np.isin(pop["id"][rows], self.ids)]
            rows = self.select_best(model, rows, k, self.selection_noise)
            if rows.size:
                self.ids = np.concatenate([self.ids, pop["id"][rows]])
                self.started = np.concatenate([self.started, np.full(rows.size, step, dtype=np.int64)])
                self.paid = np.concatenate([self.paid, np.zeros(rows.size)])
                self.note_supported(model, rows)
        if self.ids.size == 0:
            return
        rows = pop.row_of[self.ids]
        on = (rows >= 0) & (step - self.started < 12 * self.duration_years) & (self.paid < self.cap_mcny)
        j = np.flatnonzero(on)
        if j.size == 0:
            return
        r = rows[j]
        rd = self.rd_share_of_wages * wage_bill(pop["employees"][r], model.cfg.ecosystem.firms) * DT
        want = np.minimum(self.grant_share * rd, self.cap_mcny - self.paid[j])
        got = self.grant(model, government, r, want)
        self.paid[j] += got

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


@dataclass
class EntrySubsidy(Policy):
    """Entry subsidies and easier registration (一室多照, 工位注册制): new firms get a small
    subsidy (registration, first rent), and founding becomes easier."""

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
    entry_response: float = P(0.1, 'Births rise by this share when every new firm is subsidised (times the share '
                                   'covered; assumed).', 'share')
    registration_boost: float = P(
        0.05,
        "Births rise by this share from easier registration (一室多照, 工位注册制); no public cost (assumed).",
        "share",
    )

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "subsidy_mcny", self.subsidy_mcny, ge=0, unit="mcny")
        check_range(self.name, "capacity_per_year", self.capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "entry_response", self.entry_response, ge=0, le=5, unit="share")
        check_range(self.name, "registration_boost", self.registration_boost, ge=0, le=5, unit="share")

    def __post_init__(self):
        super().__post_init__()
        self.subsidised = 0

    def step(self, model, government) -> None:
        m = model
        fcfg = m.cfg.ecosystem.firms
        origins = self.target_origins or list(ORIGINS)
        shares = {
            "independent": 1.0 - fcfg.alumni_share - fcfg.spinoff_share,
            "spinoff": fcfg.spinoff_share,
            "alumni": fcfg.alumni_share,
        }
        expected = fcfg.births_per_year * sum(shares[o] for o in origins)
        coverage = min(1.0, self.capacity_per_year / expected) if expected > 0 else 0.0
        factor = (1.0 + self.entry_response * coverage) * (1.0 + self.registration_boost)
        for o in origins:
            self.levers.set(m, "births_multiplier", factor, o)
        k = self.monthly_slots(m, self.capacity_per_year)
        if k > 0 and self.subsidy_mcny > 0:
            rows = self.new_firms(m)
            rows = self.random_order(m, rows[self.eligible(m, rows)])[:k]
            got = self.grant(m, government, rows, self.subsidy_mcny)
            self.subsidised += int((got > 0).sum())
            self.note_supported(m, rows[got > 0])

    def stats(self) -> dict:
        return {"firms_subsidised": self.subsidised}

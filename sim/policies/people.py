"""Policies on people: talent programmes (returnee founders, Hangzhou 5050; student founders) and
the technology-transfer and researcher-evaluation reform (more research spin-offs).

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.config import P
from sim.core.clock import DT, STEP_OFFSET
from sim.core.rng import birth_keys, name_key
from sim.core.vocabulary import INDEPENDENT, SPINOFF
from sim.policies.base import Policy, check_range, positive_factor
from sim.policies.instruments import SLOT_STUDENT, SLOT_TRACK

__all__ = ["TalentProgramme", "TechTransferReform"]


# --------------------------------------------------------------------------------------------
# 9. Talent programmes (Hangzhou 5050, student founders)
# --------------------------------------------------------------------------------------------


@dataclass
class TalentProgramme(Policy):
    """Talent programmes: returnee high-tech founders recruited with startup funding and rent
    support (Hangzhou 5050), and student founders drawn by subsidised registration and rent."""

    kind: ClassVar[str] = "talent_programme"
    target: ClassVar[str] = "firm births (timeseries births)"
    source: ClassVar[str] = (
        "杭州 5050计划: up to 500万元 startup funding, rent for <= 500 m2, loan interest "
        "(seeds/004_04d71fc19d7d077d.txt:1667-1673); "
        "student founders: fees subsidised, <= 50 m2 rent-free for 2 years (:1673-1677)"
    )
    name: str = "talent_programme"
    budget_mcny_per_year: float = 700.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "数字", "产业"])  # returnees' tracks
    returnee_firms_per_year: float = P(60.0, 'Returnee high-tech founders recruited per year (new firms of their '
                                             'own).', 'firms/yr at scale 1')
    returnee_grant_mcny: float = P(5.0, 'Startup funding per returnee firm (the 5050 ceiling of 500万元).', 'mcny')
    returnee_rent_mcny_per_year: float = P(0.3, 'Rent support of a returnee firm (up to 500 m2; assumed 50 '
                                                'CNY/m2/month).', 'mcny/yr')
    returnee_support_years: float = P(2.0, 'Years of rent support.', 'years')
    returnee_quality_shift: float = P(0.5, 'Mean quality of returnee teams above independent founders (assumed).', 'sd')
    student_share: float = P(0.1, 'Share of independent founders who are students.', 'share')
    student_entry_response: float = P(0.2, 'Founding by students rises by this share with the subsidies '
                                           '(assumed).', 'share')
    student_subsidy_mcny: float = P(0.03, 'Per student firm: registration fees and 50 m2 rent-free for 2 years (paid '
                                          'at founding).', 'mcny')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "returnee_firms_per_year", self.returnee_firms_per_year, ge=0, unit="firms/yr at scale "
                                                                                                   "1")
        check_range(self.name, "returnee_grant_mcny", self.returnee_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "returnee_rent_mcny_per_year", self.returnee_rent_mcny_per_year, ge=0, unit="mcny/yr")
        check_range(self.name, "returnee_support_years", self.returnee_support_years, ge=0, le=10, unit="years")
        check_range(self.name, "returnee_quality_shift", self.returnee_quality_shift, ge=-3, le=3, unit="sd")
        check_range(self.name, "student_share", self.student_share, ge=0, le=1, unit="share")
        check_range(self.name, "student_entry_response", self.student_entry_response, ge=0, le=5, unit="share")
        check_range(self.name, "student_subsidy_mcny", self.student_subsidy_mcny, ge=0, unit="mcny")

    def __post_init__(self):
        super().__post_init__()
        self.returnee_ids = np.empty(0, dtype=np.int64)
        self.returnee_since = np.empty(0, dtype=np.int64)
        self.student_firms = 0

    @property
    def channel(self) -> int:
        """Founding channel of the returnee firms' birth keys (the model uses 0-2)."""
        return 16 + name_key(self.name) % 224

    def step(self, model, government) -> None:
        m = model
        pop = m.population
        step = m.current_step
        self.levers.set(m, "births_multiplier", 1.0 + self.student_share * self.student_entry_response, "independent")
        # student founders among last month's independent firms get the subsidy
        if self.student_share > 0 and self.student_subsidy_mcny > 0:
            rows = self.new_firms(m)
            # independent founders of the model's own founding channel (not this programme's returnees)
            rows = rows[
                (pop["origin"][rows] == INDEPENDENT) & ((pop["key"][rows] >> np.uint64(24)) & np.uint64(0xFF) == 0)
            ]
            u = self.draws(m).uniform(pop["key"][rows], step, SLOT_STUDENT)
            rows = rows[u < self.student_share]
            got = self.grant(m, government, rows, self.student_subsidy_mcny)
            self.student_firms += int((got > 0).sum())
            self.note_supported(m, rows[got > 0])
        # returnee founders: new firms of their own founding channel
        k = self.monthly_slots(m, self.returnee_firms_per_year)
        if k > 0 and self.room(m, government) >= k * self.returnee_grant_mcny:
            rows = self._found(m, k)
            self.grant(m, government, rows, self.returnee_grant_mcny)
            self.note_supported(m, rows)
            self.returnee_ids = np.concatenate([self.returnee_ids, pop["id"][rows]])
            self.returnee_since = np.concatenate([self.returnee_since, np.full(rows.size, step, dtype=np.int64)])
        # rent support of the returnee firms
        if self.returnee_ids.size and self.returnee_rent_mcny_per_year > 0:
            rows = pop.row_of[self.returnee_ids]
            on = (rows >= 0) & (step - self.returnee_since < 12 * self.returnee_support_years)
            if on.any():
                self.grant(m, government, rows[on], self.returnee_rent_mcny_per_year * DT)

    def _found(self, m, n: int) -> np.ndarray:
        """``n`` returnee firms (independent founders of this programme's own founding channel)
        in the targeted tracks, by market and heat; their teams are ``returnee_quality_shift``
        better. Born through the one birth path (:meth:`agents.firms.founding.Founding.found`);
        returns their live rows."""
        step = m.current_step
        tr = m.tracks
        w = np.where(self.target_track_mask(m), np.sqrt(tr["market"]) * np.maximum(tr["heat"], 1e-6), 0.0)
        if w.sum() <= 0:
            return np.empty(0, dtype=np.int64)
        keys = birth_keys(step + STEP_OFFSET, self.channel, n, start_rank=0)
        return m.founding.found(keys, INDEPENDENT, self.draws(m).uniform(keys, step, SLOT_TRACK), w,
                                quality_shift=self.returnee_quality_shift)

    def stats(self) -> dict:
        return {"returnee_firms": int(self.returnee_ids.size), "student_firms_subsidised": self.student_firms}


# --------------------------------------------------------------------------------------------
# 10. Technology transfer and researcher evaluation reform
# --------------------------------------------------------------------------------------------


@dataclass
class TechTransferReform(Policy):
    """Technology-transfer and researcher-evaluation reform: researchers no longer lose rank
    for founding firms and keep equity in their results, so more spin-offs are founded; a
    technology-transfer service supports each new spin-off."""

    kind: ClassVar[str] = "tech_transfer_reform"
    target: ClassVar[str] = "spin-off births (timeseries births_spinoff)"
    source: ClassVar[str] = (
        "researchers who found firms lose honours and promotion (seeds/001_52e3b34853073898.txt:31); "
        "黄金十二条 equity income tax in instalments (seeds/004_04d71fc19d7d077d.txt:1645-1659); tech-transfer brokers "
        "(:527-531)"
    )
    name: str = "tech_transfer_reform"
    budget_mcny_per_year: float = 300.0
    spinoff_multiplier: float = P(1.5, 'Spin-off births, times this (researchers keep rank and equity when they found '
                                       'firms).', 'x')
    transfer_grant_mcny: float = P(0.05, 'Technology-transfer services per new spin-off (brokers, licensing).', 'mcny')

    def validate(self) -> None:
        super().validate()
        positive_factor(self, "spinoff_multiplier", self.spinoff_multiplier)
        check_range(self.name, "transfer_grant_mcny", self.transfer_grant_mcny, ge=0, unit="mcny")

    def step(self, model, government) -> None:
        self.levers.set(model, "births_multiplier", self.spinoff_multiplier, "spinoff")
        if self.transfer_grant_mcny > 0:
            pop = model.population
            rows = self.new_firms(model)
            rows = rows[pop["origin"][rows] == SPINOFF]
            rows = rows[self.eligible(model, rows)]
            got = self.grant(model, government, rows, self.transfer_grant_mcny)
            self.note_supported(model, rows[got > 0])

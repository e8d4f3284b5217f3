"""Policies on people: talent programmes (returnee founders, Hangzhou 5050; student founders).

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from agents.firms.founding import RETURNEE_CHANNEL
from sim.config import P
from sim.core.clock import DT
from sim.core.vocabulary import INDEPENDENT
from sim.policies.base import Policy, check_range
from sim.policies.instruments import SLOT_STUDENT

__all__ = ["TalentProgramme", "channel_of"]


def channel_of(keys: np.ndarray) -> np.ndarray:
    """The founding channel packed into birth keys (:func:`sim.core.rng.birth_keys`)."""
    return ((np.asarray(keys, dtype=np.uint64) >> np.uint64(24)) & np.uint64(0xFF)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# 9. Talent programmes (Hangzhou 5050, student founders)
# --------------------------------------------------------------------------------------------


@dataclass
class TalentProgramme(Policy):
    """Talent programmes: returnee high-tech founders (海归) get startup funding and rent support
    (Hangzhou 5050), student founders get their registration fees and rent paid. The rent and fees
    cut the cost of founding, so more returnees and students found (their entry decision); the
    startup funding is the supported returnees' cash. Returnee teams are better than the average
    founder (``ecosystem.firms.quality_shift_returnee``), so founders' quality rises with their
    share; every founder is born through the one founding path."""

    kind: ClassVar[str] = "talent_programme"
    target: ClassVar[str] = (
        "returnee and student founders (their births) and the supported returnees' survival (against the same "
        "firms without the programme)"
    )
    source: ClassVar[str] = (
        "杭州 5050计划: up to 500万元 startup funding, rent for <= 500 m2, loan interest "
        "(seeds/004_04d71fc19d7d077d.txt:1667-1673); "
        "student founders: fees subsidised, <= 50 m2 rent-free for 2 years (:1673-1677); 海归系 one of Hangzhou's four "
        "founder groups (:1683-1687); talent shortage (seeds/001_52e3b34853073898.txt:30)"
    )
    name: str = "talent_programme"
    budget_mcny_per_year: float = 700.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "数字", "产业"])  # returnees' tracks
    returnee_firms_per_year: float = P(60.0, "Returnee founders the programme supports per year: the best it sees "
                                             "among last month's returnee founders in its target directions.",
                                       'firms/yr at scale 1')
    returnee_grant_mcny: float = P(5.0, "Startup funding per supported returnee firm (the 5050 ceiling of 500万元), "
                                        "paid into its cash.", 'mcny')
    returnee_rent_mcny_per_year: float = P(0.3, "Rent support of a returnee firm (up to 500 m2; assumed 50 "
                                                "CNY/m2/month): a cost of founding.", 'mcny/yr')
    returnee_support_years: float = P(2.0, 'Years of rent support.', 'years')
    selection_noise: float = P(1.0, "Error of the programme's view of a returnee team's quality.", 'sd')
    student_share: float = P(0.1, 'Share of independent founders who are students.', 'share')
    student_subsidy_mcny: float = P(0.03, 'Per student firm: registration fees and 50 m2 rent-free for 2 years (paid '
                                          'at founding): a cost of founding.', 'mcny')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "returnee_firms_per_year", self.returnee_firms_per_year, ge=0,
                    unit="firms/yr at scale 1")
        check_range(self.name, "returnee_grant_mcny", self.returnee_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "returnee_rent_mcny_per_year", self.returnee_rent_mcny_per_year, ge=0, unit="mcny/yr")
        check_range(self.name, "returnee_support_years", self.returnee_support_years, ge=0, le=10, unit="years")
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")
        check_range(self.name, "student_share", self.student_share, ge=0, le=1, unit="share")
        check_range(self.name, "student_subsidy_mcny", self.student_subsidy_mcny, ge=0, unit="mcny")

    def __post_init__(self):
        super().__post_init__()
        self.returnee_ids = np.empty(0, dtype=np.int64)
        self.returnee_since = np.empty(0, dtype=np.int64)
        self.student_firms = 0

    def step(self, model, government) -> None:
        m = model
        # founders count on the support they can expect: students on theirs, returnees on the rent
        # (the startup funding is the firm's cash, not a cost of founding)
        self.levers.set(m, "founding_cost_cut", self.student_share * self.student_subsidy_mcny, "independent")
        self.levers.set(m, "returnee_cost_cut", self._returnee_coverage(m) * self.returnee_rent_mcny_per_year
                        * self.returnee_support_years)
        rows = self.new_firms(m)
        pop = m.population
        own = pop["origin"][rows] == INDEPENDENT
        self._support_students(m, government, rows[own & (channel_of(pop["key"][rows]) == INDEPENDENT)])
        self._support_returnees(m, government, rows[own & (channel_of(pop["key"][rows]) == RETURNEE_CHANNEL)])

    def _returnee_coverage(self, m) -> float:
        """Share of returnee founders in the target directions the programme can support."""
        fcfg = m.cfg.ecosystem.firms
        per_year = fcfg.births_per_year * max(1.0 - fcfg.alumni_share - fcfg.spinoff_share, 0.0) * fcfg.returnee_share
        tr = m.tracks
        w = np.where(tr["active"], np.sqrt(tr["market"]), 0.0)
        share = w[self.target_track_mask(m)].sum() / w.sum() if w.sum() > 0 else 0.0
        expected = per_year * share
        return min(1.0, self.returnee_firms_per_year / expected) if expected > 0 else 0.0

    def _support_students(self, m, government, rows) -> None:
        """Student founders among last month's independent founders get their fees and rent paid."""
        if self.student_share <= 0 or self.student_subsidy_mcny <= 0 or rows.size == 0:
            return
        u = self.draws(m).uniform(m.population["key"][rows], m.current_step, SLOT_STUDENT)
        rows = rows[u < self.student_share]
        got = self.grant(m, government, rows, self.student_subsidy_mcny)
        self.student_firms += int((got > 0).sum())
        self.note_supported(m, rows[got > 0])

    def _support_returnees(self, m, government, rows) -> None:
        """The best-looking of last month's returnee founders in the target directions get the
        startup funding (as long as the budget lasts) and rent support."""
        pop = m.population
        step = m.current_step
        k = self.monthly_slots(m, self.returnee_firms_per_year)
        rows = self.select_best(m, rows[self.eligible(m, rows)], k, self.selection_noise)
        if rows.size and self.room(m, government) >= rows.size * self.returnee_grant_mcny:
            self.grant(m, government, rows, self.returnee_grant_mcny)
            self.note_supported(m, rows)
            self.returnee_ids = np.concatenate([self.returnee_ids, pop["id"][rows]])
            self.returnee_since = np.concatenate([self.returnee_since, np.full(rows.size, step, dtype=np.int64)])
        if self.returnee_ids.size and self.returnee_rent_mcny_per_year > 0:
            live = pop.row_of[self.returnee_ids]
            on = (live >= 0) & (step - self.returnee_since < 12 * self.returnee_support_years)
            if on.any():
                self.grant(m, government, live[on], self.returnee_rent_mcny_per_year * DT)

    def stats(self) -> dict:
        return {"returnee_firms": int(self.returnee_ids.size), "student_firms_subsidised": self.student_firms}

"""Policies on research and technology transfer: public funding of basic research (原始创新), the
technology-transfer and researcher-evaluation reform, and the Israel Innovation Authority's (OCS)
programmes for firm-academia research. They act on the research institutes
(:mod:`agents.institutes`): their money, their transfer regime, their knowledge.

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.config import P
from sim.core.clock import DT
from sim.policies.base import Policy, check_range
from sim.policies.instruments import RDCostShare

__all__ = ["BasicResearch", "TechTransferReform", "OCSProgrammes"]


# --------------------------------------------------------------------------------------------
# 10. Technology transfer and researcher evaluation reform
# --------------------------------------------------------------------------------------------


@dataclass
class TechTransferReform(Policy):
    """Technology-transfer and researcher-evaluation reform: researchers keep their rank when they
    found firms and a larger share of the equity in their results, and the government pays for
    technology brokers; spin-offs and licences follow through the institutes' transfer regime."""

    kind: ClassVar[str] = "tech_transfer_reform"
    pays: ClassVar[str] = "institutes"
    unit: ClassVar[str] = "broker-year (a technology broker the government pays for, for a year)"
    target: ClassVar[str] = "spin-off births and licences (timeseries births_spinoff, licences)"
    source: ClassVar[str] = (
        "researchers who found firms lose honours and promotion (seeds/001_52e3b34853073898.txt:31); "
        "加大对原始创新和成果转化的支持力度 (:1, :37); 黄金十二条: income tax on equity taken for S&T results paid in "
        "instalments (seeds/004_04d71fc19d7d077d.txt:1645-1659); 461 senior technology brokers, 13 + 57 transfer "
        "institutions (:527-531)"
    )
    name: str = "tech_transfer_reform"
    budget_mcny_per_year: float = 100.0
    rank_retention_gain: float = P(0.3, "Researchers who found a firm keep this much more of their rank and honours "
                                        "(evaluation reform; leave to found with the post kept).", 'share')
    equity_share_gain: float = P(0.2, "Researchers' share of the equity and income from their results rises by this "
                                      "much (equity rewards, tax on them in instalments).", 'share')
    brokers_per_1000_researchers: float = P(2.0, "Technology brokers the government pays for, per 1,000 researchers of "
                                                 "the institutes.", 'per 1,000')
    broker_cost_mcny_per_year: float = P(0.3, "Yearly cost of one broker (ASSUMED: a salary).", 'mcny/yr')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "rank_retention_gain", self.rank_retention_gain, ge=-1, le=1, unit="share")
        check_range(self.name, "equity_share_gain", self.equity_share_gain, ge=-1, le=1, unit="share")
        check_range(self.name, "brokers_per_1000_researchers", self.brokers_per_1000_researchers, ge=0, le=1000,
                    unit="per 1,000")
        check_range(self.name, "broker_cost_mcny_per_year", self.broker_cost_mcny_per_year, ge=0, unit="mcny/yr")

    def __post_init__(self):
        super().__post_init__()
        self.brokers = 0.0  # brokers paid for this month
        self.broker_years = 0.0  # brokers paid for, summed over the months (in years)

    def step(self, model, government) -> None:
        self.levers.set(model, "rank_retention", self.rank_retention_gain)
        self.levers.set(model, "equity_share", self.equity_share_gain)
        researchers = sum(a.researchers for a in model.institutes)
        want = self.brokers_per_1000_researchers * researchers / 1000.0
        cost = want * self.broker_cost_mcny_per_year * DT
        paid = self.spend(model, government, cost) if cost > 0 else 0.0
        self.brokers = want * (paid / cost) if cost > 0 else want
        self.broker_years += self.brokers * DT
        per_1000 = 1000.0 * self.brokers / researchers if researchers > 0 else 0.0
        self.levers.set(model, "transfer_brokers", per_1000)

    def stats(self) -> dict:
        return {"brokers": self.brokers}

    def units(self, model) -> float:
        return self.broker_years


# --------------------------------------------------------------------------------------------
# 15. Public funding of basic research
# --------------------------------------------------------------------------------------------


@dataclass
class BasicResearch(Policy):
    """Public funding of basic research (原始创新): a fund pays research institutes and universities
    for basic research in the targeted tracks, on top of their own budgets; their knowledge,
    basic breakthroughs and the tracks those open follow."""

    kind: ClassVar[str] = "basic_research"
    pays: ClassVar[str] = "institutes"
    unit: ClassVar[str] = "researcher-year of the institutes it funds"
    target: ClassVar[str] = "the institutes' knowledge (timeseries knowledge) and basic breakthroughs"
    source: ClassVar[str] = (
        "加大对原始创新和成果转化的支持力度 (seeds/001_52e3b34853073898.txt:1, :37); 原始创新仍不足 (:21); "
        "鼓励在未知要害领域坐冷板凳 (:38); 深圳市自然科学基金: 52亿元 for basic and applied-basic research in 2019, "
        "聚焦核心电子器件、高端通用芯片、基础软件 (seeds/004_04d71fc19d7d077d.txt:461-468); basic research is 5.5 % "
        "of China's R&D against 10-20 % in major innovating countries (seeds/002_a935e4fe392ee53f.txt:1195)"
    )
    name: str = "basic_research"
    target_directions: list[str] = field(default_factory=lambda: ["科技"])  # core components, chips, software
    budget_mcny_per_year: float = P(1000.0, "Yearly basic-research funding, all paid out (ASSUMED: about a fifth "
                                            "of Shenzhen's 5,200 mcny natural-science fund of 2019).",
                                    'mcny/yr at scale 1')

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model)
        if not model.institutes.fundable(mask):
            return
        paid = self.spend(model, government, self.budget(model) * DT)
        model.institutes.fund(paid, "basic", mask)
        if paid > 0:
            self.researcher_years += sum(a.researchers for a in model.institutes) * DT

    def __post_init__(self):
        super().__post_init__()
        self.researcher_years = 0.0  # the institutes' researchers in the months it funded them (in years)

    def units(self, model) -> float:
        return self.researcher_years


# --------------------------------------------------------------------------------------------
# 16. Israel Innovation Authority (OCS): Magnet consortia and academic research grants
# --------------------------------------------------------------------------------------------


@dataclass
class OCSProgrammes(Policy):
    """Israel Innovation Authority (OCS) programmes for firm-academia research: Magnet consortia
    (磁石联盟: firms and institutes do generic research together; the programme pays 66 % of the
    firms' and 80 % of the institutes' research for three years, and the members take its results
    as a licence without fee) and grants for academic research with industrial application
    (学术研究产业应用: up to 90 % of an applied project at an institute, 15 months).

    Each month a member firm receives ``firm_grant_share`` of its R&D spending of the last month
    (its R&D staff's wages and the spending beyond them, ``rd_last``), until the year's payments
    reach ``firm_grant_cap_mcny_per_year``; the grant lowers its user cost of R&D to ``1 - s``
    (``s``: the share the programme paid last month, less when the budget ran short and grants
    were cut pro rata), so its R&D staff share rises as under ``rd_grants``
    (:class:`sim.policies.instruments.RDCostShare`) while its year's cap is not used up. The
    institutes receive ``academic_grant_share`` of their consortium research."""

    kind: ClassVar[str] = "ocs_programmes"
    target: ClassVar[str] = (
        "revenue of the consortium members (against the same firms without the programme); knowledge in the "
        "targeted tracks rises a little"
    )
    source: ClassVar[str] = (
        "OCS table ⚠ rebuilt (report-figures.md §7): 磁石联盟 basic and generic research by firms and academia, "
        "企业 66%, 学术机构 80%, 3-5年 (seeds/004_04d71fc19d7d077d.txt:1031-1084); 学术研究产业应用 12.5万美元, "
        "小于 90%, 15个月 (:1100-1120); OCS 1974, basic research to international R&D (:1020-1030)"
    )
    name: str = "ocs_programmes"
    budget_mcny_per_year: float = 1000.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    members_per_year: float = P(100.0, "Firms that join Magnet consortia per year (the best the programme sees in "
                                       "research-intensive targeted tracks).", 'firms/yr at scale 1')
    consortium_years: float = P(3.0, "Length of a consortium (3-5 years).", 'years')
    firm_grant_share: float = P(0.66, "Share of a member firm's R&D spending of the last month the programme pays.",
                                'share')
    firm_grant_cap_mcny_per_year: float = P(2.0, "Most a member firm receives in a calendar year (ASSUMED).",
                                            'mcny/yr')
    academic_grant_share: float = P(0.8, "Share of the institutes' consortium research the programme pays.", 'share')
    academic_rd_mcny_per_member: float = P(1.0, "Institutes' consortium research per member firm (ASSUMED).",
                                           'mcny/yr')
    min_employees: float = P(5.0, "Members need at least this headcount.", 'employees')
    min_tech_intensity: float = P(0.5, "Only tracks at least this research-intensive form consortia.", '0-1')
    selection_noise: float = P(0.8, "Error of the programme's view of an applicant's quality.", 'sd')
    projects_per_year: float = P(100.0, "Academic research projects with industrial application started per year.",
                                 'projects/yr at scale 1')
    project_grant_mcny: float = P(0.875, "Grant per academic project (US$0.125M at 7 CNY/USD), at most 90 % of its "
                                         "cost; the institute pays the rest from its budget.", 'mcny')
    project_months: int = P(15, "Length of an academic project.", 'months')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "members_per_year", self.members_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "consortium_years", self.consortium_years, gt=0, le=10, unit="years")
        check_range(self.name, "firm_grant_share", self.firm_grant_share, gt=0, lt=1, unit="share")
        check_range(self.name, "firm_grant_cap_mcny_per_year", self.firm_grant_cap_mcny_per_year, ge=0,
                    unit="mcny/yr")
        check_range(self.name, "academic_grant_share", self.academic_grant_share, ge=0, le=1, unit="share")
        check_range(self.name, "academic_rd_mcny_per_member", self.academic_rd_mcny_per_member, ge=0, unit="mcny/yr")
        check_range(self.name, "min_employees", self.min_employees, ge=0, unit="employees")
        check_range(self.name, "min_tech_intensity", self.min_tech_intensity, ge=0, le=1)
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")
        check_range(self.name, "projects_per_year", self.projects_per_year, ge=0, unit="projects/yr at scale 1")
        check_range(self.name, "project_grant_mcny", self.project_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "project_months", self.project_months, ge=1, le=120, unit="months")

    def __post_init__(self):
        super().__post_init__()
        self.ids = np.empty(0, dtype=np.int64)  # consortium members
        self.joined = np.empty(0, dtype=np.int64)
        self.paid_year = np.empty(0)  # each member's grants in the current calendar year
        self.year = None  # the calendar year of paid_year
        self.rd = RDCostShare()  # the members' R&D response (their multipliers in support_rd)
        self.covered = 1.0  # share of the requested grants paid last month (1 until the budget runs short)
        self.projects_until: list[int] = []  # last month of each running academic project
        self.granted = 0.0

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model) & (model.tracks["tech_intensity"] >= self.min_tech_intensity)
        self._admit_members(model, government, mask)
        self._pay_consortia(model, government, mask)
        self._academic_projects(model, government, mask)

    def _admit_members(self, model, government, mask) -> None:
        """New members: the best-looking eligible firms, who take the consortium's results (a
        licence's quality lift, no fee)."""
        pop = model.population
        k = self.monthly_slots(model, self.members_per_year, "members")
        if k <= 0 or pop.n == 0:
            return
        rows = np.flatnonzero(mask[pop["track"]] & (pop["employees"] >= self.min_employees) & self.eligible(model)
                              & (pop["rd_phi"] > 0.0))  # members do R&D: the consortium pays part of it
        if self.ids.size:
            rows = rows[~np.isin(pop["id"][rows], self.ids)]
        rows = self.select_best(model, rows, k, self.selection_noise)
        if rows.size == 0:
            return
        model.institutes.license(rows)
        self.ids = np.concatenate([self.ids, pop["id"][rows]])
        self.joined = np.concatenate([self.joined, np.full(rows.size, model.current_step, dtype=np.int64)])
        self.paid_year = np.concatenate([self.paid_year, np.zeros(rows.size)])
        self.rd.add(rows.size)
        self.note_supported(model, rows)

    def _pay_consortia(self, model, government, mask) -> None:
        """Running consortia: the members' R&D grants, their R&D response, and the institutes'
        consortium research."""
        if self.ids.size == 0:
            return
        pop = model.population
        step = model.current_step
        year = model.year_of(step)
        if year != self.year:
            self.year = year
            self.paid_year[:] = 0.0
        rows = pop.row_of[self.ids]
        on = (rows >= 0) & (step - self.joined < 12 * self.consortium_years)
        j = np.flatnonzero(on & (self.joined < step))  # last month's R&D of the members who joined before
        if j.size:
            want = self.rd.request(model, rows[j], self.firm_grant_share,
                                   self.firm_grant_cap_mcny_per_year - self.paid_year[j])
            got = self.grant(model, government, rows[j], want)
            self.paid_year[j] += got
            self.granted += float(got.sum())
            asked = float(want.sum())
            if asked > 0:
                self.covered = float(got.sum()) / asked
        elif on.any() and self.room(model, government) <= 0:
            self.covered = 0.0
        respond = on & (self.paid_year < self.firm_grant_cap_mcny_per_year)
        s = self.firm_grant_share * self.covered
        self.rd.set(model, rows, np.where(respond, self.rd.response(model, s), 1.0))
        if not on.any():
            return
        r = rows[on]
        tracks = np.zeros(model.tracks.n, dtype=bool)
        tracks[pop["track"][r]] = True
        tracks &= mask
        academic = self.academic_grant_share * self.academic_rd_mcny_per_member * on.sum() * DT
        if academic > 0 and model.institutes.fundable(tracks):
            model.institutes.fund(self.spend(model, government, academic), "applied", tracks)

    def _academic_projects(self, model, government, mask) -> None:
        """Academic research with industrial application: grants to applied projects at institutes."""
        step = model.current_step
        self.projects_until = [u for u in self.projects_until if u >= step]
        if model.institutes.fundable(mask):
            started = self.monthly_slots(model, self.projects_per_year, "projects")
            self.projects_until += [step + self.project_months - 1] * started
        if self.projects_until and model.institutes.fundable(mask):
            monthly = self.project_grant_mcny / self.project_months * len(self.projects_until)
            model.institutes.fund(self.spend(model, government, monthly), "applied", mask)

    def stop(self, model, government) -> None:
        super().stop(model, government)
        if self.ids.size:
            self.rd.set(model, model.population.row_of[self.ids], np.ones(self.ids.size))

    def stats(self) -> dict:
        return {"firms_supported": int(self.ids.size), "granted_mcny": self.granted,
                "projects_running": len(self.projects_until)}

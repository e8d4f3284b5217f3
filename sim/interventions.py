"""The policy interventions: fourteen kinds of :class:`sim.policies.Policy`.

Every intervention acts only through the model's own mechanisms: the levers of
:class:`sim.model.EcosystemModel` (births per founding channel, funding attempts, bank credit,
exit hazards and listing thresholds, LP commitments, fund life, per-track entry, screening and
growth), the per-firm support columns of the population (``support_growth``,
``support_closure``, ``support_screen``), cash grants (booked as ``grants_in`` in the cash
ledger), bank loans (:meth:`sim.finance.CapitalMarket.lend_to`) and new guidance-fund agents
(:class:`agents.investors.GuidanceFund`). Randomness comes only from the policy's own keyed
draws (``policy:<name>``), keyed by firm, so the same firm gets the same draw in every arm of a
comparison.

Money is in million CNY (mcny). Budgets and capacities (firms or scenes per year) are given at
scale 1 and multiplied by ``scale``; grant sizes, shares and multipliers are per firm and are
not scaled. The defaults come from the seed reports where they give a number
(``/work/shared/reference/report-figures.md`` §7 and §8, cited per class in ``source``);
everything else is marked as assumed in ``docs/policies.md``.

Kinds (``conf/policy/<name>.yaml`` holds one configuration of each; ``targeted_support`` and
``local_patience`` are configurations of ``sanctions_shock`` and ``track_cultivation``):

guidance_fund, state_incubator, rd_grants, proof_of_concept, scene_opening, credit_relaxation,
exit_channels, long_term_capital, talent_programme, tech_transfer_reform, stage_cultivation,
track_cultivation, sanctions_shock, entry_subsidy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from agents import firms as firm_rules
from sim.core.clock import DT, STEP_OFFSET
from sim.core.errors import ConfigError
from sim.core.rng import KeyedDraws, birth_keys, name_key
from sim.core.vocabulary import INDEPENDENT, ORIGINS, SPINOFF, UNICORN
from sim.policies import REGISTRY, F, Policy, check_range, register

__all__ = ["REGISTRY", "Support", "Levers"] + [
    "GuidanceFundPolicy",
    "StateIncubator",
    "RDGrants",
    "ProofOfConcept",
    "SceneOpening",
    "CreditRelaxation",
    "ExitChannels",
    "LongTermCapital",
    "TalentProgramme",
    "TechTransferReform",
    "StageCultivation",
    "TrackCultivation",
    "SanctionsShock",
    "EntrySubsidy",
]

# slots of a policy's keyed draws
_SELECT, _ORDER, _TRACK, _STUDENT, _LOAN = range(5)


# --------------------------------------------------------------------------------------------
# Helpers: per-firm support and levers, both reversible
# --------------------------------------------------------------------------------------------


class Support:
    """Time-limited support of individual firms: extra growth, a lower closure hazard, an
    easier screening bar. Written into the population's support columns and taken back when
    it expires (or when the programme stops)."""

    def __init__(self):
        self.ids = np.empty(0, dtype=np.int64)
        self.until = np.empty(0, dtype=np.int64)
        self.growth = np.empty(0)
        self.closure = np.empty(0)
        self.screen = np.empty(0)

    def __len__(self) -> int:
        return self.ids.size

    def add(self, model, rows: np.ndarray, until_step: int, *, growth=0.0, closure=1.0, screen=0.0) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        pop = model.population
        k = rows.size
        g = np.broadcast_to(np.asarray(growth, dtype=float), (k,)).copy()
        c = np.broadcast_to(np.asarray(closure, dtype=float), (k,)).copy()
        s = np.broadcast_to(np.asarray(screen, dtype=float), (k,)).copy()
        pop["support_growth"][rows] += g
        pop["support_closure"][rows] *= c
        pop["support_screen"][rows] += s
        model.firm_support = True
        self.ids = np.concatenate([self.ids, pop["id"][rows]])
        self.until = np.concatenate([self.until, np.full(k, until_step, dtype=np.int64)])
        self.growth = np.concatenate([self.growth, g])
        self.closure = np.concatenate([self.closure, c])
        self.screen = np.concatenate([self.screen, s])

    def expire(self, model, step: int | None = None) -> None:
        """Take back the support that ends at or before ``step`` (all of it when None)."""
        if self.ids.size == 0:
            return
        due = np.ones(self.ids.size, dtype=bool) if step is None else self.until <= step
        if not due.any():
            return
        pop = model.population
        rows = pop.row_of[self.ids[due]]
        alive = rows >= 0
        r = rows[alive]
        if r.size:
            np.subtract.at(pop["support_growth"], r, self.growth[due][alive])
            np.divide.at(pop["support_closure"], r, self.closure[due][alive])
            np.subtract.at(pop["support_screen"], r, self.screen[due][alive])
        keep = ~due
        self.ids, self.until = self.ids[keep], self.until[keep]
        self.growth, self.closure, self.screen = self.growth[keep], self.closure[keep], self.screen[keep]

    def live_ids(self) -> np.ndarray:
        return self.ids


_TRACK_LEVERS = {  # name -> (model attribute or None, neutral value, how policies combine)
    "entry_bonus": ("track_entry_bonus", 1.0, "mul"),
    "screen_shift": ("track_screen_shift", 0.0, "add"),
    "growth_bonus": ("track_growth_bonus", 0.0, "add"),
    "ipo_relief": (None, 0.0, "add"),
}


class Levers:
    """A policy's own contribution to the model's levers, so it can be changed and undone.

    Scalar levers (``births_multiplier[origin]``, ``credit_multiplier``, ...) are multiplied by
    the policy's factor; per-track levers are multiplied (entry bonus) or shifted (screening
    bar, growth, listing relief) by a per-track array of the policy."""

    def __init__(self):
        self.scalar: dict[tuple[str, str | None], float] = {}
        self.track: dict[str, np.ndarray] = {}

    def set(self, model, attr: str, factor: float, key: str | None = None) -> None:
        old = self.scalar.get((attr, key), 1.0)
        if factor == old:
            return
        if factor <= 0:
            raise ValueError(f"lever {attr} factor must be > 0")
        if key is None:
            setattr(model, attr, getattr(model, attr) / old * factor)
        else:
            d = getattr(model, attr)
            d[key] = d[key] / old * factor
        self.scalar[(attr, key)] = factor

    def set_track(self, model, name: str, values: np.ndarray) -> None:
        attr, neutral, mode = _TRACK_LEVERS[name]
        arr = model.track_array(name, neutral)
        if attr is not None and getattr(model, attr) is not arr:
            setattr(model, attr, arr)
        n = arr.size
        values = np.asarray(values, dtype=float)[:n]
        if values.size < n:
            values = np.concatenate([values, np.full(n - values.size, neutral)])
        old = self.track.get(name)
        if old is None:
            old = np.full(n, neutral)
        elif old.size < n:
            old = np.concatenate([old, np.full(n - old.size, neutral)])
        if np.array_equal(old, values):
            return
        if mode == "mul":
            arr *= values / old
        else:
            arr += values - old
        self.track[name] = values.copy()

    def clear(self, model) -> None:
        for (attr, key) in list(self.scalar):
            self.set(model, attr, 1.0, key)
        for name in list(self.track):
            _, neutral, _ = _TRACK_LEVERS[name]
            self.set_track(model, name, np.full(model.tracks.n, neutral))
        self.scalar.clear()
        self.track.clear()


class _Intervention(Policy):
    """Common plumbing: levers, support, slots for capacities, bookkeeping of supported firms."""

    source: ClassVar[str] = ""

    def __post_init__(self):
        super().__post_init__()
        self.levers = Levers()
        self.support = Support()
        self._slots = 0.0
        self.supported_ids: list[np.ndarray] = []  # every firm the programme supported, by id

    # a capacity given per year at scale 1 -> whole firms this month, fractions carried over
    def monthly_slots(self, model, per_year: float) -> int:
        self._slots += per_year * model.scale * DT
        k = int(self._slots)
        self._slots -= k
        return k

    def supported(self) -> np.ndarray:
        return np.concatenate(self.supported_ids) if self.supported_ids else np.empty(0, dtype=np.int64)

    def note_supported(self, model, rows: np.ndarray) -> None:
        if rows.size:
            self.supported_ids.append(model.population["id"][rows].copy())
            self.count_supported(model, int(rows.size))

    def new_firms(self, model, months: int = 1) -> np.ndarray:
        """Rows of live firms founded in the last ``months`` months (before this step)."""
        pop = model.population
        age = model.current_step - pop["born"]
        return np.flatnonzero((age >= 1) & (age <= months))

    def select_best(self, model, rows: np.ndarray, k: int, noise: float, extra: np.ndarray | None = None) -> np.ndarray:
        """The ``k`` rows with the highest noisy view of quality (a programme's selection)."""
        if k <= 0 or rows.size == 0:
            return rows[:0]
        pop = model.population
        z = self.draws(model).normal(pop["key"][rows], model.current_step, _SELECT)
        signal = pop["quality"][rows] + noise * z
        if extra is not None:
            signal = signal + extra
        if rows.size <= k:
            return rows
        return rows[np.argsort(-signal, kind="stable")[:k]]

    def random_order(self, model, rows: np.ndarray) -> np.ndarray:
        if rows.size == 0:
            return rows
        u = self.draws(model).uniform(model.population["key"][rows], model.current_step, _ORDER)
        return rows[np.argsort(u, kind="stable")]

    def stop(self, model, government) -> None:
        self.levers.clear(model)
        self.support.expire(model)

    def collect(self, model, government) -> None:
        self.support.expire(model, model.current_step)

    def stats(self) -> dict:
        """Programme figures for the outputs (summary.json policy_accounts)."""
        return {"firms_supported": int(self.supported().size)}


def _positive_factor(policy, key, value):
    check_range(policy.name, key, value, gt=0, le=100)


# --------------------------------------------------------------------------------------------
# 1. Government guidance fund (引导基金)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class GuidanceFundPolicy(_Intervention):
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
    fund_size_mcny: float = F(5000.0, 'mcny at scale 1', 'Capital the government commits to the new guidance fund, paid in over paid_in_years.')
    paid_in_years: float = F(5.0, 'years', 'Years over which the capital is paid in (one tranche each January).')
    coinvest_ratio: float = F(0.5, 'x', "Guidance money per unit of VC money in a round in a mandated track, on top of the preset's guidance funds.")
    return_cap: float = F(0.05, '1/yr', 'Yearly return the government keeps; proceeds above it go to the co-investing VC (让利).')
    life_years: float = F(10.0, 'years', 'Investment life of the fund.')

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
        self._proceeds_seen = 0.0

    def start(self, model, government) -> None:
        from agents.investors import GuidanceFund

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
        f = self.fund
        f.mandated_tracks = self.target_track_ids(model)
        if model.current_step % 12 == 0 or self.paid_in == 0.0:
            size = self.fund_size_mcny * model.scale
            tranche = min(size / self.paid_in_years, size - self.paid_in)
            if tranche > 0:
                paid = self.spend(model, government, tranche)
                f.commit(paid)
                self.paid_in += paid

    def collect(self, model, government) -> None:
        super().collect(model, government)
        if self.fund is not None and self.fund.proceeds > self._proceeds_seen:
            self.receive(model, government, self.fund.proceeds - self._proceeds_seen)
            self._proceeds_seen = self.fund.proceeds

    def stats(self) -> dict:
        f = self.fund
        return {
            "paid_in_mcny": self.paid_in,
            "invested_mcny": 0.0 if f is None else f.invested,
            "proceeds_mcny": 0.0 if f is None else f.proceeds,
            "ceded_to_vc_mcny": 0.0 if f is None else f.excess_ceded,
        }


# --------------------------------------------------------------------------------------------
# 2. State incubator, the Israeli 孵化+资助 model
# --------------------------------------------------------------------------------------------


@register
@dataclass
class StateIncubator(_Intervention):
    """State incubator (孵化+资助, Israel): selected new firms get a grant and services; a firm
    that succeeds repays through a royalty on revenue, a firm that fails repays nothing."""

    kind: ClassVar[str] = "state_incubator"
    target: ClassVar[str] = "survival of the incubated firms (against the same firms without the programme)"
    source: ClassVar[str] = "入孵企业创业成功率50%, 3% of revenue plus interest on success, nothing on failure (seeds/004_04d71fc19d7d077d.txt:1010-1018)"
    name: str = "state_incubator"
    budget_mcny_per_year: float = 600.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    capacity_per_year: float = F(300.0, 'firms/yr at scale 1', "New firms admitted per year (selected from the previous month's founders).")
    grant_mcny: float = F(2.0, 'mcny', 'Grant per admitted firm, paid on admission.')
    incubation_years: float = F(2.0, 'years', 'Length of incubation; success or failure is judged at its end.')
    closure_relief: float = F(0.5, 'share', 'Closure hazard times (1 - relief) during incubation (space, services).')
    growth_support: float = F(0.1, '1/yr', 'Extra log revenue growth during incubation (mentoring, networks).')
    selection_noise: float = F(1.0, 'sd', "Error of the incubator's view of a founding team's quality (it admits the best it sees).")
    success_revenue_mcny: float = F(1.0, 'mcny/yr', 'Success: alive at the end of incubation with at least this revenue, or with equity raised.')
    royalty_rate: float = F(0.03, 'share of revenue', 'After success the firm pays back this share of its revenue until the grant plus interest is repaid; after failure nothing.')
    repayment_interest: float = F(0.03, '1/yr', 'Interest on the grant owed after success.')

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
            ok[alive] = (pop.cols["revenue"][r[alive]] >= self.success_revenue_mcny) | (pop.cols["rounds"][r[alive]] > 0)
            idx = np.flatnonzero(ending)
            self.status[idx] = np.where(ok, 1, 2)
            self.due[idx] = np.where(ok, self.granted[idx] * (1.0 + self.repayment_interest) ** self.incubation_years, 0.0)
        # incubating firms that died failed
        dead = (self.status == 0) & (rows < 0)
        self.status[dead] = 2
        # royalties from the successful ones, while they live and owe
        pay = np.flatnonzero((self.status == 1) & (rows >= 0) & (self.due > 0))
        if pay.size:
            r = rows[pay]
            royalty = self.royalty_rate * np.maximum(pop.cols["revenue"][r], 0.0) * DT
            royalty = np.minimum(np.minimum(royalty, self.due[pay]), np.maximum(pop.cols["cash"][r], 0.0))
            total = float(royalty.sum())
            if total > 0:
                pop.cols["cash"][r] -= royalty
                model.ledger["public_repayments"] += total
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


@register
@dataclass
class RDGrants(_Intervention):
    """Matched R&D grants (OCS style): the government pays a share of a selected firm's R&D
    spending, up to a cap per firm, for a limited time."""

    kind: ClassVar[str] = "rd_grants"
    target: ClassVar[str] = "jobs in the granted firms (against the same firms without the programme)"
    source: ClassVar[str] = "OCS 磁子计划 Magneton: 66% of R&D, < US$0.76M, 2 years (seeds/004_04d71fc19d7d077d.txt:1086-1098); 磁石 Magnet 66%/80%, 3-5 years (:1031-1084)"
    name: str = "rd_grants"
    budget_mcny_per_year: float = 500.0
    capacity_per_year: float = F(400.0, 'firms/yr at scale 1', 'New grantees per year (the best applicants the programme sees).')
    grant_share: float = F(0.66, 'share', "Share of the firm's R&D spending the grant covers.")
    cap_mcny: float = F(5.32, 'mcny', 'Most a firm can receive over its grant (US$0.76M at 7 CNY/USD).')
    duration_years: float = F(2.0, 'years', 'Length of a grant.')
    rd_share_of_wages: float = F(0.5, 'share', 'R&D spending as a share of the wage bill (assumed; the model has no R&D account).')
    min_employees: float = F(3.0, 'employees', 'Applicants need at least this headcount.')
    min_tech_intensity: float = F(0.5, '0-1', 'Only firms in tracks at least this research-intensive apply.')
    selection_noise: float = F(0.8, 'sd', "Error of the programme's view of an applicant's quality.")

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
            tech = model.tracks.col("tech_intensity")
            ok = self.eligible(model) & (pop["employees"] >= self.min_employees) & (tech[pop["track"]] >= self.min_tech_intensity)
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
        rd = self.rd_share_of_wages * firm_rules.wage_bill(pop.cols["employees"][r], model.cfg.ecosystem.firms) * DT
        want = np.minimum(self.grant_share * rd, self.cap_mcny - self.paid[j])
        got = self.grant(model, government, r, want)
        self.paid[j] += got

    def stats(self) -> dict:
        return {"firms_supported": int(self.ids.size), "granted_mcny": float(self.paid.sum())}


# --------------------------------------------------------------------------------------------
# 4. Proof-of-concept and pilot bases (概念验证, 中试)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class ProofOfConcept(_Intervention):
    """Proof-of-concept and pilot bases (概念验证, 中试基地): research spin-offs get a
    proof-of-concept grant and pilot facilities that carry them across the death valley."""

    kind: ClassVar[str] = "proof_of_concept"
    target: ClassVar[str] = "survival of the supported spin-offs (against the same firms without the programme)"
    source: ClassVar[str] = "M14 death valley, 概念验证/中试基地 (seeds/001_52e3b34853073898.txt:39, :42); Israel pre-seed 趋势基金 (seeds/004_04d71fc19d7d077d.txt:1004-1010)"
    name: str = "proof_of_concept"
    budget_mcny_per_year: float = 300.0
    target_origins: list[str] = field(default_factory=lambda: ["spinoff"])
    capacity_per_year: float = F(500.0, 'firms/yr at scale 1', "Spin-offs taken onto the proof-of-concept and pilot bases per year (from the previous month's founders).")
    poc_grant_mcny: float = F(0.5, 'mcny', 'Proof-of-concept grant per firm.')
    pilot_years: float = F(2.0, 'years', 'Time on the pilot base.')
    closure_relief: float = F(0.4, 'share', 'Closure hazard times (1 - relief) on the pilot base.')
    growth_support: float = F(0.25, '1/yr', 'Extra log revenue growth on the pilot base: from sample (样品) to product (商品).')

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
# 5. Opened application scenarios (场景开放, 揭榜)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class SceneOpening(_Intervention):
    """Opened application scenarios (场景开放, 揭榜挂帅): the government posts scenes tied to
    tracks; the firms that take a scene on get a first customer and a test report, and the
    open scene draws founders into its track (场景赋能—企业聚集)."""

    kind: ClassVar[str] = "scene_opening"
    target: ClassVar[str] = "revenue of the firms that took a scene on (against the same firms without the programme)"
    source: ClassVar[str] = (
        "福田 AI 场景需求清单: 16 needs, 3 months of free venue, data, a test report (seeds/000_7c3d64ef66a46d97.txt:417-429); "
        "M11 场景赋能—企业聚集—赛道爆发 (seeds/003_05603e1a4834c126.txt:65-71)"
    )
    name: str = "scene_opening"
    budget_mcny_per_year: float = 100.0
    scenes_per_year: float = F(16.0, 'scenes/yr at scale 1', 'Scenes opened per year (at least one a year at any scale); each is tied to one track.')
    capacity: int = F(5, 'firms per scene', 'Firms that take one scene on (揭榜): the best the government sees in the track.')
    duration_months: int = F(12, 'months', 'How long a scene is open and its firms supported.')
    cost_per_scene_mcny: float = F(5.0, 'mcny at scale 1', 'Public cost of a scene: venue, data, testing, first procurement.')
    growth_support: float = F(0.4, '1/yr', "Extra log revenue growth of the scene's firms (a first customer).")
    screen_relief: float = F(0.3, 'sd', "The scene's test report lowers investors' screening bar for its firms by this much.")
    entry_bonus: float = F(1.2, 'x', "Founders' entry weight of a track with an open scene, times this (场景赋能—企业聚集).")
    min_age_months: int = F(6, 'months', 'Firms must be at least this old to take a scene on.')
    selection_noise: float = F(0.8, 'sd', "Error of the government's view of the applicants' quality.")

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "scenes_per_year", self.scenes_per_year, ge=0, unit="scenes/yr at scale 1")
        check_range(self.name, "capacity", self.capacity, ge=1, le=10_000, unit="firms per scene")
        check_range(self.name, "duration_months", self.duration_months, ge=1, le=240, unit="months")
        check_range(self.name, "cost_per_scene_mcny", self.cost_per_scene_mcny, ge=0, unit="mcny")
        check_range(self.name, "growth_support", self.growth_support, ge=0, le=3, unit="1/yr")
        check_range(self.name, "screen_relief", self.screen_relief, ge=0, le=5, unit="sd")
        _positive_factor(self, "entry_bonus", self.entry_bonus)
        check_range(self.name, "min_age_months", self.min_age_months, ge=0, le=240, unit="months")
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")

    def __post_init__(self):
        super().__post_init__()
        self.scenes: list[tuple[int, int]] = []  # (track id, closing step)
        self.scene_log: list[dict] = []

    def step(self, model, government) -> None:
        step = model.current_step
        self.scenes = [(t, end) for t, end in self.scenes if end > step]
        per_year = max(1.0, round(self.scenes_per_year * model.scale)) if self.scenes_per_year > 0 else 0.0
        self._slots += per_year * DT
        k = int(self._slots)
        self._slots -= k
        pop = model.population
        tr = model.tracks
        for _ in range(k):
            mask = self.target_track_mask(model)
            w = np.where(mask, tr.market * np.maximum(tr.heat, 1e-6), 0.0)
            if w.sum() <= 0 or self.cost_per_scene_mcny * model.scale > self.room(model, government) + 1e-12:
                break
            t = int(self.rng(model).choice(tr.n, p=w / w.sum()))
            self.spend(model, government, self.cost_per_scene_mcny * model.scale)
            busy = self.support.live_ids()
            rows = np.flatnonzero((pop["track"] == t) & (step - pop["born"] >= self.min_age_months))
            rows = rows[self.eligible(model, rows)]
            if busy.size:
                rows = rows[~np.isin(pop["id"][rows], busy)]
            rows = self.select_best(model, rows, self.capacity, self.selection_noise, extra=np.clip(pop["growth_12m"][rows], -2, 3))
            end = step + self.duration_months
            self.support.add(model, rows, end, growth=self.growth_support, screen=-self.screen_relief)
            self.note_supported(model, rows)
            self.scenes.append((t, end))
            self.scene_log.append({"track_id": t, "step": step, "firms": int(rows.size)})
        bonus = np.ones(tr.n)
        for t, _ in self.scenes:
            bonus[t] = self.entry_bonus
        self.levers.set_track(model, "entry_bonus", bonus)

    def stats(self) -> dict:
        return {"firms_supported": int(self.supported().size), "scenes_opened": len(self.scene_log)}


# --------------------------------------------------------------------------------------------
# 6. Credit relaxation (放宽信贷) and combined credit and equity (投贷联动)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class CreditRelaxation(_Intervention):
    """Credit relaxation (放宽信贷) and combined credit and equity (投贷联动): banks lend more
    often and more, the government subsidises part of the interest, and a venture-backed firm
    gets a bank loan beside each VC round."""

    kind: ClassVar[str] = "credit_relaxation"
    target: ClassVar[str] = "bank lending to the park's firms (timeseries bank_lending)"
    source: ClassVar[str] = (
        "seed 001 package (3) relaxed credit and financing (seeds/001_52e3b34853073898.txt:1, :37); "
        "张江 投贷联动 (seeds/004_04d71fc19d7d077d.txt:1511-1517); 5050 full interest subsidy (:1667-1673)"
    )
    name: str = "credit_relaxation"
    budget_mcny_per_year: float = 300.0
    apply_multiplier: float = F(2.0, 'x', "Banks' monthly lending chance to an eligible firm, times this.")
    loan_size_multiplier: float = F(1.5, 'x', 'Loan size (a share of revenue), times this.')
    interest_subsidy_share: float = F(0.5, 'share', "Share of the interest on targeted firms' bank loans the government pays.")
    venture_debt_ratio: float = F(0.3, 'x', '投贷联动: bank loan per unit of a VC round (rounds A-C) to a firm without debt; 0 switches it off.')

    def validate(self) -> None:
        super().validate()
        _positive_factor(self, "apply_multiplier", self.apply_multiplier)
        _positive_factor(self, "loan_size_multiplier", self.loan_size_multiplier)
        check_range(self.name, "interest_subsidy_share", self.interest_subsidy_share, ge=0, le=1, unit="share")
        check_range(self.name, "venture_debt_ratio", self.venture_debt_ratio, ge=0, le=5, unit="x")

    def __post_init__(self):
        super().__post_init__()
        self._deal_ptr = 0
        self.venture_loans = 0
        self.venture_lent = 0.0

    def start(self, model, government) -> None:
        self._deal_ptr = model.market.deals.n

    def step(self, model, government) -> None:
        m = model
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
        keep = pop.cols["debt"][rows] <= 0
        rows, per_firm = rows[keep], per_firm[keep]
        if rows.size == 0:
            return
        keep = self.eligible(m, rows)
        rows, per_firm = rows[keep], per_firm[keep]
        if rows.size == 0:
            return
        up = self.draws(m).uniform(pop.cols["key"][rows], m.current_step, _LOAN)
        lent = m.market.lend_to(rows, self.venture_debt_ratio * per_firm, m.current_step, up)
        self.venture_loans += int(lent.size)
        self.venture_lent += float(pop.cols["debt"][lent].sum()) if lent.size else 0.0
        self.note_supported(m, lent)

    def stats(self) -> dict:
        return {"venture_loans": self.venture_loans, "venture_lent_mcny": self.venture_lent}


# --------------------------------------------------------------------------------------------
# 7. Exit channels (STAR-market-like listing route, M&A openness)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class ExitChannels(_Intervention):
    """Exit channels: a STAR-market-like listing route with lower listing thresholds for
    targeted tracks, a registration system that speeds listings, and open M&A."""

    kind: ClassVar[str] = "exit_channels"
    target: ClassVar[str] = "exits by IPO and acquisition (timeseries exits_ipo, exits_acquired)"
    source: ClassVar[str] = (
        "STAR Market with registration (seeds/002_a935e4fe392ee53f.txt:233-237; 172/417 registrations effective, :1137-1139); "
        "open M&A and IPOs, more exit room for early money (seeds/001_52e3b34853073898.txt:43-44)"
    )
    name: str = "exit_channels"
    budget_mcny_per_year: float = 0.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    listing_relief: float = F(0.6, 'share', 'Listing revenue and valuation thresholds cut by this share in the targeted tracks (STAR-market-like route).')
    ipo_rate_multiplier: float = F(1.5, 'x', 'Yearly IPO hazard of an eligible firm, times this (registration system).')
    acquisition_multiplier: float = F(1.3, 'x', 'Yearly acquisition hazard, times this (M&A openness).')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "listing_relief", self.listing_relief, ge=0, lt=1, unit="share")
        _positive_factor(self, "ipo_rate_multiplier", self.ipo_rate_multiplier)
        _positive_factor(self, "acquisition_multiplier", self.acquisition_multiplier)

    def step(self, model, government) -> None:
        self.levers.set(model, "ipo_multiple", self.ipo_rate_multiplier)
        self.levers.set(model, "acquisition_multiple", self.acquisition_multiplier)
        self.levers.set_track(model, "ipo_relief", np.where(self.target_track_mask(model), self.listing_relief, 0.0))


# --------------------------------------------------------------------------------------------
# 8. Long-term capital (insurance and pension money, longer fund lives)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class LongTermCapital(_Intervention):
    """Long-term capital: insurance and pension money joins VC funds as limited partners,
    drawn by tax incentives, and funds live longer."""

    kind: ClassVar[str] = "long_term_capital"
    target: ClassVar[str] = "capital committed to new VC funds (investors.committed of VC funds raised under the policy)"
    source: ClassVar[str] = "insurance and pension money into tech equity with tax incentives (seeds/001_52e3b34853073898.txt:45); VC across cycles (:29)"
    name: str = "long_term_capital"
    budget_mcny_per_year: float = 300.0
    extra_commitment_share: float = F(0.25, 'share', 'Insurance and pension money raises yearly LP commitments to VC by this share.')
    fund_life_multiplier: float = F(1.5, 'x', 'Life of VC funds raised while the policy is in force, times this.')
    tax_incentive_rate: float = F(0.02, 'share', 'Tax expenditure per unit of extra commitments (public spending); when the budget is short, commitments rise less.')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "extra_commitment_share", self.extra_commitment_share, ge=0, le=5, unit="share")
        _positive_factor(self, "fund_life_multiplier", self.fund_life_multiplier)
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


# --------------------------------------------------------------------------------------------
# 9. Talent programmes (Hangzhou 5050, student founders)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class TalentProgramme(_Intervention):
    """Talent programmes: returnee high-tech founders recruited with startup funding and rent
    support (Hangzhou 5050), and student founders drawn by subsidised registration and rent."""

    kind: ClassVar[str] = "talent_programme"
    target: ClassVar[str] = "firm births (timeseries births)"
    source: ClassVar[str] = (
        "杭州 5050计划: up to 500万元 startup funding, rent for <= 500 m2, loan interest (seeds/004_04d71fc19d7d077d.txt:1667-1673); "
        "student founders: fees subsidised, <= 50 m2 rent-free for 2 years (:1673-1677)"
    )
    name: str = "talent_programme"
    budget_mcny_per_year: float = 700.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "数字", "产业"])  # returnees' tracks
    returnee_firms_per_year: float = F(60.0, 'firms/yr at scale 1', 'Returnee high-tech founders recruited per year (new firms of their own).')
    returnee_grant_mcny: float = F(5.0, 'mcny', 'Startup funding per returnee firm (the 5050 ceiling of 500万元).')
    returnee_rent_mcny_per_year: float = F(0.3, 'mcny/yr', 'Rent support of a returnee firm (up to 500 m2; assumed 50 CNY/m2/month).')
    returnee_support_years: float = F(2.0, 'years', 'Years of rent support.')
    returnee_quality_shift: float = F(0.5, 'sd', 'Mean quality of returnee teams above independent founders (assumed).')
    student_share: float = F(0.1, 'share', 'Share of independent founders who are students.')
    student_entry_response: float = F(0.2, 'share', 'Founding by students rises by this share with the subsidies (assumed).')
    student_subsidy_mcny: float = F(0.03, 'mcny', 'Per student firm: registration fees and 50 m2 rent-free for 2 years (paid at founding).')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "returnee_firms_per_year", self.returnee_firms_per_year, ge=0, unit="firms/yr at scale 1")
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
            rows = rows[(pop["origin"][rows] == INDEPENDENT) & ((pop["key"][rows] >> np.uint64(24)) & np.uint64(0xFF) == 0)]
            u = self.draws(m).uniform(pop["key"][rows], step, _STUDENT)
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
        pop = m.population
        step = m.current_step
        tr = m.tracks
        w = np.where(self.target_track_mask(m), np.sqrt(tr.market) * np.maximum(tr.heat, 1e-6), 0.0)
        if w.sum() <= 0:
            return np.empty(0, dtype=np.int64)
        keys = birth_keys(step + STEP_OFFSET, self.channel, n, start_rank=0)
        track = firm_rules.choose_tracks(self.draws(m).uniform(keys, step, _TRACK), w)
        origin = np.full(n, INDEPENDENT, dtype=np.int8)  # independent founders
        fcfg = m.cfg.ecosystem.firms
        state = firm_rules.founding_state(keys, origin, fcfg, m.draws["founding"], step)
        state["quality"] = state["quality"] + self.returnee_quality_shift
        state["qsat"] = firm_rules.saturated_quality(state["quality"])
        before = pop.n
        pop.add(step, key=keys, hkey=KeyedDraws.prehash(keys), origin=origin, track=track, **state)
        m.ledger["founder_cash"] += float(state["cash"].sum())
        m.counts["births"] += n
        m.counts["births_independent"] += n
        return np.arange(before, before + n)

    def stats(self) -> dict:
        return {"returnee_firms": int(self.returnee_ids.size), "student_firms_subsidised": self.student_firms}


# --------------------------------------------------------------------------------------------
# 10. Technology transfer and researcher evaluation reform
# --------------------------------------------------------------------------------------------


@register
@dataclass
class TechTransferReform(_Intervention):
    """Technology-transfer and researcher-evaluation reform: researchers no longer lose rank
    for founding firms and keep equity in their results, so more spin-offs are founded; a
    technology-transfer service supports each new spin-off."""

    kind: ClassVar[str] = "tech_transfer_reform"
    target: ClassVar[str] = "spin-off births (timeseries births_spinoff)"
    source: ClassVar[str] = (
        "researchers who found firms lose honours and promotion (seeds/001_52e3b34853073898.txt:31); "
        "黄金十二条 equity income tax in instalments (seeds/004_04d71fc19d7d077d.txt:1645-1659); tech-transfer brokers (:527-531)"
    )
    name: str = "tech_transfer_reform"
    budget_mcny_per_year: float = 300.0
    spinoff_multiplier: float = F(1.5, 'x', 'Spin-off births, times this (researchers keep rank and equity when they found firms).')
    transfer_grant_mcny: float = F(0.05, 'mcny', 'Technology-transfer services per new spin-off (brokers, licensing).')

    def validate(self) -> None:
        super().validate()
        _positive_factor(self, "spinoff_multiplier", self.spinoff_multiplier)
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


# --------------------------------------------------------------------------------------------
# 11. Stage-targeted cultivation of gazelles and unicorns
# --------------------------------------------------------------------------------------------


@register
@dataclass
class StageCultivation(_Intervention):
    """Stage-targeted cultivation (瞪羚/独角兽培育): new gazelles and potential unicorns get a
    grant (paid with a lag) and a place on the government's list, which eases fund raising."""

    kind: ClassVar[str] = "stage_cultivation"
    target: ClassVar[str] = "money raised by the cultivated firms (against the same firms without the programme)"
    source: ClassVar[str] = (
        "gazelle/unicorn cultivation absent in Shenzhen HTZ; subsidies 申请困难、补助周期冗长 (seeds/004_04d71fc19d7d077d.txt:664-674); "
        "Xi'an 10+10+N listing cultivation (seeds/002_a935e4fe392ee53f.txt:3455-3471); potential unicorns (report-figures.md §9)"
    )
    name: str = "stage_cultivation"
    budget_mcny_per_year: float = 400.0
    target_stages: list[str] = field(default_factory=lambda: ["gazelle", "unicorn"])  # unicorn: potential unicorns
    gazelle_grant_mcny: float = F(0.3, 'mcny', 'Grant per new gazelle (瞪羚计划).')
    potential_unicorn_valuation_mcny: float = F(350.0, 'mcny', 'Valuation from which a firm counts as a potential unicorn (US$50M, the local 潜在独角兽 floor).')
    potential_unicorn_max_age_years: float = F(9.0, 'years', 'Potential unicorns are at most this old.')
    potential_unicorn_grant_mcny: float = F(1.0, 'mcny', 'Grant per potential unicorn.')
    screen_relief: float = F(0.3, 'sd', "A place on the government's list lowers investors' screening bar by this much.")
    support_years: float = F(2.0, 'years', 'Time on the list.')
    payment_lag_months: int = F(6, 'months', 'Grants are paid this long after enrolment, to firms still alive (补助周期冗长).')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "gazelle_grant_mcny", self.gazelle_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "potential_unicorn_valuation_mcny", self.potential_unicorn_valuation_mcny, gt=0, unit="mcny")
        check_range(self.name, "potential_unicorn_max_age_years", self.potential_unicorn_max_age_years, gt=0, le=30, unit="years")
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
                self.queue_ids = np.concatenate([self.queue_ids, ids])
                self.queue_step = np.concatenate([self.queue_step, np.full(rows.size, step + self.payment_lag_months, dtype=np.int64)])
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
            self.queue_ids, self.queue_step, self.queue_amount = self.queue_ids[keep], self.queue_step[keep], self.queue_amount[keep]

    def stats(self) -> dict:
        return {"firms_supported": int(self.enrolled.size), "granted_mcny": self.paid,
                "grants_unpaid_mcny": float(self.queue_amount.sum())}


# --------------------------------------------------------------------------------------------
# 12. Track cultivation with a patience horizon (local-government patience)
# --------------------------------------------------------------------------------------------


@register
@dataclass
class TrackCultivation(_Intervention):
    """Track cultivation with a patience horizon: targeted tracks get entry and growth support
    and their young firms small grants; support for a track that shows no new gazelle or
    unicorn within ``patience_years`` is withdrawn."""

    kind: ClassVar[str] = "track_cultivation"
    target: ClassVar[str] = "births into the supported tracks (firms.track_id)"
    source: ClassVar[str] = (
        "M18 需提升地方政府耐心和定力 (seeds/001_52e3b34853073898.txt:25), weak 容错 (:27); "
        "assess staged track cultivation above investment totals (:25, :40)"
    )
    name: str = "track_cultivation"
    budget_mcny_per_year: float = 300.0
    target_directions: list[str] = field(default_factory=lambda: ["科技"])
    patience_years: float = 8.0
    entry_bonus: float = F(1.25, 'x', "Founders' entry weight of a supported track, times this.")
    growth_bonus: float = F(0.03, '1/yr', "Extra yearly growth of the supported tracks' firms.")
    young_firm_grant_mcny_per_year: float = F(0.2, 'mcny/yr', 'Grant per young firm in a supported track.')
    young_age_years: float = F(3.0, 'years', 'Firms up to this age count as young.')

    def validate(self) -> None:
        super().validate()
        _positive_factor(self, "entry_bonus", self.entry_bonus)
        check_range(self.name, "growth_bonus", self.growth_bonus, ge=-1, le=1, unit="1/yr")
        check_range(self.name, "young_firm_grant_mcny_per_year", self.young_firm_grant_mcny_per_year, ge=0, unit="mcny/yr")
        check_range(self.name, "young_age_years", self.young_age_years, gt=0, le=10, unit="years")

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model)
        self.levers.set_track(model, "entry_bonus", np.where(mask, self.entry_bonus, 1.0))
        self.levers.set_track(model, "growth_bonus", np.where(mask, self.growth_bonus, 0.0))
        if self.young_firm_grant_mcny_per_year > 0:
            pop = model.population
            young = (model.current_step - pop["born"]) <= 12 * self.young_age_years
            rows = np.flatnonzero(young & mask[pop["track"]])
            got = self.grant(model, government, rows, self.young_firm_grant_mcny_per_year * DT)
            if model.current_step % 12 == 0:
                self.count_supported(model, int((got > 0).sum()))

    def stats(self) -> dict:
        return {"tracks_withdrawn": len(self.withdrawn)}


# --------------------------------------------------------------------------------------------
# 13. Sanctions or decoupling shock (脱钩断链) and targeted support (精准支持)
# --------------------------------------------------------------------------------------------

EXPOSED_TRACKS = ["edge_ai_chips", "artificial_intelligence", "power_batteries", "new_energy_storage", "biochips", "smart_hardware"]


@register
@dataclass
class SanctionsShock(_Intervention):
    """A sanctions or decoupling shock (脱钩断链) on exposed tracks: their firms lose growth and
    investors shun them; targeted support (精准支持) helps exposed firms with grants,
    substitute-parts coordination and continuity support."""

    kind: ClassVar[str] = "sanctions_shock"
    target: ClassVar[str] = "revenue of firms in the exposed tracks (lower under the shock, less so with support)"
    source: ClassVar[str] = (
        "M19 缺芯少魂, high-end optical chips < 10% localised (seeds/004_04d71fc19d7d077d.txt:9-21, :632-640); "
        "sanctions on lithium batteries (seeds/001_52e3b34853073898.txt:32-33); substitute parts and targeted support (:50)"
    )
    name: str = "sanctions_shock"
    budget_mcny_per_year: float = 0.0
    target_tracks: list[str] = field(default_factory=lambda: list(EXPOSED_TRACKS))
    shock_growth: float = F(-0.3, '1/yr', "Extra log revenue growth of the exposed tracks' firms (negative: lost parts and markets).")
    shock_screen: float = F(0.3, 'sd', "Investors' screening bar in exposed tracks rises by this much.")
    support_capacity_per_year: float = F(0.0, 'firms/yr at scale 1', 'Targeted support (精准支持): exposed firms supported per year; 0 = the shock alone.')
    support_grant_mcny: float = F(0.5, 'mcny', 'Grant per supported firm.')
    support_closure_relief: float = F(0.3, 'share', 'Closure hazard of a supported firm times (1 - relief).')
    support_growth: float = F(0.15, '1/yr', 'Growth given back to a supported firm (substitute parts coordination).')
    support_years: float = F(2.0, 'years', 'Length of the support.')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "shock_growth", self.shock_growth, ge=-3, le=0, unit="1/yr")
        check_range(self.name, "shock_screen", self.shock_screen, ge=0, le=5, unit="sd")
        check_range(self.name, "support_capacity_per_year", self.support_capacity_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "support_grant_mcny", self.support_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "support_closure_relief", self.support_closure_relief, ge=0, lt=1, unit="share")
        check_range(self.name, "support_growth", self.support_growth, ge=0, le=3, unit="1/yr")
        check_range(self.name, "support_years", self.support_years, gt=0, le=10, unit="years")
        if not self.targeted():
            raise ConfigError(f"policy.{self.name}: a sanctions shock needs exposed target_tracks or target_directions.")

    def check_combination(self, policies) -> None:
        for p in policies:
            if p is self or not isinstance(p, SanctionsShock):
                continue
            if set(p.target_tracks) & set(self.target_tracks) or set(p.target_directions) & set(self.target_directions):
                raise ConfigError(
                    f"policies {self.name} and {p.name} both put a sanctions shock on the same tracks; apply the "
                    f"shock once (a configuration with support_capacity_per_year > 0, like targeted_support, includes it)."
                )

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model)
        self.levers.set_track(model, "growth_bonus", np.where(mask, self.shock_growth, 0.0))
        self.levers.set_track(model, "screen_shift", np.where(mask, self.shock_screen, 0.0))
        k = self.monthly_slots(model, self.support_capacity_per_year)
        if k <= 0:
            return
        pop = model.population
        rows = np.flatnonzero(mask[pop["track"]])
        done = self.supported()
        if done.size:
            rows = rows[~np.isin(pop["id"][rows], done)]
        rows = self.random_order(model, rows)[:k]
        if rows.size == 0:
            return
        if self.support_grant_mcny > 0:
            got = self.grant(model, government, rows, self.support_grant_mcny)
            rows = rows[got > 0]
        until = model.current_step + int(round(12 * self.support_years))
        self.support.add(model, rows, until, growth=self.support_growth, closure=1.0 - self.support_closure_relief)
        self.note_supported(model, rows)


# --------------------------------------------------------------------------------------------
# 14. Entry subsidies and easier registration
# --------------------------------------------------------------------------------------------


@register
@dataclass
class EntrySubsidy(_Intervention):
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
    subsidy_mcny: float = F(0.02, 'mcny', 'Subsidy per new firm (registration, first rent).')
    capacity_per_year: float = F(50_000.0, 'firms/yr at scale 1', 'Subsidised new firms per year (first come).')
    entry_response: float = F(0.1, 'share', 'Births rise by this share when every new firm is subsidised (times the share covered; assumed).')
    registration_boost: float = F(0.05, 'share', 'Births rise by this share from easier registration (一室多照, 工位注册制); no public cost (assumed).')

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
        shares = {"independent": 1.0 - fcfg.alumni_share - fcfg.spinoff_share, "spinoff": fcfg.spinoff_share, "alumni": fcfg.alumni_share}
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


# --------------------------------------------------------------------------------------------
# Configuration: conf/policy/<name>.yaml entries -> policy objects
# --------------------------------------------------------------------------------------------


def available_policies() -> list[str]:
    """Names of the policy configurations in conf/policy/."""
    from sim.configure import presets

    return presets("policy")


def policy_from_entry(name: str, entry) -> Policy:
    """One policy from its configuration entry (the mapping under ``policy.<name>``)."""
    from collections.abc import Mapping

    from omegaconf import OmegaConf

    if OmegaConf.is_config(entry):
        entry = OmegaConf.to_container(entry, resolve=True)
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"policy.{name}={entry!r} is not a group of keys; select a policy with policy=[{name}] "
            f"(a file conf/policy/{name}.yaml) or give its keys as policy.{name}.<key>=<value>."
        )
    d = dict(entry)
    kind = d.get("kind") or (name if name in REGISTRY else None)
    if kind is None:
        raise ConfigError(
            f"policy.{name} has no kind; add policy.{name}.kind, one of {', '.join(sorted(REGISTRY))}."
        )
    if d.get("name", name) != name:
        raise ConfigError(f"policy.{name}.name={d['name']!r} differs from its key {name!r}; leave name out.")
    d["name"] = name
    d["kind"] = kind
    return Policy.from_dict(d)


def policies_from_config(cfg) -> list[Policy]:
    """The policies of a configuration (``cfg.policy``), checked one by one and as a set.

    Raises :class:`ConfigError` naming the key on an unknown kind or key, a value out of
    range, an unknown target track, a combination that cannot be (the same shock twice, two
    policies with one name) or budgets that do not fit in the government's."""
    from agents.governments import check_policies
    from sim.tracks import load_track_system

    entries = cfg.policy or {}
    policies = [policy_from_entry(str(name), entry) for name, entry in entries.items() if entry is not None]
    if not policies:
        return []
    check_policies(
        policies,
        government_budget=cfg.ecosystem.government.budget_mcny_per_year,
        scale=cfg.scale,
        start_year=cfg.ecosystem.start_year,
        years=cfg.years,
    )
    wanted = [p for p in policies if p.target_tracks]
    if wanted:
        try:
            specs = load_track_system(cfg.ecosystem.tracks.system)
        except ConfigError:
            specs = None  # reported on its own by the track-system check
        if specs is not None:
            class _Keys:  # the only attribute check_tracks reads
                key = [s.key for s in specs]

            for p in wanted:
                p.check_tracks(_Keys)
    return policies


#: The files of conf/policy/: name -> (kind, values that differ from the kind's defaults), in
#: the order of the issue's list of interventions.
CONFIGS: dict[str, tuple[str, dict]] = {
    "guidance_fund": ("guidance_fund", {}),
    "state_incubator": ("state_incubator", {}),
    "rd_grants": ("rd_grants", {}),
    "proof_of_concept": ("proof_of_concept", {}),
    "scene_opening": ("scene_opening", {}),
    "credit_relaxation": ("credit_relaxation", {}),
    "exit_channels": ("exit_channels", {}),
    "long_term_capital": ("long_term_capital", {}),
    "talent_programme": ("talent_programme", {}),
    "tech_transfer_reform": ("tech_transfer_reform", {}),
    "stage_cultivation": ("stage_cultivation", {}),
    "local_patience": ("track_cultivation", {}),
    "sanctions_shock": ("sanctions_shock", {}),
    "targeted_support": (
        "sanctions_shock",
        {
            "budget_mcny_per_year": 300.0,
            "support_capacity_per_year": 400.0,
            "description": "The sanctions shock with targeted support (精准支持) of exposed firms as its mitigation.",
        },
    ),
    "entry_subsidy": ("entry_subsidy", {}),
}


def configured_policy(name: str, **overrides) -> Policy:
    """The policy of ``conf/policy/<name>.yaml`` as the code defines it (no Hydra needed)."""
    if name not in CONFIGS:
        raise ConfigError(f"no policy configuration {name!r}; available: {', '.join(CONFIGS)}.")
    kind, values = CONFIGS[name]
    return Policy.from_dict({"kind": kind, **values, **overrides, "name": name})


def check_policy_key(key: str) -> None:
    """Check an override ``policy.<name>.<param>`` of a policy from conf/policy/ before Hydra
    composes it (Hydra would only say the key is not in the config)."""
    import dataclasses
    import difflib

    import yaml

    from sim.configure import conf_dir

    parts = key.split(".")
    if len(parts) < 3:
        return
    name, param = parts[1], parts[2]
    path = conf_dir() / "policy" / f"{name}.yaml"
    if not path.is_file():
        return
    entry = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(name) or {}
    kind = entry.get("kind", name)
    if kind not in REGISTRY:
        return
    allowed = ["kind"] + [f.name for f in dataclasses.fields(REGISTRY[kind]) if f.name != "name"]
    if param not in allowed:
        hint = difflib.get_close_matches(param, allowed, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(f"Unknown policy key {key!r}.{extra} Allowed keys of a {kind} policy: {', '.join(allowed)}.")

"""The venture-capital fund cycle: funds wind down, managers raise new funds, preferences drift.

Once a year (at year end) angels get their next year's budget (spent through the year, at most
``angels.pace_slack`` times an even pace), and VC funds older than
``life_years`` (times the ``fund_life_multiplier`` lever in force when they were raised) return
their uninvested cash. A manager raises the next fund ``raise_after_years`` after the last
vintage if the interim TVPI (distributions plus marked value over paid-in) is at least
``min_tvpi_to_raise``, sized ``last size * TVPI ** tvpi_size_elasticity`` (0.5x to 2.5x), within
the limited partners' commitments for the year (``commitments_mcny_per_year`` times ``scale``
times the ``lp_multiplier`` lever); managers who fall short retire. New managers get
``newcomer_share`` of the commitments, and what the managers due that year did not take, in funds
of log-normal size around ``fund_size_mcny`` (``late_size_multiple`` times that for the growth funds,
focused on rounds C and later); less than a fund's worth left over is carried to the
next year (``lp_carry``), so that the park raises its commitments at every scale. A fund raised at
a year end starts investing in one of the next twelve months, drawn for its manager
(:meth:`FundCycle.first_month`): funds close through the year.
Every open fund's track preferences then drift toward where the heat is (``heat_following``).

Guidance funds (引导基金) of the preset come in programmes (``guidance.count``): each has one
fund investing at a time; at a year end a fund whose investment period is over hands its
uninvested cash back, and a programme whose fund's period ends within the next year raises its
next vintage, sized ``fund_size_mcny * (1 + size_growth) ** (years from start_year)``, to start
the month the old one stops (the government's growing yearly commitments).

Money in million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.investors.books import Angel, GuidanceFund, VCFund
from sim.core.clock import is_year_end

__all__ = ["FundCycle"]

#: During the warm-up (ecosystem.warmup_ramp) outside money grows with the park's demand: a fund
#: raised now invests over its investment period, on average about this long after it is raised; the
#: first funds, part-way through theirs, invest what they have left sooner.
FUND_LEAD_YEARS = 2.5
FIRST_FUNDS_LEAD_YEARS = 1.0

# slots of the keyed "vc_funds" stream
_SLOT_ORDER, _SLOT_SIZE, _SLOT_FOCUS, _SLOT_PREFS, _SLOT_START = range(5)


class FundCycle:
    """The VC fund cycle of one capital market."""

    def __init__(self, market):
        self.market = market
        self.model = market.model
        self.managers: dict[int, VCFund] = {}  # manager id -> latest fund
        self._next_manager = 0
        self._next_policy_manager = 0
        self.lp_carry = 0.0  # LP commitments of past years no fund has taken yet, mcny
        self.draws = self.model.streams.keyed("vc_funds")

    def year_end(self) -> None:
        """At the end of each year: the fund cycle, then the preferences' drift."""
        step = self.model.current_step
        if not is_year_end(step):
            return
        self.cycle(step)
        self.drift_prefs()

    def new_manager_id(self, *, policy: bool = False) -> int:
        """A new manager's id. Managers a policy brings in are numbered apart (from 10**9), so
        that the ids of the others, and the draws keyed by them, do not depend on the policy."""
        if policy:
            self._next_policy_manager += 1
            return 10**9 + self._next_policy_manager
        self._next_manager += 1
        return self._next_manager

    def new_guidance_fund(self, start_step: int, *, programme: int, weight: float) -> GuidanceFund:
        """A vintage of guidance-fund programme ``programme`` starting at ``start_step``, sized
        ``fund_size_mcny * (1 + size_growth) ** (years from start_year)`` times ``weight`` (the
        programmes it stands for at this scale)."""
        m = self.model
        gcfg = m.cfg.ecosystem.guidance
        size = gcfg.fund_size_mcny * weight * (1.0 + gcfg.size_growth) ** (start_step / 12.0) \
            * m.supply_share(max(start_step, -m.warmup_steps), "even", FUND_LEAD_YEARS)
        g = GuidanceFund(
            m,
            f"guidance fund {programme} ({m.year_of(start_step)})",
            capital=size,
            coinvest_ratio=gcfg.coinvest_ratio,
            return_cap=gcfg.return_cap,
            mandated_directions=gcfg.mandated_directions,
            start_step=start_step,
            life_years=gcfg.life_years,
            investment_period_years=gcfg.investment_period_years,
            paced=True,
        )
        g.programme = programme
        g.weight = weight
        self.market.add(g)
        return g

    def guidance_vintages(self, step: int) -> None:
        """The preset's guidance-fund programmes: a fund past its investment period hands its
        uninvested cash back to the government, and a programme whose fund's period ends within
        the next year raises the next vintage, to start when it ends."""
        for g in list(self.market.investors):
            if not isinstance(g, GuidanceFund) or g.stacks:
                continue
            end = g.start_step + int(round(12 * g.investment_period_years))
            if end <= step + 1 and g.cash > 0:
                g.return_unused()
            if not g.successor_raised and end <= step + 13:
                g.successor_raised = True
                self.new_guidance_fund(end, programme=g.programme, weight=g.weight)

    def cycle(self, step: int) -> None:
        """Angels renew budgets, funds past their life wind down, managers raise; guidance-fund
        programmes raise their next vintages (:meth:`guidance_vintages`)."""
        m = self.model
        market = self.market
        vcfg = m.cfg.ecosystem.vc
        draws = self.draws
        for a in market.investors:
            if isinstance(a, Angel):
                a.new_year(step + 1, m.supply_share(step + 1, "seed"))
            elif isinstance(a, VCFund) and not a.closed and a.age_years(step) >= a.life_years:
                a.wind_down()
                market.invalidate_fund_view()
        self.guidance_vintages(step)
        budget = vcfg.commitments_mcny_per_year * m.scale * m.levers.value("lp_multiplier") \
            * m.supply_share(step, "even", FUND_LEAD_YEARS)
        newcomer_budget = budget * vcfg.newcomer_share
        incumbent_budget = budget - newcomer_budget
        newcomer_budget += self.lp_carry  # what last year's funds left of the commitments
        nav = market.nav()
        # incumbents, in a random order, raise while commitments last
        due = [f for f in self.managers.values() if f.age_years(step) >= vcfg.raise_after_years]
        u = draws.uniform(np.array([f.manager_id for f in due], dtype=np.uint64), step, _SLOT_ORDER)
        for i in np.argsort(u, kind="stable"):
            f = due[i]
            paid = f.invested
            tvpi = (f.proceeds + nav[f.index]) / paid if paid > 0 else 1.0
            if tvpi < vcfg.min_tvpi_to_raise:  # the manager retires
                self.managers.pop(f.manager_id, None)
                continue
            size = f.size * float(np.clip(tvpi**vcfg.tvpi_size_elasticity, 0.5, 2.5))
            if size > incumbent_budget:
                continue
            incumbent_budget -= size
            self.new_fund(step, manager_id=f.manager_id, size=size, focus=f.focus, prefs=f.prefs.copy(),
                          start_step=self.first_month(step, f.manager_id))
        # what the incumbents due this year do not take goes to newcomers (LPs commit the year's money
        # to someone: without this a small park, whose budget fits fewer whole funds, raised less per firm)
        newcomer_budget += max(incumbent_budget, 0.0)
        # newcomers: the k-th newcomer of a year has the same size, focus and preferences whatever
        # the budget (keyed draws), so a change of the budget changes how many newcomers raise, not who
        k = 0
        while True:
            key = np.array([k], dtype=np.uint64)
            focus = "early" if draws.uniform(key, step, _SLOT_FOCUS)[0] < vcfg.early_stage_share else "late"
            size = vcfg.fund_size_mcny * float(np.exp(vcfg.fund_size_sigma * draws.normal(key, step, _SLOT_SIZE)[0]))
            size = self.by_focus(size, focus)
            size = (
                min(size, max(newcomer_budget, 0.0))
                if newcomer_budget < size and newcomer_budget > 0.2 * vcfg.fund_size_mcny
                else size
            )
            if size > newcomer_budget or size <= 0:
                break
            newcomer_budget -= size
            n = self.model.tracks.n
            z = draws.normal(np.uint64(k << 20) + np.arange(n, dtype=np.uint64), step, _SLOT_PREFS)
            manager = self.new_manager_id()
            self.new_fund(step, manager_id=manager, size=size, focus=focus, prefs=self.prefs_from(z),
                          start_step=self.first_month(step, manager))
            k += 1
        self.lp_carry = max(newcomer_budget, 0.0)  # less than a fund: carried to next year

    def initial_prefs(self, rng: np.random.Generator) -> np.ndarray:
        """A new manager's track preferences: a few favourite tracks, sized by market and heat."""
        return self.prefs_from(rng.standard_normal(self.model.tracks.n))

    def prefs_from(self, z: np.ndarray) -> np.ndarray:
        """Track preferences from one standard normal number per track: square-root market times
        heat times ``exp(1.5 z)``, normalised."""
        t = self.model.tracks
        w = np.where(t["active"], np.sqrt(t["market"]) * t["heat"], 0.0) * np.exp(1.5 * z)
        s = w.sum()
        return w / s if s > 0 else np.full(t.n, 1.0 / max(t.n, 1))

    def by_focus(self, size: float, focus: str) -> float:
        """A new manager's fund ``size`` for its ``focus``: growth funds (``"late"``: rounds C and
        later) are ``vc.late_size_multiple`` times larger."""
        return size * self.model.cfg.ecosystem.vc.late_size_multiple if focus == "late" else size

    def first_month(self, step: int, manager_id: int) -> int:
        """The month a fund raised at the year end ``step`` starts investing: one of the next twelve,
        drawn for its manager (funds close through the year, not all on New Year's Day)."""
        u = self.draws.uniform(np.array([manager_id], dtype=np.uint64), step, _SLOT_START)[0]
        return step + 1 + min(int(12 * u), 11)

    def new_fund(self, step: int, *, manager_id: int, size: float, focus: str, prefs: np.ndarray,
                 start_step: int | None = None) -> VCFund:
        """A new VC fund of ``manager_id``, raised at ``step``, investing from ``start_step`` (by
        default ``step``)."""
        m = self.model
        vcfg = m.cfg.ecosystem.vc
        start = step if start_step is None else start_step
        f = VCFund(
            m,
            f"VC fund {len(self.market.investors)} (manager {manager_id}, {m.year_of(start)})",
            manager_id=manager_id,
            vintage_step=start,
            raised_step=step,
            size=size,
            focus=focus,
            prefs=prefs,
            life_years=vcfg.life_years * m.levers.value("fund_life_multiplier"),
            investment_period_years=vcfg.investment_period_years,
            reserve_ratio=vcfg.reserve_ratio,
        )
        self.market.add(f)
        self.managers[manager_id] = f
        return f

    def drift_prefs(self) -> None:
        """Open funds' track preferences move toward where the heat is."""
        m = self.model
        tr = m.tracks
        heat = np.where(tr["active"], tr["heat"] * np.sqrt(tr["market"]), 0.0)
        s = heat.sum()
        share = heat / s if s > 0 else heat
        w = m.cfg.ecosystem.vc.heat_following
        for f in self.market.investors:
            if isinstance(f, VCFund) and not f.closed:
                f.drift_prefs(share, w)
        self.market.invalidate_fund_view()

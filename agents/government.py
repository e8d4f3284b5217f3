"""Governments: a yearly budget and a list of policies (plug-in objects, :mod:`sim.policies.base`).

The government runs its policies every step, in the order given, and keeps the books of
public money: no policy may spend more than its own budget, and the total never exceeds the
government's budget for the year (``ecosystem.government.budget_mcny_per_year`` times
``scale``). Money that flows back (incubator royalties, the capped proceeds of a guidance
fund) is recorded as receipts; receipts go to the treasury and do not raise the year's
spending room. The baseline has no policy.

When the model is built, the policies are checked as a set (:func:`check_policies`): names
must be unique, and the yearly budgets of the policies in force in the same year must fit in
the government's budget, otherwise a :class:`sim.config.ConfigError` says by how much.

The government also keeps a **gazelle list** (:class:`GazelleList`): the firms it names and
cultivates as gazelles, like 深圳高新区's "截至 2019 年共培育瞪羚企业 207 家"
(seeds/004_04d71fc19d7d077d.txt:517-519). Each year from ``gazelle_list.first_year`` the firms that
pass its criteria (a gazelle definition of ``stages``) apply with probability ``apply_probability``;
the government ranks the applicants by their growth rate over the test's window, seen with an error
of ``evaluation_noise``, and adds the best to the list up to its quota (``quota_per_year`` at scale 1).
A firm is listed once. The list is recognition only: support for listed firms is a policy's
business (``stage_cultivation``).
"""

from __future__ import annotations

import dataclasses

import mesa
import numpy as np

from sim.core.clock import is_year_end, years_since
from sim.core.errors import ConfigError
from sim.stages import gazelle_mask

# slots of the keyed "government" stream
_SLOT_APPLY, _SLOT_REVIEW = range(2)


def check_policies(policies, *, government_budget: float, scale: float, start_year: int, years: int) -> None:
    """Check a set of policies before a run; raise ConfigError with one line on a problem.

    ``government_budget`` is in mcny/yr at scale 1, like the policies' budgets."""
    names = [p.name for p in policies]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"policy name(s) {', '.join(dup)} used twice; give each policy its own name.")
    for p in policies:
        first = p.start_year or start_year
        if p.end_year < first:
            raise ConfigError(
                f"policy.{p.name}.end_year={p.end_year} is before the policy's first year {first} "
                f"(start_year={p.start_year}; 0 means the first observed year, {start_year})."
            )
    end = start_year + max(years, 1) - 1
    for year in range(start_year, end + 1):
        in_force = [p for p in policies if (p.start_year or start_year) <= year <= p.end_year]
        total = sum(p.budget_mcny_per_year for p in in_force)
        if total > government_budget * (1 + 1e-12):
            parts = ", ".join(f"{p.name} {p.budget_mcny_per_year:g}" for p in in_force)
            raise ConfigError(
                f"policy budgets in {year} add up to {total:g} mcny/yr ({parts}), more than "
                f"ecosystem.government.budget_mcny_per_year={government_budget:g}; raise the government's "
                "budget or lower the policies' budget_mcny_per_year (both at scale 1)."
            )
    for p in policies:
        p.check_combination(policies)


class Government(mesa.Agent):
    """A local (park or city) government."""

    kind = "government"

    def __init__(self, model, name: str, *, budget_per_year: float, policies=()):
        super().__init__(model)
        self.name = name
        self.budget_per_year = budget_per_year
        self.policies = list(policies)
        self.spent_total = 0.0
        self.spent_this_year = 0.0
        self.spent_this_step = 0.0
        self.received_total = 0.0
        self.spent_by_policy: dict[str, float] = {p.name: 0.0 for p in self.policies}
        self.received_by_policy: dict[str, float] = {p.name: 0.0 for p in self.policies}
        self.gazelle_list = GazelleList(model)

    def adopt(self, policies) -> None:
        """Take on ``policies`` in place of the present ones, before the first observed month (a run
        branched from a shared warm-up, :class:`sim.run.WarmStart`), and set them up."""
        if self.model.current_step > 0 or self.spent_total or self.received_total:
            raise RuntimeError("policies can be adopted only before the observed window has begun")
        self.policies = list(policies)
        self.spent_by_policy = {p.name: 0.0 for p in self.policies}
        self.received_by_policy = {p.name: 0.0 for p in self.policies}
        self.setup()

    def setup(self) -> None:
        m = self.model
        if self.policies:
            scale = m.scale if m.scale > 0 else 1.0
            check_policies(
                self.policies,
                government_budget=self.budget_per_year / scale,
                scale=m.scale,
                start_year=m.start_year,
                years=m.cfg.years,
            )
        for p in self.policies:
            p.setup(m)

    def room(self) -> float:
        """Budget left this year."""
        return max(0.0, self.budget_per_year - self.spent_this_year)

    def spend(self, policy_name: str, amount: float) -> float:
        """Record public spending by a policy; returns what could actually be spent."""
        amount = max(0.0, min(amount, self.room()))
        self.spent_total += amount
        self.spent_this_year += amount
        self.spent_this_step += amount
        self.spent_by_policy[policy_name] = self.spent_by_policy.get(policy_name, 0.0) + amount
        return amount

    def receive(self, policy_name: str, amount: float) -> None:
        """Record money flowing back to the treasury through a policy."""
        self.received_total += amount
        self.received_by_policy[policy_name] = self.received_by_policy.get(policy_name, 0.0) + amount

    def step(self) -> None:
        """The policies phase: a new year's budget in January, then every policy's month
        (each decides whether it is in force); the month's public spending is counted."""
        m = self.model
        self.spent_this_step = 0.0
        if m.current_step % 12 == 0:
            self.new_year()
        for p in self.policies:
            p.tick(m, self)
        m.counts["public_spending"] = self.spent_this_step

    def new_year(self) -> None:
        self.spent_this_year = 0.0

    def year_end(self) -> None:
        """At each year end: the government's gazelle list (:class:`GazelleList`)."""
        self.gazelle_list.year_end()

    def finish(self) -> None:
        """After the last step: what the policies' funds got back in the last month is booked in
        that month (``Policy.book_distributions``), then every policy finishes."""
        last = self.model.end_step - 1
        for p in self.policies:
            if p.has_started:
                p.book_distributions(self.model, self, last)
            p.finish(self.model)


class GazelleList:
    """The government's list of cultivated gazelles (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.cfg = model.cfg.ecosystem.government.gazelle_list
        self.draws = model.streams.keyed("government")
        self._quota = 0.0  # places carried over (fractions at small scales)
        #: one entry per listing: firm id, year, revenue, growth rate, track
        self.entries: list[dict[str, np.ndarray]] = []
        self._listed = np.empty(0, dtype=np.int64)

    def listed(self) -> np.ndarray:
        """Ids of the firms on the list."""
        return self._listed

    def year_end(self) -> None:
        """At a year end in the list's years: applications, review and the year's listings."""
        m = self.model
        cfg = self.cfg
        step = m.current_step
        if cfg.quota_per_year <= 0 or not is_year_end(step) or step < 0:
            return
        year = m.year_of(step)
        if year < (cfg.first_year or m.start_year):
            return
        self._quota += cfg.quota_per_year * m.scale
        k = int(self._quota)
        pop = m.population
        if k <= 0 or pop.n == 0:
            return
        stages = dataclasses.replace(m.cfg.stages, gazelle_definition=cfg.criteria)
        ok = gazelle_mask(pop["emp_hist"], pop["rev_hist"], years_since(step + 1, pop["born"]), stages)
        ok &= ~np.isin(pop["id"], self._listed)
        rows = np.flatnonzero(ok)
        rows = rows[self.draws.uniform(pop["hkey"][rows], step, _SLOT_APPLY, prehashed=True) < cfg.apply_probability]
        if rows.size == 0:
            return
        growth = self.growth_rate(rows, stages)
        score = growth + cfg.evaluation_noise * self.draws.normal(pop["key"][rows], step, _SLOT_REVIEW)
        chosen = rows[np.argsort(-score, kind="stable")[:k]]
        self._quota -= chosen.size
        ids = pop["id"][chosen].copy()
        self._listed = np.concatenate([self._listed, ids])
        self.entries.append({
            "firm_id": ids,
            "year": np.full(ids.size, year, dtype=np.int16),
            "revenue": pop["revenue"][chosen].copy(),
            "growth": growth[np.argsort(-score, kind="stable")[:k]],
            "track_id": pop["track"][chosen].astype(np.int32),
        })

    def growth_rate(self, rows: np.ndarray, stages) -> np.ndarray:
        """Annualised growth over the criteria's window: revenue for tiered_cn (and oecd measured in
        revenue), employees otherwise."""
        pop = self.model.population
        if stages.gazelle_definition == "tiered_cn":
            hist, window = pop["rev_hist"][rows], stages.tiered_cn_window_years
        else:
            by_rev = stages.gazelle_definition == "oecd" and stages.gazelle_measure == "revenue"
            hist = (pop["rev_hist"] if by_rev else pop["emp_hist"])[rows]
            window = stages.gazelle_window_years
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (hist[:, -1] / hist[:, -1 - window]) ** (1.0 / window) - 1.0
        return np.nan_to_num(g, nan=0.0, posinf=0.0)

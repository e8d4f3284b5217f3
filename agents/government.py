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
"""

from __future__ import annotations

import mesa

from sim.core.errors import ConfigError


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

    def finish(self) -> None:
        for p in self.policies:
            p.finish(self.model)

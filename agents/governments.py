"""Governments: a yearly budget and a list of policies (plug-in objects, :mod:`sim.policies`).

The government runs its policies every step, in the order given, and keeps the books of
public spending: no policy may spend more than its own budget, and the total never exceeds
the government's budget for the year. The baseline has no active policy.
"""

from __future__ import annotations

import mesa


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
        self.spent_by_policy: dict[str, float] = {p.name: 0.0 for p in self.policies}

    def setup(self) -> None:
        for p in self.policies:
            p.setup(self.model)

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

    def act(self, step: int) -> None:
        """Run every policy that is active at ``step``."""
        for p in self.policies:
            if p.active(self.model, step):
                p.step(self.model, self)

    def new_year(self) -> None:
        self.spent_this_year = 0.0

    def finish(self) -> None:
        for p in self.policies:
            p.finish(self.model)

    def step(self) -> None:  # behaviour runs in the model's phases
        return None

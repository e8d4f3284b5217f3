"""Policy plug-ins: the base class every intervention derives from.

A policy has a name, a start and end year, a budget (million CNY per year), targets (tracks,
stages, origins) and a plain-text description. The model calls :meth:`Policy.setup` once,
:meth:`Policy.step` every month while the policy is active, and :meth:`Policy.finish` at the
end. A policy spends public money only through ``government.spend``, which enforces the
budgets and records the spending in the outputs.

A policy draws randomness only from its own named stream (``model.streams["policy:<name>"]``),
so adding a policy never changes the random numbers any other part of the model sees: a
policy that never becomes active leaves a run byte-identical to the baseline.

The concrete interventions (guidance funds, incubators, grants, scenes, credit, ...) are
registered in :data:`REGISTRY` and configured from ``conf/policy/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from sim.config import ConfigError

REGISTRY: dict[str, type["Policy"]] = {}


def register(cls):
    REGISTRY[cls.kind] = cls
    return cls


@dataclass
class Policy:
    """Base class of an intervention."""

    kind: ClassVar[str] = "policy"
    name: str = "policy"
    start_year: int = 0  # calendar year; 0 means the first observed year
    end_year: int = 9999  # last calendar year in force (inclusive)
    budget_mcny_per_year: float = 0.0
    target_tracks: list[str] = field(default_factory=list)  # track keys; empty = all
    target_stages: list[str] = field(default_factory=list)  # startup, gazelle, unicorn; empty = all
    target_origins: list[str] = field(default_factory=list)  # independent, spinoff, alumni; empty = all
    description: str = ""

    def __post_init__(self):
        self.validate()
        self.spent = 0.0
        self.spent_this_year = 0.0
        self._year = None

    # ---- configuration ---------------------------------------------------------------------
    def validate(self) -> None:
        if self.budget_mcny_per_year < 0:
            raise ConfigError(f"policy {self.name}: budget_mcny_per_year={self.budget_mcny_per_year} must be >= 0.")
        if self.end_year < self.start_year:
            raise ConfigError(
                f"policy {self.name}: end_year={self.end_year} is before start_year={self.start_year}."
            )
        for s in self.target_stages:
            if s not in ("startup", "gazelle", "unicorn"):
                raise ConfigError(f"policy {self.name}: target_stages contains {s!r}; use startup, gazelle or unicorn.")
        for o in self.target_origins:
            if o not in ("independent", "spinoff", "alumni"):
                raise ConfigError(
                    f"policy {self.name}: target_origins contains {o!r}; use independent, spinoff or alumni."
                )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["kind"] = self.kind
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Policy":
        d = dict(d)
        kind = d.pop("kind", cls.kind)
        klass = REGISTRY.get(kind, cls) if cls is Policy else cls
        names = {f.name for f in dataclasses.fields(klass)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(
                f"policy {d.get('name', kind)!r}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}."
            )
        return klass(**d)

    # ---- life cycle ------------------------------------------------------------------------
    def active(self, model, step: int) -> bool:
        year = model.year_of(step)
        start = self.start_year or model.start_year
        return start <= year <= self.end_year

    def setup(self, model) -> None:
        """Called once before the first step."""

    def step(self, model, government) -> None:
        """Called every month while the policy is active."""

    def finish(self, model) -> None:
        """Called once after the last step."""

    def spend(self, model, government, amount: float) -> float:
        """Spend public money within this policy's yearly budget; returns what was spent."""
        year = model.year_of(model.current_step)
        if year != self._year:
            self._year = year
            self.spent_this_year = 0.0
        amount = max(0.0, min(amount, self.budget_mcny_per_year - self.spent_this_year))
        amount = government.spend(self.name, amount)
        self.spent += amount
        self.spent_this_year += amount
        return amount

    def describe(self) -> str:
        return self.description or (self.__doc__ or self.kind).strip().splitlines()[0]

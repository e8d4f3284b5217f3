"""The Mesa agent of one firm: a view onto its row of the columnar population.

Any firm can be inspected as an agent (``model.firm(firm_id)``), and firms that need individual
attention (unicorns) are registered with the model as agents.
"""

from __future__ import annotations

import mesa

from sim.core.vocabulary import END_KINDS, ORIGINS, STAGES


class Firm(mesa.Agent):
    """A view of one firm as a Mesa agent.

    The state lives in the model's columnar population; this object reads it by ``firm_id``,
    so it always shows the current values (or the final ones once the firm has ended).
    """

    def __init__(self, model, firm_id: int):
        super().__init__(model)
        self.firm_id = int(firm_id)

    def _get(self, name: str):
        pop = self.model.population
        row = pop.row(self.firm_id)
        if row >= 0:
            return pop[name][row]
        rec_name = {"raised": "total_raised", "track": "track_id", "born": "born_step"}.get(name, name)
        if rec_name in pop.records:
            return pop.records[rec_name][self.firm_id]
        return None

    @property
    def alive(self) -> bool:
        return self.model.population.row(self.firm_id) >= 0

    @property
    def end_kind(self):
        code = int(self.model.population.records["end_kind"][self.firm_id])
        return END_KINDS[code]

    @property
    def origin(self) -> str:
        return ORIGINS[int(self.model.population.records["origin"][self.firm_id])]

    @property
    def track(self) -> str:
        return self.model.tracks.name[int(self.model.population.records["track_id"][self.firm_id])]

    @property
    def stage(self) -> str | None:
        s = self._get("stage")
        return STAGES[int(s)] if s is not None and self.alive else None

    def __getattr__(self, name):
        if name in ("quality", "employees", "revenue", "cash", "valuation", "raised", "born", "rounds", "debt"):
            value = self._get(name)
            return None if value is None else value.item() if hasattr(value, "item") else value
        raise AttributeError(name)

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"ended ({self.end_kind})"
        return f"Firm(id={self.firm_id}, track={self.track!r}, {state})"

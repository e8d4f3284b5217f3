"""The instruments a policy combines beyond money and levers: time-limited support of
individual firms (:class:`Support`), and the slots of a policy's keyed draws.

Cash grants and spending are :meth:`sim.policies.base.Policy.grant` and ``spend``; the levers
and a policy's contributions to them are in :mod:`sim.levers`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Support", "SLOT_SELECT", "SLOT_ORDER", "SLOT_TRACK", "SLOT_STUDENT", "SLOT_LOAN"]

# slots of a policy's keyed draws (``policy:<name>``)
SLOT_SELECT, SLOT_ORDER, SLOT_TRACK, SLOT_STUDENT, SLOT_LOAN = range(5)


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
        pop.supported = True
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

"""The instruments a policy combines beyond money and levers: time-limited support of
individual firms (:class:`Support`), a programme's share of its firms' R&D and their response
to it (:class:`RDCostShare`), and the slots of a policy's keyed draws.

Cash grants and spending are :meth:`sim.policies.base.Policy.grant` and ``spend``; the levers
and a policy's contributions to them are in :mod:`sim.levers`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Support", "RDCostShare", "SLOT_SELECT", "SLOT_ORDER", "SLOT_TRACK", "SLOT_STUDENT", "SLOT_LOAN",
           "SLOT_POOL_APPLY", "SLOT_POOL_PICK"]

# slots of a policy's keyed draws (``policy:<name>``)
SLOT_SELECT, SLOT_ORDER, SLOT_TRACK, SLOT_STUDENT, SLOT_LOAN, SLOT_POOL_APPLY, SLOT_POOL_PICK = range(7)


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


class RDCostShare:
    """The R&D response of firms whose R&D a programme pays a share of (rd_grants, the Magnet
    consortia of ocs_programmes).

    A firm whose programme pays a share ``s`` of its R&D at the margin faces a user cost of R&D
    of ``1 - s``; its R&D staff share is multiplied by ``(1 - s) ** -ecosystem.rd.user_cost_elasticity``
    (the same response as to a tax credit), at most all of its paid staff. The multiplier of
    each firm of the programme is held here, aligned with the programme's list of firm ids, and
    written into the population's ``support_rd`` column (multiplied in, so that programmes
    combine); :meth:`set` replaces it, and setting 1 takes it back.
    """

    def __init__(self):
        self.factor = np.empty(0)  # the multiplier of each firm's R&D staff share now in support_rd

    def add(self, n: int) -> None:
        """``n`` new firms at the end of the programme's list, without a response yet."""
        self.factor = np.concatenate([self.factor, np.ones(n)])

    @staticmethod
    def request(model, rows: np.ndarray, share: float, room) -> np.ndarray:
        """The grants the firms at ``rows`` ask for: ``share`` of their R&D spending of the last
        month (``rd_last``), at most ``room`` each."""
        return np.minimum(share * model.population["rd_last"][rows], room)

    @staticmethod
    def response(model, s):
        """The multiplier of the R&D staff share at a user cost of R&D of ``1 - s``."""
        return (1.0 - s) ** -model.cfg.ecosystem.rd.user_cost_elasticity

    def set(self, model, rows: np.ndarray, factor: np.ndarray) -> None:
        """Replace each live firm's multiplier (``rows``: the rows of the programme's firms, -1
        for the dead) by ``factor``."""
        pop = model.population
        change = (rows >= 0) & (factor != self.factor)
        if change.any():
            r = rows[change]
            pop["support_rd"][r] *= factor[change] / self.factor[change]
            pop.supported = True
        self.factor = np.where(rows >= 0, factor, 1.0)

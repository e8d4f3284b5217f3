"""The firm population: the columnar store of every firm's state.

Live firms occupy the dense prefix ``[0, n)`` of every *live column*; the rows are unordered.
Ending a firm swaps the last live rows into the holes, so removal costs O(ended firms), not
O(live firms). Randomness is keyed by each firm's birth key (``sim.rng``), never by its row,
so row order never changes a firm's fate.

*Record columns* are indexed by firm id and keep one entry per firm ever born: the birth facts
and, once the firm has ended, its end and final state. ``firms.parquet`` is read from them.
"""

from __future__ import annotations

import numpy as np

from sim.core.vocabulary import END_CODE, NEVER
from sim.stages import HISTORY_YEARS

# name: (dtype, trailing shape, fill value)
LIVE_COLUMNS: dict[str, tuple] = {
    "id": (np.int64, (), -1),
    "key": (np.uint64, (), 0),
    "hkey": (np.uint64, (), 0),  # KeyedDraws.prehash(key): what the per-step draws use
    "born": (np.int32, (), 0),
    "origin": (np.int8, (), 0),
    "track": (np.int32, (), 0),
    "quality": (np.float64, (), 0.0),
    "employees": (np.float64, (), 1.0),
    "revenue": (np.float64, (), 0.0),
    "cash": (np.float64, (), 0.0),
    "valuation": (np.float64, (), 0.0),
    "raised": (np.float64, (), 0.0),
    "shares": (np.float64, (), 1.0),
    "rounds": (np.int8, (), 0),
    "last_round": (np.int32, (), -(10**6)),
    "debt": (np.float64, (), 0.0),
    "debt_payment": (np.float64, (), 0.0),
    "bank": (np.int32, (), -1),
    "lead": (np.int64, (), -1),  # investor index of the last VC lead (for follow-on rounds)
    "stage": (np.int8, (), 0),
    "gazelle_flag": (np.bool_, (), False),
    "growth_12m": (np.float64, (), 0.0),
    "qsat": (np.float64, (), 0.0),  # saturated_quality(quality), fixed at founding (agents.firms.founding)
    "qdecay": (np.float64, (), 1.0),  # exp(-age / growth_age_decay_years), kept by multiplication
    "newness": (np.float64, (), 1.0),  # exp(-age / closure_decay_years), kept by multiplication
    "vol": (np.float64, (), 0.0),  # growth volatility, refreshed quarterly from employees
    # support from policies (sim.policies.instruments.Support); neutral values unless a programme supports the firm
    "support_growth": (np.float64, (), 0.0),  # extra log revenue growth, 1/yr
    "support_closure": (np.float64, (), 1.0),  # multiplier of the closure hazard
    "support_screen": (np.float64, (), 0.0),  # shift of the investors' screening bar, sd (negative = easier)
    "emp_hist": (np.float64, (HISTORY_YEARS,), np.nan),
    "rev_hist": (np.float64, (HISTORY_YEARS,), np.nan),
}

RECORD_COLUMNS: dict[str, tuple] = {
    "born_step": (np.int32, 0),
    "origin": (np.int8, 0),
    "track_id": (np.int32, -1),
    "end_step": (np.int32, NEVER),
    "end_kind": (np.int8, 0),
    "gazelle_step": (np.int32, NEVER),
    "unicorn_step": (np.int32, NEVER),
    "total_raised": (np.float64, 0.0),
    "employees": (np.float64, 0.0),
    "revenue": (np.float64, 0.0),
    "valuation": (np.float64, 0.0),
    "key": (np.uint64, 0),
    "quality": (np.float64, 0.0),
}


class FirmPopulation:
    """All firms: live state in dense columns, history in per-firm records."""

    def __init__(self, capacity: int = 1024):
        capacity = max(int(capacity), 16)
        self.n = 0
        self.n_ever = 0
        self._cap = capacity
        self.cols: dict[str, np.ndarray] = {}
        for name, (dtype, shape, fill) in LIVE_COLUMNS.items():
            self.cols[name] = np.full((capacity, *shape), fill, dtype=dtype)
        self._rcap = capacity
        self.rec: dict[str, np.ndarray] = {
            name: np.full(capacity, fill, dtype=dtype) for name, (dtype, fill) in RECORD_COLUMNS.items()
        }
        self.row_of = np.full(capacity, -1, dtype=np.int64)

    # ---- access --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        """The live part of a column (a view: writing to it updates the store)."""
        return self.cols[name][: self.n]

    def __len__(self) -> int:
        return self.n

    def row(self, firm_id: int) -> int:
        """Row of a live firm, or -1 if the firm has ended (or never existed)."""
        if firm_id < 0 or firm_id >= self.n_ever:
            return -1
        return int(self.row_of[firm_id])

    # ---- growth of the arrays --------------------------------------------------------------
    def _ensure_live(self, extra: int) -> None:
        need = self.n + extra
        if need <= self._cap:
            return
        cap = max(need, int(self._cap * 1.5) + 16)
        for name, (dtype, shape, fill) in LIVE_COLUMNS.items():
            new = np.full((cap, *shape), fill, dtype=dtype)
            new[: self.n] = self.cols[name][: self.n]
            self.cols[name] = new
        self._cap = cap

    def _ensure_records(self, extra: int) -> None:
        need = self.n_ever + extra
        if need <= self._rcap:
            return
        cap = max(need, int(self._rcap * 1.5) + 16)
        for name, (dtype, fill) in RECORD_COLUMNS.items():
            new = np.full(cap, fill, dtype=dtype)
            new[: self.n_ever] = self.rec[name][: self.n_ever]
            self.rec[name] = new
        row_of = np.full(cap, -1, dtype=np.int64)
        row_of[: self.n_ever] = self.row_of[: self.n_ever]
        self.row_of = row_of
        self._rcap = cap

    # ---- births and ends -----------------------------------------------------------------
    def add(self, step: int, **values) -> np.ndarray:
        """Add firms; ``values`` are arrays (or scalars) for live columns. Returns the new ids."""
        k = len(values["key"])
        if k == 0:
            return np.empty(0, dtype=np.int64)
        self._ensure_live(k)
        self._ensure_records(k)
        ids = np.arange(self.n_ever, self.n_ever + k, dtype=np.int64)
        rows = slice(self.n, self.n + k)
        for name, (dtype, shape, fill) in LIVE_COLUMNS.items():
            col = self.cols[name]
            if name in values:
                col[rows] = values[name]
            else:
                col[rows] = fill
        self.cols["id"][rows] = ids
        self.cols["born"][rows] = step
        rec = self.rec
        sl = slice(self.n_ever, self.n_ever + k)
        rec["born_step"][sl] = step
        rec["origin"][sl] = self.cols["origin"][rows]
        rec["track_id"][sl] = self.cols["track"][rows]
        rec["key"][sl] = self.cols["key"][rows]
        rec["quality"][sl] = self.cols["quality"][rows]
        self.row_of[sl] = np.arange(self.n, self.n + k)
        self.n += k
        self.n_ever += k
        return ids

    def end(self, rows: np.ndarray, step: int, kind: str) -> np.ndarray:
        """End the firms at ``rows`` (unique live rows) with an end kind. Returns their ids."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size == 0:
            return np.empty(0, dtype=np.int64)
        if rows[0] < 0 or rows[-1] >= self.n:
            raise IndexError("ending a row outside the live population")
        ids = self.cols["id"][rows].copy()
        # end_kind, not end_step, marks an ended firm: warm-up steps are negative, so an
        # end_step of -1 (December before start_year) is a real step, not "never ended"
        if np.any(self.rec["end_kind"][ids] != 0):
            raise RuntimeError("a firm cannot end twice")
        rec = self.rec
        rec["end_step"][ids] = step
        rec["end_kind"][ids] = END_CODE[kind]
        self.snapshot_records(rows)
        self.row_of[ids] = -1
        self._remove_rows(rows)
        return ids

    def snapshot_records(self, rows: np.ndarray | None = None) -> None:
        """Copy the current state of live firms (all, or ``rows``) into their records."""
        if rows is None:
            rows = np.arange(self.n)
        ids = self.cols["id"][rows]
        rec = self.rec
        rec["employees"][ids] = self.cols["employees"][rows]
        rec["revenue"][ids] = self.cols["revenue"][rows]
        rec["valuation"][ids] = self.cols["valuation"][rows]
        rec["total_raised"][ids] = self.cols["raised"][rows]
        rec["track_id"][ids] = self.cols["track"][rows]  # firms move when their track splits or merges

    def _remove_rows(self, rows: np.ndarray) -> None:
        k = rows.size
        new_n = self.n - k
        holes = rows[rows < new_n]
        tail = np.arange(new_n, self.n)
        tail_keep = tail[~np.isin(tail, rows, assume_unique=True)]
        if holes.size:
            for name in LIVE_COLUMNS:
                col = self.cols[name]
                col[holes] = col[tail_keep]
            self.row_of[self.cols["id"][holes]] = holes
        self.n = new_n

    # ---- summaries ---------------------------------------------------------------------------
    def live_ids(self) -> np.ndarray:
        return self["id"].copy()

"""The firm population: the columnar store of every firm's state.

Live firms occupy the dense prefix ``[0, n)`` of every *live column* (``population["cash"]``);
the rows are unordered. Ending a firm moves the last live rows into the holes, so removal costs
O(ended firms), not O(live firms). Randomness is keyed by each firm's birth key
(:mod:`sim.core.rng`), never by its row, so row order never changes a firm's fate.

*Record columns* (``population.records["end_kind"]``) are indexed by firm id and keep one entry
per firm ever born: the birth facts and, once the firm has ended, its end and final state.
``firms.parquet`` is read from them. Both are :class:`sim.core.columns.Columns` stores.

Who writes which live columns: the firm's own state is written by the firm rules
(:mod:`agents.firms.rules`, :mod:`agents.firms.founding`) and the stage bookkeeping
(:mod:`sim.stages`); the financing columns only by the capital market (:mod:`agents.investors`);
the contract columns only by the supply contracts (:mod:`agents.contracts`); the support columns
only by policy support (:class:`sim.policies.instruments.Support`).
"""

from __future__ import annotations

import numpy as np

from sim.core.columns import Columns
from sim.core.vocabulary import END_CODE, NEVER
from sim.stages import HISTORY_YEARS

# name: (dtype, trailing shape, fill value)
FIRM_COLUMNS: dict[str, tuple] = {
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
    "stage": (np.int8, (), 0),
    "gazelle_flag": (np.bool_, (), False),
    "growth_12m": (np.float64, (), 0.0),
    "qsat": (np.float64, (), 0.0),  # saturated_quality(quality), fixed at founding (agents.firms.founding)
    "qdecay": (np.float64, (), 1.0),  # exp(-age / growth_age_decay_years), kept by multiplication
    "newness": (np.float64, (), 1.0),  # exp(-age / closure_decay_years), kept by multiplication
    "vol": (np.float64, (), 0.0),  # growth volatility, refreshed quarterly from employees
    "vmix": (np.float64, (), 0.0),  # this calendar year's multiplier of vol (0: not drawn yet; rules.grow)
    "emp_hist": (np.float64, (HISTORY_YEARS,), np.nan),  # year-end headcounts, oldest first
    "rev_hist": (np.float64, (HISTORY_YEARS,), np.nan),  # year-end revenue, oldest first
    # R&D (agents.firms.rules, agents.firms.rd): the stock of R&D, what was spent and earned this
    # calendar year, last month's R&D spending and taxable profit (before the R&D super-deduction)
    "rd_stock": (np.float64, (), 0.0),  # mcny, perpetual inventory
    "rd_year": (np.float64, (), 0.0),  # R&D spending since January (or since founding), mcny
    "rev_year": (np.float64, (), 0.0),  # revenue earned since January (or since founding), mcny
    "rd_phi": (np.float64, (), 0.0),  # share of the paid staff in R&D in the last month
    "rd_last": (np.float64, (), 0.0),  # R&D spending of the last month, mcny
    "taxable": (np.float64, (), 0.0),  # profit of the last month before the R&D super-deduction, mcny
    "ip": (np.int32, (), 0),  # product breakthroughs and licences so far (the certification's own IP)
    "ht_since": (np.int32, (), NEVER),  # step of the first high-tech enterprise certification
    "ht_until": (np.int32, (), NEVER),  # the certificate is valid before this step
    # a venture-backed firm's last attempt (rules: firms.last_attempt_months): the step it began (it runs while no
    # equity round came after it) and the yearly draw on cash it spends the money at, mcny/yr
    "attempt_since": (np.int32, (), NEVER),
    "attempt_burn": (np.float64, (), 0.0),
}
#: Written only by the capital market (agents.investors).
FINANCE_COLUMNS: dict[str, tuple] = {
    "valuation": (np.float64, (), 0.0),  # last post-money valuation, mcny
    "raised": (np.float64, (), 0.0),  # equity raised, mcny (bank loans are in debt)
    "shares": (np.float64, (), 1.0),  # shares outstanding (founders start with 1)
    "rounds": (np.int8, (), 0),  # equity rounds so far
    "last_round": (np.int32, (), -(10**6)),  # step of the last equity round
    "lead": (np.int64, (), -1),  # investor index of the last VC lead (for follow-on rounds)
    "debt": (np.float64, (), 0.0),  # bank loan outstanding, mcny
    "debt_payment": (np.float64, (), 0.0),  # monthly annuity, mcny
    "bank": (np.int32, (), -1),  # investor index of the lending bank
}
#: Written only by the supply contracts (agents.contracts).
CONTRACT_COLUMNS: dict[str, tuple] = {
    "contract_revenue": (np.float64, (), 0.0),  # value per year of the firm's running supply contracts, mcny/yr
}
#: Written only by policy support (sim.policies.instruments.Support); neutral values unless a
#: programme supports the firm, and read only once one has (``FirmPopulation.supported``).
SUPPORT_COLUMNS: dict[str, tuple] = {
    "support_growth": (np.float64, (), 0.0),  # extra log revenue growth, 1/yr
    "support_closure": (np.float64, (), 1.0),  # multiplier of the closure hazard
    "support_screen": (np.float64, (), 0.0),  # shift of the investors' screening bar, sd (negative = easier)
    "support_rd": (np.float64, (), 1.0),  # multiplier of the R&D staff share (a subsidy's lower user cost of R&D)
}
LIVE_COLUMNS: dict[str, tuple] = {**FIRM_COLUMNS, **FINANCE_COLUMNS, **CONTRACT_COLUMNS, **SUPPORT_COLUMNS}

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
    "row": (np.int64, -1),  # the firm's live row; -1 once it has ended
    "employer": (np.int32, -1),  # alumni founders: index of their former employer (agents.incumbents), else -1
    "acquirer": (np.int32, -1),  # acquired firms: index of the acquiring incumbent; -1 for another buyer or none
    # written by the capital market when the firm leaves: the price of an IPO or acquisition
    # (agents.investors.exits), the bank loan it still owed (agents.investors.lending), the cash
    # it held before the bank and its shareholders were paid, and whether it was sold for its team
    "exit_value": (np.float64, np.nan),
    "debt_at_end": (np.float64, 0.0),
    "cash_at_end": (np.float64, np.nan),
    "team_sale": (np.bool_, False),
}


class FirmPopulation:
    """All firms: live state in dense columns (``population[name]``), history in per-firm
    records (``population.records[name]``)."""

    def __init__(self, capacity: int = 1024, record_capacity: int | None = None):
        capacity = max(int(capacity), 16)
        self.live = Columns(LIVE_COLUMNS, capacity, growth=1.5)
        self.records = Columns(RECORD_COLUMNS, max(int(record_capacity or capacity), 16), growth=1.5)
        #: Whether any firm ever got policy support: until then the support columns are not read,
        #: so the baseline's arithmetic does not depend on them.
        self.supported = False

    # ---- access --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        """The live part of a column (a view: writing to it updates the store)."""
        return self.live[name]

    def __len__(self) -> int:
        return self.live.n

    @property
    def n(self) -> int:
        """Live firms."""
        return self.live.n

    @property
    def n_ever(self) -> int:
        """Firms ever born; firm ids run from 0 to ``n_ever - 1``."""
        return self.records.n

    @property
    def row_of(self) -> np.ndarray:
        """Live row of each firm id, -1 for an ended firm."""
        return self.records["row"]

    def row(self, firm_id: int) -> int:
        """Row of a live firm, or -1 if the firm has ended (or never existed)."""
        if firm_id < 0 or firm_id >= self.n_ever:
            return -1
        return int(self.records["row"][firm_id])

    # ---- births and ends -----------------------------------------------------------------
    def add(self, step: int, **values) -> np.ndarray:
        """Add firms; ``values`` are arrays (or scalars) for live columns. Returns the new ids."""
        k = len(values["key"])
        if k == 0:
            return np.empty(0, dtype=np.int64)
        ids = np.arange(self.n_ever, self.n_ever + k, dtype=np.int64)
        rows = self.live.append(k, **{**values, "id": ids, "born": step})
        live = self.live.data
        self.records.append(
            k,
            born_step=step,
            origin=live["origin"][rows],
            track_id=live["track"][rows],
            key=live["key"][rows],
            quality=live["quality"][rows],
            row=np.arange(rows.start, rows.stop),
        )
        return ids

    def without(self, rows: np.ndarray, taken: np.ndarray) -> np.ndarray:
        """``rows`` (live rows) less those in ``taken``, in their order: ``np.setdiff1d`` for sorted
        unique ``rows``, by a mask over the live rows (``taken`` may hold anything, even floats)."""
        taken = np.asarray(taken).astype(np.int64, copy=False)
        drop = np.zeros(self.n, dtype=np.bool_)
        drop[taken[(taken >= 0) & (taken < self.n)]] = True
        return rows[~drop[rows]]

    def end(self, rows: np.ndarray, step: int, kind: str) -> np.ndarray:
        """End the firms at ``rows`` (unique live rows) with an end kind. Returns their ids."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size > 1 and not (rows[1:] > rows[:-1]).all():  # callers mostly pass them sorted
            rows = np.unique(rows)
        if rows.size == 0:
            return np.empty(0, dtype=np.int64)
        if rows[0] < 0 or rows[-1] >= self.n:
            raise IndexError("ending a row outside the live population")
        ids = self["id"][rows].copy()
        rec = self.records
        # end_kind, not end_step, marks an ended firm: warm-up steps are negative, so an
        # end_step of -1 (December before start_year) is a real step, not "never ended"
        if np.any(rec["end_kind"][ids] != 0):
            raise RuntimeError("a firm cannot end twice")
        rec["end_step"][ids] = step
        rec["end_kind"][ids] = END_CODE[kind]
        self.snapshot_records(rows)
        rec["row"][ids] = -1
        holes, _ = self.live.remove(rows)
        if holes.size:
            rec["row"][self["id"][holes]] = holes
        return ids

    def snapshot_records(self, rows: np.ndarray | None = None) -> None:
        """Copy the current state of live firms (all, or ``rows``) into their records."""
        if rows is None:
            rows = np.arange(self.n)
        ids = self["id"][rows]
        rec = self.records
        rec["employees"][ids] = self["employees"][rows]
        rec["revenue"][ids] = self["revenue"][rows]
        rec["valuation"][ids] = self["valuation"][rows]
        rec["total_raised"][ids] = self["raised"][rows]
        rec["track_id"][ids] = self["track"][rows]  # firms move when their track splits or merges

    # ---- summaries ---------------------------------------------------------------------------
    def live_ids(self) -> np.ndarray:
        return self["id"].copy()

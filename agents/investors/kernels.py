"""The capital market's compiled loops (numba): its look at the whole firm population, and the
per-firm lists of lots.

Each month the capital market needs four subsets of the live firms: the firms that run an
equity round (:meth:`agents.investors.rounds.EquityRounds.candidates`), those that apply for a
bank loan (:meth:`agents.investors.lending.Lending.step`), those big and old enough to list
and those drawn to be acquired (:meth:`agents.investors.exits.Exits.draw`). :func:`scan` finds
all four in one loop over the live firms, at the start of the financing phase (after loans are
serviced). The tests, conditions and keyed draws are those of the vectorised code they replace,
which stays in those methods as the reference (:class:`MonthFilters`), bit for bit: the loop
only compares and draws, it computes no new state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.core import kernels as K

__all__ = ["scan", "SCAN_PARAMS", "scan_params", "MonthFilters", "link_lots"]

#: Names of the scalar parameters of :func:`scan`, in the order of its ``par`` array.
SCAN_PARAMS = (
    "cost_of_revenue", "wage", "attempt_runway_months", "due_months", "min_months_between_rounds",
    "attempt_probability", "growth_attempt_probability", "bank_min_revenue", "bank_min_margin",
    "bank_apply_probability", "ipo_revenue_floor", "ipo_min_age_months", "acquisition_min_employees",
    "acquisition_probability", "venture_max_age_months",
)
(_COR, _WAGE, _ARM, _DUE, _MIN_MONTHS, _P_ATTEMPT, _P_GROWTH, _BANK_REV, _BANK_MARGIN, _P_APPLY, _IPO_REV,
 _IPO_AGE, _ACQ_EMP, _P_ACQ, _VC_AGE) = range(len(SCAN_PARAMS))
EAGER_GROWTH = 0.3  # last twelve months' log growth above which a firm raises without need


def scan_params(**values: float) -> np.ndarray:
    """The ``par`` array of :func:`scan` from keyword values named as in :data:`SCAN_PARAMS`."""
    missing = set(SCAN_PARAMS) - set(values)
    if missing:
        raise KeyError(f"missing parameters {sorted(missing)}")
    return np.array([float(values[k]) for k in SCAN_PARAMS], dtype=np.float64)


@njit(cache=True, error_model="numpy")
def scan(step, par, hkey, born, employees, revenue, cash, debt, debt_payment, last_round, rounds, g12,
         c_attempt, c_apply, c_acq, out, flags):
    """The month's subsets of live rows (ascending) into the rows of ``out`` (int64, (4, n)):
    0 firms that run an equity round, 1 firms that apply for a bank loan, 2 firms old and large
    enough to list (valuation not yet tested: rounds change it), 3 firms drawn to be acquired
    (an IPO this month still takes precedence). ``flags`` (uint8, at least n) is a work array.
    Returns the four counts.

    The first loop tests every firm without a branch (the three draws are made for every firm:
    keyed draws do not depend on who else is drawn), so the compiler runs it on several firms at
    once; the second collects the rows."""
    n = revenue.size
    margin_share = 1.0 - par[_COR]
    wage = par[_WAGE]
    arm, due_months, min_months = par[_ARM], par[_DUE], par[_MIN_MONTHS]
    p_attempt, p_growth = par[_P_ATTEMPT], par[_P_GROWTH]
    bank_rev, bank_margin, p_apply = par[_BANK_REV], par[_BANK_MARGIN], par[_P_APPLY]
    ipo_rev, ipo_age = par[_IPO_REV], par[_IPO_AGE]
    acq_emp, p_acq = par[_ACQ_EMP], par[_P_ACQ]
    vc_age = par[_VC_AGE]
    for i in range(n):
        rev = revenue[i]
        emp = employees[i]
        gross = rev * margin_share
        wages = max(emp - 1.0, 0.0) * wage
        # equity rounds (EquityRounds.candidates_vectorised): in need, due, or growing fast; ready; young enough
        since = step - last_round[i]
        burn = wages + 12.0 * debt_payment[i] - gross
        need = ((burn > 0) & (cash[i] * 12.0 < arm * burn)) | ((rounds[i] >= 1) & (since >= due_months))
        eager = g12[i] > EAGER_GROWTH
        u = K.unit(K.mix64(hkey[i] ^ c_attempt))
        equity = ((since >= min_months) & (step - born[i] <= vc_age)
                  & ((need & (u < p_attempt)) | (eager & (u < p_growth))))
        # bank loans (Lending.applicants): enough revenue and margin, no loan yet, and applies
        loan = ((rev >= bank_rev) & (debt[i] <= 0) & ((gross - wages) / rev >= bank_margin)
                & (K.unit(K.mix64(hkey[i] ^ c_apply)) < p_apply))
        # listing (Exits.listing_candidates): revenue and age (the valuation is tested after the rounds)
        listing = (rev >= ipo_rev) & (step - born[i] >= ipo_age)
        # acquisition (Exits.acquisition_draws): traction, and the month's draw
        acquired = (emp >= acq_emp) & (K.unit(K.mix64(hkey[i] ^ c_acq)) < p_acq)
        flags[i] = (np.uint8(equity) | (np.uint8(loan) << np.uint8(1)) | (np.uint8(listing) << np.uint8(2))
                    | (np.uint8(acquired) << np.uint8(3)))
    k0 = k1 = k2 = k3 = 0
    for i in range(n):
        f = flags[i]
        if f:
            if f & 1:
                out[0, k0] = i
                k0 += 1
            if f & 2:
                out[1, k1] = i
                k1 += 1
            if f & 4:
                out[2, k2] = i
                k2 += 1
            if f & 8:
                out[3, k3] = i
                k3 += 1
    return k0, k1, k2, k3


@njit(cache=True)
def link_lots(firm, start, head, prev):
    """Chain the lots ``start..`` into the per-firm lists: ``head[f]`` is firm f's last lot,
    ``prev[j]`` the lot of the same firm before lot j (-1: none)."""
    for j in range(start, firm.size):
        f = firm[j]
        prev[j] = head[f]
        head[f] = j


@dataclass
class MonthFilters:
    """The subsets :func:`scan` found in month ``step`` (live rows, ascending), when the
    population had ``n`` live firms and ``n_ever`` firms ever (the rows are valid while both
    are unchanged)."""

    step: int
    n: int
    n_ever: int
    rounds: np.ndarray
    loans: np.ndarray
    listing: np.ndarray
    acquisition: np.ndarray


def _example_scan():
    f, n = np.ones(3), 3
    return (np.int64(0), np.ones(len(SCAN_PARAMS)), np.arange(3, dtype=np.uint64), np.zeros(3, np.int32), f.copy(),
            f.copy(), f.copy(), f.copy(), f.copy(), np.zeros(3, np.int32), np.zeros(3, np.int8), f.copy(),
            np.uint64(1), np.uint64(2), np.uint64(3), np.zeros((4, n), np.int64), np.zeros(n, np.uint8))


K.register("scan", scan, _example_scan)
K.register("link_lots", link_lots, lambda: (np.zeros(2, np.int64), 0, np.full(1, -1, np.int64), np.zeros(2, np.int64)))

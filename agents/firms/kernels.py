"""The compiled loops of the firm rules (numba): a few passes over the live firms per phase.

:func:`operate` is the operations phase of :mod:`agents.firms.rules` in three loops over the live
firms (growth, with each firm's volatility multiplier drawn in January or in its first month;
hiring and a month of operating cash flow and R&D; the month's draws of events) and a quarterly
volatility refresh, and in the same call it notes for the deaths phase the firms that phase has
to look at: those drawn to close, those that may be insolvent after financing (cash below zero
now, or a bank loan still to service) and those reaching the graduation age. :func:`age` is the
ageing phase, :func:`shift_history` the year-end histories.

Each loop does exactly the arithmetic of the vectorised rules of :mod:`agents.firms.rules`, in
the same order, with the same keyed draws (bit for bit); only ``exp`` and ``log`` are
:func:`sim.core.kernels.exp` and :func:`~sim.core.kernels.log` instead of numpy's, which may
differ from them in the last bit. The vectorised rules stay the reference: the tests run both
on the same state and compare them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import kernels as K

__all__ = ["operate", "age", "shift_history", "OP_PARAMS", "op_params"]

#: Names of the scalar parameters of :func:`operate`, in the order of its ``par`` array.
OP_PARAMS = (
    "growth_quality", "growth_capital", "growth_base", "wage", "cost_of_revenue", "runway_years",
    "hiring_speed", "fast_speed", "growth_sigma", "size_exponent", "dt", "sqrt_dt", "crowding",
    "closure_hazard", "closure_hazard_mature", "graduation_months", "rd_nonlabour", "rd_keep", "rd_theta",
    "rd_beta", "closure_size", "shock_mixing", "last_attempt_years", "rd_performer_share",
)
(_GQ, _GC, _GB, _WAGE, _COR, _RUNWAY, _HS, _FAST, _SIGMA, _SIZE_EXP, _DT, _SQRT_DT, _CROWD, _H0, _HM,
 _GRAD, _RD_M, _RD_KEEP, _RD_THETA, _RD_BETA, _CLOSE_SIZE, _MIX, _LAST, _PERF) = range(len(OP_PARAMS))
#: Smallest R&D stock the breakthrough hazard takes the logarithm of (mcny): below it the hazard is ~0.
RD_STOCK_FLOOR = 1e-12
#: The breakthrough test's bound of stock**beta (:func:`operate`) is kept for stocks in
#: [2**-_POW_E0, 2**(_POW_N - _POW_E0)) and elasticities beta in [0, _POW_BETA_MAX].
_POW_E0, _POW_N, _POW_BETA_MAX = 64, 128, 4.0
#: Relative margin of that bound over the computed power (whose error is below 1e-13).
_POW_MARGIN = 1.0 + 1e-9
_LN2 = 0.6931471805599453


def op_params(**values: float) -> np.ndarray:
    """The ``par`` array of :func:`operate` from keyword values named as in :data:`OP_PARAMS`."""
    missing = set(OP_PARAMS) - set(values)
    if missing:
        raise KeyError(f"missing parameters {sorted(missing)}")
    return np.array([float(values[k]) for k in OP_PARAMS], dtype=np.float64)


@njit(inline="always")
def _track_drift(track, revenue, track_growth, capacity, crowd):
    """Each track's demand growth net of crowding: the park's revenue in the track against the
    track's capacity, before this month's growth."""
    used = np.zeros(track_growth.size)
    for i in range(revenue.size):
        used[track[i]] += revenue[i]
    drift = np.empty(track_growth.size)
    for t in range(track_growth.size):
        crowding = used[t] / max(capacity[t], 1e-9) if capacity[t] > 0 else 0.0
        drift[t] = track_growth[t] - crowd * crowding
    return drift


@njit(inline="always")
def _attempt(step, closed, trying, rounds, since, c, last_years):
    """(whether a firm closes this month given its closure draw ``closed``, whether it begins a last
    attempt now), with last attempts (rules.attempt_rows; none when ``last_years`` is 0): a firm in
    one (``trying``, begun at ``since``) closes when its term is over; a venture-backed firm
    (``rounds`` > 0) drawn to close with cash ``c`` begins one instead. Scalars only: an array
    passed to an inlined function costs a reference count in and out on every call."""
    if last_years <= 0.0:
        return closed, False
    if trying:
        return step - since >= 12.0 * last_years, False
    if closed and rounds > 0 and c > 0.0:
        return False, True
    return closed, False


@njit(inline="always")
def _closes(u, hazard, size_elasticity, employees, scale):
    """Whether a firm with the uniform draw ``u`` closes this month (rules.closure_draw): the yearly
    ``hazard`` of its age, times employees**-size_elasticity (employees >= 1), times ``scale`` (its
    programmes' relief times dt). The size factor is at most 1, so a draw above the month's
    probability without it cannot close (most draws: the probability is about 1e-2), and the exp and
    log of the factor are computed only below that bound: the same decision bit for bit."""
    if size_elasticity != 0.0:
        bound = (hazard * scale) * _POW_MARGIN
        if u >= bound * (1.0 - 0.5 * bound):  # x (1 - x/2) rises with x below 1
            return False
        hazard *= K.exp_core(-size_elasticity * K.log_core(employees))
    x = hazard * scale
    return u < x * (1.0 - 0.5 * x)


@njit(inline="always")
def _year_multiplier(key, mixing):
    """A firm's volatility multiplier for the year, sqrt(1 - mixing + mixing * E), E = -log(u) exponential
    with mean 1 (u its keyed uniform draw: ``key`` is its prehashed key xor the year's constant)."""
    return np.sqrt((1.0 - mixing) + mixing * -K.log_core(K.unit(K.mix64(key))))


@njit(inline="always", error_model="numpy")
def _events(step, par, ids, hkey, track, born, newness, cash, employees, debt, rounds, last_round, attempt_since,
            attempt_burn, supported, support_closure, absorb, rd_stock, c_rd, c_close, out):
    """The third loop of :func:`operate`: each firm's draws of the month's events (a product
    breakthrough, a closure or the start of a last attempt) and the lists of ``out`` (ids in
    ascending row order); returns their four counts."""
    dt = par[_DT]
    h0, hm, close_size = par[_H0], par[_HM], par[_CLOSE_SIZE]
    grad, last_years = par[_GRAD], par[_LAST]
    theta, beta = par[_RD_THETA], par[_RD_BETA]
    # pow_ub[e + _POW_E0] >= x**beta for all x < 2**(e + 1); inf (no skipping) for beta, dt out of range
    pow_ub = np.full(_POW_N, np.inf)
    if 0.0 <= beta <= _POW_BETA_MAX and dt > 0.0:
        for k in range(_POW_N):
            pow_ub[k] = K.exp_core((k - _POW_E0 + 1) * beta * _LN2) * _POW_MARGIN
    n_closed = 0
    n_watch = 0
    n_aged = 0
    n_found = 0
    for i in range(rd_stock.size):
        t = track[i]
        emp = employees[i]
        c = cash[i]
        stock = rd_stock[i]
        trying = attempt_since[i] > last_round[i]
        s = max(stock, RD_STOCK_FLOOR)
        a = absorb[t] * theta  # the breakthrough hazard's track term, times theta
        u = K.unit(K.mix64(hkey[i] ^ c_rd))
        k = K.exponent(s) + _POW_E0
        # a >= 0 and u >= a * pow_ub * dt >= the computed y >= y * (1 - 0.5 y): no breakthrough
        if not (a >= 0.0 and 0 <= k < _POW_N and u >= (a * pow_ub[k]) * dt):
            lam = a * K.exp_core(beta * K.log_core(s))
            y = lam * dt
            if u < y * (1.0 - 0.5 * y):
                out[3, n_found] = ids[i]
                n_found += 1
        # for the deaths phase: the closure draw (rules.closure_draw), insolvency, graduation
        closed, begins = _attempt(step, _closes(K.unit(K.mix64(hkey[i] ^ c_close)), hm + (h0 - hm) * newness[i],
                                                close_size, emp, (support_closure[i] if supported else 1.0) * dt),
                                  trying, rounds[i], attempt_since[i], c, last_years)
        if begins:  # spending the cash over last_years
            attempt_since[i] = step
            attempt_burn[i] = c / last_years
        if closed:
            out[0, n_closed] = ids[i]
            n_closed += 1
        if (c < 0.0) | (debt[i] > 0):
            out[1, n_watch] = ids[i]
            n_watch += 1
        if step - born[i] >= grad:
            out[2, n_aged] = ids[i]
            n_aged += 1
    return n_closed, n_watch, n_aged, n_found


@njit(cache=True, error_model="numpy")
def operate(step, par, ids, hkey, track, born, stage, qsat, qdecay, newness, cash, employees, revenue, g12, vol,
            vmix, debt, debt_payment, rounds, last_round, attempt_since, attempt_burn, supported, support_growth,
            support_closure, support_rd, track_growth, capacity, rd_share, rd_response, absorb, rd_stock, rd_year,
            rev_year, rd_phi, rd_last, taxable, refresh_vol, new_year, c_grow, c_close, c_rd, c_mix, c_perf, out):
    """One month of operations for every live firm (see the module docstring).

    Arrays of the live firms are updated in place (``vmix``: each firm's volatility multiplier of
    the year, drawn with ``c_mix`` in January or when 0; ``attempt_since`` and ``attempt_burn``: a
    last attempt's start and pace, set here, read with ``rounds`` and ``last_round``).
    ``track_growth`` and ``capacity`` are per track (demand growth passed to firms, the park's
    capacity of each market); ``rd_share`` (tracks x stages) is the share of a firm's paid staff in
    R&D for an R&D performer (a firm whose keyed uniform with ``c_perf`` is below the parameter
    rd_performer_share; 0 for the others), ``rd_response`` (per track) multiplies it for firms with
    taxable profit last month, ``support_rd`` (per firm, read when ``supported``) for firms whose
    R&D a programme subsidises, ``absorb`` (per track) multiplies the breakthrough hazard. ``out``
    (int64, (4, n)) receives the ids of the firms drawn to close, to check for insolvency after
    financing, at the graduation age and with a product breakthrough (each list in ascending row
    order). Returns (the month's operating cash flow, R&D spending, the part of it beyond R&D wages,
    the four counts).

    Three loops over the firms do their month: growth; hiring, cash flow and R&D; the draws of
    events (breakthroughs, closures) and the lists (:func:`_events`), each reading back what the
    one before wrote. A firm's month is one long chain of dependent steps (revenue, its exponential, headcount, cash,
    the closure test); in a single loop the processor cannot start the next firm before most of it
    is done, and three shorter chains let it overlap firms: 61-67 against 39-42 ns per firm on a
    full-park month, the same results bit for bit (the loops branch and are not vectorised; a
    fourth split, or a separate pass for the yearly multiplier, measured slower). The track sums
    come from a pass before them, the quarterly volatility refresh from a pass after. stock**beta
    of the breakthrough hazard (an exp and a log) is computed only where the firm's draw is below
    an upper bound of the probability (by the stock's binary exponent, a table made per call; most
    draws are above it): the same result bit for bit, since products are monotone."""
    n = revenue.size
    drift_track = _track_drift(track, revenue, track_growth, capacity, par[_CROWD])
    gq, gc, gb, wage, dt, sqrt_dt = par[_GQ], par[_GC], par[_GB], par[_WAGE], par[_DT], par[_SQRT_DT]
    margin_share = 1.0 - par[_COR]
    inv_runway, inv_wage = 1.0 / par[_RUNWAY], 1.0 / wage
    hs, fast, mixing = par[_HS], par[_FAST], par[_MIX]
    rd_m, rd_keep = par[_RD_M], par[_RD_KEEP]
    perf = par[_PERF]
    total = 0.0
    rd_total = 0.0
    rd_other_total = 0.0
    for i in range(n):  # 1. growth (rules.grow)
        t = track[i]
        emp = employees[i]
        c = cash[i]
        c0 = max(c, 0.0)
        bill = emp * wage  # reliance: the share of the wage bill the gross margin does not cover
        reliance = min(max(1.0 - revenue[i] * margin_share / bill, 0.0), 1.0)
        drift = gq * qsat[i] * qdecay[i]
        trying = attempt_since[i] > last_round[i]  # a last attempt (rules.attempt_rows): its money buys no growth
        drift += 0.0 if trying else gc * (c0 / (c0 + bill)) * reliance
        drift += drift_track[t]  # the track's demand growth net of crowding
        drift += gb
        if supported:
            drift += support_growth[i]
        if new_year or vmix[i] == 0.0:  # this year's volatility multiplier (rules.year_volatility)
            vmix[i] = _year_multiplier(hkey[i] ^ c_mix, mixing)
        shock = K.laplace(K.mix64(hkey[i] ^ c_grow)) * (vol[i] * vmix[i])
        dlog = drift * dt + sqrt_dt * shock
        rev = revenue[i] * K.exp_core(dlog)  # |dlog| < 3: drift and shocks are bounded
        revenue[i] = rev
        g12[i] = g12[i] * (1.0 - dt) + dlog
    for i in range(n):  # 2. hiring, a month of cash flow and of R&D
        t = track[i]
        # the R&D staff share (rules.rd_staff_share): performers only
        phi = rd_share[t, stage[i]] if K.unit(K.mix64(hkey[i] ^ c_perf)) < perf else 0.0
        if taxable[i] > 0.0:
            phi *= rd_response[t]
        if supported:
            phi *= support_rd[i]
        phi = min(phi, 1.0)
        staff_cost = wage * (1.0 + phi * rd_m)  # a paid employee's wage and the R&D beyond wages it brings
        emp = employees[i]
        c = cash[i]
        c0 = max(c, 0.0)
        rev = revenue[i]
        trying = attempt_since[i] > last_round[i]
        # hiring (rules.hire)
        gross = rev * margin_share
        dp = debt_payment[i]
        avail = gross - 12.0 * dp if dp > 0 else gross
        burn = max(emp - 1.0, 0.0) * staff_cost - avail
        target = ((max(avail, 0.0) + c0 * inv_runway) * (inv_wage / (1.0 + phi * rd_m)) + 1.0) - emp
        speed = fast if (burn > 2.0 * c0) & (target < 0) else hs
        emp = max(emp + target * speed, 1.0)
        employees[i] = emp
        # a month of operating cash flow (rules.burn_cash) and of R&D (rules.spend_on_rd)
        wages = max(emp - 1.0, 0.0) * wage
        operating = (gross - wages - (attempt_burn[i] if trying else 0.0)) * dt  # and a last attempt's spending
        rd_wages = phi * wages * dt
        rd_other = rd_wages * rd_m
        rd = rd_wages + rd_other
        total += operating
        rd_total += rd
        rd_other_total += rd_other
        c += operating
        c -= rd_other
        cash[i] = c
        taxable[i] = operating - rd_other
        rd_phi[i] = phi
        rd_last[i] = rd
        rd_year[i] = (0.0 if new_year else rd_year[i]) + rd
        rev_year[i] = (0.0 if new_year else rev_year[i]) + rev * dt
        stock = rd_stock[i] * rd_keep + rd
        rd_stock[i] = stock
    n_closed, n_watch, n_aged, n_found = _events(step, par, ids, hkey, track, born, newness, cash, employees, debt,
                                                 rounds, last_round, attempt_since, attempt_burn, supported,
                                                 support_closure, absorb, rd_stock, c_rd, c_close, out)
    if refresh_vol:  # rules.update_volatility, with this month's headcounts
        sigma, neg_size_exp = par[_SIGMA], -par[_SIZE_EXP]
        for i in range(n):
            vol[i] = sigma * K.exp_core(neg_size_exp * K.log_core(employees[i]))  # employees >= 1
    return total, rd_total, rd_other_total, n_closed, n_watch, n_aged, n_found


@njit(cache=True)
def age(qdecay, newness, growth_decay, closure_decay):
    """A month passes (rules.get_older): the age-dependent factors decay by multiplication."""
    for i in range(qdecay.size):
        qdecay[i] *= growth_decay
        newness[i] *= closure_decay


@njit(cache=True)
def shift_history(emp_hist, rev_hist, employees, revenue):
    """A year end (Firms.year_end): each firm's year-end histories move one year back and take
    this year's headcount and revenue as their last entry."""
    h = emp_hist.shape[1]
    for i in range(employees.size):
        for j in range(h - 1):
            emp_hist[i, j] = emp_hist[i, j + 1]
            rev_hist[i, j] = rev_hist[i, j + 1]
        emp_hist[i, h - 1] = employees[i]
        rev_hist[i, h - 1] = revenue[i]


def _example_operate():
    n, f, i64 = 3, np.ones(3), np.arange(3, dtype=np.int64)
    par = np.ones(len(OP_PARAMS))
    return (np.int64(0), par, i64, np.arange(3, dtype=np.uint64), np.zeros(3, np.int32), np.zeros(3, np.int32),
            np.zeros(3, np.int8), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(),
            f.copy(), f.copy(), f.copy(), np.zeros(3, np.int8), np.zeros(3, np.int32), np.zeros(3, np.int32), f.copy(),
            False, f.copy(), f.copy(), f.copy(), np.ones(1), np.ones(1), np.ones((1, 3)), np.ones(1), np.ones(1),
            f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), True,
            False, np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4), np.uint64(5), np.zeros((4, n), np.int64))


K.register("operate", operate, _example_operate)
K.register("age", age, lambda: (np.ones(2), np.ones(2), 0.99, 0.98))
K.register("shift_history", shift_history, lambda: (np.ones((2, 4)), np.ones((2, 4)), np.ones(2), np.ones(2)))

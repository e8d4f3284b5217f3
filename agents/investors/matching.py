"""How firms and investors are matched, and the slots of the keyed ``finance`` stream.

:func:`pick` draws an investor for each deal in proportion to weights (free money times track
preference); :func:`fit_capacity` keeps, per investor, the best deals that fit its money. The
slots below are the only draws of the ``finance`` stream: each rule of the capital market has
its own, so no two rules share a random number.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pick", "fit_capacity", "logistic"]

# slots of the keyed "finance" stream
(
    SLOT_ATTEMPT,  # rounds: whether a candidate runs a round this month
    SLOT_NOISE,  # rounds: the investors' screening noise
    SLOT_PASS,  # rounds: whether the round passes screening
    SLOT_DILUTION,  # rounds: the share the round sells
    SLOT_PICK,  # rounds: which investor leads
    SLOT_BANK_APPLY,  # lending: whether a firm applies for a loan
    SLOT_BANK_PICK,  # lending: which bank lends
    SLOT_IPO,  # exits: whether a firm lists
    SLOT_IPO_UPLIFT,  # exits: the listing price
    SLOT_ACQ,  # exits: whether a firm is acquired
    SLOT_ACQ_PRICE,  # exits: the acquisition price
    SLOT_DISTRESSED,  # exits: whether a firm out of cash finds a buyer for its team
    SLOT_DISTRESSED_PRICE,  # exits: the price of that team
    SLOT_HARVEST,  # exits: whether the investors of a harvesting fund sell a firm
    SLOT_HARVEST_PRICE,  # exits: its price
    SLOT_SYNDICATE,  # rounds: co-investors joining a round its lead cannot carry (this slot and the next ones)
) = range(16)
#: rounds: the order in which a policy's guidance fund meets this month's deals (first come, first served;
#: the last slots: the syndicate's take SLOT_SYNDICATE to SLOT_SYNDICATE + 19, ecosystem.funding.syndicate_size <= 20)
SLOT_WHOLE_ORDER = 254


def logistic(x):
    """The logistic function, with the argument clipped to [-50, 50]."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def pick(weights: np.ndarray, tracks: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each deal (track ``tracks[j]``, uniform ``u[j]``) draw an investor row of ``weights``
    (investors x tracks), proportionally to the weights in the deal's track column.
    Returns -1 where the column has no weight.

    The columns of the deals' tracks are searched at once: each column's cumulative weights are
    scaled to (0, 1] and shifted by the column's index, so one sorted array holds every column in
    turn and one ``searchsorted`` answers every deal (O(deals log(investors x tracks))). Columns no
    deal draws from are left out; the keys of the others are the same numbers as with every
    column, and a draw cannot leave its column's block but to the end of it (see below), so the
    choice is the same as over the whole matrix."""
    n_inv, n_cols = weights.shape
    if n_inv == 0 or len(tracks) == 0:
        return np.full(len(tracks), -1, dtype=np.int64)
    tracks = np.asarray(tracks)
    cols, block = np.unique(tracks, return_inverse=True)
    if cols.size < n_cols:
        weights = weights[:, cols]
    cum = np.cumsum(weights, axis=0)
    total = cum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(total > 0, cum / total, 1.0)
    keys = (scaled + cols[None, :]).T.ravel()  # column-major: column c occupies [c, c+1]
    target = tracks + u
    # a target rounded up to c + 1 passes the keys equal to it and stops at the end of its block or
    # in the next column's (c + 1's, if a deal draws from it): clipped to the column's last investor
    idx = np.searchsorted(keys, target, side="right") - block * n_inv
    idx = np.clip(idx, 0, n_inv - 1)
    return np.where(total[block] > 0, idx, -1)


def fit_capacity(investor: np.ndarray, amount: np.ndarray, capacity: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """Accept deals in ``order_key`` order per investor while the running sum fits capacity."""
    ok = investor >= 0
    if not ok.any():
        return ok
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((order_key[idx], investor[idx]))]
    inv = investor[order]
    amt = amount[order]
    csum = np.cumsum(amt)
    starts = np.r_[0, np.flatnonzero(np.diff(inv)) + 1]
    offset = np.repeat(csum[starts] - amt[starts], np.diff(np.r_[starts, len(inv)]))
    running = csum - offset
    accept = np.zeros(len(investor), dtype=bool)
    accept[order] = running <= capacity[inv] * (1 + 1e-12)
    return accept

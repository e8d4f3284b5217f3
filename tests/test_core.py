"""The bottom layer (sim/core): the columnar store, the cash ledger, the clock and the vocabulary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.core import clock, vocabulary
from sim.core.columns import Columns
from sim.core.ledger import CashLedger
from sim.io.schema import TABLE_SCHEMAS

SPEC = {"id": (np.int64, -1), "x": (np.float64, 0.5), "hist": (np.float64, (3,), np.nan)}


# ------------------------------------------------------------------------------ Columns


def test_append_fills_missing_columns_and_grows():
    c = Columns(SPEC, capacity=2)
    rows = c.append(id=np.array([1, 2, 3]))
    assert rows == slice(0, 3) and len(c) == 3 and c.capacity >= 3
    np.testing.assert_array_equal(c["id"], [1, 2, 3])
    np.testing.assert_array_equal(c["x"], [0.5, 0.5, 0.5])
    assert c["hist"].shape == (3, 3) and np.isnan(c["hist"]).all()
    c.append(5, x=2.0)  # a count and a scalar
    assert len(c) == 8 and (c["x"][3:] == 2.0).all() and (c["id"][3:] == -1).all()


def test_views_write_through_and_setitem_writes_the_rows_in_use():
    c = Columns(SPEC)
    c.append(id=np.arange(4))
    c["x"][1] = 7.0
    c["x"] *= 2.0
    np.testing.assert_array_equal(c["x"], [1.0, 14.0, 1.0, 1.0])
    beyond = c.data["x"][4:].tobytes()  # rows past n are allocated, not filled (numpy.empty)
    c["x"] = 3.0
    assert (c["x"] == 3.0).all() and c.data["x"][4:].tobytes() == beyond


def test_remove_moves_the_last_rows_into_the_holes():
    c = Columns(SPEC)
    c.append(id=np.arange(10), x=np.arange(10.0))
    holes, moved_from = c.remove(np.array([1, 4, 8]))
    assert len(c) == 7
    np.testing.assert_array_equal(holes, [1, 4])
    np.testing.assert_array_equal(moved_from, [7, 9])  # row 8 was removed, so 7 and 9 fill the holes
    assert sorted(c["id"].tolist()) == [0, 2, 3, 5, 6, 7, 9]
    assert (c["x"] == c["id"]).all()  # every column moved with its row


def test_remove_only_tail_rows_moves_nothing():
    c = Columns(SPEC)
    c.append(id=np.arange(5))
    holes, moved = c.remove(np.array([3, 4]))
    assert holes.size == 0 and moved.size == 0 and c["id"].tolist() == [0, 1, 2]


def test_capacity_grows_geometrically():
    c = Columns(SPEC, capacity=1)
    caps = set()
    for _ in range(1000):
        c.append(1)
        caps.add(c.capacity)
    assert len(c) == 1000 and len(caps) < 15


# ------------------------------------------------------------------------------ CashLedger


def test_ledger_accounts_are_typed_and_fixed():
    led = CashLedger()
    led.founder_cash += 10.0
    led.equity_in += 5.0
    led.operating -= 2.0
    led.debt_service += 1.0
    led.public_repayments += 0.5
    led.licence_fees += 0.25
    led.contract_margin += 0.25
    led.liquidation_paid += 0.125
    led.rd_nonlabour += 0.0625
    led.founder_topups += 0.03125
    assert led.net_inflow() == pytest.approx(10.0 + 5.0 - 2.0 - 1.0 - 0.5 - 0.25 + 0.25 - 0.125 - 0.0625 + 0.03125)
    with pytest.raises(AttributeError):
        led.founders_cash = 1.0  # a misspelled account is an error, not a new account
    assert {f.name for f in dataclasses.fields(led)} == {
        "founder_cash", "equity_in", "loans_in", "grants_in", "operating", "debt_service", "public_repayments",
        "licence_fees", "contract_margin", "liquidation_paid", "ended_cash", "rd_nonlabour", "founder_topups",
    }


# ------------------------------------------------------------------------------ clock


def test_clock():
    assert clock.DT == 1.0 / 12.0
    assert clock.year_of(2015, 0) == 2015 and clock.year_of(2015, -1) == 2014 and clock.year_of(2015, 23) == 2016
    np.testing.assert_array_equal(clock.year_of(2015, np.array([-13, -12, 11, 12])), [2013, 2014, 2015, 2016])
    assert clock.step_of(2015, 2016, 3) == 14 and clock.year_of(2015, clock.step_of(2015, 2030, 12)) == 2030
    assert [s for s in range(-24, 24) if clock.is_year_end(s)] == [-13, -1, 11, 23]
    assert clock.years_since(30, 6) == 2.0


# ------------------------------------------------------------------------------ vocabulary


def test_codes_index_their_categories():
    v = vocabulary
    assert v.STAGES[v.STARTUP] == "startup" and v.STAGES[v.GAZELLE] == "gazelle" and v.STAGES[v.UNICORN] == "unicorn"
    assert v.ORIGINS[v.INDEPENDENT] == "independent" and v.ORIGINS[v.SPINOFF] == "spinoff"
    assert v.ORIGINS[v.ALUMNI] == "alumni"
    assert [v.LIFECYCLE[c] for c in (v.LATENT, v.EMERGING, v.FORMED, v.EXPLOSIVE, v.MATURE, v.CONSOLIDATING,
                                     v.ENDED)] == list(v.LIFECYCLE)
    assert v.ROUNDS[v.LOAN_ROUND] == "loan" and v.ROUNDS[: v.EQUITY_ROUNDS] == ("seed", "A", "B", "C", "D+")
    assert all(v.END_KINDS[code] == name for name, code in v.END_CODE.items()) and v.END_KINDS[0] is None
    assert set(v.DIRECTION_EN) == set(v.DIRECTIONS) and v.NEVER == np.iinfo(np.int32).min


def test_the_output_contract_uses_the_vocabulary():
    """The allowed values of every categorical column are the vocabulary's (one definition)."""
    choices = {(t.name, c.name): c.choices for t in TABLE_SCHEMAS.values() for c in t.columns if c.choices}
    v = vocabulary
    assert choices[("firms", "origin")] == v.ORIGINS
    assert choices[("firms", "end_kind")] == v.FIRM_END_KINDS
    assert choices[("firm_years", "stage")] == v.STAGES
    assert choices[("deals", "round")] == v.ROUNDS
    assert choices[("deals", "investor_kind")] == v.INVESTOR_KINDS
    assert choices[("tracks", "direction")] == v.DIRECTIONS
    assert choices[("tracks", "level")] == v.LEVELS
    assert choices[("tracks", "state")] == v.LIFECYCLE
    assert choices[("tracks", "created_by")] == v.CREATED_BY
    assert choices[("positions", "status")] == v.POSITION_STATUS

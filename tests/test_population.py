"""Columnar firm store (agents/firms/population.py): births, ends, swap-remove, records.

The stateful hypothesis test runs random sequences of add / end / update / tick operations
against a plain-Python reference and checks after every operation that each firm ever added is
either live (its row holds its id and its values) or ended exactly once (end kind and step set,
final values recorded), never both.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from agents.firms.population import LIVE_COLUMNS, RECORD_COLUMNS, FirmPopulation
from sim.core.rng import birth_keys
from sim.core.vocabulary import END_CODE, END_KINDS, NEVER, ORIGINS
from sim.stages import HISTORY_YEARS

KINDS = ("failed", "acquired", "ipo", "aged_out")
SCALARS = ("quality", "employees", "revenue", "valuation", "raised")  # float live columns we follow
REC_OF = {"employees": "employees", "revenue": "revenue", "valuation": "valuation", "raised": "total_raised"}


def make_values(rng: np.random.Generator, step: int, k: int, start_rank: int = 0, channel: int = 0) -> dict:
    return {
        "key": birth_keys(step, channel, k, start_rank),
        "origin": rng.integers(0, len(ORIGINS), k).astype(np.int8),
        "track": rng.integers(0, 60, k).astype(np.int32),
        "quality": rng.normal(size=k),
        "employees": rng.integers(1, 50, k).astype(float),
        "revenue": rng.lognormal(0, 1, k),
        "valuation": rng.lognormal(2, 1, k),
        "raised": rng.lognormal(1, 1, k),
        "emp_hist": rng.normal(size=(k, HISTORY_YEARS)),
    }


def test_end_codes():
    assert END_KINDS[0] is None
    assert sorted(END_CODE) == sorted(KINDS)
    assert all(END_KINDS[c] == name for name, c in END_CODE.items())
    assert 0 not in END_CODE.values()


def test_add_fills_defaults_and_records_birth_facts():
    pop = FirmPopulation()
    ids = pop.add(-7, key=birth_keys(-7, 1, 3), origin=np.int8(1), track=np.array([4, 5, 6]), quality=0.5)
    np.testing.assert_array_equal(ids, [0, 1, 2])
    assert len(pop) == 3 and pop.n_ever == 3
    np.testing.assert_array_equal(pop["id"], [0, 1, 2])
    np.testing.assert_array_equal(pop["born"], [-7, -7, -7])
    np.testing.assert_array_equal(pop["key"], birth_keys(-7, 1, 3))
    np.testing.assert_array_equal(pop["quality"], [0.5] * 3)  # scalars broadcast
    # unspecified columns get their fill values
    for name, (dtype, shape, fill) in LIVE_COLUMNS.items():
        if name in ("id", "key", "born", "origin", "track", "quality"):
            continue
        col = pop[name]
        assert col.dtype == dtype and col.shape == (3, *shape), name
        np.testing.assert_array_equal(col, np.full((3, *shape), fill, dtype=dtype), err_msg=name)
    assert pop["emp_hist"].shape == (3, HISTORY_YEARS) and np.isnan(pop["emp_hist"]).all()
    rec = pop.records
    np.testing.assert_array_equal(rec["born_step"][:3], [-7] * 3)
    np.testing.assert_array_equal(rec["origin"][:3], [1] * 3)
    np.testing.assert_array_equal(rec["track_id"][:3], [4, 5, 6])
    np.testing.assert_array_equal(rec["key"][:3], birth_keys(-7, 1, 3))
    np.testing.assert_array_equal(rec["end_kind"][:3], [0] * 3)
    np.testing.assert_array_equal([pop.row(i) for i in range(3)], [0, 1, 2])
    # adding nobody changes nothing
    assert pop.add(0, key=np.empty(0, np.uint64)).size == 0
    assert len(pop) == 3 and pop.n_ever == 3


def test_row_of_unknown_ids():
    pop = FirmPopulation()
    pop.add(0, key=birth_keys(0, 0, 2))
    assert pop.row(-1) == -1 and pop.row(2) == -1 and pop.row(10**9) == -1


def test_getitem_is_a_writable_view_of_the_live_part():
    pop = FirmPopulation()
    pop.add(0, key=birth_keys(0, 0, 4))
    pop["revenue"][2] = 9.0
    pop["emp_hist"][1, -1] = 3.0
    assert pop["revenue"][2] == 9.0 and pop["emp_hist"][1, -1] == 3.0
    assert len(pop["revenue"]) == 4  # never the spare capacity


def test_swap_remove_keeps_each_firms_values():
    rng = np.random.default_rng(1)
    pop = FirmPopulation(capacity=16)
    vals = make_values(rng, 0, 10)
    pop.add(0, **vals)
    before = {name: pop[name].copy() for name in LIVE_COLUMNS}
    ended = pop.end(np.array([7, 0, 3]), 5, "failed")  # rows, unsorted; tail rows 7..9 include one ended row
    np.testing.assert_array_equal(np.sort(ended), [0, 3, 7])
    assert len(pop) == 7
    assert sorted(pop["id"]) == [1, 2, 4, 5, 6, 8, 9]
    for fid in [1, 2, 4, 5, 6, 8, 9]:
        r = pop.row(fid)
        assert pop["id"][r] == fid
        for name in LIVE_COLUMNS:
            np.testing.assert_array_equal(pop[name][r], before[name][fid], err_msg=f"{name} of firm {fid}")
    for fid in (0, 3, 7):
        assert pop.row(fid) == -1
        assert pop.records["end_step"][fid] == 5 and pop.records["end_kind"][fid] == END_CODE["failed"]
        assert pop.records["revenue"][fid] == vals["revenue"][fid]
        assert pop.records["total_raised"][fid] == vals["raised"][fid]


def test_end_tail_rows_and_everyone():
    pop = FirmPopulation()
    pop.add(0, key=birth_keys(0, 0, 5))
    pop.end(np.array([3, 4]), 1, "ipo")  # only tail rows: nothing to move
    np.testing.assert_array_equal(pop["id"], [0, 1, 2])
    pop.end(np.arange(3), 2, "acquired")
    assert len(pop) == 0 and pop.n_ever == 5
    np.testing.assert_array_equal(pop.records["end_kind"][:5], [END_CODE["acquired"]] * 3 + [END_CODE["ipo"]] * 2)
    assert pop.end(np.array([], dtype=np.int64), 3, "failed").size == 0


def test_ending_twice_raises():
    pop = FirmPopulation()
    pop.add(0, key=birth_keys(0, 0, 3))
    row = pop.row(1)
    pop.end([row], 4, "failed")
    # the firm has no row any more: asking to end it again is an error, not a silent no-op
    with pytest.raises(IndexError):
        pop.end([pop.row(1)], 5, "failed")
    with pytest.raises(IndexError):
        pop.end([len(pop)], 5, "failed")  # one past the live rows
    with pytest.raises(KeyError):
        pop.end([0], 5, "vanished")
    # the failed calls changed nothing
    assert len(pop) == 2 and pop.records["end_step"][1] == 4
    assert (pop.records["end_kind"][[0, 2]] == 0).all()


def test_end_twice_guard_holds_for_warm_up_steps():
    # A firm recorded as ended at step -1 (December of the last warm-up year) that is still in
    # the live rows means the store is corrupt; end() must refuse it. The guard used to look at
    # end_step >= 0 and so missed every end during the warm-up.
    pop = FirmPopulation()
    pop.add(-20, key=birth_keys(-20, 0, 2))
    pop.records["end_step"][1] = -1
    pop.records["end_kind"][1] = END_CODE["failed"]
    with pytest.raises(RuntimeError, match="twice"):
        pop.end([pop.row(1)], 0, "failed")


def test_warm_up_ends_are_recorded():
    pop = FirmPopulation()
    pop.add(-30, key=birth_keys(-30, 0, 3))
    pop.end([0], -1, "failed")
    assert pop.records["end_step"][0] == -1 and pop.records["end_kind"][0] == END_CODE["failed"]
    # end_kind is the marker of an ended firm; a live firm's end_step is NEVER, never a real step
    assert RECORD_COLUMNS["end_step"][1] == NEVER
    assert RECORD_COLUMNS["end_kind"][1] == 0
    assert pop.row(0) == -1


def test_snapshot_records_copies_live_values_only():
    rng = np.random.default_rng(2)
    pop = FirmPopulation()
    pop.add(3, **make_values(rng, 3, 6))
    pop.end([2], 4, "aged_out")
    final_2 = pop.records["valuation"][2]
    pop["valuation"][:] = 123.0
    pop["employees"][:] = 7.0
    # records are not live: nothing changes until a snapshot
    assert not np.any(pop.records["valuation"][[0, 1, 3, 4, 5]] == 123.0)
    pop.snapshot_records(np.array([0]))
    assert pop.records["valuation"][pop["id"][0]] == 123.0
    pop.snapshot_records()
    live = pop["id"]
    np.testing.assert_array_equal(pop.records["valuation"][live], 123.0)
    np.testing.assert_array_equal(pop.records["employees"][live], 7.0)
    assert pop.records["valuation"][2] == final_2  # the ended firm keeps its final values


def test_growth_beyond_initial_capacity():
    rng = np.random.default_rng(3)
    pop = FirmPopulation(capacity=0)  # clamped to the minimum capacity
    start_cap = pop.live.capacity
    expected = {}
    for step in range(-20, 30):
        k = int(rng.integers(0, 400))
        vals = make_values(rng, step, k)
        ids = pop.add(step, **vals)
        for j, fid in enumerate(ids):
            expected[int(fid)] = (vals["revenue"][j], vals["emp_hist"][j])
        if len(pop) > 50:
            rows = rng.choice(len(pop), size=len(pop) // 10, replace=False)
            for fid in pop.end(rows, step, "failed"):
                del expected[int(fid)]
    assert pop.n_ever > 20 * start_cap and pop.live.capacity >= len(pop)
    assert len(pop) == len(expected)
    for fid, (revenue, hist) in expected.items():
        r = pop.row(fid)
        assert r >= 0 and pop["id"][r] == fid
        assert pop["revenue"][r] == revenue
        np.testing.assert_array_equal(pop["emp_hist"][r], hist)
    # one big birth larger than the whole current capacity
    n_before, live_before, k = pop.n_ever, len(pop), 5 * pop.live.capacity
    vals = make_values(rng, 31, k)
    ids = pop.add(31, **vals)
    assert pop.n_ever == n_before + k and len(pop) == live_before + k
    assert (pop.records["born_step"][ids] == 31).all()
    np.testing.assert_array_equal(pop["revenue"][pop.row_of[ids]], vals["revenue"])
    np.testing.assert_array_equal(pop["id"][pop.row_of[ids]], ids)


# ---------------------------------------------------------------------------------------------
# Stateful property test
# ---------------------------------------------------------------------------------------------


class PopulationMachine(RuleBasedStateMachine):
    @initialize(capacity=st.integers(0, 40), start=st.integers(-40, 5), seed=st.integers(0, 2**32 - 1))
    def setup(self, capacity, start, seed):
        self.pop = FirmPopulation(capacity=capacity)
        self.rng = np.random.default_rng(seed)
        self.step = start
        self.rank = 0  # births so far in this step (channel 0)
        self.live: dict[int, dict] = {}  # id -> current values of the followed columns
        self.ended: dict[int, tuple] = {}  # id -> (step, kind, final values)
        self.birth: dict[int, tuple] = {}  # id -> (step, origin, track, key)

    @rule(k=st.integers(0, 25))
    def add(self, k):
        vals = make_values(self.rng, self.step, k, start_rank=self.rank)
        self.rank += k
        n_ever = self.pop.n_ever
        ids = self.pop.add(self.step, **vals)
        np.testing.assert_array_equal(ids, np.arange(n_ever, n_ever + k))
        for j, fid in enumerate(ids.tolist()):
            self.live[fid] = {c: vals[c][j] for c in SCALARS} | {"emp_hist": vals["emp_hist"][j].copy()}
            self.birth[fid] = (self.step, vals["origin"][j], vals["track"][j], vals["key"][j])

    @precondition(lambda self: self.live)
    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def end(self, data, kind):
        live_ids = sorted(self.live)
        chosen = data.draw(st.lists(st.sampled_from(live_ids), unique=True, max_size=len(live_ids)))
        rows = self.pop.row_of[np.array(chosen, dtype=np.int64)]
        rows = self.rng.permutation(rows)
        got = self.pop.end(rows, self.step, kind)
        assert sorted(got.tolist()) == sorted(chosen)
        for fid in chosen:
            self.ended[fid] = (self.step, kind, self.live.pop(fid))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def update(self, data):
        live_ids = sorted(self.live)
        chosen = data.draw(st.lists(st.sampled_from(live_ids), unique=True, min_size=1, max_size=5))
        for fid in chosen:
            r = self.pop.row(fid)
            for c in ("employees", "revenue", "valuation", "raised"):
                v = float(self.rng.lognormal())
                self.pop[c][r] = v
                self.live[fid][c] = v
            self.pop["emp_hist"][r, -1] = self.live[fid]["emp_hist"][-1] = float(self.rng.normal())

    @rule()
    def tick(self):
        self.step += 1
        self.rank = 0

    @precondition(lambda self: self.ended)
    @rule(data=st.data())
    def end_again(self, data):
        fid = data.draw(st.sampled_from(sorted(self.ended)))
        assert self.pop.row(fid) == -1
        with pytest.raises(IndexError):
            self.pop.end(np.array([self.pop.row(fid)]), self.step, "failed")

    @invariant()
    def consistent(self):
        pop = self.pop
        assert len(pop) == len(self.live)
        assert pop.n_ever == len(self.live) + len(self.ended)
        ids = pop["id"]
        assert len(np.unique(ids)) == len(ids)
        assert set(ids.tolist()) == set(self.live)
        rec = pop.records
        for fid in range(pop.n_ever):
            is_live, is_ended = fid in self.live, fid in self.ended
            assert is_live != is_ended, f"firm {fid}: live={is_live} ended={is_ended}"
            step, origin, track, key = self.birth[fid]
            assert rec["born_step"][fid] == step and rec["origin"][fid] == origin
            assert rec["track_id"][fid] == track and rec["key"][fid] == key
            r = pop.row(fid)
            if is_live:
                assert r >= 0 and pop["id"][r] == fid
                assert rec["end_kind"][fid] == 0 and rec["end_step"][fid] == NEVER
                assert pop["born"][r] == step and pop["key"][r] == key and pop["track"][r] == track
                vals = self.live[fid]
                for c in SCALARS:
                    assert pop[c][r] == vals[c], (fid, c)
                np.testing.assert_array_equal(pop["emp_hist"][r], vals["emp_hist"])
            else:
                end_step, kind, final = self.ended[fid]
                assert r == -1
                assert rec["end_kind"][fid] == END_CODE[kind] and END_KINDS[rec["end_kind"][fid]] == kind
                assert rec["end_step"][fid] == end_step
                for c, rc in REC_OF.items():
                    assert rec[rc][fid] == final[c], (fid, c)


TestPopulationMachine = PopulationMachine.TestCase
TestPopulationMachine.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

"""Policy effects across worlds: a reusable harness for checking what a policy does.

A check (:class:`Effect`) names a policy configuration (``conf/policy/<name>.yaml``), the lever
it is about, the quantity it measures and the direction the policy should move it. The harness
runs the *treated* arm (the policy at its defaults, unless the check says otherwise) and the
*control* arm (no policy, or the same policy with the lever switched off) at every seed of
:data:`SEEDS`, with common random numbers: one root seed per world, split into named streams,
so the two arms of a world differ only through the policy. For each world it measures the
quantity in both arms (a firm-level quantity on the *same firms* in both, matched by birth key)
and takes the paired difference ``treated - control``. The check passes when the 95 % t
interval of the mean paired difference excludes zero in the intended direction.

Adding a policy: give it a direct-target :class:`Effect` at its defaults and one per secondary
lever, add them to :data:`EFFECTS`, and map each of its parameters in :data:`LEVERS` to the
check that covers it (``tests/test_policy_effects.py`` fails until every parameter of every
registered policy kind is mapped). A measure gets two :class:`Run` records (treated, control)
and returns ``(treated value, control value)``; what a policy object knows beyond the output
tables (the firms it supported, a fund's id) is taken when its run ends by :data:`PROBES`.

The world is the default configuration (the 中关村 preset, 8 warm-up and 10 observed years) at
``scale = SCALE``. :data:`SCALE` is the one setting to switch to 1.0 (the default scale) once
full-scale runs are fast enough; the checks are written for any scale.

Each world's warm-up is run once in the process and every arm goes on from it
(:class:`sim.run.WarmStart`: the same runs as from scratch, without paying the warm-up again).
Runs are cached in the process (baselines for the whole session, the rest for a few checks);
set ``POLICY_EFFECTS_CACHE=<dir>`` to keep them on disk between sessions while developing a
check (entries are keyed by a hash of the model's source, so a change of the code reruns them).
``python tests/policy_effects.py [policy ...]`` prints every check's numbers.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from agents.firms.founding import RETURNEE_CHANNEL
from agents.investors.books import VCFund
from sim.config import Config
from sim.policies.people import channel_of
from sim.policies.registry import CONFIGS, configured_policy
from sim.run import WarmStart, run_simulation

ROOT = Path(__file__).resolve().parents[1]

#: Scale of the tested worlds. 1.0 is the default a user gets; 0.1 until full-scale runs are fast.
SCALE = 0.1
#: The worlds: root seeds (common random numbers within a world).
SEEDS = (1, 2, 3, 4, 5)
#: Confidence of the interval of the mean paired difference.
LEVEL = 0.95


# ------------------------------------------------------------------------------ arms and runs


@dataclass(frozen=True)
class Arm:
    """One arm of a comparison: a policy configuration with parameter overrides, or the baseline."""

    policy: str | None = None
    params: tuple[tuple[str, object], ...] = ()
    #: scale of the park; None: :data:`SCALE`
    scale: float | None = None

    @property
    def label(self) -> str:
        if self.policy is None:
            return "baseline"
        extra = ",".join(f"{k}={v}" for k, v in self.params)
        return self.policy + (f"[{extra}]" if extra else "")


@dataclass
class Run:
    """What the checks need of one finished run: the output tables (firm_years only where
    asked for), each firm's birth key (to match the same firms across arms), the facts the
    :data:`PROBES` took from the policy, and the configuration."""

    tables: dict[str, pd.DataFrame]
    keys: np.ndarray
    facts: dict
    config: Config

    @property
    def start_year(self) -> int:
        return self.config.ecosystem.start_year

    def keyed_firms(self) -> pd.DataFrame:
        """firms.parquet indexed by birth key."""
        return self.tables["firms"].assign(key=self.keys).set_index("key")

    def track_ids(self, *, keys=(), directions=()) -> np.ndarray:
        """Ids of the tracks listed by key or in these directions, and every track derived from them."""
        tr = self.tables["tracks"]
        chosen = set(tr.loc[tr["key"].isin(list(keys)) | tr["direction"].isin(list(directions)), "track_id"])
        for tid, parents in zip(tr["track_id"], tr["parent_ids"], strict=True):  # parents come first
            if tid not in chosen and any(int(p) in chosen for p in parents):
                chosen.add(int(tid))
        return np.array(sorted(chosen), dtype=np.int64)


def world(seed: int, firm_years: bool = False, scale: float | None = None) -> Config:
    """The default configuration at ``scale`` (None: :data:`SCALE`), for root seed ``seed``."""
    cfg = Config()
    cfg.seed = seed
    cfg.scale = SCALE if scale is None else scale
    cfg.output.plots = False
    cfg.output.firm_years = firm_years
    return cfg


def _probe_policy(model, policy) -> dict:
    """Facts every policy reports: the firms it supported (as birth keys), its money and stats."""
    keys = model.population.records["key"]
    steps = [np.full(ids.size, st, dtype=np.int64) for ids, st in zip(policy.supported_ids, policy.supported_steps,
                                                                        strict=True)]
    return {
        "supported_keys": keys[policy.supported()],
        "supported_step": np.concatenate(steps) if steps else np.empty(0, dtype=np.int64),
        "spent": policy.spent,
        "received": policy.received,
        "stats": policy.stats(),
        "accounts": {y: list(v) for y, v in policy.accounts.items()},
    }


def _probe_model(model) -> dict:
    """Facts about the model at the end of the run that no output table holds."""
    funds = [a for a in model.market.investors if isinstance(a, VCFund)]
    return {"lives_of_vc_funds_raised_in_window": [f.life_years for f in funds if f.raised_step >= 0]}


def _scene_firms(model, policy) -> list[tuple[int, int]]:
    """(birth key, scene step) of every firm that took a scene on."""
    keys = model.population.records["key"]
    scenes = [sc for sc in policy.scene_log if sc["firms"] > 0]
    assert len(scenes) == len(policy.supported_ids)
    return [(int(k), sc["step"]) for sc, ids in zip(scenes, policy.supported_ids, strict=True) for k in keys[ids]]


#: Extra facts per kind of policy, taken from the policy object when its run ends.
PROBES: dict[str, Callable] = {
    "guidance_fund": lambda m, p: {"fund_id": None if p.fund is None else p.fund.unique_id},
    "rd_grants": lambda m, p: {"granted_keys": m.population.records["key"][p.ids], "granted_step": p.started.copy()},
    "ocs_programmes": lambda m, p: {"granted_keys": m.population.records["key"][p.ids],
                                    "granted_step": p.joined.copy()},
    "stage_cultivation": lambda m, p: {"enrolled_keys": m.population.records["key"][p.enrolled],
                                       "enrolled_step": p.enrolled_step.copy(), "paid": p.paid},
    "scene_opening": lambda m, p: {"scenes": list(p.scene_log), "scene_firms": _scene_firms(m, p)},
    "talent_programme": lambda m, p: {"returnee_keys": m.population.records["key"][p.returnee_ids]},
    "track_cultivation": lambda m, p: {"withdrawn": sorted(p.withdrawn)},
}

#: firm_years is kept only for the arms of these policies (and every baseline).
KEEP_FIRM_YEARS = {"rd_grants", "ocs_programmes", "sanctions_shock"}

_MEMORY: OrderedDict = OrderedDict()
_MEMORY_SIZE = 12  # policy runs kept in the process; baselines are always kept
_BASELINES: dict = {}


@functools.cache
def _source_digest() -> str:
    h = hashlib.sha256()
    for folder in ("sim", "agents", "conf"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.suffix in (".py", ".yaml"):
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    h.update(repr((SCALE,)).encode())
    return h.hexdigest()[:16]


def _disk_path(arm: Arm, seed: int) -> Path | None:
    folder = os.environ.get("POLICY_EFFECTS_CACHE")
    if not folder:
        return None
    key = (arm.policy, arm.params, seed) if arm.scale is None else (arm.policy, arm.params, seed, arm.scale)
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
    return Path(folder) / _source_digest() / f"{name}.pickle"


@functools.cache
def warm_start(seed: int) -> WarmStart:
    """The warm-up of world ``seed``, run once in the process and shared by every arm (policies act
    in the observed window only, so each arm's run is the same as from scratch: tests/test_model.py)."""
    return WarmStart(world(seed))


_LARGE_WARM_START: dict = {}  # the warm-up of the one world at another scale a check is running


def _warm_start_at(seed: int, scale: float | None) -> WarmStart:
    """The warm-up of world ``seed`` at ``scale``: those at :data:`SCALE` kept for the session, one
    at another scale (a check's two arms use it one after the other) kept until the next."""
    if scale is None:
        return warm_start(seed)
    key = (seed, scale)
    if key not in _LARGE_WARM_START:
        _LARGE_WARM_START.clear()
        _LARGE_WARM_START[key] = WarmStart(world(seed, scale=scale))
    return _LARGE_WARM_START[key]


def _simulate(arm: Arm, seed: int) -> Run:
    policies = [] if arm.policy is None else [configured_policy(arm.policy, **dict(arm.params))]
    keep_fy = arm.policy is None or CONFIGS[arm.policy][0] in KEEP_FIRM_YEARS
    res = run_simulation(world(seed, firm_years=keep_fy, scale=arm.scale), progress=False, policies=policies,
                         warm_start=_warm_start_at(seed, arm.scale))
    model = res.model
    facts = _probe_model(model)
    if policies:
        p = policies[0]
        facts.update(_probe_policy(model, p))
        facts.update(PROBES.get(p.kind, lambda m, q: {})(model, p))
        facts["policy"] = p.to_dict()
    tables = {k: v for k, v in res.tables.items() if k != "firm_years" or keep_fy}
    return Run(tables=tables, keys=model.population.records["key"][: len(res.tables["firms"])].copy(),
               facts=facts, config=res.config)


def run(arm: Arm, seed: int) -> Run:
    """The run of ``arm`` at ``seed`` (cached)."""
    key = (arm, seed)
    store = _BASELINES if arm.policy is None else _MEMORY
    if key in store:
        if store is _MEMORY:
            _MEMORY.move_to_end(key)
        return store[key]
    path = _disk_path(arm, seed)
    if path is not None and path.exists():
        with path.open("rb") as fh:
            result = pickle.load(fh)  # noqa: S301  (the developer's own cache)
    else:
        result = _simulate(arm, seed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(result, fh)
            tmp.replace(path)
    if arm.scale is not None:  # a larger park's runs serve their one check: not kept
        return result
    store[key] = result
    if store is _MEMORY and len(_MEMORY) > _MEMORY_SIZE:
        _MEMORY.popitem(last=False)
    return result


# ------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class Effect:
    """One check: ``policy`` moves ``measure`` in ``direction`` (+1 up, -1 down).

    ``treated`` are parameter overrides of the treated arm (empty: the defaults users get);
    ``control`` is None for the baseline without the policy, or parameter overrides of the
    same policy (the lever switched off) for a secondary lever.
    """

    policy: str
    lever: str
    what: str
    measure: Callable[[Run, Run], tuple[float, float]] = field(compare=False)
    direction: int = 1
    treated: tuple[tuple[str, object], ...] = ()
    control: tuple[tuple[str, object], ...] | None = None
    #: a known defect of the policy that makes this check fail today (the test is a strict xfail)
    known_defect: str | None = None
    #: scale of the worlds, where :data:`SCALE` holds too few of the events the lever acts on for
    #: five worlds to show it (None: :data:`SCALE`); and the worlds, where five are too few (None: :data:`SEEDS`)
    scale: float | None = None
    seeds: tuple[int, ...] | None = None

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.lever}"

    def arms(self) -> tuple[Arm, Arm]:
        treated = Arm(self.policy, self.treated, self.scale)
        control = Arm(scale=self.scale) if self.control is None else Arm(self.policy, self.treated + self.control,
                                                                         self.scale)
        return treated, control


@dataclass
class Outcome:
    """The paired differences of one check over the worlds, and their interval."""

    effect: Effect
    seeds: tuple[int, ...]
    treated: np.ndarray
    control: np.ndarray

    @property
    def diffs(self) -> np.ndarray:
        return self.treated - self.control

    @property
    def interval(self) -> tuple[float, float, float]:
        """(mean, low, high) of the mean paired difference, t interval at :data:`LEVEL`."""
        return paired_interval(self.diffs)

    @property
    def passed(self) -> bool:
        _, lo, hi = self.interval
        return lo > 0 if self.effect.direction > 0 else hi < 0

    def describe(self) -> str:
        mean, lo, hi = self.interval
        t, c = float(np.mean(self.treated)), float(np.mean(self.control))
        rel = f", {t / c:.3f}x the control" if c > 0 and t > 0 else ""
        way = "up" if self.effect.direction > 0 else "down"
        return (
            f"{self.effect.id} ({self.effect.what}; should go {way}): mean paired difference {mean:.4g}, "
            f"{LEVEL:.0%} interval [{lo:.4g}, {hi:.4g}]{rel}; treated {np.round(self.treated, 4).tolist()}, "
            f"control {np.round(self.control, 4).tolist()} at seeds {list(self.seeds)} (scale "
            f"{self.effect.scale or SCALE})"
        )


    def row(self) -> str:
        """The check as a row of docs/testing.md's results table (result: passes or fails)."""
        mean, lo, hi = self.interval
        where = []
        if self.effect.scale is not None:
            where.append(f"scale {self.effect.scale:g}")
        if self.seeds != SEEDS:
            where.append(f"worlds {', '.join(map(str, self.seeds))}")
        way = "↑" if self.effect.direction > 0 else "↓"
        known = " (known defect, strict xfail)" if self.effect.known_defect and not self.passed else ""
        what = self.effect.what + (f" ({'; '.join(where)})" if where else "")
        cells = [f"`{self.effect.id}`", what, way, f"{np.mean(self.treated):.4g}",
                 f"{np.mean(self.control):.4g}", f"{mean:.4g}", f"[{lo:.4g}, {hi:.4g}]",
                 ("passes" if self.passed else "fails") + known]
        return "| " + " | ".join(cells) + " |"


def paired_interval(diffs) -> tuple[float, float, float]:
    """Mean of the paired differences and its two-sided t interval at :data:`LEVEL`."""
    d = np.asarray(diffs, dtype=float)
    n = d.size
    if n < 2:
        raise ValueError("an interval needs at least two worlds")
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def estimate(effect: Effect, seeds=None) -> Outcome:
    seeds = seeds or effect.seeds or SEEDS
    treated_arm, control_arm = effect.arms()
    pairs = [effect.measure(run(treated_arm, s), run(control_arm, s)) for s in seeds]
    t, c = (np.array(x, dtype=float) for x in zip(*pairs, strict=True))
    return Outcome(effect, tuple(seeds), t, c)


def check(effect: Effect, seeds=None) -> Outcome:
    """Assert that ``effect`` holds over ``seeds``; returns the outcome (for reports)."""
    out = estimate(effect, seeds)
    assert np.isfinite(out.diffs).all(), out.describe()
    assert out.passed, out.describe()
    return out


# ------------------------------------------------------------------------------ measures


def same_firms(treated: Run, control: Run, keys) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The firms with birth ``keys`` in the treated run and the same firms in the control run."""
    keys = np.unique(np.asarray(keys, dtype=np.uint64))
    t = treated.keyed_firms().loc[keys]
    c = control.keyed_firms()
    assert np.isin(keys, c.index).all(), "every supported firm exists in the control run too (same founders)"
    return t, c.loc[keys]


def firm_mean(column: str, fact: str = "supported_keys", transform=None, firms=None):
    """Mean of a firms.parquet column over the firms the treated arm's policy supported (birth
    keys in the fact ``fact`` of :data:`PROBES`), in both arms (``firms``: how they are found in the
    control arm, :func:`same_firms` by default, :func:`firms_in_both` where the lever changes who founds)."""

    def measure(treated: Run, control: Run) -> tuple[float, float]:
        t, c = (firms or same_firms)(treated, control, treated.facts[fact])
        assert len(t) >= 20, f"only {len(t)} firms supported: too few for a firm-level check"
        f = transform or (lambda s: s)
        return float(f(t[column]).mean()), float(f(c[column]).mean())

    return measure


def failed_share(fact: str = "supported_keys"):
    def measure(treated: Run, control: Run) -> tuple[float, float]:
        t, c = same_firms(treated, control, treated.facts[fact])
        assert len(t) >= 20, f"only {len(t)} firms supported: too few for a firm-level check"
        return float((t["end_kind"] == "failed").mean()), float((c["end_kind"] == "failed").mean())

    return measure


def total(table: str, column: str, where=None):
    """Sum of a column of an output table (rows selected by ``where(run, table)``) in both arms."""

    def value(r: Run) -> float:
        df = r.tables[table]
        if where is not None:
            df = df[where(r, df)]
        return float(df[column].sum())

    return lambda treated, control: (value(treated), value(control))


def count(table: str, where):
    """Number of rows of an output table selected by ``where(run, table)`` in both arms."""

    def value(r: Run) -> float:
        df = r.tables[table]
        return float(where(r, df).sum())

    return lambda treated, control: (value(treated), value(control))


def log_revenue(s: pd.Series) -> pd.Series:
    return np.log(s.clip(lower=1e-6))


def born_observed(r: Run, firms: pd.DataFrame) -> pd.Series:
    return firms["born_step"] >= 0


def _share_born_in_direction(direction: str):
    def value(r: Run) -> float:
        firms = r.tables["firms"]
        born = firms[firms["born_step"] >= 0]
        d = r.tables["tracks"].set_index("track_id")["direction"]
        # the track a firm was founded into: its track at birth is its track unless the track
        # split or merged later; directions do not change in either
        return float((d.loc[born["track_id"]].to_numpy() == direction).mean())

    return lambda treated, control: (value(treated), value(control))


def _headcount_after_grant(treated: Run, control: Run) -> tuple[float, float]:
    """Headcount of the granted firms at the first year end after their grant started."""
    keys = treated.facts["granted_keys"]
    year = treated.start_year + treated.facts["granted_step"] // 12
    want = pd.DataFrame({"key": keys, "year": year.astype(np.int64)})
    assert len(want) >= 20

    def headcount(r: Run) -> float:
        ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
        fy = r.tables["firm_years"].astype({"year": np.int64})
        got = want.merge(ids, on="key").merge(fy, on=["firm_id", "year"], how="left")
        assert len(got) == len(want), "every granted firm exists in both runs"
        return float(got["employees"].fillna(0.0).sum() / len(want))

    return headcount(treated), headcount(control)


def _equity_raised_after_enrolment(treated: Run, control: Run) -> tuple[float, float]:
    """Equity the cultivated firms raised from the month they joined the list on (deals), per firm."""
    enrolled = pd.DataFrame({"key": treated.facts["enrolled_keys"], "since": treated.facts["enrolled_step"]})
    assert len(enrolled) >= 20

    def value(r: Run) -> float:
        ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
        d = r.tables["deals"]
        d = d[d["round"] != "loan"].merge(ids, on="firm_id").merge(enrolled, on="key")
        assert enrolled["key"].isin(ids["key"]).all(), "every cultivated firm exists in both runs"
        return float(d.loc[d["step"] >= d["since"], "amount"].sum() / len(enrolled))

    return value(treated), value(control)


def _equity_raised_on_the_list(treated: Run, control: Run) -> tuple[float, float]:
    """Equity the cultivated firms raised while on the list (deals from the month they joined it
    for ``support_years``: while its screening relief holds), per firm. Money raised after a
    firm left the list is not the relief's doing; summed with it, a few late large rounds decided
    the sign of a world's difference."""
    enrolled = pd.DataFrame({"key": treated.facts["enrolled_keys"], "since": treated.facts["enrolled_step"]})
    months = 12 * treated.facts["policy"]["support_years"]
    assert len(enrolled) >= 20

    def value(r: Run) -> float:
        ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
        assert enrolled["key"].isin(ids["key"]).all(), "every cultivated firm exists in both runs"
        d = r.tables["deals"]
        d = d[d["round"] != "loan"].merge(ids, on="firm_id").merge(enrolled, on="key")
        on = (d["step"] >= d["since"]) & (d["step"] < d["since"] + months)
        return float(d.loc[on, "amount"].sum() / len(enrolled))

    return value(treated), value(control)


def _exposed_live_revenue(treated: Run, control: Run) -> tuple[float, float]:
    """Revenue of live firms at the end of the run in the shocked tracks (and their descendants)."""
    targets = treated.facts["policy"]["target_tracks"]

    def value(r: Run) -> float:
        ids = r.track_ids(keys=targets)
        f = r.tables["firms"]
        return float(f.loc[f["end_kind"].isna() & f["track_id"].isin(ids), "revenue"].sum())

    return value(treated), value(control)


def _exposed_window_revenue(treated: Run, control: Run) -> tuple[float, float]:
    """Revenue of the shocked tracks' firms (and their descendants') over the observed window: the
    yearly revenue run rates of the firm-year panel, summed over the year ends, of every firm whose
    track is one of them. Unlike the live firms at the end it keeps the firms that were listed,
    acquired or grew out of the young-firm population on the way (the largest, which targeted
    support goes to first), and it is not one month's snapshot of the arms' diverging histories."""
    targets = treated.facts["policy"]["target_tracks"]

    def value(r: Run) -> float:
        ids = r.track_ids(keys=targets)
        fy = r.tables["firm_years"]
        track = r.tables["firms"].set_index("firm_id")["track_id"]
        return float(fy.loc[fy["firm_id"].map(track).isin(ids), "revenue"].sum())

    return value(treated), value(control)


def _exposed_equity(treated: Run, control: Run) -> tuple[float, float]:
    """Equity raised in the observed window by firms of the shocked tracks (deals at the time)."""
    targets = treated.facts["policy"]["target_tracks"]

    def value(r: Run) -> float:
        d = r.tables["deals"]
        ids = r.track_ids(keys=targets)
        return float(d.loc[(d["round"] != "loan") & d["track_id"].isin(ids), "amount"].sum())

    return value(treated), value(control)


def _vc_committed_in_window(treated: Run, control: Run) -> tuple[float, float]:
    def value(r: Run) -> float:
        inv = r.tables["investors"]
        return float(inv.loc[(inv["kind"] == "vc") & (inv["vintage_year"] >= r.start_year), "committed"].sum())

    return value(treated), value(control)


def _exited_in_window(r: Run, firms: pd.DataFrame) -> pd.Series:
    return firms["end_kind"].isin(["ipo", "acquired"]).fillna(False) & (firms["end_step"].fillna(-1) >= 0)


# ------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class Rule:
    """A rule a policy's mechanism must obey in every world: ``holds(run)`` returns None when it
    holds in that run of the treated arm, else what went wrong. A rule must not hold vacuously:
    it returns a message when there is nothing to check (no deals of a fund, no firm supported)."""

    policy: str
    lever: str
    what: str
    holds: Callable[[Run], str | None] = field(compare=False)
    treated: tuple[tuple[str, object], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.lever}"


def check_rule(rule: Rule, seeds=SEEDS) -> None:
    problems = [f"seed {s}: {msg}" for s in seeds if (msg := rule.holds(run(Arm(rule.policy, rule.treated), s)))]
    assert not problems, f"{rule.id} ({rule.what}): " + "; ".join(problems)


def _fund_deals(r: Run) -> pd.DataFrame:
    d = r.tables["deals"]
    return d[d["investor_id"] == r.facts["fund_id"]]


def _fund_in_mandate(r: Run) -> str | None:
    deals = _fund_deals(r)
    if deals.empty:
        return "the policy's guidance fund made no deal"
    direction = r.tables["tracks"].set_index("track_id")["direction"]
    # the deal's track is the firm's track at the time of the deal: tracks merged or split later
    # keep their direction, so the mandate is judged on the directions of those tracks
    outside = ~direction.loc[deals["track_id"]].isin(r.facts["policy"]["target_directions"]).to_numpy()
    return f"{int(outside.sum())} of {len(deals)} deals outside the mandated directions" if outside.any() else None


def _fund_within_life(r: Run) -> str | None:
    deals = _fund_deals(r)
    life = 12 * r.facts["policy"]["life_years"]
    if deals.empty:
        return "the policy's guidance fund made no deal"
    late = deals["step"] >= life
    return f"{int(late.sum())} deals after the fund's life of {life} months" if late.any() else None


def _paid_in_tranches(r: Run) -> str | None:
    p = r.facts["policy"]
    spent = r.tables["policy_accounts"].set_index("year")["spent"]
    tranche = p["fund_size_mcny"] * SCALE / p["paid_in_years"]
    years = int(np.ceil(p["paid_in_years"]))
    want = np.array([tranche] * years + [0.0] * (len(spent) - years))
    if not np.allclose(spent.to_numpy(), want, rtol=1e-9, atol=1e-9):
        return f"yearly spending {spent.round(3).tolist()}, want tranches {want.round(3).tolist()}"
    return None


def _royalties_repay_at_most_the_grant_with_interest(r: Run) -> str | None:
    p, st = r.facts["policy"], r.facts["stats"]
    most = st["granted_mcny"] * (1 + p["repayment_interest"]) ** p["incubation_years"]
    if not 0 < r.facts["received"] <= most * (1 + 1e-12):
        return f"royalties {r.facts['received']:.3f}, want > 0 and <= {most:.3f} (grants plus interest)"
    return None


def _selected_above_their_cohort(fact: str, origin: str | None = None):
    """A programme that picks the best it sees picks firms of higher latent quality than the
    firms it picked from (same origin, born in the observed window)."""

    def holds(r: Run) -> str | None:
        firms = r.tables["firms"].assign(key=r.keys)
        chosen = firms["key"].isin(r.facts[fact])
        pool = firms[(firms["born_step"] >= 0) & (firms["origin"] == origin if origin else True)]
        if chosen.sum() < 20:
            return f"only {int(chosen.sum())} firms chosen"
        diff = firms.loc[chosen, "quality"].mean() - pool["quality"].mean()
        return None if diff > 0.1 else f"chosen firms' mean quality only {diff:+.3f} sd above their pool"

    return holds


def _supported_origin(origin: str):
    def holds(r: Run) -> str | None:
        firms = r.tables["firms"].assign(key=r.keys)
        chosen = firms[firms["key"].isin(r.facts["supported_keys"])]
        if chosen.empty:
            return "no firm supported"
        other = chosen["origin"] != origin
        return f"{int(other.sum())} supported firms are not {origin}" if other.any() else None

    return holds


def _fund_lives(r: Run) -> str | None:
    lives = r.facts["lives_of_vc_funds_raised_in_window"]
    want = r.config.ecosystem.vc.life_years * r.facts["policy"]["fund_life_multiplier"]
    if not lives:
        return "no VC fund raised in the observed window"
    ok = np.allclose(lives, want)
    return None if ok else f"lives {sorted(set(lives))} of funds raised under the policy, want {want}"


def _tax_expenditure(r: Run) -> str | None:
    p = r.facts["policy"]
    want = p["tax_incentive_rate"] * r.facts["stats"]["extra_commitments_mcny"]
    got = r.facts["spent"]
    return None if got > 0 and np.isclose(got, want, rtol=1e-9) else f"spent {got:.4f}, want {want:.4f}"


# ------------------------------------------------------------------------------ more measures


def _rd_spending_during(years_param: str, log_mean: bool = False):
    """R&D spending of the granted firms (firm_years rd_spending, mcny) in the calendar years
    whose end falls while their grant runs (``years_param`` of the policy: its length; same firms
    in both arms; a firm that died before a year end adds nothing for that year): the sum, or with
    ``log_mean`` the mean of log(1 + R&D) over those firm-years (for programmes of large firms,
    whose sum a few firms carry)."""

    def measure(treated: Run, control: Run) -> tuple[float, float]:
        granted = pd.DataFrame({"key": treated.facts["granted_keys"], "since": treated.facts["granted_step"]})
        months = 12 * treated.facts["policy"][years_param]
        assert len(granted) >= 20

        def value(r: Run) -> float:
            ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
            fy = r.tables["firm_years"].astype({"year": np.int64}).merge(ids, on="firm_id").merge(granted, on="key")
            step = (fy["year"] - r.start_year) * 12 + 11
            during = (step >= fy["since"]) & (step < fy["since"] + months)
            rd = fy.loc[during, "rd_spending"]
            return float(np.log1p(rd).mean()) if log_mean else float(rd.sum())

        return value(treated), value(control)

    return measure


_rd_spending_during_grant = _rd_spending_during("duration_years")


def _failed_within(years_param: str, pick=None):
    """Share of the supported firms that failed within the support period from their founding
    (the programmes take last month's founders). ``pick`` chooses the firms of both arms
    (default :func:`same_firms`; :func:`firms_in_both` for a policy that also changes who founds)."""
    pick = pick or same_firms

    def measure(treated: Run, control: Run) -> tuple[float, float]:
        months = 12 * treated.facts["policy"][years_param] + 1
        t, c = pick(treated, control, treated.facts["supported_keys"])

        def share(f):
            return float(((f["end_kind"] == "failed") & (f["end_step"] - f["born_step"] <= months)).mean())

        return share(t), share(c)

    return measure


def _log_revenue_at_support_end(years_param: str):
    """Mean log revenue of the supported firms at the last year end of their support
    (``years_param`` of the policy: its length; firm_years revenue), over the supported firms
    alive then in both arms (same firms). Read when the support has done its work, before the
    arms' tracks have had years to drift apart (a firm's revenue at the end of the run also
    carries every later divergence of its track: splits, merges, a track's end)."""

    def measure(treated: Run, control: Run) -> tuple[float, float]:
        sup = pd.DataFrame({"key": treated.facts["supported_keys"], "since": treated.facts["supported_step"]})
        months = 12 * treated.facts["policy"][years_param]

        def at_end(r: Run) -> pd.DataFrame:
            ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
            fy = r.tables["firm_years"].astype({"year": np.int64}).merge(ids, on="firm_id").merge(sup, on="key")
            step = (fy["year"] - r.start_year) * 12 + 11
            fy = fy[(step >= fy["since"]) & (step < fy["since"] + months)]
            return fy.sort_values("year").groupby("key").tail(1).set_index("key")[["year", "revenue"]]

        t, c = at_end(treated), at_end(control)
        both = t.merge(c, left_index=True, right_index=True, suffixes=("_t", "_c"))
        both = both[both["year_t"] == both["year_c"]]
        assert len(both) >= 20, f"only {len(both)} supported firms alive at the end of their support in both arms"
        return float(log_revenue(both["revenue_t"]).mean()), float(log_revenue(both["revenue_c"]).mean())

    return measure


def _scene_rounds(treated: Run, control: Run) -> tuple[float, float]:
    """Equity rounds of the scene firms while their scene is open (same firms)."""
    firms = pd.DataFrame(treated.facts["scene_firms"], columns=["key", "since"]).astype({"key": np.uint64})
    months = treated.facts["policy"]["duration_months"]
    assert len(firms) >= 20

    def value(r: Run) -> float:
        ids = pd.DataFrame({"key": r.keys, "firm_id": np.arange(r.keys.size)})
        d = r.tables["deals"]
        d = d[d["round"] != "loan"][["firm_id", "step"]].drop_duplicates().merge(ids, on="firm_id")
        d = d.merge(firms, on="key")
        return float(((d["step"] >= d["since"]) & (d["step"] < d["since"] + months)).sum())

    return value(treated), value(control)


def _scene_births(treated: Run, control: Run) -> tuple[float, float]:
    """Firms founded into a track while one of the treated arm's scenes was open there."""
    scenes = pd.DataFrame(treated.facts["scenes"])
    months = treated.facts["policy"]["duration_months"]
    assert len(scenes) >= 5

    def value(r: Run) -> float:
        f = r.tables["firms"]
        n = 0
        for t, step in zip(scenes["track_id"], scenes["step"], strict=True):
            n += int(((f["track_id"] == t) & (f["born_step"] > step) & (f["born_step"] <= step + months)).sum())
        return float(n)

    return value(treated), value(control)


def _loans(r: Run) -> pd.DataFrame:
    d = r.tables["deals"]
    return d[d["round"] == "loan"]


def _mean_loan(treated: Run, control: Run) -> tuple[float, float]:
    return float(_loans(treated)["amount"].mean()), float(_loans(control)["amount"].mean())


def _loan_count(treated: Run, control: Run) -> tuple[float, float]:
    return float(len(_loans(treated))), float(len(_loans(control)))


def _loans_beside_vc_rounds(treated: Run, control: Run) -> tuple[float, float]:
    """Bank loans made in the month after a VC round A-C of the same firm (投贷联动: the bank
    lends at the start of the next month)."""

    def value(r: Run) -> float:
        d = r.tables["deals"]
        vc = d[(d["investor_kind"] == "vc") & d["round"].isin(["A", "B", "C"])][["firm_id", "step"]].drop_duplicates()
        return float(len(_loans(r).merge(vc.assign(step=vc["step"] + 1), on=["firm_id", "step"])))

    return value(treated), value(control)



def _ipos_below_the_usual_thresholds(treated: Run, control: Run) -> tuple[float, float]:
    """IPOs of firms whose valuation or revenue at the listing was below the preset's thresholds
    (possible only on the relieved listing route of the targeted tracks)."""

    def value(r: Run) -> float:
        ex = r.config.ecosystem.exits
        f = r.tables["firms"]
        below = (f["valuation"] < ex.ipo_min_valuation_mcny) | (f["revenue"] < ex.ipo_min_revenue_mcny)
        return float(((f["end_kind"] == "ipo") & below & (f["end_step"] >= 0)).sum())

    return value(treated), value(control)



def _public_value_ratio(treated: Run, control: Run) -> tuple[float, float]:
    """What the policy's fund is worth to the government at the end, relative to the control arm's
    (treated / control, against 1): the proceeds it got back plus the value of the positions it
    still holds, each a claim within the return cap (positions.parquet; total value over paid-in, a
    fund's TVPI, is how a limited partner judges a fund whose investments have not all exited). A
    ratio: the fund's value is multiplicative with a heavy tail, and the cap takes a share of it."""

    def value(r: Run) -> float:
        p = r.tables["positions"]
        p = p[p["investor_id"] == r.facts["fund_id"]]
        assert len(p) > 0 and np.isclose(p["proceeds"].sum(), r.facts["received"]), "proceeds are the receipts"
        return float(p["proceeds"].sum() + p["residual_value"].sum())

    return value(treated) / value(control), 1.0


def _public_spending(treated: Run, control: Run) -> tuple[float, float]:
    return treated.facts["spent"], control.facts["spent"]


def _live_revenue_in_direction(direction: str):
    """Mean log revenue of the live firms of a direction's tracks at the end of the run."""

    def value(r: Run) -> float:
        f = r.tables["firms"]
        ids = r.track_ids(directions=[direction])
        live = f[f["end_kind"].isna() & f["track_id"].isin(ids)]
        return float(log_revenue(live["revenue"]).mean())

    return lambda treated, control: (value(treated), value(control))


def _returnee_quality(r: Run) -> str | None:
    firms = r.tables["firms"].assign(key=r.keys)
    ret = firms["key"].isin(r.facts["returnee_keys"])
    if ret.sum() < 20:
        return f"only {int(ret.sum())} returnee firms"
    peers = firms[~ret & (firms["origin"] == "independent") & (firms["born_step"] >= 0)]
    diff = firms.loc[ret, "quality"].mean() - peers["quality"].mean()
    want = r.facts["policy"]["returnee_quality_shift"]
    se = firms.loc[ret, "quality"].std() / np.sqrt(ret.sum())
    return None if abs(diff - want) < 4 * se else f"returnee teams {diff:+.3f} sd above independents, want {want:+.3f}"


def _scene_firms_old_enough(r: Run) -> str | None:
    firms = pd.DataFrame(r.facts["scene_firms"], columns=["key", "since"]).astype({"key": np.uint64})
    if len(firms) < 20:
        return f"only {len(firms)} scene firms"
    born = r.keyed_firms().loc[firms["key"], "born_step"].to_numpy()
    young = firms["since"].to_numpy() - born < r.facts["policy"]["min_age_months"]
    return f"{int(young.sum())} scene firms younger than min_age_months" if young.any() else None


def _returnees_per_year(r: Run) -> str | None:
    want = r.facts["policy"]["returnee_firms_per_year"] * SCALE * r.config.years
    got = len(r.facts["returnee_keys"])
    return None if abs(got - want) <= 1 else f"{got} returnee firms, want {want:g}"


def _alumni_births_untouched(r: Run) -> str | None:
    base = run(Arm(), int(r.config.seed)).tables["timeseries"]["births_alumni"]
    got = r.tables["timeseries"]["births_alumni"]
    return None if got.equals(base) else "alumni births moved (their draws are keyed by channel)"


# ------------------------------------------------------------------------------ measures: institutes and capital
# (basic_research, ocs_programmes, incubator_chain, fund_of_funds, public_procurement,
# open_innovation, and the reworked entry_subsidy, tech_transfer_reform, talent_programme)


def firms_in_both(treated: Run, control: Run, keys, least: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The firms with birth ``keys`` in the treated run that the control run has too, in both
    runs. For policies that also change who founds a firm (a cheaper founding, more spin-offs):
    the founders the policy drew in have no counterpart; at least ``least`` of the firms must."""
    keys = np.unique(np.asarray(keys, dtype=np.uint64))
    c = control.keyed_firms()
    common = keys[np.isin(keys, c.index)]
    assert common.size >= least * keys.size, f"only {common.size} of {keys.size} supported firms in the control run"
    assert common.size >= 20, f"only {common.size} firms supported: too few for a firm-level check"
    return treated.keyed_firms().loc[common], c.loc[common]


def failed_share_in_both(treated: Run, control: Run) -> tuple[float, float]:
    """Share of the supported firms that fail (the firms both arms have)."""
    t, c = firms_in_both(treated, control, treated.facts["supported_keys"])
    return float((t["end_kind"] == "failed").mean()), float((c["end_kind"] == "failed").mean())


def _knowledge_at_end(treated: Run, control: Run) -> tuple[float, float]:
    """The institutes' knowledge stock in the last month (timeseries knowledge)."""
    return tuple(float(r.tables["timeseries"]["knowledge"].iloc[-1]) for r in (treated, control))


def _contract_payments_in_target_directions(treated: Run, control: Run) -> tuple[float, float]:
    """Payments under supply contracts (all buyers) to firms of the policy's target directions."""
    directions = treated.facts["policy"]["target_directions"]

    def value(r: Run) -> float:
        con = r.tables["contracts"]
        track = r.tables["firms"].set_index("firm_id")["track_id"]
        inside = con["firm_id"].map(track).isin(r.track_ids(directions=directions))
        return float(con.loc[inside, "paid"].sum())

    return value(treated), value(control)


def _incumbents_procurement(treated: Run, control: Run) -> tuple[float, float]:
    """What incumbents paid young firms under supply contracts (incumbents.procurement_paid): what
    the co-payment stretches. The corporate venture investment the match is for is its own check
    (``open_innovation:cvc_match``): summed with it, the corporate funds' deals, which move either
    way between worlds by more than the whole co-payment, hid the procurement the policy raises."""
    return tuple(float(r.tables["incumbents"]["procurement_paid"].sum()) for r in (treated, control))


def _cvc_invested(treated: Run, control: Run) -> tuple[float, float]:
    """What the incumbents' corporate venture funds invested (timeseries cvc_invested)."""
    return tuple(float(r.tables["timeseries"]["cvc_invested"].sum()) for r in (treated, control))


def _returnees_selected(r: Run) -> str | None:
    """The programme picks the best returnee founders it sees: of higher latent quality than the
    returnee founders of the window (the programme takes only some of them)."""
    firms = r.tables["firms"].assign(key=r.keys)
    chosen = firms["key"].isin(r.facts["returnee_keys"])
    pool = firms[(firms["born_step"] >= 0) & (channel_of(firms["key"].to_numpy()) == RETURNEE_CHANNEL)]
    if chosen.sum() < 20:
        return f"only {int(chosen.sum())} returnee firms chosen"
    diff = firms.loc[chosen, "quality"].mean() - pool["quality"].mean()
    return None if diff > 0.1 else f"chosen returnees' mean quality only {diff:+.3f} sd above all returnees"


# ------------------------------------------------------------------------------ the checks of every policy


def ts_total(column: str):
    return total("timeseries", column)


EFFECTS: list[Effect] = [
    # ---- direct targets, at the defaults, against the baseline
    # ten worlds (2026-12-04, after the track shakeout, worlds 1-5: +210 [-54, 474], up in four of five; the
    # policy's fund partly displaces the preset's paced guidance funds, so the net addition is small)
    Effect("guidance_fund", "direct", "guidance-fund money invested (timeseries guidance_invested)",
           ts_total("guidance_invested"), seeds=tuple(range(1, 11))),
    Effect("state_incubator", "direct", "share of the incubated firms that fail (same firms)", failed_share(), -1),
    Effect("rd_grants", "direct", "R&D spending of the granted firms in the years of their grant (same firms)",
           _rd_spending_during_grant),
    Effect("proof_of_concept", "direct", "share of the supported spin-offs that fail (the firms both arms have)",
           failed_share_in_both, -1),
    Effect("scene_opening", "direct", "mean log revenue of the scene firms (same firms)",
           firm_mean("revenue", transform=log_revenue)),
    Effect("credit_relaxation", "direct", "bank lending (timeseries bank_lending)", ts_total("bank_lending")),
    Effect("exit_channels", "direct", "exits by IPO and acquisition (timeseries exits_ipo + exits_acquired)",
           count("firms", _exited_in_window)),
    Effect("long_term_capital", "direct", "capital committed to VC funds raised in the observed window",
           _vc_committed_in_window),
    Effect("talent_programme", "direct", "firm births (timeseries births)", ts_total("births")),
    Effect("tech_transfer_reform", "direct", "spin-off births (timeseries births_spinoff)", ts_total("births_spinoff")),
    Effect("stage_cultivation", "direct", "equity raised by the cultivated firms from enrolment on (same firms)",
           _equity_raised_after_enrolment),
    # ten worlds (2026-12-04, worlds 1-5: +0.046 [-0.005, 0.098], up in four of five)
    Effect("local_patience", "direct", "share of the observed window's births in the supported direction 科技",
           _share_born_in_direction("科技"), seeds=tuple(range(1, 11))),
    Effect("sanctions_shock", "direct", "revenue of live firms in the exposed tracks at the end",
           _exposed_live_revenue, -1),
    # ten worlds (2026-12-05, a firm's growth volatility drawn each year: worlds 1-5 gave +0.037 [-0.007, 0.080],
    # up in four of five; worlds 1-10 +0.050 [0.016, 0.085])
    Effect("targeted_support", "direct", "mean log revenue of the supported exposed firms at the end of their "
           "support, against the shock alone (same firms)", _log_revenue_at_support_end("support_years"),
           control=(("support_capacity_per_year", 0.0),), seeds=tuple(range(1, 11))),
    Effect("entry_subsidy", "direct", "independent births (timeseries births_independent)",
           ts_total("births_independent")),
    Effect("ocs_programmes", "direct", "mean log(1 + R&D spending) of the consortium members in the years of their "
           "consortium (same firms)", _rd_spending_during("consortium_years", log_mean=True)),
    # ---- secondary levers: the policy at its defaults against the same policy with the lever off
    # ten worlds: the ratio is below 1 in every world but spreads from 0.33 to 0.97 (how much the capped
    # positions earn), so five worlds' t interval can reach zero (2026-12-04, after the follow-on reserve fix:
    # worlds 1-5 -0.344 [-0.708, 0.021]; worlds 1-10 -0.357 [-0.536, -0.177])
    Effect("guidance_fund", "return_cap", "the fund's value to the government (proceeds plus held positions, each "
           "within the cap), relative to the same fund with no effective cap", _public_value_ratio, -1,
           control=(("return_cap", 1.0),), seeds=tuple(range(1, 11))),
    Effect("state_incubator", "closure_relief", "share of the incubated firms that fail while incubated (same firms)",
           _failed_within("incubation_years"), -1, control=(("closure_relief", 0.0),)),
    Effect("state_incubator", "growth_support", "mean log revenue of the incubated firms (same firms)",
           firm_mean("revenue", transform=log_revenue), control=(("growth_support", 0.0),)),
    # spin-offs that grow faster change later spin-off founding (the institutes' knowledge and transfer draw on
    # their firms), so a few supported founders have no counterpart: the firms both arms have, as closure_relief
    Effect("proof_of_concept", "growth_support", "mean log revenue of the supported spin-offs (same firms)",
           firm_mean("revenue", transform=log_revenue, firms=firms_in_both), control=(("growth_support", 0.0),)),
    Effect("proof_of_concept", "closure_relief", "share of the supported spin-offs that fail while on the base "
           "(the firms both arms have: keeping spin-offs alive changes later spin-off founding)",
           _failed_within("pilot_years", firms_in_both), -1, control=(("closure_relief", 0.0),)),
    # at full scale: a park of scale 0.1 has about 8 scene firms a year, and 1-8 of their rounds a world fall while
    # their scene is open (most scene firms do not look for money then), too few for five worlds to show the 0.3 sd
    # relief (2026-12-04: -0.2 [-2.6, 2.2] at scale 0.1; +10 [7.4, 12.6], up in every world, at scale 1)
    Effect("scene_opening", "screen_relief", "equity rounds of the scene firms while their scene is open (same firms)",
           _scene_rounds, control=(("screen_relief", 0.0),), scale=1.0),
    Effect("scene_opening", "entry_bonus", "firms founded into a track while a scene is open there",
           _scene_births, control=(("entry_bonus", 1.0),)),
    Effect("credit_relaxation", "apply_multiplier", "number of bank loans", _loan_count,
           control=(("apply_multiplier", 1.0),),),
    Effect("credit_relaxation", "risk_pool_mcny", "bank lending (timeseries bank_lending), against no risk pool",
           ts_total("bank_lending"), control=(("risk_pool_mcny", 0.0),)),
    Effect("credit_relaxation", "loan_size_multiplier", "mean size of a bank loan", _mean_loan,
           control=(("loan_size_multiplier", 1.0),)),
    Effect("credit_relaxation", "interest_subsidy_share", "public money paid towards borrowers' interest",
           _public_spending, control=(("interest_subsidy_share", 0.0),)),
    Effect("credit_relaxation", "venture_debt_ratio", "bank loans in the month after a VC round A-C of the firm",
           _loans_beside_vc_rounds, control=(("venture_debt_ratio", 0.0),)),
    Effect("exit_channels", "listing_relief", "IPOs of firms below the usual listing thresholds",
           _ipos_below_the_usual_thresholds, control=(("listing_relief", 0.0),)),
    # ten worlds: a world at scale 0.1 lists 9-20 firms in the window and the paired differences swing by
    # several (2026-12-05, after the firm demography: worlds 1-5 +3.4 [-2.3, 9.1], up in four of five;
    # worlds 1-10 +3.3 [0.6, 6.0], 1.26x the control)
    Effect("exit_channels", "ipo_rate_multiplier", "IPOs (timeseries exits_ipo)", ts_total("exits_ipo"),
           control=(("ipo_rate_multiplier", 1.0),), seeds=tuple(range(1, 11))),
    Effect("exit_channels", "acquisition_multiplier", "acquisitions (timeseries exits_acquired)",
           ts_total("exits_acquired"), control=(("acquisition_multiplier", 1.0),)),
    Effect("stage_cultivation", "screen_relief", "equity raised by the cultivated firms while on the list, "
           "against the programme without the list's screening relief", _equity_raised_on_the_list,
           control=(("screen_relief", 0.0),)),
    Effect("local_patience", "growth_bonus", "mean log revenue of the live firms in 科技 tracks at the end",
           _live_revenue_in_direction("科技"), control=(("growth_bonus", 0.0),)),
    # ten worlds: the exposed tracks' equity swings with a few large rounds (2026-12-04, worlds 1-5:
    # -3,117 [-6,442, 208], down in four of five)
    Effect("sanctions_shock", "shock_screen", "equity raised by firms of the exposed tracks", _exposed_equity, -1,
           control=(("shock_screen", 0.0),), seeds=tuple(range(1, 11))),
    # ten worlds (2026-12-04, after the track shakeout, worlds 1-5: +3,319 [-3,000, 9,638], up in four of five)
    Effect("targeted_support", "support_capacity_per_year", "revenue of the exposed tracks' firms over the window "
           "(summed over the year ends), against the shock alone (the policy's stated target: lower under the shock, "
           "less so with support)", _exposed_window_revenue, control=(("support_capacity_per_year", 0.0),),
           seeds=tuple(range(1, 11))),
    Effect("targeted_support", "support_closure_relief", "share of the supported exposed firms that fail (same firms)",
           failed_share(), -1, control=(("support_closure_relief", 0.0),)),
    # ---- institutes and capital (issues 14, 17): direct targets at the defaults, then secondary levers
    # ten worlds (2026-12-04, worlds 1-5: +0.36 [-0.42, 1.14], up in four of five)
    Effect("basic_research", "direct", "the institutes' knowledge stock at the end (timeseries knowledge)",
           _knowledge_at_end, seeds=tuple(range(1, 11))),
    Effect("incubator_chain", "direct", "share of the chain's firms that fail (same firms)", failed_share_in_both,
           -1),
    Effect("fund_of_funds", "direct", "capital committed to VC funds raised in the observed window",
           _vc_committed_in_window),
    Effect("public_procurement", "direct", "supply-contract payments to firms of the target directions",
           _contract_payments_in_target_directions),
    Effect("open_innovation", "direct", "incumbents' procurement from young firms (incumbents procurement_paid)",
           _incumbents_procurement),
    Effect("open_innovation", "cvc_match", "what the incumbents' corporate venture funds invested (timeseries "
           "cvc_invested)", _cvc_invested, control=(("cvc_match", 0.0),)),
    Effect("entry_subsidy", "subsidy_mcny", "independent births (timeseries births_independent)",
           ts_total("births_independent"), control=(("subsidy_mcny", 0.0),)),
    Effect("entry_subsidy", "registration_cost_cut_mcny", "independent births (timeseries births_independent)",
           ts_total("births_independent"), control=(("registration_cost_cut_mcny", 0.0),)),
    Effect("talent_programme", "student_share", "independent births (timeseries births_independent)",
           ts_total("births_independent"), control=(("student_share", 0.0),)),
    Effect("tech_transfer_reform", "rank_retention_gain", "spin-off births (timeseries births_spinoff)",
           ts_total("births_spinoff"), control=(("rank_retention_gain", 0.0),)),
    Effect("tech_transfer_reform", "equity_share_gain", "licences (timeseries licences)", ts_total("licences"),
           control=(("equity_share_gain", 0.0),)),
    Effect("tech_transfer_reform", "brokers_per_1000_researchers", "licences (timeseries licences)",
           ts_total("licences"), control=(("brokers_per_1000_researchers", 0.0),)),
    Effect("rd_tax_credit", "direct", "R&D spending of the firms (timeseries rd_spending)", ts_total("rd_spending")),
]

RULES: list[Rule] = [
    Rule("guidance_fund", "target_directions", "the policy's fund co-invests only in tracks of the mandated directions",
         _fund_in_mandate),
    Rule("guidance_fund", "paid_in_years", "the fund's capital is paid in, in equal yearly tranches",
         _paid_in_tranches),
    Rule("guidance_fund", "life_years", "a fund with a 3-year life makes no deal after it", _fund_within_life,
         treated=(("life_years", 3.0),)),
    Rule("state_incubator", "royalty_rate", "successes repay through royalties, never more than the grants plus "
         "interest", _royalties_repay_at_most_the_grant_with_interest),
    Rule("state_incubator", "selection_noise", "incubated firms are of higher quality than the founders they were "
         "picked from", _selected_above_their_cohort("supported_keys")),
    Rule("rd_grants", "selection_noise", "granted firms are of higher quality than the firms of the window",
         _selected_above_their_cohort("granted_keys")),
    Rule("proof_of_concept", "target_origins", "the bases take spin-offs only", _supported_origin("spinoff")),
    Rule("scene_opening", "min_age_months", "scene firms are at least min_age_months old when they take a scene on",
         _scene_firms_old_enough),
    Rule("talent_programme", "returnee_firms_per_year", "returnee founders arrive at returnee_firms_per_year (at the "
         "scale)", _returnees_per_year),
    Rule("long_term_capital", "fund_life_multiplier", "VC funds raised under the policy live 1.5 times as long",
         _fund_lives),
    Rule("long_term_capital", "tax_incentive_rate", "the tax expenditure is the rate times the extra commitments",
         _tax_expenditure),
    # ---- institutes and capital (issues 14, 17)
    Rule("talent_programme", "selection_noise", "supported returnees are of higher quality than the returnee "
         "founders they were picked from", _returnees_selected),
]


#: Every parameter of every kind of policy, and the check in which it acts at its default (a check
#: id of EFFECTS or RULES, or the name of a test in tests/test_policies.py,
#: tests/test_policy_mechanics.py or tests/test_demand_policies.py). The parameters every
#: policy shares are in BASE_PARAMETERS. tests/test_policy_effects.py requires this map to cover
#: every parameter of every registered kind, and every configuration of conf/policy to have a
#: direct-target check.
BASE_PARAMETERS: dict[str, str] = {
    "name": "test_policies_draw_only_from_their_own_streams",
    "start_year": "test_policies_that_start_after_the_horizon_leave_every_table_byte_identical",
    "end_year": "test_levers_and_support_go_back_when_a_policy_ends",
    "budget_mcny_per_year": "test_a_short_budget_caps_spending_and_the_government_budget_caps_the_sum",
    "target_tracks": "sanctions_shock:direct",
    "target_directions": "guidance_fund:target_directions",
    "target_stages": "stage_cultivation:direct",
    "target_origins": "proof_of_concept:target_origins",
    "patience_years": "test_impatience_withdraws_support_from_tracks_without_results",
    "description": "test_serialisation_round_trips_for_every_configuration",
}
LEVERS: dict[str, dict[str, str]] = {
    "guidance_fund": {
        "fund_size_mcny": "guidance_fund:direct", "coinvest_ratio": "guidance_fund:direct",
        "paid_in_years": "guidance_fund:paid_in_years", "return_cap": "guidance_fund:return_cap",
        "life_years": "guidance_fund:life_years",
    },
    "state_incubator": {
        "capacity_per_year": "state_incubator:direct", "grant_mcny": "state_incubator:direct",
        "incubation_years": "state_incubator:closure_relief", "closure_relief": "state_incubator:closure_relief",
        "growth_support": "state_incubator:growth_support", "selection_noise": "state_incubator:selection_noise",
        "success_revenue_mcny": "state_incubator:royalty_rate", "royalty_rate": "state_incubator:royalty_rate",
        "repayment_interest": "state_incubator:royalty_rate",
    },
    "rd_grants": {
        "capacity_per_year": "rd_grants:direct", "grant_share": "rd_grants:direct", "cap_mcny": "rd_grants:direct",
        "duration_years": "rd_grants:direct",
        "min_employees": "rd_grants:selection_noise", "min_tech_intensity": "rd_grants:selection_noise",
        "selection_noise": "rd_grants:selection_noise",
    },
    "proof_of_concept": {
        "capacity_per_year": "proof_of_concept:direct", "poc_grant_mcny": "proof_of_concept:direct",
        "pilot_years": "proof_of_concept:closure_relief", "closure_relief": "proof_of_concept:closure_relief",
        "growth_support": "proof_of_concept:growth_support",
    },
    "scene_opening": {
        "scenes_per_year": "scene_opening:direct", "capacity": "scene_opening:direct",
        "duration_months": "scene_opening:direct", "cost_per_scene_mcny": "scene_opening:direct",
        "growth_support": "scene_opening:direct", "screen_relief": "scene_opening:screen_relief",
        "entry_bonus": "scene_opening:entry_bonus", "min_age_months": "scene_opening:min_age_months",
        "selection_noise": "scene_opening:direct",
    },
    "credit_relaxation": {
        "apply_multiplier": "credit_relaxation:apply_multiplier",
        "loan_size_multiplier": "credit_relaxation:loan_size_multiplier",
        "interest_subsidy_share": "credit_relaxation:interest_subsidy_share",
        "venture_debt_ratio": "credit_relaxation:venture_debt_ratio",
        "risk_pool_mcny": "credit_relaxation:risk_pool_mcny",
        "pool_leverage": "test_credit_relaxation_risk_pool_backs_loans_below_the_banks_floor_within_ten_times_what_"
                         "is_left_in_it",
        "pool_min_revenue_mcny": "test_credit_relaxation_risk_pool_backs_loans_below_the_banks_floor_within_ten_"
                                 "times_what_is_left_in_it",
        "loss_cover_share": "test_credit_relaxation_risk_pool_pays_half_of_what_a_failed_borrower_it_backs_still_owes",
    },
    "exit_channels": {
        "listing_relief": "exit_channels:listing_relief", "ipo_rate_multiplier": "exit_channels:ipo_rate_multiplier",
        "acquisition_multiplier": "exit_channels:acquisition_multiplier",
    },
    "long_term_capital": {
        "extra_commitment_share": "long_term_capital:direct",
        "fund_life_multiplier": "long_term_capital:fund_life_multiplier",
        "tax_incentive_rate": "long_term_capital:tax_incentive_rate",
    },
    "talent_programme": {
        "returnee_firms_per_year": "talent_programme:returnee_firms_per_year",
        "returnee_grant_mcny": "test_spending_stays_within_budgets_and_matches_the_outputs",
        "returnee_rent_mcny_per_year": "test_talent_programme_cuts_students_and_returnees_founding_costs_and_funds_"
                                       "returnee_firms",
        "returnee_support_years": "test_talent_programme_cuts_students_and_returnees_founding_costs_and_funds_"
                                  "returnee_firms",
        "selection_noise": "talent_programme:selection_noise",
        "student_share": "talent_programme:student_share",
        "student_subsidy_mcny": "talent_programme:direct",
    },
    "tech_transfer_reform": {
        "rank_retention_gain": "tech_transfer_reform:rank_retention_gain",
        "equity_share_gain": "tech_transfer_reform:equity_share_gain",
        "brokers_per_1000_researchers": "tech_transfer_reform:brokers_per_1000_researchers",
        "broker_cost_mcny_per_year": "test_tech_transfer_reform_sets_the_transfer_regime_and_pays_its_brokers",
    },
    "stage_cultivation": {
        "gazelle_grant_mcny": "stage_cultivation:direct",
        "potential_unicorn_valuation_mcny": "stage_cultivation:direct",
        "potential_unicorn_max_age_years": "stage_cultivation:direct",
        "potential_unicorn_grant_mcny": "stage_cultivation:direct", "screen_relief": "stage_cultivation:screen_relief",
        "support_years": "stage_cultivation:direct", "payment_lag_months": "stage_cultivation:direct",
    },
    "track_cultivation": {
        "entry_bonus": "local_patience:direct", "growth_bonus": "local_patience:growth_bonus",
        "young_firm_grant_mcny_per_year": "local_patience:direct", "young_age_years": "local_patience:direct",
    },
    "sanctions_shock": {
        "shock_growth": "sanctions_shock:direct", "shock_screen": "sanctions_shock:shock_screen",
        "support_capacity_per_year": "targeted_support:direct", "support_grant_mcny": "targeted_support:direct",
        "support_closure_relief": "targeted_support:support_closure_relief",
        "support_growth": "targeted_support:direct", "support_years": "targeted_support:direct",
    },
    "entry_subsidy": {
        "subsidy_mcny": "entry_subsidy:subsidy_mcny", "capacity_per_year": "entry_subsidy:direct",
        "registration_cost_cut_mcny": "entry_subsidy:registration_cost_cut_mcny",
    },
    # ---- institutes and capital (issues 14, 17)
    "basic_research": {},
    "ocs_programmes": {
        "members_per_year": "ocs_programmes:direct", "consortium_years": "ocs_programmes:direct",
        "firm_grant_share": "ocs_programmes:direct", "firm_grant_cap_mcny_per_year": "ocs_programmes:direct",
        "min_employees": "ocs_programmes:direct",
        "min_tech_intensity": "ocs_programmes:direct", "selection_noise": "ocs_programmes:direct",
        "academic_grant_share": "test_ocs_programmes_fund_members_and_academic_research",
        "academic_rd_mcny_per_member": "test_ocs_programmes_fund_members_and_academic_research",
        "projects_per_year": "test_ocs_programmes_fund_members_and_academic_research",
        "project_grant_mcny": "test_ocs_programmes_fund_members_and_academic_research",
        "project_months": "test_ocs_programmes_fund_members_and_academic_research",
    },
    "incubator_chain": {
        name: "incubator_chain:direct" for name in (
            "maker_spaces", "teams_per_maker_space", "maker_space_months", "desk_cost_mcny_per_year",
            "maker_closure_relief", "graduation_revenue_mcny", "incubators", "firms_per_incubator",
            "incubation_years", "incubator_cost_mcny_per_year", "incubator_closure_relief",
            "incubator_growth_support", "acceleration_revenue_mcny", "accelerators", "firms_per_accelerator",
            "accelerator_months", "accelerator_cost_mcny_per_year", "accelerator_growth_support",
            "accelerator_screen_relief", "selection_noise",
        )
    },
    "fund_of_funds": {
        "fund_size_mcny": "fund_of_funds:direct",
        "lp_share": "test_fund_of_funds_commits_its_share_of_mandated_early_funds",
        "private_additionality": "test_fund_of_funds_commits_its_share_of_mandated_early_funds",
        "mandate_share": "test_fund_of_funds_commits_its_share_of_mandated_early_funds",
        "early_share": "test_fund_of_funds_commits_its_share_of_mandated_early_funds",
        "return_cap": "test_fund_of_funds_and_open_innovation_keep_at_most_their_capped_return",
    },
    "public_procurement": {
        "purchase_share": "public_procurement:direct", "contract_years": "public_procurement:direct",
        "qualification_sd": "test_public_procurement_buys_from_suppliers_above_its_quality_bar",
        "first_units_per_year": "test_public_procurement_buys_from_target_firms_and_insures_first_units",
        "first_unit_value_share": "test_public_procurement_buys_from_target_firms_and_insures_first_units",
        "premium_rate": "test_public_procurement_buys_from_target_firms_and_insures_first_units",
        "premium_subsidy_share": "test_public_procurement_buys_from_target_firms_and_insures_first_units",
    },
    "open_innovation": {
        "copay_share": "open_innovation:direct", "cvc_match": "open_innovation:cvc_match",
        "return_cap": "test_fund_of_funds_and_open_innovation_keep_at_most_their_capped_return",
    },
    "rd_tax_credit": {"deduction_rate": "rd_tax_credit:direct"},
}


def effects_of(policy: str) -> list[Effect]:
    return [e for e in EFFECTS if e.policy == policy]


def main(argv: list[str]) -> int:
    """``python tests/policy_effects.py [--rows FILE] [policy or check id ...]``: every chosen check's
    numbers (all checks when none is named); ``--rows FILE`` also writes each check's row of the
    results table of docs/testing.md to FILE."""
    rows_file = None
    if "--rows" in argv:
        i = argv.index("--rows")
        if i + 1 >= len(argv):
            print("--rows needs a file name", file=sys.stderr)
            return 2
        rows_file = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    chosen = [e for e in EFFECTS + RULES if not argv or e.policy in argv or e.id in argv]
    bad = 0
    rows = []
    for e in chosen:
        if isinstance(e, Rule):
            try:
                check_rule(e)
                print(f"ok   {e.id} ({e.what})", flush=True)
            except AssertionError as err:
                bad += 1
                print(f"FAIL {err}", flush=True)
            continue
        out = estimate(e)
        bad += not out.passed
        print(("ok   " if out.passed else "FAIL ") + out.describe(), flush=True)
        rows.append(out.row())
        if rows_file is not None:
            rows_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import policy_effects  # the module itself, so that cached runs unpickle under its name

    raise SystemExit(policy_effects.main(sys.argv[1:]))

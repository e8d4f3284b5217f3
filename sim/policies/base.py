"""Policy plug-ins: the base class of every policy, with every hook a policy may implement.

A policy has a name, a start and end year, a budget (million CNY per year **at scale 1**: like
every extensive quantity it is multiplied by ``scale``), targets (tracks, directions, stages,
origins), a patience horizon and a plain-text description. The government calls
:meth:`Policy.tick` every month; ``tick`` calls

* :meth:`Policy.start` on the first month the policy is in force,
* :meth:`Policy.step` every month it is in force,
* :meth:`Policy.stop` on the first month after it ended (levers go back, support ends),
* :meth:`Policy.collect` every month once it has started (repayments and fund proceeds keep
  coming back after a programme ends).

Before the run the government checks the policies as a set and calls
:meth:`Policy.check_combination` of each (a policy refuses a partner it cannot be combined
with), then :meth:`Policy.setup`; after the last step it calls
:meth:`Policy.book_distributions` of every policy that has started (what its funds got back in the
last month, after that month's policies phase) and :meth:`Policy.finish`.

A policy acts only through the model's own mechanisms and its instruments: the levers
(:mod:`sim.levers`; ``self.levers`` holds this policy's contributions, undone when it stops),
per-firm support (``self.support``, :class:`sim.policies.instruments.Support`), cash grants
(:meth:`Policy.grant`), bank loans and new investor agents.

Policies act in the observed window only (steps >= 0): the warm-up is the history before
any intervention. A policy spends public money only through :meth:`Policy.spend` (or
:meth:`Policy.grant`), which enforces its own yearly budget and the government's
(``government.spend``), and records the spending in the outputs; money flowing back
(royalties, capped fund proceeds) goes through :meth:`Policy.receive`.

A policy draws randomness only from its own named stream (``model.streams["policy:<name>"]``)
or its own keyed draws (``KeyedDraws(seed, "policy:<name>")``), so adding a policy never changes
the random numbers any other part of the model sees: a policy that never becomes active leaves
a run byte-identical to the baseline.

**Patience** (``patience_years``, M18 "需提升地方政府耐心和定力"): when positive, support for a
targeted track that has produced no new gazelle or unicorn within that many years of the
start of its support is withdrawn for good; 0 means support is never withdrawn.

**Scale** (``scale``) samples the real park: at scale 0.02 the model founds 2 % of its firms,
with 2 % of its investors' money and of every budget. Every policy follows one rule, so that the
public money spent per firm reached is the same at every scale (tests/test_policy_scale.py):

* *money is sampled*: budgets, a fund's capital and the cost of a unit that exists once in the
  real park (a scene) are given at scale 1 and multiplied by ``scale`` (:meth:`Policy.budget`,
  :meth:`Policy.sample_cost`);
* *firm places are sampled*: capacities (firms per year, firms per scene) are given at scale 1 and
  give ``capacity * scale`` whole firms, the fraction carried to the next draw
  (:meth:`Policy.sampled`, :meth:`Policy.monthly_slots`);
* *what one firm receives is never scaled*: a grant, a co-investment beside a round, a share of
  its R&D, a subsidy;
* *units that exist once in the real park keep their number*: the same scenes open, and the same
  tracks are cultivated or shocked, at every scale; only the firms they reach and their cost are
  sampled. (A scene at scale 0.02 costs 2 % of its price and takes on 2 % of its firms.)
* *a policy that pays others than firms* (institutes, funds, incumbents: :attr:`Policy.pays`)
  spends the same money per unit it pays for (:meth:`Policy.units`: a broker-year, a
  researcher-year of the funded institutes, a fund of the real park) at every scale instead;
* *whole amounts out of sampled money are counted, not fitted*: a guidance fund's co-investment
  (``coinvest_ratio`` times the VC money of a round) and a public supply contract (a share of the
  supplier's revenue, up to ``contracts.max_mcny`` a year) are the real park's whatever the scale,
  while a small park's fund and budget hold a small park's money. So such a policy counts its units
  in *places* (its money over a typical amount: the mean of the recent ones; the fraction carried, or
  a chance of one more), takes as many whole amounts as it has places whatever their size, from the
  firms it meets in a random order (a fund: its partners' deals as they close; procurement: the
  suppliers above its quality bar, ``qualification_sd``), and lets its cash go negative for a
  cheque (a fund draws on its capital not yet paid in). A policy that took what fits in its sampled
  money, or the best firms of the month (the best of fewer firms in a smaller park), reached more,
  smaller firms in a smaller park: the guidance fund cost 27, 46 and 76 mcny per firm reached at
  scales 0.05, 0.2 and 1, public procurement 0.66, 0.81 and 0.92
  (:meth:`agents.investors.rounds.EquityRounds._whole_cheques`,
  :meth:`sim.policies.demand.PublicProcurement._purchase`).

Money is in million CNY (mcny). Shares and multipliers are not scaled. The defaults come from the
seed reports where they give a number (``source`` of each class); everything else is marked as
assumed in ``docs/policies.md``.

The kinds of policy live in the family modules :mod:`sim.policies.capital`,
:mod:`sim.policies.firms`, :mod:`sim.policies.tracks`, :mod:`sim.policies.people`,
:mod:`sim.policies.research` and :mod:`sim.policies.demand`; they are listed in
:data:`sim.policies.registry.REGISTRY` and configured from ``conf/policy/``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sim.config import SCALAR_TEXT, P, field_hints, is_bool, type_fits
from sim.core.clock import DT
from sim.core.errors import ConfigError
from sim.core.vocabulary import DIRECTIONS, ORIGINS, STAGES
from sim.levers import LeverContributions
from sim.policies.instruments import SLOT_ORDER, SLOT_SELECT, Support

__all__ = ["Policy", "check_range", "check_type", "positive_factor"]


def check_range(policy: str, key: str, value, *, ge=None, gt=None, le=None, lt=None, unit: str = "") -> None:
    """Raise a one-line ConfigError when a policy parameter is outside its range (a number of any
    kind :func:`check_type` takes for a number, numpy's too)."""
    if is_bool(value) or not isinstance(value, numbers.Real):
        raise ConfigError(f"policy.{policy}.{key}={value!r} must be a number{f' ({unit})' if unit else ''}.")
    parts = []
    if ge is not None:
        parts.append(f">= {ge}")
    if gt is not None:
        parts.append(f"> {gt}")
    if le is not None:
        parts.append(f"<= {le}")
    if lt is not None:
        parts.append(f"< {lt}")
    bad = (
        not math.isfinite(value)
        or (ge is not None and value < ge)
        or (gt is not None and value <= gt)
        or (le is not None and value > le)
        or (lt is not None and value >= lt)
    )
    if bad:
        unit = f" ({unit})" if unit else ""
        raise ConfigError(f"policy.{policy}.{key}={value!r} is out of range; use a value {' and '.join(parts)}{unit}.")


#: How the entries of a list of each scalar type are described in messages.
PLURAL_TEXT = {bool: "true or false values", int: "integers", float: "numbers", str: "strings"}


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _misfit(value, tp) -> tuple[str, Any] | None:
    """None when ``value`` fits the annotation ``tp``; otherwise ``(role, item)``: the innermost
    thing that does not fit, ``value`` itself (role "") or an entry of a list (role "entry"), a key
    or a value of a group of keys (role "key" or "value").

    bool takes only true or false; int takes any integer but a bool, and no float (not even 12.0:
    YAML, JSON and Hydra read 12 as an integer, so a whole number written with a decimal point is a
    mistake, and the code uses it as one: a count of firms, a number of monthly steps); float takes
    any real number but a bool (an integer too: 100 for 100.0); str takes only a string;
    ``list[X]`` a list (or tuple) whose entries fit X; ``dict[K, V]`` a mapping whose keys fit K and
    values fit V; ``X | None`` (or ``Optional[X]``) None or what fits X; ``Any`` anything; a class,
    its instances."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return None
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        misfits = [_misfit(value, a) for a in options]
        if any(m is None for m in misfits):
            return None
        return misfits[0] if len(options) == 1 else ("", value)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            return "", value
        (arg,) = args or (Any,)
        for item in value:
            inner = _misfit(item, arg)
            if inner is not None:
                return inner if inner[0] else ("entry", item)
        return None
    if origin is dict:
        if not isinstance(value, Mapping):
            return "", value
        key_type, value_type = args or (Any, Any)
        for k, v in value.items():
            for role, item, arg in (("key", k, key_type), ("value", v, value_type)):
                inner = _misfit(item, arg)
                if inner is not None:
                    return inner if inner[0] else (role, item)
        return None
    if tp in SCALAR_TEXT:  # bool, int, float, str: the configuration's own rule (sim.config.type_fits)
        ok = type_fits(value, tp)
    else:
        ok = not isinstance(tp, type) or isinstance(value, tp)
    return None if ok else ("", value)


def _type_text(tp, unit: str = "") -> str:
    """What a value of the annotation ``tp`` looks like, for messages (the scalars in the words
    of :data:`sim.config.SCALAR_TEXT`); ``unit`` (a field's unit, or what its entries are) in
    parentheses."""
    unit = f" ({unit})" if unit else ""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp in SCALAR_TEXT:
        return SCALAR_TEXT[tp] + unit
    if origin in (typing.Union, types.UnionType):
        options = [_type_text(a) for a in args if a is not type(None)]
        if len(options) < len(args):
            options.append("null")
        return " or ".join(options) + unit
    if origin is list:
        (arg,) = args or (Any,)
        return f"a list of {PLURAL_TEXT.get(arg) or 'entries like ' + _type_text(arg)}{unit} in [...]"
    if origin is dict:
        _, value_type = args or (Any, Any)
        return f"a group of keys, each {_type_text(value_type)}{unit}"
    if tp is Any:
        return "any value" + unit
    return getattr(tp, "__name__", str(tp)) + unit


def check_type(policy: str, key: str, value, tp, unit: str = "") -> None:
    """Raise a one-line ConfigError when a policy parameter does not fit its annotation ``tp``
    (see :func:`_misfit` for what fits), naming the key, the value and what is allowed."""
    misfit = _misfit(value, tp)
    if misfit is not None:
        role, item = misfit
        what = f"{role} {item!r} is {_a(type(item).__name__)}" if role else type(item).__name__
        raise ConfigError(f"policy.{policy}.{key}={value!r} has the wrong type ({what}); use {_type_text(tp, unit)}.")


def _unit(cls, name: str) -> str:
    """The unit of the parameter ``name`` of the policy class ``cls``: its own, or (a kind that gives a
    parameter of the base class its own default without repeating the unit) the nearest base class's."""
    return next((f.metadata.get("unit", "") for k in cls.__mro__ if dataclasses.is_dataclass(k)
                 for f in dataclasses.fields(k) if f.name == name and f.metadata.get("unit")), "")


@functools.cache
def _annotations(cls) -> tuple[tuple[str, Any, str], ...]:
    """(name, annotation, unit) of every parameter of the policy class ``cls``."""
    return tuple((f.name, tp, _unit(cls, f.name)) for f, tp in field_hints(cls))


def positive_factor(policy, key: str, value) -> None:
    """A multiplier a policy applies to a lever: > 0 and at most 100."""
    check_range(policy.name, key, value, gt=0, le=100)


#: Whom a policy's money may pay (:attr:`Policy.pays`).
PAYS = ("firms", "institutes", "funds", "incumbents", "nobody")


@dataclass
class Policy:
    """Base class of a policy (see the module docstring for the hooks and the instruments)."""

    kind: ClassVar[str] = "policy"
    #: What the policy acts on, for the documentation and the comparison report.
    target: ClassVar[str] = ""
    #: Where the policy's defaults come from (the seed reports), for docs/policies.md.
    source: ClassVar[str] = ""
    #: Whom the policy's money pays: "firms" (each firm it pays or supports is in the policy_reach table),
    #: "institutes", "funds" (venture funds and their limited partners), "incumbents", or "nobody" (a lever
    #: or a rule that spends no public money). tests/test_policy_scale.py checks the cost per firm reached
    #: of a policy that pays firms, and the cost per :attr:`unit` of one that pays others.
    pays: ClassVar[str] = "firms"
    #: For a policy that pays others than firms: what one unit of what it pays for is (:meth:`units`).
    unit: ClassVar[str] = ""
    name: str = P("policy", 'Policy name: the key under policy in the configuration (conf/policy/<name>.yaml).', '')
    start_year: int = P(0, 'First calendar year in force; 0 = the first observed year. Policies act in the observed '
                           'window only.', 'year')
    end_year: int = P(9999, 'Last calendar year in force (inclusive).', 'year')
    budget_mcny_per_year: float = P(0.0, "Yearly budget; spending stops when it (or the government's budget) is used "
                                         "up.", 'mcny/yr at scale 1')
    target_tracks: list[str] = P([], 'Tracks the policy acts on (and tracks derived from them); empty with empty '
                                     'target_directions = all tracks.', 'track keys')
    target_directions: list[str] = P([], 'Directions (商业 民生 社会 数字 产业 科技) whose tracks the policy acts '
                                         'on.', 'directions')
    target_stages: list[str] = P([], 'Firm stages the policy acts on (startup, gazelle, unicorn); empty = all.', '')
    target_origins: list[str] = P([], 'Founding channels the policy acts on (independent, spinoff, alumni); empty = '
                                      'all.', '')
    patience_years: float = P(0.0, 'Support for a targeted track with no new gazelle or unicorn within this many years '
                                   'of its start is withdrawn; 0 = never.', 'years')
    description: str = P("", 'Free text shown in the outputs and the comparison report.', '')

    def __post_init__(self):
        self.validate()
        self.spent = 0.0
        self.spent_this_year = 0.0
        self.received = 0.0
        self._year = None
        self._started = False
        self._running = False
        self._draws = None
        #: year -> [spent, received, firms newly supported]
        self.accounts: dict[int, list[float]] = {}
        self.withdrawn: set[int] = set()  # track ids whose support was withdrawn (patience)
        self.granted_ids: list[np.ndarray] = []  # ids of the firms paid a grant (the policy_reach table)
        self._track_start: dict[int, tuple[int, int]] = {}  # track -> (support start step, results then)
        # instruments
        self.levers = LeverContributions()
        self.support = Support()
        self._carry: dict[str, float] = {}  # running totals of whole units (:meth:`whole`)
        self.supported_ids: list[np.ndarray] = []  # every firm the programme supported, by id
        self.supported_steps: list[int] = []  # the step of each entry of supported_ids

    def units(self, model) -> float:
        """For a policy that pays others than firms (:attr:`pays`): how many :attr:`unit` it paid for
        so far, sampled like firms (at scale s, s times as many as in the real park), so that its cost
        per unit (``spent / units``) is the same at every scale. A policy that pays firms counts them
        in the policy_reach table instead (0 here)."""
        return 0.0

    # ---- configuration ---------------------------------------------------------------------
    def validate(self) -> None:
        """Check the parameters: their types (:meth:`check_types`), then their ranges and the rules
        between them. A subclass adds its own checks after ``super().validate()``."""
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"policy of kind {self.kind}: name={self.name!r} must be a non-empty string.")
        self.check_types()
        check_range(self.name, "budget_mcny_per_year", self.budget_mcny_per_year, ge=0, unit="mcny/yr at scale 1")
        check_range(self.name, "patience_years", self.patience_years, ge=0, unit="years")
        if self.end_year < self.start_year:
            raise ConfigError(
                f"policy.{self.name}.end_year={self.end_year} is before start_year={self.start_year}."
            )
        for key, allowed in (
            ("target_stages", STAGES),
            ("target_origins", ORIGINS),
            ("target_directions", DIRECTIONS),
        ):
            for v in getattr(self, key):
                if v not in allowed:
                    raise ConfigError(f"policy.{self.name}.{key} contains {v!r}; use {', '.join(allowed)}.")

    def check_types(self) -> None:
        """Every parameter must fit its annotation (:func:`check_type`): one check for every field of
        every kind, driven by the annotations, so a new parameter is checked by declaring its type."""
        for key, tp, unit in _annotations(type(self)):
            check_type(self.name, key, getattr(self, key), tp, unit)

    def check_tracks(self, track_keys) -> None:
        """Every target track key must be one of ``track_keys`` (the keys of the track system)."""
        known = set(track_keys)
        for key in self.target_tracks:
            if key not in known:
                hint = difflib.get_close_matches(str(key), sorted(known), n=1)
                extra = f" Did you mean {hint[0]!r}?" if hint else ""
                raise ConfigError(
                    f"policy.{self.name}.target_tracks contains {key!r}, which is not a track of this "
                    f"track system.{extra} The keys are listed in conf/tracks/."
                )

    @classmethod
    def parameters(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    #: Parameters that set how large the programme is besides those given "at scale 1" (scenes
    #: per year: the real park's count, not sampled); an equal-budget comparison multiplies them
    #: all with the budget (:func:`sim.analysis.arms.equal_budget`).
    size_keys: ClassVar[tuple[str, ...]] = ()
    #: Firm places given per unit (firms per scene): sampled like capacities (:meth:`sampled`).
    place_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def size_parameters(cls) -> list[str]:
        """The parameters that grow with the programme: its budget, capacities and fund size (every
        number given "at scale 1" except the price of one unit, ``cost_per_*``) and :attr:`size_keys`."""
        out = []
        for f in dataclasses.fields(cls):
            unit = _unit(cls, f.name)
            if ("at scale 1" in unit and not f.name.startswith("cost_per_")) or f.name in cls.size_keys:
                out.append(f.name)
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["kind"] = self.kind
        return d

    # ---- life cycle ------------------------------------------------------------------------
    def active(self, model, step: int) -> bool:
        """In force at ``step``: inside [start_year, end_year] and in the observed window."""
        if step < 0:
            return False
        year = model.year_of(step)
        start = self.start_year or model.start_year
        return start <= year <= self.end_year

    def tick(self, model, government) -> None:
        """Called by the government every month (see the module docstring)."""
        on = self.active(model, model.current_step)
        if on and not self._running:
            self._running = True
            self._started = True
            self.start(model, government)
        elif not on and self._running:
            self._running = False
            self.stop(model, government)
        if on:
            if self.patience_years > 0 and model.current_step % 12 == 0:
                self._apply_patience(model)
            self.step(model, government)
        if self._started:
            self.collect(model, government)

    def check_combination(self, policies) -> None:
        """Called before the run with every policy of the run (this one included): raise a
        one-line ConfigError if this policy cannot be combined with another one."""

    def setup(self, model) -> None:
        """Called once when the model is built. Must not change the model's state or draw
        random numbers (a policy that never becomes active must leave the run unchanged)."""
        self.check_tracks(model.tracks.key)

    def start(self, model, government) -> None:
        """Called on the first month the policy is in force."""

    def step(self, model, government) -> None:
        """Called every month while the policy is in force."""

    def stop(self, model, government) -> None:
        """Called on the first month after the policy ended: undo levers, end support."""
        self.levers.clear(model)
        self.support.expire(model)

    def collect(self, model, government) -> None:
        """Called every month once the policy has started: repayments, fund proceeds; support
        that has run its term ends, and what the policy's funds paid out is booked
        (:meth:`book_distributions`)."""
        self.support.expire(model, model.current_step)
        self.book_distributions(model, government, model.current_step)

    def finish(self, model) -> None:
        """Called once after the last step."""

    @property
    def has_started(self) -> bool:
        """Whether the policy has been in force in some month of the run."""
        return self._started

    def book_distributions(self, model, government, step: int) -> None:
        """Book what the policy's funds paid out since the last booking (fund proceeds, the
        government's share as a limited partner) as received in the month ``step``. Called by the
        base :meth:`collect` each month and once more after the last step (``Government.finish``),
        so that what a fund got back in the last month after the policies phase is not lost."""

    # ---- randomness ------------------------------------------------------------------------
    @property
    def stream_name(self) -> str:
        return f"policy:{self.name}"

    def rng(self, model) -> np.random.Generator:
        return model.streams[self.stream_name]

    def draws(self, model):
        if self._draws is None:
            self._draws = model.streams.keyed(self.stream_name)
        return self._draws

    # ---- targets ---------------------------------------------------------------------------
    def targeted(self) -> bool:
        return bool(self.target_tracks or self.target_directions)

    def target_track_mask(self, model) -> np.ndarray:
        """Boolean mask over all tracks: active, targeted (tracks listed, tracks derived from
        them, tracks of the listed directions) and not withdrawn for lack of results."""
        tr = model.tracks
        n = tr.n
        mask = tr["active"].copy()
        if self.targeted():
            want = np.zeros(n, dtype=bool)
            if self.target_directions:
                codes = [DIRECTIONS.index(d) for d in self.target_directions]
                want |= np.isin(tr.directions(), codes)
            if self.target_tracks:
                keys = set(self.target_tracks)
                listed = np.array([k in keys for k in tr.key[:n]], dtype=bool)
                for t in range(n):  # parents come before children: one pass finds descendants
                    if not listed[t] and any(listed[p] for p in tr.parents[t]):
                        listed[t] = True
                want |= listed
            mask &= want
        if self.withdrawn:
            mask[list(self.withdrawn)] = False
        return mask

    def target_track_ids(self, model) -> np.ndarray:
        return np.flatnonzero(self.target_track_mask(model))

    def _apply_patience(self, model) -> None:
        tr = model.tracks
        step = model.current_step
        results = tr["gazelles_ever"] + tr["unicorns_ever"]
        horizon = int(round(12 * self.patience_years))
        for t in self.target_track_ids(model):
            t = int(t)
            if t not in self._track_start:
                self._track_start[t] = (step, int(results[t]))
                continue
            since, before = self._track_start[t]
            if step - since >= horizon and int(results[t]) <= before:
                self.withdrawn.add(t)

    # ---- selection -------------------------------------------------------------------------
    def whole(self, amount: float, key: str) -> int:
        """Whole units out of a running total: ``amount`` is added to the total kept under ``key``
        (which starts at one half) and its whole part is taken off and returned, so that over any
        run of calls the units returned are the sum of the amounts, rounded."""
        total = self._carry.get(key, 0.5) + amount
        k = int(total + 1e-9)  # 0.5 + 5 x 0.1 is a whole unit, not 0.999...
        self._carry[key] = total - k
        return k

    def sampled(self, model, places: float, key: str = "places") -> int:
        """Firm places of the real park (``places`` at scale 1) as whole firms of this sample:
        ``places * scale``, the fraction carried to the next call (:meth:`whole`)."""
        return self.whole(places * model.scale, key)

    def unfilled(self, places: int, key: str = "places") -> None:
        """Give back places that found no firm (too few candidates in this sample), at most one:
        it goes to the next draw of ``key``, so that thin samples do not lose places."""
        if places > 0:
            self._carry[key] = self._carry.get(key, 0.5) + 1

    def monthly_slots(self, model, per_year: float, key: str = "slots") -> int:
        """A capacity given per year at scale 1 as whole firms this month (:meth:`sampled`). A
        policy with two capacities gives each its own ``key``: one running total would hand the
        places of one to the other."""
        return self.sampled(model, per_year * DT, key)

    def sample_cost(self, model, price: float) -> float:
        """This sample's share of the price of a unit that exists once in the real park (a scene):
        ``price * scale``, like every budget."""
        return price * model.scale

    def new_firms(self, model, months: int = 1) -> np.ndarray:
        """Rows of live firms founded in the last ``months`` months (before this step)."""
        pop = model.population
        age = model.current_step - pop["born"]
        return np.flatnonzero((age >= 1) & (age <= months))

    def select_best(self, model, rows: np.ndarray, k: int, noise: float, extra: np.ndarray | None = None) -> np.ndarray:
        """The ``k`` rows with the highest noisy view of quality (a programme's selection)."""
        if k <= 0 or rows.size == 0:
            return rows[:0]
        pop = model.population
        z = self.draws(model).normal(pop["key"][rows], model.current_step, SLOT_SELECT)
        signal = pop["quality"][rows] + noise * z
        if extra is not None:
            signal = signal + extra
        if rows.size <= k:
            return rows
        return rows[np.argsort(-signal, kind="stable")[:k]]

    def random_order(self, model, rows: np.ndarray) -> np.ndarray:
        """``rows`` in a random order (first come, first served)."""
        if rows.size == 0:
            return rows
        u = self.draws(model).uniform(model.population["key"][rows], model.current_step, SLOT_ORDER)
        return rows[np.argsort(u, kind="stable")]

    def supported(self) -> np.ndarray:
        """Ids of every firm the programme supported."""
        return np.concatenate(self.supported_ids) if self.supported_ids else np.empty(0, dtype=np.int64)

    def note_supported(self, model, rows: np.ndarray) -> None:
        """Record the firms at ``rows`` as supported (for the accounts and :meth:`stats`)."""
        if rows.size:
            self.supported_ids.append(model.population["id"][rows].copy())
            self.supported_steps.append(int(model.current_step))
            self.count_supported(model, int(rows.size))

    def eligible(self, model, rows: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask over ``rows`` (default: all live firms) of firms the policy may support."""
        pop = model.population
        rows = np.arange(pop.n) if rows is None else rows
        ok = np.ones(rows.size, dtype=bool)
        if self.targeted() or self.withdrawn:
            ok &= self.target_track_mask(model)[pop["track"][rows]]
        if self.target_stages:
            codes = [STAGES.index(s) for s in self.target_stages]
            ok &= np.isin(pop["stage"][rows], codes)
        if self.target_origins:
            codes = [ORIGINS.index(o) for o in self.target_origins]
            ok &= np.isin(pop["origin"][rows], codes)
        return ok

    # ---- money -----------------------------------------------------------------------------
    def budget(self, model) -> float:
        """This policy's yearly budget at the model's scale (mcny/yr)."""
        return self.budget_mcny_per_year * model.scale

    def _account(self, model, step: int | None = None) -> list[float]:
        year = model.year_of(model.current_step if step is None else step)
        acc = self.accounts.get(year)
        if acc is None:
            acc = self.accounts[year] = [0.0, 0.0, 0.0]
        return acc

    def room(self, model, government) -> float:
        """What the policy may still spend this year (its budget and the government's)."""
        year = model.year_of(model.current_step)
        spent = self.spent_this_year if year == self._year else 0.0
        return max(0.0, min(self.budget(model) - spent, government.room()))

    def spend(self, model, government, amount: float) -> float:
        """Spend public money within this policy's yearly budget; returns what was spent."""
        year = model.year_of(model.current_step)
        if year != self._year:
            self._year = year
            self.spent_this_year = 0.0
        amount = max(0.0, min(float(amount), self.budget(model) - self.spent_this_year))
        amount = government.spend(self.name, amount)
        self.spent += amount
        self.spent_this_year += amount
        if amount > 0:
            self._account(model)[0] += amount
        return amount

    def grant(self, model, government, rows: np.ndarray, amounts) -> np.ndarray:
        """Pay grants into the cash of the firms at ``rows`` (live rows), within the budgets.

        When the budgets do not cover the whole request, every grant is cut in the same
        proportion. The money enters the cash ledger as ``grants_in``. Returns what each firm got.
        """
        rows = np.asarray(rows, dtype=np.int64)
        want = np.broadcast_to(np.asarray(amounts, dtype=np.float64), rows.shape).astype(np.float64)
        total = float(want.sum())
        if rows.size == 0 or total <= 0:
            return np.zeros(rows.size)
        paid = self.spend(model, government, total)
        got = want * (paid / total)
        pop = model.population
        np.add.at(pop["cash"], rows, got)
        if paid > 0:
            self.granted_ids.append(pop["id"][rows[got > 0]].copy())
        model.ledger.grants_in += float(got.sum())
        return got

    def receive(self, model, government, amount: float, step: int | None = None) -> None:
        """Public money flowing back (royalties, capped fund proceeds), booked in the year of
        ``step`` (None: this month)."""
        if amount <= 0:
            return
        government.receive(self.name, amount)
        self.received += amount
        self._account(model, step)[1] += amount

    def count_supported(self, model, n: int) -> None:
        if n:
            self._account(model)[2] += n

    def describe(self) -> str:
        return self.description or (self.__doc__ or self.kind).strip().splitlines()[0]

    @classmethod
    def title(cls) -> str:
        """The kind of policy in words: its docstring up to the first colon
        (e.g. "Government guidance fund (引导基金)")."""
        text = " ".join((cls.__doc__ or cls.kind).split())
        return text.split(": ", 1)[0].rstrip(".")

    def stats(self) -> dict:
        """Programme figures for summary.json (``policy_accounts``); subclasses give their own."""
        return {"firms_supported": int(self.supported().size)}

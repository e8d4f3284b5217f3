"""Track registry (赛道): the sectors firms found into, investors chase and institutes open.

Tracks are few (about a hundred, growing to a few hundred), so the registry keeps them as
columns (:class:`sim.core.columns.Columns`: ``tracks["market"]``) for the hot path (entry
weights, crowding, market growth) plus Python lists for names and genealogy. Tracks are only
ever appended, never removed: an ended track keeps its row with ``active`` false, so a
``track_id`` is stable for the whole run and can be used as an index everywhere (firm columns,
deals, outputs).

Everything that changes the track *system* goes through :meth:`TrackRegistry.add_track` and
:meth:`TrackRegistry.end_track`, which record the mechanism and the step, so the genealogy in
``tracks.parquet`` is complete by construction.

Units: national market size in million CNY (``market``, mcny/yr); the yaml files give it in
亿元 (``market_yi_cny``, 1 亿元 = 100 mcny). Growth rates are per year.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np

from sim.config import CONF_DIR
from sim.core.columns import Columns
from sim.core.errors import ConfigError
from sim.core.vocabulary import DIRECTIONS, LEVELS, LIFECYCLE, NEVER
from sim.core.yamlio import safe_load

_FLOAT_COLS = (
    "market",  # national market, mcny/yr
    "growth",  # base annual market growth
    "needs_proximity",
    "tech_intensity",
    "maturity",
    "boost",  # extra annual growth from recent applied breakthroughs (agents.institutes; decays)
    "heat",  # investor attention, mean 1 over active tracks
    "attention",  # EMA of the share of money and new high-growth firms going to the track
    "recent_gazelles",  # new gazelles, exponentially forgotten over the lifecycle window
    "recent_unicorns",  # new unicorns, likewise
    "growth_now",  # realised market growth rate in the last step (1/yr)
    "coactivity",  # activity that drives fusion (EMA of heat x recent high-growth firms)
    "attention_money",  # money raised in the track this month (sim.tracks.attention)
    "attention_firms",  # new gazelles (1) and unicorns (2) in the track this month, likewise
)
_INT_COLS = (
    "born_step",
    "formed_step",
    "ended_step",
    "unicorns_ever",
    "gazelles_ever",
    "state",
    "merged_into",
    "last_unicorn_step",
)
_BOOL_COLS = ("general_purpose", "active")
COLUMNS: dict[str, tuple] = {
    **{c: (np.float64, 0.0) for c in _FLOAT_COLS},
    **{c: (np.int64, NEVER) for c in _INT_COLS},
    **{c: (np.bool_, False) for c in _BOOL_COLS},
    "direction_code": (np.int8, 0),  # index into DIRECTIONS
}


@dataclass
class TrackSpec:
    key: str
    name: str
    name_en: str
    direction: str
    level: str
    parent: str | None
    market_yi_cny: float
    growth: float
    needs_proximity: float
    tech_intensity: float
    general_purpose: bool
    maturity: float


@functools.lru_cache(maxsize=8)
def _parse_track_text(text: str) -> object:
    return safe_load(text)


def _read_track_file(path) -> object:
    """What ``safe_load`` gives for the file at ``path``: a fresh copy, each distinct text parsed
    once (a model reads its file twice, the tracks and their needs, and a process builds many)."""
    return copy.deepcopy(_parse_track_text(path.read_text(encoding="utf-8")))


def load_track_system(system: str) -> list[TrackSpec]:
    """Read ``conf/tracks/<system>.yaml`` and check it; raise ConfigError on a bad file."""
    path = CONF_DIR / "tracks" / f"{system}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (CONF_DIR / "tracks").glob("*.yaml"))
        raise ConfigError(
            f"ecosystem.tracks.system={system!r} has no file conf/tracks/{system}.yaml; "
            f"available: {', '.join(available)}."
        )
    data = _read_track_file(path)
    specs = []
    keys = set()
    for i, raw in enumerate(data.get("tracks", [])):
        try:
            spec = TrackSpec(**raw)
        except TypeError as exc:
            raise ConfigError(f"{path.name}: track #{i} ({raw.get('key')!r}) is malformed: {exc}") from None
        if spec.direction not in DIRECTIONS:
            raise ConfigError(
                f"{path.name}: track {spec.key!r} has direction {spec.direction!r}; use one of {', '.join(DIRECTIONS)}."
            )
        if spec.level not in LEVELS:
            raise ConfigError(f"{path.name}: track {spec.key!r} has level {spec.level!r}; use main or new.")
        if spec.key in keys:
            raise ConfigError(f"{path.name}: track key {spec.key!r} appears twice.")
        if spec.market_yi_cny <= 0:
            raise ConfigError(f"{path.name}: track {spec.key!r} has market_yi_cny={spec.market_yi_cny}; use > 0.")
        keys.add(spec.key)
        specs.append(spec)
    for spec in specs:
        if spec.parent is not None and spec.parent not in keys:
            raise ConfigError(f"{path.name}: track {spec.key!r} names unknown parent {spec.parent!r}.")
    if not specs:
        raise ConfigError(f"{path.name} lists no tracks.")
    return specs


def load_track_needs(system: str) -> dict[str, list[str]]:
    """The ``needs`` section of a track-system file: track key -> keys of the tracks it needs."""
    path = CONF_DIR / "tracks" / f"{system}.yaml"
    data = _read_track_file(path) or {}
    needs = data.get("needs") or {}
    keys = {t["key"] for t in data.get("tracks", [])}
    for k, vs in needs.items():
        for v in [k, *vs]:
            if v not in keys:
                raise ConfigError(f"{path.name}: 'needs' names unknown track {v!r}.")
    return {k: list(v) for k, v in needs.items()}


class TrackRegistry(Columns):
    """All tracks ever present in a run, append-only: the numeric state in columns
    (``tracks["market"]``, :data:`COLUMNS`), names and genealogy in lists."""

    def __init__(self, capacity: int = 256):
        super().__init__(COLUMNS, capacity)
        self.key: list[str] = []
        self.name: list[str] = []
        self.name_en: list[str] = []
        self.direction: list[str] = []
        self.level: list[str] = []
        self.parents: list[tuple[int, ...]] = []
        self.created_by: list[str] = []
        self.end_kind: list[str | None] = []
        self.transitions: list[tuple[int, int, str, str]] = []  # (track, step, from, to)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_specs(cls, specs: list[TrackSpec], step: int, initial_state=None) -> TrackRegistry:
        """Registry of the listed tracks; ``initial_state(spec)`` names each one's lifecycle state."""
        reg = cls(capacity=max(256, 2 * len(specs)))
        index = {}
        for s in specs:
            parents = (index[s.parent],) if s.parent is not None else ()
            tid = reg.add_track(
                key=s.key,
                name=s.name,
                name_en=s.name_en,
                direction=s.direction,
                level=s.level,
                parents=parents,
                step=step,
                created_by="initial",
                market=s.market_yi_cny * 100.0,
                growth=s.growth,
                needs_proximity=s.needs_proximity,
                tech_intensity=s.tech_intensity,
                general_purpose=s.general_purpose,
                maturity=s.maturity,
                state=initial_state(s) if initial_state else "emerging",
            )
            index[s.key] = tid
        return reg

    def add_track(
        self,
        *,
        key: str,
        name: str,
        name_en: str,
        direction: str,
        level: str,
        parents: tuple[int, ...],
        step: int,
        created_by: str,
        market: float,
        growth: float,
        needs_proximity: float,
        tech_intensity: float,
        general_purpose: bool,
        maturity: float,
        state: str = "emerging",
    ) -> int:
        """Append a track and return its id. Parents must already exist."""
        for p in parents:
            if not 0 <= p < self.n:
                raise ValueError(f"parent track {p} does not exist")
        t = self.append(
            1,
            market=market,
            growth=growth,
            needs_proximity=needs_proximity,
            tech_intensity=tech_intensity,
            maturity=min(max(maturity, 0.01), 0.99),
            heat=1.0,
            growth_now=growth,
            born_step=step,
            unicorns_ever=0,
            gazelles_ever=0,
            state=LIFECYCLE.index(state),
            general_purpose=general_purpose,
            active=True,
            direction_code=DIRECTIONS.index(direction),
        ).start
        self.key.append(key)
        self.name.append(name)
        self.name_en.append(name_en)
        self.direction.append(direction)
        self.level.append(level)
        self.parents.append(tuple(int(p) for p in parents))
        self.created_by.append(created_by)
        self.end_kind.append(None)
        return t

    def end_track(self, t: int, step: int, kind: str) -> None:
        if not self["active"][t]:
            raise ValueError(f"track {t} has already ended")
        self["active"][t] = False
        self["ended_step"][t] = step
        self.end_kind[t] = kind
        self.set_state(t, "ended", step)

    def set_state(self, t: int, state: str, step: int) -> None:
        old = LIFECYCLE[self["state"][t]]
        if old != state:
            self["state"][t] = LIFECYCLE.index(state)
            self.transitions.append((t, step, old, state))

    def set_level(self, t: int, level: str, step: int) -> None:
        old = self.level[t]
        if old != level:
            self.level[t] = level
            self.transitions.append((t, step, f"level:{old}", f"level:{level}"))

    def children(self, t: int) -> list[int]:
        return [c for c in range(self.n) if t in self.parents[c]]

    # ------------------------------------------------------------------ queries
    def level_mask(self, level: str) -> np.ndarray:
        """True for every track (active or not) currently at ``level`` (main or new)."""
        return np.fromiter((lv == level for lv in self.level), dtype=bool, count=self.n)

    def directions(self) -> np.ndarray:
        """Direction code (index into DIRECTIONS) of every track."""
        return self["direction_code"]

    def ids_in_directions(self, directions) -> np.ndarray:
        """Ids of the active tracks of ``directions``."""
        codes = [DIRECTIONS.index(d) for d in directions]
        return np.flatnonzero(np.isin(self.directions(), codes) & self["active"])

"""Track registry (赛道): the sectors firms found into, investors chase and institutes open.

Tracks are few (about a hundred, growing to a few hundred), so the registry keeps them as
columnar numpy arrays for the hot path (entry weights, crowding, market growth) plus Python
lists for names and genealogy. Tracks are only ever appended, never removed: an ended track
keeps its row with ``active`` false, so a ``track_id`` is stable for the whole run and can
be used as an index everywhere (firm columns, deals, outputs).

Everything that changes the track *system* goes through :meth:`TrackRegistry.add_track` and
:meth:`TrackRegistry.end_track`, which record the mechanism and the step, so the genealogy in
``tracks.parquet`` is complete by construction.

Units: national market size in million CNY (``market``, mcny/yr); the yaml files give it in
亿元 (``market_yi_cny``, 1 亿元 = 100 mcny). Growth rates are per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import yaml

from sim.config import CONF_DIR
from sim.core.errors import ConfigError
from sim.core.vocabulary import DIRECTIONS, LEVELS, LIFECYCLE, NEVER

HEAT_CAP = 4.0  # heat is bounded to [1/4, 4] (see TrackRegistry.update_heat)


_FLOAT_COLS = (
    "market",  # national market, mcny/yr
    "growth",  # base annual market growth
    "needs_proximity",
    "tech_intensity",
    "maturity",
    "boost",  # extra annual growth from recent breakthroughs (decays)
    "breakthroughs",  # recent breakthroughs (decaying count), drives spin-offs
    "heat",  # investor attention, mean 1 over active tracks
    "attention",  # EMA of the share of money and new high-growth firms going to the track
    "recent_gazelles",  # new gazelles, exponentially forgotten over the lifecycle window
    "recent_unicorns",  # new unicorns, likewise
    "growth_now",  # realised market growth rate in the last step (1/yr)
    "coactivity",  # activity that drives fusion (EMA of heat x recent high-growth firms)
)
_INT_COLS = ("born_step", "formed_step", "ended_step", "unicorns_ever", "gazelles_ever", "state", "merged_into", "last_unicorn_step")
_BOOL_COLS = ("general_purpose", "active")


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


def load_track_system(system: str) -> list[TrackSpec]:
    """Read ``conf/tracks/<system>.yaml`` and check it; raise ConfigError on a bad file."""
    path = CONF_DIR / "tracks" / f"{system}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (CONF_DIR / "tracks").glob("*.yaml"))
        raise ConfigError(
            f"ecosystem.tracks.system={system!r} has no file conf/tracks/{system}.yaml; "
            f"available: {', '.join(available)}."
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    needs = data.get("needs") or {}
    keys = {t["key"] for t in data.get("tracks", [])}
    for k, vs in needs.items():
        for v in [k, *vs]:
            if v not in keys:
                raise ConfigError(f"{path.name}: 'needs' names unknown track {v!r}.")
    return {k: list(v) for k, v in needs.items()}


class TrackRegistry:
    """All tracks ever present in a run, append-only."""

    def __init__(self, capacity: int = 256):
        self.n = 0
        self._cap = capacity
        self.f = {c: np.zeros(capacity) for c in _FLOAT_COLS}
        self.i = {c: np.full(capacity, NEVER, dtype=np.int64) for c in _INT_COLS}
        self.b = {c: np.zeros(capacity, dtype=bool) for c in _BOOL_COLS}
        self.key: list[str] = []
        self.name: list[str] = []
        self.name_en: list[str] = []
        self.direction: list[str] = []
        self.level: list[str] = []
        self.parents: list[tuple[int, ...]] = []
        self.created_by: list[str] = []
        self.end_kind: list[str | None] = []
        self.transitions: list[tuple[int, int, str, str]] = []  # (track, step, from, to)
        self.direction_code = np.zeros(capacity, dtype=np.int8)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_specs(cls, specs: list[TrackSpec], step: int, initial_state=None) -> "TrackRegistry":
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

    def _grow(self) -> None:
        cap = self._cap * 2
        for d in (self.f, self.i, self.b):
            for c, arr in d.items():
                new = np.zeros(cap, dtype=arr.dtype) if arr.dtype != np.int64 else np.full(cap, NEVER, dtype=np.int64)
                new[: self.n] = arr[: self.n]
                d[c] = new
        dc = np.zeros(cap, dtype=np.int8)
        dc[: self.n] = self.direction_code[: self.n]
        self.direction_code = dc
        self._cap = cap

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
        if self.n == self._cap:
            self._grow()
        for p in parents:
            if not 0 <= p < self.n:
                raise ValueError(f"parent track {p} does not exist")
        t = self.n
        self.n += 1
        self.key.append(key)
        self.name.append(name)
        self.name_en.append(name_en)
        self.direction.append(direction)
        self.direction_code[t] = DIRECTIONS.index(direction)
        self.level.append(level)
        self.parents.append(tuple(int(p) for p in parents))
        self.created_by.append(created_by)
        self.end_kind.append(None)
        f = self.f
        f["market"][t] = market
        f["growth"][t] = growth
        f["needs_proximity"][t] = needs_proximity
        f["tech_intensity"][t] = tech_intensity
        f["maturity"][t] = min(max(maturity, 0.01), 0.99)
        f["boost"][t] = 0.0
        f["breakthroughs"][t] = 0.0
        f["heat"][t] = 1.0
        f["attention"][t] = 0.0
        f["recent_gazelles"][t] = 0.0
        f["recent_unicorns"][t] = 0.0
        f["growth_now"][t] = growth
        f["coactivity"][t] = 0.0
        self.i["born_step"][t] = step
        self.i["formed_step"][t] = NEVER
        self.i["ended_step"][t] = NEVER
        self.i["unicorns_ever"][t] = 0
        self.i["gazelles_ever"][t] = 0
        self.i["merged_into"][t] = NEVER
        self.i["last_unicorn_step"][t] = NEVER
        self.i["state"][t] = LIFECYCLE.index(state)
        self.b["general_purpose"][t] = general_purpose
        self.b["active"][t] = True
        return t

    def end_track(self, t: int, step: int, kind: str) -> None:
        if not self.b["active"][t]:
            raise ValueError(f"track {t} has already ended")
        self.b["active"][t] = False
        self.i["ended_step"][t] = step
        self.end_kind[t] = kind
        self.set_state(t, "ended", step)

    def set_state(self, t: int, state: str, step: int) -> None:
        old = LIFECYCLE[self.i["state"][t]]
        if old != state:
            self.i["state"][t] = LIFECYCLE.index(state)
            self.transitions.append((t, step, old, state))

    def set_level(self, t: int, level: str, step: int) -> None:
        old = self.level[t]
        if old != level:
            self.level[t] = level
            self.transitions.append((t, step, f"level:{old}", f"level:{level}"))

    def children(self, t: int) -> list[int]:
        return [c for c in range(self.n) if t in self.parents[c]]

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return self.n

    def col(self, name: str) -> np.ndarray:
        """Live view of a numeric column over all tracks ever created."""
        for d in (self.f, self.i, self.b):
            if name in d:
                return d[name][: self.n]
        raise KeyError(name)

    @property
    def active(self) -> np.ndarray:
        return self.b["active"][: self.n]

    @property
    def market(self) -> np.ndarray:
        return self.f["market"][: self.n]

    @property
    def heat(self) -> np.ndarray:
        return self.f["heat"][: self.n]

    def directions(self) -> np.ndarray:
        return self.direction_code[: self.n]

    def ids_in_directions(self, directions) -> np.ndarray:
        codes = [DIRECTIONS.index(d) for d in directions]
        return np.flatnonzero(np.isin(self.directions(), codes) & self.active)

    # ------------------------------------------------------------------ dynamics
    def grow_markets(self, dt: float, maturation_rate: float = 0.25, boost_decay_years: float = 3.0,
                     extra_growth: np.ndarray | None = None) -> None:
        """One time step of national market growth.

        Markets follow an S-curve: a track's maturity m rises logistically
        (dm/dt = k m (1 - m)) and its market grows at ``growth * (1 - m) / 0.7``, so a young
        track grows faster than its listed rate and a mature one slows down; plus the decaying
        boost of recent breakthroughs and ``extra_growth`` (lifecycle and complementarity).
        The realised rate is kept in ``growth_now``.
        """
        n = self.n
        act = self.b["active"][:n]
        f = self.f
        m = f["maturity"][:n]
        g = f["growth"][:n] * (1.0 - m) / 0.7 + f["boost"][:n]
        if extra_growth is not None:
            g = g + extra_growth[:n]
        f["growth_now"][:n] = np.where(act, g, 0.0)
        f["market"][:n] = np.where(act, f["market"][:n] * np.exp(g * dt), f["market"][:n])
        f["maturity"][:n] = np.where(act, np.clip(m + maturation_rate * m * (1.0 - m) * dt, 0.0, 0.995), m)
        decay = np.exp(-dt / boost_decay_years)
        f["boost"][:n] *= decay
        f["breakthroughs"][:n] *= decay

    def update_heat(self, signal: np.ndarray, dt: float, memory_months: float, cap: float = HEAT_CAP) -> None:
        """Blend this step's attention signal (shares summing to 1 over tracks) into heat.

        Heat is the track's smoothed share of attention relative to its share of the market
        (square-root weighted, so small tracks are not judged against their tiny markets):
        a big market draws more money without being "hot". It is bounded to
        [1/``cap``, ``cap``] and scaled to a mean of 1 over active tracks; 1.5 means the track
        draws 50 % more money and new high-growth firms than its size alone would. The bound
        keeps the feedback between heat, entry, valuations and investors' preferences from
        running away into a single track.
        """
        n = self.n
        act = self.b["active"][:n]
        w = 1.0 - np.exp(-dt * 12.0 / memory_months)
        att = self.f["attention"][:n]
        att[:] = (1.0 - w) * att + w * signal
        size = np.where(act, np.sqrt(np.maximum(self.f["market"][:n], 0.0)), 0.0)
        if size.sum() <= 0:
            size = act.astype(float)
        base = size / max(size.sum(), 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(act & (base > 0), (att + 0.25 * base) / (1.25 * base), 0.0)
        heat = np.where(act, np.clip(ratio, 1.0 / cap, cap), 0.0)
        mean = heat[act].mean() if act.any() else 1.0
        self.f["heat"][:n] = heat / mean if mean > 0 else heat

"""How tracks (赛道) emerge, split, fuse, consolidate and move through their lifecycle.

The reports' claim is that new tracks emerge by regular mechanisms, and that the
创业→瞪羚→独角兽 firms are both their cause and their sign (report-figures.md §4, §8). Each
mechanism below is one method; every change to the track system goes through
:meth:`sim.tracks.registry.TrackRegistry.add_track` / ``end_track`` / ``set_state`` / ``set_level``, so the
genealogy and the lifecycle transitions in the outputs are complete by construction.

**Lifecycle** (:meth:`TrackDynamics.update_lifecycle`, monthly)::

    latent --(recent gazelles >= emerging threshold, M3)--> emerging
    emerging --(first unicorn, M4 "独角兽的出现是赛道成形的里程碑")--> formed
    formed --(recent unicorns >= explosive threshold, M5)--> explosive
    formed/explosive --(market maturity >= mature_maturity)--> mature
    mature --(market growth below consolidation_growth and no new unicorn for
              quiet_years)--> consolidating
    formed/mature new track --(its main track shakes out: mature and growing slower than
              consolidation_growth; tracks.shakeout)--> consolidating
    consolidating --(absorbed by a related track, M9)--> ended

"Recent" counts are exponentially forgotten over ``window_years``; the thresholds are given
at scale 1 and multiplied by ``scale`` (at least 1 gazelle, 2 unicorns), so a teaching-size
park behaves like a small sample of the full one. The state feeds back: investor heat and
founders' entry weights are multiplied by ``state_heat[state]`` and an explosive track's
market grows ``explosive_growth_boost`` faster (the feedback the reports describe: scenes and
unicorns draw founders and money, which make more unicorns).

**Fission** (裂变, M8), yearly: a main track that is not consolidating spawns a Poisson number
of derived new tracks with mean ``fission_rate * needs_proximity * min(growth / 15 %, 2)`` a
year (a growing track near everyday needs splits most readily, several times a year where its
demand grows fast: 医疗健康 gave six derived tracks in about two years, Table 3); each child takes
``fission_share`` of what the parent has left of its market and of its live firms (market and
firms are conserved).

**Fusion** (跨界, M6), yearly: a pair of active tracks from different parents fuses with
probability proportional to the product of their co-activity (heat times recent high-growth
firms), raised by ``general_purpose_fusion`` when either is a general-purpose technology (AI x,
BT+, NE+); the fused track has both as parents and takes ``fusion_share`` of each one's market.
Two main tracks of different directions fuse into a new *main* track (the reports' new main
tracks such as 能源科技 or 未来汽车 are of this kind).

**Breakthroughs**: basic breakthroughs of research institutes open new tracks
(:meth:`open_from_breakthrough`, :mod:`agents.institutes`): a child of the track the breakthrough
landed in, latent until gazelles cluster in it.

**Shakeout** (整合 of a mature direction, M9; ``tracks.shakeout``): when a main track's market has
matured and slowed (the consolidation test's maturity and growth), the new tracks under it
consolidate once formed, unicorns or not; an explosive one holds out until it cools. The reports
describe exactly this for 2021-2025: 商业's new tracks "大幅整合" from 22 to 9 while still making
unicorns, 民生 and 社会 "调整演化" (12 to 10 each), while the young directions 产业, 数字 and 科技
split and expand (seeds/003:294-311). It is the track-level form of the industry shakeout of firm
demography (Gort and Klepper 1982): as a market matures, its niches and firms consolidate.

**Consolidation** (整合, M9), yearly: a consolidating new track is absorbed, with probability
``consolidation_rate`` a year, by its largest active sibling or parent (main tracks are not
absorbed): its firms and market move to the absorber and it ends with end kind ``merged``.

**Demand complementarity** (M10), monthly: a track's market grows by ``complementarity`` times
the mean positive growth of the tracks that need it (the ``needs`` section of the track file).

**Promotion**: a new track created in the run that is formed or explosive, still growing at least 15 % a year and
whose market reaches ``promote_market_yi_cny`` becomes a main track.

During the warm-up the track system is frozen (``freeze_in_warmup``): lifecycle states and
counters still update, but no track is created, merged or promoted, so the observed window
starts from the listed system (the 2021 system for ``china_2021``).
"""

from __future__ import annotations

import numpy as np

from sim.core.clock import DT
from sim.core.vocabulary import CONSOLIDATING, EMERGING, EXPLOSIVE, FORMED, LATENT, LIFECYCLE, MATURE, NEVER
from sim.tracks import attention
from sim.tracks.registry import TrackRegistry

# keyed slots of the "tracks" stream used to move firms between tracks
_SLOT_FISSION_MOVE = 0


class TrackDynamics:
    """The track-system mechanisms of one model (see the module docstring)."""

    def __init__(self, model, needs: dict[str, list[str]] | None = None):
        self.model = model
        self.cfg = model.cfg.ecosystem.tracks
        self.rng = model.streams["tracks"]
        self.keyed = model.streams.keyed("tracks")
        self.needs_pairs: list[tuple[int, int]] = []  # (needer, needed)
        if needs:
            index = {k: i for i, k in enumerate(model.tracks.key)}
            for k, vs in needs.items():
                for v in vs:
                    self.needs_pairs.append((index[k], index[v]))
        self.events = {"fission": 0, "fusion": 0, "breakthrough": 0, "merged": 0, "promoted": 0}
        self._splits_this_year: dict[int, int] = {}  # parent -> splits so far this year

    @property
    def tracks(self) -> TrackRegistry:
        return self.model.tracks

    def structural_changes_allowed(self, step: int) -> bool:
        return self.cfg.dynamics and not (self.cfg.freeze_in_warmup and step < 0)

    def markets_move(self, step: int) -> bool:
        """Markets and maturity stay at their listed values during a frozen warm-up."""
        return not (self.cfg.freeze_in_warmup and step < 0)

    # ------------------------------------------------------------------ thresholds
    def _emerging_threshold(self) -> float:
        return max(1.0, self.cfg.emerging_gazelles * self.model.scale)

    def _explosive_threshold(self) -> float:
        return max(2.0, self.cfg.explosive_unicorns * self.model.scale)

    # ------------------------------------------------------------------ monthly
    def step(self) -> None:
        """The tracks phase: once a year the track system changes (:meth:`yearly`); markets
        grow, heat follows this month's attention (:mod:`sim.tracks.attention`), and tracks
        move through their lifecycle."""
        step = self.model.current_step
        if step % 12 == 0:
            self.yearly(step)
        if self.markets_move(step):  # frozen at their listed values during the warm-up
            self.grow_markets(DT, maturation_rate=self.cfg.maturation_rate, extra_growth=self.extra_growth())
        attention.step(self.tracks, self.state_multiplier(), DT, self.cfg.heat_memory_months)
        self.update_lifecycle(step)

    def grow_markets(self, dt: float, maturation_rate: float = 0.25, extra_growth: np.ndarray | None = None) -> None:
        """One time step of national market growth.

        Markets follow an S-curve: a track's maturity m rises logistically
        (dm/dt = k m (1 - m)) and its market grows at ``growth * (1 - m) / 0.7``, so a young
        track grows faster than its listed rate and a mature one slows down; plus the boost of
        recent applied breakthroughs (written and decayed by :mod:`agents.institutes`) and
        ``extra_growth`` (lifecycle and complementarity).
        The realised rate is kept in ``growth_now``.
        """
        tr = self.tracks
        n = tr.n
        act = tr["active"]
        m = tr["maturity"]
        g = tr["growth"] * (1.0 - m) / 0.7 + tr["boost"]
        if extra_growth is not None:
            g = g + extra_growth[:n]
        tr["growth_now"] = np.where(act, g, 0.0)
        tr["market"] = np.where(act, tr["market"] * np.exp(g * dt), tr["market"])
        tr["maturity"] = np.where(act, np.clip(m + maturation_rate * m * (1.0 - m) * dt, 0.0, 0.995), m)

    def state_multiplier(self) -> np.ndarray:
        """Heat and entry multiplier of each track from its lifecycle state."""
        table = np.asarray(self.cfg.state_heat, dtype=float)
        return table[self.tracks["state"]]

    def extra_growth(self) -> np.ndarray:
        """Extra yearly market growth: explosive boost and demand complementarity (M10)."""
        tr = self.tracks
        n = tr.n
        extra = np.where(tr["state"] == EXPLOSIVE, self.cfg.explosive_growth_boost, 0.0)
        if self.needs_pairs and self.cfg.complementarity > 0:
            pairs = np.asarray(self.needs_pairs)
            src, dst = pairs[:, 0], pairs[:, 1]
            g = np.maximum(tr["growth_now"][src], 0.0) * tr["active"][src]
            total = np.bincount(dst, weights=g, minlength=n)
            count = np.bincount(dst, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                extra += self.cfg.complementarity * np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return extra

    def record_new_firms(self, new_gazelle_tracks: np.ndarray, new_unicorn_tracks: np.ndarray, step: int) -> None:
        tr = self.tracks
        if new_gazelle_tracks.size:
            tr["recent_gazelles"] += np.bincount(new_gazelle_tracks, minlength=tr.n)
        if new_unicorn_tracks.size:
            tr["recent_unicorns"] += np.bincount(new_unicorn_tracks, minlength=tr.n)
            tr["last_unicorn_step"][np.unique(new_unicorn_tracks)] = step
            for t in np.unique(new_unicorn_tracks):  # M4: the first unicorn forms a track
                if tr["formed_step"][t] == NEVER:
                    tr["formed_step"][t] = step

    def update_lifecycle(self, step: int) -> None:
        """Forget old counts a little, then move each active track along its lifecycle."""
        tr = self.tracks
        decay = np.exp(-DT / self.cfg.window_years)
        recent_g, recent_u = tr["recent_gazelles"], tr["recent_unicorns"]
        recent_g *= decay
        recent_u *= decay
        state = tr["state"]
        formed, maturity, growth_now, last_unicorn = (
            tr["formed_step"],
            tr["maturity"],
            tr["growth_now"],
            tr["last_unicorn_step"],
        )
        g_thr, u_thr = self._emerging_threshold(), self._explosive_threshold()
        quiet = 12.0 * self.cfg.quiet_years
        shaking = self.shaking_out()
        for t in np.flatnonzero(tr["active"]):
            s = state[t]
            new = s
            if s == LATENT and recent_g[t] >= g_thr:
                new = EMERGING
            if new in (LATENT, EMERGING) and formed[t] != NEVER:
                new = FORMED
            if new == FORMED and recent_u[t] >= u_thr:
                new = EXPLOSIVE
            if new in (FORMED, EXPLOSIVE) and maturity[t] >= self.cfg.mature_maturity:
                new = MATURE
            if new == MATURE and growth_now[t] < self.cfg.consolidation_growth:
                last = last_unicorn[t]
                if last == NEVER or step - last >= quiet:
                    new = CONSOLIDATING
            if new in (FORMED, MATURE) and self._under_shakeout(t, shaking):
                new = CONSOLIDATING
            if new != s:
                tr.set_state(int(t), LIFECYCLE[new], step)

    def shaking_out(self) -> np.ndarray:
        """Main tracks in a shakeout: their market has matured (``mature_maturity``) and grows slower
        than ``consolidation_growth`` (all False when ``tracks.shakeout`` is off)."""
        tr = self.tracks
        n = tr.n
        if not self.cfg.shakeout:
            return np.zeros(n, dtype=bool)
        return (tr.level_mask("main") & tr["active"][:n] & (tr["maturity"][:n] >= self.cfg.mature_maturity)
                & (tr["growth_now"][:n] < self.cfg.consolidation_growth))

    def _under_shakeout(self, t: int, shaking: np.ndarray) -> bool:
        """A new track hanging under a main track in a shakeout (its first parent)."""
        tr = self.tracks
        parents = tr.parents[t]
        return tr.level[t] == "new" and bool(parents) and bool(shaking[parents[0]])

    # ------------------------------------------------------------------ creating tracks
    def _new_child(self, parents: tuple[int, ...], mechanism: str, step: int, *, market: float, state: str,
                   direction: str | None = None, growth: float = 0.3, maturity: float = 0.1) -> int:
        tr = self.tracks
        p0 = parents[0]
        self.model.counts["tracks_opened"] += 1
        self.events[mechanism] = self.events.get(mechanism, 0) + 1
        n_children = sum(1 for c in range(tr.n) if p0 in tr.parents[c] and tr.created_by[c] == mechanism)
        if mechanism == "fusion":
            a, b = parents
            key = f"{tr.key[a]}+{tr.key[b]}"
            name = f"{tr.name[a]}+{tr.name[b]}"
            name_en = f"{tr.name_en[a]} x {tr.name_en[b]}"
        else:
            tag = {"fission": ("裂变", "spin-off"), "breakthrough": ("突破", "breakthrough")}.get(
                mechanism, (mechanism, mechanism)
            )
            key = f"{tr.key[p0]}~{mechanism}{n_children + 1}"
            name = f"{tr.name[p0]}·{tag[0]}{n_children + 1}"
            name_en = f"{tr.name_en[p0]}: {tag[1]} {n_children + 1}"
        ti = np.array([tr["tech_intensity"][p] for p in parents])
        t = tr.add_track(
            key=key,
            name=name,
            name_en=name_en,
            direction=direction or tr.direction[p0],
            level="new",
            parents=parents,
            step=step,
            created_by=mechanism,
            market=market,
            growth=growth,
            needs_proximity=float(np.mean([tr["needs_proximity"][p] for p in parents])),
            tech_intensity=float(ti.max()),
            general_purpose=False,
            maturity=maturity,
            state=state,
        )
        return t

    def open_probability(self, t: int) -> float:
        """Chance that a basic breakthrough in track ``t`` opens a new track. Divided by ``scale``
        (capped at 1) because the park's institutes are a sample of the nation's: the track
        system then changes at the same expected pace at any scale."""
        tr = self.tracks
        p = self.cfg.breakthrough_open_probability * tr["tech_intensity"][t]
        p *= 2.0 if tr["general_purpose"][t] else 1.0
        return min(1.0, p / max(self.model.scale, 1.0))

    def open_from_breakthrough(self, parent: int, step: int) -> int | None:
        """A breakthrough opens a latent child track (no firms yet; 2 % of the parent's market)."""
        if not self.structural_changes_allowed(step):
            return None
        tr = self.tracks
        share = 0.02
        market = share * tr["market"][parent]
        tr["market"][parent] -= market
        return self._new_child((parent,), "breakthrough", step, market=market, state="latent",
                               growth=self.cfg.new_track_growth, maturity=0.05)

    def fission(self, step: int) -> list[int]:
        """M8: growing main tracks spawn derived tracks, faster the closer to everyday needs."""
        tr = self.tracks
        created = []
        cand = np.flatnonzero(
            tr["active"]
            & np.isin(tr["state"], (EMERGING, FORMED, EXPLOSIVE, MATURE))
            & tr.level_mask("main")
        )
        for t in cand:
            growing = min(max(tr["growth_now"][t], 0.0) / 0.15, 2.0)
            for _ in range(int(self.rng.poisson(self.cfg.fission_rate * tr["needs_proximity"][t] * growing))):
                created.append(self.split(int(t), step))
        return created

    def split(self, parent: int, step: int) -> int:
        """Carve a derived track out of ``parent``: it takes ``fission_share`` of the parent's
        market and of its live firms (chosen by a keyed draw per firm, its own slot for each child
        so that several splits of one parent in a year take different firms). Market and firms are
        conserved."""
        tr = self.tracks
        share = self.cfg.fission_share
        market = share * tr["market"][parent]
        tr["market"][parent] -= market
        child = self._new_child(
            (parent,),
            "fission",
            step,
            market=market,
            state="emerging",
            growth=max(tr["growth"][parent], self.cfg.new_track_growth),
            maturity=max(0.1, 0.5 * tr["maturity"][parent]),
        )
        pop = self.model.population
        rows = np.flatnonzero(pop["track"] == parent)
        if rows.size:
            slot = _SLOT_FISSION_MOVE + self._splits_this_year.get(parent, 0) % 200
            self._splits_this_year[parent] = self._splits_this_year.get(parent, 0) + 1
            u = self.keyed.uniform(pop["hkey"][rows], step, slot, prehashed=True)
            pop["track"][rows[u < share]] = child
        return child

    def fusion(self, step: int) -> list[int]:
        """M6: sustained co-activity of two tracks from different parents creates a fused track."""
        tr = self.tracks
        n = tr.n
        act = tr["active"] & (tr["state"] != LATENT)
        idx = np.flatnonzero(act)
        if idx.size < 2 or self.cfg.fusion_rate <= 0:
            return []
        a = tr["coactivity"][idx]
        gp = np.where(tr["general_purpose"][idx], self.cfg.general_purpose_fusion, 1.0)
        w = a * gp
        if w.sum() <= 0:
            return []
        # pair weights: outer product, excluding a track with itself and tracks sharing a parent (or parent-child)
        W = np.outer(w, w)
        root = np.array([tr.parents[t][0] if tr.parents[t] else t for t in idx])
        W[root[:, None] == root[None, :]] = 0.0
        W = np.triu(W, 1)
        total = W.sum()
        if total <= 0:
            return []
        mean_w = (w.mean() ** 2) if w.size else 0.0
        expected = self.cfg.fusion_rate * total / max(mean_w * (idx.size * (idx.size - 1) / 2), 1e-12)
        expected = min(expected, 5.0 * self.cfg.fusion_rate)
        k = int(self.rng.poisson(expected))
        created = []
        flat = W.ravel() / total
        existing = {tr.parents[t] for t in range(n) if tr.created_by[t] == "fusion"}
        for _ in range(k):
            j = int(self.rng.choice(flat.size, p=flat))
            x, y = idx[j // idx.size], idx[j % idx.size]
            pair = (int(x), int(y))
            if pair in existing or (pair[1], pair[0]) in existing:
                continue
            created.append(self.fuse(*pair, step))
            existing.add(pair)
        return created

    def fuse(self, a: int, b: int, step: int) -> int:
        """A fused track with parents ``a`` and ``b``, taking ``fusion_share`` of each one's market;
        it belongs to the more research-intensive parent's direction (technology pulls)."""
        tr = self.tracks
        share = self.cfg.fusion_share
        ma, mb = share * tr["market"][a], share * tr["market"][b]
        tr["market"][a] -= ma
        tr["market"][b] -= mb
        lead = a if tr["tech_intensity"][a] >= tr["tech_intensity"][b] else b
        t = self._new_child(
            (a, b), "fusion", step, market=ma + mb, state="emerging", direction=tr.direction[lead],
            growth=self.cfg.new_track_growth, maturity=0.1,
        )
        if tr.level[a] == "main" and tr.level[b] == "main" and tr.direction[a] != tr.direction[b]:
            tr.level[t] = "main"  # two main tracks of different directions fuse into a new main track
        return t

    # ------------------------------------------------------------------ ending tracks
    def consolidation(self, step: int) -> list[tuple[int, int]]:
        """M9: consolidating tracks are absorbed by their largest mature sibling."""
        tr = self.tracks
        merged = []
        level_new = tr.level_mask("new")
        for t in np.flatnonzero(tr["active"] & (tr["state"] == CONSOLIDATING) & level_new):
            if not tr["active"][t]:
                continue
            if self.rng.random() >= 1.0 - np.exp(-self.cfg.consolidation_rate):
                continue
            into = self._absorber(int(t))
            if into is not None:
                self.merge(int(t), into, step)
                merged.append((int(t), into))
        return merged

    def _absorber(self, t: int) -> int | None:
        tr = self.tracks
        n = tr.n
        par = set(tr.parents[t])
        sib = [s for s in range(n) if s != t and set(tr.parents[s]) & par and tr.level[s] == "new"]
        sib += [p for p in par]
        sib = [s for s in sib if tr["active"][s] and tr["state"][s] in (MATURE, CONSOLIDATING, FORMED, EXPLOSIVE)]
        if not sib:
            return None
        return max(sib, key=lambda s: tr["market"][s])

    def merge(self, absorbed: int, into: int, step: int) -> None:
        """``absorbed`` ends; its market and live firms move to ``into``. Children keep their ids."""
        tr = self.tracks
        tr["market"][into] += tr["market"][absorbed]
        tr["market"][absorbed] = 0.0
        pop = self.model.population
        pop["track"][pop["track"] == absorbed] = into
        tr["merged_into"][absorbed] = into
        tr.end_track(absorbed, step, "merged")
        self.events["merged"] += 1

    def promotion(self, step: int) -> None:
        tr = self.tracks
        limit = self.cfg.promote_market_yi_cny * 100.0
        for t in np.flatnonzero(tr["active"] & np.isin(tr["state"], (FORMED, EXPLOSIVE))):
            if (tr.level[t] == "new" and tr.created_by[t] != "initial" and tr["market"][t] >= limit
                    and tr["growth_now"][t] >= 0.15):
                tr.set_level(int(t), "main", step)
                self.events["promoted"] += 1

    # ------------------------------------------------------------------ the yearly pass
    def update_coactivity(self) -> None:
        tr = self.tracks
        activity = tr["heat"] * (tr["recent_gazelles"] + 3.0 * tr["recent_unicorns"]) / max(self.model.scale, 1e-9)
        tr["coactivity"] = 0.5 * tr["coactivity"] + 0.5 * activity

    def yearly(self, step: int) -> None:
        self.update_coactivity()
        self._splits_this_year = {}
        if not self.structural_changes_allowed(step):
            return
        self.fission(step)
        self.fusion(step)
        self.consolidation(step)
        self.promotion(step)

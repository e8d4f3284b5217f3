"""Policies on tracks: opened application scenarios (场景开放, 揭榜挂帅), track cultivation with a
patience horizon (local-government patience), and a sanctions or decoupling shock (脱钩断链) with
targeted support (精准支持) as its mitigation.

Money, scale and the sources of the defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.config import P
from sim.core.clock import DT
from sim.core.errors import ConfigError
from sim.policies.base import Policy, check_range, positive_factor

__all__ = ["SceneOpening", "TrackCultivation", "SanctionsShock", "EXPOSED_TRACKS"]


# --------------------------------------------------------------------------------------------
# 5. Opened application scenarios (场景开放, 揭榜)
# --------------------------------------------------------------------------------------------


@dataclass
class SceneOpening(Policy):
    """Opened application scenarios (场景开放, 揭榜挂帅): the government posts scenes tied to
    tracks; the firms that take a scene on get a first customer and a test report, and the
    open scene draws founders into its track (场景赋能—企业聚集)."""

    kind: ClassVar[str] = "scene_opening"
    size_keys: ClassVar[tuple[str, ...]] = ("scenes_per_year",)
    place_keys: ClassVar[tuple[str, ...]] = ("capacity",)
    target: ClassVar[str] = "revenue of the firms that took a scene on (against the same firms without the programme)"
    source: ClassVar[str] = (
        "福田 AI 场景需求清单: 16 needs, 3 months of free venue, data, a test report "
        "(seeds/000_7c3d64ef66a46d97.txt:417-429); "
        "M11 场景赋能—企业聚集—赛道爆发 (seeds/003_05603e1a4834c126.txt:65-71)"
    )
    name: str = "scene_opening"
    budget_mcny_per_year: float = 100.0
    scenes_per_year: float = P(16.0, "Scenes opened per year, each tied to one track. A scene is one of the real "
                                     "park's: the same scenes open at every scale (only their firms and cost are "
                                     "sampled).", 'scenes/yr')
    capacity: int = P(5, 'Firms that take one scene on (揭榜): the best the government sees in the track. At scale '
                         's a scene takes on capacity * s firms of the simulated park (whole firms, the fraction '
                         'carried to the next scene).', 'firms per scene')
    duration_months: int = P(12, 'How long a scene is open and its firms supported.', 'months')
    cost_per_scene_mcny: float = P(5.0, 'Public cost of a scene: venue, data, testing, first procurement. At scale s '
                                        'the simulated park pays s times this per scene, for its capacity * s '
                                        'firms.', 'mcny at scale 1')
    growth_support: float = P(0.4, "Extra log revenue growth of the scene's firms (a first customer).", '1/yr')
    screen_relief: float = P(0.3, "The scene's test report lowers investors' screening bar for its firms by this "
                                  "much.", 'sd')
    entry_bonus: float = P(1.2, "Founders' entry weight of a track with an open scene, times this "
                                "(场景赋能—企业聚集).", 'x')
    min_age_months: int = P(6, 'Firms must be at least this old to take a scene on.', 'months')
    selection_noise: float = P(0.8, "Error of the government's view of the applicants' quality.", 'sd')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "scenes_per_year", self.scenes_per_year, ge=0, le=10_000, unit="scenes/yr")
        check_range(self.name, "capacity", self.capacity, ge=1, le=10_000, unit="firms per scene")
        check_range(self.name, "duration_months", self.duration_months, ge=1, le=240, unit="months")
        check_range(self.name, "cost_per_scene_mcny", self.cost_per_scene_mcny, ge=0, unit="mcny at scale 1")
        check_range(self.name, "growth_support", self.growth_support, ge=0, le=3, unit="1/yr")
        check_range(self.name, "screen_relief", self.screen_relief, ge=0, le=5, unit="sd")
        positive_factor(self, "entry_bonus", self.entry_bonus)
        check_range(self.name, "min_age_months", self.min_age_months, ge=0, le=240, unit="months")
        check_range(self.name, "selection_noise", self.selection_noise, ge=0, le=10, unit="sd")

    def __post_init__(self):
        super().__post_init__()
        self.scenes: list[tuple[int, int]] = []  # (track id, closing step)
        self.scene_log: list[dict] = []

    def step(self, model, government) -> None:
        step = model.current_step
        self.scenes = [(t, end) for t, end in self.scenes if end > step]
        k = self.whole(self.scenes_per_year * DT, "scenes")  # the real park's scenes: not sampled
        cost = self.sample_cost(model, self.cost_per_scene_mcny)
        pop = model.population
        tr = model.tracks
        for _ in range(k):
            mask = self.target_track_mask(model)
            w = np.where(mask, tr["market"] * np.maximum(tr["heat"], 1e-6), 0.0)
            if w.sum() <= 0 or cost > self.room(model, government) + 1e-12:
                break
            t = int(self.rng(model).choice(tr.n, p=w / w.sum()))
            self.spend(model, government, cost)
            places = self.sampled(model, self.capacity)
            busy = self.support.live_ids()
            rows = np.flatnonzero((pop["track"] == t) & (step - pop["born"] >= self.min_age_months))
            rows = rows[self.eligible(model, rows)]
            if busy.size:
                rows = rows[~np.isin(pop["id"][rows], busy)]
            rows = self.select_best(
                model, rows, places, self.selection_noise, extra=np.clip(pop["growth_12m"][rows], -2, 3)
            )
            self.unfilled(places - rows.size)
            end = step + self.duration_months
            self.support.add(model, rows, end, growth=self.growth_support, screen=-self.screen_relief)
            self.note_supported(model, rows)
            self.scenes.append((t, end))
            self.scene_log.append({"track_id": t, "step": step, "firms": int(rows.size)})
        bonus = np.ones(tr.n)
        for t, _ in self.scenes:
            bonus[t] = self.entry_bonus
        self.levers.set_track(model, "entry_bonus", bonus)

    def stats(self) -> dict:
        return {"firms_supported": int(self.supported().size), "scenes_opened": len(self.scene_log)}


# --------------------------------------------------------------------------------------------
# 12. Track cultivation with a patience horizon (local-government patience)
# --------------------------------------------------------------------------------------------


@dataclass
class TrackCultivation(Policy):
    """Track cultivation with a patience horizon: targeted tracks get entry and growth support
    and their young firms small grants; support for a track that shows no new gazelle or
    unicorn within ``patience_years`` is withdrawn."""

    kind: ClassVar[str] = "track_cultivation"
    target: ClassVar[str] = "births into the supported tracks (firms.track_id)"
    source: ClassVar[str] = (
        "M18 需提升地方政府耐心和定力 (seeds/001_52e3b34853073898.txt:25), weak 容错 (:27); "
        "assess staged track cultivation above investment totals (:25, :40)"
    )
    name: str = "track_cultivation"
    budget_mcny_per_year: float = 300.0
    target_directions: list[str] = field(default_factory=lambda: ["科技"])
    patience_years: float = 8.0
    entry_bonus: float = P(1.25, "Founders' entry weight of a supported track, times this.", 'x')
    growth_bonus: float = P(0.03, "Extra yearly growth of the supported tracks' firms.", '1/yr')
    young_firm_grant_mcny_per_year: float = P(0.2, 'Grant per young firm in a supported track.', 'mcny/yr')
    young_age_years: float = P(3.0, 'Firms up to this age count as young.', 'years')

    def validate(self) -> None:
        super().validate()
        positive_factor(self, "entry_bonus", self.entry_bonus)
        check_range(self.name, "growth_bonus", self.growth_bonus, ge=-1, le=1, unit="1/yr")
        check_range(
            self.name, "young_firm_grant_mcny_per_year", self.young_firm_grant_mcny_per_year, ge=0, unit="mcny/yr"
        )
        check_range(self.name, "young_age_years", self.young_age_years, gt=0, le=10, unit="years")

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model)
        self.levers.set_track(model, "entry_bonus", np.where(mask, self.entry_bonus, 1.0))
        self.levers.set_track(model, "growth_bonus", np.where(mask, self.growth_bonus, 0.0))
        if self.young_firm_grant_mcny_per_year > 0:
            pop = model.population
            young = (model.current_step - pop["born"]) <= 12 * self.young_age_years
            rows = np.flatnonzero(young & mask[pop["track"]])
            got = self.grant(model, government, rows, self.young_firm_grant_mcny_per_year * DT)
            if model.current_step % 12 == 0:
                self.count_supported(model, int((got > 0).sum()))

    def stats(self) -> dict:
        return {"tracks_withdrawn": len(self.withdrawn)}


# --------------------------------------------------------------------------------------------
# 13. Sanctions or decoupling shock (脱钩断链) and targeted support (精准支持)
# --------------------------------------------------------------------------------------------

EXPOSED_TRACKS = [
    "edge_ai_chips",
    "artificial_intelligence",
    "power_batteries",
    "new_energy_storage",
    "biochips",
    "smart_hardware",
]


@dataclass
class SanctionsShock(Policy):
    """A sanctions or decoupling shock (脱钩断链) on exposed tracks: their firms lose growth and
    investors shun them; targeted support (精准支持) helps exposed firms with grants,
    substitute-parts coordination and continuity support.

    Targeted support goes each month to the exposed firms with the most revenue that it has not
    supported yet (the key firms of the exposed supply chains, 重点企业; equal revenue in a
    random order), ``support_capacity_per_year`` of them a year."""

    kind: ClassVar[str] = "sanctions_shock"
    target: ClassVar[str] = "revenue of firms in the exposed tracks (lower under the shock, less so with support)"
    source: ClassVar[str] = (
        "M19 缺芯少魂, high-end optical chips < 10% localised (seeds/004_04d71fc19d7d077d.txt:9-21, :632-640); "
        "sanctions on lithium batteries (seeds/001_52e3b34853073898.txt:32-33); substitute parts and targeted support "
        "(:50)"
    )
    name: str = "sanctions_shock"
    budget_mcny_per_year: float = 0.0
    target_tracks: list[str] = field(default_factory=lambda: list(EXPOSED_TRACKS))
    shock_growth: float = P(-0.3, "Extra log revenue growth of the exposed tracks' firms (negative: lost parts and "
                                  "markets).", '1/yr')
    shock_screen: float = P(0.3, "Investors' screening bar in exposed tracks rises by this much.", 'sd')
    support_capacity_per_year: float = P(0.0, 'Targeted support (精准支持): exposed firms supported per year; 0 = the '
                                              'shock alone.', 'firms/yr at scale 1')
    support_grant_mcny: float = P(0.5, 'Grant per supported firm.', 'mcny')
    support_closure_relief: float = P(0.3, 'Closure hazard of a supported firm times (1 - relief).', 'share')
    support_growth: float = P(0.15, 'Growth given back to a supported firm (substitute parts coordination).', '1/yr')
    support_years: float = P(2.0, 'Length of the support.', 'years')

    @property
    def pays(self) -> str:
        """The shock alone pays nobody; with targeted support (support_capacity_per_year > 0) it pays firms."""
        return "firms" if self.support_capacity_per_year > 0 else "nobody"

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "shock_growth", self.shock_growth, ge=-3, le=0, unit="1/yr")
        check_range(self.name, "shock_screen", self.shock_screen, ge=0, le=5, unit="sd")
        check_range(self.name, "support_capacity_per_year", self.support_capacity_per_year, ge=0, unit="firms/yr at "
                                                                                                       "scale 1")
        check_range(self.name, "support_grant_mcny", self.support_grant_mcny, ge=0, unit="mcny")
        check_range(self.name, "support_closure_relief", self.support_closure_relief, ge=0, lt=1, unit="share")
        check_range(self.name, "support_growth", self.support_growth, ge=0, le=3, unit="1/yr")
        check_range(self.name, "support_years", self.support_years, gt=0, le=10, unit="years")
        if not self.targeted():
            raise ConfigError(f"policy.{self.name}: a sanctions shock needs exposed target_tracks or "
                              "target_directions.")

    def check_combination(self, policies) -> None:
        for p in policies:
            if p is self or not isinstance(p, SanctionsShock):
                continue
            if set(p.target_tracks) & set(self.target_tracks) or set(p.target_directions) & set(self.target_directions):
                raise ConfigError(
                    f"policies {self.name} and {p.name} both put a sanctions shock on the same tracks; apply the "
                    "shock once (a configuration with support_capacity_per_year > 0, like targeted_support, includes "
                    "it)."
                )

    def step(self, model, government) -> None:
        mask = self.target_track_mask(model)
        self.levers.set_track(model, "growth_bonus", np.where(mask, self.shock_growth, 0.0))
        self.levers.set_track(model, "screen_shift", np.where(mask, self.shock_screen, 0.0))
        k = self.monthly_slots(model, self.support_capacity_per_year)
        if k <= 0:
            return
        pop = model.population
        rows = np.flatnonzero(mask[pop["track"]])
        done = self.supported()
        if done.size:
            rows = rows[~np.isin(pop["id"][rows], done)]
        rows = self.random_order(model, rows)  # ties in a random order
        rows = rows[np.argsort(-pop["revenue"][rows], kind="stable")][:k]  # the largest exposed firms first
        if rows.size == 0:
            return
        if self.support_grant_mcny > 0:
            got = self.grant(model, government, rows, self.support_grant_mcny)
            rows = rows[got > 0]
        until = model.current_step + int(round(12 * self.support_years))
        self.support.add(model, rows, until, growth=self.support_growth, closure=1.0 - self.support_closure_relief)
        self.note_supported(model, rows)

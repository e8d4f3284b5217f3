"""The ecosystem model: a Mesa model whose monthly step runs a fixed list of phases.

The order of phases is written once, as data (:data:`PHASES`), and every phase is timed
(``model.phase_seconds``). Large firm populations live in columnar arrays
(:class:`agents.firms.population.FirmPopulation`) updated by the vectorised verbs of
:mod:`agents.firms.rules`; investors, research institutes and the government are Mesa agents; any
firm can be looked at as a Mesa agent through :meth:`EcosystemModel.firm`, and every firm that
becomes a unicorn is registered as one.

Time: ``current_step`` counts months; step 0 is January of ``ecosystem.start_year``. The
model starts ``ecosystem.warmup_years`` before that (negative steps) so that the observed
window opens on a population with a realistic age structure; only steps >= 0 are recorded
in the time series and the firm-year panel.

Randomness: one root seed (``cfg.seed``) split into named streams (:mod:`sim.rng`). Firm-level
draws are keyed by each firm's birth key, and the number of births in a step is an inverse-CDF
draw of one keyed uniform, so a policy that adds founders appends firms without changing any
other firm's luck.
"""

from __future__ import annotations

import time
from collections import defaultdict

import mesa
import numpy as np
from scipy.stats import poisson

from agents.firms import founding
from agents.firms import rules as firm_rules
from agents.firms.population import FirmPopulation
from agents.firms.view import Firm
from agents.government import Government
from agents.institutes import ResearchInstitute
from agents.investors.books import Angel, Bank, GuidanceFund, VCFund
from agents.investors.market import CapitalMarket
from sim.config import Config, validate
from sim.core.clock import DT, STEP_OFFSET
from sim.core.rng import KeyedDraws, Streams, birth_keys
from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS, GAZELLE, LIFECYCLE, NEVER, ORIGINS, STARTUP, UNICORN
from sim.stages import gazelle_mask, unicorn_mask, unicorn_threshold_mcny
from sim.tracks.dynamics import TrackDynamics
from sim.tracks.registry import TrackRegistry, load_track_needs, load_track_system

#: The phases of one monthly step, in order: (name, method). Edit here, nowhere else.
PHASES: tuple[tuple[str, str], ...] = (
    ("policies", "phase_policies"),
    ("tracks", "phase_tracks"),
    ("institutes", "phase_institutes"),
    ("births", "phase_births"),
    ("operations", "phase_operations"),
    ("financing", "phase_financing"),
    ("exits", "phase_exits"),
    ("deaths", "phase_deaths"),
    ("stages", "phase_stages"),
    ("year_end", "phase_year_end"),
    ("record", "phase_record"),
    ("ageing", "phase_ageing"),
)

TRACK_DEMAND_PASS_THROUGH = 0.5  # share of a track's market growth that shows in its firms' drift
COUNTERS = (
    "births",
    "births_independent",
    "births_spinoff",
    "births_alumni",
    "deaths",
    "exits_ipo",
    "exits_acquired",
    "aged_out",
    "new_gazelles",
    "new_unicorns",
    "public_spending",
    "breakthroughs",
    "tracks_opened",
)


def _n_scaled(count: int, scale: float) -> int:
    """Agents at this scale: at least one if the preset has any."""
    if count <= 0:
        return 0
    return max(1, int(round(count * scale)))


class EcosystemModel(mesa.Model):
    """An innovation ecosystem: firms, investors, institutes and a government over tracks."""

    def __init__(self, cfg: Config, policies=()):
        cfg = validate(cfg)
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        eco = cfg.ecosystem
        self.scale = cfg.scale
        self.start_year = eco.start_year
        self.warmup_steps = eco.warmup_years * 12
        self.current_step = -self.warmup_steps
        self.end_step = cfg.years * 12
        self.streams = Streams(cfg.seed)
        self.draws: dict[str, KeyedDraws] = {
            name: self.streams.keyed(name) for name in ("founding", "firms", "finance", "births")
        }
        self.phase_seconds = {name: 0.0 for name, _ in PHASES}
        self.ledger = defaultdict(float)
        self.counts = dict.fromkeys(COUNTERS, 0.0)
        self.timeseries: list[dict] = []
        self.firm_years: list[dict[str, np.ndarray]] = []
        self.stage_changes: list[dict[str, np.ndarray]] = []
        self._firm_agents: dict[int, Firm] = {}
        self.firm_steps = 0  # sum over steps of live firms (for throughput figures)

        # levers that policies move (neutral values here; see sim.levers)
        self.births_multiplier = {o: 1.0 for o in ORIGINS}
        self.funding_attempt_multiplier = 1.0
        self.credit_multiplier = 1.0
        self.loan_size_multiplier = 1.0
        self.ipo_multiple = 1.0
        self.acquisition_multiple = 1.0
        self.lp_multiplier = 1.0
        self.fund_life_multiplier = 1.0
        self.closure_multiplier = 1.0
        # per-firm support from policies (population columns support_growth, support_closure,
        # support_screen); read only once a policy has supported a firm, so the baseline's
        # arithmetic is untouched
        self.firm_support = False

        # tracks
        mature = eco.tracks.mature_maturity

        def initial_state(spec) -> str:  # listed tracks are recognised: at least emerging
            return "mature" if spec.maturity >= mature else "formed" if spec.maturity >= 0.3 else "emerging"

        self.tracks = TrackRegistry.from_specs(
            load_track_system(eco.tracks.system), step=self.current_step, initial_state=initial_state
        )
        self.track_dynamics = TrackDynamics(self, load_track_needs(eco.tracks.system))
        self._track_arrays: dict[str, np.ndarray] = {}
        self.track_entry_bonus = self.track_array("entry_bonus", 1.0)
        self.track_screen_shift = self.track_array("screen_shift", 0.0)
        self.track_growth_bonus = self.track_array("growth_bonus", 0.0)
        self.attention_money = self.track_array("attention_money", 0.0)
        self.attention_firms = self.track_array("attention_firms", 0.0)

        # firms
        expected = eco.firms.births_per_year * self.scale * 6
        self.population = FirmPopulation(capacity=int(min(max(expected, 1024), 5e7)))

        # investors, institutes, government
        self.market = CapitalMarket(self)
        self._create_investors()
        self._create_institutes()
        self.government = Government(
            self, "government", budget_per_year=eco.government.budget_mcny_per_year * self.scale, policies=policies
        )
        self.government.setup()
        self.running = True

    # ------------------------------------------------------------------ construction
    def _create_investors(self) -> None:
        eco = self.cfg.ecosystem
        s = self.scale
        rng = self.streams["investors_init"]
        n = _n_scaled(eco.angels.count, s)
        for i in range(n):
            a = Angel(self, f"angel {i}", budget_per_year=eco.angels.budget_mcny_per_year * eco.angels.count * s / n)
            a.commit(a.budget_per_year)
            self.market.add(a)
        n = _n_scaled(eco.vc.initial_funds, s)
        for _ in range(n):
            size = eco.vc.fund_size_mcny * float(np.exp(eco.vc.fund_size_sigma * rng.standard_normal()))
            vintage = self.current_step - int(rng.uniform(0, eco.vc.investment_period_years * 12))
            focus = "early" if rng.random() < eco.vc.early_stage_share else "late"
            self.market.new_fund(
                vintage, manager_id=self.market.new_manager_id(), size=size, focus=focus, prefs=self.market.initial_prefs(rng)
            )
        n = _n_scaled(eco.guidance.count, s)
        for i in range(n):
            g = GuidanceFund(
                self,
                f"guidance fund {i}",
                capital=eco.guidance.fund_size_mcny * eco.guidance.count * s / n,
                coinvest_ratio=eco.guidance.coinvest_ratio,
                return_cap=eco.guidance.return_cap,
                mandated_directions=eco.guidance.mandated_directions,
                start_step=self.current_step,
                life_years=eco.guidance.life_years,
            )
            self.market.add(g)
        n = _n_scaled(eco.banks.count, s)
        for i in range(n):
            b = Bank(
                self,
                f"bank {i}",
                capital=eco.banks.capital_mcny * eco.banks.count * s / n,
                rate=eco.banks.rate,
                term_months=eco.banks.term_months,
            )
            self.market.add(b)

    def _create_institutes(self) -> None:
        eco = self.cfg.ecosystem
        n = _n_scaled(eco.institutes.count, self.scale)
        self.institutes = []
        for i in range(n):
            share = eco.institutes.count * self.scale / n
            self.institutes.append(
                ResearchInstitute(
                    self,
                    f"institute {i}",
                    budget=eco.institutes.budget_mcny * share,
                    researchers=eco.institutes.researchers * share,
                    base_rate=eco.institutes.breakthroughs_per_year,
                )
            )

    # ------------------------------------------------------------------ helpers
    def track_array(self, name: str, fill: float) -> np.ndarray:
        """A per-track array that grows with the track registry (new tracks get ``fill``)."""
        arr = self._track_arrays.get(name)
        n = self.tracks.n
        if arr is None:
            arr = np.full(n, fill)
        elif len(arr) < n:
            arr = np.concatenate([arr, np.full(n - len(arr), fill)])
        self._track_arrays[name] = arr
        return arr

    def _sync_track_arrays(self) -> None:
        fills = {"entry_bonus": 1.0}
        for name in list(self._track_arrays):
            setattr_name = {
                "entry_bonus": "track_entry_bonus",
                "screen_shift": "track_screen_shift",
                "growth_bonus": "track_growth_bonus",
                "attention_money": "attention_money",
                "attention_firms": "attention_firms",
            }.get(name)
            arr = self.track_array(name, fills.get(name, 0.0))
            if setattr_name:
                setattr(self, setattr_name, arr)

    def year_of(self, step: int) -> int:
        return self.start_year + step // 12

    def screening_shift(self, tracks: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Policy-driven shift of the screening bar (negative = easier) for these applicants."""
        if self.firm_support:
            return self.track_screen_shift[tracks] + self.population["support_screen"][rows]
        return self.track_screen_shift[tracks]

    def firm(self, firm_id: int) -> Firm:
        """The Mesa agent of a firm (created and registered on first access)."""
        if not 0 <= firm_id < self.population.n_ever:
            raise KeyError(f"no firm with id {firm_id}; ids run from 0 to {self.population.n_ever - 1}")
        agent = self._firm_agents.get(firm_id)
        if agent is None:
            agent = Firm(self, firm_id)
            self._firm_agents[firm_id] = agent
        return agent

    def _end(self, ids: np.ndarray, kind: str) -> None:
        pop = self.population
        if ids.size == 0:
            return
        rows = pop.row_of[ids]
        self.ledger["ended_cash"] += float(pop["cash"][rows].sum())
        pop.end(rows, self.current_step, kind)

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One month: every phase of :data:`PHASES` in order."""
        for k in self.counts:
            self.counts[k] = 0.0
        for k in self.market.flows:
            self.market.flows[k] = 0.0
        self.firm_steps += self.population.n
        for name, method in PHASES:
            t0 = time.perf_counter()
            getattr(self, method)()
            self.phase_seconds[name] += time.perf_counter() - t0
        self.current_step += 1
        if self.current_step >= self.end_step:
            self.running = False

    def run(self, progress=None) -> None:
        """Step until the end of the observed window; ``progress(done, total)`` is called each step."""
        total = self.end_step + self.warmup_steps
        while self.current_step < self.end_step:
            self.step()
            if progress is not None:
                progress(self.current_step + self.warmup_steps, total)
        self.finish()

    def finish(self) -> None:
        self.government.finish()
        self.market.close_books()
        self.population.snapshot_records()

    # ------------------------------------------------------------------ phases
    def phase_policies(self) -> None:
        self.government.spent_this_step = 0.0
        if self.current_step % 12 == 0:
            self.government.new_year()
        self.government.act(self.current_step)
        self.counts["public_spending"] = self.government.spent_this_step

    def phase_tracks(self) -> None:
        """Markets grow, investor heat follows money and new high-growth firms, tracks move
        through their lifecycle; once a year the track system itself changes
        (:mod:`sim.tracks.dynamics`)."""
        tcfg = self.cfg.ecosystem.tracks
        icfg = self.cfg.ecosystem.institutes
        tr = self.tracks
        dyn = self.track_dynamics
        step = self.current_step
        if step % 12 == 0:
            dyn.yearly(step)
        if dyn.markets_move(step):  # frozen at their listed values during the warm-up
            tr.grow_markets(DT, maturation_rate=tcfg.maturation_rate, boost_decay_years=icfg.boost_decay_years,
                            extra_growth=dyn.extra_growth())
        self._sync_track_arrays()
        # attention: money raised and new gazelles/unicorns in the last step, weighted by lifecycle state
        money = self.attention_money
        firms = self.attention_firms
        sig = np.zeros(tr.n)
        if money.sum() > 0:
            sig += 0.6 * money / money.sum()
        if firms.sum() > 0:
            sig += 0.4 * firms / firms.sum()
        if sig.sum() == 0:
            sig = np.where(tr.active, 1.0, 0.0)
        sig = sig * dyn.state_multiplier()
        if sig.sum() > 0:
            sig = sig / sig.sum()
        tr.update_heat(sig, DT, tcfg.heat_memory_months)
        money[:] = 0.0
        firms[:] = 0.0
        dyn.update_lifecycle(step)

    def phase_institutes(self) -> None:
        icfg = self.cfg.ecosystem.institutes
        tcfg = self.cfg.ecosystem.tracks
        rng = self.streams["institutes"]
        tr = self.tracks
        for inst in self.institutes:
            for _ in range(inst.count_breakthroughs(rng, DT)):
                t = inst.choose_track(rng, tr.col("tech_intensity"), tr.active)
                if t < 0:
                    continue
                tr.f["boost"][t] += icfg.breakthrough_boost
                tr.f["breakthroughs"][t] += 1.0
                self.counts["breakthroughs"] += 1
                if rng.random() < self.track_dynamics.open_probability(t):
                    self.track_dynamics.open_from_breakthrough(t, self.current_step)

    def phase_births(self) -> None:
        fcfg = self.cfg.ecosystem.firms
        icfg = self.cfg.ecosystem.institutes
        step = self.current_step
        tr = self.tracks
        years = (step + self.warmup_steps) / 12.0
        lam = fcfg.births_per_year * self.scale * DT * (1.0 + fcfg.births_growth) ** years
        bt = tr.col("breakthroughs")
        spin_share = fcfg.spinoff_share * (1.0 + icfg.spinoff_boost * bt.sum() / max(len(self.institutes), 1))
        spin_share = min(spin_share, 1.0 - fcfg.alumni_share) if self.institutes else 0.0  # no institute, no spin-off
        shares = {
            "independent": 1.0 - fcfg.alumni_share - spin_share,
            "spinoff": spin_share,
            "alumni": fcfg.alumni_share,
        }
        active = tr.active
        market_w = np.where(active, (tr.market * self.scale) ** fcfg.entry_market_elasticity, 0.0)
        heat_w = np.maximum(tr.heat, 1e-6) ** fcfg.entry_heat_elasticity
        state_w = self.track_dynamics.state_multiplier()
        w_common = market_w * heat_w * state_w * self.track_entry_bonus
        w_alumni = w_common * (1.0 + tr.col("unicorns_ever")) ** self.cfg.ecosystem.tracks.alumni_unicorn_elasticity
        # researchers found where their knowledge is, even in tracks investors have not noticed yet
        w_spin = np.where(active, tr.col("tech_intensity") ** 2 * (1.0 + icfg.spinoff_boost * bt), 0.0) * np.sqrt(heat_w) * self.track_entry_bonus
        key_step = step + STEP_OFFSET
        for code, origin in enumerate(ORIGINS):
            mean = lam * shares[origin] * self.births_multiplier[origin]
            if mean <= 0:
                continue
            u = self.draws["births"].uniform(np.array([key_step * 8 + code], dtype=np.uint64), 0, 0)[0]
            n = int(poisson.ppf(u, mean))
            if n <= 0:
                continue
            keys = birth_keys(key_step, code, n)
            weights = {"spinoff": w_spin, "alumni": w_alumni}.get(origin, w_common)
            track = founding.choose_tracks(self.draws["founding"].uniform(keys, step, 0), weights)
            orig = np.full(n, code, dtype=np.int8)
            state = founding.founding_state(keys, orig, fcfg, self.draws["founding"], step)
            self.population.add(step, key=keys, hkey=KeyedDraws.prehash(keys), origin=orig, track=track, **state)
            self.ledger["founder_cash"] += float(state["cash"].sum())
            self.counts["births"] += n
            self.counts[f"births_{origin}"] += n

    def phase_operations(self) -> None:
        fcfg = self.cfg.ecosystem.firms
        tcfg = self.cfg.ecosystem.tracks
        pop = self.population
        tr = self.tracks
        m = tr.col("maturity")
        track_growth = TRACK_DEMAND_PASS_THROUGH * (tr.col("growth") * (1.0 - m) / 0.7 + tr.col("boost")) + self.track_growth_bonus
        capacity = tcfg.park_market_share * tr.market * self.scale
        used = np.bincount(pop["track"], weights=pop["revenue"], minlength=tr.n)
        crowding = np.where(capacity > 0, used / np.maximum(capacity, 1e-9), 0.0)
        firm_rules.grow(pop, fcfg, self.draws["firms"], self.current_step, track_growth, crowding,
                        pop["support_growth"] if self.firm_support else None)
        gross = firm_rules.gross_margin(pop, fcfg)
        firm_rules.hire(pop, fcfg, gross)
        if self.current_step % 3 == 0:
            firm_rules.update_volatility(pop, fcfg)
        operating = firm_rules.burn_cash(pop, fcfg, gross)
        self.ledger["operating"] += operating
        self.market.service_loans(self.current_step)

    def phase_financing(self) -> None:
        self.market.financing(self.current_step)
        self.market.lending(self.current_step)

    def phase_exits(self) -> None:
        out = self.market.exits(self.current_step)
        pop = self.population
        ids = {}
        for kind, (rows, values) in out.items():
            self.market.settle_exit(rows, values, self.current_step)
            ids[kind] = pop["id"][rows].copy()
        for kind, i in ids.items():
            self._end(i, kind)
        self.counts["exits_ipo"] = len(ids["ipo"])
        self.counts["exits_acquired"] = len(ids["acquired"])

    def phase_deaths(self) -> None:
        fcfg = self.cfg.ecosystem.firms
        pop = self.population
        step = self.current_step
        broke = firm_rules.insolvent(pop)
        closure = self.closure_multiplier * pop["support_closure"] if self.firm_support else self.closure_multiplier
        closed = firm_rules.closure_draw(pop, fcfg, self.draws["firms"], step, closure)
        rows = np.union1d(broke, closed)
        self.market.write_off(rows)
        self._end(pop["id"][rows].copy(), "failed")
        self.counts["deaths"] = rows.size
        old = firm_rules.aged_out(pop, fcfg, step)
        self.market.mark_unrealized(old)
        self._end(pop["id"][old].copy(), "aged_out")
        self.counts["aged_out"] = old.size

    def phase_stages(self) -> None:
        pop = self.population
        if pop.n == 0:
            return
        step = self.current_step
        uni = np.zeros(pop.n, dtype=bool)
        cand = np.flatnonzero(pop["valuation"] >= unicorn_threshold_mcny(self.cfg.stages))
        uni[cand] = unicorn_mask(pop["valuation"][cand], firm_rules.age_years(pop, step, cand), pop["raised"][cand], self.cfg.stages)
        ids = pop["id"]
        rec_u = pop.rec["unicorn_step"]
        new_u = uni & (rec_u[ids] == NEVER)
        if new_u.any():
            new_ids = ids[new_u]
            rec_u[new_ids] = step
            new_tracks = pop["track"][new_u]
            np.add.at(self.tracks.i["unicorns_ever"], new_tracks, 1)
            self.track_dynamics.record_new_firms(np.empty(0, dtype=np.int64), new_tracks, step)
            self.attention_firms += np.bincount(new_tracks, minlength=self.tracks.n) * 2.0
            self.counts["new_unicorns"] = int(new_u.sum())
            for fid in new_ids:  # unicorns are rare and get individual attention: register them
                self.firm(int(fid))
        stage = np.where(uni, UNICORN, np.where(pop["gazelle_flag"], GAZELLE, STARTUP))
        self._first_gazelles(stage == GAZELLE)  # a unicorn falling back to a gazelle-flagged firm
        self._set_stages(stage)

    def _first_gazelles(self, in_gazelle: np.ndarray) -> None:
        """Record the first step in the gazelle stage of the live firms in ``in_gazelle``."""
        pop = self.population
        ids = pop["id"]
        rec_g = pop.rec["gazelle_step"]
        new_g = in_gazelle & (rec_g[ids] == NEVER)
        if new_g.any():
            step = self.current_step
            rec_g[ids[new_g]] = step
            np.add.at(self.tracks.i["gazelles_ever"], pop["track"][new_g], 1)
            self.track_dynamics.record_new_firms(pop["track"][new_g], np.empty(0, dtype=np.int64), step)
            self.attention_firms += np.bincount(pop["track"][new_g], minlength=self.tracks.n)
            self.counts["new_gazelles"] += int(new_g.sum())

    def _set_stages(self, stage: np.ndarray) -> None:
        pop = self.population
        old = pop["stage"]
        changed = np.flatnonzero(old != stage)
        if changed.size:
            self.stage_changes.append(
                {
                    "firm_id": pop["id"][changed].copy(),
                    "step": np.full(changed.size, self.current_step, dtype=np.int32),
                    "from_stage": old[changed].copy(),
                    "to_stage": stage[changed].astype(np.int8),
                }
            )
            old[changed] = stage[changed]

    def phase_year_end(self) -> None:
        step = self.current_step
        if (step + 1) % 12 != 0:
            return
        pop = self.population
        if pop.n:
            for hist, col in (("emp_hist", "employees"), ("rev_hist", "revenue")):
                h = pop[hist]
                h[:, :-1] = h[:, 1:]
                h[:, -1] = pop[col]
            age = firm_rules.age_years(pop, step + 1)
            flag = gazelle_mask(pop["emp_hist"], pop["rev_hist"], age, self.cfg.stages)
            pop["gazelle_flag"][:] = flag
            ids = pop["id"]
            # first step *in the gazelle stage*: a unicorn that also passes the test stays a unicorn
            self._first_gazelles(flag & (pop["stage"] != UNICORN))
            stage = pop["stage"].copy()
            stage = np.where(stage == UNICORN, UNICORN, np.where(flag, GAZELLE, STARTUP)).astype(np.int8)
            self._set_stages(stage)
            if step >= 0 and self.cfg.output.firm_years:
                self.firm_years.append(
                    {
                        "firm_id": ids.copy(),
                        "year": np.full(pop.n, self.year_of(step), dtype=np.int16),
                        "age_years": age.astype(np.float32),
                        "employees": pop["employees"].astype(np.float32),
                        "revenue": pop["revenue"].astype(np.float32),
                        "valuation": pop["valuation"].astype(np.float32),
                        "stage": pop["stage"].copy(),
                    }
                )
        self.market.fund_cycle(step)
        self.market.drift_prefs()

    def phase_ageing(self) -> None:
        firm_rules.get_older(self.population, self.cfg.ecosystem.firms)

    def phase_record(self) -> None:
        step = self.current_step
        if step < 0:
            return
        pop = self.population
        stage = pop["stage"]
        counts = np.bincount(stage, minlength=3) if pop.n else np.zeros(3, dtype=int)
        flows = self.market.flows
        row = {
            "step": step,
            "year": self.year_of(step),
            "month": step % 12 + 1,
            "firms": pop.n,
            "startups": int(counts[STARTUP]),
            "gazelles": int(counts[GAZELLE]),
            "unicorns": int(counts[UNICORN]),
        }
        c = self.counts
        row.update({k: int(c[k]) for k in ("births", "births_independent", "births_spinoff", "births_alumni", "deaths",
                                            "exits_ipo", "exits_acquired", "aged_out", "new_gazelles", "new_unicorns")})
        row.update(
            {
                "angel_invested": flows["angel"],
                "vc_invested": flows["vc"],
                "guidance_invested": flows["guidance_fund"],
                "bank_lending": flows["bank"],
                "public_spending": c["public_spending"],
                "employees": float(pop["employees"].sum()),
                "revenue": float(pop["revenue"].sum()),
                "active_tracks": int(self.tracks.active.sum()),
                **self.track_counts(),
                "breakthroughs": int(c["breakthroughs"]),
            }
        )
        self.timeseries.append(row)

    def track_counts(self) -> dict[str, int]:
        """Active main and new tracks per direction, and tracks per lifecycle state."""
        tr = self.tracks
        n = tr.n
        act = tr.active
        level_main = np.array([lv == "main" for lv in tr.level[:n]], dtype=bool)
        d = tr.directions()
        out = {}
        main = np.bincount(d[act & level_main], minlength=len(DIRECTIONS))
        new = np.bincount(d[act & ~level_main], minlength=len(DIRECTIONS))
        for i, name in enumerate(DIRECTIONS):
            out[f"main_tracks_{DIRECTION_EN[name]}"] = int(main[i])
            out[f"new_tracks_{DIRECTION_EN[name]}"] = int(new[i])
        states = np.bincount(tr.i["state"][:n], minlength=len(LIFECYCLE))
        for i, name in enumerate(LIFECYCLE):
            out[f"tracks_{name}"] = int(states[i])
        return out

    # ------------------------------------------------------------------ checks
    def cash_identity(self) -> tuple[float, float]:
        """(cash held by live and ended firms, cash that flowed in and out). Equal up to rounding."""
        led = self.ledger
        held = float(self.population["cash"].sum()) + led["ended_cash"]
        flowed = led["founder_cash"] + led["equity_in"] + led["loans_in"] + led["grants_in"] + led["operating"] - led["debt_service"]
        flowed -= led["public_repayments"]  # royalties firms pay back to the government (sim.policies.firms)
        return held, flowed


__all__ = ["EcosystemModel", "PHASES"]

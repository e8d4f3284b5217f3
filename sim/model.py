"""The ecosystem model: a Mesa model whose monthly step runs a fixed list of phases.

The order of phases is written once, as data (:data:`PHASES`): each phase is one or more
methods of the objects that own the state they change, bound when the model is built, and
every phase is timed (``model.phase_seconds``). This module builds the model and orders the
phases; the rules live with their owners:

* firms (columnar population, rules, founding, Mesa view): :mod:`agents.firms`;
* investors and the capital market (rounds, lending, exits, fund cycle): :mod:`agents.investors`;
* large incumbent firms (acquisitions, corporate venture funds, procurement, alumni founders):
  :mod:`agents.incumbents`; supply contracts: :mod:`agents.contracts`;
* research institutes: :mod:`agents.institutes`; the government and its policies:
  :mod:`agents.government`, :mod:`sim.policies`;
* tracks (registry, dynamics, attention): :mod:`sim.tracks`; stages: :mod:`sim.stages`;
  levers: :mod:`sim.levers`; what is recorded: :mod:`sim.recorder`.

Large firm populations live in columnar arrays (:class:`agents.firms.population.FirmPopulation`)
updated by vectorised rules; investors, incumbent firms, research institutes and the government are
Mesa agents;
any firm can be looked at as a Mesa agent through :meth:`EcosystemModel.firm`, and every firm that
becomes a unicorn is registered as one.

Time: ``current_step`` counts months; step 0 is January of ``ecosystem.start_year``. The
model starts ``ecosystem.warmup_years`` before that (negative steps) so that the observed
window opens on a population with a realistic age structure; only steps >= 0 are recorded
in the time series and the firm-year panel.

Randomness: one root seed (``cfg.seed``) split into named streams (:mod:`sim.core.rng`).
Firm-level draws are keyed by each firm's birth key, and the number of births in a step is an
inverse-CDF draw of one keyed uniform, so a policy that adds founders appends firms without
changing any other firm's luck. Mesa's own ``model.random`` and ``model.rng`` are seeded but not
used by the rules: draw from ``model.streams`` (a named stream) or ``model.draws`` (keyed), never
from ``model.rng``, or the common random numbers are lost.
"""

from __future__ import annotations

import math
import time
from operator import attrgetter

import mesa

from agents.contracts import ContractBook
from agents.firms.founding import Founding
from agents.firms.population import FirmPopulation
from agents.firms.rules import Firms
from agents.firms.view import Firm
from agents.government import Government
from agents.incumbents import Incumbents
from agents.institutes import Institutes
from agents.investors.market import CapitalMarket
from sim.config import Config, validate
from sim.core import kernels
from sim.core.clock import MONTHS, year_of
from sim.core.ledger import CashLedger
from sim.core.rng import KeyedDraws, Streams
from sim.levers import Levers
from sim.recorder import Recorder
from sim.stages import Stages
from sim.tracks.dynamics import TrackDynamics
from sim.tracks.registry import TrackRegistry, load_track_needs, load_track_system

#: The phases of one monthly step, in order: (name, methods). Each method is ``owner.method``
#: of an attribute of the model, called with no argument; the phase's time is the sum of its
#: methods'. Edit here, nowhere else.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("policies", ("government.step",)),
    ("tracks", ("track_dynamics.step",)),
    ("institutes", ("institutes.step",)),
    ("births", ("founding.step",)),
    ("operations", ("firms.step", "incumbents.procure", "contracts.step", "market.lending.service")),
    ("financing", ("market.rounds.step", "market.lending.step")),
    ("exits", ("market.exits.step",)),
    ("deaths", ("firms.end_step",)),
    ("stages", ("stages.step",)),
    ("year_end", ("firms.year_end", "stages.year_end", "government.year_end", "recorder.year_end",
                  "incumbents.year_end", "market.funds.year_end", "institutes.year_end")),
    ("record", ("recorder.step",)),
    ("ageing", ("firms.ageing",)),
)

#: Seed money (angels) is asked for less with every year of a firm's age, about as exp(-age / this):
#: in the default run 24 % of the angels' money goes to firms in their first year, 49 % in their first two.
SEED_AGE_YEARS = 2.5
#: Ages over which a park's firms ask for outside money (venture rounds, supply contracts, the
#: capacity of their markets): the young-firm population of ten years. A preset that keeps older
#: firms (``firms.graduation_age_years`` above it) still has its full demand once the park is this old.
DEMAND_AGE_SPAN_YEARS = 10.0

#: The month's event counters (reset at the start of every step).
COUNTERS = (
    "births",
    "births_independent",
    "births_spinoff",
    "births_alumni",
    "deaths",
    "exits_ipo",
    "exits_acquired",
    "exits_distressed",
    "acquisitions_by_incumbents",
    "aged_out",
    "new_gazelles",
    "new_unicorns",
    "public_spending",
    "breakthroughs",
    "breakthroughs_basic",
    "licences",
    "tracks_opened",
    "rd_spending",
    "rd_breakthroughs",
    "new_high_tech",
)


class EcosystemModel(mesa.Model):
    """An innovation ecosystem: firms, investors, institutes and a government over tracks.

    Build it from a validated configuration and the run's policy objects; the run entry point
    (:func:`sim.run.build_model`) builds the policies of a configuration and checks memory."""

    def __init__(self, cfg: Config, policies=()):
        cfg = validate(cfg)
        kernels.warm_up()  # the compiled loops: loaded from numba's cache, or compiled once (and said so)
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        eco = cfg.ecosystem
        self.scale = cfg.scale
        self.start_year = eco.start_year
        self.warmup_steps = eco.warmup_years * MONTHS
        self.current_step = -self.warmup_steps
        self.end_step = cfg.years * MONTHS
        self.streams = Streams(cfg.seed)
        self.draws: dict[str, KeyedDraws] = {
            name: self.streams.keyed(name) for name in ("founding", "firms", "finance", "births")
        }
        self.phase_seconds = {name: 0.0 for name, _ in PHASES}  # wall-clock time of each phase
        self.phase_cpu_seconds = {name: 0.0 for name, _ in PHASES}  # CPU time of this process in each phase
        self.ledger = CashLedger()
        self.counts = dict.fromkeys(COUNTERS, 0.0)
        self._firm_agents: dict[int, Firm] = {}
        self.firm_steps = 0  # sum over steps of live firms (for throughput figures)
        self.firm_steps_observed = 0  # the same over the observed steps (>= 0) only

        # the environment: tracks and the levers policies move
        mature = eco.tracks.mature_maturity

        def initial_state(spec) -> str:  # listed tracks are recognised: at least emerging
            return "mature" if spec.maturity >= mature else "formed" if spec.maturity >= 0.3 else "emerging"

        self.tracks = TrackRegistry.from_specs(
            load_track_system(eco.tracks.system), step=self.current_step, initial_state=initial_state
        )
        self.track_dynamics = TrackDynamics(self, load_track_needs(eco.tracks.system))
        self.levers = Levers(self.tracks)

        # firms
        # room for the live firms (about six years of births) and for every firm of the run, so the
        # columns rarely have to grow (each growth copies them)
        per_year = eco.firms.births_per_year * self.scale
        months = self.warmup_steps + self.end_step
        ever = per_year * sum((1.0 + eco.firms.births_growth) ** (m / 12.0) for m in range(0, months, 12))
        self.population = FirmPopulation(capacity=int(min(max(7 * per_year, 1024), 5e7)),
                                         record_capacity=int(min(max(1.05 * ever, 1024), 2e8)))
        self.firms = Firms(self)
        self.founding = Founding(self)
        self.stages = Stages(self)
        self.recorder = Recorder(self)

        # investors, incumbent firms, institutes, government (Mesa agents, created in this order)
        self.market = CapitalMarket(self)
        self.market.create_investors()
        self.contracts = ContractBook(self)
        self.incumbents = Incumbents(self)
        self.incumbents.create()
        self.institutes = Institutes(self)
        self.government = Government(
            self, "government", budget_per_year=eco.government.budget_mcny_per_year * self.scale, policies=policies
        )
        self.government.setup()
        self._phases = tuple((name, tuple(attrgetter(path)(self) for path in paths)) for name, paths in PHASES)
        self.running = True

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One month: every phase of :data:`PHASES` in order."""
        for k in self.counts:
            self.counts[k] = 0.0
        self.market.new_month()
        self.firm_steps += self.population.n
        if self.current_step >= 0:
            self.firm_steps_observed += self.population.n
        for name, methods in self._phases:
            t0 = time.perf_counter()
            c0 = time.process_time()
            for method in methods:
                method()
            self.phase_cpu_seconds[name] += time.process_time() - c0
            self.phase_seconds[name] += time.perf_counter() - t0
        self.current_step += 1
        if self.current_step >= self.end_step:
            self.running = False

    def warm_up(self) -> None:
        """Step through the warm-up (the months before step 0): the history before any policy acts."""
        while self.current_step < 0:
            self.step()

    def run(self, progress=None) -> None:
        """Step until the end of the observed window; ``progress(done, total)`` is called each step."""
        total = self.end_step + self.warmup_steps
        while self.current_step < self.end_step:
            self.step()
            if progress is not None:
                progress(self.current_step + self.warmup_steps, total)
        self.finish()

    def finish(self) -> None:
        """After the last step: policies finish, open lots are marked, records are final."""
        self.government.finish()
        self.market.close_books()
        self.population.snapshot_records()

    # ------------------------------------------------------------------ views
    def supply_share(self, step: int, demand: str = "even", lead_years: float = 0.5) -> float:
        """Share of a full park's demand for some outside money that is present at ``step``
        (``ecosystem.warmup_ramp``; 1 without it, and once the model has run for ``G`` years, the
        graduation age or :data:`DEMAND_AGE_SPAN_YEARS` if that is shorter).

        The park starts empty: ``t`` years after the model started (plus ``lead_years``, how long
        after ``step`` the money is spent on average) its firms are at most ``t`` years old. Of a
        full park's demand, firms under ``t`` make:

        * ``even``, money asked for at every age alike (venture rounds): ``t / G``;
        * ``revenue``, what goes with the firms' revenue, which grows with age (their markets,
          their suppliers' contracts): ``(t / G) ** 2``;
        * ``seed``, money for the youngest firms (angels), asked for less with every year of age,
          about as ``exp(-age / 2.5 years)``: ``(1 - exp(-t / 2.5)) / (1 - exp(-G / 2.5))``.
        """
        eco = self.cfg.ecosystem
        span = min(eco.firms.graduation_age_years, DEMAND_AGE_SPAN_YEARS)
        t = (step + self.warmup_steps) / MONTHS + lead_years
        if not eco.warmup_ramp or t >= span:
            return 1.0
        t = max(t, 0.0)
        if demand == "even":
            return t / span
        if demand == "revenue":
            return (t / span) ** 2
        if demand == "seed":
            return math.expm1(-t / SEED_AGE_YEARS) / math.expm1(-span / SEED_AGE_YEARS)
        raise ValueError(f"unknown demand profile {demand!r}; allowed: even, revenue, seed")

    def year_of(self, step: int) -> int:
        """Calendar year of ``step``."""
        return year_of(self.start_year, step)

    def firm(self, firm_id: int) -> Firm:
        """The Mesa agent of a firm (created and registered on first access)."""
        if not 0 <= firm_id < self.population.n_ever:
            raise KeyError(f"no firm with id {firm_id}; ids run from 0 to {self.population.n_ever - 1}")
        agent = self._firm_agents.get(firm_id)
        if agent is None:
            agent = Firm(self, firm_id)
            self._firm_agents[firm_id] = agent
        return agent

    def cash_identity(self) -> tuple[float, float]:
        """(cash held by live and ended firms, cash that flowed in and out). Equal up to rounding."""
        held = float(self.population["cash"].sum()) + self.ledger.ended_cash
        return held, self.ledger.net_inflow()


__all__ = ["EcosystemModel", "PHASES"]

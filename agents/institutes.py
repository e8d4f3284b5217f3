"""Research institutes and universities: research, knowledge, breakthroughs and technology transfer.

Each institute (:class:`ResearchInstitute`, a Mesa agent) has a yearly research budget ``B`` and
``R`` researchers (``ecosystem.institutes``; the preset's institutes at the model's scale), split
between basic and applied research (``basic_share``), plus what public programmes pay it this
month (:meth:`Institutes.fund`, e.g. the ``basic_research`` policy). :class:`Institutes` keeps the
state of all institutes as small matrices, institutes x tracks, and runs their month (the
``institutes`` phase). Money in million CNY (mcny); knowledge in *effort-years*: one effort-year
is a year of research by an institute with 1,000 mcny and 1,000 researchers.

**Research effort.** An institute spreads its budget and researchers over the active tracks in
proportion to their research intensity squared (``w_t``; 科技 tracks get most). Money ``X``
(mcny/yr) and researchers ``R`` combine with constant returns, ``E = sqrt(X/1000 * R/1000)``
(effort-years a year); public money hires researchers at the institute's own cost per
researcher, so effort grows in proportion to the money.

**Knowledge** per institute and track is a perpetual inventory that grows with effort and
decays (``knowledge_decay`` delta, obsolescence)::

    K <- K exp(-delta dt) + (E_basic + E_applied) dt + J N_basic

**Breakthroughs** are drawn from the stock, each month and cell ``N_x ~ Poisson(theta delta K
E_x/E dt)`` for ``x`` = basic, applied (``theta`` = ``breakthroughs_per_year``; the kind follows
what the researchers do in the track now; seed 003:327-329 "原创性、颠覆性技术和前沿技术突破成为
赛道涌现的核心驱动力"). A *basic* breakthrough adds ``J`` (``basic_knowledge_jump``) to the
track's knowledge and may open a latent child track (``TrackDynamics.open_from_breakthrough`` with
``TrackDynamics.open_probability``, :mod:`sim.tracks.dynamics`), where the institute then holds
``J`` of knowledge; an *applied* breakthrough raises the track's market
growth by ``breakthrough_boost``, decaying over ``boost_decay_years``.

**Scale.** The tracks are national markets, and a park sampled at ``scale`` < 1 has ``scale`` of
the park's institutes. The tracks' market growth follows the full park's applied breakthroughs:
each cell draws them at ``1/min(scale, 1)`` times its own rate, each raising its track's growth by
the unscaled ``breakthrough_boost`` (from the same uniform as the cell's own count, which is never
larger), so a sampled park's tracks grow from research as the full park's do, in mean *and* in
variance. (Scaling up the sample's own breakthroughs instead, ``1/scale`` times the boost each,
keeps the mean but multiplies the variance by ``1/scale``; firm growth is convex in its track's
growth, so that made the firms of a small sample larger: 17 % more revenue and 25 % more R&D per
firm with taxable profit at scale 0.05 than at 0.2.) The time series and the institutes' books
count the park's own breakthroughs. Track openings: ``TrackDynamics.open_probability``.

**Technology transfer** (M13 triple helix; seed 004:838-846, the Stanford licensing office;
brokers and transfer institutions, seed 004:527-531). Researchers with results choose between
transferring them and keeping their outside option (the academic career). In the small-probability
limit of that logit decision the transfer rates move with the *transfer regime* as::

    Phi_spinoff = exp(beta_e (e - e0) + beta_r (r - r0)) * ((1 + b) / (1 + b0)) ** eps_b
    Phi_licence = exp(beta_e (e - e0))                    * ((1 + b) / (1 + b0)) ** eps_b

with ``e`` the researchers' equity share in their results, ``r`` the share of rank and honours
they keep when they found a firm (seed 001:31: today they lose them), ``b`` technology brokers per
1,000 researchers, each the preset's value (``e0, r0, b0``) plus the levers ``equity_share``,
``rank_retention``, ``transfer_brokers``; ``beta_e`` (``equity_response``), ``beta_r``
(``rank_response``) and ``eps_b`` (``broker_elasticity``) are the responses.

* *Licences*: ``Poisson(pi_L Phi_licence delta K dt)`` per cell (``pi_L`` = ``licences_per_year``).
  A licence is signed with a firm of the track that has at least ``licence_min_employees`` and
  cash for the fee, met among the transfer offices' contacts this month (a random sample of
  :data:`CONTACTS` of the park's firms, or all of them); the fee ``licence_fee_mcny`` moves from
  the firm's cash to the institute (cash ledger ``licence_fees``), and the licensee's latent
  quality rises by ``licence_quality_lift``. A licence with no licensee among the contacts lapses.
* *Spin-offs*: researchers found firms at the yearly rate ``pi_S Phi_spinoff delta K`` per cell
  (:meth:`Institutes.spinoff_rates`; the births phase draws them, :mod:`agents.firms.founding`,
  and credits each to an institute in proportion to its rate in the firm's track). ``pi_S`` is set
  when the model is built so that, with knowledge at its steady state under the preset's regime,
  spin-offs are ``ecosystem.firms.spinoff_share`` of the preset's births.

**No drift in a frozen warm-up.** Knowledge starts at its steady state under the preset's budgets
(including the expected jumps) and the tracks' boosts at their stationary level; boosts decay
every month, warm-up included. Spin-offs, breakthroughs and boosts are therefore stationary until
something (a policy, new tracks) changes the research.

**Absorptive capacity.** :meth:`Institutes.knowledge_by_track` is the knowledge the park's
institutes hold in each track: what firms' own R&D can draw on.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from numba import njit

from agents.firms.founding import poisson_quantiles
from agents.firms.rules import saturated_quality
from sim.config import scaled_count
from sim.core import kernels as K
from sim.core.clock import DT, is_year_end, year_of

__all__ = ["ResearchInstitute", "Institutes", "effort", "poisson_from_uniform", "CONTACTS", "ACCOUNTS"]

#: Firms a month that the transfer offices meet when they look for licensees (a random sample).
CONTACTS = 4096
#: What each institute books per year (institutes.parquet).
ACCOUNTS = ("budget", "public_funding", "basic_spending", "applied_spending", "researchers", "breakthroughs_basic",
            "breakthroughs_applied", "licences", "licence_income", "spinoffs")

# slots of the keyed "institutes" stream
_SLOT_BASIC, _SLOT_APPLIED, _SLOT_LICENCES, _SLOT_CONTACTS, _SLOT_CREDIT, _SLOT_OPEN = 0, 1, 2, 3, 4, 8
_MAX_OPEN_DRAWS = 200  # basic breakthroughs of one cell in one month that may each open a track


def effort(money: np.ndarray, researchers: np.ndarray) -> np.ndarray:
    """Research effort (effort-years a year) of ``money`` (mcny/yr) and ``researchers``."""
    return np.sqrt(np.maximum(money, 0.0) * np.maximum(researchers, 0.0)) / 1000.0


@njit(cache=True)
def first_occurrences(rows, n):
    """The distinct values of ``rows`` (integers in [0, n)) in the order of their first occurrence."""
    seen = np.zeros(n, dtype=np.bool_)
    out = np.empty(rows.size, dtype=np.int64)
    k = 0
    for r in rows:
        if not seen[r]:
            seen[r] = True
            out[k] = r
            k += 1
    return out[:k]


K.register("first_occurrences", first_occurrences, lambda: (np.array([2, 0, 2, 1], np.int64), 3))


def poisson_from_uniform(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts by inversion of the uniforms ``u`` (mostly zero for the small means here):
    a larger mean never gives fewer events for the same ``u`` (common random numbers)."""
    n = np.zeros(np.shape(u), dtype=np.int64)
    hit = u > np.exp(-mean)
    if hit.any():
        n[hit] = poisson_quantiles(u[hit], mean[hit]).astype(np.int64)
    return n


class ResearchInstitute(mesa.Agent):
    """A research institute or university: its budget, researchers and the split between basic
    and applied research. Its knowledge and yearly figures are rows of :class:`Institutes`."""

    kind = "institute"

    def __init__(self, model, name: str, *, index: int, budget: float, researchers: float, basic_share: float,
                 cost_per_researcher: float):
        super().__init__(model)
        self.name = name
        self.index = index  # row in the institutes' matrices
        self.budget = budget  # own research budget, mcny/yr
        self.researchers = researchers
        self.basic_share = basic_share
        self._cost = cost_per_researcher  # what public money pays per researcher, mcny/yr

    def own_spending(self) -> tuple[float, float]:
        """Yearly basic and applied research spending from the institute's own budget (mcny/yr)."""
        return self.budget * self.basic_share, self.budget * (1.0 - self.basic_share)

    def own_researchers(self) -> tuple[float, float]:
        """Researchers in basic and applied research."""
        return self.researchers * self.basic_share, self.researchers * (1.0 - self.basic_share)

    def hires(self, money):
        """Researchers that ``money`` (mcny/yr) pays for at the institute's cost per researcher."""
        return money / self._cost if self._cost > 0 else money * 0.0

    @property
    def knowledge(self) -> np.ndarray:
        """Knowledge per track (effort-years)."""
        return self.model.institutes.knowledge[self.index]


class Institutes:
    """The research institutes of one model and their month (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.cfg = model.cfg.ecosystem.institutes
        icfg = self.cfg
        n = scaled_count(icfg.count, model.scale)
        share = icfg.count * model.scale / n if n else 0.0
        cost = icfg.budget_mcny / icfg.researchers if icfg.budget_mcny > 0 and icfg.researchers > 0 else 0.0
        self.agents: list[ResearchInstitute] = [
            ResearchInstitute(model, f"institute {i}", index=i, budget=icfg.budget_mcny * share,
                              researchers=icfg.researchers * share, basic_share=icfg.basic_share,
                              cost_per_researcher=cost)
            for i in range(n)
        ]
        self.draws = model.streams.keyed("institutes")
        tr = model.tracks
        self.knowledge = np.zeros((n, tr.n))
        self._grant = {"basic": np.zeros((n, tr.n)), "applied": np.zeros((n, tr.n))}  # this month, mcny
        self.spinoff_matrix = np.zeros((n, tr.n))  # researchers' founding rate per cell, firms/yr
        self.licensees: list[np.ndarray] = []  # firm ids of every licence signed
        self.year_rows: list[dict] = []  # institutes.parquet
        self._acc = {k: np.zeros(n) for k in ACCOUNTS}
        self._set_steady_state()

    def __len__(self) -> int:
        return len(self.agents)

    def __iter__(self):
        return iter(self.agents)

    # ------------------------------------------------------------------ research
    def allocation(self) -> np.ndarray:
        """Share of every institute's research in each track: active tracks by research
        intensity squared."""
        tr = self.model.tracks
        w = np.where(tr["active"], tr["tech_intensity"] ** 2, 0.0)
        total = w.sum()
        return w / total if total > 0 else w

    def efforts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(basic effort, applied effort, basic money, applied money) per cell this month, the
        money in mcny/yr: own budgets spread by :meth:`allocation` plus this month's public funding."""
        w = self.allocation()
        eff, money = [], []
        for kind, part in (("basic", 0), ("applied", 1)):
            spend = np.array([a.own_spending()[part] for a in self.agents])[:, None] * w
            staff = np.array([a.own_researchers()[part] for a in self.agents])[:, None] * w
            grant = 12.0 * self._grant[kind]
            hired = np.array([a.hires(grant[a.index]) for a in self.agents]).reshape(grant.shape)
            eff.append(effort(spend + grant, staff + hired))
            money.append(spend + grant)
        return eff[0], eff[1], money[0], money[1]

    def boost_per_breakthrough(self) -> float:
        """Market growth (1/yr) an applied breakthrough adds to its track (``breakthrough_boost``,
        not scaled: the boosts come from the full park's breakthroughs, :meth:`national_factor`)."""
        return self.cfg.breakthrough_boost

    def national_factor(self) -> float:
        """The full park's applied breakthroughs per breakthrough of this sample's institutes,
        ``1 / min(scale, 1)`` (module docstring, *Scale*)."""
        return 1.0 / max(min(self.model.scale, 1.0), 1e-9)

    def _set_steady_state(self) -> None:
        """Knowledge at its steady state under the preset's budgets, and the tracks' boosts at the
        stationary level of the applied breakthroughs that knowledge brings."""
        if not self.agents:
            self._pi_spinoff = 0.0
            return
        icfg = self.cfg
        eb, ea, _, _ = self.efforts()
        e = eb + ea
        share_b = np.divide(eb, e, out=np.zeros_like(e), where=e > 0)
        keep = math.exp(-icfg.knowledge_decay * DT)
        feedback = icfg.breakthroughs_per_year * icfg.knowledge_decay * icfg.basic_knowledge_jump * share_b * DT
        self.knowledge = e * DT / (1.0 - keep - feedback)
        applied = icfg.breakthroughs_per_year * icfg.knowledge_decay * self.knowledge * (1.0 - share_b)
        fade = math.exp(-DT / icfg.boost_decay_years)
        self.model.tracks["boost"][:] = (self.boost_per_breakthrough() * self.national_factor() * applied.sum(axis=0)
                                         * DT / (1.0 - fade))
        fcfg = self.model.cfg.ecosystem.firms
        renewal = icfg.knowledge_decay * self.knowledge.sum()
        target = fcfg.spinoff_share * fcfg.births_per_year * self.model.scale
        self._pi_spinoff = target / renewal if renewal > 0 else 0.0

    def _sync_tracks(self) -> None:
        """New tracks get a column; the knowledge of a track merged into another moves with it."""
        tr = self.model.tracks
        extra = tr.n - self.knowledge.shape[1]
        if extra > 0:
            pad = np.zeros((len(self.agents), extra))
            self.knowledge = np.hstack([self.knowledge, pad])
            self.spinoff_matrix = np.hstack([self.spinoff_matrix, pad])
            for kind in self._grant:
                self._grant[kind] = np.hstack([self._grant[kind], pad])
        ended = np.flatnonzero(~tr["active"] & (tr["merged_into"] >= 0) & (self.knowledge.sum(axis=0) > 0))
        for t in ended:
            self.knowledge[:, tr["merged_into"][t]] += self.knowledge[:, t]
            self.knowledge[:, t] = 0.0

    def fundable(self, tracks: np.ndarray | None = None) -> bool:
        """Whether public research money can be placed (in ``tracks``, a mask over tracks)."""
        self._sync_tracks()
        w = self.allocation() if tracks is None else self.allocation() * tracks[: self.model.tracks.n]
        return bool(self.agents) and w.sum() > 0

    def fund(self, amount: float, kind: str, tracks: np.ndarray | None = None) -> None:
        """Public money (mcny, this month) for ``kind`` (basic or applied) research, spread over
        the institutes by their budgets and over ``tracks`` (a mask; default all) by the
        institutes' allocation. Check :meth:`fundable` before spending it."""
        self._sync_tracks()
        w = self.allocation()
        if tracks is not None:
            w = w * tracks[: w.size]
        budgets = np.array([a.budget for a in self.agents])
        cells = np.outer(budgets if budgets.sum() > 0 else np.ones(len(self.agents)), w)
        if amount <= 0 or cells.sum() <= 0:
            return
        self._grant[kind] += amount * cells / cells.sum()

    def knowledge_by_track(self) -> np.ndarray:
        """Knowledge the park's institutes hold in each track (effort-years)."""
        self._sync_tracks()
        return self.knowledge.sum(axis=0)

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """The institutes phase: research, breakthroughs, licences; the spin-off rates for the
        births phase."""
        m = self.model
        self._sync_tracks()
        decay_boosts(m.tracks, self.cfg.boost_decay_years)
        if not self.agents:
            self.spinoff_matrix[:] = 0.0
            return
        icfg = self.cfg
        eb, ea, mb, ma = self.efforts()
        e = eb + ea
        share_b = np.divide(eb, e, out=np.zeros_like(e), where=e > 0)
        renewal = icfg.knowledge_decay * self.knowledge
        rate = icfg.breakthroughs_per_year * renewal * (e > 0)
        keys = self._cell_keys()
        step = m.current_step
        n_basic = poisson_from_uniform(self.draws.uniform(keys, step, _SLOT_BASIC).reshape(e.shape),
                                       rate * share_b * DT)
        u_applied = self.draws.uniform(keys, step, _SLOT_APPLIED).reshape(e.shape)
        n_applied = poisson_from_uniform(u_applied, rate * (1.0 - share_b) * DT)
        # the tracks' growth follows the full park's applied breakthroughs (module docstring, *Scale*)
        n_national = poisson_from_uniform(u_applied, rate * (1.0 - share_b) * DT * self.national_factor())
        self.knowledge *= math.exp(-icfg.knowledge_decay * DT)
        self.knowledge += e * DT + icfg.basic_knowledge_jump * n_basic
        m.tracks["boost"][: e.shape[1]] += self.boost_per_breakthrough() * n_national.sum(axis=0)
        self._open_tracks(n_basic, keys)
        spin, lic = self.transfer_regime()
        n_lic = poisson_from_uniform(self.draws.uniform(keys, step, _SLOT_LICENCES).reshape(e.shape),
                                     icfg.licences_per_year * lic * renewal * DT)
        self.spinoff_matrix = self._pi_spinoff * spin * renewal
        self._sign_licences(n_lic)
        self._book(mb, ma, n_basic, n_applied)
        m.counts["breakthroughs"] += int(n_basic.sum() + n_applied.sum())
        m.counts["breakthroughs_basic"] += int(n_basic.sum())
        for kind in self._grant:
            self._grant[kind][:] = 0.0

    def _cell_keys(self) -> np.ndarray:
        n, t = self.knowledge.shape
        return ((np.arange(n, dtype=np.uint64)[:, None] << np.uint64(24))
                | np.arange(t, dtype=np.uint64)[None, :]).ravel()

    def _open_tracks(self, n_basic: np.ndarray, keys: np.ndarray) -> None:
        """Each basic breakthrough may open a latent child track (not in a frozen warm-up)."""
        m = self.model
        dyn = m.track_dynamics
        if not dyn.structural_changes_allowed(m.current_step):
            return
        cells = np.flatnonzero(n_basic.ravel())
        t_count = n_basic.shape[1]
        for c in cells:
            inst, t = divmod(int(c), t_count)
            for j in range(min(int(n_basic.ravel()[c]), _MAX_OPEN_DRAWS)):
                u = self.draws.uniform(keys[c: c + 1], m.current_step, _SLOT_OPEN + j)[0]
                if u < dyn.open_probability(t):
                    child = dyn.open_from_breakthrough(t, m.current_step)
                    if child is not None:
                        self._sync_tracks()
                        self.knowledge[inst, child] += self.cfg.basic_knowledge_jump

    def transfer_regime(self) -> tuple[float, float]:
        """The factors by which spin-offs and licences differ from the preset's transfer regime
        (see the module docstring)."""
        icfg = self.cfg
        levers = self.model.levers
        e = min(max(icfg.equity_share + levers.value("equity_share"), 0.0), 1.0)
        r = min(max(icfg.rank_retention + levers.value("rank_retention"), 0.0), 1.0)
        b = max(icfg.brokers_per_1000_researchers + levers.value("transfer_brokers"), 0.0)
        brokers = ((1.0 + b) / (1.0 + icfg.brokers_per_1000_researchers)) ** icfg.broker_elasticity
        equity = math.exp(icfg.equity_response * (e - icfg.equity_share))
        rank = math.exp(icfg.rank_response * (r - icfg.rank_retention))
        return equity * rank * brokers, equity * brokers

    def spinoff_rates(self) -> np.ndarray:
        """Researchers' founding rate into each track (firms/yr), summed over institutes (tracks
        opened since the rates were set have none yet)."""
        rates = self.spinoff_matrix.sum(axis=0)
        n = self.model.tracks.n
        return np.concatenate([rates, np.zeros(n - rates.size)]) if rates.size < n else rates

    # ------------------------------------------------------------------ transfer
    def _sign_licences(self, counts: np.ndarray) -> None:
        """Sign this month's licences with firms of their tracks met among the contacts."""
        m = self.model
        pop = m.population
        inst, trk = np.nonzero(counts)
        if inst.size == 0 or pop.n == 0:
            return
        reps = counts[inst, trk]
        inst, trk = np.repeat(inst, reps), np.repeat(trk, reps)
        icfg = self.cfg
        size = min(pop.n, max(CONTACTS, 64 * inst.size))
        u = self.draws.uniform(np.arange(size, dtype=np.uint64), m.current_step, _SLOT_CONTACTS)
        rows = np.minimum((u * pop.n).astype(np.int64), pop.n - 1)
        rows = first_occurrences(rows, pop.n)
        able = (pop["cash"][rows] >= icfg.licence_fee_mcny) & (pop["employees"][rows] >= icfg.licence_min_employees)
        rows = rows[able]
        firm_track = pop["track"][rows]
        signed_rows, signed_inst = [], []
        for t in np.unique(trk):
            wanted = np.flatnonzero(trk == t)
            found = rows[firm_track == t][: wanted.size]
            signed_rows.append(found)
            signed_inst.append(inst[wanted[: found.size]])
        self.license(np.concatenate(signed_rows), np.concatenate(signed_inst), icfg.licence_fee_mcny)

    def license(self, rows: np.ndarray, by: np.ndarray | None = None, fee: float = 0.0) -> None:
        """Licences to the firms at live ``rows`` (unique) from the institutes ``by`` (indices; None:
        results of joint research, credited to no institute): each firm pays ``fee`` from its cash
        (cash ledger ``licence_fees``) and its latent quality rises by ``licence_quality_lift``."""
        if rows.size == 0:
            return
        m = self.model
        pop = m.population
        if fee > 0:
            pop["cash"][rows] -= fee
            m.ledger.licence_fees += fee * rows.size
        q = pop["quality"]
        q[rows] += self.cfg.licence_quality_lift
        pop["ip"][rows] += 1  # a licensed result is IP the firm holds (high-tech certification)
        pop["qsat"][rows] = saturated_quality(q[rows])
        self.licensees.append(pop["id"][rows].copy())
        m.counts["licences"] += rows.size
        if by is not None:
            np.add.at(self._acc["licences"], by, 1.0)
            np.add.at(self._acc["licence_income"], by, fee)

    def credit_spinoffs(self, keys: np.ndarray, tracks: np.ndarray) -> None:
        """Credit new spin-offs (birth ``keys``, founded into ``tracks``) to the institutes, each
        in proportion to the institutes' founding rates in its track."""
        if keys.size == 0 or not self.agents:
            return
        tracks = np.minimum(tracks, self.spinoff_matrix.shape[1] - 1)  # always founded where the rates are
        cum = np.cumsum(self.spinoff_matrix[:, tracks], axis=0)
        u = self.draws.uniform(keys, self.model.current_step, _SLOT_CREDIT)
        who = np.minimum((u[None, :] * cum[-1][None, :] > cum).sum(axis=0), len(self.agents) - 1)
        np.add.at(self._acc["spinoffs"], who, 1.0)

    def licences_of(self, n_firms: int) -> np.ndarray:
        """Licences taken by each firm id below ``n_firms``."""
        ids = np.concatenate(self.licensees) if self.licensees else np.empty(0, dtype=np.int64)
        return np.bincount(ids, minlength=n_firms)[:n_firms]

    # ------------------------------------------------------------------ accounts
    def _book(self, money_basic, money_applied, n_basic, n_applied) -> None:
        acc = self._acc
        grants = self._grant["basic"].sum(axis=1) + self._grant["applied"].sum(axis=1)
        acc["public_funding"] += grants
        acc["budget"] += np.array([a.budget for a in self.agents]) * DT + grants
        acc["basic_spending"] += money_basic.sum(axis=1) * DT
        acc["applied_spending"] += money_applied.sum(axis=1) * DT
        hired = np.array([a.hires(12.0 * grants[a.index]) for a in self.agents])
        acc["researchers"] += (np.array([a.researchers for a in self.agents]) + hired) * DT
        acc["breakthroughs_basic"] += n_basic.sum(axis=1)
        acc["breakthroughs_applied"] += n_applied.sum(axis=1)

    def year_end(self) -> None:
        """At each year end, one row per institute for the observed years; the accounts restart."""
        m = self.model
        step = m.current_step
        if not is_year_end(step):
            return
        if step >= 0:
            year = year_of(m.start_year, step)
            know = self.knowledge.sum(axis=1)
            for a in self.agents:
                row = {"institute_id": a.unique_id, "name": a.name, "year": year,
                       "knowledge": float(know[a.index])}
                row.update({k: float(self._acc[k][a.index]) for k in ACCOUNTS})
                self.year_rows.append(row)
        for v in self._acc.values():
            v[:] = 0.0


def decay_boosts(tracks, boost_decay_years: float) -> None:
    """One month of decay of the tracks' breakthrough boosts (every month, warm-up included)."""
    tracks["boost"] *= math.exp(-DT / boost_decay_years)

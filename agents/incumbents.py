"""Large incumbent firms (大企业, platform firms): acquirers, corporate venture funds, customers of
young firms, and the employers alumni founders come from.

The reports give them four roles: Alibaba as Hangzhou's "黄埔军校" (78 % of founders with a public
work history are 阿里系, and Alibaba-derived unicorns are half of Hangzhou's,
seeds/004_04d71fc19d7d077d.txt:1702-1708); Tencent investing in or incubating 50 unicorns
(:593-595); firms buying startups for their technology and products (seeds/002_a935e4fe392ee53f.txt:
2123-2125); and leading firms opening their supply and innovation chains to small firms
(seeds/001_52e3b34853073898.txt:41). Each :class:`Incumbent` is a Mesa agent with a headcount and a
revenue (growing at ``incumbents.growth``), a few *strategic tracks* (drawn by market and heat at the
start; tracks derived from them count too, and an incumbent enters a hot track at
``expansion_rate`` a year) and three yearly budgets, shares of its revenue:

* **acquisitions** (``acquisition_budget_share``): a venture-backed firm with traction (at least one
  equity round, ``exits.acquisition_min_employees``) is bought by an incumbent at the yearly hazard
  ``strategic_acquisition_rate`` per strategic incumbent with budget left in its track, at the usual
  acquisition price times ``exp(strategic_premium)``, if the buyer's budget still covers it
  (:meth:`Incumbents.strategic_targets`); a venture-backed firm out of cash is bought for its team
  with probability ``1 - exp(-distressed_interest * presence)`` (:meth:`Incumbents.distressed_buyers`;
  the price is set by the exits, :mod:`agents.investors.exits`);
* **corporate venture** (``cvc_budget_share``): a corporate venture fund (:class:`CorporateVC`, an
  evergreen VC fund of kind ``cvc`` whose track preferences are the parent's strategic tracks) that
  invests in rounds beside the VC funds;
* **procurement** (``procurement_share``): supply contracts with young firms in its strategic tracks
  (:mod:`agents.contracts`), chosen by a noisy view of their quality, signed at the pace that keeps
  the contracts running at the budget.

*Scale*: an agent stands for ``count / agents`` of the preset's incumbents: it holds their
strategic tracks (``home_tracks`` each) and their size times ``scale`` (``weight = count * scale /
agents``, like angels' budgets; their headcounts spread lognormally, ``size_sigma``, around a
total that is always the preset's, ``count * employees * scale``), so a small scale keeps the
tracks covered and the money per firm. The *presence* in a track is the sum over incumbents
strategic in it of the share of their year's acquisition budget left: it does not depend on the
scale.

*Alumni founders*: the alumni channel's share of births is ``firms.alumni_share`` times the
incumbents' headcount relative to their headcount at ``start_year`` (the calibration point: at
start_year the share is today's ``alumni_share``; no incumbents, no alumni founders). Each alumni
founder's former employer is drawn in proportion to headcount, and founds in the employer's
strategic tracks with ``1 + alumni_track_affinity`` times the usual weight
(:meth:`Incumbents.found_alumni`).

Money in million CNY.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents.contracts import INCUMBENT, choose_suppliers
from agents.firms.founding import choose_tracks
from agents.investors.books import VCFund
from sim.config import scaled_count
from sim.core.clock import DT, MONTHS, is_year_end
from sim.core.vocabulary import ALUMNI

__all__ = ["Incumbent", "CorporateVC", "Incumbents"]

# slots of the keyed "incumbents" stream
_SLOT_EMPLOYER, _SLOT_STRATEGIC, _SLOT_BUYER, _SLOT_DISTRESSED, _SLOT_PRICE, _SLOT_HARVEST = range(6)


class CorporateVC(VCFund):
    """An incumbent's corporate venture fund: evergreen (the parent commits money every January,
    it never winds down), investing in the parent's strategic tracks."""

    kind = "cvc"

    def __init__(self, model, name: str, *, parent: Incumbent, step: int, reserve_ratio: float):
        super().__init__(model, name, manager_id=-1, vintage_step=step, size=0.0, focus="early",
                         prefs=np.zeros(0), life_years=math.inf, investment_period_years=math.inf,
                         reserve_ratio=reserve_ratio)
        self.manager_id = None
        self.parent = parent

    def commit_year(self, amount: float) -> None:
        """The parent's yearly commitment."""
        self.commit(amount)
        self.size += amount

    def drift_prefs(self, heat_share: np.ndarray, weight: float) -> None:
        """A corporate fund follows its parent's strategy, not the heat."""
        self.prefs = self.parent.strategic_prefs(self.model.tracks)


class Incumbent(mesa.Agent):
    """A large incumbent firm (see the module docstring)."""

    kind = "incumbent"

    def __init__(self, model, name: str, *, index: int, weight: float, employees: float, home: list[int]):
        super().__init__(model)
        self.name = name
        self.index = index
        self.weight = weight  # its size in preset incumbents at the model's scale (count * scale / agents)
        self.stands_for = 1.0  # preset incumbents whose strategic tracks it holds (count / agents)
        self.employees = employees
        self.home = list(home)
        self.cvc: CorporateVC | None = None
        self.acq_budget = 0.0  # this year's acquisition budget, mcny
        self.acq_left = 0.0
        self.proc_budget = 0.0  # this year's procurement budget, mcny/yr of running contracts
        self.cvc_commitment = 0.0  # what it committed to its corporate venture fund this year, mcny
        self._proc_room = 0.0  # contract value per year it may still sign (carried month to month)
        # books
        self.acquisitions = 0
        self.distressed_acquisitions = 0
        self.acquisition_spend = 0.0
        self.contracts_signed = 0
        self.alumni_founders = 0
        self._fit: tuple[tuple[int, int, int], np.ndarray] | None = None
        self.draws = model.streams.keyed(f"incumbent:{index}")  # its evaluation of suppliers

    def revenue(self, cfg) -> float:
        """Yearly revenue, mcny."""
        return self.employees * cfg.revenue_per_employee_mcny

    def fit(self, tracks) -> np.ndarray:
        """1 where a track is strategic to the incumbent (a home track, one derived from one, or one
        that absorbed one: a consolidated track's business moves to its absorber), else 0."""
        n = tracks.n
        merged = tracks["merged_into"][:n]
        key = (n, len(self.home), int((merged >= 0).sum()))
        if self._fit is not None and self._fit[0] == key:
            return self._fit[1]
        f = np.zeros(n)
        f[[h for h in self.home if h < n]] = 1.0
        changed = True
        while changed:  # parents come before their children, but an absorber may come before what it absorbed
            changed = False
            for t in range(n):
                if f[t] == 0.0 and any(f[p] > 0 for p in tracks.parents[t]):
                    f[t], changed = 1.0, True
                if f[t] > 0 and merged[t] >= 0 and f[merged[t]] == 0.0:
                    f[merged[t]], changed = 1.0, True
        self._fit = (key, f)
        return f

    def strategic_prefs(self, tracks) -> np.ndarray:
        """The strategic tracks that are active, as preferences summing to 1 (for the CVC)."""
        f = self.fit(tracks) * tracks["active"]
        s = f.sum()
        return f / s if s > 0 else np.full(tracks.n, 1.0 / max(tracks.n, 1))

    def new_year(self, cfg) -> None:
        """Budgets for the coming year, and the corporate venture fund's commitment; in the warm-up
        they grow with the park's demand (:meth:`sim.model.EcosystemModel.supply_share`)."""
        rev = self.revenue(cfg)
        m, step = self.model, self.model.current_step + 1
        grown = rev * m.supply_share(step, "revenue")  # acquisitions and suppliers: grown firms
        self.acq_budget = self.acq_left = cfg.acquisition_budget_share * grown
        self.proc_budget = cfg.procurement_share * grown
        self.cvc_commitment = cfg.cvc_budget_share * rev * m.supply_share(step, "even") if self.cvc is not None else 0.0
        if self.cvc_commitment > 0:
            self.cvc.commit_year(self.cvc_commitment)


class Incumbents:
    """The incumbent firms of one model and their phases (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.cfg = model.cfg.ecosystem.incumbents
        self.draws = model.streams.keyed("incumbents")
        self.agents: list[Incumbent] = []
        self.reference_employees = 0.0  # headcount at start_year: the alumni channel's calibration point
        self.strategic_count = 0
        self.distressed_count = 0

    def __len__(self) -> int:
        return len(self.agents)

    def __iter__(self):
        return iter(self.agents)

    def create(self) -> None:
        """The preset's incumbents at the model's scale, their strategic tracks, budgets and funds."""
        m = self.model
        cfg = self.cfg
        n = scaled_count(cfg.count, m.scale)
        if n == 0 or cfg.employees <= 0:
            return
        rng = m.streams["incumbents_init"]
        weight = cfg.count * m.scale / n  # the size of the preset's incumbents this agent stands for
        stands_for = cfg.count / n  # how many of the preset's incumbents it stands for (tracks, entries)
        # their sizes spread around the mean (a few giants), their total that of the preset's incumbents at this
        # scale (count * employees * scale) at every draw: a sample of one or two agents carries the park's
        # incumbents' weight, not a lognormal multiple of it
        spread = np.exp(cfg.size_sigma * rng.standard_normal(n))
        sizes = cfg.employees * weight * spread / spread.mean()
        self.reference_employees = float(sizes.sum())
        back = (1.0 + cfg.growth) ** (m.current_step / MONTHS)  # the warm-up starts before start_year
        tr = m.tracks
        for i in range(n):
            k = max(1, int(round(cfg.home_tracks * stands_for)))
            home = self._draw_tracks(rng, k, exclude=set())
            inc = Incumbent(m, f"incumbent {i}", index=i, weight=weight, employees=float(sizes[i] * back), home=home)
            inc.stands_for = stands_for
            inc.cvc = CorporateVC(m, f"CVC of incumbent {i}", parent=inc, step=m.current_step,
                                  reserve_ratio=m.cfg.ecosystem.vc.reserve_ratio)
            inc.cvc.prefs = inc.strategic_prefs(tr)
            m.market.add(inc.cvc)
            inc.new_year(cfg)
            self.agents.append(inc)

    def _draw_tracks(self, rng, k: int, exclude: set[int]) -> list[int]:
        """``k`` active tracks drawn without replacement by square-root market times heat."""
        tr = self.model.tracks
        w = np.where(tr["active"], np.sqrt(tr["market"]) * tr["heat"], 0.0)
        if exclude:
            w[list(exclude)] = 0.0
        k = min(k, int((w > 0).sum()))
        if k <= 0:
            return []
        return [int(t) for t in rng.choice(tr.n, size=k, replace=False, p=w / w.sum())]

    # ------------------------------------------------------------------ presence
    def presence_matrix(self) -> np.ndarray:
        """(incumbents x tracks): the share of this year's acquisition budget left, where the track
        is strategic."""
        tr = self.model.tracks
        if not self.agents:
            return np.zeros((0, tr.n))
        rows = []
        for inc in self.agents:
            left = inc.acq_left / inc.acq_budget if inc.acq_budget > 0 else 0.0
            rows.append(inc.fit(tr) * min(max(left, 0.0), 1.0))
        return np.vstack(rows)

    def choose(self, presence: np.ndarray, tracks: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each target (its track, a uniform), an incumbent drawn in proportion to its presence
        in that track; -1 where none is present."""
        if presence.shape[0] == 0 or tracks.size == 0:
            return np.full(tracks.size, -1, dtype=np.int64)
        w = presence[:, tracks]  # incumbents x targets
        cum = np.cumsum(w, axis=0)
        total = cum[-1]
        idx = (cum < (u * total)[None, :]).sum(axis=0)
        return np.where(total > 0, np.minimum(idx, presence.shape[0] - 1), -1).astype(np.int64)

    # ------------------------------------------------------------------ acquisitions
    def strategic_targets(self, step: int, excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Venture-backed firms with traction that strategic incumbents move to buy this month:
        (rows, buyer index, uniforms for the price). Budgets are checked when the price is known
        (:meth:`buy`)."""
        m = self.model
        pop = m.population
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
        if not self.agents or pop.n == 0 or self.cfg.strategic_acquisition_rate <= 0:
            return empty
        pres = self.presence_matrix()
        presence = pres.sum(axis=0)
        ecfg = m.cfg.ecosystem.exits
        trk = pop["track"]
        cand = np.flatnonzero((pop["rounds"] >= 1) & (pop["employees"] >= ecfg.acquisition_min_employees)
                              & (pop["attempt_since"] <= pop["last_round"]))  # not in a last attempt
        cand = cand[presence[trk[cand]] > 0]
        if excluded.size:
            cand = pop.without(cand, excluded)
        if cand.size == 0:
            return empty
        rate = self.cfg.strategic_acquisition_rate * m.levers.value("acquisition_multiple")
        p = 1.0 - np.exp(-rate * presence[trk[cand]] * DT)
        hit = cand[self.draws.uniform(pop["hkey"][cand], step, _SLOT_STRATEGIC, prehashed=True) < p]
        if hit.size == 0:
            return empty
        buyer = self.choose(pres, trk[hit], self.draws.uniform(pop["hkey"][hit], step, _SLOT_BUYER, prehashed=True))
        keep = buyer >= 0
        return hit[keep], buyer[keep], self.draws.normal(pop["key"][hit[keep]], step, _SLOT_PRICE)

    def distressed_buyers(self, rows: np.ndarray, step: int) -> np.ndarray:
        """For venture-backed firms out of cash at ``rows``: the incumbent that buys the team, or -1."""
        m = self.model
        if not self.agents or rows.size == 0:
            return np.full(rows.size, -1, dtype=np.int64)
        pop = m.population
        pres = self.presence_matrix()
        trk = pop["track"][rows]
        presence = pres.sum(axis=0)[trk]
        p = 1.0 - np.exp(-self.cfg.distressed_interest * presence)
        u = self.draws.uniform(pop["hkey"][rows], step, _SLOT_DISTRESSED, prehashed=True)
        buyer = self.choose(pres, trk, self.draws.uniform(pop["hkey"][rows], step, _SLOT_BUYER, prehashed=True))
        return np.where(u < p, buyer, -1)

    def harvest_buyers(self, rows: np.ndarray, step: int) -> np.ndarray:
        """For firms their investors put up for sale at ``rows``: the incumbent that bids (with
        probability ``1 - exp(-presence)`` in the firm's track), or -1."""
        m = self.model
        if not self.agents or rows.size == 0:
            return np.full(rows.size, -1, dtype=np.int64)
        pop = m.population
        pres = self.presence_matrix()
        trk = pop["track"][rows]
        p = 1.0 - np.exp(-pres.sum(axis=0)[trk])
        u = self.draws.uniform(pop["hkey"][rows], step, _SLOT_HARVEST, prehashed=True)
        buyer = self.choose(pres, trk, self.draws.uniform(pop["hkey"][rows], step, _SLOT_BUYER, prehashed=True))
        return np.where(u < p, buyer, -1)

    def buy(self, buyers: np.ndarray, prices: np.ndarray, *, distressed: bool) -> np.ndarray:
        """Incumbents pay ``prices`` for their targets, in order, while their budgets last.
        Returns the mask of deals done."""
        ok = np.zeros(buyers.size, dtype=bool)
        for j, (b, price) in enumerate(zip(buyers, prices, strict=True)):
            inc = self.agents[int(b)]
            if price <= inc.acq_left:
                inc.acq_left -= price
                inc.acquisition_spend += price
                inc.acquisitions += 1
                inc.distressed_acquisitions += int(distressed)
                ok[j] = True
        if distressed:
            self.distressed_count += int(ok.sum())
        else:
            self.strategic_count += int(ok.sum())
        return ok

    # ------------------------------------------------------------------ alumni founders
    def alumni_share(self, base_share: float) -> float:
        """Share of births founded by alumni: ``base_share`` at the incumbents' start_year headcount,
        in proportion to their headcount now."""
        if self.reference_employees <= 0:
            return 0.0
        return base_share * sum(inc.employees for inc in self.agents) / self.reference_employees

    def found_alumni(self, keys: np.ndarray, track_u: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Found alumni firms with birth ``keys``: each founder's former employer is drawn by
        headcount; founders favour their employer's strategic tracks. Returns the new live rows."""
        m = self.model
        if not self.agents:
            return np.empty(0, dtype=np.int64)
        emp = np.array([inc.employees for inc in self.agents])
        cum = np.cumsum(emp) / emp.sum()
        u = self.draws.uniform(keys, m.current_step, _SLOT_EMPLOYER)
        employer = np.minimum(np.searchsorted(cum, u, side="right"), len(self.agents) - 1)
        # the founders employer by employer (each employer's in the order of keys), in one founding
        order = np.argsort(employer, kind="stable")
        employers, starts = np.unique(employer[order], return_index=True)
        ends = np.append(starts[1:], order.size)
        track = np.empty(order.size, dtype=np.int32)
        for i, a, b in zip(employers.tolist(), starts.tolist(), ends.tolist(), strict=True):
            inc = self.agents[i]
            w = weights * (1.0 + self.cfg.alumni_track_affinity * inc.fit(m.tracks))
            track[a:b] = choose_tracks(track_u[order[a:b]], w)
            inc.alumni_founders += b - a
        rows = m.founding.found_in(keys[order], ALUMNI, track)
        m.population.records["employer"][m.population["id"][rows]] = np.array(
            [inc.index for inc in self.agents], dtype=np.int64)[employer[order]]
        return rows

    # ------------------------------------------------------------------ procurement
    def procure(self) -> None:
        """Supply contracts with young firms in each incumbent's strategic tracks: new contracts
        worth (per year) the budget over the contract term each month, within the budget (times the
        ``procurement_multiplier`` lever: a public co-payment stretches it), with the suppliers a
        noisy view of quality ranks first (:func:`agents.contracts.choose_suppliers`)."""
        m = self.model
        if not self.agents:
            return
        ccfg = m.cfg.ecosystem.contracts
        months = max(1, int(round(ccfg.term_years * MONTHS)))
        stretch = m.levers.value("procurement_multiplier")  # a public co-payment stretches the budgets
        for inc in self.agents:
            budget = inc.proc_budget * stretch
            if budget <= 0:
                continue
            inc._proc_room = min(inc._proc_room + budget / months, budget)
            room = min(inc._proc_room, budget - m.contracts.committed(INCUMBENT, inc.index))
            rows, values = choose_suppliers(m, None, room, inc.draws, tracks=inc.fit(m.tracks) > 0)
            if rows.size:
                m.contracts.sign(rows, values, months, INCUMBENT, inc.index)
                inc._proc_room -= float(values.sum())
                inc.contracts_signed += int(rows.size)

    # ------------------------------------------------------------------ the year
    def year_end(self) -> None:
        """At each year end: incumbents grow, may enter a hot track, and set next year's budgets."""
        m = self.model
        if not self.agents or not is_year_end(m.current_step):
            return
        cfg = self.cfg
        rng = m.streams["incumbents"]
        for inc in self.agents:
            inc.employees *= 1.0 + cfg.growth
            if rng.random() < 1.0 - math.exp(-cfg.expansion_rate * inc.stands_for):
                inc.home += self._draw_tracks(rng, 1, exclude=set(np.flatnonzero(inc.fit(m.tracks)).tolist()))
            inc.new_year(cfg)

"""Equity rounds: which firms raise money in a month, at what price, and from whom.

A month's rounds are vectorised over every firm looking for money, in five named steps
(:meth:`EquityRounds.step`):

1. **Candidates** (:meth:`~EquityRounds.candidates`). A firm whose cash lasts less than
   ``attempt_runway_months``, or a venture-backed firm whose last round's planned runway
   (``runway_target_years``) is that close to spent, runs a round with probability
   ``attempt_probability`` a month; a fast grower (last twelve months' log growth above 0.3)
   raises without need with probability ``growth_attempt_probability``; never more often than
   ``min_months_between_rounds``, and never after ``venture_max_age_years`` of age (venture
   investors back young firms).
2. **Price** (:meth:`~EquityRounds.price`). Investors see a noisy signal of latent quality plus
   recent growth, ``signal = q + screening_noise * e + growth_signal_weight * g12``. Pre-money =
   ``max(round floor, sales * revenue_multiple * exp(growth_multiple_elasticity * g12 +
   signal_multiple_elasticity * signal) * heat ** heat_multiple_elasticity)`` (sales: revenue with
   the running supply contracts, :func:`agents.contracts.sales`; g12 within [-1, 1.5] and the
   signal within [-3, 3] sd: multiples do not explode for outliers), and for a firm that grew
   over the last year at least its last post-money grown with it since that round,
   ``exp(last_round_anchor * g12 * months / 12)`` (months since the last round, at most 12) with g12
   again at most 1.5 (a round a year after the last prices an outlier at most 4.5 times its last
   post-money; one six months after it, at most 2.1 times).
   The round is the next in the firm's sequence (seed, A, B, C, D+), or a later one if the price
   already reaches that round's floor: a bootstrapped firm raising its first money at a large
   valuation does a growth round with VC funds, not a seed round. The price comes before
   screening because it fixes the round, and so the bar.
3. **Screen** (:meth:`~EquityRounds.screen`). Investors fund the round with probability
   ``logistic(screening_slope * (signal - bar[round] + heat_bar_elasticity * ln heat))``, the
   bar shifted by policies (the ``screen_shift`` lever and firm support): hot tracks are easier
   to raise in. A round that passes sells a share ``d = round_dilution_factor[round] *
   U(dilution_min, dilution_max)`` (later rounds sell less of the firm), so it raises
   ``pre * d / (1 - d)``.
4. **Allocate** (:meth:`~EquityRounds.allocate`). Seed rounds go to angels, rounds A-B to
   early-stage VC funds, C and later to late-stage funds (growth funds; early funds follow their own
   firms there from their reserves, and put new money into them only with
   ``early_funds_in_late_rounds``). A fund is drawn with probability proportional to its free money times its
   preference for the firm's track and puts in at most ``max_lead_share`` of its free money; what
   the lead cannot carry is syndicated to up to ``syndicate_size`` co-investors drawn the same way
   (a round they cannot fill closes with what it raised, the firm still priced as planned, if that
   is at least ``min_fill`` of the round; otherwise it does not close that month: a price needs
   money behind it); a fund that would over-commit in the month keeps its best applicants (by
   screening margin) and drops the rest, who may try again later. A venture-backed firm that passed
   screening but found no new lead is carried by its last lead alone (an inside round) if that fund
   still has the money. The previous lead takes ``insider_share`` of a later round from its
   reserves; in tracks of the mandated directions a guidance fund adds ``coinvest_ratio`` per unit
   of VC money (in whole, best applicants first, while its money lasts; a policy's fund in whole
   cheques as many as its places, whatever their size: :meth:`EquityRounds._whole_cheques`).
5. **Settle** (:meth:`~EquityRounds.settle`). Each participation is a *lot*: money in, shares
   bought (new shares are issued, so earlier holders are diluted); the firm's cash, money raised,
   valuation and round count move; the deal is recorded; the money counts as attention to the
   firm's track.

Money in million CNY.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from agents.contracts import sales
from agents.firms.rules import trying, yearly_burn
from agents.investors.books import GuidanceFund, VCFund
from agents.investors.kernels import EAGER_GROWTH
from agents.investors.matching import (
    SLOT_ATTEMPT,
    SLOT_DILUTION,
    SLOT_NOISE,
    SLOT_PASS,
    SLOT_PICK,
    SLOT_SYNDICATE,
    SLOT_WHOLE_ORDER,
    fit_capacity,
    logistic,
    pick,
)
from sim.core.vocabulary import EQUITY_ROUNDS
from sim.tracks import attention

__all__ = ["EquityRounds", "Applicants", "Participations"]

#: Half-life of a VC-led round in the typical co-investment (EquityRounds.typical_vc_money), months: long
#: enough for some tens of rounds in a small park's tracks, short enough to follow rounds growing with the market
VC_MEMORY_MONTHS = 12

LAST_ROUND = EQUITY_ROUNDS - 1  # D+: every later round is a D+ round
#: Money below this (mcny: a thousandth of a yuan) is rounding residue of the funds' books, not a deal.
DUST = 1e-9


def is_money(amount: np.ndarray) -> np.ndarray:
    """Whether each amount (mcny) is money an investor can put in: above :data:`DUST`. Every
    participation (a lead, a syndicate member, an insider, a guidance co-investment) is made only
    where this holds, so no deal buys a share of a firm that rounds to nothing."""
    return amount > DUST


@dataclass
class Applicants:
    """The firms in this month's rounds, one entry per firm (parallel arrays)."""

    rows: np.ndarray  # live rows of the firms
    key: np.ndarray  # birth keys (for keyed draws)
    track: np.ndarray
    heat: np.ndarray  # heat of the firm's track, at least 1e-3
    g12: np.ndarray  # last twelve months' log growth, within [-2, 3]
    signal: np.ndarray  # what investors see of the firm's quality, sd
    pre: np.ndarray  # pre-money valuation, mcny
    rnd: np.ndarray  # round code (sim.core.vocabulary.ROUNDS)
    bar: np.ndarray | None = None  # the round's screening bar (after screening)
    amount: np.ndarray | None = None  # money the round raises, mcny (after screening)
    u_pick: np.ndarray | None = None  # uniforms that pick the investor
    rank: np.ndarray | None = None  # minus the screening margin: investors short of money take the best first
    lead: np.ndarray | None = None  # investor index of the lead (after allocation; -1: none)
    lead_amount: np.ndarray | None = None  # the lead's money, mcny
    co_inv: np.ndarray | None = None  # (deals x syndicate_size) co-investors' investor indices (-1: none)
    co_amt: np.ndarray | None = None  # (deals x syndicate_size) their money, mcny
    vc_lead: np.ndarray | None = None  # whether the lead is a VC fund

    def take(self, sel) -> Applicants:
        """The applicants selected by ``sel`` (a mask or indices)."""
        return Applicants(**{f.name: None if (v := getattr(self, f.name)) is None else v[sel]
                             for f in dataclasses.fields(self)})


@dataclass
class Participations:
    """Who puts money into which round: one entry per (round, investor) participation."""

    investor: np.ndarray  # investor index
    amount: np.ndarray  # mcny
    partner: np.ndarray  # guidance participations: the co-investing VC's index, else -1
    deal: np.ndarray  # index of the round among the funded applicants


class EquityRounds:
    """The equity rounds of one capital market (see the module docstring)."""

    def __init__(self, market):
        self.market = market
        self.model = market.model
        self.syndicated = 0  # co-investments in rounds a lead could not carry alone
        self._used = np.zeros(0)  # money each investor has put in this month (during allocation)
        #: VC money of the recent VC-led rounds and their number, by track, each round weighing less by half
        #: every VC_MEMORY_MONTHS: what a co-investment in a track is worth now (:meth:`typical_vc_money`)
        self.vc_money_by_track = np.zeros(0)
        self.vc_rounds_by_track = np.zeros(0)
        self._vc_counted_step: int | None = None

    def step(self) -> None:
        """This month's rounds: candidates -> price -> screen -> allocate -> settle."""
        step = self.model.current_step
        rows = self.candidates(step)  # none in a park without firms (tests/test_faults.py::test_no_births)
        if rows.size == 0:
            return
        app = self.screen(self.price(rows, step), step)
        if app.rows.size == 0:
            return
        funded, parts = self.allocate(app, step)
        if parts is not None:
            self.settle(funded, parts, step)

    # ------------------------------------------------------------------ 1. candidates
    def candidates(self, step: int) -> np.ndarray:
        """Rows of the firms that run a round this month (found by the month's scan of the
        population, :meth:`agents.investors.market.CapitalMarket.month_filters`, with the rule
        of :meth:`candidates_vectorised`)."""
        return self.market.month_filters(step).rounds

    def candidates_vectorised(self, step: int) -> np.ndarray:
        """Rows of the firms that run a round this month, by whole-population array operations
        (the reference for the compiled scan)."""
        m = self.model
        pop = m.population
        fcfg = m.cfg.ecosystem.funding
        firm_cfg = m.cfg.ecosystem.firms
        burn = yearly_burn(pop, firm_cfg)
        # venture-backed firms raise on a cadence: when the last round's planned runway is nearly spent
        since = step - pop["last_round"]
        due = (pop["rounds"] >= 1) & (since >= 12.0 * firm_cfg.runway_target_years - fcfg.attempt_runway_months)
        short = (burn > 0) & (pop["cash"] * 12.0 < fcfg.attempt_runway_months * burn)
        eager = pop["growth_12m"] > EAGER_GROWTH
        ready = (since >= fcfg.min_months_between_rounds) & (step - pop["born"] <= 12.0 * fcfg.venture_max_age_years)
        cand = np.flatnonzero((short | due | eager) & ready)
        if cand.size == 0:
            return cand
        # keyed draws only for the candidates: a firm's draw does not depend on who else is drawn
        u = m.draws["finance"].uniform(pop["hkey"][cand], step, SLOT_ATTEMPT, prehashed=True)
        need = (short[cand] | due[cand]) & (u < fcfg.attempt_probability)
        keen = eager[cand] & (u < fcfg.growth_attempt_probability)
        cand = cand[need | keen]
        return cand[~trying(pop, cand)]

    # ------------------------------------------------------------------ 2. price
    def price(self, rows: np.ndarray, step: int) -> Applicants:
        """The signal investors see, the pre-money they would pay and the round it makes."""
        m = self.model
        pop = m.population
        fcfg = m.cfg.ecosystem.funding
        k = pop["key"][rows]
        trk = pop["track"][rows]
        heat = np.maximum(m.tracks["heat"][trk], 1e-3)
        g12 = np.clip(pop["growth_12m"][rows], -2.0, 3.0)
        signal = (pop["quality"][rows] + fcfg.screening_noise * m.draws["finance"].normal(k, step, SLOT_NOISE)
                  + fcfg.growth_signal_weight * g12)
        floors = np.asarray(fcfg.round_floor_mcny)
        g_price = np.clip(g12, -1.0, 1.5)  # outliers' growth counts up to 1.5 (4.5x a year) in the price
        mult = fcfg.revenue_multiple * np.exp(
            fcfg.growth_multiple_elasticity * g_price
            + fcfg.signal_multiple_elasticity * np.clip(signal, -3.0, 3.0)
        ) * heat**fcfg.heat_multiple_elasticity
        pre = sales(pop, rows) * mult
        if fcfg.last_round_anchor > 0:
            # a growing firm is rarely priced below its last round: the last post-money, grown
            # with the firm (down rounds still happen to firms that shrink)
            # with the growth since that round: a year's growth for a year, half of it for six months
            since = np.clip((step - pop["last_round"][rows]) / 12.0, 0.0, 1.0)
            anchor = pop["valuation"][rows] * np.exp(fcfg.last_round_anchor * np.maximum(g_price, 0.0) * since)
            pre = np.where(g12 > 0, np.maximum(pre, anchor), pre)
        # the round: the next in the firm's sequence, or a later one if the firm is already worth
        # that round's floor
        by_count = np.minimum(pop["rounds"][rows], LAST_ROUND).astype(np.int64)
        by_size = np.clip(np.searchsorted(floors, pre, side="right") - 1, 0, LAST_ROUND)
        rnd = np.maximum(by_count, by_size)
        pre = np.maximum(floors[rnd], pre)
        return Applicants(rows=rows, key=k, track=trk, heat=heat, g12=g12, signal=signal, pre=pre, rnd=rnd)

    # ------------------------------------------------------------------ 3. screen
    def screening_shift(self, tracks: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Policy-driven shift of the screening bar (negative = easier) for these applicants."""
        m = self.model
        shift = m.levers.track("screen_shift")[tracks]
        if m.population.supported:
            return shift + m.population["support_screen"][rows]
        return shift

    def screen(self, app: Applicants, step: int) -> Applicants:
        """The applicants whose round passes screening, with the round's size and terms."""
        m = self.model
        fcfg = m.cfg.ecosystem.funding
        draws = m.draws["finance"]
        bar = (
            np.asarray(fcfg.screening_bar)[app.rnd]
            - fcfg.heat_bar_elasticity * np.log(app.heat)
            + self.screening_shift(app.track, app.rows)
        )
        passed = draws.uniform(app.key, step, SLOT_PASS) < logistic(fcfg.screening_slope * (app.signal - bar))
        app.bar = bar
        app = app.take(passed)
        d = fcfg.dilution_min + (fcfg.dilution_max - fcfg.dilution_min) * draws.uniform(app.key, step, SLOT_DILUTION)
        d = d * np.asarray(fcfg.round_dilution_factor)[app.rnd]
        app.amount = app.pre * d / (1.0 - d)
        app.u_pick = draws.uniform(app.key, step, SLOT_PICK)
        app.rank = -(app.signal - app.bar)  # when money is short, investors take the best applicants first
        return app

    # ------------------------------------------------------------------ 4. allocate
    def allocate(self, app: Applicants, step: int) -> tuple[Applicants, Participations | None]:
        """Who leads each round (angels, VC funds, the last lead in an inside round), and who
        joins it (insiders, guidance funds). Returns the funded applicants and the participations
        (None when no round found money)."""
        n = app.rows.size
        k = self.model.cfg.ecosystem.funding.syndicate_size
        app.lead = np.full(n, -1, dtype=np.int64)
        app.lead_amount = np.zeros(n)
        app.co_inv = np.full((n, k), -1, dtype=np.int64)
        app.co_amt = np.zeros((n, k))
        self._used = np.zeros(len(self.market.investors))  # money each investor has put in this month
        self._lead_angels(app, step)
        self._lead_funds(app, step)
        self._inside_rounds(app, step)
        funded = app.lead >= 0
        app = app.take(funded)
        if not funded.any():
            return app, None
        n_deals = app.rows.size
        app.vc_lead = np.array([isinstance(self.market.investors[i], VCFund) for i in app.lead], dtype=bool)
        parts_inv = [app.lead, *app.co_inv.T]
        parts_amt = [app.lead_amount, *app.co_amt.T]
        parts_partner = [np.full(n_deals, -1, dtype=np.int64) for _ in parts_inv]
        self._insiders(app, step, parts_inv, parts_amt, parts_partner)
        self._guidance(app, step, parts_inv, parts_amt, parts_partner)
        parts = Participations(
            investor=np.concatenate(parts_inv),
            amount=np.concatenate(parts_amt),
            partner=np.concatenate(parts_partner),
            deal=np.tile(np.arange(n_deals), len(parts_inv)),
        )
        return app, parts

    def _lead_angels(self, app: Applicants, step: int) -> None:
        """Seed rounds: an angel with the money, drawn by free money."""
        angels = self.market.angels
        seed = app.rnd == 0
        if not (seed.any() and angels):
            return
        cap = np.array([a.available(step) for a in angels])
        j = np.flatnonzero(seed)
        chosen = pick(cap[:, None], np.zeros(j.size, dtype=np.int64), app.u_pick[j])
        ok = fit_capacity(chosen, app.amount[j], cap, app.rank[j]) & is_money(app.amount[j])
        idx = np.array([angels[p].index for p in chosen[ok]], dtype=np.int64)
        app.lead[j[ok]] = idx
        app.lead_amount[j[ok]] = app.amount[j[ok]]
        np.add.at(self._used, idx, app.amount[j[ok]])

    def _lead_funds(self, app: Applicants, step: int) -> None:
        """Venture rounds: early funds for A-B, late funds for C+ (and early funds after them only with
        ``early_funds_in_late_rounds``), drawn by free money times track preference. A fund puts at
        most ``max_lead_share`` of its free money into one round; what the lead cannot carry is
        offered to co-investors (:meth:`_syndicate`)."""
        funds = self.market.open_funds()
        if not funds:
            return
        share = self.model.cfg.ecosystem.funding.max_lead_share
        prefs, early = self.market.fund_view(funds, self.model.tracks.n)
        remaining = np.array([f.available_new(step) for f in funds])
        # a fund's free money is a difference of sums: below DUST it is rounding residue, not money
        remaining = np.where(is_money(remaining), remaining, 0.0)
        rnd, amount, lead = app.rnd, app.amount, app.lead
        # later rounds first, with growth funds (and early funds after them if the preset lets early funds
        # into late rounds); A-B rounds stay with early funds
        late_groups = (~early, early) if self.model.cfg.ecosystem.funding.early_funds_in_late_rounds else (~early,)
        groups_by_stage = (((rnd >= 3), late_groups), (((rnd >= 1) & (rnd <= 2)), (early,)))
        for stage_mask, groups in groups_by_stage:
            for group in groups:
                j = np.flatnonzero(stage_mask & (lead < 0))
                if j.size == 0:
                    break
                capg = np.where(group, remaining, 0.0)
                if capg.sum() <= 0:
                    continue
                chosen = pick(capg[:, None] * prefs, app.track[j], app.u_pick[j])
                take = np.minimum(amount[j], share * capg[np.maximum(chosen, 0)])
                ok = fit_capacity(chosen, take, capg, app.rank[j]) & is_money(take)
                if ok.any():
                    remaining -= np.bincount(chosen[ok], weights=take[ok], minlength=len(funds))
                    idx = np.array([funds[p].index for p in chosen[ok]], dtype=np.int64)
                    lead[j[ok]] = idx
                    app.lead_amount[j[ok]] = take[ok]
                    np.add.at(self._used, idx, take[ok])
        # the rounds a fund leads (not angels' seed rounds): the syndicates fill them, min_fill judges them
        led = np.isin(app.lead, np.array([f.index for f in funds], dtype=np.int64))
        self._syndicate(app, led, funds, prefs, groups_by_stage, remaining, step)
        self._drop_unfilled(app, led)

    def _syndicate(self, app: Applicants, led: np.ndarray, funds: list, prefs: np.ndarray, groups_by_stage,
                   remaining: np.ndarray, step: int) -> None:
        """Co-investors for VC-led rounds the lead cannot carry alone: up to ``syndicate_size`` more
        funds of the round's stage focus, each drawn like a lead (free money times track
        preference) and putting in at most ``max_lead_share`` of its free money, until the round
        is filled. A round the syndicate cannot fill closes with what it raised (the firm is
        priced as planned and raises less) if that is at least ``min_fill`` of it
        (:meth:`_drop_unfilled`)."""
        fcfg = self.model.cfg.ecosystem.funding
        short = np.where(led, app.amount - app.lead_amount, 0.0)
        draws = self.model.draws["finance"]
        for k in range(fcfg.syndicate_size):
            open_ = short > 1e-9 * np.maximum(app.amount, 1.0)
            if not open_.any():
                return
            u = np.zeros(app.rows.size)
            u[open_] = draws.uniform(app.key[open_], step, SLOT_SYNDICATE + k)
            for stage_mask, groups in groups_by_stage:
                for group in groups:
                    j = np.flatnonzero(stage_mask & open_ & (app.co_inv[:, k] < 0))
                    capg = np.where(group, remaining, 0.0)
                    if j.size == 0 or capg.sum() <= 0:
                        continue
                    chosen = pick(capg[:, None] * prefs, app.track[j], u[j])
                    idx = np.array([funds[p].index if p >= 0 else -1 for p in chosen], dtype=np.int64)
                    member = (idx[:, None] == app.co_inv[j, :k]).any(axis=1) | (idx == app.lead[j])
                    chosen = np.where(member, -1, chosen)
                    take = np.minimum(short[j], fcfg.max_lead_share * capg[np.maximum(chosen, 0)])
                    ok = fit_capacity(chosen, take, capg, app.rank[j]) & is_money(take)
                    if ok.any():
                        remaining -= np.bincount(chosen[ok], weights=take[ok], minlength=len(funds))
                        app.co_inv[j[ok], k] = idx[ok]
                        app.co_amt[j[ok], k] = take[ok]
                        short[j[ok]] -= take[ok]
                        np.add.at(self._used, idx[ok], take[ok])
                        self.syndicated += int(ok.sum())

    def _drop_unfilled(self, app: Applicants, led: np.ndarray) -> None:
        """A VC-led round (``led``) whose lead and co-investors put in less than ``min_fill`` of what
        it set out to raise does not close this month: its investors keep their money (the firm may
        try again, or be carried by its last lead in an inside round)."""
        min_fill = self.model.cfg.ecosystem.funding.min_fill
        if min_fill <= 0:
            return
        raised = app.lead_amount + app.co_amt.sum(axis=1)
        drop = np.flatnonzero(led & (raised < min_fill * app.amount))
        if drop.size == 0:
            return
        np.subtract.at(self._used, app.lead[drop], app.lead_amount[drop])
        co = app.co_inv[drop] >= 0
        np.subtract.at(self._used, app.co_inv[drop][co], app.co_amt[drop][co])
        self.syndicated -= int(co.sum())
        app.lead[drop] = -1
        app.lead_amount[drop] = 0.0
        app.co_inv[drop] = -1
        app.co_amt[drop] = 0.0

    def _inside_rounds(self, app: Applicants, step: int) -> None:
        """A venture-backed firm that found no new lead is carried by its last lead alone, if
        that fund still has the money this month (best applicants first)."""
        investors = self.market.investors
        lead, lead_amt = app.lead, app.lead_amount
        prev_all = self.model.population["lead"][app.rows]
        inside = (lead < 0) & (app.rnd >= 1) & (prev_all >= 0)
        if not inside.any():
            return
        j = np.flatnonzero(inside)
        order = j[np.argsort(app.rank[j], kind="stable")]
        # money each fund still has this month after the rounds it led or joined
        room = {int(i): investors[int(i)].available_followon(step) - self._used[int(i)] for i in np.unique(prev_all[j])}
        for d in order:
            i = int(prev_all[d])
            if room[i] >= app.amount[d] and is_money(app.amount[d]):
                lead[d] = i
                lead_amt[d] = app.amount[d]
                room[i] -= app.amount[d]
                self._used[i] += app.amount[d]

    def _insiders(self, app: Applicants, step: int, parts_inv, parts_amt, parts_partner) -> None:
        """The previous VC lead follows on with ``insider_share`` of a later round, from its reserves."""
        fcfg = self.model.cfg.ecosystem.funding
        investors = self.market.investors
        n_deals = app.rows.size
        prev = self.model.population["lead"][app.rows]
        ins = (app.rnd >= 1) & (prev >= 0) & (prev != app.lead)
        if not (ins.any() and fcfg.insider_share > 0):
            return
        j = np.flatnonzero(ins)
        new_money = app.lead_amount[j] + app.co_amt[j].sum(axis=1)
        want = fcfg.insider_share * new_money / (1.0 - fcfg.insider_share)
        uniq = np.unique(prev[j])
        avail = {int(i): max(0.0, investors[int(i)].available_followon(step) - self._used[int(i)]) for i in uniq}
        demand = np.bincount(np.searchsorted(uniq, prev[j]), weights=want, minlength=uniq.size)
        ratio = np.array(
            [(1.0 if avail[int(i)] >= dmd else avail[int(i)] / dmd) if dmd > 0 else 0.0  # no overflow for a tiny dmd
             for i, dmd in zip(uniq, demand, strict=True)]
        )
        got = want * ratio[np.searchsorted(uniq, prev[j])]
        keep = is_money(got)
        inv = np.full(n_deals, -1, dtype=np.int64)
        amt = np.zeros(n_deals)
        inv[j[keep]] = prev[j[keep]]
        amt[j[keep]] = got[keep]
        parts_inv.append(inv)
        parts_amt.append(amt)
        parts_partner.append(np.full(n_deals, -1, dtype=np.int64))

    def _guidance(self, app: Applicants, step: int, parts_inv, parts_amt, parts_partner) -> None:
        """Guidance funds add ``coinvest_ratio`` per unit of VC money in rounds of their mandated
        tracks. The preset's funds share one participation per deal, each within what it may put
        in this month (paced over its investment period); a fund added by a policy (``stacks=True``)
        comes on top of them. A preset's fund short of money co-invests in whole, in the best
        applicants first (like a VC fund, :func:`fit_capacity`); the rest may meet the next fund. A
        policy's fund takes the real park's whole cheques at every scale (:meth:`_whole_cheques`)."""
        m = self.model
        n_deals = app.rows.size
        gfunds = [g for g in self.market.investors if isinstance(g, GuidanceFund)
                  and (g.available(step) > 0 if not g.stacks else g.investing(step) and g.open_places() > 0)]
        pools = [[g for g in gfunds if not g.stacks]] + [[g] for g in gfunds if g.stacks]
        is_vc_lead = app.vc_lead
        vc_amt = (app.lead_amount + app.co_amt.sum(axis=1)) * is_vc_lead  # the lead and its syndicate
        self._count_vc_rounds(app.track[is_vc_lead], vc_amt[is_vc_lead])
        for pool in pools:
            if not pool:
                continue
            inv = np.full(n_deals, -1, dtype=np.int64)
            amt = np.zeros(n_deals)
            for g in pool:
                mandated = np.isin(app.track, g.mandated_ids(m.tracks))
                j = np.flatnonzero(mandated & is_vc_lead & (inv < 0))
                if j.size == 0:
                    continue
                want = g.coinvest_ratio * vc_amt[j]
                # whole co-investments, best applicants first, while the money lasts: a fund short of
                # money does not cut every cheque to spread it (what a firm gets does not depend on
                # how many rounds the month has, so neither on scale); a dust cheque (a tiny coinvest_ratio)
                # is no bid: the deal may meet the next fund
                bidder = np.where(is_money(want), 0, -1)
                if g.stacks:  # a policy's fund: whole cheques whatever its (sampled) cash
                    ok = self._whole_cheques(g, app.key[j], want, bidder >= 0, step)
                else:
                    ok = fit_capacity(bidder, want, np.array([g.available(step)]), app.rank[j])
                inv[j[ok]] = g.index
                amt[j[ok]] = want[ok]
            parts_inv.append(inv)
            parts_amt.append(amt)
            parts_partner.append(np.where(amt > 0, app.lead, -1))

    def _count_vc_rounds(self, tracks: np.ndarray, money: np.ndarray) -> None:
        n = self.model.tracks.n
        step = self.model.current_step
        if self._vc_counted_step is not None and step > self._vc_counted_step:
            keep = 0.5 ** ((step - self._vc_counted_step) / VC_MEMORY_MONTHS)
            self.vc_money_by_track *= keep
            self.vc_rounds_by_track *= keep
        self._vc_counted_step = step
        if self.vc_money_by_track.size < n:
            grow = n - self.vc_money_by_track.size
            self.vc_money_by_track = np.concatenate([self.vc_money_by_track, np.zeros(grow)])
            self.vc_rounds_by_track = np.concatenate([self.vc_rounds_by_track, np.zeros(grow)])
        if tracks.size:
            self.vc_money_by_track += np.bincount(tracks, weights=money, minlength=n)
            self.vc_rounds_by_track += np.bincount(tracks, minlength=n)

    def typical_vc_money(self, tracks: np.ndarray) -> float:
        """The mean VC money of the recent VC-led rounds in ``tracks`` (weighted by recency, the warm-up's
        included; 0 if none)."""
        tracks = tracks[tracks < self.vc_rounds_by_track.size]
        count = self.vc_rounds_by_track[tracks].sum()
        return float(self.vc_money_by_track[tracks].sum() / count) if count > 0 else 0.0

    def _whole_cheques(self, g: GuidanceFund, key, want, bids, step: int) -> np.ndarray:
        """The co-investments of a policy's fund (``stacks``) this month: as many whole cheques as its
        places (:meth:`GuidanceFund.places`, its money's pace over a typical co-investment, the fraction
        carried), in its partners' deals as they close (跟投: first come, first served, a keyed random
        order), whatever their size; a cheque may not take its cash below ``-credit`` (the capital still to
        be paid in). So at every scale the fund co-invests the real park's cheques, as many per unit of
        its money (a fund that took what fits in its sampled cash, or the best of the month's deals, would
        take smaller or other cheques in a smaller park). Returns a mask."""
        ok = np.zeros(want.size, dtype=bool)
        order = np.flatnonzero(bids)
        k = min(g.open_places(), order.size)
        if k <= 0:
            return ok
        draws = self.model.draws["finance"]
        order = order[np.argsort(draws.uniform(key[order], step, SLOT_WHOLE_ORDER), kind="stable")][:k]
        fits = g.cash + g.credit - np.cumsum(want[order]) >= -1e-9 * max(1.0, g.cash + g.credit)
        n = k if fits.all() else int(np.argmin(fits))
        ok[order[:n]] = True
        g.fill_places(n)
        return ok

    # ------------------------------------------------------------------ 5. settle
    def settle(self, app: Applicants, parts: Participations, step: int) -> None:
        """New shares, the firms' cash, valuation and rounds, the lots and deals, the investors'
        books, the month's flows, the cash ledger and the tracks' attention."""
        m = self.model
        pop = m.population
        market = self.market
        n_deals = app.rows.size
        live = (parts.investor >= 0) & (parts.amount > 0)
        inv_all, amt_all, partner_all, deal_idx = (
            parts.investor[live],
            parts.amount[live],
            parts.partner[live],
            parts.deal[live],
        )
        rows, pre = app.rows, app.pre
        # a fund putting money into a firm it led before (inside rounds, insiders) draws on its reserve
        follow = inv_all == pop["lead"][rows][deal_idx]
        raised = np.bincount(deal_idx, weights=amt_all, minlength=n_deals)
        post = pre + raised
        shares_before = pop["shares"][rows]
        new_shares = shares_before[deal_idx] * amt_all / pre[deal_idx]
        pop["shares"][rows] = shares_before * post / pre
        pop["cash"][rows] += raised
        pop["raised"][rows] += raised
        pop["valuation"][rows] = post
        pop["rounds"][rows] = np.minimum(pop["rounds"][rows] + 1, 100)
        pop["last_round"][rows] = step
        pop["lead"][rows] = np.where(app.vc_lead, app.lead, pop["lead"][rows])
        firm_ids = pop["id"][rows]
        market.lots.append(
            investor=inv_all,
            firm=firm_ids[deal_idx],
            step=np.full(inv_all.size, step),
            invested=amt_all,
            shares=new_shares,
            proceeds=np.zeros(inv_all.size),
            residual=np.zeros(inv_all.size),
            status=np.zeros(inv_all.size, dtype=np.int8),
            partner=partner_all,
        )
        market.deals.append(
            step=np.full(inv_all.size, step),
            investor=inv_all,
            firm=firm_ids[deal_idx],
            round=app.rnd[deal_idx].astype(np.int8),
            amount=amt_all,
            pre_money=pre[deal_idx],
            post_money=post[deal_idx],
            track=app.track[deal_idx],
        )
        per_inv = np.bincount(inv_all, weights=amt_all, minlength=len(market.investors))
        per_follow = np.bincount(inv_all[follow], weights=amt_all[follow], minlength=len(market.investors))
        for i in np.flatnonzero(per_inv > 0):
            agent = market.investors[i]
            market.flows[agent.kind] += per_inv[i]
            if per_follow[i] > 0 and isinstance(agent, VCFund):
                agent.follow_on(float(per_follow[i]))
                if per_inv[i] > per_follow[i]:
                    agent.invest(float(per_inv[i] - per_follow[i]))
            else:
                agent.invest(float(per_inv[i]))
        m.ledger.equity_in += float(amt_all.sum())
        attention.add_money(m.tracks, app.track[deal_idx], amt_all)

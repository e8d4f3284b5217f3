"""Equity rounds: which firms raise money in a month, at what price, and from whom.

A month's rounds are vectorised over every firm looking for money, in five named steps
(:meth:`EquityRounds.step`):

1. **Candidates** (:meth:`~EquityRounds.candidates`). A firm whose cash lasts less than
   ``attempt_runway_months``, or a venture-backed firm whose last round's planned runway
   (``runway_target_years``) is that close to spent, runs a round with probability
   ``attempt_probability`` a month; a fast grower (last twelve months' log growth above 0.3)
   raises without need with probability ``growth_attempt_probability``; never more often than
   ``min_months_between_rounds``.
2. **Price** (:meth:`~EquityRounds.price`). Investors see a noisy signal of latent quality plus
   recent growth, ``signal = q + screening_noise * e + growth_signal_weight * g12``. Pre-money =
   ``max(round floor, revenue * revenue_multiple * exp(growth_multiple_elasticity * g12 +
   signal_multiple_elasticity * signal) * heat ** heat_multiple_elasticity)`` (g12 within
   [-1, 1.5] and the signal within [-3, 3] sd: multiples do not explode for outliers), and for a
   firm that grew over the last year at least its last post-money grown with it
   (``last_round_anchor``). The round is the next in the firm's sequence (seed, A, B, C, D+), or
   a later one if the price already reaches that round's floor: a bootstrapped firm raising its
   first money at a large valuation does a growth round with VC funds, not a seed round. The
   price comes before screening because it fixes the round, and so the bar.
3. **Screen** (:meth:`~EquityRounds.screen`). Investors fund the round with probability
   ``logistic(screening_slope * (signal - bar[round] + heat_bar_elasticity * ln heat))``, the
   bar shifted by policies (the ``screen_shift`` lever and firm support): hot tracks are easier
   to raise in. A round that passes sells a share ``d ~ U(dilution_min, dilution_max)``, so it
   raises ``pre * d / (1 - d)``.
4. **Allocate** (:meth:`~EquityRounds.allocate`). Seed rounds go to angels, rounds A-B to
   early-stage VC funds, C and later to late-stage funds (falling back on the other VC focus when
   one side has no money). A fund is drawn with probability proportional to its free money
   times its preference for the firm's track; a round larger than half of the largest free fund
   is scaled down to that size (the firm is still priced; it raises what one lead can carry); a
   fund that would over-commit in the month keeps its best applicants (by screening margin) and
   drops the rest, who may try again later. A venture-backed firm that passed screening but found
   no new lead is carried by its last lead alone (an inside round) if that fund still has the
   money. The previous lead takes ``insider_share`` of a later round from its reserves; in tracks
   of the mandated directions a guidance fund adds ``coinvest_ratio`` per unit of VC money (in
   whole, best applicants first, while its money lasts).
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

from agents.firms.rules import yearly_burn
from agents.investors.books import GuidanceFund, VCFund
from agents.investors.matching import (
    SLOT_ATTEMPT,
    SLOT_DILUTION,
    SLOT_NOISE,
    SLOT_PASS,
    SLOT_PICK,
    fit_capacity,
    logistic,
    pick,
)
from sim.core.vocabulary import EQUITY_ROUNDS
from sim.tracks import attention

__all__ = ["EquityRounds", "Applicants", "Participations"]

LAST_ROUND = EQUITY_ROUNDS - 1  # D+: every later round is a D+ round


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
        #: cumulative counts by round (seed .. D+): firms that tried, passed screening, got money
        self.round_stats = {k: np.zeros(EQUITY_ROUNDS, dtype=np.int64) for k in ("attempts", "passed", "funded")}
        self.inside_rounds = 0  # rounds carried by the last lead alone

    def step(self) -> None:
        """This month's rounds: candidates -> price -> screen -> allocate -> settle."""
        step = self.model.current_step
        if self.model.population.n == 0:
            return
        rows = self.candidates(step)
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
        """Rows of the firms that run a round this month."""
        m = self.model
        pop = m.population
        fcfg = m.cfg.ecosystem.funding
        firm_cfg = m.cfg.ecosystem.firms
        burn = yearly_burn(pop, firm_cfg)
        # venture-backed firms raise on a cadence: when the last round's planned runway is nearly spent
        since = step - pop["last_round"]
        due = (pop["rounds"] >= 1) & (since >= 12.0 * firm_cfg.runway_target_years - fcfg.attempt_runway_months)
        short = (burn > 0) & (pop["cash"] * 12.0 < fcfg.attempt_runway_months * burn)
        eager = pop["growth_12m"] > 0.3
        ready = since >= fcfg.min_months_between_rounds
        cand = np.flatnonzero((short | due | eager) & ready)
        if cand.size == 0:
            return cand
        # keyed draws only for the candidates: a firm's draw does not depend on who else is drawn
        u = m.draws["finance"].uniform(pop["hkey"][cand], step, SLOT_ATTEMPT, prehashed=True)
        need = (short[cand] | due[cand]) & (u < fcfg.attempt_probability)
        keen = eager[cand] & (u < fcfg.growth_attempt_probability)
        return cand[need | keen]

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
        rev = pop["revenue"][rows]
        mult = fcfg.revenue_multiple * np.exp(
            fcfg.growth_multiple_elasticity * np.clip(g12, -1.0, 1.5)
            + fcfg.signal_multiple_elasticity * np.clip(signal, -3.0, 3.0)
        ) * heat**fcfg.heat_multiple_elasticity
        pre = rev * mult
        if fcfg.last_round_anchor > 0:
            # a growing firm is rarely priced below its last round: the last post-money, grown
            # with the firm (down rounds still happen to firms that shrink)
            anchor = pop["valuation"][rows] * np.exp(fcfg.last_round_anchor * np.maximum(g12, 0.0))
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
        self.round_stats["attempts"] += np.bincount(app.rnd, minlength=EQUITY_ROUNDS)
        self.round_stats["passed"] += np.bincount(app.rnd[passed], minlength=EQUITY_ROUNDS)
        app.bar = bar
        app = app.take(passed)
        d = fcfg.dilution_min + (fcfg.dilution_max - fcfg.dilution_min) * draws.uniform(app.key, step, SLOT_DILUTION)
        app.amount = app.pre * d / (1.0 - d)
        app.u_pick = draws.uniform(app.key, step, SLOT_PICK)
        app.rank = -(app.signal - app.bar)  # when money is short, investors take the best applicants first
        return app

    # ------------------------------------------------------------------ 4. allocate
    def allocate(self, app: Applicants, step: int) -> tuple[Applicants, Participations | None]:
        """Who leads each round (angels, VC funds, the last lead in an inside round), and who
        joins it (insiders, guidance funds). Returns the funded applicants and the participations
        (None when no round found money)."""
        app.lead = np.full(app.rows.size, -1, dtype=np.int64)
        self._lead_angels(app)
        self._lead_funds(app, step)
        app.lead_amount = app.amount.copy()
        self._inside_rounds(app, step)
        funded = app.lead >= 0
        self.round_stats["funded"] += np.bincount(app.rnd[funded], minlength=EQUITY_ROUNDS)
        app = app.take(funded)
        if not funded.any():
            return app, None
        n_deals = app.rows.size
        app.vc_lead = np.array([isinstance(self.market.investors[i], VCFund) for i in app.lead], dtype=bool)
        parts_inv = [app.lead]
        parts_amt = [app.lead_amount]
        parts_partner = [np.full(n_deals, -1, dtype=np.int64)]
        self._insiders(app, step, parts_inv, parts_amt, parts_partner)
        self._guidance(app, step, parts_inv, parts_amt, parts_partner)
        parts = Participations(
            investor=np.concatenate(parts_inv),
            amount=np.concatenate(parts_amt),
            partner=np.concatenate(parts_partner),
            deal=np.tile(np.arange(n_deals), len(parts_inv)),
        )
        return app, parts

    def _lead_angels(self, app: Applicants) -> None:
        """Seed rounds: an angel with the money, drawn by free money."""
        angels = self.market.angels
        seed = app.rnd == 0
        if not (seed.any() and angels):
            return
        cap = np.array([a.available() for a in angels])
        j = np.flatnonzero(seed)
        chosen = pick(cap[:, None], np.zeros(j.size, dtype=np.int64), app.u_pick[j])
        ok = fit_capacity(chosen, app.amount[j], cap, app.rank[j])
        app.lead[j[ok]] = np.array([angels[p].index for p in chosen[ok]], dtype=np.int64)

    def _lead_funds(self, app: Applicants, step: int) -> None:
        """Venture rounds: early funds for A-B, late funds for C+ (falling back on early funds),
        drawn by free money times track preference; a round is scaled down to half of the
        largest free fund."""
        funds = self.market.open_funds()
        if not funds:
            return
        prefs, early = self.market.fund_view(funds, self.model.tracks.n)
        remaining = np.array([f.available_new(step) for f in funds])
        rnd, amount, lead = app.rnd, app.amount, app.lead
        # later rounds first; they may fall back on early funds, but A-B rounds stay with early funds
        for stage_mask, groups in (((rnd >= 3), (~early, early)), (((rnd >= 1) & (rnd <= 2)), (early,))):
            for group in groups:
                j = np.flatnonzero(stage_mask & (lead < 0))
                if j.size == 0:
                    break
                capg = np.where(group, remaining, 0.0)
                if capg.sum() <= 0:
                    continue
                # a round larger than half of the largest free fund is scaled down to that
                # size: the firm still gets priced, and raises what one lead can carry
                amt = np.minimum(amount[j], 0.5 * capg.max())
                chosen = pick(capg[:, None] * prefs, app.track[j], app.u_pick[j])
                ok = fit_capacity(chosen, amt, capg, app.rank[j])
                if ok.any():
                    amount[j[ok]] = amt[ok]
                    used = np.bincount(chosen[ok], weights=amount[j][ok], minlength=len(funds))
                    remaining -= used
                    lead[j[ok]] = np.array([funds[p].index for p in chosen[ok]], dtype=np.int64)

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
        # money each fund still has this month after leading new deals
        led = np.bincount(lead[lead >= 0], weights=lead_amt[lead >= 0], minlength=len(investors))
        room = {int(i): investors[int(i)].available_followon(step) - led[int(i)] for i in np.unique(prev_all[j])}
        for d in order:
            i = int(prev_all[d])
            if room[i] >= app.amount[d]:
                lead[d] = i
                room[i] -= app.amount[d]
                self.inside_rounds += 1

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
        want = fcfg.insider_share * app.lead_amount[j] / (1.0 - fcfg.insider_share)
        uniq = np.unique(prev[j])
        led = np.bincount(app.lead, weights=app.lead_amount, minlength=len(investors))
        avail = {int(i): max(0.0, investors[int(i)].available_followon(step) - led[int(i)]) for i in uniq}
        demand = np.bincount(np.searchsorted(uniq, prev[j]), weights=want, minlength=uniq.size)
        ratio = np.array(
            [min(1.0, avail[int(i)] / dmd) if dmd > 0 else 0.0 for i, dmd in zip(uniq, demand, strict=True)]
        )
        got = want * ratio[np.searchsorted(uniq, prev[j])]
        keep = got > 1e-9
        inv = np.full(n_deals, -1, dtype=np.int64)
        amt = np.zeros(n_deals)
        inv[j[keep]] = prev[j[keep]]
        amt[j[keep]] = got[keep]
        parts_inv.append(inv)
        parts_amt.append(amt)
        parts_partner.append(np.full(n_deals, -1, dtype=np.int64))

    def _guidance(self, app: Applicants, step: int, parts_inv, parts_amt, parts_partner) -> None:
        """Guidance funds add ``coinvest_ratio`` per unit of VC money in rounds of their mandated
        tracks. The preset's funds share one participation per deal; a fund added by a policy
        (``stacks=True``) comes on top of them. A fund short of money co-invests in whole, in the
        best applicants first (like a VC fund, :func:`fit_capacity`); the rest may meet the next fund."""
        m = self.model
        n_deals = app.rows.size
        gfunds = [g for g in self.market.investors if isinstance(g, GuidanceFund) and g.available(step) > 0]
        pools = [[g for g in gfunds if not g.stacks]] + [[g] for g in gfunds if g.stacks]
        is_vc_lead = app.vc_lead
        vc_amt = app.lead_amount * is_vc_lead
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
                # how many rounds the month has, so neither on scale)
                ok = fit_capacity(np.zeros(j.size, dtype=np.int64), want, np.array([g.available(step)]), app.rank[j])
                inv[j[ok]] = g.index
                amt[j[ok]] = want[ok]
            parts_inv.append(inv)
            parts_amt.append(amt)
            parts_partner.append(np.where(inv >= 0, app.lead, -1))

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
        for i in np.flatnonzero(per_inv > 0):
            agent = market.investors[i]
            market.flows[agent.kind] += per_inv[i]
            agent.invest(float(per_inv[i]))
        m.ledger.equity_in += float(amt_all.sum())
        attention.add_money(m.tracks, app.track[deal_idx], amt_all)

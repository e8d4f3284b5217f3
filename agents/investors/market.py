"""The capital market: financing rounds, bank loans, exits and the investors' books.

Rounds (vectorised over all firms looking for money in a month):

1. **Who looks for money.** A firm whose cash lasts less than ``attempt_runway_months``, or
   a venture-backed firm whose last round's planned runway (``runway_target_years``) is that
   close to spent, runs a round with probability ``attempt_probability`` a month; a fast grower (last
   twelve months' log growth above 0.3) raises without need with probability
   ``growth_attempt_probability``; never more often than ``min_months_between_rounds``.
2. **Round.** The next round in the firm's sequence (seed, A, B, C, D+), or a later one if
   the price below already reaches that round's floor: a bootstrapped firm raising its first
   money at a large valuation does a growth round with VC funds, not a seed round.
3. **Screening.** Investors see a noisy signal of latent quality plus recent growth,
   ``signal = q + screening_noise * e + growth_signal_weight * g12``, and fund the round with
   probability ``logistic(screening_slope * (signal - bar[round] + heat_bar_elasticity * ln heat))``:
   hot tracks are easier to raise in.
4. **Pricing.** Pre-money = ``max(round floor, revenue * revenue_multiple *
   exp(growth_multiple_elasticity * g12 + signal_multiple_elasticity * signal) *   (g12 within
   [-1, 1.5] and the signal within [-3, 3] sd: multiples do not explode for outliers)
   heat ** heat_multiple_elasticity)``, and for a firm that grew over the last year at least
   its last post-money grown with it (``last_round_anchor``); the round sells a share ``d ~ U(dilution_min,
   dilution_max)``, so it raises ``pre * d / (1 - d)``.
5. **Who invests.** Seed rounds go to angels, rounds A-B to early-stage VC funds, C and later
   to late-stage funds (falling back on the other VC focus when one side has no money). A fund
   is drawn with probability proportional to its free money times its preference for the
   firm's track; a round larger than half of the largest free fund is scaled down to that size
   (the firm is still priced; it raises what one lead can carry); a fund that would over-commit
   in the month keeps its best applicants (by screening margin) and drops the rest, who may try
   again later. The
   previous lead takes ``insider_share`` of a later round from its reserves; a venture-backed
   firm that passed screening but found no new lead is carried by its last lead alone (an
   inside round) if that fund still has the money. In tracks of the
   mandated directions a guidance fund adds ``coinvest_ratio`` per unit of VC money.
6. **Books.** Each participation is a *lot*: money in, shares bought (new shares are issued,
   so earlier holders are diluted). Exits pay lots pro rata to their shares after debt is
   repaid; failures write them off; firms that age out of the young-firm population leave
   their lots unrealised at the last valuation.

Banks lend ``loan_to_revenue`` of yearly revenue to firms with enough revenue and margin, on
amortising terms; on failure a bank recovers ``recovery_rate`` of what is outstanding.

VC funds live ``life_years``; their managers raise the next fund ``raise_after_years`` after
the last vintage if the interim TVPI (distributions plus marked value over paid-in) is at least
``min_tvpi_to_raise``, sized ``last size * TVPI ** tvpi_size_elasticity`` (0.5x to 2.5x), within
the limited partners' commitments for the year; new managers get ``newcomer_share`` of them.
"""

from __future__ import annotations

import numpy as np

from agents.firms.rules import wage_bill, yearly_burn
from agents.investors.books import Angel, Bank, GuidanceFund, VCFund
from sim.core.clock import DT
from sim.core.vocabulary import LOAN_ROUND
LOT_OPEN, LOT_REALIZED, LOT_WRITTEN_OFF, LOT_UNREALIZED = 0, 1, 2, 3
LOT_STATUS = ("unrealized", "realized", "written_off", "unrealized")

# slots of the keyed "finance" stream
(_ATTEMPT, _NOISE, _PASS, _DILUTION, _PICK, _BANK_APPLY, _BANK_PICK, _IPO, _IPO_UPLIFT, _ACQ, _ACQ_PRICE) = range(11)


class _Columns:
    """Append-only columnar store (for lots and deals)."""

    def __init__(self, spec: dict[str, type], capacity: int = 4096):
        self.spec = spec
        self.n = 0
        self.c = {k: np.zeros(capacity, dtype=t) for k, t in spec.items()}

    def append(self, **values) -> slice:
        k = len(next(iter(values.values())))
        need = self.n + k
        cap = len(next(iter(self.c.values())))
        if need > cap:
            new_cap = max(need, 2 * cap)
            for name, arr in self.c.items():
                new = np.zeros(new_cap, dtype=arr.dtype)
                new[: self.n] = arr[: self.n]
                self.c[name] = new
        sl = slice(self.n, need)
        for name in self.spec:
            self.c[name][sl] = values[name]
        self.n = need
        return sl

    def __getitem__(self, name: str) -> np.ndarray:
        return self.c[name][: self.n]


LOT_SPEC = {
    "investor": np.int64,  # index into CapitalMarket.investors
    "firm": np.int64,
    "step": np.int32,
    "invested": np.float64,
    "shares": np.float64,
    "proceeds": np.float64,
    "residual": np.float64,
    "status": np.int8,
    "partner": np.int64,  # guidance lots: index of the co-investing VC, else -1
}
DEAL_SPEC = {
    "step": np.int32,
    "investor": np.int64,
    "firm": np.int64,
    "round": np.int8,
    "amount": np.float64,
    "pre_money": np.float64,
    "post_money": np.float64,
    "track": np.int32,
}


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _pick(weights: np.ndarray, tracks: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each deal (track ``tracks[j]``, uniform ``u[j]``) draw an investor row of ``weights``
    (investors x tracks), proportionally to the weights in the deal's track column.
    Returns -1 where the column has no weight.

    All columns are searched at once: each column's cumulative weights are scaled to (0, 1]
    and shifted by the column index, so one sorted array holds every column in turn and one
    ``searchsorted`` answers every deal (O(deals log(investors x tracks)))."""
    n_inv, n_cols = weights.shape
    if n_inv == 0 or len(tracks) == 0:
        return np.full(len(tracks), -1, dtype=np.int64)
    cum = np.cumsum(weights, axis=0)
    total = cum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(total > 0, cum / total, 1.0)
    keys = (scaled + np.arange(n_cols)[None, :]).T.ravel()  # column-major: column c occupies [c, c+1]
    target = tracks + u
    idx = np.searchsorted(keys, target, side="right") - tracks * n_inv
    idx = np.clip(idx, 0, n_inv - 1)
    return np.where(total[tracks] > 0, idx, -1)


def _fit_capacity(investor: np.ndarray, amount: np.ndarray, capacity: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """Accept deals in ``order_key`` order per investor while the running sum fits capacity."""
    ok = investor >= 0
    if not ok.any():
        return ok
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((order_key[idx], investor[idx]))]
    inv = investor[order]
    amt = amount[order]
    csum = np.cumsum(amt)
    starts = np.r_[0, np.flatnonzero(np.diff(inv)) + 1]
    offset = np.repeat(csum[starts] - amt[starts], np.diff(np.r_[starts, len(inv)]))
    running = csum - offset
    accept = np.zeros(len(investor), dtype=bool)
    accept[order] = running <= capacity[inv] * (1 + 1e-12)
    return accept


class CapitalMarket:
    """Investors, lots, deals and the financing, lending and exit rules of one model."""

    def __init__(self, model):
        self.model = model
        self.investors: list = []  # every investor agent ever, index = position here
        self.lots = _Columns(LOT_SPEC)
        self.deals = _Columns(DEAL_SPEC)
        self.managers: dict[int, VCFund] = {}  # manager id -> latest fund
        self._next_manager = 0
        self.flows = {"angel": 0.0, "vc": 0.0, "guidance_fund": 0.0, "bank": 0.0}
        self._angels: list[Angel] = []
        self._view: dict | None = None  # cached open funds and their preferences
        # cumulative counts by round (seed, A, B, C, D+): firms that tried, passed screening, got money
        self.round_stats = {k: np.zeros(5, dtype=np.int64) for k in ("attempts", "passed", "funded")}
        self.inside_rounds = 0

    # ------------------------------------------------------------------ investors
    def add(self, agent) -> int:
        agent.index = len(self.investors)
        self.investors.append(agent)
        if isinstance(agent, Angel):
            self._angels.append(agent)
        self._view = None
        return agent.index

    def _open_funds(self) -> list:
        if self._view is None:
            self._view = {"funds": [a for a in self.investors if isinstance(a, VCFund) and not a.closed]}
        return self._view["funds"]

    def _fund_view(self, funds: list, n_tracks: int):
        """(preferences matrix funds x tracks, early-focus mask), rebuilt only when funds,
        their preferences or the tracks change."""
        view = self._view
        if view.get("n_tracks") != n_tracks:
            prefs = np.zeros((len(funds), n_tracks))
            for i, f in enumerate(funds):
                k = min(len(f.prefs), n_tracks)
                prefs[i, :k] = f.prefs[:k]
            view["prefs"] = prefs
            view["early"] = np.array([f.focus == "early" for f in funds])
            view["n_tracks"] = n_tracks
        return view["prefs"], view["early"]

    def of_kind(self, cls) -> list:
        return [a for a in self.investors if isinstance(a, cls)]

    def new_manager_id(self) -> int:
        self._next_manager += 1
        return self._next_manager

    # ------------------------------------------------------------------ equity rounds
    def financing(self, step: int) -> None:
        m = self.model
        pop = m.population
        if pop.n == 0:
            return
        fcfg = m.cfg.ecosystem.funding
        firm_cfg = m.cfg.ecosystem.firms
        draws = m.draws["finance"]
        burn = yearly_burn(pop, firm_cfg)
        # venture-backed firms raise on a cadence: when the last round's planned runway is nearly spent
        since = step - pop["last_round"]
        due = (pop["rounds"] >= 1) & (since >= 12.0 * firm_cfg.runway_target_years - fcfg.attempt_runway_months)
        short = (burn > 0) & (pop["cash"] * 12.0 < fcfg.attempt_runway_months * burn)
        eager = pop["growth_12m"] > 0.3
        ready = since >= fcfg.min_months_between_rounds
        cand = np.flatnonzero((short | due | eager) & ready)
        if cand.size == 0:
            return
        # keyed draws only for the candidates: a firm's draw does not depend on who else is drawn
        u = draws.uniform(pop["hkey"][cand], step, _ATTEMPT, prehashed=True)
        need = (short[cand] | due[cand]) & (u < fcfg.attempt_probability * m.funding_attempt_multiplier)
        keen = eager[cand] & (u < fcfg.growth_attempt_probability)
        rows = cand[need | keen]
        if rows.size == 0:
            return
        k = pop["key"][rows]
        trk = pop["track"][rows]
        heat = np.maximum(m.tracks.heat[trk], 1e-3)
        g12 = np.clip(pop["growth_12m"][rows], -2.0, 3.0)
        signal = pop["quality"][rows] + fcfg.screening_noise * draws.normal(k, step, _NOISE) + fcfg.growth_signal_weight * g12
        # the price investors would pay
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
        # that round's floor (a bootstrapped firm raising its first money at a large valuation
        # does a growth round with VC funds, not a seed round with angels)
        by_count = np.minimum(pop["rounds"][rows], 4).astype(np.int64)
        by_size = np.clip(np.searchsorted(floors, pre, side="right") - 1, 0, 4)
        rnd = np.maximum(by_count, by_size)
        pre = np.maximum(floors[rnd], pre)
        bar = np.asarray(fcfg.screening_bar)[rnd] - fcfg.heat_bar_elasticity * np.log(heat) + m.screening_shift(trk, rows)
        passed = draws.uniform(k, step, _PASS) < _logistic(fcfg.screening_slope * (signal - bar))
        self.round_stats["attempts"] += np.bincount(rnd, minlength=5)
        self.round_stats["passed"] += np.bincount(rnd[passed], minlength=5)
        if not passed.any():
            return
        rows, k, rnd, trk, heat, g12, signal, pre, bar = (
            a[passed] for a in (rows, k, rnd, trk, heat, g12, signal, pre, bar)
        )
        d = fcfg.dilution_min + (fcfg.dilution_max - fcfg.dilution_min) * draws.uniform(k, step, _DILUTION)
        amount = pre * d / (1.0 - d)
        u_pick = draws.uniform(k, step, _PICK)
        rank = -(signal - bar)  # when money is short, investors take the best applicants first

        n_deals = rows.size
        lead = np.full(n_deals, -1, dtype=np.int64)  # investor index
        # --- seed rounds: angels
        angels = self._angels
        funds = self._open_funds()
        seed = rnd == 0
        if seed.any() and angels:
            cap = np.array([a.available() for a in angels])
            j = np.flatnonzero(seed)
            pick = _pick(cap[:, None], np.zeros(j.size, dtype=np.int64), u_pick[j])
            ok = _fit_capacity(pick, amount[j], cap, rank[j])
            lead[j[ok]] = np.array([angels[p].index for p in pick[ok]], dtype=np.int64)
        # --- venture rounds: early funds for A-B, late funds for C+ (with fallback)
        if funds:
            prefs, early = self._fund_view(funds, m.tracks.n)
            cap_new = np.array([f.available_new(step) for f in funds])
            remaining = cap_new.copy()
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
                    pick = _pick(capg[:, None] * prefs, trk[j], u_pick[j])
                    ok = _fit_capacity(pick, amt, capg, rank[j])
                    if ok.any():
                        amount[j[ok]] = amt[ok]
                        used = np.bincount(pick[ok], weights=amount[j][ok], minlength=len(funds))
                        remaining -= used
                        lead[j[ok]] = np.array([funds[p].index for p in pick[ok]], dtype=np.int64)
        lead_amt = amount.copy()
        # inside rounds: a venture-backed firm that found no new lead is carried by its last lead
        prev_all = pop["lead"][rows]
        inside = (lead < 0) & (rnd >= 1) & (prev_all >= 0)
        if inside.any():
            j = np.flatnonzero(inside)
            order = j[np.argsort(rank[j], kind="stable")]
            # money each fund still has this month after leading new deals
            led = np.bincount(lead[lead >= 0], weights=lead_amt[lead >= 0], minlength=len(self.investors))
            room = {int(i): self.investors[int(i)].available_followon(step) - led[int(i)] for i in np.unique(prev_all[j])}
            for d in order:
                i = int(prev_all[d])
                if room[i] >= amount[d]:
                    lead[d] = i
                    room[i] -= amount[d]
                    self.inside_rounds += 1
        funded = lead >= 0
        self.round_stats["funded"] += np.bincount(rnd[funded], minlength=5)
        if not funded.any():
            return
        sel = np.flatnonzero(funded)
        rows, k, rnd, trk, pre, lead, lead_amt = (a[sel] for a in (rows, k, rnd, trk, pre, lead, lead_amt))
        n_deals = rows.size
        parts_inv = [lead]
        parts_amt = [lead_amt]
        parts_partner = [np.full(n_deals, -1, dtype=np.int64)]
        # --- insiders: the previous VC lead follows on from its reserves
        prev = pop["lead"][rows]
        is_vc_lead = np.array([isinstance(self.investors[i], VCFund) for i in lead])
        ins = (rnd >= 1) & (prev >= 0) & (prev != lead)
        if ins.any() and fcfg.insider_share > 0:
            j = np.flatnonzero(ins)
            want = fcfg.insider_share * lead_amt[j] / (1.0 - fcfg.insider_share)
            uniq = np.unique(prev[j])
            led = np.bincount(lead, weights=lead_amt, minlength=len(self.investors))
            avail = {int(i): max(0.0, self.investors[int(i)].available_followon(step) - led[int(i)]) for i in uniq}
            demand = np.bincount(np.searchsorted(uniq, prev[j]), weights=want, minlength=uniq.size)
            ratio = np.array([min(1.0, avail[int(i)] / dmd) if dmd > 0 else 0.0 for i, dmd in zip(uniq, demand)])
            got = want * ratio[np.searchsorted(uniq, prev[j])]
            keep = got > 1e-9
            inv = np.full(n_deals, -1, dtype=np.int64)
            amt = np.zeros(n_deals)
            inv[j[keep]] = prev[j[keep]]
            amt[j[keep]] = got[keep]
            parts_inv.append(inv)
            parts_amt.append(amt)
            parts_partner.append(np.full(n_deals, -1, dtype=np.int64))
        # --- guidance funds beside VC in mandated directions
        # (the preset's funds share one participation per deal; a fund added by a policy,
        # ``stacks=True``, comes on top of them)
        gfunds = [g for g in self.investors if isinstance(g, GuidanceFund) and g.available(step) > 0]
        pools = [[g for g in gfunds if not g.stacks]] + [[g] for g in gfunds if g.stacks]
        vc_amt = lead_amt * is_vc_lead
        for pool in pools:
            if not pool:
                continue
            inv = np.full(n_deals, -1, dtype=np.int64)
            amt = np.zeros(n_deals)
            for g in pool:
                mandated = np.isin(trk, g.mandated_ids(m.tracks))
                j = np.flatnonzero(mandated & is_vc_lead & (inv < 0))
                if j.size == 0:
                    continue
                want = g.coinvest_ratio * vc_amt[j]
                total = want.sum()
                scale = min(1.0, g.available(step) / total) if total > 0 else 0.0
                inv[j] = g.index
                amt[j] = want * scale
            parts_inv.append(inv)
            parts_amt.append(amt)
            parts_partner.append(np.where(inv >= 0, lead, -1))
        # --- settle: shares, cash, books
        inv_all = np.concatenate(parts_inv)
        amt_all = np.concatenate(parts_amt)
        partner_all = np.concatenate(parts_partner)
        deal_idx = np.tile(np.arange(n_deals), len(parts_inv))
        live = (inv_all >= 0) & (amt_all > 0)
        inv_all, amt_all, partner_all, deal_idx = inv_all[live], amt_all[live], partner_all[live], deal_idx[live]
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
        pop["lead"][rows] = np.where(is_vc_lead, lead, pop["lead"][rows])
        firm_ids = pop["id"][rows]
        self.lots.append(
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
        self.deals.append(
            step=np.full(inv_all.size, step),
            investor=inv_all,
            firm=firm_ids[deal_idx],
            round=rnd[deal_idx].astype(np.int8),
            amount=amt_all,
            pre_money=pre[deal_idx],
            post_money=post[deal_idx],
            track=trk[deal_idx],
        )
        per_inv = np.bincount(inv_all, weights=amt_all, minlength=len(self.investors))
        for i in np.flatnonzero(per_inv > 0):
            agent = self.investors[i]
            self.flows[agent.kind] += per_inv[i]
            agent.invest(float(per_inv[i]))
        m.ledger["equity_in"] += float(amt_all.sum())
        m.attention_money[: m.tracks.n] += np.bincount(trk[deal_idx], weights=amt_all, minlength=m.tracks.n)[: m.tracks.n]

    # ------------------------------------------------------------------ bank loans
    def lending(self, step: int) -> None:
        m = self.model
        pop = m.population
        banks = [b for b in self.investors if isinstance(b, Bank)]
        if pop.n == 0 or not banks:
            return
        bcfg = m.cfg.ecosystem.banks
        fcfg = m.cfg.ecosystem.firms
        draws = m.draws["finance"]
        rev = pop["revenue"]
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = (rev * (1.0 - fcfg.cost_of_revenue) - wage_bill(pop["employees"], fcfg)) / rev
        cand = np.flatnonzero((rev >= bcfg.min_revenue_mcny) & (pop["debt"] <= 0) & (margin >= bcfg.min_margin))
        u = draws.uniform(pop["hkey"][cand], step, _BANK_APPLY, prehashed=True)
        rows = cand[u < bcfg.apply_probability * m.credit_multiplier]
        if rows.size == 0:
            return
        amount = bcfg.loan_to_revenue * rev[rows] * m.loan_size_multiplier
        self.lend_to(rows, amount, step, draws.uniform(pop["key"][rows], step, _BANK_PICK))

    def lend_to(self, rows: np.ndarray, amount: np.ndarray, step: int, up: np.ndarray) -> np.ndarray:
        """Banks lend ``amount`` to the firms at ``rows`` (live rows without debt), each bank
        drawn with uniforms ``up`` in proportion to its cash, within its cash. Returns the rows
        that got a loan."""
        m = self.model
        pop = m.population
        banks = [b for b in self.investors if isinstance(b, Bank)]
        if rows.size == 0 or not banks:
            return rows[:0]
        cap = np.array([b.cash for b in banks])
        pick = _pick(cap[:, None], np.zeros(rows.size, dtype=np.int64), up)
        ok = _fit_capacity(pick, amount, cap, up)
        if not ok.any():
            return rows[:0]
        rows, amount, pick = rows[ok], amount[ok], pick[ok]
        idx = np.array([banks[p].index for p in pick], dtype=np.int64)
        pop["debt"][rows] = amount
        pop["bank"][rows] = idx
        pay = np.zeros(rows.size)
        for b_i in np.unique(pick):
            sel = pick == b_i
            pay[sel] = banks[b_i].monthly_payment(amount[sel])
            banks[b_i].lend(float(amount[sel].sum()))
        pop["debt_payment"][rows] = pay
        pop["cash"][rows] += amount
        m.ledger["loans_in"] += float(amount.sum())
        self.flows["bank"] += float(amount.sum())
        firm_ids = pop["id"][rows]
        nan = np.full(rows.size, np.nan)
        self.deals.append(
            step=np.full(rows.size, step),
            investor=idx,
            firm=firm_ids,
            round=np.full(rows.size, LOAN_ROUND, dtype=np.int8),
            amount=amount,
            pre_money=nan,
            post_money=nan,
            track=pop["track"][rows],
        )
        return rows

    def service_loans(self, step: int) -> None:
        """Monthly interest and principal from borrowers to their banks."""
        m = self.model
        pop = m.population
        rows = np.flatnonzero(pop["debt"] > 0)
        if rows.size == 0:
            return
        bank_rate = np.array([getattr(self.investors[i], "rate", 0.0) for i in range(len(self.investors))])
        b = pop["bank"][rows]
        debt = pop["debt"][rows]
        interest = debt * bank_rate[b] / 12.0
        payment = np.minimum(pop["debt_payment"][rows], debt + interest)
        principal = payment - interest
        new_debt = debt - principal
        done = new_debt <= 1e-9
        pop["debt"][rows] = np.where(done, 0.0, new_debt)
        pop["debt_payment"][rows] = np.where(done, 0.0, pop["debt_payment"][rows])
        pop["bank"][rows] = np.where(done, -1, b)
        pop["cash"][rows] -= payment
        m.ledger["debt_service"] += float(payment.sum())
        tot_p = np.bincount(b, weights=principal, minlength=len(self.investors))
        tot_i = np.bincount(b, weights=interest, minlength=len(self.investors))
        for i in np.flatnonzero((tot_p != 0) | (tot_i != 0)):
            self.investors[i].collect(float(tot_p[i]), float(tot_i[i]))

    # ------------------------------------------------------------------ exits and ends
    def exits(self, step: int) -> dict[str, np.ndarray]:
        """Draw IPOs and acquisitions. Returns the rows and values of each kind (not yet ended)."""
        m = self.model
        pop = m.population
        out = {"ipo": (np.empty(0, np.int64), np.empty(0)), "acquired": (np.empty(0, np.int64), np.empty(0))}
        if pop.n == 0:
            return out
        ecfg = m.cfg.ecosystem.exits
        draws = m.draws["finance"]
        keys = pop["key"]
        val = pop["valuation"]
        rev = pop["revenue"]
        relief = m.track_array("ipo_relief", 0.0)  # policies: a listing route with lower thresholds
        if relief.any():
            cut = 1.0 - relief[pop["track"]]
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny * cut) & (rev >= ecfg.ipo_min_revenue_mcny * cut))
        else:
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny) & (rev >= ecfg.ipo_min_revenue_mcny))
        cand = cand[(step - pop["born"][cand]) >= 12.0 * ecfg.ipo_min_age_years]
        p_ipo = 1.0 - np.exp(-ecfg.ipo_rate * m.ipo_multiple * DT)
        r_ipo = cand[draws.uniform(pop["hkey"][cand], step, _IPO, prehashed=True) < p_ipo]
        v_ipo = val[r_ipo] * np.exp(ecfg.ipo_uplift_mean + ecfg.ipo_uplift_sigma * draws.normal(keys[r_ipo], step, _IPO_UPLIFT))
        acq_ok = pop["employees"] >= ecfg.acquisition_min_employees
        acq_ok[r_ipo] = False
        cand = np.flatnonzero(acq_ok)
        p_acq = 1.0 - np.exp(-ecfg.acquisition_rate * m.acquisition_multiple * DT)
        r_acq = cand[draws.uniform(pop["hkey"][cand], step, _ACQ, prehashed=True) < p_acq]
        base = np.maximum(val[r_acq], ecfg.acquisition_revenue_multiple * rev[r_acq])
        v_acq = base * np.exp(ecfg.acquisition_price_mean + ecfg.acquisition_price_sigma * draws.normal(keys[r_acq], step, _ACQ_PRICE))
        out["ipo"] = (r_ipo, v_ipo)
        out["acquired"] = (r_acq, v_acq)
        return out

    def _open_lots(self, firm_ids: np.ndarray) -> np.ndarray:
        lots = self.lots
        if lots.n == 0 or firm_ids.size == 0:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(np.isin(lots["firm"], firm_ids) & (lots["status"] == LOT_OPEN))

    def _lots_of_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open lots in the firms at ``rows``: (lot indices, position of each lot's firm in
        ``rows``, each lot's fraction of its firm's shares)."""
        pop = self.model.population
        firm_ids = pop["id"][rows]
        li = self._open_lots(firm_ids)
        if li.size == 0:
            return li, li, np.empty(0)
        order = np.argsort(firm_ids)
        pos = order[np.searchsorted(firm_ids[order], self.lots["firm"][li])]
        return li, pos, self.lots["shares"][li] / pop["shares"][rows][pos]

    def settle_exit(self, rows: np.ndarray, values: np.ndarray, step: int) -> None:
        """Pay out an exit at ``values``: banks first (from the firm's cash), then every lot pro
        rata to its shares."""
        m = self.model
        if rows.size == 0:
            return
        self._repay_debt(rows)
        equity = np.maximum(values, 0.0)
        li, pos, frac = self._lots_of_rows(rows)
        if li.size == 0:
            return
        lots = self.lots
        gross = frac * equity[pos]
        kind = np.array([self.investors[i].kind for i in lots["investor"][li]])
        net = gross.copy()
        ceded = np.zeros_like(gross)
        for j in np.flatnonzero(kind == "guidance_fund"):
            g = self.investors[lots["investor"][li[j]]]
            years = (step - lots["step"][li[j]]) / 12.0
            net[j] = g.capped(lots["invested"][li[j]], gross[j], years)
            ceded[j] = gross[j] - net[j]
        lots.c["proceeds"][li] = net
        lots.c["status"][li] = LOT_REALIZED
        per_inv = np.bincount(lots["investor"][li], weights=net, minlength=len(self.investors))
        partners = lots["partner"][li]
        has = (ceded > 0) & (partners >= 0)
        if has.any():
            per_inv += np.bincount(partners[has], weights=ceded[has], minlength=len(self.investors))
            for j in np.flatnonzero(has):
                self.investors[lots["investor"][li[j]]].excess_ceded += ceded[j]
            # the partner's extra proceeds are booked on its own lot in that firm
            self._book_ceded(li[has], partners[has], ceded[has])
        for i in np.flatnonzero(per_inv > 0):
            self.investors[i].receive(float(per_inv[i]))

    def _book_ceded(self, lot_idx: np.ndarray, partners: np.ndarray, amounts: np.ndarray) -> None:
        lots = self.lots
        for li, p, a in zip(lot_idx, partners, amounts):
            firm = lots["firm"][li]
            cand = np.flatnonzero((lots["firm"] == firm) & (lots["investor"] == p))
            if cand.size:
                lots.c["proceeds"][cand[0]] += a
            else:  # no own lot (should not happen): book a zero-cost lot
                lots.append(investor=[p], firm=[firm], step=[lots["step"][li]], invested=[0.0], shares=[0.0],
                            proceeds=[a], residual=[0.0], status=[LOT_REALIZED], partner=[-1])

    def _repay_debt(self, rows: np.ndarray) -> None:
        """A firm leaving the population repays its bank loan in full from its cash."""
        pop = self.model.population
        debt = pop["debt"][rows]
        has = debt > 0
        if not has.any():
            return
        r = rows[has]
        d = debt[has]
        b = pop["bank"][r]
        pop["cash"][r] -= d
        self.model.ledger["debt_service"] += float(d.sum())
        tot = np.bincount(b, weights=d, minlength=len(self.investors))
        for i in np.flatnonzero(tot > 0):
            self.investors[i].collect(float(tot[i]), 0.0)
        pop["debt"][r] = 0.0
        pop["debt_payment"][r] = 0.0
        pop["bank"][r] = -1

    def write_off(self, rows: np.ndarray) -> None:
        """Failed firms: equity lots are written off, banks recover part of the loan."""
        m = self.model
        pop = m.population
        if rows.size == 0:
            return
        li = self._open_lots(pop["id"][rows])
        if li.size:
            self.lots.c["status"][li] = LOT_WRITTEN_OFF
        debt = pop["debt"][rows]
        has = debt > 0
        if has.any():
            rr = m.cfg.ecosystem.banks.recovery_rate
            b = pop["bank"][rows][has]
            d = debt[has]
            tot = np.bincount(b, weights=d, minlength=len(self.investors))
            for i in np.flatnonzero(tot > 0):
                self.investors[i].write_off(float(tot[i]), float(tot[i] * rr))
            pop["debt"][rows[has]] = 0.0
            pop["debt_payment"][rows[has]] = 0.0
            pop["bank"][rows[has]] = -1

    def mark_unrealized(self, rows: np.ndarray) -> None:
        """Firms leaving the young-firm population alive: lots stay, marked at the last valuation."""
        pop = self.model.population
        if rows.size == 0:
            return
        self._repay_debt(rows)
        li, pos, frac = self._lots_of_rows(rows)
        if li.size == 0:
            return
        self.lots.c["residual"][li] = frac * pop["valuation"][rows][pos]
        self.lots.c["status"][li] = LOT_UNREALIZED

    def _marked_value(self, lot_idx: np.ndarray) -> np.ndarray:
        """Value of lots at their live firm's last post-money valuation, pro rata to shares."""
        pop = self.model.population
        rows = pop.row_of[self.lots["firm"][lot_idx]]
        ok = rows >= 0
        v = np.zeros(lot_idx.size)
        v[ok] = self.lots["shares"][lot_idx][ok] / pop.cols["shares"][rows[ok]] * pop.cols["valuation"][rows[ok]]
        return v

    def nav(self) -> np.ndarray:
        """Marked value of open and unrealised lots per investor."""
        lots = self.lots
        out = np.zeros(len(self.investors))
        if lots.n == 0:
            return out
        open_ = np.flatnonzero(lots["status"] == LOT_OPEN)
        if open_.size:
            out += np.bincount(lots["investor"][open_], weights=self._marked_value(open_), minlength=len(self.investors))
        unr = np.flatnonzero(lots["status"] == LOT_UNREALIZED)
        if unr.size:
            out += np.bincount(lots["investor"][unr], weights=lots["residual"][unr], minlength=len(self.investors))
        return out

    def close_books(self) -> None:
        """End of run: open lots become unrealised at the current valuation."""
        lots = self.lots
        open_ = np.flatnonzero(lots["status"] == LOT_OPEN)
        if open_.size == 0:
            return
        lots.c["residual"][open_] = self._marked_value(open_)
        lots.c["status"][open_] = LOT_UNREALIZED

    # ------------------------------------------------------------------ fund cycle
    def fund_cycle(self, step: int) -> None:
        """Once a year: angels renew budgets, funds past their life wind down, managers raise."""
        m = self.model
        vcfg = m.cfg.ecosystem.vc
        rng = m.streams["vc_funds"]
        for a in self.investors:
            if isinstance(a, Angel):
                a.new_year()
            elif isinstance(a, VCFund) and not a.closed and a.age_years(step) >= a.life_years:
                a.wind_down()
                self._view = None
        budget = vcfg.commitments_mcny_per_year * m.scale * m.lp_multiplier
        newcomer_budget = budget * vcfg.newcomer_share
        incumbent_budget = budget - newcomer_budget
        nav = self.nav()
        # incumbents, in a random order, raise while commitments last
        due = [f for f in self.managers.values() if (step - f.vintage_step) / 12.0 >= vcfg.raise_after_years]
        order = rng.permutation(len(due)) if due else []
        for i in order:
            f = due[i]
            paid = f.invested
            tvpi = (f.proceeds + nav[f.index]) / paid if paid > 0 else 1.0
            if tvpi < vcfg.min_tvpi_to_raise:
                self.managers.pop(f.manager_id, None)
                continue
            size = f.size * float(np.clip(tvpi**vcfg.tvpi_size_elasticity, 0.5, 2.5))
            if size > incumbent_budget:
                continue
            incumbent_budget -= size
            self.new_fund(step, manager_id=f.manager_id, size=size, focus=f.focus, prefs=f.prefs.copy())
        # newcomers
        while True:
            size = vcfg.fund_size_mcny * float(np.exp(vcfg.fund_size_sigma * rng.standard_normal()))
            size = min(size, max(newcomer_budget, 0.0)) if newcomer_budget < size and newcomer_budget > 0.2 * vcfg.fund_size_mcny else size
            if size > newcomer_budget or size <= 0:
                break
            newcomer_budget -= size
            focus = "early" if rng.random() < vcfg.early_stage_share else "late"
            self.new_fund(step, manager_id=self.new_manager_id(), size=size, focus=focus, prefs=self.initial_prefs(rng))

    def initial_prefs(self, rng: np.random.Generator) -> np.ndarray:
        """A new manager's track preferences: a few favourite tracks, sized by market and heat."""
        t = self.model.tracks
        w = np.where(t.active, np.sqrt(t.market) * t.heat, 0.0) * np.exp(1.5 * rng.standard_normal(t.n))
        s = w.sum()
        return w / s if s > 0 else np.full(t.n, 1.0 / max(t.n, 1))

    def new_fund(self, step: int, *, manager_id: int, size: float, focus: str, prefs: np.ndarray) -> VCFund:
        m = self.model
        vcfg = m.cfg.ecosystem.vc
        f = VCFund(
            m,
            f"VC fund {len(self.investors)} (manager {manager_id}, {m.year_of(step)})",
            manager_id=manager_id,
            vintage_step=step,
            size=size,
            focus=focus,
            prefs=prefs,
            life_years=vcfg.life_years * m.fund_life_multiplier,
            investment_period_years=vcfg.investment_period_years,
            reserve_ratio=vcfg.reserve_ratio,
        )
        self.add(f)
        self.managers[manager_id] = f
        return f

    def drift_prefs(self) -> None:
        m = self.model
        heat = np.where(m.tracks.active, m.tracks.heat * np.sqrt(m.tracks.market), 0.0)
        s = heat.sum()
        share = heat / s if s > 0 else heat
        w = m.cfg.ecosystem.vc.heat_following
        for f in self.investors:
            if isinstance(f, VCFund) and not f.closed:
                f.drift_prefs(share, w)
        self._view = None

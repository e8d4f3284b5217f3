"""Exits: IPOs and acquisitions, and how their proceeds reach the investors.

Each month (:meth:`Exits.step`):

* **IPOs**: a firm at least ``ipo_min_age_years`` old with a valuation of at least
  ``ipo_min_valuation_mcny`` and revenue of at least ``ipo_min_revenue_mcny`` (both cut by the
  ``ipo_relief`` lever of its track) lists with a yearly hazard ``ipo_rate`` (times the
  ``ipo_multiple`` lever), at its last valuation times a log-normal uplift.
* **Outside buyers**: a firm with at least ``acquisition_min_employees`` is acquired with a yearly
  hazard ``acquisition_rate`` (times ``acquisition_multiple``) by a buyer outside the ecosystem's
  incumbents, at the larger of its valuation and ``acquisition_revenue_multiple`` times its sales,
  times a log-normal factor.
* **Strategic acquisitions** by the incumbent firms (:mod:`agents.incumbents`): venture-backed firms
  with traction in their strategic tracks, within their yearly budgets, at the same price times
  ``exp(strategic_premium)``.
* **Harvest sales**: the investors of a VC-led firm with traction sell it at the yearly hazard
  ``harvest_sale_rate`` once its lead fund is past its investment period (the fund must return its
  money), to a strategic incumbent with budget or else to an outside buyer.
* **Team acquisitions** (soft landings): a venture-backed firm out of cash after the financing
  phase, with at least ``distressed_min_employees``, is bought for its team by a strategic incumbent
  or, with probability ``distressed_sale_probability``, an outside buyer, at
  ``acquihire_mcny_per_employee`` per employee; ``acquihire_shareholder_share`` of the price goes
  to the shareholders (the rest to the team) and the buyer takes over what the firm owes, so the
  shareholders get their part less the firm's shortfall.

At an exit the bank is repaid first (from the firm's cash), then the lots by the :func:`waterfall`:
in an acquisition the investors' liquidation preference (``liquidation_preference`` times what each
put in, non-participating, pari passu) comes before the common shares, at an IPO every share
converts. A guidance fund keeps what its return cap allows and cedes the excess to the VC it
co-invested with (让利). A failed firm's cash left after the bank and ``liquidation_cost_months`` of
wages owed goes to its investors by the same waterfall (:meth:`Exits.liquidate`). The acquirer and
the value of every exit are recorded (``firms.acquirer_id``, ``firms.exit_value``). Money in
million CNY.
"""

from __future__ import annotations

import numpy as np

from agents.contracts import sales
from agents.firms.rules import trying, wage_bill
from agents.investors.books import LOT_REALIZED, VCFund
from agents.investors.matching import (
    SLOT_ACQ,
    SLOT_ACQ_PRICE,
    SLOT_DISTRESSED,
    SLOT_DISTRESSED_PRICE,
    SLOT_HARVEST,
    SLOT_HARVEST_PRICE,
    SLOT_IPO,
    SLOT_IPO_UPLIFT,
)
from sim.core.clock import DT

__all__ = ["Exits", "waterfall"]


def waterfall(pos: np.ndarray, frac: np.ndarray, pref: np.ndarray, values: np.ndarray) -> np.ndarray:
    """What each lot receives when its firm is sold or liquidated for ``values`` (one per firm).

    Lot ``j`` holds the fraction ``frac[j]`` of firm ``pos[j]``'s shares and a liquidation
    preference ``pref[j]`` (mcny): non-participating preferred stock, all series pari passu. The
    common holders (the founders: the fraction no lot holds) and the lots that convert share what
    is left after the preferences of the lots that do not convert, pro rata to their shares. A lot
    converts when its share of that is worth more than its preference; lots convert in order of
    their threshold ``pref / frac`` (the firm value per unit of fraction at which converting is
    worth its preference), and the first ``k`` convert where the next threshold is at least the
    resulting value per unit ``(value - preferences not converted) / (common + fractions converted)``.
    When the value does not cover the preferences, they are paid in proportion (pari passu) and the
    common holders get nothing. With every preference 0 this is the pro-rata split ``frac * value``.
    """
    n_lots = pos.size
    out = np.zeros(n_lots)
    if n_lots == 0:
        return out
    values = np.maximum(np.asarray(values, dtype=float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        thr = np.where(pref > 0, np.where(frac > 0, pref / frac, np.inf), 0.0)
    order = np.lexsort((thr, pos))
    p, f, r, t = pos[order], frac[order], pref[order], thr[order]
    n_firms = values.size
    starts = np.r_[0, np.flatnonzero(np.diff(p)) + 1]
    firms = p[starts]
    group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n_lots]))
    pref_total = np.bincount(p, weights=r, minlength=n_firms)
    common = np.maximum(1.0 - np.bincount(p, weights=f, minlength=n_firms), 0.0)
    # cumulative over each firm's lots, in threshold order: fractions and preferences converted
    cf = np.cumsum(f)
    cr = np.cumsum(r)
    cf -= np.repeat(cf[starts] - f[starts], np.diff(np.r_[starts, n_lots]))
    cr -= np.repeat(cr[starts] - r[starts], np.diff(np.r_[starts, n_lots]))
    v = values[p]
    with np.errstate(divide="ignore", invalid="ignore"):
        # value per unit fraction when this lot and every lot before it convert
        pi_k = (v - (pref_total[p] - cr)) / (common[p] + cf)
        pi_0 = (values - pref_total) / common  # nobody converts
    pi_k = np.where(np.isnan(pi_k), 0.0, pi_k)
    pi_0 = np.where(np.isnan(pi_0), 0.0, pi_0)
    nxt = np.r_[t[1:], np.inf]
    last = np.r_[starts[1:] - 1, n_lots - 1]
    nxt[last] = np.inf
    stop = nxt >= pi_k  # converting stops after this lot
    rank = np.arange(n_lots) - starts[group] + 1  # 1-based rank within the firm
    first_stop = np.minimum.reduceat(np.where(stop, rank, n_lots + 1), starts)
    stop0 = t[starts] >= pi_0[firms]
    k = np.where(stop0, 0, first_stop)  # lots converting, per firm with lots
    pick = starts + np.maximum(k, 1) - 1
    price = np.where(k == 0, pi_0[firms], pi_k[pick])
    price_lot = price[group]
    converts = rank <= k[group]
    short = price_lot < 0  # the value does not cover the preferences
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cover = np.where(pref_total[p] > 0, v / pref_total[p], 0.0)
    pay = np.where(converts, f * np.maximum(price_lot, 0.0), np.where(short, r * cover, r))
    out[order] = pay
    return out



class Exits:
    """The exits of one capital market."""

    def __init__(self, market):
        self.market = market
        self.model = market.model

    def step(self) -> None:
        """The exits phase: IPOs and acquisitions by outside buyers (:meth:`draw`), incumbents'
        strategic acquisitions (:meth:`strategic`) and team acquisitions of venture-backed firms
        out of cash (:meth:`distressed`); each is paid out (:meth:`settle`), its acquirer and
        value recorded, and the firms end."""
        m = self.model
        step = m.current_step
        pop = m.population
        drawn = self.draw(step)
        r_ipo, v_ipo = drawn["ipo"]
        r_ext, v_ext = drawn["acquired"]
        r_str, b_str, v_str = self.strategic(step, np.concatenate([r_ipo, r_ext]))
        r_har, b_har, v_har = self.harvest(step, np.concatenate([r_ipo, r_ext, r_str]))
        r_str, b_str, v_str = np.concatenate([r_str, r_har]), np.concatenate([b_str, b_har]), np.concatenate(
            [v_str, v_har])
        r_dis, b_dis, v_dis = self.distressed(step, np.concatenate([r_ipo, r_ext, r_str]))
        pref = m.cfg.ecosystem.exits.liquidation_preference
        # preferred stock converts at a listing; an acquirer pays the preferences first
        self.settle(r_ipo, v_ipo, step, preference=0.0)
        self.settle(np.concatenate([r_ext, r_str]), np.concatenate([v_ext, v_str]), step, preference=pref)
        self.settle(r_dis, v_dis, step, preference=pref, net_of_shortfall=True)
        r_acq = np.concatenate([r_ext, r_str, r_dis])
        rec = pop.records
        ids = {"ipo": pop["id"][r_ipo].copy(), "acquired": pop["id"][r_acq].copy()}
        rec["exit_value"][ids["ipo"]] = v_ipo
        rec["exit_value"][ids["acquired"]] = np.concatenate([v_ext, v_str, v_dis])
        rec["acquirer"][ids["acquired"]] = np.concatenate([np.full(r_ext.size, -1), b_str, b_dis])
        for kind, i in ids.items():
            m.firms.end(i, kind)
        m.counts["exits_ipo"] = len(ids["ipo"])
        m.counts["exits_acquired"] = len(ids["acquired"])
        m.counts["exits_distressed"] = r_dis.size
        m.counts["acquisitions_by_incumbents"] = int((b_str >= 0).sum() + (b_dis >= 0).sum())

    def _price(self, rows: np.ndarray, z: np.ndarray, premium: float = 0.0) -> np.ndarray:
        """What a buyer pays for going firms: the larger of the last valuation and
        ``acquisition_revenue_multiple`` times revenue (with running contracts), times a log-normal factor."""
        ecfg = self.model.cfg.ecosystem.exits
        pop = self.model.population
        base = np.maximum(pop["valuation"][rows], ecfg.acquisition_revenue_multiple * sales(pop, rows))
        return base * np.exp(ecfg.acquisition_price_mean + premium + ecfg.acquisition_price_sigma * z)

    def strategic(self, step: int, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Incumbents' strategic acquisitions (:meth:`agents.incumbents.Incumbents.strategic_targets`)
        at the usual price times ``exp(strategic_premium)``, while the buyers' budgets last:
        (rows, buyer, price)."""
        inc = self.model.incumbents
        rows, buyer, z = inc.strategic_targets(step, taken)
        if rows.size == 0:
            return rows, buyer, np.empty(0)
        price = self._price(rows, z, inc.cfg.strategic_premium)
        ok = inc.buy(buyer, price, distressed=False)
        return rows[ok], buyer[ok], price[ok]

    def harvest(self, step: int, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sales run by the investors of VC-led firms with traction whose lead fund is past its
        investment period, at the yearly hazard ``harvest_sale_rate``: the buyer is a strategic
        incumbent with probability ``1 - exp(-presence)`` if its budget covers the price (with its
        premium), else an outside buyer at the usual price: (rows, buyer or -1, price)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
        if ecfg.harvest_sale_rate <= 0 or pop.n == 0:
            return empty
        investors = self.market.investors
        lead = pop["lead"]
        rows = np.flatnonzero((lead >= 0) & (pop["employees"] >= ecfg.acquisition_min_employees) & ~trying(pop))
        leads = np.unique(lead[rows])
        harvesting = leads[[isinstance(investors[i], VCFund) and investors[i].kind == "vc"
                            and not investors[i].investing(step) for i in leads]]
        rows = rows[np.isin(lead[rows], harvesting)]
        if taken.size:
            rows = pop.without(rows, taken)
        if rows.size == 0:
            return empty
        draws = m.draws["finance"]
        p = 1.0 - np.exp(-ecfg.harvest_sale_rate * m.levers.value("acquisition_multiple") * DT)
        rows = rows[draws.uniform(pop["hkey"][rows], step, SLOT_HARVEST, prehashed=True) < p]
        if rows.size == 0:
            return empty
        z = draws.normal(pop["key"][rows], step, SLOT_HARVEST_PRICE)
        inc = m.incumbents
        buyer = inc.harvest_buyers(rows, step)
        price = self._price(rows, z)
        strategic = buyer >= 0
        if strategic.any():
            price[strategic] = self._price(rows[strategic], z[strategic], inc.cfg.strategic_premium)
            paid = inc.buy(buyer[strategic], price[strategic], distressed=False)
            lost = np.flatnonzero(strategic)[~paid]
            buyer[lost] = -1
            price[lost] = self._price(rows[lost], z[lost])
        return rows, buyer, price

    def distressed(self, step: int, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Venture-backed firms out of cash after the financing phase (at least one equity round,
        ``distressed_min_employees``) are bought for their team instead of failing: by a strategic
        incumbent with budget (:meth:`agents.incumbents.Incumbents.distressed_buyers`), or else by an
        outside buyer with probability ``distressed_sale_probability``, at ``acquihire_mcny_per_employee``
        per employee times a log-normal factor: (rows, buyer or -1, price)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        rows = np.flatnonzero(
            (pop["cash"] < 0) & (pop["rounds"] >= 1) & (pop["employees"] >= ecfg.distressed_min_employees)
        )
        if taken.size:
            rows = pop.without(rows, taken)
        if rows.size == 0:
            return rows, rows.copy(), np.empty(0)
        draws = m.draws["finance"]
        sigma = ecfg.acquisition_price_sigma
        price = ecfg.acquihire_mcny_per_employee * pop["employees"][rows] * np.exp(
            sigma * draws.normal(pop["key"][rows], step, SLOT_DISTRESSED_PRICE) - 0.5 * sigma**2
        )
        buyer = m.incumbents.distressed_buyers(rows, step)
        inc = buyer >= 0
        if inc.any():
            paid = m.incumbents.buy(buyer[inc], price[inc], distressed=True)
            buyer[np.flatnonzero(inc)[~paid]] = -1
        outside = (buyer < 0) & (
            draws.uniform(pop["hkey"][rows], step, SLOT_DISTRESSED, prehashed=True) < ecfg.distressed_sale_probability
        )
        sold = (buyer >= 0) | outside
        return rows[sold], buyer[sold], price[sold]

    def draw(self, step: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Draw IPOs and acquisitions. Returns the rows and values of each kind (not yet ended)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        draws = m.draws["finance"]
        keys = pop["key"]
        val = pop["valuation"]
        rev = pop["revenue"]
        # the month's scan found the firms with the revenue and age to list and those drawn to
        # be acquired (the rules of listing_candidates and acquisition_draws)
        scan = m.market.month_filters(step)
        cand = scan.listing
        relief = m.levers.track("ipo_relief")  # policies: a listing route with lower thresholds
        if relief.any():
            cut = 1.0 - relief[pop["track"][cand]]
            cand = cand[(val[cand] >= ecfg.ipo_min_valuation_mcny * cut)
                        & (rev[cand] >= ecfg.ipo_min_revenue_mcny * cut)]
        else:
            cand = cand[val[cand] >= ecfg.ipo_min_valuation_mcny]
        p_ipo = 1.0 - np.exp(-ecfg.ipo_rate * m.levers.value("ipo_multiple") * DT)
        r_ipo = cand[draws.uniform(pop["hkey"][cand], step, SLOT_IPO, prehashed=True) < p_ipo]
        v_ipo = val[r_ipo] * np.exp(
            ecfg.ipo_uplift_mean + ecfg.ipo_uplift_sigma * draws.normal(keys[r_ipo], step, SLOT_IPO_UPLIFT)
        )
        r_acq = scan.acquisition[~np.isin(scan.acquisition, r_ipo)]
        base = np.maximum(val[r_acq], ecfg.acquisition_revenue_multiple * rev[r_acq])
        v_acq = base * np.exp(
            ecfg.acquisition_price_mean + ecfg.acquisition_price_sigma * draws.normal(keys[r_acq], step, SLOT_ACQ_PRICE)
        )
        return {"ipo": (r_ipo, v_ipo), "acquired": (r_acq, v_acq)}

    def listing_candidates(self, step: int) -> np.ndarray:
        """Rows of the firms that may list this month (before the draw), by whole-population array
        operations (the reference for the month's scan)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        val, rev = pop["valuation"], pop["revenue"]
        relief = m.levers.track("ipo_relief")
        if relief.any():
            cut = 1.0 - relief[pop["track"]]
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny * cut) & (rev >= ecfg.ipo_min_revenue_mcny * cut))
        else:
            cand = np.flatnonzero((val >= ecfg.ipo_min_valuation_mcny) & (rev >= ecfg.ipo_min_revenue_mcny))
        cand = cand[(step - pop["born"][cand]) >= 12.0 * ecfg.ipo_min_age_years]
        return cand[~trying(pop, cand)]

    def acquisition_draws(self, step: int) -> np.ndarray:
        """Rows of the firms with traction drawn to be acquired this month (before listings take
        precedence), by whole-population array operations (the reference for the month's scan)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        cand = np.flatnonzero(pop["employees"] >= ecfg.acquisition_min_employees)
        p_acq = 1.0 - np.exp(-ecfg.acquisition_rate * m.levers.value("acquisition_multiple") * DT)
        cand = cand[m.draws["finance"].uniform(pop["hkey"][cand], step, SLOT_ACQ, prehashed=True) < p_acq]
        return cand[~trying(pop, cand)]

    def settle(self, rows: np.ndarray, values: np.ndarray, step: int, *, preference: float,
               net_of_shortfall: bool = False) -> None:
        """Pay out an exit at ``values``: banks first (from the firm's cash), then the lots by the
        :func:`waterfall` with a liquidation preference of ``preference`` times the money each
        lot put in (0: pro rata to shares). With ``net_of_shortfall`` (a firm sold out of cash for
        its team) the shareholders' part of the price is ``acquihire_shareholder_share`` of it (the
        rest goes to the team) and the buyer takes over what the firm owes, so the shareholders get
        that part less the firm's negative cash after the bank is repaid."""
        if rows.size == 0:
            return
        pop = self.model.population
        pop.records["cash_at_end"][pop["id"][rows]] = pop["cash"][rows]
        pop.records["team_sale"][pop["id"][rows]] = net_of_shortfall
        self.market.lending.repay(rows)
        equity = np.maximum(values, 0.0)
        if net_of_shortfall:  # the shareholders' part of the price, less what the firm owes
            equity *= self.model.cfg.ecosystem.exits.acquihire_shareholder_share
            equity = np.maximum(equity + np.minimum(self.model.population["cash"][rows], 0.0), 0.0)
        self.pay_lots(rows, equity, step, preference, realized=True)

    def liquidate(self, rows: np.ndarray, step: int) -> np.ndarray:
        """Failed firms at ``rows``: their cash left after the bank and after ``liquidation_cost_months``
        of the wage bill owed to staff and creditors goes to the investors by the :func:`waterfall`
        (``liquidation_preference``); what the common shares get, and what is owed, stays with the
        ended firm (paid out to founders, staff and creditors outside the model). Returns what each
        firm paid its investors (mcny)."""
        m = self.model
        pop = m.population
        ecfg = m.cfg.ecosystem.exits
        owed = ecfg.liquidation_cost_months / 12.0 * wage_bill(pop["employees"][rows], m.cfg.ecosystem.firms)
        cash = np.maximum(pop["cash"][rows] - owed, 0.0)
        paid = np.zeros(rows.size)
        has = cash > 0
        if not has.any():
            return paid
        pref = ecfg.liquidation_preference
        paid[has] = self.pay_lots(rows[has], cash[has], step, pref, realized=False)
        pop["cash"][rows] -= paid
        m.ledger.liquidation_paid += float(paid.sum())
        return paid

    def pay_lots(self, rows: np.ndarray, equity: np.ndarray, step: int, preference: float, *,
                 realized: bool) -> np.ndarray:
        """Pay ``equity`` (one value per firm at ``rows``) to the open lots in those firms by the
        :func:`waterfall`; a guidance fund keeps what its return cap allows and cedes the rest to
        its co-investing VC. Lots become realised (an exit) or keep their status (a liquidation:
        written off, with what was recovered). Returns what the lots of each firm received."""
        market = self.market
        investors = market.investors
        li, pos, frac = market.lots_of_rows(rows)
        if li.size == 0:
            return np.zeros(rows.size)
        lots = market.lots
        gross = waterfall(pos, frac, preference * lots["invested"][li], equity)
        net, ceded = self.capped(li, gross, step)
        lots["proceeds"][li] = net
        if realized:
            lots["status"][li] = LOT_REALIZED
        per_inv = np.bincount(lots["investor"][li], weights=net, minlength=len(investors))
        partners = lots["partner"][li]
        has = (ceded > 0) & (partners >= 0)
        if has.any():
            per_inv += np.bincount(partners[has], weights=ceded[has], minlength=len(investors))
            for j in np.flatnonzero(has):
                investors[lots["investor"][li[j]]].excess_ceded += ceded[j]
            # the partner's extra proceeds are booked on its own lot in that firm
            self._book_ceded(li[has], partners[has], ceded[has])
        for i in np.flatnonzero(per_inv > 0):
            investors[i].receive(float(per_inv[i]))
        return np.bincount(pos, weights=gross, minlength=rows.size)

    def capped(self, li: np.ndarray, gross: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        """What the lots ``li`` keep of ``gross`` (one value per lot) at ``step``: a guidance fund's
        lot keeps what its return cap allows (:meth:`agents.investors.books.GuidanceFund.capped`),
        every other lot the whole. Returns (kept, ceded): the ceded excess belongs to the lot's
        co-investing partner."""
        investors = self.market.investors
        lots = self.market.lots
        net = np.asarray(gross, dtype=float).copy()
        ceded = np.zeros_like(net)
        guidance = np.array([inv.kind == "guidance_fund" for inv in investors], dtype=bool)
        for j in np.flatnonzero(guidance[lots["investor"][li]]):
            g = investors[lots["investor"][li[j]]]
            net[j] = g.capped(lots["invested"][li[j]], net[j], (step - lots["step"][li[j]]) / 12.0)
            ceded[j] = gross[j] - net[j]
        return net, ceded

    def marked(self, li: np.ndarray, values: np.ndarray, step: int) -> np.ndarray:
        """Values of held lots ``li`` (the firm's valuation pro rata to shares) as their holders' claims
        at ``step``: a guidance fund's lot is worth what its return cap would let it keep at an exit
        now, and the excess is its partner's, added to the partner's lot in the same firm (which
        must be among ``li``: both are held while the firm is)."""
        net, ceded = self.capped(li, values, step)
        jj = np.flatnonzero(ceded > 0)
        if jj.size == 0:
            return net
        lots = self.market.lots
        firm, investor = lots["firm"][li], lots["investor"][li]
        partner = lots["partner"][li[jj]]
        # each ceding lot's target: its partner's first lot (lowest position in li) in the same firm, or
        # itself when it has no partner (the fund keeps its claim); found by one sorted search among
        # the lots of the ceding lots' firms
        cand = np.flatnonzero(np.isin(firm, firm[jj]))
        span = np.int64(len(self.market.investors) + 1)
        key = firm[cand].astype(np.int64) * span + investor[cand]
        order = np.argsort(key, kind="stable")  # by firm and investor, then by position in li
        ranked = key[order]
        want = firm[jj].astype(np.int64) * span + partner
        at = np.minimum(np.searchsorted(ranked, want), order.size - 1)
        found = ranked[at] == want
        missing = np.flatnonzero((partner >= 0) & ~found)
        if missing.size:
            j = jj[missing[0]]
            raise RuntimeError(f"guidance lot {li[j]}: its partner {partner[missing[0]]} holds no lot in firm "
                               f"{firm[j]}")
        target = np.where(partner < 0, jj, cand[order[at]])
        np.add.at(net, target, ceded[jj])  # in the order of jj, as one addition after another
        return net

    def _book_ceded(self, lot_idx: np.ndarray, partners: np.ndarray, amounts: np.ndarray) -> None:
        """Book each ceded excess on the partner's own lot in the same firm (the partner put money
        into the round the guidance fund joined, so it holds one)."""
        market = self.market
        lots = market.lots
        for li, p, a in zip(lot_idx, partners, amounts, strict=True):
            own = market.lots_in(lots["firm"][li:li + 1])  # the firm's lots, not a scan of all lots
            cand = own[lots["investor"][own] == p]
            if cand.size == 0:
                raise RuntimeError(f"guidance lot {li}: its partner {p} holds no lot in firm {lots['firm'][li]}")
            lots["proceeds"][cand[0]] += a

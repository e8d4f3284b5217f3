"""Policies on demand: public procurement of young firms' products with first-purchase insurance
(政府采购, 首台套), and open innovation (大中小企业融通创新: incumbents' purchases from and corporate
venturing in young firms, encouraged by the government).

Both act through supply contracts (:mod:`agents.contracts`): a contract's payments go to the
supplier's cash (net of the cost of delivering), so the money identity holds; the government pays
only what it buys, co-pays or subsidises, within its budgets. Money, scale and the sources of the
defaults: :mod:`sim.policies.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from agents.contracts import GOVERNMENT, INCUMBENT, INSURED, choose_suppliers
from sim.config import P
from sim.core.clock import MONTHS
from sim.policies.base import Policy, check_range

__all__ = ["PublicProcurement", "OpenInnovation"]

# slots of a demand policy's keyed draws (after those of sim.policies.instruments)
_SLOT_PURCHASE, _SLOT_FIRST_UNIT, _SLOT_ORDER, _SLOT_WHOLE = 8, 9, 10, 11
#: a signed contract's weight in the typical contract, kept each month: half after a year
_RECENT_KEEP = 0.5 ** (1 / MONTHS)


# --------------------------------------------------------------------------------------------
# Public procurement with first-purchase insurance (政府采购, 首台套)
# --------------------------------------------------------------------------------------------


@dataclass
class PublicProcurement(Policy):
    """Public procurement and first-purchase insurance (政府采购, 首台套保险): the government buys
    innovative products from young firms in the target tracks, and subsidises the premium that insures
    a buyer of a firm's first unit of new equipment, so buyers take the risk of an untried product."""

    kind: ClassVar[str] = "public_procurement"
    target: ClassVar[str] = (
        "contract payments to firms in the target tracks (supply contracts of the government and of insured "
        "first buyers; timeseries contract_payments)"
    )
    source: ClassVar[str] = (
        "扩大政府采购、研发费用加计扣除、首台(套)保险等政策的适用范围; 以创新型产品与服务为导向的政府采购 "
        "(seeds/001_52e3b34853073898.txt:49); 首台套、首版次产品 (:51); premium rate at most 3 %, 80 % of it "
        "subsidised (首台(套)重大技术装备保险补偿机制, 财建〔2015〕19号, external)"
    )
    name: str = "public_procurement"
    budget_mcny_per_year: float = 500.0
    target_directions: list[str] = field(default_factory=lambda: ["科技", "产业"])
    purchase_share: float = P(0.8, "Share of the budget for the government's own purchases (contracts running at "
                                   "that much a year); the rest pays first-purchase insurance premiums.", 'share')
    contract_years: float = P(2.0, "Term of a public supply contract.", 'years')
    qualification_sd: float = P(1.0, "Quality, in sd of the firms' latent quality as the programme's evaluation "
                                     "sees it (contracts.evaluation_noise), a supplier needs to qualify (the "
                                     "innovative-products list). ASSUMED: about the top sixth of the target firms with "
                                     "a product on sale.", 'sd')
    first_units_per_year: float = P(300.0, "First units of new equipment bought under the insurance each year "
                                           "(a firm's first insured sale; once per firm).", 'firms/yr at scale 1')
    first_unit_value_share: float = P(1.0, "Value of a first unit, a share of the supplier's yearly revenue "
                                           "(delivered and paid over a year; at most contracts.max_mcny).", 'share')
    premium_rate: float = P(0.03, "Insurance premium, a share of the insured sale.", 'share')
    premium_subsidy_share: float = P(0.8, "Share of the premium the government pays.", 'share')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "purchase_share", self.purchase_share, ge=0, le=1, unit="share")
        check_range(self.name, "contract_years", self.contract_years, gt=0, le=20, unit="years")
        check_range(self.name, "qualification_sd", self.qualification_sd, ge=-5, le=5, unit="sd")
        check_range(self.name, "first_units_per_year", self.first_units_per_year, ge=0, unit="firms/yr at scale 1")
        check_range(self.name, "first_unit_value_share", self.first_unit_value_share, gt=0, le=10, unit="share")
        check_range(self.name, "premium_rate", self.premium_rate, ge=0, le=1, unit="share")
        check_range(self.name, "premium_subsidy_share", self.premium_subsidy_share, ge=0, le=1, unit="share")

    def __post_init__(self):
        super().__post_init__()
        self.buyer = -1  # its buyer id in the contract book (its position among the government's policies)
        self._room = 0.0  # contract value per year it may still sign (carried month to month)
        self.insured = np.empty(0, dtype=np.int64)  # firms whose first unit was insured
        self.contracts = 0
        self.contract_value = 0.0
        self._recent = np.zeros(2)  # value and number of the contracts signed, each weighing less by half a year
        self.premiums = 0.0
        self.paid = 0.0

    def setup(self, model) -> None:
        super().setup(model)
        self.buyer = model.government.policies.index(self)

    def _pay(self, model, government) -> None:
        """The government pays what its running contracts owe this month (those signed this month
        included), within its budgets (its suppliers get that share), before it insures new sales."""
        book = model.contracts
        due = book.due(GOVERNMENT, self.buyer)
        if due > 0:
            paid = self.spend(model, government, due)
            self.paid += paid
            book.set_pay_ratio(GOVERNMENT, self.buyer, paid / due)

    def step(self, model, government) -> None:
        self._purchase(model)
        self._pay(model, government)
        self._first_units(model, government)

    def collect(self, model, government) -> None:
        """After the programme ends, its running contracts are still paid."""
        super().collect(model, government)
        if not self._running:
            self._pay(model, government)

    def _purchase(self, model) -> None:
        """New public contracts with firms in the target tracks, at the pace that keeps the running
        contracts at ``purchase_share`` of the budget a year.

        The programme buys from qualified suppliers (a product on sale, no running contract, and a
        quality that its evaluation puts at ``qualification_sd`` or more: the innovative-products list)
        as they come (a keyed random order), whole contracts of the real park's sizes at every scale.
        It counts its contracts in places, its money over a typical contract (the mean of those it
        signed recently, which grow with their suppliers; the qualified suppliers' before the first),
        the fraction as a chance of one more: so what it signs costs on average what it has, and a
        small park's programme does not sign the small contracts that fit in its sampled money, nor
        pick from fewer suppliers than the real park's (tests/test_policy_scale.py)."""
        book = model.contracts
        pop = model.population
        ccfg = model.cfg.ecosystem.contracts
        months = max(1, int(round(self.contract_years * MONTHS)))
        limit = self.purchase_share * self.budget(model)
        self._recent *= _RECENT_KEEP
        self._room = min(self._room + limit / months, limit)  # the pace, in money a year of contracts
        pool = book.supplier_pool()
        pool = pool[self.eligible(model, pool)]
        if pool.size == 0:
            return
        draws = self.draws(model)
        score = pop["quality"][pool] + ccfg.evaluation_noise * draws.normal(pop["key"][pool], model.current_step,
                                                                            _SLOT_PURCHASE)
        rows = pool[score >= self.qualification_sd]
        if rows.size == 0:
            return
        rows = rows[np.argsort(draws.uniform(pop["key"][rows], model.current_step, _SLOT_ORDER), kind="stable")]
        values = np.minimum(ccfg.revenue_share * pop["revenue"][rows], ccfg.max_mcny)
        typical = self._recent[0] / self._recent[1] if self._recent[1] > 0 else float(values.mean())
        places = min(self._room, limit - book.running(GOVERNMENT, self.buyer) * typical) / typical
        if places <= 0:
            return
        n = int(places)  # whole places, and one more with the chance of the fraction
        u = draws.uniform(pop["key"][rows[n : n + 1]], model.current_step, _SLOT_WHOLE)[0] if n < rows.size else 1.0
        if u < places - n:
            n += 1
        rows, values = rows[:n], values[:n]
        if rows.size:
            book.sign(rows, values, months, GOVERNMENT, self.buyer)
            self._room -= rows.size * typical
            self._recent += (float(values.sum()), rows.size)
            self.contracts += int(rows.size)
            self.contract_value += float(values.sum())
            self.note_supported(model, rows)

    def _first_units(self, model, government) -> None:
        """This month's insured first units: the suppliers a buyer judges best among the firms in
        the target tracks with no first unit insured yet; the government pays its share of each
        premium when the sale is insured."""
        k = self.monthly_slots(model, self.first_units_per_year)
        if k <= 0:
            return
        pop = model.population
        eligible = self.eligible(model) & ~np.isin(pop["id"], self.insured)
        rows, values = choose_suppliers(model, eligible, np.inf, self.draws(model), self.first_unit_value_share,
                                        slot=_SLOT_FIRST_UNIT, limit=k)
        subsidy = self.premium_rate * self.premium_subsidy_share * values
        afford = np.cumsum(subsidy) <= self.room(model, government) + 1e-12
        rows, values = rows[afford], values[afford]
        if rows.size == 0:
            return
        self.premiums += self.spend(model, government, float(subsidy[afford].sum()))
        model.contracts.sign(rows, values, MONTHS, INSURED, self.buyer)
        self.insured = np.concatenate([self.insured, pop["id"][rows]])
        self.note_supported(model, rows)

    def stats(self) -> dict:
        return {
            "contracts": self.contracts,
            "contract_value_mcny_per_year": self.contract_value,
            "purchases_paid_mcny": self.paid,
            "first_units_insured": int(self.insured.size),
            "premium_subsidies_mcny": self.premiums,
        }


# --------------------------------------------------------------------------------------------
# Open innovation (大中小企业融通创新)
# --------------------------------------------------------------------------------------------


@dataclass
class OpenInnovation(Policy):
    """Open innovation (大中小企业融通创新): the government co-pays part of what incumbent firms buy
    from young firms, so that their procurement budgets buy more, and matches their yearly
    commitments to their corporate venture funds as a limited partner."""

    kind: ClassVar[str] = "open_innovation"
    pays: ClassVar[str] = "incumbents"
    unit: ClassVar[str] = ("incumbent-year in the programme (an incumbent agent stands for its weight in the "
                           "preset's incumbents)")
    target: ClassVar[str] = (
        "incumbents' purchases from young firms and their corporate venture investment (incumbents.procurement_paid, "
        "timeseries cvc_invested)"
    )
    source: ClassVar[str] = (
        "充分发挥国资央企、龙头企业和科技领军企业…积极向产业链开放创新资源，建设支撑大中小企业融通创新的产业平台，"
        "鼓励专精特新企业和中小企业参与到领军企业的创新链和供应链中来 (seeds/001_52e3b34853073898.txt:41); "
        "以技术研发为主的商业采购 (:49); 大企业成为培养创业者、孵化创业企业的重要力量 "
        "(seeds/004_04d71fc19d7d077d.txt:1688-1708); 腾讯投资孵化独角兽 50 家 (:593-595)"
    )
    name: str = "open_innovation"
    budget_mcny_per_year: float = 1000.0
    copay_share: float = P(
        0.15, "Share of incumbents' payments to young firms the government pays. ASSUMED response: the incumbents "
              "keep their own spending, so their purchases rise up to 1 / (1 - copay_share) times, as far as the "
              "budget left after the match covers the co-payment.", 'share'
    )
    cvc_match: float = P(0.1, "Public money per unit of the incumbents' yearly commitments to their corporate "
                              "venture funds, committed as a limited partner each January.", 'x')
    return_cap: float = P(0.05, "Yearly return the government keeps on its commitments to the corporate venture "
                                "funds; its share of their distributions above that stays with the incumbents.",
                          '1/yr')

    def validate(self) -> None:
        super().validate()
        check_range(self.name, "copay_share", self.copay_share, ge=0, lt=1, unit="share")
        check_range(self.name, "cvc_match", self.cvc_match, ge=0, le=5, unit="x")
        check_range(self.name, "return_cap", self.return_cap, ge=0, le=1, unit="1/yr")

    def __post_init__(self):
        super().__post_init__()
        self._match_year = None
        self.copaid = 0.0
        self.matched = 0.0
        self._lp: dict[int, list[float]] = {}  # CVC index -> [public paid in, distributions seen, received, step]
        self.incumbent_years = 0.0  # incumbents in the programme, summed over the months (in years)

    def step(self, model, government) -> None:
        incs = list(model.incumbents)
        if not incs:
            return
        self.incumbent_years += sum(inc.weight for inc in incs) / MONTHS  # in the preset's incumbents at this scale
        year = model.year_of(model.current_step)
        if year != self._match_year:
            self._match_year = year
            self._new_year(model, government, incs)
        due = sum(model.contracts.due(INCUMBENT, inc.index) for inc in incs)
        if due > 0 and self.copay_share > 0:
            self.copaid += self.spend(model, government, self.copay_share * due)

    def _new_year(self, model, government, incs) -> None:
        """January: match the incumbents' CVC commitments, then stretch their procurement as far as
        the rest of the budget co-pays."""
        for inc in incs:
            want = self.cvc_match * inc.cvc_commitment
            paid = self.spend(model, government, want) if want > 0 else 0.0
            if paid > 0:
                inc.cvc.commit_year(paid)
                self.matched += paid
                lp = self._lp.setdefault(inc.cvc.index, [0.0, inc.cvc.proceeds, 0.0, model.current_step])
                lp[0] += paid
        own = sum(inc.proc_budget for inc in incs)
        left = self.room(model, government)
        stretch = 1.0
        if own > 0 and self.copay_share > 0:
            # the incumbents keep their own spending and the government adds copay_share of what they buy: own /
            # (1 - copay_share) in all, or own plus what the budget has left after the match, if that is less
            stretch = min(1.0 / (1.0 - self.copay_share), 1.0 + left / own)
        self.levers.set(model, "procurement_multiplier", stretch)

    def book_distributions(self, model, government, step: int) -> None:
        """The government's share of the corporate funds' distributions (pro rata to its share of
        their capital), up to its return cap."""
        investors = model.market.investors
        for idx, lp in self._lp.items():
            cvc = investors[idx]
            new = cvc.proceeds - lp[1]
            if new <= 0:
                continue
            lp[1] = cvc.proceeds
            cap = lp[0] * (1.0 + self.return_cap) ** max((step - lp[3]) / 12.0, 0.0)
            got = min(lp[0] / cvc.committed * new, max(0.0, cap - lp[2]))
            lp[2] += got
            self.receive(model, government, got, step)

    def stats(self) -> dict:
        return {"copaid_mcny": self.copaid, "cvc_matched_mcny": self.matched}

    def units(self, model) -> float:
        return self.incumbent_years

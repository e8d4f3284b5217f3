"""Investors: angels, venture-capital funds, government guidance funds (引导基金) and banks.

Each investor is a Mesa agent with its own books. Matching of many firms to investors each
month is vectorised in the capital market (:mod:`agents.investors.market` and its rounds,
lending, exits and fund cycle); the agents here hold the state and the small verbs that move
money, so the accounting identities are kept in one place:

* equity investors: ``committed == cash + invested + returned_unused`` (proceeds from exits
  are distributed to the limited partners as they come, and recorded in ``proceeds``);
* banks: ``capital + interest + recovered + covered == cash + outstanding + written_off + recovered``,
  i.e. ``cash + outstanding == capital + interest - losses + covered`` (``covered``: losses a
  public risk-compensation pool paid back; ``capital`` includes the lending capacity such a pool
  added, :meth:`Bank.extend`).

The market's books are two column stores (:class:`sim.core.columns.Columns`): *lots*, one per
participation of an investor in a firm (:data:`LOT_COLUMNS`), and *deals*, one per investment
or loan (:data:`DEAL_COLUMNS`, the ``deals`` table).

Units: million CNY; years.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

#: Status of a lot: held, paid out at an exit, written off at a failure, or held unrealised
#: when the firm left the young-firm population (or the run ended).
LOT_OPEN, LOT_REALIZED, LOT_WRITTEN_OFF, LOT_UNREALIZED = 0, 1, 2, 3

LOT_COLUMNS: dict[str, tuple] = {
    "investor": (np.int64, 0),  # index into CapitalMarket.investors
    "firm": (np.int64, 0),  # firm id
    "step": (np.int32, 0),
    "invested": (np.float64, 0.0),
    "shares": (np.float64, 0.0),
    "proceeds": (np.float64, 0.0),
    "residual": (np.float64, 0.0),  # value left when unrealised
    "status": (np.int8, LOT_OPEN),
    "partner": (np.int64, 0),  # guidance lots: index of the co-investing VC, else -1
}
DEAL_COLUMNS: dict[str, tuple] = {
    "step": (np.int32, 0),
    "investor": (np.int64, 0),
    "firm": (np.int64, 0),
    "round": (np.int8, 0),  # index into sim.core.vocabulary.ROUNDS
    "amount": (np.float64, 0.0),
    "pre_money": (np.float64, 0.0),
    "post_money": (np.float64, 0.0),
    "track": (np.int32, 0),
}


class Investor(mesa.Agent):
    """Common books of an equity investor."""

    kind = "investor"

    def __init__(self, model, name: str):
        super().__init__(model)
        self.name = name
        self.committed = 0.0  # money the investor's backers have put in
        self.cash = 0.0  # not yet invested
        self.invested = 0.0  # cumulative, at cost
        self.proceeds = 0.0  # cumulative cash back from exits
        self.returned_unused = 0.0  # uninvested cash handed back
        #: what the investor may draw ahead of its cash on capital its backers committed but have
        #: not paid in yet (a policy's guidance fund, :class:`sim.policies.capital.GuidanceFundPolicy`);
        #: its cash may then be negative, down to ``-credit``
        self.credit = 0.0

    # ---- verbs ---------------------------------------------------------------------------
    def commit(self, amount: float) -> None:
        """Backers put money in."""
        self.committed += amount
        self.cash += amount

    def invest(self, amount: float) -> None:
        if amount > (self.cash + self.credit) * (1 + 1e-9) + 1e-9:
            raise ValueError(f"{self.name} cannot invest {amount:.3f} with {self.cash:.3f} in cash and "
                             f"{self.credit:.3f} of credit")
        self.cash -= amount
        self.invested += amount

    def receive(self, amount: float) -> None:
        """Exit proceeds; distributed straight on to the backers."""
        self.proceeds += amount

    def return_unused(self) -> float:
        amount = self.cash
        self.returned_unused += amount
        self.cash = 0.0
        return amount

    def balanced(self, tol: float = 1e-6) -> bool:
        lhs = self.committed
        rhs = self.cash + self.invested + self.returned_unused
        return abs(lhs - rhs) <= tol * max(1.0, abs(lhs))

class Angel(Investor):
    """An angel investor, angel group or seed fund with a yearly budget for seed rounds."""

    kind = "angel"

    def __init__(self, model, name: str, budget_per_year: float, pace_slack: float = 0.0):
        super().__init__(model, name)
        self.budget_per_year = budget_per_year
        #: at most pace_slack * k / 12 of the year's budget by the k-th month of the year (0: no limit)
        self.pace_slack = pace_slack
        self.year_budget = 0.0  # this budget year's money
        self.year_start = 0  # the first month of this budget year

    def new_year(self, start_step: int, share: float = 1.0) -> None:
        """Unspent budget goes back; the budget year starting at ``start_step`` (the
        ``budget_per_year`` times ``share``) comes in."""
        self.return_unused()
        self.year_budget = self.budget_per_year * share
        self.year_start = start_step
        self.commit(self.year_budget)

    def available(self, step: int) -> float:
        """What the angel may put in this month: its cash, or with pacing what ``pace_slack`` times an
        even pace over the budget year has made due by the end of this month, less what it put in
        this year, within its cash."""
        if self.pace_slack <= 0:
            return self.cash
        due = self.pace_slack * self.year_budget * min(1.0, (step - self.year_start + 1) / 12.0)
        return max(0.0, min(self.cash, due - (self.year_budget - self.cash)))


class VCFund(Investor):
    """A venture fund with a vintage, a life, an investment period, reserves and a focus.

    ``focus`` is ``"early"`` (rounds A and B) or ``"late"`` (C and later). ``prefs`` is a
    vector of track preferences (summing to 1 over tracks) that drifts toward where the heat is.
    """

    kind = "vc"

    def __init__(
        self,
        model,
        name: str,
        *,
        manager_id: int,
        vintage_step: int,
        size: float,
        focus: str,
        prefs: np.ndarray,
        life_years: float,
        investment_period_years: float,
        reserve_ratio: float,
        raised_step: int | None = None,
    ):
        super().__init__(model, name)
        self.manager_id = manager_id
        self.vintage_step = vintage_step  # the first month it invests
        #: the year end its manager raised it (its life and the next raise count from then); a fund
        #: raised at a year end starts investing in a month of the next year
        self.raised_step = vintage_step if raised_step is None else raised_step
        self.size = size
        self.focus = focus
        self.prefs = prefs
        self.life_years = life_years
        self.investment_period_years = investment_period_years
        self.reserve_ratio = reserve_ratio
        self.followon_invested = 0.0
        self.closed = False
        #: (track ids, share): at least this share of the preferences on these tracks, or None
        self.mandate: tuple[np.ndarray, float] | None = None
        self.commit(size)

    def age_years(self, step: int) -> float:
        """Years since it was raised."""
        return (step - self.raised_step) / 12.0

    def investing(self, step: int) -> bool:
        """Open, and within its investment period (from its first month, the vintage)."""
        return not self.closed and 0 <= step - self.vintage_step < 12.0 * self.investment_period_years

    def reserve_left(self) -> float:
        return max(0.0, self.size * self.reserve_ratio - self.followon_invested)

    def available_new(self, step: int) -> float:
        """Cash for new portfolio firms: outside the reserve, inside the investment period."""
        if not self.investing(step):
            return 0.0
        return max(0.0, self.cash - self.reserve_left())

    def available_followon(self, step: int) -> float:
        if self.closed:
            return 0.0
        return self.cash

    def follow_on(self, amount: float) -> None:
        self.invest(amount)
        self.followon_invested += amount

    def drift_prefs(self, heat_share: np.ndarray, weight: float) -> None:
        """Move track preferences toward where the attention is (keeping a mandate, if any)."""
        n = len(heat_share)
        if len(self.prefs) < n:
            self.prefs = np.concatenate([self.prefs, np.zeros(n - len(self.prefs))])
        p = (1.0 - weight) * self.prefs + weight * heat_share
        s = p.sum()
        self.prefs = self.hold_mandate(p / s if s > 0 else p)

    def hold_mandate(self, prefs: np.ndarray) -> np.ndarray:
        """Preferences with at least ``mandate[1]`` of their weight on the tracks ``mandate[0]`` (a
        fund of funds' condition on the funds it backs); unchanged without a mandate."""
        if self.mandate is None:
            return prefs
        ids, share = self.mandate
        on = np.zeros(prefs.size, dtype=bool)
        on[ids[ids < prefs.size]] = True
        inside = prefs[on].sum()
        if inside >= share or not on.any():
            return prefs
        out = prefs.copy()
        out[on] = share * (prefs[on] / inside if inside > 0 else 1.0 / on.sum())
        rest = prefs[~on].sum()
        out[~on] = (1.0 - share) * prefs[~on] / rest if rest > 0 else 0.0
        return out

    def wind_down(self) -> float:
        """End of fund life: uninvested cash goes back to the limited partners."""
        self.closed = True
        return self.return_unused()


class GuidanceFund(Investor):
    """A government guidance fund (引导基金) co-investing beside VC in mandated tracks.

    For each unit a VC puts into a round in a mandated track, the fund adds ``coinvest_ratio``
    units. It invests during its investment period (``investment_period_years`` after
    ``start_step``, the whole ``life_years`` if not given), at an even pace over that period, what a
    month leaves unused carried on (:meth:`available`). Its return is capped at ``return_cap`` a year; the excess
    goes to the co-investing VC (the usual 让利 terms that draw private money into the mandated
    tracks).
    """

    kind = "guidance_fund"

    def __init__(self, model, name: str, *, capital: float, coinvest_ratio: float, return_cap: float,
                 mandated_directions: list[str], start_step: int, life_years: float,
                 mandated_tracks=None, stacks: bool = False, investment_period_years: float | None = None,
                 paced: bool = False):
        super().__init__(model, name)
        self.coinvest_ratio = coinvest_ratio
        self.return_cap = return_cap
        self.mandated_directions = list(mandated_directions)
        #: track ids the fund may enter (set by a policy); None: the tracks of mandated_directions
        self.mandated_tracks = None if mandated_tracks is None else np.asarray(mandated_tracks, dtype=np.int64)
        #: a fund added by a policy co-invests on top of the preset's guidance funds
        self.stacks = stacks
        self.start_step = start_step
        self.life_years = life_years
        self.investment_period_years = life_years if investment_period_years is None else investment_period_years
        #: a paced fund spreads its cash evenly over the rest of its investment period
        self.paced = paced
        self.successor_raised = False
        self.programme = -1  # the preset's programme this fund is a vintage of (-1: a policy's fund)
        self.weight = 1.0  # programmes of the preset this fund stands for at the model's scale
        self.excess_ceded = 0.0
        #: a policy's fund: co-investments it may still make (whole ones, and the fraction carried)
        self.places = 0.5
        self.commit(capital)

    def add_places(self, money: float, typical: float) -> None:
        """A policy's fund: ``money`` more to put in, as ``money / typical`` co-investments (whole ones
        are taken by :meth:`agents.investors.rounds.EquityRounds._whole_cheques`; the fraction waits, so
        that over any run of months the places are the money over the typical cheque, rounded)."""
        if typical > 0:
            self.places += money / typical

    def open_places(self) -> int:
        return int(self.places + 1e-9)

    def fill_places(self, n: int) -> None:
        self.places -= n

    def mandated_ids(self, tracks) -> np.ndarray:
        """Ids of the tracks the fund may invest in."""
        if self.mandated_tracks is not None:
            return self.mandated_tracks
        return tracks.ids_in_directions(self.mandated_directions)

    def investing(self, step: int) -> bool:
        return 0.0 <= (step - self.start_step) / 12.0 < self.investment_period_years

    def available(self, step: int) -> float:
        """What the fund may put in this month: its cash, or for a paced fund what an even pace over
        its investment period has made due by the end of this month, less what it invested (a month
        without a deal carries its share on, so a co-investment larger than one month's share waits
        a few months instead of never fitting), within its cash."""
        if not self.investing(step):
            return 0.0
        if not self.paced:
            return self.cash
        months = max(1.0, 12.0 * self.investment_period_years)
        due = self.committed * min(1.0, (step - self.start_step + 1) / months)
        return max(0.0, min(self.cash, due - self.invested))

    def capped(self, invested: float, gross: float, years_held: float) -> float:
        """What the fund keeps of ``gross`` proceeds under its yearly return cap."""
        cap = invested * (1.0 + self.return_cap) ** max(years_held, 0.0)
        return min(gross, cap)


class Bank(Investor):
    """A bank lending to firms with revenue; amortising loans, losses net of recovery."""

    kind = "bank"

    def __init__(self, model, name: str, *, capital: float, rate: float, term_months: int):
        super().__init__(model, name)
        self.capital = capital
        self.rate = rate
        self.term_months = term_months
        self.outstanding = 0.0
        self.interest = 0.0
        self.losses = 0.0
        self.recovered = 0.0
        self.covered = 0.0  # losses paid back by a public risk-compensation pool
        self.commit(capital)

    def monthly_payment(self, principal: np.ndarray) -> np.ndarray:
        """Annuity payment for loans of ``principal``."""
        r = self.rate / 12.0
        n = self.term_months
        # 1 - (1 + r)^-n, accurate for tiny rates too (where the plain form rounds to 0)
        discount = -math.expm1(-n * math.log1p(r))
        if r == 0 or discount == 0:
            return principal / n
        return principal * r / discount

    def lend(self, amount: float) -> None:
        self.invest(amount)
        self.outstanding += amount

    def collect(self, principal: float, interest: float) -> None:
        self.cash += principal + interest
        self.outstanding -= principal
        self.interest += interest

    def write_off(self, principal: float, recovered: float) -> None:
        self.outstanding -= principal
        self.cash += recovered
        self.recovered += recovered
        self.losses += principal - recovered

    def cover(self, amount: float) -> None:
        """A public risk-compensation pool pays back ``amount`` of the bank's losses."""
        self.cash += amount
        self.covered += amount

    def balanced(self, tol: float = 1e-6) -> bool:
        lhs = self.cash + self.outstanding
        rhs = self.capital + self.interest - self.losses + self.covered
        return abs(lhs - rhs) <= tol * max(1.0, abs(rhs))

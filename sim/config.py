"""Typed configuration schema, range checks and user-facing configuration errors.

Every key is a dataclass field with a default, a unit and an allowed range (in the field's
metadata). Hydra composes ``conf/`` on top of this schema, so a misspelled key or a value of
the wrong type is refused by OmegaConf; :func:`validate` then checks ranges and choices and
raises :class:`ConfigError` naming the key, the value and what is allowed.

Units: money in million CNY (``mcny``), time in years unless the name says months, rates per
year unless the name says otherwise. ``scale`` multiplies every extensive quantity of the
ecosystem preset (births, capital, budgets, numbers of investors and institutes, market
capacity); intensive quantities (rates, shares, multiples) are left alone.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import numbers
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.core.errors import ConfigError
from sim.core.vocabulary import DIRECTIONS, LIFECYCLE

__all__ = [
    "CONF_DIR",
    "ConfigError",
    "Config",
    "StageConfig",
    "EcosystemConfig",
    "validate",
    "iter_fields",
    "to_config",
]

#: The configuration directory: conf/ at the repository root, next to the sim package (the
#: package is installed in editable mode).
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def scaled_count(count: int, scale: float) -> int:
    """Agents of a preset at a scale: ``round(count * scale)``, at least one if the preset has any."""
    if count <= 0:
        return 0
    return max(1, int(round(count * scale)))


def P(default: Any, doc: str, unit: str = "", ge=None, gt=None, le=None, lt=None, choices=None):
    """A documented, range-checked field."""
    meta = {"doc": doc, "unit": unit, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        value = default
        return field(default_factory=lambda: _copy(value), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value):
    return copy.deepcopy(value)


def sub(cls, doc: str):
    return field(default_factory=cls, metadata={"doc": doc})


# --------------------------------------------------------------------------------------------
# Stage definitions
# --------------------------------------------------------------------------------------------


@dataclass
class Tier:
    """One revenue tier of the tiered_cn gazelle test (an entry of ``stages.tiered_cn_tiers``)."""

    min_revenue_mcny: float = P(10.0, "Lower bound of the tier: previous-year revenue run rate.", "mcny/yr", ge=0)
    min_cagr: float = P(0.2, "Revenue CAGR over the window that a firm in this tier must reach.", "1/yr", gt=-1, le=10)


GAZELLE_DEFINITIONS = ("oecd", "eu10", "tiered_cn")


@dataclass
class StageConfig:
    gazelle_definition: str = P(
        "oecd",
        "Gazelle test. oecd: OECD-Eurostat high-growth enterprise (>= 20 %/yr average growth "
        "over 3 years, >= 10 employees at the start) aged <= 5 years; eu10: the EU 10 %/yr "
        "variant on employment; tiered_cn: revenue tiers with 2-year CAGR thresholds "
        "(Jinan HTZ 瞪羚计划 2016 kind).",
        choices=GAZELLE_DEFINITIONS,
    )
    gazelle_measure: str = P(
        "employees",
        "Size measure for the oecd definition (eu10 always uses employees).",
        choices=("employees", "revenue"),
    )
    gazelle_window_years: int = P(3, "Growth window of the oecd and eu10 tests.", "years", ge=1, le=3)
    gazelle_min_start_employees: float = P(
        10.0, "Minimum employees at the start of the growth window (oecd, eu10).", "employees", ge=0
    )
    gazelle_max_age_years: float = P(
        5.0, "Age cap for gazelles; 0 disables it (then the test finds high-growth firms).", "years", ge=0
    )
    tiered_cn_tiers: list[Tier] = P(
        [Tier(10.0, 0.20), Tier(100.0, 0.15), Tier(500.0, 0.10)],
        "tiered_cn: revenue tiers (lower bound, million CNY) and the CAGR each must reach.",
    )
    tiered_cn_window_years: int = P(2, "tiered_cn: growth window.", "years", ge=1, le=3)
    unicorn_min_valuation_usd_bn: float = P(1.0, "Unicorn valuation threshold.", "billion USD", gt=0)
    unicorn_max_age_years: float = P(10.0, "Unicorns are at most this old (GEI/Torch usage).", "years", gt=0)
    unicorn_min_raised_usd_m: float = P(
        0.0, "Minimum cumulative financing for a unicorn; 0 disables (GB/T 41464 uses 50).", "million USD", ge=0
    )
    fx_cny_per_usd: float = P(7.0, "Exchange rate used by the stage tests.", "CNY per USD", gt=0)


# --------------------------------------------------------------------------------------------
# Ecosystem preset
# --------------------------------------------------------------------------------------------


@dataclass
class FirmConfig:
    births_per_year: float = P(110_000.0, "Firm births per year at scale 1 (all channels).", "firms/yr", ge=0)
    births_growth: float = P(0.0, "Annual growth of the birth rate.", "1/yr", gt=-1, le=1)
    alumni_share: float = P(0.15, "Share of births founded by alumni of large firms (baseline).", "share", ge=0, le=1)
    spinoff_share: float = P(
        0.03, "Share of births spun out of research institutes when their knowledge is at its steady state under the "
              "preset's transfer regime; calibrates researchers' founding rate per unit of knowledge "
              "(agents.institutes). Spin-offs then follow the institutes' knowledge and transfer regime.", "share",
        ge=0, le=1
    )
    returnee_share: float = P(0.05, "Share of independent founders who are returnees (海归), at the preset's cost of "
                                    "founding.", "share", ge=0, le=1)
    founding_cost_mcny: float = P(0.1, "Cost of founding a firm (registration, first rent, set-up) that enters "
                                       "potential founders' entry decision.", "mcny", gt=0)
    founding_propensity: float = P(
        0.1, "Share of potential founders who found in a year at the preset's cost of founding (the rest keep their "
             "outside option); potential founders = births / this.", "share", gt=0, lt=1
    )
    entry_cost_elasticity: float = P(
        0.3, "ASSUMED response: elasticity of births with respect to the cost of founding, at the preset's cost "
             "(sets the spread of founders' net value of founding in the logit entry decision; 0 = births do not "
             "respond). In the default sensitivity analysis.", "", ge=0, le=5
    )
    entry_heat_elasticity: float = P(0.6, "How strongly founders follow track heat.", "", ge=0, le=5)
    entry_market_elasticity: float = P(0.5, "How strongly founders follow track market size.", "", ge=0, le=5)
    founder_cash_mcny: float = P(0.6, "Median founders' starting cash.", "mcny", gt=0)
    founder_cash_sigma: float = P(0.9, "Log-sd of founders' starting cash.", "", ge=0, le=3)
    initial_employees: float = P(3.0, "Mean headcount at founding.", "employees", ge=1)
    initial_revenue_mcny: float = P(0.25, "Median revenue run rate at founding.", "mcny/yr", gt=0)
    quality_shift_spinoff: float = P(0.25, "Mean latent quality of spin-offs relative to "
                                           "independents.", "sd", ge=-3, le=3)
    quality_shift_alumni: float = P(0.35, "Mean latent quality of alumni founders relative to "
                                          "independents.", "sd", ge=-3, le=3)
    quality_shift_returnee: float = P(0.5, "Mean latent quality of returnee founders (海归) relative to other "
                                           "independents.", "sd", ge=-3, le=3)
    spinoff_revenue_factor: float = P(0.3, "Spin-offs start with this fraction of the usual revenue (death "
                                           "valley).", "", gt=0, le=1)
    wage_mcny: float = P(0.3, "Fully loaded cost of one employee.", "mcny/yr", gt=0)
    cost_of_revenue: float = P(0.35, "Non-wage costs as a share of revenue.", "share", ge=0, lt=1)
    growth_base: float = P(-0.08, "Log revenue growth of an average young firm.", "1/yr", ge=-2, le=2)
    growth_quality: float = P(0.5, "Extra log growth per sd of latent quality (young firms).", "1/yr", ge=0, le=3)
    growth_age_decay_years: float = P(5.0, "Age over which the quality-driven growth fades.", "years", gt=0)
    growth_capital: float = P(0.6, "Extra log growth from cash on hand (saturating), times the share of the "
                                    "wage bill the gross margin does not cover (0 for a self-financing firm).",
                              "1/yr", ge=0, le=3)
    growth_sigma: float = P(0.55, "Volatility of log revenue for a one-person firm.", "1/sqrt(yr)", ge=0, le=3)
    growth_size_exponent: float = P(0.15, "Volatility falls as employees^-exponent.", "", ge=0, le=1)
    growth_shock_mixing: float = P(
        1.0, "Share of the variance of a firm's growth shocks that is drawn afresh each year: a year's volatility is "
             "the size rule's times sqrt(1 - mixing + mixing * E), E exponential with mean 1, drawn per firm and "
             "calendar year. A normal whose variance is exponential is a Laplace, so yearly growth rates are "
             "tent-shaped, as in firm data (Stanley et al. 1996; Bottazzi and Secchi 2006: growth comes in lumps "
             "of opportunities whose number varies from year to year), with the yearly variance unchanged. 0: the "
             "same volatility every year (monthly shocks then add up to a nearly normal year).", "share", ge=0, le=1)
    crowding: float = P(0.25, "Growth penalty per unit of track capacity used by the park's firms.", "1/yr", ge=0, le=5)
    hiring_speed: float = P(0.12, "Share of the gap to target headcount closed each month.", "1/month", gt=0, le=1)
    runway_target_years: float = P(1.5, "Funded firms hire so that cash lasts this long.", "years", gt=0)
    closure_hazard: float = P(0.10, "Closure hazard of a new firm for non-financial reasons.", "1/yr", ge=0, le=2)
    closure_hazard_mature: float = P(0.08, "Long-run closure hazard after the liability of newness "
                                           "fades.", "1/yr", ge=0, le=2)
    closure_size_elasticity: float = P(
        0.2, "The closure hazard falls with size, times employees**-value (a one-person firm has the hazards "
             "above): exit rates fall with firm size as well as age (Evans 1987; Dunne, Roberts and Samuelson 1989, "
             "about 0.2-0.3; 国家工商总局 2013: larger firms survive longer).", "", ge=0, le=1)
    trim_coverage: float = P(
        0.5, "A firm without outside equity that runs out of cash lets go the staff its margin cannot pay, and its "
             "founder covers the month's shortfall, when its gross margin net of debt service pays at least this share "
             "of its staff's wages; otherwise it fails (ASSUMED; 1: only a firm whose margin pays all its staff "
             "carries on). A founder who owns the whole firm shrinks it to what it earns rather than close a "
             "business that nearly pays its way.", "share", ge=0, le=1)
    last_attempt_months: float = P(
        12.0, "A venture-backed firm (one that has sold equity) drawn to close for non-financial reasons while it "
              "holds cash does not hand that cash back: it spends it on a last attempt (a pivot) at a steady pace over "
              "this many months on top of its costs (that money buys no growth), and closes when the term is over or "
              "fails when the cash is gone, unless an equity round comes first (a pivot that works ends the attempt); "
              "its investors then get little or nothing back. 0: it closes at once and its investors recover the cash "
              "left. Failed venture investments mostly return nothing: a startup spends its money before it shuts "
              "down (ASSUMED term).", "months", ge=0, le=60)
    closure_decay_years: float = P(2.0, "Time over which the closure hazard falls to its long-run "
                                        "value.", "years", gt=0)
    graduation_age_years: float = P(10.0, "Firms leave the young-firm population at this age (end kind "
                                          "aged_out).", "years", ge=1)


@dataclass
class FundingConfig:
    attempt_runway_months: float = P(6.0, "Firms look for money when cash lasts less than this.", "months", gt=0)
    attempt_probability: float = P(0.35, "Monthly chance that a firm in need runs a round.", "1/month", gt=0, le=1)
    venture_max_age_years: float = P(10.0, "Firms older than this run no equity round: venture investors back "
                                           "young firms (older ones borrow, list or are sold).", "years", gt=0)
    growth_attempt_probability: float = P(0.05, "Monthly chance that a fast grower raises without "
                                                "need.", "1/month", ge=0, le=1)
    screening_noise: float = P(0.6, "Investors' due-diligence error on latent quality.", "sd", ge=0, le=5)
    screening_bar: list[float] = P(
        [1.2, 1.5, 1.7, 1.9, 2.1],
        "Signal an applicant must beat, by round (seed, A, B, C, D+).",
        "sd",
    )
    screening_slope: float = P(2.5, "Steepness of the screening curve.", "1/sd", gt=0)
    heat_bar_elasticity: float = P(0.3, "The screening bar falls by this times ln(track heat): hot tracks are easier "
                                        "to raise in.", "sd", ge=0, le=5)
    max_lead_share: float = P(
        0.5, "A VC fund puts at most this share of its free money into one round, as lead or co-investor; what the "
             "lead cannot carry is syndicated.", "share", gt=0, le=1
    )
    syndicate_size: int = P(4, "Co-investors a VC-led round can bring in when its lead cannot carry it alone (0: "
                               "none, the round raises what the lead can carry).", "funds", ge=0, le=20)
    early_funds_in_late_rounds: bool = P(
        False, "Early-stage VC funds (focus A-B) may lead or join rounds C and later of firms they have not backed "
               "when the growth funds lack the money. False: an early fund puts new money only into rounds A and B "
               "and follows its own firms into later rounds from its reserves (insider_share, inside rounds), so the "
               "growth funds alone lead and syndicate rounds C and later and the early funds' money reaches early "
               "rounds."
    )
    min_fill: float = P(
        0.5, "A VC-led round closes only if its lead and co-investors put in at least this share of what it set out "
             "to raise; otherwise it does not close that month and the firm may try again (a price needs money "
             "behind it).", "share", ge=0, le=1
    )
    insider_share: float = P(0.3, "Share of a later round taken by the previous VC lead from its "
                                  "reserves.", "share", ge=0, lt=1)
    growth_signal_weight: float = P(1.0, "Weight of last year's log growth in the investors' signal.", "", ge=0)
    revenue_multiple: float = P(
        11.6, "Base pre-money valuation as a multiple of revenue (calibrated, docs/calibration/zhongguancun.md).",
        "x", gt=0,
    )
    growth_multiple_elasticity: float = P(
        1.03, "Valuation multiple rises as exp(elasticity * growth) (calibrated, docs/calibration/zhongguancun.md).",
        "", ge=0, le=5,
    )
    signal_multiple_elasticity: float = P(0.35, "Valuation multiple rises as exp(elasticity * signal).", "", ge=0, le=5)
    last_round_anchor: float = P(
        1.0, "A growing firm's pre-money is at least its last post-money times exp(anchor * g * m / 12): g its last "
             "year's log growth, m the months since that round (at most 12); 0 disables.", "", ge=0, le=5
    )
    heat_multiple_elasticity: float = P(
        0.86, "Valuation multiple rises as heat^elasticity (calibrated, docs/calibration/zhongguancun.md).", "",
        ge=0, le=5,
    )
    round_floor_mcny: list[float] = P(
        [5.0, 40.0, 150.0, 500.0, 1500.0], "Minimum pre-money valuation by round (seed, A, B, C, D+).", "mcny"
    )
    dilution_min: float = P(0.12, "Smallest share sold in a round.", "share", gt=0, lt=1)
    dilution_max: float = P(0.25, "Largest share sold in a round.", "share", gt=0, lt=1)
    round_dilution_factor: list[float] = P(
        [1.0, 1.0, 0.85, 0.65, 0.5],
        "The share sold in a round, by round (seed, A, B, C, D+), is this factor times a draw between dilution_min "
        "and dilution_max (later rounds sell less of the firm).", "x",
    )
    min_months_between_rounds: float = P(6.0, "A firm raises at most once in this many months.", "months", ge=0)


@dataclass
class AngelConfig:
    count: int = P(400, "Angel investors (individuals, angel groups, seed funds) at scale 1.", "agents", ge=0)
    budget_mcny_per_year: float = P(25.0, "Each angel's yearly budget.", "mcny/yr", ge=0)
    pace_slack: float = P(
        1.5, "Angels spread their budget over the year: by its k-th month an angel has put in at most pace_slack * "
             "k / 12 of the year's budget; 0 disables (all of it may go in January).", "x", ge=0,
    )


@dataclass
class VCConfig:
    initial_funds: int = P(300, "VC funds present at the start of the warm-up, at scale 1.", "funds", ge=0)
    fund_size_mcny: float = P(600.0, "Median fund size of a new manager.", "mcny", gt=0)
    fund_size_sigma: float = P(0.8, "Log-sd of new managers' fund sizes.", "", ge=0, le=3)
    commitments_mcny_per_year: float = P(118_800.0, "Capital LPs commit to VC funds per year at scale 1 "
                                                    "(calibrated, docs/calibration/zhongguancun.md).", "mcny/yr",
                                         ge=0)
    newcomer_share: float = P(0.3, "Share of each year's LP commitments reserved for new "
                                   "managers.", "share", ge=0, le=1)
    life_years: float = P(10.0, "Fund life; what is left in cash then goes back to the LPs.", "years", gt=0)
    investment_period_years: float = P(5.0, "New investments only in this period after the vintage.", "years", gt=0)
    reserve_ratio: float = P(0.4, "Share of the fund kept for follow-on rounds (drawn down by what it puts into "
                                  "firms it led before).", "share", ge=0, lt=1)
    raise_after_years: float = P(4.0, "Managers raise their next fund this long after the last vintage.", "years", gt=0)
    min_tvpi_to_raise: float = P(0.8, "Managers below this interim TVPI cannot raise again.", "x", ge=0)
    tvpi_size_elasticity: float = P(1.0, "Next fund size = last size * TVPI^elasticity (capped "
                                         "0.5x..2.5x).", "", ge=0, le=5)
    late_size_multiple: float = P(5.0, "Funds focused on rounds C and later are this many times the size of "
                                       "early-stage funds (growth funds are larger).", "x", gt=0)
    early_stage_share: float = P(0.6, "Share of funds focused on rounds A-B (the rest on C and "
                                      "later).", "share", ge=0, le=1)
    heat_following: float = P(0.25, "Yearly weight managers put on current track heat when updating "
                                    "preferences.", "share", ge=0, le=1)


@dataclass
class GuidanceConfig:
    count: int = P(4, "Government guidance fund programmes (引导基金) at scale 1, each with one fund investing at a "
                      "time (vintages staggered at the start of the warm-up).", "funds", ge=0)
    fund_size_mcny: float = P(5_000.0, "Capital of each guidance fund raised in start_year (earlier and later "
                                       "vintages: see size_growth).", "mcny", ge=0)
    coinvest_ratio: float = P(0.25, "Guidance money per unit of VC money in a mandated-track round.", "x", ge=0, le=5)
    mandated_directions: list[str] = P(["科技", "产业", "数字"], "Directions whose tracks guidance funds may enter.")
    return_cap: float = P(0.05, "Yearly return cap for the government; the excess goes to the co-investing "
                                "VC.", "1/yr", ge=0)
    life_years: float = P(12.0, "Life of a guidance fund: it holds its stakes this long.", "years", gt=0)
    investment_period_years: float = P(
        5.0, "A guidance fund co-invests for this long after its vintage, spreading its capital evenly over the "
             "period; then its uninvested cash goes back to the government and the programme raises the next "
             "vintage.", "years", gt=0
    )
    size_growth: float = P(
        0.1, "Yearly growth of the government's commitments: a vintage raised t years after start_year has "
             "fund_size_mcny * (1 + size_growth)^t.", "1/yr", ge=-0.5, le=1
    )


@dataclass
class BankConfig:
    count: int = P(5, "Banks lending to the park's firms at scale 1.", "banks", ge=0)
    capital_mcny: float = P(40_000.0, "Lending capital of each bank.", "mcny", ge=0)
    min_revenue_mcny: float = P(5.0, "Firms need at least this revenue run rate to borrow.", "mcny/yr", ge=0)
    loan_to_revenue: float = P(0.25, "Loan size as a share of yearly revenue.", "share", gt=0, le=5)
    rate: float = P(0.045, "Interest rate.", "1/yr", ge=0, le=1)
    term_months: int = P(36, "Amortisation period.", "months", ge=1)
    min_margin: float = P(-0.2, "Lowest operating margin a bank accepts.", "share", ge=-10, le=1)
    apply_probability: float = P(0.05, "Monthly chance that an eligible firm without a loan "
                                       "applies.", "1/month", ge=0, le=1)
    recovery_rate: float = P(0.3, "Share of outstanding principal recovered when a borrower "
                                  "fails.", "share", ge=0, le=1)


@dataclass
class ExitConfig:
    ipo_rate: float = P(
        0.0605, "Yearly IPO hazard of an eligible firm (calibrated, docs/calibration/zhongguancun.md).", "1/yr",
        ge=0, le=12,
    )
    ipo_min_revenue_mcny: float = P(150.0, "Listing needs this revenue run rate.", "mcny/yr", ge=0)
    ipo_min_valuation_mcny: float = P(1_500.0, "Listing needs this valuation.", "mcny", ge=0)
    ipo_min_age_years: float = P(3.0, "Listing needs this age.", "years", ge=0)
    ipo_uplift_mean: float = P(0.25, "Mean log uplift of the IPO value over the last valuation.", "", ge=-3, le=3)
    ipo_uplift_sigma: float = P(0.5, "Log-sd of the IPO uplift.", "", ge=0, le=3)
    acquisition_rate: float = P(0.02, "Yearly acquisition hazard of a firm with traction.", "1/yr", ge=0, le=12)
    acquisition_min_employees: float = P(8.0, "Traction for acquirers: at least this many "
                                              "employees.", "employees", ge=0)
    acquisition_price_mean: float = P(-0.2, "Mean log ratio of price to the firm's value.", "", ge=-3, le=3)
    acquisition_price_sigma: float = P(0.7, "Log-sd of that ratio.", "", ge=0, le=3)
    acquisition_revenue_multiple: float = P(1.5, "Value of an unpriced firm to an acquirer, in revenue.", "x", ge=0)
    liquidation_preference: float = P(
        1.0, "Investors' liquidation preference, a multiple of the money each put in: in an acquisition or the "
             "liquidation of a failed firm it is paid before the common shares (non-participating, every round pari "
             "passu; an investor converts when its shares are worth more). 0 pays every share pro rata.", "x", ge=0,
        le=3,
    )
    harvest_sale_rate: float = P(
        0.1, "Yearly hazard that the investors of a VC-led firm with traction sell it once its lead fund is past its "
             "investment period (the fund must return its money): to a strategic incumbent (probability 1 - "
             "exp(-presence)) or else to an outside buyer.", "1/yr", ge=0, le=12
    )
    distressed_sale_probability: float = P(
        0.2, "Chance that a venture-backed firm out of cash is bought for its team by a buyer outside the ecosystem's "
             "incumbents (a soft landing) instead of failing.", "", ge=0, le=1
    )
    distressed_min_employees: float = P(5.0, "A firm out of cash needs at least this many employees to be bought for "
                                             "its team.", "employees", ge=0)
    acquihire_mcny_per_employee: float = P(0.5, "Price of a team acquisition per employee (times a log-normal factor "
                                                "with acquisition_price_sigma).", "mcny", ge=0)
    acquihire_shareholder_share: float = P(
        0.25, "Share of a team acquisition's price that goes to the firm's shareholders; the rest goes to the team the "
              "buyer hires (retention packages and new contracts). In acqui-hires the buyer pays mostly for the "
              "people, and investors often recover little of what they put in (Coyle and Polsky 2013, Duke Law "
              "Journal 63: 281-346); the value is ASSUMED.", "share", ge=0, le=1)
    liquidation_cost_months: float = P(
        6.0, "A failed firm owes its staff and creditors this many months of its wage bill (severance, leases, "
             "suppliers) before its shareholders get any of its remaining cash.", "months", ge=0, le=60,
    )


@dataclass
class IncumbentConfig:
    count: int = P(12, "Large incumbent firms (大企业, platform firms) at scale 1: they buy startups, run corporate "
                       "venture funds, buy from startups and release alumni founders.", "firms", ge=0)
    employees: float = P(30_000.0, "Mean headcount of an incumbent in the ecosystem at start_year.", "employees", ge=0)
    size_sigma: float = P(0.8, "Log-sd of incumbents' headcounts around the mean (a few giants; their total is "
                                   "count x employees at start_year).", "", ge=0, le=3)
    revenue_per_employee_mcny: float = P(2.0, "Revenue per employee of an incumbent.", "mcny/yr", gt=0)
    growth: float = P(0.05, "Yearly growth of incumbents' headcount and revenue (exogenous).", "1/yr", ge=-0.5,
                      le=1)
    home_tracks: int = P(3, "Tracks each incumbent is strategic in at the start (with the tracks derived from "
                            "them).", "tracks", ge=1, le=50)
    expansion_rate: float = P(0.3, "Yearly chance that an incumbent makes a hot track strategic (enters "
                                   "it).", "1/yr", ge=0, le=10)
    acquisition_budget_share: float = P(0.02, "Yearly budget for buying startups, a share of the incumbent's "
                                              "revenue.", "share", ge=0, le=1)
    strategic_acquisition_rate: float = P(
        0.04, "Yearly hazard that a venture-backed firm with traction is bought by an incumbent, per incumbent "
              "that is strategic in its track and has budget left.", "1/yr", ge=0, le=12
    )
    strategic_premium: float = P(0.2, "Mean log premium an incumbent pays over the usual acquisition "
                                      "price (synergies).", "", ge=-1, le=3)
    distressed_interest: float = P(
        1.0, "A venture-backed firm out of cash is bought for its team with probability 1 - exp(-interest * "
             "strategic incumbents with budget in its track).", "", ge=0, le=20
    )
    cvc_budget_share: float = P(0.005, "Yearly commitment to the incumbent's corporate venture fund (CVC), a share "
                                       "of its revenue.", "share", ge=0, le=1)
    procurement_share: float = P(0.005, "Yearly purchases from the ecosystem's young firms, a share of the "
                                        "incumbent's revenue.", "share", ge=0, le=1)
    alumni_track_affinity: float = P(
        3.0, "Alumni founders' entry weight in their former employer's strategic tracks, times 1 + this.", "", ge=0,
        le=100
    )


@dataclass
class ContractConfig:
    term_years: float = P(2.0, "Term of a supply contract.", "years", gt=0, le=20)
    revenue_share: float = P(0.5, "Value of a contract per year, a share of the supplier's revenue at "
                                  "signing.", "share", gt=0, le=10)
    max_mcny: float = P(50.0, "Largest contract value per year.", "mcny/yr", gt=0)
    min_revenue_mcny: float = P(1.0, "A buyer only contracts firms with at least this revenue (a product on "
                                     "sale).", "mcny/yr", ge=0)
    evaluation_noise: float = P(0.8, "Buyers' error when they judge a supplier's latent quality.", "sd", ge=0,
                                le=5)


@dataclass
class InstituteConfig:
    count: int = P(40, "Research institutes and universities at scale 1.", "institutes", ge=0)
    budget_mcny: float = P(1_500.0, "Yearly research budget of each institute.", "mcny/yr", ge=0)
    researchers: int = P(2_000, "Researchers per institute.", "people", ge=0)
    basic_share: float = P(0.3, "Share of an institute's budget and researchers in basic research; the rest is "
                                "applied research.", "share", ge=0, le=1)
    knowledge_decay: float = P(0.15, "Yearly decay (obsolescence) of an institute's knowledge in a "
                                     "track.", "1/yr", gt=0, le=2)
    breakthroughs_per_year: float = P(
        0.3, "Breakthroughs a year per effort-year of knowledge renewed (rate = this * knowledge_decay * knowledge): "
             "about what an institute with 1,000 mcny and 1,000 researchers makes in a steady state.", "1/yr", ge=0
    )
    basic_knowledge_jump: float = P(
        0.5, "Knowledge a basic breakthrough adds to its track (and gives a track it opens), in effort-years (one "
             "year of research of an institute with 1,000 mcny and 1,000 researchers).", "effort-years", ge=0
    )
    breakthrough_boost: float = P(0.11, "Extra yearly market growth of a track after an applied "
                                        "breakthrough.", "1/yr", ge=0, le=2)
    boost_decay_years: float = P(3.0, "How long a breakthrough's boost lasts (e-folding).", "years", gt=0)
    licences_per_year: float = P(10.0, "Licences a year per effort-year of knowledge renewed, under the preset's "
                                       "transfer regime.", "licences/yr", ge=0)
    licence_fee_mcny: float = P(0.5, "Fee a licensee pays the institute when it signs.", "mcny", ge=0)
    licence_quality_lift: float = P(0.3, "A licence raises the licensee's latent quality by this "
                                         "much.", "sd", ge=0, le=3)
    licence_min_employees: float = P(5.0, "Licensees need at least this headcount (and cash for the "
                                          "fee).", "employees", ge=1)
    rank_retention: float = P(0.3, "Transfer regime: share of their rank and honours that researchers keep when "
                                   "they found a firm.", "share", ge=0, le=1)
    equity_share: float = P(0.5, "Transfer regime: researchers' share of the equity and income from their "
                                 "results.", "share", ge=0, le=1)
    brokers_per_1000_researchers: float = P(2.0, "Transfer regime: technology brokers and transfer-office staff per "
                                                 "1,000 researchers.", "per 1,000", ge=0)
    equity_response: float = P(
        1.0, "Rise of ln(spin-offs) and ln(licences) per unit of researchers' equity share (Hvide & Jones 2018: "
             "cutting it from 1 to 1/3 halved university start-ups). In the default sensitivity analysis.", "", ge=0,
        le=10
    )
    rank_response: float = P(
        1.0, "ASSUMED response: rise of ln(spin-offs) per unit of rank retention. In the default sensitivity "
             "analysis.", "", ge=0, le=10
    )
    broker_elasticity: float = P(
        0.5, "ASSUMED response: elasticity of spin-offs and licences with respect to (1 + brokers per 1,000 "
             "researchers). In the default sensitivity analysis.", "", ge=0, le=5
    )


@dataclass
class RDConfig:
    performer_share: float = P(0.35, "Share of firms that do R&D at all: each firm is an R&D performer or not for "
                                     "life (its own keyed draw, fixed at birth); the others have no R&D staff, no R&D "
                                     "spending and no product breakthroughs from R&D.", "share", ge=0, le=1)
    staff_share: list[float] = P(
        [0.35, 0.3, 0.25], "Share of an R&D performer's staff in R&D in a track of research intensity 1, by stage "
        "(startup, gazelle, unicorn); its share is this times its track's tech_intensity (0-1).", "share"
    )
    nonlabour_ratio: float = P(0.6, "R&D spending beyond the R&D staff's wages (materials, equipment, outside "
                                    "services) per unit of those wages.", "", ge=0, le=10)
    stock_decay: float = P(0.15, "Yearly depreciation of a firm's R&D stock (perpetual inventory).", "1/yr", gt=0,
                           le=2)
    breakthrough_rate: float = P(0.03, "Yearly hazard of a product breakthrough of a firm with an R&D stock of 1 mcny "
                                      "in a track where the institutes hold no knowledge.", "1/yr", ge=0, le=12)
    stock_elasticity: float = P(0.5, "The hazard rises as (R&D stock)^elasticity: diminishing returns to R&D.", "",
                                ge=0, le=1)
    absorption: float = P(0.5, "The hazard is multiplied by 1 + absorption * (institutes' knowledge in the track / "
                               "their mean knowledge per active track): what firms draw from public research.", "",
                          ge=0, le=10)
    quality_lift: float = P(0.2, "A product breakthrough raises the firm's latent quality by this much.", "sd", ge=0,
                            le=3)
    tax_rate: float = P(0.25, "Corporate income tax rate the R&D deductions are worth (企业所得税).", "share", ge=0,
                        lt=0.4)
    deduction_rate: float = P(0.75, "Extra deduction of R&D spending (研发费用加计扣除) under the preset's tax "
                                    "regime, on top of deducting the spending itself.", "share", ge=0, le=1.5)
    user_cost_elasticity: float = P(1.0, "Elasticity of firms' R&D with respect to its after-tax user cost "
                                         "(1 - tax_rate * (1 + deduction)); firms with taxable profit respond.", "",
                                    ge=0, le=5)
    cert_min_age_years: float = P(1.0, "High-tech enterprise certification (高新技术企业): registered at least this "
                                       "long.", "years", ge=0)
    cert_min_rd_staff_share: float = P(0.10, "Certification: R&D staff at least this share of all staff.", "share",
                                       ge=0, le=1)
    cert_revenue_bands_mcny: list[float] = P(
        [50.0, 200.0], "Certification: the revenue bounds of the R&D-share tiers (yearly revenue).", "mcny/yr"
    )
    cert_min_rd_share: list[float] = P(
        [0.05, 0.04, 0.03], "Certification: least R&D spending as a share of revenue in the year, below, between and "
        "above the revenue bounds.", "share"
    )
    cert_min_revenue_mcny: float = P(5.0, "Certification: least revenue in the year (high-tech products must bring "
                                          "in at least 60 % of it; the model asks for a product on the market).",
                                     "mcny/yr", ge=0)
    cert_valid_years: int = P(3, "Certification: years a certificate is valid; then the firm has to pass again "
                                 "(not counted as new).", "years", ge=1, le=10)


@dataclass
class GazelleListConfig:
    quota_per_year: float = P(
        0.0, "Firms the government adds to its gazelle list (瞪羚企业名单, the firms it cultivates) each year, at "
             "scale 1 (times scale, fractions carried over); 0: no list.", "firms/yr", ge=0
    )
    criteria: str = P(
        "tiered_cn", "Test an applicant must pass: a gazelle definition (oecd, eu10, tiered_cn) with the thresholds "
                     "and age cap given under stages.", choices=GAZELLE_DEFINITIONS
    )
    apply_probability: float = P(0.5, "Share of the firms passing the test that apply in a year.", "share", ge=0,
                                 le=1)
    evaluation_noise: float = P(
        0.1, "Error of the government's review: sd of the noise added to an applicant's growth rate before the "
             "applicants are ranked.", "1/yr", ge=0, le=5
    )
    first_year: int = P(0, "First year of the list; 0 = start_year.", "year", ge=0, le=2100)


@dataclass
class GovernmentConfig:
    budget_mcny_per_year: float = P(2_000.0, "Yearly budget for policies at scale 1.", "mcny/yr", ge=0)
    gazelle_list: GazelleListConfig = sub(GazelleListConfig, "The government's list of cultivated gazelles.")


@dataclass
class TrackConfig:
    system: str = P("china_2021", "Initial track system: a file conf/tracks/<system>.yaml.")
    park_market_share: float = P(0.15, "Share of each national track market the park's firms can "
                                       "address.", "share", gt=0, le=1)
    heat_memory_months: float = P(12.0, "Time scale of the track-heat average.", "months", gt=0)
    dynamics: bool = P(True, "Let the track system change (emergence, fission, fusion, consolidation, new tracks).")
    freeze_in_warmup: bool = P(
        True, "Keep the track system as listed during the warm-up, so the observed window starts from the listed "
              "system."
    )
    window_years: float = P(3.0, "Memory of the recent gazelle and unicorn counts that drive lifecycle "
                                 "states.", "years", gt=0)
    emerging_gazelles: float = P(
        10.0, "Recent gazelles (at scale 1; times scale, at least 1) that turn a latent track into an emerging one "
              "(M3).", "firms", ge=0
    )
    explosive_unicorns: float = P(
        3.0, "Recent unicorns (at scale 1; times scale, at least 2) that make a formed track explosive "
             "(M5).", "firms", ge=0
    )
    mature_maturity: float = P(0.65, "Market maturity (S-curve position, 0-1) at which a formed track becomes "
                                     "mature.", "", gt=0, lt=1)
    quiet_years: float = P(2.0, "A mature track with no new unicorn for this long can start "
                                "consolidating.", "years", gt=0)
    consolidation_growth: float = P(
        0.10, "A mature track whose market grows slower than this starts consolidating.", "1/yr", ge=-1, le=2
    )
    maturation_rate: float = P(0.35, "Speed of the markets' S-curve: dm/dt = rate * m * (1 - m) for maturity "
                                     "m.", "1/yr", ge=0, le=5)
    new_track_growth: float = P(0.3, "Listed market growth of a track the model creates (scaled up while it is "
                                     "young).", "1/yr", ge=0, le=2)
    state_heat: list[float] = P(
        [0.4, 1.0, 1.2, 1.8, 0.8, 0.5, 0.0],
        "Heat and entry multiplier by lifecycle state (latent, emerging, formed, explosive, mature, consolidating, "
        "ended).",
    )
    explosive_growth_boost: float = P(0.10, "Extra yearly market growth of an explosive track.", "1/yr", ge=0, le=2)
    complementarity: float = P(
        0.3, "Share of a track's market growth passed on to the tracks it needs (M10: e-commerce drives payments, "
             "logistics).", "", ge=0, le=2
    )
    fission_rate: float = P(
        0.25, "Derived tracks a growing main track spawns per year (a Poisson mean), times its closeness to everyday "
              "needs and min(market growth / 15 %, 2) (M8).", "1/yr", ge=0, le=10
    )
    fission_share: float = P(0.12, "Share of the parent's market and firms a derived track takes.", "share", gt=0, lt=1)
    fusion_rate: float = P(
        3.0, "Yearly fusions expected across the whole system at average co-activity (M6).", "1/yr", ge=0, le=100
    )
    general_purpose_fusion: float = P(3.0, "Fusion co-activity multiplier for general-purpose technologies (AI x, BT+, "
                                           "NE+).", "x", ge=1, le=20)
    fusion_share: float = P(0.03, "Share of each parent's market a fused track starts with.", "share", gt=0, lt=0.5)
    breakthrough_open_probability: float = P(
        0.13, "Chance that a basic breakthrough opens a new track, times the track's research intensity (x2 for "
              "general-purpose), at scale 1 (divided by scale, capped at 1).", "", ge=0, le=1
    )
    shakeout: bool = P(
        True, "New tracks under a main track whose market has matured and slowed (mature_maturity, "
              "consolidation_growth) consolidate once formed, unicorns or not; explosive ones hold out (M9).",
    )
    consolidation_rate: float = P(0.2, "Yearly chance that a consolidating track is absorbed by a related one "
                                       "(M9).", "1/yr", ge=0, le=10)
    promote_market_yi_cny: float = P(
        1000.0, "A new track that is explosive and this large becomes a main track (深创投: investable tracks >= "
                "1000亿).", "亿元", gt=0
    )
    alumni_unicorn_elasticity: float = P(
        0.5, "Alumni founders favour tracks with many unicorns (their former employers) as (1 + "
             "unicorns)^elasticity.", "", ge=0, le=5
    )


@dataclass
class EcosystemConfig:
    name: str = P("zhongguancun", "Preset name.")
    note: str = P("", "Where the preset's numbers come from.")
    start_year: int = P(2015, "First calendar year of the observed window.", "year", ge=1950, le=2100)
    warmup_years: int = P(8, "Years simulated before start_year to build up the firm population.", "years", ge=0, le=30)
    warmup_ramp: bool = P(
        True,
        "The model starts with an empty park, so in its first years only young firms ask for money and "
        "sell in the tracks' markets. With the ramp, what comes into the park from outside grows in the "
        "warm-up with the share of a full park's demand that is present (EcosystemModel.supply_share): "
        "VC commitments and the first funds, guidance-fund vintages and corporate venture as t / G (t: "
        "years since the model started, plus the time until the money is spent: 2.5 years for funds "
        "raised then, 1 for the first funds, half a year for yearly budgets; G: the graduation age), "
        "the park's share of the tracks' markets and incumbents' procurement and acquisition budgets as "
        "(t / G)^2 (older firms hold most of the revenue), angels' budgets like seed demand, which falls "
        "with a firm's age. Without it the first cohort gets several times the money and market of later "
        "ones and makes several times their unicorns, which leave the stock at the graduation age.",
    )
    firms: FirmConfig = sub(FirmConfig, "Firm founding, growth, costs and closure.")
    funding: FundingConfig = sub(FundingConfig, "How rounds are sought, screened and priced.")
    angels: AngelConfig = sub(AngelConfig, "Angel investors.")
    vc: VCConfig = sub(VCConfig, "Venture capital funds and their managers.")
    guidance: GuidanceConfig = sub(GuidanceConfig, "Government guidance funds.")
    banks: BankConfig = sub(BankConfig, "Bank lending.")
    exits: ExitConfig = sub(ExitConfig, "IPO and acquisition.")
    incumbents: IncumbentConfig = sub(IncumbentConfig, "Large incumbent firms (大企业).")
    contracts: ContractConfig = sub(ContractConfig, "Supply contracts with young firms (procurement).")
    institutes: InstituteConfig = sub(InstituteConfig, "Research institutes.")
    rd: RDConfig = sub(RDConfig, "Firms' R&D, product breakthroughs and high-tech enterprise certification.")
    government: GovernmentConfig = sub(GovernmentConfig, "Local government.")
    tracks: TrackConfig = sub(TrackConfig, "Tracks (赛道).")


@dataclass
class OutputConfig:
    plots: bool = P(True, "Write the standard plots after the run.")
    firm_years: bool = P(True, "Write firm_years.parquet (one row per live firm per year end).")
    progress: str = P("auto", "Progress bar: auto (on a terminal, for runs longer than a few seconds), on, "
                              "off.", choices=("auto", "on", "off"))


@dataclass
class Config:
    seed: int = P(0, "Root seed; every random stream is derived from it.", ge=0, le=2**63 - 1)
    years: int = P(10, "Length of the observed window.", "years", ge=0, le=200)
    scale: float = P(1.0, "Multiplies the preset's extensive quantities (0.01 gives a teaching-size "
                          "run).", "", gt=0, le=10)
    memory_limit_gb: float = P(
        0.0,
        "A run whose estimated memory (sim.limits) exceeds this is refused before it starts; "
        "0 means the machine's memory (physical RAM, or the cgroup limit if lower).",
        "GB",
        ge=0,
    )
    ecosystem: EcosystemConfig = sub(EcosystemConfig, "Ecosystem preset (conf/ecosystem/).")
    stages: StageConfig = sub(StageConfig, "Stage definitions.")
    output: OutputConfig = sub(OutputConfig, "What the run writes.")
    policy: dict[str, Any] = P(
        {},
        "Policy interventions, by name: conf/policy/<name>.yaml, several with policy=[a,b]; each entry's keys "
        "are listed in docs/policies.md. Empty: the baseline, no policy.",
    )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def iter_fields(cls=Config, prefix: str = ""):
    """Yield (dotted key, field, dataclass type or None) for every leaf and group of the schema."""
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        ftype = _resolve_type(cls, f)
        if dataclasses.is_dataclass(ftype):
            yield key, f, ftype
            yield from iter_fields(ftype, key + ".")
        else:
            yield key, f, None


def _resolve_type(cls, f):
    hints = typing.get_type_hints(cls)
    return hints[f.name]


def _allowed(meta) -> str:
    parts = []
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    if meta.get("ge") is not None:
        parts.append(f">= {meta['ge']}")
    if meta.get("gt") is not None:
        parts.append(f"> {meta['gt']}")
    if meta.get("le") is not None:
        parts.append(f"<= {meta['le']}")
    if meta.get("lt") is not None:
        parts.append(f"< {meta['lt']}")
    return "a value " + " and ".join(parts) if parts else "any value"


def _check_value(key: str, value, meta) -> None:
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    if meta.get("choices") is not None:
        if value not in meta["choices"]:
            hint = difflib.get_close_matches(str(value), [str(c) for c in meta["choices"]], n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"{key}={value!r} is not allowed; use {_allowed(meta)}.{extra}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}={value!r} is not allowed; use a finite number{unit}.")
    bad = (
        (meta.get("ge") is not None and value < meta["ge"])
        or (meta.get("gt") is not None and value <= meta["gt"])
        or (meta.get("le") is not None and value > meta["le"])
        or (meta.get("lt") is not None and value >= meta["lt"])
    )
    if bad:
        raise ConfigError(f"{key}={value!r} is out of range; use {_allowed(meta)}{unit}.")


#: How a scalar of each type is described in messages (shared with sim.compose).
SCALAR_TEXT = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _type_text(tp) -> str:
    """What a value of type ``tp`` looks like, for messages."""
    if tp in SCALAR_TEXT:
        return SCALAR_TEXT[tp]
    if typing.get_origin(tp) is list:
        (arg,) = typing.get_args(tp) or (Any,)
        if dataclasses.is_dataclass(arg):
            entry = ", ".join(f"{f.name}: <{_type_text(t).split(' ', 1)[-1]}>" for f, t in field_hints(arg))
            return "a list of entries like {" + entry + "}"
        return f"a list of {_type_text(arg).split(' ', 1)[-1]}s" if arg in (int, float, str) else "a list"
    if dataclasses.is_dataclass(tp):
        return f"a group of keys (sim.config.{tp.__name__})"
    if typing.get_origin(tp) is dict:
        return "a group of keys"
    return getattr(tp, "__name__", str(tp))


def is_bool(value) -> bool:
    """A Python or numpy true/false value (not a number; for the type checks here and in sim.policies)."""
    return isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"


def type_fits(value, tp) -> bool:
    """Whether ``value`` has the type ``tp`` of a configuration key: bool only true or false; int any
    integer and float any real number, neither a bool; str; a list, a mapping, a dataclass by kind."""
    if tp is bool:
        return is_bool(value)
    if is_bool(value):
        return False
    if tp is int:
        return isinstance(value, numbers.Integral)
    if tp is float:
        return isinstance(value, numbers.Real)
    if tp is str:
        return isinstance(value, str)
    if typing.get_origin(tp) is list:
        return isinstance(value, (list, tuple))
    if typing.get_origin(tp) is dict:
        return isinstance(value, Mapping)
    if dataclasses.is_dataclass(tp):
        return isinstance(value, tp)
    return True


def _check_type(key: str, value, tp) -> None:
    if not type_fits(value, tp):
        shown = repr(value) if not dataclasses.is_dataclass(value) else type(value).__name__ + "(...)"
        raise ConfigError(
            f"{key}={shown} has the wrong type ({type(value).__name__}); use {_type_text(tp)}."
        )


@functools.cache
def field_hints(cls):
    """(field, resolved annotation) of every field of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def validate(cfg: Config) -> Config:
    """Check types, ranges, choices and cross-field rules; raise ConfigError on the first problem.

    Types matter for configurations built in Python (a :class:`Config` edited by hand): values
    composed by Hydra or :func:`to_config` have been type-checked by OmegaConf already.
    """
    _check_type("configuration", cfg, Config)

    def walk(obj, prefix=""):
        for f, tp in field_hints(type(obj)):
            key = f"{prefix}{f.name}"
            value = getattr(obj, f.name)
            _check_type(key, value, tp)
            if dataclasses.is_dataclass(tp):
                walk(value, key + ".")
                continue
            if typing.get_origin(tp) is list:
                (arg,) = typing.get_args(tp)
                for i, item in enumerate(value):
                    _check_type(f"{key}[{i}]", item, arg)
                    if dataclasses.is_dataclass(arg):
                        walk(item, f"{key}[{i}].")
            _check_value(key, value, f.metadata)

    walk(cfg)
    eco = cfg.ecosystem
    for name, n in (("screening_bar", 5), ("round_floor_mcny", 5), ("round_dilution_factor", 5)):
        values = getattr(eco.funding, name)
        if len(values) != n:
            raise ConfigError(
                f"ecosystem.funding.{name} has {len(values)} entries; give exactly {n} "
                "(seed, A, B, C, D+)."
            )
        if any((not math.isfinite(v)) for v in values) or (name == "round_floor_mcny" and any(v < 0 for v in values)):
            raise ConfigError(f"ecosystem.funding.{name}={list(values)} must hold finite, non-negative numbers.")
    factors = list(eco.funding.round_dilution_factor)
    if any((not math.isfinite(v)) or v <= 0 or v * eco.funding.dilution_max >= 1 for v in factors):
        raise ConfigError(
            f"ecosystem.funding.round_dilution_factor={factors} must hold positive numbers below "
            f"1 / ecosystem.funding.dilution_max = {1 / eco.funding.dilution_max:.4g} (a round sells less than the "
            "whole firm)."
        )
    rd = eco.rd
    for name, n, hi in (("staff_share", 3, 1.0), ("cert_min_rd_share", 3, 1.0), ("cert_revenue_bands_mcny", 2, None)):
        values = list(getattr(rd, name))
        if len(values) != n:
            what = "startup, gazelle, unicorn" if name == "staff_share" else "one per revenue tier" if n == 3 else \
                "the lower and upper bound"
            raise ConfigError(f"ecosystem.rd.{name} has {len(values)} entries; give exactly {n} ({what}).")
        if any(not math.isfinite(v) or v < 0 or (hi is not None and v > hi) for v in values):
            allowed = f"in [0, {hi:g}]" if hi is not None else "finite and non-negative"
            raise ConfigError(f"ecosystem.rd.{name}={values} must hold numbers {allowed}.")
    if rd.cert_revenue_bands_mcny[0] > rd.cert_revenue_bands_mcny[1]:
        raise ConfigError(f"ecosystem.rd.cert_revenue_bands_mcny={list(rd.cert_revenue_bands_mcny)} must be "
                          "increasing (lower bound first).")
    if eco.funding.dilution_min > eco.funding.dilution_max:
        raise ConfigError(
            f"ecosystem.funding.dilution_min={eco.funding.dilution_min} is larger than "
            f"ecosystem.funding.dilution_max={eco.funding.dilution_max}; use min <= max."
        )
    if eco.vc.investment_period_years > eco.vc.life_years:
        raise ConfigError(
            f"ecosystem.vc.investment_period_years={eco.vc.investment_period_years} exceeds "
            f"ecosystem.vc.life_years={eco.vc.life_years}; the investment period must fit in the fund life."
        )
    if eco.guidance.investment_period_years > eco.guidance.life_years:
        raise ConfigError(
            f"ecosystem.guidance.investment_period_years={eco.guidance.investment_period_years} exceeds "
            f"ecosystem.guidance.life_years={eco.guidance.life_years}; the investment period must fit in the fund "
            "life."
        )
    if eco.firms.alumni_share + eco.firms.spinoff_share > 1:
        raise ConfigError(
            "ecosystem.firms.alumni_share + ecosystem.firms.spinoff_share = "
            f"{eco.firms.alumni_share + eco.firms.spinoff_share:g}; the two shares must add up to at most 1."
        )
    ic = eco.institutes
    x = ic.knowledge_decay / 12.0  # the monthly update keeps knowledge bounded below this product
    limit = 1.0 if x < 1e-9 else -math.expm1(-x) / x
    if ic.breakthroughs_per_year * ic.basic_knowledge_jump >= limit:
        raise ConfigError(
            f"ecosystem.institutes.breakthroughs_per_year * basic_knowledge_jump = "
            f"{ic.breakthroughs_per_year * ic.basic_knowledge_jump:g} would let knowledge grow without bound; keep the "
            f"product below {limit:.4f} (each basic breakthrough must beget less than one more)."
        )
    for d in eco.guidance.mandated_directions:
        if d not in DIRECTIONS:
            raise ConfigError(
                f"ecosystem.guidance.mandated_directions contains {d!r}; allowed directions are "
                + ", ".join(DIRECTIONS)
                + "."
            )
    sh = eco.tracks.state_heat
    if len(sh) != len(LIFECYCLE) or any((not math.isfinite(v)) or v < 0 for v in sh):
        raise ConfigError(
            f"ecosystem.tracks.state_heat={list(sh)} must hold {len(LIFECYCLE)} finite, non-negative numbers "
            f"({', '.join(LIFECYCLE)})."
        )
    tiers = cfg.stages.tiered_cn_tiers
    if not tiers:
        raise ConfigError("stages.tiered_cn_tiers is empty; give at least one tier.")
    lows = [t.min_revenue_mcny for t in tiers]
    if lows != sorted(lows) or len(set(lows)) != len(lows) or lows[0] < 0:
        raise ConfigError(
            f"stages.tiered_cn_tiers lower bounds {lows} must be non-negative and strictly increasing."
        )
    if eco.firms.graduation_age_years < 1:
        raise ConfigError("ecosystem.firms.graduation_age_years must be at least 1 year.")
    return cfg


def to_config(cfg) -> Config:
    """Turn a composed DictConfig (or a Config) into a validated :class:`Config` instance."""
    if isinstance(cfg, Config):
        return validate(cfg)
    if not (OmegaConf.is_dict(cfg) or isinstance(cfg, Mapping)):
        raise ConfigError(
            f"A configuration must be a sim.config.Config, a mapping of keys or an OmegaConf DictConfig, "
            f"not {type(cfg).__name__}."
        )
    try:
        if not OmegaConf.is_config(cfg):
            cfg = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        obj = OmegaConf.to_object(cfg)
        if not isinstance(obj, Config):  # a plain DictConfig: only the schema finds unknown keys
            obj = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), obj))
    except OmegaConfBaseException as exc:  # type errors, unknown keys
        raise ConfigError(describe_omegaconf_error(exc)) from None
    return validate(obj)


def describe_omegaconf_error(exc) -> str:
    """One readable line (plus a hint) for an OmegaConf validation error."""
    key = getattr(exc, "full_key", None) or ""
    msg = str(exc).split("\n")[0]
    owner = getattr(exc, "object_type", None)
    if key and "." not in key and owner not in (None, Config):
        # a node merged on its own (e.g. an entry of a list) reports its key without the path
        prefix = _schema_paths().get(owner, "")
        if prefix.endswith("[]"):
            key = f"{prefix}.{key}"
    if "not in struct" in str(exc) or "Key '" in msg and "not" in msg:
        bad = key.split(".")[-1] if key else msg
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        allowed = allowed_keys(parent)
        hint = difflib.get_close_matches(bad, allowed, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        where = f" under {parent!r}" if parent else ""
        return f"Unknown configuration key {key!r}.{extra} Allowed keys{where}: {', '.join(allowed)}."
    if not key:
        return msg
    tp = _leaf_type(key)
    use = f"; use {_type_text(tp)}" if tp is not None and not dataclasses.is_dataclass(tp) else ""
    return f"Invalid value for {key!r}: {msg.rstrip('.')}{use}."


def _leaf_type(key: str):
    """Type of the schema field at a dotted key (``a.b[0].c`` allowed), or None if there is none."""
    parent, _, name = re.sub(r"\[\d*\]$", "", key).rpartition(".")
    if name not in allowed_keys(parent):
        return None
    cls = Config
    for part in parent.split(".") if parent else []:
        base, bracket, _ = part.partition("[")
        cls = _resolve_type(cls, {f.name: f for f in dataclasses.fields(cls)}[base])
        if bracket:
            (cls,) = typing.get_args(cls)
    tp = _resolve_type(cls, {f.name: f for f in dataclasses.fields(cls)}[name])
    if key.endswith("]") and typing.get_origin(tp) is list:
        (tp,) = typing.get_args(tp)
    return tp


def allowed_keys(prefix: str = "") -> list[str]:
    """Keys allowed directly under a dotted prefix of the schema ('' for the top level).

    An entry of a list of groups is written ``name[0]`` (or ``name[]``), e.g.
    ``stages.tiered_cn_tiers[0]``.
    """
    cls = Config
    if prefix:
        for part in prefix.split("."):
            name, bracket, _ = part.partition("[")
            fields = {f.name: f for f in dataclasses.fields(cls)}
            if name not in fields:
                return []
            cls = _resolve_type(cls, fields[name])
            if bracket:
                if typing.get_origin(cls) is not list:
                    return []
                (cls,) = typing.get_args(cls)
            if not dataclasses.is_dataclass(cls):
                return []
    return [f.name for f in dataclasses.fields(cls)]


@functools.lru_cache(maxsize=1)
def _schema_paths_cached() -> tuple:
    paths: dict[type, str] = {}

    def walk(cls, prefix):
        for f, tp in field_hints(cls):
            key = f"{prefix}{f.name}"
            if dataclasses.is_dataclass(tp):
                paths.setdefault(tp, key)
                walk(tp, key + ".")
            elif typing.get_origin(tp) is list:
                (arg,) = typing.get_args(tp)
                if dataclasses.is_dataclass(arg):
                    paths.setdefault(arg, key + "[]")
                    walk(arg, key + "[].")

    walk(Config, "")
    return tuple(paths.items())


def _schema_paths() -> dict[type, str]:
    """Dotted path of every group of the schema (``stages.tiered_cn_tiers[]`` for list entries)."""
    return dict(_schema_paths_cached())

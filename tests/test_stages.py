"""Stage gates on hand-made firm histories with known answers (report-figures.md §9).

Histories are (n, HISTORY_YEARS) year-end values, oldest first, NaN before the firm existed.
Every case below states the history, the expected answer and why.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import Config, StageConfig, Tier
from sim.core.vocabulary import GAZELLE, STAGES, STARTUP, UNICORN
from sim.model import EcosystemModel
from sim.stages import HISTORY_YEARS, gazelle_mask, unicorn_mask, unicorn_threshold_mcny

NAN = math.nan


def path(start: float, cagr: float, years: int = HISTORY_YEARS - 1, pad: int = 0) -> list[float]:
    """Year-end values growing at ``cagr`` a year from ``start``; ``pad`` leading NaNs."""
    vals = [start * (1.0 + cagr) ** i for i in range(years + 1)]
    return [NAN] * pad + vals


def classify(cfg: StageConfig, emp, rev, age) -> bool:
    out = gazelle_mask(np.array([emp], float), np.array([rev], float), np.array([age], float), cfg)
    assert out.shape == (1,) and out.dtype == bool
    return bool(out[0])


FLAT10 = [10.0, 10.0, 10.0, 10.0]  # 10 employees throughout: meets the size test, no growth
FLAT_REV = [1.0, 1.0, 1.0, 1.0]


def test_constants():
    assert (STARTUP, GAZELLE, UNICORN) == (0, 1, 2)
    assert STAGES[GAZELLE] == "gazelle" and STAGES[UNICORN] == "unicorn"
    assert HISTORY_YEARS >= 4  # a 3-year window needs 4 year ends


# ---------------------------------------------------------------------------------------------
# OECD-Eurostat, employees
# ---------------------------------------------------------------------------------------------

OECD_EMP = StageConfig(gazelle_definition="oecd", gazelle_measure="employees")

OECD_EMP_CASES = [
    # (id, employees history, age, expected)
    ("exactly 20%/yr (computed)", path(10, 0.20), 4.0, True),
    ("exactly 20%/yr (decimal literal 17.28)", [10.0, 12.0, 14.4, 17.28], 4.0, True),
    ("19.9%/yr", path(10, 0.199), 4.0, False),
    ("20.1%/yr", path(10, 0.201), 4.0, True),
    ("only the window end points count", [10.0, 5.0, 30.0, 17.28], 4.0, True),
    ("doubling but 9 employees at the window start", path(9, 1.0), 4.0, False),
    ("10 employees at the window start, 20%/yr", path(10, 0.20), 4.0, True),
    ("shrinking", path(50, -0.10), 4.0, False),
    ("flat", FLAT10, 4.0, False),
    ("age exactly 5", path(10, 0.5), 5.0, True),
    ("age 5.1", path(10, 0.5), 5.1, False),
    ("3.5 years old: window start missing", path(10, 0.8, years=2, pad=1), 3.5, False),
    ("no history at all", [NAN] * 4, 0.5, False),
    ("current year end missing", [10.0, 20.0, 40.0, NAN], 4.0, False),
    ("zero employees at the window start", [0.0, 5.0, 10.0, 20.0], 4.0, False),
]


@pytest.mark.parametrize("emp, age, expected", [c[1:] for c in OECD_EMP_CASES], ids=[c[0] for c in OECD_EMP_CASES])
def test_oecd_employees(emp, age, expected):
    # revenue flat: the employee measure alone decides
    assert classify(OECD_EMP, emp, FLAT_REV, age) is expected


def test_oecd_age_cap_zero_disables_the_age_test():
    cfg = StageConfig(gazelle_definition="oecd", gazelle_max_age_years=0.0)
    assert classify(cfg, path(10, 0.3), FLAT_REV, 30.0) is True
    assert classify(cfg, path(10, 0.1), FLAT_REV, 30.0) is False  # still needs the growth
    assert classify(OECD_EMP, path(10, 0.3), FLAT_REV, 30.0) is False  # the default cap is 5


def test_oecd_min_start_employees_is_a_parameter():
    emp = path(9, 1.0)
    assert classify(OECD_EMP, emp, FLAT_REV, 4.0) is False
    assert classify(StageConfig(gazelle_min_start_employees=9.0), emp, FLAT_REV, 4.0) is True
    # a missing window start never satisfies a size test, even a size test of 0
    young = path(3, 1.0, years=2, pad=1)
    assert classify(StageConfig(gazelle_min_start_employees=0.0), young, FLAT_REV, 3.0) is False


def test_oecd_shorter_window_uses_the_right_columns():
    cfg = StageConfig(gazelle_window_years=2)
    # 2-year window: the start is the second column; the first (missing) one is irrelevant
    assert classify(cfg, [NAN, 10.0, 12.0, 14.4], FLAT_REV, 2.5) is True
    assert classify(cfg, [NAN, 10.0, 12.0, 14.3], FLAT_REV, 2.5) is False
    # with a 3-year window the same firm has no window start
    assert classify(OECD_EMP, [NAN, 10.0, 12.0, 14.4], FLAT_REV, 2.5) is False


# ---------------------------------------------------------------------------------------------
# OECD-Eurostat, revenue
# ---------------------------------------------------------------------------------------------

OECD_REV = StageConfig(gazelle_definition="oecd", gazelle_measure="revenue")

OECD_REV_CASES = [
    # (id, employees, revenue, age, expected)
    ("revenue exactly 20%/yr", FLAT10, path(3.0, 0.20), 4.0, True),
    ("revenue exactly 20%/yr, literal", FLAT10, [1.0, 1.2, 1.44, 1.728], 4.0, True),
    ("revenue 19.9%/yr", FLAT10, path(3.0, 0.199), 4.0, False),
    ("revenue 25%/yr, employees flat", FLAT10, path(0.7, 0.25), 4.0, True),
    ("employees 50%/yr, revenue flat", path(10, 0.5), FLAT_REV, 4.0, False),
    ("revenue doubling, 9 employees at window start", [9.0, 9.0, 9.0, 9.0], path(1.0, 1.0), 4.0, False),
    ("revenue doubling, age 5.1", FLAT10, path(1.0, 1.0), 5.1, False),
    ("revenue from zero", FLAT10, [0.0, 1.0, 2.0, 4.0], 4.0, False),
    ("revenue history too short", FLAT10, [NAN, 1.0, 2.0, 4.0], 4.0, False),
]


@pytest.mark.parametrize(
    "emp, rev, age, expected", [c[1:] for c in OECD_REV_CASES], ids=[c[0] for c in OECD_REV_CASES]
)
def test_oecd_revenue(emp, rev, age, expected):
    assert classify(OECD_REV, emp, rev, age) is expected


# ---------------------------------------------------------------------------------------------
# EU 10 % variant (employment, strictly above 10 %/yr)
# ---------------------------------------------------------------------------------------------

EU10 = StageConfig(gazelle_definition="eu10")

EU10_CASES = [
    ("exactly 10%/yr fails (strictly above)", path(10, 0.10), FLAT_REV, 4.0, False),
    ("exactly 10%/yr, literal 13.31", [10.0, 11.0, 12.1, 13.31], FLAT_REV, 4.0, False),
    ("10.1%/yr", path(10, 0.101), FLAT_REV, 4.0, True),
    ("9.9%/yr", path(10, 0.099), FLAT_REV, 4.0, False),
    ("15%/yr, 9 employees at window start", path(9, 0.15), FLAT_REV, 4.0, False),
    ("15%/yr, age 5", path(10, 0.15), FLAT_REV, 5.0, True),
    ("15%/yr, age 5.1", path(10, 0.15), FLAT_REV, 5.1, False),
    ("revenue tripling, employees flat", FLAT10, path(1.0, 2.0), 4.0, False),
    ("too young", path(20, 0.5, years=1, pad=2), FLAT_REV, 1.5, False),
]


@pytest.mark.parametrize("emp, rev, age, expected", [c[1:] for c in EU10_CASES], ids=[c[0] for c in EU10_CASES])
def test_eu10(emp, rev, age, expected):
    assert classify(EU10, emp, rev, age) is expected


def test_eu10_ignores_the_measure_setting():
    cfg = StageConfig(gazelle_definition="eu10", gazelle_measure="revenue")
    assert classify(cfg, FLAT10, path(1.0, 2.0), 4.0) is False
    assert classify(cfg, path(10, 0.15), FLAT_REV, 4.0) is True


# ---------------------------------------------------------------------------------------------
# Tiered Chinese criteria (济南高新区 瞪羚计划 2016): 10-100 mcny 20 %, 100-500 15 %, >= 500 10 %
# 2-year revenue CAGR ending at the current year end.
# ---------------------------------------------------------------------------------------------

TIERED = StageConfig(gazelle_definition="tiered_cn")


def ending_at(current: float, cagr: float, years: int = 2) -> list[float]:
    """Revenue history ending at ``current`` after ``years`` years of ``cagr`` growth."""
    vals = [current / (1.0 + cagr) ** (years - i) for i in range(years + 1)]
    vals[-1] = current
    return [NAN] * (HISTORY_YEARS - years - 1) + vals


TIERED_CASES = [
    # lowest tier, 10 mcny inclusive, 20 %
    ("10 mcny, 20%", 10.0, 0.20, True),
    ("10 mcny, 19.9%", 10.0, 0.199, False),
    ("10 mcny, 20.1%", 10.0, 0.201, True),
    ("9.99 mcny, 100% growth never qualifies", 9.99, 1.0, False),
    ("1 mcny, 500% growth never qualifies", 1.0, 5.0, False),
    ("50 mcny, 20%", 50.0, 0.20, True),
    ("99.99 mcny, 19.9% (still the 20% tier)", 99.99, 0.199, False),
    ("99.99 mcny, 17%", 99.99, 0.17, False),
    # 100 mcny starts the 15 % tier
    ("100 mcny, 15%", 100.0, 0.15, True),
    ("100 mcny, 14.9%", 100.0, 0.149, False),
    ("100 mcny, 15.1%", 100.0, 0.151, True),
    ("300 mcny, 17%", 300.0, 0.17, True),
    ("499.99 mcny, 14.9% (still the 15% tier)", 499.99, 0.149, False),
    ("499.99 mcny, 12%", 499.99, 0.12, False),
    # 500 mcny starts the 10 % tier
    ("500 mcny, 10%", 500.0, 0.10, True),
    ("500 mcny, 9.9%", 500.0, 0.099, False),
    ("500 mcny, 10.1%", 500.0, 0.101, True),
    ("5000 mcny, 12%", 5000.0, 0.12, True),
    ("5000 mcny, 9%", 5000.0, 0.09, False),
]


@pytest.mark.parametrize("current, cagr, expected", [c[1:] for c in TIERED_CASES], ids=[c[0] for c in TIERED_CASES])
def test_tiered_cn(current, cagr, expected):
    # employees are irrelevant for tiered_cn: 2 employees, no size test
    assert classify(TIERED, [2.0] * 4, ending_at(current, cagr), 3.0) is expected


def test_tiered_cn_exact_decimal_boundaries():
    # 2-year windows written as decimal literals: 10 * 1.2^2 = 14.4, 100 * 1.15^2 = 132.25, 500 * 1.1^2 = 605
    emp = [2.0] * 4
    assert classify(TIERED, emp, [NAN, 10.0, 12.0, 14.4], 3.0) is True
    assert classify(TIERED, emp, [NAN, 100.0, 110.0, 132.25], 3.0) is True
    assert classify(TIERED, emp, [NAN, 500.0, 520.0, 605.0], 3.0) is True
    assert classify(TIERED, emp, [NAN, 500.0, 520.0, 604.9], 3.0) is False


def test_tiered_cn_uses_a_two_year_window():
    emp = [2.0] * 4
    # strong growth over 3 years but none over the last 2: not a gazelle
    assert classify(TIERED, emp, [5.0, 30.0, 30.0, 30.0], 3.5) is False
    # no growth over 3 years, 44 % over the last 2
    assert classify(TIERED, emp, [14.4, 10.0, 12.0, 14.4], 3.5) is True


def test_tiered_cn_nan_history_never_qualifies():
    emp = [2.0] * 4
    assert classify(TIERED, emp, [NAN, NAN, 20.0, 60.0], 1.5) is False  # only one year end of revenue
    assert classify(TIERED, emp, [NAN, NAN, NAN, 60.0], 0.5) is False
    assert classify(TIERED, emp, [NAN, 10.0, 20.0, NAN], 2.5) is False


def test_tiered_cn_custom_tiers_are_sorted_by_bound():
    cfg = StageConfig(
        gazelle_definition="tiered_cn",
        tiered_cn_window_years=1,
        tiered_cn_tiers=[Tier(20.0, 0.5), Tier(10.0, 1.0)],
    )
    emp = [2.0] * 4
    assert classify(cfg, emp, [NAN, NAN, 5.0, 10.0], 2.0) is True  # tier 10-20 needs 100 %
    assert classify(cfg, emp, [NAN, NAN, 5.1, 10.0], 2.0) is False
    assert classify(cfg, emp, [NAN, NAN, 14.0, 21.0], 2.0) is True  # tier >= 20 needs 50 %


# ---------------------------------------------------------------------------------------------
# All definitions vectorised: answers must be per row, independent of the other rows
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg, cases",
    [
        (OECD_EMP, [(c[1], FLAT_REV, c[2], c[3]) for c in OECD_EMP_CASES]),
        (OECD_REV, [c[1:] for c in OECD_REV_CASES]),
        (EU10, [c[1:] for c in EU10_CASES]),
        (TIERED, [([2.0] * 4, ending_at(c[1], c[2]), 3.0, c[3]) for c in TIERED_CASES]),
    ],
    ids=["oecd-employees", "oecd-revenue", "eu10", "tiered_cn"],
)
def test_batch_matches_single_cases(cfg, cases):
    emp = np.array([c[0] for c in cases], float)
    rev = np.array([c[1] for c in cases], float)
    age = np.array([c[2] for c in cases], float)
    expected = np.array([c[3] for c in cases])
    got = gazelle_mask(emp, rev, age, cfg)
    np.testing.assert_array_equal(got, expected)
    # reversing the rows reverses the answers
    np.testing.assert_array_equal(gazelle_mask(emp[::-1], rev[::-1], age[::-1], cfg), expected[::-1])


def test_short_history_is_refused():
    # the message names the year ends the definition needs: its window plus one
    with pytest.raises(ValueError, match="need 4 year ends of history, got 3"):
        gazelle_mask(np.ones((2, 3)), np.ones((2, 3)), np.ones(2), OECD_EMP)
    with pytest.raises(ValueError, match="need 3 year ends of history, got 2"):
        gazelle_mask(np.ones((2, 2)), np.ones((2, 2)), np.ones(2), TIERED)


def test_unknown_definition_is_named():
    cfg = StageConfig()
    object.__setattr__(cfg, "gazelle_definition", "oecd2")  # past the config's own check
    with pytest.raises(ValueError, match="unknown gazelle definition 'oecd2'"):
        gazelle_mask(np.ones((1, 4)), np.ones((1, 4)), np.ones(1), cfg)


def test_tiered_cn_judges_a_firm_by_its_own_tier_only():
    # tiers whose bar rises with revenue (allowed: only the bounds must increase): a firm in the upper
    # tier, or exactly at its bound, must reach the upper tier's CAGR, not the lower one's
    cfg = StageConfig(gazelle_definition="tiered_cn", tiered_cn_window_years=1,
                      tiered_cn_tiers=[Tier(10.0, 0.2), Tier(20.0, 1.0)])
    emp = [2.0] * 4
    assert classify(cfg, emp, [NAN, NAN, 10.0, 15.0], 2.0) is True  # lower tier, 50 % >= 20 %
    assert classify(cfg, emp, [NAN, NAN, 16.0, 24.0], 2.0) is False  # upper tier, 50 % < 100 %
    assert classify(cfg, emp, [NAN, NAN, 40.0 / 3.0, 20.0], 2.0) is False  # at the upper bound, 50 %
    assert classify(cfg, emp, [NAN, NAN, 10.0, 20.0], 2.0) is True  # at the upper bound, 100 %


def test_empty_population():
    out = gazelle_mask(np.empty((0, 4)), np.empty((0, 4)), np.empty(0), OECD_EMP)
    assert out.shape == (0,)


# ---------------------------------------------------------------------------------------------
# Unicorns
# ---------------------------------------------------------------------------------------------

UNI = StageConfig()  # US$1 B, 7 CNY/USD, age <= 10, no minimum raised


def is_unicorn(valuation, age, raised, cfg=UNI, listed=None) -> bool:
    args = (np.array([valuation], float), np.array([age], float), np.array([raised], float), cfg)
    out = unicorn_mask(*args, listed=None if listed is None else np.array([listed]))
    assert out.shape == (1,)
    return bool(out[0])


def test_unicorn_threshold_from_usd_and_fx():
    assert unicorn_threshold_mcny(UNI) == pytest.approx(7000.0)  # US$1 B = 1000 M USD = 7000 M CNY
    assert unicorn_threshold_mcny(StageConfig(fx_cny_per_usd=6.5)) == pytest.approx(6500.0)
    assert unicorn_threshold_mcny(StageConfig(unicorn_min_valuation_usd_bn=10.0)) == pytest.approx(70_000.0)


@pytest.mark.parametrize(
    "valuation, age, raised, listed, expected",
    [
        (7000.0, 5.0, 500.0, False, True),  # exactly US$1 B
        (6999.0, 5.0, 500.0, False, False),
        (50_000.0, 10.0, 500.0, False, True),  # age exactly 10
        (50_000.0, 10.01, 500.0, False, False),
        (50_000.0, 5.0, 500.0, True, False),  # listed
        (50_000.0, 5.0, 0.0, False, False),  # never raised outside money: not VC/PE-backed
        (50_000.0, 5.0, 0.01, False, True),
        (NAN, 5.0, 500.0, False, False),
    ],
)
def test_unicorn_rules(valuation, age, raised, listed, expected):
    assert is_unicorn(valuation, age, raised, listed=listed) is expected


def test_unicorn_listed_argument_is_optional():
    assert is_unicorn(7000.0, 5.0, 1.0) is True


def test_unicorn_fx_moves_the_threshold():
    cfg = StageConfig(fx_cny_per_usd=6.5)
    assert is_unicorn(6500.0, 5.0, 1.0, cfg) is True
    assert is_unicorn(6499.0, 5.0, 1.0, cfg) is False
    assert is_unicorn(6500.0, 5.0, 1.0) is False  # at 7 CNY/USD 6500 mcny is below US$1 B


def test_unicorn_optional_min_raised_gbt41464():
    cfg = StageConfig(unicorn_min_raised_usd_m=50.0)  # US$50 M = 350 mcny at 7 CNY/USD
    assert is_unicorn(8000.0, 5.0, 350.0, cfg) is True
    assert is_unicorn(8000.0, 5.0, 349.9, cfg) is False
    assert is_unicorn(8000.0, 5.0, 349.9) is True  # rule off by default
    cfg65 = StageConfig(unicorn_min_raised_usd_m=50.0, fx_cny_per_usd=6.5)
    assert is_unicorn(8000.0, 5.0, 325.0, cfg65) is True
    assert is_unicorn(8000.0, 5.0, 324.9, cfg65) is False


def test_unicorn_batch():
    val = np.array([7000.0, 6999.0, 9000.0, 9000.0, 9000.0])
    age = np.array([1.0, 1.0, 11.0, 2.0, 2.0])
    raised = np.array([10.0, 10.0, 10.0, 0.0, 10.0])
    listed = np.array([False, False, False, False, True])
    np.testing.assert_array_equal(
        unicorn_mask(val, age, raised, UNI, listed=listed), [True, False, False, False, False]
    )
    np.testing.assert_array_equal(unicorn_mask(val, age, raised, UNI), [True, False, False, False, True])


@pytest.mark.parametrize("alone", [False, True], ids=["among-others", "the-only-live-firm"])
def test_a_firm_valued_exactly_at_the_bar_becomes_a_unicorn_and_only_unicorn_counts_move(alone):
    """Stages.step on a live model: a firm at exactly US$1 B (the definition says 'at least')
    becomes a unicorn this month, also when it is the only live firm; its track gets a recent
    unicorn, and no gazelle count moves."""
    cfg = Config()
    cfg.seed, cfg.scale, cfg.years = 2, 0.01, 2
    cfg.ecosystem.warmup_years = 1
    m = EcosystemModel(cfg)
    for _ in range(3):
        m.step()
    pop, tr = m.population, m.tracks
    if alone:
        keep = int(np.argmax(pop["revenue"]))
        pop.end(np.delete(np.arange(pop.n), keep), m.current_step, "failed")
        assert pop.n == 1
    r = int(np.argmax(pop["revenue"]))
    assert pop["stage"][r] != UNICORN
    pop["valuation"][r] = unicorn_threshold_mcny(cfg.stages)
    pop["raised"][r] = max(pop["raised"][r], 1.0)
    t = int(pop["track"][r])
    gazelles, unicorns = tr["recent_gazelles"].copy(), tr["recent_unicorns"].copy()
    ever = tr["unicorns_ever"].copy()
    m.stages.step()
    assert pop["stage"][r] == UNICORN
    assert pop.records["unicorn_step"][pop["id"][r]] == m.current_step
    np.testing.assert_array_equal(tr["recent_gazelles"], gazelles)
    assert tr["recent_unicorns"][t] == unicorns[t] + 1 and tr["unicorns_ever"][t] == ever[t] + 1
    assert m.counts["new_unicorns"] == 1

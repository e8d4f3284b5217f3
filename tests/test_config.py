"""Configuration schema, range checks and error messages (sim/config.py).

Range-rule tests are generated from the schema itself (field metadata ge/gt/le/lt), so a new
key with a range is covered without editing this file. Tests set values explicitly rather than
relying on default values, which are still being calibrated.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from sim import load_config
from sim.config import (
    Config,
    ConfigError,
    StageConfig,
    Tier,
    allowed_keys,
    iter_fields,
    to_config,
    validate,
)
from sim.devtools import gendocs

BOUNDS = ("ge", "gt", "le", "lt")


def leaves(cls=Config, prefix=""):
    """(dotted key, python type, metadata) for every non-dataclass field of the schema."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from leaves(tp, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", tp, f.metadata


RANGED = [(k, tp, m) for k, tp, m in leaves() if tp in (int, float) and any(m.get(b) is not None for b in BOUNDS)]
CHOICES = [(k, m["choices"]) for k, tp, m in leaves() if m.get("choices")]


def set_key(cfg: Config, key: str, value) -> Config:
    *path, last = key.split(".")
    obj = cfg
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)
    return cfg


def get_key(cfg: Config, key: str):
    obj = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def error_of(cfg: Config) -> str:
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Schema and defaults
# ---------------------------------------------------------------------------------------------


def test_defaults_validate():
    cfg = Config()
    assert validate(cfg) is cfg
    assert isinstance(to_config(Config()), Config)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_schema_metadata_is_complete():
    # every leaf is documented and every range is consistent
    assert len(RANGED) > 100
    for key, _tp, meta in leaves():
        assert meta.get("doc"), f"{key} has no description"
        lo = meta.get("ge") if meta.get("ge") is not None else meta.get("gt")
        hi = meta.get("le") if meta.get("le") is not None else meta.get("lt")
        if lo is not None and hi is not None:
            assert lo < hi, key
        assert not (meta.get("ge") is not None and meta.get("gt") is not None), key
        assert not (meta.get("le") is not None and meta.get("lt") is not None), key


def test_every_default_is_inside_its_own_range():
    cfg = Config()
    for key, tp, meta in RANGED:
        v = get_key(cfg, key)
        assert isinstance(v, tp) and not isinstance(v, bool), key
        assert meta["ge"] is None or v >= meta["ge"], key
        assert meta["gt"] is None or v > meta["gt"], key
        assert meta["le"] is None or v <= meta["le"], key
        assert meta["lt"] is None or v < meta["lt"], key


def test_iter_fields_and_allowed_keys():
    keys = {k for k, _, _ in iter_fields()}
    assert {"seed", "stages", "stages.gazelle_definition", "ecosystem.vc.life_years"} <= keys
    assert set(allowed_keys("")) == {f.name for f in dataclasses.fields(Config)}
    assert "births_per_year" in allowed_keys("ecosystem.firms")
    assert allowed_keys("ecosystem.nonexistent") == []


def test_mutable_defaults_are_not_shared():
    a, b = Config(), Config()
    a.stages.tiered_cn_tiers.append(Tier(1000.0, 0.05))
    a.ecosystem.funding.screening_bar[0] = 9.0
    a.ecosystem.guidance.mandated_directions.append("民生")
    assert len(b.stages.tiered_cn_tiers) == 3
    assert b.ecosystem.funding.screening_bar[0] != 9.0
    assert "民生" not in b.ecosystem.guidance.mandated_directions


# ---------------------------------------------------------------------------------------------
# Range rules, generated from the metadata
# ---------------------------------------------------------------------------------------------


def violations(tp, meta):
    """(bound, bad value) pairs just outside each bound; strict bounds are tested at the bound."""
    step = 1 if tp is int else 0.5
    out = []
    if meta.get("ge") is not None:
        out.append(("ge", tp(meta["ge"] - step)))
    if meta.get("gt") is not None:
        out += [("gt", tp(meta["gt"])), ("gt", tp(meta["gt"] - step))]
    if meta.get("le") is not None:
        out.append(("le", tp(meta["le"] + step)))
    if meta.get("lt") is not None:
        out += [("lt", tp(meta["lt"])), ("lt", tp(meta["lt"] + step))]
    return out


RANGE_CASES = [(key, bad, bound, meta) for key, tp, meta in RANGED for bound, bad in violations(tp, meta)]
SYMBOL = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


@pytest.mark.parametrize("key, bad, bound, meta", RANGE_CASES, ids=[f"{c[0]}={c[1]!r}" for c in RANGE_CASES])
def test_each_range_rule(key, bad, bound, meta):
    msg = error_of(set_key(Config(), key, bad))
    assert f"{key}={bad!r}" in msg  # the dotted key and the value
    assert "out of range" in msg
    for b in BOUNDS:  # the whole allowed range, e.g. ">= 0 and <= 1"
        if meta.get(b) is not None:
            assert f"{SYMBOL[b]} {meta[b]}" in msg, msg
    if meta.get("unit"):
        assert f"({meta['unit']})" in msg


def test_range_message_example():
    msg = error_of(set_key(Config(), "ecosystem.firms.alumni_share", 1.5))
    assert msg == "ecosystem.firms.alumni_share=1.5 is out of range; use a value >= 0 and <= 1 (share)."


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("key", ["scale", "ecosystem.firms.births_per_year", "stages.fx_cny_per_usd"])
def test_non_finite_numbers_are_refused(key, bad):
    msg = error_of(set_key(Config(), key, bad))
    assert f"{key}={bad!r}" in msg and "finite" in msg


def test_graduation_age_range_matches_the_rule():
    # the metadata used to say > 0 while validate() demanded >= 1 with a message that did not
    # name the value; the range now says >= 1 and the usual range message applies
    msg = error_of(set_key(Config(), "ecosystem.firms.graduation_age_years", 0.5))
    assert "ecosystem.firms.graduation_age_years=0.5" in msg and ">= 1" in msg
    validate(set_key(Config(), "ecosystem.firms.graduation_age_years", 1.0))


# ---------------------------------------------------------------------------------------------
# Choices
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, bad, suggestion",
    [
        ("stages.gazelle_definition", "oced", "oecd"),
        ("stages.gazelle_definition", "tiered-cn", "tiered_cn"),
        ("stages.gazelle_definition", "eu_10", "eu10"),
        ("stages.gazelle_measure", "revenu", "revenue"),
        ("stages.gazelle_measure", "employee", "employees"),
        ("output.progress", "of", "off"),
    ],
)
def test_choices_suggest_the_closest(key, bad, suggestion):
    msg = error_of(set_key(Config(), key, bad))
    assert f"{key}={bad!r}" in msg
    assert f"Did you mean {suggestion!r}?" in msg
    choices = dict(CHOICES)[key]
    assert "one of " + ", ".join(repr(c) for c in choices) in msg


def test_choices_without_a_close_match_give_no_suggestion():
    msg = error_of(set_key(Config(), "stages.gazelle_definition", "zzzzzz"))
    assert "stages.gazelle_definition='zzzzzz'" in msg and "Did you mean" not in msg


@pytest.mark.parametrize("key, choices", CHOICES)
def test_every_choice_is_accepted(key, choices):
    for c in choices:
        validate(set_key(Config(), key, c))


# ---------------------------------------------------------------------------------------------
# Cross-field rules
# ---------------------------------------------------------------------------------------------


def test_dilution_min_above_max():
    cfg = Config()
    cfg.ecosystem.funding.dilution_min, cfg.ecosystem.funding.dilution_max = 0.3, 0.2
    msg = error_of(cfg)
    assert "ecosystem.funding.dilution_min=0.3" in msg and "ecosystem.funding.dilution_max=0.2" in msg
    cfg.ecosystem.funding.dilution_min = 0.2  # equal is fine
    validate(cfg)


def test_alumni_plus_spinoff_share_above_one():
    cfg = Config()
    cfg.ecosystem.firms.alumni_share, cfg.ecosystem.firms.spinoff_share = 0.6, 0.5
    msg = error_of(cfg)
    assert "ecosystem.firms.alumni_share" in msg and "ecosystem.firms.spinoff_share" in msg
    assert "1.1" in msg and "at most 1" in msg
    cfg.ecosystem.firms.alumni_share, cfg.ecosystem.firms.spinoff_share = 0.75, 0.25  # exactly 1 is fine
    validate(cfg)


def test_investment_period_longer_than_fund_life():
    cfg = Config()
    cfg.ecosystem.vc.life_years, cfg.ecosystem.vc.investment_period_years = 10.0, 11.0
    msg = error_of(cfg)
    assert "ecosystem.vc.investment_period_years=11.0" in msg and "ecosystem.vc.life_years=10.0" in msg
    cfg.ecosystem.vc.investment_period_years = 10.0
    validate(cfg)


@pytest.mark.parametrize(
    "tiers",
    [
        [Tier(100.0, 0.15), Tier(10.0, 0.20)],  # unsorted
        [Tier(10.0, 0.20), Tier(500.0, 0.10), Tier(100.0, 0.15)],
        [Tier(10.0, 0.20), Tier(10.0, 0.15)],  # not strictly increasing
    ],
)
def test_bad_tiers(tiers):
    cfg = Config()
    cfg.stages.tiered_cn_tiers = tiers
    msg = error_of(cfg)
    assert "stages.tiered_cn_tiers" in msg and "strictly increasing" in msg
    assert str([t.min_revenue_mcny for t in tiers]) in msg


def test_empty_tiers():
    cfg = Config()
    cfg.stages.tiered_cn_tiers = []
    assert "stages.tiered_cn_tiers is empty" in error_of(cfg)


def test_single_tier_and_zero_bound_are_fine():
    cfg = Config()
    cfg.stages.tiered_cn_tiers = [Tier(0.0, 0.3)]
    validate(cfg)


@pytest.mark.parametrize("bad", ["金融", "tech", ""])
def test_unknown_mandated_direction(bad):
    cfg = Config()
    cfg.ecosystem.guidance.mandated_directions = ["科技", bad]
    msg = error_of(cfg)
    assert "ecosystem.guidance.mandated_directions" in msg and repr(bad) in msg
    for d in ("商业", "民生", "社会", "数字", "产业", "科技"):
        assert d in msg


def test_all_six_directions_and_none_are_fine():
    cfg = Config()
    cfg.ecosystem.guidance.mandated_directions = ["商业", "民生", "社会", "数字", "产业", "科技"]
    validate(cfg)
    cfg.ecosystem.guidance.mandated_directions = []
    validate(cfg)


@pytest.mark.parametrize("name", ["screening_bar", "round_floor_mcny", "round_dilution_factor"])
@pytest.mark.parametrize("n", [0, 4, 6])
def test_wrong_list_lengths(name, n):
    cfg = Config()
    setattr(cfg.ecosystem.funding, name, [1.0] * n)
    msg = error_of(cfg)
    assert f"ecosystem.funding.{name} has {n} entries" in msg and "exactly 5" in msg


@pytest.mark.parametrize(
    "name, values",
    [
        ("round_floor_mcny", [5.0, 40.0, -1.0, 500.0, 1500.0]),
        ("round_floor_mcny", [5.0, 40.0, math.nan, 500.0, 1500.0]),
        ("screening_bar", [1.0, math.inf, 1.0, 1.0, 1.0]),
    ],
)
def test_bad_list_entries(name, values):
    cfg = Config()
    setattr(cfg.ecosystem.funding, name, values)
    msg = error_of(cfg)
    assert f"ecosystem.funding.{name}=" in msg and "finite" in msg


@pytest.mark.parametrize("values", [[1.0, 1.0, 0.0, 1.0, 1.0], [1.0, -0.5, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 4.0, 1.0]])
def test_round_dilution_factors_must_sell_a_part_of_the_firm(values):
    """Each factor times dilution_max (0.25) must be a share in (0, 1): 4 would sell the whole firm."""
    cfg = Config()
    cfg.ecosystem.funding.round_dilution_factor = values
    msg = error_of(cfg)
    assert "ecosystem.funding.round_dilution_factor=" in msg and "below 1 / ecosystem.funding.dilution_max = 4" in msg
    cfg.ecosystem.funding.round_dilution_factor = [1.0, 1.0, 1.0, 3.9, 0.01]
    validate(cfg)


def test_negative_screening_bar_is_allowed():
    cfg = Config()
    cfg.ecosystem.funding.screening_bar = [-1.0, 0.0, 0.5, 1.0, 1.5]
    validate(cfg)


# ---------------------------------------------------------------------------------------------
# to_config: from OmegaConf / plain data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
@pytest.mark.parametrize(
    "data, key, suggestion",
    [
        ({"ecosystem": {"firms": {"birth_per_year": 5.0}}}, "ecosystem.firms.birth_per_year", "births_per_year"),
        ({"yeras": 5}, "yeras", "years"),
        ({"stages": {"gazelle_defintion": "oecd"}}, "stages.gazelle_defintion", "gazelle_definition"),
        ({"ecosystem": {"firm": {}}}, "ecosystem.firm", "firms"),
    ],
)
def test_to_config_unknown_key(wrap, data, key, suggestion):
    # a plain DictConfig used to escape as a raw omegaconf ConfigKeyError
    with pytest.raises(ConfigError) as info:
        to_config(wrap(data))
    msg = str(info.value)
    assert f"Unknown configuration key {key!r}" in msg
    assert f"Did you mean {suggestion!r}?" in msg
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    for allowed in allowed_keys(parent):
        assert allowed in msg


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
def test_to_config_wrong_type(wrap):
    with pytest.raises(ConfigError) as info:
        to_config(wrap({"years": "ten"}))
    assert "'years'" in str(info.value) and "ten" in str(info.value)


def test_to_config_structured_dictconfig():
    dc = OmegaConf.structured(Config)
    dc.years = 3
    dc.stages.gazelle_definition = "tiered_cn"
    cfg = to_config(dc)
    assert isinstance(cfg, Config) and cfg.years == 3 and cfg.stages.gazelle_definition == "tiered_cn"
    assert all(isinstance(t, Tier) for t in cfg.stages.tiered_cn_tiers)
    assert isinstance(cfg.stages, StageConfig)


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
def test_to_config_applies_values_and_validates(wrap):
    data = {
        "seed": 7,
        "ecosystem": {"vc": {"life_years": 12.0}},
        "stages": {"tiered_cn_tiers": [{"min_revenue_mcny": 5.0, "min_cagr": 0.3}]},
    }
    cfg = to_config(wrap(data))
    assert cfg.seed == 7 and cfg.ecosystem.vc.life_years == 12.0
    assert cfg.stages.tiered_cn_tiers == [Tier(5.0, 0.3)]
    assert cfg.ecosystem.firms.births_per_year == Config().ecosystem.firms.births_per_year  # untouched
    with pytest.raises(ConfigError, match=r"ecosystem\.firms\.alumni_share=1\.5 is out of range"):
        to_config(wrap({"ecosystem": {"firms": {"alumni_share": 1.5}}}))
    with pytest.raises(ConfigError, match="Did you mean 'oecd'"):
        to_config(wrap({"stages": {"gazelle_definition": "oced"}}))


def test_to_config_validates_a_config_instance():
    with pytest.raises(ConfigError, match="scale=0"):
        to_config(set_key(Config(), "scale", 0.0))


# ---------------------------------------------------------------------------------------------
# Property: any in-range values validate
# ---------------------------------------------------------------------------------------------


def leaf_strategy(tp, meta):
    ge, gt, le, lt = (meta.get(b) for b in BOUNDS)
    lo = ge if ge is not None else gt
    hi = le if le is not None else lt
    if tp is int:
        lo = -(10**6) if lo is None else int(lo) + (1 if gt is not None else 0)
        hi = lo + 10**6 if hi is None else int(hi) - (1 if lt is not None else 0)
        return st.integers(lo, hi)
    if lo is None:
        lo = min(hi, 0.0) - 1e6
    if hi is None:
        hi = max(lo, 0.0) + 1e6
    return st.floats(
        lo, hi, exclude_min=gt is not None, exclude_max=lt is not None, allow_nan=False, allow_infinity=False
    )


def draw_config(data) -> Config:
    cfg = Config()
    for key, tp, meta in RANGED:
        set_key(cfg, key, data.draw(leaf_strategy(tp, meta), label=key))
    return cfg


def repair_cross_field(cfg: Config) -> Config:
    f = cfg.ecosystem.funding
    f.dilution_min, f.dilution_max = sorted((f.dilution_min, f.dilution_max))
    vc = cfg.ecosystem.vc
    vc.investment_period_years = min(vc.investment_period_years, vc.life_years)
    g = cfg.ecosystem.guidance
    g.investment_period_years = min(g.investment_period_years, g.life_years)
    firms = cfg.ecosystem.firms
    if firms.alumni_share + firms.spinoff_share > 1:  # halving is exact, so the sum is <= 1
        firms.alumni_share, firms.spinoff_share = firms.alumni_share / 2, firms.spinoff_share / 2
    inst = cfg.ecosystem.institutes
    if inst.breakthroughs_per_year * inst.basic_knowledge_jump >= 0.9:  # below the bound for any knowledge_decay
        inst.basic_knowledge_jump = 0.5 / max(inst.breakthroughs_per_year, 1.0)
    return cfg


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(st.data())
def test_in_range_values_validate(data):
    cfg = repair_cross_field(draw_config(data))
    assert validate(cfg) is cfg


@PROPERTY_SETTINGS
@given(st.data())
def test_in_range_values_fail_only_on_cross_field_rules(data):
    cfg = draw_config(data)
    try:
        validate(cfg)
    except ConfigError as exc:
        msg = str(exc)
        assert "out of range" not in msg and "not allowed" not in msg, msg
        assert any(s in msg for s in ("dilution_min", "investment_period_years", "alumni_share",
                                      "basic_knowledge_jump")), msg


# ---------------------------------------------------------------------------------------------
# Entries of stages.tiered_cn_tiers: typed, range-checked, unknown keys refused
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index, name, bad, allowed",
    [
        (0, "min_cagr", -1.0, "> -1"),  # a CAGR of -100 % or less means nothing
        (1, "min_cagr", -2.0, "> -1"),
        (2, "min_cagr", 11.0, "<= 10"),
        (0, "min_cagr", math.nan, "finite"),
        (1, "min_cagr", math.inf, "finite"),
        (0, "min_revenue_mcny", -1.0, ">= 0"),
        (2, "min_revenue_mcny", math.nan, "finite"),
    ],
)
def test_tier_values_are_range_checked(index, name, bad, allowed):
    cfg = Config()
    cfg.stages.tiered_cn_tiers = [Tier(10.0, 0.20), Tier(100.0, 0.15), Tier(500.0, 0.10)]
    setattr(cfg.stages.tiered_cn_tiers[index], name, bad)
    msg = error_of(cfg)
    assert f"stages.tiered_cn_tiers[{index}].{name}={bad!r}" in msg and allowed in msg, msg


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
def test_tier_values_are_range_checked_from_plain_data(wrap):
    data = {"stages": {"tiered_cn_tiers": [{"min_revenue_mcny": 5.0, "min_cagr": -3.0}]}}
    with pytest.raises(ConfigError, match=r"stages\.tiered_cn_tiers\[0\]\.min_cagr=-3\.0 is out of range"):
        to_config(wrap(data))


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
def test_unknown_key_inside_a_tier_names_the_tier_keys(wrap):
    data = {"stages": {"tiered_cn_tiers": [{"min_revenue_mcny": 5.0, "min_cagr_": 0.2}]}}
    with pytest.raises(ConfigError) as info:
        to_config(wrap(data))
    msg = str(info.value)
    assert "stages.tiered_cn_tiers[].min_cagr_" in msg and "Did you mean 'min_cagr'?" in msg
    assert "min_revenue_mcny, min_cagr" in msg
    assert "seed" not in msg and "ecosystem" not in msg  # not the top-level keys


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            "stages.tiered_cn_tiers=[{min_revenue_mcny:10,min_cagr:0.2,extra:1}]",
            ["stages.tiered_cn_tiers", "extra", "min_revenue_mcny, min_cagr"],
        ),
        ("stages.tiered_cn_tiers.0.extra=1", ["stages.tiered_cn_tiers[0].extra", "min_revenue_mcny, min_cagr"]),
        (
            "stages.tiered_cn_tiers=[{min_revenue_mcny:10,min_cagr:-2}]",
            ["stages.tiered_cn_tiers[0].min_cagr=-2.0", "> -1"],
        ),
        ("stages.tiered_cn_tiers.1.min_revenue_mcny=nan", ["stages.tiered_cn_tiers[1].min_revenue_mcny=nan", "finite"]),
    ],
)
def test_load_config_checks_tier_entries(override, expected):
    with pytest.raises(ConfigError) as info:
        load_config([override])
    msg = str(info.value)
    assert "\n" not in msg
    for text in expected:
        assert text in msg, (text, msg)


def test_allowed_keys_inside_list_entries():
    assert allowed_keys("stages.tiered_cn_tiers[0]") == ["min_revenue_mcny", "min_cagr"]
    assert allowed_keys("stages.tiered_cn_tiers[]") == ["min_revenue_mcny", "min_cagr"]
    assert allowed_keys("stages.gazelle_definition[0]") == []


# ---------------------------------------------------------------------------------------------
# Types of a Config built in Python (OmegaConf checks composed configurations)
# ---------------------------------------------------------------------------------------------


def wrong_value(tp):
    """A value of the wrong type for a field of type ``tp``."""
    if tp is bool:
        return "yes"
    if tp is int:
        return 2.5
    if tp is float:
        return "1.0"
    if tp is str:
        return 3
    if typing.get_origin(tp) is dict:
        return ["not", "a", "mapping"]
    return "not a list"  # list fields


ALL_LEAVES = list(leaves())


@pytest.mark.parametrize("key, tp", [(k, tp) for k, tp, _ in ALL_LEAVES], ids=[k for k, _, _ in ALL_LEAVES])
def test_every_key_refuses_a_value_of_the_wrong_type(key, tp):
    bad = wrong_value(tp)
    msg = error_of(set_key(Config(), key, bad))
    assert f"{key}={bad!r} has the wrong type" in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    "key, bad, shown",
    [
        ("seed", True, "seed=True"),  # bool is not an integer here
        ("scale", False, "scale=False"),
        ("ecosystem.firms", None, "ecosystem.firms=None"),
        ("stages", {"gazelle_definition": "oecd"}, "stages={'gazelle_definition': 'oecd'}"),
        ("stages.tiered_cn_tiers", [{"min_revenue_mcny": 1.0, "min_cagr": 0.1}], "stages.tiered_cn_tiers[0]="),
        ("ecosystem.funding.screening_bar", [1.0, "a", 1.0, 1.0, 1.0], "ecosystem.funding.screening_bar[1]='a'"),
        ("ecosystem.guidance.mandated_directions", "科技", "ecosystem.guidance.mandated_directions='科技'"),
        ("ecosystem.guidance.mandated_directions", [1], "ecosystem.guidance.mandated_directions[0]=1"),
    ],
)
def test_wrong_types_in_groups_and_lists(key, bad, shown):
    msg = error_of(set_key(Config(), key, bad))
    assert shown in msg and "wrong type" in msg, msg


def test_integers_are_numbers_and_numpy_scalars_are_accepted():
    cfg = Config()
    cfg.scale = 1  # an int where a float is expected
    cfg.seed = np.int64(5)
    cfg.ecosystem.firms.births_per_year = np.float64(10.0)
    cfg.output.plots = np.bool_(False)
    validate(cfg)


@pytest.mark.parametrize("bad", [["seed", 1], 5, "years=3", None])
def test_to_config_refuses_what_is_not_a_configuration(bad):
    with pytest.raises(ConfigError, match="must be a sim.config.Config, a mapping"):
        to_config(bad)


@pytest.mark.parametrize("wrap", [OmegaConf.create, lambda d: d], ids=["DictConfig", "dict"])
def test_to_config_wrong_type_says_what_is_allowed(wrap):
    with pytest.raises(ConfigError) as info:
        to_config(wrap({"ecosystem": {"banks": {"term_months": 2.5}}}))
    msg = str(info.value)
    assert "'ecosystem.banks.term_months'" in msg and "2.5" in msg and "use an integer" in msg


# ---------------------------------------------------------------------------------------------
# The reference lists every key, list entries included, with unit, default and range
# ---------------------------------------------------------------------------------------------


def test_reference_rows_have_type_default_unit_and_range():
    text = gendocs.render_configuration()
    rows = {line.split("|")[1].strip().strip("`"): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| `")}
    for key, _tp, meta in ALL_LEAVES:
        assert key in rows, key
        typ, default, unit, allowed, doc = rows[key]
        assert typ and default and doc, key
        assert unit == meta.get("unit", ""), key
        if any(meta.get(b) is not None for b in BOUNDS) or meta.get("choices"):
            assert allowed, key
    for f in dataclasses.fields(Tier):
        typ, default, unit, allowed, doc = rows[f"stages.tiered_cn_tiers[].{f.name}"]
        assert unit == f.metadata["unit"] and allowed and doc

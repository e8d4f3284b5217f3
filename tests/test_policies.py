"""Policy interventions (sim.policies); the comparison is tested in tests/test_compare.py.

Runs are teaching-size (scale 0.02, 2 warm-up and 4 observed years) and shared between tests
through a module-level cache. What each policy moves, at its defaults over several worlds, is
in tests/test_policy_effects.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import pytest

from sim import load_config
from sim.config import Config, ConfigError
from sim.core.vocabulary import ORIGINS
from sim.devtools import gendocs
from sim.policies.base import Policy
from sim.policies.registry import CONFIGS, REGISTRY, configured_policy, policies_from_config, policy_from_dict
from sim.run import run_simulation

SEED = 5
START = 2015
YEARS = 4
ROOT = Path(__file__).resolve().parents[1]


def small_config(seed: int = SEED, firm_years: bool = True) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scale = 0.02
    cfg.years = YEARS
    cfg.ecosystem.warmup_years = 2
    cfg.output.plots = False
    cfg.output.firm_years = firm_years
    return cfg


_CACHE: dict = {}


def run(name: str | None = None, **params):
    """The baseline (name None) or a run with one configured policy, cached for the module."""
    key = (name, tuple(sorted(params.items())))
    if key not in _CACHE:
        policies = [] if name is None else [configured_policy(name, **params)]
        res = run_simulation(small_config(), progress=False, policies=policies)
        _CACHE[key] = (res, policies[0] if policies else None)
    return _CACHE[key]


def base():
    return run()[0]


# ------------------------------------------------------------------------------ no effect when not in force


def test_policies_that_start_after_the_horizon_leave_every_table_byte_identical(tmp_path):
    """Every kind at once, in force only after the observed window: all tables the baseline
    writes are byte-identical (common random numbers, no draws, no agents, no levers moved)."""
    late = [configured_policy(n, start_year=START + YEARS + 1, end_year=START + YEARS + 5)
            for n in CONFIGS if n != "targeted_support"]  # targeted_support is a second sanctions shock
    assert {p.kind for p in late} == set(REGISTRY)
    b = run_simulation(small_config(), progress=False).write(tmp_path / "base")
    p = run_simulation(small_config(), progress=False, policies=late).write(tmp_path / "late")
    base_files = sorted(f.name for f in b.glob("*.parquet"))
    assert "timeseries.parquet" in base_files and "firm_years.parquet" in base_files
    for name in base_files:
        assert (b / name).read_bytes() == (p / name).read_bytes(), name
    acc = pd.read_parquet(p / "policy_accounts.parquet")
    assert len(acc) == len(late) * YEARS
    assert (acc["spent"] == 0).all() and (acc["received"] == 0).all()


# ------------------------------------------------------------------------------ targets

# What each intervention moves, at its defaults and over five worlds, is tested by
# tests/test_policy_effects.py (tests/policy_effects.py). Here: the patience rule of track
# cultivation at a short horizon.


def test_impatience_withdraws_support_from_tracks_without_results():
    res, p = run("local_patience", patience_years=1.0)
    patient, q = run("local_patience")
    assert len(p.withdrawn) > 0
    tr = res.tables["tracks"].set_index("track_id")
    gazelles = tr.loc[sorted(p.withdrawn), "gazelles_ever"]
    assert len(gazelles) == len(p.withdrawn)
    # support goes on only where there are results: less of the programme's money is spent
    assert p.spent < q.spent


# ------------------------------------------------------------------------------ money


@pytest.mark.parametrize("name", list(CONFIGS))
def test_spending_stays_within_budgets_and_matches_the_outputs(name):
    res, p = run(name)
    model = res.model
    for year, (spent, _, _) in p.accounts.items():
        assert spent <= p.budget_mcny_per_year * model.scale * (1 + 1e-9), year
    ts = res.tables["timeseries"]
    acc = res.tables["policy_accounts"]
    assert ts["public_spending"].sum() == pytest.approx(p.spent, rel=1e-9, abs=1e-9)
    assert acc["spent"].sum() == pytest.approx(p.spent, rel=1e-9, abs=1e-9)
    assert acc["received"].sum() == pytest.approx(p.received, rel=1e-9, abs=1e-9)
    yearly = ts.groupby("year")["public_spending"].sum()
    assert np.allclose(acc.set_index("year").loc[yearly.index, "spent"], yearly)
    assert (yearly <= model.government.budget_per_year * (1 + 1e-9)).all()
    held, flowed = model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    summary = res.summary["policy_accounts"][name]
    assert summary["spent_mcny"] == pytest.approx(p.spent) and summary["kind"] == p.kind


def test_a_short_budget_caps_spending_and_the_government_budget_caps_the_sum():
    cfg = small_config(firm_years=False)
    cfg.ecosystem.government.budget_mcny_per_year = 700.0
    tight = configured_policy("state_incubator", budget_mcny_per_year=100.0)  # wants 600/yr of grants
    grants = configured_policy("rd_grants", budget_mcny_per_year=600.0)
    res = run_simulation(cfg, progress=False, policies=[tight, grants])
    g = res.model.government
    assert tight.spent > 0
    for spent, _, _ in tight.accounts.values():
        assert spent <= 100.0 * cfg.scale * (1 + 1e-9)
    yearly = res.tables["timeseries"].groupby("year")["public_spending"].sum()
    assert (yearly <= 700.0 * cfg.scale * (1 + 1e-9)).all()
    assert yearly.sum() == pytest.approx(tight.spent + grants.spent)
    assert g.spent_total == pytest.approx(tight.spent + grants.spent)
    held, flowed = res.model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_composed_policies_from_the_command_line_config_spend_and_serialise(tmp_path):
    cfg = load_config(["seed=5", "scale=0.01", "years=3", "ecosystem.warmup_years=1", "output.plots=false",
                       "policy=[guidance_fund,scene_opening]", "policy.guidance_fund.coinvest_ratio=1.0"])
    res = run_simulation(cfg, progress=False)
    out = res.write(tmp_path / "run")
    policies = res.model.government.policies
    assert [p.name for p in policies] == ["guidance_fund", "scene_opening"]
    assert policies[0].coinvest_ratio == 1.0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [policy_from_dict(d) for d in summary["policies"]] == policies
    ts = pd.read_parquet(out / "timeseries.parquet")
    acc = pd.read_parquet(out / "policy_accounts.parquet")
    assert ts["public_spending"].sum() == pytest.approx(sum(p.spent for p in policies))
    assert acc.groupby("policy")["spent"].sum().to_dict() == pytest.approx({p.name: p.spent for p in policies})


# ------------------------------------------------------------------------------ mechanics


def test_levers_and_support_go_back_when_a_policy_ends():
    cfg = small_config(firm_years=False)
    pols = [
        configured_policy("entry_subsidy", end_year=START + 1),
        configured_policy("exit_channels", end_year=START),
        configured_policy("proof_of_concept", end_year=START + 1),
        configured_policy("local_patience", end_year=START + 1),
        configured_policy("tech_transfer_reform", end_year=START + 1, budget_mcny_per_year=50.0),
        configured_policy("talent_programme", end_year=START + 1, budget_mcny_per_year=300.0),
    ]
    res = run_simulation(cfg, progress=False, policies=pols)
    m = res.model
    assert {o: m.levers.value("founding_cost_cut", o) for o in ORIGINS} == pytest.approx(dict.fromkeys(ORIGINS, 0.0))
    for name in ("returnee_cost_cut", "rank_retention", "equity_share", "transfer_brokers"):
        assert m.levers.value(name) == pytest.approx(0.0, abs=1e-12), name
    assert m.levers.value("ipo_multiple") == pytest.approx(1.0) and m.levers.value(
        "acquisition_multiple"
    ) == pytest.approx(1.0)
    assert np.allclose(m.levers.track("ipo_relief"), 0.0)
    assert np.allclose(m.levers.track("entry_bonus"), 1.0) and np.allclose(m.levers.track("growth_bonus"), 0.0)
    pop = m.population
    assert np.allclose(pop["support_growth"], 0.0) and np.allclose(pop["support_closure"], 1.0)
    assert np.allclose(pop["support_screen"], 0.0)
    acc = res.tables["policy_accounts"]
    late = acc[acc["year"] > START + 1]
    assert (late["spent"] == 0).all() and acc["spent"].sum() > 0


def test_policies_draw_only_from_their_own_streams():
    base_streams = set(base().model.streams._generators)
    for name in CONFIGS:
        res, p = run(name)
        extra = set(res.model.streams._generators) - base_streams
        assert extra <= {f"policy:{p.name}"}, name


@pytest.mark.parametrize("name", list(CONFIGS))
def test_serialisation_round_trips_for_every_configuration(name):
    p = configured_policy(name)  # builds: every parameter fits its annotation (Policy.check_types)
    d = json.loads(json.dumps(p.to_dict(), ensure_ascii=False))
    q = policy_from_dict(d)  # a summary.json entry is type-checked again, and passes
    assert q == p and type(q) is type(p)
    assert d["kind"] == CONFIGS[name][0] and d["name"] == name
    fields = {f.name for f in dataclasses.fields(p)}
    assert set(d) == fields | {"kind"}
    assert policy_from_dict(q.to_dict()).to_dict() == d


def test_conf_files_and_reference_follow_the_code():
    generated = {
        p: t for p, t in gendocs.files().items() if p.parent == gendocs.POLICY_CONF or p == gendocs.POLICIES_DOC
    }
    assert len(generated) == len(CONFIGS) + 1
    assert not gendocs.stale_files(generated), "regenerate with: python -m sim.devtools.gendocs"
    assert sorted(p.stem for p in (ROOT / "conf" / "policy").glob("*.yaml")) == sorted(CONFIGS)
    for name in CONFIGS:  # Hydra composes each file into the same policy
        cfg = load_config([f"policy=[{name}]"])
        assert policies_from_config(cfg) == [configured_policy(name)]


# ------------------------------------------------------------------------------ bad configurations


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["policy=[guidance_fnd]"], "Did you mean 'guidance_fund'"),
        (
            ["policy=[guidance_fund]", "policy.guidance_fund.coinvest_ratoi=1"],
            "Unknown policy key 'policy.guidance_fund.coinvest_ratoi'",
        ),
        (
            ["policy=[guidance_fund]", "policy.guidance_fund.coinvest_ratio=9"],
            "policy.guidance_fund.coinvest_ratio=9 is out of range",
        ),
        (
            ["policy=[guidance_fund]", "policy.guidance_fund.target_directions=['科学']"],
            "target_directions contains '科学'",
        ),
        (
            ["policy=[guidance_fund]", "policy.guidance_fund.target_tracks=[edge_ai_chip]"],
            "Did you mean 'edge_ai_chips'",
        ),
        (
            ["policy=[guidance_fund]", "policy.guidance_fund.end_year=2000"],
            "policy.guidance_fund.end_year=2000 is before",
        ),
        (["policy.guidance_fund.coinvest_ratio=1"], "policy 'guidance_fund' is not selected"),
        (["policy=[sanctions_shock,targeted_support]"], "both put a sanctions shock on the same tracks"),
        (
            ["policy=[guidance_fund,entry_subsidy,rd_grants]"],
            "more than ecosystem.government.budget_mcny_per_year=2000",
        ),
        (["+policy.mine.kind=guidance"], "is not a policy kind"),
        (["+policy.mine.listing_relief=0.3"], "policy.mine has no kind"),
    ],
)
def test_bad_policy_configuration_gives_one_line(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_command_line_reports_a_policy_value_of_the_wrong_type_on_one_line():
    # before the type check, a list inside target_tracks ended in a TypeError traceback (check_tracks)
    proc = subprocess.run([sys.executable, "-m", "sim", "policy=[rd_grants]", "policy.rd_grants.target_tracks=[[1]]"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: policy.rd_grants.target_tracks=[[1]] has the wrong type (entry [1] is a list); use a list of strings "
        "(track keys) in [...]."
    ]


def test_command_line_reports_a_bad_policy_on_one_line():
    proc = subprocess.run([sys.executable, "-m", "sim", "policy=[guidance_fund]", "policy.guidance_fund.fund_sise=1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Did you mean 'fund_size_mcny'" in lines[0] and "Allowed keys" in lines[0]


#: What the messages below list as allowed: every kind, sorted, and the keys of a guidance fund, in their order
#: (the dataclass's fields: the common keys of every policy first).
KINDS = ", ".join(sorted(REGISTRY))
GUIDANCE_KEYS = ", ".join(f.name for f in dataclasses.fields(REGISTRY["guidance_fund"]))


@pytest.mark.parametrize(
    "overrides, message",
    [
        pytest.param(
            ["+policy.mine.kind=guidance"],
            f"policy.mine.kind='guidance' is not a policy kind. Did you mean 'guidance_fund'? Allowed kinds: {KINDS}.",
            id="unknown-kind-with-hint",
        ),
        pytest.param(
            ["+policy.mine.kind=zzzzzz"],
            f"policy.mine.kind='zzzzzz' is not a policy kind. Allowed kinds: {KINDS}.",
            id="unknown-kind",
        ),
        pytest.param(  # every unknown key named, under the policy's own name; the hint is for the first
            ["+policy.mine.kind=guidance_fund", "+policy.mine.fund_sise=2", "+policy.mine.coinvest_ratoi=1"],
            "Unknown policy key(s) policy.mine.coinvest_ratoi, policy.mine.fund_sise. Did you mean 'coinvest_ratio'? "
            f"Allowed keys of a guidance_fund policy: {GUIDANCE_KEYS}.",
            id="unknown-keys-with-hint",
        ),
        pytest.param(
            ["+policy.mine.kind=guidance_fund", "+policy.mine.zzzzzz=1"],
            f"Unknown policy key(s) policy.mine.zzzzzz. Allowed keys of a guidance_fund policy: {GUIDANCE_KEYS}.",
            id="unknown-key",
        ),
        pytest.param(
            ["+policy.mine.listing_relief=0.3"],
            f"policy.mine has no kind; add policy.mine.kind, one of {KINDS}.",
            id="no-kind",
        ),
        pytest.param(
            ["+policy.mine.kind=guidance_fund", "+policy.mine.name=other"],
            "policy.mine.name='other' differs from its key 'mine'; leave name out.",
            id="name",
        ),
        pytest.param(
            ["policy=[stage_cultivation]", "policy.stage_cultivation.target_stages=[startup]"],
            "policy.stage_cultivation.target_stages=['startup'] must list gazelle and/or unicorn (unicorn: the "
            "potential-unicorn programme).",
            id="stage-cultivation-of-startups",
        ),
        pytest.param(
            ["policy=[guidance_fund]", "policy.guidance_fund.target_stages=gazelle"],
            "policy.guidance_fund.target_stages='gazelle' has the wrong type (str); use a list of strings in [...].",
            id="stages-not-a-list",
        ),
        pytest.param(
            ["policy=[guidance_fund]", "policy.guidance_fund.target_origins=spinoff"],
            "policy.guidance_fund.target_origins='spinoff' has the wrong type (str); use a list of strings in [...].",
            id="origins-not-a-list",
        ),
        pytest.param(  # Hydra reads [[1]] as a list in a list: a TypeError traceback before the type check
            ["policy=[rd_grants]", "policy.rd_grants.target_tracks=[[1]]"],
            "policy.rd_grants.target_tracks=[[1]] has the wrong type (entry [1] is a list); use a list of strings "
            "(track keys) in [...].",
            id="tracks-a-list-in-a-list",
        ),
        pytest.param(
            ["policy=[rd_grants]", "policy.rd_grants.description=5"],
            "policy.rd_grants.description=5 has the wrong type (int); use a string.",
            id="description-a-number",
        ),
        pytest.param(
            ["policy=[scene_opening]", "policy.scene_opening.capacity=5.5"],
            "policy.scene_opening.capacity=5.5 has the wrong type (float); use an integer (firms per scene).",
            id="int-a-float",
        ),
        pytest.param(
            ["policy=[rd_grants]", "policy.rd_grants.budget_mcny_per_year=lots"],
            "policy.rd_grants.budget_mcny_per_year='lots' has the wrong type (str); use a number (mcny/yr at scale 1).",
            id="float-a-string",
        ),
        pytest.param(
            ["policy=[sanctions_shock,targeted_support]"],
            "policies sanctions_shock and targeted_support both put a sanctions shock on the same tracks; apply the "
            "shock once (a configuration with support_capacity_per_year > 0, like targeted_support, includes it).",
            id="two-sanctions",
        ),
    ],
)
def test_a_bad_policy_entry_is_refused_with_the_whole_message_naming_it_what_is_allowed_and_the_hint(
    overrides, message
):
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    assert str(err.value) == message


#: A value of the wrong type for each kind of annotation the policies use, and the whole message.
@pytest.mark.parametrize(
    "values, message",
    [
        pytest.param(  # list[str]: an entry that is not a string
            {"kind": "rd_grants", "target_tracks": [[1]]},
            "policy.x.target_tracks=[[1]] has the wrong type (entry [1] is a list); use a list of strings (track keys) "
            "in [...].",
            id="list-str-entry-a-list",
        ),
        pytest.param(
            {"kind": "rd_grants", "target_origins": ["spinoff", 2]},
            "policy.x.target_origins=['spinoff', 2] has the wrong type (entry 2 is an int); use a list of strings in "
            "[...].",
            id="list-str-entry-an-int",
        ),
        pytest.param(  # list[str]: one string instead of a list (iterating it would give letters)
            {"kind": "guidance_fund", "target_directions": "科技"},
            "policy.x.target_directions='科技' has the wrong type (str); use a list of strings (directions) in [...].",
            id="list-str-a-string",
        ),
        pytest.param(  # str
            {"kind": "rd_grants", "description": 5},
            "policy.x.description=5 has the wrong type (int); use a string.",
            id="str-an-int",
        ),
        pytest.param(
            {"kind": "rd_grants", "description": None},
            "policy.x.description=None has the wrong type (NoneType); use a string.",
            id="str-null",
        ),
        pytest.param(  # float: a string, a bool
            {"kind": "guidance_fund", "coinvest_ratio": "0.5"},
            "policy.x.coinvest_ratio='0.5' has the wrong type (str); use a number (x).",
            id="float-a-string",
        ),
        pytest.param(
            {"kind": "rd_grants", "budget_mcny_per_year": True},
            "policy.x.budget_mcny_per_year=True has the wrong type (bool); use a number (mcny/yr at scale 1).",
            id="float-a-bool",
        ),
        pytest.param(  # int: a float, even a whole one; a bool; a string
            {"kind": "scene_opening", "duration_months": 12.0},
            "policy.x.duration_months=12.0 has the wrong type (float); use an integer (months).",
            id="int-a-whole-float",
        ),
        pytest.param(
            {"kind": "scene_opening", "capacity": True},
            "policy.x.capacity=True has the wrong type (bool); use an integer (firms per scene).",
            id="int-a-bool",
        ),
        pytest.param(
            {"kind": "rd_grants", "start_year": "2020"},
            "policy.x.start_year='2020' has the wrong type (str); use an integer (year).",
            id="int-a-string",
        ),
    ],
)
def test_a_policy_value_of_the_wrong_type_is_refused_naming_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError) as err:
        policy_from_dict({"name": "x", **values})
    assert str(err.value) == message


def test_a_policy_value_of_a_kindred_type_is_accepted_as_given():
    p = policy_from_dict({
        "kind": "scene_opening", "name": "x",
        "budget_mcny_per_year": 100,  # an integer for a number
        "scenes_per_year": np.float64(8.0),  # numpy scalars, as arithmetic on arrays gives them
        "capacity": np.int64(4),
        "target_stages": ("startup",),  # a tuple for a list
    })
    assert (p.budget_mcny_per_year, p.scenes_per_year, p.capacity, p.target_stages) == (100, 8.0, 4, ("startup",))
    assert type(p.budget_mcny_per_year) is int  # not converted


@dataclasses.dataclass
class _Typed(Policy):
    """A kind with the annotations no policy uses yet, for the type check alone."""

    switch: bool = False
    shares: list[float] = dataclasses.field(default_factory=list)
    months: list[int] = dataclasses.field(default_factory=list)
    cap: float | None = None
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    label: Optional[str] = None  # noqa: UP045 (the typing spelling is checked too)


@pytest.mark.parametrize(
    "values, message",
    [
        pytest.param({"switch": 1}, "policy.x.switch=1 has the wrong type (int); use true or false.", id="bool-an-int"),
        pytest.param({"switch": "yes"}, "policy.x.switch='yes' has the wrong type (str); use true or false.",
                     id="bool-a-string"),
        pytest.param({"shares": [0.5, "a"]},
                     "policy.x.shares=[0.5, 'a'] has the wrong type (entry 'a' is a str); use a list of numbers in "
                     "[...].",
                     id="list-float"),
        pytest.param({"shares": [True]},
                     "policy.x.shares=[True] has the wrong type (entry True is a bool); use a list of numbers in "
                     "[...].",
                     id="list-float-a-bool"),
        pytest.param({"months": [1, 2.0]},
                     "policy.x.months=[1, 2.0] has the wrong type (entry 2.0 is a float); use a list of integers in "
                     "[...].",
                     id="list-int"),
        pytest.param({"cap": "high"}, "policy.x.cap='high' has the wrong type (str); use a number or null.",
                     id="float-or-none"),
        pytest.param({"label": 3}, "policy.x.label=3 has the wrong type (int); use a string or null.",
                     id="optional-str"),
        pytest.param({"weights": [1.0]},
                     "policy.x.weights=[1.0] has the wrong type (list); use a group of keys, each a number.",
                     id="dict-a-list"),
        pytest.param({"weights": {"a": "b"}},
                     "policy.x.weights={'a': 'b'} has the wrong type (value 'b' is a str); use a group of keys, each a "
                     "number.",
                     id="dict-value"),
        pytest.param({"weights": {1: 1.0}},
                     "policy.x.weights={1: 1.0} has the wrong type (key 1 is an int); use a group of keys, each a "
                     "number.",
                     id="dict-key"),
    ],
)
def test_the_type_check_follows_every_kind_of_annotation(values, message):
    with pytest.raises(ConfigError) as err:
        _Typed(name="x", **values)
    assert str(err.value) == message


def test_the_type_check_accepts_what_fits_every_kind_of_annotation():
    p = _Typed(name="x", switch=np.bool_(True), shares=[0.5, 1], months=[1, np.int64(2)], cap=None,
               weights={"a": 1, "b": 0.5}, label="l")
    assert p.switch and p.shares == [0.5, 1] and p.cap is None
    assert _Typed(name="x", cap=2.5, label=None).cap == 2.5


def test_an_unknown_policy_configuration_is_refused_naming_every_configuration_available():
    with pytest.raises(ConfigError) as err:
        configured_policy("guidance_fnd")
    assert str(err.value) == (
        "no policy configuration 'guidance_fnd'; available: guidance_fund, state_incubator, rd_grants, "
        "proof_of_concept, scene_opening, credit_relaxation, exit_channels, long_term_capital, talent_programme, "
        "tech_transfer_reform, stage_cultivation, local_patience, sanctions_shock, targeted_support, entry_subsidy, "
        "basic_research, ocs_programmes, incubator_chain, fund_of_funds, public_procurement, open_innovation, "
        "rd_tax_credit."
    )
    assert len(CONFIGS) == 22  # the files of conf/policy/, each named above in the order of CONFIGS

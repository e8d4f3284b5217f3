"""Policy interventions (sim.policies); the comparison is tested in tests/test_compare.py.

Runs are teaching-size (scale 0.02, 2 warm-up and 4 observed years) and shared between tests
through a module-level cache. Firm-level targets are checked on the *same firms* with and
without the policy: firms are matched by their birth key, which common random numbers keep
identical across runs.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import load_config
from sim.config import Config, ConfigError
from sim.core.vocabulary import ORIGINS
from sim.devtools import gendocs
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


def keyed_firms(res) -> pd.DataFrame:
    firms = res.tables["firms"].copy()
    firms["key"] = res.model.population.records["key"][: len(firms)]
    return firms


def same_firms(res, ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The firms with these ids in ``res`` and the same firms (by birth key) in the baseline."""
    keys = res.model.population.records["key"][np.asarray(ids, dtype=np.int64)]
    pol = keyed_firms(res).set_index("key").loc[keys]
    b = keyed_firms(base()).set_index("key")
    keys = [k for k in keys if k in b.index]
    assert len(keys) == len(pol), "every supported firm exists in the baseline too (same founders)"
    return pol.loc[keys], b.loc[keys]


def failed_share(df) -> float:
    return float((df["end_kind"].fillna("") == "failed").mean())


def ts_sum(res, col) -> float:
    return float(res.tables["timeseries"][col].sum())


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


# ------------------------------------------------------------------------------ direct targets

# Each intervention moves the quantity it acts on directly, at seed SEED, by at least the stated
# relative margin (policy >= baseline * (1 + margin), or <= for the shock). Firm-level targets
# compare the supported firms with the same firms in the baseline run; programmes that support
# few firms at teaching scale are run with a larger capacity so the check rests on 50+ firms.


def test_guidance_fund_adds_guidance_money():
    res, p = run("guidance_fund")
    assert p.fund is not None and p.fund.invested > 0
    assert ts_sum(res, "guidance_invested") >= 1.1 * ts_sum(base(), "guidance_invested")
    # the fund stacks on the preset's funds and co-invests only in its mandated tracks
    deals = res.tables["deals"]
    fund_deals = deals[deals["investor_id"] == p.fund.unique_id]
    assert len(fund_deals) > 0
    assert set(fund_deals["track_id"]) <= set(p.target_track_ids(res.model).tolist())


def test_state_incubator_keeps_incubated_firms_alive_and_is_repaid():
    res, p = run("state_incubator", capacity_per_year=1200.0, budget_mcny_per_year=2000.0)
    pol, b = same_firms(res, p.supported())
    assert len(pol) >= 50
    # tolerance: at least 10 % fewer failures among the incubated firms
    assert failed_share(pol) <= 0.9 * failed_share(b)
    st = p.stats()
    assert st["incubations_ended"] > 0 and 0 < st["successes"] <= st["incubations_ended"]
    assert p.received > 0  # 3 % royalties from the successes
    assert p.received < st["granted_mcny"]  # and never more than was granted plus interest, within the window


def test_rd_grants_raise_headcount_of_granted_firms():
    res, p = run("rd_grants", capacity_per_year=1200.0, budget_mcny_per_year=2000.0)
    keys = res.model.population.records["key"][p.ids]
    year = START + p.started // 12  # the first year end after the grant started
    want = pd.DataFrame({"key": keys, "year": year})

    def headcount(r):
        f = keyed_firms(r)[["key", "firm_id"]]
        fy = r.tables["firm_years"]
        return want.merge(f, on="key").merge(fy, on=["firm_id", "year"], how="left")["employees"].sum()

    assert len(keys) >= 50
    assert headcount(res) >= 1.01 * headcount(base())


def test_proof_of_concept_carries_spinoffs_across_the_death_valley():
    res, p = run("proof_of_concept", capacity_per_year=2000.0, budget_mcny_per_year=1500.0)
    pol, b = same_firms(res, p.supported())
    assert len(pol) >= 50
    assert (pol["origin"] == "spinoff").all()
    assert failed_share(pol) <= 0.9 * failed_share(b)  # at least 10 % fewer failures


def test_scene_opening_raises_revenue_of_scene_firms():
    # a scene is one of the real park's: 16 a year at every scale, each taking on capacity * scale
    # firms (0.1 at the defaults); 20 firms per scene give enough firms to compare at this scale
    res, p = run("scene_opening", capacity=20)
    pol, b = same_firms(res, p.supported())
    assert p.stats()["scenes_opened"] == round(16 * YEARS)
    assert p.supported().size == pytest.approx(16 * YEARS * 20 * 0.02, abs=1)  # 25.6 firm places
    # tolerance: mean log revenue at least 0.05 higher
    assert np.log(pol["revenue"]).mean() >= np.log(b["revenue"]).mean() + 0.05


def test_credit_relaxation_raises_bank_lending():
    res, p = run("credit_relaxation")
    assert ts_sum(res, "bank_lending") >= 1.3 * ts_sum(base(), "bank_lending")
    assert p.venture_loans > 0  # 投贷联动 loans beside VC rounds


def test_exit_channels_raise_exits():
    res, _ = run("exit_channels")
    exits = lambda r: ts_sum(r, "exits_ipo") + ts_sum(r, "exits_acquired")  # noqa: E731
    assert exits(res) >= 1.1 * exits(base())


def test_long_term_capital_raises_commitments_to_new_vc_funds():
    res, p = run("long_term_capital")

    def committed(r):
        inv = r.tables["investors"]
        return inv.loc[(inv["kind"] == "vc") & (inv["vintage_year"] >= START), "committed"].sum()

    assert committed(res) >= 1.1 * committed(base())
    assert p.extra_committed > 0


def test_talent_programme_adds_founders():
    res, p = run("talent_programme")
    assert ts_sum(res, "births") >= ts_sum(base(), "births") * 1.005
    assert p.stats()["returnee_firms"] > 0 and p.stats()["student_firms_subsidised"] > 0
    # returnees are firms of the programme's own founding channel, in its target directions
    keys = res.model.population.records["key"][p.returnee_ids]
    assert ((keys >> np.uint64(24)) & np.uint64(0xFF) == p.channel).all()


def test_tech_transfer_reform_adds_spinoffs():
    res, _ = run("tech_transfer_reform")
    assert ts_sum(res, "births_spinoff") >= 1.2 * ts_sum(base(), "births_spinoff")
    # other channels are untouched (their birth draws are keyed by channel)
    assert ts_sum(res, "births_alumni") == ts_sum(base(), "births_alumni")


def test_stage_cultivation_helps_cultivated_firms_raise_money():
    # a full sd of screening relief, so that the effect on the same firms is well above noise
    res, p = run("stage_cultivation", budget_mcny_per_year=1500.0, screen_relief=1.0)
    pol, b = same_firms(res, p.enrolled)
    assert len(pol) >= 30
    assert p.paid > 0
    assert pol["total_raised"].sum() >= 1.01 * b["total_raised"].sum()  # at least 1 % more money raised


def _share_born_in(res, direction):
    firms = res.tables["firms"]
    tracks = res.tables["tracks"].set_index("track_id")
    born = firms[firms["born_step"] >= 0]
    return float((tracks.loc[born["track_id"], "direction"].to_numpy() == direction).mean())


def test_local_patience_track_support_draws_founders_into_supported_tracks():
    res, p = run("local_patience")
    assert _share_born_in(res, "科技") >= 1.1 * _share_born_in(base(), "科技")
    assert p.withdrawn == set()  # patience 8 years: nothing withdrawn in a 4-year window


def test_impatience_withdraws_support_from_tracks_without_results():
    res, p = run("local_patience", patience_years=1.0)
    patient, q = run("local_patience")
    assert len(p.withdrawn) > 0
    tr = res.tables["tracks"].set_index("track_id")
    gazelles = tr.loc[sorted(p.withdrawn), "gazelles_ever"]
    assert len(gazelles) == len(p.withdrawn)
    # support goes on only where there are results: less of the programme's money is spent
    assert p.spent < q.spent


def _exposed_revenue(res, policy):
    pop = res.model.population
    mask = policy.target_track_mask(res.model)
    return float(pop["revenue"][mask[pop["track"]]].sum())


def test_sanctions_shock_hurts_exposed_tracks_and_targeted_support_mitigates():
    shock, p = run("sanctions_shock")
    support, q = run("targeted_support")
    baseline = _exposed_revenue(base(), p)
    assert _exposed_revenue(shock, p) <= 0.8 * baseline
    assert _exposed_revenue(support, q) > _exposed_revenue(shock, p)
    assert p.spent == 0 and q.spent > 0


def test_entry_subsidy_raises_independent_births():
    res, p = run("entry_subsidy")
    assert ts_sum(res, "births_independent") >= 1.05 * ts_sum(base(), "births_independent")
    assert p.subsidised > 0


# ------------------------------------------------------------------------------ money


@pytest.mark.parametrize("name", list(CONFIGS))
def test_spending_stays_within_budgets_and_matches_the_outputs(name):
    res, p = run(name)
    model = res.model
    for year, (spent, received, _) in p.accounts.items():
        assert spent <= p.budget_mcny_per_year * model.scale * (1 + 1e-9), year
        assert received >= 0
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
    ]
    res = run_simulation(cfg, progress=False, policies=pols)
    m = res.model
    assert {o: m.levers.value("births_multiplier", o) for o in ORIGINS} == pytest.approx(dict.fromkeys(ORIGINS, 1.0))
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


def test_serialisation_round_trips_for_every_configuration():
    for name in CONFIGS:
        p = configured_policy(name)
        d = json.loads(json.dumps(p.to_dict(), ensure_ascii=False))
        q = policy_from_dict(d)
        assert q == p and type(q) is type(p)
        assert d["kind"] == CONFIGS[name][0] and d["name"] == name
        fields = {f.name for f in dataclasses.fields(p)}
        assert set(d) == fields | {"kind"}


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


def test_command_line_reports_a_bad_policy_on_one_line():
    proc = subprocess.run([sys.executable, "-m", "sim", "policy=[guidance_fund]", "policy.guidance_fund.fund_sise=1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Did you mean 'fund_size_mcny'" in lines[0] and "Allowed keys" in lines[0]

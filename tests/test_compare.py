"""Policy comparisons (sim.analysis): paired differences and the seeds they need, equal budgets,
settings that compose, adding seeds to reach a target half-width (and resuming), timelines,
the direct-versus-spill-over split, costs, and the reports for decision makers.

End-to-end comparisons are teaching-size (scale 0.01, one warm-up and two or three observed
years, a few seeds); the statistics are also checked on hand-made tables with known answers.
"""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

import experiments.compare_policies as compare_cmd
from experiments.compare_policies import main as compare_cli
from sim import load_config
from sim.analysis.arms import compose_overrides, equal_budget, extensive_fields, parse_arm
from sim.analysis.compare import (
    COMPARISON_FILES,
    DEFAULT_OVERRIDES,
    DEFAULT_SCALE,
    OUTCOMES,
    compare_policies,
    outcomes_of,
    write_comparison,
)
from sim.analysis.compare_report import ZH_KINDS, Comparison, money, policy_names
from sim.analysis.compare_text import render_report
from sim.analysis.paired import cost_table, paired_differences, seeds_needed, timeline_table
from sim.batch.gather import collect
from sim.batch.tabledoc import undocumented
from sim.config import ConfigError
from sim.policies.registry import CONFIGS, REGISTRY, configured_policy
from sim.run import run_simulation

SMALL = ["scale=0.01", "years=3", "ecosystem.warmup_years=1"]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    comp = compare_policies(SMALL, ["state_incubator", "entry_subsidy", "exit_channels",
                                    "guidance_fund+scene_opening:guidance_fund.coinvest_ratio=1.0"],
                            seeds=[3, 4, 5], outdir=out, jobs=2, progress=False)
    return comp, out


# ------------------------------------------------------------------------------ statistics, by hand


def test_seeds_needed_is_the_smallest_count_whose_interval_is_narrow_enough():
    for sd, half in ((10.0, 5.0), (7.0, 1.0), (0.8, 0.5), (3.0, 2.9)):
        n = int(seeds_needed(sd, half))
        assert student_t.ppf(0.975, n - 1) * sd / math.sqrt(n) < half
        if n > 2:
            assert student_t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) >= half
    assert math.isnan(seeds_needed(float("nan"), 1.0)) and math.isnan(seeds_needed(1.0, 0.0))
    assert seeds_needed(0.0, 1.0) == 2


def _table(base, policy, spending=50.0):
    rows = []
    for s, (b, p) in enumerate(zip(base, policy, strict=True)):
        for arm, value, spent in (("baseline", b, 0.0), ("policy", p, spending)):
            row = {name: 0.0 for name in OUTCOMES}
            row.update({"arm": arm, "seed": s, "new_gazelles": value, "new_unicorns": value / 10,
                        "public_spending": spent, "net_public_cost": spent})
            rows.append(row)
    return pd.DataFrame(rows)


def test_differences_and_costs_on_a_hand_made_table():
    outcomes = _table([10.0, 12.0, 11.0, 9.0], [20.0, 23.0, 21.0, 20.0])
    d = paired_differences(outcomes, halfwidths={"new_gazelles": 0.5})
    g = d[d["outcome"] == "new_gazelles"].iloc[0]
    diffs = np.array([10.0, 11.0, 10.0, 11.0])
    half = student_t.ppf(0.975, 3) * diffs.std(ddof=1) / 2
    assert g["diff_mean"] == pytest.approx(10.5) and g["ci_halfwidth"] == pytest.approx(half)
    assert g["ci_low"] == pytest.approx(10.5 - half) and g["significant"]
    assert g["seeds_needed"] == seeds_needed(diffs.std(ddof=1), 10.5) == 2
    assert g["seeds_for_halfwidth"] == seeds_needed(diffs.std(ddof=1), 0.5) and g["seeds_for_halfwidth"] > 4
    c = cost_table(outcomes, d, years=5, scale=0.5).iloc[0]
    assert c["cost_per_gazelle_status"] == "ok" and c["cost_per_gazelle"] == pytest.approx(50.0 / 10.5)
    assert c["cost_per_gazelle_low"] == pytest.approx(50.0 / g["ci_high"])
    assert c["additional_gazelles_per_100mcny"] == pytest.approx(10.5 * 100 / 50.0)
    assert c["spending_per_year_full_scale"] == pytest.approx(50.0 / 5 / 0.5)
    # an effect that is not distinguishable from chance gets no cost, and says how many worlds it would need
    noisy = paired_differences(_table([10.0, 12.0, 11.0, 9.0], [13.0, 9.0, 14.0, 10.0]))
    c = cost_table(_table([10.0, 12.0, 11.0, 9.0], [13.0, 9.0, 14.0, 10.0]), noisy).iloc[0]
    assert c["cost_per_gazelle_status"] == "not_significant" and math.isnan(c["cost_per_gazelle"])
    need = noisy[noisy["outcome"] == "new_gazelles"]["seeds_needed"].iloc[0]
    assert need > 4 and f"about {need:,.0f} simulated worlds" in c["cost_per_gazelle_reason"]


def test_timeline_adds_up_by_year():
    rows = []
    for seed in range(3):
        for year in (2015, 2016):
            for arm, extra in (("baseline", 0.0), ("policy", 1.0 + seed + (year - 2015))):
                rows.append({"arm": arm, "seed": seed, "year": year, "new_gazelles": 5.0 + extra,
                             "new_unicorns": 0.0, "firms_born": 100.0, "jobs": 1000.0 + 10 * extra,
                             "vc_invested": 3.0, "public_spending": extra})
    t = timeline_table(pd.DataFrame(rows))
    g = t[t["outcome"] == "new_gazelles"].set_index("year")
    assert g.loc[2015, "diff_mean"] == pytest.approx(2.0) and g.loc[2016, "diff_mean"] == pytest.approx(3.0)
    assert g.loc[2016, "cum_diff_mean"] == pytest.approx(5.0)  # summed over the window
    jobs = t[t["outcome"] == "jobs"].set_index("year")
    assert jobs.loc[2016, "cum_diff_mean"] == jobs.loc[2016, "diff_mean"] == pytest.approx(30.0)  # a level


def test_money_in_wan_yi_and_million():
    assert money(475.0) == "475 million CNY (4.75亿元)"
    assert money(0.6) == "0.60 million CNY (60万元)"
    assert money(45.3, "zh") == "4,530万元（45.3百万元）"
    assert money(float("nan")) == "n/a"


# ------------------------------------------------------------------------------ arms and settings


def test_overrides_add_to_the_defaults():
    defaults = ["scale=0.02", "years=6", "ecosystem.warmup_years=3"]
    assert compose_overrides(defaults, ["ecosystem=shenzhen_htz"]) == [*defaults, "ecosystem=shenzhen_htz"]
    assert compose_overrides(defaults, ["years=2", "+policy.x.kind=rd_grants"]) == [
        "scale=0.02", "ecosystem.warmup_years=3", "years=2", "+policy.x.kind=rd_grants"]
    assert compose_overrides(defaults, None) == defaults
    assert parse_arm("a+b:b.x=1,y=2").overrides == ["policy=[a,b]", "policy.b.x=1", "policy.a.y=2"]


def test_equal_budget_scales_every_extensive_parameter_and_no_price():
    arm = equal_budget(parse_arm("guidance_fund+scene_opening"), SMALL, 330.0)
    gf, so = configured_policy("guidance_fund"), configured_policy("scene_opening")
    k = 330.0 / (gf.budget_mcny_per_year + so.budget_mcny_per_year)
    assert arm.scaled == pytest.approx(k)
    params = {(p, key): float(v) for p, key, v in arm.params}
    assert params[("guidance_fund", "budget_mcny_per_year")] == pytest.approx(k * gf.budget_mcny_per_year)
    assert params[("guidance_fund", "fund_size_mcny")] == pytest.approx(k * gf.fund_size_mcny)
    assert params[("scene_opening", "scenes_per_year")] == pytest.approx(k * so.scenes_per_year)
    assert ("scene_opening", "cost_per_scene_mcny") not in params  # a price per scene, not a quantity
    assert "cost_per_scene_mcny" not in extensive_fields(so)
    cfg = load_config([*SMALL, *arm.overrides])
    assert cfg.policy["guidance_fund"]["fund_size_mcny"] == pytest.approx(k * gf.fund_size_mcny)
    assert equal_budget(parse_arm("exit_channels"), SMALL, 330.0).scaled is None  # spends nothing: left as it is
    with pytest.raises(ConfigError, match="budget_mcny_per_year"):  # more than the government can spend
        equal_budget(parse_arm("guidance_fund"), SMALL, 1e6)


# ------------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_comparison_tables_are_paired_and_consistent(comparison):
    comp, out = comparison
    for f in ("outcomes.parquet", "differences.parquet", "costs.parquet", "timeline.parquet", "split.parquet",
              "differences.png", "costs.png", "timeline.png", "split.png", "report.md", "report.zh.md",
              "comparison.json", "runs/results.parquet"):
        assert (out / f).is_file(), f
    o = comp.outcomes
    arms = ["baseline", "state_incubator", "entry_subsidy", "exit_channels",
            "guidance_fund+scene_opening[guidance_fund.coinvest_ratio=1.0]"]
    assert o["arm"].tolist() == [a for a in arms for _ in (3, 4, 5)] and o["seed"].tolist() == [3, 4, 5] * 5
    direct = run_simulation(load_config([*SMALL, "seed=4", "output.plots=false"]), progress=False)
    row = o[(o["arm"] == "baseline") & (o["seed"] == 4)].iloc[0]
    for k, v in outcomes_of(direct.tables).items():  # the baseline rows are what a direct run gives
        assert row[k] == pytest.approx(v, nan_ok=True), k
    d = comp.differences
    born = d[(d["arm"] == "entry_subsidy") & (d["outcome"] == "firms_born")].iloc[0]
    born_arm = o.loc[o["arm"] == "entry_subsidy", "firms_born"].to_numpy()
    pairs = born_arm - o.loc[o["arm"] == "baseline", "firms_born"].to_numpy()
    assert born["diff_mean"] == pytest.approx(pairs.mean()) and born["significant"]
    assert born["seeds_needed"] == seeds_needed(pairs.std(ddof=1), abs(pairs.mean())) <= 3
    # the year-by-year effect adds up to the window's
    t = comp.timeline
    for arm in arms[1:]:
        g = t[(t["arm"] == arm) & (t["outcome"] == "new_gazelles")].sort_values("year")
        total = d[(d["arm"] == arm) & (d["outcome"] == "new_gazelles")]["diff_mean"].iloc[0]
        assert len(g) == 3 and g["diff_mean"].sum() == pytest.approx(total) and g["cum_diff_mean"].iloc[-1] == \
            pytest.approx(total)
    gathered, _ = collect(out / "runs", timeseries=False)
    assert len(gathered) == 15 and set(gathered["arm"]) == set(arms)


@pytest.mark.slow
def test_direct_and_spillover_effects_add_up_and_reach_is_recorded(comparison):
    comp, out = comparison
    s = comp.split.set_index(["arm", "outcome", "part"])
    d = comp.differences.set_index(["arm", "outcome"])
    for arm in ("state_incubator", "guidance_fund+scene_opening[guidance_fund.coinvest_ratio=1.0]"):
        assert s.loc[(arm, "new_gazelles", "direct"), "reason"] == ""
        assert s.loc[(arm, "new_gazelles", "direct"), "firms_reached"] > 0
        for name in ("new_gazelles", "new_unicorns"):
            parts = s.loc[(arm, name, "direct"), "diff_mean"] + s.loc[(arm, name, "spillover"), "diff_mean"]
            assert parts == pytest.approx(d.loc[(arm, name), "diff_mean"])
    assert "changes which firms are founded" in s.loc[("entry_subsidy", "new_gazelles", "direct"), "reason"]
    assert "reached no firm" in s.loc[("exit_channels", "new_gazelles", "direct"), "reason"]
    # the reach record agrees with the programme's own count of firms it admitted (one row per firm)
    run = out / "runs" / "state_incubator" / "seed=3"
    reach = pd.read_parquet(run / "policy_reach.parquet")
    accounts = pd.read_parquet(run / "policy_accounts.parquet")
    assert reach["firm_id"].is_unique and set(reach["channel"]) == {"programme"}
    assert len(reach) == accounts["firms_supported"].sum() > 0
    # a policy's guidance fund reaches the firms it holds (channel "fund"); in a park of scale 0.01 over three
    # years it takes a whole co-investment in some worlds only (the real park's cheques: none, none and one at
    # seeds 3-5), so the records of every world of the arm are read together
    arm_runs = out / "runs" / "guidance_fund+scene_opening_guidance_fund.coinvest_ratio=1.0_"
    gf = pd.concat([pd.read_parquet(r / "policy_reach.parquet") for r in sorted(arm_runs.glob("seed=*"))])
    assert set(gf["channel"]) == {"programme", "fund"} and set(gf["policy"]) == {"guidance_fund", "scene_opening"}
    assert set(gf.loc[gf["channel"] == "fund", "policy"]) == {"guidance_fund"}


@pytest.mark.slow
def test_costs_and_reports_for_decision_makers(comparison):
    comp, out = comparison
    c = comp.costs.set_index("arm")
    assert c.loc["exit_channels", "cost_per_gazelle_status"] == "no_spending"
    for _, r in c.iterrows():
        for what in ("gazelle", "unicorn"):
            assert np.isfinite(r[f"cost_per_{what}"]) == (r[f"cost_per_{what}_status"] == "ok")
            assert r[f"cost_per_{what}_reason"]
    setup = json.loads((out / "comparison.json").read_text())
    assert setup["base_overrides"] == SMALL and setup["scale"] == 0.01
    en = (out / "report.md").read_text(encoding="utf-8")
    zh = (out / "report.zh.md").read_text(encoding="utf-8")
    for text in (en, zh):
        assert "亿元" in text and "万元" in text and "`state_incubator`" in text
    assert "## What these numbers can and cannot say" in en and "State incubator (孵化+资助, Israel)" in en
    assert "million CNY" in en and "Cost per extra unicorn" in en and "simulated worlds" in en
    # a teaching-size park has (almost) no unicorns: the report says its counts are only a rough guide
    assert "new unicorns per world on average: too few events" in en and "家新增独角兽：事件太少" in zh
    assert "## 这些数字能说明什么、不能说明什么" in zh and "国家孵化器" in zh
    assert "政府引导基金" in zh and "百万元" in zh
    # spending per year at the size of the real park is the budget the policy spends
    spent = c.loc["state_incubator", "spending_per_year_full_scale"]
    assert 0 < spent <= configured_policy("state_incubator").budget_mcny_per_year + 1e-6
    assert money(spent) in en


def test_the_report_says_whether_the_park_was_sampled(comparison, tmp_path):
    """A sampled park's report says its counts were divided by the scale; a full-scale comparison's
    (the default) says they are the park's own, in both languages."""
    _, out = comparison
    en, zh = render_report(out, "en"), render_report(out, "zh")
    assert "simulated at 0.01 of its size" in en and "(divided by 0.01)" in en and "scaled up" in en
    assert "按其规模的 0.01 倍模拟" in zh and "（除以 0.01）" in zh
    full = tmp_path / "full"
    shutil.copytree(out, full)
    setup = json.loads((full / "comparison.json").read_text(encoding="utf-8"))
    setup["scale"] = 1.0
    (full / "comparison.json").write_text(json.dumps(setup), encoding="utf-8")
    en, zh = render_report(full, "en"), render_report(full, "zh")
    assert "simulated at its full size: every count and amount below is the park's own" in en
    assert "divided by" not in en and "scaled up" not in en and "few even in the whole park" in en
    assert "按其完整规模模拟" in zh and "除以" not in zh and "即使在整个园区中" in zh


def test_a_cost_per_firm_reaches_the_report(tmp_path):
    outcomes = _table([10.0, 12.0, 11.0, 9.0], [20.0, 23.0, 21.0, 20.0])
    diffs = paired_differences(outcomes)
    costs = cost_table(outcomes, diffs, years=2, scale=0.5)
    arms = [{"label": "baseline", "policies": []},
            {"label": "policy", "policies": [{"name": "rd_grants", "kind": "rd_grants", "title": "Matched grants",
                                              "description": "", "doc": "Grants.", "target": "firms"}]}]
    comp = Comparison(outcomes, diffs, costs, setup={"arms": arms, "seeds": [0, 1, 2, 3], "scale": 0.5, "years": 2,
                                                     "start_year": 2015, "ecosystem": "zhongguancun",
                                                     "wall_seconds": 1.0})
    write_comparison(comp, tmp_path, plots=False)
    en = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"Cost per additional gazelle: {money(50.0 / 10.5)}" in en
    assert money(50.0 / 10.5, "zh") in (tmp_path / "report.zh.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_target_halfwidth_adds_seeds_up_to_the_cap_and_resumes(tmp_path):
    # no plots: the claim is about seeds and reuse (the comparison fixture draws a comparison's plots)
    common = dict(policies=["entry_subsidy"], outdir=tmp_path, progress=False, defaults=SMALL,
                  overrides=["years=1"], plots=False)
    comp = compare_policies(seeds=2, target_halfwidth={"firms_born": "0.01"}, max_seeds=4, **common)
    assert comp.setup["seeds"] == [0, 1, 2, 3] and not comp.setup["targets_met"]
    assert [r["seeds"] for r in comp.setup["rounds"]] == [2, 4]
    row = comp.differences[comp.differences["outcome"] == "firms_born"].iloc[0]
    assert row["n_pairs"] == 4 and row["target_halfwidth"] == 0.01 and row["ci_halfwidth"] > 0.01
    again = compare_policies(seeds=2, target_halfwidth={"firms_born": "0.01"}, max_seeds=4, **common)
    assert again.setup["runs_reused"] == 8  # every run of the two rounds, from the first call
    easy = compare_policies(seeds=2, target_halfwidth={"firms_born": "500%"}, **common)
    assert easy.setup["seeds"] == [0, 1] and easy.setup["targets_met"]
    assert easy.setup["target_halfwidth_resolved"]["firms_born"] == pytest.approx(
        5 * easy.outcomes[easy.outcomes["arm"] == "baseline"]["firms_born"].mean())
    with pytest.raises(ConfigError, match="give a target half-width too"):
        compare_policies(seeds=2, max_seeds=4, **common)
    with pytest.raises(ConfigError, match="not an outcome"):
        compare_policies(seeds=2, target_halfwidth={"gazelles": "1"}, **common)


@pytest.mark.slow
def test_equal_budget_comparison_and_the_command_line(tmp_path, capsys):
    code = compare_cli(["ecosystem.warmup_years=1", "years=2", "scale=0.01", "--policies", "state_incubator",
                        "rd_grants", "--seeds", "2", "--budget-mcny", "200", "--outdir", str(tmp_path), "--no-plots",
                        "--jobs", "1"])
    assert code == 0, capsys.readouterr().err
    setup = json.loads((tmp_path / "comparison.json").read_text())
    assert setup["budget_mcny"] == 200 and setup["base_overrides"] == ["ecosystem.warmup_years=1", "years=2",
                                                                        "scale=0.01"]
    scaled = {a["label"]: a for a in setup["arms"]}
    assert scaled["state_incubator"]["scaled"] == pytest.approx(200 / 600)
    assert scaled["state_incubator"]["policies"][0]["budget_mcny_per_year"] == pytest.approx(200)
    costs = pd.read_parquet(tmp_path / "costs.parquet").set_index("arm")
    assert (costs["spending_per_year_full_scale"] <= 200 + 1e-6).all()
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Equal budgets" in report and "per 100 million CNY" in report
    # an override adds to the defaults: the teaching-size park stays
    assert compare_cli(["ecosystem=shenzhen_htz", "years=1", "ecosystem.warmup_years=0", "--policies", "rd_grants",
                        "--seeds", "1", "--outdir", str(tmp_path / "sz"), "--no-plots", "--jobs", "1"]) == 0
    setup = json.loads((tmp_path / "sz" / "comparison.json").read_text())
    # the preset override keeps the comparison's default scale
    assert setup["scale"] == DEFAULT_SCALE and setup["ecosystem"] == "shenzhen_htz" and setup["years"] == 1
    assert compare_cli(["--policies", "no_such_policy", "--outdir", str(tmp_path / "bad")]) == 2
    assert "no_such_policy" in capsys.readouterr().err


@pytest.mark.slow
def test_every_table_of_a_comparison_is_documented_column_by_column(comparison):
    _, out = comparison
    docs = {f.name: f for f in COMPARISON_FILES}
    for name in ("outcomes", "differences", "costs", "timeline", "split"):
        df = pd.read_parquet(out / f"{name}.parquet")
        assert undocumented(df.columns, docs[f"{name}.parquet"]) == ([], []), name
    events = pd.read_parquet(out / "runs" / "baseline" / "seed=3" / "firm_events.parquet")
    assert list(events.columns) == ["firm_id", "new_gazelles", "new_unicorns"]
    assert "firm_events.parquet (firm_id, new_gazelles, new_unicorns" in docs["runs/<arm>/seed=<s>/"].doc



def test_the_default_scale_is_one_constant(monkeypatch, tmp_path):
    """DEFAULT_SCALE sets the scale of every run a comparison makes unless an override sets it; the command
    line uses the same defaults (and --no-defaults none)."""
    assert DEFAULT_OVERRIDES[0] == f"scale={DEFAULT_SCALE:g}"
    assert load_config(compose_overrides(DEFAULT_OVERRIDES, ["ecosystem=shenzhen_htz"])).scale == DEFAULT_SCALE
    assert compare_policies.__kwdefaults__["defaults"] == DEFAULT_OVERRIDES
    seen = []

    def stop(*args, **kwargs):
        seen.append(kwargs["defaults"])
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_cmd, "compare_policies", stop)
    assert compare_cli(["--outdir", str(tmp_path)]) == 130
    assert compare_cli(["--no-defaults", "--outdir", str(tmp_path)]) == 130
    assert seen == [DEFAULT_OVERRIDES, ()]
    assert f"DEFAULT_SCALE = {DEFAULT_SCALE:g}" in compare_cmd.EPILOG


def test_every_policy_has_a_chinese_name_for_the_report():
    """report.zh.md names every policy in Chinese (a kind without a name fell back on its English title)."""
    assert set(REGISTRY) <= set(ZH_KINDS)
    for name in CONFIGS:
        p = configured_policy(name)
        zh = policy_names({"policies": [{"name": p.name, "kind": p.kind, "title": p.title()}], "label": name}, "zh")
        assert p.title() not in zh and re.search("[\u4e00-\u9fff]", zh), (name, zh)

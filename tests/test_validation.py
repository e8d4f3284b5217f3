"""Validation against the reports: target functions, the registry, presets, validate() and calibration.

Target functions are checked on small hand-made tables whose answers are worked out in the
comments, and cross-checked on the fake run of tests/fake_tables.py against a second route to
the same number. The end-to-end checks use teaching-size runs (scale 0.01, one warm-up year).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.batch.status import read_status
from sim.batch.tabledoc import undocumented
from sim.compose import load_config, presets
from sim.config import ConfigError, to_config
from sim.devtools import gendocs
from sim.run import run_simulation
from sim.validation import targets as T
from sim.validation import validate
from sim.validation.calibrate import ParamSpec, calibrate
from sim.validation.realism import _top_decile_share, kaplan_meier, laplace_vs_normal, run_samples, run_stats
from sim.validation.registry import (
    KINDS,
    Target,
    TargetUnavailable,
    band_distance,
    evaluate,
    load_registry,
)
from sim.validation.report import VALIDATION_FILES, plan_runs

try:
    from tests.fake_tables import make_fake_results
except ImportError:  # pragma: no cover - run from inside tests/
    from fake_tables import make_fake_results

START = 2015


def _summary(years=3, scale=0.5, **cfg):
    config = {"ecosystem": {"start_year": START}, "stages": {"gazelle_definition": "oecd"}}
    config.update(cfg)
    return {"start_year": START, "years": years, "scale": scale, "config": config, "policies": []}


def _ts(years=3):
    steps = np.arange(12 * years)
    return pd.DataFrame({"step": steps, "year": START + steps // 12, "births": steps, "unicorns": steps // 6})


def _firms(**cols):
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({"firm_id": np.arange(n, dtype=np.int64), "born_step": np.zeros(n, dtype=np.int32)})
    for c in ("end_step", "gazelle_step", "unicorn_step"):
        df[c] = pd.array(cols.pop(c, [None] * n), dtype="Int32")
    df["end_kind"] = pd.array(cols.pop("end_kind", [None] * n), dtype="string")
    for k, v in cols.items():
        df[k] = v
    return df


# --------------------------------------------------------------------------------------------
# Target functions on hand-made tables
# --------------------------------------------------------------------------------------------


def test_births_in_year_and_mean():
    tables, s = {"timeseries": _ts()}, _summary()
    # births = step: 2016 is steps 12..23, sum = (12 + 23) * 12 / 2 = 210
    assert T.births_in_year(tables, s, year=2016) == 210
    # yearly sums 66, 210, 354 -> mean 210; last two years -> 282
    assert T.mean_births_per_year(tables, s) == 210
    assert T.mean_births_per_year(tables, s, first_year=2016) == 282
    with pytest.raises(TargetUnavailable, match="outside the observed window 2015–2017"):
        T.births_in_year(tables, s, year=2018)


def test_new_unicorns_and_stock():
    firms = _firms(unicorn_step=[5, 12, 23, 24, None, -3])
    tables, s = {"firms": firms, "timeseries": _ts()}, _summary()
    assert T.new_unicorns_in_year(tables, s, year=2016) == 2  # steps 12 and 23
    assert T.new_unicorns_in_year(tables, s, year=2015) == 1  # step 5 (step -3 is warm-up)
    # unicorns = step // 6: December 2016 is step 23 -> 3; June 2017 is step 29 -> 4
    assert T.unicorns_at(tables, s, year=2016) == 3
    assert T.unicorns_at(tables, s, year=2017, month=6) == 4


def test_gazelles_held_in_window():
    ch = pd.DataFrame(
        [
            (1, -5, "startup", "gazelle"),  # gazelle when 2016 opens (step 12), alive: counted
            (2, -5, "startup", "gazelle"),
            (2, 3, "gazelle", "startup"),  # lost the stage before the window: not counted
            (3, 15, "startup", "gazelle"),  # became one inside: counted
            (4, -2, "startup", "gazelle"),  # gazelle, but failed at step 10: not counted
            (5, 30, "startup", "gazelle"),  # after the window: not counted
            (6, 14, "startup", "gazelle"),
            (6, 20, "gazelle", "unicorn"),  # counted once
        ],
        columns=["firm_id", "step", "from_stage", "to_stage"],
    )
    firms = _firms(end_step=[None, None, None, None, 10, None, None])
    tables = {"stage_changes": ch, "firms": firms}
    assert T.gazelles_held_in_window(tables, _summary(), first_year=2016, last_year=2016) == 3
    # 2015-2017: firms 1, 2, 3, 4, 5, 6 all held it at some time
    assert T.gazelles_held_in_window(tables, _summary(), first_year=2015, last_year=2017) == 6


def test_gazelle_share_and_new_established_firms():
    fy = pd.DataFrame(
        [
            # year, firm, age, revenue, stage
            (2016, 10, 3.0, 1.0, "gazelle"),  # below the base threshold: outside the base
            (2016, 11, 3.0, 6.0, "startup"),
            (2016, 12, 3.0, 7.0, "gazelle"),
            (2016, 13, 3.0, 20.0, "startup"),
            (2016, 14, 3.0, 50.0, "unicorn"),
        ],
        columns=["year", "firm_id", "age_years", "revenue", "stage"],
    ).assign(employees=5.0, valuation=1.0)
    s = _summary()
    assert T.gazelle_share_of_established({"firm_years": fy}, s, year=2016, min_revenue_mcny=5.0) == pytest.approx(0.25)
    with pytest.raises(TargetUnavailable, match="no live firm"):
        T.gazelle_share_of_established({"firm_years": fy}, s, year=2016, min_revenue_mcny=100.0)

    fy2 = pd.DataFrame(
        [
            (2015, 1, 2.0, 9.0),
            (2016, 1, 3.0, 9.0),  # A: passed already in 2015
            (2015, 2, 1.0, 1.0),
            (2016, 2, 2.0, 8.0),  # B: first pass in 2016 -> new
            (2016, 3, 0.5, 8.0),  # C: too young in 2016
            (2017, 3, 1.5, 8.0),  # ... passes in 2017
            (2016, 4, 1.0, 5.0),  # D: exactly at both thresholds in 2016 -> new
        ],
        columns=["year", "firm_id", "age_years", "revenue"],
    )
    tables = {"firm_years": fy2}
    assert T.new_established_firms_in_year(tables, s, year=2016, min_revenue_mcny=5.0, min_age_years=1.0) == 2
    assert T.new_established_firms_in_year(tables, s, year=2017, min_revenue_mcny=5.0, min_age_years=1.0) == 1
    with pytest.raises(TargetUnavailable, match="first observed year"):
        T.new_established_firms_in_year(tables, s, year=2015, min_revenue_mcny=5.0, min_age_years=1.0)
    with pytest.raises(TargetUnavailable, match="empty"):
        T.new_established_firms_in_year({"firm_years": fy2.iloc[:0]}, s, year=2016, min_revenue_mcny=5.0,
                                        min_age_years=1.0)


def test_incubator_success_rate():
    s = _summary()
    s["policy_accounts"] = {
        "state_incubator": {"kind": "state_incubator", "incubations_ended": 30, "successes": 12},
        "second_incubator": {"kind": "state_incubator", "incubations_ended": 10, "successes": 8},
        "grants": {"kind": "rd_grants", "firms_supported": 50},
    }
    # pooled over the incubators: (12 + 8) / (30 + 10)
    assert T.incubator_success_rate({}, s, kind="state_incubator") == 0.5
    with pytest.raises(TargetUnavailable, match="no policy of kind 'state_incubator'"):
        T.incubator_success_rate({}, _summary(), kind="state_incubator")
    s["policy_accounts"] = {"state_incubator": {"kind": "state_incubator", "incubations_ended": 0, "successes": 0}}
    with pytest.raises(TargetUnavailable, match="no incubation"):
        T.incubator_success_rate({}, s, kind="state_incubator")


def test_time_to_unicorn_quantile():
    firms = _firms(born_step=[-24, 0, -60, 5], unicorn_step=[12, 24, -1, None])
    tables, s = {"firms": firms}, _summary()
    # in the window: 3 years and 2 years (the unicorn of step -1 is before it)
    assert T.time_to_unicorn_quantile(tables, s, q=0.0) == 2.0
    assert T.time_to_unicorn_quantile(tables, s, q=1.0) == 3.0
    assert T.time_to_unicorn_quantile(tables, s, q=0.5) == 2.5
    with pytest.raises(TargetUnavailable, match="no firm became a unicorn"):
        T.time_to_unicorn_quantile(tables, s, q=0.5, last_year=2015)


def test_target_functions_agree_with_a_second_route_on_the_fake_run():
    tables, summary = make_fake_results(seed=3, n_firms=500, years=3)
    ts = tables["timeseries"]
    for year in (2015, 2016, 2017):
        by_year = ts[ts["year"] == year]
        assert T.new_unicorns_in_year(tables, summary, year=year) == by_year["new_unicorns"].sum()
        assert T.births_in_year(tables, summary, year=year) == by_year["births"].sum()
        assert T.unicorns_at(tables, summary, year=year) == by_year["unicorns"].iloc[-1]
    # the fake's stages only move up, so "held in the window" = gazelle by its end and alive at its start
    f = tables["firms"]
    g = f["gazelle_step"].to_numpy(float, na_value=np.inf)
    end = f["end_step"].to_numpy(float, na_value=np.inf)
    expected = int(((g <= 35) & (end >= 0)).sum())
    assert T.gazelles_held_in_window(tables, summary, first_year=2015, last_year=2017) == expected


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def test_registry_loads_and_every_entry_is_complete():
    reg = load_registry()
    assert len(reg.targets) >= 12
    preset_names = set(presets("ecosystem"))
    for t in reg.targets.values():
        assert callable(t.resolve()), t.name
        assert t.kind in KINDS
        assert t.band[0] < t.reported_low <= t.reported_high < t.band[1], t.name
        assert t.presets and set(t.presets) <= preset_names, t.name
        assert t.source.get("digest") and (t.source.get("seed") or t.source.get("external")), t.name
        assert len(t.band_reason) > 20 and len(t.definition) > 20, t.name
        if t.date is not None and "year" in t.params:  # the function's year lies inside the stated date
            assert t.date[0] <= t.params["year"] <= t.date[1], t.name
    # the figures are all there
    for name in ("zgc_new_tech_firms_2024", "zgc_new_high_tech_enterprises_2024", "zgc_new_unicorns_2024",
                 "zgc_unicorn_stock_2019", "sz_gazelles_cultivated_2019", "sz_unicorns_2019", "sv_startups_per_year",
                 "sv_new_unicorns_2017", "il_incubator_success_rate", "htz_gazelle_share_2014"):
        assert name in reg.targets
    for p in ("zhongguancun", "shenzhen_htz", "silicon_valley", "israel", "china"):
        assert reg.for_preset(p), p


def _write(tmp_path, entry, name="t.yaml"):
    (tmp_path / name).write_text(yaml.safe_dump({"targets": [entry]}, allow_unicode=True), encoding="utf-8")


GOOD = {
    "name": "demo_target",
    "description": "A demo",
    "reported": {"value": 10},
    "band": [5, 20],
    "band_reason": "wide enough for the demo",
    "unit": "firms",
    "kind": "stock",
    "extensive": True,
    "date": 2016,
    "presets": ["zhongguancun"],
    "source": {"seed": "seeds/x.txt:1", "digest": "report-figures.md §0"},
    "definition": "live unicorns at the end of 2016",
    "function": "sim.validation.targets.unicorns_at",
    "params": {"year": 2016},
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"band_reason": None}, "missing field"),
        ({"band": [10, 20]}, "strictly contain"),
        ({"kind": "level"}, "kind='level'"),
        ({"function": "sim.validation.targets.no_such"}, "no function 'no_such'"),
        ({"presets": ["atlantis"]}, "preset 'atlantis'"),
        ({"date": "2016"}, "date='2016'"),
        ({"extra_field": 1}, "unknown field"),
        ({"reported": {"value": 1, "range": [1, 2]}}, "exactly one of"),
    ],
)
def test_registry_rejects_a_bad_entry_with_one_clear_line(tmp_path, change, message):
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    _write(tmp_path, entry)
    with pytest.raises(ConfigError, match=message) as exc:
        reg = load_registry(tmp_path)
        for t in reg.targets.values():
            t.resolve()
    assert "\n" not in str(exc.value)


def test_registry_rejects_duplicate_names(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ConfigError, match="also defined in a.yaml"):
        load_registry(tmp_path)


def test_evaluate_scales_extensive_targets_and_checks_requirements(tmp_path):
    _write(tmp_path, GOOD)
    t = load_registry(tmp_path).get("demo_target")
    tables = {"timeseries": _ts()}
    # unicorns at December 2016 = 3, at scale 0.5 -> 6 at scale 1
    assert evaluate(t, tables, _summary(scale=0.5)) == (6.0, "")
    ratio = Target(**{**t.__dict__, "extensive": False})
    assert evaluate(ratio, tables, _summary(scale=0.5))[0] == 3.0
    needs = Target(**{**t.__dict__, "config": {"stages.gazelle_definition": "tiered_cn"}})
    value, reason = evaluate(needs, tables, _summary())
    assert math.isnan(value) and "stages.gazelle_definition='tiered_cn'" in reason
    needs_policy = Target(**{**t.__dict__, "policies": ("incubator",)})
    value, reason = evaluate(needs_policy, tables, _summary())
    assert math.isnan(value) and "incubator" in reason
    s = _summary()
    s["policies"] = [{"kind": "incubator", "name": "incubator"}]
    assert evaluate(needs_policy, tables, s)[0] == 6.0
    late = Target(**{**t.__dict__, "params": {"year": 2030}})
    assert "outside the observed window" in evaluate(late, tables, _summary())[1]


def test_band_distance():
    t = Target(name="x", description="", reported={"range": [74, 81]}, band=(60.0, 97.0), band_reason="", unit="",
               kind="stock", extensive=True, date=None, presets=("p",), source={}, definition="", function="f")
    assert band_distance(t, 77) == 0
    assert band_distance(t, 97) == pytest.approx(1.0)
    assert band_distance(t, 60) == pytest.approx(1.0)
    assert band_distance(t, 67) == pytest.approx(0.5)
    assert band_distance(t, 113) == pytest.approx(2.0)
    assert math.isnan(band_distance(t, math.nan))
    assert t.in_band(60) and t.in_band(97) and not t.in_band(97.5)


# --------------------------------------------------------------------------------------------
# Realism statistics
# --------------------------------------------------------------------------------------------


def test_kaplan_meier_known_answer():
    # durations 1, 2, 2+, 3, 4+ (+ = censored): S(1) = 4/5, S(2) = 4/5 * 3/4, S(3) = 0.6 * 1/2
    km = kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0], dtype=bool))
    assert km["months"].tolist() == [1, 2, 3]
    assert km["survival"].tolist() == pytest.approx([0.8, 0.6, 0.3])
    assert km["at_risk"].tolist() == [5, 4, 2]


def test_laplace_check_tells_tent_from_bell():
    rng = np.random.default_rng(1)
    lap = laplace_vs_normal(rng.laplace(0, 0.3, 20_000))
    norm = laplace_vs_normal(rng.normal(0, 0.3, 20_000))
    assert lap["delta_aic"] > 0 and norm["delta_aic"] < 0
    assert lap["excess_kurtosis"] == pytest.approx(3.0, abs=0.5)  # Laplace: 3
    assert norm["excess_kurtosis"] == pytest.approx(0.0, abs=0.2)


def test_top_decile_share_and_run_stats_on_the_fake_run():
    vc = pd.DataFrame({"multiple": np.arange(20, dtype=float), "value": np.arange(20, dtype=float)})
    # top 2 of 20 by multiple hold values 19 + 18 of a total 190
    assert _top_decile_share(vc) == pytest.approx(37 / 190)
    tables, summary = make_fake_results(seed=2, n_firms=500)
    st = run_stats(run_samples(tables, summary))
    assert 0 <= st["survival.km_5y"] <= st["survival.km_3y"] <= st["survival.km_1y"] <= 1
    assert st["survival.failures"] == (tables["firms"]["end_kind"] == "failed").sum()
    assert st["to_gazelle.n"] == tables["firms"]["gazelle_step"].notna().sum()
    vc_pos = tables["positions"][tables["positions"]["investor_kind"] == "vc"]
    assert st["vc.positions"] == len(vc_pos)
    assert st["vc.loss_share"] == pytest.approx((vc_pos["multiple"] < 1).mean())


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------

PRESETS = ("zhongguancun", "shenzhen_htz", "silicon_valley", "israel", "china")


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_validates_and_runs(name):
    assert name in presets("ecosystem")
    cfg = load_config([f"ecosystem={name}"])
    assert cfg.ecosystem.name == name
    assert len(cfg.ecosystem.note) > 40, "the preset says where its numbers come from"
    text = (Path(__file__).parents[1] / "conf" / "ecosystem" / f"{name}.yaml").read_text(encoding="utf-8")
    assert "report-figures.md" in text
    scale = 0.002 if name == "china" else (0.5 if name == "israel" else 0.01)
    small = load_config([f"ecosystem={name}", f"scale={scale}", "years=1", "ecosystem.warmup_years=1",
                         "output.plots=false"])
    res = run_simulation(small, progress=False)
    assert res.summary["ecosystem"] == name
    births = res.tables["timeseries"]["births"].sum()
    expected = cfg.ecosystem.firms.births_per_year * scale
    assert abs(births - expected) < 5 * math.sqrt(expected) + 2  # Poisson births around the preset's rate


def test_plan_covers_the_targets_dates_and_applies_their_definitions():
    reg = load_registry()
    plan = plan_runs("shenzhen_htz", reg.for_preset("shenzhen_htz"), overrides=["ecosystem.warmup_years=1"], seeds=2)
    assert plan.window == (2014, 2019)  # from the Torch share (2014) to the 2019 stocks
    assert plan.cfg.stages.gazelle_definition == "tiered_cn"
    assert plan.cfg.scale == reg.settings("shenzhen_htz").scale
    assert plan.seeds == [0, 1] and not plan.unavailable
    late = plan_runs("shenzhen_htz", reg.for_preset("shenzhen_htz"), overrides=["ecosystem.start_year=2016"], seeds=1)
    assert "ecosystem.start_year=2014" in late.unavailable["htz_gazelle_share_2014"]
    il = plan_runs("israel", reg.for_preset("israel"), seeds=1)
    assert "policy=[state_incubator]" in il.overrides and not il.unavailable
    assert il.cfg.policy["state_incubator"]["capacity_per_year"] == 90  # the target's sizing of the programme
    with pytest.raises(ConfigError, match="Unknown ecosystem preset 'shenzen_htz'. Did you mean 'shenzhen_htz'"):
        plan_runs("shenzen_htz", [], seeds=1)


# --------------------------------------------------------------------------------------------
# End to end: validate() and calibrate()
# --------------------------------------------------------------------------------------------

TINY = ["ecosystem.start_year=2023", "ecosystem.warmup_years=1"]


def test_validate_end_to_end(tmp_path):
    res = validate("zhongguancun", seeds=2, overrides=TINY, scale=0.01, outdir=tmp_path, n_jobs=1)
    t = res.targets.set_index("target")
    assert set(t.index) == {x.name for x in load_registry().for_preset("zhongguancun")}
    # the 2019 stock lies before the window (2023-2024): reported as not computable, with the fix
    assert t.loc["zgc_unicorn_stock_2019", "status"] == "n/a"
    assert "ecosystem.start_year=2019" in t.loc["zgc_unicorn_stock_2019", "reason"]
    births = t.loc["zgc_new_tech_firms_2024"]
    assert births["values"] == 2
    assert abs(births["mean"] - 110_000) < 0.1 * 110_000  # Poisson births at the preset's rate, rescaled
    assert births["seed_q025"] <= births["mean"] <= births["seed_q975"]
    assert births["status"] == ("pass" if 93_500 <= births["mean"] <= 126_500 else "miss")
    values = pd.read_parquet(tmp_path / "target_values.parquet")
    assert sorted(values["seed"].unique()) == [0, 1]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    for name in t.index:
        assert f"`{name}`" in report
    for f in ("targets.png", "size_ccdf.png", "growth_rates.png", "survival.png", "time_to_stage.png",
              "vc_multiples.png", "targets.csv", "realism_summary.csv", "survival_km.csv", "size_ccdf.csv"):
        assert (tmp_path / f).is_file(), f
    docs = {f.name.split(",")[0]: f for f in VALIDATION_FILES}
    for name in ("targets.csv", "target_values.csv", "realism_stats.csv", "realism_summary.csv"):
        assert undocumented(pd.read_csv(tmp_path / name).columns, docs[name]) == ([], []), name
    stats = res.realism_summary.set_index("statistic")["mean"]
    assert 0 < stats["survival.km_1y"] <= 1 and stats["survival.km_2y"] <= stats["survival.km_1y"]
    assert stats["size.employees.n"] > 0


@pytest.mark.slow
def test_validation_runs_each_seed_once_and_resumes(tmp_path):
    first = validate("zhongguancun", seeds=2, overrides=TINY, scale=0.01, outdir=tmp_path, n_jobs=1,
                     targets=["zgc_new_tech_firms_2024"])
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == ["seed=0", "seed=1"]
    assert read_status(runs / "seed=0")["status"] == "completed"
    stamp = {p.parent.name: p.stat().st_mtime_ns for p in runs.glob("*/summary.json")}
    (runs / "seed=1" / "summary.json").unlink()  # as if seed 1 had been cut off
    again = validate("zhongguancun", seeds=3, overrides=TINY, scale=0.01, outdir=tmp_path, n_jobs=1,
                     targets=["zgc_new_tech_firms_2024"])
    assert (runs / "seed=0" / "summary.json").stat().st_mtime_ns == stamp["seed=0"]  # reused
    assert (runs / "seed=1" / "summary.json").is_file() and (runs / "seed=2" / "summary.json").is_file()
    v1 = first.values.set_index("seed")["value"]
    v2 = again.values.set_index("seed")["value"]
    assert v2.loc[0] == v1.loc[0] and v2.loc[1] == v1.loc[1]  # the same worlds, whether reused or rerun
    # the realism samples are read back from the run directories of reused runs too
    assert first.realism_summary.set_index("statistic").loc["size.employees.n", "mean"] > 0
    r0 = first.realism_stats[first.realism_stats["seed"] == 0].set_index("statistic")["value"]
    r0b = again.realism_stats[again.realism_stats["seed"] == 0].set_index("statistic")["value"]
    pd.testing.assert_series_equal(r0, r0b)


@pytest.mark.slow
def test_interrupted_calibration_trial_is_retried_with_its_finished_seeds(tmp_path, monkeypatch):
    pytest.importorskip("optuna", reason="optuna is the calibrate extra (make test installs it)")
    C = importlib.import_module("sim.validation.calibrate")  # the module (sim.validation.calibrate is the function)
    key = "ecosystem.firms.births_per_year"
    calls = []
    real = C.run_seeds

    def stop_in_second_trial(cfg, seeds, targets, runs_dir, **kw):
        calls.append(Path(runs_dir))
        if len(calls) == 2:  # the second trial: its first seed finishes, then Ctrl-C
            real(cfg, list(seeds)[:1], targets, runs_dir, **kw)
            raise KeyboardInterrupt
        return real(cfg, seeds, targets, runs_dir, **kw)

    monkeypatch.setattr(C, "run_seeds", stop_in_second_trial)
    common = dict(outdir=tmp_path, seeds=2, scale=0.01, overrides=TINY, holdout=[], log=None, initial=None)
    res = C.calibrate("zhongguancun", [C.ParamSpec(key, 60_000.0, 160_000.0)], ["zgc_new_tech_firms_2024"],
                      n_trials=3, **common)
    assert res.interrupted and (res.trials["state"] == "COMPLETE").sum() == 1
    cut = calls[1]
    done = (cut / "seed=0" / "summary.json").stat().st_mtime_ns
    assert not (cut / "seed=1").exists()
    monkeypatch.setattr(C, "run_seeds", real)
    res2 = C.calibrate("zhongguancun", [C.ParamSpec(key, 60_000.0, 160_000.0)], ["zgc_new_tech_firms_2024"],
                       n_trials=3, **common)
    assert not res2.interrupted and (res2.trials["state"] == "COMPLETE").sum() == 3
    t = res2.trials.set_index("trial")
    failed = t[t["state"] == "FAIL"]
    assert len(failed) == 1
    retried = t[(t["state"] == "COMPLETE") & (t[key] == failed[key].iloc[0])]
    assert len(retried) == 1  # asked again with the same value
    assert (cut / "seed=0" / "summary.json").stat().st_mtime_ns == done  # its finished seed was reused
    assert (cut / "seed=1" / "summary.json").is_file()


@pytest.mark.slow
def test_calibration_improves_loss_resumes_and_writes_a_preset(tmp_path):
    pytest.importorskip("optuna", reason="optuna is the calibrate extra (make test installs it)")
    key = "ecosystem.firms.births_per_year"
    common = dict(
        outdir=tmp_path, seeds=2, scale=0.01, overrides=TINY, holdout=["zgc_new_unicorns_2024"],
        initial={key: 30_000.0},  # a deliberately bad start: about a quarter of the reported births
        log=None,
    )
    births = [ParamSpec(key, 30_000.0, 200_000.0)]
    res = calibrate("zhongguancun", births, ["zgc_new_tech_firms_2024"], n_trials=4, **common)
    assert res.initial_loss is not None and res.initial_loss > 4  # 30,000 births are ~5 bands away
    assert res.best_loss < res.initial_loss
    assert 60_000 < res.best_params[key] < 190_000
    assert list(res.trials["trial"]) == [0, 1, 2, 3]
    assert res.trials["value:zgc_new_unicorns_2024"].notna().all()  # held out, but computed
    # resume from the storage: two more trials, the first four kept
    res2 = calibrate("zhongguancun", births, ["zgc_new_tech_firms_2024"], n_trials=6, **common)
    assert (res2.trials["state"] == "COMPLETE").sum() == 6
    assert res2.best_loss <= res.best_loss
    # the study refuses another specification
    with pytest.raises(ConfigError, match="another params"):
        calibrate("zhongguancun", [ParamSpec(key, 25_000.0, 200_000.0)], ["zgc_new_tech_firms_2024"], n_trials=6,
                  **common)
    # the calibrated preset is a valid ecosystem preset with the fitted value
    eco = yaml.safe_load(res2.preset_file.read_text(encoding="utf-8"))
    cfg = to_config({"ecosystem": eco})
    assert cfg.ecosystem.name == "zhongguancun_calibrated"
    assert cfg.ecosystem.firms.births_per_year == pytest.approx(res2.best_params[key])
    report = (tmp_path / "calibration_report.md").read_text(encoding="utf-8")
    assert "Held-out targets (out of sample)" in report and "zgc_new_unicorns_2024" in report
    assert (tmp_path / "trials.csv").is_file() and (tmp_path / "loss.png").is_file()


def test_calibration_rejects_bad_specifications(tmp_path):
    pytest.importorskip("optuna")
    with pytest.raises(ConfigError, match="only ecosystem"):
        ParamSpec.parse("scale=0.1:1").check()
    with pytest.raises(ConfigError, match="write key=low:high"):
        ParamSpec.parse("ecosystem.firms.births_per_year=100")
    with pytest.raises(ConfigError, match="applies to silicon_valley, not to 'zhongguancun'"):
        calibrate("zhongguancun", ["ecosystem.firms.births_per_year=1000:2000"], ["sv_new_unicorns_2017"],
                  outdir=tmp_path)
    with pytest.raises(ConfigError, match="outside its range"):
        calibrate("zhongguancun", ["ecosystem.firms.births_per_year=1000:2000"], ["zgc_new_unicorns_2024"],
                  outdir=tmp_path, overrides=TINY, scale=0.01)


def test_validation_doc_lists_every_target():
    current = gendocs.VALIDATION_DOC.read_text(encoding="utf-8")
    assert current == gendocs.render_validation(current, load_registry()), (
        "docs/validation.md is out of date with conf/targets/; regenerate it with: python -m sim.devtools.gendocs"
    )
    for t in load_registry().targets.values():
        assert f"### `{t.name}`" in current and f"`{t.function}`" in current

"""Compare policy interventions with the baseline over many seeds, with common random numbers.

:func:`compare_policies` runs the baseline and every policy arm (:mod:`sim.analysis.arms`) over
the same seeds, through the batch runner. Each arm at seed *s* uses the same root seed as the
baseline at *s*, and every policy draws only from its own random stream, so the two runs of a
pair share all their luck (common random numbers): the difference between them is the policy's
effect in that world, and the spread of the differences over seeds gives a paired 95 %
t-interval (:mod:`sim.analysis.paired`).

* **Settings.** The user's overrides are added to the comparison's defaults
  (:data:`DEFAULT_OVERRIDES`: :data:`DEFAULT_SCALE` and :data:`DEFAULT_WINDOW`); a default is
  dropped only where an override sets its key.
* **Enough worlds.** For every outcome, ``seeds_needed`` says how many seeds would tell the
  observed effect from zero. With ``target_halfwidth`` (outcome -> half-width, in the
  outcome's unit or as ``"N%"`` of the baseline's mean) the comparison adds seeds in rounds
  until every arm's interval is that narrow, or ``max_seeds`` is reached.
* **Equal budgets.** With ``budget_mcny``, every arm is scaled to that yearly public spending
  (:func:`sim.analysis.arms.equal_budget`); ``costs.parquet`` gives every arm's effects per 100
  million CNY of net public cost either way.
* **Direct and spill-over effects.** Each policy run records the firms the policy reached
  (``policy_reach``); the effect on new gazelles and unicorns is split into the firms reached
  and all others, following each firm from the baseline world to the policy world.
* **Resume.** Every run goes to ``<outdir>/runs/<arm>/seed=<s>`` (status, summary, time series,
  policy accounts and reach, the firms' stage events); running the same comparison again reuses
  the finished runs, so an interrupted comparison resumes where it stopped.

What it writes into ``outdir`` (docs/outputs.md lists every column with its unit):
``outcomes.parquet`` (arm x seed), ``differences.parquet`` (arm x outcome), ``costs.parquet``
(arm), ``timeline.parquet`` (arm x year x outcome), ``split.parquet`` (arm x outcome x part),
``comparison.json`` (the setup), ``differences.png``, ``costs.png``, ``timeline.png``,
``split.png``, ``report.md`` (English) and ``report.zh.md`` (Chinese), and ``runs/``.
``python -m experiments.compare_policies`` is the command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.arms import BASELINE, Arm, compose_overrides, equal_budget, make_arms, parse_arm, slug
from sim.analysis.compare_report import Comparison, plot_comparison
from sim.analysis.compare_text import render_report
from sim.analysis.paired import (
    OUTCOMES,
    SPLIT_OUTCOMES,
    cost_table,
    paired_differences,
    resolve_halfwidths,
    split_table,
    timeline_table,
    yearly_values,
)
from sim.batch import RunSpec, run_batch
from sim.batch.gather import gather, write_parquet
from sim.batch.tabledoc import Col, FileDoc
from sim.compose import is_preset_file, load_config
from sim.config import ConfigError
from sim.policies.registry import policies_from_config

__all__ = ["Arm", "parse_arm", "compare_policies", "outcomes_of", "run_outcomes", "write_comparison",
           "DEFAULT_SCALE", "DEFAULT_WINDOW", "DEFAULT_OVERRIDES", "TEACHING_OVERRIDES", "RUN_OVERRIDES",
           "DEFAULT_MAX_SEEDS", "COMPARISON_FILES"]

#: The scale of a comparison's runs unless an override sets it: 1, the preset's whole park (a
#: sampled park has few unicorns, and unicorn questions need the full park; README, Comparing
#: policies, gives the seeds a comparison needs and how long it takes).
DEFAULT_SCALE = 1.0
#: The comparison's window unless an override sets it: none, i.e. the preset's own warm-up and
#: observed years (the window the presets are calibrated on).
DEFAULT_WINDOW: list[str] = []
#: Defaults of the comparison (a default is dropped only where an override sets its key).
DEFAULT_OVERRIDES = [f"scale={DEFAULT_SCALE:g}", *DEFAULT_WINDOW]
#: A teaching-size comparison, quick enough for a laptop and a classroom (notebook 03), whatever
#: :data:`DEFAULT_SCALE` is: a tenth of the park over the preset's own window, where unicorns still
#: appear nearly every year (20-23 new unicorns a run for seeds 0 and 1; at scale 0.02 with six
#: observed years, the size used before, there were none), about 3 s a run.
TEACHING_OVERRIDES = ["scale=0.1"]
#: Added to every run of a comparison: the tables it needs, nothing more.
RUN_OVERRIDES = ["output.plots=false", "output.firm_years=false", "output.progress=off"]
#: The tables each run keeps on disk (the outcomes are computed from all of them in the worker).
RUN_TABLES = ["timeseries", "policy_accounts", "policy_reach"]
#: The file in each run's directory with the firms that became gazelles or unicorns in the window.
EVENTS_FILE = "firm_events.parquet"
#: The seed cap when a target half-width is given without one.
DEFAULT_MAX_SEEDS = 64


# --------------------------------------------------------------------------------------------
# What a comparison writes (docs/outputs.md)
# --------------------------------------------------------------------------------------------

_PAIRED = (
    Col("n_pairs", "integer", "seeds", "Seeds (simulated worlds) run for both the arm and the baseline."),
    Col("baseline_mean", "float", "unit", "Mean of the outcome over the baseline's runs."),
    Col("policy_mean", "float", "unit", "Mean of the outcome over the arm's runs."),
    Col("diff_mean", "float", "unit", "Mean of the paired differences, arm minus baseline at the same seed."),
    Col("diff_sd", "float", "unit", "Standard deviation of the paired differences."),
    Col("ci_low", "float", "unit", "Lower end of the 95 % t-interval of diff_mean (NaN with one seed)."),
    Col("ci_high", "float", "unit", "Upper end of the 95 % t-interval of diff_mean."),
    Col("ci_halfwidth", "float", "unit", "Half the width of that interval."),
    Col("significant", "bool", "", "The interval excludes zero."),
    Col("relative_change", "float", "share", "diff_mean / baseline_mean."),
    Col("seeds_needed", "float", "seeds", "Seeds needed for the interval to exclude zero if the effect is as large "
        "as diff_mean and varies as much as diff_sd (NaN: no effect observed, or one seed)."),
)


def _cost_columns(what: str) -> tuple[Col, ...]:
    return (
        Col(f"additional_{what}s", "float", "firms", f"Mean additional {what}s over the window (diff_mean)."),
        Col(f"additional_{what}s_low", "float", "firms", "Lower end of its 95 % interval."),
        Col(f"additional_{what}s_high", "float", "firms", "Upper end of its 95 % interval."),
        Col(f"additional_{what}s_per_100mcny", "float", "firms per 100 mcny", f"Additional {what}s per 100 million "
            "CNY (1 亿元) of net public cost (NaN without a cost)."),
        Col(f"additional_{what}s_per_100mcny_low", "float", "firms per 100 mcny", "Lower end, scaled the same way."),
        Col(f"additional_{what}s_per_100mcny_high", "float", "firms per 100 mcny", "Upper end, scaled the same way."),
        Col(f"cost_per_{what}", "float", f"mcny per {what}", f"Net public cost / additional {what}s, when the "
            "interval lies above zero; else NaN (see the status and reason)."),
        Col(f"cost_per_{what}_low", "float", f"mcny per {what}", "Cost / the upper end of the interval."),
        Col(f"cost_per_{what}_high", "float", f"mcny per {what}", "Cost / the lower end of the interval."),
        Col(f"cost_per_{what}_status", "string", "", "ok, not_significant (interval includes zero), fewer (interval "
            "below zero), no_spending or too_few_seeds (one seed)."),
        Col(f"cost_per_{what}_reason", "string", "", "The status in words (with the seeds needed when not "
            "significant)."),
        Col(f"seeds_needed_{what}s", "float", "seeds", f"seeds_needed of new_{what}s (differences.parquet)."),
    )


COMPARISON_FILES = (
    FileDoc("outcomes.parquet", "The outcomes of every run, computed from its tables.", "one per arm and seed", (
        Col("arm", "string", "", "The arm: baseline, a conf/policy/ name, a+b, or name[key=value]."),
        Col("seed", "int64", "", "The root seed (the simulated world); the same seeds for every arm."),
        *(Col(name, "float64", unit, doc[0].upper() + doc[1:] + ".") for name, (unit, doc) in OUTCOMES.items()),
        Col("firms_reached", "float64", "firms", "Firms the arm's policies reached directly (policy_reach.parquet)."),
        Col("wall_seconds", "float64", "s", "The run's wall time."),
    )),
    FileDoc("differences.parquet", "Each arm minus the baseline, seed by seed (common random numbers).",
            "one per policy arm and outcome", (
                Col("arm", "string", "", "The policy arm."),
                Col("outcome", "string", "", "An outcome of outcomes.parquet."),
                Col("unit", "string", "", "The outcome's unit (mcny: million CNY, simulated park)."),
                *_PAIRED,
                Col("target_halfwidth", "float", "unit", "The requested half-width (--target-halfwidth), else NaN."),
                Col("seeds_for_halfwidth", "float", "seeds", "Seeds needed for an interval that narrow, else NaN."),
            )),
    FileDoc("costs.parquet", "Public money of each arm, what it buys, and effects per 100 million CNY.",
            "one per policy arm", (
                Col("arm", "string", "", "The policy arm."),
                Col("public_spending", "float", "mcny", "Mean public spending over the window (simulated park)."),
                Col("public_receipts", "float", "mcny", "Mean public money that came back in the window."),
                Col("net_public_cost", "float", "mcny", "public_spending - public_receipts."),
                Col("net_public_cost_sd", "float", "mcny", "Its standard deviation over seeds."),
                Col("spending_per_year_full_scale", "float", "mcny/yr", "Public spending per year at the size of the "
                    "preset's park (divided by years and scale): the unit of a policy's budget."),
                *_cost_columns("gazelle"), *_cost_columns("unicorn"),
            )),
    FileDoc("timeline.parquet", "Each arm's paired effect year by year.", "one per policy arm, year and outcome", (
        Col("arm", "string", "", "The policy arm."),
        Col("year", "int64", "year", "Calendar year of the observed window."),
        Col("outcome", "string", "", "new_gazelles, new_unicorns, firms_born (births), jobs (employees in December), "
            "vc_invested or public_spending."),
        Col("unit", "string", "", "firms/yr, persons or mcny/yr (simulated park)."),
        *_PAIRED,
        Col("cum_diff_mean", "float", "unit x years", "The effect summed over the window up to the year (for jobs, a "
            "level: the year's effect)."),
        Col("cum_ci_low", "float", "unit x years", "Lower end of its 95 % interval."),
        Col("cum_ci_high", "float", "unit x years", "Upper end of its 95 % interval."),
    )),
    FileDoc("split.parquet", "The effect on new gazelles and unicorns among the firms each policy reached directly "
            "(policy_reach.parquet; direct) and among all other firms (spill-over), following each firm from the "
            "baseline world to the policy world; the two add up to the total effect.",
            "one per policy arm, outcome and part", (
                Col("arm", "string", "", "The policy arm."),
                Col("outcome", "string", "", "new_gazelles or new_unicorns."),
                Col("part", "string", "", "direct or spillover."),
                Col("unit", "string", "", "firms (simulated park, over the window)."),
                Col("n_pairs", "integer", "seeds", "Pairs used (0 when the split is not possible)."),
                Col("firms_reached", "float", "firms", "Mean number of firms the arm's policies reached."),
                Col("diff_mean", "float", "firms", "Mean paired difference in the part."),
                Col("diff_sd", "float", "firms", "Its standard deviation."),
                Col("ci_low", "float", "firms", "Lower end of the 95 % interval."),
                Col("ci_high", "float", "firms", "Upper end of the 95 % interval."),
                Col("significant", "bool", "", "The interval excludes zero."),
                Col("reason", "string", "", "Why the split is not possible (the policy changes which firms are "
                    "founded, or reaches no firm individually); empty when it is."),
            )),
    FileDoc("comparison.json", "The setup: defaults, overrides, arms (with their policies in words, scaling factor "
            "with equal budgets), seeds, scale, years, the half-width targets and rounds, run time."),
    FileDoc("differences.png, costs.png, timeline.png, split.png", "Plots of the tables above (counts and money at "
            "the size of the real park in costs, timeline and split)."),
    FileDoc("report.md, report.zh.md", "The report for decision makers, in English and Chinese."),
    FileDoc("runs/<arm>/seed=<s>/", "Each run: run_status.json, summary.json, outcomes.json, timeseries.parquet, "
            "policy_accounts.parquet, policy_reach.parquet and firm_events.parquet (firm_id, new_gazelles, "
            "new_unicorns: the firms that became gazelles or unicorns in the window); runs/results.parquet gathers "
            "them."),
)


# --------------------------------------------------------------------------------------------
# One run -> one row of outcomes
# --------------------------------------------------------------------------------------------


def outcomes_of(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The outcomes of one run, from its tables only."""
    ts = tables["timeseries"]
    firms = tables["firms"]
    tracks = tables["tracks"]
    inv = tables["investors"]
    acc = tables.get("policy_accounts")
    born = firms["born_step"] >= 0
    failed = born & (firms["end_kind"] == "failed").fillna(False)
    n_born = int(born.sum())
    formed = tracks["formed_step"]
    out = {
        "new_gazelles": float(ts["new_gazelles"].sum()),
        "new_unicorns": float(ts["new_unicorns"].sum()),
        "tracks_formed": float((formed.notna() & (formed.fillna(-1) >= 0)).sum()),
        "tracks_created": float(((tracks["born_step"] >= 0) & (tracks["created_by"] != "initial")).sum()),
        "firms_born": float(n_born),
        "survival_rate": float(1.0 - failed.sum() / n_born) if n_born else math.nan,
        "jobs": float(ts["employees"].iloc[-1]) if len(ts) else 0.0,
        "revenue": float(ts["revenue"].iloc[-1]) if len(ts) else 0.0,
        "vc_invested": float(ts["vc_invested"].sum()),
        "vc_returned": float(inv.loc[inv["kind"] == "vc", "proceeds"].sum()),
        "guidance_invested": float(ts["guidance_invested"].sum()),
        "bank_lending": float(ts["bank_lending"].sum()),
        "exits": float(ts["exits_ipo"].sum() + ts["exits_acquired"].sum()),
        "public_spending": float(ts["public_spending"].sum()),
        "public_receipts": float(acc["received"].sum()) if acc is not None and len(acc) else 0.0,
    }
    out["net_public_cost"] = out["public_spending"] - out["public_receipts"]
    return out


def founding_signature(firms: pd.DataFrame) -> str:
    """A digest of who was founded when (firm ids in order, with their birth month and channel).

    Two runs with the same signature founded the same firms under the same ids, so a firm can
    be followed from one to the other; a policy that adds or removes founders changes it.
    """
    h = hashlib.sha1(firms["born_step"].to_numpy(np.int64).tobytes())
    h.update("\n".join(firms["origin"].astype(str)).encode())
    return h.hexdigest()


def run_outcomes(tables: dict, summary: dict, rundir) -> dict:
    """The batch runner's outcome function: :func:`outcomes_of` the run, its founding signature and
    the number of firms its policies reached; writes the firms that became gazelles or unicorns in
    the window to ``firm_events.parquet`` (for the split into direct and spill-over effects)."""
    out = dict(outcomes_of(tables))
    firms = tables["firms"]
    gazelle = (firms["gazelle_step"] >= 0).fillna(False).to_numpy(bool)
    unicorn = (firms["unicorn_step"] >= 0).fillna(False).to_numpy(bool)
    keep = gazelle | unicorn
    pd.DataFrame({"firm_id": firms["firm_id"].to_numpy(np.int64)[keep], "new_gazelles": gazelle[keep],
                  "new_unicorns": unicorn[keep]}).to_parquet(Path(rundir) / EVENTS_FILE, index=False)
    reach = tables.get("policy_reach")
    out["firms_reached"] = float(reach["firm_id"].nunique()) if reach is not None else 0.0
    out["founding_signature"] = founding_signature(firms)
    return out


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def run_specs(base: list[str], arms: Sequence[Arm], seeds: Sequence[int]) -> list[RunSpec]:
    """One run per arm and seed: the base overrides, the arm's, the seed; labelled by arm. Seed by
    seed, so that the arms of a world run next to each other and share its warm-up."""
    return [RunSpec(f"{slug(a.label)}/seed={s}", [*base, *a.overrides, f"seed={s}", *RUN_OVERRIDES],
                    {"arm": a.label}) for s in seeds for a in arms]


def _check_runs(results: pd.DataFrame, runs_dir: Path) -> None:
    bad = results[results["status"] != "completed"]
    if len(bad):
        first = bad.iloc[0]
        raise RuntimeError(f"{len(bad)} of {len(results)} runs did not complete (first: {first['run_id']}: "
                           f"{first['error']}); see {runs_dir}. Run the same comparison again to redo only those.")


def _outcomes_table(results: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """outcomes.parquet: one row per arm and seed, the outcomes in :data:`OUTCOMES` order."""
    outcomes = results[["arm", "seed", *OUTCOMES, "firms_reached", "wall_seconds"]].copy()
    outcomes["arm"] = pd.Categorical(outcomes["arm"], categories=labels, ordered=True)
    outcomes = outcomes.sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)
    outcomes["arm"] = outcomes["arm"].astype(str)
    outcomes["seed"] = outcomes["seed"].astype("int64")
    for name in [*OUTCOMES, "firms_reached"]:
        outcomes[name] = outcomes[name].astype(float)
    return outcomes


def _yearly(results: pd.DataFrame, runs_dir: Path) -> pd.DataFrame:
    parts = []
    for _, r in results.iterrows():
        ts = pd.read_parquet(runs_dir / r["run_id"] / "timeseries.parquet")
        parts.append(yearly_values(ts).assign(arm=r["arm"], seed=int(r["seed"])))
    return pd.concat(parts, ignore_index=True)


def _reached(rundir: Path) -> np.ndarray:
    path = rundir / "policy_reach.parquet"
    return np.unique(pd.read_parquet(path, columns=["firm_id"])["firm_id"].to_numpy(np.int64)) if path.is_file() \
        else np.empty(0, dtype=np.int64)


def _split_pairs(results: pd.DataFrame, runs_dir: Path) -> pd.DataFrame:
    """Per policy arm and seed: firms reached, whether the worlds align, and the direct and spill-over differences."""
    base = results[results["arm"] == BASELINE].set_index("seed")
    rows = []
    for _, r in results[results["arm"] != BASELINE].iterrows():
        b = base.loc[r["seed"]]
        row = {"arm": r["arm"], "seed": int(r["seed"]), "aligned": r["founding_signature"] == b["founding_signature"]}
        reached = _reached(runs_dir / r["run_id"])
        row["firms_reached"] = float(reached.size)
        ev_p = pd.read_parquet(runs_dir / r["run_id"] / "firm_events.parquet")
        ev_b = pd.read_parquet(runs_dir / b["run_id"] / "firm_events.parquet")
        for name in SPLIT_OUTCOMES:
            in_p = np.isin(ev_p["firm_id"], reached)
            in_b = np.isin(ev_b["firm_id"], reached)
            direct = float(ev_p.loc[in_p, name].sum() - ev_b.loc[in_b, name].sum())
            row[f"{name}_direct"] = direct
            row[f"{name}_spillover"] = float(ev_p.loc[~in_p, name].sum() - ev_b.loc[~in_b, name].sum())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


def _targets(target_halfwidth, max_seeds) -> tuple[dict, int | None]:
    targets = dict(target_halfwidth or {})
    for name, value in targets.items():
        if name not in OUTCOMES:
            raise ConfigError(f"target half-width for {name!r}: not an outcome; outcomes: {', '.join(OUTCOMES)}.")
        text = str(value).strip().removesuffix("%")
        try:
            ok = float(text) > 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"target half-width {name}={value}: give a positive number in the outcome's unit "
                              f"({OUTCOMES[name][0]}) or a percentage of the baseline's mean (e.g. 10%).")
    if max_seeds is not None and not targets:
        raise ConfigError("--max-seeds caps the seeds added to reach --target-halfwidth; give a target half-width too.")
    if targets and max_seeds is None:
        max_seeds = DEFAULT_MAX_SEEDS
    return targets, max_seeds


def _targets_met(diffs: pd.DataFrame, halfwidths: Mapping[str, float]) -> bool:
    """Every arm's interval is at most the target half-width, for every targeted outcome."""
    sel = diffs[diffs["outcome"].isin(list(halfwidths))]
    return bool(halfwidths) and bool((sel["ci_halfwidth"] <= sel["target_halfwidth"]).all())


def _next_seed_count(diffs: pd.DataFrame, halfwidths: Mapping[str, float], n: int, max_seeds: int | None) -> int | None:
    """How many seeds the next round needs (None: the targets are met or the cap is reached)."""
    if not halfwidths or max_seeds is None:
        return None
    if _targets_met(diffs, halfwidths) or n >= max_seeds:
        return None
    need = diffs[diffs["outcome"].isin(list(halfwidths))]["seeds_for_halfwidth"].max()
    need = n + 1 if not np.isfinite(need) else int(need)
    return int(min(max_seeds, max(n + 1, min(need, 2 * n))))


def _arm_setup(arm: Arm, base: list[str]) -> dict:
    """What comparison.json records of an arm: overrides, scaling and its policies in words."""
    policies = policies_from_config(load_config([*base, *arm.overrides])) if arm.policies else []
    return {"label": arm.label, "overrides": arm.overrides, "scaled": arm.scaled, "note": arm.note,
            "policies": [{"name": p.name, "kind": p.kind, "title": type(p).title(), "description": p.description,
                          "doc": " ".join((type(p).__doc__ or "").split()),
                          "target": type(p).target, "budget_mcny_per_year": p.budget_mcny_per_year}
                         for p in policies]}


def compare_policies(
    overrides: Sequence[str] | None = None,
    policies: Iterable | None = None,
    seeds: int | Sequence[int] = 8,
    outdir=None,
    *,
    defaults: Sequence[str] = DEFAULT_OVERRIDES,
    budget_mcny: float | None = None,
    target_halfwidth: Mapping[str, str | float] | None = None,
    max_seeds: int | None = None,
    jobs: int = 1,
    plots: bool = True,
    progress: bool | None = None,
    resume: bool = True,
    log=None,
) -> Comparison:
    """Run the baseline and each policy arm over the seeds; return (and write) the tables.

    ``overrides``: configuration overrides for every run, added to ``defaults`` (a default is
    dropped only where an override sets the same key; ``defaults=()`` starts from the preset).
    ``policies``: arms (:func:`sim.analysis.arms.parse_arm`; default: every configuration in
    conf/policy/). ``seeds``: a number R (seeds 0..R-1) or a list of seeds, the first round.
    ``budget_mcny``: scale every arm to this yearly public spending (million CNY at scale 1).
    ``target_halfwidth``/``max_seeds``: add seeds until the intervals are this narrow (see the
    module docstring). ``jobs``: parallel runs. ``outdir``: where the tables, plots, reports and
    runs go (None: a temporary directory, nothing kept). Every configuration is checked before
    the first run (ConfigError); finished runs in ``outdir/runs`` are reused (``resume``).
    """
    base = compose_overrides(defaults, overrides)
    load_config(base)  # the settings for every run, checked before anything else (a preset file too)
    arms = make_arms(policies)
    if budget_mcny is not None:
        if not budget_mcny > 0:
            raise ConfigError(f"--budget-mcny {budget_mcny}: give a positive yearly budget in million CNY.")
        arms = [equal_budget(a, base, float(budget_mcny)) for a in arms]
    targets, max_seeds = _targets(target_halfwidth, max_seeds)
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("seeds: give at least one seed (two or more for intervals).")
    labels = [a.label for a in arms]
    log = log or (lambda _msg: None)
    log(f"runs with: {' '.join(base) or '(the preset)'}")
    t0 = time.perf_counter()
    rounds = []
    keep = contextlib.nullcontext(Path(outdir)) if outdir is not None else None
    with keep or tempfile.TemporaryDirectory(prefix="compare_") as where:
        runs_dir = Path(where) / "runs"
        while True:
            log(f"{len(arms)} arms x {len(seed_list)} seeds = {len(arms) * len(seed_list)} runs, {jobs} at a time")
            results = run_batch(run_specs(base, arms, seed_list), runs_dir, outcomes=run_outcomes, tables=RUN_TABLES,
                                jobs=jobs, resume=resume, progress=progress, desc="comparison runs", note=log,
                                share_warmup=True)
            _check_runs(results, runs_dir)
            outcomes = _outcomes_table(results, labels)
            halfwidths = resolve_halfwidths(targets, outcomes)
            diffs = paired_differences(outcomes, halfwidths=halfwidths)
            nxt = _next_seed_count(diffs, halfwidths, len(seed_list), max_seeds)
            rounds.append({"seeds": len(seed_list), "next": nxt})
            if nxt is None:
                break
            log(f"intervals wider than the target: {len(seed_list)} -> {nxt} seeds")
            seed_list = seed_list + [max(seed_list) + 1 + i for i in range(nxt - len(seed_list))]
        timeline = timeline_table(_yearly(results, runs_dir))
        split = split_table(_split_pairs(results, runs_dir), labels[1:])
        if outdir is not None:
            gather(runs_dir, timeseries=False)
    cfg = load_config(base)
    costs = cost_table(outcomes, diffs, years=cfg.years, scale=cfg.scale)
    setup = {
        "base_overrides": base,
        "defaults": list(defaults),
        "user_overrides": list(overrides or []),
        "arms": [_arm_setup(a, base) for a in arms],
        "seeds": seed_list,
        "scale": cfg.scale,
        "years": cfg.years,
        "start_year": cfg.ecosystem.start_year,
        "warmup_years": cfg.ecosystem.warmup_years,
        "ecosystem": cfg.ecosystem.name,
        "preset_file": next((v for k, _, v in (o.partition("=") for o in base) if k.strip() == "ecosystem"
                             and is_preset_file(v)), None),
        "government_budget_mcny_per_year": cfg.ecosystem.government.budget_mcny_per_year,
        "budget_mcny": budget_mcny,
        "target_halfwidth": {k: str(v) for k, v in targets.items()},
        "target_halfwidth_resolved": halfwidths,
        "max_seeds": max_seeds,
        "rounds": rounds,
        "targets_met": _targets_met(diffs, halfwidths),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "runs_reused": int(results["reused"].sum()),
        "jobs": jobs,
    }
    comp = Comparison(outcomes=outcomes, differences=diffs, costs=costs, timeline=timeline, split=split, setup=setup)
    if outdir is not None:
        write_comparison(comp, outdir, plots=plots)
    return comp


def write_comparison(comp: Comparison, outdir, *, plots: bool = True) -> Path:
    """Write the comparison's tables, ``comparison.json``, the plots and both reports into ``outdir``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for name in ("outcomes", "differences", "costs", "timeline", "split"):
        write_parquet(getattr(comp, name), outdir / f"{name}.parquet")
    (outdir / "comparison.json").write_text(json.dumps(comp.setup, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
    if plots:
        plot_comparison(outdir)
    (outdir / "report.md").write_text(render_report(outdir, "en"), encoding="utf-8")
    (outdir / "report.zh.md").write_text(render_report(outdir, "zh"), encoding="utf-8")
    comp.outdir = outdir
    return outdir

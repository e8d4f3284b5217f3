"""Compare policy interventions with the baseline over many seeds, with common random numbers.

:func:`compare_policies` runs the baseline and every policy arm over the same seeds. Each arm
at seed *s* uses the same root seed as the baseline at *s*, and every policy draws only from
its own random stream, so the two runs of a pair share all their luck (common random numbers):
the difference between them is the policy's effect in that world, and the spread of the
differences over seeds gives a paired 95 % t-interval. It writes, into ``outdir``:

* ``outcomes.parquet``: one row per arm and seed with the outcomes (new gazelles, new unicorns,
  tracks formed and created, firms born, firm survival, jobs, revenue, VC invested and
  returned, guidance money, bank lending, exits, public spending, receipts, net public cost);
* ``differences.parquet``: one row per policy arm and outcome: baseline and policy means, the
  mean paired difference, its standard deviation, the 95 % interval and whether it excludes 0;
* ``costs.parquet``: one row per policy arm: public spending, receipts and net cost, and the
  cost per additional gazelle and unicorn, with a status saying when it cannot be given
  (no public money spent, no gain distinguishable from chance, fewer than the baseline);
* ``differences.png``, ``costs.png``: plots made from those tables;
* ``report.md``: a short report in plain language with numbers and intervals, and caveats;
* ``comparison.json``: the setup (base overrides, arms, seeds, timings);
* ``runs/<arm>/seed=<s>/``: every run, made by the batch runner (:mod:`sim.batch.runner`):
  its status, summary, time series and policy accounts, and ``runs/results.parquet``. Running
  the same comparison again into the same directory reuses the finished runs.

An arm is a policy configuration name (``guidance_fund``), several joined with ``+``
(``guidance_fund+scene_opening``, run together), optionally with parameters after a colon
(``local_patience:patience_years=2,entry_bonus=1.5``). ``python -m experiments.compare_policies`` is
the command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare_report import Comparison, plot_comparison, render_report
from sim.analysis.paired import BASELINE, OUTCOMES, cost_table, paired_differences
from sim.batch import RunSpec, run_batch
from sim.batch.gather import gather, write_parquet
from sim.config import ConfigError
from sim.configure import load_config, presets

__all__ = ["Arm", "parse_arm", "compare_policies", "outcomes_of", "write_comparison", "TEACHING_OVERRIDES",
           "RUN_OVERRIDES"]

#: Defaults of the comparison: a teaching-size park, quick enough for a laptop.
TEACHING_OVERRIDES = ["scale=0.02", "years=6", "ecosystem.warmup_years=3"]
#: Added to every run of a comparison: the tables it needs, nothing more.
RUN_OVERRIDES = ["output.plots=false", "output.firm_years=false", "output.progress=off"]
#: The tables each run keeps on disk (the outcomes are computed from all of them in the worker).
RUN_TABLES = ["timeseries", "policy_accounts"]



# --------------------------------------------------------------------------------------------
# Arms
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One arm of the comparison: a label and the configuration overrides that make it."""

    label: str
    policies: tuple[str, ...] = ()
    params: tuple[tuple[str, str, str], ...] = ()  # (policy, key, value)

    @property
    def overrides(self) -> list[str]:
        if not self.policies:
            return []
        out = [f"policy=[{','.join(self.policies)}]"]
        out += [f"policy.{p}.{k}={v}" for p, k, v in self.params]
        return out


def parse_arm(spec) -> Arm:
    """``"a"``, ``"a+b"``, ``["a", "b"]`` or ``"a:key=value,key2=value2"`` (parameters apply to
    the first policy named, or to ``policy.key`` written as ``b.key=value``)."""
    if isinstance(spec, Arm):
        return spec
    if isinstance(spec, (list, tuple)):
        spec = "+".join(str(s) for s in spec)
    spec = str(spec).strip()
    if not spec:
        raise ConfigError("an empty policy arm; name a configuration of conf/policy/ (e.g. guidance_fund).")
    names_part, _, params_part = spec.partition(":")
    names = tuple(n.strip() for n in names_part.split("+") if n.strip())
    if len(set(names)) != len(names):
        raise ConfigError(f"policy arm {spec!r} names a policy twice.")
    params = []
    for item in filter(None, (s.strip() for s in params_part.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} is not key=value.")
        owner, dot, k = key.strip().rpartition(".")
        owner = owner if dot else names[0]
        if owner not in names:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} names policy {owner!r}, "
                              "which is not in the arm.")
        params.append((owner, k, value.strip()))
    shown = [f"{k}={v}" if len(names) == 1 else f"{p}.{k}={v}" for p, k, v in params]
    label = "+".join(names) + (f"[{','.join(shown)}]" if params else "")
    return Arm(label=label, policies=names, params=tuple(params))


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


def run_outcomes(tables: dict, summary: dict, rundir) -> dict[str, float]:
    """The batch runner's outcome function: :func:`outcomes_of` a run's tables."""
    return outcomes_of(tables)


def _slug(label: str) -> str:
    """A directory name for an arm label (its characters outside [A-Za-z0-9_.+=,-] become _)."""
    return re.sub(r"[^A-Za-z0-9_.+=,-]", "_", label)


def _arms(policies) -> list[Arm]:
    specs = list(presets("policy") if policies is None else policies)
    arms = [Arm(BASELINE)] + [parse_arm(s) for s in specs]
    labels = [a.label for a in arms]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"policy arm(s) {', '.join(dup)} listed twice.")
    slugs = [_slug(a) for a in labels]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"policy arms {', '.join(labels)} would share a run directory; name them differently.")
    return arms


def run_specs(base: list[str], arms: Sequence[Arm], seeds: Sequence[int]) -> list[RunSpec]:
    """One run per arm and seed: the base overrides, the arm's, the seed; labelled by arm."""
    return [RunSpec(f"{_slug(a.label)}/seed={s}", [*base, *a.overrides, f"seed={s}", *RUN_OVERRIDES],
                    {"arm": a.label}) for a in arms for s in seeds]


def compare_policies(
    base_overrides: Sequence[str] | None = None,
    policies: Iterable | None = None,
    seeds: int | Sequence[int] = 8,
    outdir=None,
    *,
    jobs: int = 1,
    plots: bool = True,
    progress: bool | None = None,
    resume: bool = True,
    log=None,
) -> Comparison:
    """Run the baseline and each policy arm over the seeds; return (and write) the tables.

    ``base_overrides``: configuration overrides shared by every run (default: the teaching-size
    :data:`TEACHING_OVERRIDES`). ``policies``: arms (see the module docstring; default: every
    configuration in conf/policy/). ``seeds``: a number R (seeds 0..R-1) or a list of seeds.
    ``jobs``: parallel runs (joblib; 1 runs them one after the other). ``outdir``: where the
    tables, plots, report and runs go (None: the runs go to a temporary directory and nothing
    is kept). Every configuration is checked before the first run; a mistake raises
    :class:`ConfigError`. Finished runs in ``outdir/runs`` are reused (``resume``).
    """
    base = list(TEACHING_OVERRIDES if base_overrides is None else base_overrides)
    arms = _arms(policies)
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("seeds: give at least one seed (two or more for intervals).")
    specs = run_specs(base, arms, seed_list)
    t0 = time.perf_counter()
    if log:
        log(f"{len(arms)} arms x {len(seed_list)} seeds = {len(specs)} runs, {jobs} at a time")
    keep = contextlib.nullcontext(Path(outdir)) if outdir is not None else None
    with keep or tempfile.TemporaryDirectory(prefix="compare_") as where:
        runs_dir = Path(where) / "runs"
        results = run_batch(specs, runs_dir, outcomes=run_outcomes, tables=RUN_TABLES, jobs=jobs, resume=resume,
                            progress=progress, desc="comparison runs")
        if outdir is not None:
            gather(runs_dir, timeseries=False)
    _check_runs(results, runs_dir)
    wall = time.perf_counter() - t0
    outcomes = _outcomes_table(results, [a.label for a in arms])
    diffs = paired_differences(outcomes)
    costs = cost_table(outcomes, diffs)
    cfg = load_config(base)
    setup = {
        "base_overrides": base,
        "arms": [{"label": a.label, "overrides": a.overrides} for a in arms],
        "seeds": seed_list,
        "scale": cfg.scale,
        "years": cfg.years,
        "start_year": cfg.ecosystem.start_year,
        "warmup_years": cfg.ecosystem.warmup_years,
        "government_budget_mcny_per_year": cfg.ecosystem.government.budget_mcny_per_year,
        "wall_seconds": round(wall, 2),
        "runs_reused": int(results["reused"].sum()),
        "jobs": jobs,
    }
    comp = Comparison(outcomes=outcomes, differences=diffs, costs=costs, setup=setup)
    if outdir is not None:
        write_comparison(comp, outdir, plots=plots)
    return comp


def _check_runs(results: pd.DataFrame, runs_dir: Path) -> None:
    bad = results[results["status"] != "completed"]
    if len(bad):
        first = bad.iloc[0]
        raise RuntimeError(f"{len(bad)} of {len(results)} runs did not complete (first: {first['run_id']}: "
                           f"{first['error']}); see {runs_dir}. Run the same comparison again to redo only those.")


def _outcomes_table(results: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """outcomes.parquet: one row per arm and seed, the outcomes in :data:`OUTCOMES` order."""
    outcomes = results[["arm", "seed", *OUTCOMES, "wall_seconds"]].copy()
    outcomes["arm"] = pd.Categorical(outcomes["arm"], categories=labels, ordered=True)
    outcomes = outcomes.sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)
    outcomes["arm"] = outcomes["arm"].astype(str)
    outcomes["seed"] = outcomes["seed"].astype("int64")
    for name in OUTCOMES:
        outcomes[name] = outcomes[name].astype(float)
    return outcomes


def write_comparison(comp: Comparison, outdir, *, plots: bool = True) -> Path:
    """Write the comparison's tables, ``comparison.json``, the plots and ``report.md`` into ``outdir``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    write_parquet(comp.outcomes, outdir / "outcomes.parquet")
    write_parquet(comp.differences, outdir / "differences.parquet")
    write_parquet(comp.costs, outdir / "costs.parquet")
    (outdir / "comparison.json").write_text(json.dumps(comp.setup, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
    if plots:
        plot_comparison(outdir)
    (outdir / "report.md").write_text(render_report(outdir), encoding="utf-8")
    comp.outdir = outdir
    return outdir

"""Validation of a preset against the report figures: run R seeds, compute every target, write a report.

    from sim.validation import validate
    result = validate("zhongguancun", seeds=10, outdir="outputs/validation/zhongguancun")
    result.targets        # one row per target: reported, band, simulated mean and interval, pass/miss

The command line is ``python -m experiments.validate ecosystem=NAME``. What is written into ``outdir``:

* ``report.md``: per target the reported figure, band, simulated mean, 95 % interval over
  seeds, 95 % confidence interval of the mean, distance and pass/miss, then the realism panels
  with their numbers;
* ``targets.csv``/``.parquet`` (the table above), ``target_values.csv``/``.parquet`` (every
  target for every seed), ``realism_stats.csv``/``.parquet`` (every statistic for every seed),
  ``realism_summary.csv`` (mean and interval over seeds);
* ``targets.png`` and the realism plots with their data (``size_ccdf``, ``growth_rates``,
  ``survival``, ``time_to_stage``, ``vc_multiples``: a PNG and a CSV each).

A target **passes** when the mean of its simulated values over the seeds lies inside its
tolerance band; the 95 % interval over seeds shows how much a single run would scatter.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.stats import t as student_t

from sim.batch import RunSpec, run_batch
from sim.batch.tabledoc import Col, FileDoc
from sim.compose import CONF_DIR, is_preset_file, load_config, preset_file, preset_name, presets
from sim.config import Config, ConfigError
from sim.validation.realism import EXTERNAL_REFERENCES, make_panels, run_samples, run_stats
from sim.validation.registry import Registry, Target, band_distance, evaluate_all, load_registry

__all__ = ["RunPlan", "plan_runs", "seed_outcomes", "read_samples", "run_seeds", "summarize_targets", "validate",
           "ValidationResult", "VALIDATION_FILES"]

RUN_OUTPUT_OVERRIDES = ["output.plots=false", "output.progress=off", "output.firm_years=true"]
#: Where a seed's run keeps its realism samples (sizes, growth, survival, ... as Parquet).
SAMPLES_DIR = "realism"
_ARRAY = "value"


#: What a validation writes (docs/outputs.md).
VALIDATION_FILES = (
    FileDoc("targets.csv, targets.parquet", "Every target of the preset against the runs.", "one per target", (
        Col("target", "string", "", "The target's name (docs/validation.md)."),
        Col("description", "string", "", "What the figure is."),
        Col("presets", "string", "", "The presets it applies to, comma-separated."),
        Col("date", "string", "", "The year or years it is dated."),
        Col("kind", "string", "", "stock, flow, ratio or duration."),
        Col("unit", "string", "", "The target's unit (the unit of reported, band and simulated values)."),
        Col("reported", "string", "", "The reported figure as the source gives it."),
        Col("reported_low", "float", "unit", "Lower end of the reported figure (equal to the upper end for a value)."),
        Col("reported_high", "float", "unit", "Upper end of the reported figure."),
        Col("band_low", "float", "unit", "Lower edge of the tolerance band."),
        Col("band_high", "float", "unit", "Upper edge of the tolerance band."),
        Col("seeds", "integer", "seeds", "Seeds run."),
        Col("values", "integer", "seeds", "Seeds that gave a value."),
        Col("mean", "float", "unit", "Mean simulated value (counts divided by scale: at full scale)."),
        Col("sd", "float", "unit", "Standard deviation over seeds."),
        Col("seed_q025", "float", "unit", "2.5th percentile over seeds."),
        Col("seed_q975", "float", "unit", "97.5th percentile over seeds."),
        Col("mean_ci_low", "float", "unit", "Lower end of the 95 % t-interval of the mean."),
        Col("mean_ci_high", "float", "unit", "Upper end of the 95 % t-interval of the mean."),
        Col("distance", "float", "band units", "How far the mean lies outside the reported figure (0 inside, 1 at the "
            "band's edge)."),
        Col("sign", "string", "", "negative or positive for a sign-only target (empty otherwise)."),
        Col("input_check", "bool", "", "The figure is also an input of the preset (left out of the evidence score)."),
        Col("status", "string", "", "pass (mean inside the band; for a sign-only target also the 95 % interval of "
            "the mean strictly on its side of zero), miss, or n/a (not computable)."),
        Col("reason", "string", "", "Why a target is not computable, or why some seeds gave no value."),
        Col("function", "string", "", "The function computing the simulated value."),
        Col("source", "string", "", "The seed file and lines (or external source) of the figure."),
        Col("digest", "string", "", "The section of report-figures.md."),
    )),
    FileDoc("target_values.csv, target_values.parquet", "Every target for every seed.", "one per seed and target", (
        Col("seed", "int64", "", "The seed."),
        Col("target", "string", "", "The target."),
        Col("value", "float64", "target's unit", "The simulated value (NaN if not computable)."),
        Col("reason", "string", "", "Why there is no value; empty otherwise."),
    )),
    FileDoc("realism_stats.csv, realism_stats.parquet", "Every realism statistic for every seed.",
            "one per seed and statistic", (
                Col("seed", "int64", "", "The seed."),
                Col("statistic", "string", "", "panel.statistic, e.g. size.employees.hill_alpha_top10, "
                    "survival.km_5y (share), vc.loss_share (share), to_unicorn.median (years); report.md says which."),
                Col("value", "float64", "statistic's unit", "Its value in that run."),
            )),
    FileDoc("realism_summary.csv", "The realism statistics over the seeds.", "one per statistic", (
        Col("statistic", "string", "", "As in realism_stats."),
        Col("seeds", "integer", "seeds", "Seeds run."),
        Col("values", "integer", "seeds", "Seeds that gave a value."),
        Col("mean", "float", "statistic's unit", "Mean over seeds."),
        Col("q025", "float", "statistic's unit", "2.5th percentile over seeds."),
        Col("q975", "float", "statistic's unit", "97.5th percentile over seeds."),
    )),
    FileDoc("report.md, targets.png", "The validation report, and every target on one axis in band units."),
    FileDoc("size_ccdf, growth_rates, survival, time_to_stage, vc_multiples (.png, .csv)", "The realism panels and "
            "the data behind each plot (survival_km.csv: months, survival, at_risk, events, years; "
            "vc_multiples_hist.csv and vc_concentration.csv for the VC panel)."),
    FileDoc("runs/seed=<n>/", "Each seed's run: run_status.json, summary.json, outcomes.json (target values and "
            "realism statistics) and realism/*.parquet (the samples behind the panels); every table with --keep-runs."),
)


# --------------------------------------------------------------------------------------------
# Planning the runs
# --------------------------------------------------------------------------------------------


@dataclass
class RunPlan:
    """What to run for a preset and a set of targets: the configuration (seed replaced per run)."""

    preset: str
    cfg: Config
    seeds: list[int]
    targets: list[Target]
    overrides: list[str]
    unavailable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def window(self) -> tuple[int, int]:
        s = self.cfg.ecosystem.start_year
        return s, s + self.cfg.years - 1


def _keys(overrides: Sequence[str]) -> dict[str, str]:
    out = {}
    for o in overrides:
        k, sep, v = o.partition("=")
        if sep:
            out[k.lstrip("+~")] = v
    return out


def _seed_list(seeds, default: int, seed_start: int) -> list[int]:
    if seeds is None:
        seeds = default
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ConfigError(f"seeds={seeds}: give at least one seed")
        return list(range(seed_start, seed_start + int(seeds)))
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"seeds={seeds}: give distinct non-negative seeds")
    return seeds


def check_preset(preset: str) -> None:
    """ConfigError naming the available presets if ``conf/ecosystem/<preset>.yaml`` does not exist; a
    preset file of one's own (``path/to/my_park.yaml``) is checked like a built-in preset."""
    if is_preset_file(preset):
        preset_file(preset)
        return
    available = presets("ecosystem")
    if preset not in available:
        hint = difflib.get_close_matches(preset, available, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(f"Unknown ecosystem preset {preset!r}.{extra} Available presets (conf/ecosystem/): "
                          f"{', '.join(available)}, or the path of a preset file of your own (ending in .yaml).")


def plan_runs(
    preset: str,
    targets: Sequence[Target],
    *,
    overrides: Sequence[str] = (),
    scale: float | None = None,
    seeds=None,
    seed_start: int = 0,
    registry: Registry | None = None,
    settings_of: str | None = None,
) -> RunPlan:
    """Compose the configuration for validating ``preset`` on ``targets``.

    * ``ecosystem=<preset>``; the targets' ``config`` requirements (for example the gazelle
      definition their figure uses) unless an override sets the same key;
    * the policies the targets need, as ``policy=[...]``, if their plug-ins exist
      (``conf/policy/<name>.yaml``); otherwise those targets are marked unavailable;
    * ``scale``: the override ``scale=``, else the argument, else the preset's run settings;
    * ``years``: the override ``years=``, else just long enough for the observed window to
      reach the latest dated target. A target dated before ``ecosystem.start_year`` is marked
      unavailable (with the override that would fix it).
    """
    check_preset(preset)
    registry = registry or load_registry()
    settings = registry.settings(settings_of or preset)
    user = list(overrides)
    ukeys = _keys(user)
    if "ecosystem" in ukeys and ukeys["ecosystem"] != preset:
        raise ConfigError(f"ecosystem={ukeys['ecosystem']} in the overrides contradicts the preset {preset!r}")
    if "seed" in ukeys:
        raise ConfigError("seed= cannot be overridden here: the seeds are chosen with the seeds argument (--seeds)")
    unavailable: dict[str, str] = {}
    notes: list[str] = []
    extra: list[str] = []
    wanted: dict[str, tuple[object, str]] = {}
    for t in targets:
        for key, value in t.config.items():
            if key in ukeys:
                continue
            if key in wanted and wanted[key][0] != value:
                notes.append(f"targets {wanted[key][1]} and {t.name} need different {key}; the run uses {value!r}")
            wanted[key] = (value, t.name)
    policies: list[str] = []
    for t in targets:
        for p in t.policies:
            if not (CONF_DIR / "policy" / f"{p}.yaml").is_file():
                unavailable[t.name] = (
                    f"needs the policy plug-in {p!r} (conf/policy/{p}.yaml, issue 4), which does not exist yet"
                )
            elif p not in policies:
                policies.append(p)
    if policies and "policy" not in ukeys:
        extra.append("policy=[" + ",".join(policies) + "]")
    for key, (value, _) in wanted.items():
        extra.append(f"{key}={value}")
    if "scale" not in ukeys:
        extra.append(f"scale={scale if scale is not None else settings.scale}")
    base = [f"ecosystem={preset}", *extra, *RUN_OUTPUT_OVERRIDES]
    cfg0 = load_config(base + user)
    start = cfg0.ecosystem.start_year
    dated = [t for t in targets if t.date is not None and t.name not in unavailable]
    for t in dated:
        if t.date[0] < start:
            unavailable[t.name] = (
                f"dated {t.date_text}, before the window opens in {start}; run with ecosystem.start_year={t.date[0]} "
                "to compare it"
            )
    if "years" in ukeys:
        final = base + user
    else:
        ends = [t.date[1] for t in dated if t.name not in unavailable]
        years = max(ends) - start + 1 if ends else cfg0.years
        final = base + user + [f"years={max(1, years)}"]
    cfg = load_config(final)
    last = start + cfg.years - 1
    for t in dated:
        if t.name not in unavailable and t.date[1] > last:
            unavailable[t.name] = f"dated {t.date_text}, after the window closes in {last}"
    return RunPlan(
        preset=preset,
        cfg=cfg,
        seeds=_seed_list(seeds, settings.seeds, seed_start),
        targets=list(targets),
        overrides=final,
        unavailable=unavailable,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def seed_outcomes(tables: dict, summary: dict, rundir, *, targets: tuple[Target, ...], realism: bool = True) -> dict:
    """The batch runner's outcome function for one seed: every target's value (and why it is
    missing), the realism statistics, and the realism samples written to ``rundir/realism/``."""
    out: dict = {}
    for name, (value, reason) in evaluate_all(targets, tables, summary).items():
        out[f"target:{name}"] = value
        out[f"reason:{name}"] = reason or ""
    if realism:
        samples = run_samples(tables, summary, seed=int(summary["seed"]))
        out.update({f"stat:{k}": v for k, v in run_stats(samples).items()})
        samples.pop("growth_all", None)
        _write_samples(Path(rundir) / SAMPLES_DIR, samples)
    return out


def _write_samples(where: Path, samples: dict) -> None:
    where.mkdir(parents=True, exist_ok=True)
    for key, value in samples.items():
        frame = value if isinstance(value, pd.DataFrame) else pd.DataFrame({_ARRAY: np.asarray(value)})
        frame.to_parquet(where / f"{key}.parquet", index=False)


def read_samples(rundir) -> dict:
    """The realism samples a seed's run left in ``rundir/realism/`` (see :func:`seed_outcomes`)."""
    out = {}
    for path in sorted((Path(rundir) / SAMPLES_DIR).glob("*.parquet")):
        frame = pd.read_parquet(path)
        out[path.stem] = frame[_ARRAY].to_numpy() if list(frame.columns) == [_ARRAY] else frame
    return out


def run_seeds(cfg: Config, seeds: Sequence[int], targets: Sequence[Target], runs_dir, *, n_jobs: int = 1,
              realism: bool = True, keep_tables: bool = False, overrides: Sequence[str] = (),
              progress: bool | None = None, desc: str = "validation runs", note=None) -> list[dict]:
    """Run ``cfg`` at every seed into ``runs_dir/seed=<s>`` with the batch runner (resumable).

    Returns one record per seed: ``seed``, ``values`` (target name -> (value, reason)),
    ``wall`` (seconds), and with ``realism`` its ``stats`` and ``samples``. ``keep_tables``
    writes every table of each run (else only its summary, status and outcomes). A run that
    fails raises RuntimeError naming it (the finished ones are kept for the next attempt). ``note``:
    called with one line when finished runs are reused (:func:`sim.batch.run_batch`).
    """
    specs = [RunSpec(f"seed={s}", [*overrides, f"seed={s}"], {"seed_label": int(s)},
                     dataclasses.replace(cfg, seed=int(s))) for s in seeds]
    fn = functools.partial(seed_outcomes, targets=tuple(targets), realism=realism)
    res = run_batch(specs, runs_dir, outcomes=fn, tables=keep_tables, jobs=n_jobs, progress=progress, desc=desc,
                    note=note)
    bad = res[res["status"] != "completed"]
    if len(bad):
        first = bad.iloc[0]
        raise RuntimeError(f"{len(bad)} of {len(res)} runs did not complete (first: {first['run_id']}: "
                           f"{first['error']}); see {runs_dir}. Run again to redo only those.")
    out = []
    for _, row in res.iterrows():
        rec = {"seed": int(row["seed"]), "wall": row["wall_seconds"],
               "values": {t.name: (_number(row.get(f"target:{t.name}")), row.get(f"reason:{t.name}") or "")
                          for t in targets}}
        if realism:
            rec["stats"] = {k[5:]: _number(v) for k, v in row.items() if str(k).startswith("stat:")}
            rec["samples"] = read_samples(Path(runs_dir) / row["run_id"])
        out.append(rec)
    return out


def _number(value) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _t975(df: int) -> float:
    return float(student_t.ppf(0.975, df)) if df > 0 else math.nan


def summarize_targets(targets: Sequence[Target], values: pd.DataFrame,
                      unavailable: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per target from per-seed values (columns seed, target, value, reason)."""
    unavailable = unavailable or {}
    rows = []
    for t in targets:
        v = values[values["target"] == t.name]
        x = v["value"].to_numpy(float)
        ok = x[np.isfinite(x)]
        reason = unavailable.get(t.name, "")
        if not reason and ok.size == 0:
            reasons = [r for r in v["reason"] if r]
            reason = reasons[0] if reasons else "no value"
        n = ok.size
        mean = float(ok.mean()) if n else math.nan
        sd = float(ok.std(ddof=1)) if n > 1 else math.nan
        half = _t975(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
        q = np.percentile(ok, [2.5, 97.5]) if n else [math.nan, math.nan]
        # A sign-only target passes only if the 95 % interval of the mean excludes zero on its side
        # (with one seed there is no interval, and it cannot pass).
        signed_ok = t.sign is None or (n > 1 and t.excludes_zero(mean - half, mean + half))
        status = "n/a" if (n == 0 or t.name in unavailable) else (
            "pass" if t.in_band(mean) and signed_ok else "miss")
        rows.append(
            {
                "target": t.name,
                "description": t.description,
                "presets": ",".join(t.presets),
                "date": t.date_text,
                "kind": t.kind,
                "unit": t.unit,
                "reported": t.reported_text,
                "reported_low": t.reported_low,
                "reported_high": t.reported_high,
                "band_low": t.band[0],
                "band_high": t.band[1],
                "seeds": int(len(v)),
                "values": int(n),
                "mean": mean,
                "sd": sd,
                "seed_q025": float(q[0]),
                "seed_q975": float(q[1]),
                "mean_ci_low": mean - half if n > 1 else math.nan,
                "mean_ci_high": mean + half if n > 1 else math.nan,
                "distance": band_distance(t, mean),
                "sign": t.sign or "",
                "input_check": bool(t.input_check),
                "status": status,
                "reason": reason if status == "n/a" else (
                    "; ".join(sorted({r for r in v["reason"] if r})) if n < len(v) else ""),
                "function": t.function,
                "source": t.source.get("seed") or t.source.get("external", ""),
                "digest": t.source.get("digest", ""),
            }
        )
    return pd.DataFrame(rows)


def _values_frame(results: list[dict], targets: Sequence[Target]) -> pd.DataFrame:
    rows = []
    for r in results:
        for t in targets:
            value, reason = r["values"][t.name]
            rows.append({"seed": r["seed"], "target": t.name, "value": value, "reason": reason})
    return pd.DataFrame(rows, columns=["seed", "target", "value", "reason"])


def _stats_frames(results: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"seed": r["seed"], "statistic": k, "value": v} for r in results for k, v in r.get("stats", {}).items()]
    per_seed = pd.DataFrame(rows, columns=["seed", "statistic", "value"])
    out = []
    for stat, g in per_seed.groupby("statistic", sort=False):
        x = g["value"].to_numpy(float)
        x = x[np.isfinite(x)]
        out.append(
            {
                "statistic": stat,
                "seeds": int(len(g)),
                "values": int(x.size),
                "mean": float(x.mean()) if x.size else math.nan,
                "q025": float(np.percentile(x, 2.5)) if x.size else math.nan,
                "q975": float(np.percentile(x, 97.5)) if x.size else math.nan,
            }
        )
    return per_seed, pd.DataFrame(out, columns=["statistic", "seeds", "values", "mean", "q025", "q975"])


# --------------------------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------------------------


@dataclass
class ValidationResult:
    preset: str
    plan: RunPlan
    targets: pd.DataFrame
    values: pd.DataFrame
    realism_stats: pd.DataFrame
    realism_summary: pd.DataFrame
    outdir: Path | None
    wall_seconds: float

    @property
    def passed(self) -> int:
        return int((self.targets["status"] == "pass").sum())

    @property
    def missed(self) -> int:
        return int((self.targets["status"] == "miss").sum())

    @property
    def evidence(self) -> pd.DataFrame:
        """The evidence targets: every target but the input checks (a figure that is also an input)."""
        return self.targets[~self.targets["input_check"].astype(bool)]

    @property
    def evidence_passed(self) -> int:
        return int((self.evidence["status"] == "pass").sum())


def validate(
    preset: str,
    seeds=None,
    overrides: Sequence[str] = (),
    outdir=None,
    *,
    scale: float | None = None,
    seed_start: int = 0,
    targets: Sequence[str] | None = None,
    targets_of: str | None = None,
    n_jobs: int = 1,
    keep_runs: bool = False,
    registry: Registry | None = None,
    command: str | None = None,
    progress: bool | None = None,
    log=None,
) -> ValidationResult:
    """Validate ``preset``: run the seeds, compute every applicable target, write the report.

    ``seeds``: a number of seeds (``seed_start``, ``seed_start + 1``, ...) or a list of seeds;
    default from the preset's run settings (``conf/targets/*.yaml``, ``runs``). ``overrides``:
    Hydra-style ``key=value`` overrides of the run configuration. ``targets``: names to restrict
    to (default: every target whose ``presets`` lists ``preset``, or ``targets_of`` when given;
    a preset ``<name>_calibrated`` without targets of its own uses those of ``<name>``).
    ``outdir``: where to write the report, tables and plots (nothing is kept when None). Each
    seed runs into ``outdir/runs/seed=<n>`` through the batch runner (status, summary, target
    values, realism samples), so a validation stopped part-way resumes where it stopped;
    ``keep_runs`` also keeps every table of each run there. ``n_jobs``: parallel runs;
    ``progress``: a progress bar (None: on a terminal); ``log``: called with a line saying so
    when a validation resumes.
    """
    t0 = time.perf_counter()
    check_preset(preset)
    name = preset_name(preset)  # a preset file's own name (its stem by default)
    registry = registry or load_registry()
    source = targets_of or name
    if targets_of is None and not registry.for_preset(name) and name.endswith("_calibrated"):
        source = name.removesuffix("_calibrated")
    chosen = registry.for_preset(source) if targets is None else [registry.get(n) for n in targets]
    if not chosen:
        extra = (f" (the preset file {preset} is named {name!r}: compare it with another preset's figures with "
                 "--targets-of PRESET)") if name != preset else ""
        raise ConfigError(f"no target in conf/targets/ applies to the preset {name!r}{extra}; presets with targets: "
                          f"{', '.join(registry.presets())}")
    plan = plan_runs(preset, chosen, overrides=overrides, scale=scale, seeds=seeds, seed_start=seed_start,
                     registry=registry, settings_of=source)
    if source != name:
        plan.notes.append(f"targets and run settings of the preset {source!r}")
    with tempfile.TemporaryDirectory(prefix="validate_") as scratch:
        runs_dir = Path(outdir) / "runs" if outdir is not None else Path(scratch)
        results = run_seeds(plan.cfg, plan.seeds, chosen, runs_dir, n_jobs=n_jobs, keep_tables=keep_runs,
                            overrides=plan.overrides, progress=progress, note=log)
    values = _values_frame(results, chosen)
    summary = summarize_targets(chosen, values, plan.unavailable)
    per_seed, realism_summary = _stats_frames(results)
    wall = time.perf_counter() - t0
    out = None
    if outdir is not None:
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        samples = {r["seed"]: r.get("samples", {}) for r in results}
        files = make_panels(samples, out, title=f"{preset}: {len(plan.seeds)} seeds, scale {plan.cfg.scale:g}")
        for name, df in (("targets", summary), ("target_values", values), ("realism_stats", per_seed)):
            df.to_csv(out / f"{name}.csv", index=False)
            df.to_parquet(out / f"{name}.parquet", index=False)
        realism_summary.to_csv(out / "realism_summary.csv", index=False)
        plot_targets(summary, out / "targets.png", title=f"{preset}: simulated vs reported")
        write_report(out / "report.md", plan, chosen, summary, realism_summary, files, wall=wall, command=command,
                     run_walls=[r.get("wall") for r in results])
    return ValidationResult(preset, plan, summary, values, per_seed, realism_summary, out, wall)


# --------------------------------------------------------------------------------------------
# Plot and Markdown
# --------------------------------------------------------------------------------------------


def _signed_distance(value: float, lo: float, hi: float, b0: float, b1: float) -> float:
    """Signed band distance: 0 inside the reported range, -1 and +1 at the band's edges."""
    if not math.isfinite(value):
        return math.nan
    if value > hi:
        return (value - hi) / (b1 - hi)
    if value < lo:
        return -(lo - value) / (lo - b0)
    return 0.0


def plot_targets(summary: pd.DataFrame, path: Path, *, title: str = "") -> Path:
    """One row per target on a common axis: signed distance in band units (0 = reported, ±1 = band edges)."""
    n = max(len(summary), 1)
    fig = Figure(figsize=(9, 1.6 + 0.42 * n), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ys = np.arange(len(summary))[::-1]
    ax.axvspan(-1, 1, color="#E3E3E3", zorder=0)
    ax.axvline(0, color="0.35", lw=1.2, zorder=1)
    lim = 2.0
    for y, (_, r) in zip(ys, summary.iterrows(), strict=False):
        if r["status"] == "n/a":
            ax.text(0.05, y, " not computable", va="center", fontsize=8, color="0.3", zorder=3)
            continue
        args = (r["reported_low"], r["reported_high"], r["band_low"], r["band_high"])
        color = "#2E7D32" if r["status"] == "pass" else "#C62828"
        m = _signed_distance(r["mean"], *args)
        a, b = _signed_distance(r["seed_q025"], *args), _signed_distance(r["seed_q975"], *args)
        if math.isfinite(a) and math.isfinite(b):
            ax.plot([a, b], [y, y], "-", color=color, lw=2, zorder=3)
        ax.plot([m], [y], "o", color=color, zorder=4)
        lim = max(lim, *(abs(v) for v in (m, a, b) if math.isfinite(v)))
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(-lim * 1.3, lim * 1.3)
    ticks = [t for t in (-100, -30, -10, -3, -1, 0, 1, 3, 10, 30, 100) if abs(t) <= lim * 1.3]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_yticks(ys)
    ax.set_yticklabels(summary["target"].tolist(), fontsize=8)
    ax.set_ylim(-0.7, len(summary) - 0.3)
    ax.set_xlabel("distance from the reported figure in units of the tolerance band (grey: inside the band; symlog "
                  "axis)\ndot: simulated mean (green pass, red miss); line: 95 % of seeds", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


def _num(x, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    if unit == "share":
        return f"{100 * x:.2f} %"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def _range(a, b, unit: str = "") -> str:
    if not (math.isfinite(float(a)) and math.isfinite(float(b))):
        return "–"
    return f"{_num(a, unit)} – {_num(b, unit)}"


def _reported(r, unit: str) -> str:
    lo, hi = r["reported_low"], r["reported_high"]
    text = _num(lo, unit) if lo == hi else f"{_num(lo, unit)} – {_num(hi, unit)}"
    return text + (f" {unit}" if unit and unit != "share" else "")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(path: Path, plan: RunPlan, targets: Sequence[Target], summary: pd.DataFrame, realism: pd.DataFrame,
                 files: dict, *, wall: float, command: str | None = None, run_walls=None) -> Path:
    cfg = plan.cfg
    first, last = plan.window
    by = {t.name: t for t in targets}
    L: list[str] = []
    L.append(f"# Validation report: `{plan.preset}`\n")
    if command:
        L.append(f"Made with `{command}`.\n")
    where = plan.preset if is_preset_file(plan.preset) else f"conf/ecosystem/{plan.preset}.yaml"
    L.append(f"- Preset: `{where}` (`{cfg.ecosystem.name}`). Note: {cfg.ecosystem.note or '(none)'}")
    L.append(f"- Runs: {len(plan.seeds)} seeds ({', '.join(map(str, plan.seeds))}), scale {cfg.scale:g}, observed "
             f"window {first}–{last} ({cfg.years} years) after {cfg.ecosystem.warmup_years} warm-up years.")
    L.append(f"- Overrides: `{' '.join(plan.overrides)}`")
    L.append(f"- Gazelle definition: `{cfg.stages.gazelle_definition}`; unicorn: valuation ≥ "
             f"US${cfg.stages.unicorn_min_valuation_usd_bn:g} bn, ≤ {cfg.stages.unicorn_max_age_years:g} years old, "
             "unlisted.")
    walls = [w for w in (run_walls or []) if w]
    L.append(f"- Wall time: {wall:.0f} s in all" + (f"; {np.mean(walls):.1f} s per run." if walls else "."))
    for n in plan.notes:
        L.append(f"- Note: {n}")
    L.append("")
    L.append("Every simulated firm count is divided by the scale before it is compared (the figures are at scale 1); "
             "at scale s the seed-to-seed spread of a count is about 1/√s times what a full-scale run would show. A "
             "target **passes** when the mean over seeds lies inside its tolerance band. Sources and definitions are "
             "listed below the table and in `docs/validation.md`; seed paths are relative to `shared/`.\n")
    n_pass = int((summary["status"] == "pass").sum())
    n_miss = int((summary["status"] == "miss").sum())
    n_na = int((summary["status"] == "n/a").sum())
    L.append("## Targets\n")
    L.append(f"**{n_pass} pass, {n_miss} miss, {n_na} not computable** (of {len(summary)}).\n")
    L.append("| target | date | kind | reported | band | simulated mean | 95 % of seeds | 95 % CI of mean | distance "
             "| result |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for _, r in summary.iterrows():
        u = r["unit"]
        res = {"pass": "pass", "miss": "**miss**", "n/a": "not computable"}[r["status"]]
        L.append(
            f"| `{r['target']}` | {r['date']} | {r['kind']} | {_reported(r, u)} | {_num(r['band_low'], u)} – "
            f"{_num(r['band_high'], u)} | {_num(r['mean'], u)} | {_range(r['seed_q025'], r['seed_q975'], u)} | "
            f"{_range(r['mean_ci_low'], r['mean_ci_high'], u)} | {_num(r['distance'])} | {res} |"
        )
    L.append("")
    L.append("Distance: how far the mean lies outside the reported figure, in units of the band (0 inside the "
             "reported range, 1 at the band's edge). ![targets](targets.png)\n")
    na = summary[summary["status"] == "n/a"]
    if len(na):
        L.append("Not computable:\n")
        for _, r in na.iterrows():
            L.append(f"- `{r['target']}`: {r['reason']}")
        L.append("")
    partial = summary[(summary["status"] != "n/a") & (summary["reason"] != "")]
    for _, r in partial.iterrows():
        L.append(f"- `{r['target']}`: {r['values']} of {r['seeds']} seeds give a value ({r['reason']}).")
    L.append("### What each target is\n")
    for _, r in summary.iterrows():
        t = by[r["target"]]
        src = t.source.get("seed") or ""
        ext = t.source.get("external")
        where = f"`{src}`" if src else ""
        if ext:
            where += (", " if where else "") + f"external: {ext}"
        L.append(f"- **`{t.name}`**: {t.description}: {t.reported_text} ({t.kind}, {t.unit}, {t.date_text}). Source: "
                 f"{where}; {t.source.get('digest', '')}"
                 + (f' ("{t.source["quote"]}")' if t.source.get("quote") else "") + ".")
        params = f" with {t.params}" if t.params else ""
        L.append(f"  Model counterpart: {t.definition} Function `{t.function}`{params}.")
        date = f" Date: {t.date_note}" if t.date_note else ""
        note = f" Note: {t.note}" if t.note else ""
        L.append(f"  Band: {t.band_reason}{date}{note}")
    L.append("")

    stats = {r["statistic"]: r for _, r in realism.iterrows()}

    def row(label, key, unit=""):
        r = stats.get(key)
        if r is None:
            return f"| {label} | – | – |"
        return f"| {label} | {_num(r['mean'], unit)} | {_num(r['q025'], unit)} – {_num(r['q975'], unit)} |"

    L.append("## Realism checks\n")
    L.append("Regularities of firm demography and venture returns, from the same runs (mean over seeds and 95 % of "
             "seeds). They are not targets; references marked external come from outside the seed reports and are for "
             "orientation. Each plot's data is in the CSV file of the same name.\n")
    hdr = ["| statistic | mean | 95 % of seeds |", "|---|---|---|"]
    L.append("### Firm sizes\n")
    L += hdr + [row("live firms at the last year end", "size.employees.n"),
                row("median employees", "size.employees.median"),
                row("mean employees", "size.employees.mean"),
                row("99th percentile of employees", "size.employees.p99"),
                row("largest firm, employees", "size.employees.max"),
                row("tail exponent alpha, employees (Hill, top 10 %)", "size.employees.hill_alpha_top10"),
                row("median revenue (mcny/yr)", "size.revenue.median"),
                row("tail exponent alpha, revenue (Hill, top 10 %)", "size.revenue.hill_alpha_top10")]
    L.append(f"\n![size](size_ccdf.png)\n\nExternal: {EXTERNAL_REFERENCES['size']}\n")
    L.append("### Growth rates\n")
    L += hdr + [row("firm-year pairs", "growth.employees.n"),
                row("sd of annual log growth, employees", "growth.employees.sd"),
                row("excess kurtosis, employees (Laplace: 3)", "growth.employees.excess_kurtosis"),
                row("ΔAIC per obs (normal − Laplace), employees; > 0 favours Laplace",
                    "growth.employees.delta_aic_per_obs"),
                row("sd of annual log growth, revenue", "growth.revenue.sd"),
                row("excess kurtosis, revenue", "growth.revenue.excess_kurtosis"),
                row("ΔAIC per obs (normal − Laplace), revenue", "growth.revenue.delta_aic_per_obs")]
    L.append(f"\n![growth](growth_rates.png)\n\nExternal: {EXTERNAL_REFERENCES['growth']}\n")
    L.append("### Survival by age\n")
    L += hdr + [row("firms", "survival.firms"), row("failures", "survival.failures")] + [
        row(f"share not failed by age {y}", f"survival.km_{y}y", "share") for y in (1, 2, 3, 5, 7)]
    L.append(f"\n![survival](survival.png)\n\nExternal: {EXTERNAL_REFERENCES['survival']} (The model's survival counts "
             "failures only; exits by IPO or acquisition and graduation by age censor a firm's life.)\n")
    L.append("### Time from founding to gazelle and unicorn\n")
    L += hdr + [row("firms that became gazelles", "to_gazelle.n"), row("median years to gazelle", "to_gazelle.median"),
                row("fastest 5 % (p05, years)", "to_gazelle.p05"),
                row("firms that became unicorns", "to_unicorn.n"), row("median years to unicorn", "to_unicorn.median"),
                row("fastest 5 % (p05, years)", "to_unicorn.p05"), row("fastest (years)", "to_unicorn.min")]
    L.append(f"\n![time](time_to_stage.png)\n\n{EXTERNAL_REFERENCES['time_to_stage']}\n")
    L.append("### VC investment multiples\n")
    L += hdr + [row("VC positions", "vc.positions"), row("share with multiple < 1 (losses)", "vc.loss_share", "share"),
                row("share written off", "vc.writeoff_share", "share"),
                row("share at 10x or more", "vc.share_10x_or_more", "share"),
                row("share of value returned by the top decile", "vc.top_decile_value_share", "share"),
                row("pooled TVPI", "vc.tvpi"),
                row("realized positions (exited or written off)", "vc.realized_positions"),
                row("losses among realized positions", "vc.realized_loss_share", "share")]
    L.append(f"\n![vc](vc_multiples.png)\n\nExternal: {EXTERNAL_REFERENCES['vc']} Unrealized positions are valued at "
             "their last round or cost (positions.residual_value).\n")
    L.append("## Files\n")
    L.append("`targets.csv`/`.parquet` (this table), `target_values.csv`/`.parquet` (each seed), "
             "`realism_stats.csv`/`.parquet` (each statistic, each seed), `realism_summary.csv` (the realism tables "
             "above), and for each plot a CSV: "
             + ", ".join(f"`{n}`" for n in sorted(files) if n.endswith(".csv")) + ".\n")
    path.write_text("\n".join(L), encoding="utf-8")
    return path

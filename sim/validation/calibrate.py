"""Calibration of a preset by the method of simulated moments, with optuna's TPE sampler.

    from sim.validation.calibrate import ParamSpec, calibrate
    result = calibrate(
        "zhongguancun",
        params=[ParamSpec("ecosystem.funding.revenue_multiple", 2.0, 12.0)],
        targets=["zgc_new_unicorns_2024", "zgc_unicorn_stock_2019"],
        seeds=3, n_trials=40, outdir="outputs/calibration/zhongguancun",
    )

The command line is ``python -m experiments.calibrate``. How it works:

* **Moments and distance.** For a candidate parameter vector the preset is run with the same
  seeds as every other candidate (common random numbers: the differences between candidates
  are not drowned in seed noise). Each target's simulated value is the mean over those seeds;
  its distance is measured against the target's tolerance band
  (:func:`sim.validation.registry.band_loss_distance`: 0 anywhere inside the band, so the fit rewards
  being inside the band and not being at one number; outside it the distance from the reported figure
  in units of the band, :func:`~sim.validation.registry.band_distance`, at least 1 at the band's edge).
  The loss is the weighted mean of squared distances, weights from the targets' ``weight``;
  a target a candidate cannot compute (NaN) counts as distance ``MISSING_DISTANCE``.
* **Out-of-sample checks.** ``holdout`` targets (by default every other target of the preset)
  are computed for every candidate but never enter the loss; the report lists them separately.
* **Stop and resume.** Trials are stored in ``outdir/calibration.db`` (optuna RDB storage,
  SQLite); running again with the same ``outdir`` continues the study (``load_if_exists``) up
  to ``n_trials`` completed trials. Ctrl-C stops after marking the running trial failed, and the
  outputs are written from the trials completed so far. The study remembers its
  specification (parameters, targets, seeds, configuration) and refuses to resume with another.
  Every candidate's seeds run through the batch runner into ``outdir/runs/<hash of its
  values>/seed=<s>``; a trial that did not finish (Ctrl-C, a killed process) is asked again
  with the same values when the study resumes, and its seeds that had finished are reused.
* **Outputs.** ``trials.csv`` (every trial: parameters, loss, holdout loss, every target's
  mean), ``<preset>_calibrated.yaml`` (the preset with the best parameters; with
  ``install=True`` also copied to ``conf/ecosystem/``), ``calibration_report.md`` and
  ``loss.png``.

Only ``ecosystem.*`` keys can be calibrated, since the result is written as an ecosystem preset.
The preset is a name in ``conf/ecosystem/`` or a preset file of one's own
(``ecosystem=path/to/my_park.yaml``, :func:`sim.compose.preset_file`), which may be fitted to any
preset's targets.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.batch.tabledoc import Col, FileDoc
from sim.compose import CONF_DIR, _lookup, is_preset_file, preset_name
from sim.config import Config, ConfigError
from sim.config import validate as validate_config
from sim.validation.registry import Registry, Target, band_distance, band_loss_distance, load_registry
from sim.validation.report import check_preset, plan_runs, run_seeds

__all__ = ["ParamSpec", "calibrate", "CalibrationResult", "loss_of", "set_keys", "MISSING_DISTANCE",
           "CALIBRATION_FILES"]

MISSING_DISTANCE = 10.0
STORAGE_FILE = "calibration.db"
#: Where each candidate's seeds run: ``runs/<hash of the parameter values>/seed=<s>`` (resumable).
RUNS_DIR = "runs"


#: What a calibration writes (docs/outputs.md).
CALIBRATION_FILES = (
    FileDoc("trials.csv", "Every trial of the study.", "one per trial", (
        Col("trial", "integer", "", "optuna's trial number."),
        Col("state", "string", "", "COMPLETE, FAIL (parameters not allowed, or interrupted), RUNNING or WAITING."),
        Col("loss", "float", "band units²", "Weighted mean squared band distance of the fitted targets."),
        Col("loss_holdout", "float", "band units²", "The same over the held-out targets (not fitted)."),
        Col("initial", "bool", "", "The trial evaluates the starting values."),
        Col("<parameter key>", "float", "key's unit", "The value tried for each calibrated key."),
        Col("value:<target>", "float", "target's unit", "Each target's mean over the seeds."),
    )),
    FileDoc("calibration.db", "optuna's study (SQLite): the trials, and the specification the study was made with."),
    FileDoc("<preset>_calibrated.yaml, calibration_report.md, loss.png", "The calibrated preset, the report and the "
            "loss of every trial."),
    FileDoc("runs/<hash>/seed=<n>/", "Each candidate's seeds (as a validation's runs), by a hash of its values."),
)


@dataclass(frozen=True)
class ParamSpec:
    """A parameter to fit: dotted key, range, log scale, integer."""

    key: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    @classmethod
    def parse(cls, text: str) -> ParamSpec:
        """``key=low:high`` with optional ``:log`` and ``:int`` flags (``ecosystem.vc.fund_size_mcny=200:2000:log``)."""
        key, sep, rest = text.partition("=")
        parts = rest.split(":") if sep else []
        if not sep or len(parts) < 2 or set(parts[2:]) - {"log", "int"}:
            raise ConfigError(f"--param {text!r}: write key=low:high, optionally :log and/or :int (e.g. "
                              "ecosystem.vc.fund_size_mcny=200:2000:log)")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise ConfigError(f"--param {text!r}: low and high must be numbers") from None
        return cls(key.strip(), low, high, "log" in parts[2:], "int" in parts[2:])

    def check(self) -> None:
        if not self.key.startswith("ecosystem."):
            raise ConfigError(f"parameter {self.key!r}: only ecosystem.* keys can be calibrated (the result is an "
                              "ecosystem preset)")
        field, tp = _lookup(self.key)
        if tp not in (int, float):
            raise ConfigError(f"parameter {self.key!r} is not a number; calibrate numeric keys only")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(f"parameter {self.key!r}: range {self.low:g}..{self.high:g} must have low < high")
        if self.log and self.low <= 0:
            raise ConfigError(f"parameter {self.key!r}: a log-scale range needs low > 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _get_key(cfg: Config, key: str):
    obj = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def set_keys(cfg: Config, values: dict) -> Config:
    """A copy of ``cfg`` with dotted keys set, validated (ConfigError if the result is not allowed)."""
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        *path, last = key.split(".")
        obj = cfg
        for part in path:
            obj = getattr(obj, part)
        current = getattr(obj, last)
        whole = isinstance(current, int) and not isinstance(current, bool)
        setattr(obj, last, int(round(value)) if whole else float(value))
    return validate_config(cfg)


def loss_of(targets: Sequence[Target], means: dict[str, float]) -> float:
    """Weighted mean of squared distances to the tolerance bands (:func:`band_loss_distance`: 0 inside
    a band, at least 1 outside; NaN values count as MISSING_DISTANCE)."""
    num = den = 0.0
    for t in targets:
        d = band_loss_distance(t, means.get(t.name, math.nan))
        if not math.isfinite(d):
            d = MISSING_DISTANCE
        num += t.weight * d * d
        den += t.weight
    return num / den if den > 0 else math.nan


def best_trial_index(complete: pd.DataFrame, targets: Sequence[Target]):
    """Index of the best completed trial: the lowest loss; among trials tied at it (several inside
    every band, loss 0), the one furthest inside its bands: the largest smallest margin
    ``1 - band_distance`` over the fitted targets, so the choice is the one seed noise is least
    likely to push out, not the one nearest the reported figures' centre of gravity."""
    best = complete["loss"].min()
    tied = complete[complete["loss"] <= best]
    if len(tied) == 1 or not targets:
        return tied.index[0]

    def margin(row) -> float:
        ds = [band_distance(t, float(row.get(f"value:{t.name}", math.nan))) for t in targets]
        return min((1.0 - d) if math.isfinite(d) else -math.inf for d in ds)

    return tied.apply(margin, axis=1).idxmax()


@dataclass
class CalibrationResult:
    preset: str
    params: list[ParamSpec]
    targets: list[str]
    holdout: list[str]
    trials: pd.DataFrame
    best_params: dict
    best_loss: float
    initial_loss: float | None
    preset_file: Path | None
    outdir: Path
    interrupted: bool = False


def calibrate(
    preset: str,
    params: Sequence[ParamSpec | str],
    targets: Sequence[str],
    *,
    holdout: Sequence[str] | None = None,
    outdir,
    seeds=3,
    seed_start: int = 0,
    n_trials: int = 30,
    scale: float | None = None,
    overrides: Sequence[str] = (),
    study_name: str | None = None,
    initial: str | dict | None = "preset",
    sampler_seed: int = 0,
    n_jobs: int = 1,
    timeout: float | None = None,
    install: bool = False,
    calibrated_name: str | None = None,
    registry: Registry | None = None,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
) -> CalibrationResult:
    """Fit ``params`` of ``preset`` to ``targets``; see the module docstring.

    ``initial="preset"`` evaluates the preset's own values first (so the report can compare
    the calibrated loss with the starting one); a dict gives other starting values; None
    starts with the sampler. ``n_trials`` is the total number of completed trials wanted in
    the study (a resumed study runs only the missing ones). ``timeout`` (seconds) stops
    starting new trials after that long. ``progress``: a bar over each trial's seeds (None: on
    a terminal).
    """
    log = log or (lambda _msg: None)
    registry = registry or load_registry()
    check_preset(preset)
    name = preset_name(preset)  # a preset file's own name (its stem by default)
    specs, calib, out = _check_spec(name, params, targets, holdout, registry, own=is_preset_file(preset))
    all_targets = calib + out
    plan = plan_runs(preset, all_targets, overrides=overrides, scale=scale, seeds=seeds, seed_start=seed_start,
                     registry=registry, settings_of=name)
    bad = [f"{t.name} ({plan.unavailable[t.name]})" for t in calib if t.name in plan.unavailable]
    if bad:
        raise ConfigError("cannot calibrate against target(s) the runs cannot compute: " + "; ".join(bad))
    if n_trials < 1:
        raise ConfigError(f"n_trials={n_trials}: give at least 1")
    start = _start_values(initial, specs, plan)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    study_name = study_name or f"{name}-calibration"
    spec = {"preset": preset, "params": [p.to_dict() for p in specs], "targets": [t.name for t in calib],
            "holdout": [t.name for t in out], "seeds": plan.seeds, "overrides": plan.overrides}
    study = _open_study(outdir, study_name, spec, start, sampler_seed, n_trials, log)
    run = functools.partial(_evaluate, plan=plan, targets=all_targets, runs_dir=outdir / RUNS_DIR, n_jobs=n_jobs,
                            progress=progress)
    interrupted = _run_trials(study, specs, calib, out, run, n_trials, timeout, log)
    return _finish(study, name, plan, specs, calib, out, outdir, study_name, calibrated_name, install, interrupted,
                   log)


def _check_spec(preset, params, targets, holdout, registry, own: bool = False
                ) -> tuple[list[ParamSpec], list[Target], list[Target]]:
    """The parameters, the targets to fit and the held-out ones, checked (ConfigError). A preset file of
    one's own (``own``) may be fitted to any preset's targets: the user names them."""
    specs = [p if isinstance(p, ParamSpec) else ParamSpec.parse(p) for p in params]
    if not specs:
        raise ConfigError("give at least one parameter to calibrate (--param key=low:high)")
    if len({p.key for p in specs}) != len(specs):
        raise ConfigError("a parameter is listed twice")
    for p in specs:
        p.check()
    calib = [registry.get(n) for n in targets]
    if not calib:
        raise ConfigError("give at least one calibration target (--targets name,...)")
    for t in calib:
        if preset not in t.presets and not own:
            raise ConfigError(f"target {t.name!r} applies to {', '.join(t.presets)}, not to {preset!r}")
    if holdout is None:
        out = [t for t in registry.for_preset(preset) if t.name not in {c.name for c in calib}]
    else:
        out = [registry.get(n) for n in holdout]
        clash = {t.name for t in out} & {t.name for t in calib}
        if clash:
            raise ConfigError(f"target(s) {', '.join(sorted(clash))} cannot be both calibrated and held out")
    return specs, calib, out


def _start_values(initial, specs: Sequence[ParamSpec], plan) -> dict | None:
    if initial == "preset":
        start = {p.key: float(_get_key(plan.cfg, p.key)) for p in specs}
    elif isinstance(initial, dict):
        start = {p.key: float(initial[p.key]) for p in specs if p.key in initial}
    else:
        return None
    for p in specs:
        v = start.get(p.key)
        if v is not None and not (p.low <= v <= p.high):
            raise ConfigError(f"the starting value {p.key}={v:g} is outside its range {p.low:g}..{p.high:g}; widen the "
                              "range or pass initial=None")
    return start


def _open_study(outdir: Path, study_name: str, spec: dict, start, sampler_seed: int, n_trials: int, log):
    """Create or load the study; a trial an earlier process left unfinished is asked again with the same values."""
    import optuna  # noqa: PLC0415 - the optional calibrate extra, imported only to calibrate
    from optuna.trial import TrialState  # noqa: PLC0415 - as above

    storage = f"sqlite:///{(outdir / STORAGE_FILE).resolve()}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=min(10, max(2, n_trials // 3)))
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize", sampler=sampler,
                                load_if_exists=True)
    stored = study.user_attrs.get("spec")
    wanted = json.loads(json.dumps(spec))
    if stored is None:
        study.set_user_attr("spec", wanted)
        if start:
            study.enqueue_trial(start, user_attrs={"initial": True})
    elif stored != wanted:
        diff = [k for k in spec if stored.get(k) != wanted[k]]
        raise ConfigError(f"the study {study_name!r} in {outdir / STORAGE_FILE} was made with another "
                          f"{', '.join(diff)}; use another output directory (or study name) for a new calibration")
    for tr in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(tr.number, state=TrialState.FAIL)  # left by a process that was killed
        log(f"trial {tr.number} was left running by an earlier process: marked failed")
    requeued = set(study.user_attrs.get("requeued", []))
    for tr in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if tr.number in requeued or not tr.params or "error" in tr.user_attrs:
            continue
        study.enqueue_trial(dict(tr.params), user_attrs={"retry_of": tr.number,
                                                         "initial": bool(tr.user_attrs.get("initial", False))})
        requeued.add(tr.number)
        log(f"trial {tr.number} did not finish: its values are tried again (finished seeds are reused)")
    study.set_user_attr("requeued", sorted(requeued))
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if done:
        log(f"resuming study {study_name!r}: {done} completed trial(s) in {outdir / STORAGE_FILE}")
    return study


def runs_key(values: dict) -> str:
    """The directory (below ``runs/``) of a candidate's seeds: a hash of its parameter values."""
    text = json.dumps({k: repr(float(v)) for k, v in sorted(values.items())})
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _evaluate(values: dict, *, plan, targets, runs_dir: Path, n_jobs: int, progress) -> dict[str, float]:
    """The mean over the plan's seeds of every target for the parameter ``values`` (runs resumable)."""
    cfg = set_keys(plan.cfg, values)
    results = run_seeds(cfg, plan.seeds, targets, runs_dir / runs_key(values), n_jobs=n_jobs, realism=False,
                        overrides=[*plan.overrides, *(f"{k}={v!r}" for k, v in values.items())], progress=progress,
                        desc="seeds of the trial")
    means = {}
    for t in targets:
        x = np.array([r["values"][t.name][0] for r in results], dtype=float)
        x = x[np.isfinite(x)]
        means[t.name] = float(x.mean()) if x.size else math.nan
    return means


def _run_trials(study, specs, calib, out, run, n_trials: int, timeout, log) -> bool:
    """Ask, evaluate and tell trials until ``n_trials`` are complete; True if interrupted."""
    import optuna  # noqa: PLC0415 - the optional calibrate extra, imported only to calibrate
    from optuna.trial import TrialState  # noqa: PLC0415 - as above

    dists = {
        p.key: (optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log) if p.integer
                else optuna.distributions.FloatDistribution(p.low, p.high, log=p.log))
        for p in specs
    }
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    t0 = time.monotonic()
    while done < n_trials:
        if timeout is not None and time.monotonic() - t0 > timeout:
            log(f"timeout of {timeout:g} s reached")
            break
        trial = study.ask(dists)
        values = dict(trial.params)
        try:
            means = run(values)
        except ConfigError as exc:
            trial.set_user_attr("error", str(exc))
            study.tell(trial, state=TrialState.FAIL)
            log(f"trial {trial.number}: parameters not allowed ({exc})")
            continue
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAIL)
            log("interrupted: the running trial is marked failed and will be tried again with the same values; run "
                "again with the same output directory to resume")
            return True
        loss = loss_of(calib, means)
        trial.set_user_attr("means", means)
        trial.set_user_attr("loss_holdout", loss_of(out, means) if out else math.nan)
        study.tell(trial, loss)
        done += 1
        shown = ", ".join(f"{k.split('.')[-1]}={v:.4g}" for k, v in values.items())
        log(f"trial {trial.number}: loss {loss:.4g} (best {study.best_value:.4g}); {shown}")
    return False


def _finish(study, preset, plan, specs, calib, out, outdir: Path, study_name, calibrated_name, install,
            interrupted: bool, log) -> CalibrationResult:
    """Write trials.csv, the calibrated preset, loss.png and the report from the completed trials."""
    trials = trials_frame(study, specs, calib + out)
    complete = trials[trials["state"] == "COMPLETE"]
    if complete.empty:
        if interrupted:  # stopped before the first trial completed: nothing to report yet, all to resume
            raise KeyboardInterrupt
        raise ConfigError("no trial completed; nothing to report")
    best_row = complete.loc[best_trial_index(complete, calib)]
    best_params = {p.key: (int(best_row[p.key]) if p.integer else float(best_row[p.key])) for p in specs}
    init_rows = complete[complete["initial"]]
    initial_loss = float(init_rows["loss"].iloc[0]) if len(init_rows) else None
    trials.to_csv(outdir / "trials.csv", index=False)
    name = calibrated_name or f"{preset}_calibrated"
    best_cfg = set_keys(plan.cfg, best_params)
    preset_text = render_preset(best_cfg, name, preset, specs, best_params, calib, float(best_row["loss"]), plan)
    preset_file = outdir / f"{name}.yaml"
    preset_file.write_text(preset_text, encoding="utf-8")
    if install:
        (CONF_DIR / "ecosystem" / f"{name}.yaml").write_text(preset_text, encoding="utf-8")
        log(f"installed conf/ecosystem/{name}.yaml")
    plot_loss(complete, outdir / "loss.png")
    write_calibration_report(outdir / "calibration_report.md", plan, specs, calib, out, complete, best_row, init_rows,
                             name, study_name)
    return CalibrationResult(preset=preset, params=specs, targets=[t.name for t in calib],
                             holdout=[t.name for t in out], trials=trials, best_params=best_params,
                             best_loss=float(best_row["loss"]), initial_loss=initial_loss, preset_file=preset_file,
                             outdir=outdir, interrupted=interrupted)


def trials_frame(study, specs: Sequence[ParamSpec], targets: Sequence[Target]) -> pd.DataFrame:
    rows = []
    for tr in study.get_trials(deepcopy=False):
        row = {
            "trial": tr.number,
            "state": tr.state.name,
            "loss": tr.value if tr.value is not None else math.nan,
            "loss_holdout": tr.user_attrs.get("loss_holdout", math.nan),
            "initial": bool(tr.user_attrs.get("initial", False)),
        }
        for p in specs:
            row[p.key] = tr.params.get(p.key, math.nan)
        means = tr.user_attrs.get("means", {})
        for t in targets:
            row[f"value:{t.name}"] = means.get(t.name, math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def render_preset(cfg: Config, name: str, base: str, specs, best: dict, targets, loss: float, plan) -> str:
    eco = dataclasses.asdict(cfg.ecosystem)
    eco["name"] = name
    eco["note"] = (
        f"Calibrated from {base} by python -m experiments.calibrate (loss {loss:.4g} on "
        f"{', '.join(t.name for t in targets)}); "
        + "; ".join(f"{k}={v:.6g}" for k, v in best.items())
    )
    head = [
        f"# {name}: the {base} preset with parameters fitted by python -m experiments.calibrate (method of simulated "
        "moments).",
        "#",
        f"# Fitted ({len(specs)}): " + ", ".join(f"{p.key} in [{p.low:g}, {p.high:g}]{' log' if p.log else ''} -> "
                                        f"{best[p.key]:.6g}" for p in specs),
        "# Targets: " + ", ".join(t.name for t in targets) + f" (loss {loss:.4g}; see calibration_report.md).",
        f"# Runs: seeds {plan.seeds}, scale {plan.cfg.scale:g}, years {plan.cfg.years}; overrides: "
        f"{' '.join(plan.overrides)}",
        "# Every other value is the base preset's (with the overrides above applied to ecosystem.* keys).",
        f"# Use it with: python -m sim ecosystem=path/to/{name}.yaml (this file), or ecosystem={name} after copying it "
        "to conf/ecosystem/ (--install).",
        "",
    ]
    class Dumper(yaml.SafeDumper):  # nested groups as blocks, lists on one line
        pass

    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    body = yaml.dump(eco, Dumper=Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=120)
    return "\n".join(head) + body


def plot_loss(trials: pd.DataFrame, path: Path) -> Path:
    fig = Figure(figsize=(7, 4), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    t = trials.sort_values("trial")
    ax.plot(t["trial"], t["loss"], "o", ms=4, color="#4C72B0", label="calibration loss (targets fitted)")
    ax.plot(t["trial"], t["loss"].cummin(), "-", color="#4C72B0", label="best so far")
    if t["loss_holdout"].notna().any():
        ax.plot(t["trial"], t["loss_holdout"], "x", ms=4, color="#C44E52", label="holdout loss (out of sample)")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("trial")
    ax.set_ylabel("weighted mean squared band distance")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def write_calibration_report(path, plan, specs, calib, out, complete, best_row, init_rows, name, study_name) -> Path:
    init = init_rows.iloc[0] if len(init_rows) else None
    L = [f"# Calibration of `{plan.preset}`\n"]
    L.append(f"- Study `{study_name}` in `{STORAGE_FILE}`: {len(complete)} completed trials (optuna TPE; common random "
             f"numbers: seeds {plan.seeds} for every candidate).")
    L.append(f"- Runs: scale {plan.cfg.scale:g}, observed window {plan.window[0]}–{plan.window[1]}; overrides "
             f"`{' '.join(plan.overrides)}`.")
    L.append("- Loss: weighted mean of squared distances of the seed means to the tolerance bands (0 anywhere inside "
             "a band; outside, the band distance from the reported figure, at least 1); a target a candidate cannot "
             f"compute counts as distance {MISSING_DISTANCE:g}.")
    start_loss = f" (starting values: {_fmt(init['loss'])})" if init is not None else ""
    start_holdout = f" (starting values: {_fmt(init['loss_holdout'])})" if init is not None else ""
    L.append(f"- Best trial {int(best_row['trial'])}: loss {_fmt(best_row['loss'])}{start_loss}; "
             f"holdout loss {_fmt(best_row['loss_holdout'])}{start_holdout}.")
    L.append(f"- Calibrated preset: `{name}.yaml`.\n")
    L.append("## Parameters\n")
    L.append("| key | range | start | calibrated |")
    L.append("|---|---|---|---|")
    for p in specs:
        start = _fmt(init[p.key]) if init is not None else "–"
        scale = " (log)" if p.log else ""
        L.append(f"| `{p.key}` | {p.low:g} – {p.high:g}{scale} | {start} | {_fmt(best_row[p.key])} |")
    for title, group in (("Targets fitted (in sample)", calib), ("Held-out targets (out of sample)", out)):
        L.append(f"\n## {title}\n")
        if not group:
            L.append("None.\n")
            continue
        L.append("| target | reported | band | start | calibrated | distance | result |")
        L.append("|---|---|---|---|---|---|---|")
        for t in group:
            v = best_row.get(f"value:{t.name}", math.nan)
            v0 = init.get(f"value:{t.name}", math.nan) if init is not None else math.nan
            d = band_distance(t, float(v)) if v == v else math.nan
            res = "not computable" if v != v else ("pass" if t.in_band(float(v)) else "**miss**")
            L.append(f"| `{t.name}` | {t.reported_text} {t.unit} | {_fmt(t.band[0])} – {_fmt(t.band[1])} | {_fmt(v0)} "
                     f"| {_fmt(v)} | {_fmt(d)} | {res} |")
    L.append("\n![loss](loss.png)\n")
    L.append("Every trial's parameters, losses and target values are in `trials.csv`. Check the calibrated preset "
             f"with `python -m experiments.validate ecosystem={name}` after installing it (more seeds than the "
             "calibration used).\n")
    Path(path).write_text("\n".join(L), encoding="utf-8")
    return Path(path)

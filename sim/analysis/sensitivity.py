"""Global sensitivity analysis: Morris screening and Sobol indices (SALib) over configuration keys.

    from sim.analysis.sensitivity import run_sensitivity
    res = run_sensitivity({"ecosystem.firms.growth_quality": (0.3, 0.7), "ecosystem.vc.reserve_ratio": (0.2, 0.6)},
                          ["new_gazelles_observed", "ts:vc_invested:sum"], out="sensitivity/demo")
    res.ranking          # one row per outcome and parameter

The command line is ``python -m experiments.sensitivity``.

**Parameters** are dotted configuration keys with a range ``(lo, hi)`` (integer keys are
rounded). Each range is checked as given before anything runs: both ends must lie within
what the key allows (docs/configuration.md), and the configuration must be valid with the key
at either end; a mistake is reported as the range the user wrote.

**Outcomes** are entries of ``summary.json``'s ``totals`` (``new_gazelles_observed``, ...) or
``ts:<timeseries column>:<mean|sum|last|max>``, computed from each run's tables by the batch
runner (:func:`sim.batch.runner.run_batch`). Configuration overrides for every run (``base``) are
added to :data:`DEFAULT_BASE` (a default is replaced only by an override of the same key).

**Runs.** Each sample point is one run per replicate into ``OUT/runs/point=NNNN,rep=R`` with
its configuration, status and tables; finished runs of the same configuration are reused, so
an interrupted analysis resumes. Every point uses the same seeds (common random numbers), so
differences between points come from the parameters; ``replicates`` K averages each point over
K seeds. The runs are gathered into ``OUT/runs/results.parquet`` (:mod:`sim.batch.gather`).

**Outputs.** ``OUT/ranking.csv`` and ``OUT/ranking.parquet``: one row per method, outcome and
parameter (Morris ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``; Sobol ``S1``, ``S1_conf``,
``ST``, ``ST_conf``; ``rank`` 1 = most influential by ``mu_star`` or ``ST``; ``events_per_run``
and ``note`` say when an outcome has too few events to respond), and ``OUT/morris.png`` or
``OUT/sobol.png``.

**Too few events.** An outcome that counts events (whole numbers) with fewer than
:data:`MIN_EVENTS` per run on average (e.g. IPOs in a small park over a few years), or that
does not vary at all, cannot show the effect of a parameter whose mechanism acts through those
events; the analysis warns (``warnings``, the ``note`` column) instead of ranking noise silently.

Run counts: Morris ``trajectories * (parameters + 1)``; Sobol (first and total order)
``n * (parameters + 2)`` with ``n`` a power of two; times ``replicates``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.batch import RunSpec, run_batch
from sim.batch.gather import gather
from sim.batch.runner import compose_overrides
from sim.batch.tabledoc import Col, FileDoc
from sim.compose import _lookup, load_config
from sim.config import ConfigError
from sim.io.schema import TABLE_SCHEMAS

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_OUTCOMES",
    "DEFAULT_BASE",
    "MIN_EVENTS",
    "SensitivityResult",
    "parse_param",
    "check_ranges",
    "check_outcome",
    "outcome_values",
    "run_sensitivity",
    "plot_ranking",
    "SENSITIVITY_FILES",
]

#: Defaults: 8 parameters, 5 trajectories -> 45 runs of the preset's whole park in its own window (scale 1:
#: rare events such as IPOs and unicorns occur often enough to respond; about 20 s a run). The last four are
#: the responses the model has to assume (how potential founders respond to the cost of founding, how researchers
#: respond to equity, rank and brokers); they act only when something changes the cost of founding or the transfer
#: regime, so the default base runs the entry subsidy and the technology-transfer reform.
DEFAULT_PARAMS = {
    "ecosystem.firms.growth_quality": (0.3, 0.7),
    "ecosystem.funding.screening_noise": (0.3, 0.9),
    "ecosystem.vc.commitments_mcny_per_year": (30_000.0, 90_000.0),
    "ecosystem.exits.ipo_rate": (0.06, 0.18),
    "ecosystem.firms.entry_cost_elasticity": (0.1, 0.6),
    "ecosystem.institutes.equity_response": (0.5, 1.5),
    "ecosystem.institutes.rank_response": (0.5, 1.5),
    "ecosystem.institutes.broker_elasticity": (0.2, 0.8),
}
DEFAULT_OUTCOMES = ["new_gazelles_observed", "firms_alive_at_end", "vc_invested_observed", "ts:gazelles:last",
                    "ts:births_independent:sum", "ts:births_spinoff:sum"]
DEFAULT_BASE = ["scale=1", "output.plots=false", "output.firm_years=false",
                "policy=[entry_subsidy,tech_transfer_reform]"]
AGGREGATES = ("mean", "sum", "last", "max")
#: Fewer events than this per run, on average, and a count outcome is flagged as too sparse to respond.
MIN_EVENTS = 10
_METRICS = {"morris": ("mu", "mu_star", "mu_star_conf", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}


#: What a sensitivity analysis writes (docs/outputs.md).
SENSITIVITY_FILES = (
    FileDoc("ranking.csv, ranking.parquet", "How much each parameter moves each outcome.",
            "one per method, outcome and parameter", (
                Col("method", "string", "", "morris or sobol."),
                Col("outcome", "string", "", "A total of summary.json or ts:<column>:<mean|sum|last|max>."),
                Col("parameter", "string", "", "The configuration key varied."),
                Col("rank", "integer", "", "1 = most influential on the outcome (by mu_star or ST)."),
                Col("low", "float", "key's unit", "Lower end of the range, as given."),
                Col("high", "float", "key's unit", "Upper end of the range, as given."),
                Col("mu", "float", "outcome's unit", "Morris: mean elementary effect (sign shows the direction)."),
                Col("mu_star", "float", "outcome's unit", "Morris: mean absolute elementary effect."),
                Col("mu_star_conf", "float", "outcome's unit", "Morris: 95 % bootstrap half-width of mu_star."),
                Col("sigma", "float", "outcome's unit", "Morris: standard deviation of the elementary effects "
                    "(interactions, non-linearity)."),
                Col("S1", "float", "share", "Sobol: first-order index."),
                Col("S1_conf", "float", "share", "Sobol: 95 % half-width of S1."),
                Col("ST", "float", "share", "Sobol: total-order index."),
                Col("ST_conf", "float", "share", "Sobol: 95 % half-width of ST."),
                Col("events_per_run", "float", "events", "For an outcome that counts events: its mean per run "
                    "(NaN otherwise)."),
                Col("note", "string", "", "Why the outcome cannot show the parameters' effects (too few events "
                    "per run, or no variation); empty otherwise."),
            )),
    FileDoc("morris.png or sobol.png", "One panel per outcome: the parameters' mu* and sigma, or S1 and ST."),
    FileDoc("runs/point=NNNN,rep=R/", "Each run (run_status.json, summary.json, outcomes.json, its tables); "
            "runs/results.parquet and runs/timeseries_long.parquet gather them (as a sweep, with the labels point and "
            "rep and one column per outcome)."),
)


@dataclass
class SensitivityResult:
    ranking: pd.DataFrame
    results: pd.DataFrame
    paths: dict
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Parameters and outcomes, checked before anything runs
# --------------------------------------------------------------------------------------------


def _range_text(key: str, bounds) -> str:
    return f"{key}={bounds[0]:g}:{bounds[1]:g}"


def parse_param(text: str) -> tuple[str, tuple[float, float]]:
    """``key=lo:hi`` -> (key, (lo, hi)); checks the form and that the key is a number of the schema."""
    key, sep, rng = text.partition("=")
    lo, sep2, hi = rng.partition(":")
    try:
        bounds = (float(lo), float(hi))
    except ValueError:
        bounds = None
    if not sep or not sep2 or bounds is None or not all(map(math.isfinite, bounds)) or bounds[0] >= bounds[1]:
        raise ConfigError(f"--param {text!r}: write KEY=LO:HI with numbers LO < HI, e.g. "
                          "ecosystem.vc.reserve_ratio=0.2:0.6.")
    _, tp = _lookup(key)
    if tp not in (int, float):
        raise ConfigError(f"--param {text!r}: {key} is not a number; only numeric keys can be varied.")
    return key, bounds


def _bound_problem(meta: dict, value: float, end: str) -> str | None:
    for name, op, ok in (("ge", ">=", lambda v, b: v >= b), ("gt", ">", lambda v, b: v > b),
                         ("le", "<=", lambda v, b: v <= b), ("lt", "<", lambda v, b: v < b)):
        bound = meta.get(name)
        if bound is not None and not ok(value, bound):
            return f"its {end} end {value:g} is outside what the key allows ({op} {bound:g})"
    return None


def check_ranges(params: dict[str, tuple[float, float]], base: list[str]) -> None:
    """ConfigError, naming the range as given, if a range leaves what its key allows.

    Both ends are checked against the key's own bounds, then the whole configuration is
    composed with the key at each end (the other keys at their base values), which also checks
    the rules across keys.
    """
    for key, bounds in params.items():
        fld, tp = _lookup(key)
        if tp not in (int, float):
            raise ConfigError(f"--param {_range_text(key, bounds)}: {key} is not a number; only numeric keys can be "
                              "varied.")
        lo, hi = (float(b) for b in bounds)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ConfigError(f"--param {_range_text(key, bounds)}: the range needs numbers LO < HI.")
        meta = fld.metadata if fld is not None else {}
        for end, value in (("lower", lo), ("upper", hi)):
            value = round(value) if tp is int else value
            problem = _bound_problem(meta, value, end)
            if problem:
                raise ConfigError(f"--param {_range_text(key, bounds)}: {problem}; choose a range within it "
                                  "(docs/configuration.md).")
        for end, value in (("lower", lo), ("upper", hi)):
            shown = str(int(round(value))) if tp is int else repr(value)
            try:
                load_config([*base, f"{key}={shown}"])
            except ConfigError as exc:
                raise ConfigError(f"--param {_range_text(key, bounds)}: at its {end} end the configuration is not "
                                  f"allowed: {exc}") from None


def check_outcome(spec: str) -> None:
    """ConfigError if ``spec`` is not ``ts:<timeseries column>:<aggregate>`` (totals are checked after the runs)."""
    if spec.startswith("ts:"):
        parts = spec.split(":")
        columns = [c.name for c in TABLE_SCHEMAS["timeseries"].columns]
        if len(parts) != 3 or parts[1] not in columns or parts[2] not in AGGREGATES:
            raise ConfigError(
                f"--outcome {spec!r}: write ts:<column>:<{'|'.join(AGGREGATES)}> with a timeseries column "
                f"({', '.join(columns[3:])})."
            )


def outcome_values(tables: dict, summary: dict, rundir, *, specs: tuple[str, ...]) -> dict:
    """The outcomes ``specs`` of one run, from its summary and tables (a total missing from the summary is None)."""
    out = {}
    ts = tables.get("timeseries")
    for spec in specs:
        if spec.startswith("ts:"):
            _, column, agg = spec.split(":")
            col = ts.sort_values("step")[column].astype(float)
            value = {"mean": col.mean, "sum": col.sum, "max": col.max, "last": lambda c=col: c.iloc[-1]}[agg]()
            out[spec] = float(value)
        else:
            value = (summary.get("totals") or {}).get(spec)
            out[spec] = float(value) if value is not None else None
    return out


# --------------------------------------------------------------------------------------------
# Sampling, running, analysing
# --------------------------------------------------------------------------------------------


def _sample(problem: dict, method: str, n: int, levels: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris as sampler  # noqa: PLC0415 - SALib is imported only to sample

        return sampler.sample(problem, n, num_levels=levels, seed=seed)
    from SALib.sample import sobol as sampler  # noqa: PLC0415 - as above

    return sampler.sample(problem, n, calc_second_order=False, seed=seed)


def _analyse(method: str, problem: dict, X: np.ndarray, Y: np.ndarray, levels: int, seed: int) -> dict:
    names = _METRICS[method]
    if np.ptp(Y) == 0 and method == "sobol":  # SALib divides by the variance
        return {k: np.full(problem["num_vars"], np.nan) for k in names}
    if method == "morris":
        from SALib.analyze import morris as analyzer  # noqa: PLC0415 - SALib is imported only to analyse

        si = analyzer.analyze(problem, X, Y, num_levels=levels, seed=seed)
    else:
        from SALib.analyze import sobol as analyzer  # noqa: PLC0415 - as above

        si = analyzer.analyze(problem, Y, calc_second_order=False, seed=seed)
    return {k: np.asarray(si[k], dtype=float) for k in names}


def _point_specs(problem: dict, X: np.ndarray, base: list[str], seed: int, replicates: int) -> list[RunSpec]:
    ints = [_lookup(k)[1] is int for k in problem["names"]]
    specs = []
    for i, row in enumerate(X):
        values = [str(int(round(v))) if is_int else repr(float(v)) for v, is_int in zip(row, ints, strict=True)]
        sets = [f"{k}={v}" for k, v in zip(problem["names"], values, strict=True)]
        for r in range(replicates):
            specs.append(RunSpec(f"point={i:04d},rep={r}", [*base, *sets, f"seed={seed + r}"], {"point": i, "rep": r}))
    return specs


def event_note(values: np.ndarray, point_means: np.ndarray) -> tuple[float, str]:
    """(events per run, note) of an outcome: a note when it counts too few events, or does not vary."""
    v = values[np.isfinite(values)]
    counts = v.size > 0 and bool(np.all(np.equal(np.round(v), v)))
    per_run = float(np.mean(np.abs(v))) if counts else math.nan
    if v.size and np.ptp(point_means) == 0:
        return per_run, "does not vary across the runs: no parameter can show an effect on it here"
    if counts and per_run < MIN_EVENTS:
        return per_run, (f"only {per_run:.2g} events per run on average ({int(v.min())} to {int(v.max())}): too few "
                         "for a parameter acting through them to show; raise scale or years")
    return per_run, ""


def _check_runs(results: pd.DataFrame, runs_dir: Path) -> None:
    bad = results[results["status"] != "completed"]
    if len(bad):
        first = bad.iloc[0]
        raise RuntimeError(f"{len(bad)} of {len(results)} runs did not complete (first: {first['run_id']}: "
                           f"{first['error']}); see {runs_dir}. Run again to redo only those.")


def _check_totals(results: pd.DataFrame, outcomes: list[str]) -> None:
    for spec in outcomes:
        if not spec.startswith("ts:") and results[spec].isna().all():
            totals = [c for c in results.columns if c.endswith(("_observed", "_ever", "_at_end", "_born"))
                      and c not in outcomes]
            raise ConfigError(f"--outcome {spec!r} is not a total of summary.json; totals: {', '.join(totals)}.")


def run_sensitivity(
    params: dict[str, tuple[float, float]] | None = None,
    outcomes: list[str] | None = None,
    *,
    method: str = "morris",
    n: int = 5,
    levels: int = 4,
    base: list[str] | None = None,
    seed: int = 0,
    replicates: int = 1,
    sample_seed: int = 12345,
    out="sensitivity",
    n_jobs: int = -1,
    plots: bool = True,
    progress: bool | None = None,
    log=None,
) -> SensitivityResult:
    """Sample, run every point (in parallel, resumable), analyse; write the ranking table and a plot to ``out``.

    ``n`` is the number of Morris trajectories, or Sobol's base sample size (a power of two).
    Every range and outcome is checked before the first run (ConfigError). ``log``: called with
    a line saying so when the analysis resumes.
    """
    params = dict(params or DEFAULT_PARAMS)
    outcomes = list(outcomes or DEFAULT_OUTCOMES)
    base = compose_overrides(DEFAULT_BASE, base)
    if method not in _METRICS:
        raise ConfigError(f"method={method!r}: use morris or sobol.")
    if len(params) < 2:
        raise ConfigError("give at least two parameters to compare.")
    if n < 2 or (method == "sobol" and n & (n - 1)):
        raise ConfigError(f"n={n}: use at least 2 (a power of two for sobol).")
    if replicates < 1:
        raise ConfigError(f"replicates={replicates}: use at least 1.")
    for spec in outcomes:
        check_outcome(spec)
    load_config(base)  # the overrides for every run, on their own: a mistake there is not a range's
    check_ranges(params, base)
    problem = {"num_vars": len(params), "names": list(params), "bounds": [list(b) for b in params.values()]}
    X = _sample(problem, method, n, levels, sample_seed)
    out = Path(out)
    runs_dir = out / "runs"
    specs = _point_specs(problem, X, base, seed, replicates)
    results = run_batch(specs, runs_dir, outcomes=functools.partial(outcome_values, specs=tuple(outcomes)),
                        jobs=n_jobs, progress=progress, desc="sensitivity runs", note=log)
    gather(runs_dir, timeseries=True)
    _check_runs(results, runs_dir)
    _check_totals(results, outcomes)
    rows, notes = [], []
    for spec in outcomes:
        Y = results.groupby("point")[spec].mean().sort_index().to_numpy(dtype=float)
        per_run, note = event_note(results[spec].to_numpy(dtype=float), Y)
        if note:
            notes.append(f"{spec}: {note}")
        metrics = _analyse(method, problem, X, Y, levels, sample_seed)
        key = metrics["mu_star" if method == "morris" else "ST"]
        order = np.argsort(-np.nan_to_num(key, nan=-np.inf), kind="stable")
        rank = np.empty(len(order), dtype=int)
        rank[order] = np.arange(1, len(order) + 1)
        for j, name in enumerate(problem["names"]):
            rows.append({"method": method, "outcome": spec, "parameter": name, "rank": int(rank[j]),
                         "low": params[name][0], "high": params[name][1],
                         **{k: float(v[j]) for k, v in metrics.items()}, "events_per_run": per_run, "note": note})
    ranking = pd.DataFrame(rows).sort_values(["outcome", "rank"], kind="stable").reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "ranking.csv", "parquet": out / "ranking.parquet", "runs": runs_dir / "results.parquet"}
    ranking.to_csv(paths["csv"], index=False)
    ranking.to_parquet(paths["parquet"], index=False)
    if plots:
        paths["plot"] = plot_ranking(ranking, out / f"{method}.png")
    return SensitivityResult(ranking=ranking, results=results, paths=paths, warnings=notes)


def plot_ranking(ranking: pd.DataFrame, path) -> Path:
    """One panel per outcome: the parameters' mu* (Morris) or S1 and ST (Sobol), most influential on top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - matplotlib only for the plot
    from matplotlib.figure import Figure  # noqa: PLC0415 - as above

    outcomes = list(dict.fromkeys(ranking["outcome"]))
    method = ranking["method"].iloc[0]
    n_par = ranking["parameter"].nunique()
    fig = Figure(figsize=(4.2 * len(outcomes), 0.5 * n_par + 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(outcomes)))
    for ax, spec in zip(axes, outcomes, strict=True):
        d = ranking[ranking["outcome"] == spec].sort_values("rank", ascending=False)
        y = np.arange(len(d))
        labels = [p.split(".")[-1] for p in d["parameter"]]
        if method == "morris":
            ax.barh(y, d["mu_star"], xerr=d["mu_star_conf"], color="tab:blue", alpha=0.8, label="μ*")
            ax.plot(d["sigma"], y, "o", color="tab:red", label="σ")
            ax.set_xlabel("elementary effect")
        else:
            ax.barh(y - 0.2, d["S1"], height=0.4, xerr=d["S1_conf"], color="tab:blue", label="S1")
            ax.barh(y + 0.2, d["ST"], height=0.4, xerr=d["ST_conf"], color="tab:orange", label="ST")
            ax.set_xlabel("Sobol index")
        ax.set_yticks(y, labels)
        note = d["note"].iloc[0] if "note" in d and d["note"].iloc[0] else ""
        ax.set_title(spec + ("\n(too few events: see ranking.csv)" if note else ""), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{method.capitalize()} sensitivity (most influential on top)", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path

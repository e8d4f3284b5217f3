"""Global sensitivity analysis: Morris screening and Sobol indices (SALib) over configuration keys.

    .venv/bin/python -m experiments.sensitivity                       # Morris, the defaults below
    .venv/bin/python -m experiments.sensitivity --method sobol --n 16
    .venv/bin/python -m experiments.sensitivity \\
        --param ecosystem.firms.growth_quality=0.3:0.7 --param ecosystem.vc.reserve_ratio=0.2:0.6 \\
        --outcome new_gazelles_observed --outcome ts:vc_invested:sum \\
        --out sensitivity/demo -- scale=0.01 years=5

Parameters are dotted configuration keys with a range ``lo:hi`` (integer keys are rounded).
Outcomes are entries of ``summary.json``'s ``totals`` (``new_gazelles_observed``, ...) or
``ts:<timeseries column>:<mean|sum|last|max>`` computed from each run's ``timeseries.parquet``.
Arguments after ``--`` are overrides applied to every run (Hydra syntax), for example a
teaching-size setup.

Each sample point is one run made by the same job function as ``python -m sim --multirun``
(:func:`sim.sweep.run_point`), on every local core with joblib, into ``OUT/runs/point=NNNN,rep=R``
with its configuration, status and outputs; runs already finished with the same
configuration are reused, so an interrupted analysis resumes. Every point uses the same seeds
(common random numbers), so differences between points come from the parameters; ``--replicates
K`` averages each point over K seeds. The whole set is gathered into ``OUT/runs/results.parquet``
(:mod:`sim.gather`).

Writes ``OUT/ranking.csv`` and ``OUT/ranking.parquet`` (one row per method, outcome and
parameter: Morris ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``; Sobol ``S1``, ``S1_conf``,
``ST``, ``ST_conf``; ``rank`` 1 = most influential by ``mu_star`` or ``ST``) and a plot,
``OUT/morris.png`` or ``OUT/sobol.png``.

Run counts: Morris ``trajectories * (parameters + 1)``; Sobol (first and total order)
``n * (parameters + 2)`` with ``n`` a power of two.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Defaults small enough for a laptop: 8 parameters, 5 trajectories -> 45 teaching-size runs. The last four are
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
DEFAULT_BASE = ["scale=0.01", "years=5", "ecosystem.warmup_years=3", "output.plots=false", "output.firm_years=false",
                "policy=[entry_subsidy,tech_transfer_reform]"]
_AGGS = ("mean", "sum", "last", "max")


@dataclass
class SensitivityResult:
    ranking: pd.DataFrame
    results: pd.DataFrame
    paths: dict


def parse_param(text: str) -> tuple[str, tuple[float, float]]:
    """``key=lo:hi`` -> (key, (lo, hi)); checks the key against the schema."""
    from sim.config import ConfigError
    from sim.compose import _lookup

    key, sep, rng = text.partition("=")
    lo, sep2, hi = rng.partition(":")
    try:
        bounds = (float(lo), float(hi))
    except ValueError:
        bounds = None
    if not sep or not sep2 or bounds is None or not all(map(math.isfinite, bounds)) or bounds[0] >= bounds[1]:
        raise ConfigError(f"--param {text!r}: write KEY=LO:HI with numbers LO < HI, e.g. ecosystem.vc.reserve_ratio=0.2:0.6.")
    _, tp = _lookup(key)
    if tp not in (int, float):
        raise ConfigError(f"--param {text!r}: {key} is not a number; only numeric keys can be varied.")
    return key, bounds


def check_outcome(spec: str) -> None:
    from sim.config import ConfigError
    from sim.io.schema import TABLE_SCHEMAS

    if spec.startswith("ts:"):
        parts = spec.split(":")
        columns = [c.name for c in TABLE_SCHEMAS["timeseries"].columns]
        if len(parts) != 3 or parts[1] not in columns or parts[2] not in _AGGS:
            raise ConfigError(
                f"--outcome {spec!r}: write ts:<column>:<{'|'.join(_AGGS)}> with a timeseries column "
                f"({', '.join(columns[3:])})."
            )


def _point_overrides(problem, X, base, seed, replicates):
    from sim.compose import _lookup

    ints = [(_lookup(k)[1] is int) for k in problem["names"]]
    for i, row in enumerate(X):
        values = [str(int(round(v))) if is_int else repr(float(v)) for v, is_int in zip(row, ints)]
        sets = [f"{k}={v}" for k, v in zip(problem["names"], values)]
        for r in range(replicates):
            yield i, r, [*base, *sets, f"seed={seed + r}"]


def _outcome(results: pd.DataFrame, long: pd.DataFrame | None, spec: str) -> pd.Series:
    """One value per run_id."""
    if not spec.startswith("ts:"):
        if spec not in results.columns:
            from sim.config import ConfigError

            totals = [c for c in results.columns if c.endswith(("_observed", "_ever", "_at_end", "_born"))]
            raise ConfigError(f"--outcome {spec!r} is not a total of summary.json; totals: {', '.join(totals)}.")
        return results.set_index("run_id")[spec].astype(float)
    _, column, agg = spec.split(":")
    sel = long[long["variable"] == column].sort_values(["run_id", "step"])
    g = sel.groupby("run_id")["value"]
    return {"mean": g.mean, "sum": g.sum, "last": g.last, "max": g.max}[agg]()


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
) -> SensitivityResult:
    """Sample, run every point (in parallel), analyse; write the ranking table and a plot to ``out``.

    ``n`` is the number of Morris trajectories, or Sobol's base sample size (a power of two).
    """
    from joblib import Parallel, delayed

    from sim.config import ConfigError
    from sim.gather import collect
    from sim.sweep import run_point

    params = dict(params or DEFAULT_PARAMS)
    outcomes = list(outcomes or DEFAULT_OUTCOMES)
    base = list(DEFAULT_BASE if base is None else base)
    if method not in ("morris", "sobol"):
        raise ConfigError(f"method={method!r}: use morris or sobol.")
    if len(params) < 2:
        raise ConfigError("give at least two parameters to compare.")
    if n < 2 or (method == "sobol" and n & (n - 1)):
        raise ConfigError(f"n={n}: use at least 2 (a power of two for sobol).")
    for spec in outcomes:
        check_outcome(spec)
    problem = {"num_vars": len(params), "names": list(params), "bounds": [list(b) for b in params.values()]}
    if method == "morris":
        from SALib.sample import morris as sampler

        X = sampler.sample(problem, n, num_levels=levels, seed=sample_seed)
    else:
        from SALib.sample import sobol as sampler

        X = sampler.sample(problem, n, calc_second_order=False, seed=sample_seed)

    out = Path(out)
    runs_dir = out / "runs"
    jobs = list(_point_overrides(problem, X, base, seed, replicates))
    from sim.compose import load_config

    load_config(jobs[0][2])  # a mistake in the overrides: one ConfigError now, not one failed run per point
    Parallel(n_jobs=n_jobs)(
        delayed(run_point)(ov, runs_dir / f"point={i:04d},rep={r}") for i, r, ov in jobs
    )
    results, long = collect(runs_dir, timeseries=any(s.startswith("ts:") for s in outcomes))
    from sim.gather import gather

    gather(runs_dir, timeseries=True)
    wanted = {f"point={i:04d},rep={r}" for i, r, _ in jobs}
    results = results[results["run_id"].isin(wanted)].copy()
    bad = results[results["status"] != "completed"]
    if len(bad) or len(results) != len(jobs):
        first = bad.iloc[0] if len(bad) else None
        detail = f" (first: {first['run_id']}: {first['error']})" if first is not None else ""
        raise RuntimeError(
            f"{len(jobs) - int((results['status'] == 'completed').sum())} of {len(jobs)} runs did not complete{detail}; "
            f"see {runs_dir}. Run again to redo only those."
        )
    results["point"] = results["run_id"].str.slice(6, 10).astype(int)

    rows = []
    for spec in outcomes:
        per_run = _outcome(results, long, spec)
        Y = results.assign(y=results["run_id"].map(per_run)).groupby("point")["y"].mean().sort_index().to_numpy()
        if method == "morris":
            from SALib.analyze import morris as analyzer

            si = analyzer.analyze(problem, X, Y, num_levels=levels, seed=sample_seed)
            metrics = {k: np.asarray(si[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
            key = metrics["mu_star"]
        else:
            from SALib.analyze import sobol as analyzer

            if np.ptp(Y) == 0:
                metrics = {k: np.full(len(params), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            else:
                si = analyzer.analyze(problem, Y, calc_second_order=False, seed=sample_seed)
                metrics = {k: np.asarray(si[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            key = metrics["ST"]
        order = np.argsort(-np.nan_to_num(key, nan=-np.inf), kind="stable")
        rank = np.empty(len(order), dtype=int)
        rank[order] = np.arange(1, len(order) + 1)
        for j, name in enumerate(problem["names"]):
            rows.append({"method": method, "outcome": spec, "parameter": name, "rank": int(rank[j]),
                         "low": params[name][0], "high": params[name][1],
                         **{k: float(v[j]) for k, v in metrics.items()}})
    ranking = pd.DataFrame(rows).sort_values(["outcome", "rank"], kind="stable").reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "ranking.csv", "parquet": out / "ranking.parquet", "runs": runs_dir / "results.parquet"}
    ranking.to_csv(paths["csv"], index=False)
    ranking.to_parquet(paths["parquet"], index=False)
    if plots:
        paths["plot"] = plot_ranking(ranking, out / f"{method}.png")
    return SensitivityResult(ranking=ranking, results=results, paths=paths)


def plot_ranking(ranking: pd.DataFrame, path) -> Path:
    """One panel per outcome: the parameters' mu* (Morris) or S1 and ST (Sobol), most influential on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(ranking["outcome"]))
    method = ranking["method"].iloc[0]
    n_par = ranking["parameter"].nunique()
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 0.5 * n_par + 1.6), squeeze=False)
    for ax, spec in zip(axes[0], outcomes):
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
        ax.set_title(spec, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{method.capitalize()} sensitivity (most influential on top)", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    base = None
    if "--" in argv:
        i = argv.index("--")
        argv, base = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="python -m experiments.sensitivity", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=("morris", "sobol"), default="morris")
    ap.add_argument("--param", action="append", metavar="KEY=LO:HI", help="a parameter and its range (repeat)")
    ap.add_argument("--outcome", action="append", metavar="NAME", help="a total or ts:<column>:<agg> (repeat)")
    ap.add_argument("--n", type=int, default=None, help="Morris trajectories (default 5) or Sobol base sample (default 8)")
    ap.add_argument("--levels", type=int, default=4, help="Morris grid levels")
    ap.add_argument("--replicates", type=int, default=1, help="seeds per point, averaged")
    ap.add_argument("--seed", type=int, default=0, help="first seed of every point")
    ap.add_argument("--jobs", type=int, default=-1, help="parallel runs (default: every core)")
    ap.add_argument("--out", default="sensitivity", help="output directory")
    args = ap.parse_args(argv)
    from sim.config import ConfigError

    try:
        params = dict(parse_param(p) for p in args.param) if args.param else None
        n = args.n or (5 if args.method == "morris" else 8)
        res = run_sensitivity(params, args.outcome, method=args.method, n=n, levels=args.levels, base=base,
                              seed=args.seed, replicates=args.replicates, out=args.out, n_jobs=args.jobs)
    except (ConfigError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    cols = ["outcome", "rank", "parameter"] + [c for c in ("mu_star", "sigma", "S1", "ST") if c in res.ranking.columns]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(res.ranking[cols].to_string(index=False))
    for k, p in res.paths.items():
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

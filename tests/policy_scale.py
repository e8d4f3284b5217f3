"""Public cost per firm reached, policy by policy, at several scales (the check behind
tests/test_policy_scale.py).

``scale`` samples the real park: at scale 0.05 the model founds 5 % of its firms, with 5 % of its
investors and budgets. A policy's discrete units (a scene, an incubator place, a grant, a fund)
must then come 5 % as often and cost what they cost in the real park, so that the public money
spent per firm a policy reaches is the same at every scale. :func:`measure` runs every
configuration of ``conf/policy/`` at the given scales and seeds and returns, per run, the money
spent (``policy_accounts``), the firms reached (``policy_reach``), for a policy that pays others
than firms the units it paid for (``Policy.units``: broker-years, researcher-years, funds...) and
the spending per year at the size of the real park (spent / years / scale).

Run as a script, it prints the table (cost per firm reached, mean over the seeds, by scale)::

    .venv/bin/python tests/policy_scale.py                      # scales 0.05 and 0.2, seeds 0-2
    .venv/bin/python tests/policy_scale.py --scales 0.02 0.2 --seeds 0 1 --policies scene_opening
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import load_config
from sim.policies.registry import CONFIGS, configured_policy
from sim.run import WarmStart, run_simulation

#: The window of every run: the default warm-up (a grown park: in a younger one the warm-up ramp,
#: ecosystem.warmup_ramp, still holds back what comes from outside, and the few funds of a small
#: sample make its costs lumpy), four observed years.
WINDOW = ["years=4", "output.plots=false", "output.firm_years=false",
          "output.progress=off"]


@functools.cache
def warm_start(scale: float, seed: int) -> WarmStart:
    """The warm-up of the world at ``scale`` and ``seed``, run once in the process and shared by every
    policy's run there (the same runs as from scratch: tests/test_model.py)."""
    return WarmStart(load_config([f"scale={scale}", f"seed={seed}", *WINDOW]))


def measure_one(name: str, scale: float, seed: int) -> dict:
    """One run of the policy configuration ``name``: money spent, firms reached, spending per year at scale 1."""
    cfg = load_config([f"policy=[{name}]", f"scale={scale}", f"seed={seed}", *WINDOW])
    res = run_simulation(cfg, progress=False, warm_start=warm_start(scale, seed))
    acc, reach = res.tables["policy_accounts"], res.tables["policy_reach"]
    spent = float(acc["spent"].sum())
    reached = int(reach["firm_id"].nunique())
    (policy,) = res.model.government.policies
    units = float(policy.units(res.model))
    return {"policy": name, "scale": scale, "seed": seed, "pays": policy.pays, "spent": spent, "reached": reached,
            "units": units, "cost_per_firm": spent / reached if reached else float("nan"),
            "spending_per_year_full_scale": spent / cfg.years / scale,
            **{k: v for k, v in res.summary["policy_accounts"][name].items() if isinstance(v, (int, float))}}


def measure(policies: Sequence[str], scales: Sequence[float], seeds: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame([measure_one(p, s, seed) for p in policies for s in scales for seed in seeds])


def _ratio_se(spent: np.ndarray, count: np.ndarray) -> float:
    """Relative standard error of the pooled ratio sum(spent) / sum(count) over seeds (delta method on the
    seeds' residuals; inf with fewer than two seeds or nothing counted)."""
    n, total = spent.size, count.sum()
    if n < 2 or total <= 0 or spent.sum() <= 0:
        return float("inf") if total > 0 else 0.0
    c = spent.sum() / total
    resid = spent - c * count
    return float(np.sqrt(n / (n - 1) * (resid**2).sum()) / total / c)


def _mean_se(x: np.ndarray) -> float:
    """Relative standard error of the mean of ``x`` over seeds (0 for a mean of 0)."""
    m = x.mean()
    if m == 0:
        return 0.0
    return float(x.std(ddof=1) / np.sqrt(x.size) / abs(m)) if x.size > 1 else float("inf")


def _scale_errors(runs: pd.DataFrame, pays: str) -> dict:
    """Per scale: the relative standard errors of the cost per firm reached (per unit, for a policy that
    pays others than firms) and of the mean spending per year, over the seeds run at that scale."""
    count = "reached" if pays == "firms" else "units"
    return {s: {"cost": _ratio_se(g["spent"].to_numpy(), g[count].to_numpy(dtype=float)),
                "spending": _mean_se(g["spending_per_year_full_scale"].to_numpy())}
            for s, g in runs.groupby("scale", sort=True)}


def precision(runs: pd.DataFrame, pays: str) -> dict:
    """Relative standard errors, over the seeds of ``runs`` (one policy; its smallest and largest scale), of
    the log ratio small / large of the cost per firm reached (per unit, for a policy that pays others than
    firms) and of the spending per year: the two scales' errors combined."""
    per = _scale_errors(runs, pays)
    ends = [per[min(per)], per[max(per)]]  # the smallest and largest scale (the two compared)
    return {k: float(np.hypot(*[e[k] for e in ends])) for k in ("cost", "spending")}


def failing_beyond_doubt(runs: pd.DataFrame, pays: str, tolerances: dict, z: float = 3.0) -> bool:
    """True when a comparison of the two scales of ``runs`` (one policy) already fails beyond doubt:
    the log ratio small / large of the cost per firm reached (per unit for a policy that pays others
    than firms) or of the spending per year lies more than ``z`` of its standard errors
    (:func:`precision`) outside its tolerance (keys cost and spending), so more seeds cannot make the
    check pass."""
    table = summarize(runs).set_index("scale").sort_index()
    small, large = table.iloc[0], table.iloc[-1]
    se = precision(runs, pays)
    value = {"cost": "cost_per_firm" if pays == "firms" else "cost_per_unit",
             "spending": "spending_per_year_full_scale"}
    for key, tol in tolerances.items():
        a, b = float(small[value[key]]), float(large[value[key]])
        if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0 and np.isfinite(se[key])):
            continue
        r = np.log(a / b)  # the check accepts a / b within [1 - tol, 1 + tol]
        if r > np.log1p(tol) + z * se[key] or r < np.log1p(-tol) - z * se[key]:
            return True
    return False


def measure_precisely(policy: str, scales: Sequence[float], seeds: Sequence[int], more_seeds: Sequence[int],
                      targets: dict, tolerances: dict | None = None) -> pd.DataFrame:
    """Runs of ``policy`` at ``scales`` over ``seeds``, then more runs, one at a time, each of the next seed
    of ``more_seeds`` at the scale whose errors weigh most in the comparisons not yet precise (usually the
    small scale: fewer firms, more noise, and cheaper runs), until the standard errors of :func:`precision`
    are within ``targets`` (keys cost and spending) or the seeds run out. Policies whose costs barely vary
    between seeds stay at ``seeds``; the heavy-tailed ones get the seeds they need for the comparison to
    mean something. With ``tolerances`` (keys cost and spending) it also stops as soon as a comparison
    fails beyond doubt (:func:`failing_beyond_doubt`): more seeds would not change the verdict."""
    pays = configured_policy(policy).pays
    runs = measure([policy], scales, seeds)
    left = {s: list(more_seeds) for s in scales}
    while True:
        per = _scale_errors(runs, pays)
        loose = [k for k in targets if np.hypot(*[e[k] for e in per.values()]) > targets[k]]
        open_ = [s for s in scales if left[s]]
        if not loose or not open_ or (tolerances is not None and failing_beyond_doubt(runs, pays, tolerances)):
            return runs
        s = max(open_, key=lambda s: sum((per[s][k] / targets[k]) ** 2 for k in loose))
        runs = pd.concat([runs, measure([policy], [s], [left[s].pop(0)])], ignore_index=True)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per policy and scale: the cost per firm reached and per unit paid for over all seeds (money over firms,
    money over units), the spending per year, the seeds run; with the relative standard errors of
    :func:`precision` (per policy)."""
    g = runs.groupby(["policy", "scale"], sort=False)
    out = pd.DataFrame({"spent": g["spent"].sum(), "reached": g["reached"].sum(), "units": g["units"].sum(),
                        "spending_per_year_full_scale": g["spending_per_year_full_scale"].mean(),
                        "seeds": g["seed"].nunique()})
    out["cost_per_firm"] = out["spent"] / out["reached"].where(out["reached"] > 0)
    out["cost_per_unit"] = out["spent"] / out["units"].where(out["units"] > 0)
    out = out.reset_index()
    se = {name: precision(r, r["pays"].iloc[0]) for name, r in runs.groupby("policy", sort=False)}
    out["se_cost"] = out["policy"].map(lambda n: se[n]["cost"])
    out["se_spending"] = out["policy"].map(lambda n: se[n]["spending"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.05, 0.2])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--policies", nargs="+", default=list(CONFIGS))
    args = ap.parse_args(argv)
    table = summarize(measure(args.policies, args.scales, args.seeds))
    wide = table.pivot(index="policy", columns="scale", values=["cost_per_firm", "cost_per_unit",
                                                                      "spending_per_year_full_scale"])
    with pd.option_context("display.width", 200, "display.max_rows", 100, "display.float_format", "{:.4g}".format):
        print(wide.loc[args.policies].to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import sys
from collections.abc import Sequence

import pandas as pd

from sim import load_config
from sim.policies.registry import CONFIGS
from sim.run import run_simulation

#: The window of every run: two warm-up years, four observed years.
WINDOW = ["years=4", "ecosystem.warmup_years=2", "output.plots=false", "output.firm_years=false",
          "output.progress=off"]


def measure_one(name: str, scale: float, seed: int) -> dict:
    """One run of the policy configuration ``name``: money spent, firms reached, spending per year at scale 1."""
    cfg = load_config([f"policy=[{name}]", f"scale={scale}", f"seed={seed}", *WINDOW])
    res = run_simulation(cfg, progress=False)
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


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per policy and scale: the cost per firm reached and per unit paid for over all seeds (money over firms,
    money over units), and the spending per year."""
    g = runs.groupby(["policy", "scale"], sort=False)
    out = pd.DataFrame({"spent": g["spent"].sum(), "reached": g["reached"].sum(), "units": g["units"].sum(),
                        "spending_per_year_full_scale": g["spending_per_year_full_scale"].mean()})
    out["cost_per_firm"] = out["spent"] / out["reached"].where(out["reached"] > 0)
    out["cost_per_unit"] = out["spent"] / out["units"].where(out["units"] > 0)
    return out.reset_index()


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

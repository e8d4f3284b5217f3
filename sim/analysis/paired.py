"""Paired statistics of a policy comparison: differences against the baseline, intervals, costs.

The input is the comparison's outcomes table, one row per arm and seed (:mod:`sim.analysis.compare`).
A policy run and the baseline run at the same seed share every chance event (common random
numbers), so their difference is the policy's effect in that simulated world; the mean of these
paired differences over seeds, with a 95 % t-interval, is what the comparison reports.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

__all__ = ["OUTCOMES", "HEADLINE", "BASELINE", "COST_STATUS", "t_interval", "paired_differences", "cost_table"]

#: outcome -> (unit, plain-language meaning); "more is better" unless noted in the report
OUTCOMES: dict[str, tuple[str, str]] = {
    "new_gazelles": ("firms", "firms that became gazelles (瞪羚) in the observed window"),
    "new_unicorns": ("firms", "firms that became unicorns (独角兽) in the observed window"),
    "tracks_formed": ("tracks", "tracks that became formed (their first unicorn) in the observed window"),
    "tracks_created": ("tracks", "tracks created in the observed window (breakthrough, fission, fusion)"),
    "firms_born": ("firms", "firms founded in the observed window"),
    "survival_rate": ("share", "share of firms founded in the window that had not failed by its end"),
    "jobs": ("persons", "jobs in live firms at the end of the window"),
    "revenue": ("mcny/yr", "revenue run rate of live firms at the end of the window"),
    "vc_invested": ("mcny", "money invested by VC funds in the window"),
    "vc_returned": ("mcny", "cash VC funds received from exits (whole run; the warm-up is identical in every arm)"),
    "guidance_invested": ("mcny", "money invested by guidance funds in the window"),
    "bank_lending": ("mcny", "new bank loans in the window"),
    "exits": ("firms", "exits by IPO or acquisition in the window"),
    "public_spending": ("mcny", "public money the policies spent in the window"),
    "public_receipts": ("mcny", "public money that came back in the window (royalties, fund proceeds)"),
    "net_public_cost": ("mcny", "public spending minus receipts"),
}
HEADLINE = ("new_gazelles", "new_unicorns", "survival_rate", "jobs", "vc_invested", "tracks_formed")
BASELINE = "baseline"

def t_interval(d: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the 95 % t-interval of the mean of paired differences ``d``."""
    d = d[np.isfinite(d)]
    n = d.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    sd = float(d.std(ddof=1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def paired_differences(outcomes: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Each arm minus the baseline, seed by seed: mean difference and its 95 % t-interval."""
    base = outcomes[outcomes["arm"] == baseline].set_index("seed")
    rows = []
    for arm in [a for a in outcomes["arm"].unique() if a != baseline]:
        pol = outcomes[outcomes["arm"] == arm].set_index("seed")
        seeds = sorted(set(pol.index) & set(base.index))
        for name in OUTCOMES:
            b = base.loc[seeds, name].to_numpy(dtype=float)
            p = pol.loc[seeds, name].to_numpy(dtype=float)
            mean, sd, lo, hi = t_interval(p - b)
            bmean = float(np.nanmean(b)) if len(b) else math.nan
            rows.append(
                {
                    "arm": arm,
                    "outcome": name,
                    "unit": OUTCOMES[name][0],
                    "n_pairs": len(seeds),
                    "baseline_mean": bmean,
                    "policy_mean": float(np.nanmean(p)) if len(p) else math.nan,
                    "diff_mean": mean,
                    "diff_sd": sd,
                    "ci_low": lo,
                    "ci_high": hi,
                    "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
                    "relative_change": mean / bmean if bmean and np.isfinite(bmean) and bmean != 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


COST_STATUS = {
    "ok": "additional firms clearly above zero",
    "no_spending": "no public money spent",
    "not_significant": "no gain distinguishable from chance: cost per additional firm not estimable",
    "fewer": "fewer than the baseline: cost per additional firm not defined",
    "too_few_seeds": "one seed only: no interval",
}


def cost_table(outcomes: pd.DataFrame, diffs: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Public cost and cost per additional gazelle and unicorn, per policy arm.

    The cost is the mean net public cost of the arm (spending minus receipts in the window;
    the baseline spends nothing). The cost per additional firm is cost / mean additional
    firms, given only when the 95 % interval of the additional firms lies above zero; its
    range is cost / upper and cost / lower end of that interval (the spread of the cost over
    seeds is small next to that of the gain and is ignored)."""
    rows = []
    for arm in [a for a in outcomes["arm"].unique() if a != baseline]:
        sub = outcomes[outcomes["arm"] == arm]
        spent = float(sub["public_spending"].mean())
        recv = float(sub["public_receipts"].mean())
        cost = float(sub["net_public_cost"].mean())
        row = {"arm": arm, "public_spending": spent, "public_receipts": recv, "net_public_cost": cost,
               "net_public_cost_sd": float(sub["net_public_cost"].std(ddof=1)) if len(sub) > 1 else math.nan}
        for what in ("gazelle", "unicorn"):
            d = diffs[(diffs["arm"] == arm) & (diffs["outcome"] == f"new_{what}s")].iloc[0]
            extra, lo, hi = d["diff_mean"], d["ci_low"], d["ci_high"]
            if spent <= 0 and cost <= 0:
                status = "no_spending"
            elif not np.isfinite(lo):
                status = "too_few_seeds"
            elif lo > 0:
                status = "ok"
            elif hi < 0:
                status = "fewer"
            else:
                status = "not_significant"
            ok = status == "ok"
            row.update(
                {
                    f"additional_{what}s": extra,
                    f"additional_{what}s_low": lo,
                    f"additional_{what}s_high": hi,
                    f"cost_per_{what}": cost / extra if ok else math.nan,
                    f"cost_per_{what}_low": cost / hi if ok else math.nan,
                    f"cost_per_{what}_high": cost / lo if ok else math.nan,
                    f"cost_per_{what}_status": status,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)

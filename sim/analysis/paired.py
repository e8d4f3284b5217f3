"""Paired statistics of a policy comparison: differences against the baseline, intervals, costs.

The inputs are the comparison's tables, one row per arm and seed (:mod:`sim.analysis.compare`).
A policy run and the baseline run at the same seed share every chance event (common random
numbers), so their difference is the policy's effect in that simulated world; the mean of these
paired differences over seeds, with a 95 % t-interval, is what the comparison reports.

**Seeds needed.** With ``n`` pairs whose differences have standard deviation ``sd``, the 95 %
interval of the mean is ``mean ± t(0.975, n-1) · sd / √n``. :func:`seeds_needed` gives the
smallest ``n`` for which that half-width is below a given size: below ``|mean|`` for the
interval to exclude zero if the effect is as large as observed (``seeds_needed``), or below a
requested half-width (``seeds_for_halfwidth``). Both assume the spread stays as observed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

__all__ = ["OUTCOMES", "HEADLINE", "BASELINE", "COST_STATUS", "TIMELINE_OUTCOMES", "SPLIT_OUTCOMES", "t_interval",
           "seeds_needed", "paired_differences", "cost_table", "timeline_table", "split_table", "MAX_SEEDS_SHOWN"]

#: outcome -> (unit, plain-language meaning); "more is better" unless noted in the report.
#: Units: mcny = million CNY, over the observed window, for the simulated park.
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
#: Beyond this many seeds, seeds_needed is reported as this number and "more" (the effect is tiny next to its spread).
MAX_SEEDS_SHOWN = 100_000

#: year-by-year outcomes of timeline.parquet: outcome -> (timeseries column, how a year is summed, unit)
TIMELINE_OUTCOMES: dict[str, tuple[str, str, str]] = {
    "new_gazelles": ("new_gazelles", "sum", "firms/yr"),
    "new_unicorns": ("new_unicorns", "sum", "firms/yr"),
    "firms_born": ("births", "sum", "firms/yr"),
    "jobs": ("employees", "last", "persons"),
    "vc_invested": ("vc_invested", "sum", "mcny/yr"),
    "public_spending": ("public_spending", "sum", "mcny/yr"),
}
#: outcomes split into the firms a policy reached and all other firms (split.parquet)
SPLIT_OUTCOMES = ("new_gazelles", "new_unicorns")


def t_interval(d: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the 95 % t-interval of the mean of paired differences ``d``."""
    d = np.asarray(d, dtype=float)
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


def seeds_needed(sd: float, halfwidth: float) -> float:
    """The smallest number of paired seeds whose 95 % interval is narrower than ± ``halfwidth``.

    NaN when ``sd`` is unknown (fewer than two pairs) or ``halfwidth`` is not positive; 2 when
    the differences do not vary at all; at most :data:`MAX_SEEDS_SHOWN`.
    """
    if not (np.isfinite(sd) and np.isfinite(halfwidth)) or halfwidth <= 0:
        return math.nan
    if sd == 0:
        return 2.0
    n = max(2, math.ceil((1.96 * sd / halfwidth) ** 2))  # a lower bound: t(0.975, n-1) > 1.96
    if n >= MAX_SEEDS_SHOWN:
        return float(MAX_SEEDS_SHOWN)
    while float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n) >= halfwidth:
        n += 1
    return float(n)


def _pairs(table: pd.DataFrame, arm: str, baseline: str) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    base = table[table["arm"] == baseline].set_index("seed")
    pol = table[table["arm"] == arm].set_index("seed")
    seeds = sorted(set(pol.index) & set(base.index))
    return base.loc[seeds], pol.loc[seeds], seeds


def _diff_row(b: np.ndarray, p: np.ndarray, halfwidth: float | None = None) -> dict:
    mean, sd, lo, hi = t_interval(p - b)
    bmean = float(np.nanmean(b)) if len(b) else math.nan
    row = {
        "n_pairs": len(b),
        "baseline_mean": bmean,
        "policy_mean": float(np.nanmean(p)) if len(p) else math.nan,
        "diff_mean": mean,
        "diff_sd": sd,
        "ci_low": lo,
        "ci_high": hi,
        "ci_halfwidth": (hi - lo) / 2 if np.isfinite(lo) else math.nan,
        "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
        "relative_change": mean / bmean if bmean and np.isfinite(bmean) and bmean != 0 else math.nan,
        "seeds_needed": seeds_needed(sd, abs(mean)) if np.isfinite(mean) and mean != 0 else math.nan,
    }
    if halfwidth is not None:
        row["target_halfwidth"] = halfwidth
        row["seeds_for_halfwidth"] = seeds_needed(sd, halfwidth)
    return row


def resolve_halfwidths(targets: Mapping[str, str | float] | None, outcomes: pd.DataFrame,
                       baseline: str = BASELINE) -> dict[str, float]:
    """Target half-widths in each outcome's unit: a number, or ``"N%"`` of the baseline's mean."""
    out = {}
    base = outcomes[outcomes["arm"] == baseline]
    for name, value in (targets or {}).items():
        text = str(value).strip()
        if text.endswith("%"):
            out[name] = abs(float(base[name].mean())) * float(text[:-1]) / 100.0
        else:
            out[name] = float(text)
    return out


def paired_differences(outcomes: pd.DataFrame, baseline: str = BASELINE,
                       halfwidths: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Each arm minus the baseline, seed by seed: mean difference, its 95 % t-interval and the seeds needed.

    ``halfwidths`` (outcome -> half-width in its unit) adds ``target_halfwidth`` and
    ``seeds_for_halfwidth`` for those outcomes.
    """
    halfwidths = halfwidths or {}
    rows = []
    for arm in [a for a in outcomes["arm"].unique() if a != baseline]:
        base, pol, _ = _pairs(outcomes, arm, baseline)
        for name in OUTCOMES:
            b = base[name].to_numpy(dtype=float)
            p = pol[name].to_numpy(dtype=float)
            row = {"arm": arm, "outcome": name, "unit": OUTCOMES[name][0], **_diff_row(b, p, halfwidths.get(name))}
            rows.append(row)
    df = pd.DataFrame(rows)
    for col in ("target_halfwidth", "seeds_for_halfwidth"):
        if col not in df:
            df[col] = math.nan
    return df


COST_STATUS = {
    "ok": "additional firms clearly above zero",
    "no_spending": "no public money spent",
    "not_significant": "no gain distinguishable from chance: cost per additional firm not estimable",
    "fewer": "fewer than the baseline: cost per additional firm not defined",
    "too_few_seeds": "one seed only: no interval",
}


def _cost_status(spent: float, cost: float, lo: float, hi: float) -> str:
    if spent <= 0 and cost <= 0:
        return "no_spending"
    if not np.isfinite(lo):
        return "too_few_seeds"
    if lo > 0:
        return "ok"
    if hi < 0:
        return "fewer"
    return "not_significant"


def _cost_reason(status: str, what: str, d: pd.Series) -> str:
    """Why a cost per additional firm is or is not given, in plain words."""
    if status == "ok":
        return f"the 95 % interval of the additional {what}s lies above zero"
    if status == "not_significant":
        need = d["seeds_needed"]
        more = (f"; about {need:,.0f} simulated worlds would tell an effect of this size from zero (ran {d['n_pairs']})"
                if np.isfinite(need) else "")
        return f"the 95 % interval of the additional {what}s includes zero{more}"
    return COST_STATUS[status]


def cost_table(outcomes: pd.DataFrame, diffs: pd.DataFrame, baseline: str = BASELINE, *,
               years: int | None = None, scale: float | None = None) -> pd.DataFrame:
    """Public cost, cost per additional gazelle and unicorn, effects per 100 million CNY, per policy arm.

    The cost is the mean net public cost of the arm (spending minus receipts in the window;
    the baseline spends nothing). The cost per additional firm is cost / mean additional
    firms, given only when the 95 % interval of the additional firms lies above zero; its
    range is cost / upper and cost / lower end of that interval (the spread of the cost over
    seeds is small next to that of the gain and is ignored); otherwise ``cost_per_*_status``
    and ``cost_per_*_reason`` say why. ``*_per_100mcny`` are the additional firms per 100
    million CNY of net public cost (with the interval scaled the same way). With ``years`` and
    ``scale``, ``spending_per_year_full_scale`` is the yearly public spending at the size of
    the preset's park (spending / years / scale), the unit of a policy's budget.
    """
    rows = []
    for arm in [a for a in outcomes["arm"].unique() if a != baseline]:
        sub = outcomes[outcomes["arm"] == arm]
        spent = float(sub["public_spending"].mean())
        cost = float(sub["net_public_cost"].mean())
        row = {"arm": arm, "public_spending": spent, "public_receipts": float(sub["public_receipts"].mean()),
               "net_public_cost": cost,
               "net_public_cost_sd": float(sub["net_public_cost"].std(ddof=1)) if len(sub) > 1 else math.nan,
               "spending_per_year_full_scale": spent / years / scale if years and scale else math.nan}
        for what in ("gazelle", "unicorn"):
            d = diffs[(diffs["arm"] == arm) & (diffs["outcome"] == f"new_{what}s")].iloc[0]
            extra, lo, hi = d["diff_mean"], d["ci_low"], d["ci_high"]
            status = _cost_status(spent, cost, lo, hi)
            ok = status == "ok"
            per100 = 100.0 / cost if cost > 0 else math.nan
            row.update({
                f"additional_{what}s": extra,
                f"additional_{what}s_low": lo,
                f"additional_{what}s_high": hi,
                f"additional_{what}s_per_100mcny": extra * per100,
                f"additional_{what}s_per_100mcny_low": lo * per100,
                f"additional_{what}s_per_100mcny_high": hi * per100,
                f"cost_per_{what}": cost / extra if ok else math.nan,
                f"cost_per_{what}_low": cost / hi if ok else math.nan,
                f"cost_per_{what}_high": cost / lo if ok else math.nan,
                f"cost_per_{what}_status": status,
                f"cost_per_{what}_reason": _cost_reason(status, what, d),
                f"seeds_needed_{what}s": d["seeds_needed"],
            })
        rows.append(row)
    return pd.DataFrame(rows)


def yearly_values(ts: pd.DataFrame) -> pd.DataFrame:
    """One run's :data:`TIMELINE_OUTCOMES` by calendar year (from its timeseries table)."""
    g = ts.sort_values("step").groupby("year")
    out = pd.DataFrame({name: (g[col].sum() if how == "sum" else g[col].last()).astype(float)
                        for name, (col, how, _) in TIMELINE_OUTCOMES.items()})
    return out.reset_index()


def timeline_table(yearly: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Each arm's paired effect by year (``yearly``: arm, seed, year and one column per timeline outcome).

    ``diff_mean`` and its interval are the effect in the year; ``cum_diff_mean`` and its interval
    the effect summed over the window up to that year (for jobs, a level, the same as the year's).
    """
    rows = []
    for arm in [a for a in yearly["arm"].unique() if a != baseline]:
        for name, (_, how, unit) in TIMELINE_OUTCOMES.items():
            wide_b = yearly[yearly["arm"] == baseline].pivot(index="seed", columns="year", values=name)
            wide_p = yearly[yearly["arm"] == arm].pivot(index="seed", columns="year", values=name)
            seeds = sorted(set(wide_b.index) & set(wide_p.index))
            diff = wide_p.loc[seeds] - wide_b.loc[seeds]
            cum = diff.cumsum(axis=1) if how == "sum" else diff
            for year in diff.columns:
                row = {"arm": arm, "year": int(year), "outcome": name, "unit": unit,
                       **_diff_row(wide_b.loc[seeds, year].to_numpy(float), wide_p.loc[seeds, year].to_numpy(float))}
                mean, _, lo, hi = t_interval(cum[year].to_numpy(float))
                row.update({"cum_diff_mean": mean, "cum_ci_low": lo, "cum_ci_high": hi})
                rows.append(row)
    columns = ["arm", "year", "outcome", "unit", "n_pairs", "baseline_mean", "policy_mean", "diff_mean", "diff_sd",
               "ci_low", "ci_high", "ci_halfwidth", "significant", "relative_change", "seeds_needed",
               "cum_diff_mean", "cum_ci_low", "cum_ci_high"]
    return pd.DataFrame(rows, columns=columns)


def split_table(pairs: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """The effect on the firms a policy reached (direct) and on all other firms (spill-over).

    ``pairs``: one row per policy arm and seed with ``aligned`` (the two worlds founded the same
    firms, so a firm can be followed from one to the other), ``firms_reached`` and, per outcome
    of :data:`SPLIT_OUTCOMES`, ``<outcome>_direct`` and ``<outcome>_spillover``: policy run minus
    baseline run among the reached firms and among all others. Their sum is the total effect.
    """
    rows = []
    for arm in arms:
        sub = pairs[pairs["arm"] == arm]
        ok = sub[sub["aligned"]]
        reason = ""
        if sub.empty:
            reason = "no paired runs"
        elif ok.empty:
            reason = ("the policy changes which firms are founded, so a firm cannot be followed from the baseline "
                      "world to the policy world")
        elif ok["firms_reached"].sum() == 0:
            reason = "the policy reached no firm individually (it acts through market-wide levers)"
        for name in SPLIT_OUTCOMES:
            for part in ("direct", "spillover"):
                col = f"{name}_{part}"
                mean, sd, lo, hi = t_interval(ok[col].to_numpy(float) if len(ok) and not reason else np.array([]))
                rows.append({"arm": arm, "outcome": name, "part": part, "unit": "firms",
                             "n_pairs": 0 if reason else len(ok), "firms_reached": float(ok["firms_reached"].mean())
                             if len(ok) else math.nan, "diff_mean": mean, "diff_sd": sd, "ci_low": lo, "ci_high": hi,
                             "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)), "reason": reason})
    return pd.DataFrame(rows, columns=["arm", "outcome", "part", "unit", "n_pairs", "firms_reached", "diff_mean",
                                       "diff_sd", "ci_low", "ci_high", "significant", "reason"])

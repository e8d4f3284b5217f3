"""What a policy comparison writes and what is made from it: reading the tables back, plots, report.

Everything here works from the written tables (``outcomes.parquet``, ``differences.parquet``,
``costs.parquet``, ``comparison.json``), never from live runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.paired import BASELINE, COST_STATUS, HEADLINE, OUTCOMES
from sim.interventions import CONFIGS, REGISTRY

__all__ = ["Comparison", "read_comparison", "plot_comparison", "render_report"]


@dataclass
class Comparison:
    outcomes: pd.DataFrame
    differences: pd.DataFrame
    costs: pd.DataFrame
    setup: dict = field(default_factory=dict)
    outdir: Path | None = None


def read_comparison(outdir) -> Comparison:
    outdir = Path(outdir)
    return Comparison(
        outcomes=pd.read_parquet(outdir / "outcomes.parquet"),
        differences=pd.read_parquet(outdir / "differences.parquet"),
        costs=pd.read_parquet(outdir / "costs.parquet"),
        setup=json.loads((outdir / "comparison.json").read_text(encoding="utf-8")),
        outdir=outdir,
    )


def plot_comparison(outdir) -> list[Path]:
    # No matplotlib.use("Agg"): that would switch the backend of a Jupyter session calling this
    # (notebooks/03_policies.ipynb) and hide its later plots. Without a display matplotlib picks
    # Agg by itself, and every figure here is closed after saving, so none is shown.
    import matplotlib.pyplot as plt

    comp = read_comparison(outdir)
    d = comp.differences
    arms = list(dict.fromkeys(d["arm"]))
    paths = []
    show = [o for o in HEADLINE if o in set(d["outcome"])]
    fig, axes = plt.subplots(1, len(show), figsize=(3.2 * len(show), 0.45 * len(arms) + 1.6), sharey=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(arms))[::-1]
    for ax, name in zip(axes, show):
        sub = d[d["outcome"] == name].set_index("arm").loc[arms]
        mean = sub["diff_mean"].to_numpy(dtype=float)
        lo = sub["ci_low"].to_numpy(dtype=float)
        hi = sub["ci_high"].to_numpy(dtype=float)
        colour = np.where(sub["significant"].to_numpy(dtype=bool), "tab:blue", "tab:gray")
        err = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
        ax.barh(y, mean, color=colour, alpha=0.7)
        ax.errorbar(mean, y, xerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"{name}\n[{OUTCOMES[name][0]}]", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(arms, fontsize=8)
    fig.suptitle("Policy minus baseline, mean of paired runs with 95% interval (blue: interval excludes 0)", fontsize=10)
    fig.tight_layout()
    p = Path(outdir) / "differences.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(p)

    c = comp.costs
    fig, ax = plt.subplots(figsize=(7, 5))
    x = c["net_public_cost"].to_numpy(dtype=float)
    g = c["additional_gazelles"].to_numpy(dtype=float)
    err = np.vstack([np.nan_to_num(g - c["additional_gazelles_low"].to_numpy(dtype=float)),
                     np.nan_to_num(c["additional_gazelles_high"].to_numpy(dtype=float) - g)])
    ax.errorbar(x, g, yerr=err, fmt="o", capsize=3)
    for xi, gi, label in zip(x, g, c["arm"]):
        ax.annotate(label, (xi, gi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("net public cost over the window [mcny, simulated park]")
    ax.set_ylabel("additional gazelles (95% interval)")
    ax.set_title("What each policy costs and what it adds")
    fig.tight_layout()
    p = Path(outdir) / "costs.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(p)
    return paths


def _fmt(x, digits=1) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) < 0.1 and x != 0:
        return f"{x:.3f}"
    return f"{x:.{digits}f}"


def _ci(row, digits=1, pct=False) -> str:
    k = 100.0 if pct else 1.0
    mean, lo, hi = row["diff_mean"] * k, row["ci_low"] * k, row["ci_high"] * k
    unit = " pp" if pct else ""
    if not np.isfinite(lo):
        return f"{_fmt(mean, digits)}{unit}"
    return f"{_fmt(mean, digits)}{unit} ({_fmt(lo, digits)} to {_fmt(hi, digits)})"


def _verdict(row) -> str:
    if not np.isfinite(row["ci_low"]):
        return "no interval (one seed)"
    if row["ci_low"] > 0:
        return "more than the baseline"
    if row["ci_high"] < 0:
        return "fewer than the baseline"
    return "no difference distinguishable from chance"


def render_report(outdir) -> str:
    """report.md, from the comparison's tables."""
    comp = read_comparison(outdir)
    s = comp.setup
    d = comp.differences
    c = comp.costs.set_index("arm")
    o = comp.outcomes
    base = o[o["arm"] == BASELINE]
    n = len(s["seeds"])
    years = f"{s['start_year']}-{s['start_year'] + s['years'] - 1}"
    lines = [
        "# Policy comparison",
        "",
        f"*{len(s['arms']) - 1} policy arm(s) against the baseline, {n} simulated worlds (seeds {s['seeds'][0]}-{s['seeds'][-1]}), "
        f"observed years {years}, park at scale {s['scale']:g} of the preset ({' '.join(s['base_overrides']) or 'defaults'}).*",
        "",
        "## How to read this",
        "",
        f"Each policy was run in the same {n} simulated worlds as the baseline. In a world, the policy run and the "
        "baseline run share all their chance events (the same founders, the same luck), so the difference between them "
        "is what the policy changed there. We report the average difference over the worlds with a 95 % interval: "
        "if the interval does not include zero, the change is unlikely to be chance. "
        "Counts and money are for the simulated park"
        + (f", which is {s['scale']:g} times the size of the preset's park; a full-size park has roughly {1 / s['scale']:,.0f} times more "
           "firms, money and effects, while shares, ratios and costs per additional firm stay about the same." if s["scale"] != 1 else ".")
        + " Money is in million CNY (mcny) over the whole observed window.",
        "",
        "In the baseline, over the window: "
        f"{_fmt(base['new_gazelles'].mean())} new gazelles, {_fmt(base['new_unicorns'].mean(), 2)} new unicorns, "
        f"{_fmt(base['firms_born'].mean(), 0)} firms founded, {_fmt(100 * base['survival_rate'].mean())} % of them had not failed by the end, "
        f"{_fmt(base['jobs'].mean(), 0)} jobs at the end, {_fmt(base['vc_invested'].mean(), 0)} mcny of VC invested (averages over the worlds).",
        "",
        "## Summary",
        "",
        "| Policy | Net public cost (mcny) | Extra gazelles (95 % interval) | Extra unicorns | Survival (pp) | Jobs | Cost per extra gazelle (mcny) |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in c.index:
        def row(name):
            return d[(d["arm"] == arm) & (d["outcome"] == name)].iloc[0]

        cr = c.loc[arm]
        if cr["cost_per_gazelle_status"] == "ok":
            per = f"{_fmt(cr['cost_per_gazelle'])} ({_fmt(cr['cost_per_gazelle_low'])} to {_fmt(cr['cost_per_gazelle_high'])})"
        else:
            per = {"no_spending": "no public money", "not_significant": "not estimable (no clear gain)",
                   "fewer": "not defined (fewer gazelles)", "too_few_seeds": "n/a (one seed)"}[cr["cost_per_gazelle_status"]]
        lines.append(
            f"| {arm} | {_fmt(cr['net_public_cost'])} | {_ci(row('new_gazelles'))} | {_ci(row('new_unicorns'), 2)} | "
            f"{_ci(row('survival_rate'), 2, pct=True)} | {_ci(row('jobs'), 0)} | {per} |"
        )
    lines += ["", "![differences](differences.png)", "", "![costs](costs.png)", "", "## Policy by policy", ""]
    for arm in c.index:
        names = arm.split("[")[0].split("+")
        lines.append(f"### {arm}")
        lines.append("")
        for name in names:
            kind = CONFIGS.get(name, (name, {}))[0]
            cls = REGISTRY.get(kind)
            if cls is not None:
                lines.append(f"- **{name}**: {' '.join((cls.__doc__ or '').split())} Acts directly on: {cls.target}.")
        cr = c.loc[arm]
        lines.append(
            f"- Public money: {_fmt(cr['public_spending'])} mcny spent, {_fmt(cr['public_receipts'])} mcny came back, "
            f"net {_fmt(cr['net_public_cost'])} mcny."
        )
        for name in ("new_gazelles", "new_unicorns", "survival_rate", "jobs", "vc_invested", "bank_lending", "firms_born", "exits", "tracks_formed"):
            r = d[(d["arm"] == arm) & (d["outcome"] == name)].iloc[0]
            pct = name == "survival_rate"
            unit = "pp" if pct else OUTCOMES[name][0]
            what = OUTCOMES[name][1]
            lines.append(f"- {what[0].upper() + what[1:]}: {_ci(r, 2 if pct or name == 'new_unicorns' else 1, pct=pct)}"
                         f"{'' if pct else ' ' + unit}; {_verdict(r)}.")
        for what in ("gazelle", "unicorn"):
            st = cr[f"cost_per_{what}_status"]
            if st == "ok":
                lines.append(f"- Cost per additional {what}: {_fmt(cr[f'cost_per_{what}'])} mcny "
                             f"(range {_fmt(cr[f'cost_per_{what}_low'])} to {_fmt(cr[f'cost_per_{what}_high'])}).")
            else:
                lines.append(f"- Cost per additional {what}: {COST_STATUS[st]}.")
        lines.append("")
    lines += [
        "## Caveats",
        "",
        "- This is a model, not a forecast. Its parameters are defaults taken from the reports where they give a number "
        "and assumptions elsewhere (docs/policies.md says which); the preset is not calibrated. Use the comparison to see "
        "how mechanisms play out and which assumptions matter, not for the size of real effects.",
        f"- {n} worlds give wide intervals; effects on rare events (unicorns, formed tracks) need many more worlds or a "
        "larger park to be distinguished from chance. \"No difference distinguishable from chance\" does not mean no effect.",
        "- Many policies and outcomes are compared at once: among many intervals, some will exclude zero by chance alone.",
        "- The window is short: effects that take longer (a gazelle becoming a unicorn, a fund returning money, royalties) "
        "are cut off at its end. Receipts count only money back within the window; a guidance fund's unrealised holdings are not counted.",
        "- Costs are public spending only (grants, fund capital, tax expenditure); administrative costs and the private "
        "money a policy draws in are not included. The cost per additional firm divides the average cost by the average "
        "gain; its range comes from the gain's interval only.",
        "- Policies are compared one by one against the same baseline; an arm with several policies (a+b) shows them together, "
        "and its effect need not be the sum of their separate effects.",
        "",
        f"Files: outcomes.parquet (one row per policy and world), differences.parquet, costs.parquet, comparison.json. "
        f"Run time {s['wall_seconds']:.0f} s.",
        "",
    ]
    return "\n".join(lines)

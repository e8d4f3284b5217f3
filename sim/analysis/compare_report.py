"""What a policy comparison writes, read back, and the plots made from it.

Everything here works from the written tables (``outcomes.parquet``, ``differences.parquet``,
``costs.parquet``, ``timeline.parquet``, ``split.parquet``, ``comparison.json``), never from
live runs; so do the reports (:mod:`sim.analysis.compare_text`). Also the words and numbers
both use: policies named in words (English, Chinese), money in 万元/亿元 and million CNY.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.analysis.paired import HEADLINE, OUTCOMES, TIMELINE_OUTCOMES

__all__ = ["Comparison", "read_comparison", "plot_comparison", "money", "policy_names", "interval", "number"]

TABLES = ("outcomes", "differences", "costs", "timeline", "split")

#: Policy kinds in Chinese (the English names are the policy classes' titles).
ZH_KINDS = {
    "guidance_fund": "政府引导基金",
    "state_incubator": "国家孵化器（孵化+资助，以色列模式）",
    "rd_grants": "研发配套资助（OCS 模式）",
    "proof_of_concept": "概念验证与中试基地",
    "scene_opening": "场景开放（揭榜挂帅）",
    "credit_relaxation": "放宽信贷与投贷联动",
    "exit_channels": "拓宽退出渠道",
    "long_term_capital": "长期资本（耐心资本）",
    "talent_programme": "人才计划",
    "tech_transfer_reform": "科技成果转化与科研评价改革",
    "stage_cultivation": "瞪羚/独角兽分阶段培育",
    "track_cultivation": "赛道培育（设耐心期限）",
    "sanctions_shock": "制裁、脱钩断链冲击",
    "entry_subsidy": "创业补贴与便利注册（一室多照、工位注册制）",
    "fund_of_funds": "政府母基金",
    "public_procurement": "政府采购与首台（套）保险",
    "open_innovation": "大中小企业融通创新",
    "basic_research": "基础研究资助（原始创新）",
    "incubator_chain": "众创空间—孵化器—加速器孵化链",
    "ocs_programmes": "以色列创新署（OCS）产学研合作项目",
    "rd_tax_credit": "研发费用加计扣除",
}
#: Configurations whose own description names them better than their kind.
ZH_CONFIGS = {"targeted_support": "制裁冲击下的精准支持"}


@dataclass
class Comparison:
    outcomes: pd.DataFrame
    differences: pd.DataFrame
    costs: pd.DataFrame
    timeline: pd.DataFrame = field(default_factory=pd.DataFrame)
    split: pd.DataFrame = field(default_factory=pd.DataFrame)
    setup: dict = field(default_factory=dict)
    outdir: Path | None = None


def read_comparison(outdir) -> Comparison:
    outdir = Path(outdir)
    tables = {name: pd.read_parquet(outdir / f"{name}.parquet") for name in TABLES}
    return Comparison(**tables, setup=json.loads((outdir / "comparison.json").read_text(encoding="utf-8")),
                      outdir=outdir)


# --------------------------------------------------------------------------------------------
# Words and numbers
# --------------------------------------------------------------------------------------------


def policy_names(arm: dict, lang: str) -> str:
    """An arm in words: its policies' names joined with "+", and its own parameters."""
    if not arm["policies"]:
        return {"en": "No policy (baseline)", "zh": "无政策（基准）"}[lang]
    names = []
    for p in arm["policies"]:
        if lang == "zh":
            names.append(ZH_CONFIGS.get(p["name"]) or ZH_KINDS.get(p["kind"]) or p["title"])
        else:
            names.append(p["description"].rstrip(".") if p["description"] else p["title"])
    text = " + ".join(names)
    params = re.search(r"\[(.*)\]$", arm["label"])
    return text + (f" ({params.group(1)})" if params else "")


def _short(arm: dict) -> str:
    """A short English name for plots (no Chinese: the plots must not need a CJK font)."""
    words = " + ".join(re.sub(r"\s*\([^)]*\)", "", p["title"]) for p in arm["policies"]) or "baseline"
    params = re.search(r"\[(.*)\]$", arm["label"])
    return words + (f" [{params.group(1)}]" if params else "")


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating, np.integer)) and math.isfinite(float(x))


def money(mcny, lang: str = "en") -> str:
    """An amount in million CNY as both 万元/亿元 and million CNY (1 亿元 = 100 million CNY = 10,000 万元)."""
    if not _finite(mcny):
        return {"en": "n/a", "zh": "无法给出"}[lang]
    x = float(mcny)
    zh = f"{x / 100:,.2f}亿元" if abs(x) >= 100 else f"{x * 100:,.0f}万元"
    million = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}" if abs(x) < 1 else f"{x:,.1f}"
    return f"{million} million CNY ({zh})" if lang == "en" else f"{zh}（{million}百万元）"


def number(x, digits: int = 1, sign: bool = False) -> str:
    if not _finite(x):
        return "n/a"
    x = float(x)
    fmt = f"{'+' if sign else ''},.{digits}f"
    if abs(x) >= 1000:
        fmt = f"{'+' if sign else ''},.0f"
    return format(x, fmt)


def interval(mean, lo, hi, digits: int = 1, lang: str = "en") -> str:
    if not _finite(lo):
        return number(mean, digits, sign=True)
    to = {"en": " to ", "zh": " 至 "}[lang]
    return f"{number(mean, digits, sign=True)} ({number(lo, digits, sign=True)}{to}{number(hi, digits, sign=True)})"


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _figure(w: float, h: float, nrows: int, ncols: int, sharey=False):
    fig = Figure(figsize=(w, h), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, np.atleast_1d(fig.subplots(nrows, ncols, sharey=sharey)).ravel()


def plot_comparison(outdir) -> list[Path]:
    """differences.png, costs.png, timeline.png and split.png, from the written tables."""
    comp = read_comparison(outdir)
    names = {a["label"]: _short(a) for a in comp.setup["arms"]}
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    names = {label: f"{n} [{label}]" if n in repeated else n for label, n in names.items()}
    outdir = Path(outdir)
    paths = [_plot_differences(comp, names, outdir / "differences.png"), _plot_costs(comp, names, outdir / "costs.png")]
    if len(comp.timeline):
        paths.append(_plot_timeline(comp, names, outdir / "timeline.png"))
    if len(comp.split):
        paths.append(_plot_split(comp, names, outdir / "split.png"))
    return paths


def _plot_differences(comp: Comparison, names: dict, path: Path) -> Path:
    d = comp.differences
    arms = list(dict.fromkeys(d["arm"]))
    show = [o for o in HEADLINE if o in set(d["outcome"])]
    fig, axes = _figure(3.2 * len(show), 0.45 * len(arms) + 1.8, 1, len(show), sharey=True)
    y = np.arange(len(arms))[::-1]
    for ax, name in zip(axes, show, strict=True):
        sub = d[d["outcome"] == name].set_index("arm").loc[arms]
        mean = sub["diff_mean"].to_numpy(dtype=float)
        lo, hi = sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float)
        colour = np.where(sub["significant"].to_numpy(dtype=bool), "tab:blue", "tab:gray")
        ax.barh(y, mean, color=colour, alpha=0.7)
        ax.errorbar(mean, y, xerr=np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)]), fmt="none",
                    ecolor="black", capsize=2, lw=0.8)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"{name}\n[{OUTCOMES[name][0]}, simulated park]", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([names.get(a, a) for a in arms], fontsize=8)
    fig.suptitle("Policy minus baseline, mean of paired worlds with 95% interval (blue: interval excludes 0)",
                 fontsize=10)
    fig.savefig(path, dpi=120)
    return path


def _plot_costs(comp: Comparison, names: dict, path: Path) -> Path:
    """What each policy costs a year and what it adds, gazelles and unicorns, at the size of the real park."""
    c = comp.costs
    scale = float(comp.setup["scale"])
    fig, axes = _figure(12, 5.2, 1, 2)
    x = c["spending_per_year_full_scale"].to_numpy(dtype=float)
    for ax, what in zip(axes, ("gazelle", "unicorn"), strict=True):
        g = c[f"additional_{what}s"].to_numpy(dtype=float) / scale
        lo = c[f"additional_{what}s_low"].to_numpy(dtype=float) / scale
        hi = c[f"additional_{what}s_high"].to_numpy(dtype=float) / scale
        ok = (c[f"cost_per_{what}_status"] == "ok").to_numpy()
        ax.errorbar(x, g, yerr=np.vstack([np.nan_to_num(g - lo), np.nan_to_num(hi - g)]), fmt="none", ecolor="0.6",
                    capsize=3)
        ax.scatter(x[ok], g[ok], color="tab:blue", zorder=3, label=f"cost per extra {what} given (interval > 0)")
        ax.scatter(x[~ok], g[~ok], color="tab:gray", zorder=3, label="interval includes 0 (or fewer): no cost per firm")
        mid = (np.nanmin(x) + np.nanmax(x)) / 2 if x.size else 0.0
        for xi, gi, arm, r in zip(x, g, c["arm"], c.to_dict("records"), strict=True):
            cost = r[f"cost_per_{what}"]
            per = f"\n{cost:,.0f} million CNY per extra {what}" if _finite(cost) else ""
            right = x.size > 1 and xi > mid  # labels of the points on the right run leftwards, inside the axes
            note = ax.annotate(textwrap.fill(names.get(arm, arm), 36) + per, (xi, gi), fontsize=6.5,
                               xytext=(-3 if right else 3, 3), textcoords="offset points",
                               ha="right" if right else "left")
            note.set_in_layout(False)  # long names must not squeeze the axes
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("public spending per year at the size of the real park [million CNY]")
        ax.set_ylabel(f"additional {what}s over the window, real park (95% interval)")
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("What each policy costs and what it adds", fontsize=11)
    fig.savefig(path, dpi=120)
    return path


def _plot_timeline(comp: Comparison, names: dict, path: Path) -> Path:
    t = comp.timeline
    show = ["new_gazelles", "new_unicorns", "jobs", "public_spending"]
    fig, axes = _figure(12, 8, 2, 2)
    scale = float(comp.setup["scale"])
    for ax, name in zip(axes, show, strict=True):
        sub = t[t["outcome"] == name]
        for k, (arm, g) in enumerate(sub.groupby("arm", sort=False)):
            g = g.sort_values("year")
            line = ax.plot(g["year"], g["diff_mean"] / scale, marker="o", ms=3, lw=1.2, label=names.get(arm, arm),
                           color=colormaps["tab20"](k % 20), ls="-" if k < 20 else "--")[0]
            ax.fill_between(g["year"], g["ci_low"] / scale, g["ci_high"] / scale, color=line.get_color(), alpha=0.12)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(f"{name} [{TIMELINE_OUTCOMES[name][2]}, real park]", fontsize=9)
        ax.set_xlabel("year")
    axes[0].legend(fontsize=6.5, loc="best")
    fig.suptitle("Each policy's effect year by year (policy minus baseline; band: 95% interval)", fontsize=11)
    fig.savefig(path, dpi=120)
    return path


def _plot_split(comp: Comparison, names: dict, path: Path) -> Path:
    s = comp.split
    arms = list(dict.fromkeys(s["arm"]))
    scale = float(comp.setup["scale"])
    fig, axes = _figure(11, 0.5 * len(arms) + 2, 1, 2, sharey=True)
    y = np.arange(len(arms))[::-1]
    for ax, name in zip(axes, ("new_gazelles", "new_unicorns"), strict=True):
        for k, (part, colour) in enumerate((("direct", "tab:green"), ("spillover", "tab:orange"))):
            sub = s[(s["outcome"] == name) & (s["part"] == part)].set_index("arm").loc[arms]
            mean = sub["diff_mean"].to_numpy(float) / scale
            lo, hi = sub["ci_low"].to_numpy(float) / scale, sub["ci_high"].to_numpy(float) / scale
            yy = y + (0.2 if k == 0 else -0.2)
            ax.barh(yy, np.nan_to_num(mean), height=0.38, color=colour, alpha=0.75,
                    label={"direct": "firms the policy reached", "spillover": "all other firms"}[part])
            ax.errorbar(np.nan_to_num(mean), yy, xerr=np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)]),
                        fmt="none", ecolor="black", capsize=2, lw=0.7)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"additional {name.replace('new_', '')} over the window, real park", fontsize=9)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([names.get(a, a) + ("" if not s[s["arm"] == a]["reason"].iloc[0] else " (n/a)")
                             for a in arms], fontsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle("Direct effect (firms the policy reached) and spill-over (all other firms), 95% intervals",
                 fontsize=10)
    fig.savefig(path, dpi=120)
    return path

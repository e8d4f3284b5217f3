"""Compare policy interventions with the baseline over many seeds, with common random numbers.

:func:`compare_policies` runs the baseline and every policy arm over the same seeds. Each arm
at seed *s* uses the same root seed as the baseline at *s*, and every policy draws only from
its own random stream, so the two runs of a pair share all their luck (common random numbers):
the difference between them is the policy's effect in that world, and the spread of the
differences over seeds gives a paired 95 % t-interval. It writes, into ``outdir``:

* ``outcomes.parquet``: one row per arm and seed with the outcomes (new gazelles, new unicorns,
  tracks formed and created, firms born, firm survival, jobs, revenue, VC invested and
  returned, guidance money, bank lending, exits, public spending, receipts, net public cost);
* ``differences.parquet``: one row per policy arm and outcome: baseline and policy means, the
  mean paired difference, its standard deviation, the 95 % interval and whether it excludes 0;
* ``costs.parquet``: one row per policy arm: public spending, receipts and net cost, and the
  cost per additional gazelle and unicorn, with a status saying when it cannot be given
  (no public money spent, no gain distinguishable from chance, fewer than the baseline);
* ``differences.png``, ``costs.png``: plots made from those tables;
* ``report.md``: a short report in plain language with numbers and intervals, and caveats;
* ``comparison.json``: the setup (base overrides, arms, seeds, timings).

An arm is a policy configuration name (``guidance_fund``), several joined with ``+``
(``guidance_fund+scene_opening``, run together), optionally with parameters after a colon
(``local_patience:patience_years=2,entry_bonus=1.5``). ``experiments/compare_policies.py`` is
the command line.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.config import ConfigError

__all__ = ["Arm", "parse_arm", "compare_policies", "outcomes_of", "paired_differences", "cost_table", "OUTCOMES",
           "TEACHING_OVERRIDES"]

#: Defaults of the comparison: a teaching-size park, quick enough for a laptop.
TEACHING_OVERRIDES = ["scale=0.02", "years=6", "ecosystem.warmup_years=3"]

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


# --------------------------------------------------------------------------------------------
# Arms
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One arm of the comparison: a label and the configuration overrides that make it."""

    label: str
    policies: tuple[str, ...] = ()
    params: tuple[tuple[str, str, str], ...] = ()  # (policy, key, value)

    @property
    def overrides(self) -> list[str]:
        if not self.policies:
            return []
        out = [f"policy=[{','.join(self.policies)}]"]
        out += [f"policy.{p}.{k}={v}" for p, k, v in self.params]
        return out


def parse_arm(spec) -> Arm:
    """``"a"``, ``"a+b"``, ``["a", "b"]`` or ``"a:key=value,key2=value2"`` (parameters apply to
    the first policy named, or to ``policy.key`` written as ``b.key=value``)."""
    if isinstance(spec, Arm):
        return spec
    if isinstance(spec, (list, tuple)):
        spec = "+".join(str(s) for s in spec)
    spec = str(spec).strip()
    if not spec:
        raise ConfigError("an empty policy arm; name a configuration of conf/policy/ (e.g. guidance_fund).")
    names_part, _, params_part = spec.partition(":")
    names = tuple(n.strip() for n in names_part.split("+") if n.strip())
    if len(set(names)) != len(names):
        raise ConfigError(f"policy arm {spec!r} names a policy twice.")
    params = []
    for item in filter(None, (s.strip() for s in params_part.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} is not key=value.")
        owner, dot, k = key.strip().rpartition(".")
        owner = owner if dot else names[0]
        if owner not in names:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} names policy {owner!r}, which is not in the arm.")
        params.append((owner, k, value.strip()))
    shown = [f"{k}={v}" if len(names) == 1 else f"{p}.{k}={v}" for p, k, v in params]
    label = "+".join(names) + (f"[{','.join(shown)}]" if params else "")
    return Arm(label=label, policies=names, params=tuple(params))


# --------------------------------------------------------------------------------------------
# One run -> one row of outcomes
# --------------------------------------------------------------------------------------------


def outcomes_of(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The outcomes of one run, from its tables only."""
    ts = tables["timeseries"]
    firms = tables["firms"]
    tracks = tables["tracks"]
    inv = tables["investors"]
    acc = tables.get("policy_accounts")
    born = firms["born_step"] >= 0
    failed = born & (firms["end_kind"] == "failed").fillna(False)
    n_born = int(born.sum())
    formed = tracks["formed_step"]
    out = {
        "new_gazelles": float(ts["new_gazelles"].sum()),
        "new_unicorns": float(ts["new_unicorns"].sum()),
        "tracks_formed": float((formed.notna() & (formed.fillna(-1) >= 0)).sum()),
        "tracks_created": float(((tracks["born_step"] >= 0) & (tracks["created_by"] != "initial")).sum()),
        "firms_born": float(n_born),
        "survival_rate": float(1.0 - failed.sum() / n_born) if n_born else math.nan,
        "jobs": float(ts["employees"].iloc[-1]) if len(ts) else 0.0,
        "revenue": float(ts["revenue"].iloc[-1]) if len(ts) else 0.0,
        "vc_invested": float(ts["vc_invested"].sum()),
        "vc_returned": float(inv.loc[inv["kind"] == "vc", "proceeds"].sum()),
        "guidance_invested": float(ts["guidance_invested"].sum()),
        "bank_lending": float(ts["bank_lending"].sum()),
        "exits": float(ts["exits_ipo"].sum() + ts["exits_acquired"].sum()),
        "public_spending": float(ts["public_spending"].sum()),
        "public_receipts": float(acc["received"].sum()) if acc is not None and len(acc) else 0.0,
    }
    out["net_public_cost"] = out["public_spending"] - out["public_receipts"]
    return out


def _run_one(base: list[str], arm: Arm, seed: int) -> dict:
    from sim.compose import load_config
    from sim.run import run_simulation

    cfg = load_config(base + arm.overrides + [f"seed={seed}", "output.plots=false", "output.firm_years=false",
                                              "output.progress=off"])
    t0 = time.perf_counter()
    res = run_simulation(cfg, progress=False)
    row = {"arm": arm.label, "seed": int(seed), **outcomes_of(res.tables), "wall_seconds": time.perf_counter() - t0}
    return row


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _t_interval(d: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the 95 % t-interval of the mean of paired differences ``d``."""
    from scipy.stats import t

    d = d[np.isfinite(d)]
    n = d.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    sd = float(d.std(ddof=1))
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
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
            mean, sd, lo, hi = _t_interval(p - b)
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


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    outcomes: pd.DataFrame
    differences: pd.DataFrame
    costs: pd.DataFrame
    setup: dict = field(default_factory=dict)
    outdir: Path | None = None


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.io.files import atomic_write as _atomic_write

    table = pa.Table.from_pandas(df, preserve_index=False)
    _atomic_write(path, lambda fh: pq.write_table(table, fh, compression="zstd"))


def compare_policies(
    base_overrides: Sequence[str] | None = None,
    policies: Iterable | None = None,
    seeds: int | Sequence[int] = 8,
    outdir=None,
    *,
    jobs: int = 1,
    plots: bool = True,
    log=None,
) -> Comparison:
    """Run the baseline and each policy arm over the seeds; return (and write) the tables.

    ``base_overrides``: configuration overrides shared by every run (default: the teaching-size
    :data:`TEACHING_OVERRIDES`). ``policies``: arms (see the module docstring; default: every
    configuration in conf/policy/). ``seeds``: a number R (seeds 0..R-1) or a list of seeds.
    ``jobs``: parallel runs (joblib; 1 runs them one after the other). Every configuration is
    checked before the first run; a mistake raises :class:`ConfigError`.
    """
    from sim.compose import load_config, presets

    base = list(TEACHING_OVERRIDES if base_overrides is None else base_overrides)
    specs = list(presets("policy") if policies is None else policies)
    arms = [Arm(BASELINE)] + [parse_arm(s) for s in specs]
    labels = [a.label for a in arms]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"policy arm(s) {', '.join(dup)} listed twice.")
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("seeds: give at least one seed (two or more for intervals).")
    for a in arms:  # every configuration is checked before anything runs
        load_config(base + a.overrides + [f"seed={seed_list[0]}"])
    tasks = [(a, s) for a in arms for s in seed_list]
    t0 = time.perf_counter()
    if log:
        log(f"{len(arms)} arms x {len(seed_list)} seeds = {len(tasks)} runs, {jobs} at a time")
    if jobs and jobs != 1:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=jobs)(delayed(_run_one)(base, a, s) for a, s in tasks)
    else:
        rows = []
        for i, (a, s) in enumerate(tasks, 1):
            rows.append(_run_one(base, a, s))
            if log:
                log(f"  run {i}/{len(tasks)}: {a.label}, seed {s}")
    wall = time.perf_counter() - t0
    outcomes = pd.DataFrame(rows)
    outcomes["arm"] = pd.Categorical(outcomes["arm"], categories=labels, ordered=True)
    outcomes = outcomes.sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)
    outcomes["arm"] = outcomes["arm"].astype(str)
    diffs = paired_differences(outcomes)
    costs = cost_table(outcomes, diffs)
    cfg = load_config(base)
    setup = {
        "base_overrides": base,
        "arms": [{"label": a.label, "overrides": a.overrides} for a in arms],
        "seeds": seed_list,
        "scale": cfg.scale,
        "years": cfg.years,
        "start_year": cfg.ecosystem.start_year,
        "warmup_years": cfg.ecosystem.warmup_years,
        "government_budget_mcny_per_year": cfg.ecosystem.government.budget_mcny_per_year,
        "wall_seconds": round(wall, 2),
        "jobs": jobs,
    }
    comp = Comparison(outcomes=outcomes, differences=diffs, costs=costs, setup=setup)
    if outdir is not None:
        write_comparison(comp, outdir, plots=plots)
    return comp


def write_comparison(comp: Comparison, outdir, *, plots: bool = True) -> Path:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _write_parquet(comp.outcomes, outdir / "outcomes.parquet")
    _write_parquet(comp.differences, outdir / "differences.parquet")
    _write_parquet(comp.costs, outdir / "costs.parquet")
    (outdir / "comparison.json").write_text(json.dumps(comp.setup, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if plots:
        plot_comparison(outdir)
    (outdir / "report.md").write_text(render_report(outdir), encoding="utf-8")
    comp.outdir = outdir
    return outdir


def read_comparison(outdir) -> Comparison:
    outdir = Path(outdir)
    return Comparison(
        outcomes=pd.read_parquet(outdir / "outcomes.parquet"),
        differences=pd.read_parquet(outdir / "differences.parquet"),
        costs=pd.read_parquet(outdir / "costs.parquet"),
        setup=json.loads((outdir / "comparison.json").read_text(encoding="utf-8")),
        outdir=outdir,
    )


# --------------------------------------------------------------------------------------------
# Plots and report: from the written tables only
# --------------------------------------------------------------------------------------------


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
    from sim.policies.registry import CONFIGS, REGISTRY

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

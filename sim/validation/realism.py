"""Realism panels: regularities of firm demography and venture returns, from a run's output tables.

These are not targets from the reports; they let a reader judge whether the simulated firms and
investors behave like real ones. For each run (:func:`run_samples` and :func:`run_stats`) and
pooled over runs (:func:`make_panels`):

* **firm sizes**: employees and revenue of the live firms at the last observed year end
  (firm_years), their complementary CDF and a Hill estimate of the Pareto tail exponent;
* **growth rates**: annual log growth of employees and revenue of firms alive at two
  consecutive year ends, with normal and Laplace (tent-shaped) fits and their AIC difference;
* **survival by age**: Kaplan-Meier survival against failure from the firms table (an exit by
  IPO or acquisition, graduation by age or the end of the run censor a firm's life);
* **time from founding** to the first gazelle and the first unicorn month;
* **investment multiples** of VC positions: share of losses (multiple < 1), of write-offs, of
  10x or more, and the share of all value returned by the top decile of positions.

Everything is computed from tables (``tables`` dict + ``summary``), never from live model state.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.io.plots import hill_tail_exponent

__all__ = [
    "EXTERNAL_REFERENCES",
    "run_samples",
    "run_stats",
    "kaplan_meier",
    "laplace_vs_normal",
    "make_panels",
]

#: Figures from outside the seed reports, shown for orientation in the report, labelled external.
EXTERNAL_REFERENCES = {
    "size": "All US firms: firm sizes close to Zipf, tail exponent alpha ≈ 1 (Axtell 2001, Science). "
    "The model tracks young firms only (up to ecosystem.firms.graduation_age_years), whose tail is expected to be "
    "thinner (alpha > 1).",
    "growth": "Annual log growth rates of firms are tent-shaped (Laplace), not Gaussian: Stanley et al. "
    "1996 (Nature), Bottazzi & Secchi 2006. A Laplace fit beating a normal fit (AIC difference > 0) and excess "
    "kurtosis near 3 are the signature.",
    "survival": "About 80 % of new US establishments survive their first year and about half their "
    "fifth (US BLS Business Employment Dynamics). In China (国家工商总局, 全国内资企业生存时间分析报告, 2013) "
    "the yearly death rate of new firms is 1.6 % in the founding year, 6.3 % in the second and 9.5 % in the "
    "third (the peak), above 8 % to the seventh year and lower after it; about 69 % survive five years.",
    "time_to_stage": "Report figure (not external): the fastest Chinese firms become unicorns in 3-5 "
    "years (report-figures.md §2.3, seeds/002_a935e4fe392ee53f.txt:899-901).",
    "vc": "US VC financings 2004-2013: about 65 % returned less than 1x and about 4 % returned 10x or "
    "more, and those few produced most of the returns (Correlation Ventures, widely reported).",
}

SURVIVAL_YEARS = (1, 2, 3, 5, 7)


# --------------------------------------------------------------------------------------------
# Per-run samples and statistics
# --------------------------------------------------------------------------------------------


def _steps(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


def run_samples(tables: dict, summary: dict, *, max_growth: int = 100_000, seed: int = 0) -> dict:
    """The samples behind the panels, for one run (small enough to send between processes).

    ``max_growth`` caps the number of growth observations kept (a fixed-seed subsample; the
    statistics of :func:`run_stats` use every observation).
    """
    out: dict = {}
    fy = tables.get("firm_years")
    if fy is not None and len(fy):
        last = fy[fy["year"] == fy["year"].max()]
        out["sizes"] = pd.DataFrame({"employees": last["employees"].to_numpy(float),
                                     "revenue": last["revenue"].to_numpy(float)})
        g = _growth(fy)
        out["growth_all"] = g
        if len(g) > max_growth:
            g = g.sample(n=max_growth, random_state=seed)
        out["growth"] = g.reset_index(drop=True)
    firms = tables.get("firms")
    ts = tables.get("timeseries")
    if firms is not None and len(firms):
        last_step = int(ts["step"].max()) if ts is not None and len(ts) else int(np.nanmax(_steps(firms["born_step"])))
        born = firms["born_step"].to_numpy(float)
        end = _steps(firms["end_step"])
        ended = ~np.isnan(end)
        duration = np.where(ended, end - born, last_step + 1 - born)
        failed = (firms["end_kind"] == "failed").to_numpy(dtype=bool, na_value=False)
        out["survival"] = pd.DataFrame({"months": duration.astype(float), "failed": failed})
        g = _steps(firms["gazelle_step"])
        u = _steps(firms["unicorn_step"])
        out["to_gazelle"] = ((g - born)[~np.isnan(g)] / 12.0).astype(float)
        out["to_unicorn"] = ((u - born)[~np.isnan(u)] / 12.0).astype(float)
    pos = tables.get("positions")
    if pos is not None and len(pos):
        vc = pos[(pos["investor_kind"] == "vc") & (pos["invested"] > 0)]
        out["vc"] = pd.DataFrame(
            {
                "invested": vc["invested"].to_numpy(float),
                "value": (vc["proceeds"] + vc["residual_value"]).to_numpy(float),
                "multiple": vc["multiple"].to_numpy(dtype=float, na_value=np.nan),
                "status": vc["status"].astype(str).to_numpy(),
            }
        )
    return out


def _growth(fy: pd.DataFrame) -> pd.DataFrame:
    """Annual log growth of employees and revenue for firms alive at two consecutive year ends, in
    the order of ``fy``'s rows (each firm-year once: a firm's row is matched with its row a year on)."""
    firm = fy["firm_id"].to_numpy(np.int64)
    year = fy["year"].to_numpy(np.int64)
    emp = fy["employees"].to_numpy(float)
    rev = fy["revenue"].to_numpy(float)
    if firm.size == 0:
        return pd.DataFrame({"employees": np.empty(0), "revenue": np.empty(0)})
    span = int(year.max() - year.min()) + 2
    key = firm * span + (year - year.min())
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    nxt = np.searchsorted(sorted_key, key + 1)
    found = nxt < key.size
    found[found] = sorted_key[nxt[found]] == key[found] + 1
    here, there = np.flatnonzero(found), order[nxt[found]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ge = np.log(emp[there] / emp[here])
        gr = np.log(rev[there] / rev[here])
    return pd.DataFrame({"employees": ge, "revenue": gr}).replace([np.inf, -np.inf], np.nan)


def kaplan_meier(months: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival curve: columns ``months`` (event times), ``survival``, ``at_risk``, ``events``.

    ``survival`` at a row is the probability of surviving beyond that many months.
    """
    months = np.asarray(months, dtype=float)
    event = np.asarray(event, dtype=bool)
    keep = np.isfinite(months)
    months, event = months[keep], event[keep]
    if months.size == 0:
        return pd.DataFrame({"months": [], "survival": [], "at_risk": [], "events": []})
    times, inv = np.unique(months, return_inverse=True)
    d = np.bincount(inv, weights=event.astype(float), minlength=len(times))
    c = np.bincount(inv, minlength=len(times)).astype(float)
    at_risk = c[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - d / at_risk, 1.0)
    surv = np.cumprod(factor)
    sel = d > 0
    return pd.DataFrame({"months": times[sel], "survival": surv[sel], "at_risk": at_risk[sel], "events": d[sel]})


def _km_at(curve: pd.DataFrame, months: float) -> float:
    if curve.empty:
        return 1.0
    sel = curve["months"].to_numpy() <= months
    return float(curve["survival"].to_numpy()[sel][-1]) if sel.any() else 1.0


def laplace_vs_normal(x: np.ndarray) -> dict[str, float]:
    """Maximum-likelihood normal and Laplace fits of ``x``; ``delta_aic`` > 0 favours Laplace."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 10:
        return {"n": float(n)}
    mu, sd = float(x.mean()), float(x.std())
    med = float(np.median(x))
    b = float(np.mean(np.abs(x - med)))
    out = {"n": float(n), "mean": mu, "sd": sd, "median": med, "laplace_b": b}
    if sd > 0 and b > 0:
        ll_norm = -0.5 * n * math.log(2 * math.pi * sd * sd) - 0.5 * n
        ll_lap = -n * math.log(2 * b) - n
        out["delta_aic"] = 2.0 * (ll_lap - ll_norm)
        out["delta_aic_per_obs"] = out["delta_aic"] / n
        z = (x - mu) / sd
        out["excess_kurtosis"] = float(np.mean(z**4) - 3.0)
    out["share_within_0.1"] = float(np.mean(np.abs(x - med) <= 0.1))
    return out


def run_stats(samples: dict) -> dict[str, float]:
    """Flat dict ``panel.statistic -> value`` of one run's samples (NaN when there is no data)."""
    s: dict[str, float] = {}
    sizes = samples.get("sizes")
    if sizes is not None and len(sizes):
        for col in ("employees", "revenue"):
            x = sizes[col].to_numpy(float)
            s[f"size.{col}.n"] = float(len(x))
            s[f"size.{col}.median"] = float(np.median(x))
            s[f"size.{col}.mean"] = float(np.mean(x))
            s[f"size.{col}.p99"] = float(np.percentile(x, 99))
            s[f"size.{col}.max"] = float(np.max(x))
            h = hill_tail_exponent(x, top_fraction=0.1)
            s[f"size.{col}.hill_alpha_top10"] = h["alpha"] if h else math.nan
            s[f"size.{col}.hill_se"] = h["se"] if h else math.nan
    g = samples.get("growth_all", samples.get("growth"))
    if g is not None and len(g):
        for col in ("employees", "revenue"):
            for k, v in laplace_vs_normal(g[col].to_numpy(float)).items():
                s[f"growth.{col}.{k}"] = v
    sv = samples.get("survival")
    if sv is not None and len(sv):
        curve = kaplan_meier(sv["months"].to_numpy(), sv["failed"].to_numpy())
        s["survival.firms"] = float(len(sv))
        s["survival.failures"] = float(sv["failed"].sum())
        for y in SURVIVAL_YEARS:
            s[f"survival.km_{y}y"] = _km_at(curve, 12 * y)
    for key in ("to_gazelle", "to_unicorn"):
        t = samples.get(key)
        if t is None:
            continue
        s[f"{key}.n"] = float(len(t))
        if len(t):
            s[f"{key}.min"] = float(np.min(t))
            s[f"{key}.p05"] = float(np.percentile(t, 5))
            s[f"{key}.median"] = float(np.median(t))
            s[f"{key}.p90"] = float(np.percentile(t, 90))
    vc = samples.get("vc")
    if vc is not None:
        s["vc.positions"] = float(len(vc))
        if len(vc):
            m = vc["multiple"].to_numpy(float)
            s["vc.loss_share"] = float(np.mean(m < 1.0))
            s["vc.writeoff_share"] = float(np.mean(vc["status"].to_numpy() == "written_off"))
            s["vc.share_10x_or_more"] = float(np.mean(m >= 10.0))
            s["vc.top_decile_value_share"] = _top_decile_share(vc)
            s["vc.tvpi"] = float(vc["value"].sum() / vc["invested"].sum())
            real = vc[vc["status"] != "unrealized"]
            s["vc.realized_positions"] = float(len(real))
            if len(real):
                s["vc.realized_loss_share"] = float(np.mean(real["multiple"].to_numpy(float) < 1.0))
    return s


def _top_decile_share(vc: pd.DataFrame) -> float:
    """Share of all value returned (proceeds + residual) that the top 10 % of positions by multiple return."""
    total = float(vc["value"].sum())
    if total <= 0 or len(vc) == 0:
        return math.nan
    order = np.argsort(-vc["multiple"].to_numpy(float), kind="stable")
    k = max(1, int(math.ceil(0.1 * len(vc))))
    return float(vc["value"].to_numpy(float)[order[:k]].sum() / total)


# --------------------------------------------------------------------------------------------
# Pooled panels: data files and plots
# --------------------------------------------------------------------------------------------


def _pool(samples_by_seed: dict[int, dict], key: str):
    parts = []
    for seed, s in samples_by_seed.items():
        x = s.get(key)
        if x is None:
            continue
        if isinstance(x, pd.DataFrame):
            parts.append(x.assign(seed=seed))
        else:
            parts.append(pd.DataFrame({"value": np.asarray(x, float), "seed": seed}))
    return pd.concat(parts, ignore_index=True) if parts else None


def _ccdf(x: np.ndarray, max_points: int = 400) -> pd.DataFrame:
    x = np.sort(np.asarray(x, float)[np.isfinite(x) & (np.asarray(x, float) > 0)])
    n = x.size
    if n == 0:
        return pd.DataFrame({"x": [], "ccdf": []})
    p = 1.0 - np.arange(n) / n  # P(X >= x_i)
    idx = np.unique(np.geomspace(1, n, num=min(max_points, n)).astype(int) - 1)
    idx = np.unique(np.concatenate([idx, [n - 1]]))
    return pd.DataFrame({"x": x[idx], "ccdf": p[idx]})


class _Panels:
    """Where the panels go: figures with a common title, and the files written."""

    def __init__(self, outdir: Path, title: str):
        self.outdir = Path(outdir)
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.files: dict[str, Path] = {}

    def figure(self, w: float, h: float, ncols: int):
        f = Figure(figsize=(w, h), dpi=110, layout="constrained")
        FigureCanvasAgg(f)
        axes = f.subplots(1, ncols)
        if self.title:
            f.suptitle(self.title, fontsize=10)
        return f, np.atleast_1d(axes)

    def save(self, f, name: str) -> None:
        path = self.outdir / name
        f.savefig(path, dpi=110, metadata={"Software": None})
        self.files[name] = path

    def csv(self, df: pd.DataFrame, name: str) -> None:
        df.to_csv(self.outdir / name, index=False)
        self.files[name] = self.outdir / name


def _none(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def make_panels(samples_by_seed: dict[int, dict], outdir: Path, *, title: str = "") -> dict[str, Path]:
    """Write the pooled realism data (CSV) and plots (PNG) into ``outdir``; return the files written."""
    panels = _Panels(outdir, title)
    _size_panel(panels, _pool(samples_by_seed, "sizes"))
    _growth_panel(panels, _pool(samples_by_seed, "growth"))
    _survival_panel(panels, _pool(samples_by_seed, "survival"))
    _stage_time_panel(panels, samples_by_seed)
    _vc_panel(panels, _pool(samples_by_seed, "vc"))
    return panels.files


def _size_panel(panels: _Panels, sizes) -> None:
    f, axes = panels.figure(10, 4, 2)
    rows = []
    for ax, col, unit in zip(axes, ("employees", "revenue"), ("employees", "mcny/yr"), strict=False):
        if sizes is None or sizes.empty:
            _none(ax, "no firm-year data")
            continue
        c = _ccdf(sizes[col].to_numpy())
        rows.append(c.assign(measure=col))
        ax.loglog(c["x"], c["ccdf"], ".", ms=3, color="#4C72B0", label="simulated (pooled)")
        h = hill_tail_exponent(sizes[col].to_numpy(), top_fraction=0.1)
        if h:
            xs = np.geomspace(h["threshold"], c["x"].max(), 20)
            ax.loglog(xs, 0.1 * (xs / h["threshold"]) ** (-h["alpha"]), "-", color="#C44E52",
                      label=f"Hill fit, top 10 %: alpha = {h['alpha']:.2f} ± {h['se']:.2f}")
        ax.set_xlabel(f"{col} ({unit}), live firms at the last year end")
        ax.set_ylabel("P(X ≥ x)")
        ax.legend(fontsize=8)
    panels.save(f, "size_ccdf.png")
    if rows:
        panels.csv(pd.concat(rows, ignore_index=True), "size_ccdf.csv")


def _growth_panel(panels: _Panels, growth) -> None:
    f, axes = panels.figure(10, 4, 2)
    rows = []
    for ax, col in zip(axes, ("employees", "revenue"), strict=False):
        x = growth[col].to_numpy(float) if growth is not None else np.array([])
        x = x[np.isfinite(x)]
        if x.size < 10:
            _none(ax, "too few firm-year pairs")
            continue
        lo, hi = np.percentile(x, [0.5, 99.5])
        bins = np.linspace(lo, hi, 61)
        dens, edges = np.histogram(x, bins=bins, density=True)
        mids = 0.5 * (edges[1:] + edges[:-1])
        fit = laplace_vs_normal(x)
        sd, b = fit.get("sd"), fit.get("laplace_b")
        norm = np.exp(-0.5 * ((mids - fit["mean"]) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) if sd else np.nan * mids
        lap = np.exp(-np.abs(mids - fit["median"]) / b) / (2 * b) if b else np.nan * mids
        rows.append(pd.DataFrame({"measure": col, "bin_mid": mids, "density": dens, "normal_fit": norm,
                                  "laplace_fit": lap}))
        sel = dens > 0
        ax.semilogy(mids[sel], dens[sel], "o", ms=3, color="#4C72B0", label="simulated (pooled)")
        ax.semilogy(mids, norm, "--", color="0.4", label="normal fit")
        ax.semilogy(mids, lap, "-", color="#C44E52", label="Laplace fit")
        ax.set_xlabel(f"annual log growth of {col}")
        ax.set_ylabel("density (log scale)")
        ax.set_ylim(max(dens[sel].min() / 3, 1e-4) if sel.any() else 1e-4, None)
        ax.set_title(f"ΔAIC (normal − Laplace) per obs = {fit.get('delta_aic_per_obs', float('nan')):.3f}; excess "
                     f"kurtosis {fit.get('excess_kurtosis', float('nan')):.2f}", fontsize=8)
        ax.legend(fontsize=8)
    panels.save(f, "growth_rates.png")
    if rows:
        panels.csv(pd.concat(rows, ignore_index=True), "growth_rates.csv")


def _survival_panel(panels: _Panels, sv) -> None:
    f, axes = panels.figure(6, 4, 1)
    ax = axes[0]
    if sv is None or sv.empty:
        _none(ax, "no firms")
    else:
        for _, part in sv.groupby("seed"):
            c = kaplan_meier(part["months"].to_numpy(), part["failed"].to_numpy())
            ax.step(c["months"] / 12, c["survival"], where="post", color="0.8", lw=0.8)
        c = kaplan_meier(sv["months"].to_numpy(), sv["failed"].to_numpy())
        ax.step(c["months"] / 12, c["survival"], where="post", color="#4C72B0", lw=1.8,
                label="pooled (grey: each seed)")
        panels.csv(c.assign(years=c["months"] / 12), "survival_km.csv")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("age (years)")
        ax.set_ylabel("share not failed (Kaplan-Meier)")
        ax.legend(fontsize=8)
    panels.save(f, "survival.png")


def _stage_time_panel(panels: _Panels, samples_by_seed: dict) -> None:
    f, axes = panels.figure(10, 4, 2)
    rows = []
    for ax, key, label in zip(axes, ("to_gazelle", "to_unicorn"), ("gazelle", "unicorn"), strict=False):
        t = _pool(samples_by_seed, key)
        if t is None or t.empty:
            _none(ax, f"no firm became a {label}")
            continue
        x = t["value"].to_numpy(float)
        ax.hist(x, bins=np.arange(0, max(11, math.ceil(x.max()) + 1), 0.5), color="#DD8452")
        ax.axvline(np.median(x), color="k", ls="--", lw=1, label=f"median {np.median(x):.1f} y (n = {x.size})")
        ax.set_xlabel(f"years from founding to first {label} month")
        ax.set_ylabel("firms (all seeds)")
        ax.legend(fontsize=8)
        rows.append(t.assign(stage=label).rename(columns={"value": "years"}))
    panels.save(f, "time_to_stage.png")
    if rows:
        panels.csv(pd.concat(rows, ignore_index=True), "time_to_stage.csv")


def _vc_panel(panels: _Panels, vc) -> None:
    f, axes = panels.figure(10, 4, 2)
    if vc is None or vc.empty:
        for ax in axes:
            _none(ax, "no VC positions")
    else:
        m = vc["multiple"].to_numpy(float)
        edges = np.concatenate([[0, 0.01], np.geomspace(0.05, max(100.0, np.nanmax(m) * 1.01), 30)])
        counts, _ = np.histogram(np.clip(m, 0, None), bins=edges)
        ax = axes[0]
        ax.bar(np.arange(len(counts)), counts / max(len(m), 1), color="#8172B3")
        ticks = [0, 1] + [int(i) for i in np.searchsorted(edges, [0.1, 1, 10, 100]) if i < len(counts)]
        ax.set_xticks(sorted(set(ticks)))
        ax.set_xticklabels([f"{edges[i]:g}" for i in sorted(set(ticks))])
        ax.set_xlabel("multiple (proceeds + residual) / invested, left edge of bin")
        ax.set_ylabel("share of VC positions")
        ax.set_title(f"loss (< 1x) {np.mean(m < 1):.0%}; 10x+ {np.mean(m >= 10):.1%}", fontsize=9)
        order = np.argsort(-m, kind="stable")
        val = vc["value"].to_numpy(float)[order]
        cum = np.cumsum(val) / max(val.sum(), 1e-12)
        share = np.arange(1, len(m) + 1) / len(m)
        ax = axes[1]
        ax.plot(share, cum, color="#8172B3")
        ax.axvline(0.1, color="0.5", ls=":", lw=1)
        ax.set_xlabel("share of positions, best multiple first")
        ax.set_ylabel("share of all value returned")
        k = max(1, int(math.ceil(0.1 * len(m))))
        ax.set_title(f"top decile returns {cum[k - 1]:.0%} of the value", fontsize=9)
        panels.csv(pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:], "share": counts / max(len(m), 1)}),
                   "vc_multiples_hist.csv")
        idx = np.unique(np.linspace(0, len(m) - 1, min(len(m), 500)).astype(int))
        panels.csv(pd.DataFrame({"share_of_positions": share[idx], "share_of_value": cum[idx]}), "vc_concentration.csv")
    panels.save(f, "vc_multiples.png")

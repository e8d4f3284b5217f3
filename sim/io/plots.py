"""Standard plots of a run, made only from its output files (never from live model state).

``make_plots(outdir)`` reads the Parquet files and summary.json of a finished run with
:func:`sim.io.files.read_results` (of ``firms`` and ``firm_years`` only the columns it plots)
and writes, atomically, into the same directory:

* ``funnel.png``: live startups, gazelles and unicorns over time (log scale), and new
  gazelles and new unicorns per calendar year;
* ``size_distribution.png``: complementary CDF of the employees of live firms at the last
  observed year end, log-log, with a Hill estimate of the tail exponent on the top decile;
* ``unicorns_by_track.png``: firms that were ever unicorns, by track (top 20), coloured by
  the track's direction.

Matplotlib is used through ``Figure`` and the Agg canvas directly, so no display is needed
and the process-wide backend and rcParams are left alone. Chinese labels (track names,
directions, 瞪羚, 独角兽) are drawn with the font of :mod:`sim.fonts`, which the package installs.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from sim import fonts
from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS
from sim.io.files import atomic_write, read_results

__all__ = ["make_plots", "figures", "hill_tail_exponent", "PLOT_FILES"]

PLOT_FILES = (
    "funnel.png",
    "size_distribution.png",
    "unicorns_by_track.png",
    "tracks_by_direction.png",
    "track_genealogy.png",
)
TOP_TRACKS = 20
DPI = 120

_STAGE_COLORS = {"startups": "#4C72B0", "gazelles": "#DD8452", "unicorns": "#8172B3"}
_DIRECTION_COLORS = dict(
    zip(DIRECTIONS, ("#4C72B0", "#55A868", "#C44E52", "#8172B3", "#CCB974", "#64B5CD"), strict=True)
)


def hill_tail_exponent(values, top_fraction: float = 0.1, min_k: int = 5) -> dict[str, float] | None:
    """Hill estimate of the Pareto tail exponent alpha of ``values`` (P(X >= x) ~ x^-alpha).

    Uses the ``k = floor(top_fraction * n)`` largest positive values above the threshold
    ``u``, the (k+1)-th largest: ``alpha = k / sum(log(x_i / u))``, standard error
    ``alpha / sqrt(k)``. Returns None when fewer than ``min_k`` values are in the tail or the
    tail is degenerate (all equal).
    """
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    x = x[np.isfinite(x) & (x > 0)]
    n = len(x)
    k = int(math.floor(top_fraction * n))
    if k < min_k or k >= n:
        return None
    u = x[k]
    s = float(np.sum(np.log(x[:k] / u)))
    if s <= 0:
        return None
    alpha = k / s
    return {"alpha": alpha, "se": alpha / math.sqrt(k), "k": k, "n": n, "threshold": float(u)}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _source_line(summary: dict[str, Any]) -> str:
    eco = summary.get("ecosystem")
    if isinstance(eco, dict):
        eco = eco.get("name")
    parts = [f"seed={summary.get('seed', '?')}", f"scale={summary.get('scale', '?')}"]
    if eco:
        parts.append(f"ecosystem={eco}")
    if summary.get("years") is not None:
        parts.append(f"years={summary.get('years')}")
    text = "source: innovation-ecosystem simulation, " + ", ".join(parts)
    if summary.get("finished") is not True:
        text += "  [run NOT finished: partial results]"
    return text


def _new_figure(width: float, height: float, summary: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(h_pad=0.08, w_pad=0.08)
    fig.supxlabel(_source_line(summary), fontsize=7, color="0.4", x=0.01, ha="left")
    return fig


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="0.3", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Figure, path: Path) -> Path:
    # zlib level 1: the PNG encoder was a fifth of the plotting time at the default level
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=DPI, metadata={"Software": None},
                                                     pil_kwargs={"compress_level": 1}))


def _plain_log_ticks(*axes_of_log_scale) -> None:
    """Log-scale axes labelled 1, 10, 100, ... in plain numbers (the default 10^k labels go
    through matplotlib's mathtext parser, which costs more than a whole plot the first time)."""
    for axis in axes_of_log_scale:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.10g}" if 1e-3 <= v < 1e7 else f"{v:.0e}"))
        axis.set_minor_formatter(NullFormatter())


def _start_year(timeseries: pd.DataFrame, summary: dict[str, Any]) -> int | None:
    cfg = summary.get("config") or {}
    eco = cfg.get("ecosystem") if isinstance(cfg, dict) else None
    if isinstance(eco, dict) and isinstance(eco.get("start_year"), int):
        return eco["start_year"]
    if timeseries is not None and len(timeseries):
        row = timeseries.iloc[0]
        return int(row["year"]) - int(row["step"]) // 12
    return None


# --------------------------------------------------------------------------------------------
# The plots
# --------------------------------------------------------------------------------------------


def _plot_funnel(ts: pd.DataFrame | None, summary: dict[str, Any]) -> Figure:
    fig = _new_figure(9, 7.5, summary)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    fig.suptitle("Funnel: startups → gazelles (瞪羚) → unicorns (独角兽)", fontsize=13)
    if ts is None or ts.empty:
        _note(ax1, "No time-series rows: the observed window is empty (years=0?).")
        _note(ax2, "")
        return fig
    ts = ts.sort_values("step")
    t = ts["year"].to_numpy(dtype=float) + ts["month"].to_numpy(dtype=float) / 12.0  # end of the month
    for col, label in (("startups", "startups"), ("gazelles", "gazelles"), ("unicorns", "unicorns")):
        y = ts[col].to_numpy(dtype=float)
        y = np.where(y > 0, y, np.nan)  # zero cannot be shown on a log axis
        ax1.plot(t, y, color=_STAGE_COLORS[col], lw=2, label=f"{label} (end: {int(ts[col].iloc[-1]):,})")
    ax1.set_yscale("log")
    _plain_log_ticks(ax1.yaxis)
    zeros = (ts[["startups", "gazelles", "unicorns"]].to_numpy() == 0).any()
    ax1.set_ylabel("live firms at month end\n(count, log scale" + ("; zeros not drawn)" if zeros else ")"))
    ax1.set_title("Live firms by stage", fontsize=11, loc="left")
    ax1.grid(True, which="major", axis="y", alpha=0.3)
    ax1.grid(True, which="minor", axis="y", alpha=0.1)
    ax1.grid(True, which="minor", axis="x", alpha=0.3)  # year boundaries (ticks set on ax2)
    ax1.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=9, frameon=False, borderaxespad=0.1)
    if not np.isfinite(ax1.get_ylim()).all() or (ts[["startups", "gazelles", "unicorns"]].to_numpy() == 0).all():
        ax1.set_yscale("linear")

    per_year = ts.groupby("year").agg(
        new_gazelles=("new_gazelles", "sum"), new_unicorns=("new_unicorns", "sum"), months=("step", "size")
    )
    years = per_year.index.to_numpy(dtype=float)
    w = 0.38
    for off, col, label in ((0.06, "new_gazelles", "new gazelles"), (0.56, "new_unicorns", "new unicorns")):
        color = _STAGE_COLORS[col.removeprefix("new_")]
        vals = per_year[col].to_numpy()
        bars = ax2.bar(years + off, vals, width=w, align="edge", color=color, label=label)
        if len(years) <= 15:
            ax2.bar_label(bars, labels=[f"{v:,}" for v in vals], fontsize=8, padding=2)
        elif len(years) <= 40:
            ax2.bar_label(bars, labels=[f"{v:,}" for v in vals], fontsize=6, padding=2, rotation=90)
    for y, months in per_year["months"].items():
        if months < 12:
            ax2.text(
                y + 0.5,
                0.98,
                f"{months} months",
                transform=ax2.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=8,
                color="0.4",
            )
    ax2.set_ylabel("firms per calendar year\n(count)")
    ax2.set_title("New gazelles and new unicorns per year", fontsize=11, loc="left")
    ax2.margins(y=0.15)
    ax2.grid(True, axis="y", alpha=0.3)
    ax2.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=9, frameon=False, borderaxespad=0.1)
    every = max(1, math.ceil(len(years) / 15))  # keep year labels readable on long runs
    ax2.set_xticks(years + 0.5, [str(int(y)) if i % every == 0 else "" for i, y in enumerate(years)])
    ax2.set_xticks(np.append(years, years[-1] + 1), minor=True)
    ax2.tick_params(axis="x", which="major", length=0)
    ax2.tick_params(axis="x", which="minor", length=6)
    ax2.set_xlabel("calendar year")
    ax2.set_xlim(years[0], years[-1] + 1)
    return fig


def _plot_size_distribution(fy: pd.DataFrame | None, summary: dict[str, Any]) -> Figure:
    fig = _new_figure(7.5, 6, summary)
    ax = fig.subplots()
    if fy is None or fy.empty:
        fig.suptitle("Firm size distribution", fontsize=13)
        why = "firm_years.parquet was not written (output.firm_years=false)" if fy is None else "firm_years has no rows"
        _note(ax, f"No firm-year data: {why}.")
        return fig
    last = int(fy["year"].max())
    x = fy.loc[fy["year"] == last, "employees"].to_numpy(dtype=float)
    n_all = len(x)
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    fig.suptitle(f"Firm size distribution: live firms at the end of {last}", fontsize=13)
    if len(x) == 0:
        _note(ax, f"No live firm with a positive headcount at the end of {last}.")
        return fig
    n = len(x)
    ccdf = 1.0 - np.arange(n) / n  # P(X >= x_i)
    if n > 4000:  # thin the bulk for large runs, keep every point of the far tail
        keep = np.unique(n - np.round(np.geomspace(1, n, 4000)).astype(int))
        x_plot, ccdf_plot = x[keep], ccdf[keep]
    else:
        x_plot, ccdf_plot = x, ccdf
    ax.loglog(x_plot, ccdf_plot, ls="none", marker="o", ms=3, alpha=0.6, color="#4C72B0", label="live firms (n = "
                                                                                                f"{n:,})")
    fit = hill_tail_exponent(x)
    if fit is not None:
        xs = np.geomspace(fit["threshold"], x[-1], 50)
        ys = (fit["k"] / n) * (xs / fit["threshold"]) ** (-fit["alpha"])
        ax.loglog(
            xs, ys, color="#C44E52", lw=2, ls="--",
            label=f"Hill tail exponent α = {fit['alpha']:.2f} ± {fit['se']:.1g}\n(top 10 %: k = {fit['k']}, x ≥ "
                  f"{fit['threshold']:,.3g})",
        )
    else:
        ax.plot([], [], " ", label=f"too few firms to fit the tail (n = {n})")
    if n < n_all:
        ax.plot([], [], " ", label=f"({n_all - n} firms with 0 employees not shown)")
    _plain_log_ticks(ax.xaxis, ax.yaxis)
    ax.set_xlabel("employees per firm (persons, log scale)")
    ax.set_ylabel("share of firms with at least x employees\nP(X ≥ x), log scale")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    ax.legend(loc="lower left", fontsize=9)
    return fig


def _plot_unicorns_by_track(firms: pd.DataFrame | None, tracks: pd.DataFrame | None, summary: dict[str, Any]) -> Figure:
    if firms is None or tracks is None:
        counts = pd.Series([], dtype="int64")
    else:
        counts = firms.loc[firms["unicorn_step"].notna(), "track_id"].value_counts()
    if counts.empty:
        fig = _new_figure(8, 4, summary)
        ax = fig.subplots()
        fig.suptitle("Firms that were ever unicorns, by track", fontsize=13)
        _note(ax, "No firm became a unicorn in this run." if firms is not None else "firms.parquet is missing.")
        return fig
    info = tracks.set_index("track_id")
    df = pd.DataFrame({"track_id": counts.index.astype(int), "unicorns": counts.to_numpy()})
    df = df.sort_values(["unicorns", "track_id"], ascending=[False, True]).reset_index(drop=True)
    n_tracks = len(df)
    df = df.head(TOP_TRACKS)

    def label(tid: int) -> str:
        if tid not in info.index:
            return f"track {tid}"
        row = info.loc[tid]
        return str(row["name"])

    def direction(tid: int) -> str | None:
        return str(info.loc[tid, "direction"]) if tid in info.index else None

    df["label"] = [label(t) for t in df["track_id"]]
    df["direction"] = [direction(t) for t in df["track_id"]]
    fig = _new_figure(8.5, 1.8 + 0.32 * len(df), summary)
    ax = fig.subplots()
    y = np.arange(len(df))[::-1]
    colors = [_DIRECTION_COLORS.get(d, "0.6") for d in df["direction"]]
    bars = ax.barh(y, df["unicorns"], color=colors, height=0.7)
    ax.bar_label(bars, labels=[f"{v:,}" for v in df["unicorns"]], padding=3, fontsize=8)
    ax.set_yticks(y, df["label"])
    ax.set_xlabel("firms that ever became unicorns (count)")
    ax.set_ylabel("track (founding track of the firm)")
    shown = (
        f"top {len(df)} of {n_tracks} tracks"
        if n_tracks > len(df)
        else f"{n_tracks} track{'s' if n_tracks > 1 else ''}"
    )
    fig.suptitle(f"Firms that were ever unicorns, by track ({shown}; {int(counts.sum()):,} firms)", fontsize=12)
    ax.margins(x=0.12)
    ax.grid(True, axis="x", alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    present = [d for d in DIRECTIONS if d in set(df["direction"])]
    handles = [
        Patch(color=_DIRECTION_COLORS[d], label=f"{d} {DIRECTION_EN[d]}") for d in present
    ]
    if handles:
        ax.legend(
            handles=handles, title="direction", loc="upper left", bbox_to_anchor=(1.01, 1.0),
            fontsize=8, title_fontsize=9, frameon=False,
        )
    return fig


def _plot_tracks_by_direction(ts: pd.DataFrame | None, summary: dict[str, Any]) -> Figure:
    """Active new tracks (and main tracks) per direction, by calendar year."""
    fig = _new_figure(10, 4.2, summary)
    axes = fig.subplots(1, 2, sharex=True)
    fig.suptitle("Tracks (赛道) per direction over time", fontsize=12)
    cols = [f"new_tracks_{DIRECTION_EN[d]}" for d in DIRECTIONS]
    if ts is None or len(ts) == 0 or cols[0] not in ts.columns:
        _note(axes[0], "No observed months in this run.")
        axes[1].set_axis_off()
        return fig
    yearly = ts.groupby("year").last()
    for ax, level, title in ((axes[0], "new", "new tracks (新赛道)"), (axes[1], "main", "main tracks (主赛道)")):
        for d in DIRECTIONS:
            ax.plot(yearly.index, yearly[f"{level}_tracks_{DIRECTION_EN[d]}"], marker="o", ms=3,
                    color=_DIRECTION_COLORS[d], label=f"{d} {DIRECTION_EN[d]}")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("year (end of year)")
        ax.set_ylabel("active tracks (count)")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.yaxis.get_major_locator().set_params(integer=True)
    axes[1].legend(title="direction", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


_MECHANISM_COLORS = {"fission": "#DD8452", "fusion": "#8172B3", "breakthrough": "#C44E52"}


def _plot_track_genealogy(tracks: pd.DataFrame | None, summary: dict[str, Any]) -> Figure:
    """Tracks created in the run, placed at their birth month, linked to their parents."""
    created = None if tracks is None else tracks[tracks["created_by"] != "initial"]
    if created is None or created.empty:
        fig = _new_figure(9, 4, summary)
        ax = fig.subplots()
        fig.suptitle("Track genealogy", fontsize=12)
        _note(
            ax,
            "No track was created, split, fused or merged in this run."
            if tracks is not None
            else "tracks.parquet is missing.",
        )
        return fig
    info = tracks.set_index("track_id")
    involved = set(created["track_id"])
    for p in created["parent_ids"]:
        involved.update(int(x) for x in p)
    merged = tracks[tracks["end_kind"].fillna("") == "merged"]
    involved.update(merged["track_id"].astype(int))
    involved.update(int(x) for x in merged["merged_into"].dropna())
    order = sorted(
        involved, key=lambda t: (DIRECTIONS.index(info.loc[t, "direction"]), int(info.loc[t, "born_step"]), t)
    )
    ypos = {t: i for i, t in enumerate(order)}
    start = _start_year(None, summary) or 0

    def x_of(step):
        return start + float(step) / 12.0

    x0 = start - 0.5
    fig = _new_figure(11, 2.0 + 0.16 * len(order), summary)
    ax = fig.subplots()
    segments, colors, widths = [], [], []
    for t in order:
        row = info.loc[t]
        born = x_of(max(int(row["born_step"]), 0)) if row["created_by"] != "initial" else x0
        end = row["ended_step"]
        x1 = x_of(int(end)) if pd.notna(end) else x_of(12 * int(summary.get("years", 0) or 0))
        segments.append([(born, ypos[t]), (x1, ypos[t])])
        colors.append(_DIRECTION_COLORS.get(row["direction"], "0.6"))
        widths.append(2.2 if row["level"] == "main" else 1.2)
        ax.text(born - 0.05, ypos[t], str(row["name"]), ha="right", va="center", fontsize=6)
    # one collection for every track's line (one artist, not one per track)
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, capstyle="butt"))
    ax.autoscale_view()
    # arrows parent -> child (and merged -> absorbing track), all in one quiver per kind of line
    arrows: dict[bool, list[tuple[float, float, float, str]]] = {False: [], True: []}  # dotted?
    for t, born_step, created_by, parents in created[["track_id", "born_step", "created_by", "parent_ids"]].itertuples(
            index=False):
        color = _MECHANISM_COLORS.get(created_by, "0.5")
        arrows[False] += [(x_of(int(born_step)), ypos[int(p)], ypos[int(t)], color) for p in parents if int(p) in ypos]
    for t, into, ended in merged[["track_id", "merged_into", "ended_step"]].itertuples(index=False):
        if pd.notna(into) and int(into) in ypos:
            arrows[True].append((x_of(int(ended)), ypos[int(t)], ypos[int(into)], "0.3"))
    for dotted, items in arrows.items():
        if items:
            x, y0, y1, colors = zip(*items, strict=True)
            ax.quiver(x, y0, np.zeros(len(x)), np.subtract(y1, y0), color=colors, angles="xy", scale_units="xy",
                      scale=1, width=0.0012, headwidth=5, headlength=6, headaxislength=5,
                      linestyle=":" if dotted else "-", alpha=0.7 if dotted else 1.0)
    handles = [Patch(color=c, label=m) for m, c in _MECHANISM_COLORS.items()]
    handles.append(Patch(color="0.3", label="merged into (consolidation)"))
    handles += [Patch(color=_DIRECTION_COLORS[d], label=f"{d} {DIRECTION_EN[d]}") for d in DIRECTIONS]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
              title="arrows: mechanism; lines: direction", title_fontsize=8)
    ax.set_yticks([])
    ax.set_xlabel("year (lines: life of a track; thick: main track; arrows: parent → child)")
    ax.set_xlim(x0 - 2.5, None)
    ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(f"Track genealogy: {len(created)} tracks created, {len(merged)} merged", fontsize=12)
    return fig


def figures(tables: dict[str, pd.DataFrame], summary: dict[str, Any]):
    """The standard plots of a run's tables, as matplotlib figures: ``(file name, figure)`` pairs
    in the order of :data:`PLOT_FILES`, each made when it is asked for (a missing table gives a
    figure that says so)."""
    makers = {
        "funnel.png": lambda: _plot_funnel(tables.get("timeseries"), summary),
        "size_distribution.png": lambda: _plot_size_distribution(tables.get("firm_years"), summary),
        "unicorns_by_track.png": lambda: _plot_unicorns_by_track(tables.get("firms"), tables.get("tracks"), summary),
        "tracks_by_direction.png": lambda: _plot_tracks_by_direction(tables.get("timeseries"), summary),
        "track_genealogy.png": lambda: _plot_track_genealogy(tables.get("tracks"), summary),
    }
    with rc_context({**fonts.rc(), "axes.titleweight": "normal"}):
        for name in PLOT_FILES:
            yield name, makers[name]()


def make_plots(outdir: str | os.PathLike, *, allow_partial: bool = False) -> list[Path]:
    """Write the standard plots (:data:`PLOT_FILES`, made by :func:`figures`) into ``outdir``.

    Reads only the run's files (via :func:`sim.io.files.read_results`; refuses an unfinished run
    unless ``allow_partial``). Returns the paths written.
    """
    outdir = Path(outdir)
    tables, summary = read_results(outdir, allow_partial=allow_partial, names=("timeseries", "tracks"))
    # of the large tables only what the plots draw: the unicorns' tracks, the last year's headcounts
    # (the panel is written year after year, so the row groups of other years are not read)
    path = outdir / "firms.parquet"
    if path.is_file():
        tables["firms"] = pq.read_table(path, columns=["track_id", "unicorn_step"],
                                        filters=pc.field("unicorn_step").is_valid()).to_pandas()
    path = outdir / "firm_years.parquet"
    if path.is_file():
        meta = pq.ParquetFile(path).metadata
        col = meta.schema.to_arrow_schema().get_field_index("year")
        last = max((meta.row_group(i).column(col).statistics.max for i in range(meta.num_row_groups)
                    if meta.row_group(i).num_rows), default=None)
        tables["firm_years"] = pq.read_table(
            path, columns=["year", "employees"], filters=None if last is None else pc.field("year") == last
        ).to_pandas().astype({"employees": np.float64})  # float32 in the file, as read_results gives it
    written = []
    with rc_context({**fonts.rc(), "axes.titleweight": "normal"}):
        for name, fig in figures(tables, summary):
            written.append(_save(fig, outdir / name))
    return written

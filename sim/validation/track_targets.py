"""Validation targets of the track system (赛道), computed from a run's output tables.

Every function takes a run's ``tables`` (and ``summary``) and returns a number, in the form
the validation registry uses (``f(tables, summary, **params) -> float``, see
:mod:`sim.validation.registry`; :class:`TargetUnavailable` when the run cannot answer), or a
small DataFrame for reports, notebooks and plots. Nothing here reads live model state.

The reported figures these are compared with (report-figures.md):

* track-system counts: 21 main / 80 new tracks (2021) → 28 / 103 (2025), new tracks per
  direction 商业 22→9, 民生 12→10, 社会 12→10, 数字 9→20, 产业 14→29, 科技 11→25 (§4.2, §4.4);
* fission: 8 main tracks with 24 derived tracks since 2019, degree sequence 6, 5, 3, 2, 2, 2, 2, 2
  (Table 3 of seed 000, §4.5);
* the sector spread of 2019's 48 new unicorns over 21 sectors: top-3 share 35.4 %, HHI 0.072,
  singletons 42.9 % of sectors (Table 2 of seed 000, §3.1);
* commercial tracks' unicorn counts rise and then fall relative to frontier tracks (§3.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS
from sim.tracks.registry import load_track_system
from sim.validation.registry import TargetUnavailable

COMMERCE = "商业"
FRONTIER = ("科技",)


def _need(tables, name):
    df = tables.get(name)
    if df is None:
        raise TargetUnavailable(f"the run has no {name} table")
    return df


def _direction_key(direction: str | None) -> str | None:
    if direction is None:
        return None
    if direction in DIRECTIONS:
        return DIRECTION_EN[direction]
    if direction in DIRECTION_EN.values():
        return direction
    raise ValueError(f"unknown direction {direction!r}; use one of {', '.join(DIRECTIONS)}")


# ----------------------------------------------------------------------------- system counts


def listed_counts(tables) -> pd.DataFrame:
    """Main and new tracks per direction of the listed (initial) system: rows = directions."""
    tr = _need(tables, "tracks")
    ini = tr[tr["created_by"] == "initial"]
    out = ini.groupby(["direction", "level"]).size().unstack(fill_value=0)
    return out.reindex(index=list(DIRECTIONS), columns=["main", "new"], fill_value=0)


def counts_at_step(tables, step: int) -> pd.DataFrame:
    """Active main and new tracks per direction at the end of ``step`` (from the time series)."""
    ts = _need(tables, "timeseries")
    row = ts.loc[ts["step"] == step]
    if row.empty:
        raise TargetUnavailable(f"no time-series row for step {step} (the run has {len(ts)} observed months)")
    row = row.iloc[0]
    data = {
        d: {lvl: int(row[f"{lvl}_tracks_{DIRECTION_EN[d]}"]) for lvl in ("main", "new")} for d in DIRECTIONS
    }
    return pd.DataFrame(data).T.reindex(columns=["main", "new"])


def track_system_change(tables, summary=None, *, years_later: int = 4) -> pd.DataFrame:
    """Listed system vs the system ``years_later`` years into the observed window, per direction.

    The reports' comparison is 2021 (first edition) → 2025, four years apart; a run that starts
    from the 2021 system compares its listed counts with those at the end of its fourth year.
    Columns: main_start, new_start, main_end, new_end, main_change, new_change; a 'total' row.
    """
    start = listed_counts(tables)
    end = counts_at_step(tables, 12 * years_later - 1)
    out = pd.DataFrame(
        {
            "main_start": start["main"],
            "new_start": start["new"],
            "main_end": end["main"],
            "new_end": end["new"],
        }
    )
    out.loc["total"] = out.sum()
    out["main_change"] = out["main_end"] - out["main_start"]
    out["new_change"] = out["new_end"] - out["new_start"]
    return out.astype(int)


def track_count(tables, summary=None, *, level: str, years_later: int = 4, direction: str | None = None) -> float:
    """Active tracks of ``level`` (main/new), in ``direction`` or all, ``years_later`` years in."""
    tab = track_system_change(tables, summary, years_later=years_later)
    row = "total" if direction is None else (direction if direction in DIRECTIONS else _from_en(direction))
    return float(tab.loc[row, f"{level}_end"])


def track_count_change(tables, summary=None, *, level: str, years_later: int = 4,
                       direction: str | None = None) -> float:
    """Change in active tracks of ``level`` over ``years_later`` years (listed system → then)."""
    tab = track_system_change(tables, summary, years_later=years_later)
    row = "total" if direction is None else (direction if direction in DIRECTIONS else _from_en(direction))
    return float(tab.loc[row, f"{level}_change"])


def _from_en(direction_en: str) -> str:
    for zh, en in DIRECTION_EN.items():
        if en == direction_en:
            return zh
    raise ValueError(f"unknown direction {direction_en!r}")


# ----------------------------------------------------------------------------- fission


def derived_per_main(tables, summary=None, *, first_step: int = 0, last_step: int | None = None) -> pd.Series:
    """Derived (fission) tracks per main track created in [first_step, last_step], largest first;
    only main tracks with at least one derived track (as in Table 3)."""
    tr = _need(tables, "tracks")
    last = np.inf if last_step is None else last_step
    fis = tr[(tr["created_by"] == "fission") & (tr["born_step"] >= first_step) & (tr["born_step"] <= last)]
    if fis.empty:
        return pd.Series(dtype=int, name="derived")
    parent = fis["parent_ids"].map(lambda p: int(p[0]))
    names = tr.set_index("track_id")["name"]
    counts = parent.value_counts()
    counts.index = [names.get(i, str(i)) for i in counts.index]
    return counts.rename("derived").sort_values(ascending=False)


def derived_tracks_per_main_mean(tables, summary=None, *, years: int = 2) -> float:
    """Mean derived tracks per splitting main track over the first ``years`` observed years
    (Table 3: 24 derived over 8 rows since 2019, mean 3.0)."""
    s = derived_per_main(tables, summary, first_step=0, last_step=12 * years - 1)
    if s.empty:
        raise TargetUnavailable("no fission in the window")
    return float(s.mean())


def derived_tracks_top2_share(tables, summary=None, *, years: int = 2) -> float:
    """Share of derived tracks held by the two most prolific main tracks (Table 3: 11/24 = 45.8 %)."""
    s = derived_per_main(tables, summary, first_step=0, last_step=12 * years - 1)
    if s.sum() == 0:
        raise TargetUnavailable("no fission in the window")
    return float(s.iloc[:2].sum() / s.sum())


def fission_needs_proximity_correlation(tables, summary=None, *, config_tracks=None) -> float:
    """Spearman correlation, over main tracks, between closeness to everyday needs and derived
    tracks produced (M8 predicts a positive value). Needs the track file's needs_proximity."""
    tr = _need(tables, "tracks")
    system = (summary or {}).get("config", {}).get("ecosystem", {}).get("tracks", {}).get("system", "china_2021")
    prox = {s.key: s.needs_proximity for s in load_track_system(system)}
    mains = tr[(tr["level"] == "main") & (tr["created_by"] == "initial")]
    fis = tr[tr["created_by"] == "fission"]
    kids = fis["parent_ids"].map(lambda p: int(p[0])).value_counts()
    x = mains["key"].map(prox).to_numpy(dtype=float)
    y = mains["track_id"].map(kids).fillna(0).to_numpy(dtype=float)
    if np.all(y == y[0]):
        raise TargetUnavailable("no variation in fission counts")
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


# ----------------------------------------------------------------------------- unicorn sectors


def new_unicorns_by_track(tables, summary=None, *, year_index: int) -> pd.Series:
    """New unicorns in observed year ``year_index`` (0 = first observed year) per track name."""
    firms = _need(tables, "firms")
    tr = _need(tables, "tracks").set_index("track_id")
    u = firms["unicorn_step"].to_numpy(dtype=float, na_value=np.nan)
    sel = (u >= 12 * year_index) & (u < 12 * (year_index + 1))
    if not sel.any():
        return pd.Series(dtype=int, name="new_unicorns")
    names = firms.loc[sel, "track_id"].map(tr["name"])
    return names.value_counts().rename("new_unicorns")


def sector_spread(counts: pd.Series) -> dict:
    """Concentration of a count over sectors: n, sectors, top-3 share, HHI, singleton share."""
    c = counts[counts > 0].sort_values(ascending=False)
    n = int(c.sum())
    if n == 0:
        raise TargetUnavailable("no unicorns to spread over sectors")
    shares = c / n
    return {
        "unicorns": n,
        "sectors": int(len(c)),
        "top3_share": float(c.iloc[:3].sum() / n),
        "hhi": float((shares**2).sum()),
        "singleton_share": float((c == 1).mean()),
    }


def unicorn_sector_stat(tables, summary=None, *, stat: str, year_index: int = 0, pooled_years: int = 1) -> float:
    """One statistic of :func:`sector_spread` over the new unicorns of ``pooled_years`` observed
    years from ``year_index`` (pool years at teaching scale, where a single year has few)."""
    parts = [new_unicorns_by_track(tables, summary, year_index=y) for y in range(year_index, year_index + pooled_years)]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise TargetUnavailable("no new unicorns in the window")
    counts = pd.concat(parts).groupby(level=0).sum()
    return float(sector_spread(counts)[stat])


# ----------------------------------------------------------------------------- direction shift


def new_unicorns_by_direction(tables, summary=None) -> pd.DataFrame:
    """New unicorns per observed year and direction (rows: calendar years)."""
    firms = _need(tables, "firms")
    tr = _need(tables, "tracks").set_index("track_id")
    ts = _need(tables, "timeseries")
    start = int(ts["year"].iloc[0]) if len(ts) else 0
    u = firms["unicorn_step"].to_numpy(dtype=float, na_value=np.nan)
    sel = u >= 0
    df = pd.DataFrame({"year": start + (u[sel] // 12).astype(int),
                       "direction": firms.loc[sel, "track_id"].map(tr["direction"]).to_numpy()})
    out = df.groupby(["year", "direction"]).size().unstack(fill_value=0)
    years = sorted(ts["year"].unique())
    return out.reindex(index=years, columns=list(DIRECTIONS), fill_value=0)


def commerce_share_change(tables, summary=None, *, split: float = 0.5) -> float:
    """Change in commerce's share of new unicorns from the first to the second part of the
    window (negative = commerce falls back, as in 2016→2019)."""
    tab = new_unicorns_by_direction(tables, summary)
    if tab.values.sum() == 0:
        raise TargetUnavailable("no new unicorns in the window")
    k = max(1, int(round(len(tab) * split)))
    a, b = tab.iloc[:k], tab.iloc[k:]
    if a.values.sum() == 0 or b.values.sum() == 0:
        raise TargetUnavailable("no new unicorns in one half of the window")
    return float(b[COMMERCE].sum() / b.values.sum() - a[COMMERCE].sum() / a.values.sum())


def frontier_minus_commerce_trend(tables, summary=None) -> float:
    """Slope (per year) of frontier-technology minus commerce tracks' share of the active new
    tracks: positive when the system shifts from 商业 toward 科技 (§4.4, §4.7)."""
    ts = _need(tables, "timeseries")
    yearly = ts.groupby("year").last()
    new_cols = [f"new_tracks_{DIRECTION_EN[d]}" for d in DIRECTIONS]
    total = yearly[new_cols].sum(axis=1).replace(0, np.nan)
    frontier = sum(yearly[f"new_tracks_{DIRECTION_EN[d]}"] for d in FRONTIER)
    diff = (frontier - yearly[f"new_tracks_{DIRECTION_EN[COMMERCE]}"]) / total
    if diff.notna().sum() < 2:
        raise TargetUnavailable("fewer than two observed years")
    x = np.asarray(diff.index, dtype=float)
    return float(np.polyfit(x[diff.notna()], diff.dropna().to_numpy(), 1)[0])


def summarise(values) -> dict:
    """Mean and a 95 % t-interval over seeds (NaN-free values)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"n": 0, "mean": np.nan, "lo": np.nan, "hi": np.nan}
    if v.size == 1:
        return {"n": 1, "mean": float(v[0]), "lo": np.nan, "hi": np.nan}
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return {"n": int(v.size), "mean": float(v.mean()), "lo": float(v.mean() - half), "hi": float(v.mean() + half)}

"""Gather a directory of runs into one tidy results table (and the time series in long form).

    python -m sim.batch.gather SWEEP_DIR           # writes SWEEP_DIR/results.parquet and timeseries_long.parquet
    python -m sim.batch.gather SWEEP_DIR --out DIR --no-timeseries

A run directory is any directory below ``SWEEP_DIR`` holding ``.hydra/overrides.yaml``,
``run_status.json`` or ``summary.json`` (what ``python -m sim --multirun`` and the batch runner,
:mod:`sim.batch.runner`, write). Nothing is executed from the files: YAML is read with
PyYAML's safe loader (:mod:`sim.core.yamlio`) and JSON with :mod:`json`. Nothing is written into the
run directories.

``results.parquet``: one row per run:

=====================  ==================================================================
``run_id``             the run directory relative to SWEEP_DIR (e.g. ``scale=0.01,seed=3``)
``status``             completed, failed, interrupted (stopped, or its process killed),
                       running (its process is still at work) or incomplete (never started,
                       or running on another machine) (:func:`sim.batch.status.run_state`)
``error``              why a run did not complete (``run_status.json``), else null
``overrides``          the run's overrides, as given on the command line
*override keys*        one column per overridden key (``seed``, ``ecosystem.vc.reserve_ratio``,
                       ...), with the resolved value
*labels*               the labels a batch gave the run (``arm``, ...), when not already a column
``seed``               always present, from the resolved configuration
*totals*               the outcome columns: every entry of ``summary.json``'s ``totals``
                       (``new_gazelles_observed``, ``new_unicorns_observed``, ...); null unless completed
``wall_seconds``       the run's wall time (``summary.json``) [s]
``started``, ``ended`` when the run started and ended (UTC, ISO 8601, from ``run_status.json``)
=====================  ==================================================================

``timeseries_long.parquet``: ``run_id, step, year, month, variable, unit, value`` for every
column of each completed run's ``timeseries.parquet``; ``unit`` is the column's unit as stored in
the Parquet file (``firms``, ``firms/month``, ``mcny/month``, ...; docs/outputs.md).

Read them with pandas (``pd.read_parquet``) or DuckDB (``SELECT ... FROM 'results.parquet'``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.batch.status import COMPLETED, STATUS_FILE, SUMMARY_FILE, read_status, read_summary, run_state
from sim.batch.tabledoc import Col, FileDoc
from sim.core.yamlio import safe_load

__all__ = ["find_runs", "gather", "collect", "long_timeseries", "RESULTS_FILE", "TIMESERIES_FILE", "SWEEP_FILES"]

RESULTS_FILE = "results.parquet"
TIMESERIES_FILE = "timeseries_long.parquet"
_MARKERS = (STATUS_FILE, SUMMARY_FILE, os.path.join(".hydra", "overrides.yaml"))
_ID_COLUMNS = ("step", "year", "month")

#: The tables a sweep (or any directory of runs) is gathered into (docs/outputs.md).
SWEEP_FILES = (
    FileDoc(RESULTS_FILE, "One row per run of the directory: its identity, how it went, its settings and its totals.",
            "one per run directory", (
                Col("run_id", "string", "", "The run directory relative to the gathered directory (e.g. "
                    "`scale=0.01,seed=3`)."),
                Col("status", "string", "", "completed, failed, interrupted, running (its process is still at work) or "
                    "incomplete (never started, or running on another machine)."),
                Col("error", "string (nullable)", "", "Why the run did not complete; null if it did."),
                Col("overrides", "string", "", "The run's overrides, as given on the command line."),
                Col("<override key>", "as configured", "as configured", "One column per overridden key (`seed`, "
                    "`ecosystem.vc.reserve_ratio`, ...), with the resolved value; units in docs/configuration.md."),
                Col("<label>", "as given", "", "The labels a batch gave the run (`arm` of a comparison, `point` and "
                    "`rep` of a sensitivity analysis, ...), when not already a column."),
                Col("seed", "integer", "", "The run's root seed."),
                Col("<total>", "number (nullable)", "as in summary.json", "Every entry of summary.json's `totals` "
                    "(`firms_born` firms, `new_gazelles_observed` firms, `vc_invested_observed` mcny, ...); null "
                    "unless the run completed."),
                Col("wall_seconds", "float (nullable)", "s", "The run's wall time (summary.json)."),
                Col("started", "string (nullable)", "time", "When the run started (UTC, ISO 8601)."),
                Col("ended", "string (nullable)", "time", "When it ended (UTC, ISO 8601)."),
            )),
    FileDoc(TIMESERIES_FILE, "Every column of every completed run's timeseries.parquet, in long form.",
            "one per run, month and variable", (
                Col("run_id", "string", "", "The run (results.parquet run_id)."),
                Col("step", "int32", "month (step)", "Month of the observed window, 0 = January of the start year."),
                Col("year", "int16", "year", "Calendar year."),
                Col("month", "int8", "month", "Calendar month, 1-12."),
                Col("variable", "string", "", "The timeseries column (docs/outputs.md, timeseries.parquet)."),
                Col("unit", "string", "", "The variable's unit, as stored with it (`firms`, `firms/month`, "
                    "`mcny/month`, ...)."),
                Col("value", "float64", "unit", "The value, in the unit of the row."),
            )),
)


def _is_run(path: Path) -> bool:
    return any((path / m).is_file() for m in _MARKERS)


def find_runs(sweep_dir) -> list[Path]:
    """The run directories below ``sweep_dir`` (sorted; the sweep directory itself may be one)."""
    root = Path(sweep_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    runs = []
    for dirpath, dirnames, _ in os.walk(root):
        path = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if _is_run(path):
            runs.append(path)
            dirnames[:] = []  # a run's own subdirectories are not runs
    return sorted(runs)


def _yaml(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return safe_load(fh)
    except (OSError, ValueError, yaml.YAMLError):
        return None


_MISSING = object()


def _select(config: Any, key: str):
    node = config
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _override_items(overrides: list[str]) -> list[tuple[str, str]]:
    items = []
    for text in overrides:
        key, sep, value = str(text).partition("=")
        key = key.lstrip("+~").split("@")[0]
        if not sep or key == "hydra" or key.startswith(("hydra.", "hydra/")):
            continue
        items.append((key, value))
    return items


def _run_row(root: Path, run: Path) -> tuple[dict, dict | None]:
    state, error = run_state(run)
    status = read_status(run) or {}
    summary = read_summary(run)
    overrides = _yaml(run / ".hydra" / "overrides.yaml")
    if not isinstance(overrides, list):
        overrides = status.get("overrides") or []
    config = (summary or {}).get("config") or _yaml(run / ".hydra" / "config.yaml") or {}
    row: dict[str, Any] = {
        "run_id": run.relative_to(root).as_posix() if run != root else ".",
        "status": state,
        "error": error if state != COMPLETED else None,
        "overrides": " ".join(str(o) for o in overrides),
    }
    for key, raw in _override_items(overrides):
        value = _select(config, key)
        if value is _MISSING or isinstance(value, (dict, list)):
            if key in ("ecosystem",) and isinstance(value, dict):
                value = value.get("name", raw)
            else:
                value = raw
        row[key] = value
    for key, value in (status.get("labels") or {}).items():
        row.setdefault(key, value)
    seed = _select(config, "seed")
    row["seed"] = seed if seed is not _MISSING else row.get("seed")
    finished = state == COMPLETED
    for name, value in ((summary or {}).get("totals") or {}).items():
        row[name] = value if finished else None
    row["wall_seconds"] = (summary or {}).get("wall_seconds") if finished else None
    row["started"] = status.get("started")
    row["ended"] = status.get("ended")
    return row, (summary if finished else None)


def _tidy_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Make every column storable in Parquet: a column mixing numbers and text becomes text."""
    for c in df.columns:
        if df[c].dtype != object:
            continue
        kinds = {type(v) for v in df[c] if v is not None and not (isinstance(v, float) and pd.isna(v))}
        if not kinds:
            df[c] = pd.array([None] * len(df), dtype="string")
        elif kinds <= {bool}:
            df[c] = df[c].astype("boolean")
        elif kinds and kinds <= {int, float} and bool not in kinds:
            df[c] = pd.to_numeric(df[c])
        elif kinds and kinds <= {int}:
            df[c] = df[c].astype("Int64")
        elif kinds:
            df[c] = pd.array([None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in df[c]],
                             dtype="string")
    return df


def long_timeseries(path, run_id: str) -> pd.DataFrame:
    """A run's ``timeseries.parquet`` in long form: ``run_id, step, year, month, variable, unit, value``.

    The unit of each variable is the one stored with its column in the Parquet file.
    """
    table = pq.read_table(path)
    units = {f.name: (f.metadata or {}).get(b"unit", b"").decode("utf-8") for f in table.schema}
    ts = table.to_pandas()
    ids = [c for c in _ID_COLUMNS if c in ts.columns]
    values = [c for c in ts.columns if c not in ids]
    long = ts.melt(id_vars=ids, value_vars=values, var_name="variable", value_name="value")
    long["value"] = long["value"].astype("float64")
    long.insert(len(ids) + 1, "unit", long["variable"].map(units).fillna(""))
    long.insert(0, "run_id", run_id)
    return long


def _empty_long() -> pd.DataFrame:
    return pd.DataFrame({"run_id": pd.Series(dtype="string"), "step": pd.Series(dtype="int32"),
                         "year": pd.Series(dtype="int16"), "month": pd.Series(dtype="int8"),
                         "variable": pd.Series(dtype="string"), "unit": pd.Series(dtype="string"),
                         "value": pd.Series(dtype="float64")})


def collect(sweep_dir, *, timeseries: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read a directory of runs into ``(results, timeseries_long)`` DataFrames (nothing written)."""
    root = Path(sweep_dir)
    rows, long_parts = [], []
    for run in find_runs(root):
        row, summary = _run_row(root, run)
        rows.append(row)
        if timeseries and summary is not None and (run / "timeseries.parquet").is_file():
            long_parts.append(long_timeseries(run / "timeseries.parquet", row["run_id"]))
    results = pd.DataFrame(rows)
    if results.empty:
        results = pd.DataFrame(columns=["run_id", "status", "error", "overrides", "seed"])
    results = _tidy_columns(results)
    long_df = None
    if timeseries:
        if long_parts:
            long_df = pd.concat(long_parts, ignore_index=True)
            for c in ("run_id", "variable", "unit"):
                long_df[c] = long_df[c].astype("string")
        else:
            long_df = _empty_long()
    return results, long_df


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` (no index) to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def gather(sweep_dir, out=None, *, timeseries: bool = True) -> dict[str, Path]:
    """Gather ``sweep_dir`` into ``results.parquet`` (and ``timeseries_long.parquet``) in ``out``.

    ``out`` defaults to ``sweep_dir``. Returns the paths written.
    """
    results, long_df = collect(sweep_dir, timeseries=timeseries)
    out = Path(out) if out is not None else Path(sweep_dir)
    paths = {"results": write_parquet(results, out / RESULTS_FILE)}
    if long_df is not None:
        paths["timeseries"] = write_parquet(long_df, out / TIMESERIES_FILE)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.batch.gather", description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep_dir", help="a sweep directory (hydra.sweep.dir of python -m sim --multirun)")
    ap.add_argument("--out", help="where to write the tables (default: the sweep directory)")
    ap.add_argument("--no-timeseries", action="store_true", help="do not write timeseries_long.parquet")
    args = ap.parse_args(argv)
    root = Path(args.sweep_dir)
    if not root.is_dir():
        print(f"error: {root} is not a directory (give the sweep directory, hydra.sweep.dir)", file=sys.stderr)
        return 2
    if not find_runs(root):
        print(f"error: {root} holds no run directories (no run_status.json, summary.json or .hydra/overrides.yaml "
              "below it)", file=sys.stderr)
        return 2
    paths = gather(root, args.out, timeseries=not args.no_timeseries)
    results = pd.read_parquet(paths["results"], columns=["status"])
    counts = results["status"].value_counts().to_dict()
    print(f"{len(results)} runs ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})")
    for p in paths.values():
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

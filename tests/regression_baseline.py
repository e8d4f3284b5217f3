"""The fixed-seed regression baseline: the run, the stored tables, and their comparison.

The case (:data:`OVERRIDES`) is a small park that still takes every path of the model: firms
become gazelles and unicorns, list (IPO) and are acquired (by outside buyers and by incumbents,
some for their team when out of cash), guidance and corporate venture funds invest, incumbents
buy from young firms, the government keeps a gazelle list, and two policies are in force (a
guidance fund co-investing beside VC, and stage cultivation grants to gazelles and potential
unicorns). It runs in about three seconds.

``tests/baselines/regression/`` holds that run's Parquet tables, as the run writes them, and
``baseline.json`` (overrides, totals of summary.json, the policies' accounts, and the versions
of the numerical libraries that wrote them). :func:`compare_tables` compares a new run with
them by content, column by column: integers, strings, lists and missing values exactly, floats
to a relative tolerance of :data:`RTOL` (floating-point sums may differ in the last digits
between CPUs and builds of numpy; a real change of the model moves them far more).

Run as a script, it prints what moved between the stored baseline and the current code, to
check (and quote in the commit message) before regenerating::

    .venv/bin/python tests/regression_baseline.py
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from sim import load_config
from sim.run import run_simulation

BASELINE_DIR = Path(__file__).resolve().parent / "baselines" / "regression"
BASELINE_JSON = BASELINE_DIR / "baseline.json"

OVERRIDES = [
    "seed=3",
    "scale=0.03",
    "years=6",
    "ecosystem.warmup_years=4",
    "ecosystem.government.gazelle_list.quota_per_year=500",
    # listing and the unicorn threshold within reach of a small, young park (since a round needs its money,
    # 2026-12-05, a park at 3 % holds too few growth funds to fill a US$1 bn round: docs/testing.md)
    "ecosystem.exits.ipo_min_valuation_mcny=500",
    "ecosystem.exits.ipo_min_revenue_mcny=50",
    "stages.unicorn_min_valuation_usd_bn=0.4",
    "policy=[guidance_fund,stage_cultivation]",
    "output.plots=false",
]
#: Relative tolerance for floats: |a - b| <= RTOL * max(|a|, |b|, RTOL_FLOOR_SHARE * max |column|).
RTOL = 1e-9
#: A float near zero that results from cancelling large terms carries the rounding of those terms:
#: its tolerance is at least RTOL times this share of the column's largest magnitude.
RTOL_FLOOR_SHARE = 1e-3
#: Totals the case must reach, so that a change cannot hollow the regression run out unnoticed.
MUST_HAVE = {
    "unicorns_ever": 1,
    "new_unicorns_observed": 1,
    "ipos_observed": 1,
    "acquisitions_observed": 1,
    "acquisitions_by_incumbents_observed": 1,
    "team_acquisitions_observed": 1,
    "new_gazelles_observed": 1,
    "gazelles_listed": 1,
    "guidance_invested_observed": 1.0,
    "cvc_invested_observed": 1.0,
    "contract_payments_observed": 1.0,
}
LIBRARIES = ("numpy", "pandas", "pyarrow", "scipy", "mesa")


def run_case(outdir: Path) -> dict:
    """Run :data:`OVERRIDES` and write it into ``outdir``; return the record stored as baseline.json."""
    res = run_simulation(load_config(OVERRIDES), progress=False)
    res.write(outdir)
    return record(res.summary)


def record(summary: dict) -> dict:
    accounts = {
        name: {k: v for k, v in acc.items() if k in ("kind", "spent_mcny", "received_mcny")}
        for name, acc in summary.get("policy_accounts", {}).items()
    }
    return {
        "overrides": OVERRIDES,
        "totals": summary["totals"],
        "policy_accounts": accounts,
        "written_with": {lib: _version(lib) for lib in LIBRARIES},
    }


def _version(lib: str) -> str:
    try:
        return metadata.version(lib)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "not installed"


def table_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in Path(directory).glob("*.parquet"))


def read_table(directory: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(Path(directory) / f"{name}.parquet")


def write_baseline(run_dir: Path, rec: dict) -> None:
    """Replace the stored baseline with the run in ``run_dir`` (its Parquet files, byte for byte)."""
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    for old in BASELINE_DIR.glob("*.parquet"):
        old.unlink()
    for name in table_names(run_dir):
        (BASELINE_DIR / f"{name}.parquet").write_bytes((Path(run_dir) / f"{name}.parquet").read_bytes())
    BASELINE_JSON.write_text(json.dumps(rec, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def load_baseline() -> dict:
    return json.loads(BASELINE_JSON.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------- comparison


def values_differ(want, got) -> bool:
    """True if two scalars (ints, floats, strings, None/NaN) differ beyond the float tolerance."""
    if isinstance(want, bool) or isinstance(got, bool) or not (_is_number(want) and _is_number(got)):
        return want != got
    if isinstance(want, int) and isinstance(got, int):
        return want != got
    return not _close(np.array([want], dtype=float), np.array([got], dtype=float), 0.0)[0]


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating))


def _close(want: np.ndarray, got: np.ndarray, scale: float) -> np.ndarray:
    """Element-wise: both NaN, equal, or within RTOL of the larger magnitude (or of the column's scale)."""
    both_nan = np.isnan(want) & np.isnan(got)
    with np.errstate(invalid="ignore"):
        bound = RTOL * np.maximum(np.maximum(np.abs(want), np.abs(got)), RTOL_FLOOR_SHARE * scale)
        ok = (want == got) | (np.abs(want - got) <= bound)
    return both_nan | ok


def compare_totals(want: dict, got: dict, what: str = "totals") -> list[str]:
    """One line per total that differs: integers exactly, floats to RTOL."""
    out = []
    for key in sorted(set(want) | set(got)):
        if key not in got:
            out.append(f"{what}: {key} is missing (stored {want[key]!r})")
        elif key not in want:
            out.append(f"{what}: {key} is new (now {got[key]!r})")
        elif isinstance(want[key], dict) and isinstance(got[key], dict):
            out += compare_totals(want[key], got[key], f"{what}.{key}")
        elif values_differ(want[key], got[key]):
            out.append(f"{what}: {key} stored {want[key]!r}, now {got[key]!r}{_change(want[key], got[key])}")
    return out


def _change(a, b) -> str:
    if _is_number(a) and _is_number(b) and not isinstance(a, bool):
        d = b - a
        rel = f", {d / a:+.3%}" if a else ""
        return f" ({d:+.6g}{rel})"
    return ""


def compare_tables(want_dir: Path, got_dir: Path) -> list[str]:
    """Compare every table of two run directories by content; one message per difference found.

    Each message names the table, the column and the first differing row (with the stored and
    the new value) and says how many rows differ in that column.
    """
    problems = []
    want_names, got_names = table_names(want_dir), table_names(got_dir)
    if want_names != got_names:
        problems.append(f"tables: stored {want_names}, now {got_names}")
    for name in [n for n in want_names if n in got_names]:
        problems += compare_frames(name, read_table(want_dir, name), read_table(got_dir, name))
    return problems


def compare_frames(name: str, want: pd.DataFrame, got: pd.DataFrame) -> list[str]:
    if list(want.columns) != list(got.columns):
        return [f"{name}: columns stored {list(want.columns)}, now {list(got.columns)}"]
    if len(want) != len(got):
        return [f"{name}: {len(want)} rows stored, {len(got)} now"]
    problems = []
    for col in want.columns:
        a, b = want[col], got[col]
        if str(a.dtype) != str(b.dtype):
            problems.append(f"{name}.{col}: dtype stored {a.dtype}, now {b.dtype}")
            continue
        bad = _differing_rows(a, b)
        if bad.size:
            i = int(bad[0])
            problems.append(
                f"{name}.{col}: {bad.size} of {len(a)} rows differ; first at row {i}: "
                f"stored {_show(a.iloc[i])}, now {_show(b.iloc[i])}{_change_if_numbers(a.iloc[i], b.iloc[i])}"
            )
    return problems


def _differing_rows(a: pd.Series, b: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(a.dtype):
        x, y = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
        finite = np.abs(x[np.isfinite(x)])
        scale = float(finite.max()) if finite.size else 0.0
        return np.flatnonzero(~_close(x, y, scale))
    na_a, na_b = a.isna().to_numpy(), b.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(a.dtype) or pd.api.types.is_bool_dtype(a.dtype):
        same = (na_a & na_b) | (~na_a & ~na_b & (a.fillna(0).to_numpy() == b.fillna(0).to_numpy()))
        return np.flatnonzero(~same)
    # strings, lists (e.g. parent_ids) and other objects: exactly, element by element
    same = [(x is None and y is None) or _equal_objects(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    return np.flatnonzero(~np.asarray(same, dtype=bool))


def _equal_objects(x, y) -> bool:
    if isinstance(x, (list, tuple, np.ndarray)) or isinstance(y, (list, tuple, np.ndarray)):
        if x is None or y is None:
            return False
        return list(np.asarray(x).tolist()) == list(np.asarray(y).tolist())
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    if x is pd.NA and y is pd.NA:
        return True
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _show(v) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        return repr(v.tolist())
    return repr(v)


def _change_if_numbers(a, b) -> str:
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return ""
    return _change(fa, fb) if math.isfinite(fa) and math.isfinite(fb) else ""


def main(argv: list[str] | None = None) -> int:
    """Print what moved between the stored baseline and a run of the current code."""
    if not BASELINE_JSON.exists():
        print(f"no stored baseline in {BASELINE_DIR}")
        return 1
    stored = load_baseline()
    with tempfile.TemporaryDirectory() as tmp:
        rec = run_case(Path(tmp) / "run")
        lines = compare_totals(stored["totals"], rec["totals"])
        lines += compare_totals(stored["policy_accounts"], rec["policy_accounts"], "policy_accounts")
        lines += compare_tables(BASELINE_DIR, Path(tmp) / "run")
    if stored["overrides"] != OVERRIDES:
        lines.insert(0, f"overrides: stored {stored['overrides']}, now {OVERRIDES}")
    print(f"stored baseline written with {stored.get('written_with')}; now {rec['written_with']}")
    if not lines:
        print(f"nothing moved: the current code reproduces the stored baseline (floats within {RTOL:g}).")
        return 0
    print(f"{len(lines)} difference(s) between the stored baseline and the current code:")
    for line in lines:
        print("  " + line)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Fixed-seed regression baseline.

A small run with a fixed seed must reproduce the stored totals and the SHA-256 of every
output table byte for byte. A deliberate change to the model changes the baseline: rerun with
``REGENERATE_BASELINES=1 python -m pytest tests/test_regression.py`` and commit the new file
together with the change, saying in the commit message why the numbers moved.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from sim import load_config
from sim.run import run_simulation

BASELINE = Path(__file__).parent / "baselines" / "regression_small.json"
OVERRIDES = ["seed=2024", "scale=0.02", "years=5", "ecosystem.warmup_years=4", "output.plots=false"]


def current(tmp_path) -> dict:
    res = run_simulation(load_config(OVERRIDES), progress=False)
    out = res.write(tmp_path / "run")
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.parquet"))}
    ts = res.tables["timeseries"]
    yearly = ts.groupby("year")[
        ["births", "deaths", "new_gazelles", "new_unicorns", "exits_ipo", "exits_acquired"]
    ].sum()
    return {
        "overrides": OVERRIDES,
        "totals": res.summary["totals"],
        "yearly": {str(y): {k: int(v) for k, v in row.items()} for y, row in yearly.iterrows()},
        "sha256": digests,
    }


def test_fixed_seed_run_matches_the_baseline(tmp_path):
    got = current(tmp_path)
    if os.environ.get("REGENERATE_BASELINES") == "1" or not BASELINE.exists():
        BASELINE.write_text(json.dumps(got, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        if os.environ.get("REGENERATE_BASELINES") != "1":
            pytest.fail(f"no baseline yet: wrote {BASELINE}; check it in")
    want = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert got["overrides"] == want["overrides"]
    assert got["totals"] == want["totals"]
    assert got["yearly"] == want["yearly"]
    assert got["sha256"] == want["sha256"]

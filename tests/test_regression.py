"""Fixed-seed regression baseline, comparable across machines; byte-identical reruns on one machine.

``test_fixed_seed_run_matches_the_baseline`` runs the case of :mod:`regression_baseline` (a small
park with unicorns, IPOs, acquisitions and two policies in force) and compares it with the
tables stored in ``tests/baselines/regression/`` by content: integers, strings and lists
exactly, floats to a relative tolerance of 1e-9 (``regression_baseline.RTOL``), so that the last
digits of a floating-point sum, which differ between CPUs and builds of numpy, do not fail it
while any real change of the model does. The summary's totals and the policies' accounts are
compared the same way.

``test_rerun_is_byte_identical`` runs the case twice in this process and requires identical
files, byte for byte: the strict check of determinism, which needs no stored file.

A deliberate change of the model moves the baseline. Before regenerating, run
``.venv/bin/python tests/regression_baseline.py``: it lists every total, table and column that
moved. Then ``REGENERATE_BASELINES=1 .venv/bin/python -m pytest tests/test_regression.py`` and
commit the new files with the change, saying in the commit message which totals moved and why
(docs/testing.md, "Regression baseline").
"""

from __future__ import annotations

import hashlib
import os

import pytest
import regression_baseline as rb
from conftest import module_scope

REGENERATE = os.environ.get("REGENERATE_BASELINES") == "1"


@pytest.fixture(scope=module_scope)
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("regression") / "run"
    return out, rb.run_case(out)


def test_the_case_takes_every_path(first_run):
    """The regression run must exercise the whole model, whatever the stored baseline says."""
    _, got = first_run
    totals = got["totals"]
    thin = {k: totals[k] for k, least in rb.MUST_HAVE.items() if totals[k] < least}
    assert not thin, f"the regression case no longer reaches {thin} (needs at least {rb.MUST_HAVE}); pick another case"
    assert totals["public_spending_observed"] > 0
    assert set(got["policy_accounts"]) == {"guidance_fund", "stage_cultivation"}
    idle = [name for name, acc in got["policy_accounts"].items() if not acc["spent_mcny"] > 0]
    assert not idle, f"policies in force that spent nothing: {idle}"


def test_fixed_seed_run_matches_the_baseline(first_run):
    out, got = first_run
    if REGENERATE or not rb.BASELINE_JSON.exists():
        rb.write_baseline(out, got)
        if not REGENERATE:
            pytest.fail(f"no baseline yet: wrote {rb.BASELINE_DIR}; check it in")
    want = rb.load_baseline()
    assert got["overrides"] == want["overrides"], "the case changed: regenerate the baseline"
    problems = rb.compare_totals(want["totals"], got["totals"])
    problems += rb.compare_totals(want["policy_accounts"], got["policy_accounts"], "policy_accounts")
    problems += rb.compare_tables(rb.BASELINE_DIR, out)
    assert not problems, (
        f"the run differs from the stored baseline (floats compared to a relative {rb.RTOL:g}; stored with "
        f"{want.get('written_with')}, now {got['written_with']}):\n  " + "\n  ".join(problems[:40])
    )


def test_the_comparison_catches_a_change(first_run, tmp_path):
    """The comparison itself: last-digit noise passes, a real change is named by table, column and row."""
    out, _ = first_run
    firms = rb.read_table(out, "firms")
    col = next(c for c in firms.columns if firms[c].dtype == float and firms[c].abs().max() > 0)
    row = int(firms[col].abs().idxmax())
    noisy = firms.copy()
    noisy[col] = noisy[col] * (1 + 4e-16)
    assert rb.compare_frames("firms", firms, noisy) == []
    changed = firms.copy()
    changed.loc[row, col] = changed.loc[row, col] * (1 + 1e-6)
    msgs = rb.compare_frames("firms", firms, changed)
    assert len(msgs) == 1 and msgs[0].startswith(f"firms.{col}: 1 of {len(firms)} rows differ; first at row {row}")
    ints = firms.copy()
    ints["firm_id"] = ints["firm_id"] + (ints.index == 7)
    assert rb.compare_frames("firms", firms, ints)[0].startswith("firms.firm_id: 1 of")
    assert rb.compare_totals({"ipos_observed": 2, "vc": 1.0}, {"ipos_observed": 3, "vc": 1.0 + 1e-12}) == [
        "totals: ipos_observed stored 2, now 3 (+1, +50.000%)"
    ]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rerun_is_byte_identical(first_run, tmp_path):
    out, got = first_run
    again = rb.run_case(tmp_path / "again")
    assert again["totals"] == got["totals"]
    files = sorted(p.name for p in out.glob("*.parquet"))
    assert files == sorted(p.name for p in (tmp_path / "again").glob("*.parquet"))
    differ = [f for f in files if _digest(out / f) != _digest(tmp_path / "again" / f)]
    assert not differ, f"the same seed wrote different bytes in {differ}"

"""Output layer: schema checks, atomic and deterministic writing, reading back, plots, docs."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim.io.files as files
import sim.io.plots as plots
from sim.devtools import gendocs
from sim.io.files import IncompleteResultsError, read_results, write_results, write_summary, write_table
from sim.io.schema import TABLE_SCHEMAS, OutputSchemaError, empty_frame, render_doc, to_arrow

try:  # works whether or not tests/ is a package
    from tests.fake_tables import make_fake_results
except ImportError:  # pragma: no cover
    from fake_tables import make_fake_results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake():
    return make_fake_results()


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


# ---------------------------------------------------------------------------------- schema


def test_fake_tables_cover_every_table_and_match_schema(fake):
    tables, summary = fake
    assert set(tables) == set(TABLE_SCHEMAS)
    for name, df in tables.items():
        assert list(df.columns) == TABLE_SCHEMAS[name].names, name
        assert len(df) > 0, name
        to_arrow(name, df)  # does not raise
    # consistency of the fake: live counts add up, unicorns were gazelles first
    ts = tables["timeseries"]
    assert (ts["firms"] == ts["startups"] + ts["gazelles"] + ts["unicorns"]).all()
    f = tables["firms"]
    u = f["unicorn_step"].notna()
    assert u.any() and (f.loc[u, "gazelle_step"] <= f.loc[u, "unicorn_step"]).all()
    assert summary["finished"] is True


def test_every_column_is_documented():
    for t in TABLE_SCHEMAS.values():
        assert t.doc and t.rows
        assert len(set(t.names)) == len(t.names)
        for c in t.columns:
            assert c.doc.strip(), (t.name, c.name)
            if c.choices:
                assert str(c.type) == "string"
    # nullable integer columns are Arrow int32 (pandas Int32 on reading)
    assert str(TABLE_SCHEMAS["firms"].column("unicorn_step").type) == "int32"
    assert TABLE_SCHEMAS["firms"].column("unicorn_step").nullable


def test_missing_and_extra_columns_are_named(fake):
    tables, _ = fake
    df = tables["firms"].drop(columns=["valuation"])
    with pytest.raises(OutputSchemaError, match=r"firms.*missing column\(s\) \['valuation'\]"):
        to_arrow("firms", df)
    df = tables["firms"].assign(colour="red")
    with pytest.raises(OutputSchemaError, match=r"unexpected column\(s\) \['colour'\]"):
        to_arrow("firms", df)
    with pytest.raises(OutputSchemaError, match="unknown table 'firm'"):
        to_arrow("firm", df)


def test_bad_values_are_refused_with_the_column_named(fake):
    tables, _ = fake
    ts = tables["timeseries"].copy()
    ts["births"] = ts["births"].astype(float) + 0.5
    with pytest.raises(OutputSchemaError, match="column 'births'.*truncated"):
        to_arrow("timeseries", ts)
    firms = tables["firms"].copy()
    firms.loc[0, "origin"] = "martian"
    with pytest.raises(OutputSchemaError, match=r"column 'origin'.*'martian'"):
        to_arrow("firms", firms)
    firms = tables["firms"].copy()
    firms["born_step"] = firms["born_step"].astype("Int32")
    firms.loc[0, "born_step"] = pd.NA
    with pytest.raises(OutputSchemaError, match="column 'born_step'.*null"):
        to_arrow("firms", firms)


def test_to_arrow_casts_whatever_dtypes_the_model_uses(fake):
    tables, _ = fake
    f = tables["firms"]
    loose = f.copy()
    loose["firm_id"] = loose["firm_id"].astype(np.int32)
    loose["born_step"] = loose["born_step"].astype(np.int64)
    loose["unicorn_step"] = loose["unicorn_step"].astype(float)  # NaN for never
    loose["origin"] = loose["origin"].astype("category")
    loose["employees"] = loose["employees"].astype(np.float32).astype(np.float64)
    loose = loose[list(reversed(loose.columns))]  # column order does not matter
    a, b = to_arrow("firms", loose), to_arrow("firms", f)
    assert a.schema.equals(b.schema)
    assert a.column("unicorn_step").equals(b.column("unicorn_step"))
    assert a.column("origin").equals(b.column("origin"))
    assert a.column_names == TABLE_SCHEMAS["firms"].names


# ---------------------------------------------------------------------------------- writing


def test_round_trip(tmp_path, fake):
    tables, summary = fake
    written = write_results(tmp_path, tables, summary)
    assert written["finished"] is True
    back, s = read_results(tmp_path)
    assert set(back) == set(tables)
    for name in tables:
        pd.testing.assert_frame_equal(back[name], tables[name], check_exact=True, obj=name)
    assert s == json.loads(json.dumps(summary))
    # plain pandas reads the files too, with no index column
    plain = pd.read_parquet(tmp_path / "firms.parquet")
    assert list(plain.columns) == TABLE_SCHEMAS["firms"].names
    # units and descriptions travel with the file
    field = pq.read_schema(tmp_path / "deals.parquet").field("amount")
    assert field.metadata[b"unit"] == b"mcny"


def test_writing_twice_is_byte_identical(tmp_path, fake):
    tables, summary = fake
    write_results(tmp_path / "a", tables, summary)
    write_results(tmp_path / "b", tables, summary)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    # and again into the same directory (overwrite)
    write_results(tmp_path / "a", make_fake_results()[0], summary)
    assert _files(tmp_path / "a") == b


def test_no_temporary_files_left(tmp_path, fake):
    tables, summary = fake
    write_results(tmp_path, tables, summary)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["summary.json"] + [f"{n}.parquet" for n in TABLE_SCHEMAS])
    plots.make_plots(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_failed_table_write_leaves_no_temp_file_and_keeps_old_file(tmp_path, fake, monkeypatch):
    tables, _ = fake
    write_table(tmp_path, "tracks", tables["tracks"])
    before = (tmp_path / "tracks.parquet").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files.pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        write_table(tmp_path, "tracks", tables["tracks"].head(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracks.parquet"]
    assert (tmp_path / "tracks.parquet").read_bytes() == before


def test_crash_between_tables_leaves_unfinished_summary(tmp_path, fake, monkeypatch):
    tables, summary = fake
    real = files.write_table
    written = []

    def crash_after_first(outdir, name, df):
        if written:
            raise KeyboardInterrupt("killed")  # like Ctrl-C or a kill between two tables
        written.append(name)
        return real(outdir, name, df)

    monkeypatch.setattr(files, "write_table", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, tables, summary)
    monkeypatch.undo()

    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert s["finished"] is False
    with pytest.raises(IncompleteResultsError, match="did not finish"):
        read_results(tmp_path)
    with pytest.raises(IncompleteResultsError):
        plots.make_plots(tmp_path)
    partial, s2 = read_results(tmp_path, allow_partial=True)
    assert list(partial) == written == ["timeseries"]
    assert s2["finished"] is False
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    # a crash during a re-run over a finished directory also un-finishes it
    write_results(tmp_path, tables, summary)
    assert read_results(tmp_path)[1]["finished"] is True
    monkeypatch.setattr(files, "write_table", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, tables, summary)
    with pytest.raises(IncompleteResultsError):
        read_results(tmp_path)


def test_schema_error_writes_nothing(tmp_path, fake):
    tables, summary = fake
    bad = dict(tables, deals=tables["deals"].drop(columns=["amount"]))
    with pytest.raises(OutputSchemaError, match="amount"):
        write_results(tmp_path / "run", bad, summary)
    assert not (tmp_path / "run").exists()
    with pytest.raises(OutputSchemaError, match=r"missing table\(s\) \['investors'\]"):
        write_results(tmp_path / "run", {k: v for k, v in tables.items() if k != "investors"}, summary)


def test_optional_table_may_be_absent_and_stale_copy_is_removed(tmp_path, fake):
    tables, summary = fake
    write_results(tmp_path, tables, summary)
    without = {k: v for k, v in tables.items() if k != "firm_years"}
    write_results(tmp_path, without, summary)
    assert not (tmp_path / "firm_years.parquet").exists()
    back, _ = read_results(tmp_path)
    assert "firm_years" not in back and "firms" in back


def test_read_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not the output directory"):
        read_results(tmp_path)
    write_summary(tmp_path, {"finished": True})
    with pytest.raises(FileNotFoundError, match="timeseries.parquet"):
        read_results(tmp_path)


@dataclasses.dataclass
class _Cfg:
    seed: int = 3
    shares: tuple = (0.5, float("nan"))


def test_summary_json(tmp_path):
    s = {
        "finished": True,
        "seed": np.int64(7),
        "scale": np.float64(0.5),
        "wall_seconds": float("nan"),
        "totals": {"z": float("inf"), "a": np.array([1, 2]), "名字": "独角兽"},
        "path": tmp_path,
        "config": _Cfg(),
    }
    write_summary(tmp_path, s)
    raw = (tmp_path / "summary.json").read_bytes()
    text = raw.decode("utf-8")
    assert "独角兽" in text and "\\u" not in text
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back["wall_seconds"] is None and back["totals"]["z"] is None
    assert back["seed"] == 7 and back["totals"]["a"] == [1, 2]
    assert list(back) == sorted(back)
    assert back["config"] == {"seed": 3, "shares": [0.5, None]}
    write_summary(tmp_path, s)
    assert (tmp_path / "summary.json").read_bytes() == raw


def test_empty_tables_round_trip(tmp_path, fake):
    tables, summary = fake
    empty = {name: empty_frame(name) for name in TABLE_SCHEMAS}
    write_results(tmp_path, empty, summary)
    back, _ = read_results(tmp_path)
    for name in TABLE_SCHEMAS:
        pd.testing.assert_frame_equal(back[name], empty[name], obj=name)


# ---------------------------------------------------------------------------------- docs


def test_committed_doc_matches_generator():
    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    assert doc == gendocs.render_outputs(), "docs/outputs.md is stale: run `python -m sim.devtools.gendocs`"
    assert render_doc() in doc  # the run's tables, as sim.outputs documents them


def test_doc_mentions_every_column():
    doc = render_doc()
    for t in TABLE_SCHEMAS.values():
        assert f"## {t.name}.parquet" in doc
        for c in t.columns:
            assert f"| `{c.name}` |" in doc


# ---------------------------------------------------------------------------------- plots


def _assert_pngs(paths, outdir):
    assert [p.name for p in paths] == list(plots.PLOT_FILES)
    for p in paths:
        assert p.parent == Path(outdir)
        data = p.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, p.name


def test_make_plots(tmp_path, fake):
    tables, summary = fake
    write_results(tmp_path, tables, summary)
    _assert_pngs(plots.make_plots(tmp_path), tmp_path)


def test_make_plots_without_unicorns_or_firm_years(tmp_path):
    tables, summary = make_fake_results(unicorns=False, firm_years=False)
    assert tables["firms"]["unicorn_step"].isna().all() and tables["firm_years"].empty
    write_results(tmp_path / "empty_rows", tables, summary)
    _assert_pngs(plots.make_plots(tmp_path / "empty_rows"), tmp_path / "empty_rows")
    # firm_years not written at all (output.firm_years=false)
    write_results(tmp_path / "absent", {k: v for k, v in tables.items() if k != "firm_years"}, summary)
    _assert_pngs(plots.make_plots(tmp_path / "absent"), tmp_path / "absent")


def test_hill_estimator_recovers_pareto_exponent():
    rng = np.random.default_rng(1)
    x = rng.pareto(1.5, 50_000) + 1.0  # P(X >= x) = x^-1.5
    fit = plots.hill_tail_exponent(x)
    assert abs(fit["alpha"] - 1.5) < 4 * fit["se"]
    assert fit["k"] == 5000
    assert plots.hill_tail_exponent([1.0, 2.0, 3.0]) is None
    assert plots.hill_tail_exponent(np.ones(1000)) is None
    assert math.isclose(plots.hill_tail_exponent(x)["alpha"], fit["alpha"])

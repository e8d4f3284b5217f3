"""The command line (`python -m sim`), `sim.load_config` and the generated configuration files."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim import load_config
from sim.config import Config, ConfigError, iter_fields
from sim.devtools import gendocs

ROOT = Path(__file__).resolve().parents[1]
TINY = ["scale=0.002", "years=1", "ecosystem.warmup_years=0", "output.plots=false"]

# The output contract (/tmp/plan/contract.md, docs/outputs.md): table -> columns it must have.
CONTRACT_COLUMNS = {
    "timeseries": [
        "step", "year", "month", "firms", "startups", "gazelles", "unicorns", "births",
        "births_independent", "births_spinoff", "births_alumni", "deaths", "exits_ipo",
        "exits_acquired", "aged_out", "new_gazelles", "new_unicorns", "angel_invested",
        "vc_invested", "guidance_invested", "bank_lending", "public_spending", "employees",
        "revenue", "active_tracks", "breakthroughs",
    ],
    "firms": [
        "firm_id", "born_step", "origin", "track_id", "end_step", "end_kind", "gazelle_step",
        "unicorn_step", "total_raised", "employees", "revenue", "valuation", "quality",
    ],
    "firm_years": ["firm_id", "year", "age_years", "employees", "revenue", "valuation", "stage"],
    "deals": [
        "step", "year", "investor_id", "investor_kind", "firm_id", "round", "amount",
        "pre_money", "post_money", "track_id",
    ],
    "positions": [
        "investor_id", "investor_kind", "firm_id", "invested", "proceeds", "residual_value",
        "status", "multiple",
    ],
    "tracks": [
        "track_id", "key", "name", "name_en", "direction", "level", "parent_ids", "born_step",
        "formed_step", "ended_step", "end_kind", "created_by", "market_mcny", "unicorns_ever",
    ],
    "investors": [
        "investor_id", "kind", "name", "vintage_year", "size", "committed", "invested",
        "proceeds", "manager_id",
    ],
}
SUMMARY_KEYS = ["finished", "seed", "years", "scale", "ecosystem", "wall_seconds", "phase_seconds", "totals", "config"]


def run_sim(args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ------------------------------------------------------------------------------ a real run


def test_tiny_run_writes_the_contract_tables_into_the_run_dir(tmp_path):
    out = tmp_path / "run"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = run_sim([*TINY, "seed=7", f"hydra.run.dir={out}"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
    for table, columns in CONTRACT_COLUMNS.items():
        path = out / f"{table}.parquet"
        assert path.is_file(), f"{table}.parquet missing; the run dir holds {sorted(p.name for p in out.iterdir())}"
        names = pq.read_schema(path).names
        missing = [c for c in columns if c not in names]
        assert not missing, f"{table}.parquet lacks columns {missing}"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [k for k in SUMMARY_KEYS if k not in summary] == []
    assert summary["seed"] == 7 and summary["years"] == 1 and summary["scale"] == pytest.approx(0.002)
    assert summary["finished"] is True
    # Hydra's record of the run goes to the same directory, and nothing to the working directory.
    assert (out / ".hydra" / "config.yaml").is_file()
    assert list(cwd.iterdir()) == []
    # output.plots=false: no figures
    assert not list(out.rglob("*.png"))


# ------------------------------------------------------------------------------ user mistakes

BAD_INPUTS = [
    # (override, text the one-line message must contain)
    ("ecosystem.firms.birth_per_year=3", ["ecosystem.firms.birth_per_year", "births_per_year"]),
    ("years=abc", ["years", "abc", "integer"]),
    ("ecosystem.firms.closure_hazard=-1", ["ecosystem.firms.closure_hazard", "-1", ">= 0"]),
    ("stages.gazelle_definition=foo", ["stages.gazelle_definition", "foo", "oecd", "tiered_cn"]),
    ("ecosystem=atlantis", ["ecosystem", "atlantis", "zhongguancun"]),
    ("ecosystm.firms.births_per_year=3", ["ecosystm", "Did you mean 'ecosystem'"]),
    ("output.plots=maybe", ["output.plots", "maybe", "true or false"]),
    ("scale=0", ["scale", "0", "> 0"]),
    ("ecosystem.funding.screening_bar=[1,2]", ["ecosystem.funding.screening_bar", "5"]),
    ("ecosystem.tracks.system=atlantis", ["ecosystem.tracks.system", "atlantis", "china_2021"]),
    ("seed=1,2", ["seed=1,2", "--multirun"]),
    ("years=[", ["years=["]),
]


#: one of each kind of mistake in the default tier (a wrong type, an unknown option, a misspelt key, a sweep
#: without --multirun); every one in the slow tier (each is a python -m sim process, a few seconds each)
FAST_MISTAKES = {"years=abc", "ecosystem=atlantis", "ecosystm.firms.births_per_year=3", "seed=1,2"}


@pytest.mark.parametrize("override,expected", [
    pytest.param(o, e, id=o, marks=() if o in FAST_MISTAKES else pytest.mark.slow) for o, e in BAD_INPUTS])
def test_user_mistakes_give_one_line_and_exit_2(override, expected, tmp_path):
    proc = run_sim([*TINY, override, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert not (tmp_path / "run").exists(), "a refused configuration must not start a run"


def test_multirun_checks_every_swept_value(tmp_path):
    proc = run_sim(
        ["--multirun", "seed=1,-2", *TINY, f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "seed=-2" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_the_configuration(tmp_path):
    proc = run_sim(["--help"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "births_per_year" in proc.stdout and "docs/configuration.md" in proc.stdout


# ------------------------------------------------------------------------------ load_config


def test_load_config_gives_the_schema_defaults():
    cfg = load_config()
    assert isinstance(cfg, Config)
    assert cfg.ecosystem.note, "the preset records where its numbers come from"
    cfg.ecosystem.note = Config().ecosystem.note
    diff = [k for k in _leaf_keys(Config()) if _get(cfg, k) != _get(Config(), k)]
    assert not diff, (
        f"conf/ differs from the defaults in sim/config.py at {diff}; "
        "regenerate the preset with: python -m sim.devtools.gendocs"
    )


def test_load_config_applies_overrides_like_the_command_line():
    cfg = load_config(
        ["years=3", "ecosystem.firms.closure_hazard=0.1", "stages.gazelle_definition=eu10", "hydra.run.dir=x"]
    )
    assert (cfg.years, cfg.ecosystem.firms.closure_hazard, cfg.stages.gazelle_definition) == (3, 0.1, "eu10")
    with pytest.raises(ConfigError, match="births_per_year"):
        load_config(["ecosystem.firms.birth_per_year=3"])
    with pytest.raises(ConfigError, match="zhongguancun"):
        load_config(["ecosystem=atlantis"])


def test_importing_sim_stays_light():
    code = (
        "import sys, sim; heavy = [m for m in ('hydra', 'mesa', 'pandas', 'sim.model') if m in sys.modules]; "
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ generated files


def test_generated_files_are_up_to_date():
    reference = ROOT / "docs" / "configuration.md"
    assert reference.read_text(encoding="utf-8") == gendocs.render_configuration(), (
        "docs/configuration.md is out of date with sim/config.py; regenerate it with: python -m sim.devtools.gendocs"
    )
    preset = gendocs.PRESET.read_text(encoding="utf-8")
    assert preset == gendocs.render_preset(preset), (
        "conf/ecosystem/zhongguancun.yaml is out of date with sim/config.py; regenerate it with: "
        "python -m sim.devtools.gendocs"
    )


def test_reference_lists_every_key():
    text = gendocs.render_configuration()
    missing = [key for key, _, group in iter_fields(Config) if group is None and f"| `{key}` |" not in text]
    assert not missing


def _leaf_keys(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaf_keys(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}"


def _get(obj, key):
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj

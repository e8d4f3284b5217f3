"""A preset of one's own (issue 18): ``ecosystem=path/to/my_park.yaml`` on ``python -m sim``, in
``sim.load_config``, ``--preset`` of the comparison and ``ecosystem=`` of validation, calibration and
sensitivity, checked like a built-in preset without adding a file to conf/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from experiments.compare_policies import main as compare_cli
from sim import load_config
from sim.analysis.sensitivity import run_sensitivity
from sim.compose import preset_name
from sim.config import ConfigError
from sim.validation.report import validate

ROOT = Path(__file__).resolve().parents[1]
TINY = ["scale=0.005", "years=1", "ecosystem.warmup_years=0", "output.plots=false"]
MY_PARK = {"name": "my_park", "note": "a park of our own", "firms": {"births_per_year": 50_000.0},
           "government": {"budget_mcny_per_year": 1_500.0}}


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def my_park(tmp_path) -> Path:
    return write(tmp_path / "my_park.yaml", MY_PARK)


def test_a_preset_file_composes_like_a_built_in_preset(my_park, tmp_path, monkeypatch):
    cfg = load_config([f"ecosystem={my_park}", "scale=0.01"])
    built_in = load_config(["ecosystem=zhongguancun", "scale=0.01"])
    assert cfg.ecosystem.name == "my_park" and cfg.ecosystem.note == "a park of our own"
    assert cfg.ecosystem.firms.births_per_year == 50_000 and cfg.ecosystem.government.budget_mcny_per_year == 1_500
    # keys the file leaves out keep the schema's defaults, like a built-in preset's
    assert cfg.ecosystem.vc == built_in.ecosystem.vc and cfg.ecosystem.firms.growth_base == \
        built_in.ecosystem.firms.growth_base
    # overrides come on top of the file; a relative path is relative to the working directory
    monkeypatch.chdir(tmp_path)
    cfg = load_config(["ecosystem=my_park.yaml", "ecosystem.firms.births_per_year=1000"])
    assert cfg.ecosystem.firms.births_per_year == 1000 and cfg.ecosystem.name == "my_park"
    # without a name, the file's stem names it
    write(tmp_path / "harbour.yml", {"firms": {"births_per_year": 7_000.0}})
    assert load_config(["ecosystem=harbour.yml"]).ecosystem.name == preset_name("harbour.yml") == "harbour"
    assert preset_name("china") == "china"


def test_a_file_named_like_a_built_in_preset_is_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "zhongguancun.yaml", {"firms": {"births_per_year": 1234.0}})
    assert load_config(["ecosystem=zhongguancun.yaml"]).ecosystem.firms.births_per_year == 1234
    assert load_config(["ecosystem=zhongguancun"]).ecosystem.firms.births_per_year == 110_000


def test_an_edited_file_is_read_again(tmp_path):
    path = write(tmp_path / "p.yaml", {"firms": {"births_per_year": 100.0}})
    assert load_config([f"ecosystem={path}"]).ecosystem.firms.births_per_year == 100
    write(path, {"firms": {"births_per_year": 200.0}})
    assert load_config([f"ecosystem={path}"]).ecosystem.firms.births_per_year == 200
    write(path, {"firms": {"births_per_year": -1.0}})
    with pytest.raises(ConfigError, match="out of range"):
        load_config([f"ecosystem={path}"])


BAD = {
    "typo": ("firms:\n  birth_per_year: 3\n", ["'ecosystem.firms.birth_per_year'", "Did you mean 'births_per_year'"]),
    "range": ("firms:\n  births_per_year: -3\n", ["ecosystem.firms.births_per_year=-3.0 is out of range", ">= 0"]),
    "type": ("firms:\n  births_per_year: lots\n", ["ecosystem.firms.births_per_year", "wrong type", "a number"]),
    "group": ("firms: 3\n", ["ecosystem.firms"]),
    "yaml": ("firms: [1\n", ["not valid YAML", "line"]),
    "wrapped": ("ecosystem:\n  firms:\n    births_per_year: 3\n", ["top level", "no 'ecosystem' key"]),
    "list": ("- 1\n- 2\n", ["holds no keys"]),
    "tracks": ("tracks:\n  system: atlantis\n", ["ecosystem.tracks.system='atlantis'", "conf/tracks/"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_mistake_in_a_preset_file_names_the_file_and_the_key(case, tmp_path):
    text, needles = BAD[case]
    path = write(tmp_path / f"{case}.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config([f"ecosystem={path}"])
    message = str(err.value)
    assert message.startswith(f"preset file {path}: ") and "\n" not in message
    for needle in needles:
        assert needle in message


def test_a_missing_file_and_an_unknown_name_say_what_is_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"no such preset file.*zhongguancun.*ending in \.yaml"):
        load_config([f"ecosystem={tmp_path / 'nowhere.yaml'}"])
    with pytest.raises(ConfigError, match=r"Unknown ecosystem preset.*path of a preset file of your own"):
        load_config(["ecosystem=my_park"])


def _sim(args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_python_m_sim_runs_a_preset_file_and_refuses_a_bad_one_in_one_line(my_park, tmp_path):
    write(tmp_path / "typo.yaml", "firms:\n  birth_per_year: 3\n")
    bad = _sim(["ecosystem=typo.yaml", *TINY], tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert bad.stderr.startswith("error: preset file typo.yaml: Unknown configuration key 'ecosystem.firms.birth_per")
    good = _sim(["ecosystem=my_park.yaml", *TINY, "hydra.run.dir=out"], tmp_path)
    assert good.returncode == 0, good.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ecosystem"] == "my_park" and summary["config"]["ecosystem"]["firms"]["births_per_year"] == 50_000
    # Hydra's record names the file by its absolute path, so the run can be repeated from anywhere
    assert f"ecosystem={my_park.resolve()}" in yaml.safe_load((tmp_path / "out/.hydra/overrides.yaml").read_text())


@pytest.mark.slow
def test_the_comparison_takes_a_preset_file(my_park, tmp_path, capsys):
    bad = write(tmp_path / "bad.yaml", "firms:\n  births_per_year: lots\n")
    assert compare_cli(["--preset", str(bad), "--policies", "guidance_fund", "--outdir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: preset file {bad}: Invalid value ecosystem.firms.births_per_year") and \
        err.count("\n") == 1
    assert compare_cli(["--preset", str(my_park), "ecosystem=china", "--outdir", str(tmp_path / "c")]) == 2
    assert "give the preset once" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()  # nothing ran
    out = tmp_path / "ok"
    assert compare_cli(["--preset", str(my_park), "--policies", "scene_opening", "--seeds", "2", "--jobs", "1",
                        "--no-plots", "--outdir", str(out), *TINY]) == 0
    setup = json.loads((out / "comparison.json").read_text())
    assert setup["ecosystem"] == "my_park" and setup["preset_file"] == str(my_park)
    assert f"`{my_park}`" in (out / "report.md").read_text(encoding="utf-8")
    run_cfg = yaml.safe_load((out / "runs" / "baseline" / "seed=0" / ".hydra" / "config.yaml").read_text())
    assert run_cfg["ecosystem"]["firms"]["births_per_year"] == 50_000 and run_cfg["scale"] == 0.005


def test_validation_of_a_preset_file_uses_its_name_or_another_presets_targets(my_park, tmp_path):
    with pytest.raises(ConfigError, match=r"no target .* 'my_park'.*--targets-of"):
        validate(str(my_park), seeds=1)
    res = validate(str(my_park), seeds=1, targets=["zgc_new_tech_firms_2024"], targets_of="zhongguancun",
                   overrides=["scale=0.005", "ecosystem.warmup_years=0"], outdir=tmp_path / "v", progress=False)
    assert res.plan.cfg.ecosystem.firms.births_per_year == 50_000
    value = res.targets.set_index("target").loc["zgc_new_tech_firms_2024", "mean"]
    assert value == pytest.approx(50_000, rel=0.1)  # births founded by the park of the file, at full scale
    report = (tmp_path / "v" / "report.md").read_text(encoding="utf-8")
    assert f"Preset: `{my_park}` (`my_park`)" in report


def test_sensitivity_reports_a_mistake_in_its_overrides_as_such(tmp_path):
    bad = write(tmp_path / "bad.yaml", "firms:\n  births_per_year: lots\n")
    with pytest.raises(ConfigError) as err:
        run_sensitivity(base=[f"ecosystem={bad}"], out=tmp_path / "s")
    assert str(err.value).startswith(f"preset file {bad}: ")  # not blamed on a parameter's range


@pytest.mark.slow
def test_a_sweep_over_preset_files_runs_in_hydras_worker_processes(my_park, tmp_path):
    """Hydra's joblib launcher carries the registered file into its worker processes."""
    res = _sim(["-m", "ecosystem=my_park.yaml,zhongguancun", *TINY, "hydra.sweep.dir=sweep"], tmp_path)
    assert res.returncode == 0, res.stderr
    births = sorted(json.loads(p.read_text())["config"]["ecosystem"]["firms"]["births_per_year"]
                    for p in (tmp_path / "sweep").rglob("summary.json"))
    assert births == [50_000, 110_000]

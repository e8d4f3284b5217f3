"""The one generator of the files that must follow the code (python -m sim.devtools.gendocs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sim.devtools import gendocs
from sim.policies.registry import CONFIGS

ROOT = Path(__file__).resolve().parents[1]


def test_every_generated_file_is_up_to_date():
    wanted = gendocs.files()
    assert {p.relative_to(ROOT).as_posix() for p in wanted} == {
        "docs/configuration.md", "docs/policies.md", "docs/outputs.md", "docs/validation.md",
        "docs/validation-status.md", "conf/ecosystem/zhongguancun.yaml", *(f"conf/policy/{n}.yaml" for n in CONFIGS)}
    stale = [str(p.relative_to(ROOT)) for p in gendocs.stale_files(wanted)]
    assert not stale, f"{stale} are out of date; regenerate them with: python -m sim.devtools.gendocs (make docs)"


def test_check_names_a_stale_file_and_writing_repairs_it(tmp_path, monkeypatch, capsys):
    for name in ("CONFIGURATION_DOC", "POLICIES_DOC", "OUTPUTS_DOC", "VALIDATION_DOC", "PRESET"):
        src = getattr(gendocs, name)
        dst = tmp_path / src.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
        monkeypatch.setattr(gendocs, name, dst)
    monkeypatch.setattr(gendocs, "POLICY_CONF", tmp_path / "conf" / "policy")
    shutil.copytree(ROOT / "conf" / "policy", tmp_path / "conf" / "policy")
    monkeypatch.setattr(gendocs, "ROOT", tmp_path)
    assert gendocs.main(["--check"]) == 0
    doc = tmp_path / "docs" / "outputs.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace("mcny", "yuan", 1), encoding="utf-8")
    (tmp_path / "conf" / "policy" / "rd_grants.yaml").unlink()
    capsys.readouterr()
    assert gendocs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/outputs.md is out of date" in err and "conf/policy/rd_grants.yaml is out of date" in err
    assert gendocs.main([]) == 0
    assert gendocs.main(["--check"]) == 0
    assert doc.read_text(encoding="utf-8") == gendocs.render_outputs()


def test_command_line_check_and_make_target():
    proc = subprocess.run([sys.executable, "-m", "sim.devtools.gendocs", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "generated files are up to date" in proc.stdout
    assert "$(PY) -m sim.devtools.gendocs" in (ROOT / "Makefile").read_text(encoding="utf-8")

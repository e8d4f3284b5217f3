"""The architecture as checked rules: imports only point down (the import-linter contract in
pyproject.toml, function-level imports included), ruff's lint rules, short functions, one birth
path and every lever declared once (sim/levers.py) and used."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.levers import LEVERS

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 150

#: Functions of the tooling that the arch-tools branch restructures (issue 15); remove an entry
#: when its function is split. The test fails if an entry no longer needs to be here.
LONG_FUNCTIONS_PENDING: set[str] = set()


def _tool(name: str) -> str:
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it")
    return found


def _python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_imports_only_point_down():
    proc = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_the_layer_contract_catches_an_upward_import(tmp_path):
    """The contract is not vacuous: a function-level import from agents into the policies breaks it."""
    copy = tmp_path / "repo"
    for name in ("sim", "agents", "experiments"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    rules = copy / "agents" / "firms" / "rules.py"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n\ndef _probe():\n    import sim.policies.registry\n",
                     encoding="utf-8")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=copy, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode != 0
    assert "agents.firms.rules -> sim.policies.registry" in proc.stdout


def test_ruff_passes():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "sim", "agents", "experiments", "tests"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _long_functions() -> dict[str, int]:
    out = {}
    for path in _python_files("sim", "agents"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno
                if length > MAX_FUNCTION_LINES:
                    out[f"{path.relative_to(ROOT).as_posix()}:{node.name}"] = length
    return out


def test_no_function_is_longer_than_150_lines():
    long = _long_functions()
    new = {k: v for k, v in long.items() if k not in LONG_FUNCTIONS_PENDING}
    assert not new, f"functions longer than {MAX_FUNCTION_LINES} lines (split them): {new}"
    stale = LONG_FUNCTIONS_PENDING - set(long)
    assert not stale, f"no longer too long (remove from LONG_FUNCTIONS_PENDING): {sorted(stale)}"


def test_the_length_check_finds_a_long_function(tmp_path, monkeypatch):
    """The check above is not vacuous."""
    (tmp_path / "sim").mkdir()
    (tmp_path / "agents").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    (tmp_path / "sim" / "long.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _long_functions() == {"sim/long.py:f": MAX_FUNCTION_LINES + 1}


def _calls(method: str, folders=("sim", "agents")):
    """(path, receiver source, arguments) of every call ``<receiver>.<method>(...)``."""
    for path in _python_files(*folders):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
                yield path.relative_to(ROOT).as_posix(), ast.get_source_segment(text, node.func.value), node.args


def _names(calls, position: int) -> set:
    """The string constants at argument ``position`` of ``calls`` (to the levers)."""
    return {args[position].value for _, receiver, args in calls if receiver.endswith("levers")
            and len(args) > position and isinstance(args[position], ast.Constant)}


def test_founding_is_the_only_birth_path():
    """Firms are added to the population only by agents.firms.founding (Founding.found)."""
    adders = {path for path, receiver, _ in _calls("add") if re.search(r"\b(pop|population)$", receiver)}
    assert adders == {"agents/firms/founding.py"}, adders


def test_every_lever_is_declared_read_and_moved():
    """Levers are named only as declared in sim.levers.LEVERS; each is read by a rule and moved by a policy."""
    read = _names(_calls("value"), 0) | _names(_calls("track"), 0)
    moved = _names(_calls("set", ("sim/policies",)), 1) | _names(_calls("set_track", ("sim/policies",)), 1)
    assert read <= set(LEVERS), read - set(LEVERS)
    assert moved <= set(LEVERS), moved - set(LEVERS)
    assert read == set(LEVERS), f"declared but never read: {set(LEVERS) - read}"
    assert moved == set(LEVERS), f"declared but moved by no policy: {set(LEVERS) - moved}"

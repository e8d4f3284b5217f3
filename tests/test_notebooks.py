"""The teaching notebooks (notebooks/*.ipynb) run from top to bottom without an error.

Each notebook asserts what it shows (the funnel narrows, a fission child has one parent, a
policy's difference has the expected sign, ...), so a change of the model that breaks a lesson
fails here. They run one after the other in a kernel of this interpreter (ipykernel, from the
test extra); the executed copies, with their outputs and plots, are saved under
tests/artifacts/notebooks/ for people to look at. The committed files must be what
notebooks/make_notebooks.py generates, with cleared outputs.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "tests" / "artifacts" / "notebooks"
NAMES = ["01_first_run.ipynb", "02_tracks.ipynb", "03_policies.ipynb", "04_validation.ipynb"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_notebooks_are_generated_and_cleared():
    gen = _generator()
    assert sorted(gen.NOTEBOOKS) == NAMES == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    for name in NAMES:
        nb = nbformat.reads((NOTEBOOKS / name).read_text(encoding="utf-8"), as_version=4)
        want = nbformat.reads(gen.render(name), as_version=4)
        assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in want.cells], (
            f"{name} differs from notebooks/make_notebooks.py: run it to regenerate"
        )
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), f"{name}: outputs not cleared"
        source = "\n".join(c.source for c in code)
        # the notebooks use the package; they never build their own model
        assert "from sim" in source and "class " not in source and "mesa.Model" not in source
        assert any("assert " in c.source for c in code), f"{name} asserts nothing"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary output directories
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / name)
    print(f"{name}: {time.perf_counter() - t0:.1f} s (executed copy: {ARTIFACTS / name})")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 2, f"{name} shows {images} plots"
    # every Chinese label has its glyphs (matplotlib warns "Glyph ... missing from font(s)" otherwise)
    streams = [o["text"] for o in outputs if o.get("output_type") == "stream"]
    missing = [text for text in streams if "missing from font" in text]
    assert not missing, f"{name} drew text without its glyphs: {missing[0][:300]}"

"""Chinese labels render everywhere with the font the package installs (sim/fonts.py).

The font comes with the package's own dependencies (no system font, nothing installed by hand):
it must be the OFL-licensed Noto Sans SC, cover every Chinese character the project writes
(track names, stages, policy labels, notebooks), and matplotlib must draw Chinese labels with it
without a ``Glyph ... missing`` warning. The browser side is checked in tests/test_app.py.
"""

from __future__ import annotations

import builtins
import re
import warnings
from pathlib import Path

import matplotlib
import pytest
from fake_tables import make_fake_results
from fontTools.ttLib import TTFont
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import fonts
from sim.io import plots
from sim.io.files import write_results

ROOT = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def _draw(text: str) -> None:
    fig = Figure(figsize=(3, 1))
    FigureCanvasAgg(fig)
    fig.suptitle(text)
    fig.canvas.draw()


def test_the_font_is_noto_sans_sc_under_the_open_font_license():
    path = fonts.font_path()
    assert path.name == fonts.FONT_FILE and path.stat().st_size > 1_000_000
    name = TTFont(path, lazy=True)["name"]
    assert name.getDebugName(1) == fonts.FAMILY == "Noto Sans SC"
    assert "SIL Open Font License, Version 1.1" in name.getDebugName(13)
    assert fonts.register() == fonts.FAMILY


def test_the_font_covers_every_chinese_character_of_the_project():
    cmap = TTFont(fonts.font_path(), lazy=True).getBestCmap()
    sources = [*ROOT.glob("conf/**/*.yaml"), *ROOT.glob("sim/**/*.py"), *ROOT.glob("agents/**/*.py"),
               ROOT / "notebooks" / "make_notebooks.py"]
    seen: dict[str, str] = {}
    for src in sources:
        for ch in HAN.findall(src.read_text(encoding="utf-8")):
            seen.setdefault(ch, str(src.relative_to(ROOT)))
    assert len(seen) > 100, "the project's Chinese text was not found"
    missing = {ch: where for ch, where in seen.items() if ord(ch) not in cmap}
    assert not missing, f"characters the font cannot draw (first file using each): {missing}"


def test_matplotlib_draws_chinese_with_the_font_and_would_warn_without_it():
    text = "独角兽 瞪羚 新赛道 互联网金融 → α ≥ 1"
    with rc_context({"font.family": ["DejaVu Sans"]}):
        assert _glyph_warnings(lambda: _draw(text)), "the check below could not fail"
    with rc_context(fonts.rc()):
        assert _glyph_warnings(lambda: _draw(text)) == []
    assert fonts.rc() == {"font.family": [fonts.LATIN, fonts.FAMILY]}


def test_standard_plots_show_chinese_names_without_glyph_warnings(tmp_path):
    tables, summary = make_fake_results()
    assert tables["tracks"]["name"].map(lambda s: bool(HAN.search(s))).all()
    write_results(tmp_path, tables, summary)
    written = []
    assert _glyph_warnings(lambda: written.extend(plots.make_plots(tmp_path))) == []
    assert [p.name for p in written] == list(plots.PLOT_FILES)


def test_use_sets_the_fallback_for_pyplot_figures():
    with rc_context():
        fonts.use()
        assert list(matplotlib.rcParams["font.family"]) == [fonts.LATIN, fonts.FAMILY]
        assert _glyph_warnings(lambda: _draw("创业 → 瞪羚 → 独角兽")) == []


def test_browser_css_declares_the_font_for_the_page():
    css = fonts.browser_css("/static/assets/NotoSansSC-Regular.otf")
    assert "font-family: 'Noto Sans SC'; src: url('/static/assets/NotoSansSC-Regular.otf') format('opentype')" in css
    assert "font-family: 'Roboto'" in css and "unicode-range: U+2E80" in css


def test_a_missing_font_package_gives_one_clear_message(monkeypatch):
    real_import = builtins.__import__

    def no_font(name, *args, **kwargs):
        if name == "pylopdf_fonts_zh_cn":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_font)
    with pytest.raises(fonts.FontMissing, match=r"pip install pylopdf-fonts-zh-cn"):
        fonts.font_path()

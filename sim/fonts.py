"""The Chinese font of every label: plots, notebooks and the interactive view.

Track names (赛道), stages (创业 → 瞪羚 → 独角兽) and directions are Chinese, and matplotlib's own
font, DejaVu Sans, has no Chinese glyphs (it draws boxes and warns ``Glyph ... missing``). The
package therefore depends on ``pylopdf-fonts-zh-cn``, a PyPI package that carries Noto Sans SC
Regular 2.004 (Google and Adobe's Noto Sans CJK, the simplified-Chinese subset, unmodified; SIL
Open Font License 1.1; 8.3 MB), so that every installation, ``make run`` included, has it.
Nothing is downloaded at run time and no system font is needed.

* Matplotlib: :func:`rc` gives the rcParams for a figure: DejaVu Sans first (Latin letters, digits
  and symbols keep matplotlib's usual look) and :data:`FAMILY` as the fallback that matplotlib
  uses glyph by glyph for Chinese. The font file is added to matplotlib's font manager the first
  time (:func:`register`, once per process). ``sim.io.plots`` and ``sim.app`` draw inside
  ``matplotlib.rc_context(fonts.rc())`` and leave the process-wide settings alone; a notebook or a
  script that draws with pyplot calls :func:`use` once.
* The browser (``python -m sim.app``): the page's text is drawn by the browser, which has no
  Chinese font on a bare machine either. :func:`font_dir` is served by the app as a static
  directory and :func:`browser_css` declares the font for the page with ``@font-face``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

__all__ = ["FAMILY", "LATIN", "FONT_PACKAGE", "font_path", "font_dir", "register", "families", "rc", "use",
           "browser_css"]

log = logging.getLogger(__name__)

FAMILY = "Noto Sans SC"  # the family name inside the font file
LATIN = "DejaVu Sans"  # matplotlib's default font, kept first for everything that is not Chinese
FONT_PACKAGE = "pylopdf-fonts-zh-cn"
FONT_FILE = "NotoSansSC-Regular.otf"


class FontMissing(RuntimeError):
    """The font package is not installed (the package was installed without its dependencies)."""


def font_path() -> Path:
    """Path of the Noto Sans SC font file shipped by the ``pylopdf-fonts-zh-cn`` dependency."""
    try:
        import pylopdf_fonts_zh_cn  # noqa: PLC0415 - an 8 MB data package, only looked up when a label is drawn
    except ImportError as exc:
        raise FontMissing(
            f"the Chinese font package {FONT_PACKAGE} is not installed (it is a dependency of this package): "
            f"pip install {FONT_PACKAGE}"
        ) from exc
    path = Path(pylopdf_fonts_zh_cn.__file__).with_name(FONT_FILE)
    if not path.is_file():
        raise FontMissing(f"{FONT_PACKAGE} has no {FONT_FILE} (found {sorted(p.name for p in path.parent.iterdir())})")
    return path


def font_dir() -> Path:
    """The directory that holds :func:`font_path` (served to the browser by the interactive view)."""
    return font_path().parent


@functools.lru_cache(maxsize=1)
def register() -> str | None:
    """Add the font file to matplotlib's font manager (once per process) and return its family name.

    Returns None, after one logged warning, when the font package is missing: labels then show
    as boxes with matplotlib's ``Glyph ... missing`` warnings, and nothing else fails.
    """
    from matplotlib import font_manager  # noqa: PLC0415 - matplotlib only when something is drawn

    try:
        path = font_path()
    except FontMissing as exc:
        log.warning("Chinese labels will show as boxes: %s", exc)
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    if name != FAMILY:  # pragma: no cover - a different file under the same name
        log.warning("%s holds the family %r, not %r", path, name, FAMILY)
    return name


def families() -> list[str]:
    """``font.family`` for figures: Latin first, then the Chinese fallback (registered on first call)."""
    cjk = register()
    return [LATIN, cjk] if cjk else [LATIN]


def rc() -> dict:
    """rcParams for ``matplotlib.rc_context(rc())``: Chinese labels render, nothing else changes."""
    return {"font.family": families()}


def use() -> None:
    """Make every later matplotlib figure of this process render Chinese (for notebooks and scripts)."""
    import matplotlib  # noqa: PLC0415 - matplotlib only when something is drawn

    matplotlib.rcParams.update(rc())


def browser_css(url: str, families_to_extend: tuple[str, ...] = ("Roboto",)) -> str:
    """CSS that makes a web page render Chinese with the font served at ``url``.

    Declares :data:`FAMILY` with ``@font-face`` and adds the same file, for the CJK code points
    only (``unicode-range``), to the families the page's own styles name (Vuetify's Roboto), so
    every element that asks for one of them finds the Chinese glyphs in the same family.
    """
    cjk_ranges = ("U+2E80-2FDF, U+3000-303F, U+31C0-31EF, U+3200-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF, "
                  "U+20000-2FA1F")
    face = "@font-face {{ font-family: '{name}'; src: url('{url}') format('opentype'); font-display: block;{extra} }}"
    rules = [face.format(name=FAMILY, url=url, extra="")]
    rules += [face.format(name=name, url=url, extra=f" unicode-range: {cjk_ranges};") for name in families_to_extend]
    rules.append(f"body {{ font-family: Roboto, '{FAMILY}', sans-serif; }}")
    return "\n".join(rules)

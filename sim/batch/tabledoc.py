"""Documentation of the tables the tools write (sweeps, comparisons, validation, sensitivity).

Each tool declares the files it writes as :class:`FileDoc` values next to the code that writes
them; ``python -m sim.devtools.gendocs`` renders them into docs/outputs.md after the run's own
tables, and the tests compare the columns of the written files with these declarations
(:func:`undocumented`), so a column cannot be added without its unit and meaning.

Units: ``mcny`` is million CNY (1 亿元 = 100 mcny, 1 万元 = 0.01 mcny); money and counts of a
comparison are for the simulated park (its ``scale`` times the preset) unless a column says
"full scale"; ``share`` is a fraction between 0 and 1; an empty unit is a label or a
dimensionless number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Col", "FileDoc", "render_files", "undocumented"]


@dataclass(frozen=True)
class Col:
    """One column (or, with a name in angle brackets, a family of columns such as ``<override key>``)."""

    name: str
    type: str
    unit: str
    doc: str


@dataclass(frozen=True)
class FileDoc:
    """A file a tool writes: its name (relative to the tool's output directory), what it holds, its columns."""

    name: str
    doc: str
    rows: str = ""
    columns: tuple[Col, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns if not c.name.startswith("<")]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_files(title: str, intro: str, files: Sequence[FileDoc]) -> str:
    """A section of docs/outputs.md: a heading, an introduction, then one table per file."""
    out = [f"\n## {title}\n\n{intro}\n\n| file | what |\n| --- | --- |\n"]
    out += [f"| `{f.name}` | {_md(f.doc)} |\n" for f in files]
    for f in files:
        if not f.columns:
            continue
        rows = f" Rows: {f.rows}." if f.rows else ""
        out.append(f"\n### {f.name}\n\n{f.doc}{rows}\n\n")
        out.append("| column | type | unit | meaning |\n| --- | --- | --- | --- |\n")
        out += [f"| `{c.name}` | {_md(c.type)} | {_md(c.unit) or '-'} | {_md(c.doc)} |\n" for c in f.columns]
    return "".join(out)


def undocumented(columns: Iterable[str], doc: FileDoc) -> tuple[list[str], list[str]]:
    """(columns written but not documented, documented columns not written); families in <> are skipped."""
    written = list(columns)
    documented = doc.names
    return [c for c in written if c not in documented], [c for c in documented if c not in written]

"""Interactive view of the ecosystem in the browser: a Mesa SolaraViz app (plots only, no space).

Start it with one command (needs the ``viz`` extra: ``pip install -e '.[viz]'``; ``make test``
installs it)::

    .venv/bin/python -m sim.app                 # http://127.0.0.1:8765, Ctrl-C stops it
    .venv/bin/python -m sim.app --port 8800     # another port (extra options go to `solara run`)
    .venv/bin/solara run sim/app.py             # the same, with solara's own command

The sidebar holds Mesa's controls (Reset, play/pause, Step; the play and render intervals) and
the model parameters: park size (``scale``), seed, observed years and warm-up years, firm births
per year, LP commitments to VC funds per year, the gazelle (瞪羚) definition, and one checkbox per
policy configuration of ``conf/policy/``. A changed parameter applies when you press **Reset**,
which builds a new model: the warm-up runs at once, so the plots start in January of the first
observed year. Each **Step** is one month.

The plots read only what the model records each month: :attr:`EcosystemModel.timeseries`
(the rows of ``timeseries.parquet``), collected by a Mesa ``DataCollector``, and the per-track
count of firms that ever became unicorns; no output table is built.

Chinese text: the plots are drawn on the server with the font of :mod:`sim.fonts`; the page's
own text (title, sidebar, status) is drawn by the browser, to which the app serves the same font
file (as a solara asset) and declares it with ``@font-face``, so no font has to be installed.
"""

from __future__ import annotations

import argparse
import html
import sys
import threading
from functools import lru_cache
from pathlib import Path

import mesa
import numpy as np
import yaml
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator, NullFormatter

try:  # the viz extra; without it the model class still imports and `python -m sim.app` says what to install
    import solara
except ImportError:  # pragma: no cover - the test extra installs it
    solara = None

from sim import fonts
from sim.compose import conf_dir, load_config, presets
from sim.config import GAZELLE_DEFINITIONS, ConfigError
from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS
from sim.core.yamlio import safe_load
from sim.model import EcosystemModel
from sim.policies.registry import CONFIGS, REGISTRY, policies_from_config

__all__ = ["TeachingModel", "model_params", "policy_choices", "Page", "main"]

STAGES = ("startups", "gazelles", "unicorns")
STAGE_ZH = {"startups": "创业企业", "gazelles": "瞪羚", "unicorns": "独角兽"}
STAGE_COLORS = {"startups": "#4C72B0", "gazelles": "#DD8452", "unicorns": "#8172B3"}
DIRECTION_COLORS = dict(zip(DIRECTIONS, ("#4C72B0", "#55A868", "#C44E52", "#8172B3", "#CCB974", "#64B5CD"),
                            strict=True))
TOP_TRACKS = 12
POLICY_PREFIX = "policy_"

_compose_lock = threading.Lock()  # Hydra's compose API is process-global: one configuration at a time


def _serve_font() -> str | None:
    """Serve the Chinese font's directory as solara assets; return the page's CSS for it (None without solara)."""
    if solara is None:
        return None
    from solara.server import settings  # noqa: PLC0415 - solara comes with the viz extra only

    try:
        where = str(fonts.font_dir())
    except fonts.FontMissing:  # labels then fall back to the browser's own fonts
        return None
    if where not in settings.assets.extra_locations:
        settings.assets.extra_locations.append(where)  # looked up on every request: no restart needed
    return fonts.browser_css(f"/static/assets/{fonts.FONT_FILE}")


FONT_CSS = _serve_font()


@lru_cache(maxsize=1)
def policy_choices() -> dict[str, str]:
    """Policy configurations of conf/policy/: name -> short label, the title of its policy class
    (:meth:`sim.policies.base.Policy.title`, from the class docstring)."""
    out = {}
    for name in presets("policy"):
        kind = CONFIGS[name][0] if name in CONFIGS else _kind_in_file(name)
        out[name] = REGISTRY[kind].title() if kind in REGISTRY else name
    return out


def _kind_in_file(name: str) -> str | None:
    """The ``kind`` of the policy configured in conf/policy/<name>.yaml (a file not generated from CONFIGS)."""
    try:
        data = safe_load((conf_dir() / "policy" / f"{name}.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    entry = data.get(name, data) if isinstance(data, dict) else {}
    return entry.get("kind", name) if isinstance(entry, dict) else None


@lru_cache(maxsize=1)
def _preset_defaults() -> dict[str, float]:
    with _compose_lock:
        cfg = load_config([])
    return {
        "births_per_year": float(cfg.ecosystem.firms.births_per_year),
        "vc_commitments": float(cfg.ecosystem.vc.commitments_mcny_per_year),
    }


class TeachingModel(EcosystemModel):
    """The ecosystem model with keyword parameters for the app's controls.

    It composes the configuration like ``python -m sim`` would (``load_config``), runs the
    warm-up and the first observed month at once, and records, every month, the funnel and the
    tracks per direction in a Mesa ``DataCollector`` (one row per observed month, row i = step i).
    Policies that cannot be combined (or any other configuration mistake) are left out and the
    one-line reason is kept in :attr:`message`, shown in the app. ``scenario`` is what Mesa's
    Reset button passes along (a ``mesa.experimental.scenarios.Scenario``); it is not used: the
    randomness comes from ``seed``, as in ``python -m sim``.
    """

    def __init__(
        self,
        scale: float = 0.3,
        seed: int = 0,
        years: int = 10,
        warmup_years: int = 3,
        births_per_year: float | None = None,
        vc_commitments: float | None = None,
        gazelle_definition: str = "oecd",
        ecosystem: str = "zhongguancun",
        scenario=None,
        **policies: bool,
    ):
        unknown = [k for k in policies
                   if not k.startswith(POLICY_PREFIX) or k[len(POLICY_PREFIX):] not in policy_choices()]
        if unknown:
            raise TypeError(f"unknown parameter(s) {', '.join(unknown)}; policies are {POLICY_PREFIX}<name> with "
                            "<name> in conf/policy/")
        overrides = [
            f"ecosystem={ecosystem}",
            f"scale={float(scale)}",
            f"seed={int(seed)}",
            f"years={int(years)}",
            f"ecosystem.warmup_years={int(warmup_years)}",
            f"stages.gazelle_definition={gazelle_definition}",
            "output.progress=off",
        ]
        if births_per_year is not None:
            overrides.append(f"ecosystem.firms.births_per_year={float(births_per_year)}")
        if vc_commitments is not None:
            overrides.append(f"ecosystem.vc.commitments_mcny_per_year={float(vc_commitments)}")
        chosen = sorted(k[len(POLICY_PREFIX):] for k, on in policies.items() if on)
        self.message = ""
        with _compose_lock:
            try:
                cfg = load_config(overrides + ([f"policy=[{','.join(chosen)}]"] if chosen else []))
                policy_objects = policies_from_config(cfg)
            except ConfigError as exc:
                if not chosen:
                    raise
                self.message = f"Policies left out: {exc}"
                chosen = []
                cfg = load_config(overrides)
                policy_objects = []
        self.policy_names = chosen
        super().__init__(cfg, policies=policy_objects)
        self.datacollector = mesa.DataCollector(model_reporters=_reporters())
        while self.current_step < 0:  # the warm-up, without advancing Mesa's clock
            EcosystemModel.step(self)
        self.step_month()

    def step_month(self) -> None:
        EcosystemModel.step(self)
        self.datacollector.collect(self)

    def step(self) -> None:
        """One month; observed months are recorded by the DataCollector."""
        if self.current_step >= self.end_step:
            self.running = False
            return
        self.step_month()

    # ------------------------------------------------------------------ what the view shows
    @property
    def last(self) -> dict:
        return self.recorder.timeseries[-1]

    def month_label(self) -> str:
        row = self.last
        return f"{row['year']}-{row['month']:02d}"

    def unicorns_by_track(self) -> list[tuple[int, int]]:
        """(track id, firms that ever became unicorns) for the tracks with any, most first."""
        counts = self.tracks["unicorns_ever"]
        ids = np.flatnonzero(counts > 0)
        order = sorted(ids, key=lambda t: (-int(counts[t]), int(t)))
        return [(int(t), int(counts[t])) for t in order]


def _reporters() -> dict:
    rep = {s: (lambda m, s=s: m.last[s]) for s in STAGES}
    for d in DIRECTIONS:
        en = DIRECTION_EN[d]
        rep[en] = lambda m, en=en: m.last[f"main_tracks_{en}"] + m.last[f"new_tracks_{en}"]
    return rep


def model_params() -> dict:
    """The controls of the sidebar (Mesa's model_params): sliders, a select and checkboxes."""
    from mesa.visualization import Slider  # noqa: PLC0415 - Mesa's visualisation needs solara (the viz extra)

    d = _preset_defaults()
    params = {
        "scale": Slider("Park size (scale of the 中关村 preset)", 0.3, 0.01, 1.0, 0.01),
        "seed": Slider("Seed", 0, 0, 99, 1),
        "years": Slider("Observed years", 10, 1, 20, 1),
        "warmup_years": Slider("Warm-up years", 3, 0, 10, 1),
        "births_per_year": Slider("Firm births per year (scale 1)", d["births_per_year"], 20_000.0, 250_000.0, 5_000.0),
        "vc_commitments": Slider("VC commitments, mcny/yr (scale 1)", d["vc_commitments"], 0.0, 200_000.0, 5_000.0),
        "gazelle_definition": {
            "type": "Select",
            "value": "oecd",
            "values": list(GAZELLE_DEFINITIONS),
            "label": "Gazelle (瞪羚) definition",
        },
    }
    for name, label in policy_choices().items():
        params[POLICY_PREFIX + name] = {"type": "Checkbox", "value": False, "label": f"{label} [{name}]"}
    return params


# ---------------------------------------------------------------------------------- components


def _year_axis(ax, model) -> None:
    n = len(model.recorder.timeseries)
    ax.set_xlim(0, max(12 * model.cfg.years - 1, n))
    ax.xaxis.set_major_locator(MultipleLocator(12 if model.cfg.years <= 6 else 24))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{model.start_year + int(x) // 12}"))
    ax.set_xlabel("year (ticks at January)")
    ax.grid(True, alpha=0.3)


def _figure(title: str, width=6.0, height=3.6):
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.suptitle(title, fontsize=11)
    return fig


def _fonts():
    """rcParams for the figures, with the Chinese font of :mod:`sim.fonts` (texts keep the family
    they were made with, so the figure can be drawn later, outside this context)."""
    return rc_context(fonts.rc())


def funnel_figure(model):
    """Live startups, gazelles and unicorns over time (log scale)."""
    df = model.datacollector.get_model_vars_dataframe()
    with _fonts():
        fig = _figure("The funnel: 创业 → 瞪羚 → 独角兽")
        ax = fig.subplots()
        for s in STAGES:
            y = df[s].to_numpy(dtype=float)
            label = f"{s} {STAGE_ZH[s]} ({int(y[-1]):,})"
            ax.plot(df.index, np.where(y > 0, y, np.nan), color=STAGE_COLORS[s], label=label, lw=1.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))  # plain numbers: no mathtext to lay out
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("live firms (log scale)")
        _year_axis(ax, model)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def direction_figure(model):
    """Active tracks (main + new) per direction over time."""
    df = model.datacollector.get_model_vars_dataframe()
    with _fonts():
        fig = _figure("Tracks (赛道) per direction, main + new")
        ax = fig.subplots()
        for d in DIRECTIONS:
            en = DIRECTION_EN[d]
            y = df[en].to_numpy(dtype=float)
            label = f"{d} {en} ({int(y[-1])})"
            ax.plot(df.index, y, color=DIRECTION_COLORS[d], label=label, lw=1.8)
        ax.set_ylabel("active tracks")
        _year_axis(ax, model)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def unicorn_figure(model):
    """Firms that ever became unicorns, by founding track (top tracks), coloured by direction."""
    rows = model.unicorns_by_track()
    total = sum(c for _, c in rows)
    with _fonts():
        fig = _figure(f"Firms that became unicorns (独角兽) by track (赛道): {total}")
        ax = fig.subplots()
        if not rows:
            ax.text(0.5, 0.5, "No unicorn yet (a larger park has more)", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        rows = rows[:TOP_TRACKS]
        tr = model.tracks
        codes = tr.directions()
        names = [tr.name[t] for t, _ in rows]
        colors = [DIRECTION_COLORS[DIRECTIONS[codes[t]]] for t, _ in rows]
        slots = max(len(rows), 8)  # bars keep their size when there are few
        y = slots - 1 - np.arange(len(rows))
        bars = ax.barh(y, [c for _, c in rows], color=colors, height=0.7)
        ax.set_ylim(-0.6, slots - 0.4)
        ax.bar_label(bars, padding=2, fontsize=8)
        ax.set_yticks(y, names, fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.margins(x=0.1)
        ax.set_xlabel("firms that ever became unicorns (warm-up included)")
        present = list(dict.fromkeys(DIRECTIONS[codes[t]] for t, _ in rows))
        ax.legend(handles=[Patch(color=DIRECTION_COLORS[d], label=f"{d} {DIRECTION_EN[d]}") for d in present],
                  fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def FunnelPlot(model):
    return solara.FigureMatplotlib(funnel_figure(model), format="png", dependencies=[model.current_step, id(model)])


def DirectionPlot(model):
    return solara.FigureMatplotlib(direction_figure(model), format="png", dependencies=[model.current_step, id(model)])


def UnicornsByTrackPlot(model):
    return solara.FigureMatplotlib(unicorn_figure(model), format="png", dependencies=[model.current_step, id(model)])


HOW_TO = (
    "Step runs one month, ▶ plays, the play interval sets the speed. Change the parameters or tick policies in the "
    "sidebar, then press Reset: a new park is built, its warm-up runs at once and the plots start again in January of "
    "the first observed year."
)


def status_lines(model) -> list[str]:
    """The status card's lines: the month shown and the headline counts."""
    row = model.last
    total = 12 * model.cfg.years
    lines = [
        f"Month {row['step'] + 1} of {total} ({model.month_label()}) · scale {model.scale:g} · seed {model.cfg.seed} · "
        f"gazelle test {model.cfg.stages.gazelle_definition}",
        f"Live firms: {row['startups']:,} startups (创业企业), {row['gazelles']:,} gazelles (瞪羚), "
        f"{row['unicorns']:,} unicorns (独角兽); {row['active_tracks']} active tracks (赛道).",
        "Policies: " + (", ".join(model.policy_names) if model.policy_names else "none (baseline)")
        + (f"; public spending this month {row['public_spending']:.2f} mcny" if model.policy_names else ""),
    ]
    if not model.running:
        lines.append("The observed window is over: press Reset for a new run.")
    return lines


def StatusCard(model):
    """The month shown and the headline counts, as text (the browser test reads it). Plain HTML:
    solara's Markdown would load a maths renderer from the internet."""
    lines = [html.escape(x) for x in status_lines(model)]
    body = f"<p class='sim-status'><b>{lines[0]}</b><br>" + "<br>".join(lines[1:]) + "</p>"
    body += f"<p style='color:#555;font-size:90%'>{html.escape(HOW_TO)}</p>"
    with solara.Column() as col:
        solara.HTML(tag="div", unsafe_innerHTML=body)
        if model.message:
            solara.Warning(model.message)
    return col


COMPONENTS = [StatusCard, FunnelPlot, UnicornsByTrackPlot, DirectionPlot]


if solara is not None:

    @solara.component
    def Page():
        """The app: Mesa's SolaraViz around one model per browser session."""
        from mesa.visualization import SolaraViz  # noqa: PLC0415 - only with solara (the viz extra)

        # one model per session (a module-level model would be stepped by every open tab)
        model = solara.use_memo(TeachingModel, [])
        if FONT_CSS:
            solara.Style(FONT_CSS)  # the Chinese font for the text the browser draws
        SolaraViz(
            model,
            components=COMPONENTS,
            model_params=model_params(),
            name="Innovation ecosystem: 创业 → 瞪羚 → 独角兽",
            play_interval=50,
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.app [--host H] [--port P] [solara run options]``: serve the app."""
    p = argparse.ArgumentParser(prog="python -m sim.app", description="Serve the interactive view (Mesa SolaraViz).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    args, rest = p.parse_known_args(argv)
    if solara is None:
        print("error: the interactive view needs the viz extra: pip install -e '.[viz]' (make test installs it)",
              file=sys.stderr)
        return 2
    from solara.__main__ import main as solara_main  # noqa: PLC0415 - the viz extra, checked above

    sys.argv = ["solara", "run", "sim.app", "--host", args.host, "--port", str(args.port), "--production", "--no-open",
                "--no-check-version", *rest]
    return solara_main()


# `solara run sim/app.py` executes this file as __main__ too: only start a server when run as `python -m sim.app`
if __name__ == "__main__" and Path(sys.argv[0]).name == "app.py":
    raise SystemExit(main())

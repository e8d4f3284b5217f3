"""The targets registry: report figures the model is compared with, read from ``conf/targets/*.yaml``.

Every target is one YAML entry (see ``docs/validation.md`` for the full description)::

    - name: zgc_new_unicorns_2024             # unique, snake_case
      description: New unicorns in 中关村 in 2024
      reported: {value: 23, qualifier: "23家"}  # or {range: [74, 81]}
      band: [14, 33]                           # tolerance band, same unit, at scale 1
      band_reason: Poisson noise of a count of 23 (sd 4.8) plus list differences
      unit: firms/yr
      kind: flow                               # stock | flow | ratio | duration
      extensive: true                          # the model count scales with `scale`
      date: 2024                               # a year, [first, last] or null (undated)
      presets: [zhongguancun]
      source: {seed: "seeds/003_05603e1a4834c126.txt:99-101", digest: "report-figures.md §2.1"}
      definition: Firms whose first month as a unicorn falls in 2024 (firms.unicorn_step)
      function: sim.validation.targets.new_unicorns_in_year
      params: {year: 2024}

``function`` names a callable ``f(tables, summary, **params) -> float`` that computes the
simulated counterpart from a run's output tables and summary (never from live model state).
It raises :class:`TargetUnavailable` when the run cannot answer (a table is missing, the
calendar does not cover the date, a required policy was not in force). For an ``extensive``
target the registry divides the function's value by the run's ``scale``, so that every
simulated value is compared at scale 1 with the reported figure.

Adding a target is one YAML entry naming a function: nothing else has to change.

A targets file may also hold a ``runs`` mapping, per preset, of the settings used to validate
it (default ``scale`` and number of ``seeds``)::

    runs:
      zhongguancun: {scale: 0.05, seeds: 10}
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.compose import CONF_DIR, presets
from sim.config import ConfigError
from sim.core.yamlio import safe_load

__all__ = [
    "TARGETS_DIR",
    "KINDS",
    "Target",
    "RunSettings",
    "Registry",
    "TargetUnavailable",
    "load_registry",
    "evaluate",
    "evaluate_all",
    "band_distance",
    "band_loss_distance",
]

TARGETS_DIR = CONF_DIR / "targets"
KINDS = ("stock", "flow", "ratio", "duration")
REQUIRED = (
    "name",
    "description",
    "reported",
    "band",
    "band_reason",
    "unit",
    "kind",
    "extensive",
    "date",
    "presets",
    "source",
    "definition",
    "function",
)
OPTIONAL = ("params", "config", "policies", "weight", "sign", "input_check", "date_note", "note")
SIGNS = ("negative", "positive")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TargetUnavailable(RuntimeError):
    """The run cannot answer this target (missing table, date outside the window, policy not in force)."""


@dataclass(frozen=True)
class Target:
    """One reported figure and how the model's counterpart is computed."""

    name: str
    description: str
    reported: dict
    band: tuple[float, float]
    band_reason: str
    unit: str
    kind: str
    extensive: bool
    date: tuple[int, int] | None
    presets: tuple[str, ...]
    source: dict
    definition: str
    function: str
    params: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    policies: tuple[str, ...] = ()
    weight: float = 1.0
    sign: str | None = None
    input_check: bool = False
    date_note: str = ""
    note: str = ""
    file: str = ""

    # -- the reported figure --------------------------------------------------------------
    @property
    def reported_low(self) -> float:
        r = self.reported
        return float(r["range"][0]) if "range" in r else float(r["value"])

    @property
    def reported_high(self) -> float:
        r = self.reported
        return float(r["range"][1]) if "range" in r else float(r["value"])

    @property
    def reported_text(self) -> str:
        r = self.reported
        if "range" in r:
            text = f"{_fmt(r['range'][0])}–{_fmt(r['range'][1])}"
        else:
            text = _fmt(r["value"])
        q = r.get("qualifier")
        return f"{text} ({q})" if q else text

    @property
    def date_text(self) -> str:
        if self.date is None:
            return "undated"
        a, b = self.date
        return str(a) if a == b else f"{a}–{b}"

    def in_band(self, value: float) -> bool:
        """``value`` lies in the band (for a sign-only target, also strictly on its side of zero)."""
        if not (np.isfinite(value) and self.band[0] <= value <= self.band[1]):
            return False
        return self.sign is None or self.excludes_zero(value, value)

    def excludes_zero(self, low: float, high: float) -> bool:
        """For a sign-only target: the interval [low, high] lies strictly on the stated side of zero
        (``sign: negative``: high < 0; ``positive``: low > 0). True for a target without a sign."""
        if self.sign is None:
            return True
        if not (np.isfinite(low) and np.isfinite(high)):
            return False
        return bool(high < 0) if self.sign == "negative" else bool(low > 0)

    def resolve(self) -> Callable:
        """The callable named by ``function``."""
        return _import(self.function)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["band"] = list(self.band)
        d["date"] = list(self.date) if self.date else None
        d["presets"] = list(self.presets)
        d["policies"] = list(self.policies)
        return d


@dataclass(frozen=True)
class RunSettings:
    """Default settings for validating a preset (overridable on the command line)."""

    scale: float = 0.05
    seeds: int = 10


@dataclass
class Registry:
    targets: dict[str, Target]
    runs: dict[str, RunSettings]

    def for_preset(self, preset: str) -> list[Target]:
        """Targets that apply to ``preset``, in file order."""
        return [t for t in self.targets.values() if preset in t.presets]

    def presets(self) -> list[str]:
        return sorted({p for t in self.targets.values() for p in t.presets})

    def get(self, name: str) -> Target:
        try:
            return self.targets[name]
        except KeyError:
            hint = difflib.get_close_matches(name, list(self.targets), n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"Unknown target {name!r}.{extra} Targets are listed in conf/targets/*.yaml.") from None

    def settings(self, preset: str) -> RunSettings:
        return self.runs.get(preset, RunSettings())


def _fmt(x) -> str:
    x = float(x)
    if x == int(x) and abs(x) >= 1:
        return f"{int(x):,}"
    return f"{x:.4g}"


def _import(dotted: str) -> Callable:
    module, _, name = dotted.rpartition(".")
    if ":" in dotted:
        module, _, name = dotted.partition(":")
    if not module:
        raise ConfigError(f"function {dotted!r} must be a dotted path module.function")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"function {dotted!r}: cannot import module {module!r} ({exc})") from None
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise ConfigError(f"function {dotted!r}: module {module!r} has no function {name!r}")
    return fn


# --------------------------------------------------------------------------------------------
# Loading and checking
# --------------------------------------------------------------------------------------------


def _bad(where: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: {msg}")


def _number(where: str, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise _bad(where, f"{key}={value!r} must be a finite number")
    return float(value)


def _parse_target(entry: dict, file: str, known_presets: set[str] | None) -> Target:
    if not isinstance(entry, dict):
        raise _bad(file, f"each target must be a mapping, got {entry!r}")
    name = entry.get("name", "?")
    where = f"{file}: target {name!r}"
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise _bad(where, f"missing field(s) {', '.join(missing)}; every target needs {', '.join(REQUIRED)}")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _bad(where, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(where, "name must be snake_case (a-z, 0-9, _), starting with a letter")
    for key in ("description", "band_reason", "unit", "definition", "function"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise _bad(where, f"{key} must be a non-empty text")
    rep = entry["reported"]
    if not isinstance(rep, dict) or (("value" in rep) == ("range" in rep)):
        raise _bad(where, "reported must be a mapping with exactly one of value: x or range: [low, high]")
    if set(rep) - {"value", "range", "qualifier"}:
        raise _bad(where, f"reported has unknown key(s) {sorted(set(rep) - {'value', 'range', 'qualifier'})}")
    if "value" in rep:
        lo = hi = _number(where, "reported.value", rep["value"])
    else:
        r = rep["range"]
        if not isinstance(r, list) or len(r) != 2:
            raise _bad(where, "reported.range must be [low, high]")
        lo, hi = (_number(where, "reported.range", v) for v in r)
        if lo > hi:
            raise _bad(where, f"reported.range {r} has low > high")
    band = entry["band"]
    if not isinstance(band, list) or len(band) != 2:
        raise _bad(where, "band must be [low, high] in the target's unit, at scale 1")
    b0, b1 = (_number(where, "band", v) for v in band)
    if not (b0 < lo and hi < b1):
        raise _bad(where, f"band {band} must strictly contain the reported figure ({lo:g}..{hi:g}) on both sides")
    if entry["kind"] not in KINDS:
        raise _bad(where, f"kind={entry['kind']!r}; use one of {', '.join(KINDS)}")
    if not isinstance(entry["extensive"], bool):
        raise _bad(where, "extensive must be true (the model value scales with `scale`) or false")
    date = entry["date"]
    if date is None:
        date_t = None
    elif isinstance(date, int) and not isinstance(date, bool):
        date_t = (date, date)
    elif isinstance(date, list) and len(date) == 2 and all(isinstance(d, int) for d in date) and date[0] <= date[1]:
        date_t = (date[0], date[1])
    else:
        raise _bad(where, f"date={date!r}; use a year (2024), a window [2021, 2025] or null for undated figures")
    presets = entry["presets"]
    if not isinstance(presets, list) or not presets or not all(isinstance(p, str) for p in presets):
        raise _bad(where, "presets must be a non-empty list of preset names")
    if known_presets is not None:
        for p in presets:
            if p not in known_presets:
                raise _bad(where, f"preset {p!r} has no file conf/ecosystem/{p}.yaml (available: "
                                  f"{', '.join(sorted(known_presets))})")
    src = entry["source"]
    if not isinstance(src, dict) or not (src.get("seed") or src.get("external")) or not src.get("digest"):
        raise _bad(where, "source needs digest (report-figures.md section) and seed (file:lines) or external (URL)")
    params = entry.get("params") or {}
    config = entry.get("config") or {}
    policies = entry.get("policies") or []
    if not isinstance(params, dict) or not isinstance(config, dict) or not isinstance(policies, list):
        raise _bad(where, "params and config must be mappings; policies a list of policy names")
    weight = _number(where, "weight", entry.get("weight", 1.0))
    if weight < 0:
        raise _bad(where, f"weight={weight} must be >= 0")
    sign = entry.get("sign")
    if sign is not None:
        if sign not in SIGNS:
            raise _bad(where, f"sign={sign!r}; use one of {', '.join(SIGNS)} (or leave it out)")
        if (sign == "negative" and not (b1 <= 0)) or (sign == "positive" and not (b0 >= 0)):
            raise _bad(where, f"sign={sign} needs a band on that side of zero, got {band}")
    input_check = entry.get("input_check", False)
    if not isinstance(input_check, bool):
        raise _bad(where, "input_check must be true (the figure is also an input of the preset) or false")
    return Target(
        name=name,
        description=entry["description"].strip(),
        reported=dict(rep),
        band=(b0, b1),
        band_reason=entry["band_reason"].strip(),
        unit=entry["unit"],
        kind=entry["kind"],
        extensive=entry["extensive"],
        date=date_t,
        presets=tuple(presets),
        source=dict(src),
        definition=" ".join(entry["definition"].split()),
        function=entry["function"],
        params=dict(params),
        config=dict(config),
        policies=tuple(policies),
        weight=weight,
        sign=sign,
        input_check=input_check,
        date_note=(entry.get("date_note") or "").strip(),
        note=" ".join((entry.get("note") or "").split()),
        file=file,
    )


def load_registry(directory: str | Path | None = None, *, check_presets: bool = True) -> Registry:
    """Read every ``*.yaml`` in ``directory`` (default ``conf/targets``) into a :class:`Registry`.

    Raises :class:`ConfigError` naming the file, the target and the problem on a malformed
    entry, a duplicate name or a preset without a file in ``conf/ecosystem/``.
    """
    directory = Path(directory) if directory is not None else TARGETS_DIR
    known = None
    if check_presets:
        known = set(presets("ecosystem"))
    targets: dict[str, Target] = {}
    runs: dict[str, RunSettings] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ConfigError(f"no targets files (*.yaml) in {directory}")
    for path in files:
        rel = path.name
        with open(path, encoding="utf-8") as fh:
            try:
                doc = safe_load(fh) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"{rel}: not valid YAML ({' '.join(str(exc).split())})") from None
        if not isinstance(doc, dict) or set(doc) - {"targets", "runs"}:
            raise ConfigError(f"{rel}: a targets file holds the keys 'targets' (a list) and optionally 'runs'")
        for entry in doc.get("targets") or []:
            t = _parse_target(entry, rel, known)
            if t.name in targets:
                raise ConfigError(f"{rel}: target {t.name!r} is also defined in {targets[t.name].file}")
            targets[t.name] = t
        for preset, settings in (doc.get("runs") or {}).items():
            if preset in runs:
                raise ConfigError(f"{rel}: run settings for {preset!r} are given twice")
            if not isinstance(settings, dict) or set(settings) - {"scale", "seeds"}:
                raise ConfigError(f"{rel}: runs.{preset} allows the keys scale and seeds")
            rs = RunSettings(**settings)
            if not (0 < rs.scale <= 10) or int(rs.seeds) != rs.seeds or rs.seeds < 1:
                raise ConfigError(f"{rel}: runs.{preset}: scale must be in (0, 10] and seeds a positive integer")
            runs[preset] = rs
    return Registry(targets=targets, runs=runs)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _get(d: dict, dotted: str):
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def check_requirements(target: Target, summary: dict) -> None:
    """Raise TargetUnavailable if the run's configuration or policies do not match the target's."""
    cfg = summary.get("config") or {}
    for key, wanted in target.config.items():
        have = _get(cfg, key)
        if have != wanted:
            raise TargetUnavailable(
                f"the target's definition needs {key}={wanted!r}; this run has {key}={have!r}"
            )
    if target.policies:
        policies = summary.get("policies") or []
        kinds = {p.get("kind") for p in policies} | {p.get("name") for p in policies}
        for p in target.policies:
            if p not in kinds:
                raise TargetUnavailable(
                    f"needs the policy {p!r} in force (policy=[{p}], conf/policy/{p}.yaml); this run has "
                    + (", ".join(sorted(k for k in kinds if k)) or "no policy")
                )


def evaluate(target: Target, tables: dict, summary: dict) -> tuple[float, str]:
    """The simulated counterpart of ``target`` at scale 1, and '' or the reason it is missing."""
    try:
        check_requirements(target, summary)
        value = float(target.resolve()(tables, summary, **target.params))
    except TargetUnavailable as exc:
        return math.nan, str(exc)
    if target.extensive and math.isfinite(value):
        value /= float(summary.get("scale") or 1.0)
    return value, ""


def evaluate_all(targets, tables: dict, summary: dict) -> dict[str, tuple[float, str]]:
    return {t.name: evaluate(t, tables, summary) for t in targets}


def band_loss_distance(target: Target, value: float) -> float:
    """The distance a calibration minimises: 0 anywhere inside the tolerance band, the band
    distance (:func:`band_distance`, at least 1) outside it. Targets are bands, so a calibration
    rewards being inside the band, not being at the reported figure. NaN for a missing value."""
    if not math.isfinite(value):
        return math.nan
    return 0.0 if target.in_band(value) else max(1.0, band_distance(target, value))


def band_distance(target: Target, value: float) -> float:
    """Distance of a simulated value from the reported figure, in units of the tolerance band.

    0 inside the reported range; outside it, the gap to the nearest end of the range divided
    by the distance from that end to the band's edge on the same side. So the band's edges are
    at distance 1, whatever the band's asymmetry. NaN for a missing value.
    """
    if not math.isfinite(value):
        return math.nan
    lo, hi = target.reported_low, target.reported_high
    b0, b1 = target.band
    if value > hi:
        return (value - hi) / (b1 - hi)
    if value < lo:
        return (lo - value) / (lo - b0)
    return 0.0

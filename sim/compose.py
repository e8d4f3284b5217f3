"""Compose the configuration from ``conf/`` with Hydra and turn user mistakes into one-line errors.

``load_config(overrides)`` gives the same :class:`sim.config.Config` as ``python -m sim`` with the
same overrides: it uses Hydra's compose API on the same ``conf/`` directory and the same schema.

The command line (``sim/__main__.py``) calls :func:`check_command_line` before handing over to
Hydra, because Hydra reports composition errors itself, as a multi-line text that names no
allowed values. The checks here give one line naming the key, the value and what is allowed,
and raise :class:`sim.config.ConfigError`:

* an unknown key (with the nearest known key and the keys allowed at that level),
* an unknown ecosystem preset (with the presets in ``conf/ecosystem/``),
* a value of the wrong type (from OmegaConf, while composing),
* a value out of range or not among the choices (from :func:`sim.config.validate`),
* a sweep (``seed=1,2``) without ``--multirun``.

**A preset of one's own** (:func:`preset_file`): ``ecosystem=path/to/my_park.yaml`` (a value
ending in ``.yaml`` or ``.yml``) selects a preset file outside ``conf/``, checked like a built-in
preset; the overrides are rewritten to its absolute path (:func:`resolve_preset_files`).

``conf/`` lives at the repository root, next to the ``sim`` package; the package is meant to
be installed in editable mode (``pip install -e .``), so it is always found there.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from sim.config import CONF_DIR, SCALAR_TEXT, Config, _allowed, describe_omegaconf_error, to_config
from sim.core.errors import ConfigError, interrupted
from sim.core.yamlio import safe_load
from sim.limits import check_memory
from sim.policies.registry import REGISTRY, policies_from_config

__all__ = [
    "CONF_DIR",
    "SCHEMA_NAME",
    "GROUPS",
    "load_config",
    "presets",
    "register_schema",
    "check_overrides",
    "check_command_line",
    "check_policy_key",
    "available_policies",
    "is_preset_file",
    "preset_file",
    "preset_name",
    "resolve_preset_files",
]

SCHEMA_NAME = "base_config"
# Config groups of conf/ (directories whose files Hydra selects with `group=name`).
GROUPS = {"ecosystem": "ecosystem preset", "policy": "policy"}
# Composing every value of a long sweep costs time; beyond this many the rest are checked by
# each job when it starts.
MAX_SWEEP_CHECKS = 32


def conf_dir() -> Path:
    if not (CONF_DIR / "config.yaml").is_file():
        raise ConfigError(
            f"Configuration directory {CONF_DIR} not found. The sim package reads conf/ from the "
            "repository root: install the repository in editable mode (pip install -e .)."
        )
    return CONF_DIR


def register_schema() -> None:
    """Store :class:`Config` in Hydra's ConfigStore as ``base_config``, once per process.

    Storing converts the dataclass with ``OmegaConf.structured`` (0.2-0.7 s, a third of a
    composition); Hydra deep-copies the stored node each time it loads it, so one store serves
    every composition."""
    store = ConfigStore.instance()
    if f"{SCHEMA_NAME}.yaml" not in store.repo:
        store.store(name=SCHEMA_NAME, node=Config)


def presets(group: str = "ecosystem") -> list[str]:
    """Names of the configs of a config group (files ``conf/<group>/<name>.yaml``)."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def available_policies() -> list[str]:
    """Names of the policy configurations in conf/policy/."""
    return presets("policy")


# --------------------------------------------------------------------------------------------
# A preset of one's own, by path
# --------------------------------------------------------------------------------------------

#: A value of ``ecosystem=`` ending in one of these is the path of a preset file, not a name in conf/ecosystem/.
PRESET_FILE_SUFFIXES = (".yaml", ".yml")
_UNQUOTED = re.compile(r"^[A-Za-z0-9_./@:+-]+$")
_CHECKED: dict[str, str] = {}  # absolute path -> the content that was checked


def is_preset_file(value) -> bool:
    """``value`` names a preset file by its path (it ends in .yaml or .yml)."""
    return isinstance(value, str) and value.lower().endswith(PRESET_FILE_SUFFIXES)


def preset_file(value: str) -> str:
    """Register the preset file at ``value`` (a path) with Hydra and check it; return its absolute path.

    The file holds the keys of ``ecosystem`` (like ``conf/ecosystem/zhongguancun.yaml``; keys it
    leaves out keep the schema's defaults, like a built-in preset's). It becomes an option of
    Hydra's config group ``ecosystem`` in Hydra's ConfigStore, named by its absolute path, so
    ``ecosystem=<absolute path>`` composes it like ``ecosystem=zhongguancun`` in this process and
    in the processes Hydra's launchers start (they carry the ConfigStore with them). Its ``name``
    defaults to the file's stem. It is checked like a built-in preset (unknown keys, types,
    ranges, its track system): a mistake raises a one-line :class:`ConfigError` naming the file and
    the key.
    """
    path = Path(value).expanduser()
    shown = f"preset file {value}"
    if not path.is_file():
        raise ConfigError(f"ecosystem={value}: no such preset file. A preset is a name in conf/ecosystem/ "
                          f"({', '.join(presets('ecosystem'))}) or the path of a YAML file ending in .yaml.")
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
        node = OmegaConf.create(text) if text.strip() else OmegaConf.create({})
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot be read ({exc}).") from None
    except (yaml.YAMLError, OmegaConfBaseException) as exc:
        raise ConfigError(f"{shown}: not valid YAML ({' '.join(str(exc).split())}).") from None
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{shown}: holds no keys; write the keys of an ecosystem preset, like "
                          "conf/ecosystem/zhongguancun.yaml.")
    for key in ("ecosystem", "defaults"):
        if key in node:
            raise ConfigError(f"{shown}: a preset file holds the keys of ecosystem (name, firms, vc, ...) at its top "
                              f"level, like conf/ecosystem/zhongguancun.yaml; it has no {key!r} key.")
    if "name" not in node:
        node.name = path.stem
    where = path.as_posix()
    group, _, option = where.rpartition("/")
    ConfigStore.instance().store(group="ecosystem" + ("/" + group.lstrip("/") if group else ""), name=option,
                                 node=node)
    if _CHECKED.get(where) != text:
        try:
            _check_shape(OmegaConf.to_container(node, resolve=False), "ecosystem")
            _check_files(to_config(_compose([f"ecosystem={_quote(where)}"], "config")))
        except ConfigError as exc:
            raise ConfigError(f"{shown}: {exc}") from None
        _CHECKED[where] = text
    return where


def _check_shape(data: dict, prefix: str) -> None:
    """Every key of ``data`` (the mapping at ``prefix``) is in the schema, with a group of keys where
    the schema has one and a value where it has a value (ConfigError naming the key)."""
    for key, value in data.items():
        dotted = f"{prefix}.{key}"
        field, tp = _lookup(dotted)
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}={value!r} is not allowed: {key} is a group of keys "
                                  f"({', '.join(_fields(tp))}), not a single value.")
            _check_shape(value, dotted)
        elif isinstance(value, dict) and typing.get_origin(tp) is not dict:
            raise ConfigError(f"{dotted} is a single value ({_allowed_text(field, tp)}), not a group of keys.")


def _quote(value: str) -> str:
    """``value`` as the value of an override (quoted when it has characters Hydra's grammar does not take bare)."""
    if _UNQUOTED.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def resolve_preset_files(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with every preset file of ``ecosystem=`` (also in a sweep, ``ecosystem=a.yaml,b.yaml``)
    registered, checked (:func:`preset_file`) and written as its absolute path."""
    out = []
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or key.strip() != "ecosystem" or not value.strip():
            out.append(text)
            continue
        (o,) = _parse([text])
        values = (_sweep_values(o) or []) if o.is_sweep_override() else [o.value()]
        if not any(is_preset_file(v) for v in values):
            out.append(text)
            continue
        resolved = [_quote(preset_file(v)) if is_preset_file(v) else str(v) for v in values]
        out.append("ecosystem=" + ",".join(resolved))
    return out


def preset_name(preset: str) -> str:
    """The name of a preset: a built-in preset's own, or the ``name`` inside a preset file (its stem by default)."""
    if not is_preset_file(preset):
        return preset
    return load_config([f"ecosystem={preset}"]).ecosystem.name


# --------------------------------------------------------------------------------------------
# Schema look-ups
# --------------------------------------------------------------------------------------------


def _fields(cls) -> dict[str, tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _lookup(key: str):
    """Resolve a dotted key against the schema.

    Returns ``(field, type)`` of the leaf (``field`` is None for the root), or raises
    ConfigError for an unknown key. List elements (``a.b.0``) are accepted without further checks.
    """
    cls: Any = Config
    field = None
    parts = key.split(".")
    for i, part in enumerate(parts):
        prefix = ".".join(parts[:i])
        origin = typing.get_origin(cls)
        if origin is dict:
            return field, None  # an entry of a mapping (policy.<name>.<key>): checked by validate()
        if origin is list and part.isdigit():
            return None, None  # an element of a list value: OmegaConf checks it while composing
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(
                f"Unknown configuration key {key!r}: {prefix!r} is a single value, not a group of keys."
            )
        fields = _fields(cls)
        if part not in fields:
            allowed = list(fields)
            hint = difflib.get_close_matches(part, allowed, n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            where = f" under {prefix!r}" if prefix else ""
            what = f" ({part!r} is not a key{where})" if i < len(parts) - 1 else ""
            raise ConfigError(
                f"Unknown configuration key {key!r}{what}.{extra} Allowed keys{where}: {', '.join(allowed)}."
            )
        field, cls = fields[part]
    return field, cls


def _type_name(tp) -> str:
    if tp in SCALAR_TEXT:
        return SCALAR_TEXT[tp]
    if typing.get_origin(tp) is list:
        (arg,) = typing.get_args(tp) or (Any,)
        inner = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(arg)
        if inner is None and dataclasses.is_dataclass(arg):
            entry = ", ".join(
                f"{n}: <{_type_name(t).removeprefix('a ').removeprefix('an ')}>" for n, (_, t) in _fields(arg).items()
            )
            inner = "entries like {" + entry + "}"
        return f"a list of {inner or 'values'} in [...]"
    if dataclasses.is_dataclass(tp):
        return "a group of keys"
    return getattr(tp, "__name__", str(tp))


def _allowed_text(field, tp) -> str:
    """What a key allows, in the same wording as :func:`sim.config.validate`."""
    meta = field.metadata if field is not None else {}
    rng = _allowed(meta) if meta else "any value"
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    if meta.get("choices"):
        return rng
    if rng == "any value":
        return _type_name(tp) + unit
    return _type_name(tp) + " " + rng.removeprefix("a value ") + unit


def check_policy_key(key: str) -> None:
    """Check an override ``policy.<name>.<param>`` of a policy from conf/policy/ before Hydra
    composes it (Hydra would only say the key is not in the config)."""
    parts = key.split(".")
    if len(parts) < 3:
        return
    name, param = parts[1], parts[2]
    path = conf_dir() / "policy" / f"{name}.yaml"
    if not path.is_file():
        return
    entry = (safe_load(path.read_text(encoding="utf-8")) or {}).get(name) or {}
    kind = entry.get("kind", name)
    if kind not in REGISTRY:
        return
    allowed = ["kind"] + [f.name for f in dataclasses.fields(REGISTRY[kind]) if f.name != "name"]
    if param not in allowed:
        hint = difflib.get_close_matches(param, allowed, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(f"Unknown policy key {key!r}.{extra} Allowed keys of a {kind} policy: {', '.join(allowed)}.")


# --------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------


def _parse(overrides: Sequence[str]):
    parsed = []
    parser = OverridesParser.create()
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except OverrideParseException as exc:
            detail = " ".join(str(exc).split())
            raise ConfigError(
                f"Cannot read the override {text!r}; write key=value (for example years=5). {detail}"
            ) from None
    return parsed


def _is_hydra_key(key: str) -> bool:
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def _sweep_values(o) -> list[str] | None:
    """String forms of a sweep's values, or None when they cannot be listed (interval, glob)."""
    try:
        return list(o.sweep_string_iterator())
    except Exception:  # interval(), glob() and other sweeps resolved by a sweeper
        return None


def _selected_policies(parsed) -> set[str] | None:
    """Policies selected by ``policy=...`` overrides (None when a sweep or a deletion makes it unclear)."""
    chosen: set[str] = set()
    for o in parsed:
        if o.key_or_group != "policy" or o.package:
            continue
        if o.is_sweep_override() or o.is_delete():
            return None
        value = o.value()
        chosen = set() if value is None else {str(v) for v in (value if isinstance(value, list) else [value])}
    return chosen


def _check_keys(parsed, *, check_presets: bool) -> None:
    selected = _selected_policies(parsed)
    for o in parsed:
        key = o.key_or_group
        if _is_hydra_key(key) or o.package:
            continue
        if key.startswith("policy.") and selected is not None and not o.is_add() and not o.is_force_add():
            name = key.split(".")[1]
            if name not in selected:
                available = presets("policy")
                raise ConfigError(
                    f"{key}: policy {name!r} is not selected; select it with policy=[{name}] (or policy=[a,b] for "
                    "several; "
                    f"available: {', '.join(available)}), or add a new one with +{key}=..."
                )
        if key.startswith("policy.") and not o.is_add() and not o.is_force_add():
            check_policy_key(key)
        if key in GROUPS:
            if o.is_delete() or not check_presets:
                continue
            if o.is_sweep_override():
                values = _sweep_values(o) or []
            else:
                value = o.value()
                if value is None:
                    continue  # `ecosystem=null`: the schema's defaults
                if isinstance(value, list):  # policy=[a,b]: several configs of the group
                    values = [str(v) for v in value]
                else:
                    values = [value if isinstance(value, str) else o.get_value_element_as_str()]
            available = presets(key)
            for value in values:
                if key == "ecosystem" and is_preset_file(value):
                    continue  # a preset file, registered and checked by resolve_preset_files
                if value not in available:
                    hint = difflib.get_close_matches(str(value), available, n=1)
                    extra = f" Did you mean {hint[0]!r}?" if hint else ""
                    own = " or the path of a preset file of your own (ending in .yaml)" if key == "ecosystem" else ""
                    raise ConfigError(
                        f"Unknown {GROUPS[key]} {key}={value!r}.{extra} "
                        f"Available presets (conf/{key}/): {', '.join(available)}{own}."
                    )
            continue
        _lookup(key)


def _compose(overrides: list[str], config_name: str):
    register_schema()
    gh = GlobalHydra.instance()
    saved = gh.hydra if gh.is_initialized() else None  # e.g. called inside a running Hydra app
    if saved is not None:
        gh.clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="sim"):
            try:
                return compose(config_name=config_name, overrides=overrides)
            except Exception as exc:
                if interrupted(exc):  # Ctrl-C while composing: not a mistake in the configuration
                    raise KeyboardInterrupt from exc
                raise ConfigError(_describe(exc, overrides)) from None
    finally:
        if saved is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(saved)


def _describe(exc: BaseException, overrides: Sequence[str]) -> str:
    """One line for an exception raised while Hydra composes the configuration."""
    chain, e = [], exc
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, ValidationError) and getattr(e, "full_key", None):
            key = re.sub(r"\[\d+\].*$", "", e.full_key)  # stages.tiered_cn_tiers[0] -> the list
            value = _value_from_overrides(key, overrides)
            try:
                field, tp = _lookup(key)
            except ConfigError:
                field, tp = None, None
            shown = f"{key}={value}" if value is not None else key
            if tp is not None:
                return f"Invalid value {shown}: wrong type; use {_allowed_text(field, tp)}."
            return f"Invalid value {shown}: {str(e).splitlines()[0]}"
        if isinstance(e, ConfigKeyError) or (isinstance(e, OmegaConfBaseException) and getattr(e, "full_key", None)):
            return describe_omegaconf_error(e)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:2]) if lines else type(exc).__name__
    return f"Cannot compose the configuration: {text}"


def _value_from_overrides(key: str, overrides: Sequence[str]) -> str | None:
    for text in reversed(overrides):  # the last override of a key wins
        k, sep, v = text.partition("=")
        if sep and k.lstrip("+~").split("@")[0] == key:
            return v
    return None


def check_overrides(
    overrides: Sequence[str] = (),
    *,
    multirun: bool = False,
    config_name: str = "config",
    compose: bool = True,
) -> Config | None:
    """Check command-line overrides against the schema; raise ConfigError on the first mistake.

    With ``multirun``, sweeps (``seed=1,2,3``) are allowed and each listed value is checked
    (up to ``MAX_SWEEP_CHECKS`` compositions). Returns the configuration of the first job.
    ``compose=False`` checks keys only and returns None (used when ``--config-dir`` adds
    configs we cannot see).
    """
    overrides = resolve_preset_files(list(overrides))
    parsed = _parse(overrides)
    plain, sweeps = [], []
    for text, o in zip(overrides, parsed, strict=False):
        if o.is_sweep_override() and not _is_hydra_key(o.key_or_group):
            if not multirun:
                raise ConfigError(
                    f"{text!r} is a sweep (several values); add --multirun (-m) to run one simulation "
                    f"per value, or write a list as {o.get_key_element()}=[...]."
                )
            sweeps.append(o)
        else:
            plain.append(text)
    _check_keys(parsed, check_presets=compose)
    if not compose:
        return None
    first = None
    budget = MAX_SWEEP_CHECKS
    variants: list[list[str]] = []
    for o in sweeps:
        values = _sweep_values(o)
        if not values:
            continue
        first_values = [_first_value(s) for s in sweeps if s is not o]
        for value in values[: max(budget, 1)]:
            variants.append(plain + [x for x in first_values if x] + [f"{o.get_key_element()}={value}"])
        budget -= len(values)
    if not variants:
        variants = [plain + [x for x in (_first_value(s) for s in sweeps) if x]]
    for variant in variants:
        cfg = to_config(_compose(variant, config_name))
        if cfg.policy:  # kinds, keys, values, combinations, budgets
            policies_from_config(cfg)
        _check_files(cfg)
        first = first or cfg
    return first


def _first_value(o) -> str | None:
    values = _sweep_values(o)
    return f"{o.get_key_element()}={values[0]}" if values else None


def _check_files(cfg: Config) -> None:
    """Checks that need the file system: the track system named by the preset must exist."""
    system = cfg.ecosystem.tracks.system
    available = presets("tracks")
    if system not in available:
        hint = difflib.get_close_matches(system, available, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(
            f"ecosystem.tracks.system={system!r} has no file conf/tracks/{system}.yaml.{extra} "
            f"Available: {', '.join(available)}."
        )


def load_config(overrides: Iterable[str] = (), config_name: str = "config") -> Config:
    """Compose ``conf/<config_name>.yaml`` with ``overrides`` (Hydra syntax) into a validated Config.

    Gives the same configuration as ``python -m sim <overrides>``. Overrides of ``hydra.*`` are
    accepted and ignored. Raises :class:`ConfigError` with a one-line message on a user mistake.
    """
    cfg = check_overrides(list(overrides), config_name=config_name)
    assert cfg is not None
    return cfg


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def check_command_line(argv: Sequence[str]) -> list[str]:
    """Check ``python -m sim`` arguments (Hydra's syntax) before Hydra sees them.

    Raises ConfigError on a mistake in the overrides; leaves Hydra's own flags (--help, --cfg,
    --info, ...) to Hydra. Malformed flags make argparse exit with status 2 and its usage line.
    Returns ``argv`` with every preset file (``ecosystem=my_park.yaml``) registered with Hydra and
    written as its absolute path (:func:`resolve_preset_files`), for Hydra to run.
    """
    argv = list(argv)
    args = get_args_parser().parse_args(argv)
    if getattr(args, "experimental_rerun", None):
        raise ConfigError(
            "--experimental-rerun is not supported: it loads a pickle file, and sim never loads "
            "pickles (they can run code). Rerun with the overrides in <run dir>/.hydra/overrides.yaml instead."
        )
    overrides = list(args.overrides)
    resolved = resolve_preset_files(overrides)
    argv = _replace_overrides(argv, overrides, resolved)
    if any(getattr(args, flag, None) for flag in ("help", "hydra_help", "shell_completion", "info")):
        return argv
    multirun = bool(args.multirun) or any(
        o.replace(" ", "").lower() == "hydra.mode=multirun" for o in resolved
    )
    first = check_overrides(
        resolved,
        multirun=multirun,
        config_name=args.config_name or "config",
        compose=not (args.config_dir or args.config_path),
    )
    if first is not None:
        check_memory(first)  # before Hydra creates the output directory
    return argv


def _replace_overrides(argv: list[str], old: list[str], new: list[str]) -> list[str]:
    """``argv`` with the overrides ``old`` (in their order among the arguments) replaced by ``new``."""
    out, i = [], 0
    for arg in argv:
        if i < len(old) and arg == old[i]:
            out.append(new[i])
            i += 1
        else:
            out.append(arg)
    return out

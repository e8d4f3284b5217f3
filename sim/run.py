"""Run API: build a model from a configuration, run it, and turn its state into tidy tables.

>>> from sim import load_config
>>> from sim.run import run_simulation
>>> res = run_simulation(load_config(["scale=0.01", "years=3"]))   # doctest: +SKIP
>>> res.tables["timeseries"].tail()                                  # doctest: +SKIP

The tables follow the output contract (``docs/outputs.md``, :data:`sim.io.schema.TABLE_SCHEMAS`);
plots and reports are built from them, never from the live model.

This is the run entry point: it builds the policies of a configuration once, refuses a run that
would not fit in memory before anything is built, and tunes the C allocator for the process
(:mod:`sim.limits`). Building an :class:`~sim.model.EcosystemModel` directly (the app, the
notebooks, tests) has no such process-wide effect.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from sim.config import Config, OutputConfig, to_config, validate
from sim.core.allocator import tune_malloc
from sim.io.files import start_results, write_results
from sim.io.tables import build_summary, build_tables
from sim.limits import check_memory
from sim.model import EcosystemModel
from sim.policies.registry import policies_from_config

__all__ = ["run_simulation", "Results", "build_tables", "build_model", "WarmStart", "shared_warm_start", "same_world"]


@dataclass
class Results:
    """The tables and the summary of one run."""

    tables: dict[str, pd.DataFrame]
    summary: dict
    config: Config | None = None
    model: EcosystemModel | None = field(default=None, repr=False)

    def write(self, outdir) -> Path:
        """Write every table, summary.json and (if configured) the plots into ``outdir``."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        write_results(outdir, self.tables, self.summary)
        if self.config is None or self.config.output.plots:
            from sim.io.plots import make_plots  # noqa: PLC0415  (matplotlib: only when plots are written)

            make_plots(outdir)
        return outdir


def build_model(cfg, policies=None) -> EcosystemModel:
    """The model of ``cfg``; ``policies`` (policy objects) replace the configuration's
    ``policy`` entries when given (None: build them from the configuration, once).

    Raises :class:`~sim.core.errors.ConfigError` on a bad policy entry or a run that would not
    fit in memory, before anything is built."""
    cfg = to_config(cfg)
    if policies is None:
        policies = policies_from_config(cfg)
    check_memory(cfg)  # refuse a run that would not fit before allocating anything
    tune_malloc()
    return EcosystemModel(cfg, policies=policies or ())


def _shared_history(cfg: Config) -> Config:
    """What a configuration's warm-up depends on: everything but its policies and its outputs."""
    return dataclasses.replace(cfg, policy={}, output=OutputConfig(), memory_limit_gb=0.0)


def same_world(a, b) -> bool:
    """True when two configurations differ in their policies and outputs only: the same warm-up
    (:class:`WarmStart`) serves both."""
    return _shared_history(to_config(a)) == _shared_history(to_config(b))


class WarmStart:
    """The warm-up shared by every arm of a comparison in one world, run once.

    Policies act in the observed window only, and setting a policy up changes nothing and draws
    nothing (:mod:`sim.policies.base`), so every configuration that differs from ``cfg`` only in
    its policies and its outputs reaches the first observed month in the same state. A WarmStart
    runs ``cfg``'s warm-up once, without policies, and keeps the model; each :meth:`branch` is a
    deep copy of it that adopts the run's policies and goes on from month 0. A branched run gives
    the same tables as the same run built from scratch, byte for byte (tests/test_model.py),
    without paying for the warm-up again: use it wherever many runs share a world (policy
    comparisons, the policy checks of the test suite).

    >>> warm = WarmStart(load_config(["seed=3", "scale=0.05"]))                  # doctest: +SKIP
    >>> a = run_simulation(load_config(["seed=3", "scale=0.05"]), warm_start=warm)  # doctest: +SKIP
    >>> b = run_simulation(load_config(["seed=3", "scale=0.05", "policy=[rd_grants]"]),
    ...                    warm_start=warm)                                        # doctest: +SKIP
    """

    def __init__(self, cfg):
        cfg = to_config(cfg)
        self.history = _shared_history(cfg)
        t0 = time.perf_counter()
        model = build_model(self.history, policies=())
        model.warm_up()
        #: wall-clock seconds the warm-up took (each branch saves about this much)
        self.seconds = time.perf_counter() - t0
        self._model = model  # never stepped again: each branch is a deep copy of it

    def fits(self, cfg) -> bool:
        """True when ``cfg`` differs from the warm-up's configuration in its policies and outputs only."""
        return _shared_history(to_config(cfg)) == self.history

    def branch(self, cfg, policies=None) -> EcosystemModel:
        """A model at the first observed month of ``cfg`` with ``policies`` (None: those of ``cfg``)."""
        cfg = to_config(cfg)
        if not self.fits(cfg):
            raise ValueError("this warm start belongs to another world: a configuration may differ from the "
                             "warm-up's in `policy` and `output` only (seed, scale, years, ecosystem ... must match)")
        if policies is None:
            policies = policies_from_config(cfg)
        check_memory(cfg)
        model: EcosystemModel = copy.deepcopy(self._model)
        model.cfg = validate(cfg)  # as the model's own constructor does
        model.government.adopt(policies)
        return model


#: The warm-up this process ran last (:func:`shared_warm_start`) and how many it has run.
_SHARED: dict = {"warm": None, "built": 0}


def shared_warm_start(cfg) -> WarmStart | None:
    """The warm-up of ``cfg``'s world, kept in this process for the next run of the same world.

    For runs of one world one after the other (the batch runner's ``share_warmup``: a comparison's
    arms at one seed): the first run of a world builds its :class:`WarmStart`, the next ones branch
    from it, and a run of another world replaces it (one world is kept at a time, so memory holds
    one warm model besides the running one). ``None`` releases it (and returns None)."""
    if cfg is None:
        _SHARED["warm"] = None
        return None
    warm = _SHARED["warm"]
    if warm is None or not warm.fits(cfg):
        _SHARED["warm"] = None  # free the last world before building the next
        warm = _SHARED["warm"] = WarmStart(cfg)
        _SHARED["built"] += 1
    return warm


def _progress_bar(enabled: bool | None, total: int):
    """A tqdm bar on stderr, shown on a terminal (``auto``) or when forced."""
    if enabled is False:
        return None, None
    if enabled is None and not sys.stderr.isatty():
        return None, None
    bar = tqdm(total=total, unit="month", desc="simulating", file=sys.stderr, mininterval=0.5,
               delay=2.0 if enabled is None else 0.0)

    def update(done, _total):
        bar.n = done
        bar.refresh() if done == _total else bar.update(0)

    return bar, update


def run_simulation(cfg, *, outdir=None, progress: bool | None = None, policies=None,
                   warm_start: WarmStart | None = None) -> Results:
    """Run one simulation and return its tables; write them to ``outdir`` if given.

    ``cfg`` is a :class:`sim.config.Config`, an OmegaConf config or a dict of overrides of
    the defaults. ``progress``: None shows a bar on a terminal for runs longer than a few
    seconds, True always, False never (``output.progress`` in the configuration sets the default).
    ``warm_start``: go on from this world's shared warm-up (:class:`WarmStart`) instead of
    running the warm-up again; the result is the same. The summary's wall time then counts the
    observed window only.
    """
    cfg = to_config(cfg)
    if progress is None and cfg.output.progress != "auto":
        progress = cfg.output.progress == "on"
    t0 = time.perf_counter()
    model = build_model(cfg, policies) if warm_start is None else warm_start.branch(cfg, policies)
    if outdir is not None:  # until the run is written, outdir says it holds no finished run
        start_results(
            outdir, {"seed": cfg.seed, "years": cfg.years, "scale": cfg.scale, "ecosystem": cfg.ecosystem.name}
        )
    total = model.end_step + model.warmup_steps
    bar, update = _progress_bar(progress, total)
    try:
        model.run(progress=update)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    tables = build_tables(model)
    summary = build_summary(model, tables, wall)
    res = Results(tables=tables, summary=summary, config=cfg, model=model)
    if outdir is not None:
        res.write(outdir)
    return res

"""Run API: build a model from a configuration, run it, and turn its state into tidy tables.

>>> from sim import load_config
>>> from sim.run import run_simulation
>>> res = run_simulation(load_config(["scale=0.01", "years=3"]))   # doctest: +SKIP
>>> res.tables["timeseries"].tail()                                  # doctest: +SKIP

The tables follow the output contract (``docs/outputs.md``, :data:`sim.outputs.TABLE_SCHEMAS`);
plots and reports are built from them, never from the live model.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Config, to_config
from sim.model import PHASES, EcosystemModel
from sim.population import END_KINDS, ORIGINS
from sim.stages import STAGE_NAMES
from sim.tracks import nullable_int

__all__ = ["run_simulation", "Results", "build_tables", "build_model"]


@dataclass
class Results:
    """The tables and the summary of one run."""

    tables: dict[str, pd.DataFrame]
    summary: dict
    config: Config | None = None
    model: EcosystemModel | None = field(default=None, repr=False)

    def write(self, outdir) -> Path:
        """Write every table, summary.json and (if configured) the plots into ``outdir``."""
        from sim.outputs import write_results

        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        write_results(outdir, self.tables, self.summary)
        if self.config is None or self.config.output.plots:
            from sim.plots import make_plots

            make_plots(outdir)
        return outdir


def build_model(cfg, policies=None) -> EcosystemModel:
    """The model of ``cfg``; ``policies`` (policy objects) replace the configuration's
    ``policy`` entries when given (None: build them from the configuration)."""
    cfg = to_config(cfg)
    if policies is None:
        from sim.interventions import policies_from_config

        policies = policies_from_config(cfg)
    return EcosystemModel(cfg, policies=policies or ())


def _progress_bar(enabled: bool | None, total: int):
    """A tqdm bar on stderr, shown on a terminal (``auto``) or when forced."""
    if enabled is False:
        return None, None
    if enabled is None and not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="month", desc="simulating", file=sys.stderr, mininterval=0.5,
               delay=2.0 if enabled is None else 0.0)

    def update(done, _total):
        bar.n = done
        bar.refresh() if done == _total else bar.update(0)

    return bar, update


def run_simulation(cfg, *, outdir=None, progress: bool | None = None, policies=None) -> Results:
    """Run one simulation and return its tables; write them to ``outdir`` if given.

    ``cfg`` is a :class:`sim.config.Config`, an OmegaConf config or a dict of overrides of
    the defaults. ``progress``: None shows a bar on a terminal for runs longer than a few
    seconds, True always, False never (``output.progress`` in the configuration sets the default).
    """
    cfg = to_config(cfg)
    if progress is None and cfg.output.progress != "auto":
        progress = cfg.output.progress == "on"
    t0 = time.perf_counter()
    model = build_model(cfg, policies)
    if outdir is not None:  # until the run is written, outdir says it holds no finished run
        from sim.outputs import start_results

        start_results(outdir, {"seed": cfg.seed, "years": cfg.years, "scale": cfg.scale, "ecosystem": cfg.ecosystem.name})
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


# ---------------------------------------------------------------------------------- tables


def _cat(values: np.ndarray, names) -> pd.Series:
    return pd.Series(np.asarray(names, dtype=object)[values])


def build_tables(model: EcosystemModel) -> dict[str, pd.DataFrame]:
    tables = {
        "timeseries": timeseries_table(model),
        "firms": firms_table(model),
        "firm_years": firm_years_table(model),
        "deals": deals_table(model),
        "positions": positions_table(model),
        "tracks": model.tracks.to_frame(),
        "track_transitions": model.tracks.transitions_frame(),
        "investors": investors_table(model),
        "stage_changes": stage_changes_table(model),
    }
    if model.government.policies:
        from sim.policies import reach_frame

        tables["policy_accounts"] = policy_accounts_table(model)
        tables["policy_reach"] = reach_frame(model, tables["positions"])
    return tables


def policy_accounts_table(model) -> pd.DataFrame:
    """One row per policy and observed year: public money spent and received, firms supported."""
    from sim.policies import accounts_frame

    return accounts_frame(model)


def timeseries_table(model) -> pd.DataFrame:
    df = pd.DataFrame(model.timeseries)
    if df.empty:
        from sim.outputs import empty_frame

        return empty_frame("timeseries")
    return df


def firms_table(model) -> pd.DataFrame:
    pop = model.population
    pop.snapshot_records()
    n = pop.n_ever
    rec = {k: v[:n] for k, v in pop.rec.items()}
    ended = rec["end_kind"] != 0
    end_kind = np.asarray(END_KINDS, dtype=object)[rec["end_kind"]]
    return pd.DataFrame(
        {
            "firm_id": np.arange(n, dtype=np.int64),
            "born_step": rec["born_step"].astype(np.int32),
            "origin": _cat(rec["origin"], ORIGINS),
            "track_id": rec["track_id"].astype(np.int32),
            "end_step": nullable_int(rec["end_step"]),
            "end_kind": pd.array(end_kind, dtype="string"),
            "gazelle_step": nullable_int(rec["gazelle_step"]),
            "unicorn_step": nullable_int(rec["unicorn_step"]),
            "total_raised": rec["total_raised"].astype(np.float64),
            "employees": rec["employees"].astype(np.float64),
            "revenue": rec["revenue"].astype(np.float64),
            "valuation": rec["valuation"].astype(np.float64),
            "quality": rec["quality"].astype(np.float64),
        }
    )


def firm_years_table(model) -> pd.DataFrame:
    if not model.firm_years:
        from sim.outputs import empty_frame

        return empty_frame("firm_years")
    cols = {k: np.concatenate([c[k] for c in model.firm_years]) for k in model.firm_years[0]}
    return pd.DataFrame(
        {
            "firm_id": cols["firm_id"].astype(np.int64),
            "year": cols["year"].astype(np.int16),
            "age_years": cols["age_years"].astype(np.float64),
            "employees": cols["employees"].astype(np.float64),
            "revenue": cols["revenue"].astype(np.float64),
            "valuation": cols["valuation"].astype(np.float64),
            "stage": _cat(cols["stage"], STAGE_NAMES),
        }
    )


def _investor_meta(model):
    inv = model.market.investors
    uid = np.array([a.unique_id for a in inv], dtype=np.int64)
    kind = np.array([a.kind for a in inv], dtype=object)
    return uid, kind


def deals_table(model) -> pd.DataFrame:
    from sim.finance import ROUND_NAMES

    d = model.market.deals
    uid, kind = _investor_meta(model)
    keep = d["step"] >= 0
    inv = d["investor"][keep]
    steps = d["step"][keep]
    return pd.DataFrame(
        {
            "step": steps.astype(np.int32),
            "year": (model.start_year + steps // 12).astype(np.int16),
            "investor_id": uid[inv] if len(uid) else inv,
            "investor_kind": pd.Series(kind[inv] if len(kind) else [], dtype=object),
            "firm_id": d["firm"][keep].astype(np.int64),
            "round": _cat(d["round"][keep], ROUND_NAMES),
            "amount": d["amount"][keep],
            "pre_money": d["pre_money"][keep],
            "post_money": d["post_money"][keep],
            "track_id": d["track"][keep].astype(np.int32),
        }
    )


def positions_table(model) -> pd.DataFrame:
    lots = model.market.lots
    uid, kind = _investor_meta(model)
    if lots.n == 0:
        from sim.outputs import empty_frame

        return empty_frame("positions")
    df = pd.DataFrame(
        {
            "investor": lots["investor"],
            "firm_id": lots["firm"],
            "invested": lots["invested"],
            "proceeds": lots["proceeds"],
            "residual_value": lots["residual"],
            "open": (lots["status"] == 0) | (lots["status"] == 3),
            "written_off": lots["status"] == 2,
        }
    )
    g = df.groupby(["investor", "firm_id"], sort=True).agg(
        invested=("invested", "sum"),
        proceeds=("proceeds", "sum"),
        residual_value=("residual_value", "sum"),
        open=("open", "any"),
        written_off=("written_off", "all"),
    ).reset_index()
    status = np.where(g["open"], "unrealized", np.where(g["written_off"], "written_off", "realized"))
    inv = g["investor"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = (g["proceeds"] + g["residual_value"]) / g["invested"]
    return pd.DataFrame(
        {
            "investor_id": uid[inv],
            "investor_kind": kind[inv],
            "firm_id": g["firm_id"].astype(np.int64),
            "invested": g["invested"],
            "proceeds": g["proceeds"],
            "residual_value": g["residual_value"],
            "status": status,
            "multiple": multiple.fillna(0.0).replace([np.inf, -np.inf], 0.0),
        }
    )


def investors_table(model) -> pd.DataFrame:
    rows = []
    for a in model.market.investors:
        vintage = getattr(a, "vintage_step", getattr(a, "start_step", model.current_step - model.end_step - model.warmup_steps))
        rows.append(
            {
                "investor_id": a.unique_id,
                "kind": a.kind,
                "name": a.name,
                "vintage_year": model.year_of(vintage) if a.kind in ("vc", "guidance_fund") else None,
                "size": float(getattr(a, "size", a.committed)),
                "committed": a.committed,
                "invested": a.invested,
                "proceeds": a.proceeds,
                "manager_id": getattr(a, "manager_id", None),
            }
        )
    if not rows:
        from sim.outputs import empty_frame

        return empty_frame("investors")
    df = pd.DataFrame(rows)
    for c in ("vintage_year", "manager_id"):
        df[c] = pd.array(df[c].tolist(), dtype="Int32")
    return df


def stage_changes_table(model) -> pd.DataFrame:
    ch = model.stage_changes
    if ch:
        cols = {k: np.concatenate([c[k] for c in ch]) for k in ch[0]}
    else:
        cols = {"firm_id": np.empty(0, np.int64), "step": np.empty(0, np.int32),
                "from_stage": np.empty(0, np.int8), "to_stage": np.empty(0, np.int8)}
    return pd.DataFrame(
        {
            "firm_id": cols["firm_id"].astype(np.int64),
            "step": cols["step"].astype(np.int32),
            "from_stage": _cat(cols["from_stage"], STAGE_NAMES),
            "to_stage": _cat(cols["to_stage"], STAGE_NAMES),
        }
    )


# ---------------------------------------------------------------------------------- summary


def build_summary(model: EcosystemModel, tables: dict[str, pd.DataFrame], wall: float) -> dict:
    from omegaconf import OmegaConf

    cfg = model.cfg
    ts = tables["timeseries"]
    firms = tables["firms"]
    firm_steps = int(model.firm_steps)
    totals = {
        "firms_born": int(len(firms)),
        "firms_born_observed": int((firms["born_step"] >= 0).sum()),
        "firms_alive_at_end": int(model.population.n),
        "gazelles_ever": int(firms["gazelle_step"].notna().sum()),
        "unicorns_ever": int(firms["unicorn_step"].notna().sum()),
        "new_gazelles_observed": int(ts["new_gazelles"].sum()) if len(ts) else 0,
        "new_unicorns_observed": int(ts["new_unicorns"].sum()) if len(ts) else 0,
        "ipos_observed": int(ts["exits_ipo"].sum()) if len(ts) else 0,
        "acquisitions_observed": int(ts["exits_acquired"].sum()) if len(ts) else 0,
        "failures_observed": int(ts["deaths"].sum()) if len(ts) else 0,
        "vc_invested_observed": float(ts["vc_invested"].sum()) if len(ts) else 0.0,
        "public_spending_observed": float(ts["public_spending"].sum()) if len(ts) else 0.0,
        "tracks_ever": int(model.tracks.n),
        "tracks_active_at_end": int(model.tracks.active.sum()),
    }
    return {
        "finished": True,
        "seed": cfg.seed,
        "years": cfg.years,
        "scale": cfg.scale,
        "ecosystem": cfg.ecosystem.name,
        "start_year": cfg.ecosystem.start_year,
        "warmup_years": cfg.ecosystem.warmup_years,
        "wall_seconds": round(wall, 3),
        "firm_steps": firm_steps,
        "phase_seconds": {name: round(model.phase_seconds[name], 4) for name, _ in PHASES},
        "policies": [p.to_dict() for p in model.government.policies],
        "policy_accounts": {
            p.name: {"kind": p.kind, "spent_mcny": p.spent, "received_mcny": p.received, **p.stats()}
            for p in model.government.policies
        },
        "totals": totals,
        "config": OmegaConf.to_container(OmegaConf.structured(cfg)),
    }


def config_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)

"""Every output table, built from a finished model (the columns are :data:`sim.io.schema.TABLE_SCHEMAS`).

:func:`build_tables` gives the run's tables and :func:`build_summary` its summary.json. These
functions are the only code that turns the model's state into outputs; plots and reports are
built from the tables, never from the live model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from agents.contracts import INCUMBENT
from sim.core.vocabulary import BUYER_KINDS, END_CODE, END_KINDS, LIFECYCLE, NEVER, ORIGINS, ROUNDS, STAGES
from sim.io.schema import empty_frame
from sim.model import PHASES, EcosystemModel

__all__ = ["build_tables", "build_summary", "nullable_int"]


def nullable_int(values) -> pd.arrays.IntegerArray:
    """Int32 pandas array with the 'never' marker (:data:`sim.core.vocabulary.NEVER`) as <NA>."""
    a = np.asarray(values, dtype=np.int64)
    return pd.arrays.IntegerArray(a.astype(np.int32), a == NEVER)


def _cat(values: np.ndarray, names) -> pd.Series:
    return pd.Series(np.asarray(names, dtype=object)[values])


def build_tables(model: EcosystemModel) -> dict[str, pd.DataFrame]:
    tables = {
        "timeseries": timeseries_table(model),
        "firms": firms_table(model),
        "firm_years": firm_years_table(model),
        "deals": deals_table(model),
        "positions": positions_table(model),
        "tracks": tracks_table(model),
        "track_transitions": track_transitions_table(model),
        "investors": investors_table(model),
        "stage_changes": stage_changes_table(model),
        "incumbents": incumbents_table(model),
        "contracts": contracts_table(model),
        "gazelle_list": gazelle_list_table(model),
        "institutes": institutes_table(model),
    }
    if model.government.policies:
        tables["policy_accounts"] = policy_accounts_table(model)
        tables["policy_reach"] = policy_reach_table(model, tables["positions"])
    return tables


def policy_accounts_table(model) -> pd.DataFrame:
    """One row per policy and observed year: public money spent and received, firms supported."""
    years = [model.start_year + y for y in range(model.cfg.years)]
    rows = []
    for p in model.government.policies:
        for year in years:
            spent, received, supported = p.accounts.get(year, (0.0, 0.0, 0.0))
            rows.append({"policy": p.name, "kind": p.kind, "year": year, "spent": spent,
                         "received": received, "firms_supported": int(supported)})
    if not rows:
        return empty_frame("policy_accounts")
    return pd.DataFrame(rows)


def policy_reach_table(model, positions: pd.DataFrame) -> pd.DataFrame:
    """The firms each policy reached directly (see docs/outputs.md): programme support and loans
    (``supported_ids`` of an intervention), grants (:meth:`sim.policies.base.Policy.grant`) and, for a
    policy with a guidance fund, the firms that fund holds a position in (``positions``)."""
    parts = []
    for p in model.government.policies:
        direct = [*getattr(p, "supported_ids", []), *p.granted_ids]
        ids = np.unique(np.concatenate(direct)) if direct else np.empty(0, dtype=np.int64)
        parts.append(
            pd.DataFrame({"policy": p.name, "kind": p.kind, "firm_id": ids.astype(np.int64), "channel": "programme"})
        )
        fund = getattr(p, "fund", None)
        if fund is not None and len(positions):
            held = np.unique(positions.loc[positions["investor_id"] == fund.unique_id, "firm_id"].to_numpy(np.int64))
            parts.append(pd.DataFrame({"policy": p.name, "kind": p.kind, "firm_id": held, "channel": "fund"}))
    if not parts:
        return empty_frame("policy_reach")
    return pd.concat(parts, ignore_index=True)
def institutes_table(model) -> pd.DataFrame:
    """One row per institute and observed year (agents.institutes)."""
    rows = model.institutes.year_rows
    if not rows:
        return empty_frame("institutes")
    return pd.DataFrame(rows)


def timeseries_table(model) -> pd.DataFrame:
    df = pd.DataFrame(model.recorder.timeseries)
    if df.empty:
        return empty_frame("timeseries")
    return df


def firms_table(model) -> pd.DataFrame:
    pop = model.population
    pop.snapshot_records()
    n = pop.n_ever
    rec = {k: pop.records[k] for k in pop.records}
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
            "licences": model.institutes.licences_of(n).astype(np.int32),
            "employer_id": _incumbent_ids(model, rec["employer"]),
            "acquirer_id": _incumbent_ids(model, rec["acquirer"]),
            "exit_value": rec["exit_value"].astype(np.float64),
        }
    )


def _incumbent_ids(model, index: np.ndarray) -> pd.arrays.IntegerArray:
    """Incumbent indices (-1: none) as incumbent ids, null where there is none."""
    ids = np.array([inc.unique_id for inc in model.incumbents] + [0], dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    return pd.arrays.IntegerArray(ids[index].astype(np.int32), index < 0)


def incumbents_table(model) -> pd.DataFrame:
    """One row per incumbent firm: its books over the run."""
    incs = list(model.incumbents)
    if not incs:
        return empty_frame("incumbents")
    pop = model.population
    rec = pop.records
    unicorn = rec["unicorn_step"] != NEVER
    lots = model.market.lots
    lot_firms = lots["firm"]
    lot_inv = lots["investor"]
    cfg = model.cfg.ecosystem.incumbents
    rows = []
    for inc in incs:
        cvc = inc.cvc
        invested_in = np.unique(lot_firms[lot_inv == cvc.index])
        bought = np.flatnonzero((rec["acquirer"] == inc.index) & (rec["end_kind"] == END_CODE["acquired"]))
        portfolio = np.union1d(invested_in, bought)
        rows.append({
            "incumbent_id": inc.unique_id,
            "name": inc.name,
            "weight": inc.weight,
            "employees": inc.employees,
            "revenue": inc.revenue(cfg),
            "strategic_track_ids": list(inc.home),
            "cvc_investor_id": cvc.unique_id,
            "cvc_invested": cvc.invested,
            "acquisitions": inc.acquisitions,
            "team_acquisitions": inc.distressed_acquisitions,
            "acquisition_spend": inc.acquisition_spend,
            "contracts_signed": inc.contracts_signed,
            "procurement_paid": model.contracts.paid(INCUMBENT, inc.index),
            "alumni_founders": inc.alumni_founders,
            "alumni_unicorns": int((unicorn & (rec["employer"] == inc.index)).sum()),
            "portfolio_unicorns": int(unicorn[portfolio].sum()),
        })
    return pd.DataFrame(rows)


def contracts_table(model) -> pd.DataFrame:
    """Every supply contract of the run."""
    c = model.contracts.contracts
    if c.n == 0:
        return empty_frame("contracts")
    kind = c["buyer_kind"]
    inc_ids = np.array([inc.unique_id for inc in model.incumbents] + [0], dtype=np.int64)
    buyer = np.where(kind == INCUMBENT, inc_ids[np.where(kind == INCUMBENT, c["buyer"], -1)], c["buyer"])
    return pd.DataFrame(
        {
            "firm_id": c["firm"].astype(np.int64),
            "buyer_kind": _cat(kind, BUYER_KINDS),
            "buyer_id": buyer.astype(np.int32),
            "value": c["value"].astype(np.float64),
            "start_step": c["start"].astype(np.int32),
            "end_step": c["end"].astype(np.int32),
            "paid": c["paid"].astype(np.float64),
        }
    )


def gazelle_list_table(model) -> pd.DataFrame:
    """Every firm on the government's gazelle list, with the year it was listed."""
    entries = model.government.gazelle_list.entries
    if not entries:
        return empty_frame("gazelle_list")
    cols = {k: np.concatenate([e[k] for e in entries]) for k in entries[0]}
    return pd.DataFrame(
        {
            "firm_id": cols["firm_id"].astype(np.int64),
            "year": cols["year"].astype(np.int16),
            "track_id": cols["track_id"].astype(np.int32),
            "revenue": cols["revenue"].astype(np.float64),
            "growth": cols["growth"].astype(np.float64),
        }
    )


def firm_years_table(model) -> pd.DataFrame:
    if not model.recorder.firm_years:
        return empty_frame("firm_years")
    cols = {k: np.concatenate([c[k] for c in model.recorder.firm_years]) for k in model.recorder.firm_years[0]}
    return pd.DataFrame(
        {
            "firm_id": cols["firm_id"].astype(np.int64),
            "year": cols["year"].astype(np.int16),
            "age_years": cols["age_years"].astype(np.float64),
            "employees": cols["employees"].astype(np.float64),
            "revenue": cols["revenue"].astype(np.float64),
            "valuation": cols["valuation"].astype(np.float64),
            "stage": _cat(cols["stage"], STAGES),
        }
    )


def _investor_meta(model):
    inv = model.market.investors
    uid = np.array([a.unique_id for a in inv], dtype=np.int64)
    kind = np.array([a.kind for a in inv], dtype=object)
    return uid, kind


def deals_table(model) -> pd.DataFrame:
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
            "round": _cat(d["round"][keep], ROUNDS),
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
        vintage = getattr(
            a, "vintage_step", getattr(a, "start_step", model.current_step - model.end_step - model.warmup_steps)
        )
        rows.append(
            {
                "investor_id": a.unique_id,
                "kind": a.kind,
                "name": a.name,
                "vintage_year": model.year_of(vintage) if a.kind in ("vc", "guidance_fund", "cvc") else None,
                "size": float(getattr(a, "size", a.committed)),
                "committed": a.committed,
                "invested": a.invested,
                "proceeds": a.proceeds,
                "manager_id": getattr(a, "manager_id", None),
            }
        )
    if not rows:
        return empty_frame("investors")
    df = pd.DataFrame(rows)
    for c in ("vintage_year", "manager_id"):
        df[c] = pd.array(df[c].tolist(), dtype="Int32")
    return df


def tracks_table(model) -> pd.DataFrame:
    """Every track of the run with its genealogy and final state."""
    tr = model.tracks
    n = tr.n
    return pd.DataFrame(
        {
            "track_id": np.arange(n, dtype=np.int32),
            "key": tr.key,
            "name": tr.name,
            "name_en": tr.name_en,
            "direction": tr.direction,
            "level": tr.level,
            "parent_ids": [list(p) for p in tr.parents],
            "born_step": tr["born_step"].astype(np.int32),
            "formed_step": nullable_int(tr["formed_step"]),
            "ended_step": nullable_int(tr["ended_step"]),
            "end_kind": pd.array(tr.end_kind, dtype="string"),
            "merged_into": nullable_int(tr["merged_into"]),
            "created_by": tr.created_by,
            "state": [LIFECYCLE[s] for s in tr["state"]],
            "market_mcny": tr["market"].copy(),
            "unicorns_ever": tr["unicorns_ever"].astype(np.int32),
            "gazelles_ever": tr["gazelles_ever"].astype(np.int32),
        }
    )


def track_transitions_table(model) -> pd.DataFrame:
    """Every lifecycle transition and level promotion of every track, in order."""
    tr = model.tracks.transitions
    return pd.DataFrame(
        {
            "track_id": np.array([t[0] for t in tr], dtype=np.int32),
            "step": np.array([t[1] for t in tr], dtype=np.int32),
            "from_state": pd.Series([t[2] for t in tr], dtype=object),
            "to_state": pd.Series([t[3] for t in tr], dtype=object),
        }
    )


def stage_changes_table(model) -> pd.DataFrame:
    ch = model.stages.changes
    if ch:
        cols = {k: np.concatenate([c[k] for c in ch]) for k in ch[0]}
    else:
        cols = {"firm_id": np.empty(0, np.int64), "step": np.empty(0, np.int32),
                "from_stage": np.empty(0, np.int8), "to_stage": np.empty(0, np.int8)}
    return pd.DataFrame(
        {
            "firm_id": cols["firm_id"].astype(np.int64),
            "step": cols["step"].astype(np.int32),
            "from_stage": _cat(cols["from_stage"], STAGES),
            "to_stage": _cat(cols["to_stage"], STAGES),
        }
    )


# --------------------------------------------------------------------------------------------
# summary.json
# --------------------------------------------------------------------------------------------


def build_summary(model: EcosystemModel, tables: dict[str, pd.DataFrame], wall: float) -> dict:
    """summary.json of a finished run (keys documented in :data:`sim.io.schema.SUMMARY_KEYS`)."""
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
        "team_acquisitions_observed": int(ts["exits_distressed"].sum()) if len(ts) else 0,
        "acquisitions_by_incumbents_observed": int(ts["acquisitions_by_incumbents"].sum()) if len(ts) else 0,
        "vc_invested_observed": float(ts["vc_invested"].sum()) if len(ts) else 0.0,
        "guidance_invested_observed": float(ts["guidance_invested"].sum()) if len(ts) else 0.0,
        "cvc_invested_observed": float(ts["cvc_invested"].sum()) if len(ts) else 0.0,
        "contract_payments_observed": float(ts["contract_payments"].sum()) if len(ts) else 0.0,
        "gazelles_listed": int(len(tables["gazelle_list"])),
        "public_spending_observed": float(ts["public_spending"].sum()) if len(ts) else 0.0,
        "tracks_ever": int(model.tracks.n),
        "tracks_active_at_end": int(model.tracks["active"].sum()),
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

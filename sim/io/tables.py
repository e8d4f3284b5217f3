"""Every output table, built from a finished model (the columns are :data:`sim.io.schema.TABLE_SCHEMAS`).

:func:`build_tables` gives the run's tables and :func:`build_summary` its summary.json. These
functions are the only code that turns the model's state into outputs; plots and reports are
built from the tables, never from the live model.

The large tables (``firms``, ``firm_years``, ``stage_changes``) are built as Arrow tables
straight from the model's columns (categories as dictionary codes cast to strings in Arrow), so a
run that only writes its files never makes pandas objects of millions of rows; :class:`Tables`
hands out each table as a pandas DataFrame (with the dtypes :func:`sim.io.files.read_results`
gives) the first time it is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import numpy as np
import pandas as pd
import pyarrow as pa
from omegaconf import OmegaConf

from agents.contracts import INCUMBENT
from sim.core.allocator import release_memory
from sim.core.vocabulary import BUYER_KINDS, END_CODE, END_KINDS, LIFECYCLE, NEVER, ORIGINS, ROUNDS, STAGES
from sim.io.schema import TABLE_SCHEMAS, empty_frame, from_arrow, to_arrow
from sim.model import PHASES, EcosystemModel

__all__ = ["build_tables", "build_summary", "nullable_int", "Tables"]


class Tables(MutableMapping):
    """The tables of a run by name: pandas DataFrames, some of them kept as Arrow tables until a
    DataFrame is asked for (:meth:`arrow` gives any of them as the Arrow table that is written)."""

    def __init__(self, frames: dict[str, pd.DataFrame] | None = None, arrow: dict[str, pa.Table] | None = None):
        self._frames = dict(frames or {})
        self._arrow = dict(arrow or {})

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            if name not in self._arrow:
                raise KeyError(name)
            self._frames[name] = from_arrow(name, self._arrow[name])
        return self._frames[name]

    def arrow(self, name: str) -> pa.Table:
        """Table ``name`` as an Arrow table with the schema of the output contract."""
        if name in self._arrow:
            return self._arrow[name]
        return to_arrow(name, self._frames[name])

    def __setitem__(self, name: str, df: pd.DataFrame) -> None:
        self._frames[name] = df
        self._arrow.pop(name, None)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._frames.pop(name, None)
        self._arrow.pop(name, None)

    def __contains__(self, name) -> bool:
        return name in self._frames or name in self._arrow

    def __iter__(self) -> Iterator[str]:
        seen = set(self._frames) | set(self._arrow)
        yield from (n for n in TABLE_SCHEMAS if n in seen)
        yield from sorted(n for n in seen if n not in TABLE_SCHEMAS)

    def __len__(self) -> int:
        return len(set(self._frames) | set(self._arrow))

    def __repr__(self) -> str:
        return f"Tables({', '.join(self)})"

    def __getstate__(self):  # pickle the Arrow tables, not DataFrames made from them
        return {"frames": {k: v for k, v in self._frames.items() if k not in self._arrow}, "arrow": self._arrow}

    def __setstate__(self, state):
        self._frames, self._arrow = dict(state["frames"]), dict(state["arrow"])


def _strings(codes: np.ndarray, names, null_code: int | None = None) -> pa.Array:
    """Arrow strings from integer ``codes`` into ``names`` (``null_code``: the code of a null)."""
    codes = np.asarray(codes)
    mask = None if null_code is None else codes == null_code
    dictionary = pa.array(["" if v is None else v for v in names], type=pa.string())
    indices = pa.array(codes.astype(np.int32, copy=False), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _nullable_int32(values: np.ndarray) -> pa.Array:
    """Arrow int32 with the 'never' marker (:data:`sim.core.vocabulary.NEVER`) as null."""
    a = np.asarray(values)
    return pa.array(a.astype(np.int32, copy=False), mask=a == NEVER)


def _arrow_table(name: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    schema = TABLE_SCHEMAS[name].arrow_schema()
    arrays = [c if isinstance(c := columns[f.name], pa.Array) else pa.array(c, type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def nullable_int(values) -> pd.arrays.IntegerArray:
    """Int32 pandas array with the 'never' marker (:data:`sim.core.vocabulary.NEVER`) as <NA>."""
    a = np.asarray(values, dtype=np.int64)
    return pd.arrays.IntegerArray(a.astype(np.int32), a == NEVER)


def _cat(values: np.ndarray, names) -> pd.Series:
    return pd.Series(np.asarray(names, dtype=object)[values])


def build_tables(model: EcosystemModel) -> Tables:
    """The run's tables (a :class:`Tables` mapping of DataFrames; the large ones stay Arrow
    tables until a DataFrame is asked for)."""
    frames = {
        "timeseries": timeseries_table(model),
        "deals": deals_table(model),
        "positions": positions_table(model),
        "tracks": tracks_table(model),
        "track_transitions": track_transitions_table(model),
        "investors": investors_table(model),
        "incumbents": incumbents_table(model),
        "contracts": contracts_table(model),
        "gazelle_list": gazelle_list_table(model),
        "institutes": institutes_table(model),
    }
    if model.government.policies:
        frames["policy_accounts"] = policy_accounts_table(model)
        frames["policy_reach"] = policy_reach_table(model, frames["positions"])
    arrow = {"firms": firms_arrow(model), "stage_changes": stage_changes_arrow(model)}
    if model.recorder.has_panel:
        arrow["firm_years"] = firm_years_arrow(model)
    else:
        frames["firm_years"] = empty_frame("firm_years")
    return Tables(frames, arrow)


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


def firms_arrow(model) -> pa.Table:
    """The ``firms`` table as an Arrow table."""
    pop = model.population
    pop.snapshot_records()
    rec = pop.records
    debt = rec["debt_at_end"].astype(np.float64)  # ended firms: what they owed when they left
    debt[pop["id"]] = pop["debt"]  # live firms: what they owe now
    cash = rec["cash_at_end"].astype(np.float64)  # firms that failed or exited: cash before paying out
    cash[pop["id"]] = pop["cash"]  # live firms: their cash now
    return _arrow_table("firms", {
        "firm_id": np.arange(pop.n_ever, dtype=np.int64),
        "born_step": rec["born_step"],
        "origin": _strings(rec["origin"], ORIGINS),
        "track_id": rec["track_id"],
        "end_step": _nullable_int32(rec["end_step"]),
        "end_kind": _strings(rec["end_kind"], END_KINDS, null_code=0),
        "gazelle_step": _nullable_int32(rec["gazelle_step"]),
        "unicorn_step": _nullable_int32(rec["unicorn_step"]),
        "total_raised": rec["total_raised"],
        "employees": rec["employees"],
        "revenue": rec["revenue"],
        "valuation": rec["valuation"],
        "exit_value": pa.array(rec["exit_value"], type=pa.float64(), from_pandas=True),  # NaN: no exit
        "debt_at_end": debt,
        "cash_at_end": cash,
        "team_sale": rec["team_sale"],
        "quality": rec["quality"],
        "licences": model.institutes.licences_of(pop.n_ever).astype(np.int32),
        "employer_id": _incumbent_ids(model, rec["employer"]),
        "acquirer_id": _incumbent_ids(model, rec["acquirer"]),
    })


def firms_table(model) -> pd.DataFrame:
    """The ``firms`` table as a DataFrame."""
    return from_arrow("firms", firms_arrow(model))


def firm_years_arrow(model) -> pa.Table:
    """The ``firm_years`` panel as an Arrow table (empty when none was recorded).

    A call builds it from the recorder's yearly chunks and keeps it on the recorder in their place
    (:class:`sim.recorder.Recorder`); a later call returns the same table, with the year ends
    recorded since appended if the model ran on."""
    rec = model.recorder
    built = rec.firm_years_table
    chunks = rec.firm_years
    if not chunks:
        return built if built is not None else to_arrow("firm_years", empty_frame("firm_years"))
    # column by column, each column's recorded pieces are released once it is concatenated, so the
    # panel is never held twice. The values stay in the single precision they were recorded in
    # (float32 in the file; read_results gives them as float64).
    measures = ("age_years", "employees", "revenue", "valuation", "rd_spending", "rd_staff_share")
    cols = {}
    for k in list(chunks[0]):
        cols[k] = np.concatenate([c.pop(k) for c in chunks])
        release_memory()
        if k == "stage":
            cols[k] = _strings(cols[k], STAGES)
    table = _arrow_table("firm_years", {
        **{k: cols[k] for k in measures},
        "firm_id": cols["firm_id"].astype(np.int64, copy=False),
        "year": cols["year"].astype(np.int16, copy=False),
        "stage": cols["stage"],
        "high_tech": cols["high_tech"].astype(np.bool_, copy=False),
    })
    chunks.clear()
    rec.firm_years_table = table if built is None else pa.concat_tables([built, table])
    return rec.firm_years_table


def _incumbent_ids(model, index: np.ndarray) -> pa.Array:
    """Incumbent indices (-1: none) as incumbent ids, null where there is none."""
    ids = np.array([inc.unique_id for inc in model.incumbents] + [0], dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    return pa.array(ids[index].astype(np.int32), type=pa.int32(), mask=index < 0)


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
    """The ``firm_years`` panel as a DataFrame."""
    if not model.recorder.has_panel:
        return empty_frame("firm_years")
    return from_arrow("firm_years", firm_years_arrow(model))


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


def stage_changes_arrow(model) -> pa.Table:
    """Every change of a firm's stage, as an Arrow table."""
    ch = model.stages.changes
    if ch:
        cols = {k: np.concatenate([c[k] for c in ch]) for k in ch[0]}
    else:
        cols = {"firm_id": np.empty(0, np.int64), "step": np.empty(0, np.int32),
                "from_stage": np.empty(0, np.int8), "to_stage": np.empty(0, np.int8)}
    return _arrow_table("stage_changes", {
        "firm_id": cols["firm_id"].astype(np.int64, copy=False),
        "step": cols["step"].astype(np.int32, copy=False),
        "from_stage": _strings(cols["from_stage"], STAGES),
        "to_stage": _strings(cols["to_stage"], STAGES),
    })


def stage_changes_table(model) -> pd.DataFrame:
    """Every change of a firm's stage, as a DataFrame."""
    return from_arrow("stage_changes", stage_changes_arrow(model))


# --------------------------------------------------------------------------------------------
# summary.json
# --------------------------------------------------------------------------------------------


def build_summary(model: EcosystemModel, tables: dict[str, pd.DataFrame], wall: float) -> dict:
    """summary.json of a finished run (keys documented in :data:`sim.io.schema.SUMMARY_KEYS`)."""
    cfg = model.cfg
    ts = tables["timeseries"]
    rec = model.population.records  # what the firms table holds, without making a DataFrame of it
    firm_steps = int(model.firm_steps)
    totals = {
        "firms_born": int(rec.n),
        "firms_born_observed": int(np.count_nonzero(rec["born_step"] >= 0)),
        "firms_alive_at_end": int(model.population.n),
        "gazelles_ever": int(np.count_nonzero(rec["gazelle_step"] != NEVER)),
        "unicorns_ever": int(np.count_nonzero(rec["unicorn_step"] != NEVER)),
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
        "firm_steps_observed": int(model.firm_steps_observed),
        "phase_seconds": {name: round(model.phase_seconds[name], 4) for name, _ in PHASES},
        "phase_cpu_seconds": {name: round(model.phase_cpu_seconds[name], 4) for name, _ in PHASES},
        "policies": [p.to_dict() for p in model.government.policies],
        "policy_accounts": {
            p.name: {"kind": p.kind, "spent_mcny": p.spent, "received_mcny": p.received, **p.stats()}
            for p in model.government.policies
        },
        "totals": totals,
        "config": OmegaConf.to_container(OmegaConf.structured(cfg)),
    }

"""A small, internally consistent fake run result for tests of the output layer and its users.

``make_fake_results()`` returns ``(tables, summary)`` shaped exactly like ``Results.tables`` /
``Results.summary`` (see sim/io/schema.py TABLE_SCHEMAS), without running the model:

* firms are born over a 2-year warm-up and the observed window, some fail or exit, some
  become gazelles and a few unicorns;
* ``timeseries`` and ``firm_years`` are derived from ``firms`` (live counts, births, exits,
  stage at each step), money flows from ``deals``, ``positions`` from ``deals``;
* every column has the dtype ``sim.io.schema.pandas_dtypes`` gives, so a write/read round
  trip compares equal with ``pandas.testing.assert_frame_equal``.

Usage::

    from tests.fake_tables import make_fake_results   # or: from fake_tables import ...
    tables, summary = make_fake_results(unicorns=False, firm_years=False)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS, LIFECYCLE
from sim.io.schema import TABLE_SCHEMAS, empty_frame, pandas_dtypes

START_YEAR = 2015

# (key, name, name_en, direction, level, parent key or None, created_by, born_step, ended_step)
_TRACKS = [
    ("new_retail", "新零售", "new retail", "商业", "main", None, "initial", -24, None),
    (
        "live_streaming_commerce",
        "直播带货",
        "live-streaming commerce",
        "商业",
        "new",
        "new_retail",
        "initial",
        -24,
        None,
    ),
    ("smart_healthcare", "智慧医疗", "smart healthcare", "民生", "main", None, "initial", -24, None),
    ("online_education", "在线教育", "online education", "社会", "new", None, "initial", -24, 30),
    ("artificial_intelligence", "人工智能", "artificial intelligence", "数字", "main", None, "initial", -24, None),
    ("industrial_internet", "产业互联网", "industrial internet", "产业", "main", None, "initial", -24, None),
    ("biotechnology", "生物技术", "biotechnology", "科技", "main", None, "initial", -24, None),
    (
        "brain_computer_interface",
        "脑机接口",
        "brain-computer interface",
        "科技",
        "new",
        "biotechnology",
        "breakthrough",
        6,
        None,
    ),
    ("community_group_buying", "社区团购", "community group buying", "商业", "new", "new_retail", "fission", 12, None),
    ("ai_drug_discovery", "AI制药", "AI drug discovery", "科技", "new", None, "fusion", 20, None),
]
_FUSION_PARENTS = ("artificial_intelligence", "biotechnology")


def _typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the table's columns and dtypes; the values of single-precision columns (stored
    as float32, read back as float64) rounded to float32, as the model records them."""
    dtypes = pandas_dtypes(name)
    df = df[list(TABLE_SCHEMAS[name].names)].copy()
    for col in TABLE_SCHEMAS[name].columns:
        if col.type == pa.float32():
            df[col.name] = df[col.name].to_numpy(np.float64).astype(np.float32)
    return df.astype(dtypes).reset_index(drop=True)


def _stage_at(firms: pd.DataFrame, step: int) -> np.ndarray:
    g = firms["gazelle_step"].to_numpy(dtype=float, na_value=np.inf)
    u = firms["unicorn_step"].to_numpy(dtype=float, na_value=np.inf)
    return np.where(u <= step, "unicorn", np.where(g <= step, "gazelle", "startup"))


def _alive_at(firms: pd.DataFrame, step: int) -> np.ndarray:
    born = firms["born_step"].to_numpy()
    end = firms["end_step"].to_numpy(dtype=float, na_value=np.inf)
    return (born <= step) & (end > step)


def make_fake_results(
    *,
    seed: int = 0,
    n_firms: int = 400,
    years: int = 3,
    unicorns: bool = True,
    firm_years: bool = True,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """A consistent tiny fake run. ``unicorns=False``: no firm ever becomes a unicorn;
    ``firm_years=False``: the firm_years table is present but has no rows."""
    rng = np.random.default_rng(seed)
    steps = 12 * years
    warmup = 24

    # ---- tracks
    keys = [t[0] for t in _TRACKS]
    tid = {k: i for i, k in enumerate(keys)}
    tracks = pd.DataFrame(
        {
            "track_id": np.arange(len(_TRACKS)),
            "key": keys,
            "name": [t[1] for t in _TRACKS],
            "name_en": [t[2] for t in _TRACKS],
            "direction": [t[3] for t in _TRACKS],
            "level": [t[4] for t in _TRACKS],
            "parent_ids": [
                [tid[k] for k in _FUSION_PARENTS] if t[6] == "fusion" else ([tid[t[5]]] if t[5] else [])
                for t in _TRACKS
            ],
            "born_step": [t[7] for t in _TRACKS],
            "formed_step": [t[7] if t[6] == "initial" else (t[7] + 6 if t[7] + 6 < steps else None) for t in _TRACKS],
            "ended_step": [t[8] for t in _TRACKS],
            "end_kind": ["merged" if t[8] is not None else None for t in _TRACKS],
            "merged_into": [tid["live_streaming_commerce"] if t[8] is not None else None for t in _TRACKS],
            "created_by": [t[6] for t in _TRACKS],
            "state": [
                "ended" if t[8] is not None else ("formed" if t[6] == "initial" else "emerging") for t in _TRACKS
            ],
            "market_mcny": rng.lognormal(np.log(50_000), 1.0, len(_TRACKS)).round(1),
            "unicorns_ever": 0,
            "gazelles_ever": 0,
        }
    )

    # ---- firms
    born = rng.integers(-warmup, steps, n_firms)
    track_born = tracks["born_step"].to_numpy()
    track_id = np.array([rng.choice(np.flatnonzero(track_born <= b)) for b in born])
    quality = rng.standard_normal(n_firms)
    life = rng.exponential(48, n_firms).astype(int) + 1
    end = born + life
    ended = end < steps
    end_kind = np.where(
        ended, rng.choice(["failed", "acquired", "ipo", "aged_out"], n_firms, p=[0.8, 0.12, 0.03, 0.05]), None
    )
    gz_p = 1 / (1 + np.exp(-(quality - 1.0) * 2))
    is_gazelle = (rng.random(n_firms) < gz_p) & (life > 12)
    gazelle_step = np.where(is_gazelle, born + np.minimum(life - 1, rng.integers(6, 36, n_firms)), -1)
    is_unicorn = is_gazelle & (quality > 1.2) & unicorns
    if unicorns and not is_unicorn.any():
        is_unicorn[np.flatnonzero(is_gazelle)[:1]] = True
    unicorn_step = np.where(is_unicorn, np.minimum(end - 1, gazelle_step + rng.integers(1, 24, n_firms)), -1)
    # the observed window ends at step `steps - 1`: events after it did not happen
    gazelle_step = np.where(gazelle_step > steps - 1, -1, gazelle_step)
    unicorn_step = np.where((unicorn_step > steps - 1) | (gazelle_step < 0), -1, unicorn_step)
    employees = np.round((rng.pareto(1.2, n_firms) + 1) * 3 * np.where(gazelle_step >= 0, 5, 1), 1)
    firms = pd.DataFrame(
        {
            "firm_id": np.arange(n_firms, dtype=np.int64) + 1000,
            "born_step": born,
            "origin": rng.choice(["independent", "spinoff", "alumni"], n_firms, p=[0.8, 0.1, 0.1]),
            "track_id": track_id,
            "end_step": pd.array(np.where(ended, end, -1), dtype="Int32"),
            "end_kind": end_kind,
            "gazelle_step": pd.array(gazelle_step, dtype="Int32"),
            "unicorn_step": pd.array(unicorn_step, dtype="Int32"),
            "total_raised": 0.0,
            "employees": employees,
            "revenue": np.round(employees * rng.lognormal(-1.0, 0.5, n_firms), 3),
            "valuation": np.round(
                employees * rng.lognormal(0.5, 1.0, n_firms) * np.where(unicorn_step >= 0, 200, 1), 3
            ),
            "exit_value": np.nan,
            "debt_at_end": 0.0,
            "quality": quality,
            "licences": rng.binomial(1, 0.05, n_firms).astype(np.int32),
        }
    )
    # one incumbent (id 500): the employer of the alumni founders and the buyer of every other acquired firm
    alumni = (firms["origin"] == "alumni").to_numpy()
    firms["employer_id"] = pd.array(np.where(alumni, 500, -1), dtype="Int32")
    firms["employer_id"] = firms["employer_id"].mask(~alumni)
    acquired = (firms["end_kind"] == "acquired").to_numpy() & ended
    by_incumbent = acquired & (np.arange(n_firms) % 2 == 0)
    firms["acquirer_id"] = pd.array(np.where(by_incumbent, 500, 0), dtype="Int32")
    firms["acquirer_id"] = firms["acquirer_id"].mask(~by_incumbent)
    exited = ended & np.isin(end_kind, ["acquired", "ipo"])
    firms["exit_value"] = np.where(exited, np.round(firms["valuation"] * 1.2, 3), np.nan)
    for col in ("end_step", "gazelle_step", "unicorn_step"):
        firms[col] = firms[col].mask(firms[col] < 0)
    firms.loc[firms["end_step"].isna(), "end_kind"] = None
    exited = firms["end_kind"].isin(["ipo", "acquired"]).fillna(False).to_numpy(dtype=bool)
    firms.loc[exited, "exit_value"] = firms.loc[exited, "valuation"] * 1.5
    # cash when the firm left (failed firms: a little or a shortfall), or at the end of the run
    firms["cash_at_end"] = np.round(rng.normal(0.5, 1.0, n_firms), 3)
    firms["team_sale"] = (firms["end_kind"] == "acquired").fillna(False).to_numpy(dtype=bool) & (
        firms["cash_at_end"].to_numpy() < 0)
    ue = firms.loc[firms["unicorn_step"].notna(), "track_id"].value_counts()
    tracks["unicorns_ever"] = tracks["track_id"].map(ue).fillna(0).astype(int)

    # ---- investors
    kinds = ["angel"] * 4 + ["vc"] * 4 + ["guidance_fund", "bank"]
    investors = pd.DataFrame(
        {
            "investor_id": np.arange(len(kinds)),
            "kind": kinds,
            "name": [f"{k} {i}" for i, k in enumerate(kinds)],
            "vintage_year": pd.array(
                [START_YEAR - 2 + (i % 3) if k in ("vc", "guidance_fund") else None for i, k in enumerate(kinds)],
                dtype="Int16",
            ),
            "size": [5.0] * 4 + [500.0, 800.0, 300.0, 1200.0, 2000.0, 10_000.0],
            "committed": [5.0] * 4 + [500.0, 800.0, 300.0, 1200.0, 2000.0, 10_000.0],
            "invested": 0.0,
            "proceeds": 0.0,
            "manager_id": pd.array([None] * 4 + [0, 0, 1, 2, None, None], dtype="Int32"),
        }
    )

    # ---- deals (observed window only)
    rows = []
    for s in range(steps):
        alive = np.flatnonzero(_alive_at(firms, s))
        for f in rng.choice(alive, min(len(alive), 2), replace=False):
            inv = int(rng.integers(0, len(kinds)))
            kind = kinds[inv]
            rnd = "loan" if kind == "bank" else ("seed" if kind == "angel" else rng.choice(["A", "B", "C", "D+"]))
            amount = float(np.round(rng.lognormal(1.0, 1.0), 3))
            pre = np.nan if rnd == "loan" else float(np.round(amount * rng.uniform(3, 9), 3))
            rows.append(
                (s, START_YEAR + s // 12, inv, kind, int(firms.firm_id[f]), rnd, amount, pre,
                 np.nan if rnd == "loan" else pre + amount, int(firms.track_id[f]))
            )
    deals = pd.DataFrame(rows, columns=TABLE_SCHEMAS["deals"].names)
    raised = deals.groupby("firm_id")["amount"].sum()
    firms["total_raised"] = firms["firm_id"].map(raised).fillna(0.0).round(3)

    # ---- positions
    pos = deals.groupby(["investor_id", "investor_kind", "firm_id"], as_index=False)["amount"].sum()
    pos = pos.rename(columns={"amount": "invested"})
    fate = pos["firm_id"].map(firms.set_index("firm_id")["end_kind"])
    pos["status"] = np.where(fate.isna(), "unrealized", np.where(fate == "failed", "written_off", "realized"))
    pos["proceeds"] = np.where(pos["status"] == "realized", np.round(pos["invested"] * 2.5, 3), 0.0)
    pos["residual_value"] = np.where(pos["status"] == "unrealized", pos["invested"], 0.0)
    pos["multiple"] = (pos["proceeds"] + pos["residual_value"]) / pos["invested"]
    investors["invested"] = investors["investor_id"].map(pos.groupby("investor_id")["invested"].sum()).fillna(0.0)
    investors["proceeds"] = investors["investor_id"].map(pos.groupby("investor_id")["proceeds"].sum()).fillna(0.0)

    # ---- timeseries, derived from firms and deals
    ts = []
    flows = deals.groupby(["step", "investor_kind"])["amount"].sum()

    def _track_counts(step):
        tb = tracks["born_step"].to_numpy()
        te = tracks["ended_step"].to_numpy(dtype=float, na_value=np.inf)
        act = (tb <= step) & (te > step)
        out = {}
        for d in DIRECTIONS:
            for lvl in ("main", "new"):
                sel = act & (tracks["direction"] == d).to_numpy() & (tracks["level"] == lvl).to_numpy()
                out[f"{lvl}_tracks_{DIRECTION_EN[d]}"] = int(sel.sum())
        formed = tracks["formed_step"].to_numpy(dtype=float, na_value=np.inf) <= step
        for st in LIFECYCLE:
            if st == "ended":
                n = int((te <= step).sum())
            elif st == "formed":
                n = int((act & formed).sum())
            elif st == "emerging":
                n = int((act & ~formed).sum())
            else:
                n = 0
            out[f"tracks_{st}"] = n
        return out

    for s in range(steps):
        alive = _alive_at(firms, s)
        stage = _stage_at(firms, s)[alive]
        b = firms["born_step"] == s
        e = firms["end_step"] == s
        money = {k: float(flows.get((s, k), 0.0)) for k in ("angel", "vc", "guidance_fund", "bank")}
        tb, te = tracks["born_step"].to_numpy(), tracks["ended_step"].to_numpy(dtype=float, na_value=np.inf)
        ts.append(
            {
                "step": s,
                "year": START_YEAR + s // 12,
                "month": s % 12 + 1,
                "firms": int(alive.sum()),
                "startups": int((stage == "startup").sum()),
                "gazelles": int((stage == "gazelle").sum()),
                "unicorns": int((stage == "unicorn").sum()),
                "births": int(b.sum()),
                "births_independent": int((b & (firms.origin == "independent")).sum()),
                "births_spinoff": int((b & (firms.origin == "spinoff")).sum()),
                "births_alumni": int((b & (firms.origin == "alumni")).sum()),
                "deaths": int((e & (firms.end_kind == "failed")).sum()),
                "exits_ipo": int((e & (firms.end_kind == "ipo")).sum()),
                "exits_acquired": int((e & (firms.end_kind == "acquired")).sum()),
                "exits_distressed": 0,
                "acquisitions_by_incumbents": int((e & firms["acquirer_id"].notna()).sum()),
                "aged_out": int((e & (firms.end_kind == "aged_out")).sum()),
                "new_gazelles": int((firms["gazelle_step"] == s).sum()),
                "new_unicorns": int((firms["unicorn_step"] == s).sum()),
                "new_high_tech": 2 if s % 12 == 11 else 0,  # certification rounds at year ends
                "angel_invested": money["angel"],
                "vc_invested": money["vc"],
                "guidance_invested": money["guidance_fund"],
                "cvc_invested": 0.0,
                "bank_lending": money["bank"],
                "public_spending": 1.5,
                "contract_payments": 0.5,
                "employees": float(firms.loc[alive, "employees"].sum()),
                "revenue": float(firms.loc[alive, "revenue"].sum()),
                "active_tracks": int(((tb <= s) & (te > s)).sum()),
                "breakthroughs": int(rng.poisson(0.2)),
                "breakthroughs_basic": 0,
                "licences": int(rng.poisson(0.5)),
                "knowledge": round(20.0 + 0.01 * s, 6),
                "gazelle_list_size": 0,
                "rd_spending": 2.0,
                "rd_breakthroughs": s % 3,
                "high_tech": 2 * (s // 12 + 1),
                **_track_counts(s),
            }
        )
    timeseries = pd.DataFrame(ts)
    timeseries["breakthroughs_basic"] = rng.binomial(timeseries["breakthroughs"], 0.3)

    # ---- institutes, two of them, sharing the time series' licences and the spin-offs born each year
    born_year = START_YEAR + firms["born_step"] // 12
    spun = firms.loc[(firms["origin"] == "spinoff") & (firms["born_step"] >= 0)].groupby(born_year).size()
    inst_rows = []
    for y, g in timeseries.groupby("year"):
        for i, share in ((0, 0.6), (1, 0.4)):
            inst_rows.append({
                "institute_id": 500 + i, "name": f"institute {i}", "year": y, "budget": 1500.0 * share * 2,
                "public_funding": 0.0, "basic_spending": 900.0 * share * 2, "applied_spending": 2100.0 * share * 2,
                "researchers": 2000.0 * share * 2, "knowledge": float(g["knowledge"].iloc[-1]) * share,
                "breakthroughs_basic": float(g["breakthroughs_basic"].sum()) * share,
                "breakthroughs_applied": float(g["breakthroughs"].sum() - g["breakthroughs_basic"].sum()) * share,
                "licences": float(g["licences"].sum()) * share,
                "licence_income": 0.5 * float(g["licences"].sum()) * share,
                "spinoffs": float(spun.get(y, 0)) * share,
            })
    institutes = pd.DataFrame(inst_rows)

    # ---- track transitions: initial tracks were formed at birth; the merged one ended
    transitions = pd.DataFrame(
        [(tid[t[0]], t[8], "formed", "ended") for t in _TRACKS if t[8] is not None]
        + [(tid[t[0]], t[7] + 6, "emerging", "formed") for t in _TRACKS if t[6] != "initial" and t[7] + 6 < steps],
        columns=["track_id", "step", "from_state", "to_state"],
    ).sort_values(["step", "track_id"], kind="stable")

    # ---- firm_years, derived from firms
    if firm_years:
        fy = []
        for y in range(years):
            s = 12 * y + 11
            alive = _alive_at(firms, s)
            sub = firms.loc[alive]
            fy.append(
                pd.DataFrame(
                    {
                        "firm_id": sub["firm_id"],
                        "year": START_YEAR + y,
                        "age_years": (s - sub["born_step"] + 1) / 12,
                        "employees": sub["employees"],
                        "revenue": sub["revenue"],
                        "valuation": sub["valuation"],
                        "stage": _stage_at(sub, s),
                        # R&D: a tenth of the wage bill of staff beyond the founder; certified at 20 staff
                        "rd_spending": np.round(0.03 * np.maximum(sub["employees"] - 1.0, 0.0), 4),
                        "rd_staff_share": np.round(0.1 * np.maximum(sub["employees"] - 1.0, 0.0)
                                                   / sub["employees"], 4),
                        "high_tech": sub["employees"] >= 20,
                    }
                )
            )
        firm_years_df = _typed("firm_years", pd.concat(fy, ignore_index=True))
    else:
        firm_years_df = empty_frame("firm_years")

    # ---- stage_changes, derived from firms (stages only move up in the fake)
    g, u = firms["gazelle_step"], firms["unicorn_step"]
    changes = pd.concat(
        [
            pd.DataFrame({"firm_id": firms.loc[g.notna(), "firm_id"], "step": g[g.notna()],
                          "from_stage": "startup", "to_stage": "gazelle"}),
            pd.DataFrame({"firm_id": firms.loc[u.notna(), "firm_id"], "step": u[u.notna()],
                          "from_stage": "gazelle", "to_stage": "unicorn"}),
        ],
        ignore_index=True,
    ).sort_values(["step", "firm_id"], kind="stable")
    changes["step"] = changes["step"].astype("int32")

    # one policy that accounts for all the public spending of the time series
    yearly_spending = timeseries.groupby("year")["public_spending"].sum()
    policy_accounts = pd.DataFrame(
        {
            "policy": "guidance_fund",
            "kind": "guidance_fund",
            "year": yearly_spending.index.astype("int16"),
            "spent": yearly_spending.to_numpy(dtype=float),
            "received": 0.0,
            "firms_supported": np.zeros(len(yearly_spending), dtype="int32"),
        }
    )

    # the government lists the gazelles of each observed year (at most three a year)
    listed = firms[firms["gazelle_step"].notna()].sort_values("gazelle_step").copy()
    listed["year"] = START_YEAR + listed["gazelle_step"].astype(int) // 12
    listed = listed.groupby("year").head(3)
    gazelle_list = pd.DataFrame(
        {
            "firm_id": listed["firm_id"],
            "year": listed["year"],
            "track_id": listed["track_id"],
            "revenue": listed["revenue"],
            "growth": 0.3,
        }
    )
    timeseries["gazelle_list_size"] = [int((gazelle_list["year"] <= START_YEAR + s // 12).sum()) if s % 12 == 11
                                       else int((gazelle_list["year"] < START_YEAR + s // 12).sum())
                                       for s in timeseries["step"]]

    # three contracts of the incumbent with live firms; their payments are the time series' contract_payments
    suppliers = firms["firm_id"].to_numpy()[:3]
    contracts = pd.DataFrame(
        {
            "firm_id": suppliers,
            "buyer_kind": "incumbent",
            "buyer_id": 500,
            "value": 2.0,
            "start_step": 0,
            "end_step": steps,
            "paid": float(timeseries["contract_payments"].sum()) / 3,
        }
    )

    incumbents = pd.DataFrame(
        {
            "incumbent_id": [500],
            "name": ["incumbent 0"],
            "weight": [1.0],
            "employees": [30_000.0],
            "revenue": [60_000.0],
            "strategic_track_ids": [[tid["new_retail"], tid["artificial_intelligence"]]],
            "cvc_investor_id": [5],
            "cvc_invested": [0.0],
            "acquisitions": [int(firms["acquirer_id"].notna().sum())],
            "team_acquisitions": [0],
            "acquisition_spend": [float(firms.loc[firms["acquirer_id"].notna(), "exit_value"].sum())],
            "contracts_signed": [3],
            "procurement_paid": [float(timeseries["contract_payments"].sum())],
            "alumni_founders": [int(alumni.sum())],
            "alumni_unicorns": [int((alumni & firms["unicorn_step"].notna().to_numpy()).sum())],
            "portfolio_unicorns": [0],
        }
    )

    # the firms it reached: the guidance fund's portfolio, and a few supported firms
    held = np.unique(pos.loc[pos["investor_kind"] == "guidance_fund", "firm_id"].to_numpy(np.int64))
    supported = firms["firm_id"].to_numpy(np.int64)[:3]
    policy_reach = pd.DataFrame({"policy": "guidance_fund", "kind": "guidance_fund",
                                 "firm_id": np.concatenate([supported, held]),
                                 "channel": ["programme"] * len(supported) + ["fund"] * len(held)})

    tables = {
        "timeseries": _typed("timeseries", timeseries),
        "stage_changes": _typed("stage_changes", changes),
        "firms": _typed("firms", firms),
        "firm_years": firm_years_df,
        "deals": _typed("deals", deals),
        "positions": _typed("positions", pos),
        "tracks": _typed("tracks", tracks),
        "track_transitions": _typed("track_transitions", transitions),
        "investors": _typed("investors", investors),
        "incumbents": _typed("incumbents", incumbents),
        "gazelle_list": _typed("gazelle_list", gazelle_list),
        "contracts": _typed("contracts", contracts),
        "policy_accounts": _typed("policy_accounts", policy_accounts),
        "policy_reach": _typed("policy_reach", policy_reach),
        "institutes": _typed("institutes", institutes),
    }
    summary = {
        "finished": True,
        "seed": seed,
        "years": years,
        "scale": 0.01,
        "ecosystem": "zhongguancun",
        "wall_seconds": 1.25,
        "phase_seconds": {"firms": 0.5, "funding": 0.5, "tracks": 0.25},
        "totals": {
            "births": int(timeseries["births"].sum()),
            "new_gazelles": int(timeseries["new_gazelles"].sum()),
            "new_unicorns": int(timeseries["new_unicorns"].sum()),
            "vc_invested_mcny": float(timeseries["vc_invested"].sum()),
        },
        "config": {
            "seed": seed,
            "years": years,
            "scale": 0.01,
            "ecosystem": {"name": "zhongguancun", "start_year": START_YEAR},
        },
    }
    return tables, summary

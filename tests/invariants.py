"""Invariants of a run, computed from its output tables and first principles alone.

Each check rebuilds a quantity from the tables' sources with arithmetic of its own, not from a
second copy of the model's books, and compares it with what the run wrote:

* :func:`check_rounds_and_cap_tables`: every equity round from ``deals`` (post-money minus
  pre-money is the sum of the round's participations, the pre-money is at least the round's
  floor), each firm's cap table rebuilt round by round (a participation buys ``amount /
  post-money`` of the firm; every earlier holder is diluted by ``pre / post``; investors'
  fractions of a firm add up to at most one), and what each position is worth: unrealised
  positions at the firm's last post-money times their fractions (a guidance fund's within its
  return cap, the excess its co-investor's), written-off positions nothing, and at an IPO or an
  acquisition the firm's ``exit_value`` times the fractions (a guidance fund keeps what its
  yearly return cap allows and the co-investing VC gets the rest, so the firm's investors
  together get exactly ``exit_value`` times their fractions, never more than the exit value);
* :func:`check_loans`: every bank loan from ``deals`` run as an annuity (closed form) to the
  month its firm left or the run ended, against the debt the firm had then (``firms.debt_at_end``);
  loans of one firm never overlap;
* :func:`check_stage_rules`: the stage of every firm at every observed year end recomputed from
  the firm-year panel (the gazelle test on the three-year headcount history and the age from the
  firm's birth, the unicorn test on the valuation), and each firm's first month as a unicorn from
  the post-money valuations of its rounds;
* :func:`check_derived_columns`: every column that is derived from another table or column
  recomputed from its sources (``year`` and ``month`` from ``step``, ages from births, the time
  series' monthly counts and flows from the firm records, deals, stage changes and tracks,
  positions from deals, the summary's totals).

Firms founded during the warm-up raised money that ``deals`` does not list (it covers the
observed window), so the money checks take the firms founded in the observed window, and the cap
tables also the warm-up firms that raised all their equity in it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Relative tolerance of money comparisons (sums of a few hundred terms in float64).
RTOL = 1e-9
ATOL = 1e-9


def _close(a, b, rtol=RTOL, atol=ATOL) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))


def _first_bad(mask, frame: pd.DataFrame, what: str) -> str:
    bad = np.flatnonzero(~np.asarray(mask, dtype=bool))
    return f"{what}: {bad.size} of {len(frame)} rows, first {frame.iloc[bad[0]].to_dict()}"


def assert_all(mask, frame: pd.DataFrame, what: str) -> None:
    assert np.asarray(mask, dtype=bool).all(), _first_bad(mask, frame, what)


def observed_firms(tables) -> pd.Series:
    """Ids of the firms founded in the observed window (all their deals are in ``deals``)."""
    f = tables["firms"]
    return f.loc[f["born_step"] >= 0, "firm_id"]


def whole_cap_table_firms(tables) -> pd.Series:
    """Ids of the firms whose every equity round is in ``deals``: those founded in the observed
    window and those founded in the warm-up that raised all their equity (``firms.total_raised``)
    in the window (older firms, where corporate venture funds invest, among them)."""
    f = tables["firms"]
    d = equity_deals(tables)
    raised = d.groupby("firm_id")["amount"].sum().reindex(f["firm_id"], fill_value=0.0).to_numpy()
    whole = (f["born_step"] >= 0).to_numpy() | _close(raised, f["total_raised"], atol=1e-9)
    return f.loc[whole, "firm_id"]


# ------------------------------------------------------------------------------ rounds and cap tables


def equity_deals(tables) -> pd.DataFrame:
    d = tables["deals"]
    return d[d["round"] != "loan"]


def rounds_of(tables) -> pd.DataFrame:
    """One row per equity round (firm and month): pre, post and the sum of its participations."""
    d = equity_deals(tables)
    g = d.groupby(["firm_id", "step"], sort=True)
    r = g.agg(pre=("pre_money", "first"), post=("post_money", "first"), raised=("amount", "sum"),
              pre_min=("pre_money", "min"), pre_max=("pre_money", "max"), post_min=("post_money", "min"),
              post_max=("post_money", "max"), rnd=("round", "first"), rounds=("round", "nunique"))
    return r.reset_index()


def cap_table(tables) -> pd.DataFrame:
    """Each equity participation in a firm founded in the observed window, with the fraction of
    the firm it holds at the end (after every later round's dilution)."""
    whole = whole_cap_table_firms(tables)
    d = equity_deals(tables)
    d = d[d["firm_id"].isin(whole)].copy()
    r = rounds_of(tables)
    r = r[r["firm_id"].isin(whole)].copy()
    # dilution of a holding by every round after it: the product of pre/post over later rounds
    r["keep"] = r["pre"] / r["post"]
    r = r.sort_values(["firm_id", "step"])
    later = r.iloc[::-1].groupby("firm_id")["keep"].cumprod().iloc[::-1]  # this round and every later one
    r["after"] = later / r["keep"]
    d = d.merge(r[["firm_id", "step", "after"]], on=["firm_id", "step"], how="left")
    d["fraction"] = d["amount"] / d["post_money"] * d["after"]
    return d


def check_rounds_and_cap_tables(tables, summary, config) -> dict:
    """The checks of the module docstring on rounds, cap tables and positions. Returns counts of
    what was checked (for tests that must not pass vacuously)."""
    r = rounds_of(tables)
    assert_all(r["rounds"] == 1, r, "one round per firm and month")
    assert_all(_close(r["pre_min"], r["pre_max"]) & _close(r["post_min"], r["post_max"]), r,
               "every participation of a round has the round's pre- and post-money")
    assert_all(_close(r["post"] - r["pre"], r["raised"], rtol=1e-9, atol=1e-6), r,
               "post-money minus pre-money is the sum of the round's participations")
    floors = dict(zip(["seed", "A", "B", "C", "D+"], config.ecosystem.funding.round_floor_mcny, strict=True))
    # (astype: a run without any equity round has an empty, string-typed column)
    assert_all(r["pre"] >= r["rnd"].map(floors).astype(float) * (1 - 1e-12), r,
               "a round's pre-money is at least its floor")

    lots = cap_table(tables)
    firms = tables["firms"].set_index("firm_id")
    held = lots.groupby("firm_id")["fraction"].sum()
    assert_all(held <= 1 + 1e-9, held.reset_index(), "investors' fractions of a firm add up to at most one")
    assert_all(lots["fraction"] > 0, lots, "every participation holds part of the firm")
    # a firm's valuation is its last post-money (only rounds set it)
    last_post = rounds_of(tables).groupby("firm_id")["post"].last()
    last_post = last_post[last_post.index.isin(whole_cap_table_firms(tables))]
    assert_all(_close(firms.loc[last_post.index, "valuation"], last_post), last_post.reset_index(),
               "firms.valuation is the post-money of the firm's last round")

    pos = tables["positions"]
    pos = pos[pos["firm_id"].isin(lots["firm_id"].unique())]
    per = lots.groupby(["investor_id", "firm_id"]).agg(invested=("amount", "sum"), fraction=("fraction", "sum"))
    pos = pos.merge(per.reset_index(), on=["investor_id", "firm_id"], how="outer", suffixes=("", "_deals"),
                    indicator=True)
    assert_all(pos["_merge"] == "both", pos, "every position is a set of deals and every deal in a position")
    assert_all(_close(pos["invested"], pos["invested_deals"]), pos, "a position's money in is the sum of its deals")
    end_kind = firms.loc[pos["firm_id"], "end_kind"].fillna("alive").to_numpy(dtype=object)
    value = firms.loc[pos["firm_id"], "valuation"].to_numpy()
    held_on = (end_kind == "alive") | (end_kind == "aged_out")
    want_status = np.where(held_on, "unrealized", np.where(end_kind == "failed", "written_off", "realized"))
    assert_all(pos["status"].to_numpy() == want_status, pos, "a position's status follows its firm's end")
    # unrealised: the fraction at the firm's last post-money, as the holders' claims
    h = pos[held_on]
    capped_held = check_held_claims(h, lots, firms, value[held_on], tables, summary, config)
    w = pos[end_kind == "failed"]
    assert_all(w["residual_value"] == 0, w, "a written-off position has no value left")
    paid_out = check_payouts(tables, summary, config, pos[~held_on], lots)
    return {"rounds": len(r), "participations": len(lots), "unrealized": int(held_on.sum()), "written_off": len(w),
            "capped_held": capped_held,
            "cvc_positions": int((pos["investor_kind"] == "cvc").sum()), **paid_out}


def check_held_claims(h: pd.DataFrame, lots: pd.DataFrame, firms: pd.DataFrame, value: np.ndarray, tables, summary,
                      config) -> int:
    """Positions held at the end (firms alive or aged out), from the cap table: the positions of a
    firm together are worth its last post-money times their fractions; a guidance fund's lot is
    worth ``min(fraction x value, money in x (1 + cap) ^ years held)`` at the step it was marked (the
    end of the run, or the month the firm aged out) and the excess is its co-investor's; without a
    guidance fund in the firm every position is worth exactly its fraction. Returns how many guidance
    lots the cap bound."""
    assert_all(h["proceeds"] == 0, h, "an unrealised position has received nothing")
    share = h["fraction"].to_numpy() * value
    per_firm = pd.DataFrame({"got": h["residual_value"].to_numpy(), "share": share}, index=h["firm_id"]).groupby(
        level=0).sum()
    assert_all(_close(per_firm["got"], per_firm["share"]), per_firm.reset_index(),
               "the positions held in a firm are worth its last post-money times their fractions")
    g_lots = lots[(lots["investor_kind"] == "guidance_fund") & lots["firm_id"].isin(h["firm_id"])].copy()
    bound = 0
    gf = (h["investor_kind"] == "guidance_fund").to_numpy()
    if len(g_lots):
        caps = _return_caps(tables, summary, config).loc[g_lots["investor_id"]].to_numpy()
        end = firms.loc[g_lots["firm_id"], "end_step"].astype(float).fillna(12.0 * config.years).to_numpy()
        val = firms.loc[g_lots["firm_id"], "valuation"].to_numpy()
        full = g_lots["fraction"].to_numpy() * val
        years = (end - g_lots["step"].to_numpy()) / 12.0
        g_lots["claim"] = np.minimum(full, g_lots["amount"].to_numpy() * (1.0 + caps) ** years)
        bound = int((g_lots["claim"] < full * (1 - 1e-9)).sum())
        claim = g_lots.groupby(["investor_id", "firm_id"])["claim"].sum()
        hg = h[gf].set_index(["investor_id", "firm_id"])
        assert_all(_close(hg["residual_value"], claim.loc[hg.index]), hg.reset_index(),
                   "a guidance fund's unrealised position is worth what its yearly return cap allows")
    got = h["residual_value"].to_numpy()
    assert_all(got[~gf] >= share[~gf] * (1 - 1e-12) - 1e-12, h[~gf],
               "an unrealised position other than a guidance fund's is worth at least its fraction")
    plain = ~h["firm_id"].isin(g_lots["firm_id"]).to_numpy()
    assert_all(_close(got[plain], share[plain]), h[plain],
               "without a guidance fund in the firm, an unrealised position is worth its fraction of the last "
               "post-money")
    return bound


def _return_caps(tables, summary, config) -> pd.Series:
    """Yearly return cap of each guidance fund: the preset's, or that of the policy that set it up
    (its fund is named ``guidance fund (<policy name>)``)."""
    inv = tables["investors"]
    g = inv[inv["kind"] == "guidance_fund"]
    caps = {p["name"]: p["return_cap"] for p in summary.get("policies", []) if "return_cap" in p}
    out = {}
    for iid, name in zip(g["investor_id"], g["name"], strict=True):
        m = re.fullmatch(r"guidance fund \((.+)\)", str(name))
        out[iid] = caps[m.group(1)] if m else config.ecosystem.guidance.return_cap
    return pd.Series(out, dtype=float)


def waterfall_by_hand(value: float, fractions: np.ndarray, preferences: np.ndarray) -> np.ndarray:
    """What each holder of non-participating preferred stock (all series pari passu) receives when
    its firm is sold or liquidated for ``value``; the founders hold the fraction no lot holds.

    Written out from the rule, not from the model's algorithm: when the value covers the
    preferences, every lot takes the better of its preference and its converted share, and the
    price per unit of the firm is the one at which the common shares plus every lot's choice add
    up to the value, ``common * x + sum(max(f_j x, p_j)) = value`` (found by bisection on that
    increasing function); the lots that convert are then those with ``f_j x > p_j`` and the price
    is recomputed exactly from them. When the value does not cover the preferences, they are paid
    in proportion and the common shares get nothing."""
    f, p = np.asarray(fractions, dtype=float), np.asarray(preferences, dtype=float)
    value = max(float(value), 0.0)
    common = max(1.0 - f.sum(), 0.0)
    total_pref = p.sum()
    if value <= total_pref:
        return p * (value / total_pref) if total_pref > 0 else np.zeros_like(f)
    lo, hi = 0.0, value / (common + f.sum())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if common * mid + np.maximum(f * mid, p).sum() < value:
            lo = mid
        else:
            hi = mid
    converts = f * hi > p
    price = (value - p[~converts].sum()) / (common + f[converts].sum())
    return np.where(converts, f * price, p)


def distributable(tables, config) -> pd.Series:
    """What the shareholders of each firm that failed or exited shared, from the firm's record:
    at an IPO or an acquisition its ``exit_value`` (the bank is repaid from the firm's cash); at a
    team acquisition the shareholders' share of the price (``acquihire_shareholder_share``) less
    the shortfall of cash after the bank (the buyer takes over what the firm owes); at a failure
    the cash left after the bank (repaid first, from what cash there is) and after
    ``liquidation_cost_months`` of the wages of the staff beyond the founder."""
    f = tables["firms"].set_index("firm_id")
    ex = config.ecosystem.exits
    cash, debt = f["cash_at_end"], f["debt_at_end"]
    out = pd.Series(np.nan, index=f.index)
    exited = f["end_kind"].isin(["ipo", "acquired"])
    out[exited] = f.loc[exited, "exit_value"]
    team = exited & f["team_sale"]
    share = ex.acquihire_shareholder_share  # the rest of a team acquisition's price goes to the team
    out[team] = np.maximum(share * f.loc[team, "exit_value"] + np.minimum(cash[team] - debt[team], 0.0), 0.0)
    failed = f["end_kind"] == "failed"
    bank = np.minimum(np.maximum(cash[failed], 0.0), debt[failed])
    staff = np.maximum(f.loc[failed, "employees"] - 1.0, 0.0)
    owed = ex.liquidation_cost_months / 12.0 * staff * config.ecosystem.firms.wage_mcny
    out[failed] = np.maximum(cash[failed] - bank - owed, 0.0)
    return out


def check_payouts(tables, summary, config, pos: pd.DataFrame, lots: pd.DataFrame) -> dict:
    """Exit and liquidation proceeds of the positions ``pos`` (in firms that exited or failed), lot
    by lot from the cap table: :func:`waterfall_by_hand` of what the shareholders shared
    (:func:`distributable`) with a liquidation preference of ``liquidation_preference`` times the
    money each lot put in at an acquisition or a failure, every share converting at an IPO; a
    guidance fund keeps ``min(gross, money in x (1 + cap) ^ years held)`` of each lot and cedes the
    rest to the VC it co-invested with. Returns counts of what was checked."""
    firms = tables["firms"].set_index("firm_id")
    out = {"exits": 0, "liquidations_paid": 0, "preferences_paid": 0, "team_sales": 0}
    if pos.empty:
        return out
    end_kind = firms["end_kind"]
    ex = firms.loc[pos["firm_id"].unique()]
    ex = ex[ex["end_kind"].isin(["ipo", "acquired"])]
    assert np.isfinite(ex["exit_value"]).all() and (ex["exit_value"] > 0).all(), \
        "an exited firm has a positive exit value"
    equity = distributable(tables, config)
    pref = config.ecosystem.exits.liquidation_preference
    lots = lots[lots["firm_id"].isin(pos["firm_id"])].copy()
    gross = np.zeros(len(lots))
    for idx in lots.groupby("firm_id").indices.values():
        firm = lots["firm_id"].iat[idx[0]]
        mult = 0.0 if end_kind[firm] == "ipo" else pref
        gross[idx] = waterfall_by_hand(equity[firm], lots["fraction"].to_numpy()[idx],
                                       mult * lots["amount"].to_numpy()[idx])
    lots["gross"] = gross
    share = lots["fraction"].to_numpy() * equity.loc[lots["firm_id"]].to_numpy()
    out["preferences_paid"] = int((gross > share * (1 + 1e-9) + 1e-12).sum())
    # a guidance lot keeps what its cap allows; the excess goes to the co-investing VC
    g = (lots["investor_kind"] == "guidance_fund").to_numpy()
    kept = gross.copy()
    if g.any():
        caps = _return_caps(tables, summary, config).loc[lots.loc[g, "investor_id"]].to_numpy()
        years = (firms.loc[lots.loc[g, "firm_id"], "end_step"].astype(float).to_numpy() - lots.loc[g, "step"]) / 12.0
        kept[g] = np.minimum(gross[g], lots.loc[g, "amount"].to_numpy() * (1.0 + caps) ** years.to_numpy())
    lots["kept"] = kept
    p = pos.set_index(["investor_id", "firm_id"])
    per_pos = lots.groupby(["investor_id", "firm_id"])[["gross", "kept"]].sum().loc[p.index]
    per_firm = pd.DataFrame({"gross": per_pos["gross"].to_numpy(), "proceeds": p["proceeds"].to_numpy()},
                            index=p.index.get_level_values("firm_id")).groupby(level=0).sum()
    per_firm["shared"] = equity.loc[per_firm.index]
    assert_all(_close(per_firm["proceeds"], per_firm["gross"]), per_firm.reset_index(),
               "a firm's investors together get what the waterfall gives their lots")
    assert_all(per_firm["proceeds"] <= per_firm["shared"] * (1 + 1e-12) + 1e-12, per_firm.reset_index(),
               "a firm's investors never get more than what its shareholders shared")
    gf = (p["investor_kind"] == "guidance_fund").to_numpy()
    assert_all(_close(p["proceeds"].to_numpy()[gf], per_pos["kept"].to_numpy()[gf]), p[gf].reset_index(),
               "a guidance fund keeps what its yearly return cap allows of its waterfall share")
    got, want = p["proceeds"].to_numpy(), per_pos["gross"].to_numpy()
    assert_all(got[~gf] >= want[~gf] * (1 - 1e-12) - 1e-12, p[~gf].reset_index(),
               "an investor other than a guidance fund gets at least its waterfall share")
    plain = ~p.index.get_level_values("firm_id").isin(lots.loc[g, "firm_id"].unique())
    assert_all(_close(got[plain], want[plain]), p[plain].reset_index(),
               "without a guidance fund in the firm, every investor gets exactly its waterfall share")
    ends = end_kind.loc[per_firm.index]
    out["exits"] = int(ends.isin(["ipo", "acquired"]).sum())
    out["liquidations_paid"] = int(((ends == "failed") & (per_firm["proceeds"] > 0)).sum())
    out["team_sales"] = int(firms.loc[per_firm.index, "team_sale"].sum())
    return out


# ------------------------------------------------------------------------------ loans


def outstanding_after(principal, monthly_rate, term, payments):
    """Principal of an annuity loan after ``payments`` monthly payments (closed form)."""
    principal, payments = np.asarray(principal, dtype=float), np.asarray(payments, dtype=float)
    paid = np.minimum(payments, term)
    # P = A r / D with D = 1 - (1 + r)^-n; after k payments A (1 + r)^k - P ((1 + r)^k - 1) / r is left,
    # i.e. A ((1 + r)^k - ((1 + r)^k - 1) / D): written with expm1/log1p so that tiny rates stay exact
    lr = np.log1p(monthly_rate)
    d = -np.expm1(-term * lr)
    if d == 0:
        left = principal * (1.0 - paid / term)
    else:
        grown = np.expm1(paid * lr)
        left = principal * (1.0 + grown - grown / d)
    return np.where(payments >= term, 0.0, np.maximum(left, 0.0))


def check_loans(tables, config) -> int:
    """Loans of firms founded in the observed window, against ``firms.debt_at_end``. Returns the
    number of loans checked."""
    b = config.ecosystem.banks
    r, n = b.rate / 12.0, int(b.term_months)
    firms = tables["firms"].set_index("firm_id")
    d = tables["deals"]
    loans = d[(d["round"] == "loan") & d["firm_id"].isin(observed_firms(tables))].sort_values(["firm_id", "step"])
    assert_all(loans["pre_money"].isna() & loans["post_money"].isna(), loans, "a loan has no valuation")
    # a bank loan made in the financing phase is first serviced the next month; a loan beside a VC
    # round A-C (投贷联动, credit_relaxation) is made at the start of the month after the round and
    # serviced from that month on: such a loan may have one payment more
    vc = d[(d["investor_kind"] == "vc") & d["round"].isin(["A", "B", "C"])][["firm_id", "step"]].drop_duplicates()
    after_vc = loans[["firm_id", "step"]].merge(vc.assign(step=vc["step"] + 1, hit=True), how="left",
                                                on=["firm_id", "step"])["hit"].fillna(False).to_numpy(dtype=bool)
    early = np.where(after_vc, 1, 0)
    # a firm borrows again only once its loan is repaid: n monthly payments
    nxt = loans.groupby("firm_id")["step"].shift(-1).to_numpy()
    gap = nxt - loans["step"].to_numpy()
    ok = np.isnan(gap) | (gap + early >= n)
    assert_all(ok, loans, f"a firm takes a new loan only after its last one is repaid ({n} monthly payments)")
    is_last = np.isnan(nxt)
    last = loans[is_last]
    end = firms.loc[last["firm_id"], "end_step"].astype(float).to_numpy()
    until = np.where(np.isnan(end), 12 * config.years - 1, end)
    payments = until - last["step"].to_numpy()
    got = firms.loc[last["firm_id"], "debt_at_end"].to_numpy()
    tol = 1e-9 * max(float(last["amount"].max()), 1.0) if len(last) else 0.0
    ok = _close(got, outstanding_after(last["amount"].to_numpy(), r, n, payments), atol=tol)
    ok_early = _close(got, outstanding_after(last["amount"].to_numpy(), r, n, payments + 1), atol=tol)
    ok |= ok_early & (early[is_last] == 1)
    assert_all(ok, last.assign(got=got, payments=payments),
               "the debt a firm has when it leaves (or at the end) is its annuity schedule's")
    no_loan = firms.index.isin(observed_firms(tables)) & ~firms.index.isin(loans["firm_id"])
    assert (firms.loc[no_loan, "debt_at_end"] == 0).all(), "a firm that never borrowed owes nothing"
    return len(loans)


# ------------------------------------------------------------------------------ stages


def gazelle_by_definition(fy: pd.DataFrame, firms: pd.DataFrame, stages, start_year: int) -> pd.DataFrame:
    """The OECD gazelle test at each year end of the panel that has the whole window in the panel,
    from the panel's headcounts and the age at the year end from the birth month. Returns the
    panel rows that can be judged, with ``gazelle`` and ``borderline`` (within float32 rounding)."""
    w = stages.gazelle_window_years
    col = "revenue" if stages.gazelle_measure == "revenue" else "employees"
    a = fy[["firm_id", "year", "employees", "revenue"]].astype({"year": np.int64})
    past = a.assign(year=a["year"] + w)[["firm_id", "year", "employees", "revenue"]]
    j = a.merge(past, on=["firm_id", "year"], how="left", suffixes=("", "_start"))
    j = j[j["year"] >= start_year + w].copy()
    born = firms.set_index("firm_id").loc[j["firm_id"], "born_step"].to_numpy()
    year_end = 12 * (j["year"].to_numpy() - start_year) + 12  # the first month after December
    j["age"] = (year_end - born) / 12.0
    existed = born <= year_end - 12 * w - 1  # alive at the start of the window: a year end w years back
    start, now = j[f"{col}_start"].to_numpy(), j[col].to_numpy()
    start_emp = j["employees_start"].to_numpy()
    need = 1.2**w
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = now / start
    young = j["age"] <= stages.gazelle_max_age_years if stages.gazelle_max_age_years > 0 else True  # 0: no limit
    j["gazelle"] = existed & (ratio >= need) & (start_emp >= stages.gazelle_min_start_employees) & young
    # panel values are float32: a ratio or a start size this close to its threshold cannot be judged
    j["borderline"] = existed & ((np.abs(ratio - need) < 1e-5 * need) |
                                 (np.abs(start_emp - stages.gazelle_min_start_employees) < 1e-5 * start_emp))
    return j


def unicorn_threshold(stages) -> float:
    return stages.unicorn_min_valuation_usd_bn * 1000.0 * stages.fx_cny_per_usd


def check_stage_rules(tables, config) -> dict:
    """Stages at every observed year end from the panel; first unicorn months from the rounds.
    Needs the OECD definition with the employees measure (the default)."""
    st = config.stages
    assert st.gazelle_definition == "oecd" and st.unicorn_min_raised_usd_m == 0
    start = config.ecosystem.start_year
    firms, fy = tables["firms"], tables["firm_years"]
    thr = unicorn_threshold(st)
    j = gazelle_by_definition(fy, firms, st, start)
    j = j.merge(fy[["firm_id", "year", "valuation", "stage"]].astype({"year": np.int64}), on=["firm_id", "year"])
    age_now = j["age"] - 1.0 / 12.0  # the unicorn test runs in the December step itself
    unicorn = (j["valuation"] >= thr) & (age_now <= st.unicorn_max_age_years)
    want = np.where(unicorn, "unicorn", np.where(j["gazelle"], "gazelle", "startup"))
    judged = ~j["borderline"] & (np.abs(j["valuation"] / thr - 1) > 1e-6)
    assert_all((j["stage"].to_numpy() == want)[judged.to_numpy()], j[judged],
               "a firm's stage at a year end is what the gazelle and unicorn definitions say")
    # the first month as a unicorn is the first round that valued a firm of the window at the bar
    r = rounds_of(tables)
    r = r[r["firm_id"].isin(observed_firms(tables))]
    fi = firms.set_index("firm_id")
    end = fi.loc[r["firm_id"], "end_step"].astype(float).to_numpy()
    alive = np.isnan(end) | (end > r["step"].to_numpy())  # exits come before the month's stage test
    first = r[(r["post"] >= thr) & alive].groupby("firm_id")["step"].min()
    u = fi.loc[observed_firms(tables), "unicorn_step"].dropna().astype(int)
    assert first.to_dict() == u.to_dict(), "first unicorn months differ from the first rounds at the bar"
    # gazelle status is assessed once a year: a firm moves between startup and gazelle only in December
    ch = tables["stage_changes"]
    yearly = ch["from_stage"].isin(["startup", "gazelle"]) & ch["to_stage"].isin(["startup", "gazelle"])
    assert_all(ch.loc[yearly, "step"] % 12 == 11, ch[yearly], "startup <-> gazelle changes happen at year ends")
    return {"year_ends": int(judged.sum()), "gazelles": int((j["gazelle"] & judged).sum()), "unicorns": len(u)}


# ------------------------------------------------------------------------------ derived columns


def alive_at(firms: pd.DataFrame, steps: np.ndarray) -> np.ndarray:
    """Live firms at the end of each step (founded then or before, not ended by then)."""
    born = np.sort(firms["born_step"].to_numpy())
    end = np.sort(firms["end_step"].dropna().astype(np.int64).to_numpy())
    return np.searchsorted(born, steps, side="right") - np.searchsorted(end, steps, side="right")


def per_step(values, steps) -> np.ndarray:
    s = pd.Series(values)
    return s.groupby(s).size().reindex(steps, fill_value=0).to_numpy()


def check_derived_columns(tables, summary, config) -> None:
    start = config.ecosystem.start_year
    ts = tables["timeseries"]
    steps = np.arange(12 * config.years)
    assert ts["step"].tolist() == steps.tolist(), "one time-series row per observed month, in order"
    assert (ts["year"] == start + ts["step"] // 12).all() and (ts["month"] == ts["step"] % 12 + 1).all()
    firms = tables["firms"]
    ended = firms["end_kind"].notna()
    assert (ended == firms["end_step"].notna()).all()
    # the time series' counts, month by month, from the firm records
    assert (ts["firms"].to_numpy() == alive_at(firms, steps)).all(), "live firms at each month end"
    for col, origin in (("births_independent", "independent"), ("births_spinoff", "spinoff"),
                        ("births_alumni", "alumni")):
        assert (ts[col].to_numpy() == per_step(firms.loc[firms["origin"] == origin, "born_step"], steps)).all(), col
    assert (ts["births"].to_numpy() == per_step(firms["born_step"], steps)).all()
    for col, kind in (("deaths", "failed"), ("exits_ipo", "ipo"), ("exits_acquired", "acquired"),
                      ("aged_out", "aged_out")):
        got = per_step(firms.loc[firms["end_kind"] == kind, "end_step"].astype(np.int64), steps)
        assert (ts[col].to_numpy() == got).all(), col
    for col, first in (("new_gazelles", "gazelle_step"), ("new_unicorns", "unicorn_step")):
        assert (ts[col].to_numpy() == per_step(firms[first].dropna().astype(np.int64), steps)).all(), col
    # stocks by stage from the stage changes (every change, warm-up included) and the firm records
    ch = tables["stage_changes"]
    stage_at_end = _final_stage(ch, firms)
    for stage, col in (("startup", "startups"), ("gazelle", "gazelles"), ("unicorn", "unicorns")):
        n = per_step_cum(ch.loc[ch["to_stage"] == stage, "step"].to_numpy(), steps)
        n -= per_step_cum(ch.loc[ch["from_stage"] == stage, "step"].to_numpy(), steps)
        n -= per_step_cum(firms.loc[ended & (stage_at_end == stage), "end_step"].astype(np.int64).to_numpy(), steps)
        if stage == "startup":  # firms are founded startups
            n += per_step_cum(firms["born_step"].to_numpy(), steps)
        assert (ts[col].to_numpy() == n).all(), f"{col}: live firms in the stage at each month end"
    # money flows from the deals, public spending from the policies' accounts
    d = tables["deals"]
    assert (d["year"] == start + d["step"] // 12).all(), "deals.year is start_year + step // 12"
    kinds = tables["investors"].set_index("investor_id")["kind"]
    assert (d["investor_kind"].to_numpy() == kinds.loc[d["investor_id"]].to_numpy()).all()
    for kind, col in (("angel", "angel_invested"), ("vc", "vc_invested"), ("guidance_fund", "guidance_invested"),
                      ("cvc", "cvc_invested"), ("bank", "bank_lending")):
        got = d[d["investor_kind"] == kind].groupby("step")["amount"].sum().reindex(steps, fill_value=0.0)
        assert _close(ts[col], got, atol=1e-6).all(), col
    acc = tables.get("policy_accounts")
    spent = ts.groupby("year")["public_spending"].sum()
    if acc is not None and len(acc):
        assert _close(acc.groupby("year")["spent"].sum().reindex(spent.index, fill_value=0.0), spent, atol=1e-6).all()
    else:
        assert (spent == 0).all()
    # headcount and revenue at the year ends from the panel (stored as float32)
    fy = tables.get("firm_years")
    if fy is not None and len(fy):
        dec = ts[ts["month"] == 12].set_index("year")
        by_year = fy.groupby("year")[["employees", "revenue"]].sum()
        assert _close(by_year["employees"], dec.loc[by_year.index, "employees"], rtol=1e-5).all()
        assert _close(by_year["revenue"], dec.loc[by_year.index, "revenue"], rtol=1e-5).all()
        fy_step = 12 * (fy["year"].astype(np.int64) - start) + 11
        born = firms.set_index("firm_id").loc[fy["firm_id"], "born_step"].to_numpy()
        assert _close(fy["age_years"], (fy_step + 1 - born) / 12.0, rtol=1e-6).all(), "age at the year end"
        n_alive = alive_at(firms, np.sort(fy_step.unique()))
        assert fy.groupby("year").size().tolist() == n_alive.tolist(), "one panel row per firm alive at year end"
    # tracks: the active tracks and the ended ones at each month from their births and ends
    tr = tables["tracks"]
    tb = np.sort(tr["born_step"].to_numpy())
    te = np.sort(tr["ended_step"].dropna().astype(np.int64).to_numpy())
    ended_by = np.searchsorted(te, steps, side="right")
    assert (ts["active_tracks"].to_numpy() == np.searchsorted(tb, steps, side="right") - ended_by).all()
    assert (ts["tracks_ended"].to_numpy() == ended_by).all()
    tt = tables["track_transitions"]
    life = tt[~tt["to_state"].str.startswith("level:")]
    last = life.groupby("track_id")["to_state"].last()
    assert (tr.set_index("track_id").loc[last.index, "state"] == last).all(), "a track's state is its last transition"
    gone = life[life["to_state"] == "ended"].groupby("track_id")["step"].first()
    assert (tr.set_index("track_id").loc[gone.index, "ended_step"].astype(np.int64) == gone).all()
    assert int(tr["unicorns_ever"].sum()) == int(firms["unicorn_step"].notna().sum())
    assert int(tr["gazelles_ever"].sum()) == int(firms["gazelle_step"].notna().sum())
    # positions: multiple, money in from the investors' books
    pos = tables["positions"]
    assert _close(pos["multiple"], (pos["proceeds"] + pos["residual_value"]) / pos["invested"]).all()
    inv = tables["investors"].set_index("investor_id")
    equity = inv[inv["kind"] != "bank"]
    got = pos.groupby("investor_id")[["invested", "proceeds"]].sum().reindex(equity.index, fill_value=0.0)
    assert _close(got["invested"], equity["invested"], atol=1e-6).all()
    assert _close(got["proceeds"], equity["proceeds"], atol=1e-6).all()
    # summary totals from the tables
    t = summary["totals"]
    assert t["firms_born"] == len(firms) and t["firms_born_observed"] == int((firms["born_step"] >= 0).sum())
    assert t["firms_alive_at_end"] == int((~ended).sum())
    assert t["gazelles_ever"] == int(firms["gazelle_step"].notna().sum())
    assert t["unicorns_ever"] == int(firms["unicorn_step"].notna().sum())
    for key, col in (("new_gazelles_observed", "new_gazelles"), ("new_unicorns_observed", "new_unicorns"),
                     ("ipos_observed", "exits_ipo"), ("acquisitions_observed", "exits_acquired"),
                     ("failures_observed", "deaths")):
        assert t[key] == int(ts[col].sum()), key
    assert np.isclose(t["vc_invested_observed"], d.loc[d["investor_kind"] == "vc", "amount"].sum(), rtol=1e-9)
    assert t["tracks_ever"] == len(tr) and t["tracks_active_at_end"] == int(tr["ended_step"].isna().sum())


def per_step_cum(at: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """How many of the events at steps ``at`` happened at or before each step."""
    return np.searchsorted(np.sort(at), steps, side="right")


def _final_stage(ch: pd.DataFrame, firms: pd.DataFrame) -> np.ndarray:
    """Each firm's stage when it ended (or now): the last change's to_stage, startup without one."""
    last = ch.groupby("firm_id")["to_stage"].last()
    return last.reindex(firms["firm_id"]).fillna("startup").to_numpy()

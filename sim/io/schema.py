"""The output contract: every table's columns, their Arrow types, units and meaning.

:data:`TABLE_SCHEMAS` is the single source of truth for the output contract: for every table
the ordered columns, their Arrow types, units and meaning. Everything else follows from it:

* :func:`to_arrow` checks a DataFrame against the schema and casts it, so a file has the same
  types run after run whatever numpy dtypes the model happened to use;
* :mod:`sim.io.files` writes the tables atomically and deterministically and reads them back;
* :func:`render_doc` renders the run's part of ``docs/outputs.md`` (``python -m
  sim.devtools.gendocs`` writes it; a test checks the committed file matches, so the user
  documentation cannot drift from the code).

Money is in million CNY (mcny). Time is an integer monthly ``step``; step 0 is January of
``ecosystem.start_year``; warm-up steps are negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.core.vocabulary import (
    BUYER_KINDS,
    CREATED_BY,
    DIRECTION_EN,
    DIRECTIONS,
    FIRM_END_KINDS,
    INVESTOR_KINDS,
    LEVELS,
    LIFECYCLE,
    ORIGINS,
    POSITION_STATUS,
    ROUNDS,
    STAGES,
)

__all__ = [
    "Column",
    "TableSchema",
    "TABLE_SCHEMAS",
    "SUMMARY_KEYS",
    "SCHEMA_VERSION",
    "OutputSchemaError",
    "table_schema",
    "to_arrow",
    "from_arrow",
    "pandas_dtypes",
    "empty_frame",
    "render_doc",
]

#: Bumped whenever a column is added, removed, renamed or retyped. Stored in every Parquet file.
SCHEMA_VERSION = 5


class OutputSchemaError(ValueError):
    """A table does not match its documented schema (wrong columns, types, nulls or values)."""


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One documented column. ``nullable`` columns may hold nulls (NaN for floats)."""

    name: str
    type: pa.DataType
    unit: str
    doc: str
    nullable: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def type_name(self) -> str:
        """Type as shown in the documentation, e.g. ``int32 (nullable)`` or ``list<int32>``."""
        t = self.type
        plain = {"double": "float64", "float": "float32"}
        name = f"list<{t.value_type}>" if pa.types.is_list(t) else plain.get(str(t), str(t))
        return name + (" (nullable)" if self.nullable else "")


@dataclass(frozen=True)
class TableSchema:
    name: str
    doc: str
    rows: str  # what one row is
    columns: tuple[Column, ...]
    optional: bool = False  # may be absent from a run (switched off in the config)
    when: str = ""  # for an optional table: when it is written (default: output.<name>=true)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        fields = [
            pa.field(
                c.name,
                c.type,
                nullable=True,  # Parquet "optional" everywhere; nulls are policed by to_arrow
                metadata={b"unit": c.unit.encode(), b"description": c.doc.encode()},
            )
            for c in self.columns
        ]
        meta = {
            b"sim.table": self.name.encode(),
            b"sim.schema_version": str(SCHEMA_VERSION).encode(),
            b"description": self.doc.encode(),
        }
        return pa.schema(fields, metadata=meta)


I16, I32, I64, F64, STR, BOOL = pa.int16(), pa.int32(), pa.int64(), pa.float64(), pa.string(), pa.bool_()
F32 = pa.float32()  # the firm_years panel: recorded in single precision, written as recorded


def _C(name, type_, unit, doc, nullable=False, choices=None) -> Column:
    return Column(name, type_, unit, doc, nullable, tuple(choices) if choices else None)


_STEP = "month (step)"


def _count(name, doc):
    return _C(name, I32, "firms", doc)


def _flow(name, doc):
    return _C(name, I32, "firms/month", doc)


def _money(name, doc):
    return _C(name, F64, "mcny/month", doc)


_TABLES = [
    TableSchema(
        "timeseries",
        "Ecosystem aggregates, month by month, over the observed window.",
        "one per observed step (0 .. 12*years-1); stocks at the end of the step, flows during it",
        (
            _C("step", I32, _STEP, "Month index; 0 is January of start_year."),
            _C("year", I16, "year", "Calendar year: start_year + step // 12."),
            _C("month", pa.int8(), "month", "Calendar month 1..12: step % 12 + 1."),
            _count("firms", "Live firms at the end of the step (startups + gazelles + unicorns)."),
            _count("startups", "Live firms that are neither gazelles nor unicorns."),
            _count("gazelles", "Live firms whose current stage is gazelle (瞪羚)."),
            _count("unicorns", "Live firms whose current stage is unicorn (独角兽)."),
            _flow("births", "New firms, all channels."),
            _flow("births_independent", "New independent firms."),
            _flow("births_spinoff", "New spin-offs from research institutes."),
            _flow("births_alumni", "New firms founded by alumni of existing firms."),
            _flow("deaths", "Firms that failed (closed)."),
            _flow("exits_ipo", "Firms that exited by IPO."),
            _flow("exits_acquired", "Firms that exited by acquisition (all buyers, team acquisitions included)."),
            _flow("exits_distressed", "Venture-backed firms out of cash bought for their team (a soft landing "
                                      "instead of a failure); counted in exits_acquired too."),
            _flow("acquisitions_by_incumbents", "Acquisitions whose buyer is one of the incumbent firms "
                                                "(incumbents.incumbent_id); counted in exits_acquired too."),
            _flow("aged_out", "Firms that left the tracked population by age."),
            _flow("new_gazelles", "Firms that became gazelles for the first time."),
            _flow("new_unicorns", "Firms that became unicorns for the first time."),
            _flow("new_high_tech", "Firms certified as high-tech enterprises (高新技术企业) for the first time (at "
                                   "year ends only; agents.firms.rules.certify_high_tech)."),
            _money("angel_invested", "Money invested by angels."),
            _money("vc_invested", "Money invested by VC funds."),
            _money("guidance_invested", "Money invested by government guidance funds (引导基金)."),
            _money("cvc_invested", "Money invested by the incumbents' corporate venture funds."),
            _money("bank_lending", "New bank loans."),
            _money("public_spending", "Government policy spending (subsidies, grants, ...)."),
            _money("contract_payments", "Payments to young firms under supply contracts (incumbents' procurement, "
                                        "public procurement, insured first purchases)."),
            _C("employees", F64, "persons", "Jobs in live firms (model headcounts, may be fractional)."),
            _C("revenue", F64, "mcny/yr", "Annual revenue run rate of live firms."),
            _C("active_tracks", I32, "tracks", "Tracks that have not ended."),
            _C("breakthroughs", I32, "events/month",
               "Research breakthroughs of the institutes during the step (basic and applied)."),
            _C("breakthroughs_basic", I32, "events/month",
               "Basic-research breakthroughs during the step (they may open tracks; the rest are applied and boost "
               "their track)."),
            _C("licences", I32, "licences/month",
               "Technology licences firms took from research institutes during the step (Magnet consortium results "
               "included)."),
            _C("knowledge", F64, "effort-years",
               "Knowledge the research institutes hold, all tracks, at the end of the step (one effort-year: a year "
               "of research by an institute with 1,000 mcny and 1,000 researchers)."),
            _C("gazelle_list_size", I32, "firms", "Firms on the government's gazelle list so far (gazelle_list)."),
            _money("rd_spending", "R&D spending of the live firms during the step (R&D staff's wages and the R&D "
                                  "beyond them)."),
            _C("rd_breakthroughs", I32, "events/month", "Product breakthroughs of firms from their own R&D during "
                                                        "the step (each raised the firm's latent quality)."),
            _count("high_tech", "Live firms holding a valid high-tech enterprise certificate at the end of the step."),
            *(
                _C(
                    f"{lvl}_tracks_{DIRECTION_EN[d]}",
                    I32,
                    "tracks",
                    f"Active {lvl} tracks "
                    f"({'主赛道' if lvl == 'main' else '新赛道'}) in direction {d} ({DIRECTION_EN[d]}).",
                )
                for d in DIRECTIONS
                for lvl in LEVELS
            ),
            *(
                _C(
                    f"tracks_{st}",
                    I32,
                    "tracks",
                    f"Tracks in lifecycle state {st}{' (active tracks only)' if st != 'ended' else ' (cumulative)'}.",
                )
                for st in LIFECYCLE
            ),
        ),
    ),
    TableSchema(
        "firms",
        "Every firm of the run with its life events and final state.",
        "one per firm (firms born during the warm-up have a negative born_step)",
        (
            _C("firm_id", I64, "", "Firm identifier, unique within the run."),
            _C("born_step", I32, _STEP, "Step the firm was founded (negative: warm-up)."),
            _C("origin", STR, "", "Founding channel.", choices=ORIGINS),
            _C("track_id", I32, "", "Track the firm was founded into (tracks.track_id)."),
            _C("end_step", I32, _STEP, "Step the firm left the population; null if alive at the end.", nullable=True),
            _C(
                "end_kind",
                STR,
                "",
                "How the firm left; null if alive at the end.",
                nullable=True,
                choices=FIRM_END_KINDS,
            ),
            _C("gazelle_step", I32, _STEP, "First step as a gazelle; null if never.", nullable=True),
            _C("unicorn_step", I32, _STEP, "First step as a unicorn; null if never.", nullable=True),
            _C("total_raised", F64, "mcny", "Equity raised over the firm's life (bank loans are not included)."),
            _C("employees", F64, "persons", "Headcount at the end of the run or when the firm left."),
            _C("revenue", F64, "mcny/yr", "Revenue run rate at the end of the run or when the firm left."),
            _C("valuation", F64, "mcny", "Valuation at the end of the run or when the firm left: the post-money "
               "of its last round (0 if it never raised equity)."),
            _C("debt_at_end", F64, "mcny", "Bank loan principal outstanding when the firm left (then repaid in full "
               "at an exit or age-out, written off less recovery at a failure) or at the end of the run."),
            _C("quality", F64, "sd", "Latent quality (standard-normal units); not observable by agents."),
            _C("licences", I32, "licences",
               "Technology licences the firm took from research institutes (each raised its latent quality)."),
            _C("employer_id", I32, "", "Alumni founders: their former employer (incumbents.incumbent_id); null for "
                                       "other firms.", nullable=True),
            _C("acquirer_id", I32, "", "Acquired firms bought by an incumbent: the buyer (incumbents.incumbent_id); "
                                       "null for other buyers and for firms not acquired.", nullable=True),
            _C("exit_value", F64, "mcny", "IPO value or acquisition price (for a team acquisition, what the buyer "
                                          "paid for the team): the bank is repaid from the firm's cash, the "
                                          "shareholders share the price by the liquidation waterfall "
                                          "(agents.investors.exits); NaN for firms that did not exit so.",
               nullable=True),
            _C("cash_at_end", F64, "mcny", "Cash the firm held when it left, before its bank and its shareholders "
                                           "were paid out of it (at a failure what is left after the bank and "
                                           "liquidation_cost_months of wages goes to the investors; at a team "
                                           "acquisition a shortfall after the bank comes off the price), or at the "
                                           "end of the run."),
            _C("team_sale", BOOL, "", "Acquired firms: bought for their team while out of cash (a soft landing; "
                                      "the shareholders share the price less the shortfall)."),
        ),
    ),
    TableSchema(
        "firm_years",
        "Panel of live firms at each observed year end (December step).",
        "one per firm alive at the end of each observed year",
        (
            _C("firm_id", I64, "", "Firm identifier (firms.firm_id)."),
            _C("year", I16, "year", "Calendar year whose end the row describes."),
            _C("age_years", F32, "years", "Age at the year end (may be fractional)."),
            _C("employees", F32, "persons", "Headcount at the year end."),
            _C("revenue", F32, "mcny/yr", "Revenue run rate at the year end."),
            _C("valuation", F32, "mcny", "Valuation at the year end."),
            _C("stage", STR, "", "Stage at the year end.", choices=STAGES),
            _C("rd_spending", F32, "mcny", "R&D spending over the calendar year (since founding for a firm founded "
                                           "in it): the R&D staff's wages and the R&D beyond them."),
            _C("rd_staff_share", F32, "share", "Share of the firm's staff (the founder included) in R&D in "
                                               "December."),
            _C("high_tech", BOOL, "", "Holds a valid high-tech enterprise certificate (高新技术企业) at the year end "
                                      "(agents.firms.rules.certify_high_tech)."),
        ),
        optional=True,
    ),
    TableSchema(
        "stage_changes",
        "Every change of a firm's stage (startup, gazelle, unicorn), warm-up included.",
        "one per firm and step at which its stage changed (a firm can move up or back down)",
        (
            _C("firm_id", I64, "", "Firm (firms.firm_id)."),
            _C("step", I32, _STEP, "Step of the change (negative: warm-up)."),
            _C("from_stage", STR, "", "Stage before the change.", choices=STAGES),
            _C("to_stage", STR, "", "Stage after the change.", choices=STAGES),
        ),
    ),
    TableSchema(
        "deals",
        "Every investment and loan made during the observed window.",
        "one per deal (an investor putting money into a firm in a step)",
        (
            _C("step", I32, _STEP, "Step of the deal."),
            _C("year", I16, "year", "Calendar year of the deal."),
            _C("investor_id", I32, "", "Investor (investors.investor_id)."),
            _C("investor_kind", STR, "", "Kind of investor.", choices=INVESTOR_KINDS),
            _C("firm_id", I64, "", "Firm (firms.firm_id)."),
            _C("round", STR, "", "Round; loan for bank lending.", choices=ROUNDS),
            _C("amount", F64, "mcny", "Money put in by this investor."),
            _C("pre_money", F64, "mcny", "Pre-money valuation of the round; NaN for loans.", nullable=True),
            _C("post_money", F64, "mcny", "Post-money valuation of the round; NaN for loans.", nullable=True),
            _C("track_id", I32, "", "Track of the firm at the time of the deal."),
        ),
    ),
    TableSchema(
        "positions",
        "Each investor's position in each firm at the end of the run.",
        "one per (investor, firm) pair with money invested",
        (
            _C("investor_id", I32, "", "Investor (investors.investor_id)."),
            _C("investor_kind", STR, "", "Kind of investor.", choices=INVESTOR_KINDS),
            _C("firm_id", I64, "", "Firm (firms.firm_id)."),
            _C("invested", F64, "mcny", "Total money put in (equity or loan principal)."),
            _C("proceeds", F64, "mcny", "Money received back (exit proceeds, repayments, interest)."),
            _C("residual_value", F64, "mcny", "Value of what is still held at the end of the run (or when the firm "
               "aged out): the firm's last post-money times the position's fraction; a guidance fund's position within "
               "its yearly return cap, the excess added to its co-investing VC's position."),
            _C(
                "status",
                STR,
                "",
                "realized: exited or repaid; written_off: firm failed; unrealized: still held.",
                choices=POSITION_STATUS,
            ),
            _C(
                "multiple",
                F64,
                "x",
                "(proceeds + residual_value) / invested; NaN if nothing was invested.",
                nullable=True,
            ),
        ),
    ),
    TableSchema(
        "tracks",
        "Every track (赛道) of the run, initial or created, with its genealogy.",
        "one per track ever present (ended tracks keep their row)",
        (
            _C("track_id", I32, "", "Track identifier, stable for the whole run."),
            _C("key", STR, "", "Short ASCII key (e.g. new_retail)."),
            _C("name", STR, "", "Chinese name (e.g. 新零售)."),
            _C("name_en", STR, "", "English name."),
            _C(
                "direction",
                STR,
                "",
                "Direction (方向): " + ", ".join(f"{d} {DIRECTION_EN[d]}" for d in DIRECTIONS) + ".",
                choices=DIRECTIONS,
            ),
            _C("level", STR, "", "main (主赛道) or new (新赛道).", choices=LEVELS),
            _C(
                "parent_ids",
                pa.list_(pa.int32()),
                "",
                "Tracks this one derives from (one parent for a new track or a "
                "fission, two or more for a fusion; empty for main tracks).",
            ),
            _C("born_step", I32, _STEP, "Step the track appeared (the first warm-up step for initial tracks)."),
            _C("formed_step", I32, _STEP, "Step the track became formed (investable); null if never.", nullable=True),
            _C("ended_step", I32, _STEP, "Step the track ended; null if still active.", nullable=True),
            _C(
                "end_kind",
                STR,
                "",
                "How the track ended: merged (absorbed by merged_into in a consolidation); null if still active.",
                nullable=True,
            ),
            _C("merged_into", I32, "", "Track that absorbed this one; null if none.", nullable=True),
            _C("created_by", STR, "", "Mechanism that created the track.", choices=CREATED_BY),
            _C("state", STR, "", "Lifecycle state at the end of the run.", choices=LIFECYCLE),
            _C("market_mcny", F64, "mcny/yr", "National market size at the end of the run."),
            _C("unicorns_ever", I32, "firms", "Firms of this track that ever became unicorns."),
            _C("gazelles_ever", I32, "firms", "Firms of this track that ever became gazelles."),
        ),
    ),
    TableSchema(
        "track_transitions",
        "Every lifecycle transition of every track (latent → emerging → formed → explosive → mature → consolidating → "
        "ended), and level promotions.",
        "one per transition, in order; steps include the warm-up",
        (
            _C("track_id", I32, "", "Track (tracks.track_id)."),
            _C("step", I32, _STEP, "Step of the transition."),
            _C("from_state", STR, "", "State before (level:new for a promotion)."),
            _C("to_state", STR, "", "State after (level:main for a promotion)."),
        ),
    ),
    TableSchema(
        "investors",
        "Every investor of the run: angels, VC funds, guidance funds, banks, incumbents' corporate venture funds.",
        "one per investor",
        (
            _C("investor_id", I32, "", "Investor identifier (deals.investor_id, positions.investor_id)."),
            _C("kind", STR, "", "Kind of investor.", choices=INVESTOR_KINDS),
            _C("name", STR, "", "Display name."),
            _C(
                "vintage_year",
                I16,
                "year",
                "Year the fund started investing (VC, guidance and corporate venture funds); null for angels and "
                "banks.",
                nullable=True,
            ),
            _C("size", F64, "mcny", "Fund size, lending capacity or angel wealth available for investing."),
            _C("committed", F64, "mcny", "Capital committed by LPs (equal to size for angels and banks)."),
            _C("invested", F64, "mcny", "Total money put into firms."),
            _C("proceeds", F64, "mcny", "Total money received back."),
            _C("manager_id", I32, "", "Managing firm (VC funds of one manager share it); null if none.", nullable=True),
        ),
    ),
    TableSchema(
        "incumbents",
        "Every large incumbent firm (大企业) of the run: its acquisitions, corporate venture fund, procurement "
        "and alumni founders.",
        "one per incumbent",
        (
            _C("incumbent_id", I32, "", "Incumbent identifier (firms.employer_id, firms.acquirer_id)."),
            _C("name", STR, "", "Display name."),
            _C("weight", F64, "firms", "Incumbents of the preset this agent stands for (count * scale / agents)."),
            _C("employees", F64, "persons", "Headcount at the end of the run."),
            _C("revenue", F64, "mcny/yr", "Revenue at the end of the run."),
            _C("strategic_track_ids", pa.list_(pa.int32()), "", "Tracks it made strategic (tracks derived from "
                                                                   "them are strategic too)."),
            _C("cvc_investor_id", I32, "", "Its corporate venture fund (investors.investor_id)."),
            _C("cvc_invested", F64, "mcny", "Money its corporate venture fund put into firms."),
            _C("acquisitions", I32, "firms", "Firms it bought (team acquisitions included)."),
            _C("team_acquisitions", I32, "firms", "Venture-backed firms out of cash it bought for their team."),
            _C("acquisition_spend", F64, "mcny", "Money it paid for acquisitions."),
            _C("contracts_signed", I32, "contracts", "Supply contracts it signed with young firms."),
            _C("procurement_paid", F64, "mcny", "Money it paid under those contracts."),
            _C("alumni_founders", I32, "firms", "Firms founded by its alumni."),
            _C("alumni_unicorns", I32, "firms", "Firms founded by its alumni that became unicorns."),
            _C("portfolio_unicorns", I32, "firms", "Unicorns its corporate venture fund invested in or it bought "
                                                   "(腾讯 '投资孵化独角兽')."),
        ),
    ),
    TableSchema(
        "contracts",
        "Every supply contract with a young firm: incumbents' procurement, public procurement, insured first "
        "purchases (首台套).",
        "one per contract",
        (
            _C("firm_id", I64, "", "Supplier (firms.firm_id)."),
            _C("buyer_kind", STR, "", "Who buys: an incumbent firm, the government, or a first buyer insured under "
                                      "a policy.", choices=BUYER_KINDS),
            _C("buyer_id", I32, "", "incumbents.incumbent_id for an incumbent; for the government and insured "
                                    "buyers, the buying policy's position in the run's policies."),
            _C("value", F64, "mcny/yr", "Value of the contract per year."),
            _C("start_step", I32, _STEP, "First month paid (negative: warm-up)."),
            _C("end_step", I32, _STEP, "First month after its term (it ends earlier if the supplier leaves)."),
            _C("paid", F64, "mcny", "What the buyer paid over the run."),
        ),
    ),
    TableSchema(
        "gazelle_list",
        "The government's list of cultivated gazelles (瞪羚企业名单): every firm added, with the year.",
        "one per listed firm (a firm is listed once)",
        (
            _C("firm_id", I64, "", "Firm (firms.firm_id)."),
            _C("year", I16, "year", "Year the firm was added to the list."),
            _C("track_id", I32, "", "Track of the firm when listed."),
            _C("revenue", F64, "mcny/yr", "Revenue run rate when listed."),
            _C("growth", F64, "1/yr", "Annualised growth over the criteria's window (what the government ranked)."),
        ),
    ),
    TableSchema(
        "institutes",
        "Research institutes and universities (agents.institutes), year by year: money, researchers, knowledge, "
        "breakthroughs and technology transfer.",
        "one per institute and observed year",
        (
            _C("institute_id", I32, "", "Institute (its Mesa agent's unique_id)."),
            _C("name", STR, "", "Display name."),
            _C("year", I16, "year", "Calendar year."),
            _C("budget", F64, "mcny/yr", "Research money in the year: the institute's own budget plus public funding."),
            _C("public_funding", F64, "mcny/yr", "Public research funding received in the year (policies such as "
                                                 "basic_research, ocs_programmes)."),
            _C("basic_spending", F64, "mcny/yr", "Spent on basic research in the year."),
            _C("applied_spending", F64, "mcny/yr", "Spent on applied research in the year."),
            _C("researchers", F64, "persons", "Researchers, the year's average (own staff and those public money "
                                              "paid for)."),
            _C("knowledge", F64, "effort-years", "Knowledge held at the year end, all tracks."),
            _C("breakthroughs_basic", F64, "events/yr", "Basic-research breakthroughs in the year."),
            _C("breakthroughs_applied", F64, "events/yr", "Applied-research breakthroughs in the year."),
            _C("licences", F64, "licences/yr", "Technology licences signed with firms in the year."),
            _C("licence_income", F64, "mcny/yr", "Licence fees received from firms in the year."),
            _C("spinoffs", F64, "firms/yr", "Firms founded by the institute's researchers in the year."),
        ),
    ),
    TableSchema(
        "policy_accounts",
        "Public money of each policy intervention (sim.policies), year by year.",
        "one per policy and observed year (zeros in years the policy is not in force)",
        (
            _C("policy", STR, "", "Policy name (the key under policy in the configuration; summary.json policies)."),
            _C("kind", STR, "", "Kind of intervention (docs/policies.md)."),
            _C("year", I16, "year", "Calendar year."),
            _C(
                "spent",
                F64,
                "mcny/yr",
                "Public money the policy spent in the year (grants, fund capital, tax "
                "expenditure, ...); sums to timeseries.public_spending.",
            ),
            _C(
                "received",
                F64,
                "mcny/yr",
                "Public money that came back through the policy (royalties, capped fund proceeds).",
            ),
            _C("firms_supported", I32, "firms", "Firms that entered the policy's programme in the year."),
        ),
        optional=True,
        when="written when the run has at least one policy",
    ),
    TableSchema(
        "policy_reach",
        "The firms each policy reached directly: firms it admitted to a programme, paid a grant or lent to, and "
        "(a guidance fund) invested in. A policy acting only through market-wide levers reaches no firm here.",
        "one per policy and firm reached (a firm reached by two policies has two rows)",
        (
            _C("policy", STR, "", "Policy name (policy_accounts.policy)."),
            _C("kind", STR, "", "Kind of intervention (docs/policies.md)."),
            _C("firm_id", I64, "", "The firm reached (firms.firm_id)."),
            _C("channel", STR, "", "How the policy reached it: programme support, a grant or a loan (programme), or "
               "an investment of the policy's guidance fund (fund).", choices=("programme", "fund")),
        ),
        optional=True,
        when="written when the run has at least one policy",
    ),
]

#: name -> TableSchema, in the documented order.
TABLE_SCHEMAS: dict[str, TableSchema] = {t.name: t for t in _TABLES}

#: Keys of summary.json that measure time and so differ between two runs of one seed.
SUMMARY_TIMINGS: tuple[str, ...] = ("wall_seconds", "phase_seconds", "phase_cpu_seconds")

#: Top-level keys of summary.json and their meaning (documentation only; not enforced).
SUMMARY_KEYS: dict[str, str] = {
    "finished": "true only once every table has been written; false while writing or after a crash",
    "seed": "root seed of the run",
    "years": "length of the observed window (years)",
    "scale": "scale factor applied to the ecosystem preset",
    "ecosystem": "ecosystem preset name",
    "wall_seconds": "wall-clock duration of the run (s)",
    "firm_steps": "live firms summed over every simulated month, warm-up included (for throughput figures)",
    "firm_steps_observed": "live firms summed over the observed months (step >= 0)",
    "phase_seconds": "wall-clock seconds spent per model phase",
    "phase_cpu_seconds": "CPU seconds of the run's process spent per model phase (less inflated by other work on the "
                         "machine than phase_seconds)",
    "totals": "headline totals of the run (births, new gazelles, new unicorns, money invested, ...)",
    "config": "the fully resolved configuration of the run",
    "policies": "the run's policy interventions with every parameter (sim.policies.base.Policy.to_dict; empty list for "
                "the baseline)",
    "policy_accounts": "per policy: public money spent and received over the run (mcny) and programme figures (firms "
                       "supported, ...)",
}


def table_schema(name: str) -> TableSchema:
    """The schema of table ``name``; :class:`OutputSchemaError` naming the tables if there is none."""
    try:
        return TABLE_SCHEMAS[name]
    except KeyError:
        raise OutputSchemaError(
            f"unknown table {name!r}; the tables are: {', '.join(TABLE_SCHEMAS)}"
        ) from None


# --------------------------------------------------------------------------------------------
# DataFrame <-> Arrow
# --------------------------------------------------------------------------------------------


def _column_array(col: Column, series: pd.Series, table: str) -> pa.Array:
    where = f"table {table!r}, column {col.name!r}"
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object).where(series.notna(), None)
    try:
        if pa.types.is_list(col.type):
            values = [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else [int(x) for x in v] for v in series
            ]
            arr = pa.array(values, type=col.type)
        else:
            arr = pa.array(series, from_pandas=True)
            if arr.type != col.type:
                arr = arr.cast(col.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as exc:
        raise OutputSchemaError(
            f"{where}: cannot convert dtype {series.dtype} to {col.type}: {exc}"
        ) from None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count and not col.nullable:
        raise OutputSchemaError(f"{where}: {arr.null_count} null value(s) in a non-nullable column")
    if col.choices is not None:
        ok = pc.or_(pc.is_null(arr), pc.is_in(arr, value_set=pa.array(col.choices, type=col.type)))
        bad = pc.filter(arr, pc.invert(ok))
        if len(bad):
            shown = sorted(set(bad.to_pylist()))[:5]
            raise OutputSchemaError(
                f"{where}: value(s) {shown} not allowed; allowed: {', '.join(col.choices)}"
            )
    return arr


def to_arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """Check ``df`` has exactly the documented columns of table ``name`` and cast it to the schema.

    Column order in ``df`` does not matter; the result is in the documented order. Raises
    :class:`OutputSchemaError` naming missing or extra columns, or the column whose values
    cannot be cast losslessly (e.g. 1.5 into an integer column), hold nulls where none are
    allowed, or fall outside the allowed values.
    """
    schema = table_schema(name)
    if not isinstance(df, pd.DataFrame):
        raise OutputSchemaError(f"table {name!r}: expected a pandas DataFrame, got {type(df).__name__}")
    have = [str(c) for c in df.columns]
    if len(set(have)) != len(have):
        dup = sorted({c for c in have if have.count(c) > 1})
        raise OutputSchemaError(f"table {name!r}: duplicate column(s) {dup}")
    missing = [c for c in schema.names if c not in have]
    extra = [c for c in have if c not in schema.names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise OutputSchemaError(
            f"table {name!r}: {'; '.join(parts)}. Documented columns: {', '.join(schema.names)}"
        )
    arrays = [_column_array(c, df[c.name], name) for c in schema.columns]
    return pa.Table.from_arrays(arrays, schema=schema.arrow_schema())


def pandas_dtypes(name: str) -> dict[str, Any]:
    """The pandas dtype of each column of table ``name`` as :func:`read_results` returns it.

    Non-nullable integers are numpy integers, nullable integers pandas ``Int32``/``Int16``,
    floats ``float64`` (NaN for missing), strings pandas ``str``, booleans ``bool``, lists ``object``
    (Python lists).
    """
    out: dict[str, Any] = {}
    for c in table_schema(name).columns:
        t = c.type
        if pa.types.is_integer(t):
            np_dtype = np.dtype(t.to_pandas_dtype())
            out[c.name] = pd.api.types.pandas_dtype(np_dtype.name.capitalize()) if c.nullable else np_dtype
        elif pa.types.is_floating(t):
            out[c.name] = np.dtype("float64")
        elif pa.types.is_string(t):
            out[c.name] = pd.StringDtype(na_value=np.nan)
        elif pa.types.is_boolean(t):
            out[c.name] = np.dtype(bool)
        else:
            out[c.name] = np.dtype(object)
    return out


def empty_frame(name: str) -> pd.DataFrame:
    """An empty DataFrame with the columns and dtypes of table ``name``."""
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in pandas_dtypes(name).items()})


def from_arrow(name: str, table: pa.Table) -> pd.DataFrame:
    """Convert an Arrow table of ``name`` (as read from Parquet) to a DataFrame with :func:`pandas_dtypes`."""
    schema = table_schema(name)
    have = table.column_names
    if have != schema.names:
        missing = [c for c in schema.names if c not in have]
        extra = [c for c in have if c not in schema.names]
        raise OutputSchemaError(
            f"table {name!r} on disk does not match the schema (version {SCHEMA_VERSION}): "
            f"missing {missing}, unexpected {extra}; was it written by another version of sim?"
        )
    dtypes = pandas_dtypes(name)
    data = {}
    for c in schema.columns:
        arr = table.column(c.name)
        if arr.type != c.type:
            arr = arr.cast(c.type)
        if pa.types.is_list(c.type):
            data[c.name] = pd.Series(arr.to_pylist(), dtype=object)
        elif (pa.types.is_integer(c.type) and c.nullable) or pa.types.is_string(c.type):
            # straight into the pandas dtype (strings stay in Arrow memory, no Python objects)
            data[c.name] = pd.Series(arr.to_pandas(types_mapper={c.type: dtypes[c.name]}.get), dtype=dtypes[c.name])
        else:
            data[c.name] = pd.Series(arr.to_pandas(), dtype=dtypes[c.name])
    return pd.DataFrame(data, columns=schema.names)


# --------------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------------

_DOC_HEAD = """\
# Output files

<!-- Generated by `python -m sim.devtools.gendocs` from sim/io/schema.py (TABLE_SCHEMAS).
     Do not edit by hand: the tests check it is up to date. -->

A run writes one directory (Hydra's run directory, or the `outdir` given to
`run_simulation`/`Results.write`) holding:

| file | what |
| --- | --- |
@FILES@
| `funnel.png`, `size_distribution.png`, `unicorns_by_track.png` | standard plots (if `output.plots=true`), \
made from the files above by `sim.io.plots.make_plots` |

## Conventions

- **Money** is in million CNY (`mcny`). Per-step flows of money are per month (`mcny/month`);
  revenue is an annual run rate (`mcny/yr`).
- **Time** is an integer monthly `step`. Step 0 is January of `ecosystem.start_year`;
  `year = start_year + step // 12` and `month = step % 12 + 1` (floor division, so this also
  holds for the negative steps of the warm-up: with start_year 2015, step -1 is December 2014).
  The warm-up (`ecosystem.warmup_years`) runs before step 0; firms and tracks born then have
  a negative `born_step`. Tables cover the observed window (`step >= 0`) unless said otherwise.
- **Stocks and flows.** Counts of live firms are taken at the end of the step; flows
  (births, exits, money invested) are totals during the step.
- **Year ends.** `firm_years` describes each firm alive at the end of December of each observed
  year (step `12 * (year - start_year) + 11`). Its measures are recorded in single precision
  and written as recorded (`float32`, about 7 significant digits); `read_results` gives them, like
  every float column, as `float64`, while `pd.read_parquet` keeps them `float32`.
- **Missing values.** Integer columns marked *nullable* hold nulls (pandas `<NA>`, DuckDB/SQL
  `NULL`); float columns use NaN (stored as Parquet null). Strings marked nullable are null/NaN.
- **Identifiers** (`firm_id`, `track_id`, `investor_id`) are unique within a run and join the
  tables; they are not comparable across runs.
- Each Parquet file stores the unit and description of every column in its Arrow field
  metadata, and `sim.schema_version` = @VERSION@ in its file metadata.

## Atomic, reproducible writing

Every file is written to a temporary file in the same directory, flushed to disk and renamed
onto its final name, so a reader never sees a half-written file. `summary.json` is written
first with `"finished": false`, then the tables, then `summary.json` again with
`"finished": true`: **a run directory whose summary.json does not say `"finished": true` is
incomplete** (the run was killed or is still writing). Identical results give byte-identical
files (no timestamps, no pandas index).

## Loading

With the package (checks `finished`, gives every column its documented dtype):

```python
from sim.io.files import read_results
tables, summary = read_results("outputs/2025-01-01/12-00-00")   # allow_partial=True for a killed run
firms = tables["firms"]
unicorns = firms[firms["unicorn_step"].notna()]
```

With pandas alone:

```python
import json, pandas as pd
run = "outputs/2025-01-01/12-00-00"
assert json.load(open(f"{run}/summary.json", encoding="utf-8"))["finished"]
ts = pd.read_parquet(f"{run}/timeseries.parquet")
ts.groupby("year")[["new_gazelles", "new_unicorns"]].sum()
```

With DuckDB (`pip install duckdb`), straight from the files:

```python
import duckdb
duckdb.sql(\"\"\"
    SELECT t.name, t.direction, count(*) AS unicorns
    FROM 'outputs/2025-01-01/12-00-00/firms.parquet' f
    JOIN 'outputs/2025-01-01/12-00-00/tracks.parquet' t USING (track_id)
    WHERE f.unicorn_step IS NOT NULL
    GROUP BY ALL ORDER BY unicorns DESC
\"\"\").show()
```

## summary.json

UTF-8 JSON with sorted keys; NaN is written as `null`.

| key | meaning |
| --- | --- |
@SUMMARY@
"""


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_doc() -> str:
    """The Markdown of docs/outputs.md, generated from :data:`TABLE_SCHEMAS`."""
    files = "\n".join(
        f"| `{t.name}.parquet` | "
        f"{_md(t.doc)}{(' Optional (' + (t.when or '`output.' + t.name + '`') + ').') if t.optional else ''} |"
        for t in TABLE_SCHEMAS.values()
    )
    files = "| `summary.json` | run metadata and totals; `finished` says whether the run completed |\n" + files
    summary = "\n".join(f"| `{k}` | {_md(v)} |" for k, v in SUMMARY_KEYS.items())
    head = _DOC_HEAD.replace("@FILES@", files).replace("@VERSION@", str(SCHEMA_VERSION))
    out = [head.replace("@SUMMARY@", summary)]
    for t in TABLE_SCHEMAS.values():
        out.append(f"\n## {t.name}.parquet\n\n{t.doc} Rows: {t.rows}.\n")
        if t.optional:
            out.append(
                f"\nOptional: {t.when}.\n" if t.when else f"\nOptional: not written when `output.{t.name}=false`.\n"
            )
        out.append("\n| column | type | unit | meaning |\n| --- | --- | --- | --- |\n")
        for c in t.columns:
            doc = c.doc
            if c.choices:
                doc += " Values: " + ", ".join(f"`{v}`" for v in c.choices) + "."
            out.append(f"| `{c.name}` | {_md(c.type_name)} | {_md(c.unit) or '-'} | {_md(doc)} |\n")
    return "".join(out)

"""The model's categories, each defined once: stages, founding channels, how firms end, kinds
of investor, rounds, track directions, levels, lifecycle states and how tracks are created.

A category is a tuple of names; where a column or array stores it as a small integer, the
integer is the name's position in the tuple (``STAGES[UNICORN] == "unicorn"``). The output
contract (:mod:`sim.io.schema`), the configuration checks, the policies and the rules all read
these tuples; nothing else spells them out.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Firms
# --------------------------------------------------------------------------------------------

#: Stages of a firm (创业 → 瞪羚 → 独角兽); the firm column ``stage`` holds the index.
STAGES = ("startup", "gazelle", "unicorn")
STARTUP, GAZELLE, UNICORN = range(len(STAGES))

#: Founding channels; the firm column ``origin`` holds the index.
ORIGINS = ("independent", "spinoff", "alumni")
INDEPENDENT, SPINOFF, ALUMNI = range(len(ORIGINS))

#: How a firm leaves the population; the record ``end_kind`` holds the index (0: has not ended).
END_KINDS = (None, "failed", "acquired", "ipo", "aged_out")
END_CODE = {name: i for i, name in enumerate(END_KINDS) if name}
FIRM_END_KINDS = END_KINDS[1:]

#: "Never" for a step column: warm-up steps are negative, so -1 is a real step (December
#: before start_year) and cannot mean "not yet". The smallest int32.
NEVER = -(2**31)

# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------

#: Kinds of investor (``Investor.kind``); ``cvc`` is an incumbent firm's corporate venture fund.
INVESTOR_KINDS = ("angel", "vc", "guidance_fund", "bank", "cvc")

#: Financing rounds in sequence, then bank loans; deals store the index.
ROUNDS = ("seed", "A", "B", "C", "D+", "loan")
EQUITY_ROUNDS = ROUNDS.index("loan")  # seed .. D+: the equity rounds are codes 0 .. EQUITY_ROUNDS - 1
LOAN_ROUND = ROUNDS.index("loan")

#: Buyers in supply contracts with young firms (agents.contracts): a large incumbent firm, the
#: government (public procurement), a first buyer insured under a policy (首台套).
BUYER_KINDS = ("incumbent", "government", "insured_buyer")

#: Status of an investor's position in a firm at the end of a run.
POSITION_STATUS = ("realized", "written_off", "unrealized")

# --------------------------------------------------------------------------------------------
# Tracks (赛道)
# --------------------------------------------------------------------------------------------

#: Track directions (方向) of the China new-track system, with the English names used in
#: column names and plots.
DIRECTIONS = ("商业", "民生", "社会", "数字", "产业", "科技")
DIRECTION_EN = {
    "商业": "commerce",
    "民生": "livelihood",
    "社会": "society",
    "数字": "digital",
    "产业": "industry",
    "科技": "technology",
}

#: Track levels: main tracks (主赛道) and new tracks (新赛道).
LEVELS = ("main", "new")

#: Lifecycle states of a track, in order; the track column ``state`` holds the index.
LIFECYCLE = ("latent", "emerging", "formed", "explosive", "mature", "consolidating", "ended")
LATENT, EMERGING, FORMED, EXPLOSIVE, MATURE, CONSOLIDATING, ENDED = range(len(LIFECYCLE))

#: How a track came to be.
CREATED_BY = ("initial", "breakthrough", "fission", "fusion")

__all__ = [
    "STAGES", "STARTUP", "GAZELLE", "UNICORN",
    "ORIGINS", "INDEPENDENT", "SPINOFF", "ALUMNI",
    "END_KINDS", "END_CODE", "FIRM_END_KINDS", "NEVER",
    "INVESTOR_KINDS", "ROUNDS", "EQUITY_ROUNDS", "LOAN_ROUND", "POSITION_STATUS", "BUYER_KINDS",
    "DIRECTIONS", "DIRECTION_EN", "LEVELS",
    "LIFECYCLE", "LATENT", "EMERGING", "FORMED", "EXPLOSIVE", "MATURE", "CONSOLIDATING", "ENDED",
    "CREATED_BY",
]

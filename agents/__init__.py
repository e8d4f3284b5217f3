"""Agent behaviour, one module per actor family: firms, investors, research institutes, governments.

No I/O, configuration parsing or plotting here: the model (:mod:`sim.model`) wires agents
to the configuration and the phases of a step.
"""

from agents.firms.view import Firm
from agents.government import Government
from agents.institutes import ResearchInstitute
from agents.investors.books import Angel, Bank, GuidanceFund, Investor, VCFund

__all__ = ["Firm", "Government", "ResearchInstitute", "Investor", "Angel", "VCFund", "GuidanceFund", "Bank"]

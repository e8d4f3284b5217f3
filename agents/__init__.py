"""The actors, one package or module per family: firms (:mod:`agents.firms`), investors and the
capital market (:mod:`agents.investors`), research institutes (:mod:`agents.institutes`) and the
government (:mod:`agents.government`); each holds its state, its vectorised rules and its Mesa view.

No I/O, configuration parsing or plotting here, and no import of the model: the model
(:mod:`sim.model`) builds the actors and calls their phases.
"""

from agents.firms.view import Firm
from agents.government import Government
from agents.institutes import ResearchInstitute
from agents.investors.books import Angel, Bank, GuidanceFund, Investor, VCFund

__all__ = ["Firm", "Government", "ResearchInstitute", "Investor", "Angel", "VCFund", "GuidanceFund", "Bank"]

"""The cash ledger: every flow of money into and out of the firms, so that money is conserved.

The cash held by live and ended firms equals what flowed in (founders' cash and top-ups, equity, loans,
grants, the operating result, the margin on supply contracts) less what flowed out (debt
service, R&D spending beyond the R&D staff's wages (the operating result holds those wages),
royalties paid back to the government, licence fees paid to research institutes, the cash of
failed firms paid out to their investors), up to rounding: :meth:`CashLedger.net_inflow`
against the firms' cash (``EcosystemModel.cash_identity``). Each account is a typed field written
by the one module named beside it; a misspelled account is an error, not a new account. Money in
million CNY.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CashLedger"]


@dataclass(slots=True)
class CashLedger:
    """Cumulative cash flows of all firms over a run (mcny)."""

    founder_cash: float = 0.0  # founders' cash at birth (agents.firms.founding)
    founder_topups: float = 0.0  # founders covering the shortfall of a firm that trims its staff (agents.firms.rules)
    equity_in: float = 0.0  # money raised in equity rounds (agents.investors.rounds)
    loans_in: float = 0.0  # bank loans paid out (agents.investors.lending)
    grants_in: float = 0.0  # policy grants (sim.policies.base.Policy.grant)
    operating: float = 0.0  # gross margin minus wages (agents.firms.rules)
    rd_nonlabour: float = 0.0  # R&D spending beyond the R&D staff's wages: materials, equipment (agents.firms.rules)
    debt_service: float = 0.0  # interest and principal paid to banks (agents.investors.lending)
    public_repayments: float = 0.0  # royalties paid back to the government (sim.policies.firms)
    licence_fees: float = 0.0  # licence fees paid to research institutes (agents.institutes)
    contract_margin: float = 0.0  # supply contracts' payments net of the cost of delivering them (agents.contracts)
    liquidation_paid: float = 0.0  # cash of failed firms paid out to their investors (agents.investors.market)
    ended_cash: float = 0.0  # cash held by firms when they ended (agents.firms.rules)

    def net_inflow(self) -> float:
        """Cash that flowed into the firms, net of what flowed out."""
        flowed = (
            self.founder_cash + self.founder_topups + self.equity_in + self.loans_in + self.grants_in + self.operating
            - self.debt_service
        )
        flowed += self.contract_margin
        flowed -= self.public_repayments + self.licence_fees + self.liquidation_paid + self.rd_nonlabour
        return flowed

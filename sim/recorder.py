"""What a run records while it runs: the monthly time series and the firm-year panel.

The ``record`` phase appends one row per observed month (stocks at the end of the month, the
month's flows: births, exits, money invested, public spending, tracks per direction and state);
at each observed year end the panel gets one row per live firm (``output.firm_years``). The
rows become the ``timeseries`` and ``firm_years`` tables (:mod:`sim.io.tables`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.clock import is_year_end, years_since
from sim.core.kernels import register
from sim.core.vocabulary import GAZELLE, STAGES, STARTUP, UNICORN
from sim.tracks.attention import track_counts

__all__ = ["Recorder", "FLOW_COUNTS"]

#: The month's counters of events that the time series reports as they are.
FLOW_COUNTS = ("births", "births_independent", "births_spinoff", "births_alumni", "deaths",
               "exits_ipo", "exits_acquired", "exits_distressed", "acquisitions_by_incumbents", "aged_out",
               "new_gazelles", "new_unicorns", "new_high_tech")


@njit(cache=True)
def _totals(stage, employees, revenue, n_stages):
    """(live firms by stage, their employees, their revenue), in one pass."""
    counts = np.zeros(n_stages, dtype=np.int64)
    emp = 0.0
    rev = 0.0
    for i in range(stage.size):
        counts[stage[i]] += 1
        emp += employees[i]
        rev += revenue[i]
    return counts, emp, rev


register("totals", _totals, lambda: (np.zeros(2, np.int8), np.ones(2), np.ones(2), 3))


class Recorder:
    """The time series and the firm-year panel of one model.

    ``firm_years`` holds the panel as recorded, one dict of columns per year end (float32 values).
    Building the ``firm_years`` table (:func:`sim.io.tables.firm_years_arrow`) hands those columns
    over one at a time, so the panel is never held twice, and keeps the table in
    ``firm_years_table`` (year ends recorded after that are appended to it at the next build);
    :attr:`has_panel` is true in every state."""

    #: the built firm_years table (an Arrow table) once the recorded columns were handed over
    firm_years_table = None

    def __init__(self, model):
        self.model = model
        self.timeseries: list[dict] = []
        self.firm_years: list[dict[str, np.ndarray]] = []

    def step(self) -> None:
        """The record phase: one time-series row per observed month."""
        m = self.model
        step = m.current_step
        if step < 0:
            return
        pop = m.population
        counts, employees, revenue = _totals(pop["stage"], pop["employees"], pop["revenue"], len(STAGES))
        flows = m.market.flows
        row = {
            "step": step,
            "year": m.year_of(step),
            "month": step % 12 + 1,
            "firms": pop.n,
            "startups": int(counts[STARTUP]),
            "gazelles": int(counts[GAZELLE]),
            "unicorns": int(counts[UNICORN]),
        }
        c = m.counts
        row.update({k: int(c[k]) for k in FLOW_COUNTS})
        row.update(
            {
                "angel_invested": flows["angel"],
                "vc_invested": flows["vc"],
                "guidance_invested": flows["guidance_fund"],
                "cvc_invested": flows["cvc"],
                "bank_lending": flows["bank"],
                "contract_payments": m.contracts.monthly_total(),
                "public_spending": c["public_spending"],
                "employees": employees,
                "revenue": revenue,
                "active_tracks": int(m.tracks["active"].sum()),
                **track_counts(m.tracks),
                "breakthroughs": int(c["breakthroughs"]),
                "breakthroughs_basic": int(c["breakthroughs_basic"]),
                "licences": int(c["licences"]),
                "knowledge": float(m.institutes.knowledge.sum()),
                "rd_spending": float(c["rd_spending"]),
                "rd_breakthroughs": int(c["rd_breakthroughs"]),
                "high_tech": int(np.count_nonzero(pop["ht_until"] > step)),
                "gazelle_list_size": int(m.government.gazelle_list.listed().size),
            }
        )
        self.timeseries.append(row)

    @property
    def has_panel(self) -> bool:
        """Whether any firm-year row was recorded."""
        return bool(self.firm_years) or self.firm_years_table is not None

    def year_end(self) -> None:
        """At each observed year end: a panel row per live firm (if ``output.firm_years``)."""
        m = self.model
        pop = m.population
        step = m.current_step
        if not is_year_end(step) or pop.n == 0 or step < 0 or not m.cfg.output.firm_years:
            return
        self.firm_years.append(
            {
                "firm_id": pop["id"].copy(),
                "year": np.full(pop.n, m.year_of(step), dtype=np.int16),
                "age_years": years_since(step + 1, pop["born"]).astype(np.float32),
                "employees": pop["employees"].astype(np.float32),
                "revenue": pop["revenue"].astype(np.float32),
                "valuation": pop["valuation"].astype(np.float32),
                "stage": pop["stage"].copy(),
                "rd_spending": pop["rd_year"].astype(np.float32),
                "rd_staff_share": (pop["rd_phi"] * np.maximum(pop["employees"] - 1.0, 0.0)
                                   / pop["employees"]).astype(np.float32),
                "high_tech": pop["ht_until"] > step,
            }
        )

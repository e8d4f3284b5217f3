"""Policies: the base class with every hook (:mod:`sim.policies.base`), the instruments policies
combine (:mod:`sim.policies.instruments`), the kinds by family (:mod:`sim.policies.capital`,
:mod:`sim.policies.firms`, :mod:`sim.policies.tracks`, :mod:`sim.policies.people`,
:mod:`sim.policies.research`, :mod:`sim.policies.demand`) and the registry of kinds and configurations
(:mod:`sim.policies.registry`)."""

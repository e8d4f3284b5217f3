"""Every kind of policy, the configurations of ``conf/policy/``, and policies built from a
configuration.

:data:`REGISTRY` lists the kinds (the family modules are imported here, explicitly);
:func:`policies_from_config` turns the ``policy`` entries of a configuration into policy objects,
checked one by one and as a set; :data:`CONFIGS` says which configuration files
``conf/policy/`` holds (generated from the code) and :func:`configured_policy` builds one of
them without Hydra.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping

from omegaconf import OmegaConf

from agents.government import check_policies
from sim.core.errors import ConfigError
from sim.policies.base import Policy
from sim.policies.capital import CreditRelaxation, ExitChannels, FundOfFunds, GuidanceFundPolicy, LongTermCapital
from sim.policies.demand import OpenInnovation, PublicProcurement
from sim.policies.firms import (
    EntrySubsidy,
    IncubatorChain,
    ProofOfConcept,
    RDGrants,
    RDTaxCredit,
    StageCultivation,
    StateIncubator,
)
from sim.policies.people import TalentProgramme
from sim.policies.research import BasicResearch, OCSProgrammes, TechTransferReform
from sim.policies.tracks import SanctionsShock, SceneOpening, TrackCultivation
from sim.tracks.registry import load_track_system

__all__ = ["REGISTRY", "CONFIGS", "policy_from_dict", "policy_from_entry", "policies_from_config", "configured_policy"]

#: kind -> class, for every kind of policy (in the order of the issue's list of interventions).
REGISTRY: dict[str, type[Policy]] = {
    cls.kind: cls
    for cls in (
        GuidanceFundPolicy,
        StateIncubator,
        RDGrants,
        ProofOfConcept,
        SceneOpening,
        CreditRelaxation,
        ExitChannels,
        LongTermCapital,
        TalentProgramme,
        TechTransferReform,
        StageCultivation,
        TrackCultivation,
        SanctionsShock,
        EntrySubsidy,
        BasicResearch,
        OCSProgrammes,
        IncubatorChain,
        FundOfFunds,
        PublicProcurement,
        OpenInnovation,
        RDTaxCredit,
    )
}

#: The files of conf/policy/: name -> (kind, values that differ from the kind's defaults), in
#: the order of the issue's list of interventions.
CONFIGS: dict[str, tuple[str, dict]] = {
    "guidance_fund": ("guidance_fund", {}),
    "state_incubator": ("state_incubator", {}),
    "rd_grants": ("rd_grants", {}),
    "proof_of_concept": ("proof_of_concept", {}),
    "scene_opening": ("scene_opening", {}),
    "credit_relaxation": ("credit_relaxation", {}),
    "exit_channels": ("exit_channels", {}),
    "long_term_capital": ("long_term_capital", {}),
    "talent_programme": ("talent_programme", {}),
    "tech_transfer_reform": ("tech_transfer_reform", {}),
    "stage_cultivation": ("stage_cultivation", {}),
    "local_patience": ("track_cultivation", {}),
    "sanctions_shock": ("sanctions_shock", {}),
    "targeted_support": (
        "sanctions_shock",
        {
            "budget_mcny_per_year": 300.0,
            "support_capacity_per_year": 400.0,
            "description": "The sanctions shock with targeted support (精准支持) of exposed firms as its mitigation.",
        },
    ),
    "entry_subsidy": ("entry_subsidy", {}),
    "basic_research": ("basic_research", {}),
    "ocs_programmes": ("ocs_programmes", {}),
    "incubator_chain": ("incubator_chain", {}),
    "fund_of_funds": ("fund_of_funds", {}),
    "public_procurement": ("public_procurement", {}),
    "open_innovation": ("open_innovation", {}),
    "rd_tax_credit": ("rd_tax_credit", {}),
}


def policy_from_dict(d: Mapping) -> Policy:
    """A policy from :meth:`Policy.to_dict` output (``kind`` plus the parameters).

    Raises a one-line :class:`ConfigError` on an unknown kind or key, or a value of the wrong type."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in REGISTRY:
        hint = difflib.get_close_matches(str(kind), sorted(REGISTRY), n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(
            f"policy.{d.get('name', kind)}.kind={kind!r} is not a policy kind.{extra} Allowed kinds: "
            f"{', '.join(sorted(REGISTRY))}."
        )
    klass = REGISTRY[kind]
    names = [f.name for f in dataclasses.fields(klass)]
    unknown = sorted(set(d) - set(names))
    if unknown:
        hint = difflib.get_close_matches(unknown[0], names, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        where = f"policy.{d.get('name', kind)}"
        raise ConfigError(
            f"Unknown policy key(s) {', '.join(f'{where}.{k}' for k in unknown)}.{extra} "
            f"Allowed keys of a {klass.kind} policy: {', '.join(names)}."
        )
    try:
        return klass(**d)
    except TypeError as exc:  # e.g. a list where a number belongs
        raise ConfigError(f"policy.{d.get('name', kind)}: {exc}") from None


def policy_from_entry(name: str, entry) -> Policy:
    """One policy from its configuration entry (the mapping under ``policy.<name>``)."""
    if OmegaConf.is_config(entry):
        entry = OmegaConf.to_container(entry, resolve=True)
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"policy.{name}={entry!r} is not a group of keys; select a policy with policy=[{name}] "
            f"(a file conf/policy/{name}.yaml) or give its keys as policy.{name}.<key>=<value>."
        )
    d = dict(entry)
    kind = d.get("kind") or (name if name in REGISTRY else None)
    if kind is None:
        raise ConfigError(
            f"policy.{name} has no kind; add policy.{name}.kind, one of {', '.join(sorted(REGISTRY))}."
        )
    if d.get("name", name) != name:
        raise ConfigError(f"policy.{name}.name={d['name']!r} differs from its key {name!r}; leave name out.")
    d["name"] = name
    d["kind"] = kind
    return policy_from_dict(d)


def policies_from_config(cfg) -> list[Policy]:
    """The policies of a configuration (``cfg.policy``), checked one by one and as a set.

    Raises :class:`ConfigError` naming the key on an unknown kind or key, a value of the wrong
    type or out of range, an unknown target track, a combination that cannot be (the same shock twice, two
    policies with one name) or budgets that do not fit in the government's."""
    entries = cfg.policy or {}
    policies = [policy_from_entry(str(name), entry) for name, entry in entries.items() if entry is not None]
    if not policies:
        return []
    check_policies(
        policies,
        government_budget=cfg.ecosystem.government.budget_mcny_per_year,
        scale=cfg.scale,
        start_year=cfg.ecosystem.start_year,
        years=cfg.years,
    )
    wanted = [p for p in policies if p.target_tracks]
    if wanted:
        try:
            specs = load_track_system(cfg.ecosystem.tracks.system)
        except ConfigError:
            specs = None  # reported on its own by the track-system check
        if specs is not None:
            keys = [s.key for s in specs]
            for p in wanted:
                p.check_tracks(keys)
    return policies


def configured_policy(name: str, **overrides) -> Policy:
    """The policy of ``conf/policy/<name>.yaml`` as the code defines it (no Hydra needed)."""
    if name not in CONFIGS:
        raise ConfigError(f"no policy configuration {name!r}; available: {', '.join(CONFIGS)}.")
    kind, values = CONFIGS[name]
    return policy_from_dict({"kind": kind, **values, **overrides, "name": name})

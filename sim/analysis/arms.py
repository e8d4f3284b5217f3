"""The arms of a policy comparison: which policies, with which parameters, on top of which settings.

An arm is a policy configuration name (``guidance_fund``), several joined with ``+``
(``guidance_fund+scene_opening``, run together), optionally with parameters after a colon
(``local_patience:patience_years=2,entry_bonus=1.5``; ``b.key=value`` names the policy when the
arm has several). The baseline arm has no policy.

**Settings that compose.** :func:`compose_overrides` adds the user's overrides to the
comparison's defaults: a default is dropped only when the user sets the same key, so
``ecosystem=shenzhen_htz`` keeps the teaching-size park of the defaults.

**Equal budgets.** :func:`equal_budget` scales an arm so that its policies together may spend
``budget_mcny`` million CNY a year (at scale 1, like every budget): every extensive parameter
of each policy (its yearly budget, capacities, scenes per year, fund size:
:meth:`~sim.policies.base.Policy.size_parameters`; prices per unit such as ``cost_per_scene_mcny``
are not among them) is
multiplied by ``budget_mcny`` / (the arm's yearly budgets). An arm whose policies have no
budget spends no public money and is left as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sim.batch.runner import compose_overrides
from sim.compose import load_config, presets
from sim.config import ConfigError
from sim.policies.registry import policies_from_config

__all__ = ["Arm", "parse_arm", "make_arms", "compose_overrides", "equal_budget", "slug", "BASELINE"]

BASELINE = "baseline"


@dataclass(frozen=True)
class Arm:
    """One arm of the comparison: a label and the configuration overrides that make it.

    ``scaled``: with equal budgets, the factor every extensive parameter was multiplied by
    (None when the arm was not scaled); ``note`` says why an arm could not be scaled.
    """

    label: str
    policies: tuple[str, ...] = ()
    params: tuple[tuple[str, str, str], ...] = ()  # (policy, key, value)
    scaled: float | None = None
    note: str = field(default="", compare=False)

    @property
    def overrides(self) -> list[str]:
        if not self.policies:
            return []
        out = [f"policy=[{','.join(self.policies)}]"]
        out += [f"policy.{p}.{k}={v}" for p, k, v in self.params]
        return out


def parse_arm(spec) -> Arm:
    """``"a"``, ``"a+b"``, ``["a", "b"]`` or ``"a:key=value,key2=value2"`` (parameters apply to
    the first policy named, or to ``policy.key`` written as ``b.key=value``)."""
    if isinstance(spec, Arm):
        return spec
    if isinstance(spec, (list, tuple)):
        spec = "+".join(str(s) for s in spec)
    spec = str(spec).strip()
    if not spec:
        raise ConfigError("an empty policy arm; name a configuration of conf/policy/ (e.g. guidance_fund).")
    names_part, _, params_part = spec.partition(":")
    names = tuple(n.strip() for n in names_part.split("+") if n.strip())
    if len(set(names)) != len(names):
        raise ConfigError(f"policy arm {spec!r} names a policy twice.")
    params = []
    for item in filter(None, (s.strip() for s in params_part.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} is not key=value.")
        owner, dot, k = key.strip().rpartition(".")
        owner = owner if dot else names[0]
        if owner not in names:
            raise ConfigError(f"policy arm {spec!r}: parameter {item!r} names policy {owner!r}, which is not in the "
                              "arm.")
        params.append((owner, k, value.strip()))
    shown = [f"{k}={v}" if len(names) == 1 else f"{p}.{k}={v}" for p, k, v in params]
    label = "+".join(names) + (f"[{','.join(shown)}]" if params else "")
    return Arm(label=label, policies=names, params=tuple(params))


def slug(label: str) -> str:
    """A directory name for an arm label (its characters outside [A-Za-z0-9_.+=,-] become _)."""
    return re.sub(r"[^A-Za-z0-9_.+=,-]", "_", label)


def make_arms(policies) -> list[Arm]:
    """The baseline and the arms ``policies`` (default: every configuration in conf/policy/)."""
    specs = list(presets("policy") if policies is None else policies)
    arms = [Arm(BASELINE)] + [parse_arm(s) for s in specs]
    labels = [a.label for a in arms]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"policy arm(s) {', '.join(dup)} listed twice.")
    slugs = [slug(a) for a in labels]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"policy arms {', '.join(labels)} would share a run directory; name them differently.")
    return arms


def _scaled_value(value, factor: float):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(round(value * factor))
    return float(value) * factor


def extensive_fields(policy) -> list[str]:
    """The numeric parameters of ``policy`` that grow with the size of a programme
    (:meth:`sim.policies.base.Policy.size_parameters`)."""
    return [name for name in type(policy).size_parameters()
            if isinstance(getattr(policy, name), (int, float)) and not isinstance(getattr(policy, name), bool)]


def equal_budget(arm: Arm, base: Sequence[str], budget_mcny: float) -> Arm:
    """``arm`` with its policies scaled to ``budget_mcny`` million CNY a year together (at scale 1)."""
    if not arm.policies:
        return arm
    cfg = load_config([*base, *arm.overrides])
    policies = policies_from_config(cfg)
    total = sum(p.budget_mcny_per_year for p in policies)
    if total <= 0:
        return dataclasses.replace(arm, note="its policies have no budget (they spend no public money): not scaled")
    factor = budget_mcny / total
    params = {(p, k): v for p, k, v in arm.params}
    for p in policies:
        for name in extensive_fields(p):
            params[(p.name, name)] = repr(_scaled_value(getattr(p, name), factor))
    scaled = dataclasses.replace(arm, params=tuple((p, k, v) for (p, k), v in params.items()), scaled=factor)
    load_config([*base, *scaled.overrides])  # e.g. more than the government's budget: a ConfigError now
    return scaled

"""Field-ownership profiles: from a TOML-shaped mapping to one `FieldRule` per LiveVox field.

Rules are applied in order, later ones overriding earlier ones, so a profile reads as
"everything is the SoR's, except...". Patterns are shell globs over field keys
(`phone*Block`); a pattern that matches no field is an error, since a typo there would
silently leave a DND flag with the wrong owner.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from syncd.domain.merge import FieldRule, Ownership, Policy
from syncd.domain.values import PII_KEYS


class ProfileError(ValueError):
    """The profile cannot be used; the message names the rule and the problem."""


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: list[str] = ["*"]
    ownership: Ownership
    policy: Policy = Policy.SOR_WINS
    initial_policy: Policy = Policy.SOR_WINS
    write_back: bool = False
    restrictive_value: bool | None = None

    @model_validator(mode="after")
    def _most_restrictive_needs_a_direction(self) -> _RuleSpec:
        if Policy.MOST_RESTRICTIVE in (self.policy, self.initial_policy) and (
            self.restrictive_value is None
        ):
            raise ValueError("most_restrictive needs restrictive_value (true for DND flags)")
        return self


class _ProfileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: _RuleSpec = _RuleSpec(ownership=Ownership.SOR)
    rule: list[_RuleSpec] = []


def build_rules(profile: Mapping[str, Any], field_keys: Iterable[str]) -> dict[str, FieldRule]:
    """One rule per field key; raises ProfileError with the offending rule named."""
    try:
        spec = _ProfileSpec.model_validate(profile)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"profile {where}: {first['msg']}") from exc
    keys = list(field_keys)
    rules = {key: _to_rule(spec.default) for key in keys}
    for index, rule in enumerate(spec.rule):
        for pattern in rule.fields:
            matched = fnmatch.filter(keys, pattern)
            if not matched:
                raise ProfileError(f"profile rule[{index}]: {pattern!r} matches no LiveVox field")
            for key in matched:
                rules[key] = _to_rule(rule)
    joint_pii = sorted(k for k in PII_KEYS & rules.keys() if rules[k].ownership is Ownership.BOTH)
    if joint_pii:
        # Three-way decisions read the last agreed value from syncd.base, which keeps no PII.
        raise ProfileError(
            f"profile: {', '.join(joint_pii)} cannot be owned by both sides "
            "(the base would have to keep the value); give it ownership 'sor' or 'livevox'"
        )
    return rules


def _to_rule(spec: _RuleSpec) -> FieldRule:
    return FieldRule(
        ownership=spec.ownership,
        policy=spec.policy,
        initial_policy=spec.initial_policy,
        write_back=spec.write_back,
        restrictive_value=spec.restrictive_value,
    )

"""Blast-radius guard: refuse to send a plan that would change too much at once.

A sync that suddenly wants to deactivate half the book is almost always a broken SoR extract
(an empty table, a failed view, a wrong filter), not a business decision. The guard compares
the plan with the size of the book and with recent runs; a held plan is not sent until an
admin confirms it (`syncd sync --confirm` or an admin resync).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlanCounts:
    """Contacts a plan touches, by operation."""

    creates: int = 0
    updates: int = 0
    deactivations: int = 0
    deletes: int = 0
    dnd_changes: int = 0

    @property
    def total(self) -> int:
        return self.creates + self.updates + self.deactivations + self.deletes + self.dnd_changes

    @property
    def removals(self) -> int:
        return self.deactivations + self.deletes


@dataclass(frozen=True)
class GuardLimits:
    max_share: float = 0.10
    """Largest share of the managed contacts one plan may touch."""
    max_removal_share: float = 0.10
    """Largest share of the managed contacts one plan may deactivate or delete."""
    deviation_factor: float = 10.0
    """Hold when the plan is this many times the median of recent runs..."""
    spike_min_share: float = 0.02
    """...and touches at least this share of the book (quiet cycles have a median of 0, so
    without a floor any ordinary batch edit after a quiet night would be held)."""
    min_absolute: int = 100
    """Plans touching fewer contacts never trip the guard."""


@dataclass(frozen=True)
class GuardVerdict:
    held: bool
    reasons: list[str] = field(default_factory=list)


def check_plan(
    plan: PlanCounts,
    managed_contacts: int,
    recent: Sequence[PlanCounts] = (),
    limits: GuardLimits | None = None,
) -> GuardVerdict:
    """Decide whether a plan may be sent; every reason that holds it is listed."""
    limits = limits or GuardLimits()
    reasons: list[str] = []
    if plan.total < limits.min_absolute:
        return GuardVerdict(False)
    book = max(managed_contacts, 1)
    if plan.removals / book > limits.max_removal_share:
        reasons.append(
            f"plan removes {plan.removals} of {managed_contacts} managed contacts "
            f"({plan.removals / book:.0%} > {limits.max_removal_share:.0%})"
        )
    if plan.total / book > limits.max_share:
        reasons.append(
            f"plan touches {plan.total} of {managed_contacts} managed contacts "
            f"({plan.total / book:.0%} > {limits.max_share:.0%})"
        )
    if recent and plan.total / book > limits.spike_min_share:
        typical = statistics.median(r.total for r in recent)
        if plan.total > limits.deviation_factor * max(typical, 1):
            reasons.append(
                f"plan touches {plan.total} contacts, {limits.deviation_factor:g}x more than "
                f"the median of the last {len(recent)} runs ({typical:g})"
            )
    return GuardVerdict(bool(reasons), reasons)

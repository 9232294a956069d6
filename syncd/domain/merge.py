"""Three-way merge of one field: SoR value, LiveVox (mirror) value, last agreed `base`.

Pure code. The diff (in SQL) finds the fields where the sides differ; this module decides, per
field, what to do about it, so the rules live in one place that property tests can drive.

- A side "changed" when its value differs from `base`. With no base yet (first contact), the
  rule's `initial_policy` decides, except that restriction flags stay `most_restrictive`.
- `sor`-owned: LiveVox must equal the SoR (a LiveVox-side edit is reverted).
- `livevox`-owned: the SoR follows LiveVox when `write_back` is on; otherwise nothing moves.
- `both`: one side changed → it wins; both changed → the rule's policy. `most_restrictive`
  keeps a Do-Not-Dial or a consent revocation made on either side; `manual` opens a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Ownership(StrEnum):
    SOR = "sor"
    LIVEVOX = "livevox"
    BOTH = "both"


class Policy(StrEnum):
    SOR_WINS = "sor_wins"
    LIVEVOX_WINS = "livevox_wins"
    MOST_RESTRICTIVE = "most_restrictive"
    MANUAL = "manual"


class Action(StrEnum):
    NOOP = "noop"
    PUSH = "push"  # write `value` into LiveVox
    WRITE_BACK = "write_back"  # write `value` into the SoR
    CONFLICT = "conflict"  # record for an admin; change nothing


@dataclass(frozen=True)
class FieldRule:
    """How one field is owned and merged."""

    ownership: Ownership
    policy: Policy = Policy.SOR_WINS
    initial_policy: Policy = Policy.SOR_WINS
    write_back: bool = False
    restrictive_value: bool | None = None
    """For restriction flags: the value that restricts (True for DND, False for consent)."""

    @property
    def is_restriction(self) -> bool:
        return self.restrictive_value is not None


_NO_BASE = object()


@dataclass(frozen=True)
class FieldState:
    """The three values of one field; `base` is `NO_BASE` before the first agreement."""

    sor: Any
    mirror: Any
    base: Any = _NO_BASE

    @property
    def has_base(self) -> bool:
        return self.base is not _NO_BASE


NO_BASE: Any = _NO_BASE


@dataclass(frozen=True)
class Decision:
    action: Action
    value: Any = None
    """The value to write (PUSH / WRITE_BACK) or the agreed value (NOOP)."""
    new_base: Any = _NO_BASE
    """What `base` becomes once the action succeeded; NO_BASE = leave it."""
    reason: str = ""


def _norm(value: Any, rule: FieldRule) -> Any:
    # LiveVox has no null flag: an unset DND or consent reads as false.
    if rule.is_restriction and value is None:
        return False
    return value


def most_restrictive(a: Any, b: Any, rule: FieldRule) -> Any:
    """The more restrictive of two flag values."""
    return rule.restrictive_value if rule.restrictive_value in (a, b) else a


def resolve(state: FieldState, rule: FieldRule) -> Decision:
    """Decide what to do with one field."""
    sor, mirror = _norm(state.sor, rule), _norm(state.mirror, rule)
    if sor == mirror:
        new_base = sor if not state.has_base or _norm(state.base, rule) != sor else NO_BASE
        return Decision(Action.NOOP, sor, new_base, "agree")
    if rule.ownership is Ownership.SOR:
        return Decision(Action.PUSH, sor, sor, "sor_owned")
    if rule.ownership is Ownership.LIVEVOX:
        if rule.write_back:
            return Decision(Action.WRITE_BACK, mirror, mirror, "livevox_owned")
        return Decision(Action.NOOP, mirror, NO_BASE, "livevox_owned")
    return _resolve_both(state, sor, mirror, rule)


def _resolve_both(state: FieldState, sor: Any, mirror: Any, rule: FieldRule) -> Decision:
    if not state.has_base:
        policy = Policy.MOST_RESTRICTIVE if rule.is_restriction else rule.initial_policy
        return _apply_policy(policy, sor, mirror, rule, "first_contact")
    base = _norm(state.base, rule)
    sor_changed, lv_changed = sor != base, mirror != base
    if sor_changed and not lv_changed:
        return Decision(Action.PUSH, sor, sor, "sor_changed")
    if lv_changed and not sor_changed:
        return _toward_sor(mirror, rule, "livevox_changed")
    return _apply_policy(rule.policy, sor, mirror, rule, "both_changed")


def _apply_policy(policy: Policy, sor: Any, mirror: Any, rule: FieldRule, why: str) -> Decision:
    if policy is Policy.MOST_RESTRICTIVE and rule.is_restriction:
        winner = most_restrictive(sor, mirror, rule)
        if winner == mirror:
            return _toward_sor(mirror, rule, f"{why}:most_restrictive")
        return Decision(Action.PUSH, sor, sor, f"{why}:most_restrictive")
    if policy is Policy.LIVEVOX_WINS:
        return _toward_sor(mirror, rule, f"{why}:livevox_wins")
    if policy is Policy.MANUAL:
        return Decision(Action.CONFLICT, None, NO_BASE, f"{why}:manual")
    # sor_wins, and most_restrictive on a field that has no notion of restriction.
    return Decision(Action.PUSH, sor, sor, f"{why}:sor_wins")


def _toward_sor(mirror: Any, rule: FieldRule, why: str) -> Decision:
    """LiveVox's value wins: write it back into the SoR, or keep it in LiveVox untouched."""
    if rule.write_back:
        return Decision(Action.WRITE_BACK, mirror, mirror, why)
    # Without write-back the SoR keeps its value; base stays so later cycles decide the same way.
    return Decision(Action.NOOP, mirror, NO_BASE, why)

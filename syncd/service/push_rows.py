"""What an outbox row means next to the mirror row of its contact.

- `stale_keys`: the fields whose mirror value no longer matches the row's `expected` (LiveVox
  moved since the plan: the row is superseded, never sent blind). For DND a flag pair may
  also sit on an intermediate state of *this row's own* action sequence (a two-step move cut
  off after its first step): that is our own progress, not LiveVox moving, and the remaining
  steps are planned from where it stands.
- `shows_applied`: the mirror already holds what the row wants (a SENT leftover that landed
  before a crash is closed without sending it again).
- `audited_changes`: (field, old, new) per audited change: every field of a create or an
  update, one entry per DND flag or consent moved, one row-level entry for a delete.
- `sent_values`: what the mirror (typed) and `base.agreed` (canonical) take after success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.domain.values import PII_KEYS, normalise_phone
from syncd.livevox import DndState, apply_dnd_action, plan_dnd_actions
from syncd.service.push_values import same_value, typed_value
from syncd.service.push_wire import DndCurrent, DndTarget, UnsendableChangeError, dnd_targets
from syncd.store.outbox_drain import OutboxRow
from syncd.store.push_apply import MirrorRow

Change = tuple[str | None, Any, Any]


def row_fields(row: OutboxRow) -> dict[str, Any]:
    """`payload.fields` of a create / update / deactivate row."""
    fields = row.payload.get("fields") or {}
    if not isinstance(fields, Mapping):
        raise UnsendableChangeError("fields", "payload.fields must be an object")
    return {k: v for k, v in fields.items() if k != "account"}


def lv_account_id(row: OutboxRow) -> int | None:
    value = row.payload.get("lv_account_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UnsendableChangeError("lv_account_id", "must be an integer")
    return int(value)


def _flag_keys(ordinal: int | None) -> tuple[str, str]:
    if ordinal is None:
        return "accountBlock", "accountBlockDaily"
    return f"phone{ordinal}Block", f"phone{ordinal}BlockDaily"


def mirror_dnd(mirror: MirrorRow, ordinal: int | None) -> DndCurrent:
    """The mirror's DND bits, number and consents of one target (a NULL flag counts as off:
    no block, no consent, as the planner reads it)."""
    permanent, daily = _flag_keys(ordinal)
    state = DndState(
        permanent=bool(mirror.values.get(permanent)), daily=bool(mirror.values.get(daily))
    )
    if ordinal is None:
        return DndCurrent(state)
    return DndCurrent(
        state,
        phone=mirror.values.get(f"phone{ordinal}") or None,
        sms_consent=bool(mirror.values.get(f"phone{ordinal}SmsConsent")),
        cell_consent=bool(mirror.values.get(f"phone{ordinal}CellConsent")),
    )


def _phone(number: str | None) -> str | None:
    return None if number is None else normalise_phone(number)


def _bits(value: Any) -> DndState | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        return DndState(permanent=bool(value[0]), daily=bool(value[1]))
    return None


def _own_path(start: DndState, desired: DndState | None) -> set[DndState]:
    """`start` and every state this row's own actions pass through on the way to `desired`."""
    states = {start}
    if desired is None:
        return states
    state = start
    for action in plan_dnd_actions(start, desired):
        state = apply_dnd_action(state, action)
        states.add(state)
    return states


def _expected_for(row: OutboxRow, target: DndTarget) -> Mapping[str, Any]:
    expected = row.expected or {}
    if target.ordinal is None:
        bits = expected.get("account")
        return {} if bits is None else {"bits": bits}
    phones = expected.get("phones") or {}
    found = phones.get(str(target.ordinal)) if isinstance(phones, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _dnd_stale(row: OutboxRow, mirror: MirrorRow) -> list[str]:
    stale: list[str] = []
    for target in dnd_targets(row.payload):
        expected = _expected_for(row, target)
        now = mirror_dnd(mirror, target.ordinal)
        permanent_key, _ = _flag_keys(target.ordinal)
        start = _bits(expected.get("bits"))
        if start is not None and now.state not in _own_path(start, target.desired):
            stale.append(permanent_key)
        if target.ordinal is None:
            continue
        if "phone" in expected and (expected["phone"] or None) != _phone(now.phone):
            stale.append(f"phone{target.ordinal}")
        for name, key, wanted, seen in (
            ("sms_consent", "SmsConsent", target.sms_consent, now.sms_consent),
            ("cell_consent", "CellConsent", target.cell_consent, now.cell_consent),
        ):
            if name in expected and seen not in (bool(expected[name]), wanted):
                stale.append(f"phone{target.ordinal}{key}")
    return stale


def stale_keys(row: OutboxRow, mirror: MirrorRow | None) -> list[str]:
    """Fields whose mirror value moved away from `expected` (empty: safe to send)."""
    live = mirror is not None and mirror.live
    if row.operation == "create":
        return ["account"] if live else []  # planned as new, but LiveVox has it now
    if row.operation == "delete":
        return []
    if mirror is None or not live:
        return ["account"]  # the contact is gone from LiveVox
    if row.operation == "dnd":
        return _dnd_stale(row, mirror)
    return [
        key
        for key, value in (row.expected or {}).items()
        if not same_value(key, value, mirror.values.get(key))
    ]


def shows_applied(row: OutboxRow, mirror: MirrorRow | None) -> bool:
    """Whether the mirror already holds what the row asks for."""
    live = mirror is not None and mirror.live
    if row.operation == "delete":
        return not live
    if mirror is None or not live:
        return False
    if row.operation == "create":
        return True
    if row.operation == "dnd":
        for target in dnd_targets(row.payload):
            now = mirror_dnd(mirror, target.ordinal)
            if target.desired is not None and now.state != target.desired:
                return False
            for wanted, seen in (
                (target.sms_consent, now.sms_consent),
                (target.cell_consent, now.cell_consent),
            ):
                if wanted is not None and wanted != seen:
                    return False
        return True
    return all(
        same_value(key, value, mirror.values.get(key)) for key, value in row_fields(row).items()
    )


def _dnd_changes(row: OutboxRow) -> list[Change]:
    changes: list[Change] = []
    for target in dnd_targets(row.payload):
        expected = _expected_for(row, target)
        permanent_key, daily_key = _flag_keys(target.ordinal)
        if target.desired is not None:
            old = _bits(expected.get("bits"))
            for key, before, after in (
                (permanent_key, None if old is None else old.permanent, target.desired.permanent),
                (daily_key, None if old is None else old.daily, target.desired.daily),
            ):
                if before != after:
                    changes.append((key, before, after))
        if target.ordinal is None:
            continue
        for name, suffix, wanted in (
            ("sms_consent", "SmsConsent", target.sms_consent),
            ("cell_consent", "CellConsent", target.cell_consent),
        ):
            if wanted is not None and expected.get(name) != wanted:
                changes.append((f"phone{target.ordinal}{suffix}", expected.get(name), wanted))
    return changes or [(None, None, None)]


def audited_changes(row: OutboxRow) -> list[Change]:
    """(field, old, new) per audit row of this outbox row."""
    if row.operation == "delete":
        return [(None, None, None)]
    if row.operation == "dnd":
        return _dnd_changes(row)
    expected = row.expected or {}
    fields = row_fields(row)
    if row.operation == "create":
        return [(k, None, v) for k, v in fields.items() if v is not None] or [(None, None, None)]
    return [(k, expected.get(k), v) for k, v in fields.items()]


def sent_values(row: OutboxRow, mirror: MirrorRow | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(typed values for the mirror, canonical values for `base.agreed`) after success."""
    if row.operation == "delete":
        return {}, {}
    if row.operation != "dnd":
        canonical = row_fields(row)
        typed = {k: typed_value(k, v) for k, v in canonical.items()}
        # The base is bookkeeping, not a copy of the contact: PII stays out (profiles cannot
        # make a PII field jointly owned, so no three-way decision reads it from the base).
        return typed, {k: v for k, v in canonical.items() if k not in PII_KEYS}
    agreed: dict[str, Any] = {}
    typed_extra: dict[str, Any] = {}
    for target in dnd_targets(row.payload):
        permanent_key, daily_key = _flag_keys(target.ordinal)
        if target.desired is not None:
            agreed[permanent_key] = target.desired.permanent
            agreed[daily_key] = target.desired.daily
        if target.ordinal is None:
            continue
        if target.sms_consent is not None:
            agreed[f"phone{target.ordinal}SmsConsent"] = target.sms_consent
        if target.cell_consent is not None:
            agreed[f"phone{target.ordinal}CellConsent"] = target.cell_consent
        # an empty ordinal takes the number the DND entry named (LiveVox stores it)
        if target.phone and (mirror is None or not mirror.values.get(f"phone{target.ordinal}")):
            typed_extra[f"phone{target.ordinal}"] = target.phone
    return {**agreed, **typed_extra}, agreed

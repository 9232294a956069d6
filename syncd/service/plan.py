"""Plan one contact: from the fields the SQL diff found different to outbox operations,
write-backs, conflicts and invalid values. Pure code; the cycle does the I/O.

Input is a `CandidateRow` — the contact's differing fields with their three values (SoR,
mirror, last agreed) and a few mirror facts — and the output a `ContactPlan`:

- SoR row, no live LiveVox contact → `create` with every SoR- or jointly-owned field;
- both present → per field `domain.merge.resolve` (or the admin's resolution of a conflict):
  pushes become one `update` (profile fields) and one `dnd` (DND bits and phone consent, as
  desired states the pusher turns into actions), LiveVox-won values a write-back into the SoR,
  `manual` fields a conflict;
- agreed once, gone from the SoR → `deactivate` / `delete` / nothing (`on_removed`).

A SoR value is parsed and checked before it may be pushed (`values.parse_value`, custom-field
rules); a bad one is left out of the plan and reported as invalid, the rest of the contact goes
on — a malformed balance must not hold back a Do-Not-Dial. Values agreed on both sides never
reach this module: the diff writes them into `syncd.base` in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.domain.guard import PlanCounts
from syncd.domain.merge import NO_BASE, Action, FieldState, Ownership, resolve
from syncd.domain.values import (
    InvalidValueError,
    JsonScalar,
    check_custom_value,
    parse_value,
)
from syncd.service.sor import MappedField

ACCOUNT_DND = ("accountBlock", "accountBlockDaily")
PHONE_ORDINALS = range(1, 11)
ON_REMOVED = ("deactivate", "delete", "ignore")


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """One contact the diff selected, with the fields where SoR and mirror differ."""

    account: str
    sor_present: bool
    mirror_live: bool
    base_present: bool
    base_removed: bool = False
    """The SoR row was removed after agreement and that was handled; it may come back."""
    diff: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    """Field key → (SoR value, mirror value, agreed value); canonical JSON (SoR side may be
    unparsed text when the SoR keeps the field in a text column)."""
    lv_account_id: int | None = None
    mirror_active: bool | None = None
    mirror_dnd: Mapping[str, Any] = field(default_factory=dict)
    """The mirror's account DND bits and, per ordinal, phone number, DND bits and consents."""


@dataclass(frozen=True, slots=True)
class ConflictState:
    """An open or admin-resolved conflict of one field."""

    id: int
    key: str
    status: str
    """`open` or `resolved`."""
    resolution: str | None = None
    """`sor`, `livevox` or `value` once an admin resolved it."""
    resolved_value: JsonScalar = None


@dataclass(frozen=True, slots=True)
class CustomFieldDef:
    data_type: str | None = None
    list_values: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field moving, for audit rows (`old` → `new`)."""

    operation: str
    key: str | None
    old: Any
    new: Any
    direction: str = "push"


@dataclass(frozen=True, slots=True)
class OutboxOp:
    operation: str
    payload: dict[str, Any]
    expected: dict[str, Any] | None
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    key: str
    base: JsonScalar
    mirror: JsonScalar
    sor: JsonScalar
    reason: str = ""


@dataclass(frozen=True, slots=True)
class InvalidField:
    key: str
    reason: str
    operation: str
    value: Any = None


@dataclass
class ContactPlan:
    account: str
    ops: list[OutboxOp] = field(default_factory=list)
    write_back: dict[str, JsonScalar] = field(default_factory=dict)
    """Field key → value to store in the SoR."""
    write_back_old: dict[str, JsonScalar] = field(default_factory=dict)
    base_patch: dict[str, JsonScalar] = field(default_factory=dict)
    """Agreed values to record now (write-backs, values equal once parsed)."""
    conflicts: list[ConflictRecord] = field(default_factory=list)
    invalid: list[InvalidField] = field(default_factory=list)
    applied_conflicts: list[int] = field(default_factory=list)
    """Admin-resolved conflicts this plan carries out."""

    @property
    def empty(self) -> bool:
        return not (
            self.ops or self.write_back or self.conflicts or self.invalid or self.applied_conflicts
        )

    def changes(self) -> list[FieldChange]:
        out = [c for op in self.ops for c in op.changes]
        out += [
            FieldChange("write_back", k, self.write_back_old.get(k), v, "write_back")
            for k, v in self.write_back.items()
        ]
        return out


def count_plan(plans: Sequence[ContactPlan]) -> PlanCounts:
    """Contacts per operation, for the guard."""
    ops = [op.operation for p in plans for op in p.ops]
    return PlanCounts(
        creates=ops.count("create"),
        updates=ops.count("update"),
        deactivations=ops.count("deactivate"),
        deletes=ops.count("delete"),
        dnd_changes=ops.count("dnd"),
    )


class Planner:
    """Turns candidate rows into contact plans under one mapping and profile."""

    def __init__(
        self,
        fields: Sequence[MappedField],
        *,
        on_removed: str = "deactivate",
        custom_fields: Mapping[str, CustomFieldDef] | None = None,
    ) -> None:
        if on_removed not in ON_REMOVED:
            raise ValueError(f"on_removed must be one of {ON_REMOVED}, not {on_removed!r}")
        self.fields = {f.key: f for f in fields}
        self.on_removed = on_removed
        self.custom_fields = dict(custom_fields or {})

    def plan(
        self, row: CandidateRow, conflicts: Mapping[str, ConflictState] | None = None
    ) -> ContactPlan:
        plan = ContactPlan(row.account)
        if not row.sor_present:
            self._plan_removal(row, plan)
        elif not row.mirror_live:
            self._plan_create(row, plan)
        else:
            self._plan_existing(row, plan, conflicts or {})
        return plan

    # --- removal -----------------------------------------------------------------------------

    def _plan_removal(self, row: CandidateRow, plan: ContactPlan) -> None:
        if not row.mirror_live or not row.base_present or row.base_removed:
            return
        if self.on_removed == "deactivate" and row.mirror_active is not False:
            plan.ops.append(
                OutboxOp(
                    "deactivate",
                    {"fields": {"active": False}, "lv_account_id": row.lv_account_id},
                    {"active": row.mirror_active},
                    (FieldChange("deactivate", "active", row.mirror_active, False),),
                )
            )
        elif self.on_removed == "delete":
            plan.ops.append(OutboxOp("delete", {}, {}, (FieldChange("delete", None, None, None),)))

    # --- create ------------------------------------------------------------------------------

    def _plan_create(self, row: CandidateRow, plan: ContactPlan) -> None:
        values: dict[str, JsonScalar] = {}
        for key, triple in row.diff.items():
            info = self.fields.get(key)
            if info is None or not info.to_livevox or info.rule.ownership is Ownership.LIVEVOX:
                continue
            try:
                value = self._checked(info, triple[0])
            except InvalidValueError as exc:
                plan.invalid.append(InvalidField(key, exc.reason, "create", triple[0]))
                continue
            if value is not None:
                values[key] = value
        for key in list(values):
            info = self.fields[key]
            if info.group == "phone" and not info.is_phone_number:
                if values.get(f"phone{info.ordinal}") is not None:
                    continue
                if values[key] != _unset(info):
                    plan.invalid.append(
                        InvalidField(key, f"no phone number at ordinal {info.ordinal}", "create")
                    )
                del values[key]  # LiveVox refuses flags of a phone it does not have
        if values:
            changes = tuple(FieldChange("create", k, None, v) for k, v in values.items())
            plan.ops.append(OutboxOp("create", {"fields": values}, None, changes))

    # --- both sides present ------------------------------------------------------------------

    def _plan_existing(
        self, row: CandidateRow, plan: ContactPlan, conflicts: Mapping[str, ConflictState]
    ) -> None:
        pushes: dict[str, JsonScalar] = {}
        mirror: dict[str, JsonScalar] = {}
        for key, triple in row.diff.items():
            info = self.fields.get(key)
            if info is None:
                continue
            raw, mirror_value, base_value = triple[0], triple[1], triple[2]
            mirror[key] = mirror_value
            try:
                sor_value, problem = self._checked(info, raw), None
            except InvalidValueError as exc:
                sor_value, problem = raw, exc
            conflict = conflicts.get(key)
            if conflict is not None and conflict.status == "resolved":
                self._apply_resolution(info, conflict, sor_value, mirror_value, plan, pushes)
                if problem is not None and key in pushes and conflict.resolution == "sor":
                    del pushes[key]
                    plan.invalid.append(InvalidField(key, problem.reason, "update", raw))
                continue
            base = base_value if row.base_present else NO_BASE
            if conflict is not None:  # still open: keep it current, change nothing
                plan.conflicts.append(
                    ConflictRecord(key, _or_none(base), mirror_value, sor_value, "open")
                )
                continue
            decision = resolve(FieldState(sor_value, mirror_value, base), info.rule)
            if decision.action is Action.PUSH:
                if not info.to_livevox:
                    continue
                if problem is not None:
                    plan.invalid.append(InvalidField(key, problem.reason, "update", raw))
                    continue
                if decision.value is None and info.kind != "string":
                    reason = f"LiveVox's API cannot clear a {info.kind} value"
                    plan.invalid.append(InvalidField(key, reason, "update", raw))
                    continue
                pushes[key] = decision.value
            elif decision.action is Action.WRITE_BACK:
                if info.updatable:
                    plan.write_back[key] = decision.value
                    plan.write_back_old[key] = sor_value
                    plan.base_patch[key] = decision.value
            elif decision.action is Action.CONFLICT:
                plan.conflicts.append(
                    ConflictRecord(key, _or_none(base), mirror_value, sor_value, decision.reason)
                )
            elif decision.new_base is not NO_BASE:
                plan.base_patch[key] = decision.new_base
        self._reactivate(row, pushes, mirror)
        self._split_pushes(row, pushes, mirror, plan)

    def _apply_resolution(
        self,
        info: MappedField,
        conflict: ConflictState,
        sor_value: JsonScalar,
        mirror_value: JsonScalar,
        plan: ContactPlan,
        pushes: dict[str, JsonScalar],
    ) -> None:
        plan.applied_conflicts.append(conflict.id)
        if conflict.resolution == "sor":
            target = sor_value
        elif conflict.resolution == "livevox":
            target = mirror_value
        else:
            target = conflict.resolved_value
        if target != mirror_value and info.to_livevox:
            pushes[info.key] = target
        if target != sor_value and info.updatable:
            plan.write_back[info.key] = target
            plan.write_back_old[info.key] = sor_value
        if target == mirror_value or info.key not in pushes:
            plan.base_patch[info.key] = target

    def _reactivate(
        self, row: CandidateRow, pushes: dict[str, JsonScalar], mirror: dict[str, JsonScalar]
    ) -> None:
        # A contact deactivated because its SoR row vanished comes back with the row, unless
        # the SoR maps `active` itself (then that column decides).
        if (
            row.base_removed
            and self.on_removed == "deactivate"
            and "active" not in self.fields
            and row.mirror_active is False
        ):
            pushes["active"] = True
            mirror["active"] = False

    def _split_pushes(
        self,
        row: CandidateRow,
        pushes: Mapping[str, JsonScalar],
        mirror: Mapping[str, JsonScalar],
        plan: ContactPlan,
    ) -> None:
        update = {k: v for k, v in pushes.items() if not self._via_dnd(k)}
        if update:
            changes = tuple(FieldChange("update", k, mirror.get(k), v) for k, v in update.items())
            plan.ops.append(
                OutboxOp(
                    "update",
                    {"fields": update, "lv_account_id": row.lv_account_id},
                    {k: mirror.get(k) for k in update},
                    changes,
                )
            )
        dnd = {k: v for k, v in pushes.items() if self._via_dnd(k)}
        if dnd:
            op = self._dnd_op(row, dnd, pushes, plan)
            if op is not None:
                plan.ops.append(op)

    def _via_dnd(self, key: str) -> bool:
        info = self.fields.get(key)
        return info is not None and info.via_dnd

    def _dnd_op(
        self,
        row: CandidateRow,
        dnd: Mapping[str, JsonScalar],
        pushes: Mapping[str, JsonScalar],
        plan: ContactPlan,
    ) -> OutboxOp | None:
        now = row.mirror_dnd
        payload: dict[str, Any] = {"phones": {}}
        expected: dict[str, Any] = {"phones": {}}
        changes: list[FieldChange] = []
        if any(k in dnd for k in ACCOUNT_DND):
            current = [bool(now.get("accountBlock")), bool(now.get("accountBlockDaily"))]
            desired = [
                bool(dnd.get("accountBlock", current[0])),
                bool(dnd.get("accountBlockDaily", current[1])),
            ]
            payload["account"] = {"to": desired}
            expected["account"] = current
            changes += [
                FieldChange("dnd", k, c, d)
                for k, c, d in zip(ACCOUNT_DND, current, desired, strict=True)
                if c != d
            ]
        for ordinal in PHONE_ORDINALS:
            prefix = f"phone{ordinal}"
            keys = [f"{prefix}{s}" for s in ("Block", "BlockDaily", "SmsConsent", "CellConsent")]
            if not any(k in dnd for k in keys):
                continue
            number = pushes.get(prefix, now.get(prefix))
            if number is None:
                for k in keys:
                    if k in dnd:
                        plan.invalid.append(
                            InvalidField(k, f"no phone number at ordinal {ordinal}", "dnd")
                        )
                continue
            bits = [bool(now.get(keys[0])), bool(now.get(keys[1]))]
            entry: dict[str, Any] = {"phone": number}
            if keys[0] in dnd or keys[1] in dnd:
                entry["to"] = [bool(dnd.get(keys[0], bits[0])), bool(dnd.get(keys[1], bits[1]))]
            if keys[2] in dnd:
                entry["sms_consent"] = bool(dnd[keys[2]])
            if keys[3] in dnd:
                entry["cell_consent"] = bool(dnd[keys[3]])
            payload["phones"][str(ordinal)] = entry
            # The pusher sends DND after updates: a number this plan changes is already the
            # new one in the mirror by then, so that is the number the entry expects.
            expected["phones"][str(ordinal)] = {
                "phone": number,
                "bits": bits,
                "sms_consent": bool(now.get(keys[2])),
                "cell_consent": bool(now.get(keys[3])),
            }
            changes += [
                FieldChange("dnd", k, bool(now.get(k)), bool(dnd[k])) for k in keys if k in dnd
            ]
        if "account" not in payload and not payload["phones"]:
            return None
        return OutboxOp("dnd", payload, expected, tuple(changes))

    # --- values ------------------------------------------------------------------------------

    def _checked(self, info: MappedField, raw: Any) -> JsonScalar:
        value = parse_value(info.key, info.kind, raw, phone=info.is_phone_number)
        if info.group == "custom":
            definition = self.custom_fields.get(info.key, CustomFieldDef())
            check_custom_value(
                info.key,
                value,
                data_type=definition.data_type,
                list_values=definition.list_values,
            )
        if info.restriction and value is None:
            return False  # an unset flag reads as not set, as LiveVox exports it
        return value


def _or_none(value: Any) -> Any:
    return None if value is NO_BASE else value


def _unset(info: MappedField) -> JsonScalar:
    return False if info.kind == "boolean" else None

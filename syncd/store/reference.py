"""Reference data in the mirror: custom-field definitions and contact groups (plain upserts).

Items may be dicts in the spec's JSON shape (`field`, `label`, `dataType`, `listValues`;
`id`, `name`, `createdBy`, `createdAt` as epoch milliseconds...) or the client's pydantic
models (read through `model_dump`), with camelCase or snake_case keys.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from syncd.store.errors import StoreError
from syncd.store.schema import contact_groups, custom_fields


class ReferenceDataError(StoreError):
    """A custom field or group item lacks a required key or has an unusable value."""


@dataclass(frozen=True, slots=True)
class CustomFieldsResult:
    upserted: int
    removed: int
    labels_changed: bool
    """A label was added, changed or removed: the analyst views need regenerating."""


def _as_mapping(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        data: dict[str, Any] = dump()
        data.update(dump(by_alias=True))
        return data
    return dict(vars(item))


def _get(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if data.get(name) is not None:
            value = data[name]
            return value.value if isinstance(value, enum.Enum) else value
    return None


def _timestamp(value: Any) -> datetime | None:
    """Epoch milliseconds (int or numeric text), ISO text, or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ReferenceDataError(f"not a timestamp: {value!r}")


def upsert_custom_fields(conn: Connection, items: Iterable[Any], run_id: int) -> CustomFieldsResult:
    """Replace the mirrored definitions by the listed ones (unlisted fields are unconfigured)."""
    rows: list[dict[str, Any]] = []
    for item in items:
        data = _as_mapping(item)
        field, label = _get(data, "field"), _get(data, "label")
        if not field or label is None:
            raise ReferenceDataError(f"custom field without field or label: {data!r}")
        list_values = _get(data, "listValues", "list_values")
        rows.append(
            {
                "field": str(field).upper(),
                "label": str(label),
                "data_type": _get(data, "dataType", "data_type"),
                "list_values": list(list_values) if list_values is not None else None,
                "run_id": run_id,
            }
        )
    before = dict(conn.execute(sa.select(custom_fields.c.field, custom_fields.c.label)).all())
    if rows:
        statement = insert(custom_fields).values(rows)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[custom_fields.c.field],
                set_={
                    "label": statement.excluded.label,
                    "data_type": statement.excluded.data_type,
                    "list_values": statement.excluded.list_values,
                    "run_id": statement.excluded.run_id,
                    "updated_at": sa.func.now(),
                },
            )
        )
    listed = [r["field"] for r in rows]
    removed = conn.execute(
        sa.delete(custom_fields).where(custom_fields.c.field.not_in(listed))
    ).rowcount
    after = {r["field"]: r["label"] for r in rows}
    return CustomFieldsResult(
        upserted=len(rows), removed=int(removed or 0), labels_changed=before != after
    )


def upsert_contact_groups(conn: Connection, items: Iterable[Any], run_id: int) -> int:
    """Insert or update the listed groups (LiveVox cannot delete groups, so none are removed)."""
    rows: list[dict[str, Any]] = []
    for item in items:
        data = _as_mapping(item)
        group_id, name = _get(data, "id"), _get(data, "name")
        if group_id is None or name is None:
            raise ReferenceDataError(f"contact group without id or name: {data!r}")
        rows.append(
            {
                "id": int(group_id),
                "name": str(name),
                "created_by": _get(data, "createdBy", "created_by"),
                "modified_by": _get(data, "modifiedBy", "modified_by"),
                "created_at": _timestamp(_get(data, "createdAt", "created_at")),
                "modified_at": _timestamp(_get(data, "modifiedAt", "modified_at")),
                "run_id": run_id,
            }
        )
    if not rows:
        return 0
    statement = insert(contact_groups).values(rows)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[contact_groups.c.id],
            set_={
                **{
                    name: statement.excluded[name]
                    for name in ("name", "created_by", "modified_by", "created_at", "modified_at")
                },
                "run_id": statement.excluded.run_id,
                "updated_at": sa.func.now(),
            },
        )
    )
    return len(rows)

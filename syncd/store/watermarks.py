"""`syncd.watermarks`: named high-water marks (e.g. the largest LiveVox modifyDate loaded)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from syncd.store.schema import watermarks

CONTACTS_WATERMARK = "livevox.contacts.modify_date"


def read_watermark(conn: Connection, name: str, *, for_update: bool = False) -> datetime | None:
    """The watermark's value, None when never set; `for_update` locks the row."""
    query = sa.select(watermarks.c.value).where(watermarks.c.name == name)
    if for_update:
        query = query.with_for_update()
    value = conn.execute(query).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


def advance_watermark(conn: Connection, name: str, value: datetime, run_id: int) -> datetime:
    """Move the watermark to `value` unless it is already later; return the stored value."""
    new = insert(watermarks).values(name=name, value=value, run_id=run_id)
    upsert = new.on_conflict_do_update(
        index_elements=[watermarks.c.name],
        set_={
            "value": sa.func.greatest(watermarks.c.value, new.excluded.value),
            "updated_at": sa.func.now(),
            "run_id": new.excluded.run_id,
        },
    ).returning(watermarks.c.value)
    stored = conn.execute(upsert).scalar_one()
    return stored  # type: ignore[no-any-return]

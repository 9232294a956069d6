"""The contact store: generated contacts plus a small overlay of what changed.

A live contact lives in a *slot*: a generated index (int) or, for contacts created through the
API, its account (str). The overlay holds sparse records (only non-default fields) for changed
generated contacts, the set of deleted generated indices, and created contacts in creation
order; everything else is regenerated on demand from (seed, index). Memory therefore grows
with the number of changes, not with the number of contacts.

Records handed out are fresh full dicts (every field key of the data file), so callers cannot
alter the store by accident; records kept are never mutated in place, so a snapshot (for
exports and searches) is a cheap shallow copy taken under the lock.

Daily DND clears lazily: every public method first checks whether the clock crossed a day
boundary since the last check and, if so, clears the daily flags (and "today" counters) of
the contacts holding any, stamping modifyDate with the boundary instant and modifyUser SYSTEM.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import coerce
from .changes import apply_patch
from .clock import Clock
from .errors import ContactExists, ContactNotFound, InvalidValue
from .fields import FieldCatalog
from .generator import ContactGenerator, Note
from .journal import Journal
from .payloads import ContactPatch

CREATED_ID_BASE = 1_500_000_000_000
"""lvAccountIds of contacts created through the API start here (far above generated ids)."""
SYSTEM_USER = "SYSTEM"
AGENT_USER = "agent"

Slot = int | str
Record = dict[str, Any]

_PHONES = range(1, 11)
_DAY_KEYS = (
    "accountBlockDaily",
    "callAttemptsToday",
    *(f"phone{n}BlockDaily" for n in _PHONES),
    *(f"phone{n}AttemptsToday" for n in _PHONES),
)
# agent edits may change anything but the contact's identity
_IDENTITY_KEYS = frozenset({"account", "lvAccountId"})


@dataclass(frozen=True)
class Snapshot:
    """The contacts as they were at one instant, for a long read (export, search)."""

    generator: ContactGenerator
    defaults: Mapping[str, Any]
    changed: Mapping[int, Record]
    deleted: frozenset[int]
    created: tuple[Record, ...]

    def changed_in_order(self) -> list[tuple[int, Record]]:
        return sorted(self.changed.items())

    def records(self) -> Iterator[Record]:
        """Every live contact as a full record, in list order."""
        defaults = self.defaults
        for index in range(self.generator.count):
            if index in self.deleted:
                continue
            sparse = self.changed.get(index)
            if sparse is None:
                sparse = self.generator.sparse(index)
            yield {**defaults, **sparse}
        for sparse in self.created:
            yield {**defaults, **sparse}


class ContactStore:
    def __init__(
        self,
        generator: ContactGenerator,
        catalog: FieldCatalog,
        clock: Clock,
        *,
        day_boundary_hour: int = 0,
    ) -> None:
        self.generator = generator
        self.catalog = catalog
        self.clock = clock
        self._defaults = catalog.defaults
        self._boundary_hour = day_boundary_hour
        self._lock = threading.RLock()
        self._changed: dict[int, Record] = {}
        self._deleted: set[int] = set()
        self._deleted_sorted: list[int] = []
        self._created: dict[str, Record] = {}
        self._created_ids: dict[int, str] = {}
        self._next_id = CREATED_ID_BASE
        self._day_state: set[Slot] = set()
        self._checked_boundary = self._latest_boundary(clock.now())
        self.journal = Journal()
        """Every applied change (see `journal.py`), read by `GET /_emulator/journal`."""

    # -- day boundary ---------------------------------------------------------------------

    def _latest_boundary(self, now: datetime) -> datetime:
        b = now.replace(hour=self._boundary_hour, minute=0, second=0, microsecond=0)
        return b if b <= now else b - timedelta(days=1)

    def _next_boundary(self, t: datetime) -> datetime:
        b = t.replace(hour=self._boundary_hour, minute=0, second=0, microsecond=0)
        return b if b > t else b + timedelta(days=1)

    def _roll_day(self) -> None:
        now = self.clock.now()
        boundary = self._latest_boundary(now)
        if boundary <= self._checked_boundary:
            return
        for slot in list(self._day_state):
            record = self._full(slot)
            clear_at = self._next_boundary(record["modifyDate"])
            if clear_at > now:
                continue
            for key in _DAY_KEYS:
                record[key] = self._defaults[key]
            record["modifyDate"] = clear_at
            record["modifyUser"] = SYSTEM_USER
            self._put(slot, record)
        self._checked_boundary = boundary

    def _has_day_state(self, record: Record) -> bool:
        return any(record[k] for k in _DAY_KEYS)

    # -- slots ----------------------------------------------------------------------------

    def _locate(self, account: str) -> Slot | None:
        if account in self._created:
            return account
        index = self.generator.index_of_account(account)
        if index is not None and index not in self._deleted:
            return index
        return None

    def _locate_id(self, lv_id: int) -> Slot | None:
        index = self.generator.index_of_id(lv_id)
        if index is not None and index not in self._deleted:
            return index
        return self._created_ids.get(lv_id)

    def _sparse(self, slot: Slot) -> Record:
        if isinstance(slot, str):
            return self._created[slot]
        sparse = self._changed.get(slot)
        return sparse if sparse is not None else self.generator.sparse(slot)

    def _full(self, slot: Slot) -> Record:
        return {**self._defaults, **self._sparse(slot)}

    def _put(self, slot: Slot, record: Record) -> None:
        existed = not isinstance(slot, str) or slot in self._created
        self.journal.record_put(self.clock.now(), self._full(slot) if existed else None, record)
        defaults = self._defaults
        sparse = {k: v for k, v in record.items() if v != defaults[k]}
        if isinstance(slot, str):
            self._created[slot] = sparse
        else:
            self._changed[slot] = sparse
        if self._has_day_state(record):
            self._day_state.add(slot)
        else:
            self._day_state.discard(slot)

    def _now(self) -> datetime:
        return coerce.truncate_ms(self.clock.now())

    def _stamp(self, record: Record, user: str) -> None:
        record["modifyDate"] = self._now()
        record["modifyUser"] = user

    # -- reads ----------------------------------------------------------------------------

    def get(self, account: str) -> Record | None:
        with self._lock:
            self._roll_day()
            slot = self._locate(account)
            return None if slot is None else self._full(slot)

    def get_by_id(self, lv_id: int) -> Record | None:
        with self._lock:
            self._roll_day()
            slot = self._locate_id(lv_id)
            return None if slot is None else self._full(slot)

    def resolve(self, *, account: str | None = None, lv_id: int | None = None) -> str | None:
        """The account of the live contact named by account and/or id; None when there is
        none, or when both are given and name different contacts."""
        with self._lock:
            by_account = self._locate(account) if account is not None else None
            by_id = self._locate_id(lv_id) if lv_id is not None else None
            if account is not None and lv_id is not None:
                return account if by_account is not None and by_account == by_id else None
            if by_account is not None:
                return account
            if by_id is not None:
                return by_id if isinstance(by_id, str) else self.generator.account(by_id)
            return None

    def count(self) -> int:
        with self._lock:
            return self.generator.count - len(self._deleted) + len(self._created)

    def page(self, offset: int, count: int) -> tuple[list[Record], bool]:
        """Contacts [offset, offset+count) in list order, and whether more follow."""
        with self._lock:
            self._roll_day()
            total = self.generator.count - len(self._deleted) + len(self._created)
            out: list[Record] = []
            live_generated = self.generator.count - len(self._deleted)
            if offset < live_generated:
                index = self._nth_live_index(offset)
                while len(out) < count and index < self.generator.count:
                    if index not in self._deleted:
                        out.append(self._full(index))
                    index += 1
            if len(out) < count:
                start = max(0, offset - live_generated)
                for account in list(self._created)[start : start + count - len(out)]:
                    out.append(self._full(account))
            return out, offset + len(out) < total

    def _nth_live_index(self, n: int) -> int:
        """The generated index of the n-th (0-based) live generated contact."""
        deleted = self._deleted_sorted
        lo, hi = n, n + len(deleted)
        while lo < hi:  # smallest i with (live indices <= i) >= n + 1
            mid = (lo + hi) // 2
            if mid + 1 - bisect.bisect_right(deleted, mid) >= n + 1:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def snapshot(self) -> Snapshot:
        with self._lock:
            self._roll_day()
            return Snapshot(
                generator=self.generator,
                defaults=self._defaults,
                changed=dict(self._changed),
                deleted=frozenset(self._deleted),
                created=tuple(self._created.values()),
            )

    def notes(self, account: str) -> list[Note] | None:
        """Notes of a live contact (None when there is no such contact)."""
        with self._lock:
            slot = self._locate(account)
        if slot is None:
            return None
        return [] if isinstance(slot, str) else self.generator.notes(slot)

    def associated_accounts(self, contact: str) -> list[dict[str, Any]] | None:
        """Accounts of the contact named by LiveVox id (or, leniently, by account)."""
        with self._lock:
            slot: Slot | None = None
            if contact.isascii() and contact.isdigit():
                slot = self._locate_id(int(contact))
            if slot is None:
                slot = self._locate(contact)
        if slot is None:
            return None
        return [] if isinstance(slot, str) else self.generator.accounts(slot)

    # -- writes ---------------------------------------------------------------------------

    def create(self, account: str, patch: ContactPatch, user: str) -> Record:
        with self._lock:
            self._roll_day()
            if self._locate(account) is not None:
                raise ContactExists(account)
            now = self._now()
            record = dict(self._defaults)
            record.update(
                account=account,
                lvAccountId=self._next_id,
                clientId=self.generator.client_id,
                createDate=now,
                createUser=user,
                modifyDate=now,
                modifyUser=user,
            )
            record = apply_patch(record, patch, defaults=self._defaults)
            self._created_ids[self._next_id] = account
            self._next_id += 1
            self._put(account, record)
            return record

    def update(
        self, account: str, patch: ContactPatch, user: str, *, match_phones: bool = False
    ) -> bool:
        """Apply a patch; True when anything changed (only then is modifyDate stamped)."""
        with self._lock:
            self._roll_day()
            slot = self._locate(account)
            if slot is None:
                raise ContactNotFound(account)
            old = self._full(slot)
            new = apply_patch(old, patch, defaults=self._defaults, match_phones=match_phones)
            if new == old:
                return False
            self._stamp(new, user)
            self._put(slot, new)
            return True

    def delete(self, account: str) -> None:
        with self._lock:
            self._roll_day()
            slot = self._locate(account)
            if slot is None:
                raise ContactNotFound(account)
            self.journal.record_delete(self.clock.now(), account)
            if isinstance(slot, str):
                record = self._created.pop(slot)
                self._created_ids.pop(record["lvAccountId"], None)
            else:
                self._changed.pop(slot, None)
                self._deleted.add(slot)
                bisect.insort(self._deleted_sorted, slot)
            self._day_state.discard(slot)

    def agent_edit(self, account: str, changes: Mapping[str, Any]) -> Record:
        """Set flat fields directly, as a call-center agent would in the LiveVox UI."""
        with self._lock:
            self._roll_day()
            slot = self._locate(account)
            if slot is None:
                raise ContactNotFound(account)
            record = self._full(slot)
            for key, value in changes.items():
                field = self.catalog.by_key.get(key)
                if field is None:
                    raise InvalidValue(key, "unknown field")
                if key in _IDENTITY_KEYS:
                    raise InvalidValue(key, "identifies the contact and cannot be edited")
                record[key] = coerce.flat_value(field, value)
            self._stamp(record, AGENT_USER)
            self._put(slot, record)
            return record

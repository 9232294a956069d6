"""Reference data the API edits besides contacts: custom field definitions and contact groups."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .payloads import CustomFieldUpdate
from .seed_data import CustomFieldSeed, GroupSeed


@dataclass(frozen=True)
class CustomFieldDef:
    field: str
    label: str
    data_type: str
    list_values: tuple[str, ...] = ()


def _column_number(field: str) -> int:
    return int(field[3:])


class CustomFieldRegistry:
    """The configured custom fields (COLn -> label, dataType, listValues)."""

    def __init__(self, seeds: Iterable[CustomFieldSeed]) -> None:
        self._lock = threading.Lock()
        self._defs = {
            s.field: CustomFieldDef(s.field, s.label, s.data_type, s.list_values) for s in seeds
        }

    def list(self) -> list[CustomFieldDef]:
        with self._lock:
            return sorted(self._defs.values(), key=lambda d: _column_number(d.field))

    def get(self, field: str) -> CustomFieldDef | None:
        with self._lock:
            return self._defs.get(field)

    def labels(self) -> dict[str, str]:
        with self._lock:
            return {f: d.label for f, d in self._defs.items()}

    def update(self, updates: Iterable[CustomFieldUpdate]) -> None:
        """Apply all updates at once. listValues replace the whole list when sent; a field
        that is not LIST keeps no list values."""
        with self._lock:
            for u in updates:
                old = self._defs.get(u.field)
                if u.list_values is not None:
                    values = u.list_values
                elif old is not None and old.data_type == "LIST":
                    values = old.list_values
                else:
                    values = ()
                if u.data_type != "LIST":
                    values = ()
                self._defs[u.field] = CustomFieldDef(u.field, u.label, u.data_type, values)


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    created_by: str
    modified_by: str
    created_at: datetime
    modified_at: datetime


class GroupRegistry:
    def __init__(self, seeds: Iterable[GroupSeed], history_end: datetime) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, Group] = {}
        for s in seeds:
            at = history_end - timedelta(days=s.age_days)
            self._groups[s.id] = Group(s.id, s.name, s.created_by, s.created_by, at, at)

    def create(self, name: str, user: str, now: datetime) -> Group:
        with self._lock:
            new_id = max(self._groups, default=2199) + 1
            group = Group(new_id, name, user, user, now, now)
            self._groups[new_id] = group
            return group

    def page(self, offset: int, count: int) -> tuple[list[Group], bool]:
        with self._lock:
            ordered = sorted(self._groups.values(), key=lambda g: g.id)
        return ordered[offset : offset + count], offset + count < len(ordered)

    def get(self, group_id: int) -> Group | None:
        with self._lock:
            return self._groups.get(group_id)

    def update(self, group_id: int, name: str, user: str, now: datetime) -> Group | None:
        with self._lock:
            old = self._groups.get(group_id)
            if old is None:
                return None
            new = replace(old, name=name, modified_by=user, modified_at=now)
            self._groups[group_id] = new
            return new

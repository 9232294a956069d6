"""The emulator's own reader of `syncd/data/livevox_fields.csv` (the one file shared with syncd).

It reads the file by path rather than importing anything from syncd, so the emulator stays an
independent implementation of the spec.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "livevox_fields.csv"

FIELD_TYPES = frozenset({"string", "integer", "decimal", "boolean", "date", "datetime"})


@dataclass(frozen=True, slots=True)
class FieldDef:
    key: str
    label: str
    column: str
    type: str
    csv_format: str
    group: str
    ordinal: int | None
    sensitivity: str


@dataclass(frozen=True)
class FieldCatalog:
    """The exportable fields in export (`allFields`) order."""

    fields: tuple[FieldDef, ...]

    @functools.cached_property
    def by_key(self) -> dict[str, FieldDef]:
        return {f.key: f for f in self.fields}

    @functools.cached_property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    @functools.cached_property
    def custom_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields if f.group == "custom")

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """The value of each field on a contact that never set it."""
        return {f.key: default_value(f) for f in self.fields}


def default_value(field: FieldDef) -> Any:
    # Flags read as false and attempt counters as zero, as the spec's JSON examples show them;
    # everything else is absent.
    if field.type == "boolean":
        return False
    if field.type == "integer" and "Attempts" in field.key:
        return 0
    return None


@functools.cache
def load_fields(path: Path = DATA_FILE) -> FieldCatalog:
    """Parse the data file once; the result is immutable."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = []
    for row in rows:
        if row["type"] not in FIELD_TYPES:
            raise ValueError(f"{path}: field {row['key']!r} has unknown type {row['type']!r}")
        fields.append(
            FieldDef(
                key=row["key"],
                label=row["label"],
                column=row["column"],
                type=row["type"],
                csv_format=row["csv_format"],
                group=row["group"],
                ordinal=int(row["ordinal"]) if row["ordinal"] else None,
                sensitivity=row["sensitivity"],
            )
        )
    return FieldCatalog(tuple(fields))

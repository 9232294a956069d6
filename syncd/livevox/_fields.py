"""The exportable-field table (``syncd/data/livevox_fields.csv``) and export header mapping.

The bulk export names its CSV columns by Contact Manager *labels* ("Account", "Account Due
Date"); custom columns carry the label configured through the custom-field endpoints. The
table here is the one file the client and the emulator share; it gives, per field key, the
default label and the value type. ``resolve_header`` turns a header row into field keys:

1. a header that *is* a field key ("dueDate", "COL17") maps to itself;
2. otherwise the labels: the default labels from the table (or config overrides) and the
   custom-field labels fetched from LiveVox; a custom label replaces that column's default
   ``COLn`` label;
3. if a label matches several keys (a custom field labelled "City"), the key expected at that
   position (the request's field order, or the table's order for ``allFields``) settles it,
   otherwise the header is ambiguous. Exact matches win over case-insensitive ones.

Unknown or ambiguous headers raise: a silently mis-mapped column would load values into the
wrong mirror column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from syncd.livevox._errors import (
    AmbiguousExportColumnError,
    FieldTableError,
    UnknownExportColumnError,
)

ALL_FIELDS = "allFields"
"""The export keyword that asks for every field, in the table's order."""

FIELD_TYPES = frozenset({"string", "integer", "decimal", "boolean", "date", "datetime"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One exportable field: a row of the field data file."""

    key: str
    label: str
    column: str
    type: str
    csv_format: str
    group: str
    ordinal: int | None
    sensitivity: str

    @property
    def is_pii(self) -> bool:
        return self.sensitivity == "pii"


@dataclass(frozen=True)
class FieldTable:
    """All exportable fields in export order, indexed by key."""

    fields: tuple[FieldSpec, ...]

    def __post_init__(self) -> None:
        keys = [f.key for f in self.fields]
        if len(set(keys)) != len(keys):
            raise FieldTableError("duplicate field keys in the field table")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def by_key(self) -> dict[str, FieldSpec]:
        return {f.key: f for f in self.fields}

    def get(self, key: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.key == key:
                return spec
        return None

    def with_labels(self, overrides: Mapping[str, str]) -> FieldTable:
        """A copy with some default labels replaced (key -> label); unknown keys are errors."""
        known = set(self.keys)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise FieldTableError(f"label overrides for unknown fields: {', '.join(unknown)}")
        return FieldTable(
            tuple(
                FieldSpec(
                    key=f.key,
                    label=overrides.get(f.key, f.label),
                    column=f.column,
                    type=f.type,
                    csv_format=f.csv_format,
                    group=f.group,
                    ordinal=f.ordinal,
                    sensitivity=f.sensitivity,
                )
                for f in self.fields
            )
        )


def parse_field_table(text: str) -> FieldTable:
    """Parse the field data file's CSV text."""
    reader = csv.DictReader(io.StringIO(text))
    expected = {"key", "label", "column", "type", "csv_format", "group", "ordinal", "sensitivity"}
    if reader.fieldnames is None or not expected <= set(reader.fieldnames):
        raise FieldTableError(f"field table header must contain {sorted(expected)}")
    specs: list[FieldSpec] = []
    for line, row in enumerate(reader, start=2):
        if row["type"] not in FIELD_TYPES:
            raise FieldTableError(f"field table line {line}: unknown type {row['type']!r}")
        ordinal = row["ordinal"].strip()
        specs.append(
            FieldSpec(
                key=row["key"].strip(),
                label=row["label"].strip(),
                column=row["column"].strip(),
                type=row["type"].strip(),
                csv_format=row["csv_format"].strip(),
                group=row["group"].strip(),
                ordinal=int(ordinal) if ordinal else None,
                sensitivity=row["sensitivity"].strip(),
            )
        )
    return FieldTable(tuple(specs))


def load_field_table() -> FieldTable:
    """Read the packaged field data file (``syncd/data/livevox_fields.csv``)."""
    resource = resources.files("syncd").joinpath("data").joinpath("livevox_fields.csv")
    return parse_field_table(resource.read_text(encoding="utf-8"))


def expected_columns(table: FieldTable, requested: Sequence[str]) -> tuple[str, ...]:
    """Field keys in the order the export should list them for the requested fields."""
    if ALL_FIELDS in requested:
        return table.keys
    return tuple(requested)


def resolve_header(
    headers: Sequence[str],
    table: FieldTable,
    custom_labels: Mapping[str, str],
    expected: Sequence[str] = (),
) -> list[str]:
    """Map export header labels (or keys) to field keys; see the module docstring."""
    keys = set(table.keys)
    labels: dict[str, list[str]] = {}
    folded: dict[str, list[str]] = {}

    def add(label: str, key: str) -> None:
        if key not in labels.setdefault(label, []):
            labels[label].append(key)
        if key not in folded.setdefault(label.casefold(), []):
            folded[label.casefold()].append(key)

    for spec in table.fields:
        # a configured custom label replaces the COLn default for that column
        add(custom_labels.get(spec.key, spec.label), spec.key)
    for key, label in custom_labels.items():
        if key in keys:
            add(label, key)

    columns: list[str] = []
    for position, raw in enumerate(headers):
        header = raw.strip()
        want = expected[position] if position < len(expected) else None
        if header in keys:
            columns.append(header)
            continue
        candidates = labels.get(header) or folded.get(header.casefold()) or []
        columns.append(_pick(header, position, candidates, want))
    return columns


def _pick(header: str, position: int, candidates: Iterable[str], want: str | None) -> str:
    found = tuple(candidates)
    if len(found) == 1:
        return found[0]
    if not found:
        raise UnknownExportColumnError(header, position)
    if want is not None and want in found:
        return want
    raise AmbiguousExportColumnError(header, position, found)

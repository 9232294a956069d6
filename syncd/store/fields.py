"""The mirror's view of the field data file `syncd/data/livevox_fields.csv`.

`FieldColumn` is one row of the data file. The tuple the schema is built from lives in the
generated module `syncd.store.field_columns` (no file I/O at import time); `read_field_file`
reads the data file itself, for the code generator and for the test that keeps the two equal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from typing import Literal

FieldType = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]
FIELD_TYPES: tuple[FieldType, ...] = ("string", "integer", "decimal", "boolean", "date", "datetime")

# Phone fields are `phone{n}{suffix}`; each suffix becomes a column of livevox.contact_phones.
PHONE_SUFFIX_COLUMNS: dict[str, str] = {
    "": "phone",
    "Block": "dnd",
    "BlockDaily": "dnd_daily",
    "SmsConsent": "sms_consent",
    "CellConsent": "cell_consent",
    "AttemptsTotal": "attempts_total",
    "AttemptsToday": "attempts_today",
}

# Fields a system of record can write through the API: the union of the create, bulk create
# and update bodies in the spec (person/guarantor members flattened, phone members per ordinal,
# the DND enums as their two export bits). Read-only fields (ids, dates and users LiveVox
# stamps, attempt counters, load campaigns) are not part of `sor.contacts`.
SOR_WRITABLE_STANDARD: frozenset[str] = frozenset(
    {
        "account",
        "dueDate",
        "accountToSpeak",
        "address1",
        "address2",
        "agentId",
        "amountToSpeak",
        "active",
        "city",
        "countryId",
        "department",
        "dateOfBirth",
        "accountBlock",
        "accountBlockDaily",
        "email",
        "firstName",
        "groupId",
        "guarantorFirstName",
        "guarantorLastName",
        "lastName",
        "originalAccountNumber",
        "balance",
        "zipCode",
        "primaryEmailConsent",
        "salutation",
        "ssn",
        "state",
        "title",
    }
)
SOR_WRITABLE_PHONE_SUFFIXES: frozenset[str] = frozenset(
    {"", "Block", "BlockDaily", "SmsConsent", "CellConsent"}
)


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """One exportable LiveVox field and its mirror column."""

    key: str
    """The spec's field key (`dueDate`, `phone3BlockDaily`, `COL17`)."""
    label: str
    """Default CSV header label ("Account Due Date")."""
    column: str
    """snake_case column in livevox.contacts and sor.contacts."""
    type: FieldType
    csv_format: str
    group: str
    """`standard`, `phone` or `custom`."""
    ordinal: int | None = None
    """1..10 for phone fields."""
    sensitivity: str | None = None
    """`pii` for SSN and date of birth."""

    @property
    def is_pii(self) -> bool:
        return self.sensitivity == "pii"

    @property
    def phone_attribute(self) -> str | None:
        """Column of livevox.contact_phones this phone field feeds (None for other fields)."""
        if self.group != "phone" or self.ordinal is None:
            return None
        suffix = self.key[len(f"phone{self.ordinal}") :]
        return PHONE_SUFFIX_COLUMNS[suffix]

    @property
    def sor_writable(self) -> bool:
        if self.group == "custom":
            return True
        if self.group == "phone" and self.ordinal is not None:
            return self.key[len(f"phone{self.ordinal}") :] in SOR_WRITABLE_PHONE_SUFFIXES
        return self.key in SOR_WRITABLE_STANDARD


class FieldFileError(ValueError):
    """The field data file does not have the expected shape."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


def parse_field_file(text: str) -> tuple[FieldColumn, ...]:
    """Parse the data file's CSV text into FieldColumns, checking types and groups."""
    fields: list[FieldColumn] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        kind = row["type"]
        if kind not in FIELD_TYPES:
            raise FieldFileError(f"unknown type {kind!r} for {row['key']!r}", line=line)
        if row["group"] not in ("standard", "phone", "custom"):
            raise FieldFileError(f"unknown group {row['group']!r}", line=line)
        fields.append(
            FieldColumn(
                key=row["key"],
                label=row["label"],
                column=row["column"],
                type=kind,
                csv_format=row["csv_format"],
                group=row["group"],
                ordinal=int(row["ordinal"]) if row["ordinal"] else None,
                sensitivity=row["sensitivity"] or None,
            )
        )
    if not fields or fields[0].key != "account":
        raise FieldFileError("the first field must be `account`")
    return tuple(fields)


def read_field_file() -> tuple[FieldColumn, ...]:
    """Read `syncd/data/livevox_fields.csv` from the installed package."""
    text = resources.files("syncd").joinpath("data/livevox_fields.csv").read_text("utf-8")
    return parse_field_file(text)

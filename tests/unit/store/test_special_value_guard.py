"""The first load's special-word guard: it finds exactly the special words and NaN/infinities
in typed fields that the staging path's casts refuse, however the chunk is quoted.

The reference parses every row as CSV and looks at each typed field; the guard only does so
for a chunk in which its cheap per-line look found a candidate.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.store.field_columns import FIELDS
from syncd.store.initial_load import _SPECIAL, SpecialValueFound, _SpecialValueGuard

_BY_KEY = {f.key: f for f in FIELDS}
# Text, a date, text, a decimal, a datetime, text: typed fields between and after text ones.
KEYS = ("account", "dueDate", "firstName", "balance", "modifyDate", "city")
COLUMNS = [_BY_KEY[k] for k in KEYS]
_PREFIX = ["123", "7"]  # <hash>,<run_id>

_DATES = ["", "12/02/2024", "2024-12-02", "1/2/2027", "today", " Epoch ", "TOMORROW", "infinity"]
_DATETIMES = [
    "",
    "01/01/2024 17:25:52",
    "2026-11-30T10:00:00Z",  # letters, but no special word
    "now",
    "yesterday 10:00",
    "-infinity",
    "allballs",
]
_DECIMALS = ["", "15766.11", "-3", "1e5", "NaN", "-Infinity", "inf", " nan "]
_TEXT = st.sampled_from(
    ["", "Nan", "Today", "now here", "Fernandez", "a,b", 'say "now"', "l1\nl2", "x\nnow,1,\n"]
) | st.text(alphabet='abnotwy ,"\n0123456789/', max_size=12)


def _reference(chunk: bytes) -> bool:
    """Does a typed field hold a value typed_sql refuses? Every row parsed."""
    for row in csv.reader(io.StringIO(chunk.decode(), newline="")):
        fields = dict(zip(KEYS, row[len(_PREFIX) :], strict=True))
        if any(_SPECIAL.search(fields[k]) for k in ("dueDate", "modifyDate")):
            return True
        if "n" in fields["balance"].lower():
            return True
    return False


def _chunk(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([*_PREFIX, *row] for row in rows)
    return out.getvalue().encode()


def _finds(chunk: bytes) -> bool:
    try:
        _SpecialValueGuard(COLUMNS).check(chunk)
    except SpecialValueFound:
        return True
    return False


_ROW = st.tuples(
    _TEXT,
    st.sampled_from(_DATES),
    _TEXT,
    st.sampled_from(_DECIMALS),
    st.sampled_from(_DATETIMES),
    _TEXT,
).map(list)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=6))
def test_the_guard_finds_what_parsing_every_row_finds(rows: list[list[str]]) -> None:
    chunk = _chunk(rows)
    assert _finds(chunk) == _reference(chunk)


@pytest.mark.parametrize(
    ("row", "found"),
    [
        (["A-1", "12/02/2024", "Nan", "10.50", "01/01/2024 17:25:52", "Today"], False),
        (["A-2", "today", "Ann", "10.50", "", ""], True),
        (["A-3", "", "Ann", "NaN", "", ""], True),
        (["A-4", "", "Ann", "", "2026-11-30T10:00:00Z", ""], False),
        # A quoted multi-line text value whose middle line is shaped like typed fields.
        (["A-5", "", "x\nnow,today,NaN,now\ny", "", "", ""], False),
        (["A-6", "", 'He said "hi", then\nleft', "", "now", ""], True),
    ],
    ids=["text-words", "date", "decimal", "iso-datetime", "inside-quotes", "after-quotes"],
)
def test_special_values_in_typed_fields_only(row: list[str], found: bool) -> None:
    assert _finds(_chunk([row])) is found


def test_a_row_of_the_wrong_width_is_left_to_copy() -> None:
    """COPY refuses it (the load then goes the staging way); the guard must not crash on it."""
    short = b"123,7,A-7,today\n"
    long = _chunk([["A-8", "", "Ann", "", "", ""]]).replace(b"\n", b",now,x\n")
    assert not _finds(short + long)
    assert _finds(short + long + _chunk([["A-9", "today", "", "", "", ""]]))

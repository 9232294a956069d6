from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.store.records import RecordStager, column_salt, count_fields, record_hash

COLUMNS = ["account", "firstName", "balance"]


def stage(
    data: bytes, chunk: int = 5, columns: list[str] = COLUMNS
) -> tuple[RecordStager, list[list[str]]]:
    stager = RecordStager(columns, account_index=0)
    out = b"".join(stager.stage(data[i : i + chunk] for i in range(0, len(data), chunk)))
    return stager, list(csv.reader(io.StringIO(out.decode())))


def test_prefixes_line_number_and_hash_and_keeps_fields() -> None:
    stager, rows = stage(b"A1,Ann,10.5\r\nA2,Bob,\r\n")
    assert [r[0] for r in rows] == ["2", "3"]  # the header is line 1
    assert [r[2:4] for r in rows] == [["", ""], ["", ""]]  # not rejected
    assert [r[4:] for r in rows] == [["A1", "Ann", "10.5"], ["A2", "Bob", ""]]
    assert rows[0][1] == str(record_hash(b"A1,Ann,10.5", column_salt(COLUMNS)))
    assert stager.records == 2 and stager.rejected == 0


def test_a_newline_inside_quotes_does_not_end_the_record() -> None:
    data = b'A1,"Ann\r\nMarie",1\r\nA2,"say ""hi"", ok",2\r\nA3,x,3'
    _, rows = stage(data, chunk=3)
    assert [r[4:] for r in rows] == [
        ["A1", "Ann\r\nMarie", "1"],
        ["A2", 'say "hi", ok', "2"],
        ["A3", "x", "3"],
    ]
    assert [r[0] for r in rows] == ["2", "4", "5"]  # physical line of each record's start


def test_the_hash_ignores_chunking_and_line_endings_but_not_the_column_list() -> None:
    crlf = b'A1,"x\ny",1\r\nA2,b,2\r\n'
    lf = b'A1,"x\ny",1\nA2,b,2\n'
    hashes = {tuple(r[1] for r in stage(crlf, chunk=n)[1]) for n in (1, 2, 7, 1000)}
    assert len(hashes) == 1
    assert tuple(r[1] for r in stage(lf)[1]) in hashes
    other = stage(crlf, columns=["account", "lastName", "balance"])[1]
    assert tuple(r[1] for r in other) not in hashes


def test_wrong_field_count_is_rejected_with_its_raw_text_and_account() -> None:
    stager, rows = stage(b"A1,Ann\r\nA2,Bob,1,extra\r\nA3,Cy,3\r\n")
    assert stager.rejected == 2 and stager.records == 3
    first, second, good = rows
    assert first[:4] == ["2", "", "wrong column count: expected 3, got 2", "A1,Ann"]
    assert first[4:] == ["A1", "", ""]  # the account survives for the tombstone check
    assert second[2] == "wrong column count: expected 3, got 4"
    assert good[2:4] == ["", ""] and good[4:] == ["A3", "Cy", "3"]


def test_bytes_postgres_cannot_take_are_rejected_not_passed_on() -> None:
    data = b"A1,\xff\xfe,1\r\nA2,nul\x00here,2\r\nA3,bare\rcr,3\r\nA4,ok,4\r\n"
    stager, rows = stage(data)
    reasons = [r[2] for r in rows]
    assert reasons == [
        "invalid UTF-8",
        "NUL byte in row",
        "carriage return outside quotes",
        "",
    ]
    assert stager.rejected == 3


def test_an_unterminated_quote_at_the_end_is_rejected_alone() -> None:
    stager, rows = stage(b'A1,a,1\r\nA2,"never closed,2\r\nmore')
    assert rows[1][:3] == ["3", "", "unterminated quoted field"]
    assert rows[1][3] == 'A2,"never closed,2'  # its own line only
    # The line it swallowed is read again as a row of its own (here: a malformed one).
    assert rows[2][:3] == ["4", "", "wrong column count: expected 3, got 1"]
    assert stager.records == 3 and stager.rejected == 2


def test_rows_a_stray_quote_swallowed_are_read_again() -> None:
    data = b'A1,"open,1\r\nA2,b,2\r\nA3,c,3\r\n"A4,"quoted prefix",4\r\nA5,e,5\r\n'
    stager, rows = stage(data)
    by_line = {r[0]: r for r in rows}
    assert by_line["2"][2] == "unterminated quoted field" and by_line["2"][3] == 'A1,"open,1'
    assert [by_line[n][4] for n in ("3", "4", "6")] == ["A2", "A3", "A5"]
    assert all(by_line[n][2] == "" and by_line[n][1] for n in ("3", "4", "6"))  # staged rows
    # Line 5 opens a quote that the end of the data never closes: rejected on its own.
    assert by_line["5"][2] == "unterminated quoted field"
    assert stager.records == 5 and stager.rejected == 2


def test_blank_lines_are_not_records() -> None:
    stager, rows = stage(b"A1,a,1\r\n\r\nA2,b,2\r\n\r\n")
    assert [r[0] for r in rows] == ["2", "4"]
    assert stager.records == 2


def test_count_fields_counts_only_delimiters_outside_quotes() -> None:
    assert count_fields(b"a,b,c") == 3
    assert count_fields(b'"a,b",c') == 2
    assert count_fields(b'"a "",b",c,"') == 3  # open quote: rest belongs to the field
    assert count_fields(b"") == 1


_value = st.text(alphabet=st.sampled_from(list('ab,"\n\r x1é')), min_size=0, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(_value, min_size=3, max_size=3), min_size=1, max_size=12),
    chunk=st.integers(min_value=1, max_value=40),
)
def test_staged_records_round_trip_through_a_csv_reader(rows: list[list[str]], chunk: int) -> None:
    """Whatever the values and the chunking, each record comes out whole, in order."""
    rows = [[f"A{i}", *row[1:]] for i, row in enumerate(rows)]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    stager, staged = stage(text.getvalue().encode(), chunk=chunk)
    ok = [r for r in staged if r[2] == ""]
    rejected = [r for r in staged if r[2] != ""]
    # Only bare CRs outside quotes are rejected (the csv module quotes \r, so none here).
    assert rejected == []
    assert [r[4:] for r in ok] == rows
    assert stager.records == len(rows)

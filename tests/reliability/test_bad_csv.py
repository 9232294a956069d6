"""Bad CSV through the real pull: each input class is rejected row by row, nothing else moves.

Every class of `corpus.CSV_CASES` is pulled by `PullService` (the loader behind it is the real
one) twice: into an empty mirror (the first load of a deployment, which has its own fast path)
and into a mirror that already holds good contacts. Both must give the same result: the bad
record in `syncd.rejected_rows` with its line number, raw text and reason; every good row of
the same export loaded exactly; the stored contacts the export does not carry untouched; the
watermark at the newest good row. A cut gzip stream goes through the emulator and the real
client: the whole pull rolls back and the watermark stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.livevox import ClientConfig, ExportTruncatedError, LiveVoxClient
from syncd.service.pull import PullConfig, PullOutcome, PullService
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from syncd.store.records import mask_shapes
from syncd.store.watermarks import CONTACTS_WATERMARK
from tests.conftest import FreshDatabase
from tests.integration.store.exports import ExportStream
from tests.reliability.corpus import (
    BASELINE,
    COLUMNS,
    CSV_CASES,
    CUT_GZIP_AFTER,
    EXPORT_HEAD,
    EXPORT_TAIL,
    MIDFILE_QUOTE,
    T0,
    T1,
    UNTOUCHED,
    CsvCase,
    GoodRow,
)
from tests.reliability.results import Outcome, record

LOOKBACK = PullConfig().lookback
NOW = datetime(2030, 1, 1, tzinfo=UTC)
"""The pulls' clock: far after every modifyDate, so the signpost never caps the watermark."""

EMULATOR_CONTACTS = 200
MIRRORS = ("empty mirror (first load)", "mirror with stored contacts")


# --- an export source of raw bytes (our own ExportSource port) -------------------------------


@dataclass
class RawExport:
    """Serves one export's bytes as they are, damage included; odd chunk sizes on purpose."""

    columns: Sequence[str]
    data: bytes
    chunk: int = 4093
    calls: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)

    @contextmanager
    def export_contacts(
        self,
        fields: Sequence[str] = ("allFields",),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[ExportStream]:
        self.calls.append((start, end))
        yield ExportStream(list(self.columns), self.data, None, self.chunk)


@dataclass(frozen=True, slots=True)
class Export:
    source: RawExport
    lines: list[int]
    """Line number of each record under test (header = 1)."""


def build_export(case: CsvCase) -> Export:
    """Good head rows, the case's records, good tail rows (or the records last), CRLF ends."""
    suffix = b"".join(b",x" for _ in case.extra_header)
    head = [row.csv() + suffix for row in EXPORT_HEAD]
    tail = [row.csv() + suffix for row in EXPORT_TAIL]
    records = [(True, r + suffix) for r in case.records]
    good = [(False, row) for row in head], [(False, row) for row in tail]
    ordered = [*good[0], *good[1], *records] if case.at_end else [*good[0], *records, *good[1]]
    data = bytearray()
    lines: list[int] = []
    for under_test, item in ordered:
        if under_test:
            lines.append(2 + data.count(b"\n"))
        data += item + b"\r\n"
    return Export(RawExport([*COLUMNS, *case.extra_header], bytes(data)), lines)


def rows_export(rows: Sequence[GoodRow]) -> RawExport:
    return RawExport(list(COLUMNS), b"".join(r.csv() + b"\r\n" for r in rows))


# --- database helpers ------------------------------------------------------------------------


@contextmanager
def migrated(db: FreshDatabase) -> Iterator[Engine]:
    engine = create_engine_for(db.url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def fetch(engine: Engine, statement: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(statement), params).all())


PULL_TABLES = (
    "livevox.contacts",
    "livevox.contact_history",
    "livevox.custom_fields",
    "syncd.rejected_rows",
    "syncd.watermarks",
    "syncd.outbox",
    "syncd.runs",
)
"""Every table a pull writes (and the outbox, which shares the runs' foreign key)."""


def empty_the_mirror(engine: Engine) -> None:
    """Back to a freshly migrated database, for the second mirror of a test (cheaper than a
    second database: dropping one costs a checkpoint)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(PULL_TABLES)} RESTART IDENTITY"))
        assert conn.execute(sa.text("SELECT count(*) FROM livevox.contact_phones")).scalar() == 0


def watermark(engine: Engine) -> datetime | None:
    rows = fetch(engine, "SELECT value FROM syncd.watermarks WHERE name = :n", n=CONTACTS_WATERMARK)
    return rows[0].value if rows else None


def snapshot(engine: Engine, accounts: Sequence[str]) -> list[Any]:
    """Every column of the contacts and their phones and custom values, for an exact compare."""
    contacts = fetch(
        engine,
        "SELECT * FROM livevox.contacts WHERE account = ANY(:a) ORDER BY account",
        a=list(accounts),
    )
    phones = fetch(
        engine,
        "SELECT * FROM livevox.contact_phones WHERE account = ANY(:a) ORDER BY account, ordinal",
        a=list(accounts),
    )
    custom = fetch(
        engine,
        "SELECT * FROM livevox.contact_custom_values WHERE account = ANY(:a) "
        "ORDER BY account, field",
        a=list(accounts),
    )
    return [tuple(r) for r in contacts + phones + custom]


def pull(engine: Engine, source: RawExport) -> PullOutcome:
    return PullService(engine, source, clock=lambda: NOW).pull_incremental()


# --- the check of one class into one mirror ---------------------------------------------------


def expected_rejections(case: CsvCase, export: Export) -> list[tuple[int, str, str]]:
    out = []
    for r in case.rejections:
        line = 1 if r.record is None else export.lines[r.record]
        raw = r.raw
        if raw is None:
            assert r.record is not None
            raw = case.records[r.record].decode()
        out.append((line, r.reason.format(lines=export.lines), raw))
    return sorted(out, key=lambda item: item[0])


def check_class(engine: Engine, case: CsvCase, *, filled: bool) -> None:
    """Pull the case's export into the mirror (after a baseline pull when `filled`)."""
    untouched: list[Any] = []
    if filled:
        baseline = pull(engine, rows_export(BASELINE))
        assert baseline.result.inserted == len(BASELINE)
        untouched = snapshot(engine, UNTOUCHED)
        assert len(untouched) == 2 * len(UNTOUCHED)  # a contact row and a phone row each

    export = build_export(case)
    outcome = pull(engine, export.source)
    wanted = expected_rejections(case, export)
    # Incremental: everything on a first pull, else from the baseline's watermark - lookback.
    since = max(r.modify for r in BASELINE) - LOOKBACK if filled else None
    assert export.source.calls == [(since, None)]

    stored = fetch(
        engine,
        "SELECT line_number, reason, raw FROM syncd.rejected_rows WHERE run_id = :r "
        "ORDER BY line_number, id",
        r=outcome.run_id,
    )
    assert [tuple(s) for s in stored] == wanted
    assert outcome.result.rejected == sum(1 for r in case.rejections if r.record is not None)

    good = [*EXPORT_HEAD, *EXPORT_TAIL]
    for row in good:
        expected = row.mirror()
        (got,) = fetch(
            engine,
            f"SELECT {', '.join(expected)}, deleted_at FROM livevox.contacts WHERE account = :a",
            a=row.account,
        )
        assert dict(got._mapping) == {**expected, "deleted_at": None}, row.account
        phones = fetch(
            engine,
            "SELECT ordinal, phone FROM livevox.contact_phones WHERE account = :a",
            a=row.account,
        )
        assert [tuple(p) for p in phones] == [(1, row.phone1)], row.account
    for account, values in case.loads.items():
        (got,) = fetch(
            engine,
            f"SELECT {', '.join(values)} FROM livevox.contacts WHERE account = :a",
            a=account,
        )
        assert dict(got._mapping) == dict(values), account

    accounts = {a for (a,) in fetch(engine, "SELECT account FROM livevox.contacts")}
    expected_accounts = {r.account for r in good} | set(case.loads)
    if filled:
        expected_accounts |= {r.account for r in BASELINE}
    assert accounts == expected_accounts
    if filled:
        assert snapshot(engine, UNTOUCHED) == untouched
    assert outcome.watermark == T1 == watermark(engine)
    (status,) = fetch(engine, "SELECT status FROM syncd.runs WHERE id = :r", r=outcome.run_id)
    assert status.status == "succeeded"


def both_mirrors(check: Callable[[Engine, bool], None], db: FreshDatabase) -> None:
    """Run `check` into an empty, then a filled mirror; report which of the two failed."""
    failures = []
    with migrated(db) as engine:
        for filled, label in ((False, MIRRORS[0]), (True, MIRRORS[1])):
            if filled:
                empty_the_mirror(engine)
            try:
                check(engine, filled)
            except AssertionError as exc:
                failures.append(f"{label}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.name.removeprefix("CSV: ") for c in CSV_CASES])
def test_a_bad_csv_class_is_rejected_and_nothing_else_moves(
    case: CsvCase, fresh_db: FreshDatabase
) -> None:
    both_mirrors(lambda engine, filled: check_class(engine, case, filled=filled), fresh_db)
    lines = build_export(case).lines
    rejected = [r.reason.format(lines=lines) for r in case.rejections]
    record(
        Outcome(
            category="input",
            name=case.name,
            done=f"{case.what}; pulled between good rows into an empty and a filled mirror",
            runs=len(MIRRORS),
            lost=0,
            duplicates=None,
            outcome=_outcome_text(case, rejected),
            figures={"records": len(case.records), "rejected_rows": len(rejected)},
        )
    )


def _outcome_text(case: CsvCase, reasons: list[str]) -> str:
    if not reasons:
        return "loaded intact"
    if case.rejections[0].record is None:
        return f"header line recorded: {reasons[0]}; every row loaded"
    return f"rejected: {reasons[0]}"


# --- an unterminated quote in the middle of an export ---------------------------------------


def test_an_unterminated_quote_mid_export_costs_only_its_own_row(
    fresh_db: FreshDatabase,
) -> None:
    """A stray open quote makes CSV read the rows after it as its value, until the next stray
    quote closes it with too many fields. The loader then rejects the quote's own line only and
    reads the swallowed lines again as rows: they load, nothing else moves."""
    head, tail = [r.csv() for r in EXPORT_HEAD], [r.csv() for r in EXPORT_TAIL]
    data = b"".join(r + b"\r\n" for r in [*head, MIDFILE_QUOTE, *tail])
    read_again = len(tail)

    def check(engine: Engine, filled: bool) -> None:
        if filled:
            pull(engine, rows_export(BASELINE))
        before = snapshot(engine, UNTOUCHED)
        outcome = pull(engine, RawExport(list(COLUMNS), data))
        ((line, reason, raw),) = fetch(
            engine,
            "SELECT line_number, reason, raw FROM syncd.rejected_rows WHERE run_id = :r",
            r=outcome.run_id,
        )
        assert line == 2 + len(head)
        assert reason == "unterminated quoted field"
        # Misaligned: date- and SSN-shaped tokens are masked (they may be PII).
        assert raw == mask_shapes(MIDFILE_QUOTE.decode())  # its own line, nothing more
        loaded = {a for (a,) in fetch(engine, "SELECT account FROM livevox.contacts")}
        assert {r.account for r in EXPORT_HEAD} | {r.account for r in EXPORT_TAIL} <= loaded
        assert outcome.result.rejected == 1
        assert outcome.watermark == max(r.modify for r in (*EXPORT_HEAD, *EXPORT_TAIL))
        assert snapshot(engine, UNTOUCHED) == before

    both_mirrors(check, fresh_db)
    record(
        Outcome(
            category="input",
            name="CSV: unbalanced quote (mid-export)",
            done="a quote left open in a row with good rows after it, incremental pull into "
            "an empty and a filled mirror",
            runs=len(MIRRORS),
            lost=0,
            duplicates=None,
            outcome=f"rejected: unterminated quoted field (its own line); the {read_again} "
            "rows after it read again and loaded",
            figures={"rows_read_again": read_again},
        )
    )


def test_a_full_reconcile_never_tombstones_rows_an_open_quote_swallowed(
    fresh_db: FreshDatabase,
) -> None:
    """docs/mirror.md: "A malformed row still protects its account from being tombstoned."
    The rows after an open quote are malformed too (they are text of its value), and each
    physical line still starts with an account the loader could protect."""
    kept = [r.csv() for r in BASELINE[2:]]  # G-03..G-06, before the open quote
    rows = [*[r.csv() for r in EXPORT_HEAD], *kept, MIDFILE_QUOTE]
    data = b"".join(r + b"\r\n" for r in [*rows, *[r.csv() for r in EXPORT_TAIL]])
    with migrated(fresh_db) as engine:
        pull(engine, rows_export(BASELINE))
        outcome = PullService(engine, RawExport(list(COLUMNS), data), clock=lambda: NOW).pull_full()
        tombstoned = fetch(
            engine, "SELECT account FROM livevox.contacts WHERE deleted_at IS NOT NULL"
        )
        assert outcome.result.tombstoned == 0, [a for (a,) in tombstoned]  # G-02 was swallowed


# --- a gzip export cut off mid-stream (emulator + real client) --------------------------------


@pytest.fixture
def emulator() -> Iterator[tuple[Any, str]]:
    app = create_app(EmulatorConfig(contacts=EMULATOR_CONTACTS, seed=5))
    with ServerThread(app) as server:
        yield app, server.base_url


def _client(base_url: str) -> LiveVoxClient:
    return LiveVoxClient(
        ClientConfig(
            base_url=base_url,
            access_token="demo-token",
            client_name="demo",
            username="admin",
            password="admin",
            retry_deadline=5,
            backoff_base=0.01,
        )
    )


def test_a_cut_gzip_export_rolls_the_whole_pull_back(
    emulator: tuple[Any, str], fresh_db: FreshDatabase
) -> None:
    app, base_url = emulator
    state = app.state.emulator

    def check(engine: Engine, filled: bool) -> None:
        with _client(base_url) as client:
            service = PullService(engine, client)
            state.faults.configure("")
            if filled:
                service.pull_full()
            mark = watermark(engine)
            before = fetch(
                engine, "SELECT account, row_hash, run_id, deleted_at FROM livevox.contacts"
            )
            assert len(before) == (EMULATOR_CONTACTS if filled else 0)
            edited = f"CutEdit{int(filled)}"  # a new value each time: a no-op edit is no edit
            state.store.agent_edit("ACC0000003", {"firstName": edited})
            state.faults.configure(f"cut_export=1,cut_export_after={CUT_GZIP_AFTER}")
            # Into a filled mirror the cut hits a full reconcile: a short export must not
            # tombstone the contacts it did not reach. (An incremental export after a full one
            # holds one contact, too short to cut.)
            with pytest.raises(ExportTruncatedError):
                (service.pull_full if filled else service.pull_incremental)()
            assert watermark(engine) == mark
            after = fetch(
                engine, "SELECT account, row_hash, run_id, deleted_at FROM livevox.contacts"
            )
            assert sorted(map(tuple, after)) == sorted(map(tuple, before))
            assert fetch(engine, "SELECT count(*) FROM syncd.rejected_rows")[0][0] == 0
            (run,) = fetch(engine, "SELECT status, error FROM syncd.runs ORDER BY id DESC LIMIT 1")
            assert run.status == "failed" and "ExportTruncatedError" in run.error

            state.faults.configure("")
            recovered = service.pull_incremental()
            assert recovered.result.rejected == 0
            (name,) = fetch(
                engine, "SELECT first_name FROM livevox.contacts WHERE account = 'ACC0000003'"
            )
            assert name.first_name == edited

    both_mirrors(check, fresh_db)
    record(
        Outcome(
            category="input",
            name="CSV: cut gzip stream",
            done=f"the emulator drops the gzip export after {CUT_GZIP_AFTER} bytes; pull into "
            "an empty and a filled mirror, then again without the fault",
            runs=len(MIRRORS),
            lost=0,
            duplicates=None,
            outcome="rejected: ExportTruncatedError; whole load rolled back, watermark unchanged",
        )
    )


def test_the_baseline_rows_are_older_than_the_export_under_test() -> None:
    """The corpus's own premise: the watermark can only be T1 if nothing else is newer."""
    assert max(r.modify for r in BASELINE) < T1
    assert T0 < T1 == max(r.modify for r in (*EXPORT_HEAD, *EXPORT_TAIL))
    assert timedelta(days=365) < NOW - T1

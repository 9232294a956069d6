from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from syncd.store import housekeeping, status_queries
from tests.integration.daemon.conftest import add_outbox_rows


def _exec(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_status_report_counts_everything_an_operator_needs(migrated: sa.Engine) -> None:
    ids = add_outbox_rows(migrated, 5)
    _exec(migrated, "UPDATE syncd.outbox SET state = 'FAILED' WHERE id = :i", i=ids[0])
    _exec(migrated, "UPDATE syncd.outbox SET state = 'DONE' WHERE id = :i", i=ids[1])
    _exec(
        migrated,
        "INSERT INTO syncd.dead_letters (operation, kind, reason) VALUES "
        "('update', 'rejected', 'r'), ('update', 'invalid', 'i'), ('dnd', 'invalid', 'i')",
    )
    _exec(
        migrated,
        "INSERT INTO syncd.conflicts (account, field, status) VALUES "
        "('A', 'email', 'open'), ('B', 'email', 'resolved'), ('C', 'email', 'applied')",
    )
    _exec(
        migrated,
        "INSERT INTO syncd.runs (kind, status, messages) VALUES "
        "('incremental', 'succeeded', NULL), "
        "('incremental', 'held', '[\"would remove 60%\"]')",
    )
    _exec(
        migrated,
        "INSERT INTO syncd.watermarks (name, value) "
        "VALUES ('livevox.contacts.modify_date', now() - interval '10 minutes')",
    )
    _exec(
        migrated,
        "INSERT INTO livevox.contacts (account) VALUES ('ACC-1'), ('ACC-2'), ('ACC-3')",
    )
    _exec(migrated, "INSERT INTO syncd.base (account, agreed) VALUES ('ACC-1', '{}')")
    with migrated.connect() as conn:
        report = status_queries.read_status(conn)
        gauges = status_queries.read_gauges(conn)
    assert report.outbox["NEW"] == 3 and report.outbox["FAILED"] == 1
    assert report.outbox["DONE"] == 1 and report.open_outbox == 4
    assert report.dead_letters == {"invalid": 2, "rejected": 1}
    assert report.conflicts == {"open": 1, "resolved": 1}
    assert report.unmanaged_contacts == 2
    assert [run.messages for run in report.held_runs] == [["would remove 60%"]]
    assert report.lag_seconds is not None and 590 < report.lag_seconds < 700
    assert gauges.outbox_depth == {"NEW": 3, "SENT": 0, "FAILED": 1}
    assert gauges.dead_letters == 3
    assert report.as_json()["runs"][0]["messages"] == ["would remove 60%"]


def test_the_audit_log_masks_pii_values(migrated: sa.Engine) -> None:
    _exec(
        migrated,
        "INSERT INTO syncd.audit_log (direction, account, operation, field, old_value, "
        "new_value, outcome, at) VALUES "
        "('push', 'A1', 'update', 'ssn', '123-45-6789', '987-65-4321', 'applied', "
        " now() - interval '2 days'), "
        "('push', 'A1', 'update', 'dateOfBirth', NULL, '1970-01-01', 'applied', now()), "
        "('push', 'B2', 'update', 'city', 'Oslo', 'Bergen', 'applied', now())",
    )
    with migrated.connect() as conn:
        a1 = status_queries.read_audit(conn, account="A1")
        recent = status_queries.read_audit(
            conn, since=conn.execute(sa.text("SELECT now() - interval '1 day'")).scalar_one()
        )
        limited = status_queries.read_audit(conn, limit=1)
    assert [(e.field, e.old_value, e.new_value) for e in a1] == [
        ("dateOfBirth", None, "***"),
        ("ssn", "***", "***"),
    ]
    assert {e.account for e in recent} == {"A1", "B2"} and len(recent) == 2
    assert len(limited) == 1


def test_volume_per_run_and_activity_lag(migrated: sa.Engine) -> None:
    _exec(
        migrated,
        "INSERT INTO syncd.runs (id, kind, status, started_at, finished_at, counts) "
        "OVERRIDING SYSTEM VALUE VALUES "
        "(1, 'pull_incremental', 'succeeded', '2024-05-01 08:00Z', '2024-05-01 08:01Z', "
        ' \'{"rows_seen": 100, "max_modify_date": "2024-05-01T07:55:00+00:00"}\'), '
        "(2, 'incremental', 'succeeded', '2024-05-01 08:01Z', '2024-05-01 08:02Z', NULL), "
        "(3, 'pull_incremental', 'succeeded', '2024-05-01 08:05Z', '2024-05-01 08:06Z', "
        ' \'{"rows_seen": 5, "max_modify_date": null}\')',
    )
    _exec(
        migrated,
        "INSERT INTO syncd.audit_log (run_id, outbox_id, direction, account, operation, "
        "field, outcome) VALUES "
        "(2, 10, 'push', 'A', 'update', 'city', 'applied'), "
        "(2, 10, 'push', 'A', 'update', 'email', 'applied'), "
        "(2, 11, 'push', 'B', 'dnd', 'accountBlock', 'rejected'), "
        "(2, NULL, 'push', 'C', 'update', 'city', 'dry_run')",
    )
    with migrated.connect() as conn:
        pushed = status_queries.changes_pushed_by_run(conn, 2)
        pulled = status_queries.rows_pulled_since(conn, 0)
        points = status_queries.activity(conn)
    assert pushed == {("update", "applied"): 1, ("dnd", "rejected"): 1}  # per change, not field
    assert pulled == 105
    assert [(p.kind, p.rows_pulled, p.changes_pushed) for p in points] == [
        ("pull_incremental", 100, 0),
        ("incremental", 0, 2),
        ("pull_incremental", 5, 0),
    ]
    # Lag after each pull, against the watermark as it stood (it never moves back).
    assert [p.lag_seconds for p in points] == [360.0, None, 660.0]


def test_housekeeping_prunes_only_old_finished_rows(migrated: sa.Engine) -> None:
    ids = add_outbox_rows(migrated, 6)
    states = ["DONE", "SUPERSEDED", "DEAD", "FAILED", "DONE", "NEW"]
    for outbox_id, state in zip(ids, states, strict=True):
        _exec(migrated, "UPDATE syncd.outbox SET state = :s WHERE id = :i", s=state, i=outbox_id)
    _exec(
        migrated,
        "UPDATE syncd.outbox SET updated_at = now() - interval '40 days' WHERE id <> :recent",
        recent=ids[4],
    )
    _exec(
        migrated,
        "INSERT INTO syncd.resync_requests (requested_by, status, finished_at) VALUES "
        "('t', 'done', now() - interval '40 days'), ('t', 'done', now()), "
        "('t', 'pending', NULL)",
    )
    _exec(
        migrated,
        "INSERT INTO syncd.audit_log (direction, account, operation, outcome, at) "
        "VALUES ('push', 'A', 'update', 'applied', now() - interval '400 days')",
    )
    result = housekeeping.prune(migrated, retention=timedelta(days=30), batch=1)
    assert (result.outbox_rows, result.resync_requests) == (2, 1)
    with migrated.connect() as conn:
        left = conn.execute(sa.text("SELECT state FROM syncd.outbox ORDER BY id")).scalars().all()
        audit = conn.execute(sa.text("SELECT count(*) FROM syncd.audit_log")).scalar_one()
    assert left == ["DEAD", "FAILED", "DONE", "NEW"]
    assert audit == 1  # never pruned

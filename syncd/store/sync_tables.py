"""Bookkeeping tables of the sync core: base, outbox, audit log, conflicts, dead letters,
resync requests. Same MetaData as `schema.py`; migration 0003 creates them.

States and kinds are CHECK constraints so a typo in code fails loudly at the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from syncd.store.schema import BOOKKEEPING_SCHEMA, metadata, runs

OUTBOX_STATES = ("NEW", "SENT", "DONE", "FAILED", "DEAD", "SUPERSEDED")
OPEN_OUTBOX_STATES = ("NEW", "SENT", "FAILED")
OPERATIONS = ("create", "update", "dnd", "deactivate", "delete", "write_back")


def _tstz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


base = sa.Table(
    "base",
    metadata,
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("agreed", pg.JSONB, nullable=False, comment="field key -> last agreed value"),
    sa.Column("sor_hash", sa.Text, comment="hash of the SoR row's mapped columns at agreement"),
    sa.Column("mirror_hash", sa.BigInteger, comment="mirror row_hash at agreement"),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("updated_at", _tstz(), nullable=False, server_default=sa.func.now()),
    schema=BOOKKEEPING_SCHEMA,
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("run_id", sa.BigInteger, sa.ForeignKey(runs.c.id), nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("payload", pg.JSONB, nullable=False, comment="field key -> value to write"),
    sa.Column("expected", pg.JSONB, comment="mirror values the plan was made against"),
    sa.Column("state", sa.Text, nullable=False, server_default="NEW"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("last_error", sa.Text),
    sa.Column("http_status", sa.Integer),
    sa.Column("request_id", sa.Text),
    sa.Column("created_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint(_in("state", OUTBOX_STATES), name="state"),
    sa.CheckConstraint(_in("operation", OPERATIONS), name="operation"),
    schema=BOOKKEEPING_SCHEMA,
)
# The drain query: open rows due now, oldest first.
sa.Index(
    "ix_outbox_due",
    outbox.c.next_attempt_at,
    outbox.c.id,
    postgresql_where=outbox.c.state.in_(("NEW", "FAILED")),
)
# At most one open change per contact and operation: a re-plan supersedes, never duplicates.
sa.Index(
    "uq_outbox_open_account_operation",
    outbox.c.account,
    outbox.c.operation,
    unique=True,
    postgresql_where=outbox.c.state.in_(OPEN_OUTBOX_STATES),
)
sa.Index(None, outbox.c.run_id)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("outbox_id", sa.BigInteger),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("field", sa.Text),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("attempts", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("request_id", sa.Text),
    sa.CheckConstraint("direction IN ('push', 'write_back')", name="direction"),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(None, audit_log.c.account, audit_log.c.at)
sa.Index(None, audit_log.c.run_id)
sa.Index(None, audit_log.c.at)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("base_value", pg.JSONB),
    sa.Column("mirror_value", pg.JSONB),
    sa.Column("sor_value", pg.JSONB),
    sa.Column("detected_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("resolution", sa.Text, comment="sor | livevox | value (an admin fills it)"),
    sa.Column("resolved_value", pg.JSONB),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", _tstz()),
    sa.CheckConstraint("status IN ('open', 'resolved', 'applied')", name="status"),
    sa.CheckConstraint(
        "resolution IS NULL OR resolution IN ('sor', 'livevox', 'value')", name="resolution"
    ),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(
    "uq_conflicts_open_account_field",
    conflicts.c.account,
    conflicts.c.field,
    unique=True,
    postgresql_where=conflicts.c.status != "applied",
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("outbox_id", sa.BigInteger),
    sa.Column("account", sa.Text),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("payload", pg.JSONB),
    sa.Column("kind", sa.Text, nullable=False, comment="invalid | rejected | exhausted"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("created_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("closed_at", _tstz()),
    sa.CheckConstraint("kind IN ('invalid', 'rejected', 'exhausted')", name="kind"),
    sa.CheckConstraint("status IN ('open', 'retried', 'resolved', 'discarded')", name="status"),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(None, dead_letters.c.account)
sa.Index(
    "ix_dead_letters_open",
    dead_letters.c.created_at,
    postgresql_where=dead_letters.c.status == "open",
)

resync_requests = sa.Table(
    "resync_requests",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("requested_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("accounts", pg.ARRAY(sa.Text)),
    sa.Column("since", _tstz()),
    sa.Column("confirm", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("picked_at", _tstz()),
    sa.Column("finished_at", _tstz()),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status"),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(
    "ix_resync_requests_pending",
    resync_requests.c.id,
    postgresql_where=resync_requests.c.status == "pending",
)

RESYNC_CHANNEL = "syncd_resync"
"""NOTIFY channel a trigger signals on every new resync request."""

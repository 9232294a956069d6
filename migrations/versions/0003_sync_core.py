"""Sync core bookkeeping: base, outbox, audit_log (append-only), conflicts, dead_letters,
resync_requests (with NOTIFY); runs gain held/dry_run/skipped states.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_RUN_STATES = "status IN ('running', 'succeeded', 'failed')"
RUN_STATES = "status IN ('running', 'succeeded', 'failed', 'held', 'dry_run', 'skipped')"
OUTBOX_STATES = "state IN ('NEW', 'SENT', 'DONE', 'FAILED', 'DEAD', 'SUPERSEDED')"
OPERATIONS = "operation IN ('create', 'update', 'dnd', 'deactivate', 'delete', 'write_back')"


def _tstz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _now() -> sa.sql.elements.ColumnElement[object]:
    return sa.func.now()


def upgrade() -> None:
    op.drop_constraint("ck_runs_status", "runs", schema="syncd", type_="check")
    op.create_check_constraint("ck_runs_status", "runs", RUN_STATES, schema="syncd")
    op.add_column("runs", sa.Column("requested_by", sa.Text), schema="syncd")
    op.add_column("runs", sa.Column("messages", pg.JSONB), schema="syncd")

    op.create_table(
        "base",
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("agreed", pg.JSONB, nullable=False, comment="field key -> last agreed value"),
        sa.Column("sor_hash", sa.Text, comment="hash of the SoR row's mapped columns at agreement"),
        sa.Column("mirror_hash", sa.BigInteger, comment="mirror row_hash at agreement"),
        sa.Column("run_id", sa.BigInteger),
        sa.Column("updated_at", _tstz(), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_base"),
        schema="syncd",
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False, comment="field key -> value to write"),
        sa.Column("expected", pg.JSONB, comment="mirror values the plan was made against"),
        sa.Column("state", sa.Text, server_default="NEW", nullable=False),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("next_attempt_at", _tstz(), server_default=_now(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("request_id", sa.Text),
        sa.Column("created_at", _tstz(), server_default=_now(), nullable=False),
        sa.Column("updated_at", _tstz(), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["run_id"], ["syncd.runs.id"], name="fk_outbox_run_id_runs"),
        sa.CheckConstraint(OUTBOX_STATES, name="ck_outbox_state"),
        sa.CheckConstraint(OPERATIONS, name="ck_outbox_operation"),
        schema="syncd",
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at", "id"],
        schema="syncd",
        postgresql_where=sa.text("state IN ('NEW', 'FAILED')"),
    )
    op.create_index(
        "uq_outbox_open_account_operation",
        "outbox",
        ["account", "operation"],
        unique=True,
        schema="syncd",
        postgresql_where=sa.text("state IN ('NEW', 'SENT', 'FAILED')"),
    )
    op.create_index("ix_outbox_run_id", "outbox", ["run_id"], schema="syncd")

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("at", _tstz(), server_default=_now(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.CheckConstraint("direction IN ('push', 'write_back')", name="ck_audit_log_direction"),
        schema="syncd",
    )
    op.create_index("ix_audit_log_account_at", "audit_log", ["account", "at"], schema="syncd")
    op.create_index("ix_audit_log_run_id", "audit_log", ["run_id"], schema="syncd")
    op.create_index("ix_audit_log_at", "audit_log", ["at"], schema="syncd")
    # Append-only for everyone, the owner included: rows can be added, never changed.
    op.execute(
        """
        CREATE FUNCTION syncd.audit_log_is_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'syncd.audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON syncd.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION syncd.audit_log_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON syncd.audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION syncd.audit_log_is_append_only()"
    )

    op.create_table(
        "conflicts",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("base_value", pg.JSONB),
        sa.Column("mirror_value", pg.JSONB),
        sa.Column("sor_value", pg.JSONB),
        sa.Column("detected_at", _tstz(), server_default=_now(), nullable=False),
        sa.Column("status", sa.Text, server_default="open", nullable=False),
        sa.Column("resolution", sa.Text, comment="sor | livevox | value (an admin fills it)"),
        sa.Column("resolved_value", pg.JSONB),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", _tstz()),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
        sa.CheckConstraint("status IN ('open', 'resolved', 'applied')", name="ck_conflicts_status"),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('sor', 'livevox', 'value')",
            name="ck_conflicts_resolution",
        ),
        schema="syncd",
    )
    op.create_index(
        "uq_conflicts_open_account_field",
        "conflicts",
        ["account", "field"],
        unique=True,
        schema="syncd",
        postgresql_where=sa.text("status <> 'applied'"),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger),
        sa.Column("outbox_id", sa.BigInteger),
        sa.Column("account", sa.Text),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB),
        sa.Column("kind", sa.Text, nullable=False, comment="invalid | rejected | exhausted"),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("status", sa.Text, server_default="open", nullable=False),
        sa.Column("created_at", _tstz(), server_default=_now(), nullable=False),
        sa.Column("closed_at", _tstz()),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.CheckConstraint(
            "kind IN ('invalid', 'rejected', 'exhausted')", name="ck_dead_letters_kind"
        ),
        sa.CheckConstraint(
            "status IN ('open', 'retried', 'resolved', 'discarded')",
            name="ck_dead_letters_status",
        ),
        schema="syncd",
    )
    op.create_index("ix_dead_letters_account", "dead_letters", ["account"], schema="syncd")
    op.create_index(
        "ix_dead_letters_open",
        "dead_letters",
        ["created_at"],
        schema="syncd",
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "resync_requests",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("requested_at", _tstz(), server_default=_now(), nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("full", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("accounts", pg.ARRAY(sa.Text)),
        sa.Column("since", _tstz()),
        sa.Column("confirm", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("status", sa.Text, server_default="pending", nullable=False),
        sa.Column("picked_at", _tstz()),
        sa.Column("finished_at", _tstz()),
        sa.Column("run_id", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_resync_requests"),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')",
            name="ck_resync_requests_status",
        ),
        schema="syncd",
    )
    op.create_index(
        "ix_resync_requests_pending",
        "resync_requests",
        ["id"],
        schema="syncd",
        postgresql_where=sa.text("status = 'pending'"),
    )
    # A running daemon LISTENs on this channel and picks a request up at once.
    op.execute(
        """
        CREATE FUNCTION syncd.notify_resync_request() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('syncd_resync', NEW.id::text);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER resync_requests_notify AFTER INSERT ON syncd.resync_requests "
        "FOR EACH ROW EXECUTE FUNCTION syncd.notify_resync_request()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER resync_requests_notify ON syncd.resync_requests")
    op.execute("DROP FUNCTION syncd.notify_resync_request()")
    op.drop_table("resync_requests", schema="syncd")
    op.drop_table("dead_letters", schema="syncd")
    op.drop_table("conflicts", schema="syncd")
    op.drop_table("audit_log", schema="syncd")
    op.execute("DROP FUNCTION syncd.audit_log_is_append_only()")
    op.drop_table("outbox", schema="syncd")
    op.drop_table("base", schema="syncd")
    op.drop_column("runs", "messages", schema="syncd")
    op.drop_column("runs", "requested_by", schema="syncd")
    op.execute("DELETE FROM syncd.runs WHERE status NOT IN ('running', 'succeeded', 'failed')")
    op.drop_constraint("ck_runs_status", "runs", schema="syncd", type_="check")
    op.create_check_constraint("ck_runs_status", "runs", OLD_RUN_STATES, schema="syncd")

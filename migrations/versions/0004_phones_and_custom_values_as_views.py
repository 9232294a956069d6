"""Phones and custom values become views over `livevox.contacts`; phone lookups use partial
indexes on the contact row.

Why: the wide contact row already holds every phone and custom value. Copying them into two
child tables cost ~4.5 table rows and ~8 index entries per contact on a first load (half its
time), and every load and push had to keep the copies in step. The views give analysts the
same rows (one per account × ordinal / per account × custom field, same columns) from the one
stored copy; `WHERE phone = ...` on `contact_phones` is answered per ordinal by the partial
index `ix_contacts_phone<n>`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDINALS = range(1, 11)
CUSTOM_NUMBERS = range(1, 101)
# View column ← contact column suffix (frozen copy of syncd.store.fields.PHONE_SUFFIX_COLUMNS).
PHONE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("phone", ""),
    ("dnd", "_block"),
    ("dnd_daily", "_block_daily"),
    ("sms_consent", "_sms_consent"),
    ("cell_consent", "_cell_consent"),
    ("attempts_total", "_attempts_total"),
    ("attempts_today", "_attempts_today"),
)

PHONES_VIEW = "CREATE VIEW livevox.contact_phones AS\n" + "\nUNION ALL\n".join(
    f"SELECT account, {n}::smallint AS ordinal, "
    + ", ".join(f"phone{n}{suffix} AS {name}" for name, suffix in PHONE_ATTRIBUTES)
    + f", run_id FROM livevox.contacts WHERE phone{n} IS NOT NULL"
    for n in ORDINALS
)

CUSTOM_VIEW = (
    "CREATE VIEW livevox.contact_custom_values AS "
    "SELECT c.account, v.field, v.value, c.run_id FROM livevox.contacts c "
    "CROSS JOIN LATERAL (VALUES "
    + ", ".join(f"('COL{n}', c.col{n})" for n in CUSTOM_NUMBERS)
    + ") AS v(field, value) WHERE v.value IS NOT NULL"
)

COMMENTS = (
    "COMMENT ON VIEW livevox.contact_phones IS "
    "'One row per account and phone ordinal (1..10) that has a number; from livevox.contacts'",
    "COMMENT ON VIEW livevox.contact_custom_values IS "
    "'One row per account and custom field (COL1..COL100) that has a value; "
    "from livevox.contacts'",
)

GRANTS = """
DO $grant$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncd_analyst') THEN
        GRANT SELECT ON livevox.contact_phones, livevox.contact_custom_values TO syncd_analyst;
    END IF;
END
$grant$
"""


def upgrade() -> None:
    op.drop_table("contact_custom_values", schema="livevox")
    op.drop_table("contact_phones", schema="livevox")
    for n in ORDINALS:
        op.create_index(
            f"ix_contacts_phone{n}",
            "contacts",
            [f"phone{n}"],
            schema="livevox",
            postgresql_where=sa.text(f"phone{n} IS NOT NULL"),
        )
    op.execute(PHONES_VIEW)
    op.execute(CUSTOM_VIEW)
    for comment in COMMENTS:
        op.execute(comment)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute("DROP VIEW livevox.contact_custom_values")
    op.execute("DROP VIEW livevox.contact_phones")
    for n in ORDINALS:
        op.drop_index(f"ix_contacts_phone{n}", "contacts", schema="livevox")
    op.create_table(
        "contact_phones",
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("ordinal", sa.SmallInteger, nullable=False),
        sa.Column("phone", sa.Text),
        sa.Column("dnd", sa.Boolean),
        sa.Column("dnd_daily", sa.Boolean),
        sa.Column("sms_consent", sa.Boolean),
        sa.Column("cell_consent", sa.Boolean),
        sa.Column("attempts_total", sa.BigInteger),
        sa.Column("attempts_today", sa.BigInteger),
        sa.Column("run_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("account", "ordinal", name="pk_contact_phones"),
        sa.CheckConstraint("ordinal BETWEEN 1 AND 10", name="ck_contact_phones_ordinal"),
        schema="livevox",
    )
    op.create_index("ix_contact_phones_phone", "contact_phones", ["phone"], schema="livevox")
    op.create_table(
        "contact_custom_values",
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False, comment="COL1..COL100"),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("run_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("account", "field", name="pk_contact_custom_values"),
        schema="livevox",
    )
    # Refill the tables from the contact rows (the views' own definitions).
    columns = ", ".join(name for name, _ in PHONE_ATTRIBUTES)
    op.execute(
        f"INSERT INTO livevox.contact_phones (account, ordinal, {columns}, run_id) "
        + PHONES_VIEW.split(" AS\n", 1)[1]
    )
    op.execute(
        "INSERT INTO livevox.contact_custom_values (account, field, value, run_id) "
        + CUSTOM_VIEW.split(" AS ", 1)[1]
    )
    op.execute(GRANTS)

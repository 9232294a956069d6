"""Analyst surface: the read-only role `syncd_analyst` and the PII-free views.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Frozen: the view definitions below are the ones `syncd.store.analyst` generated (with no
custom-field labels yet) when this revision was written. At runtime the reference pull
regenerates `livevox.analyst_contacts` with the configured labels
(`syncd.store.analyst.refresh_analyst_views`).

The role is server-wide and shared by every database on the server: creating it tolerates
its existence (also concurrent creation); downgrade revokes this database's grants and drops
the views but never drops the role.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENSURE_ROLE = """DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncd_analyst') THEN
        BEGIN
            CREATE ROLE syncd_analyst NOLOGIN;
        EXCEPTION
            -- Another database's migration created it meanwhile (roles are server-wide).
            WHEN duplicate_object OR unique_violation THEN NULL;
            -- Not allowed to create roles: a DBA creates it once; grants are then skipped.
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role syncd_analyst; analyst grants skipped';
        END;
    END IF;
END
$role$
"""

CONTACTS_VIEW = """
CREATE VIEW livevox.analyst_contacts AS
SELECT
    "account",
    "due_date",
    "account_to_speak",
    "address1",
    "address2",
    "agent_id",
    "agent_team_id",
    "amount_to_speak",
    "active",
    "call_attempts_total",
    "call_attempts_today",
    "city",
    "client_id",
    "country_id",
    "create_date",
    "create_user",
    "department",
    "description",
    "account_block",
    "account_block_daily",
    "account_email_block",
    "email",
    "first_name",
    "group_id",
    "guarantor_first_name",
    "guarantor_last_name",
    "initial_load_campaign_id",
    "initial_load_date",
    "last_load_campaign_id",
    "last_load_date",
    "last_name",
    "lv_account_id",
    "modify_date",
    "modify_user",
    "original_account_number",
    "balance",
    "phone1",
    "phone1_attempts_total",
    "phone1_attempts_today",
    "phone1_cell_consent",
    "phone1_block",
    "phone1_block_daily",
    "phone1_sms_consent",
    "phone2",
    "phone2_attempts_total",
    "phone2_attempts_today",
    "phone2_cell_consent",
    "phone2_block",
    "phone2_block_daily",
    "phone2_sms_consent",
    "phone3",
    "phone3_attempts_total",
    "phone3_attempts_today",
    "phone3_cell_consent",
    "phone3_block",
    "phone3_block_daily",
    "phone3_sms_consent",
    "phone4",
    "phone4_attempts_total",
    "phone4_attempts_today",
    "phone4_cell_consent",
    "phone4_block",
    "phone4_block_daily",
    "phone4_sms_consent",
    "phone5",
    "phone5_attempts_total",
    "phone5_attempts_today",
    "phone5_cell_consent",
    "phone5_block",
    "phone5_block_daily",
    "phone5_sms_consent",
    "phone6",
    "phone6_attempts_total",
    "phone6_attempts_today",
    "phone6_cell_consent",
    "phone6_block",
    "phone6_block_daily",
    "phone6_sms_consent",
    "phone7",
    "phone7_attempts_total",
    "phone7_attempts_today",
    "phone7_cell_consent",
    "phone7_block",
    "phone7_block_daily",
    "phone7_sms_consent",
    "phone8",
    "phone8_attempts_total",
    "phone8_attempts_today",
    "phone8_cell_consent",
    "phone8_block",
    "phone8_block_daily",
    "phone8_sms_consent",
    "phone9",
    "phone9_attempts_total",
    "phone9_attempts_today",
    "phone9_cell_consent",
    "phone9_block",
    "phone9_block_daily",
    "phone9_sms_consent",
    "phone10",
    "phone10_attempts_total",
    "phone10_attempts_today",
    "phone10_cell_consent",
    "phone10_block",
    "phone10_block_daily",
    "phone10_sms_consent",
    "zip_code",
    "primary_email_consent",
    "salutation",
    "primary_sms_consent",
    "state",
    "title",
    "col1",
    "col2",
    "col3",
    "col4",
    "col5",
    "col6",
    "col7",
    "col8",
    "col9",
    "col10",
    "col11",
    "col12",
    "col13",
    "col14",
    "col15",
    "col16",
    "col17",
    "col18",
    "col19",
    "col20",
    "col21",
    "col22",
    "col23",
    "col24",
    "col25",
    "col26",
    "col27",
    "col28",
    "col29",
    "col30",
    "col31",
    "col32",
    "col33",
    "col34",
    "col35",
    "col36",
    "col37",
    "col38",
    "col39",
    "col40",
    "col41",
    "col42",
    "col43",
    "col44",
    "col45",
    "col46",
    "col47",
    "col48",
    "col49",
    "col50",
    "col51",
    "col52",
    "col53",
    "col54",
    "col55",
    "col56",
    "col57",
    "col58",
    "col59",
    "col60",
    "col61",
    "col62",
    "col63",
    "col64",
    "col65",
    "col66",
    "col67",
    "col68",
    "col69",
    "col70",
    "col71",
    "col72",
    "col73",
    "col74",
    "col75",
    "col76",
    "col77",
    "col78",
    "col79",
    "col80",
    "col81",
    "col82",
    "col83",
    "col84",
    "col85",
    "col86",
    "col87",
    "col88",
    "col89",
    "col90",
    "col91",
    "col92",
    "col93",
    "col94",
    "col95",
    "col96",
    "col97",
    "col98",
    "col99",
    "col100",
    "deleted_at",
    "run_id",
    "first_seen_at",
    "changed_at"
FROM livevox.contacts
"""

HISTORY_VIEW = """
CREATE VIEW livevox.analyst_contact_history AS
SELECT id, account, operation, valid_from, valid_to, changed_columns,
    old_values - 'date_of_birth' - 'ssn' AS old_values,
    new_values - 'date_of_birth' - 'ssn' AS new_values,
    run_id, recorded_at
FROM livevox.contact_history
"""

GRANTS = """
DO $grant$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncd_analyst') THEN
        GRANT USAGE ON SCHEMA livevox TO syncd_analyst;
        GRANT SELECT ON livevox.analyst_contacts, livevox.analyst_contact_history,
            livevox.contact_phones, livevox.contact_custom_values, livevox.custom_fields,
            livevox.contact_groups
            TO syncd_analyst;
    END IF;
END
$grant$
"""

REVOKES = """
DO $revoke$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncd_analyst') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA livevox FROM syncd_analyst;
        REVOKE USAGE ON SCHEMA livevox FROM syncd_analyst;
    END IF;
END
$revoke$
"""


def upgrade() -> None:
    op.execute(ENSURE_ROLE)
    op.execute(CONTACTS_VIEW)
    op.execute(HISTORY_VIEW)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(REVOKES)
    op.execute("DROP VIEW IF EXISTS livevox.analyst_contact_history")
    op.execute("DROP VIEW IF EXISTS livevox.analyst_contacts")

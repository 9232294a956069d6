"""`syncd config check`: each thing a first run needs, checked in order, one clear line each.

configuration → database (reachable, migrated to this release's head) → LiveVox (a login
works) → system of record (table or view and its key column exist, mapped columns exist).
A check that cannot run because an earlier one failed says so instead of failing noisily.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from syncd.errors import SyncdError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from syncd.livevox import ClientConfig
    from syncd.settings import Settings


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    settings: Settings | None = None


def client_config(settings: Settings) -> ClientConfig:
    """The daemon's LiveVox client configuration, with few attempts: a check should answer
    quickly rather than ride out an outage."""
    from syncd.bootstrap import client_config as daemon_client_config

    return daemon_client_config(settings).model_copy(update={"max_attempts": 2})


def _configuration() -> tuple[CheckResult, Settings | None]:
    from syncd.admin.server import parse_bind
    from syncd.settings import config_path, load_settings

    try:
        settings = load_settings()
        parse_bind(settings.admin_bind)
    except SyncdError as exc:
        return CheckResult("configuration", False, exc.message), None
    notes = [f"file {config_path()}"]
    if settings.admin_token is None:
        notes.append("no admin token: POST /resync and GET /status are disabled")
    if settings.database_url is None:
        notes.append(f"embedded Postgres in {settings.embedded_data_dir}")
    return CheckResult("configuration", True, "; ".join(notes), settings), settings


def _database(engine: Engine) -> CheckResult:
    from syncd.store.migrate import current_revision, head_revision

    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except sa.exc.SQLAlchemyError as exc:
        return CheckResult("database", False, f"unreachable: {type(exc).__name__}: {_first(exc)}")
    head = head_revision()
    if revision != head:
        return CheckResult(
            "database",
            False,
            f"at revision {revision or 'none (empty)'}, this release needs {head}: "
            "run `syncd db upgrade`",
        )
    return CheckResult("database", True, f"reachable, migrated (revision {head})")


def _first(exc: BaseException) -> str:
    # Driver messages can run to many lines (hints, SQL); the first says what happened.
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _livevox(settings: Settings) -> CheckResult:
    from syncd.livevox import LiveVoxClient, LiveVoxError

    try:
        config = client_config(settings)
    except ValueError as exc:
        return CheckResult("livevox", False, f"bad client settings: {_first(exc)}")
    try:
        # Closing logs out; a running daemon sharing the session logs in again on its
        # next call (the client re-logs in once on 401).
        with LiveVoxClient(config) as client:
            info = client.login()
    except LiveVoxError as exc:
        return CheckResult(
            "livevox",
            False,
            f"login to {settings.livevox.base_url} as {settings.livevox.username!r} failed: "
            f"{type(exc).__name__}",
        )
    expiry = info.days_until_password_expires
    note = f"; password expires in {expiry} days" if expiry is not None and expiry < 15 else ""
    return CheckResult(
        "livevox",
        True,
        f"logged in to {settings.livevox.base_url} as {settings.livevox.username!r}{note}",
    )


def _sor(conn: Connection, settings: Settings) -> CheckResult:
    """The mapping exactly as a cycle would load it: table, key column, mapped columns and
    their types against the profile."""
    from syncd.service.sor import load_mapping, load_rules

    try:
        rules = load_rules(settings.sor.profile)
        mapping = load_mapping(conn, settings.sor, rules)
    except SyncdError as exc:
        return CheckResult("system of record", False, exc.message)
    return CheckResult(
        "system of record",
        True,
        f"{mapping.schema}.{mapping.table} ({mapping.kind}): key column "
        f"{mapping.key_column!r}, {len(mapping.fields)} mapped fields",
    )


def run_checks() -> Iterator[CheckResult]:
    """Yield one result per check, in order."""
    from syncd.store.embedded import database_url_for
    from syncd.store.engine import create_engine_for

    result, settings = _configuration()
    yield result
    if settings is None:
        for name in ("database", "livevox", "system of record"):
            yield CheckResult(name, False, "not checked: the configuration is invalid")
        return
    with ExitStack() as stack:
        engine: Engine | None = None
        try:
            url = stack.enter_context(database_url_for(settings))
            engine = create_engine_for(url, pool_pre_ping=False)
            stack.callback(engine.dispose)
            database = _database(engine)
        except SyncdError as exc:
            database = CheckResult("database", False, exc.message)
        yield database
        yield _livevox(settings)
        if engine is None or database.detail.startswith("unreachable"):
            yield CheckResult("system of record", False, "not checked: no database")
            return
        try:
            with engine.connect() as conn:
                yield _sor(conn, settings)
        except sa.exc.SQLAlchemyError as exc:
            yield CheckResult("system of record", False, f"{type(exc).__name__}: {_first(exc)}")

"""Security checks (issue #7): PII and secrets stay where they belong.

* The analyst role reaches no SSN and no date of birth: its privileges are exactly the PII-free
  views and tables, and nothing it can read — any relation, `SELECT *`, row functions,
  statistics — holds a PII value, while the mirror it cannot read is full of them.
* The admin HTTP refuses missing, wrong and malformed tokens on every guarded route (routes
  enumerated from the app, so a new one is covered), and its public routes leak nothing.
* The emulator enforces the spec's roles on every API route (enumerated from the app, aliases
  and versioned paths included).
* A real `syncd run` against the emulator, with a SoR full of SSNs and dates of birth, pushes
  them through injected 500s: its log, the audit log, dead letters, rejected rows, runs,
  conflicts and error columns hold no secret, SSN or date of birth.
* Every daemon log the other reliability tests left in `build/reliability/logs/` is clean.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import SecretStr
from sqlalchemy.engine import Engine, make_url

from syncd.admin.app import create_admin_app
from syncd.admin.backend import DatabaseAdminBackend
from syncd.admin.metrics import SyncdMetrics
from syncd.admin.server import AdminServer
from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.store import migrate
from syncd.store.analyst import (
    ANALYST_ROLE,
    CONTACTS_VIEW,
    HISTORY_VIEW,
    PII_COLUMNS,
    READABLE_TABLES,
)
from syncd.store.engine import create_engine_for
from syncd.store.loader import load_export
from syncd.store.runs import RunRepository
from tests.conftest import FreshDatabase
from tests.contract.test_roles import ROLE_LINES, allowed_roles
from tests.integration.store.exports import ALL_KEYS, body, contact
from tests.reliability.harness import SECRETS as HARNESS_SECRETS
from tests.reliability.leak_scan import ScanError, assert_clean_log, find_leaks
from tests.reliability.results import REPO, Outcome, record

LOG_DIR = REPO / "build" / "reliability" / "logs"
DAEMON_LOG = LOG_DIR / "security-daemon.log"

LV_USER, LV_PASSWORD, LV_TOKEN = "secuser", "Pw-sec-4j9q-ZZ", "lv-token-sec-73a"
ADMIN_TOKEN = "admin-token-sec-58c1"
DB_PASSWORD = "db-pw-sec-2x8q"
FAULTS = "seed=5,error_rate=0.5,error_status=500"
"""The resync under faults: half the LiveVox calls answer 500. Reads retry them; a write
(one contact per request) fails and is recorded. Either some of the dozen writes fail, or a
read runs out of attempts and the run fails: both leave error texts behind to check."""

# Well-known secrets of the suite's daemons: the harness's, this module's, the e2e test's.
KNOWN_SECRETS: dict[str, str] = {
    **{f"harness secret #{i}": secret for i, secret in enumerate(HARNESS_SECRETS, 1)},
    "security test LiveVox password": LV_PASSWORD,
    "security test LiveVox token": LV_TOKEN,
    "security test admin token": ADMIN_TOKEN,
    "security test database password": DB_PASSWORD,
    "e2e LiveVox password": "Pw-e2e-7f3k",
    "e2e LiveVox token": "lv-token-e2e-91",
    "e2e admin token": "admin-token-e2e-42",
}

# PII the SoR holds. SSNs in both forms; dates of birth in the 1930s, before any date the
# emulator generates (1940..2004), so no generated value collides with them.
SOR_SSNS = ("731-44-0192", "731-44-0293", "731-44-0394", "731-44-0495", "731-44-0596",
            "731-44-0697", "731-44-0798", "731-44-0899")  # fmt: skip
NEW_SSNS = ("732550101", "732550202", "732550303", "732550404")
SOR_DOBS = tuple(date(1931 + i, 1 + i, 3 + 2 * i) for i in range(8))
NEW_DOBS = tuple(date(1935, 6, 10 + i) for i in range(4))
UNMANAGED, AGENT_SSN, AGENT_DOB = "ACC0000020", "736-10-2020", date(1937, 7, 7)
"""A contact the SoR does not hold, whose PII an agent changes in LiveVox."""


def _wait_for(
    what: str, probe: Callable[[], Any], timeout: float = 90.0, interval: float = 0.2
) -> Any:
    """Poll `probe` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)  # polling another process's state: no event to await


# --------------------------------------------------------------------------- the scanner


def test_the_leak_scanner_finds_every_shape_without_repeating_it() -> None:
    text = "\n".join(
        [
            '{"event": "ok", "ssn": "***"}',  # 1: masked, clean
            "ssn 123-45-6789 in a message",  # 2: SSN-shaped
            '{"ssn": "987654321"}',  # 3: nine digits under an ssn key
            "password=Hunter-22x",  # 4: a secret
            "born 1937-07-07 / 07/07/1937",  # 5: a seeded date of birth, two forms
            "epoch -1025222400000",  # 6: the same date as JSON epoch ms
            "id 5736102020999 and 736102020",  # 7: a seeded SSN (plain), not inside a number
            "2026-12-05T23:28:25Z run 42 took 1.5 s",  # 8: clean
        ]
    )
    leaks = find_leaks(
        text,
        {"LiveVox password": "Hunter-22x"},
        ssns=["736-10-2020"],
        dates_of_birth=[date(1937, 7, 7)],
    )
    assert leaks == [
        "line 2: SSN-shaped text",
        "line 3: an SSN under an ssn key",
        "line 4: LiveVox password",
        "line 5: seeded date of birth #1 (ISO)",
        "line 5: seeded date of birth #1 (MM/DD/YYYY)",
        "line 6: seeded date of birth #1 (epoch ms)",
        "line 7: seeded SSN #1",
    ]
    assert not any(v in " ".join(leaks) for v in ("Hunter", "6789", "1937", "7361"))
    with pytest.raises(ScanError):
        find_leaks("", ["abc"])


# --------------------------------------------------------------------------- route walking


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute of `app`, through included routers (aliases hidden from OpenAPI too)."""

    def walk(routes: Iterable[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # FastAPI's included-router wrapper
                yield from walk(route.original_router.routes)

    found = list(walk(app.routes))
    # The walk must see at least what the app's own schema lists.
    schema = app.openapi() if app.openapi_url else {"paths": {}}
    missing = set(schema["paths"]) - {r.path for r in found}
    assert not missing, f"route walk missed {sorted(missing)}"
    return found


def _dependency_calls(route: APIRoute) -> list[Callable[..., Any]]:
    calls: list[Callable[..., Any]] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            calls.append(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def fill_path(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def _methods(route: APIRoute) -> list[str]:
    return sorted(route.methods - {"HEAD", "OPTIONS"})


# --------------------------------------------------------------------------- (c) emulator roles

ROLE_USERS = {
    "Sysadmin": ("admin", "admin"),
    "Superuser": ("superuser", "superuser"),
    "Manager": ("manager", "manager"),
    "IT User": ("ituser", "ituser"),
}
LEAVER = ("leaver", "leaver-pw")
"""A Sysadmin whose session is logged out before the probe."""
# Route → the spec method whose "User Roles" line applies (tests/contract/test_roles.py).
# Aliases (trailing slash, POST for a GET) carry their method's roles. A new route fails
# `test_every_emulator_api_route_enforces_the_spec_roles` until it is classified here.
SPEC_METHOD: dict[tuple[str, str], str] = {
    ("POST", "/contact/contacts/bulk"): "bulk-download",  # and bulk-create: same roles
    ("PUT", "/contact/contacts/bulk"): "bulk-update",
    ("POST", "/contact/contacts/search"): "search",
    ("POST", "/contact/contacts/dnd"): "multi-dnd",
    ("GET", "/contact/contacts"): "list",
    ("POST", "/contact/contacts"): "create",
    ("POST", "/contact/contacts/"): "create",
    ("GET", "/contact/contacts/{account}"): "read",
    ("PUT", "/contact/contacts/{account}"): "update",
    ("DELETE", "/contact/contacts/{account}"): "delete",
    ("PUT", "/contact/contacts/{account}/dnd"): "dnd",
    ("GET", "/contact/contacts/{contact_id}/accounts"): "accounts",
    ("POST", "/contact/contacts/{contact_id}/accounts"): "accounts",
    ("GET", "/contact/contacts/customFields"): "custom-fields-list",
    ("PUT", "/contact/contacts/customFields"): "custom-field-update",
    ("GET", "/contact/contacts/customFields/{field}"): "custom-field-read",
    ("GET", "/contact/contacts/{account}/notes"): "notes-list",
    ("GET", "/contact/contacts/{account}/notes/"): "notes-list",
    ("GET", "/contact/contacts/{account}/notes/{note_id}"): "note-read",
    ("POST", "/contact/contactGroups"): "group-create",
    ("POST", "/contact/contactGroups/"): "group-create",
    ("GET", "/contact/contactGroups"): "group-list",
    ("GET", "/contact/contactGroups/"): "group-list",
    ("GET", "/contact/contactGroups/{group_id}"): "group-read",
    ("PUT", "/contact/contactGroups/{group_id}"): "group-update",
}
# Path parameters that address nothing: an allowed role's call changes no data.
EMULATOR_PATH_VALUES = {
    "account": "SEC-NO-SUCH-ACCOUNT",
    "contact_id": "999999999",
    "field": "COL1",
    "note_id": "999999999",
    "group_id": "999999999",
}


def declared_roles(route: APIRoute) -> frozenset[str] | None:
    """The roles a route's `require_roles` dependency admits; None when it has none."""
    for call in _dependency_calls(route):
        if call.__qualname__.startswith("require_roles."):
            allowed = inspect.getclosurevars(call).nonlocals["allowed"]
            return frozenset(allowed)
    return None


def _login(
    client: httpx.Client, user: str, password: str, client_name: str = "demo"
) -> httpx.Response:
    body = {"clientName": client_name, "userName": user, "password": password, "agent": False}
    return client.post("/session/login", json=body)


def _is_error_body(response: httpx.Response, status: int) -> bool:
    if response.status_code != status:
        return False
    body = response.json()
    return isinstance(body.get("code"), int) and isinstance(body.get("message"), str)


def _guarded_emulator_routes(app: FastAPI) -> list[tuple[str, str, frozenset[str]]]:
    """(method, path, roles) of every API route; each checked against the spec's table."""
    guarded: list[tuple[str, str, frozenset[str]]] = []
    for route in api_routes(app):
        roles = declared_roles(route)
        if route.path.startswith("/session/"):
            assert roles is None, f"session route {route.path} should need no session"
        if not route.path.startswith("/contact/"):
            continue  # the session API, and the emulator's own /_emulator control routes
        assert roles is not None, f"{route.path} has no role check"
        for method in _methods(route):
            name = SPEC_METHOD.get((method, route.path))
            assert name is not None, f"unclassified API route {method} {route.path}"
            assert roles == allowed_roles(ROLE_LINES[name]), (method, route.path, roles)
            guarded.append((method, route.path, roles))
    return guarded


@dataclass
class RoleProbe:
    """Calls every guarded route with every role's session and with bad sessions."""

    client: httpx.Client
    sessions: dict[str, str]
    bad_sessions: dict[str, str | None]
    requests: int = 0
    refused: int = 0
    problems: list[str] = field(default_factory=list)

    def _expect(self, response: httpx.Response, ok: bool, what: str) -> None:
        self.requests += 1
        if not ok:
            self.problems.append(f"{what} -> {response.status_code} {response.text[:120]}")

    def route(self, method: str, template: str, roles: frozenset[str]) -> None:
        for prefix in ("/contact/", "/contact/v6.0/"):
            path = fill_path(template, EMULATOR_PATH_VALUES).replace("/contact/", prefix, 1)
            for role, session in self.sessions.items():
                # No body: an allowed role meets a 400/404 and changes nothing.
                reply = self.client.request(method, path, headers={"LV-Session": session})
                if role in roles:
                    self._expect(
                        reply, reply.status_code not in (401, 403), f"{role} {method} {path}"
                    )
                else:
                    self.refused += 1
                    self._expect(reply, _is_error_body(reply, 403), f"{role} {method} {path}")
            for what, session in self.bad_sessions.items():
                headers = {"LV-Session": session} if session else {}
                reply = self.client.request(method, path, headers=headers)
                self._expect(reply, _is_error_body(reply, 401), f"{what} {method} {path}")


def _export_as_admin(client: httpx.Client) -> str:
    session = _login(client, "admin", "admin").json()["sessionId"]
    reply = client.post(
        "/contact/contacts/bulk",
        json={"exportableFields": ["allFields"]},
        headers={"LV-Session": session, "Accept-Encoding": "identity"},
    )
    assert reply.status_code == 200, reply.text
    return reply.text


def _role_probe(client: httpx.Client) -> RoleProbe:
    sessions = {}
    for role, (user, password) in ROLE_USERS.items():
        reply = _login(client, user, password)
        assert reply.status_code == 200, reply.text
        sessions[role] = reply.json()["sessionId"]
    # A user of its own: logging in again as `admin` would return the live admin session.
    gone = _login(client, *LEAVER).json()["sessionId"]
    assert client.delete(f"/session/logout/{gone}").status_code == 204
    bad_sessions = {
        "no session": None,
        "unknown session": "00000000-0000-4000-8000-000000000000",
        "logged-out session": gone,
        "the access token as session": "demo-token",
    }
    return RoleProbe(client, sessions, bad_sessions)


def test_every_emulator_api_route_enforces_the_spec_roles() -> None:
    users = {user: (password, role) for role, (user, password) in ROLE_USERS.items()}
    users[LEAVER[0]] = (LEAVER[1], "Sysadmin")
    app = create_app(EmulatorConfig(contacts=5, seed=3, users=users))
    guarded = _guarded_emulator_routes(app)
    assert len(guarded) == len(SPEC_METHOD)
    with ServerThread(app) as server:
        with httpx.Client(
            base_url=server.base_url, headers={"LV-Access": "demo-token"}, timeout=30
        ) as client:
            before = _export_as_admin(client)
            probe = _role_probe(client)
            for method, path, roles in guarded:
                probe.route(method, path, roles)
            after = _export_as_admin(client)
        login_refusals = _login_refusals(server.base_url)
    assert probe.problems == []
    assert after == before, "a refused or empty call changed the contacts"
    assert login_refusals == []
    record(
        Outcome(
            category="security",
            name="emulator roles: every API route",
            done=(
                "every role-guarded route of the emulator app (aliases included), unversioned "
                "and /v6.0/, called by each of the 4 roles and with 4 kinds of bad session; "
                "5 kinds of bad login"
            ),
            runs=probe.requests,
            lost=None,
            duplicates=None,
            figures={"routes": len(guarded), "requests": probe.requests, "refused": probe.refused},
        )
    )


def _login_refusals(base_url: str) -> list[str]:
    """Bad logins are 401 and never echo the password back."""
    good = {"clientName": "demo", "userName": "admin", "password": "admin", "agent": False}
    cases: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
        "no access token": ({}, good),
        "wrong access token": ({"LV-Access": "not-the-token"}, good),
        "wrong client name": ({"LV-Access": "demo-token"}, {**good, "clientName": "other"}),
        "wrong password": ({"LV-Access": "demo-token"}, {**good, "password": "Wrong-pw-0042"}),
        "unknown user": ({"LV-Access": "demo-token"}, {**good, "userName": "nobody-here"}),
    }
    problems = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for what, (headers, login) in cases.items():
            reply = client.post("/session/login", json=login, headers=headers)
            if not _is_error_body(reply, 401) or "Wrong-pw-0042" in reply.text:
                problems.append(f"{what}: {reply.status_code} {reply.text[:120]}")
    return problems


# --------------------------------------------------------------------------- (d) a daemon run


@dataclass
class DaemonRun:
    """What one `syncd run` against the emulator left behind, for the checks below."""

    db: FreshDatabase
    engine: Engine
    log: str
    returncode: int
    secrets: dict[str, str]
    ssns: set[str]
    dates_of_birth: set[date]
    public: dict[str, httpx.Response]
    live_refusals: dict[str, int]
    """Guarded routes of the running daemon, called without and with a wrong token."""
    injected: dict[str, int]
    emulator_ssns: dict[str, str | None]
    resyncs: list[dict[str, Any]]


def _daemon_env(db_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG_"))},
        "SYNCD_DATABASE_URL": db_url,
        "SYNCD_ADMIN_BIND": "127.0.0.1:0",
        "SYNCD_ADMIN_TOKEN": ADMIN_TOKEN,
        "SYNCD_SYNC_INTERVAL": "3600",
        "SYNCD_LIVEVOX_USERNAME": LV_USER,
        "SYNCD_LIVEVOX_PASSWORD": LV_PASSWORD,
        "SYNCD_LIVEVOX_ACCESS_TOKEN": LV_TOKEN,
        # one contact per request, so the injected 500s hit some pushes and spare others
        "SYNCD_SYNC_UPDATE_BATCH_SIZE": "1",
        "SYNCD_SYNC_CREATE_BATCH_SIZE": "1",
    }


def _with_password(url: str) -> tuple[str, str]:
    """The URL with a password in it (trust auth ignores it): a secret the log must not show."""
    parsed = make_url(url)
    if parsed.password:
        return url, str(parsed.password)
    return parsed.set(password=DB_PASSWORD).render_as_string(hide_password=False), DB_PASSWORD


def _fill_sor(engine: Engine) -> list[str]:
    """SoR rows: 8 mirror contacts with new SSNs and dates of birth (one with its date of birth
    removed, which LiveVox cannot clear), 4 new contacts, and two rows no account can take."""
    with engine.begin() as conn:
        sor_columns = [
            c
            for (c,) in conn.execute(
                sa.text(
                    "SELECT s.column_name FROM information_schema.columns s "
                    "JOIN information_schema.columns m ON m.column_name = s.column_name "
                    "AND m.table_schema = 'livevox' AND m.table_name = 'contacts' "
                    "WHERE s.table_schema = 'sor' AND s.table_name = 'contacts'"
                )
            )
        ]
        cols = ", ".join(f'"{c}"' for c in sor_columns)
        accounts = [
            a
            for (a,) in conn.execute(
                sa.text(
                    "SELECT account FROM livevox.contacts WHERE date_of_birth IS NOT NULL "
                    "ORDER BY account LIMIT 8"
                )
            )
        ]
        assert len(accounts) == 8, accounts
        conn.execute(
            sa.text(
                f"INSERT INTO sor.contacts ({cols}) SELECT {cols} FROM livevox.contacts "
                "WHERE account = ANY(:accounts)"
            ),
            {"accounts": accounts},
        )
        for account, ssn, dob in zip(accounts, SOR_SSNS, SOR_DOBS, strict=True):
            conn.execute(
                sa.text(
                    "UPDATE sor.contacts SET ssn = :ssn, date_of_birth = :dob WHERE account = :a"
                ),
                {"ssn": ssn, "dob": dob, "a": account},
            )
        conn.execute(
            sa.text("UPDATE sor.contacts SET date_of_birth = NULL WHERE account = :a"),
            {"a": accounts[-1]},
        )
        new = [f"SEC-NEW-{i}" for i in range(1, 5)]
        rows = [
            {"a": a, "ssn": s, "dob": d, "first": f"Sec{i}"}
            for i, (a, s, d) in enumerate(zip(new, NEW_SSNS, NEW_DOBS, strict=True))
        ]
        rows += [
            {"a": "", "ssn": "733-11-2222", "dob": date(1936, 2, 2), "first": "NoAccount"},
            {"a": "L" * 300, "ssn": "733112223", "dob": date(1936, 3, 3), "first": "TooLong"},
        ]
        conn.execute(
            sa.text(
                "INSERT INTO sor.contacts (account, ssn, date_of_birth, first_name) "
                "VALUES (:a, :ssn, :dob, :first)"
            ),
            rows,
        )
    return accounts + new


def _finished_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM syncd.runs "
                    "WHERE kind = 'sync_incremental' AND status <> 'running'"
                )
            ).scalar_one()
        )


def _resync(admin: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    queued = admin.post("/resync", json=body, headers=auth)
    assert queued.status_code == 202, queued.text
    request_id = queued.json()["id"]

    def finished() -> dict[str, Any] | None:
        state = admin.get(f"/resync/{request_id}", headers=auth).json()
        return state if state["status"] in ("done", "failed") else None

    result: dict[str, Any] = _wait_for(f"resync {request_id}", finished, timeout=120)
    return result


def _pii_in_database(engine: Engine) -> tuple[set[str], set[date]]:
    """Every SSN and date of birth the mirror and the SoR hold (LiveVox's generated ones too)."""
    ssns: set[str] = set()
    dobs: set[date] = set()
    with engine.connect() as conn:
        for table in ("livevox.contacts", "sor.contacts"):
            for ssn, dob in conn.execute(sa.text(f"SELECT ssn, date_of_birth FROM {table}")):
                if ssn:
                    ssns.add(ssn)
                if dob:
                    dobs.add(dob)
    return ssns, dobs


@pytest.fixture(scope="module")
def daemon_run(pg_server_url: str) -> Iterator[DaemonRun]:
    db = FreshDatabase(pg_server_url).create()
    engine = create_engine_for(db.url)
    try:
        migrate.upgrade(engine)
        yield _run_daemon(db, engine)
    finally:
        engine.dispose()
        db.drop()


def _admin_url(log: Path) -> str | None:
    """The admin URL `daemon.started` reports (the daemon binds port 0: no port race)."""
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line still being written
        if event.get("event") == "daemon.started":
            return str(event["admin"])
    return None


def _run_daemon(db: FreshDatabase, engine: Engine) -> DaemonRun:
    emulator_app = create_app(
        EmulatorConfig(
            contacts=20, seed=11, access_token=LV_TOKEN, users={LV_USER: (LV_PASSWORD, "Sysadmin")}
        )
    )
    faults = emulator_app.state.emulator.faults
    url, db_password = _with_password(db.url)
    env = _daemon_env(url)
    resyncs: list[dict[str, Any]] = []
    public: dict[str, httpx.Response] = {}
    live_refusals: dict[str, int] = {}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # A file of this run's own (another session may run this module meanwhile), renamed to
    # DAEMON_LOG for the suite's log scan at the end.
    own_log = LOG_DIR / f".security-daemon-{os.getpid()}-{time.monotonic_ns()}.tmp"
    with ServerThread(emulator_app) as emulator, own_log.open("w", encoding="utf-8") as err:
        env["SYNCD_LIVEVOX_BASE_URL"] = emulator.base_url
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd.cli", "run"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        try:
            admin_url = _wait_for("daemon.started", lambda: _admin_url(own_log))
            _wait_for("the start-up cycle", lambda: _finished_runs(engine) >= 1)
            accounts = _fill_sor(engine)
            with httpx.Client(base_url=admin_url, timeout=30) as admin:
                faults.configure(FAULTS)
                resyncs.append(_resync(admin, {}))
                injected = faults.injected()
                faults.clear()
                # An agent changes PII in LiveVox: the full pull puts it into the history.
                edited = emulator_app.state.emulator.store.agent_edit(
                    UNMANAGED, {"ssn": AGENT_SSN, "dateOfBirth": AGENT_DOB.isoformat()}
                )
                assert edited["ssn"] == AGENT_SSN
                resyncs.append(_resync(admin, {"full": True}))
                guarded, public_paths = _guarded_and_public(_admin_app(engine, None))
                for path in public_paths:
                    public[path] = admin.get(path)
                for method, template in guarded:
                    path = fill_path(template, ADMIN_PATH_VALUES)
                    for auth in ({}, {"Authorization": "Bearer not-the-admin-token"}):
                        reply = admin.request(method, path, headers=auth, json={})
                        live_refusals[f"{method} {path} {auth or 'no token'}"] = reply.status_code
            lv_headers = {"LV-Access": LV_TOKEN}
            with httpx.Client(base_url=emulator.base_url, headers=lv_headers, timeout=30) as lv:
                # Logging in again as the daemon's user returns its live session.
                session = _login(lv, LV_USER, LV_PASSWORD)
                session_id = session.json()["sessionId"]
                emulator_ssns = {
                    a: (lv.get(f"/_emulator/contacts/{a}").json() or {}).get("ssn")
                    for a in accounts
                }
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=120)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait(10)
    log = own_log.read_text(encoding="utf-8")
    os.replace(own_log, DAEMON_LOG)
    ssns, dobs = _pii_in_database(engine)
    ssns |= {s for s in emulator_ssns.values() if s}
    secrets = {
        "LiveVox password": LV_PASSWORD,
        "LiveVox access token": LV_TOKEN,
        "admin token": ADMIN_TOKEN,
        "database password": db_password,
        "LiveVox session id": session_id,
    }
    return DaemonRun(
        db=db, engine=engine, log=log, returncode=daemon.returncode, secrets=secrets,
        ssns=ssns | set(SOR_SSNS) | set(NEW_SSNS) | {AGENT_SSN},
        dates_of_birth=dobs | set(SOR_DOBS) | set(NEW_DOBS) | {AGENT_DOB},
        public=public, live_refusals=live_refusals, injected=injected,
        emulator_ssns=emulator_ssns, resyncs=resyncs,
    )  # fmt: skip


# Bookkeeping that must never hold a PII value or a secret: table → columns (None: all).
# The outbox and the mirror hold PII by necessity (what is sent, what LiveVox has), so only
# their error columns are scanned; `syncd.base` has its own (failing) check below.
BOOKKEEPING: dict[str, tuple[str, ...] | None] = {
    "syncd.audit_log": None,
    "syncd.dead_letters": None,
    "syncd.rejected_rows": None,
    "syncd.runs": None,
    "syncd.conflicts": None,
    "syncd.resync_requests": None,
    "syncd.watermarks": None,
    "syncd.outbox": ("last_error",),
    "livevox.contacts": ("last_error",),
}


def _columns_of(conn: sa.Connection, relation: str) -> list[str]:
    schema, name = relation.split(".")
    rows = conn.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
        ),
        {"s": schema, "t": name},
    )
    return [c for (c,) in rows]


def _table_leaks(
    engine: Engine, table: str, columns: tuple[str, ...] | None, run: DaemonRun
) -> tuple[list[str], int]:
    """Leaks in a table's cells, named by column and row number; ([], 0) when it is absent."""
    with engine.connect() as conn:
        present = _columns_of(conn, table)
        wanted = [c for c in present if columns is None or c in columns]
        if not wanted:
            return [], 0
        cells = ", ".join(f'"{c}"::text' for c in wanted)
        rows = conn.execute(sa.text(f"SELECT {cells} FROM {table}")).all()
    leaks = []
    for number, row in enumerate(rows, 1):
        for column, value in zip(wanted, row, strict=True):
            if value is None:
                continue
            found = find_leaks(value, run.secrets, ssns=run.ssns, dates_of_birth=run.dates_of_birth)
            leaks += [f"{table}.{column} row {number}: {leak.split(': ', 1)[1]}" for leak in found]
    return leaks, len(rows)


@pytest.mark.slow
def test_a_daemon_run_leaks_no_secret_or_pii(daemon_run: DaemonRun) -> None:
    run = daemon_run
    assert run.returncode == 0, run.log[-3000:]
    # The scenario did what it is for: PII went out, 500s were injected and recorded.
    assert run.injected.get("server_error", 0) >= 1, run.injected
    landed = [a for a, s in run.emulator_ssns.items() if s in set(SOR_SSNS) | set(NEW_SSNS)]
    assert landed, "no SoR SSN reached LiveVox: the scenario pushed no PII"
    with run.engine.connect() as conn:
        pii_audit = conn.execute(
            sa.text(
                "SELECT count(*), count(*) FILTER (WHERE coalesce(new_value, '***') = '***' "
                "AND coalesce(old_value, '***') = '***') FROM syncd.audit_log "
                "WHERE field IN ('ssn', 'dateOfBirth')"
            )
        ).one()
        errors = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM syncd.audit_log WHERE error IS NOT NULL) "
                "+ (SELECT count(*) FROM syncd.outbox WHERE last_error IS NOT NULL) "
                "+ (SELECT count(*) FROM syncd.runs WHERE error IS NOT NULL)"
            )
        ).scalar_one()
        letters = conn.execute(sa.text("SELECT count(*) FROM syncd.dead_letters")).scalar_one()
    assert pii_audit[0] > 0, "no audit row for an SSN or date-of-birth change"
    assert pii_audit[0] == pii_audit[1], "an audit row shows a PII value"
    assert errors > 0, "no error was recorded: the 500s were not exercised"
    assert letters > 0, "no dead letter: the invalid SoR rows were not exercised"

    lines = run.log.splitlines()
    not_json = [line[:200] for line in lines if not line.startswith("{")]
    assert not_json == [], "the daemon wrote lines that are not JSON events"
    events = [json.loads(line) for line in lines]
    assert {"daemon.started", "daemon.stopped"} <= {e["event"] for e in events}
    kwargs = {"ssns": run.ssns, "dates_of_birth": run.dates_of_birth}
    leaks = [f"stderr {leak}" for leak in find_leaks(run.log, run.secrets, **kwargs)]
    scanned = {"log lines": len(run.log.splitlines())}
    for table, columns in BOOKKEEPING.items():
        found, rows = _table_leaks(run.engine, table, columns, run)
        scanned[table] = rows
        leaks += found
    assert leaks == [], "\n".join(leaks)
    record(
        Outcome(
            category="security",
            name="daemon run: log and bookkeeping",
            done=(
                "syncd run pushed SSNs and dates of birth of 12 SoR rows (2 invalid rows too) "
                f"through injected 500s ({FAULTS}), then a clean full resync; its log and "
                "every bookkeeping table scanned for secrets, SSNs and dates of birth"
            ),
            runs=len(run.resyncs) + 1,
            lost=None,
            duplicates=None,
            figures={
                "500s": run.injected.get("server_error", 0),
                "error_texts": errors,
                "dead_letters": letters,
                "log_lines": scanned["log lines"],
                "rows_scanned": sum(v for k, v in scanned.items() if k != "log lines"),
                "pii_audit_rows": pii_audit[0],
                "seeded_values": len(run.ssns) + len(run.dates_of_birth),
            },
        )
    )


@pytest.mark.slow
def test_the_base_keeps_no_pii(daemon_run: DaemonRun) -> None:
    leaks, rows = _table_leaks(daemon_run.engine, "syncd.base", None, daemon_run)
    assert rows > 0
    assert leaks == [], "\n".join(leaks)


# --------------------------------------------------------------------------- (b) admin HTTP

REVIEWED_PUBLIC = {"/healthz", "/readyz", "/metrics", "/"}
"""Routes the admin app serves without a token, each reviewed for what it shows."""
ADMIN_PATH_VALUES = {"request_id": "1"}


def _bad_authorizations() -> dict[str, dict[str, Any]]:
    basic = base64.b64encode(f"admin:{ADMIN_TOKEN}".encode()).decode()
    return {
        "missing": {},
        "empty header": {"headers": {"Authorization": ""}},
        "scheme only": {"headers": {"Authorization": "Bearer"}},
        "wrong token": {"headers": {"Authorization": "Bearer not-the-admin-token"}},
        "token prefix": {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}},
        "token plus a character": {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}x"}},
        "token upper-cased": {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN.upper()}"}},
        "token twice": {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN} {ADMIN_TOKEN}"}},
        "no scheme": {"headers": {"Authorization": ADMIN_TOKEN}},
        "basic scheme": {"headers": {"Authorization": f"Basic {basic}"}},
        "token scheme": {"headers": {"Authorization": f"Token {ADMIN_TOKEN}"}},
        "8 KB token": {"headers": {"Authorization": "Bearer " + "k" * 8000}},
        "non-ASCII bytes": {"headers": {"Authorization": b"Bearer \xff\xfe\xfd"}},
        "token in another header": {"headers": {"X-Admin-Token": ADMIN_TOKEN}},
        "token in the query": {"params": {"token": ADMIN_TOKEN, "access_token": ADMIN_TOKEN}},
        "token in a cookie": {"headers": {"Cookie": f"token={ADMIN_TOKEN}"}},
    }


def _guarded_and_public(app: FastAPI) -> tuple[list[tuple[str, str]], list[str]]:
    guarded: list[tuple[str, str]] = []
    public: list[str] = []
    for route in api_routes(app):
        names = {getattr(call, "__name__", "") for call in _dependency_calls(route)}
        for method in _methods(route):
            if "require_token" in names:
                guarded.append((method, route.path))
            else:
                public.append(route.path)
    return guarded, public


@dataclass
class AdminProbe:
    requests: int = 0
    problems: list[str] = field(default_factory=list)


def _probe_guarded(
    base_url: str, routes: list[tuple[str, str]], queue_size: Callable[[], int]
) -> AdminProbe:
    probe = AdminProbe()
    before = queue_size()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for method, template in routes:
            path = fill_path(template, ADMIN_PATH_VALUES)
            for what, options in _bad_authorizations().items():
                kwargs = {**options}
                if method == "POST":
                    kwargs["json"] = {}  # a valid body: only the token may stop it
                reply = client.request(method, path, **kwargs)
                probe.requests += 1
                if (
                    reply.status_code != 401
                    or reply.headers.get("www-authenticate") != "Bearer"
                    or ADMIN_TOKEN in reply.text
                ):
                    probe.problems.append(f"{what} {method} {path} -> {reply.status_code}")
            if method == "POST":
                # A malformed body without a token: refused by the token check, which runs
                # before the body is read (no 422 telling that it was parsed).
                reply = client.request(
                    method, path, content=b"{", headers={"Content-Type": "application/json"}
                )
                probe.requests += 1
                if reply.status_code != 401:
                    probe.problems.append(f"malformed body {method} {path} -> {reply.status_code}")
            # The right token passes the guard (so the refusals above are the token's doing):
            # an invalid body for POST, so that nothing is queued.
            right = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            extra = {"json": {"no_such_field": 1}} if method == "POST" else {}
            reply = client.request(method, path, headers=right, **extra)
            probe.requests += 1
            if reply.status_code in (401, 403, 503):
                probe.problems.append(f"right token {method} {path} -> {reply.status_code}")
    if queue_size() != before:
        probe.problems.append("a refused request queued a resync")
    return probe


def _admin_app(engine: Engine, token: SecretStr | None) -> FastAPI:
    return create_admin_app(DatabaseAdminBackend(engine=engine, metrics=SyncdMetrics()), token)


def _serve(app: FastAPI) -> AdminServer:
    return AdminServer(app, "127.0.0.1:0").start()


def _queue_size(engine: Engine) -> Callable[[], int]:
    def size() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT count(*) FROM syncd.resync_requests")).scalar_one()
            )

    return size


@pytest.mark.slow
def test_the_admin_http_refuses_bad_tokens_on_every_guarded_route(daemon_run: DaemonRun) -> None:
    engine = daemon_run.engine
    app = _admin_app(engine, SecretStr(ADMIN_TOKEN))
    guarded, public = _guarded_and_public(app)
    server = _serve(app)
    try:
        assert set(public) <= REVIEWED_PUBLIC, (
            f"unreviewed public routes {set(public) - REVIEWED_PUBLIC}"
        )
        assert ("POST", "/resync") in guarded and ("GET", "/status") in guarded
        probe = _probe_guarded(server.base_url, guarded, _queue_size(engine))
    finally:
        server.stop()
    closed = AdminProbe()
    for token in (None, SecretStr("")):
        server = _serve(_admin_app(engine, token))
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                for method, template in guarded:
                    for auth in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer x"}):
                        reply = client.request(
                            method, fill_path(template, ADMIN_PATH_VALUES), headers=auth,
                            **({"json": {}} if method == "POST" else {}),
                        )  # fmt: skip
                        closed.requests += 1
                        if reply.status_code != 503:
                            closed.problems.append(f"no token configured: {method} {template}")
        finally:
            server.stop()
    assert probe.problems == []
    assert closed.problems == []
    # The running daemon's own admin port refuses them too (its token is wired in).
    assert daemon_run.live_refusals and set(daemon_run.live_refusals.values()) == {401}
    record(
        Outcome(
            category="security",
            name="admin HTTP: missing, wrong, malformed tokens",
            done=(
                f"every guarded route of the admin app ({len(guarded)}) called with "
                f"{len(_bad_authorizations())} bad authorizations (401, nothing queued), with "
                "the right one (passes), and with no token configured (503); the running "
                "daemon's own port without and with a wrong token (401)"
            ),
            runs=probe.requests + closed.requests + len(daemon_run.live_refusals),
            lost=None,
            duplicates=None,
            figures={
                "routes": len(guarded),
                "requests": probe.requests + closed.requests,
                "live_daemon_requests": len(daemon_run.live_refusals),
            },
        )
    )


@pytest.mark.slow
def test_the_public_admin_routes_of_a_running_daemon_leak_nothing(daemon_run: DaemonRun) -> None:
    run = daemon_run
    public = sorted(run.public)  # every route the admin app serves without a token
    assert public and set(public) <= REVIEWED_PUBLIC, public
    leaks: list[str] = []
    for path, reply in run.public.items():
        assert reply.status_code in (200, 503), (path, reply.status_code)
        text = reply.text + "\n" + "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
        leaks += [
            f"{path} {leak}"
            for leak in find_leaks(
                text, run.secrets, ssns=run.ssns, dates_of_birth=run.dates_of_birth
            )
        ]
        # Nor the database URL, nor any account of the SoR.
        if "postgresql" in text or "SEC-NEW-" in text:
            leaks.append(f"{path} shows a database URL or an account")
    assert leaks == [], "\n".join(leaks)
    record(
        Outcome(
            category="security",
            name="admin HTTP: public routes",
            done=(
                f"the public routes ({', '.join(sorted(public))}) of the running daemon read "
                "after the PII run; bodies and headers scanned"
            ),
            runs=len(public),
            lost=None,
            duplicates=None,
            figures={"bytes": sum(len(r.content) for r in run.public.values())},
        )
    )


# --------------------------------------------------------------------------- (a) analyst role

RELKINDS = "('r', 'v', 'm', 'p', 'f')"
APP_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"


def _as_analyst(engine: Engine, statement: str) -> list[Any]:
    with engine.connect() as conn:
        conn.execute(sa.text(f"SET ROLE {ANALYST_ROLE}"))
        try:
            return list(conn.execute(sa.text(statement)).all())
        finally:
            conn.rollback()


def _denied(engine: Engine, statement: str) -> bool:
    try:
        _as_analyst(engine, statement)
    except sa.exc.ProgrammingError as exc:
        return "permission denied" in str(exc)
    return False


def _readable_relations(conn: sa.Connection) -> set[str]:
    rows = conn.execute(
        sa.text(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE c.relkind IN {RELKINDS} AND {APP_SCHEMAS} AND ("
            "  has_table_privilege(:role, c.oid, 'SELECT') OR "
            "  has_any_column_privilege(:role, c.oid, 'SELECT'))"
        ),
        {"role": ANALYST_ROLE},
    )
    return {name for (name,) in rows}


def _writable_relations(conn: sa.Connection) -> set[str]:
    rows = conn.execute(
        sa.text(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE c.relkind IN {RELKINDS} AND {APP_SCHEMAS} AND "
            "has_table_privilege(:role, c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')"
        ),
        {"role": ANALYST_ROLE},
    )
    return {name for (name,) in rows}


def _pii_columns(conn: sa.Connection) -> list[tuple[str, str]]:
    """(relation, column) of every column anywhere in the database named like a PII column."""
    rows = conn.execute(
        sa.text(
            "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
            "WHERE column_name = ANY(:names) AND table_schema NOT IN "
            "('pg_catalog', 'information_schema')"
        ),
        {"names": list(PII_COLUMNS)},
    )
    return [(t, c) for t, c in rows]


def _privilege_problems(conn: sa.Connection) -> list[str]:
    problems: list[str] = []
    expected = {f"livevox.{v}" for v in (CONTACTS_VIEW, HISTORY_VIEW, *READABLE_TABLES)}
    readable = _readable_relations(conn)
    if readable != expected:
        problems.append(
            f"readable relations: extra {sorted(readable - expected)}, "
            f"missing {sorted(expected - readable)}"
        )
    if writable := _writable_relations(conn):
        problems.append(f"writable relations {sorted(writable)}")
    for relation, column in _pii_columns(conn):
        if conn.execute(
            sa.text("SELECT has_column_privilege(:role, :rel, :col, 'SELECT')"),
            {"role": ANALYST_ROLE, "rel": relation, "col": column},
        ).scalar_one():
            problems.append(f"may read {relation}.{column}")
    role = conn.execute(
        sa.text(
            "SELECT rolsuper, rolcanlogin, rolbypassrls, rolcreaterole, rolcreatedb, "
            "(SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) "
            "FROM pg_roles r WHERE rolname = :role"
        ),
        {"role": ANALYST_ROLE},
    ).one()
    if any(role[:5]) or role[5]:
        problems.append(f"role attributes or memberships: {tuple(role)}")
    creatable = conn.execute(
        sa.text(
            "SELECT n.nspname FROM pg_namespace n WHERE has_schema_privilege(:role, n.oid, "
            "'CREATE') UNION ALL SELECT 'database' WHERE has_database_privilege(:role, "
            "current_database(), 'CREATE')"
        ),
        {"role": ANALYST_ROLE},
    ).all()
    if creatable:
        problems.append(f"may create objects in {[n for (n,) in creatable]}")
    definers = conn.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE p.prosecdef AND {APP_SCHEMAS} "
            "AND has_function_privilege(:role, p.oid, 'EXECUTE')"
        ),
        {"role": ANALYST_ROLE},
    ).all()
    if definers:
        problems.append(f"may run SECURITY DEFINER functions {[d for (d,) in definers]}")
    return problems


@pytest.mark.slow
def test_the_analyst_role_reaches_no_pii(daemon_run: DaemonRun) -> None:
    engine = daemon_run.engine
    with engine.begin() as conn:
        problems = _privilege_problems(conn)
        readable = sorted(_readable_relations(conn))
        pii_columns = _pii_columns(conn)
        conn.execute(sa.text("ANALYZE livevox.contacts; ANALYZE sor.contacts"))
        mirror_pii = conn.execute(
            sa.text(
                "SELECT count(ssn), count(date_of_birth), "
                "(SELECT count(*) FROM livevox.contact_history "
                " WHERE changed_columns && ARRAY['ssn', 'date_of_birth']) FROM livevox.contacts"
            )
        ).one()
        stats_as_owner = conn.execute(
            sa.text("SELECT count(*) FROM pg_stats WHERE attname = ANY(:names)"),
            {"names": list(PII_COLUMNS)},
        ).scalar_one()
    # There is PII to protect: in the mirror, its history and in the statistics.
    assert mirror_pii[0] > 0 and mirror_pii[1] > 0 and mirror_pii[2] > 0, mirror_pii
    assert stats_as_owner > 0
    assert problems == []

    # Everything the role can read, as whole rows: no PII value in any form.
    texts = []
    for relation in readable:
        rows = _as_analyst(engine, f"SELECT row_to_json(t)::text FROM {relation} t")
        texts += [text for (text,) in rows]
        with engine.connect() as conn:
            assert not set(PII_COLUMNS) & set(_columns_of(conn, relation)), relation
    leaks = find_leaks(
        "\n".join(texts), ssns=daemon_run.ssns, dates_of_birth=daemon_run.dates_of_birth
    )
    assert leaks == [], "\n".join(leaks)
    stats = _as_analyst(
        engine,
        "SELECT tablename, attname FROM pg_stats WHERE attname IN "
        + "(" + ", ".join(f"'{c}'" for c in PII_COLUMNS) + ")",
    )  # fmt: skip
    assert stats == [], "pg_stats shows the role PII column statistics"

    # Every relation with a PII column refuses it to the role, by every route.
    attempts = 0
    for relation, column in pii_columns:
        if relation in readable:
            continue  # a PII-named column in a readable relation failed the check above
        for statement in (
            f"SELECT {column} FROM {relation}",
            f"SELECT * FROM {relation}",
            f"SELECT row_to_json(t) FROM {relation} t",
            f"SELECT count(*) FROM {relation}",
            f"SELECT query_to_xml('SELECT {column} FROM {relation}', true, false, '')",
            f"SELECT * FROM jsonb_to_recordset((SELECT jsonb_agg(t) FROM {relation} t)) "
            f"AS x({column} text)",
        ):
            attempts += 1
            assert _denied(engine, statement), statement
    assert attempts > 0
    record(
        Outcome(
            category="security",
            name="analyst role: no SSN or date of birth",
            done=(
                "privileges of syncd_analyst compared with the PII-free set; every readable "
                "relation read whole and scanned for the mirror's SSNs and dates of birth; "
                "every PII column refused by SELECT, SELECT *, row functions, count, "
                "query_to_xml; pg_stats and SECURITY DEFINER functions checked"
            ),
            runs=attempts + len(readable),
            lost=None,
            duplicates=None,
            figures={
                "readable": len(readable),
                "pii_columns": len(pii_columns),
                "refused": attempts,
                "rows_scanned": len(texts),
            },
        )
    )


# --------------------------------------------------------------------------- rejected rows


def test_a_rejected_export_row_keeps_no_pii(fresh_db: FreshDatabase) -> None:
    engine = create_engine_for(fresh_db.url)
    try:
        migrate.upgrade(engine)
        rows = [
            contact("REJ-1", firstName="Ok", ssn="734-20-1001", dateOfBirth="02/03/1937"),
            contact("REJ-2", balance="not-a-number", ssn="734201002", dateOfBirth="04/05/1938"),
        ]
        run_id = RunRepository(engine).start("test")
        with engine.begin() as conn:
            load_export(conn, list(ALL_KEYS), [body(rows)], run_id=run_id, mode="full")
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT raw, reason FROM syncd.rejected_rows")).all()
    finally:
        engine.dispose()
    assert len(stored) == 1 and "balance" in stored[0].reason, stored
    text = "\n".join(f"{row.raw}\n{row.reason}" for row in stored)
    assert find_leaks(text, ssns=["734201002"], dates_of_birth=[date(1938, 4, 5)]) == []


# --------------------------------------------------------------------------- whole-suite logs


@pytest.mark.slow
def test_every_reliability_daemon_log_is_clean(daemon_run: DaemonRun) -> None:
    """Runs last in this module: the suite's other logs and this module's daemon log."""
    logs = sorted(LOG_DIR.glob("*.log"))
    assert DAEMON_LOG in logs
    lines = 0
    failures: list[str] = []
    for log in logs:
        try:
            lines += assert_clean_log(log, KNOWN_SECRETS).lines
        except AssertionError as exc:
            failures.append(str(exc))
    assert failures == []
    record(
        Outcome(
            category="security",
            name="log scan: every reliability daemon log",
            done=(
                f"{len(logs)} daemon logs of this run scanned for SSN shapes, SSNs under an ssn "
                "key and the suite's well-known secrets"
            ),
            runs=len(logs),
            lost=None,
            duplicates=None,
            figures={"files": len(logs), "lines": lines},
        )
    )

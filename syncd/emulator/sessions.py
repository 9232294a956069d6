"""Users, roles and sessions of the emulated LiveVox platform.

Login (`POST /session/login`, header `LV-Access`) checks the access token, the client name and
the user's password, and returns a session id. Logging in again with the same user while the
session is live returns the same session. A session expires after `idle_seconds` without use;
every authenticated call extends it (rolling), measured on the emulator's clock.
"""

from __future__ import annotations

import hmac
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import Clock
from .errors import Unauthorized

SYSADMIN = "Sysadmin"
SUPERUSER = "Superuser"
MANAGER = "Manager"
IT_USER = "IT User"
ROLES = (SYSADMIN, SUPERUSER, MANAGER, IT_USER)
DEFAULT_ROLES = frozenset({SYSADMIN, SUPERUSER, MANAGER})
"""Roles allowed where the spec names none ("Sysadmin, Superuser, or Manager")."""
USER_ID_BASE = 595_000
PASSWORD_DAYS = 90


@dataclass(frozen=True)
class User:
    name: str
    password: str
    role: str
    id: int


@dataclass
class Session:
    id: str
    user: User
    last_used: datetime


class SessionManager:
    def __init__(
        self,
        *,
        users: Mapping[str, tuple[str, str]],
        access_token: str,
        client_name: str,
        client_id: int,
        idle_seconds: float,
        clock: Clock,
    ) -> None:
        self._users = {
            name: User(name, password, role, USER_ID_BASE + i)
            for i, (name, (password, role)) in enumerate(sorted(users.items()))
        }
        unknown = {u.role for u in self._users.values()} - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)} (known: {', '.join(ROLES)})")
        self._token = access_token
        self._client_name = client_name
        self.client_id = client_id
        self._idle = timedelta(seconds=idle_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def _live(self, session: Session, now: datetime) -> bool:
        return now - session.last_used < self._idle

    def login(
        self, *, token: str | None, client_name: str, user_name: str, password: str
    ) -> Session:
        user = self._users.get(user_name)
        ok = (
            token is not None
            and hmac.compare_digest(token.encode(), self._token.encode())
            and client_name == self._client_name
            and user is not None
            and hmac.compare_digest(password.encode(), user.password.encode())
        )
        if not ok or user is None:
            raise Unauthorized("Invalid access token, client name, user name or password")
        now = self._clock.now()
        with self._lock:
            # forget expired sessions, so the table stays as small as the live ones
            for stale in [k for k, v in self._sessions.items() if not self._live(v, now)]:
                del self._sessions[stale]
            for session in self._sessions.values():
                if session.user.name == user_name:
                    session.last_used = now
                    return session
            session = Session(str(uuid.uuid4()), user, now)
            self._sessions[session.id] = session
            return session

    def touch(self, session_id: str | None) -> Session | None:
        """The live session with this id, its idle timer restarted; None when there is none."""
        if not session_id:
            return None
        now = self._clock.now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if not self._live(session, now):
                del self._sessions[session_id]
                return None
            session.last_used = now
            return session

    def logout(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def drop_all(self) -> None:
        with self._lock:
            self._sessions.clear()

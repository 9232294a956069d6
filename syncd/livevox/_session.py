"""The LiveVox session id shared by every thread of one client.

Login is lazy (first call that needs a session) and serialised: one lock guards both the id
and the login, so threads arriving together wait for the one login in flight instead of
each opening their own. After a 401 a thread calls ``invalidate(stale)`` with the id it
used; the id is dropped only if it is still the current one, so when several threads meet
the same expiry only the first triggers a new login and the others reuse its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from syncd.livevox._models import SessionInfo


class SessionHolder:
    """Holds the current session; ``login`` performs the HTTP login when one is needed."""

    def __init__(self, login: Callable[[], SessionInfo]) -> None:
        self._login = login
        self._lock = threading.Lock()
        self._info: SessionInfo | None = None
        self.logins = 0

    def ensure(self) -> str:
        """The current session id, logging in first if there is none."""
        with self._lock:
            if self._info is None:
                self._info = self._login()
                self.logins += 1
            return self._info.session_id.get_secret_value()

    def refresh(self) -> SessionInfo:
        """Log in now (explicit login), replacing any current session."""
        with self._lock:
            self._info = self._login()
            self.logins += 1
            return self._info

    def current(self) -> str | None:
        with self._lock:
            return None if self._info is None else self._info.session_id.get_secret_value()

    def invalidate(self, stale: str) -> bool:
        """Forget ``stale`` if it is still current; True when this call dropped it."""
        with self._lock:
            if self._info is not None and self._info.session_id.get_secret_value() == stale:
                self._info = None
                return True
            return False

    def take(self) -> str | None:
        """Remove and return the current session id (for logout)."""
        with self._lock:
            info, self._info = self._info, None
            return None if info is None else info.session_id.get_secret_value()

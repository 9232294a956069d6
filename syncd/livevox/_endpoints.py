"""Every LiveVox endpoint the client calls, with how safe it is to send twice.

``Safety`` drives the retry policy (see ``_retry``):

- READ: no side effects (GETs, search, the export). Every transient failure is retried,
  500 included *(our choice: a read cannot do harm by being repeated)*.
- IDEMPOTENT: sending it twice leaves the same state as once. Field updates set values; the
  DND actions are idempotent by the spec's table (``f(f(s)) == f(s)`` for every action, a
  property the tests check on the table); login returns the same live session; delete and
  single create detect a replay (404 / 202 "already exists" after a lost attempt). Retried on
  429, 502/503/504 and network failures, but *not* on 500: a 500 on a write is more likely a
  rejection the server will repeat than a passing outage.
- UNSAFE: a replay could apply twice (bulk create, create group: LiveVox allows duplicate
  group names). Retried only when LiveVox provably did not process the request: 429, or a
  connection that never opened. Anything else surfaces at once (``OutcomeUnknownError`` when
  the reply was lost) so the caller can reconcile before trying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Safety(Enum):
    READ = "read"
    IDEMPOTENT = "idempotent"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API method: name for logs, HTTP method, service and path template."""

    name: str
    method: str
    service: str
    template: str
    safety: Safety
    authenticated: bool = True


def _contact(name: str, method: str, template: str, safety: Safety) -> Endpoint:
    return Endpoint(name, method, "contact", template, safety)


LOGIN = Endpoint("session.login", "POST", "session", "login", Safety.IDEMPOTENT, False)
VALIDATE = Endpoint("session.validate", "GET", "session", "validate/{session}", Safety.READ, False)
LOGOUT = Endpoint("session.logout", "DELETE", "session", "logout/{session}", Safety.IDEMPOTENT,
                  False)

EXPORT = _contact("contacts.export", "POST", "contacts/bulk", Safety.READ)
CREATE = _contact("contacts.create", "POST", "contacts/", Safety.IDEMPOTENT)
BULK_CREATE = _contact("contacts.bulk_create", "POST", "contacts/bulk", Safety.UNSAFE)
DELETE = _contact("contacts.delete", "DELETE", "contacts/{account}", Safety.IDEMPOTENT)
SEARCH = _contact("contacts.search", "POST", "contacts/search", Safety.READ)
LIST = _contact("contacts.list", "GET", "contacts", Safety.READ)
READ = _contact("contacts.read", "GET", "contacts/{account}", Safety.READ)
UPDATE = _contact("contacts.update", "PUT", "contacts/{account}", Safety.IDEMPOTENT)
BULK_UPDATE = _contact("contacts.bulk_update", "PUT", "contacts/bulk", Safety.IDEMPOTENT)
UPDATE_DND = _contact("contacts.update_dnd", "PUT", "contacts/{account}/dnd", Safety.IDEMPOTENT)
BULK_DND = _contact("contacts.bulk_dnd", "POST", "contacts/dnd", Safety.IDEMPOTENT)
ACCOUNTS = _contact("contacts.accounts", "GET", "contacts/{contact_id}/accounts", Safety.READ)

GROUP_CREATE = _contact("groups.create", "POST", "contactGroups", Safety.UNSAFE)
GROUP_LIST = _contact("groups.list", "GET", "contactGroups", Safety.READ)
GROUP_READ = _contact("groups.read", "GET", "contactGroups/{group_id}", Safety.READ)
GROUP_UPDATE = _contact("groups.update", "PUT", "contactGroups/{group_id}", Safety.IDEMPOTENT)

NOTES_LIST = _contact("notes.list", "GET", "contacts/{account}/notes/", Safety.READ)
NOTES_READ = _contact("notes.read", "GET", "contacts/{account}/notes/{note_id}", Safety.READ)

CUSTOM_LIST = _contact("custom_fields.list", "GET", "contacts/customFields", Safety.READ)
CUSTOM_READ = _contact("custom_fields.read", "GET", "contacts/customFields/{field}", Safety.READ)
CUSTOM_UPDATE = _contact("custom_fields.update", "PUT", "contacts/customFields",
                         Safety.IDEMPOTENT)

ALL_ENDPOINTS: tuple[Endpoint, ...] = (
    LOGIN, VALIDATE, LOGOUT,
    EXPORT, CREATE, BULK_CREATE, DELETE, SEARCH, LIST, READ, UPDATE, BULK_UPDATE,
    UPDATE_DND, BULK_DND, ACCOUNTS,
    GROUP_CREATE, GROUP_LIST, GROUP_READ, GROUP_UPDATE,
    NOTES_LIST, NOTES_READ,
    CUSTOM_LIST, CUSTOM_READ, CUSTOM_UPDATE,
)  # fmt: skip

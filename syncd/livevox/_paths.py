"""API paths: the version prefix, and resolving the ``next`` links of paged listings.

Paths have the shape ``/{service}[/{version}]/{rest}`` (``/contact/v6.0/contacts``,
``/session/login``). LiveVox writes ``next`` in several forms, all seen in the spec:
``contact/contacts?offset=10&count=10`` (no leading slash), ``/contact/contacts/search?offset=5``
(no count), ``contact/contactGroups/?offset=10&count=10`` (trailing slash); a real server may
also send an absolute URL or a versioned path. ``resolve_next`` reads any of them *relative to
the configured base*: it keeps only the path and query, drops a version segment and puts the
configured one back, drops the trailing slash (the same collection), reads a path without a
service segment as relative to the caller's service, and fills parameters the link leaves out
(``count``) from the request that produced it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

SERVICES = frozenset({"contact", "session"})
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)*$")


def quote_segment(value: str | int) -> str:
    """One path segment, percent-encoded (an account may hold '/', '?' or spaces)."""
    return quote(str(value), safe="")


class ApiPaths:
    """Builds request paths for one API version (None = unversioned)."""

    def __init__(self, api_version: str | None) -> None:
        self.api_version = api_version

    def path(self, service: str, rest: str) -> str:
        parts = [service]
        if self.api_version:
            parts.append(self.api_version)
        if rest:
            parts.append(rest.lstrip("/"))
        return "/" + "/".join(parts)

    def resolve_next(
        self,
        next_link: str,
        *,
        default_service: str,
        previous_params: Mapping[str, str],
    ) -> tuple[str, dict[str, str]]:
        """(path, query parameters) of the page a ``next`` link points to."""
        parts = urlsplit(next_link.strip())
        segments = [s for s in parts.path.split("/") if s]
        if not segments or segments[0] not in SERVICES:
            segments.insert(0, default_service)
        service, rest = segments[0], segments[1:]
        if rest and _VERSION_SEGMENT.match(rest[0]):
            rest = rest[1:]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name in ("count",):
            if name not in params and name in previous_params:
                params[name] = previous_params[name]
        return self.path(service, "/".join(rest)), params

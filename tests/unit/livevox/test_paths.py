"""Version prefixes and every form of ``next`` link resolve under the configured base."""

from __future__ import annotations

import pytest

from syncd.livevox._paths import ApiPaths, quote_segment


@pytest.mark.parametrize(
    ("version", "service", "rest", "expected"),
    [
        (None, "contact", "contacts", "/contact/contacts"),
        ("v6.0", "contact", "contacts/bulk", "/contact/v6.0/contacts/bulk"),
        ("v6.0", "session", "login", "/session/v6.0/login"),
        (None, "contact", "contacts/", "/contact/contacts/"),
    ],
)
def test_paths(version: str | None, service: str, rest: str, expected: str) -> None:
    assert ApiPaths(version).path(service, rest) == expected


@pytest.mark.parametrize(
    ("link", "expected_path", "expected_params"),
    [
        ("contact/contacts?offset=10&count=10", "contacts", {"offset": "10", "count": "10"}),
        ("/contact/contacts/search?offset=5", "contacts/search", {"offset": "5", "count": "5"}),
        ("contact/contactGroups/?offset=10&count=10", "contactGroups",
         {"offset": "10", "count": "10"}),
        ("contact/contacts/qa123/accounts?offset=2&count=2", "contacts/qa123/accounts",
         {"offset": "2", "count": "2"}),
        ("/contact/v5.0/contacts?offset=3&count=3", "contacts", {"offset": "3", "count": "3"}),
        ("https://elsewhere.example/contact/v6.0/contacts?offset=4", "contacts",
         {"offset": "4", "count": "5"}),
        ("contacts?offset=7&count=7", "contacts", {"offset": "7", "count": "7"}),
    ],
)
@pytest.mark.parametrize("version", [None, "v6.0"])
def test_next_links_resolve_relative_to_base_and_keep_version(
    link: str, expected_path: str, expected_params: dict[str, str], version: str | None
) -> None:
    paths = ApiPaths(version)
    path, params = paths.resolve_next(
        link, default_service="contact", previous_params={"offset": "0", "count": "5"}
    )
    assert path == paths.path("contact", expected_path)
    assert params == expected_params


def test_quote_segment_escapes_everything() -> None:
    assert quote_segment("a/b c?") == "a%2Fb%20c%3F"
    assert quote_segment(42) == "42"

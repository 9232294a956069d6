"""Caller-named request ids: each call in `request_ids(base)` sends base, base.2, ...;
outside, a random id; threads sharing a client keep their own."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from syncd.livevox import LiveVoxClient, request_ids
from syncd.livevox._request_ids import new_request_id
from tests.unit.livevox.conftest import FakeLiveVox, json_response


def test_calls_inside_are_numbered_under_the_base_and_outside_are_random() -> None:
    with request_ids("push-00000001-000001"):
        ids = [new_request_id() for _ in range(3)]
        with request_ids("inner"):
            assert new_request_id() == "inner"
        assert new_request_id() == "push-00000001-000001.4"  # the outer count goes on
    assert ids == ["push-00000001-000001", "push-00000001-000001.2", "push-00000001-000001.3"]
    first, second = new_request_id(), new_request_id()
    assert first != second and len(first) == 32 and "push" not in first


def test_each_thread_keeps_its_own_ids() -> None:
    seen: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def work(base: str) -> None:
        with request_ids(base):
            start.wait()  # both contexts are open at once
            seen[base] = [new_request_id(), new_request_id()]

    threads = [threading.Thread(target=work, args=(b,)) for b in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": ["a", "a.2"], "b": ["b", "b.2"]}


@pytest.mark.parametrize("base", ["", "x" * 201, "line\nbreak", "caf\u00e9"])
def test_an_id_that_cannot_be_a_header_value_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"), request_ids(base):
        pass


def test_the_named_id_is_on_the_wire_and_kept_by_retries(
    make_client: Callable[..., tuple[LiveVoxClient, FakeLiveVox]],
) -> None:
    answers = iter([503, 200, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(next(answers), {"valid": True})

    client, fake = make_client(handler)
    with request_ids("push-0000beef-000042"):
        client.list_custom_fields()  # the call (503, retried) logs in first, under .2
    client.list_custom_fields()
    sent = [(r.url.path.rsplit("/", 1)[-1], r.headers["x-request-id"]) for r in fake.requests]
    assert sent[:3] == [
        ("login", "push-0000beef-000042.2"),
        ("customFields", "push-0000beef-000042"),  # the call ...
        ("customFields", "push-0000beef-000042"),  # ... and its retry
    ]
    assert sent[3][0] == "customFields" and len(sent[3][1]) == 32  # outside: random again

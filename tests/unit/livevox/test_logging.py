"""Log events: dotted names, endpoint templates, and never a token, password or session id."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from syncd.livevox import LiveVoxClient, ServiceUnavailableError
from tests.unit.livevox.conftest import PASSWORD, TOKEN, FakeLiveVox, json_response

Factory = Callable[..., tuple[LiveVoxClient, FakeLiveVox]]


def test_events_and_no_secrets(make_client: Factory) -> None:
    answers = iter([json_response(503, {"code": 503})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or json_response(200, {"readContactDetails": {"account": "x"}})

    client, fake = make_client(handler)
    with capture_logs() as logs:
        client.read_contact("ACCT-PRIVATE")
        fake.expire_all()
        client.read_contact("ACCT-PRIVATE")
        client.validate_session()
        client.close()
    events = [e["event"] for e in logs]
    for name in ("livevox.login", "livevox.request", "livevox.retry", "livevox.relogin",
                 "livevox.logout"):
        assert name in events
    secrets = [TOKEN, PASSWORD, *fake.sessions, "ACCT-PRIVATE"]
    for entry in logs:
        text = repr(entry)
        for secret in secrets:
            assert secret not in text, (secret, entry)


def test_errors_never_hold_secrets(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(503, {"code": 503}), max_attempts=1)
    with pytest.raises(ServiceUnavailableError) as info:
        client.read_contact("ACCT-PRIVATE")
    text = str(info.value) + repr(info.value.__dict__)
    for secret in [TOKEN, PASSWORD, *fake.sessions, "ACCT-PRIVATE"]:
        assert secret not in text

"""The emulator's OpenAPI document says what it answers, and bodies it cannot store are 400s.

Regressions found by the reliability suite's fuzzing (`tests/reliability/test_openapi_fuzz.py`):
the generated document declared a 422 the emulator never sends, no error answers, no bodies,
no session header, no paging; a JSON body nested 100,000 deep was a 500 (RecursionError); a
`\\udc00` escape was stored and then broke every read and export of that contact.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.deps import parse_json
from syncd.emulator.errors import BadRequest
from syncd.emulator.openapi import build_document

from .conftest import RunningEmulator


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(create_app(EmulatorConfig(contacts=1, seed=1)))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_no_operation_claims_a_422_and_every_error_has_the_livevox_body(
    document: dict[str, Any],
) -> None:
    error_ref = {"$ref": "#/components/schemas/LiveVoxError"}
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        assert "400" in responses, (method, path)
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == error_ref
    schema = document["components"]["schemas"]["LiveVoxError"]
    assert schema["required"] == ["code", "message"]


def test_bodies_sessions_paging_and_success_codes_are_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    bulk_update = paths["/contact/contacts/bulk"]["put"]
    assert bulk_update["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert bulk_update["security"] == [{"LVSession": []}]
    assert "401" in bulk_update["responses"] and "403" in bulk_update["responses"]
    assert paths["/session/login"]["post"]["security"] == [{"LVAccess": []}]
    assert "security" not in paths["/_emulator/clock"]["post"]
    assert "requestBody" not in paths["/contact/contacts/{account}"]["get"]

    listing = {p["name"]: p for p in paths["/contact/contacts"]["get"]["parameters"]}
    assert listing["count"]["required"] and listing["offset"]["required"]
    assert set(paths["/contact/contacts/{account}"]["put"]["responses"]) >= {"204", "404"}
    assert "200" not in paths["/contact/contacts/{account}"]["put"]["responses"]
    assert set(paths["/contact/contacts/"]["post"]["responses"]) >= {"201", "202"}
    download = paths["/contact/contacts/bulk"]["post"]["responses"]["200"]["content"]
    assert "text/csv" in download
    schemes = document["components"]["securitySchemes"]
    assert schemes["LVSession"] == {"type": "apiKey", "in": "header", "name": "LV-Session"}


def test_the_served_document_is_the_corrected_one(emu: RunningEmulator) -> None:
    served = emu.http().get("/_emulator/openapi.json").json()
    assert served["components"]["securitySchemes"]["LVSession"]["name"] == "LV-Session"
    assert all("422" not in op["responses"] for _, _, op in _operations(served))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON body: nested too deeply"),
        (b'{"a": ["x\\udc00"]}', "lone surrogate escape"),
        (b'{"\\ud800": 1}', "lone surrogate escape"),
    ],
    ids=["deep nesting", "surrogate in a value", "surrogate in a key"],
)
def test_json_a_contact_could_not_hold_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_json(raw)


def test_a_surrogate_pair_is_a_character_and_passes() -> None:
    assert parse_json(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_a_lone_surrogate_never_reaches_a_contact(
    emu: RunningEmulator, admin: httpx.Client
) -> None:
    body = (
        b'{"updateContactDetails": [{"account": "ACC0000001", '
        b'"person": {"firstName": "x\\udc00y"}}]}'
    )
    answer = admin.put(
        "/contact/contacts/bulk", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert "lone surrogate escape" in answer.json()["message"]
    # The contact still reads and exports (a stored surrogate broke both before).
    assert admin.get("/contact/contacts/ACC0000001").status_code == 200
    export = admin.post(
        "/contact/contacts/bulk", json={"exportableFields": ["account", "firstName"]}
    )
    assert export.status_code == 200 and "ACC0000001" in export.text

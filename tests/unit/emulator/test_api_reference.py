"""Contact groups, notes and custom fields over HTTP."""

from __future__ import annotations

import httpx

from .conftest import START, RunningEmulator


def test_groups_create_list_read_update(admin: httpx.Client, emu: RunningEmulator) -> None:
    created = admin.post("/contact/contactGroups", json={"name": "Client BOA"})
    assert created.status_code == 201
    group_id = created.json()["id"]
    assert isinstance(group_id, int)

    read = admin.get(f"/contact/contactGroups/{group_id}").json()
    assert read["name"] == "Client BOA" and read["createdBy"] == "admin"
    assert read["createdAt"] == int(START.timestamp() * 1000)

    emu.clock.advance(5)
    renamed = admin.put(f"/contact/contactGroups/{group_id}", json={"name": "BOA Agents"})
    assert renamed.status_code == 204
    read = admin.get(f"/contact/contactGroups/{group_id}").json()
    assert read["name"] == "BOA Agents" and read["modifiedAt"] == read["createdAt"] + 5000

    missing = admin.put("/contact/contactGroups/1234567353", json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json() == {"code": 203, "message": "Contact group with 1234567353 not found"}
    assert admin.get("/contact/contactGroups/99").json()["code"] == 203
    assert admin.post("/contact/contactGroups", json={}).status_code == 400


def test_groups_page_with_the_spec_next_form(admin: httpx.Client) -> None:
    first = admin.get("/contact/contactGroups?count=4&offset=0").json()
    everything = admin.get("/contact/contactGroups?count=100&offset=0").json()

    assert len(first["contactGroup"]) == 4
    assert first["next"] == "contact/contactGroups/?offset=4&count=4"
    assert "next" not in everything and len(everything["contactGroup"]) == 10
    ids = [g["id"] for g in everything["contactGroup"]]
    assert ids == sorted(ids)
    # the spec's example writes its parameters in braces
    assert admin.get("/contact/contactGroups?count={10}&offset={0}").status_code == 200
    assert admin.get("/contact/contactGroups?offset=0").status_code == 400


def test_notes_list_and_read(admin: httpx.Client, emu: RunningEmulator) -> None:
    generator = emu.state.store.generator
    index = next(i for i in range(30) if generator.notes(i))
    account = generator.account(index)
    notes = generator.notes(index)

    listed = admin.get(f"/contact/contacts/{account}/notes/").json()
    assert listed == {"listContactNotes": [{"id": n.id, "note": n.note} for n in notes]}
    assert admin.get(f"/contact/contacts/{account}/notes").json() == listed
    read = admin.get(f"/contact/contacts/{account}/notes/{notes[0].id}").json()
    assert set(read) == {"id", "note", "sessionId", "transactionId", "createDate",
                         "modifiedDate"}
    assert read["note"] == notes[0].note
    assert admin.get(f"/contact/contacts/{account}/notes/1").json()["code"] == 203
    assert admin.get("/contact/contacts/NOPE/notes/").status_code == 404
    assert admin.post("/contact/contacts/", json={"createContactDetails": {"account": "Q"}}
                      ).status_code == 201
    assert admin.get("/contact/contacts/Q/notes/").json() == {"listContactNotes": []}


def test_custom_field_updates_drive_definitions_and_export_headers(
    admin: httpx.Client,
) -> None:
    body = {
        "customFields": [
            {"field": "COL11", "label": "Balance Due After Date"},
            {"field": "COL30", "label": "Colour", "dataType": "LIST",
             "listValues": ["blue", "green"]},
        ]
    }
    assert admin.put("/contact/contacts/customFields", json=body).status_code == 204

    assert admin.get("/contact/contacts/customFields/COL11").json() == {
        "field": "COL11", "label": "Balance Due After Date", "dataType": "NUMBER",
    }
    assert admin.get("/contact/contacts/customFields/COL30").json()["listValues"] == [
        "blue", "green",
    ]
    replace = {"customFields": [{"field": "COL30", "label": "Colour", "dataType": "LIST",
                                 "listValues": ["red"]}]}
    admin.put("/contact/contacts/customFields", json=replace)
    assert admin.get("/contact/contacts/customFields/COL30").json()["listValues"] == ["red"]

    listed = [f["field"] for f in admin.get("/contact/contacts/customFields").json()[
        "customFields"]]
    assert "COL30" in listed and listed == sorted(listed, key=lambda f: int(f[3:]))
    header = admin.post(
        "/contact/contacts/bulk",
        json={"exportableFields": ["account", "COL30", "COL11", "COL99"]},
    ).text.split("\r\n")[0]
    assert header == "Account,Colour,Balance Due After Date,COL99"

    bad = admin.put("/contact/contacts/customFields",
                    json={"customFields": [{"field": "COL101", "label": "x"}]})
    assert bad.status_code == 400 and "COL101" in bad.json()["message"]
    assert admin.get("/contact/contacts/customFields/COL99").json()["code"] == 203
    assert admin.get("/contact/contacts/customFields/COLOUR").status_code == 400

"""Generated contacts: a pure function of (seed, index), realistic and within the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from syncd.emulator.fields import load_fields
from syncd.emulator.generator import ID_BASE, ContactGenerator
from syncd.emulator.seed_data import CUSTOM_FIELDS, GROUPS

HISTORY_END = datetime(2025, 1, 1, tzinfo=UTC)


def generator(seed: int = 1, count: int = 2000) -> ContactGenerator:
    return ContactGenerator(
        seed=seed, count=count, account_prefix="ACC", client_id=1001, history_end=HISTORY_END
    )


def test_same_seed_and_index_give_the_same_contact_and_seeds_differ() -> None:
    a, b, other = generator(seed=5), generator(seed=5), generator(seed=6)

    assert [a.sparse(i) for i in range(50)] == [b.sparse(i) for i in range(50)]
    assert a.notes(7) == b.notes(7)
    assert a.accounts(7) == b.accounts(7)
    differing = sum(a.sparse(i)["firstName"] != other.sparse(i)["firstName"] for i in range(50))
    assert differing > 25


def test_accounts_and_ids_round_trip() -> None:
    g = generator(count=1_000_000)

    assert g.account(0) == "ACC0000001"
    assert g.account(999_999) == "ACC1000000"
    assert g.index_of_account("ACC0000042") == 41
    assert g.index_of_account("ACC1000001") is None  # beyond count
    assert g.index_of_account("ACC42") is None  # not the canonical spelling
    assert g.index_of_account("XYZ0000001") is None
    assert g.lv_id(41) == ID_BASE + 41 and g.index_of_id(ID_BASE + 41) == 41
    assert g.index_of_id(ID_BASE - 1) is None
    assert g.sparse(41)["lvAccountId"] == ID_BASE + 41 != g.sparse(41)["account"]


def test_contacts_follow_the_rules() -> None:
    g = generator()
    catalog = load_fields()
    configured = {cf.field for cf in CUSTOM_FIELDS}
    group_ids = {group.id for group in GROUPS}
    permanent_dnd = 0
    for index in range(2000):
        record = g.sparse(index)
        assert set(record) <= set(catalog.keys)
        assert record["createDate"] <= record["modifyDate"] < HISTORY_END
        assert record["modifyDate"] == g.modify_date(index)
        # no daily state: it belongs to a day, and generated history is in the past
        assert not any(k.endswith("BlockDaily") or k.endswith("Today") for k in record)
        phones = [n for n in range(1, 11) if f"phone{n}" in record]
        assert phones == list(range(1, len(phones) + 1)) and 1 <= len(phones) <= 4
        assert all(len(record[f"phone{n}"]) == 10 for n in phones)
        assert {k for k in record if k.startswith("COL")} <= configured
        assert record.get("groupId", next(iter(group_ids))) in group_ids
        assert isinstance(record["balance"], Decimal) and record["balance"] >= 0
        assert isinstance(record.get("dueDate", date.today()), date)
        permanent_dnd += bool(record.get("accountBlock"))
    assert 0 < permanent_dnd < 200  # some, not many


def test_newest_modify_date_bounds_every_contact() -> None:
    g = generator()

    assert max(g.modify_date(i) for i in range(2000)) < g.newest_modify_date


def test_notes_belong_to_their_contact_and_a_good_share_has_some() -> None:
    g = generator()

    with_notes = [i for i in range(500) if g.notes(i)]
    assert 100 < len(with_notes) < 300
    for index in with_notes[:50]:
        for note in g.notes(index):
            assert g.note_index(note.id) == index
            assert note.create_date <= note.modified_date < HISTORY_END


def test_accounts_are_sorted_by_name_with_distinct_ids() -> None:
    g = generator()

    counts = {len(g.accounts(i)) for i in range(200)}
    assert counts == {0, 1, 2, 3}
    for index in range(200):
        accounts = g.accounts(index)
        assert [a["name"] for a in accounts] == sorted(a["name"] for a in accounts)
        assert len({a["id"] for a in accounts}) == len(accounts)

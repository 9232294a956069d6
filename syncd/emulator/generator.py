"""Deterministic generated contacts, notes and accounts.

A generated contact is a pure function of (seed, index): a `random.Random` seeded from both
draws every value, so nothing is kept in memory and a 1M-contact emulator costs no more RAM
than a 10-contact one. The store layers an overlay of changes on top.

`sparse(index)` returns only the fields that differ from the catalog defaults (about 50 of
the 217), which is what both the JSON views (after merging defaults) and the CSV export's
fast path need. The first two draws of every contact's stream are its create and modify
instants, so `modify_date(index)` is cheap for date-range exports.

Generated contacts never carry a daily DND and their "today" counters are zero: daily state
belongs to the day it was set, and generated history lies entirely in the past.
"""

from __future__ import annotations

import hashlib
import random
import sys
from array import array
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from . import seed_data as sd

ID_BASE = 1_000_000_000
"""lvAccountId of generated contact 0; contact i has ID_BASE + i."""
NOTE_ID_BASE = 10_000_000
ACCOUNT_ID_BASE = 50_000
CUSTOM_BLOCKS = 4096
_PER_CONTACT = 4  # id slots per contact for notes and accounts

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_from_ordinal = date.fromordinal
_WORDS = 128  # 16-bit words per contact; a contact draws at most ~90
_BIG_ENDIAN = sys.byteorder == "big"
_DOB_ORDINAL = date(1940, 1, 1).toordinal()
_GROUP_IDS = tuple(group.id for group in sd.GROUPS)
_FIRST = sd.FIRST_NAMES
_LAST = sd.LAST_NAMES
_PLACES = sd.PLACES
_USERS = sd.USERS
_STREETS = sd.STREETS
_DOMAINS = sd.EMAIL_DOMAINS
_SALUTATIONS = sd.SALUTATIONS
_TITLES = sd.TITLES
_DEPARTMENTS = sd.DEPARTMENTS
_DESCRIPTIONS = sd.DESCRIPTIONS
_PHONE_KEYS = tuple(
    (f"phone{n}", f"phone{n}AttemptsTotal", f"phone{n}SmsConsent", f"phone{n}CellConsent",
     f"phone{n}Block")
    for n in range(1, 11)
)
_SPAN_SECONDS = 5 * 365 * 86400
_DAY = 86400
_COUNTRY = "UNITED_STATES_OF_AMERICA"


class Note(NamedTuple):
    id: int
    note: str
    session_id: str
    transaction_id: int
    create_date: datetime
    modified_date: datetime


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ContactGenerator:
    """Generates contact `index` (0-based) of `count` for one seed."""

    def __init__(
        self,
        *,
        seed: int,
        count: int,
        account_prefix: str,
        client_id: int,
        history_end: datetime,
        custom_fields: Sequence[sd.CustomFieldSeed] = sd.CUSTOM_FIELDS,
        group_ids: Sequence[int] = _GROUP_IDS,
    ) -> None:
        self.seed = seed
        self.count = count
        self.account_prefix = account_prefix
        self.client_id = client_id
        self.history_end = history_end.astimezone(UTC).replace(microsecond=0)
        self._end_s = int(self.history_end.timestamp())
        self._groups = tuple(group_ids)
        self._seed_key = hashlib.shake_128(str(seed).encode()).digest(8)
        self._due_ordinal = (self.history_end - timedelta(days=120)).date().toordinal()
        self._custom_blocks = self._make_custom_blocks(tuple(custom_fields))

    # -- identity ---------------------------------------------------------------------------

    def account(self, index: int) -> str:
        return f"{self.account_prefix}{index + 1:07d}"

    def index_of_account(self, account: str) -> int | None:
        prefix = self.account_prefix
        if not account.startswith(prefix):
            return None
        digits = account[len(prefix):]
        if not digits.isascii() or not digits.isdigit():
            return None
        index = int(digits) - 1
        if 0 <= index < self.count and self.account(index) == account:
            return index
        return None

    @staticmethod
    def lv_id(index: int) -> int:
        return ID_BASE + index

    def index_of_id(self, lv_id: int) -> int | None:
        index = lv_id - ID_BASE
        return index if 0 <= index < self.count else None

    @property
    def newest_modify_date(self) -> datetime:
        """No generated contact was modified at or after this instant."""
        return self.history_end

    # -- contacts ---------------------------------------------------------------------------

    def _rng(self, index: int, purpose: int) -> random.Random:
        """A full `random.Random` for the less hot streams (notes, accounts)."""
        return random.Random(int.from_bytes(self._key(index, purpose), "little"))

    def _key(self, index: int, purpose: int) -> bytes:
        return self._seed_key + index.to_bytes(8, "little") + bytes((purpose,))

    def _words(self, index: int) -> Callable[[], int]:
        """The contact's stream of uniform 16-bit words (`_WORDS` of them).

        Seeding a Mersenne Twister per contact costs ~3.6 us; hashing (seed, index) with
        SHAKE-128 into enough words for one contact costs ~1 us, which the export feels.
        """
        words = array("H", hashlib.shake_128(self._key(index, 0)).digest(2 * _WORDS))
        if _BIG_ENDIAN:
            words.byteswap()
        return iter(words).__next__

    def _dates(self, nx: Callable[[], int]) -> tuple[int, int]:
        create_s = self._end_s - _DAY - (((nx() << 16) | nx()) * _SPAN_SECONDS >> 32)
        modify_s = create_s + (((nx() << 16) | nx()) * (self._end_s - 1 - create_s) >> 32)
        return create_s, modify_s

    def modify_date(self, index: int) -> datetime:
        return _at(self._dates(self._words(index))[1])

    def sparse(self, index: int) -> dict[str, Any]:
        """The generated contact's fields that differ from the catalog defaults."""
        standard, block = self.parts(index)
        standard.update(self._custom_blocks[block])
        return standard

    def custom_block(self, block: int) -> dict[str, str]:
        """Custom values of block `block` (shared by many contacts; do not mutate)."""
        return self._custom_blocks[block]

    def parts(self, index: int) -> tuple[dict[str, Any], int]:
        """The non-custom fields that differ from the defaults, and the custom block number.

        Custom values come from a pool of `CUSTOM_BLOCKS` precomputed combinations, one picked
        per contact: realistic enough, and the export formats each block once, not per row.

        Draw idioms on 16-bit words w: `seq[w * len(seq) >> 16]` picks, `w < p * 65536` is a
        chance p (the product is folded at compile time), two words make a 32-bit draw.
        """
        nx = self._words(index)
        create_s, modify_s = self._dates(nx)
        account = self.account(index)
        first = _FIRST[nx() * len(_FIRST) >> 16]
        last = _LAST[nx() * len(_LAST) >> 16]
        city, state, zip3, area = _PLACES[nx() * len(_PLACES) >> 16]
        d: dict[str, Any] = {
            "account": account,
            "lvAccountId": ID_BASE + index,
            "clientId": self.client_id,
            "firstName": first,
            "lastName": last,
            "city": city,
            "state": state,
            "zipCode": f"{zip3}{nx() * 100 >> 16:02d}",
            "countryId": _COUNTRY,
            "createDate": _at(create_s),
            "createUser": _USERS[nx() * 2 >> 16],
            "modifyDate": _at(modify_s),
            "modifyUser": _USERS[nx() * len(_USERS) >> 16],
            "initialLoadDate": _from_ordinal(_EPOCH_ORDINAL + create_s // _DAY),
            "initialLoadCampaignId": 28_500_000 + (nx() * 100_000 >> 16),
        }
        if nx() < 0.95 * 65536:
            d["address1"] = f"{1 + (nx() * 9899 >> 16)} {_STREETS[nx() * len(_STREETS) >> 16]}"
        if nx() < 0.2 * 65536:
            d["address2"] = f"Apt {1 + (nx() * 400 >> 16)}"
        if nx() < 0.85 * 65536:
            domain = _DOMAINS[nx() * len(_DOMAINS) >> 16]
            clean_last = last.replace("'", "")
            d["email"] = f"{first}.{clean_last}{nx() * 100 >> 16}@{domain}".lower()
            if nx() < 0.6 * 65536:
                d["primaryEmailConsent"] = True
            if nx() < 0.02 * 65536:
                d["accountEmailBlock"] = True
        if nx() < 0.9 * 65536:
            # born 1940-01-01 .. 2004-12-31
            d["dateOfBirth"] = _from_ordinal(_DOB_ORDINAL + (nx() * 23741 >> 16))
        if nx() < 0.7 * 65536:
            d["ssn"] = f"{100 + (nx() * 800 >> 16)}{nx() * 100 >> 16:02d}{nx() * 10000 >> 16:04d}"
        if nx() < 0.15 * 65536:
            d["guarantorFirstName"] = _FIRST[nx() * len(_FIRST) >> 16]
            d["guarantorLastName"] = last
        if nx() < 0.5 * 65536:
            d["salutation"] = _SALUTATIONS[nx() * len(_SALUTATIONS) >> 16]
        if nx() < 0.1 * 65536:
            d["title"] = _TITLES[nx() * len(_TITLES) >> 16]
        if nx() < 0.3 * 65536:
            d["department"] = _DEPARTMENTS[nx() * len(_DEPARTMENTS) >> 16]
        if nx() < 0.1 * 65536:
            d["description"] = _DESCRIPTIONS[nx() * len(_DESCRIPTIONS) >> 16]
        d["active"] = nx() < 0.92 * 65536
        if nx() < 0.7 * 65536:
            d["accountToSpeak"] = account
        if nx() < 0.6 * 65536:
            d["originalAccountNumber"] = f"OAN{((nx() << 16) | nx()) * 10_000_000 >> 32:07d}"
        balance = Decimal(((nx() << 16) | nx()) * 2_500_000 >> 32).scaleb(-2)
        d["balance"] = balance
        if nx() < 0.8 * 65536:
            d["amountToSpeak"] = balance
        if nx() < 0.85 * 65536:
            d["dueDate"] = _from_ordinal(self._due_ordinal + (nx() * 180 >> 16))
        if nx() < 0.7 * 65536:
            d["groupId"] = self._groups[nx() * len(self._groups) >> 16]
        if nx() < 0.2 * 65536:
            d["agentId"] = 590_000 + (nx() * 10_000 >> 16)
            d["agentTeamId"] = 16_000 + (nx() * 50 >> 16)
        if nx() < 0.03 * 65536:
            d["accountBlock"] = True
        if nx() < 0.35 * 65536:
            d["primarySMSConsent"] = True
        if nx() < 0.6 * 65536:
            load_s = create_s + (((nx() << 16) | nx()) * (modify_s - create_s) >> 32)
            d["lastLoadDate"] = _from_ordinal(_EPOCH_ORDINAL + load_s // _DAY)
            d["lastLoadCampaignId"] = 28_500_000 + (nx() * 100_000 >> 16)
        # 1-4 phones: 40% / 30% / 20% / 10%
        x = nx()
        phones = 1 if x < 0.4 * 65536 else 2 if x < 0.7 * 65536 else 3 if x < 0.9 * 65536 else 4
        total = 0
        for keys in _PHONE_KEYS[:phones]:
            phone, attempts_key, sms, cell, block = keys
            d[phone] = f"{area}{200 + (nx() * 800 >> 16)}{nx() * 10000 >> 16:04d}"
            attempts = nx() * 16 >> 16
            if attempts:
                d[attempts_key] = attempts
                total += attempts
            if nx() < 0.4 * 65536:
                d[sms] = True
            if nx() < 0.5 * 65536:
                d[cell] = True
            if nx() < 0.05 * 65536:
                d[block] = True
        if total:
            d["callAttemptsTotal"] = total
        return d, nx() * CUSTOM_BLOCKS >> 16

    def _make_custom_blocks(
        self, custom_fields: tuple[sd.CustomFieldSeed, ...]
    ) -> tuple[dict[str, str], ...]:
        rng = random.Random(int.from_bytes(self._seed_key, "little"))
        r = rng.random
        choices = [(cf.field, self._custom_choices(cf)) for cf in custom_fields]
        blocks = []
        for _ in range(CUSTOM_BLOCKS):
            block = {}
            for field, values in choices:
                if r() < 0.5:
                    block[field] = values[int(r() * len(values))]
            blocks.append(block)
        return tuple(blocks)

    def _custom_choices(self, cf: sd.CustomFieldSeed) -> tuple[str, ...]:
        kind = cf.data_type
        if kind == "LIST":
            return cf.list_values
        if kind == "NUMBER":
            return tuple(str(i) for i in range(1000))
        if kind == "BOOLEAN":
            return ("true", "false")
        if kind == "DATE":
            last = self.history_end.date()
            return tuple((last - timedelta(days=i)).isoformat() for i in range(1, 366))
        return cf.samples or tuple(f"V{i}" for i in range(1000))

    # -- notes and accounts -------------------------------------------------------------------

    def notes(self, index: int) -> list[Note]:
        """0-3 notes; about 40% of contacts have at least one."""
        rng = self._rng(index, 1)
        r = rng.random
        if r() >= 0.4:
            return []
        create_s, modify_s = self._dates(self._words(index))
        out = []
        for k in range(1 + int(r() * 3)):
            made = create_s + int(r() * (modify_s - create_s + 1))
            edited = made + (int(r() * 3600) if r() < 0.2 else 0)
            out.append(
                Note(
                    id=NOTE_ID_BASE + index * _PER_CONTACT + k,
                    note=sd.NOTE_TEXTS[int(r() * len(sd.NOTE_TEXTS))],
                    session_id=f"U{rng.getrandbits(44):011X}@10.201.{int(r() * 256)}."
                    f"{int(r() * 256)}",
                    transaction_id=5_500_000_000 + int(r() * 100_000_000),
                    create_date=_at(made),
                    modified_date=_at(min(edited, self._end_s - 1)),
                )
            )
        return out

    def note_index(self, note_id: int) -> int | None:
        """The contact index a note id belongs to (whether or not such a note exists)."""
        offset = note_id - NOTE_ID_BASE
        return offset // _PER_CONTACT if offset >= 0 else None

    def accounts(self, index: int) -> list[dict[str, Any]]:
        """0-3 associated (CRM) accounts of the contact, sorted by name."""
        rng = self._rng(index, 2)
        r = rng.random
        n = int(r() * 4)
        create_s, modify_s = self._dates(self._words(index))
        out = []
        for k in range(n):
            company = (
                f"{sd.COMPANY_WORDS[int(r() * len(sd.COMPANY_WORDS))]} "
                f"{sd.COMPANY_SUFFIXES[int(r() * len(sd.COMPANY_SUFFIXES))]}"
            )
            city, state, zip3, area = sd.PLACES[int(r() * len(sd.PLACES))]
            address = {
                "street": f"{1 + int(r() * 9899)} {sd.STREETS[int(r() * len(sd.STREETS))]}",
                "city": city,
                "state": state,
                "postalCode": f"{zip3}{int(r() * 100):02d}",
                "country": "USA",
            }
            class_id, class_name = sd.CLASSIFICATIONS[int(r() * len(sd.CLASSIFICATIONS))]
            type_id, type_name = sd.ACCOUNT_TYPES[int(r() * len(sd.ACCOUNT_TYPES))]
            made = create_s + int(r() * (modify_s - create_s + 1))
            custom = (
                [{"field": "COL1", "value": str(int(r() * 100))}] if r() < 0.3 else []
            )
            out.append(
                {
                    "name": company,
                    "description": f"{company} account",
                    "industry": sd.INDUSTRIES[int(r() * len(sd.INDUSTRIES))],
                    "annualRevenue": 1000 * (1 + int(r() * 10_000)),
                    "phoneFax": f"{area}{200 + int(r() * 800)}{int(r() * 10000):04d}",
                    "billingAddress": address,
                    "rating": sd.RATINGS[int(r() * len(sd.RATINGS))],
                    "phoneOffice": f"{area}{200 + int(r() * 800)}{int(r() * 10000):04d}",
                    "phoneAlternate": f"{area}{200 + int(r() * 800)}{int(r() * 10000):04d}",
                    "website": f"www.{company.split()[0].lower()}.example.com",
                    "ownershipType": sd.OWNERSHIP[int(r() * len(sd.OWNERSHIP))],
                    "numOfEmployees": 10 * (1 + int(r() * 500)),
                    "tickerSymbol": company[:3].upper(),
                    "shippingAddress": dict(address),
                    "campaignId": 28_500_000 + int(r() * 100_000),
                    "accountNumber": f"CRM{index + 1:07d}{k}",
                    "originalAccountNumber": f"OAN{int(r() * 100_000):05d}",
                    "agentId": 590_000 + int(r() * 10_000),
                    "agentTeamId": 16_000 + int(r() * 50),
                    "location": city,
                    "accountSource": sd.ACCOUNT_SOURCES[int(r() * len(sd.ACCOUNT_SOURCES))],
                    "sicCode": f"{1000 + int(r() * 8999)}",
                    "sicDesc": sd.INDUSTRIES[int(r() * len(sd.INDUSTRIES))],
                    "classificationId": class_id,
                    "typeId": type_id,
                    "customFields": custom,
                    "id": ACCOUNT_ID_BASE + index * _PER_CONTACT + k,
                    "createdDate": made * 1000,
                    "createdBy": "apiSysAdmin",
                    "modifiedDate": modify_s * 1000,
                    "modifiedBy": sd.USERS[int(r() * len(sd.USERS))],
                    "classificationName": class_name,
                    "typeName": type_name,
                    "agentName": f"{sd.FIRST_NAMES[int(r() * len(sd.FIRST_NAMES))]} Agent",
                    "agentTeamName": "Collections Team",
                }
            )
        out.sort(key=lambda a: (a["name"], a["id"]))
        return out

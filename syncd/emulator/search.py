"""The search trees and sort lists of "Find Matching Contact", over flat contact records.

`compile_search(tree)` validates a whole tree once and turns it into a predicate made of
closures, so a search over a large store does no parsing per record; `sort_records` applies
the spec's sort list. Both raise `SearchError` (the app answers 400) naming the bad node.

Semantics, with the places where the spec is silent marked *(our choice)*:

- A node is a *rule* (`rule` AND/OR, `left`, `right`) or a *condition* (`field`, `criteria`,
  `condition`); either may carry `isNegated`. A negated rule "negates all conditions under
  that rule as well as negating the rule itself (i.e. changing 'AND' to 'OR')": negation is
  pushed down the tree literally (flip AND/OR, negate every child), which by De Morgan equals
  NOT of the un-negated rule. A rule with one child is that child; a rule with two children
  and no `rule` is refused *(our choice)*.
- "isNegated ... does not work for searches with only a condition": a bare condition at the
  top of the tree ignores its `isNegated`, as LiveVox does; conditions under a rule honour it.
- Two-valued logic *(our choice)*: a condition on a missing (None) value is false, and a
  negated condition is its exact complement, so "city not EQUALS Boston" matches contacts
  with no city. Boolean fields read a missing flag as false.
- Fields holding several values (`name`, `guarantor_name`, `address`, `phone`) match when any
  value matches; `name` offers first name, last name and "first last".
- Text compares case-insensitively *(our choice)*; `phone` compares digits only. Numbers
  (`paymentbalance`, `amount_to_speak`, `group`, `callattempts*`) compare as Decimal and take
  STARTS_WITH/ENDS_WITH/CONTAINS on their plain decimal text. Dates (`account_due_date`,
  `dob`) take criteria `YYYY-MM-DD`, `MM/DD/YYYY` or epoch milliseconds (UTC) and the
  operators EQUALS/LESS/GREATER/GREATER_EQUAL. Booleans take `true/false/1/0/Y/N` with EQUALS.
  Anything else for a typed field is a SearchError, never a silent empty result.
- `account_due_date_basedon_option` / `last_load_date_basedon_option` *(our reading)*: the
  criteria is a whole number of days N and the record's date is compared with today + N,
  e.g. `account_due_date_basedon_option LESS 0` = overdue, `last_load_date_basedon_option
  GREATER_EQUAL -7` = loaded in the last seven days.
- `account_dial_today` = `callAttemptsToday > 0` or `lastDialDate` is today;
  `account_dial_yesterday` = `lastDialDate` is yesterday. The export has no dial history, so
  `lastDialDate` (date or datetime) is an optional record key the store may keep; without it
  no contact counts as dialled yesterday, and one dialled today again loses "yesterday".
- `phone_sms_consent` / `phone_cell_consent` read "any phone has the consent".
- `accountForTodaysResult` / `accountsFor30daysResult` select by call results, which the
  emulator does not model: a SearchError says so.
- Sort: fields as the spec lists them, accepted case-insensitively (the spec's own example
  sorts by "account"); order exactly ASC or DESC; multi-key and stable. A missing value sorts
  last in ASC and first in DESC (Oracle's NULL ordering), text sorts case-insensitively and a
  missing flag counts as false. Ties, and an absent sort, go by `lvAccountId` ascending
  *(our choice)*, so paging by offset is deterministic.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

__all__ = [
    "CONDITIONS",
    "SEARCH_FIELDS",
    "SORT_FIELDS",
    "FieldKind",
    "Predicate",
    "Record",
    "SearchError",
    "SearchField",
    "compile_search",
    "sort_records",
]

# Deeper trees than this are refused rather than risking the interpreter's recursion limit.
MAX_DEPTH: Final = 100
PHONE_ORDINALS: Final = range(1, 11)
CUSTOM_ORDINALS: Final = range(1, 101)


class SearchError(ValueError):
    """A search tree or sort list the emulator refuses; `path` names the offending node."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class FieldKind(enum.Enum):
    TEXT = "text"
    PHONE = "phone"
    NUMBER = "number"
    DATE = "date"
    RELATIVE_DATE = "relative date"
    BOOLEAN = "boolean"


Extractor = Callable[[Record, date], list[Any]]


@dataclass(frozen=True)
class SearchField:
    """One searchable field: its kind, the record keys it reads, and how to read them."""

    kind: FieldKind
    keys: tuple[str, ...]
    values: Extractor
    derived: bool = False  # reads its keys through a rule (dial flags, any-phone consent)
    unsupported: str | None = None


_TEXT_OPERATORS: Final[Mapping[str, Callable[[str, str], bool]]] = MappingProxyType(
    {
        "STARTS_WITH": str.startswith,
        "ENDS_WITH": str.endswith,
        "CONTAINS": lambda value, criteria: criteria in value,
    }
)
_ORDER_OPERATORS: Final[Mapping[str, Callable[[Any, Any], bool]]] = MappingProxyType(
    {
        "EQUALS": operator.eq,
        "LESS": operator.lt,
        "GREATER": operator.gt,
        "GREATER_EQUAL": operator.ge,
    }
)
CONDITIONS: Final = frozenset(_TEXT_OPERATORS) | frozenset(_ORDER_OPERATORS)

_ALLOWED: Final[Mapping[FieldKind, frozenset[str]]] = MappingProxyType(
    {
        FieldKind.TEXT: CONDITIONS,
        FieldKind.PHONE: CONDITIONS,
        FieldKind.NUMBER: CONDITIONS,
        FieldKind.DATE: frozenset(_ORDER_OPERATORS),
        FieldKind.RELATIVE_DATE: frozenset(_ORDER_OPERATORS),
        FieldKind.BOOLEAN: frozenset({"EQUALS"}),
    }
)

_TRUE_WORDS: Final = frozenset({"true", "1", "y"})
_FALSE_WORDS: Final = frozenset({"false", "0", "n"})
_EPOCH_MS: Final = re.compile(r"-?\d+")
_WHOLE_DAYS: Final = re.compile(r"[+-]?\d+")
_NON_DIGITS: Final = re.compile(r"\D")


# ---------------------------------------------------------------- reading record values


def _keys(*keys: str) -> Extractor:
    return lambda record, _today: [record.get(key) for key in keys]


def _person_name(first_key: str, last_key: str) -> Extractor:
    def values(record: Record, _today: date) -> list[Any]:
        first, last = record.get(first_key), record.get(last_key)
        full = f"{first} {last}" if first is not None and last is not None else None
        return [first, last, full]

    return values


def _flags(*keys: str) -> Extractor:
    # A missing flag reads as false, so "do_not_dial EQUALS false" finds contacts never blocked.
    return lambda record, _today: [_as_bool(record.get(key)) for key in keys]


def _any_flag(keys: tuple[str, ...]) -> Extractor:
    return lambda record, _today: [any(_as_bool(record.get(key)) for key in keys)]


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    return _parse_date(str(value))


def _dialed_today(record: Record, today: date) -> list[Any]:
    attempts = _as_decimal(record.get("callAttemptsToday"))
    return [bool(attempts) or _as_date(record.get("lastDialDate")) == today]


def _dialed_yesterday(record: Record, today: date) -> list[Any]:
    return [_as_date(record.get("lastDialDate")) == today - timedelta(days=1)]


def _build_search_fields() -> Mapping[str, SearchField]:
    text, number, day, flag = FieldKind.TEXT, FieldKind.NUMBER, FieldKind.DATE, FieldKind.BOOLEAN

    def plain(kind: FieldKind, *keys: str) -> SearchField:
        return SearchField(kind, keys, _flags(*keys) if kind is flag else _keys(*keys))

    phones = tuple(f"phone{n}" for n in PHONE_ORDINALS)
    sms = tuple(f"phone{n}SmsConsent" for n in PHONE_ORDINALS)
    cell = tuple(f"phone{n}CellConsent" for n in PHONE_ORDINALS)
    not_modelled = "selects by call results, which the emulator does not model"
    fields: dict[str, SearchField] = {
        "account": plain(text, "account"),
        "account_due_date": plain(day, "dueDate"),
        "account_due_date_basedon_option": plain(FieldKind.RELATIVE_DATE, "dueDate"),
        "last_load_date_basedon_option": plain(FieldKind.RELATIVE_DATE, "lastLoadDate"),
        "original_account_number": plain(text, "originalAccountNumber"),
        "city": plain(text, "city"),
        "state": plain(text, "state"),
        "country": plain(text, "countryId"),
        "group": plain(number, "groupId"),
        "do_not_dial": plain(flag, "accountBlock"),
        "do_not_dial_daily": plain(flag, "accountBlockDaily"),
        "sms": plain(flag, "primarySMSConsent"),
        "email": plain(flag, "primaryEmailConsent"),
        "postalcode": plain(text, "zipCode"),
        "name": SearchField(
            text, ("firstName", "lastName"), _person_name("firstName", "lastName")
        ),
        "dob": plain(day, "dateOfBirth"),
        "phone": plain(FieldKind.PHONE, *phones),
        "address": plain(text, "address1", "address2"),
        "guarantor_name": SearchField(
            text,
            ("guarantorFirstName", "guarantorLastName"),
            _person_name("guarantorFirstName", "guarantorLastName"),
        ),
        "paymentbalance": plain(number, "balance"),
        "amount_to_speak": plain(number, "amountToSpeak"),
        "account_dial_yesterday": SearchField(
            flag, ("lastDialDate",), _dialed_yesterday, derived=True
        ),
        "account_dial_today": SearchField(
            flag, ("callAttemptsToday", "lastDialDate"), _dialed_today, derived=True
        ),
        "phone_sms_consent": SearchField(flag, sms, _any_flag(sms), derived=True),
        "phone_cell_consent": SearchField(flag, cell, _any_flag(cell), derived=True),
        "primary_email_consent": plain(flag, "primaryEmailConsent"),
        "callattemptstoday": plain(number, "callAttemptsToday"),
        "callattemptslifetime": plain(number, "callAttemptsTotal"),
        "accountForTodaysResult": SearchField(flag, (), _keys(), unsupported=not_modelled),
        "accountsFor30daysResult": SearchField(flag, (), _keys(), unsupported=not_modelled),
        "email_address": plain(text, "email"),
    }
    for n in PHONE_ORDINALS:
        fields[f"phone{n}_sms_consent"] = plain(flag, f"phone{n}SmsConsent")
        fields[f"phone{n}_cell_consent"] = plain(flag, f"phone{n}CellConsent")
    for n in CUSTOM_ORDINALS:
        fields[f"COL{n}"] = plain(text, f"COL{n}")
    return MappingProxyType(fields)


SEARCH_FIELDS: Final = _build_search_fields()


# ---------------------------------------------------------------- parsing criteria


def _parse_date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    if _EPOCH_MS.fullmatch(text):
        try:
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None if value is None else Decimal(int(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return bool(value)


def _criteria_text(node: Mapping[str, Any], path: str) -> str:
    if "criteria" not in node or node["criteria"] is None:
        raise SearchError(path, "criteria is required")
    raw = node["criteria"]
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float | Decimal):
        return str(raw)
    raise SearchError(path, f"criteria must be a string, not {type(raw).__name__}")


def _digits(value: Any) -> str:
    return _NON_DIGITS.sub("", str(value))


# ---------------------------------------------------------------- one condition


def _value_matcher(
    kind: FieldKind, condition: str, criteria: str, path: str, field: str, today: date
) -> tuple[Callable[[Any], Any], Callable[[Any], bool]]:
    """(normalise, match) for one condition: normalise a raw value, then test it."""
    bad = f"criteria {criteria!r} is not a valid {kind.value} for field {field!r}"
    if kind is FieldKind.TEXT:
        needle = criteria.casefold()

        def text(value: Any) -> str:
            return str(value).casefold()

        return text, _text_or_order(condition, needle)
    if kind is FieldKind.PHONE:
        digits = _digits(criteria)
        if not digits:
            raise SearchError(path, f"{bad}: a phone criteria needs digits")
        return (lambda value: _digits(value) or None), _text_or_order(condition, digits)
    if kind is FieldKind.NUMBER:
        number = _as_decimal(criteria)
        if number is None:
            raise SearchError(path, bad)
        if condition in _TEXT_OPERATORS:
            test = _TEXT_OPERATORS[condition]
            needle = criteria.strip()
            return _as_decimal, lambda value: test(format(value, "f"), needle)
        compare = _ORDER_OPERATORS[condition]
        return _as_decimal, lambda value: compare(value, number)
    if kind in (FieldKind.DATE, FieldKind.RELATIVE_DATE):
        if kind is FieldKind.RELATIVE_DATE:
            if not _WHOLE_DAYS.fullmatch(criteria.strip()):
                raise SearchError(path, f"{bad}: give a whole number of days from today")
            try:
                target: date | None = today + timedelta(days=int(criteria))
            except OverflowError:
                target = None
        else:
            target = _parse_date(criteria)
        if target is None:
            raise SearchError(path, f"{bad}: use YYYY-MM-DD, MM/DD/YYYY or epoch milliseconds")
        compare = _ORDER_OPERATORS[condition]
        return _as_date, lambda value: compare(value, target)
    word = criteria.strip().lower()
    if word not in _TRUE_WORDS | _FALSE_WORDS:
        raise SearchError(path, f"{bad}: use true/false, 1/0 or Y/N")
    wanted = word in _TRUE_WORDS
    return _as_bool, lambda value: value is wanted


def _text_or_order(condition: str, needle: str) -> Callable[[Any], bool]:
    if condition in _TEXT_OPERATORS:
        test = _TEXT_OPERATORS[condition]
        return lambda value: test(value, needle)
    compare = _ORDER_OPERATORS[condition]
    return lambda value: compare(value, needle)


def _compile_condition(
    node: Mapping[str, Any], path: str, negated: bool, today: date
) -> Predicate:
    field = node.get("field")
    if not isinstance(field, str):
        raise SearchError(path, "field is required and must be a string")
    spec = SEARCH_FIELDS.get(field)
    if spec is None:
        raise SearchError(path, f"unknown search field {field!r}")
    if spec.unsupported:
        raise SearchError(path, f"field {field!r} is not supported by the emulator: "
                                f"it {spec.unsupported}")
    condition = node.get("condition")
    if condition not in CONDITIONS:
        raise SearchError(
            path, f"condition {condition!r} is not one of {', '.join(sorted(CONDITIONS))}"
        )
    if condition not in _ALLOWED[spec.kind]:
        raise SearchError(
            path, f"condition {condition} does not apply to {spec.kind.value} field {field!r}"
        )
    criteria = _criteria_text(node, path)
    normalise, match = _value_matcher(spec.kind, condition, criteria, path, field, today)
    values = spec.values

    def matches(record: Record) -> bool:
        for raw in values(record, today):
            if raw is None:
                continue
            value = normalise(raw)
            if value is not None and match(value):
                return True
        return False

    if negated:
        return lambda record: not matches(record)
    return matches


# ---------------------------------------------------------------- trees


def _negated_flag(node: Mapping[str, Any], path: str) -> bool:
    flag = node.get("isNegated", False)
    if flag is None:
        return False
    if not isinstance(flag, bool):
        raise SearchError(path, f"isNegated must be true or false, not {flag!r}")
    return flag


def _compile_node(
    node: Any, path: str, negate: bool, today: date, depth: int, top: bool = False
) -> Predicate:
    if depth > MAX_DEPTH:
        raise SearchError(path, f"search tree deeper than {MAX_DEPTH} levels")
    if not isinstance(node, Mapping):
        raise SearchError(path, "must be a rule or condition object")
    is_rule = any(key in node for key in ("rule", "left", "right"))
    is_condition = any(key in node for key in ("field", "criteria", "condition"))
    if is_rule and is_condition:
        raise SearchError(path, "a node is either a rule (rule/left/right) or a condition "
                                "(field/criteria/condition), not both")
    if not (is_rule or is_condition):
        raise SearchError(path, "must be a rule (rule/left/right) or a condition "
                                "(field/criteria/condition)")
    own = _negated_flag(node, path)
    if is_condition:
        # LiveVox ignores isNegated on a search that is just one condition.
        return _compile_condition(node, path, negate ^ (own and not top), today)

    negated = negate ^ own
    children = [
        _compile_node(node[side], f"{path}.{side}", negated, today, depth + 1)
        for side in ("left", "right")
        if node.get(side) is not None
    ]
    rule = node.get("rule")
    if rule is not None and rule not in ("AND", "OR"):
        raise SearchError(path, f"rule {rule!r} is not AND or OR")
    if not children:
        raise SearchError(path, "a rule needs a left or a right side")
    if len(children) == 1:
        return children[0]
    if rule is None:
        raise SearchError(path, "rule (AND or OR) is required to join left and right")
    # Negation pushed down: the children are already negated, so AND becomes OR and back.
    conjunction = (rule == "AND") != negated
    left, right = children
    if conjunction:
        return lambda record: left(record) and right(record)
    return lambda record: left(record) or right(record)


def compile_search(tree: dict[str, Any], *, today: date | None = None) -> Predicate:
    """Validate a `search` tree and return its predicate over records.

    `today` anchors the relative-date and dialled-today/yesterday fields; the app passes its
    clock's date, the default is today's UTC date.
    """
    anchor = today if today is not None else datetime.now(UTC).date()
    return _compile_node(tree, "search", negate=False, today=anchor, depth=0, top=True)


# ---------------------------------------------------------------- sort


def _build_sort_fields() -> Mapping[str, str]:
    fields = {
        "LVACCOUNT_ID": "lvAccountId",
        "CLIENT_ID": "clientId",
        "ACCOUNT": "account",
        "B_ACTIVE": "active",
        "ACCOUNT_TO_SPEAK": "accountToSpeak",
        "FIRST_NAME": "firstName",
        "LAST_NAME": "lastName",
        "DOB": "dateOfBirth",
        "EMAIL_ADDRESS": "email",
        "SSN": "ssn",
    }
    fields.update({f"PHONE{n}": f"phone{n}" for n in PHONE_ORDINALS})
    fields.update(
        {
            "ADDRESS1": "address1",
            "ADDRESS2": "address2",
            "CITY": "city",
            "STATE": "state",
            "POSTALCODE": "zipCode",
            "COUNTRY_ID": "countryId",
            "GUARANTOR_FIRSTNAME": "guarantorFirstName",
            "GUARANTOR_LASTNAME": "guarantorLastName",
            "PAYMENTBALANCE": "balance",
            "AMOUNT_TO_SPEAK": "amountToSpeak",
            "ACCOUNT_DUE_DATE": "dueDate",
            "CALLATTEMPTSTODAY": "callAttemptsToday",
            "CALLATTEMPTSLIFETIME": "callAttemptsTotal",
            "CREATEDATE": "createDate",
            "CREATEUSER": "createUser",
            "MODIFYDATE": "modifyDate",
            "MODIFYUSER": "modifyUser",
            "INITIAL_LOAD_DATE": "initialLoadDate",
            "INITIAL_LOAD_CAMPAIGNID": "initialLoadCampaignId",
            "LAST_LOAD_DATE": "lastLoadDate",
            "LAST_LOAD_CAMPAIGNID": "lastLoadCampaignId",
            "DO_NOT_DIAL": "accountBlock",
            "DO_NOT_DIAL_DAILY": "accountBlockDaily",
            "GROUP_ID": "groupId",
            "ORIGINAL_ACCOUNT_NUMBER": "originalAccountNumber",
        }
    )
    for n in PHONE_ORDINALS:
        fields[f"PHONE{n}_ATTEMPTS_TODAY"] = f"phone{n}AttemptsToday"
        fields[f"PHONE{n}_ATTEMPTS_LIFETIME"] = f"phone{n}AttemptsTotal"
        fields[f"PHONE{n}_DND"] = f"phone{n}Block"
        fields[f"PHONE{n}_DND_DAILY"] = f"phone{n}BlockDaily"
    fields["SMS"] = "primarySMSConsent"
    fields["EMAIL"] = "primaryEmailConsent"
    for n in PHONE_ORDINALS:
        fields[f"PHONE{n}_SMS_CONSENT"] = f"phone{n}SmsConsent"
        fields[f"PHONE{n}_CELL_CONSENT"] = f"phone{n}CellConsent"
    fields["PRIMARY_EMAIL_CONSENT"] = "primaryEmailConsent"
    fields.update({f"COL{n}": f"COL{n}" for n in CUSTOM_ORDINALS})
    return MappingProxyType(fields)


SORT_FIELDS: Final = _build_sort_fields()
_FLAG_SORT_KEYS: Final = frozenset(
    {"active", "accountBlock", "accountBlockDaily", "primarySMSConsent", "primaryEmailConsent"}
    | {f"phone{n}{suffix}" for n in PHONE_ORDINALS
       for suffix in ("Block", "BlockDaily", "SmsConsent", "CellConsent")}
)

SortKey = tuple[bool, Any] | tuple[bool]


def _sort_value(value: Any, flag: bool) -> SortKey:
    if flag:
        return (False, _as_bool(value))
    if value is None:
        return (True,)
    if isinstance(value, str):
        return (False, value.casefold())
    return (False, value)


def _parse_sort(sort: Any) -> list[tuple[str, bool]]:
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise SearchError("sort", "must be a list of {field, order} objects")
    keys: list[tuple[str, bool]] = []
    for index, item in enumerate(sort):
        path = f"sort[{index}]"
        if not isinstance(item, Mapping):
            raise SearchError(path, "must be an object with field and order")
        field = item.get("field")
        key = SORT_FIELDS.get(field.upper()) if isinstance(field, str) else None
        if key is None:
            raise SearchError(f"{path}.field", f"unknown sort field {field!r}")
        order = item.get("order")
        if order not in ("ASC", "DESC"):
            raise SearchError(f"{path}.order", f"order {order!r} is not ASC or DESC")
        keys.append((key, order == "DESC"))
    return keys


def sort_records(
    records: Iterable[Record], sort: list[dict[str, Any]] | None
) -> list[Record]:
    """Records ordered by the spec's sort list (validated first), ties by lvAccountId."""
    keys = _parse_sort(sort)
    ordered = sorted(records, key=lambda record: _sort_value(record.get("lvAccountId"), False))
    # Stable sorts from the least significant key up give the multi-key order; reverse=True
    # keeps ties in their previous order, so DESC keys stay stable too.
    for key, descending in reversed(keys):
        ordered.sort(key=_sort_key_for(key), reverse=descending)
    return ordered


def _sort_key_for(key: str) -> Callable[[Record], SortKey]:
    flag = key in _FLAG_SORT_KEYS
    return lambda record: _sort_value(record.get(key), flag)

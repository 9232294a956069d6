"""Wire models: request bodies (strict, validated before sending) and replies (lenient).

Request models serialise with the spec's key names (camelCase aliases) and omit unset
(None) values, so an update only touches the fields it names. Dates go out as epoch
milliseconds (the form every example uses); a plain ``date`` means UTC midnight *(our
choice)*. Decimals go out as JSON numbers when a float holds them exactly, else as strings
(the spec's own examples send ``"balance": "1000.00"``).

Reply models accept the spellings the spec's examples use for the same value (``createDate``
/ ``createdDate``, ``callAttemptsTotal`` / ``callAttemptsLifetime``), keep unknown keys
(``model_extra``) and turn epoch-millisecond timestamps into aware UTC datetimes; ``0`` is
read as "not set", as the examples use it next to ``null`` for the same fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from syncd.livevox._dnd import DndAction, DndState
from syncd.livevox._errors import (
    CustomFieldValueTooLongError,
    InvalidCustomFieldError,
    LiveVoxError,
    PhoneOrdinalOutOfRangeError,
)

CUSTOM_VALUE_MAX = 255
"""LiveVox's limit on a custom field value, in characters."""

PHONE_ORDINALS = range(1, 11)
"""Valid phone ordinals: 1..10."""

_CUSTOM_FIELD = re.compile(r"^COL([1-9]\d?|100)$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_custom_field_key(name: str) -> bool:
    """Whether ``name`` is one of COL1..COL100."""
    return _CUSTOM_FIELD.match(name) is not None


# --- value conversions ----------------------------------------------------------------


def to_epoch_ms(value: date | datetime | int) -> int:
    """Epoch milliseconds for a date (UTC midnight), a datetime (naive = UTC) or an int."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.combine(value, time.min, tzinfo=UTC)
    # integer arithmetic: float timestamps can be off by a millisecond
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _decimal_to_json(value: Decimal) -> float | str:
    as_float = float(value)
    # a float that prints back to the same decimal carries it exactly enough for JSON
    return as_float if Decimal(repr(as_float)) == value else str(value)


def parse_lv_timestamp(value: Any) -> datetime | None:
    """A reply timestamp: epoch ms (int or digits), ISO text or MM/DD/YYYY; 0 -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float) or (isinstance(value, str) and value.lstrip("-").isdigit()):
        ms = int(value)
        return None if ms == 0 else datetime.fromtimestamp(ms / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                pass
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp: {type(value).__name__}")


EpochMs = Annotated[datetime | date | int, PlainSerializer(to_epoch_ms, return_type=int)]
"""A request date: sent as epoch milliseconds."""

Money = Annotated[Decimal, PlainSerializer(_decimal_to_json, return_type=float | str)]
"""A request amount: sent as a JSON number (or string when a float cannot hold it)."""

Timestamp = Annotated[datetime | None, BeforeValidator(parse_lv_timestamp)]
"""A reply timestamp as an aware UTC datetime (None when unset)."""


# --- enums ----------------------------------------------------------------------------


class CustomFieldDataType(StrEnum):
    NUMBER = "NUMBER"
    STRING = "STRING"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"
    LIST = "LIST"


class SearchOperator(StrEnum):
    """How a search condition applies its criteria."""

    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    EQUALS = "EQUALS"
    LESS = "LESS"
    GREATER = "GREATER"
    GREATER_EQUAL = "GREATER_EQUAL"
    CONTAINS = "CONTAINS"


class RuleOperator(StrEnum):
    AND = "AND"
    OR = "OR"


class SortOrder(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


# --- request models -------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body fragment: spec key names, None values left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _check_ordinal(value: int) -> int:
    if value not in PHONE_ORDINALS:
        raise PhoneOrdinalOutOfRangeError(value, PHONE_ORDINALS.start, PHONE_ORDINALS.stop - 1)
    return value


class Person(_Request):
    """The contact owner."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    date_of_birth: EpochMs | None = None
    ssn: str | None = Field(default=None, repr=False)
    zip_code: str | None = None


class Guarantor(_Request):
    first_name: str | None = None
    last_name: str | None = None


class PhoneInput(_Request):
    """One phone of a contact (create / update)."""

    ordinal: int
    phone: str | None = None
    phone_block: DndAction | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None

    @field_validator("ordinal")
    @classmethod
    def _ordinal(cls, value: int) -> int:
        return _check_ordinal(value)


class CustomFieldValue(_Request):
    """A custom field value; numbers and booleans are sent as their text."""

    field: str
    value: str

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        if not is_custom_field_key(value):
            raise InvalidCustomFieldError(value)
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal):
            return str(value)
        return value

    @field_validator("value")
    @classmethod
    def _length(cls, value: str, info: ValidationInfo) -> str:
        if len(value) > CUSTOM_VALUE_MAX:
            raise CustomFieldValueTooLongError(
                info.data.get("field", "?"), len(value), CUSTOM_VALUE_MAX
            )
        return value


class _ContactFields(_Request):
    person: Person | None = None
    guarantor: Guarantor | None = None
    phone: list[PhoneInput] | None = None
    custom_fields: list[CustomFieldValue] | None = None
    active: bool | None = None
    balance: Money | None = None
    account_block: DndAction | None = None
    account_to_speak: str | None = None
    original_account_number: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    amount_to_speak: Money | None = None
    due_date: EpochMs | None = None
    group_id: int | None = None
    primary_email_consent: bool | None = None
    agent_id: int | None = None
    department: str | None = None
    salutation: str | None = None
    title: str | None = None


class ContactCreate(_ContactFields):
    """Body of a single or bulk create (``createContactDetails``)."""

    account: str = Field(min_length=1, max_length=255)


class ContactUpdate(_ContactFields):
    """Body of a single or bulk update (``updateContactDetails``).

    ``id`` is LiveVox's internal contact id (``lvAccountId`` in the export); bulk update
    addresses contacts by it when known, and by ``account`` otherwise.
    """

    account: str = Field(min_length=1, max_length=255)
    id: int | None = None


class PhoneDnd(_Request):
    """DND / consent change for one phone of a contact."""

    phone: str
    ordinal: int
    phone_block: DndAction | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None

    @field_validator("ordinal")
    @classmethod
    def _ordinal(cls, value: int) -> int:
        return _check_ordinal(value)


class ContactDnd(_Request):
    """One contact's entry in a multi-contact DND update."""

    account: str = Field(min_length=1, max_length=255)
    account_block: DndAction | None = None
    update_contact_dnd: list[PhoneDnd] | None = Field(default=None, alias="updateContactDND")


class SearchCondition(_Request):
    """A leaf of the search tree: ``field`` ``condition`` ``criteria``."""

    field: str
    criteria: str
    condition: SearchOperator
    is_negated: bool | None = None

    def __and__(self, other: SearchNode) -> SearchRule:
        return SearchRule(rule=RuleOperator.AND, left=self, right=other)

    def __or__(self, other: SearchNode) -> SearchRule:
        return SearchRule(rule=RuleOperator.OR, left=self, right=other)


class SearchRule(_Request):
    """An inner node of the search tree joining two branches with AND / OR."""

    rule: RuleOperator
    left: SearchCondition | SearchRule | None = None
    right: SearchCondition | SearchRule | None = None
    is_negated: bool | None = None

    def __and__(self, other: SearchNode) -> SearchRule:
        return SearchRule(rule=RuleOperator.AND, left=self, right=other)

    def __or__(self, other: SearchNode) -> SearchRule:
        return SearchRule(rule=RuleOperator.OR, left=self, right=other)


SearchNode = SearchCondition | SearchRule


class SortSpec(_Request):
    field: str
    order: SortOrder = SortOrder.ASC


class CustomFieldUpdate(_Request):
    """New properties of a custom field (label, type, list values); values are untouched."""

    field: str
    label: str
    data_type: CustomFieldDataType | None = None
    list_values: list[str] | None = None

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        if not is_custom_field_key(value):
            raise InvalidCustomFieldError(value)
        return value


# --- reply models ---------------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
        coerce_numbers_to_str=True,
    )


class PersonInfo(_Reply):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    date_of_birth: Timestamp = None
    ssn: str | None = Field(default=None, repr=False)
    zip_code: str | None = None


class GuarantorInfo(_Reply):
    first_name: str | None = None
    last_name: str | None = None


class ContactPhone(_Reply):
    """A phone as LiveVox returns it (``phoneBlock``, or ``dnd`` / ``dndDaily`` flags)."""

    phone: str | None = None
    ordinal: int | None = None
    position: int | None = None
    phone_block: DndAction | None = None
    dnd: bool | None = None
    dnd_daily: bool | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None
    call_attempts_total: int | None = None
    call_attempts_today: int | None = None

    @property
    def dnd_state(self) -> DndState | None:
        """The phone's DND bits, from the flags or from ``phoneBlock``."""
        if self.dnd is not None or self.dnd_daily is not None:
            return DndState(permanent=bool(self.dnd), daily=bool(self.dnd_daily))
        return _state_of(self.phone_block)


class CustomFieldEntry(_Reply):
    field: str
    value: str | None = None


def _state_of(block: DndAction | None) -> DndState | None:
    if block is None:
        return None
    try:
        return DndState.from_name(block.value)
    except ValueError:
        return None


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


class Contact(_Reply):
    """A contact from list, search or read."""

    account: str
    id: int | None = None
    active: bool | None = None
    balance: Decimal | None = None
    account_block: DndAction | None = None
    person: PersonInfo | None = None
    guarantor: GuarantorInfo | None = None
    phone: Annotated[list[ContactPhone], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list
    )
    custom_fields: Annotated[list[CustomFieldEntry], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list
    )
    account_to_speak: str | None = None
    original_account_number: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    amount_to_speak: Decimal | None = None
    due_date: Timestamp = None
    group_id: int | None = None
    agent_id: int | None = None
    primary_email_consent: bool | None = None
    call_attempts_today: int | None = None
    call_attempts_total: int | None = Field(
        default=None, validation_alias=AliasChoices("callAttemptsTotal", "callAttemptsLifetime")
    )
    initial_load: Timestamp = Field(
        default=None, validation_alias=AliasChoices("initialLoad", "initialLoadDate")
    )
    last_load: Timestamp = Field(
        default=None, validation_alias=AliasChoices("lastLoad", "lastLoadDate")
    )
    create_date: Timestamp = Field(
        default=None, validation_alias=AliasChoices("createDate", "createdDate")
    )
    modify_date: Timestamp = Field(
        default=None, validation_alias=AliasChoices("modifyDate", "modifiedDate")
    )

    @property
    def account_dnd(self) -> DndState | None:
        """The account's DND bits from ``accountBlock`` (None when not reported)."""
        return _state_of(self.account_block)


class Address(_Reply):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class AssociatedAccount(_Reply):
    """An account associated with a contact (``listAccounts`` / ``listAccount``)."""

    id: int
    name: str | None = None
    description: str | None = None
    industry: str | None = None
    annual_revenue: Decimal | None = None
    phone_fax: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    rating: str | None = None
    phone_office: str | None = None
    phone_alternate: str | None = None
    website: str | None = None
    ownership_type: str | None = None
    num_of_employees: int | None = None
    ticker_symbol: str | None = None
    campaign_id: str | None = None
    account_number: str | None = None
    original_account_number: str | None = None
    agent_id: int | None = None
    agent_team_id: int | None = None
    location: str | None = None
    account_source: str | None = None
    sic_code: str | None = None
    sic_desc: str | None = None
    classification_id: int | None = None
    type_id: int | None = None
    classification_name: str | None = None
    type_name: str | None = None
    agent_name: str | None = None
    agent_team_name: str | None = None
    custom_fields: Annotated[list[CustomFieldEntry], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list
    )
    created_date: Timestamp = None
    created_by: str | None = None
    modified_date: Timestamp = None
    modified_by: str | None = None


class ContactGroup(_Reply):
    id: int
    name: str
    created_by: str | None = None
    modified_by: str | None = None
    created_at: Timestamp = None
    modified_at: Timestamp = None


class ContactNote(_Reply):
    """A contact note; list replies carry only ``id`` and ``note``."""

    id: int
    note: str
    session_id: str | None = None
    transaction_id: int | None = None
    create_date: Timestamp = None
    modified_date: Timestamp = None


class CustomField(_Reply):
    """A custom field's definition (its label is the export's column header)."""

    field: str
    label: str
    data_type: CustomFieldDataType | None = None
    list_values: list[str] | None = None


class SessionInfo(_Reply):
    """Reply of the session login."""

    session_id: SecretStr
    user_id: int | None = None
    client_id: int | None = None
    days_until_password_expires: int | None = None


# --- results --------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the raw ``next`` link LiveVox gave (None at the end)."""

    items: list[T]
    next_link: str | None


class CreateOutcome(StrEnum):
    CREATED = "created"
    """201: LiveVox created the contact."""
    ALREADY_EXISTS = "already_exists"
    """202 on the first attempt: the contact existed before this call (only with exist_ok)."""
    ALREADY_EXISTS_AFTER_RETRY = "already_exists_after_retry"
    """202 on a retry after an attempt whose reply was lost: that attempt most likely created it.
    Counted as success."""


@dataclass(frozen=True, slots=True)
class CreateResult:
    account: str
    outcome: CreateOutcome
    id: int | None
    attempts: int

    @property
    def ok(self) -> bool:
        """True when the contact exists now because of this call (or its lost attempt)."""
        return self.outcome is not CreateOutcome.ALREADY_EXISTS


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What LiveVox says a bulk call applied.

    ``applied`` is the count from the reply (``Successfully updated contacts N``, or
    ``updated`` for multi-contact DND); None when the reply carries no count (204 without a
    body). A count below ``requested`` is a *short count*: some rows were not applied.
    """

    requested: int
    applied: int | None
    status: int
    message: str | None = None

    @property
    def short(self) -> bool:
        return self.applied is not None and self.applied < self.requested

    @property
    def confirmed(self) -> bool:
        """True when LiveVox confirmed every requested row."""
        return self.applied is not None and self.applied >= self.requested


@dataclass(frozen=True, slots=True)
class BatchOutcome(Generic[T]):
    """One batch of a batched bulk call: its items and either a result or the error."""

    index: int
    items: Sequence[T]
    result: BulkResult | None = None
    error: LiveVoxError | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None and not self.result.short

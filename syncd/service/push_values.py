"""Canonical values of the outbox next to the mirror's typed values, per field key.

`syncd.domain.values` owns the canonical form; this adapter only knows which field a key is
(its type, whether it is a phone number) and compares. A canonical value from the plan and
a typed mirror value are the same when the mirror value's canonical form equals it, or,
failing that, when both parse to the same typed value (so "100.50" and "100.5", or a
`+00:00` and a `Z` offset, never count as LiveVox having moved).
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from syncd.domain.values import from_canonical, to_canonical
from syncd.store.push_apply import field_for


class CanonicalValueError(ValueError):
    """A canonical value that does not fit its field's type (the value stays out of it)."""

    def __init__(self, key: str, kind: str) -> None:
        super().__init__(f"{key}: not a canonical {kind} value")
        self.key = key
        self.kind = kind


def is_phone_number(key: str) -> bool:
    spec = field_for(key)
    return spec.group == "phone" and key == f"phone{spec.ordinal}"


def typed_value(key: str, canonical: Any) -> Any:
    """The typed value of a canonical one ('' and None: None)."""
    spec = field_for(key)
    if canonical is None or canonical == "":
        return None
    if isinstance(canonical, bool) != (spec.type == "boolean"):
        raise CanonicalValueError(key, spec.type)
    try:
        return from_canonical(spec.type, canonical)
    except (TypeError, ValueError, InvalidOperation):
        raise CanonicalValueError(key, spec.type) from None


def canonical_of(key: str, typed: Any) -> Any:
    """The canonical value of a typed mirror value."""
    spec = field_for(key)
    return to_canonical(spec.type, typed, phone=is_phone_number(key))


def same_value(key: str, canonical: Any, typed: Any) -> bool:
    """Whether a canonical value and a typed mirror value mean the same thing."""
    mirror = canonical_of(key, typed)
    if mirror == (None if canonical == "" else canonical):
        return True
    try:
        return bool(typed_value(key, canonical) == typed_value(key, mirror))
    except CanonicalValueError:
        return False

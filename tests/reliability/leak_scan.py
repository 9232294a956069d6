"""Find secrets and PII in captured text (daemon logs, audit rows, HTTP bodies).

`find_leaks(text, secrets)` returns one short description per hit, with the line number and a
label, never the secret itself: the description goes into assertion messages and test
reports, which must not become the leak they report. What counts as a leak:

* every secret the caller names (passwords, tokens, session ids, a database password);
* SSN-shaped text anywhere (`123-45-6789`), and nine digits under an `ssn` key
  (`"ssn": "123456789"`, `ssn=123456789`) — the way LiveVox itself writes SSNs;
* the SSNs and dates of birth a test seeded, in every form they travel in: an SSN with or
  without dashes, a date as `YYYY-MM-DD`, `MM/DD/YYYY` (the export) or epoch milliseconds
  (the JSON API).

`assert_clean_log(path, secrets)` is the form other reliability tests call on their own
daemon logs; it returns how many lines it read, for the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

SSN_SHAPED = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
# nine digits (or the dashed form) as the value of a key named like ssn, in JSON, repr or
# key=value text
SSN_UNDER_KEY = re.compile(
    r"""ssn['"]?\s*[:=]\s*['"]?(?:\d{9}|\d{3}-\d{2}-\d{4})(?!\d)""", re.IGNORECASE
)
MIN_SECRET_LENGTH = 4
"""Shorter secrets would match ordinary text everywhere: refused rather than scanned."""

Secrets = Mapping[str, str] | Iterable[str]


class ScanError(ValueError):
    """A secret too short to scan for without matching ordinary text."""


@dataclass(frozen=True, slots=True)
class _Needle:
    label: str
    pattern: re.Pattern[str]


def _labelled(secrets: Secrets) -> list[tuple[str, str]]:
    if isinstance(secrets, Mapping):
        return [(str(label), value) for label, value in secrets.items()]
    return [(f"secret #{i}", value) for i, value in enumerate(secrets, 1)]


def _literal(value: str) -> re.Pattern[str]:
    # Digits-only values must not match inside longer numbers (ids, timestamps).
    if value.isdigit():
        return re.compile(rf"(?<!\d){re.escape(value)}(?!\d)")
    return re.compile(re.escape(value))


def ssn_forms(ssn: str) -> list[str]:
    """An SSN as it may be written: as given, nine digits, and dashed (when it has 9 digits)."""
    digits = re.sub(r"\D", "", ssn)
    forms = {ssn.strip()}
    if len(digits) == 9:
        forms |= {digits, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"}
    return sorted(f for f in forms if f)


def date_forms(day: date) -> list[str]:
    """A date of birth as it travels: ISO, the export's MM/DD/YYYY, and JSON epoch ms."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [
        day.isoformat(),
        day.strftime("%m/%d/%Y"),
        str(int(midnight.timestamp() * 1000)),
    ]


def _needles(
    secrets: Secrets, ssns: Iterable[str], dates_of_birth: Iterable[date]
) -> list[_Needle]:
    needles: list[_Needle] = []
    for label, value in _labelled(secrets):
        if len(value) < MIN_SECRET_LENGTH:
            raise ScanError(f"{label} is shorter than {MIN_SECRET_LENGTH} characters")
        needles.append(_Needle(label, _literal(value)))
    for i, ssn in enumerate(sorted(set(ssns)), 1):
        for form in ssn_forms(ssn):
            if len(form) >= MIN_SECRET_LENGTH:
                needles.append(_Needle(f"seeded SSN #{i}", _literal(form)))
    for i, day in enumerate(sorted(set(dates_of_birth)), 1):
        for form, kind in zip(date_forms(day), ("ISO", "MM/DD/YYYY", "epoch ms"), strict=True):
            needles.append(_Needle(f"seeded date of birth #{i} ({kind})", _literal(form)))
    return needles


def find_leaks(
    text: str,
    secrets: Secrets = (),
    *,
    ssns: Iterable[str] = (),
    dates_of_birth: Iterable[date] = (),
) -> list[str]:
    """Descriptions (`line 12: SSN-shaped text`) of every leak in `text`; [] when clean.

    `secrets` is a mapping label → value (the label appears in the description) or plain
    values (numbered). The secret's value never appears in what is returned.
    """
    needles = _needles(secrets, ssns, dates_of_birth)
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if SSN_SHAPED.search(line):
            found.append(f"line {number}: SSN-shaped text")
        if SSN_UNDER_KEY.search(line):
            found.append(f"line {number}: an SSN under an ssn key")
        for needle in needles:
            if needle.pattern.search(line):
                found.append(f"line {number}: {needle.label}")
    return found


@dataclass(frozen=True, slots=True)
class LogScan:
    """What `assert_clean_log` read."""

    path: Path
    lines: int


def assert_clean_log(
    path: Path | str,
    secrets: Secrets = (),
    *,
    ssns: Iterable[str] = (),
    dates_of_birth: Iterable[date] = (),
) -> LogScan:
    """Fail (AssertionError naming the lines, never the secrets) when `path` leaks."""
    log = Path(path)
    text = log.read_text(encoding="utf-8", errors="replace")
    leaks = find_leaks(text, secrets, ssns=ssns, dates_of_birth=dates_of_birth)
    if leaks:
        shown = "; ".join(leaks[:20]) + (f"; ... {len(leaks) - 20} more" if len(leaks) > 20 else "")
        raise AssertionError(f"{log.name} leaks: {shown}")
    return LogScan(log, len(text.splitlines()))

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from syncd.domain.merge import Ownership, Policy
from syncd.domain.profile import ProfileError, build_rules

ROOT = Path(__file__).resolve().parents[3]
KEYS = [
    row["key"]
    for row in csv.DictReader((ROOT / "syncd/data/livevox_fields.csv").read_text().splitlines())
]



def test_default_profile_gives_every_dnd_and_consent_flag_most_restrictive() -> None:
    rules = build_rules(tomllib.loads((ROOT / "config/profiles/default.toml").read_text()), KEYS)
    for n in range(1, 11):
        assert rules[f"phone{n}Block"].restrictive_value is True
        assert rules[f"phone{n}BlockDaily"].policy is Policy.MOST_RESTRICTIVE
        assert rules[f"phone{n}SmsConsent"].restrictive_value is False
        assert rules[f"phone{n}AttemptsToday"].ownership is Ownership.LIVEVOX
    assert rules["accountBlock"].ownership is Ownership.BOTH
    assert rules["firstName"].ownership is Ownership.SOR
    assert rules["modifyDate"].ownership is Ownership.LIVEVOX
    assert set(rules) == set(KEYS)


def test_a_pattern_matching_nothing_is_named() -> None:
    with pytest.raises(ProfileError, match=r"rule\[0\]: 'phone\*Blok' matches no LiveVox field"):
        build_rules({"rule": [{"fields": ["phone*Blok"], "ownership": "both"}]}, KEYS)


def test_a_bad_enum_names_where_it_is() -> None:
    with pytest.raises(ProfileError, match=r"rule\.0\.ownership"):
        build_rules({"rule": [{"fields": ["city"], "ownership": "lv"}]}, KEYS)


def test_most_restrictive_without_direction_is_refused() -> None:
    with pytest.raises(ProfileError, match="restrictive_value"):
        build_rules(
            {"rule": [{"fields": ["city"], "ownership": "both", "policy": "most_restrictive"}]},
            KEYS,
        )


@pytest.mark.parametrize("pattern", ["ssn", "dateOfBirth", "*"])
def test_pii_cannot_be_owned_by_both_sides(pattern: str) -> None:
    """A jointly owned field needs its last agreed value in syncd.base, which keeps no PII."""
    with pytest.raises(ProfileError, match="cannot be owned by both sides"):
        build_rules({"rule": [{"fields": [pattern], "ownership": "both"}]}, KEYS)

"""The DND transition table, cell by cell as the spec prints it."""

from __future__ import annotations

import pytest

from syncd.emulator.dnd import BOTH, DAILY, NONE, PERMANENT, DndAction, apply_action, state_name

# (sent value, current status) -> result, transcribed from the spec's table
SPEC_TABLE = {
    ("DAILY", "DAILY"): "DAILY", ("DAILY", "PERMANENT"): "BOTH",
    ("DAILY", "NONE"): "DAILY", ("DAILY", "BOTH"): "BOTH",
    ("PERMANENT", "DAILY"): "BOTH", ("PERMANENT", "PERMANENT"): "PERMANENT",
    ("PERMANENT", "NONE"): "PERMANENT", ("PERMANENT", "BOTH"): "BOTH",
    ("NONE", "DAILY"): "NONE", ("NONE", "PERMANENT"): "NONE",
    ("NONE", "NONE"): "NONE", ("NONE", "BOTH"): "NONE",
    ("BOTH", "DAILY"): "BOTH", ("BOTH", "PERMANENT"): "BOTH",
    ("BOTH", "NONE"): "BOTH", ("BOTH", "BOTH"): "BOTH",
    ("DAILY_OFF", "DAILY"): "NONE", ("DAILY_OFF", "PERMANENT"): "PERMANENT",
    ("DAILY_OFF", "NONE"): "NONE", ("DAILY_OFF", "BOTH"): "PERMANENT",
    ("PERMANENT_OFF", "DAILY"): "DAILY", ("PERMANENT_OFF", "PERMANENT"): "NONE",
    ("PERMANENT_OFF", "NONE"): "NONE", ("PERMANENT_OFF", "BOTH"): "DAILY",
}
STATES = {"NONE": NONE, "DAILY": DAILY, "PERMANENT": PERMANENT, "BOTH": BOTH}


@pytest.mark.parametrize(("sent", "current"), sorted(SPEC_TABLE))
def test_transition_matches_the_spec(sent: str, current: str) -> None:
    result = apply_action(STATES[current], DndAction(sent))

    assert state_name(result) == SPEC_TABLE[(sent, current)]


def test_state_names_come_from_the_two_bits() -> None:
    assert [state_name(s) for s in (NONE, DAILY, PERMANENT, BOTH)] == [
        "NONE", "DAILY", "PERMANENT", "BOTH",
    ]
    assert (DAILY.permanent, DAILY.daily) == (False, True)
    assert (PERMANENT.permanent, PERMANENT.daily) == (True, False)

"""Do-Not-Dial state and the spec's transition table.

State is two bits (permanent, daily). A request sends an *action*; the result depends on the
current state exactly as the spec's "Current Status x Sent Value" table says. The table is
written out literally (not derived from bit arithmetic) so it can be checked against the spec
cell by cell.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class DndAction(StrEnum):
    DAILY = "DAILY"
    PERMANENT = "PERMANENT"
    NONE = "NONE"
    BOTH = "BOTH"
    DAILY_OFF = "DAILY_OFF"
    PERMANENT_OFF = "PERMANENT_OFF"


class DndState(NamedTuple):
    permanent: bool
    daily: bool


NONE = DndState(False, False)
DAILY = DndState(False, True)
PERMANENT = DndState(True, False)
BOTH = DndState(True, True)

_BY_NAME = {"NONE": NONE, "DAILY": DAILY, "PERMANENT": PERMANENT, "BOTH": BOTH}

# sent value -> {current status -> result}, copied from the spec's table.
TRANSITIONS: dict[DndAction, dict[str, str]] = {
    DndAction.DAILY: {"DAILY": "DAILY", "PERMANENT": "BOTH", "NONE": "DAILY", "BOTH": "BOTH"},
    DndAction.PERMANENT: {
        "DAILY": "BOTH", "PERMANENT": "PERMANENT", "NONE": "PERMANENT", "BOTH": "BOTH",
    },
    DndAction.NONE: {"DAILY": "NONE", "PERMANENT": "NONE", "NONE": "NONE", "BOTH": "NONE"},
    DndAction.BOTH: {"DAILY": "BOTH", "PERMANENT": "BOTH", "NONE": "BOTH", "BOTH": "BOTH"},
    DndAction.DAILY_OFF: {
        "DAILY": "NONE", "PERMANENT": "PERMANENT", "NONE": "NONE", "BOTH": "PERMANENT",
    },
    DndAction.PERMANENT_OFF: {
        "DAILY": "DAILY", "PERMANENT": "NONE", "NONE": "NONE", "BOTH": "DAILY",
    },
}


def state_name(state: DndState) -> str:
    """NONE / DAILY / PERMANENT / BOTH, as the JSON views show a block."""
    if state.permanent:
        return "BOTH" if state.daily else "PERMANENT"
    return "DAILY" if state.daily else "NONE"


def apply_action(current: DndState, action: DndAction) -> DndState:
    return _BY_NAME[TRANSITIONS[action][state_name(current)]]

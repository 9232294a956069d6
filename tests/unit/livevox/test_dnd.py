"""DND transitions: the table equals the spec, and the planner is shortest and correct."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.livevox import TRANSITIONS, DndAction, DndState, apply_dnd_actions, plan_dnd_actions
from syncd.livevox._dnd import ALL_STATES

# The spec's table, copied as text: rows = sent value, columns = current DAILY PERMANENT NONE BOTH
SPEC_TABLE = """
DAILY          DAILY  BOTH      DAILY     BOTH
PERMANENT      BOTH   PERMANENT PERMANENT BOTH
NONE           NONE   NONE      NONE      NONE
BOTH           BOTH   BOTH      BOTH      BOTH
DAILY_OFF      NONE   PERMANENT NONE      PERMANENT
PERMANENT_OFF  DAILY  NONE      NONE      DAILY
"""

states = st.sampled_from(ALL_STATES)


def test_transition_table_is_the_specs() -> None:
    columns = ["DAILY", "PERMANENT", "NONE", "BOTH"]
    expected = {}
    for line in SPEC_TABLE.strip().splitlines():
        sent, *results = line.split()
        for current, result in zip(columns, results, strict=True):
            expected[(DndState.from_name(current), DndAction(sent))] = DndState.from_name(result)
    assert dict(TRANSITIONS) == expected
    assert len(TRANSITIONS) == 24


def test_state_names_match_bits() -> None:
    assert DndState(permanent=False, daily=False).name == "NONE"
    assert DndState(permanent=False, daily=True).name == "DAILY"
    assert DndState(permanent=True, daily=False).name == "PERMANENT"
    assert DndState(permanent=True, daily=True).name == "BOTH"
    with pytest.raises(ValueError):
        DndState.from_name("SOMETIMES")


@pytest.mark.parametrize("action", list(DndAction))
def test_every_action_is_idempotent(action: DndAction) -> None:
    # the client retries DND writes as idempotent: this is the property that allows it
    for state in ALL_STATES:
        once = TRANSITIONS[(state, action)]
        assert TRANSITIONS[(once, action)] == once


def _shortest_by_enumeration(current: DndState, desired: DndState) -> int:
    """Independent check: try every sequence by increasing length."""
    for length in range(0, 4):
        for seq in itertools.product(DndAction, repeat=length):
            if apply_dnd_actions(current, seq) == desired:
                return length
    raise AssertionError("unreachable")


@given(current=states, desired=states)
def test_plan_reaches_desired_state(current: DndState, desired: DndState) -> None:
    plan = plan_dnd_actions(current, desired)
    assert apply_dnd_actions(current, plan) == desired


@given(current=states, desired=states)
def test_no_shorter_plan_exists(current: DndState, desired: DndState) -> None:
    assert len(plan_dnd_actions(current, desired)) == _shortest_by_enumeration(current, desired)


@given(current=states, desired=states)
def test_plan_never_drops_a_block_on_the_way(current: DndState, desired: DndState) -> None:
    # intermediate states keep every block either end has: never dialable "in between"
    plan = plan_dnd_actions(current, desired)
    state = current
    for action in plan[:-1]:
        state = TRANSITIONS[(state, action)]
        assert state.permanent >= (current.permanent or desired.permanent)
        assert state.daily >= (current.daily or desired.daily)


def test_known_two_step_moves() -> None:
    daily, permanent = DndState.from_name("DAILY"), DndState.from_name("PERMANENT")
    assert plan_dnd_actions(daily, permanent) == [DndAction.PERMANENT, DndAction.DAILY_OFF]
    assert plan_dnd_actions(permanent, daily) == [DndAction.DAILY, DndAction.PERMANENT_OFF]
    assert plan_dnd_actions(daily, daily) == []
    # among one-step moves the absolute action wins: it is right whatever the current state
    assert plan_dnd_actions(daily, DndState.from_name("BOTH")) == [DndAction.BOTH]

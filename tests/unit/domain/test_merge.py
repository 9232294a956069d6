from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncd.domain.merge import (
    NO_BASE,
    Action,
    Decision,
    FieldRule,
    FieldState,
    Ownership,
    Policy,
    resolve,
)

DND_NO_WB = FieldRule(Ownership.BOTH, Policy.MOST_RESTRICTIVE, restrictive_value=True)
CONSENT = FieldRule(
    Ownership.BOTH, Policy.MOST_RESTRICTIVE, write_back=True, restrictive_value=False
)
NAME = FieldRule(Ownership.SOR)

rules = st.builds(
    FieldRule,
    ownership=st.sampled_from(Ownership),
    policy=st.sampled_from(Policy),
    initial_policy=st.sampled_from([Policy.SOR_WINS, Policy.LIVEVOX_WINS]),
    write_back=st.booleans(),
    restrictive_value=st.sampled_from([None, True, False]),
)
flag = st.sampled_from([None, True, False])
base_flag = st.sampled_from([NO_BASE, None, True, False])


def apply(state: FieldState, decision: Decision) -> FieldState:
    """What the sides hold after the decision was carried out."""
    sor, mirror, base = state.sor, state.mirror, state.base
    if decision.action is Action.PUSH:
        mirror = decision.value
    elif decision.action is Action.WRITE_BACK:
        sor = decision.value
    if decision.new_base is not NO_BASE:
        base = decision.new_base
    return FieldState(sor, mirror, base)


def test_agent_dnd_survives_while_the_sor_still_says_none() -> None:
    state = FieldState(sor=False, mirror=True, base=False)
    for _ in range(3):  # every later cycle decides the same
        decision = resolve(state, DND_NO_WB)
        assert decision.action is Action.NOOP
        state = apply(state, decision)
    assert state.mirror is True


def test_sor_edit_of_an_owned_field_is_pushed_and_a_livevox_edit_reverted() -> None:
    assert resolve(FieldState("Ann", "Anne", "Anne"), NAME) == Decision(
        Action.PUSH, "Ann", "Ann", "sor_owned"
    )
    assert resolve(FieldState("Ann", "Annie", "Ann"), NAME).value == "Ann"


def test_consent_revocation_on_either_side_wins_on_first_contact() -> None:
    assert resolve(FieldState(True, False), CONSENT).action is Action.WRITE_BACK
    assert resolve(FieldState(False, True), CONSENT).action is Action.PUSH


def test_manual_policy_opens_a_conflict_only_when_both_changed() -> None:
    rule = FieldRule(Ownership.BOTH, Policy.MANUAL)
    assert resolve(FieldState("a", "b", "c"), rule).action is Action.CONFLICT
    assert resolve(FieldState("a", "c", "c"), rule).action is Action.PUSH


@given(rule=rules, sor=flag, mirror=flag, base=base_flag)
def test_one_decision_converges_and_a_second_plans_nothing(
    rule: FieldRule, sor: Any, mirror: Any, base: Any
) -> None:
    state = FieldState(sor, mirror, base)
    first = resolve(state, rule)
    if first.action is Action.CONFLICT:
        return  # waits for an admin by design
    second = resolve(apply(state, first), rule)
    assert second.action is Action.NOOP
    assert second.new_base is NO_BASE


@given(sor=flag, mirror=flag, base=base_flag, write_back=st.booleans(), restrict=st.booleans())
def test_a_restriction_set_on_either_side_is_never_undone(
    sor: Any, mirror: Any, base: Any, write_back: bool, restrict: bool
) -> None:
    rule = FieldRule(
        Ownership.BOTH, Policy.MOST_RESTRICTIVE, write_back=write_back, restrictive_value=restrict
    )
    state = FieldState(sor, mirror, base)
    after = apply(state, resolve(state, rule))

    def norm(v: Any) -> Any:
        return False if v is None else v

    lv_restricted = norm(mirror) == restrict and (base is NO_BASE or norm(base) != restrict)
    sor_restricted = norm(sor) == restrict and (base is NO_BASE or norm(base) != restrict)
    if lv_restricted or sor_restricted:
        assert norm(after.mirror) == restrict
    if sor_restricted:
        assert norm(after.sor) == restrict


@given(sor=st.text(max_size=3), mirror=st.text(max_size=3), base=st.text(max_size=3))
def test_sor_owned_fields_end_equal_to_the_sor(sor: str, mirror: str, base: str) -> None:
    state = FieldState(sor, mirror, base)
    assert apply(state, resolve(state, NAME)).mirror == sor

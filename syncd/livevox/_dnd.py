"""Do-Not-Dial (DND) state and the shortest action sequence to reach a desired state.

A contact's (or a phone's) DND state is two bits: permanent and daily. LiveVox does not set
state directly; it takes an *action* (DAILY, PERMANENT, NONE, BOTH, DAILY_OFF, PERMANENT_OFF)
whose effect depends on the current state, by the table in the spec ("current status x sent
value -> result"). ``TRANSITIONS`` encodes that table once, as data; everything else is
derived from it.

``plan_dnd_actions`` finds the shortest action sequence from the current to the desired
state by breadth-first search over the four states. Some moves need two steps (DAILY ->
PERMANENT). Among equally short sequences it prefers the one whose intermediate states keep
the most blocks (e.g. PERMANENT then DAILY_OFF, passing through BOTH, rather than NONE then
PERMANENT, which would leave the number dialable in between), then the one that reaches the
desired state from the most starting states (so a plan made from a slightly stale view still
lands right: BOTH rather than PERMANENT to go from DAILY to BOTH), then the first in action
order, so the plan is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class DndAction(StrEnum):
    """Values LiveVox accepts for ``accountBlock`` / ``phoneBlock``."""

    DAILY = "DAILY"
    PERMANENT = "PERMANENT"
    NONE = "NONE"
    BOTH = "BOTH"
    DAILY_OFF = "DAILY_OFF"
    PERMANENT_OFF = "PERMANENT_OFF"


@dataclass(frozen=True, slots=True, order=True)
class DndState:
    """The two DND bits of an account or a phone."""

    permanent: bool
    daily: bool

    @property
    def name(self) -> str:
        """The spec's name for this state: NONE, DAILY, PERMANENT or BOTH."""
        return _NAMES[self]

    @classmethod
    def from_name(cls, name: str) -> DndState:
        for state, state_name in _NAMES.items():
            if state_name == name:
                return state
        raise ValueError(f"unknown DND state name {name!r}")


NONE = DndState(permanent=False, daily=False)
DAILY = DndState(permanent=False, daily=True)
PERMANENT = DndState(permanent=True, daily=False)
BOTH = DndState(permanent=True, daily=True)

_NAMES: dict[DndState, str] = {NONE: "NONE", DAILY: "DAILY", PERMANENT: "PERMANENT", BOTH: "BOTH"}

ALL_STATES: tuple[DndState, ...] = (DAILY, PERMANENT, NONE, BOTH)

# The spec's table, row = sent value, columns = current status DAILY, PERMANENT, NONE, BOTH.
_TABLE: dict[DndAction, tuple[DndState, DndState, DndState, DndState]] = {
    DndAction.DAILY: (DAILY, BOTH, DAILY, BOTH),
    DndAction.PERMANENT: (BOTH, PERMANENT, PERMANENT, BOTH),
    DndAction.NONE: (NONE, NONE, NONE, NONE),
    DndAction.BOTH: (BOTH, BOTH, BOTH, BOTH),
    DndAction.DAILY_OFF: (NONE, PERMANENT, NONE, PERMANENT),
    DndAction.PERMANENT_OFF: (DAILY, NONE, NONE, DAILY),
}

TRANSITIONS: Mapping[tuple[DndState, DndAction], DndState] = {
    (current, action): result
    for action, row in _TABLE.items()
    for current, result in zip(ALL_STATES, row, strict=True)
}
"""(current state, action sent) -> resulting state, exactly the spec's table."""


def apply_dnd_action(state: DndState, action: DndAction) -> DndState:
    """The state LiveVox ends in after receiving ``action`` in ``state``."""
    return TRANSITIONS[(state, action)]


def apply_dnd_actions(state: DndState, actions: Iterable[DndAction]) -> DndState:
    """Apply actions in order."""
    for action in actions:
        state = apply_dnd_action(state, action)
    return state


def _openness(path: Sequence[DndState]) -> int:
    # how many block bits are off across the intermediate states: lower is safer
    return sum((not s.permanent) + (not s.daily) for s in path)


def _robustness(actions: Sequence[DndAction], desired: DndState) -> int:
    # from how many starting states the same sequence would still end in `desired`
    return sum(apply_dnd_actions(start, actions) == desired for start in ALL_STATES)


def plan_dnd_actions(current: DndState, desired: DndState) -> list[DndAction]:
    """Shortest action sequence taking ``current`` to ``desired`` (empty when equal)."""
    if current == desired:
        return []
    actions = list(DndAction)
    # BFS layer by layer, keeping every shortest path so the safest one can be chosen
    frontier: list[tuple[list[DndAction], list[DndState]]] = [([], [])]
    seen = {current}
    while frontier:
        found: list[tuple[list[DndAction], list[DndState]]] = []
        next_frontier: list[tuple[list[DndAction], list[DndState]]] = []
        layer_seen: set[DndState] = set()
        for path_actions, path_states in frontier:
            state = path_states[-1] if path_states else current
            for action in actions:
                result = TRANSITIONS[(state, action)]
                step = ([*path_actions, action], [*path_states, result])
                if result == desired:
                    found.append(step)
                elif result not in seen:
                    layer_seen.add(result)
                    next_frontier.append(step)
        if found:
            best = min(
                found,
                key=lambda p: (
                    _openness(p[1][:-1]),
                    -_robustness(p[0], desired),
                    [actions.index(a) for a in p[0]],
                ),
            )
            return best[0]
        seen |= layer_seen
        frontier = next_frontier
    raise ValueError(f"DND state {desired.name} is unreachable from {current.name}")

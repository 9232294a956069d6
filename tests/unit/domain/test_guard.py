from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncd.domain.guard import GuardLimits, PlanCounts, check_plan


def test_a_plan_that_deactivates_sixty_percent_is_held_with_a_reason() -> None:
    verdict = check_plan(PlanCounts(deactivations=600), managed_contacts=1000)
    assert verdict.held
    assert any("removes 600 of 1000" in reason for reason in verdict.reasons)


def test_an_ordinary_plan_passes() -> None:
    recent = [PlanCounts(updates=40), PlanCounts(updates=60)]
    assert not check_plan(PlanCounts(updates=50, creates=5), 10_000, recent).held


def test_a_sudden_spike_against_recent_runs_is_held() -> None:
    recent = [PlanCounts(updates=20)] * 5
    verdict = check_plan(PlanCounts(updates=4_000), 100_000, recent)
    assert verdict.held
    assert "median of the last 5 runs" in verdict.reasons[0]


def test_an_ordinary_batch_after_quiet_cycles_is_not_a_spike() -> None:
    quiet = [PlanCounts()] * 10
    assert not check_plan(PlanCounts(updates=150), 1_000_000, quiet).held


def test_small_plans_never_trip_the_guard_even_on_a_small_book() -> None:
    assert not check_plan(PlanCounts(creates=99), managed_contacts=0).held


@given(
    n=st.integers(min_value=0, max_value=10_000),
    book=st.integers(min_value=0, max_value=100_000),
)
def test_held_exactly_when_over_the_share(n: int, book: int) -> None:
    limits = GuardLimits(deviation_factor=float("inf"))
    verdict = check_plan(PlanCounts(updates=n), book, limits=limits)
    expected = n >= limits.min_absolute and n / max(book, 1) > limits.max_share
    assert verdict.held == expected

from __future__ import annotations

import threading

from syncd.daemon.gate import CycleGate


def test_one_holder_at_a_time() -> None:
    gate = CycleGate()
    with gate.hold(wait=False) as first:
        assert first
        with gate.hold(wait=False) as second:
            assert not second
    with gate.hold(wait=False) as again:
        assert again


def test_a_waiter_enters_when_the_holder_leaves() -> None:
    gate = CycleGate()
    assert gate.enter(wait=False)
    entered: list[bool] = []
    waiter = threading.Thread(target=lambda: entered.append(gate.enter(wait=True)))
    waiter.start()
    gate.leave()
    waiter.join(10)
    assert entered == [True]


def test_closing_refuses_waiters_and_waits_for_the_holder() -> None:
    gate = CycleGate()
    assert gate.enter(wait=False)
    refused: list[bool] = []
    waiter = threading.Thread(target=lambda: refused.append(gate.enter(wait=True)))
    waiter.start()
    drained: list[bool] = []
    closer = threading.Thread(target=lambda: drained.append(gate.close_and_drain(30)))
    closer.start()
    waiter.join(10)
    assert refused == [False]  # a queued job never starts once shutdown began
    gate.leave()
    closer.join(10)
    assert drained == [True]
    assert not gate.enter(wait=False)


def test_drain_times_out_or_gives_up_while_a_cycle_runs() -> None:
    gate = CycleGate()
    assert gate.enter(wait=False)
    assert gate.close_and_drain(0.01) is False
    drained: list[bool] = []
    closer = threading.Thread(target=lambda: drained.append(gate.close_and_drain(None)))
    closer.start()
    gate.give_up()
    closer.join(10)
    assert drained == [False]


def test_wait_idle_does_not_close_the_gate() -> None:
    gate = CycleGate()
    assert gate.wait_idle(0)
    assert gate.enter(wait=False)
    assert not gate.wait_idle(0.01)
    gate.leave()
    assert gate.wait_idle(0)
    assert gate.enter(wait=False)

"""Fixtures of the reliability suite; every test here is marked `reliability`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.results import results_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in item.nodeid:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session", autouse=True)
def _fresh_results() -> Iterator[None]:
    """Start each session's results file empty, so the report shows this run only."""
    path = results_path()
    if path.exists():
        path.unlink()
    yield

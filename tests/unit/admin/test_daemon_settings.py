from __future__ import annotations

import pytest
from pydantic import ValidationError

from syncd.settings import DaemonSettings, load_settings


def test_defaults_follow_the_issue() -> None:
    s = DaemonSettings()
    assert s.full_reconcile_cron == "0 2 * * *"
    assert s.reference_interval_seconds == 3600
    assert s.shutdown_grace_seconds < 360  # below TimeoutStopSec=6min in deploy/systemd


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_reconcile_cron", "0 25 * * *", "full_reconcile_cron"),
        ("housekeeping_cron", "nightly", "housekeeping_cron"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
        ("reference_interval_seconds", 5, "reference_interval_seconds"),
    ],
)
def test_bad_values_name_the_setting(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DaemonSettings(**{field: value})


def test_the_section_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_DAEMON_OUTBOX_RETENTION_DAYS", "7")
    monkeypatch.setenv("SYNCD_DAEMON_FULL_RECONCILE_CRON", "15 1 * * *")
    settings = load_settings()
    assert settings.daemon.outbox_retention_days == 7
    assert settings.daemon.full_reconcile_cron == "15 1 * * *"

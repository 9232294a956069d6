from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from syncd.errors import ConfigError
from syncd.logging import REDACTED, redact_secrets
from syncd.settings import load_settings


def test_environment_overrides_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text('sync_interval = 60\n[livevox]\nbase_url = "http://file:1"\n')
    monkeypatch.setenv("SYNCD_CONFIG", str(config))
    monkeypatch.setenv("SYNCD_LIVEVOX_BASE_URL", "http://env:2")
    settings = load_settings()
    assert settings.sync_interval == 60
    assert settings.livevox.base_url == "http://env:2"


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_SYNC_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="sync_interval"):
        load_settings()


def test_a_missing_explicit_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()


def test_secrets_are_never_shown_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_LIVEVOX_PASSWORD", "hunter2-very-secret")
    assert "hunter2-very-secret" not in repr(load_settings())


def test_redaction_masks_sensitive_keys_and_ssn_shaped_text() -> None:
    with capture_logs(processors=[redact_secrets]) as logs:
        structlog.get_logger().info(
            "login",
            password="hunter2",
            session_id="abc",
            note="customer ssn 123-45-6789 on file",
            body={"person": {"ssn": "987654321", "firstName": "Ann"}},
        )
    event = logs[0]
    assert event["password"] == REDACTED
    assert event["session_id"] == REDACTED
    assert "123-45-6789" not in event["note"]
    assert event["body"]["person"] == {"ssn": REDACTED, "firstName": "Ann"}


def test_systemd_credentials_are_read_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "SYNCD_LIVEVOX_PASSWORD").write_text("from-credential\n")
    (tmp_path / "SYNCD_ADMIN_TOKEN").write_text("cred-token")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("SYNCD_ADMIN_TOKEN", "env-token")
    settings = load_settings()
    assert settings.livevox.password.get_secret_value() == "from-credential"
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "env-token"


def test_httpx_request_lines_are_silenced_because_urls_can_carry_session_ids() -> None:
    import logging

    from syncd.logging import configure_logging

    configure_logging(json=True)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING

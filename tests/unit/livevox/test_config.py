"""ClientConfig: normalisation, validation, documented fields, secrets hidden."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from syncd.livevox import ClientConfig
from tests.unit.livevox.conftest import PASSWORD, TOKEN, make_config


def test_every_field_has_a_one_line_docstring() -> None:
    for name, info in ClientConfig.model_fields.items():
        assert info.description, name
        assert "\n" not in info.description, name


@pytest.mark.parametrize(
    ("given", "stored"), [(None, None), ("", None), ("v6.0", "v6.0"), ("6.0", "v6.0"),
                          ("/v5/", "v5")]
)
def test_api_version_forms(given: str | None, stored: str | None) -> None:
    assert make_config(api_version=given).api_version == stored


@pytest.mark.parametrize(
    "overrides",
    [
        {"api_version": "six"},
        {"base_url": "lv.test"},
        {"page_size": 1001},
        {"backoff_base": 5, "backoff_max": 1},
        {"rate_limit_rps": 0},
        {"surprise": 1},
    ],
)
def test_invalid_config(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_config(**overrides)


def test_secrets_are_hidden_and_base_url_trimmed() -> None:
    config = make_config(base_url="https://lv.test/ ")
    assert config.base_url == "https://lv.test"
    text = repr(config) + str(config.model_dump())
    assert TOKEN not in text and PASSWORD not in text

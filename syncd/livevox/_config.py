"""Configuration of the LiveVox client (built by the daemon's settings, or directly in tests)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_VERSION = re.compile(r"^v?\d+(\.\d+)*$")


class ClientConfig(BaseModel):
    """Everything the client needs: where LiveVox is, who logs in, and how hard to retry."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    base_url: str
    """Root URL of the LiveVox API host, e.g. ``https://api.livevox.com`` (no service path)."""

    api_version: str | None = None
    """API version in paths (``v6.0`` gives ``/contact/v6.0/...``); None = unversioned paths."""

    access_token: SecretStr
    """LiveVox access token, sent as the ``LV-Access`` header."""

    client_name: str
    """LiveVox client name used at session login."""

    username: str
    """LiveVox user name used at session login."""

    password: SecretStr
    """LiveVox password used at session login."""

    timeout: float = Field(default=30.0, gt=0)
    """Seconds allowed for connecting and for each read or write on the socket."""

    retry_deadline: float = Field(default=120.0, gt=0)
    """Seconds after the first attempt past which a call is no longer retried."""

    max_attempts: int = Field(default=6, ge=1)
    """Most HTTP attempts per call (the first one included)."""

    backoff_base: float = Field(default=0.5, ge=0)
    """Seconds: scale of the jittered exponential backoff between attempts."""

    backoff_max: float = Field(default=30.0, ge=0)
    """Seconds: longest single backoff wait (a longer ``Retry-After`` is still honoured)."""

    rate_limit_rps: float | None = Field(default=None, gt=0)
    """Client-side limit on requests per second across all threads; None = unlimited."""

    rate_limit_burst: int = Field(default=10, ge=1)
    """Requests that may go out back-to-back before the per-second limit applies."""

    page_size: int = Field(default=1000, ge=1, le=1000)
    """Items per page for list, search, groups and accounts (LiveVox caps it at 1000)."""

    bulk_create_batch_size: int = Field(default=500, ge=1)
    """Contacts per bulk-create request in the batching helper."""

    bulk_update_batch_size: int = Field(default=500, ge=1)
    """Contacts per bulk-update request in the batching helper."""

    dnd_batch_size: int = Field(default=500, ge=1)
    """Contacts per multi-contact DND request in the batching helper."""

    export_chunk_bytes: int = Field(default=256 * 1024, ge=1024)
    """Most decompressed bytes handed out per export chunk (keeps memory flat)."""

    export_label_overrides: dict[str, str] = Field(default_factory=dict)
    """Field key -> CSV header label, replacing the data file's default label."""

    @field_validator("base_url")
    @classmethod
    def _strip_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value

    @field_validator("api_version")
    @classmethod
    def _normalise_version(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().strip("/")
        if not _VERSION.match(value):
            raise ValueError("api_version must look like 'v6.0' (or '6.0')")
        return value if value.startswith("v") else f"v{value}"

    @model_validator(mode="after")
    def _backoff_order(self) -> ClientConfig:
        if self.backoff_max < self.backoff_base:
            raise ValueError("backoff_max must be at least backoff_base")
        return self

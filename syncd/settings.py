"""Configuration: a TOML file overridden by `SYNCD_*` environment variables.

The file is `$SYNCD_CONFIG` (default `config/syncd.toml`; a missing default file is fine, a
missing explicit one is an error). Environment names follow DESIGN.md: `SYNCD_DATABASE_URL`,
`SYNCD_LIVEVOX_BASE_URL`, `SYNCD_LIVEVOX_ACCESS_TOKEN`, `SYNCD_ADMIN_BIND`, `SYNCD_SYNC_INTERVAL`...
(one level of nesting: `SYNCD_<SECTION>_<FIELD>`).
"""

from __future__ import annotations

import os
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from syncd.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/syncd.toml")


class LiveVoxSettings(BaseModel):
    """How to reach LiveVox (or the emulator)."""

    base_url: str = "http://127.0.0.1:8089"
    """Scheme, host and port of the LiveVox API."""
    api_version: str | None = None
    """Version path segment such as `v6.0`; None for unversioned paths."""
    access_token: SecretStr = SecretStr("demo-token")
    """The `LV-Access` token."""
    client_name: str = "demo"
    username: str = "admin"
    password: SecretStr = SecretStr("admin")
    timeout_seconds: float = 60.0
    """Per-request timeout (connect, read, write)."""
    retry_deadline_seconds: float = 300.0
    """Total time a call may spend retrying transient failures."""
    rate_limit_rps: float | None = None
    """Client-side requests per second; None means unlimited."""
    rate_limit_burst: int = 10


class SyncSettings(BaseModel):
    """Scheduling and batching of sync cycles."""

    lookback_minutes: float = 15.0
    """Incremental pulls start this long before the watermark, to catch late writes."""
    update_batch_size: int = 500
    create_batch_size: int = 500
    dnd_batch_size: int = 500
    guard_max_share: float = Field(default=0.10, gt=0, le=1)
    """Hold a plan that touches more than this share of the managed contacts."""
    guard_max_removal_share: float = Field(default=0.10, gt=0, le=1)
    """Hold a plan that deactivates or deletes more than this share."""
    guard_deviation_factor: float = Field(default=10.0, gt=1)
    """Hold a plan this many times larger than the median of recent runs..."""
    guard_spike_min_share: float = Field(default=0.02, ge=0, le=1)
    """...when it also touches at least this share of the book."""


class SorSettings(BaseModel):
    """Where the system of record lives and how its columns map to LiveVox fields."""

    table: str = "sor.contacts"
    """Table or view, schema-qualified."""
    key_column: str = "account"
    """Column holding the LiveVox account."""
    columns: dict[str, str] = {}
    """Column -> LiveVox field key, for columns not named as the field's snake_case column."""
    profile: Path = Path("config/profiles/default.toml")
    """Field-ownership profile."""
    on_removed: str = Field(default="deactivate", pattern="^(deactivate|delete|ignore)$")
    """What a SoR row removed after it was agreed does to its LiveVox contact."""
    import_unmanaged: bool = False
    """Copy LiveVox contacts never seen in the SoR into it (otherwise only counted)."""


class DaemonSettings(BaseModel):
    """The scheduler's jobs, shutdown, resync queue and readiness of `syncd run`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    timezone: str = "UTC"
    """Time zone of the cron expressions below."""
    run_at_start: bool = True
    """Run an incremental cycle as soon as the daemon is up (else after `sync_interval`)."""
    full_reconcile_cron: str = "0 2 * * *"
    """Crontab expression of the full reconcile (default: nightly at 02:00)."""
    reference_interval_seconds: int = Field(default=3600, ge=60)
    """Seconds between reference-data refreshes (custom-field definitions, groups)."""
    housekeeping_cron: str = "30 3 * * *"
    """Crontab expression of housekeeping (outbox and resync-queue retention)."""
    outbox_retention_days: int = Field(default=30, ge=1)
    """DONE and SUPERSEDED outbox rows, and finished resync requests, older than this are
    deleted by housekeeping. The audit log is append-only and never pruned."""
    misfire_grace_seconds: int = Field(default=300, ge=1)
    """A job that could not start on time still runs when this late (else it is skipped);
    missed runs are coalesced into one."""
    shutdown_grace_seconds: float = Field(default=330.0, ge=0)
    """On SIGTERM, how long to wait for the cycle in flight (keep below TimeoutStopSec)."""
    resync_poll_seconds: float = Field(default=5.0, gt=0)
    """Fallback poll of the resync queue when no NOTIFY arrives (lost connection)."""
    readiness_livevox_cache_seconds: float = Field(default=60.0, ge=0)
    """How long a LiveVox login check answers `/readyz` before it is made again."""
    readiness_max_failing_seconds: float = Field(default=3600.0, gt=0)
    """`/readyz` fails once cycles have failed without a success for this long."""
    metrics_cache_seconds: float = Field(default=5.0, ge=0)
    """Database-derived gauges are read at most this often, however often Prometheus scrapes."""

    @field_validator("full_reconcile_cron", "housekeeping_cron")
    @classmethod
    def _valid_crontab(cls, value: str) -> str:
        CronTrigger.from_crontab(value)  # raises ValueError naming the bad part
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Settings(BaseSettings):
    """Everything syncd reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCD_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    database_url: str | None = None
    """Postgres URL; None starts an embedded Postgres in `embedded_data_dir`."""
    embedded_data_dir: Path = Path("var/pgdata")
    admin_bind: str = "127.0.0.1:8787"
    """host:port of the admin HTTP."""
    admin_token: SecretStr | None = None
    """Bearer token for the admin HTTP's write and status endpoints."""
    sync_interval: int = Field(default=300, ge=1)
    """Seconds between incremental cycles."""
    livevox: LiveVoxSettings = LiveVoxSettings()
    sync: SyncSettings = SyncSettings()
    sor: SorSettings = SorSettings()
    daemon: DaemonSettings = DaemonSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        credentials = EnvSettingsSource(
            settings_cls,
            env_prefix="SYNCD_",
            env_nested_delimiter="_",
            env_nested_max_split=1,
        )
        credentials.env_vars = credential_files()
        return (init_settings, env_settings, credentials, toml)


def credential_files() -> dict[str, str]:
    """Secrets handed over by systemd's `LoadCredential=`: one file per variable name.

    A file `$CREDENTIALS_DIRECTORY/SYNCD_LIVEVOX_PASSWORD` counts as that environment
    variable (lower precedence than the real environment, higher than the TOML file).
    """
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory or not Path(directory).is_dir():
        return {}
    return {
        entry.name.lower(): entry.read_text().strip()
        for entry in Path(directory).iterdir()
        if entry.is_file() and entry.name.upper().startswith("SYNCD_")
    }


def config_path() -> Path:
    """The TOML file to read: `$SYNCD_CONFIG`, or the default when it exists."""
    explicit = os.environ.get("SYNCD_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"SYNCD_CONFIG names {path}, which is not a file", path=str(path))
        return path
    return DEFAULT_CONFIG_PATH


def load_settings() -> Settings:
    """Read the configuration, turning validation problems into one clear ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}", path=str(config_path())) from exc

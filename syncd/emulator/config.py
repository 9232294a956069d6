"""Configuration of one emulator instance."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator


class EmulatorConfig(BaseModel):
    """Everything that shapes an emulator: its data, its credentials, its clock rules."""

    contacts: int = Field(default=0, ge=0)
    """How many deterministic contacts to generate (a pure function of seed and index)."""
    seed: int = 1
    """Seed of the generated contacts: the same seed gives the same contacts."""
    faults: str = ""
    """Initial fault-injection spec (see `faults.py`); empty means no faults."""
    access_token: str = "demo-token"
    """The `LV-Access` token a login must present."""
    client_name: str = "demo"
    """The `clientName` a login must present."""
    client_id: int = 1001
    """The numeric client id reported by login and stored on contacts."""
    session_idle_seconds: float = Field(default=7200, gt=0)
    """A session expires after this long without use (rolling)."""
    day_boundary_hour: int = Field(default=0, ge=0, le=23)
    """UTC hour at which daily Do-Not-Dial flags clear."""
    account_prefix: str = "ACC"
    """Generated accounts are this prefix plus a 7+ digit number (`ACC0000001`)."""
    history_end: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    """Generated create/modify dates fall in the five years before this instant (or before
    the clock's start, when that is earlier), so generated history is always in the past."""
    users: dict[str, tuple[str, str]] = Field(
        default_factory=lambda: {
            "admin": ("admin", "Sysadmin"),
            "superuser": ("superuser", "Superuser"),
            "manager": ("manager", "Manager"),
            "ituser": ("ituser", "IT User"),
        }
    )
    """userName -> (password, role)."""

    @field_validator("history_end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # a naive instant is read as UTC
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

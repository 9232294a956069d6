"""The live state of one emulator: built once per app from its config and clock."""

from __future__ import annotations

from dataclasses import dataclass

from . import seed_data
from .clock import Clock
from .config import EmulatorConfig
from .faults import Faults
from .fields import FieldCatalog, load_fields
from .generator import ContactGenerator
from .reference import CustomFieldRegistry, GroupRegistry
from .sessions import SessionManager
from .stats import RequestStats
from .store import ContactStore


@dataclass
class Emulator:
    config: EmulatorConfig
    clock: Clock
    catalog: FieldCatalog
    store: ContactStore
    custom_fields: CustomFieldRegistry
    groups: GroupRegistry
    sessions: SessionManager
    faults: Faults
    stats: RequestStats


def build_emulator(config: EmulatorConfig, clock: Clock) -> Emulator:
    catalog = load_fields()
    # Generated history ends before the clock starts, so it is always in the past.
    history_end = min(config.history_end, clock.now().replace(microsecond=0))
    generator = ContactGenerator(
        seed=config.seed,
        count=config.contacts,
        account_prefix=config.account_prefix,
        client_id=config.client_id,
        history_end=history_end,
        custom_fields=seed_data.CUSTOM_FIELDS,
        group_ids=tuple(g.id for g in seed_data.GROUPS),
    )
    return Emulator(
        config=config,
        clock=clock,
        catalog=catalog,
        store=ContactStore(
            generator, catalog, clock, day_boundary_hour=config.day_boundary_hour
        ),
        custom_fields=CustomFieldRegistry(seed_data.CUSTOM_FIELDS),
        groups=GroupRegistry(seed_data.GROUPS, history_end),
        sessions=SessionManager(
            users=config.users,
            access_token=config.access_token,
            client_name=config.client_name,
            client_id=config.client_id,
            idle_seconds=config.session_idle_seconds,
            clock=clock,
        ),
        faults=Faults(config.faults),
        stats=RequestStats(),
    )

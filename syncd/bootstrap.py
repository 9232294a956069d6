"""Build the sync from settings: database, LiveVox client, SoR mapping, profile, pusher.

The one place that turns configuration into live objects and injects them (entry points — the
CLI, the daemon, the demo — call `build_sync` and then only `run_cycle`). Start-up checks run
here, before any cycle: the database is reachable and migrated, the profile parses, and the
SoR table's columns fit the fields they map to (`syncd.service.sor`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.domain.guard import GuardLimits
from syncd.errors import DatabaseError
from syncd.livevox import ClientConfig, LiveVoxClient
from syncd.service.cycle import Progress, SyncDeps, run_cycle
from syncd.service.push import drain_outbox, recover_interrupted
from syncd.service.requests import CycleRequest, CycleResult
from syncd.service.sor import SorMapping, load_mapping, load_rules
from syncd.settings import Settings, SyncSettings
from syncd.store.embedded import database_url_for
from syncd.store.engine import create_engine_for
from syncd.store.migrate import current_revision, head_revision


class SyncService:
    """A built sync: `run_cycle(request)` until `close()` (or use it as a context manager)."""

    def __init__(
        self,
        deps: SyncDeps,
        *,
        resources: ExitStack | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.deps = deps
        self.engine: Engine = deps.engine
        self.client: Any = deps.client
        self.mapping: SorMapping = deps.mapping
        self.stop = stop
        self._resources = resources or ExitStack()
        self._closed = False

    def run_cycle(
        self,
        request: CycleRequest,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> CycleResult:
        """One cycle (see `syncd.service.cycle`); `stop` (or the service's) ends it early;
        `progress(stage, done, total)` hears its stages (a terminal display)."""
        return run_cycle(self.deps, request, stop=stop or self.stop, progress=progress)

    def close(self) -> None:
        """Log out of LiveVox, dispose of the engine, stop an embedded database. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._resources.close()

    def __enter__(self) -> SyncService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def client_config(settings: Settings) -> ClientConfig:
    lv = settings.livevox
    return ClientConfig(
        base_url=lv.base_url,
        api_version=lv.api_version,
        access_token=lv.access_token,
        client_name=lv.client_name,
        username=lv.username,
        password=lv.password,
        timeout=lv.timeout_seconds,
        retry_deadline=lv.retry_deadline_seconds,
        rate_limit_rps=lv.rate_limit_rps,
        rate_limit_burst=lv.rate_limit_burst,
        bulk_create_batch_size=settings.sync.create_batch_size,
        bulk_update_batch_size=settings.sync.update_batch_size,
        dnd_batch_size=settings.sync.dnd_batch_size,
    )


def check_migrated(engine: Engine) -> None:
    """Raise `DatabaseError` unless the database answers and is at the head revision."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"the database is unreachable: {type(exc.orig).__name__}") from exc
    head = head_revision()
    if revision != head:
        raise DatabaseError(
            f"the database is at revision {revision or 'none'}, not {head}: "
            "run `syncd db upgrade`",
            revision=revision,
        )


@contextmanager
def open_database(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured (or embedded) database, checked to be migrated."""
    with database_url_for(settings) as url:
        engine = create_engine_for(url)
        try:
            check_migrated(engine)
            yield engine
        finally:
            engine.dispose()


def guard_limits(sync: SyncSettings) -> GuardLimits:
    """The blast-radius guard's limits from configuration."""
    return GuardLimits(
        max_share=sync.guard_max_share,
        max_removal_share=sync.guard_max_removal_share,
        deviation_factor=sync.guard_deviation_factor,
        spike_min_share=sync.guard_spike_min_share,
    )


def build_sync(
    settings: Settings,
    *,
    client: Any | None = None,
    stop: threading.Event | None = None,
    **deps_overrides: Any,
) -> SyncService:
    """Build and check everything a cycle needs. `client` replaces the LiveVox client (tests,
    the demo); `deps_overrides` set `SyncDeps` fields (guard limits, page size, ...)."""
    resources = ExitStack()
    try:
        engine = resources.enter_context(open_database(settings))
        rules = load_rules(settings.sor.profile)
        with engine.connect() as conn:
            mapping = load_mapping(conn, settings.sor, rules)
        if client is None:
            client = resources.enter_context(LiveVoxClient(client_config(settings)))
        deps = SyncDeps(
            engine=engine,
            client=client,
            mapping=mapping,
            sync=settings.sync,
            sor=settings.sor,
            push=drain_outbox,
            recover=recover_interrupted,
            **{"guard": guard_limits(settings.sync), **deps_overrides},
        )
    except BaseException:
        resources.close()
        raise
    return SyncService(deps, resources=resources, stop=stop)

"""`syncd sync` (one cycle now), `syncd conflicts list|resolve`, `syncd dead-letters list|retry`.

Exit codes of `syncd sync`: 0 done (or dry run, or skipped because another replica runs a
cycle), 1 the cycle failed, 2 the configuration or database cannot be used, 3 the guard
held the plan (`--confirm` sends it).

On a terminal `syncd sync` shows a live progress display of the cycle's stages (pull, diff /
plan, push with rows done/total) and logs only warnings and errors, which would otherwise tear
the display; anywhere else (a pipe, a file, cron) it prints no display, only the log lines.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from syncd.cli._common import fail
from syncd.errors import SyncdError

EXIT_FAILED = 1
EXIT_HELD = 3

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def sync(
    full: Annotated[bool, typer.Option("--full", help="Full reconcile: export everything, "
                                       "compare every contact.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and print; send nothing, "
                                          "write only audit previews.")] = False,
    account: Annotated[list[str] | None, typer.Option("--account", help="Only this account "
                                                      "(repeatable).")] = None,
    confirm: Annotated[bool, typer.Option("--confirm", help="Send a plan the blast-radius "
                                          "guard would hold.")] = False,
    since: Annotated[datetime | None, typer.Option(formats=_DATE_FORMATS, help="Pull LiveVox "
                                                   "changes from this instant (UTC).")] = None,
) -> None:
    """Run one cycle now (pull → diff → plan → guard → push) and print a summary."""
    from syncd.bootstrap import build_sync
    from syncd.logging import configure_logging
    from syncd.service.requests import CycleKind, CycleRequest, RunStatus
    from syncd.settings import load_settings

    terminal = _stdout_is_terminal()
    configure_logging(level="WARNING" if terminal else "INFO")
    request = CycleRequest(
        kind=CycleKind.FULL if full else CycleKind.INCREMENTAL,
        accounts=tuple(account or ()),
        since=None if since is None else (since if since.tzinfo else since.replace(tzinfo=UTC)),
        dry_run=dry_run,
        confirm=confirm,
        requested_by=f"cli:{_user()}",
    )
    try:
        with build_sync(load_settings()) as service:
            if terminal:
                with cycle_progress() as progress:
                    result = service.run_cycle(request, progress=progress)
            else:
                result = service.run_cycle(request)
    except SyncdError as exc:
        fail(exc)
    for line in summary(result.status.value, result.run_id, result.counts, result.messages):
        typer.echo(line)
    if result.status is RunStatus.HELD:
        raise typer.Exit(EXIT_HELD)
    if result.status is RunStatus.FAILED:
        raise typer.Exit(EXIT_FAILED)


_STAGE_LABELS = {"pull": "pull", "plan": "diff / plan", "push": "push"}


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@contextmanager
def cycle_progress(console: Any | None = None) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress display, one bar per stage as it starts; yields the cycle's
    `progress(stage, done, total)` callback. `console` defaults to stdout's."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    display = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        task = tasks.get(stage)
        if task is None:
            task = tasks[stage] = display.add_task(_STAGE_LABELS.get(stage, stage), total=total)
        display.update(task, completed=done, total=total)

    with display:
        yield progress


def summary(
    status: str, run_id: int | None, counts: dict[str, int], messages: list[str]
) -> list[str]:
    """The lines `syncd sync` prints."""
    c = counts.get
    lines = [f"run {run_id}: {status}"]
    if "pulled" in counts:
        lines.append(
            f"  pulled {c('pulled', 0)} contacts ({c('pull_inserted', 0)} new, "
            f"{c('pull_updated', 0)} changed, {c('pull_rejected', 0)} rejected rows)"
        )
    if "candidates" in counts:
        lines.append(
            f"  compared {c('candidates', 0)} contacts; planned {c('creates', 0)} creates, "
            f"{c('updates', 0)} updates, {c('dnd_changes', 0)} DND changes, "
            f"{c('deactivations', 0)} deactivations, {c('deletes', 0)} deletes"
        )
        lines.append(
            f"  wrote back {c('write_back_fields', 0)} values into the SoR; "
            f"{c('conflicts', 0)} conflicts; {c('invalid', 0) + c('key_problems', 0)} "
            "invalid SoR rows"
        )
    if "push_sent" in counts:
        lines.append(
            f"  pushed {c('push_applied', 0)} applied, {c('push_rejected', 0)} rejected, "
            f"{c('push_failed', 0)} failed (retried later), {c('push_dead', 0)} dead, "
            f"{c('push_superseded', 0)} superseded, in {c('push_requests', 0)} requests"
        )
    if "unmanaged" in counts:
        lines.append(f"  unmanaged LiveVox contacts (never in the SoR): {c('unmanaged', 0)}")
    lines.extend(f"  {m}" for m in messages)
    return lines


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        return "unknown"


# --- conflicts -------------------------------------------------------------------------------

conflicts_app = typer.Typer(no_args_is_help=True, help="Conflicts a manual policy left open.")


class Use(StrEnum):
    SOR = "sor"
    LIVEVOX = "livevox"
    VALUE = "value"


@conflicts_app.command("list")
def conflicts_list(
    all_: Annotated[bool, typer.Option("--all", help="Applied ones too.")] = False,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """Open and resolved (not yet applied) conflicts, with the three values."""
    from syncd.domain.values import audit_text
    from syncd.store.conflicts_repo import list_conflicts

    statuses = ("open", "resolved", "applied") if all_ else ("open", "resolved")
    with _database() as engine, engine.connect() as conn:
        rows = list_conflicts(conn, statuses=statuses, account=account, limit=limit)
    table = _table("id", "account", "field", "SoR", "LiveVox", "agreed", "status", "resolution")
    for r in rows:
        table.add_row(
            str(r.id), r.account, r.field,
            _cell(audit_text(r.field, r.sor_value)), _cell(audit_text(r.field, r.mirror_value)),
            _cell(audit_text(r.field, r.base_value)), r.status, r.resolution or "",
        )  # fmt: skip
    _print(table, empty="no conflicts" if not rows else None)


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(help="Conflict id (`syncd conflicts list`).")],
    use: Annotated[Use, typer.Option("--use", help="Which value wins.")],
    value: Annotated[str | None, typer.Option(help="The value, with --use value.")] = None,
    by: Annotated[str | None, typer.Option(help="Who resolves (default: login name).")] = None,
) -> None:
    """Choose the value of a conflicting field; the next cycle applies it on both sides."""
    from syncd.domain.values import InvalidValueError, parse_value
    from syncd.store.conflicts_repo import get_conflict, resolve_conflict
    from syncd.store.field_columns import FIELDS

    if (use is Use.VALUE) != (value is not None):
        raise typer.BadParameter("--value goes with --use value (and only with it)")
    kinds = {f.key: f for f in FIELDS}
    with _database() as engine, engine.begin() as conn:
        conflict = get_conflict(conn, conflict_id)
        canonical: Any = None
        if use is Use.VALUE:
            spec = kinds[conflict.field]
            is_phone = spec.group == "phone" and spec.key == f"phone{spec.ordinal}"
            try:
                canonical = parse_value(spec.key, spec.type, value, phone=is_phone)
            except InvalidValueError as exc:
                raise typer.BadParameter(str(exc)) from None
        row = resolve_conflict(conn, conflict_id, use=use.value, value=canonical, by=by or _user())
    typer.echo(
        f"conflict {row.id} ({row.account} {row.field}) resolved: use {row.resolution}; "
        "the next cycle applies it"
    )


# --- dead letters ----------------------------------------------------------------------------

dead_letters_app = typer.Typer(no_args_is_help=True, help="Changes that could not be made.")


@dead_letters_app.command("list")
def dead_letters_list(
    all_: Annotated[bool, typer.Option("--all", help="Closed ones too.")] = False,
    kind: Annotated[str | None, typer.Option(help="invalid | rejected | exhausted")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """Open dead letters: what could not be sent, and why."""
    from syncd.store.dead_letters_repo import list_dead_letters

    statuses = ("open", "retried", "resolved", "discarded") if all_ else ("open",)
    with _database() as engine, engine.connect() as conn:
        rows = list_dead_letters(
            conn, statuses=statuses, kind=kind, account=account, limit=limit
        )
    table = _table("id", "run", "account", "operation", "kind", "status", "reason")
    for r in rows:
        table.add_row(
            str(r.id), str(r.run_id or ""), r.account or "(none)", r.operation, r.kind,
            r.status, r.reason,
        )  # fmt: skip
    _print(table, empty="no dead letters" if not rows else None)


@dead_letters_app.command("retry")
def dead_letters_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open dead letter.")] = False,
) -> None:
    """Close dead letters as retried; the next cycle plans their contacts again."""
    from syncd.store.dead_letters_repo import retry_dead_letters

    if bool(ids) == all_:
        raise typer.BadParameter("give dead letter ids, or --all")
    with _database() as engine, engine.begin() as conn:
        retried = retry_dead_letters(conn, None if all_ else ids)
    accounts = sorted({r.account for r in retried if r.account})
    typer.echo(
        f"{len(retried)} dead letters retried; the next cycle plans {len(accounts)} contacts "
        "again"
    )


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _database() -> Iterator[Any]:
    """The configured database; a configuration or database problem exits with code 2."""
    from syncd.bootstrap import open_database
    from syncd.settings import load_settings

    try:
        with open_database(load_settings()) as engine:
            yield engine
    except SyncdError as exc:
        fail(exc)


class _Rows:
    """Rows to print: a rich table on a terminal, tab-separated lines otherwise (scripts)."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)


def _table(*columns: str) -> _Rows:
    return _Rows(*columns)


def _cell(text: str | None) -> str:
    return "∅" if text is None else text


def _print(table: _Rows, *, empty: str | None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    if empty is not None:
        typer.echo(empty)
        return
    if not sys.stdout.isatty():
        for cells in (table.columns, *table.rows):
            typer.echo("\t".join(cells))
        return
    rich_table = Table()
    for column in table.columns:
        rich_table.add_column(column, overflow="fold")
    for cells in table.rows:
        rich_table.add_row(*cells)
    Console().print(rich_table)

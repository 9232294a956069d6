"""Admin commands: `syncd resync`, `syncd status`, `syncd audit`, `syncd config check`.

They talk to the database only (never to a running daemon directly): a resync is a row in
`syncd.resync_requests` that whichever daemon replica is free picks up. Output is rich
tables; spinners only when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncd.cli._common import fail
from syncd.errors import SyncdError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from syncd.settings import Settings
    from syncd.store.resync_queue import ResyncRequest
    from syncd.store.status_queries import StatusReport

config_app = typer.Typer(no_args_is_help=True, help="Configuration commands.")


class BadDateError(SyncdError):
    """A --since value is not an ISO date or date-time."""


def parse_when(value: str | None) -> datetime | None:
    """`2024-05-01`, `2024-05-01T08:00`, `2024-05-01 08:00:00+02:00` → aware datetime (UTC
    when no offset is given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadDateError(
            f"not a date or date-time: {value!r} (use 2024-05-01 or 2024-05-01T08:00)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@contextmanager
def _engine() -> Iterator[Engine]:
    from syncd.logging import configure_logging
    from syncd.settings import load_settings
    from syncd.store.embedded import database_url_for
    from syncd.store.engine import create_engine_for

    configure_logging(level="WARNING")
    with database_url_for(load_settings()) as url:
        engine = create_engine_for(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output is read by people and grep, not squeezed into 80 columns.
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, width=width)


def _fmt_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fmt_lag(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


# --- resync -------------------------------------------------------------------------------


def resync(
    full: Annotated[
        bool, typer.Option("--full", help="A full reconcile instead of incremental.")
    ] = False,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only this account (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Re-pull changes since this date or date-time (UTC).")
    ] = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Send a plan the blast-radius guard would hold.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for it to finish.")] = False,
    timeout: Annotated[
        float, typer.Option(help="With --wait: give up after this many seconds.")
    ] = 3600.0,
) -> None:
    """Ask the running daemon for a resync (queued in the database); print the request id."""
    import getpass

    from syncd.store import resync_queue

    try:
        since_at = parse_when(since)
        with _engine() as engine:
            request_id = resync_queue.enqueue(
                engine,
                requested_by=f"cli:{getpass.getuser()}",
                full=full,
                accounts=tuple(account or ()),
                since=since_at,
                confirm=confirm,
            )
            typer.echo(f"resync request {request_id} queued")
            if not wait:
                return
            request = _wait(engine, request_id, timeout)
    except SyncdError as exc:
        fail(exc)
    if request is None or not request.finished:
        typer.secho(
            f"resync request {request_id} not finished after {timeout:.0f} s "
            f"(status: {request.status if request else 'gone'})",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(code=4)
    if request.status == "done":
        typer.echo(f"resync request {request_id} done (run {request.run_id})")
        return
    typer.secho(
        f"resync request {request_id} failed (run {request.run_id}): {request.error}",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(code=1)


def _wait(engine: Engine, request_id: int, timeout: float) -> ResyncRequest | None:
    from syncd.store.resync_queue import wait_finished

    hint_after = 30.0
    if not sys.stderr.isatty():
        return wait_finished(engine, request_id, timeout=timeout, on_tick=_plain_tick(hint_after))
    console = _console(stderr=True)
    with console.status(f"waiting for resync request {request_id}…") as spinner:

        def tick(request: ResyncRequest | None, waited: float) -> None:
            state = request.status if request else "gone"
            note = (
                " — no daemon has picked it up yet; is `syncd run` running?"
                if state == "pending" and waited > hint_after
                else ""
            )
            spinner.update(f"resync request {request_id}: {state} ({waited:.0f} s){note}")

        return wait_finished(engine, request_id, timeout=timeout, on_tick=tick)


def _plain_tick(hint_after: float) -> Callable[[ResyncRequest | None, float], None]:
    hinted = False

    def tick(request: ResyncRequest | None, waited: float) -> None:
        nonlocal hinted
        pending = request is not None and request.status == "pending"
        if pending and waited > hint_after and not hinted:
            typer.echo(
                "still pending: no daemon has picked it up yet; is `syncd run` running?",
                err=True,
            )
            hinted = True

    return tick


# --- status -------------------------------------------------------------------------------


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    runs: Annotated[int, typer.Option(help="How many recent runs to show.", min=1)] = 10,
) -> None:
    """Last runs, watermark and lag, outbox, dead letters, conflicts, held plans."""
    from syncd.store.status_queries import read_status

    try:
        with _engine() as engine:
            snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
            with snapshot as conn, conn.begin():
                report = read_status(conn, run_limit=runs)
    except SyncdError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, default=str))
        return
    print_status(report, _console())


def print_status(report: StatusReport, console: Console) -> None:
    from rich.table import Table

    summary = Table(title="syncd status", show_header=False, title_justify="left")
    summary.add_column("what")
    summary.add_column("value")
    summary.add_row("watermark", _fmt_time(report.watermark) or "none yet")
    summary.add_row("lag", _fmt_lag(report.lag_seconds))
    summary.add_row(
        "outbox",
        ", ".join(f"{state} {n}" for state, n in report.outbox.items() if n) or "empty",
    )
    dead = sum(report.dead_letters.values())
    summary.add_row(
        "dead letters (open)",
        f"{dead}" + (f" ({_by(report.dead_letters)})" if dead else ""),
    )
    summary.add_row(
        "conflicts",
        f"open {report.conflicts.get('open', 0)}, resolved, not yet applied "
        f"{report.conflicts.get('resolved', 0)}",
    )
    summary.add_row(
        "unmanaged contacts",
        "n/a (too slow to count)"
        if report.unmanaged_contacts is None
        else str(report.unmanaged_contacts),
    )
    console.print(summary)

    runs = Table(title="last runs", title_justify="left")
    for column in ("run", "kind", "status", "started (UTC)", "duration", "by", "detail"):
        runs.add_column(column, justify="right" if column in ("run", "duration") else "left")
    for run in report.runs:
        duration = run.duration_seconds
        detail = "; ".join(run.messages) or (run.error or "")
        runs.add_row(
            str(run.id),
            run.kind,
            run.status,
            _fmt_time(run.started_at),
            "" if duration is None else f"{duration:.1f} s",
            run.requested_by or "",
            detail[:120],
        )
    console.print(runs)

    if report.held_runs:
        held = Table(title="held plans (not sent)", title_justify="left")
        held.add_column("run", justify="right")
        held.add_column("kind")
        held.add_column("reasons")
        for run in report.held_runs:
            held.add_row(str(run.id), run.kind, "; ".join(run.messages))
        console.print(held)
        console.print("release with `syncd resync --confirm` (or `syncd sync --confirm`)")

    if report.resync_requests:
        queue = Table(title="resync requests", title_justify="left")
        for column in ("id", "status", "requested (UTC)", "by", "what", "run", "error"):
            queue.add_column(column)
        for request in report.resync_requests:
            what = ["full" if request.full else "incremental"]
            if request.accounts:
                what.append(f"{len(request.accounts)} account(s)")
            if request.since:
                what.append(f"since {_fmt_time(request.since)}")
            queue.add_row(
                str(request.id),
                request.status,
                _fmt_time(request.requested_at),
                request.requested_by,
                ", ".join(what),
                "" if request.run_id is None else str(request.run_id),
                (request.error or "")[:80],
            )
        console.print(queue)


def _by(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))


# --- audit --------------------------------------------------------------------------------


def audit(
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only rows at or after this time (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (newest first).", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Read the append-only audit log (SSN and date-of-birth values masked)."""
    from rich.table import Table

    from syncd.store.status_queries import read_audit

    try:
        since_at = parse_when(since)
        with _engine() as engine, engine.connect() as conn:
            entries = read_audit(conn, account=account, since=since_at, limit=limit)
    except SyncdError as exc:
        fail(exc)
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry.as_json(), default=str))
        return
    table = Table(title=f"audit log ({len(entries)} rows, newest first)", title_justify="left")
    for column in (
        "time (UTC)",
        "run",
        "dir",
        "account",
        "op",
        "field",
        "old → new",
        "outcome",
        "http",
        "tries",
        "error",
    ):
        table.add_column(column)
    for e in entries:
        table.add_row(
            _fmt_time(e.at),
            "" if e.run_id is None else str(e.run_id),
            e.direction,
            e.account,
            e.operation,
            e.field or "",
            f"{e.old_value if e.old_value is not None else '∅'} → "
            f"{e.new_value if e.new_value is not None else '∅'}",
            e.outcome,
            "" if e.http_status is None else str(e.http_status),
            "" if e.attempts is None else str(e.attempts),
            (e.error or "")[:80],
        )
    _console().print(table)


# --- config check -------------------------------------------------------------------------


@config_app.command("check")
def config_check(
    show: Annotated[
        bool, typer.Option("--show/--no-show", help="Print the effective configuration.")
    ] = True,
) -> None:
    """Validate the configuration, reach Postgres (migrated?), log in to LiveVox, find the
    SoR table and columns. Exit 1 when any check fails."""
    from syncd.admin.checks import run_checks
    from syncd.logging import configure_logging

    configure_logging(level="WARNING")
    console = _console()
    failed = 0
    for result in run_checks():
        mark = "[green]ok[/green]  " if result.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {result.name}: {result.detail}", soft_wrap=True)
        if result.ok and result.name == "configuration" and show and result.settings is not None:
            console.print_json(json.dumps(effective_config(result.settings), default=str))
        failed += not result.ok
    if failed:
        console.print(f"[red]{failed} check(s) failed[/red]")
        raise typer.Exit(code=1)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as JSON with secrets masked (the database URL's password included)."""
    from sqlalchemy.engine import make_url

    data: dict[str, Any] = settings.model_dump(mode="json")
    if settings.database_url:
        try:
            data["database_url"] = make_url(settings.database_url).render_as_string(
                hide_password=True
            )
        except Exception:  # not a URL (a conninfo string): show nothing rather than a secret
            data["database_url"] = "***"
    return data

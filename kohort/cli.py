"""`kohort serve | migrate | org create | user create | demo`."""

import asyncio
import json
import logging
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from kohort import clock, migrations
from kohort.config import get_settings
from kohort.db import create_database
from kohort.email import repository as email_repository
from kohort.errors import AppError
from kohort.http import versions
from kohort.http.server import KohortHttpProtocol, connection_limit, raise_open_files_limit
from kohort.logs import configure_logging, logging_config
from kohort.organization import repository as organizations
from kohort.organization import service as organization_service
from kohort.payout_batch import jobs as payout_batch_jobs
from kohort.worker import Worker

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Kohort: social cashback.")
org_app = typer.Typer(no_args_is_help=True, help="Manage organizations.")
app.add_typer(org_app, name="org")
user_app = typer.Typer(no_args_is_help=True, help="Dashboard users.")
app.add_typer(user_app, name="user")
email_app = typer.Typer(no_args_is_help=True, help="The e-mail outbox.")
app.add_typer(email_app, name="email")
console = Console(stderr=True)
log = logging.getLogger("kohort.cli")
DEMO_NAME = "Demo Shop"
WORKER_HEALTHCHECK_TIMEOUT_S = 30
"""uvicorn's 5 s kills a worker process still importing on a slow or busy machine, then its
replacement, and so on: `--workers N` would serve with fewer."""
DEMO_KEYS_FILE = "demo-keys.json"
DEMO_OWNER = "demo@kohort.localhost"
DEMO_OWNER_FILE = "demo-owner.json"


async def _schema_state() -> tuple[str | None, str | None]:
    db = create_database(get_settings(), pooled=False)
    try:
        return await migrations.current_revision(db.engine), migrations.head_revision()
    finally:
        await db.dispose()


@app.command()
def migrate() -> None:
    """Bring the database schema up to the code's head revision."""

    async def run() -> None:
        db = create_database(get_settings(), pooled=False)
        try:
            await migrations.upgrade(db.engine)
        finally:
            await db.dispose()

    asyncio.run(run())
    current, _ = asyncio.run(_schema_state())
    console.print(f"Database schema at revision {current} (head).")


@app.command()
def serve(
    workers: Annotated[int, typer.Option(min=1, help="API processes (PostgreSQL only).")] = 1,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the background worker inside.")
    ] = False,
) -> None:
    """Serve the API, with the background worker inside unless --no-worker (or
    KOHORT_WORKER=off). Refuses to start on a database behind the code's migrations."""
    if no_worker:
        os.environ["KOHORT_WORKER"] = "off"
        get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    current, head = asyncio.run(_schema_state())
    if current != head:
        console.print(
            f"[red]The database schema is at revision {current or 'none'}, "
            f"the code needs {head}.[/red] Run `kohort migrate` (or `make migrate`) first."
        )
        raise typer.Exit(code=1)
    if workers > 1 and settings.is_sqlite:
        console.print("[red]Several API processes need PostgreSQL; SQLite serves one.[/red]")
        raise typer.Exit(code=1)
    open_files = raise_open_files_limit()
    log.info(
        "at most %d connections per process (open files limit %d)",
        connection_limit(settings),
        open_files,
    )
    _exit_quietly_on_stop_signals()
    uvicorn.run(
        "kohort.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=KohortHttpProtocol,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        proxy_headers=True,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
    )


def _exit_quietly_on_stop_signals() -> None:
    """uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again, to
    the handler it found: this one, so a stop asked for ends with status 0 (Ctrl-C or SIGTERM
    on `make run` ends without a make error), not with death by the signal."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, frame: None)


@app.command()
def worker() -> None:
    """Run the background worker alone (any number of them on PostgreSQL). SIGTERM lets the
    current item finish, then exits."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    current, head = asyncio.run(_schema_state())
    if current != head:
        console.print(
            f"[red]The database schema is at revision {current or 'none'}, "
            f"the code needs {head}.[/red] Run `kohort migrate` (or `make migrate`) first."
        )
        raise typer.Exit(code=1)
    asyncio.run(_run_worker())


async def _run_worker() -> None:
    settings = get_settings()
    db = create_database(settings)
    runner = Worker.from_settings(db, settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, runner.stop.set)
    try:
        await runner.run()
    finally:
        await db.dispose()


async def _create_org(
    name: str, *, api_version: str = versions.CURRENT
) -> organization_service.CreatedOrganization:
    db = create_database(get_settings(), pooled=False)
    try:
        async with db.write() as session:
            return await organization_service.create_organization(
                session, name=name, api_version=api_version
            )
    finally:
        await db.dispose()


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option("--name", help="The shop's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
    api_version: Annotated[
        str,
        typer.Option(
            "--api-version",
            help="Its default API version: 2026-12-01 (current) or kohortpay (KohortPay's "
            "modules and SDKs).",
        ),
    ] = versions.CURRENT,
) -> None:
    """Create an organization with its four API keys, printed this once."""
    try:
        created = asyncio.run(_create_org(name, api_version=api_version))
    except AppError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from None
    if as_json:
        payload = {"organizationId": created.organization.id, "keys": created.keys}
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    out = Console()
    out.print(f"Organization [bold]{created.organization.name}[/bold] ({created.organization.id})")
    for label, key in created.keys.items():
        out.print(f"  {label:8} {key}")
    out.print("These keys are shown once: store them now.")


async def _organization_exists(organization_id: str) -> bool:
    db = create_database(get_settings(), pooled=False)
    try:
        async with db.read() as session:
            return await organizations.get_by_id(session, organization_id) is not None
    finally:
        await db.dispose()


def _demo_keys(path: Path) -> dict[str, Any]:
    """The demo organization's keys: created once, then read back from the data folder."""
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        if asyncio.run(_organization_exists(saved["organizationId"])):
            return saved
    created = asyncio.run(_create_org(DEMO_NAME))
    saved = {"organizationId": created.organization.id, "keys": created.keys}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=2))
    os.chmod(path, 0o600)
    return saved


async def _create_user(
    email: str, organization_id: str, role: str, password: str | None
) -> tuple[bool, str | None]:
    """Create the user (or find it) and add the membership; whether the user is new, and a
    one-time set-password link when no password was given."""
    from kohort.dashboard_user import service as users
    from kohort.dashboard_user import tokens

    settings = get_settings()
    db = create_database(settings, pooled=False)
    try:
        async with db.write() as session:
            if await organizations.get_by_id(session, organization_id) is None:
                raise AppError(f"No such organization: '{organization_id}'")
            user = await users.find_user_by_email(session, email)
            new = user is None
            if user is None:
                user = await users.create_user(session, email=email, password=password)
            elif password is not None:
                await users.set_password(session, user, password)
            await users.add_membership(
                session, user=user, organization_id=organization_id, role=role, by=None
            )
            link = None
            if password is None and user.password_hash is None:
                link = await tokens.set_password_link(settings, session, user)
            return new, link
    finally:
        await db.dispose()


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option("--email", help="The user's e-mail.")],
    org: Annotated[str, typer.Option("--org", help="The organization (org_…).")],
    role: Annotated[str, typer.Option("--role", help="owner, admin or viewer.")] = "owner",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a dashboard user (or add an existing one) as a member of an organization.
    With --password-stdin the password is read from stdin; otherwise a one-time link to
    choose it is printed (valid KOHORT_DASHBOARD_INVITATION_DAYS days)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        new, link = asyncio.run(_create_user(email, org, role, password))
    except AppError as error:
        console.print(f"[red]{error.message}[/red]", markup=True)
        raise typer.Exit(code=2) from None
    out = Console(soft_wrap=True)
    out.print(f"{'Created' if new else 'Updated'} {email}, {role} of {org}.", markup=False)
    if link:
        out.print(f"Choose the password (once) at: {link}", markup=False)


def _demo_owner(path: Path, organization_id: str) -> str:
    """The demo owner's password: the user created once, the password kept in the data
    folder (mode 0600) and printed on every `make run`."""
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        if saved.get("organizationId") == organization_id and saved.get("password"):
            return str(saved["password"])
    import secrets

    password = secrets.token_urlsafe(12)
    asyncio.run(_create_user(DEMO_OWNER, organization_id, "owner", password))
    path.write_text(json.dumps({"organizationId": organization_id, "password": password}))
    os.chmod(path, 0o600)
    return password


@app.command()
def demo() -> None:
    """Create the demo organization the first time; print its test keys every time."""
    settings = get_settings()
    saved = _demo_keys(settings.data_dir / DEMO_KEYS_FILE)
    keys = saved["keys"]
    password = _demo_owner(settings.data_dir / DEMO_OWNER_FILE, saved["organizationId"])
    out = Console()
    out.print(f"\n[bold]Demo organization[/bold] {saved['organizationId']} ({DEMO_NAME})")
    out.print(f"  secret key (test)       {keys['sk_test']}")
    out.print(f"  publishable key (test)  {keys['pk_test']}")
    out.print("\nTry it:")
    out.print(f"  curl -u {keys['sk_test']}: {settings.base_url}/customers\n", soft_wrap=True)
    out.print(f"[bold]Dashboard[/bold] {settings.base_url}/dashboard", soft_wrap=True)
    out.print(f"  e-mail    {DEMO_OWNER}\n  password  {password}\n", soft_wrap=True, markup=False)


async def _retry_failed_emails(organization: str | None, error_contains: str | None) -> int:
    db = create_database(get_settings(), pooled=False)
    try:
        async with db.write() as session:
            return await email_repository.retry_failed(
                session,
                now=clock.now(),
                organization_id=organization,
                error_contains=error_contains,
            )
    finally:
        await db.dispose()


@email_app.command("retry-failed")
def email_retry_failed(
    organization: Annotated[
        str | None, typer.Option("--organization", help="Only this organization's (org_…).")
    ] = None,
    error_contains: Annotated[
        str | None,
        typer.Option("--error-contains", help="Only those whose last error contains this text."),
    ] = None,
) -> None:
    """Send failed e-mails again: they become pending, due now, with a fresh count of
    attempts (the worker sends them within a second). E.g. after fixing what made them fail:
    `kohort email retry-failed --error-contains "cannot compose"`."""
    count = asyncio.run(_retry_failed_emails(organization, error_contains))
    Console().print(f"{count} failed e-mail(s) will be sent again.")


payout_batches_app = typer.Typer(no_args_is_help=True, help="SEPA payout batches.")
app.add_typer(payout_batches_app, name="payout-batches")


async def _build_payout_batches(
    organization: str | None, livemode: bool | None
) -> list[payout_batch_jobs.Built]:
    settings = get_settings()
    db = create_database(settings, pooled=False)
    try:
        return await payout_batch_jobs.build_waiting_batches(
            db, settings, now=clock.now(), organization_id=organization, livemode=livemode
        )
    finally:
        await db.dispose()


@payout_batches_app.command("build")
def payout_batches_build(
    organization: Annotated[
        str | None, typer.Option("--organization", help="Only this organization's (org_…).")
    ] = None,
    livemode: Annotated[
        bool | None,
        typer.Option("--live/--test", help="Only live mode's, or test mode's (default: both)."),
    ] = None,
) -> None:
    """Build now, instead of after midnight UTC, the SEPA batch of each organization and mode
    whose approved payouts wait for one (as `POST /payout-batches` does for a key's). Prints
    each batch; exits 1 when an account could not be batched (live mode without a debtor
    account)."""
    outcomes = asyncio.run(_build_payout_batches(organization, livemode))
    out = Console(soft_wrap=True)
    if not outcomes:
        out.print("No approved SEPA payout waits for a batch.")
        return
    for outcome in outcomes:
        mode = "live" if outcome.livemode else "test"
        batch = outcome.batch
        if batch is None:
            reason = outcome.error.message if outcome.error else "not built"
            console.print(f"{outcome.organization_id} ({mode}): {reason}", markup=False)
            continue
        total = Decimal(batch.total_amount).scaleb(-2)
        out.print(
            f"{batch.id} ({mode}) of {outcome.organization_id}: {batch.payouts_count} "
            f"payout(s), {total} {batch.currency}, file {batch.message_id}",
            markup=False,
        )
    if any(outcome.batch is None for outcome in outcomes):
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()

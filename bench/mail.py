"""E-mails after a sale day: how fast the worker plans and writes the shoppers' messages.

For each engine, on a fresh database: seeds N due groups of 1-10 members, ends them all (the
groups lane), then times the fan-out of the new events (`kohort.event.jobs.fan_out`: e-mail
outbox rows and webhook deliveries) and the sending of every planned message
(`kohort.email.jobs.send_due`, with no SMTP host: `.eml` files, as `make run` does). Prints
events/s and messages/s.

    uv run python bench/mail.py [--groups 2000] [--engine sqlite|postgres|all]
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import pg_reachable
from bench.sweep import PG_URL, seed
from kohort import clock
from kohort.config import Settings
from kohort.db import create_database
from kohort.email.jobs import send_due
from kohort.event.jobs import fan_out
from kohort.group import jobs
from kohort.models import EmailMessage

BATCH = 500


async def _run(label: str, url: str, data_dir: str) -> str:
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    db = create_database(settings)
    try:
        while await jobs.end_due_groups(db, now=clock.now(), limit=BATCH):
            pass
        started = time.perf_counter()
        events = 0
        while handled := await fan_out(db, now=clock.now(), limit=BATCH):
            events += handled
        fanned = time.perf_counter() - started
        async with db.read() as session:
            planned = await session.scalar(select(func.count()).select_from(EmailMessage))
        started = time.perf_counter()
        sent = 0
        while handled := await send_due(db, settings, now=clock.now(), limit=BATCH):
            sent += handled
        sending = time.perf_counter() - started
    finally:
        await db.dispose()
    return (
        f"{label:<11} fan-out {events:>7} events {events / fanned:>8.0f}/s   "
        f"{planned:>7} messages planned, written {sent / sending:>6.0f}/s ({sending:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    lines = []
    if args.engine in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/mail.db"
            seed("SQLite", url, tmp, args.groups)
            lines.append(asyncio.run(_run("SQLite", url, tmp)))
    if args.engine in ("postgres", "all"):
        if pg_reachable():
            with tempfile.TemporaryDirectory() as tmp:
                seed("PostgreSQL", PG_URL, tmp, args.groups)
                lines.append(asyncio.run(_run("PostgreSQL", PG_URL, tmp)))
        else:
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
    print(f"\n{args.groups} groups of 1-10 members ended, then fanned out and sent (.eml files)")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()

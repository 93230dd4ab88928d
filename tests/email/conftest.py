"""Fixtures of the e-mail tests: a database of their own (the fan-out claims every event of
the database it runs on), the app on it, and a real SMTP server on loopback (aiosmtpd)."""

import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from tests.conftest import api_client, fresh_database_url, migrated_database
from tests.factories import Org, make_organization

PUBLIC_URL = "https://cashback.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Inbox:
    """An aiosmtpd handler that keeps what it accepts. `refuse` answers RCPT for some
    addresses with a reply; `data_replies` answers the next DATA commands (then accepts)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.data_replies: list[str] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"

    def to(self, *recipients: str) -> list[EmailMessage]:
        """The messages received for any of `recipients`, in arrival order."""
        return [m for m in self.messages if str(m["To"]) in recipients]


class SMTPServer:
    """A loopback SMTP server on a fixed port, which can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def mail_settings(request: pytest.FixtureRequest, mail_dir: Path, smtp: SMTPServer) -> Settings:
    suffix = "_mail_" + request.module.__name__.rpartition(".")[2].removeprefix("test_")
    return Settings(
        database_url=fresh_database_url(mail_dir, suffix),
        data_dir=mail_dir,
        public_url=PUBLIC_URL,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        mail_from="Kohort <no-reply@cashback.example>",
    )


@pytest.fixture(scope="module")
async def mail_db(mail_settings: Settings) -> AsyncIterator[Database]:
    async with migrated_database(mail_settings) as database:
        yield database


@pytest.fixture(scope="module")
def mail_app(mail_settings: Settings, mail_db: Database) -> FastAPI:
    return create_app(mail_settings, database=mail_db)


@pytest.fixture
async def mail_client(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(mail_app) as client:
        yield client


@pytest.fixture
async def shop(mail_db: Database) -> Org:
    return await make_organization(mail_db, name="Chez Ada")

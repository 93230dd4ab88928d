"""The withdrawal flow against `kohort serve` in a subprocess: orders through its API, and the
link read from the CASHBACK_AVAILABLE e-mail it writes (no SMTP: `.eml` files)."""

import asyncio
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.factories import Org
from tests.serve import Server
from tests.withdrawal.flow import complete_pair

MAIL_TIMEOUT_S = 60
"""How long to wait for the worker to write the e-mail: on CI, under the PostgreSQL pass's load,
20 s was once not enough (the group ends, its events fan out, the e-mail is written)."""


def org_of(server: Server) -> Org:
    return Org(id=server.organization_id, keys=server.keys)


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def emailed_link(server: Server, recipient: str) -> str:
    """The withdrawal link of the CASHBACK_AVAILABLE e-mail sent to `recipient`, once the
    server's worker has written it."""
    assert server.data_dir is not None
    pattern = re.compile(re.escape(server.base_url) + r"/w/ord_[0-9a-f]+\?token=[A-Za-z0-9_-]+")
    mail = Path(server.data_dir) / "mail"
    for _ in range(MAIL_TIMEOUT_S * 10):
        for path in sorted(mail.glob("*.eml")) if mail.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            if str(message["To"]) != recipient:
                continue
            found = pattern.search(_text(message))
            if found:
                return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no withdrawal e-mail to {recipient} within {MAIL_TIMEOUT_S} s")


async def order_with_link(
    client: httpx.AsyncClient, server: Server, *, key: str, locale: str = "fr_FR"
) -> tuple[dict[str, object], str]:
    """An order of `key`'s mode whose cashback is available, and the link its e-mail carries."""
    creator, _ = await complete_pair(client, org_of(server), key=key, locale=locale)
    return creator, await emailed_link(server, str(creator["customerEmail"]))


async def live_order_with_link(
    client: httpx.AsyncClient, server: Server, *, locale: str = "fr_FR"
) -> tuple[dict[str, object], str]:
    """A live-mode order whose cashback is available, and the link its e-mail carries."""
    return await order_with_link(client, server, key=server.keys["sk_live"], locale=locale)

"""Fixtures of the payout tests: a real fake Stripe (localstripe) on loopback, started and
stopped by the test, and shops whose groups complete as soon as they are full."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from kohort.config import Settings
from tests.email.conftest import free_port

SERVER = Path(__file__).with_name("localstripe_server.py")


class LocalStripe:
    """localstripe in a subprocess; `stop()` then `start()` keeps its objects."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.state = state
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.port), str(self.state)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, "localstripe exited"
                time.sleep(0.05)
        raise TimeoutError("localstripe did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self, api_key: str = "sk_test_localstripe") -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": self.url},
            max_network_retries=0,
            http_client=stripe.HTTPXClient(timeout=10),
        )

    async def payment_intent(self, amount: int) -> str:
        """A succeeded PaymentIntent (a card payment of `amount` cents), its id."""
        client = self.client()
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        method = await client.v1.payment_methods.create_async(params={"type": "card", "card": card})
        intent = await client.v1.payment_intents.create_async(
            params={"amount": amount, "currency": "eur", "payment_method": method.id}
        )
        intent = await client.v1.payment_intents.confirm_async(intent.id)
        assert intent.status == "succeeded", intent
        return str(intent.id)

    async def refunds(self, payment_intent: str) -> list[stripe.Refund]:
        page = await self.client().v1.refunds.list_async(
            params={"payment_intent": payment_intent, "limit": 100}
        )
        return list(page.data)


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    server = LocalStripe(tmp_path / "localstripe.pickle")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_settings(settings: Settings, localstripe: LocalStripe) -> Settings:
    """The suite's settings (same database, same secret key) with Stripe at localstripe."""
    return settings.model_copy(
        update={"stripe_api_base": localstripe.url, "stripe_timeout_seconds": 5.0}
    )

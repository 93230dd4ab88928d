"""A live webhook goes to the address that passed the destination check (no DNS rebinding
between the check and the connection), with the URL's host name kept in `Host`, in TLS's SNI
and in the certificate check. A real receiver on loopback, over HTTP and over TLS with a
certificate made here for a name that no DNS answers."""

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kohort.webhook import destinations
from kohort.webhook.sending import Attempt, _post, event_body, pinned
from tests.webhook.receiver import Receiver, running_receiver

LOOPBACK = ipaddress.ip_address("127.0.0.1")
NAME = "hooks.kohort.invalid"
"""A name no resolver answers (RFC 6761): only pinning can reach the receiver."""
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _attempt(url: str) -> Attempt:
    return Attempt(
        delivery_id="whd_0123456789abcd",
        attempts=1,
        endpoint_id="we_0123456789abcd",
        url=url,
        livemode=True,
        active=True,
        secrets=(SECRET,),
        body=event_body({"id": "evt_0123456789abcd", "type": "test"}),
    )


async def test_a_pinned_request_reaches_the_checked_address_with_its_host_name(
    receiver: Receiver,
) -> None:
    url = f"http://{NAME}:{receiver.port}/{receiver.token}/hook"
    async with httpx.AsyncClient(trust_env=False) as client:
        unpinned = await _post(client, _attempt(url), 5.0)
        outcome = await _post(client, _attempt(url), 5.0, LOOPBACK)
    assert not unpinned.succeeded and unpinned.status_code is None  # the name resolves nowhere
    assert outcome.succeeded, outcome
    [received] = receiver.received("hook")
    assert received.headers["host"] == f"{NAME}:{receiver.port}"
    assert received.verifies_with(SECRET)


def test_pinning_keeps_the_name_and_brackets_ipv6() -> None:
    target, headers, extensions = pinned(
        "https://Hooks.Exämple.com/k?x=1", ipaddress.ip_address("2001:db8::1")
    )
    assert target == "https://[2001:db8::1]/k?x=1"
    assert headers == {"host": "hooks.xn--exmple-cua.com"}
    assert extensions == {"sni_hostname": "hooks.xn--exmple-cua.com"}
    assert pinned("https://hooks.example.com:8443/k", None) == (
        "https://hooks.example.com:8443/k",
        {},
        None,
    )


async def test_a_live_url_given_by_ip_is_not_pinned_again() -> None:
    verdict = await destinations.check(
        "https://93.184.215.14/hook", livemode=True, allow_private=False
    )
    assert verdict == destinations.Verdict(None, None)
    refused = await destinations.check("https://127.0.0.1/hook", livemode=True, allow_private=False)
    assert refused.refusal is not None and refused.address is None


class _Certificates:
    def __init__(self, directory: Path, names: list[str]) -> None:
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kohort test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca = directory / "ca.pem"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.chain = directory / "leaf.pem"
        self.chain.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, _Certificates, list[str | None]]]:
    certificates = _Certificates(tmp_path, [NAME])
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.chain)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    with running_receiver(context) as receiver:
        yield receiver, certificates, server_names


async def test_over_tls_the_name_is_the_sni_and_the_certificate_is_checked_against_it(
    tls_receiver: tuple[Receiver, _Certificates, list[str | None]],
) -> None:
    receiver, certificates, server_names = tls_receiver
    trust = ssl.create_default_context(cafile=str(certificates.ca))
    good = f"https://{NAME}:{receiver.port}/{receiver.token}/hook"
    wrong = f"https://other.kohort.invalid:{receiver.port}/{receiver.token}/wrong"
    async with httpx.AsyncClient(trust_env=False, verify=trust) as client:
        outcome = await _post(client, _attempt(good), 5.0, LOOPBACK)
        mismatch = await _post(client, _attempt(wrong), 5.0, LOOPBACK)
    assert outcome.succeeded, outcome
    assert NAME in server_names
    [received] = receiver.received("hook")
    assert received.headers["host"] == f"{NAME}:{receiver.port}"
    # The certificate is for NAME only: another name pinned to the same address is refused.
    assert not mismatch.succeeded and mismatch.status_code is None
    assert "certificate" in (mismatch.error or "").lower()
    assert receiver.received("wrong") == []

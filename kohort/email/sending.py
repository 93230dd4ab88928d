"""Handing a composed message to the outside: the SMTP relay of KOHORT_SMTP_*, or, with no
relay configured, an `.eml` file under `{data_dir}/mail/` (so a local install shows what would
be sent). Failures are sorted into permanent (SMTP 5xx on the recipient or the data: retrying
cannot help) and transient (4xx, the relay unreachable, timeouts, a misconfigured login)."""

import logging
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from kohort.config import Settings

log = logging.getLogger("kohort.email")

MAIL_DIR = "mail"


class SendFailed(Exception):
    """The message was not accepted. `unreachable`: the relay could not be talked to at all,
    so the rest of the batch would fail the same way."""

    def __init__(self, reason: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.unreachable = unreachable


async def send(settings: Settings, message: EmailMessage, *, name: str) -> str:
    """Send `message` (or write it as `{name}.eml`); where it went, for the log."""
    if not settings.smtp_host:
        return _write_eml(settings, message, name)
    await _send_smtp(settings, message)
    return f"smtp://{settings.smtp_host}:{settings.smtp_port}"


def _write_eml(settings: Settings, message: EmailMessage, name: str) -> str:
    folder = settings.data_dir / MAIL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.eml"
    draft = path.with_suffix(".eml.tmp")
    draft.write_bytes(message.as_bytes())
    draft.replace(path)
    return str(Path(path))


async def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password if settings.smtp_username else None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as refused:
        codes = [recipient.code for recipient in refused.recipients]
        reason = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
        raise SendFailed(reason, permanent=all(code >= 500 for code in codes)) from None
    except (
        aiosmtplib.SMTPAuthenticationError,
        aiosmtplib.SMTPSenderRefused,
        aiosmtplib.SMTPHeloError,
    ) as error:
        raise SendFailed(f"{error.code} {error.message}", permanent=False) from None
    except aiosmtplib.SMTPResponseException as error:
        raise SendFailed(f"{error.code} {error.message}", permanent=error.code >= 500) from None
    except (OSError, aiosmtplib.SMTPException) as error:
        reason = f"{type(error).__name__}: {error}"
        raise SendFailed(reason, permanent=False, unreachable=True) from None

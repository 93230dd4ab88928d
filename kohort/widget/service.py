"""The thank-you widget: the shop's server signs its order reference with the mode's widget
secret (hex HMAC-SHA256); the widget, given the publishable key, the reference and the token,
reads the order's group code, share actions and ladder in money for the basket. An unknown
order, a canceled one and a bad token are one 404: nothing to enumerate."""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import service as audit
from kohort.email.rendering import Formatter, zone
from kohort.group.cashback import cashback_amount, level_reached
from kohort.group.ending import levels_of
from kohort.models import PaymentGroup, WidgetSecret
from kohort.share import service as share
from kohort.widget import repository
from kohort.widget.errors import WidgetOrderNotFoundError
from kohort.widget.schemas import BrandLook, Rung, WidgetOrderRead, WidgetSecretRead
from kohort.withdrawal.rendering import supported

SECRET_OVERLAP = timedelta(hours=24)
MAX_REFERENCE = 255
CANCELED = "CANCELED"


def new_secret() -> str:
    return "wgs_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def sign(secret: str, reference: str) -> str:
    """The token of an order reference: what the shop's server computes."""
    return hmac.new(secret.encode(), reference.encode(), hashlib.sha256).hexdigest()


def verify(stored: WidgetSecret, reference: str, token: str, now: datetime) -> bool:
    candidates = [stored.secret]
    expires = stored.previous_secret_expires_at
    if stored.previous_secret and expires is not None and now < expires:
        candidates.append(stored.previous_secret)
    given = token.strip().lower()
    return any(hmac.compare_digest(sign(secret, reference), given) for secret in candidates)


async def create_secrets(session: AsyncSession, *, organization_id: str) -> None:
    """A new organization's two secrets (test, live)."""
    now = clock.now()
    for livemode in (False, True):
        await repository.add_secret(
            session,
            WidgetSecret(
                organization_id=organization_id,
                livemode=livemode,
                secret=new_secret(),
                created_at=now,
                updated_at=now,
            ),
        )


async def get_secret(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> WidgetSecret:
    found = await repository.get_secret(session, organization_id=organization_id, livemode=livemode)
    assert found is not None, "every organization has its widget secrets (migration 0012)"
    return found


def read_secret(stored: WidgetSecret, now: datetime) -> WidgetSecretRead:
    expires = stored.previous_secret_expires_at
    return WidgetSecretRead(
        livemode=stored.livemode,
        secret=stored.secret,
        previous_secret_expires_at=expires if expires is not None and expires > now else None,
    )


async def roll_secret(
    session: AsyncSession, stored: WidgetSecret, *, actor: audit.Actor
) -> WidgetSecret:
    """A new secret; tokens of the current one keep working for 24 hours."""
    now = clock.now()
    values = {
        "previous_secret_expires_at": now + SECRET_OVERLAP,
        "secret": new_secret(),
        "updated_at": now,
    }
    await repository.roll_secret(session, stored, values)
    await audit.record(
        session,
        actor=actor,
        organization_id=stored.organization_id,
        livemode=stored.livemode,
        action="widget_secret.rolled",
        target_type="organization",
        target_id=stored.organization_id,
        changes={"secret": audit.secret_change(was_set=True, is_set=True)},
    )
    return stored


async def widget_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    reference: str,
    token: str,
    base_url: str,
    now: datetime,
) -> WidgetOrderRead:
    missing = WidgetOrderNotFoundError("No such order.", param="order")
    if not reference or len(reference) > MAX_REFERENCE or len(token) > 128:
        raise missing
    stored = await repository.get_secret(
        session, organization_id=organization_id, livemode=livemode
    )
    if stored is None or not verify(stored, reference, token, now):
        raise missing
    order = await repository.order_by_reference(
        session, organization_id=organization_id, livemode=livemode, reference=reference
    )
    if order is None or order.status == CANCELED:
        raise missing
    group = await session.get(PaymentGroup, order.payment_group_id)
    found = await share.about(session, group) if group is not None else None
    if group is None or found is None:
        raise missing
    locale = supported(order.locale)
    page = share.shared(found, locale=locale, now=now, base_url=base_url, invite=False)
    fmt = Formatter(
        locale=locale, timezone=zone(found.organization.timezone), currency=order.currency, now=now
    )
    levels = sorted(levels_of(group), key=lambda lv: (lv.participants_to_unlock, lv.level))
    basket = order.amount - order.amount_refunded
    discount_type = str(group.settings.get("discountType"))
    ladder = []
    for level in levels:
        members = level.participants_to_unlock
        amount = cashback_amount(discount_type, level_reached(levels, members), basket)
        ladder.append(
            Rung(
                members=members,
                amount=amount,
                reached=members <= group.participants_count,
                text=share.rung_text(locale, members, fmt.money(amount)),
            )
        )
    return WidgetOrderRead(
        livemode=group.livemode,
        locale=locale,
        code=group.share_id,
        status=group.status,
        participants=group.participants_count,
        max_participants=group.max_participants,
        expires_at=group.expires_at,
        share_url=f"{base_url}/r/{page.code}",
        invite_url=page.invite_url,
        message=page.message,
        links=page.links,
        ladder=ladder,
        brand=BrandLook(
            shop_name=page.brand.shop,
            logo_url=page.brand.logo_url,
            color=page.brand.color,
            text_color=page.brand.text_color,
            accent_color=page.brand.accent_color,
        ),
        texts=share.widget_texts(locale, time_left=page.time_left),
    )

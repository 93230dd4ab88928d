"""Paying a cashback back to the shopper's card: a partial refund of the shop's Stripe
PaymentIntent, with the shop's own secret key.

Exactly one refund per payout, whatever crashes and retries happen: the refund carries the
order id in its metadata and an idempotency key derived from it, and every attempt first
looks for a refund of the PaymentIntent with that metadata (Stripe forgets idempotency keys
after 24 hours, and a worker may die after Stripe answered but before the answer was stored)."""

from dataclasses import dataclass

import stripe

from kohort.config import Settings

ORDER_METADATA = "kohort_order_id"
PAYOUT_METADATA = "kohort_payout_id"


@dataclass(frozen=True)
class Refund:
    payout_id: str
    order_id: str
    payment_intent: str
    amount: int
    api_key: str
    idempotency_key: str


class RefundFailed(Exception):
    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def _client(settings: Settings, api_key: str) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    http = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": settings.stripe_api_base},
        max_network_retries=0,
        http_client=http,
    )
    return client, http


async def refund(settings: Settings, call: Refund) -> str:
    """The id of the refund paying `call` (an existing one, else a new one)."""
    client, http = _client(settings, call.api_key)
    try:
        existing = await client.v1.refunds.list_async(
            params={"payment_intent": call.payment_intent, "limit": 100}
        )
        for item in existing.data:
            metadata = item.to_dict().get("metadata") or {}
            if metadata.get(ORDER_METADATA) == call.order_id:
                return str(item.id)
        created = await client.v1.refunds.create_async(
            params={
                "payment_intent": call.payment_intent,
                "amount": call.amount,
                "metadata": {ORDER_METADATA: call.order_id, PAYOUT_METADATA: call.payout_id},
            },
            options={"idempotency_key": call.idempotency_key},
        )
        return str(created.id)
    except stripe.StripeError as error:
        raise _failure(error) from error
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]


def _failure(error: stripe.StripeError) -> RefundFailed:
    """Connection failures, rate limits, conflicts and 5xx are transient; the rest (invalid
    request, unknown PaymentIntent, card, authentication) need the merchant."""
    status = error.http_status
    message = error.user_message or str(error) or "no message"
    reason = f"Stripe {type(error).__name__}"
    reason += f" ({status})" if status else ""
    reason += f": {message}"
    transient = isinstance(
        error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError
    ) or (status is not None and (status in (409, 429) or status >= 500))
    return RefundFailed(reason[:2000], transient=transient)

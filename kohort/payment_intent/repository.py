"""The queries of the payment intent view: orders of an organization and a mode."""

from sqlalchemy import Select, select

from kohort.http.lists import Kind, ListField
from kohort.models import Order

LIST_FIELDS = {
    "amount": ListField(Order.amount, Kind.INTEGER),
    "amountCashback": ListField(Order.amount_cashback, Kind.INTEGER, nullable=True),
    "amountRefunded": ListField(Order.amount_refunded, Kind.INTEGER),
    "currency": ListField(Order.currency, Kind.STRING, choices=("EUR",)),
    "orderId": ListField(Order.id, Kind.STRING),
    "customerId": ListField(Order.customer_id, Kind.STRING),
    "paymentGroupId": ListField(Order.payment_group_id, Kind.STRING),
    "clientReferenceId": ListField(Order.client_reference_id, Kind.STRING, nullable=True),
    "canceledAt": ListField(Order.canceled_at, Kind.TIMESTAMP, nullable=True),
    "createdAt": ListField(Order.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(Order.updated_at, Kind.TIMESTAMP),
}
"""Searchable and sortable fields. `id` (`pi_…`) is not stored, search by `orderId`."""


def select_listed(organization_id: str, livemode: bool) -> Select[Order]:
    return select(Order).where(Order.organization_id == organization_id, Order.livemode == livemode)

"""Every ORM model, imported here so Alembic and the app see the whole schema."""

from kohort.models.analytics_day import AnalyticsDay
from kohort.models.api_key import ApiKey
from kohort.models.audit_entry import AuditEntry
from kohort.models.base import Base
from kohort.models.brand_asset import BrandAsset
from kohort.models.cashback_budget import CashbackBudget
from kohort.models.checkout_session import CheckoutSession
from kohort.models.customer import Customer
from kohort.models.dashboard_session import DashboardSession
from kohort.models.dashboard_user import DashboardUser
from kohort.models.email_message import EmailMessage
from kohort.models.event import Event
from kohort.models.idempotency_key import IdempotencyKey
from kohort.models.login_throttle import LoginThrottle
from kohort.models.membership import Membership
from kohort.models.order import Order
from kohort.models.organization import Organization
from kohort.models.payment_group import PaymentGroup
from kohort.models.payment_group_settings import PaymentGroupSettings
from kohort.models.payout import Payout
from kohort.models.payout_batch import PayoutBatch
from kohort.models.refund import Refund
from kohort.models.share_count import ShareCount
from kohort.models.user_token import UserToken
from kohort.models.webhook_delivery import WebhookDelivery
from kohort.models.webhook_endpoint import WebhookEndpoint
from kohort.models.widget_secret import WidgetSecret
from kohort.models.withdrawal_token import WithdrawalToken

__all__ = [
    "AnalyticsDay",
    "ApiKey",
    "AuditEntry",
    "Base",
    "BrandAsset",
    "CashbackBudget",
    "CheckoutSession",
    "Customer",
    "DashboardSession",
    "DashboardUser",
    "EmailMessage",
    "Event",
    "IdempotencyKey",
    "LoginThrottle",
    "Membership",
    "Order",
    "Organization",
    "PaymentGroup",
    "PaymentGroupSettings",
    "Payout",
    "PayoutBatch",
    "Refund",
    "ShareCount",
    "UserToken",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WidgetSecret",
    "WithdrawalToken",
]

"""Reading and changing a mode's risk policy and cashback budget, which live on its
`PaymentGroupSettings` row (read by every order already, so scoring costs no extra read)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import service as audit
from kohort.errors import ValidationError
from kohort.group_settings import repository as settings_repository
from kohort.models import Organization, PaymentGroupSettings
from kohort.risk import budget
from kohort.risk.schemas import BudgetUpdate, RiskPolicyRead, RiskPolicyUpdate
from kohort.risk.signals import LEVELS


def policy_read(settings: PaymentGroupSettings) -> RiskPolicyRead:
    return RiskPolicyRead.model_validate(
        {
            "livemode": settings.livemode,
            "actions": {level: settings.risk_policy.get(level, "allow") for level in LEVELS},
            "review_days": settings.review_days,
            "review_default": settings.review_default,
            "updated_at": settings.updated_at,
        }
    )


async def update_policy(
    session: AsyncSession,
    settings: PaymentGroupSettings,
    changes: RiskPolicyUpdate,
    *,
    actor: audit.Actor,
) -> PaymentGroupSettings:
    """PATCH: the given levels' actions, `reviewDays`, `reviewDefault`; the change applies to
    orders registered afterwards (a pending review keeps its deadline)."""
    for name in ("actions", "review_days", "review_default"):
        if name in changes.model_fields_set and getattr(changes, name) is None:
            raise ValidationError(f"Invalid request: {_camel(name)} cannot be null.", param=name)
    await settings_repository.lock(session, settings)
    before = _audited(settings)
    if changes.actions is not None:
        given = {str(level): str(action) for level, action in changes.actions.items()}
        settings.risk_policy = {**settings.risk_policy, **given}
    if changes.review_days is not None:
        settings.review_days = changes.review_days
    if changes.review_default is not None:
        settings.review_default = changes.review_default
    await _record(session, settings, before, actor, "risk_policy.updated")
    return settings


async def update_budget(
    session: AsyncSession,
    organization: Organization,
    settings: PaymentGroupSettings,
    changes: BudgetUpdate,
    *,
    actor: audit.Actor,
) -> PaymentGroupSettings:
    """PATCH `monthlyAmount` (null removes the budget). A raise above what is used re-arms
    the thresholds it passes back under; a cut below sends those now reached."""
    if "monthly_amount" not in changes.model_fields_set:
        return settings
    await settings_repository.lock(session, settings)
    before = _audited(settings)
    settings.monthly_cashback_budget = changes.monthly_amount
    await _record(session, settings, before, actor, "cashback_budget.updated")
    now = clock.now()
    await budget.rearm(session, organization, settings, now=now)
    return settings


async def _record(
    session: AsyncSession,
    settings: PaymentGroupSettings,
    before: dict[str, Any],
    actor: audit.Actor,
    action: str,
) -> None:
    changed = audit.diff(before, _audited(settings))
    if not changed:
        return
    settings.updated_at = clock.now()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        organization_id=settings.organization_id,
        livemode=settings.livemode,
        action=action,
        target_type="payment_group_settings",
        target_id=settings.id,
        changes=changed,
    )


def _audited(settings: PaymentGroupSettings) -> dict[str, Any]:
    return {
        "riskPolicy": dict(settings.risk_policy),
        "reviewDays": settings.review_days,
        "reviewDefault": settings.review_default,
        "monthlyCashbackBudget": settings.monthly_cashback_budget,
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

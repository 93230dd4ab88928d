"""The mode's risk policy and monthly cashback budget (docs/api.md, "Trust")."""

from fastapi import APIRouter

from kohort import clock
from kohort.audit.endpoints import ApiActor
from kohort.group_settings.service import get_settings
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session
from kohort.models import Organization, PaymentGroupSettings
from kohort.organization.service import get_own_organization
from kohort.risk import budget
from kohort.risk import settings as risk_settings
from kohort.risk.schemas import BudgetRead, BudgetUpdate, RiskPolicyRead, RiskPolicyUpdate

router = APIRouter(prefix="/organizations", tags=["Trust"], route_class=KohortRoute)


async def _settings(
    session: Session, auth: AuthContext, organization_id: str
) -> tuple[Organization, PaymentGroupSettings]:
    organization = await get_own_organization(
        session, organization_id=organization_id, caller_organization_id=auth.organization_id
    )
    settings = await get_settings(session, organization_id=organization.id, livemode=auth.livemode)
    return organization, settings


@router.get("/{id}/risk-policy", response_model=RiskPolicyRead, responses=errors(404))
async def get_risk_policy(id: str, session: Session, auth: SecretKey) -> RiskPolicyRead:
    """What the calling key's mode does with an order of each risk level."""
    _, settings = await _settings(session, auth, id)
    return risk_settings.policy_read(settings)


@router.patch("/{id}/risk-policy", response_model=RiskPolicyRead, responses=errors(404))
async def update_risk_policy(
    id: str, changes: RiskPolicyUpdate, session: Session, auth: SecretKey, actor: ApiActor
) -> RiskPolicyRead:
    """Change the action of any level (`actions.HIGH: "refuse"`), `reviewDays` (1 to 90) or
    `reviewDefault`; orders registered afterwards follow it."""
    _, settings = await _settings(session, auth, id)
    settings = await risk_settings.update_policy(session, settings, changes, actor=actor)
    return risk_settings.policy_read(settings)


@router.get("/{id}/cashback-budget", response_model=BudgetRead, responses=errors(404))
async def get_cashback_budget(id: str, session: Session, auth: SecretKey) -> BudgetRead:
    """The mode's monthly cashback budget and this month's use."""
    organization, settings = await _settings(session, auth, id)
    return BudgetRead.model_validate(
        await budget.read(session, organization, settings, clock.now())
    )


@router.patch("/{id}/cashback-budget", response_model=BudgetRead, responses=errors(404))
async def update_cashback_budget(
    id: str, changes: BudgetUpdate, session: Session, auth: SecretKey, actor: ApiActor
) -> BudgetRead:
    """Set `monthlyAmount` in cents (null: no budget)."""
    organization, settings = await _settings(session, auth, id)
    settings = await risk_settings.update_budget(
        session, organization, settings, changes, actor=actor
    )
    return BudgetRead.model_validate(
        await budget.read(session, organization, settings, clock.now())
    )

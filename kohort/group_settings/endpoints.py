from fastapi import APIRouter

from kohort.audit.endpoints import ApiActor
from kohort.group_settings import service
from kohort.group_settings.schemas import PaymentGroupSettingsRead, PaymentGroupSettingsUpdate
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session
from kohort.models import PaymentGroupSettings
from kohort.organization.service import get_own_organization

router = APIRouter(prefix="/organizations", tags=["Group settings"], route_class=KohortRoute)


async def _settings(
    session: Session, auth: AuthContext, organization_id: str
) -> PaymentGroupSettings:
    organization = await get_own_organization(
        session, organization_id=organization_id, caller_organization_id=auth.organization_id
    )
    return await service.get_settings(
        session, organization_id=organization.id, livemode=auth.livemode
    )


@router.get(
    "/{id}/payment-group-settings", response_model=PaymentGroupSettingsRead, responses=errors(404)
)
async def get_payment_group_settings(
    id: str, session: Session, auth: SecretKey
) -> PaymentGroupSettingsRead:
    """The group settings of the calling key's mode; `{id}` must be the caller's organization."""
    settings = await _settings(session, auth, id)
    return PaymentGroupSettingsRead.model_validate(settings)


@router.patch(
    "/{id}/payment-group-settings", response_model=PaymentGroupSettingsRead, responses=errors(404)
)
async def update_payment_group_settings(
    id: str,
    changes: PaymentGroupSettingsUpdate,
    session: Session,
    auth: SecretKey,
    actor: ApiActor,
) -> PaymentGroupSettingsRead:
    """Change any of the settings of the calling key's mode; `discountLevels` replaces the
    whole list. Groups created afterwards use the new settings; existing groups keep theirs."""
    settings = await _settings(session, auth, id)
    settings = await service.update_settings(session, settings, changes, actor=actor)
    return PaymentGroupSettingsRead.model_validate(settings)

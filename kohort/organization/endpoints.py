from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort.audit.endpoints import ApiActor
from kohort.config import Settings
from kohort.http.auth import KeyCache, SecretKey
from kohort.http.commit import after_commit
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session
from kohort.organization import service
from kohort.organization.schemas import OrganizationRead, OrganizationUpdate

router = APIRouter(prefix="/organizations", tags=["Organizations"], route_class=KohortRoute)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


@router.get("/me", response_model=OrganizationRead, responses=errors())
async def get_my_organization(session: Session, auth: SecretKey) -> OrganizationRead:
    """The organization of the calling key."""
    organization = await service.get_own_organization(
        session, organization_id=auth.organization_id, caller_organization_id=auth.organization_id
    )
    return OrganizationRead.for_mode(organization, livemode=auth.livemode)


@router.get("/{id}", response_model=OrganizationRead, responses=errors(404))
async def get_organization(id: str, session: Session, auth: SecretKey) -> OrganizationRead:
    """The caller's own organization by id; any other id answers 404."""
    organization = await service.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    return OrganizationRead.for_mode(organization, livemode=auth.livemode)


@router.patch("/{id}", response_model=OrganizationRead, responses=errors(404))
async def update_organization(
    id: str,
    changes: OrganizationUpdate,
    request: Request,
    session: Session,
    auth: SecretKey,
    settings: AppSettings,
    actor: ApiActor,
) -> OrganizationRead:
    """Live secret keys only (a test key → 403 LIVE_KEY_REQUIRED: every field applies to live
    mode). Update `name`, `websiteUrl`, `timezone` (IANA name), `apiVersion` (the default of
    the organization's requests: `2026-12-01` or `kohortpay`; other processes see it within
    the key cache's lifetime), `codePrefix` (new share codes), `fromEmailName`, or the payout
    settings: `payoutMethod` (live mode; test mode rehearses `sepa_transfer`), `stripeSecretKey`
    (write-only, stored encrypted), `payoutDebtorName`, `payoutDebtorIban` (stored encrypted,
    returned masked), `payoutDebtorBic`. `stripe_refund` without a Stripe key → 400."""
    organization = await service.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    organization = await service.update_organization(
        session, organization, changes, livemode=auth.livemode, settings=settings, actor=actor
    )
    if "api_version" in changes.model_fields_set:
        cache: KeyCache = request.app.state.key_cache
        cache.forget_organization(organization.id)
        after_commit(request, lambda: cache.forget_organization(organization.id))
    return OrganizationRead.for_mode(organization, livemode=auth.livemode)

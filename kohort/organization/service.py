"""Organizations: creation with their four API keys, reading, updating."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock, crypto
from kohort.api_key import service as api_keys
from kohort.api_key.repository import PUBLISHABLE, SECRET
from kohort.audit import service as audit
from kohort.config import Settings
from kohort.errors import ValidationError
from kohort.group_settings import service as group_settings
from kohort.http import versions
from kohort.http.schemas import has_control_characters
from kohort.ids import DEFAULT_CODE_PREFIX, new_id
from kohort.models import Organization
from kohort.organization import repository
from kohort.organization.errors import LiveKeyRequiredError, OrganizationNotFoundError
from kohort.organization.schemas import (
    DEFAULT_ACQUISITION_FEE_PERCENT,
    DEFAULT_TIMEZONE,
    STRIPE_REFUND,
    OrganizationRead,
    OrganizationUpdate,
)
from kohort.widget import service as widgets

_AUDITED = (
    "name",
    "website_url",
    "timezone",
    "api_version",
    "code_prefix",
    "from_email_name",
    "payout_method",
    "payout_debtor_name",
    "payout_debtor_bic",
)
_SECRETS = {
    "stripe_secret_key": "stripe_secret_key_encrypted",
    "payout_debtor_iban": "payout_debtor_iban_encrypted",
}


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    keys: dict[str, str]
    """`sk_test`, `pk_test`, `sk_live`, `pk_live` → the key, shown this once."""


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "shop"


async def _free_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    slug = base
    while await repository.slug_exists(session, slug):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


async def create_organization(
    session: AsyncSession,
    *,
    name: str,
    timezone: str = DEFAULT_TIMEZONE,
    api_version: str = versions.CURRENT,
) -> CreatedOrganization:
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationError("name must be 1 to 255 characters.", param="name")
    if has_control_characters(name):
        raise ValidationError("name must be one line of text, without control characters.")
    now = clock.now()
    organization = Organization(
        id=new_id("org"),
        name=name,
        slug=await _free_slug(session, name),
        timezone=timezone,
        api_version=versions.check(api_version, param="apiVersion"),
        code_prefix=DEFAULT_CODE_PREFIX,
        acquisition_fee_percent=DEFAULT_ACQUISITION_FEE_PERCENT,
        created_at=now,
        updated_at=now,
    )
    session.add(organization)
    await session.flush()
    await group_settings.create_default_settings(session, organization_id=organization.id)
    await widgets.create_secrets(session, organization_id=organization.id)
    keys: dict[str, str] = {}
    for livemode in (False, True):
        for key_type in (SECRET, PUBLISHABLE):
            issued = await api_keys.issue_key(
                session,
                organization_id=organization.id,
                livemode=livemode,
                key_type=key_type,
                name="Default secret key" if key_type == SECRET else "Default publishable key",
                created_by=None,
            )
            label = f"{'sk' if key_type == SECRET else 'pk'}_{'live' if livemode else 'test'}"
            keys[label] = issued.key
    return CreatedOrganization(organization=organization, keys=keys)


async def get_own_organization(
    session: AsyncSession, *, organization_id: str, caller_organization_id: str
) -> Organization:
    """The caller's organization; any other id is reported as absent (404, never 403)."""
    organization = None
    if organization_id == caller_organization_id:
        organization = await repository.get_by_id(session, organization_id)
    if organization is None:
        raise OrganizationNotFoundError(f"No such organization: '{organization_id}'", param="id")
    return organization


async def update_organization(
    session: AsyncSession,
    organization: Organization,
    changes: OrganizationUpdate,
    *,
    livemode: bool,
    settings: Settings,
    actor: audit.Actor,
) -> Organization:
    """Every field is live mode's (shop name and sender, payout settings): a test key may
    read them, never change them (403 naming the first field given). A change is recorded
    as `organization.updated` of live mode, secrets masked."""
    provided = changes.model_fields_set
    if provided and not livemode:
        field = to_camel(next(name for name in OrganizationUpdate.model_fields if name in provided))
        raise LiveKeyRequiredError(
            f"{field} applies to live mode, so only a live secret key (sk_live_…) can change "
            "it; test keys may read the organization.",
            param=field,
        )
    for required in ("name", "timezone", "payout_method", "api_version", "code_prefix"):
        if required in provided and getattr(changes, required) is None:
            raise ValidationError(f"{to_camel(required)} cannot be null.", param=to_camel(required))
    before = _audited(organization)
    secrets_changed = _secret_changes(organization, changes, settings)
    if "name" in provided and changes.name is not None:
        organization.name = changes.name
    if "timezone" in provided and changes.timezone is not None:
        organization.timezone = changes.timezone
    if "api_version" in provided and changes.api_version is not None:
        organization.api_version = changes.api_version
    if "code_prefix" in provided and changes.code_prefix is not None:
        organization.code_prefix = changes.code_prefix
    if "website_url" in provided:
        organization.website_url = str(changes.website_url) if changes.website_url else None
    if "from_email_name" in provided:
        organization.from_email_name = changes.from_email_name
    _update_payout_settings(organization, changes, settings)
    if provided:
        organization.updated_at = clock.now()
    await session.flush()
    recorded = {**audit.diff(before, _audited(organization)), **secrets_changed}
    if recorded:
        await audit.record(
            session,
            actor=actor,
            organization_id=organization.id,
            livemode=True,
            action="organization.updated",
            target_type="organization",
            target_id=organization.id,
            changes=recorded,
        )
    return organization


def _audited(organization: Organization) -> dict[str, Any]:
    """The fields a PATCH changes, as the API shows them (live mode's), secrets aside."""
    read = OrganizationRead.model_validate(organization).model_dump(mode="json", by_alias=True)
    return {to_camel(name): read[to_camel(name)] for name in _AUDITED}


def _secret_changes(
    organization: Organization, changes: OrganizationUpdate, settings: Settings
) -> dict[str, Any]:
    """The secrets given that differ from the stored ones (one that cannot be decrypted any
    more differs), as `SECRET`: never their values."""
    found = {}
    for name, column in _SECRETS.items():
        if name not in changes.model_fields_set:
            continue
        stored: str | None = getattr(organization, column)
        given: str | None = getattr(changes, name)
        if stored is None:
            same = given is None
        else:
            try:
                same = crypto.decrypt(settings, stored) == given
            except crypto.DecryptionError:
                same = False
        if not same:
            found[to_camel(name)] = audit.secret_change(
                was_set=stored is not None, is_set=given is not None
            )
    return found


def _update_payout_settings(
    organization: Organization, changes: OrganizationUpdate, settings: Settings
) -> None:
    """The live payout method and its details; secrets stored encrypted, shown masked.
    `stripe_refund` needs a Stripe secret key (given now or stored before)."""
    provided = changes.model_fields_set
    if "stripe_secret_key" in provided:
        key = changes.stripe_secret_key
        organization.stripe_secret_key_encrypted = crypto.encrypt(settings, key) if key else None
        organization.stripe_secret_key_hint = crypto.mask_secret(key) if key else None
    if "payout_debtor_iban" in provided:
        iban = changes.payout_debtor_iban
        organization.payout_debtor_iban_encrypted = crypto.encrypt(settings, iban) if iban else None
        organization.payout_debtor_iban_masked = crypto.mask_iban(iban) if iban else None
    if "payout_debtor_name" in provided:
        organization.payout_debtor_name = changes.payout_debtor_name
    if "payout_debtor_bic" in provided:
        organization.payout_debtor_bic = changes.payout_debtor_bic
    if changes.payout_method is not None:
        organization.payout_method = changes.payout_method
    if organization.payout_method == STRIPE_REFUND and not organization.stripe_secret_key_encrypted:
        param = "stripeSecretKey" if "stripe_secret_key" in provided else "payoutMethod"
        raise ValidationError(
            "payoutMethod stripe_refund needs a Stripe secret key: set stripeSecretKey.",
            param=param,
        )

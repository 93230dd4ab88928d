"""Group settings of an organization, one row per mode (DOMAIN.md §3): defaults at the
organization's creation, reading, PATCH with every rule checked on the merged result, and the
snapshot each new group keeps."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import service as audit
from kohort.errors import ValidationError
from kohort.group_settings import repository
from kohort.group_settings.errors import PaymentGroupSettingsNotFoundError
from kohort.group_settings.schemas import (
    MAX_MONEY,
    MAX_PARTICIPANTS,
    MIN_PARTICIPANTS,
    DiscountLevelIn,
    PaymentGroupSettingsRead,
    PaymentGroupSettingsUpdate,
)
from kohort.ids import new_id
from kohort.models import Organization, PaymentGroupSettings
from kohort.risk.policy import DEFAULT_ACTIONS, DEFAULT_OUTCOME, DEFAULT_REVIEW_DAYS

PERCENTAGE = "PERCENTAGE"
AMOUNT = "AMOUNT"
DEFAULT_DISCOUNT_TYPE = PERCENTAGE
DEFAULT_MAX_PARTICIPANTS = 15
LIVE_MINUTES_DURATION = 129_600
TEST_MINUTES_DURATION = 10
MAX_AMOUNT_VALUE = Decimal(MAX_MONEY // 100)
"""An AMOUNT value is whole currency units; in cents it must stay within MAX_MONEY."""
_CENT = Decimal("0.01")
_FIELDS = (
    "discount_type",
    "discount_levels",
    "max_participants",
    "minutes_duration",
    "min_purchase_value",
)


@dataclass(frozen=True)
class Level:
    participants_to_unlock: int
    value: Decimal


DEFAULT_LEVELS = (Level(2, Decimal(5)), Level(5, Decimal(10)), Level(10, Decimal(15)))

Param = Callable[[int, str], str]


def _stored(levels: Sequence[Level]) -> list[dict[str, Any]]:
    """Levels as kept in the JSON column: new `dlev_` ids, numbered 1..n, value as an exact
    decimal string."""
    return [
        {
            "id": new_id("dlev"),
            "level": number,
            "value": f"{level.value.quantize(_CENT).normalize():f}",
            "participantsToUnlock": level.participants_to_unlock,
        }
        for number, level in enumerate(levels, start=1)
    ]


async def create_default_settings(session: AsyncSession, *, organization_id: str) -> None:
    """The settings of both modes of a new organization (the test mode's groups last 10
    minutes, so a merchant can rehearse the whole flow)."""
    now = clock.now()
    for livemode in (False, True):
        session.add(
            PaymentGroupSettings(
                id=new_id("pgset"),
                organization_id=organization_id,
                livemode=livemode,
                discount_type=DEFAULT_DISCOUNT_TYPE,
                discount_levels=_stored(DEFAULT_LEVELS),
                max_participants=DEFAULT_MAX_PARTICIPANTS,
                minutes_duration=LIVE_MINUTES_DURATION if livemode else TEST_MINUTES_DURATION,
                min_purchase_value=0,
                risk_policy=dict(DEFAULT_ACTIONS),
                review_days=DEFAULT_REVIEW_DAYS,
                review_default=DEFAULT_OUTCOME,
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()


async def get_settings(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> PaymentGroupSettings:
    settings = await repository.get(session, organization_id=organization_id, livemode=livemode)
    if settings is None:
        raise _not_found(organization_id)
    return settings


def _not_found(organization_id: str) -> PaymentGroupSettingsNotFoundError:
    return PaymentGroupSettingsNotFoundError(
        f"No payment group settings for organization '{organization_id}'.", param="id"
    )


async def get_with_organization(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> tuple[Organization, PaymentGroupSettings]:
    """The organization and its settings in this mode, read together (an order needs both)."""
    found = await repository.get_with_organization(
        session, organization_id=organization_id, livemode=livemode
    )
    if found is None:
        raise _not_found(organization_id)
    return found


def levels_of(settings: PaymentGroupSettings) -> list[Level]:
    return [
        Level(int(item["participantsToUnlock"]), Decimal(str(item["value"])))
        for item in settings.discount_levels
    ]


def snapshot(settings: PaymentGroupSettings) -> dict[str, Any]:
    """The settings as the API shows them (JSON-ready, camelCase): what a new group keeps.
    `PaymentGroupSettingsRead.model_validate(snapshot)` reads it back exactly."""
    read = PaymentGroupSettingsRead.model_validate(settings)
    return read.model_dump(mode="json", by_alias=True)


def _invalid(param: str, rule: str) -> ValidationError:
    return ValidationError(f"Invalid request: {param} {rule}.", param=param)


def _check_numbering(levels: Sequence[DiscountLevelIn]) -> None:
    for index, level in enumerate(levels):
        if level.level is not None and level.level != index + 1:
            raise _invalid(
                f"discountLevels[{index}].level",
                f"must be {index + 1}: levels are numbered 1..n in the order given",
            )


def _check_unlock(levels: Sequence[Level], param: Param) -> None:
    previous = 0
    for index, level in enumerate(levels):
        unlock = level.participants_to_unlock
        where = param(index, "participantsToUnlock")
        if index == 0 and unlock != MIN_PARTICIPANTS:
            raise _invalid(where, f"must be {MIN_PARTICIPANTS}: level 1 unlocks at 2 participants")
        if unlock <= previous:
            raise _invalid(where, f"must be greater than the previous level's ({previous})")
        if unlock > MAX_PARTICIPANTS:
            raise _invalid(where, f"must be at most {MAX_PARTICIPANTS}")
        previous = unlock


def _check_value(value: Decimal, discount_type: str, where: str) -> None:
    if value <= 0:
        raise _invalid(where, "must be greater than 0")
    if discount_type == PERCENTAGE and value > 100:
        raise _invalid(where, "must be at most 100 with discountType PERCENTAGE")
    if discount_type == AMOUNT and value > MAX_AMOUNT_VALUE:
        raise _invalid(where, f"must be at most {MAX_AMOUNT_VALUE} with discountType AMOUNT")
    if value != value.quantize(_CENT):
        raise _invalid(where, "must have at most 2 decimal places")
    if discount_type == AMOUNT and value != value.to_integral_value():
        raise _invalid(where, "must be a whole number of currency units with discountType AMOUNT")


def _check_values(levels: Sequence[Level], discount_type: str, param: Param) -> None:
    previous: Decimal | None = None
    for index, level in enumerate(levels):
        where = param(index, "value")
        _check_value(level.value, discount_type, where)
        if previous is not None and level.value <= previous:
            raise _invalid(where, f"must be greater than the previous level's ({previous:f})")
        previous = level.value


def _given_item(index: int, field: str) -> str:
    return f"discountLevels[{index}].{field}"


def _discount_type(_index: int, _field: str) -> str:
    return "discountType"


def _checked_levels(
    settings: PaymentGroupSettings, changes: PaymentGroupSettingsUpdate, discount_type: str
) -> list[Level] | None:
    """The new levels (None: unchanged), checked under the resulting discount type. Levels
    kept while only `discountType` changes are checked too, and blamed on `discountType`."""
    provided = changes.model_fields_set
    if "discount_levels" in provided and changes.discount_levels is not None:
        _check_numbering(changes.discount_levels)
        levels = [
            Level(item.participants_to_unlock, item.value) for item in changes.discount_levels
        ]
        _check_unlock(levels, _given_item)
        _check_values(levels, discount_type, _given_item)
        return levels
    if "discount_type" in provided:
        _check_values(levels_of(settings), discount_type, _discount_type)
    return None


def _check_capacity(
    settings: PaymentGroupSettings, changes: PaymentGroupSettingsUpdate, levels: list[Level]
) -> None:
    maximum = changes.max_participants or settings.max_participants
    last = levels[-1].participants_to_unlock
    if maximum < last:
        if changes.max_participants is not None:
            raise _invalid(
                "maxParticipants",
                f"must be at least the last level's participantsToUnlock ({last})",
            )
        raise _invalid(
            f"discountLevels[{len(levels) - 1}].participantsToUnlock",
            f"must be at most maxParticipants ({maximum})",
        )


async def update_settings(
    session: AsyncSession,
    settings: PaymentGroupSettings,
    changes: PaymentGroupSettingsUpdate,
    *,
    actor: audit.Actor,
) -> PaymentGroupSettings:
    """PATCH: only the given fields change; `discountLevels` replaces the list (new ids).
    Every rule is checked on the result before anything is written. Existing groups keep
    their snapshot. The fields whose value changed are recorded (`from`/`to`)."""
    provided = changes.model_fields_set
    for name in _FIELDS:
        if name in provided and getattr(changes, name) is None:
            raise _invalid(to_camel(name), "cannot be null")
    if not provided:
        return settings
    await repository.lock(session, settings)
    before = _audited(settings)
    discount_type = changes.discount_type or settings.discount_type
    new_levels = _checked_levels(settings, changes, discount_type)
    _check_capacity(settings, changes, new_levels or levels_of(settings))
    settings.discount_type = discount_type
    if new_levels is not None:
        settings.discount_levels = _stored(new_levels)
    if changes.max_participants is not None:
        settings.max_participants = changes.max_participants
    if changes.minutes_duration is not None:
        settings.minutes_duration = changes.minutes_duration
    if changes.min_purchase_value is not None:
        settings.min_purchase_value = changes.min_purchase_value
    settings.updated_at = clock.now()
    await session.flush()
    changed = audit.diff(before, _audited(settings))
    if changed:
        await audit.record(
            session,
            actor=actor,
            organization_id=settings.organization_id,
            livemode=settings.livemode,
            action="payment_group_settings.updated",
            target_type="payment_group_settings",
            target_id=settings.id,
            changes=changed,
        )
    return settings


def _audited(settings: PaymentGroupSettings) -> dict[str, Any]:
    """The settings a PATCH changes, as the API shows them; levels without their ids (a new
    list gets new ids, so the same levels given again change nothing)."""
    shown = snapshot(settings)
    shown["discountLevels"] = [
        {name: value for name, value in level.items() if name != "id"}
        for level in shown["discountLevels"]
    ]
    return {to_camel(name): shown[to_camel(name)] for name in _FIELDS}

"""The monthly cashback budget of an organization's mode (docs/api.md, "Budget").

Cashback counts when it becomes available (a group completes, a held review is released),
in the calendar month of the organization's time zone at that moment. Each count is one
`INSERT … ON CONFLICT DO UPDATE … used = used + n` of the month's row, so concurrent
completions add up exactly on both engines; each threshold is crossed by one conditional
update, so `budget.threshold_reached` is sent once per month and threshold."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.event.service import append_event
from kohort.models import CashbackBudget, Organization, PaymentGroupSettings
from kohort.risk.schemas import BudgetRead

THRESHOLDS: Final = (80, 100)


def month_of(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


async def count_available(
    session: AsyncSession, amounts: Sequence[tuple[str, bool, int]], *, now: datetime
) -> None:
    """Add cashback that just became available, as (organization id, livemode, cents), to
    each mode's month; then send the thresholds this crossed."""
    totals: dict[tuple[str, bool], int] = {}
    for organization_id, livemode, cents in amounts:
        key = (organization_id, livemode)
        totals[key] = totals.get(key, 0) + cents
    if not totals:
        return
    rows = await session.execute(
        select(Organization.id, Organization.timezone).where(
            Organization.id.in_({organization_id for organization_id, _ in totals})
        )
    )
    zones: dict[str, str] = {row[0]: row[1] for row in rows}
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    for (organization_id, livemode), cents in sorted(totals.items()):
        month = month_of(now, zones[organization_id])
        row = insert(CashbackBudget).values(
            organization_id=organization_id, livemode=livemode, month=month, used=cents
        )
        statement = row.on_conflict_do_update(
            index_elements=["organization_id", "livemode", "month"],
            set_={"used": CashbackBudget.used + row.excluded.used},
        ).returning(CashbackBudget.used)
        used = int((await session.execute(statement)).scalar_one())
        limit = await _limit(session, organization_id, livemode)
        await check_thresholds(session, organization_id, livemode, month, used, limit, now=now)


async def check_thresholds(
    session: AsyncSession,
    organization_id: str,
    livemode: bool,
    month: str,
    used: int,
    limit: int | None,
    *,
    now: datetime,
) -> None:
    """Send `budget.threshold_reached` for each threshold `used` reached that the month has
    not reached before (a conditional update: once, whoever gets there first)."""
    if limit is None:
        return
    for percent in THRESHOLDS:
        if used * 100 < limit * percent:
            continue
        column = getattr(CashbackBudget, f"reached_{percent}_at")
        result = await session.execute(
            update(CashbackBudget)
            .where(
                CashbackBudget.organization_id == organization_id,
                CashbackBudget.livemode == livemode,
                CashbackBudget.month == month,
                column.is_(None),
            )
            .values({column: now})
            .returning(CashbackBudget.month)
            .execution_options(synchronize_session=False)
        )
        if result.first() is None:
            continue
        data = budget_read(livemode, limit, month, used, [p for p in THRESHOLDS if p <= percent])
        await append_event(
            session,
            type="budget.threshold_reached",
            organization_id=organization_id,
            livemode=livemode,
            data={**data, "threshold": percent},
        )


async def used_in(session: AsyncSession, organization_id: str, livemode: bool, month: str) -> int:
    used = await session.scalar(
        select(CashbackBudget.used).where(
            CashbackBudget.organization_id == organization_id,
            CashbackBudget.livemode == livemode,
            CashbackBudget.month == month,
        )
    )
    return int(used or 0)


async def exhausted(
    session: AsyncSession, organization: Organization, settings: PaymentGroupSettings, now: datetime
) -> bool:
    """The mode has a budget and this month's available cashback has reached it."""
    limit = settings.monthly_cashback_budget
    if limit is None:
        return False
    month = month_of(now, organization.timezone)
    return await used_in(session, organization.id, settings.livemode, month) >= limit


async def read(
    session: AsyncSession, organization: Organization, settings: PaymentGroupSettings, now: datetime
) -> dict[str, Any]:
    """The budget of the settings' mode this month, as the API shows it."""
    month = month_of(now, organization.timezone)
    used = await used_in(session, organization.id, settings.livemode, month)
    limit = settings.monthly_cashback_budget
    reached = [p for p in THRESHOLDS if limit is not None and used * 100 >= limit * p]
    return budget_read(settings.livemode, limit, month, used, reached)


def budget_read(
    livemode: bool, limit: int | None, month: str, used: int, reached: list[int]
) -> dict[str, Any]:
    return BudgetRead(
        livemode=livemode,
        monthly_amount=limit,
        month=month,
        used=used,
        remaining=None if limit is None else max(limit - used, 0),
        exhausted=limit is not None and used >= limit,
        thresholds_reached=reached,
    ).model_dump(mode="json", by_alias=True)


async def _limit(session: AsyncSession, organization_id: str, livemode: bool) -> int | None:
    return await session.scalar(
        select(PaymentGroupSettings.monthly_cashback_budget).where(
            PaymentGroupSettings.organization_id == organization_id,
            PaymentGroupSettings.livemode == livemode,
        )
    )


async def rearm(
    session: AsyncSession,
    organization: Organization,
    settings: PaymentGroupSettings,
    *,
    now: datetime,
) -> None:
    """After the budget changed: the thresholds this month's use is now under again may be
    reached again (cleared); those it is now over are sent (`check_thresholds`)."""
    month = month_of(now, organization.timezone)
    used = await used_in(session, organization.id, settings.livemode, month)
    limit = settings.monthly_cashback_budget
    for percent in THRESHOLDS:
        if limit is None or used * 100 < limit * percent:
            column = getattr(CashbackBudget, f"reached_{percent}_at")
            await session.execute(
                update(CashbackBudget)
                .where(
                    CashbackBudget.organization_id == organization.id,
                    CashbackBudget.livemode == settings.livemode,
                    CashbackBudget.month == month,
                )
                .values({column: None})
                .execution_options(synchronize_session=False)
            )
    if used:
        await check_thresholds(
            session, organization.id, settings.livemode, month, used, limit, now=now
        )

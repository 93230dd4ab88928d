"""Lists (API.md §1.5): `take`, `skip`, `orderBy`, `search` with typed operators, `expand[]`.

Each resource declares its searchable fields as a mapping from API name to `ListField`; the
repository applies the parsed query to its own `select`.
"""

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kohort.errors import ValidationError
from kohort.http import versions

MAX_TAKE = 100
MAX_SKIP = 1_000_000
_INT64 = 2**63 - 1
_CONDITION = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|<=|:|~|!|>|<)(.*)$", re.DOTALL)

T = TypeVar("T")

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ":": operator.eq,
    "!": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


class Kind(Enum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class ListField:
    column: InstrumentedAttribute[Any]
    kind: Kind
    nullable: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListQuery:
    take: int
    skip: int
    order_by: str
    descending: bool
    search: str | None
    expand: frozenset[str] = field(default_factory=frozenset)
    ignore_unknown_fields: bool = False
    """`search` conditions on fields the list does not have are dropped (KohortPay's wire)."""


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


async def list_query(
    request: Request,
    take: Annotated[int, Query(ge=1, le=MAX_TAKE, description="Page size, 1…100.")] = 25,
    skip: Annotated[int, Query(ge=0, le=MAX_SKIP, description="Rows to skip.")] = 0,
    order_by: Annotated[
        str,
        Query(alias="orderBy", max_length=100, description="`field:asc` or `field:desc`."),
    ] = "createdAt:desc",
    search: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Comma-separated conditions, ANDed: `field:value`, `field~value`, "
            "`field!value`, `field>value`, `field<value`, `field>=value`, `field<=value`.",
        ),
    ] = None,
    expand: Annotated[
        list[str] | None, Query(alias="expand[]", description="Related objects to embed.")
    ] = None,
) -> ListQuery:
    name, _, direction = order_by.partition(":")
    direction = direction.lower() or "asc"
    if direction not in ("asc", "desc"):
        raise ValidationError("orderBy must be 'field:asc' or 'field:desc'.", param="orderBy")
    return ListQuery(
        take=take,
        skip=skip,
        order_by=name.strip(),
        descending=direction == "desc",
        search=search,
        expand=frozenset(expand or ()),
        ignore_unknown_fields=versions.ignores_unknown_search_fields(request),
    )


def check_expand(query: ListQuery | frozenset[str], allowed: frozenset[str]) -> frozenset[str]:
    requested = query.expand if isinstance(query, ListQuery) else query
    unknown = sorted(requested - allowed)
    if unknown:
        choices = ", ".join(sorted(allowed)) or "none"
        raise ValidationError(
            f"Cannot expand {', '.join(unknown)}; expandable here: {choices}.", param="expand[]"
        )
    return requested


def _typed(name: str, spec: ListField, raw: str) -> Any:
    value = raw.strip()
    if spec.kind is Kind.INTEGER:
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(f"search: {name} expects an integer.", param="search") from None
        if abs(number) > _INT64:
            raise ValidationError(f"search: {name} is out of range.", param="search")
        return number
    if spec.kind is Kind.BOOLEAN:
        if value.lower() not in ("true", "false"):
            raise ValidationError(f"search: {name} expects true or false.", param="search")
        return value.lower() == "true"
    if spec.kind is Kind.TIMESTAMP:
        try:
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except ValueError:
            raise ValidationError(
                f"search: {name} expects an ISO 8601 timestamp.", param="search"
            ) from None
        except OverflowError:
            raise ValidationError(f"search: {name} is out of range.", param="search") from None
    if spec.choices and value not in spec.choices:
        raise ValidationError(
            f"search: {name} must be one of {', '.join(spec.choices)}.", param="search"
        )
    return raw


def _condition(name: str, spec: ListField, op: str, raw: str) -> ColumnElement[bool]:
    column = spec.column
    raw = raw.strip()
    if raw.strip().lower() == "null" and spec.nullable and op in (":", "!"):
        return column.is_(None) if op == ":" else column.is_not(None)
    if op == "~":
        if spec.kind is not Kind.STRING:
            raise ValidationError(
                f"search: '~' applies to text fields, not {name}.", param="search"
            )
        return column.icontains(raw, autoescape=True)
    if spec.kind is Kind.BOOLEAN and op not in (":", "!"):
        raise ValidationError(f"search: {name} supports only ':' and '!'.", param="search")
    value = _typed(name, spec, raw)
    if op == "!" and spec.nullable:
        either: ColumnElement[bool] = (column != value) | column.is_(None)
        return either
    condition: ColumnElement[bool] = _OPERATORS[op](column, value)
    return condition


def filters(
    search: str | None, fields: dict[str, ListField], *, ignore_unknown: bool = False
) -> list[ColumnElement[bool]]:
    if not search:
        return []
    conditions = []
    for part in search.split(","):
        if not part.strip():
            continue
        match = _CONDITION.match(part)
        if match is None:
            raise ValidationError(
                f"search: cannot read condition '{part}'; use field:value, field~value, "
                "field!value, field>value, field<value, field>=value or field<=value.",
                param="search",
            )
        name, op, raw = match.groups()
        spec = fields.get(name)
        if spec is None and ignore_unknown:
            continue
        if spec is None:
            raise ValidationError(
                f"search: unknown field '{name}'; searchable: {', '.join(sorted(fields))}.",
                param="search",
            )
        conditions.append(_condition(name, spec, op, raw))
    return conditions


async def fetch_page(
    session: AsyncSession,
    stmt: Select[T],
    *,
    query: ListQuery,
    fields: dict[str, ListField],
    id_column: InstrumentedAttribute[Any],
) -> tuple[list[T], int]:
    """Apply search, order (tie-break on id) and paging to `stmt`; also count every match."""
    conditions = filters(query.search, fields, ignore_unknown=query.ignore_unknown_fields)
    spec = fields.get(query.order_by)
    if spec is None:
        raise ValidationError(
            f"orderBy: unknown field '{query.order_by}'; sortable: {', '.join(sorted(fields))}.",
            param="orderBy",
        )
    if conditions:
        stmt = stmt.where(and_(*conditions))
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = int((await session.execute(count_stmt)).scalar_one())
    primary = spec.column.desc() if query.descending else spec.column.asc()
    if spec.nullable:
        primary = primary.nulls_last() if query.descending else primary.nulls_first()
    tie_break = id_column.desc() if query.descending else id_column.asc()
    ordering = (primary, tie_break)
    rows = await session.execute(stmt.order_by(*ordering).limit(query.take).offset(query.skip))
    return list(rows.scalars().all()), total

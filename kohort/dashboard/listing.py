"""The dashboard's lists: the API's list machinery (`kohort.http.lists`: the same fields, the same
search operators, the same ordering with its tie-break) driven by a page's query string —
`page` (from 1), `sort` (a field the page allows), `dir` (`asc`/`desc`) and the page's own
filters, which the page turns into `search` conditions. What a list page renders with it is in
`_list.html` (sortable headers, the pager)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request

from kohort.http.lists import ListField, ListQuery, fetch_page

T = TypeVar("T")
PAGE_SIZE = 25
MAX_PAGE = 40_000
"""Pages past this are clamped: `skip` stays within the API's own limit."""


@dataclass(frozen=True)
class Listing(Generic[T]):
    rows: list[T]
    count: int
    page: int
    take: int
    sort: str
    descending: bool
    path: str
    params: dict[str, str]
    """The filters in force (without page, sort, dir): kept by every link the list makes."""

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.take))

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.take + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.take + len(self.rows)

    def url(self, **changes: Any) -> str:
        """This list's URL with `changes` applied (None drops a parameter)."""
        query: dict[str, Any] = {
            **self.params,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "page": self.page,
            **changes,
        }
        kept = {key: value for key, value in query.items() if value not in (None, "")}
        if kept.get("page") == 1:
            kept.pop("page")
        return f"{self.path}?{urlencode(kept)}" if kept else self.path

    @property
    def previous_url(self) -> str | None:
        return self.url(page=self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(page=self.page + 1) if self.page < self.pages else None

    def sort_url(self, field: str) -> str:
        """Sorting by `field`: descending first, the other direction when already sorted by it."""
        descending = not self.descending if field == self.sort else True
        return self.url(sort=field, dir="desc" if descending else "asc", page=None)

    def aria_sort(self, field: str) -> str | None:
        if field != self.sort:
            return None
        return "descending" if self.descending else "ascending"


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def clean(value: object, limit: int = 200) -> str:
    """A filter typed by the user, as a value of a `search` condition: trimmed, bounded, and
    without the comma that separates conditions (nor a NUL, which PostgreSQL refuses)."""
    return str(value or "").replace(",", " ").replace("\x00", "").strip()[:limit]


async def fetch(
    session: AsyncSession,
    request: Request,
    stmt: Select[Any],
    *,
    fields: Mapping[str, ListField],
    id_column: InstrumentedAttribute[Any],
    sortable: Iterable[str],
    default_sort: str = "createdAt",
    default_descending: bool = True,
    conditions: Iterable[str] = (),
    params: Mapping[str, str] | None = None,
    take: int = PAGE_SIZE,
) -> Listing[Any]:
    """One page of `stmt` under `conditions` (API `search` conditions, ANDed). An unknown
    `sort` falls back to `default_sort`, a missing `dir` to `default_descending`; a page past
    the end shows the last one."""
    query = request.query_params
    allowed = set(sortable)
    sort = query.get("sort") or default_sort
    if sort not in allowed or sort not in fields:
        sort = default_sort
    descending = query.get("dir", "desc" if default_descending else "asc") != "asc"
    page = _page_number(query.get("page"))
    search = ",".join(condition for condition in conditions if condition) or None

    async def one(number: int) -> tuple[list[Any], int]:
        list_query = ListQuery(
            take=take,
            skip=(number - 1) * take,
            order_by=sort,
            descending=descending,
            search=search,
        )
        return await fetch_page(
            session, stmt, query=list_query, fields=dict(fields), id_column=id_column
        )

    rows, count = await one(page)
    last_page = max(1, -(-count // take))
    if page > last_page:
        page = last_page
        rows, count = await one(page)
    kept = {key: value for key, value in (params or {}).items() if value}
    return Listing(rows, count, page, take, sort, descending, request.url.path, kept)

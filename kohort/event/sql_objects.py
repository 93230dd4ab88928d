"""API objects composed by the database: the SQL that builds a response model's JSON from a
row, so that the worker records events by the thousand without bringing rows into Python.

The expression is derived from the model's own fields (camelCase keys, in the model's order)
and the table's column types: timestamps as `format_timestamp` writes them (UTC, milliseconds,
`Z`), booleans as JSON booleans, JSON columns embedded as JSON, a field typed `None` (always
null, as `ambassadorId`) as null. Any other model field without a column of the same name is
refused when the SQL is built. tests/event/test_sql_objects.py checks that
the database's object equals the model's `model_dump` on both engines."""

from functools import cache

from pydantic import BaseModel
from sqlalchemy import JSON, Boolean, Table
from sqlalchemy.types import TypeEngine

from kohort.models.base import UTCDateTime


def event_id_sql(dialect: str) -> str:
    """SQL for a new event id, `evt_` and 14 random hex digits, as `new_id("evt")` makes."""
    if dialect == "postgresql":
        return "'evt_' || encode(substring(uuid_send(gen_random_uuid()) FROM 10 FOR 7), 'hex')"
    return "'evt_' || lower(hex(randomblob(7)))"


@cache
def object_sql(model: type[BaseModel], table: Table, alias: str, dialect: str) -> str:
    """SQL for the JSON object of `model` built from the row `alias` of `table` (`dialect`:
    "postgresql", a jsonb value; otherwise SQLite, JSON text)."""
    postgres = dialect == "postgresql"
    pairs: list[str] = []
    for name, field in model.model_fields.items():
        key = field.serialization_alias or field.alias or name
        if field.annotation is type(None):
            pairs.append(f"'{key}', NULL")
            continue
        if name not in table.c:
            raise ValueError(f"{model.__name__}.{name} has no column in {table.name}")
        column = f"{alias}.{table.c[name].name}"
        pairs.append(f"'{key}', {_value(column, table.c[name].type, postgres)}")
    function = "jsonb_build_object" if postgres else "json_object"
    return f"{function}({', '.join(pairs)})"


def _value(column: str, kind: TypeEngine[object], postgres: bool) -> str:
    if isinstance(kind, UTCDateTime):
        if postgres:
            return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
        # SQLite holds "YYYY-MM-DD HH:MM:SS.ffffff"; NULL stays NULL through ||.
        return f"substr({column}, 1, 10) || 'T' || substr({column}, 12, 12) || 'Z'"
    if isinstance(kind, Boolean) and not postgres:
        return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"
    if _is_json(kind) and not postgres:
        return f"json({column})"
    return column


def _is_json(kind: TypeEngine[object]) -> bool:
    if isinstance(kind, JSON):
        return True
    variants = getattr(kind, "_variant_mapping", {})
    return any(isinstance(variant, JSON) for variant in variants.values())

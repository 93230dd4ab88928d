"""The `kohortpay` translation over every response model: each key of an answer becomes the
snake_case of the current one, `metadata` contents are untouched, and the request side maps
the translated document back to the current one (a property test over generated documents)."""

import functools
import types
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kohort.http import versions
from kohort.http.schemas import ResponseModel

METADATA = st.dictionaries(
    st.text(st.characters(categories=("L", "N", "Pd", "Pc")), min_size=1, max_size=12),
    st.text(max_size=8),
    max_size=4,
)
"""Metadata keys of every shape a shop writes: camelCase, snake_case, digits, dashes."""
OBJECT = st.dictionaries(
    st.from_regex(r"\A[a-z]+([A-Z][a-z0-9]+){0,3}\Z"),
    st.integers() | st.text(max_size=4),
    max_size=4,
)
"""Another dict in an answer (an event's `data`): an API object, camelCase keys."""


def response_models(app: FastAPI) -> list[type[BaseModel]]:
    """Every response model of the API (the app imports them all)."""
    assert app.openapi()
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [ResponseModel]
    while pending:
        model = pending.pop()
        for child in model.__subclasses__():
            if child not in found and "[" not in child.__name__:
                found.append(child)
                pending.append(child)
    return found


def _key(name: str, model: type[BaseModel]) -> str:
    info = model.model_fields[name]
    return info.serialization_alias or info.alias or name


def strategy(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return strategy(get_args(annotation)[0], depth)
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy(arg, depth) for arg in get_args(annotation)))
    if origin is list:
        return st.lists(
            strategy(get_args(annotation)[0], depth + 1), max_size=2 if depth < 2 else 0
        )
    if origin is dict:
        return OBJECT
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return document(annotation, depth + 1) if depth < 3 else st.none()
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from([member.value for member in annotation])
    simple: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(),
        str: st.text(max_size=6),
        Decimal: st.floats(allow_nan=False, allow_infinity=False),
        float: st.floats(allow_nan=False, allow_infinity=False),
        datetime: st.just(datetime(2026, 12, 1, tzinfo=UTC).isoformat()),
        type(None): st.none(),
    }
    return simple.get(annotation, st.none())


@functools.cache
def document(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """An answer of `model` as JSON, keys as the current version writes them; `metadata`
    (any dict) generated with keys of every case."""
    return st.fixed_dictionaries(
        {
            _key(name, model): METADATA if name == "metadata" else strategy(info.annotation, depth)
            for name, info in model.model_fields.items()
        }
    )


def assert_translated(current: Any, translated: Any) -> None:
    if isinstance(current, list):
        assert isinstance(translated, list) and len(translated) == len(current)
        for before, after in zip(current, translated, strict=True):
            assert_translated(before, after)
        return
    if not isinstance(current, dict):
        assert translated == current
        return
    assert list(translated) == [versions.snake_key(key) for key in current]
    for key, value in current.items():
        if key == "metadata":
            assert translated["metadata"] == value
        else:
            assert_translated(value, translated[versions.snake_key(key)])


def test_every_response_model_translates_key_by_key_and_back(app: FastAPI) -> None:
    models = response_models(app)
    assert len(models) > 20, [model.__name__ for model in models]

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        for model in models:
            current = data.draw(document(model), label=model.__name__)
            translated = versions.snake_case(current)
            assert_translated(current, translated)
            assert versions._camelize(translated) == current

    check()


def test_no_two_fields_of_a_model_translate_to_the_same_key(app: FastAPI) -> None:
    for model in response_models(app):
        keys = [_key(name, model) for name in model.model_fields]
        snake = [versions.snake_key(key) for key in keys]
        assert len(set(snake)) == len(snake), model.__name__
        assert [versions._camel_key(key) for key in snake] == keys, model.__name__

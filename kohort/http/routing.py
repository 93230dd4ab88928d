"""The route class every API route uses: authenticate, claim the idempotency key, run the
handler in one transaction (read for GET, write otherwise), commit once at the edge.

An answer is stored under its Idempotency-Key unless the request did not run (as at Stripe):
a VALIDATION_ERROR, or a key not allowed on the route (401, 403). The same Idempotency-Key then
works once the input or the API key is fixed."""

import copy
import functools
import inspect
import json
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, ClassVar, get_origin, get_type_hints
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.db import Database
from kohort.errors import AppError, InternalError, ValidationError, render_error
from kohort.http import idempotency, versions
from kohort.http.auth import (
    any_key,
    authenticate_in,
    authenticate_request,
    record_pending_use,
    require_secret,
    secret_key,
)
from kohort.http.commit import run_after_commit
from kohort.http.middleware import has_body
from kohort.http.validation import from_validation_error

log = logging.getLogger("kohort.http")

_NUL = re.compile(rb"\\u0000|\x00", re.IGNORECASE)
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


Session = Annotated[AsyncSession, Depends(get_session)]


async def idempotency_key_header() -> None:
    """Marks a route that takes an `Idempotency-Key` header; `KohortRoute` does the work."""


IDEMPOTENT = [Depends(idempotency_key_header)]
_IDEMPOTENCY_KEY_DESCRIPTION = "A retry with the same key and body replays the first answer."
_IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {
        "anyOf": [{"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH}, {"type": "null"}],
        "description": _IDEMPOTENCY_KEY_DESCRIPTION,
        "title": "Idempotency-Key",
    },
    "description": _IDEMPOTENCY_KEY_DESCRIPTION,
}
"""The header as the OpenAPI document declares it on an IDEMPOTENT route (`check_key` reads it)."""


async def reads_only() -> None:
    """Marks a POST which writes nothing (a code's validation): its transaction is a read
    one, so on SQLite it does not queue for the writer's lock."""


READS_ONLY = Depends(reads_only)
_MARKERS = (idempotency_key_header, reads_only)
"""Dependencies that only mark a route: `KohortRoute` takes them out of the dependencies it
runs (each dependency costs FastAPI a resolution per request) and does what they say."""


_FROM_STATE = (get_session, any_key, secret_key)
"""Dependencies whose value the route already holds (the request's session and key): a
handler's parameter declared with one (`Session`, `AnyKey`, `SecretKey`) is passed by
`KohortRoute` from the request's state, not resolved by FastAPI on every request (each
dependency costs a resolution; measured: 9 % of a GET's Python calls for two). SecretKey's
check, `require_secret`, runs before the handler, as the dependency ran before the handler's
parameters were validated."""


def _from_state(hint: Any) -> Callable[..., Any] | None:
    if get_origin(hint) is not Annotated:
        return None
    for meta in hint.__metadata__:
        if isinstance(meta, params.Depends) and meta.dependency in _FROM_STATE:
            return meta.dependency
    return None


def _passing_state(endpoint: Callable[..., Any]) -> tuple[Callable[..., Any], bool]:
    """`endpoint` with its state parameters passed from the request's state (FastAPI sees the
    others, and the request), and whether one of them is SecretKey."""
    hints = get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    taken = {name: dep for name in signature.parameters if (dep := _from_state(hints.get(name)))}
    if not taken:
        return endpoint, False
    kept = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name not in taken
    ]
    request_name = next((p.name for p in kept if hints.get(p.name) is Request), None)
    passes_request = request_name is not None
    if request_name is None:
        request_name = "kohort_request"
        kept.append(
            inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    sessions = [name for name, dep in taken.items() if dep is get_session]
    keys = [name for name, dep in taken.items() if dep is not get_session]

    @functools.wraps(endpoint)
    async def with_state(**values: Any) -> Any:
        request: Request = values[request_name] if passes_request else values.pop(request_name)
        state = request.state
        for name in sessions:
            values[name] = state.session
        for name in keys:
            values[name] = state.auth
        return await endpoint(**values)

    with_state.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=kept, return_annotation=hints.get("return", signature.return_annotation)
    )
    return with_state, secret_key in taken.values()


class KohortRoute(APIRoute):
    raw_body: ClassVar[bool] = False
    """The body is JSON (whatever the Content-Type) and has no NUL; UploadRoute's is bytes."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        declared = list(kwargs.pop("dependencies", None) or ())
        marks = {d.dependency for d in declared if d.dependency in _MARKERS}
        self.writes_nothing = reads_only in marks
        self.takes_idempotency_key = idempotency_key_header in marks
        if idempotency_key_header in marks:
            extra = dict(kwargs.get("openapi_extra") or {})
            parameter = copy.deepcopy(_IDEMPOTENCY_KEY_PARAMETER)
            extra["parameters"] = [*extra.get("parameters", []), parameter]
            kwargs["openapi_extra"] = extra
        dependencies = [d for d in declared if d.dependency not in _MARKERS]
        endpoint, self.needs_secret_key = _passing_state(endpoint)
        super().__init__(path, endpoint, dependencies=dependencies, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        body_model = self.body_field.field_info.annotation if self.body_field else None
        raw_body = self.raw_body
        writes = not self.writes_nothing
        takes_key = self.takes_idempotency_key
        needs_secret = self.needs_secret_key

        async def route(request: Request) -> Response:
            request_id: str = request.state.request_id
            request.state.body_model = body_model
            request.state.raw_body = raw_body
            request.state.writes = writes and request.method not in _READ_METHODS
            request.state.takes_idempotency_key = takes_key
            request.state.needs_secret_key = needs_secret
            _expand_without_brackets(request)
            try:
                response = await _run(request, handler)
            except AppError as error:
                response = render_error(error, request_id)
            except RequestValidationError as exc:
                response = render_error(from_validation_error(exc), request_id)
            return versions.present(request, response)

        return route


class UploadRoute(KohortRoute):
    """A route whose body is a file as sent (an image): its Content-Type is kept for the
    handler to check, its bytes may hold NULs; the rest is KohortRoute's."""

    raw_body = True


async def _run(request: Request, handler: Handler) -> Response:
    """A request with a body, or an idempotent one, is authenticated before its body is read
    (a stranger's upload is never read); the others inside their own transaction."""
    db: Database = request.app.state.db
    if not request.state.raw_body:
        _read_body_as_json(request)
    key = request.headers.get("idempotency-key")
    idempotent = key is not None and request.method == "POST"
    if idempotent or has_body(request.scope):
        request.state.auth = await authenticate_request(request, db)
    body = await request.body()
    nul_in_body = not request.state.raw_body and _NUL.search(body) is not None
    if nul_in_body or "%00" in request.url.query or "\x00" in request.scope["path"]:
        raise _nul_error()
    if key is None or request.method != "POST":
        return await _in_transaction(request, handler, db, None)
    outcome = await idempotency.claim(
        db,
        organization_id=request.state.auth.organization_id,
        livemode=request.state.auth.livemode,
        key=idempotency.check_key(key),
        fingerprint=idempotency.request_fingerprint(request.method, _target(request), body),
    )
    if isinstance(outcome, idempotency.Replay):
        return _replay(outcome)
    try:
        return await _in_transaction(request, handler, db, outcome)
    except AppError as error:
        if not _is_stored(error):
            await idempotency.release(db, outcome)
            raise
        response = render_error(error, request.state.request_id)
        async with db.write() as session:
            await _store(session, request, outcome, response)
        return response
    except BaseException:
        await idempotency.release(db, outcome)
        raise


async def _in_transaction(
    request: Request, handler: Handler, db: Database, claim: idempotency.Claim | None
) -> Response:
    """Authenticate (unless done already) and run the handler in one transaction."""
    writes: bool = request.state.writes or claim is not None  # the answer is stored
    async with db.transaction(writes=writes) as session:
        if getattr(request.state, "auth", None) is None:
            request.state.auth = await authenticate_in(session, request, db, writes=writes)
        if request.state.needs_secret_key:
            require_secret(request.state.auth)
        request.state.session = session
        version = versions.resolve(request, request.state.auth.api_version)
        versions.translate_request(request, version, request.state.body_model)
        key = request.headers.get("idempotency-key")
        if key is not None and claim is None and request.state.takes_idempotency_key:
            idempotency.check_key(key)  # declared, though only a POST replays (as at Stripe)
        response = await handler(request)
        if response.status_code >= 500:
            raise InternalError("An internal error occurred.")
        if claim is not None:
            await _store(session, request, claim, response)
    run_after_commit(request)
    await record_pending_use(request, db)
    return response


async def _store(
    session: AsyncSession, request: Request, claim: idempotency.Claim, response: Response
) -> None:
    body = bytes(response.body)
    hidden = getattr(request.state, "hidden_on_replay", ())
    if hidden and response.status_code < 300:
        document = json.loads(body)
        document.update(dict.fromkeys(hidden))
        body = json.dumps(document, separators=(",", ":")).encode()
    await idempotency.complete(
        session,
        claim,
        status=response.status_code,
        body=body,
        request_id=request.state.request_id,
    )


def _replay(replay: idempotency.Replay) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if replay.request_id:
        headers["Original-Request"] = replay.request_id
    return Response(
        content=replay.body,
        status_code=replay.status,
        media_type="application/json",
        headers=headers,
    )


def hide_on_replay(*fields: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A route dependency: these response fields are stored as null for idempotent replays
    (an API key's secret is shown once, never kept)."""

    async def mark(request: Request) -> None:
        request.state.hidden_on_replay = fields

    return mark


def _target(request: Request) -> str:
    """Path and query string: `?expand[]=…` changes the answer, so it is part of the request."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def _is_stored(error: AppError) -> bool:
    return not isinstance(error, ValidationError) and error.status not in (401, 403)


def _expand_without_brackets(request: Request) -> None:
    """`?expand=x` (no brackets, as many clients write it) means `?expand[]=x`."""
    query: bytes = request.scope.get("query_string", b"")
    if b"expand=" not in query:
        return
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if all(name != "expand" for name, _ in pairs):
        return
    renamed = [("expand[]" if name == "expand" else name, value) for name, value in pairs]
    request.scope["query_string"] = urlencode(renamed).encode("latin-1")
    request.__dict__.pop("_query_params", None)
    request.__dict__.pop("_url", None)


def _read_body_as_json(request: Request) -> None:
    """Every body is JSON, whatever Content-Type the client sent (curl -d sends a form type)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
    headers.append((b"content-type", b"application/json"))
    request.scope["headers"] = headers
    request.__dict__.pop("_headers", None)


def _nul_error() -> AppError:
    return ValidationError("Request must not contain NUL characters.")

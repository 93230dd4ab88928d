"""Work to do once the request's transaction has committed (never for a rolled-back one)."""

from collections.abc import Callable

from starlette.requests import Request


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    request.state.after_commit = [*getattr(request.state, "after_commit", []), callback]


def run_after_commit(request: Request) -> None:
    for callback in getattr(request.state, "after_commit", ()):
        callback()

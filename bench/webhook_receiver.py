"""A fast webhook receiver for bench/webhooks.py: a bare ASGI app answering 204 to every
POST and remembering when each webhook-id first arrived; GET answers those arrival times
(Unix seconds) as JSON. Serve it with uvicorn."""

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

arrivals: dict[str, float] = {}
counts = {"requests": 0}


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["method"] == "GET":
        body = json.dumps({"requests": counts["requests"], "arrivals": arrivals}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    at = time.time()
    counts["requests"] += 1
    for name, value in scope["headers"]:
        if name == b"webhook-id":
            arrivals.setdefault(value.decode(), at)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

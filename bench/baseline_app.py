"""The bare ASGI baseline: a minimal Starlette app answering a JSON object the size of a
group, served by uvicorn exactly like `kohort serve`."""

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = json.dumps({"filler": "x" * int(os.environ.get("KOHORT_BENCH_BODY_BYTES", "700"))})


async def plain(request: Request) -> Response:
    return Response(_BODY, media_type="application/json")


app = Starlette(routes=[Route("/", plain)])

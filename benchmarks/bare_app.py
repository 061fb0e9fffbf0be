"""The ceiling of a Python HTTP service here: a bare Starlette route returning a fixed
100-byte body, served exactly as ``roost serve`` serves roost (uvicorn, uvloop, httptools,
one process, no access log)."""

from __future__ import annotations

import argparse

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b"x" * 100


async def fixed(_request: Request) -> Response:
    return Response(BODY, media_type="application/octet-stream")


app = Starlette(routes=[Route("/fixed", fixed)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )
    uvloop.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()

"""Set up a demo home, then run ``roost serve`` on it (the README's first command).

The demo is made here, by a command, before the server starts: ``roost serve`` itself
never invents apps or instances. Running it again keeps what is there.

    uv run python examples/demo.py [--home DIR] [--port 8080]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from roost.auth import LOCAL_ACTOR
from roost.domain.errors import Conflict
from roost.services import instances, products
from roost.services.context import Context
from roost.settings import Settings

DEMO_INSTANCES = [
    instances.CreateRequest(
        instance_id="pvp", name="PvP server", tags=("game", "eu"), config={"max_players": 16}
    ),
    instances.CreateRequest(
        instance_id="pve", name="PvE server", tags=("game", "eu"), config={"max_players": 8}
    ),
    instances.CreateRequest(instance_id="1", name="dev stack 1", tags=("dev",)),
    instances.CreateRequest(instance_id="2", name="dev stack 2", tags=("dev",)),
]


async def set_up(settings: Settings) -> None:
    ctx = await Context.open(settings)
    try:
        for request in DEMO_INSTANCES:
            with contextlib.suppress(Conflict):  # made by an earlier run
                await instances.create_instance(ctx, LOCAL_ACTOR, request)
        if not await products.instances_of(ctx, LOCAL_ACTOR, "my-product"):
            for version in ("1.0.0", "2.0.0"):
                await products.register(ctx, LOCAL_ACTOR, "my-product", version, None)
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("demo-home"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    home = args.home.resolve()
    asyncio.run(set_up(Settings.load(home=home)))
    print(f"demo home ready at {home}: 4 instances of the 'default' app, 2 of 'my-product'")
    roost = Path(sys.executable).with_name("roost")
    os.execv(
        roost,
        [str(roost), "--home", str(home), "serve", "--host", args.host, "--port", str(args.port)],
    )


if __name__ == "__main__":
    main()

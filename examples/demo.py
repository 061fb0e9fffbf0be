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
from roost.composition import open_context
from roost.domain.errors import Conflict
from roost.services import create, products
from roost.services.app_specs import register_app
from roost.settings import Settings
from roost.specfile import load_spec

EXAMPLE_SPEC = Path(__file__).parent / "roost.toml"
STACKS = [
    create.CreateRequest(app="stack", instance_id="1", name="dev stack 1", tags=("dev",)),
    create.CreateRequest(app="stack", instance_id="2", name="dev stack 2", tags=("dev",)),
]
DEMO_INSTANCES = [  # records and cache namespaces of the bare app: nothing runs
    create.CreateRequest(
        app="default",
        instance_id="pvp",
        name="PvP server",
        tags=("game", "eu"),
        config={"max_players": 16},
    ),
    create.CreateRequest(
        app="default",
        instance_id="pve",
        name="PvE server",
        tags=("game", "eu"),
        config={"max_players": 8},
    ),
]


async def set_up(settings: Settings) -> None:
    ctx = await open_context(settings)
    try:
        spec = load_spec(EXAMPLE_SPEC)
        # the default app: `roost create N` and `roost up N` make a running stack
        await register_app(ctx, LOCAL_ACTOR, spec.app("stack"), make_default=True)
        for request in [*STACKS, *DEMO_INSTANCES]:
            with contextlib.suppress(Conflict):  # made by an earlier run
                await create.create_instance(ctx, LOCAL_ACTOR, request)
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
    print(
        f"demo home ready at {home}: instances 1 and 2 of the app 'stack' (ports 3311/5273,"
        " 3411/5373), pvp and pve of 'default', two registrations of 'my-product'\n"
        "the CLI, in another shell:\n"
        f"  export PATH={Path(sys.executable).parent}:$PATH ROOST_HOME={home}\n"
        "  roost status all\n"
        f"the dashboard: http://{args.host}:{args.port}/",
        flush=True,
    )
    roost = Path(sys.executable).with_name("roost")
    os.execv(
        roost,
        [str(roost), "--home", str(home), "serve", "--host", args.host, "--port", str(args.port)],
    )


if __name__ == "__main__":
    main()

"""One lock per instance: lifecycle work on an instance (start, stop, a service action,
adoption at boot) runs one at a time, while different instances go on in parallel."""

from __future__ import annotations

import asyncio


class InstanceLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, instance_id: str) -> asyncio.Lock:
        return self._locks.setdefault(instance_id, asyncio.Lock())

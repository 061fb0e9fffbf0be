"""Allocating an instance's ports against the registry and the host.

A planned port is refused (409 ``PORT_CONFLICT``, naming the holder) when another
instance has it in the registry or a process already binds it on this host; with
``auto_ports`` it falls back to the first free port of the range instead. Every port
this process allocates stays reserved in memory until its instance is removed (not just
until the insert commits), so a create whose registry snapshot predates another's commit
still cannot pick that port; the unique (host, port) in the registry stays the arbiter.
"""

from __future__ import annotations

from collections.abc import Iterable

from roost import host_ports
from roost.domain.errors import Conflict
from roost.ports import Wanted
from roost.registry import ports as q
from roost.registry.database import Registry


class PortAllocator:
    def __init__(self, registry: Registry, host: str, port_range: range) -> None:
        self._registry = registry
        self.host = host
        self.range = port_range
        self._reserved: set[int] = set()

    async def allocate(self, wanted: list[Wanted], *, auto_fallback: bool) -> dict[str, int]:
        """Ports for ``wanted``, reserved until :meth:`release` (when the instance goes)."""
        if not wanted:
            return {}
        planned = [w.port for w in wanted if w.port is not None]
        held = await self._registry.read(q.holders, self.host, planned) if planned else {}
        allocated: dict[str, int] = {}
        autos: list[Wanted] = []
        try:
            for want in wanted:
                if want.port is None:
                    autos.append(want)
                    continue
                conflict = self._conflict(want, held, allocated.values())
                if conflict is not None:
                    if auto_fallback:
                        autos.append(want)
                        continue
                    raise conflict
                allocated[want.name] = want.port
                self._reserved.add(want.port)
            if autos:
                await self._allocate_auto(autos, allocated)
        except BaseException:
            self.release(allocated.values())
            raise
        return allocated

    def _conflict(self, want: Wanted, held: dict[int, str], mine: Iterable[int]) -> Conflict | None:
        assert want.port is not None
        holder: str | None
        if want.port in held:
            holder, what = held[want.port], f"held by instance {held[want.port]!r}"
        elif want.port in self._reserved or want.port in mine:
            holder, what = None, "being allocated to another instance"
        elif host_ports.in_use(want.port):
            holder = host_ports.holder(want.port)
            what = f"in use on this host by {holder or 'another process'}"
        else:
            return None
        return Conflict(
            f"port {want.port} ({want.name}, {want.kind}) is {what};"
            " give other ports or use auto ports",
            code="PORT_CONFLICT",
            port=want.port,
            name=want.name,
            holder=holder,
        )

    async def _allocate_auto(self, autos: list[Wanted], allocated: dict[str, int]) -> None:
        taken = await self._registry.read(
            q.taken_between, self.host, self.range.start, self.range.stop - 1
        )
        candidates = (
            port
            for port in self.range
            if port not in taken and port not in self._reserved and not host_ports.in_use(port)
        )
        for want in autos:
            port = next(candidates, None)
            if port is None:
                raise Conflict(
                    f"no free port left in {self.range.start}-{self.range.stop - 1}"
                    f" for {want.name!r}",
                    code="NO_FREE_PORT",
                )
            allocated[want.name] = port
            self._reserved.add(port)

    def release(self, allocated: Iterable[int]) -> None:
        self._reserved.difference_update(allocated)

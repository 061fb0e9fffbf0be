"""No cross-origin browser request acts, with or without auth (Go 1.25's
``CrossOriginProtection``, for every route).

A browser says where a request comes from: ``Sec-Fetch-Site`` (modern browsers) or
``Origin``. A request that changes something (anything but GET, HEAD, OPTIONS) from
another site is 403 ``CROSS_ORIGIN``, unless its origin is in
``ROOST_TRUSTED_ORIGINS``. On the data plane GET and HEAD count too: a first GET can
create an instance. Requests with neither header (curl, SDKs, services) pass.
"""

from __future__ import annotations

from collections.abc import Iterable

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_SITES = frozenset({b"same-origin", b"none"})  # "none": typed in the address bar


class Origins:
    def __init__(self, trusted: Iterable[str], *, guard_reads: tuple[bytes, ...] = ()) -> None:
        self.trusted = frozenset(origin.lower().rstrip("/").encode() for origin in trusted)
        self.guard_reads = guard_reads  # raw path prefixes where GET and HEAD count too

    def allows(
        self,
        method: str,
        raw_path: bytes,
        origin: bytes | None,
        site: bytes | None,
        host: bytes | None,
    ) -> bool:
        if origin is None and site is None:
            return True  # not a browser
        if method in SAFE_METHODS and not raw_path.startswith(self.guard_reads):
            return True  # a read changes nothing
        origin = (origin or b"").lower().rstrip(b"/")
        if origin and origin in self.trusted:
            return True
        if site is not None:
            return site.lower() in ALLOWED_SITES
        return origin.partition(b"://")[2] == (host or b"").lower()  # scheme-less, like Host

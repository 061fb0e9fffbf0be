"""Reading a service's own Prometheus text (``metrics = "http://..."`` in its spec).

Each sample is kept as ``<service>:<name>`` (labels in braces, as Prometheus writes
them), at most :data:`MAX_SCRAPED` per service; a body is read up to
:data:`MAX_BODY_BYTES`. Values that are not finite numbers are skipped.
"""

from __future__ import annotations

import math

import httpx
from prometheus_client.parser import text_string_to_metric_families

from roost.domain.metrics import MAX_NAME, MAX_SCRAPED, SCRAPED_SEPARATOR

MAX_BODY_BYTES = 1024 * 1024


class ScrapeFailed(Exception):
    pass


def parse_exposition(text: str, service: str) -> dict[str, float]:
    """The samples of a Prometheus text body, named for ``service``."""
    found: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if len(found) >= MAX_SCRAPED:
                    return found
                value = float(sample.value)
                if not math.isfinite(value):
                    continue
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                name = f"{service}{SCRAPED_SEPARATOR}{sample.name}"
                name = f"{name}{{{labels}}}" if labels else name
                if len(name) <= MAX_NAME:
                    found[name] = value
    except ValueError as exc:
        raise ScrapeFailed(f"not Prometheus text: {exc}") from None
    return found


async def scrape(
    client: httpx.AsyncClient, url: str, service: str, within: float
) -> dict[str, float]:
    """GET ``url`` and parse it; ScrapeFailed with the reason otherwise."""
    try:
        async with client.stream("GET", url, timeout=within) as response:
            if response.status_code != 200:
                raise ScrapeFailed(f"{url} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise ScrapeFailed(f"{url} sent more than {MAX_BODY_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise ScrapeFailed(f"{url}: {exc.__class__.__name__} {exc}".strip()) from None
    return parse_exposition(body.decode("utf-8", "replace"), service)

"""Damage the data plane's store found in what it keeps, recorded as events: one for the
whole finding (how many records and bytes, where the damaged original was kept) and
one per instance whose lost keys can be told, so each instance's history says what it
lost."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import Connection

from roost.auth import SUPERVISOR
from roost.cache.backend import DamageReport
from roost.failures import log_failure
from roost.services.changes import Recorder, commit
from roost.services.context import Context

log = logging.getLogger("roost.cache")
ACTION = "cache.damaged"
KEYS_NAMED = 100  # an event names at most this many keys, and says how many more


class CacheDamageEvents:
    """The data-plane backend's listener (``roost.cache.backend.CacheListener``)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def cache_damaged(self, report: DamageReport) -> None:
        lost: defaultdict[str, list[str]] = defaultdict(list)
        for namespace, key in report.keys:
            lost[namespace].append(key)

        def apply(conn: Connection, record: Recorder) -> None:
            if report.found == "open":
                record(
                    ACTION,
                    outcome="error",
                    details={
                        "found": report.found,
                        "records": report.records,
                        "bytes": report.bytes,
                        "unknown_records": report.unknown,
                        "ranges": [list(span) for span in report.ranges],
                        "kept": report.kept,
                        "instances": sorted(lost),
                    },
                )
            for namespace, keys in lost.items():
                record(
                    ACTION,
                    namespace,
                    outcome="error",
                    details={
                        "found": report.found,
                        "keys": keys[:KEYS_NAMED],
                        "more_keys": max(0, len(keys) - KEYS_NAMED),
                    },
                )

        try:
            await commit(self._ctx, SUPERVISOR, apply)
        except Exception as error:
            log_failure(log, error, "could not record the damage found in the cache")

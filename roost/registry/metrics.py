"""Queries over ``metric_samples``: add what the sampler took, read an instance's
samples, sum up usage over a window, and merge and drop old samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select

from roost.domain.metrics import METRICS, Sample, merge
from roost.registry.tables import instances, metric_samples

COMPACT_INSTANCES = 50  # merged per compaction step, to keep each transaction short


@dataclass(frozen=True)
class Taken:
    """One instance's sample, as the sampler hands it over."""

    instance_id: str
    sample: Sample
    scraped: Mapping[str, float] | None = None


def add_samples(conn: Connection, taken: Sequence[Taken]) -> int:
    """Store raw samples; those of instances gone meanwhile are skipped. How many."""
    if not taken:
        return 0
    ids = sorted({t.instance_id for t in taken})
    # the instance rows first, in one order, as a delete cascading here takes them
    pks = {row.instance_id: row.pk for row in conn.execute(_INSTANCE_PKS, {"b_ids": ids})}
    rows = [_row(pks[t.instance_id], t, 0) for t in taken if t.instance_id in pks]
    if rows:
        conn.execute(insert(metric_samples), rows)
    return len(rows)


def _row(instance_pk: int, taken: Taken, step: int) -> dict[str, Any]:
    sample = taken.sample
    row: dict[str, Any] = {name: sample.values.get(name) for name in METRICS}
    row.update(
        instance_pk=instance_pk,
        t=sample.t,
        span=sample.span,
        step=step,
        scraped=dict(taken.scraped) if taken.scraped else None,
    )
    return row


_INSTANCE_PKS = (
    select(instances.c.instance_id, instances.c.pk)
    .where(instances.c.instance_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(instances.c.pk)
    .with_for_update(read=True, key_share=True)
)


def samples_of(conn: Connection, instance_pk: int, since: float) -> list[Sample]:
    """The instance's samples from ``since`` on, oldest first; scraped values among
    the others."""
    query = (
        select(metric_samples)
        .where((metric_samples.c.instance_pk == instance_pk) & (metric_samples.c.t >= since))
        .order_by(metric_samples.c.t)
    )
    found = []
    for row in conn.execute(query).mappings():
        values = {name: row[name] for name in METRICS if row[name] is not None}
        values.update(row["scraped"] or {})
        found.append(Sample(row["t"], row["span"], values))
    return found


@dataclass(frozen=True)
class UsageRow:
    instance_pk: int
    covered_s: float  # what the samples cover: the time the instance was active
    running_s: float  # of which with every service running (``up``)
    restarts: int
    cache_ops: int
    health_checks: int
    health_failures: int
    cpu_percent_avg: float | None
    cpu_percent_max: float | None
    memory_bytes_avg: float | None
    memory_bytes_max: float | None


def usage_since(conn: Connection, since: float) -> list[UsageRow]:
    """Per instance with samples from ``since`` on: sums of what happened, averages and
    peaks of what was used."""
    c = metric_samples.c
    query = (
        select(
            c.instance_pk,
            func.sum(c.span),
            func.sum(case((c.up > 0, c.span), else_=0.0)),
            func.coalesce(func.sum(c.restarts), 0),
            func.coalesce(func.sum(c.cache_ops), 0),
            func.coalesce(func.sum(c.health_checks), 0),
            func.coalesce(func.sum(c.health_failures), 0),
            func.avg(c.cpu_percent),
            func.max(c.cpu_percent),
            func.avg(c.memory_bytes),
            func.max(c.memory_bytes),
        )
        .where(c.t >= since)
        .group_by(c.instance_pk)
    )
    return [
        UsageRow(
            int(row[0]),
            float(row[1] or 0),
            float(row[2] or 0),
            *(int(value) for value in row[3:7]),
            *(None if value is None else float(value) for value in row[7:11]),
        )
        for row in conn.execute(query)
    ]


def drop_before(conn: Connection, cutoff: float) -> int:
    """Drop every sample that starts before ``cutoff`` (the retention)."""
    return conn.execute(delete(metric_samples).where(metric_samples.c.t < cutoff)).rowcount


def merge_before(conn: Connection, cutoff: float, bucket_s: int) -> int:
    """Merge the raw samples that start before ``cutoff`` (aligned down to a bucket)
    into one sample per bucket, for up to :data:`COMPACT_INSTANCES` instances; how many
    raw samples were merged (0: nothing is left to merge)."""
    c = metric_samples.c
    aligned = cutoff // bucket_s * bucket_s
    older = (c.step == 0) & (c.t < aligned)
    chosen = [
        pk
        for (pk,) in conn.execute(
            select(c.instance_pk).where(older).distinct().limit(COMPACT_INSTANCES)
        )
    ]
    if not chosen:
        return 0
    which = and_(older, c.instance_pk.in_(chosen))
    by_instance: dict[int, list[tuple[Sample, dict[str, float]]]] = {}
    for row in conn.execute(select(metric_samples).where(which).order_by(c.t)).mappings():
        values = {name: row[name] for name in METRICS if row[name] is not None}
        scraped = row["scraped"] or {}
        by_instance.setdefault(row["instance_pk"], []).append(
            (Sample(row["t"], row["span"], {**values, **scraped}), scraped)
        )
    merged_rows: list[dict[str, Any]] = []
    for instance_pk, found in by_instance.items():
        scraped_names = {name for _, scraped in found for name in scraped}
        for sample in merge([sample for sample, _ in found], bucket_s):
            merged_row = _row(instance_pk, Taken("", sample), bucket_s)
            scraped = {k: v for k, v in sample.values.items() if k in scraped_names}
            merged_row["scraped"] = scraped or None
            merged_rows.append(merged_row)
    merged = conn.execute(delete(metric_samples).where(which)).rowcount
    if merged_rows:
        conn.execute(insert(metric_samples), merged_rows)
    return merged

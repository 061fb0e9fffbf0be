"""The records of the embedded cache's log, and how a log is read back (pure: bytes in,
records and damage out; nothing here opens a file).

A record is a 32-byte header, then the namespace, the key and the value::

    magic | head crc | names crc | value crc | op | ns len | key len | value len | expiry ms
      4        4          4           4        1      1        2          4          8

The head crc covers the 24 bytes after it, so a header is trusted (its lengths, its other
crcs) on its own; the names crc covers namespace and key, the value crc the value. The
magic lets a reader find the next record after damage (RocksDB's and Redis' logs let a
damaged record end the log; here it costs only what is damaged). :func:`scan` tells
apart an incomplete record at the very end (a write cut short by a crash: expected) from
damage anywhere (a flipped bit, garbage): every good record before and after damage is
read, and what was lost is named as precisely as the headers allow.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

MAGIC = b"RCL\x02"
HEADER = struct.Struct("<4sIIIBBHIq")
FIELDS = struct.Struct("<IIBBHIq")  # what the head crc covers: the header after it
PUT, DELETE, DROP = 1, 2, 3
OPS = (PUT, DELETE, DROP)

# The log of roost before damage could be told apart: crc32 of the rest | op | namespace
# length | key length | value length | expiry. Read once and rewritten in this format.
LEGACY_HEADER = struct.Struct("<IBBHIq")


def encode(op: int, namespace: bytes, key: bytes, value: bytes, expires_ms: int) -> bytes:
    fields = FIELDS.pack(
        zlib.crc32(key, zlib.crc32(namespace)),
        zlib.crc32(value),
        op,
        len(namespace),
        len(key),
        len(value),
        expires_ms,
    )
    head = zlib.crc32(fields).to_bytes(4, "little")
    return b"".join((MAGIC, head, fields, namespace, key, value))


def value_offset(namespace: bytes, key: bytes) -> int:
    """Where a record's value starts, from the record's start."""
    return HEADER.size + len(namespace) + len(key)


class RecordDamaged(ValueError):
    """A record read back does not match what was written."""


def verify(record: bytes, namespace: bytes, key: bytes) -> bytes:
    """The value of ``record`` (a whole record read back from the log) if it is the
    record of ``namespace``/``key`` and nothing in it changed; else ``RecordDamaged``."""
    if len(record) < HEADER.size:
        raise RecordDamaged("the record is cut short")
    magic, head, names_crc, value_crc, _, ns_len, key_len, value_len, _ = HEADER.unpack_from(record)
    names_end = HEADER.size + ns_len + key_len
    if magic != MAGIC or zlib.crc32(record[8 : HEADER.size]) != head:
        raise RecordDamaged("the record's header is damaged")
    if record[HEADER.size : names_end] != namespace + key or names_end + value_len != len(record):
        raise RecordDamaged("the record is not this key's")
    value = record[names_end:]
    if zlib.crc32(value) != value_crc or zlib.crc32(key, zlib.crc32(namespace)) != names_crc:
        raise RecordDamaged("the value is damaged")
    return value


@dataclass
class Damage:
    """Bytes ``start``..``end`` of the log could not be read as the records they were.

    ``records`` is how many records the range held as far as can be told (each record
    start the range still shows counts; at least one). ``keys`` names the namespace and
    key of every damaged record whose header and names survived; ``unknown`` counts the
    ones whose names were lost with them."""

    start: int
    end: int
    records: int = 1
    keys: list[tuple[str, str]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return self.end - self.start

    @property
    def unknown(self) -> int:
        return max(0, self.records - len(self.keys))


@dataclass(frozen=True)
class Torn:
    """An incomplete record at the very end, from ``start``: a write a crash cut short."""

    start: int


# (op, namespace, key, key length in bytes, value offset, value length, expiry ms)
Record = tuple[int, str, str, int, int, int, int]
Log = bytes | mmap.mmap


def scan(data: Log) -> Iterator[Record | Damage | Torn]:
    """Every record of ``data`` in order, with a :class:`Damage` for each damaged range
    and a :class:`Torn` last if the log ends in an incomplete record. (Iterate to the end:
    the generator holds a view of ``data`` until then.)"""
    with memoryview(data) as view:
        yield from _scan(data, view, len(data))


def _scan(data: Log, log: memoryview, size: int) -> Iterator[Record | Damage | Torn]:
    unpack = HEADER.unpack_from
    crc32 = zlib.crc32
    header_size = HEADER.size
    namespaces: dict[bytes, str] = {}  # one str per namespace, not one per record
    position = 0
    while position < size:
        if position + header_size <= size:
            magic, head, names_crc, value_crc, op, ns_len, key_len, value_len, expires = unpack(
                log, position
            )
            names_at = position + header_size
            value_at = names_at + ns_len + key_len
            end = value_at + value_len
            if (
                magic == MAGIC
                and end <= size
                and crc32(log[position + 8 : names_at]) == head
                and op in OPS
            ):
                if crc32(log[names_at:value_at]) == names_crc:  # the names lie side by side
                    ns = data[names_at : names_at + ns_len]
                    key_bytes = data[names_at + ns_len : value_at]
                    namespace = namespaces.get(ns)
                    if namespace is None:
                        namespace = namespaces[ns] = ns.decode("utf-8", "replace")
                    key = key_bytes.decode("utf-8", "replace")
                    if crc32(log[value_at:end]) == value_crc:
                        yield (op, namespace, key, key_len, value_at, value_len, expires)
                    else:
                        yield Damage(position, end, 1, [(namespace, key)])
                else:
                    yield Damage(position, end)
                position = end
                continue
        following = _next_record(data, log, position + 1, size)
        if following is None:
            if _incomplete(log, position, size):
                yield Torn(position)
            else:
                yield _damage(data, log, position, size)
            return
        yield _damage(data, log, position, following)
        position = following


def _decoded(names: memoryview, ns_len: int) -> tuple[str, str]:
    return (
        bytes(names[:ns_len]).decode("utf-8", "replace"),
        bytes(names[ns_len:]).decode("utf-8", "replace"),
    )


def _header_at(log: memoryview, position: int, size: int) -> int | None:
    """The end of the record at ``position`` if its header is whole and intact."""
    if position + HEADER.size > size:
        return None
    magic, head, _, _, op, ns_len, key_len, value_len, _ = HEADER.unpack_from(log, position)
    if (
        magic != MAGIC
        or op not in OPS
        or zlib.crc32(log[position + 8 : position + HEADER.size]) != head
    ):
        return None
    end: int = position + HEADER.size + ns_len + key_len + value_len
    return end


def _next_record(data: Log, log: memoryview, start: int, size: int) -> int | None:
    """The first position from ``start`` where an intact header of a record that ends
    within the log begins."""
    position = start
    while True:
        position = data.find(MAGIC, position, size)
        if position < 0:
            return None
        end = _header_at(log, position, size)
        if end is not None and end <= size:
            return position
        position += 1


def _incomplete(log: memoryview, position: int, size: int) -> bool:
    """Whether the bytes from ``position`` to the end are what a crash leaves of a write:
    the start of a record whose header is intact and says it ends past the end (or is
    itself cut short), or zeros (space the file system gave and nothing filled)."""
    rest = bytes(log[position:size])
    if not rest.strip(b"\x00"):
        return True
    if len(rest) < HEADER.size:
        return rest[: len(MAGIC)] == MAGIC[: len(rest)]
    end = _header_at(log, position, size)
    return end is not None and end > size


def _damage(data: Log, log: memoryview, start: int, end: int) -> Damage:
    """What can be told of the records in a damaged range: how many record starts it
    still shows, and the names of those whose header and names are intact."""
    damage = Damage(start, end, 0)
    position = start
    while (position := data.find(MAGIC, position, end)) >= 0:
        damage.records += 1
        record_end = _header_at(log, position, end)
        if record_end is not None:
            _, _, names_crc, _, _, ns_len, key_len, _, _ = HEADER.unpack_from(log, position)
            names = log[position + HEADER.size : position + HEADER.size + ns_len + key_len]
            if zlib.crc32(names) == names_crc:
                damage.keys.append(_decoded(names, ns_len))
        position += 1
    if bytes(log[start : start + len(MAGIC)]) != MAGIC:
        damage.records += 1  # the first record, its magic damaged too (or garbage)
    return damage


def earlier_format(log: Log) -> bool:
    """Whether ``log`` is in the earlier format: it does not start with a record of this
    one, and its first record checks as one of that format. (A log of this format whose
    first bytes are damaged is not mistaken for it: its first record would not check.)"""
    if len(log) < LEGACY_HEADER.size or log[: len(MAGIC)] == MAGIC:
        return False
    crc, op, ns_len, key_len, value_len, _ = LEGACY_HEADER.unpack_from(log, 0)
    end = LEGACY_HEADER.size + ns_len + key_len + value_len
    return op in OPS and end <= len(log) and zlib.crc32(log[4:end]) == crc


def legacy(log: Log) -> tuple[list[bytes], int]:
    """The records of a log in the earlier format, re-encoded, and where they end (a
    record that does not check ends it, as that format could tell no better)."""
    size = len(log)
    records = []
    position = 0
    while position + LEGACY_HEADER.size <= size:
        crc, op, ns_len, key_len, value_len, expires = LEGACY_HEADER.unpack_from(log, position)
        at = position + LEGACY_HEADER.size
        end = at + ns_len + key_len + value_len
        if end > size or zlib.crc32(log[position + 4 : end]) != crc or op not in OPS:
            break
        namespace = bytes(log[at : at + ns_len])
        key = bytes(log[at + ns_len : at + ns_len + key_len])
        records.append(encode(op, namespace, key, bytes(log[at + ns_len + key_len : end]), expires))
        position = end
    return records, position

"""Instance and app identifiers: validated here, and only here.

An id is safe in paths, systemd unit names, compose project names and cache key
encodings: lowercase letters, digits, ``_`` and ``-``, starting with a letter or digit,
at most 63 characters. An id that is a plain integer N (no leading zeros) names
ordinal N of its app, as seed 004's ``instance N`` does.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from roost.domain.errors import InvalidInput
from roost.domain.names import ID, INTEGER, PRODUCT_ID

ID_PATTERN = ID.pattern
MAX_ORDINAL = 2**31 - 1


def validate_instance_id(value: str) -> str:
    """Return ``value`` if it is a valid instance id, else raise ``INVALID_INSTANCE_ID``."""
    if not ID.matches(value):
        raise InvalidInput(
            f"invalid instance id {value!r}: use 1-63 lowercase letters, digits, '_' or '-',"
            " starting with a letter or digit",
            code="INVALID_INSTANCE_ID",
        )
    ordinal = ordinal_of_id(value)
    if ordinal is not None and ordinal > MAX_ORDINAL:
        raise InvalidInput(
            f"invalid instance id {value!r}: a numeric id is an ordinal and must be at most"
            f" {MAX_ORDINAL}",
            code="INVALID_INSTANCE_ID",
        )
    return value


def validate_app_name(value: str, *, code: str = "INVALID_APP_NAME") -> str:
    """App names follow the instance id rule, so ``<app>-<id>`` stays a safe project name."""
    if not ID.matches(value):
        raise InvalidInput(
            f"invalid app name {value!r}: use 1-63 lowercase letters, digits, '_' or '-',"
            " starting with a letter or digit",
            code=code,
        )
    return value


def new_instance_id() -> str:
    """A fresh UUID4 in its canonical lowercase form (which matches ``ID_PATTERN``)."""
    return str(uuid.uuid4())


def ordinal_of_id(instance_id: str) -> int | None:
    """The ordinal an integer id asks for, or None for any other id."""
    if INTEGER.matches(instance_id):
        return int(instance_id)
    return None


def validate_product_id(value: str) -> str:
    """Seed 000's product ids as LCC gives them: case-sensitive letters, digits, ``.``,
    ``_`` and ``-``, at most 128 characters."""
    if not PRODUCT_ID.matches(value):
        raise InvalidInput(
            f"invalid product id {value!r}: use 1-128 letters, digits, '.', '_' or '-'",
            code="INVALID_PRODUCT_ID",
        )
    return value


def product_app_name(product_id: str) -> str:
    """The app a product's registrations are instances of: the product id itself when it
    is a valid app name, else a safe slug of it with a hash that keeps products apart
    (``ProductA`` and ``producta`` are two products)."""
    if ID.matches(product_id):
        return product_id
    slug = re.sub(r"[^a-z0-9_-]+", "-", product_id.lower()).strip("-_")[:50] or "product"
    return f"{slug}-{hashlib.sha256(product_id.encode()).hexdigest()[:8]}"

"""API tokens: made, shown once, kept as a hash, checked in constant time.

A token reads ``roost_<id>_<secret>``: the id finds its row, the secret is compared by
its SHA-256 (only the hash is stored). A token given from outside in another form
(``ROOST_BOOTSTRAP_TOKEN``) is found by a hash of its whole text instead.

An instance's own data-plane token (``ROOST_CACHE_TOKEN``) is not stored at all: it is
an HMAC of the instance id under the home's secret key, so it is checked by computing
it again, and it changes when the key is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "roost_"
CACHE_PREFIX = "roostc_"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """A fresh token: (the token, its id, the hash to store)."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}{token_id}_{secret}", token_id, _digest(secret)


def given_token(text: str) -> tuple[str, str]:
    """A token chosen outside roost: (its id, the hash to store)."""
    return f"given-{_digest(text)[:16]}", _digest(text)


def identify(text: str) -> tuple[str, str]:
    """What a presented token claims: (the id to look up, the secret to compare)."""
    if text.startswith(PREFIX):
        token_id, _, secret = text[len(PREFIX) :].partition("_")
        if token_id and secret:
            return token_id, secret
    return given_token(text)[0], text


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(_digest(secret), stored_hash)


def cache_token(keys: Sequence[bytes], instance_id: str) -> str:
    """The instance's data-plane token under the home's first (current) key."""
    return f"{CACHE_PREFIX}{instance_id}_{_mac(keys[0], instance_id)}"


def cache_token_instance(keys: Sequence[bytes], text: str) -> str | None:
    """The instance a data-plane token is for, if it is one (under any current key)."""
    if not text.startswith(CACHE_PREFIX):
        return None
    instance_id, _, mac = text[len(CACHE_PREFIX) :].rpartition("_")
    if instance_id and any(hmac.compare_digest(mac, _mac(key, instance_id)) for key in keys):
        return instance_id
    return None


def _mac(key: bytes, instance_id: str) -> str:
    return hmac.new(key, b"roost-cache-token:" + instance_id.encode(), hashlib.sha256).hexdigest()

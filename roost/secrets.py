"""Encryption at rest for secrets and private keys (Fernet, keyed by the home).

``ROOST_SECRET_KEY`` may hold several comma-separated keys: the first encrypts, all of
them decrypt (MultiFernet), so a key can be rotated without losing anything.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from roost.domain.errors import InvalidInput, RoostError


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self.keys = list(keys)
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise InvalidInput(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)",
                code="INVALID_SECRET_KEY",
            ) from exc

    @classmethod
    def from_setting(cls, setting: str | None, fallback: list[bytes]) -> SecretBox:
        if setting:
            return cls([part.strip().encode() for part in setting.split(",") if part.strip()])
        return cls(fallback)

    def encrypt(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode("ascii")

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted again with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise RoostError(
                "stored secret cannot be decrypted with the current key", code="DECRYPT_FAILED"
            ) from exc

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise RoostError(
                "stored secret cannot be decrypted with the current key", code="DECRYPT_FAILED"
            ) from exc

"""Encryption at rest for secrets and private keys (Fernet, keyed by the home).

``ROOST_SECRET_KEY`` may hold several comma-separated keys: the first encrypts, all of
them decrypt (MultiFernet), so a key can be rotated without losing anything.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from roost.domain.errors import InvalidInput, RoostError


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        self.use(keys)

    def use(self, keys: list[bytes]) -> None:
        """From now on, encrypt with the first key and decrypt with any (a rotation)."""
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        try:
            fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise InvalidInput(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)",
                code="INVALID_SECRET_KEY",
            ) from exc
        self.keys, self._fernet = list(keys), fernet

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


SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def passphrase_box(
    passphrase: str, kdf: dict[str, object] | None = None
) -> tuple[Fernet, dict[str, object]]:
    """A Fernet key derived from a passphrase (scrypt), and the parameters that derive it
    again; with ``kdf`` (from an earlier call), the same key. Slow on purpose (~0.1 s)."""
    if not passphrase:
        raise InvalidInput("the passphrase must not be empty", code="PASSPHRASE_REQUIRED")
    if kdf is None:
        kdf = {
            "name": "scrypt",
            "salt": base64.urlsafe_b64encode(os.urandom(16)).decode("ascii"),
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
        }
    try:
        if kdf.get("name") != "scrypt":
            raise ValueError("unknown kdf")
        n, r, p = (int(str(kdf[key])) for key in ("n", "r", "p"))
        if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ValueError("kdf parameters out of range")
        salt = base64.urlsafe_b64decode(str(kdf["salt"]))
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    except (KeyError, ValueError, TypeError, binascii.Error):
        raise InvalidInput(
            "secrets_kdf must be {name: scrypt, salt, n, r, p} as roost writes it",
            code="INVALID_IMPORT",
        ) from None
    return Fernet(base64.urlsafe_b64encode(key)), kdf


def open_sealed(box: Fernet, token: str) -> bytes:
    try:
        return box.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise InvalidInput(
            "the passphrase does not open the exported secrets", code="BAD_PASSPHRASE"
        ) from None

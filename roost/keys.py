"""Per-instance RSA key pairs (seed 000's ``instanceKeys``): pure cryptography, no storage."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    public_pem: str
    private_pem: bytes


def generate_key_pair() -> KeyPair:
    """An RSA 2048 pair: SubjectPublicKeyInfo PEM public key, PKCS#8 PEM private key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(public_pem=public_pem.decode("ascii"), private_pem=private_pem)

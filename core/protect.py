"""Protection of ID numbers: a keyed hash to find duplicates, AES-GCM to keep the value."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Protector:
    def __init__(self, key: bytes) -> None:
        self._hash_key = hmac.new(key, b"id-number-hash", hashlib.sha256).digest()
        self._seal_key = hmac.new(key, b"id-number-seal", hashlib.sha256).digest()
        self.code_key = hmac.new(key, b"one-time-code", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "Protector(<keys hidden>)"

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def seal(self, value: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._seal_key).encrypt(nonce, value.encode(), b"id-number")

    def open(self, sealed: bytes) -> str:
        return AESGCM(self._seal_key).decrypt(sealed[:12], sealed[12:], b"id-number").decode()

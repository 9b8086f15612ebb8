"""One-time code rules, free of storage: generation, keyed hashing and the limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
MAX_WRONG_PER_CODE = 5
MAX_WRONG_PER_HOUR = 10
MIN_RESEND_INTERVAL = timedelta(minutes=1)
MAX_CODES_PER_HOUR = 5


def generate_code() -> str:
    """Six digits from the operating system's cryptographic source."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def hash_code(key: bytes, code: str, *, binding: str) -> str:
    """Keyed hash of the code and what it is bound to, so a stolen table reveals nothing."""
    message = f"{binding}\x1f{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, code: str, *, binding: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_code(key, code, binding=binding), stored_hash)


def looks_like_code(text: str) -> str | None:
    """Extract six digits from what a user typed ('１２３ ４５６' included), else None."""
    import unicodedata

    digits = "".join(c for c in unicodedata.normalize("NFKC", text) if not c.isspace())
    digits = digits.replace("-", "")
    return digits if len(digits) == CODE_LENGTH and digits.isdigit() else None


class CodeOutcome(StrEnum):
    OK = "ok"
    ALREADY_CONFIRMED = "already_confirmed"
    WRONG = "wrong"
    EXPIRED = "expired"
    DEAD = "dead"
    LOCKED = "locked"
    SUPERSEDED = "superseded"
    NO_CODE = "no_code"


@dataclass(frozen=True, slots=True)
class CodeResult:
    outcome: CodeOutcome
    attempts_left: int = 0
    retry_after_s: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome in (CodeOutcome.OK, CodeOutcome.ALREADY_CONFIRMED)

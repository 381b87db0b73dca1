"""Secrets handed to clients (session cookies, API tokens): random, and only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "spm_"  # noqa: S105 - a recognisable prefix, not a secret


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def new_api_token() -> str:
    """An API token; its prefix makes it recognisable to secret scanners."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored for a secret: SHA-256 (the secret has 256 bits of entropy, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())

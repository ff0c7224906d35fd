"""Secrets: password hashes (argon2 through pwdlib), signed tokens (JWT through PyJWT), and
the random device tokens, Open311 keys and one-time passwords with their digests.

Nothing here touches the database or the request; :mod:`service.auth.service` does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import jwt
from pwdlib import PasswordHash

__all__ = [
    "DEVICE_PREFIX",
    "KEY_PREFIX",
    "TokenClaims",
    "csrf_token",
    "decode",
    "digest",
    "encode",
    "hash_password",
    "new_device_token",
    "new_open311_key",
    "new_password",
    "new_session_id",
    "verify_password",
]

DEVICE_PREFIX: Final = "jdd_"
KEY_PREFIX: Final = "jdk_"
_ALGORITHM: Final = "HS256"
_HASHER: Final = PasswordHash.recommended()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password and the timing does not say which names exist.
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_urlsafe(16))

TokenKind = Literal["access", "refresh", "cookie"]


@dataclass(frozen=True)
class TokenClaims:
    """What a signed token says: the user, the sign-in session, the token version."""

    user_id: int
    session_id: str
    token_version: int
    kind: TokenKind
    expires_at: datetime


def hash_password(password: str) -> str:
    """An argon2 hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; with no hash (no such user) it still spends the time."""
    if password_hash is None:
        _HASHER.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_HASHER.verify(password, password_hash))
    except Exception:  # a malformed stored hash is a mismatch, never a 500
        return False


def new_password() -> str:
    """A one-time password: 12 characters from an alphabet without look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def new_session_id() -> str:
    """A random sign-in session id."""
    return secrets.token_urlsafe(24)


def new_device_token() -> str:
    """A unit's device token (shown once; only its digest is kept)."""
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def new_open311_key() -> str:
    """An Open311 client key (shown once; only its digest is kept)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 hex digest kept for a random token or key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def encode(claims: TokenClaims, *, key: str, issued_at: datetime) -> str:
    """A signed JWT carrying ``claims``."""
    payload: dict[str, Any] = {
        "sub": str(claims.user_id),
        "sid": claims.session_id,
        "tv": claims.token_version,
        "typ": claims.kind,
        "iat": issued_at,
        "exp": claims.expires_at,
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def decode(token: str, *, key: str, kinds: tuple[TokenKind, ...]) -> TokenClaims | None:
    """The claims of a valid, unexpired token of one of ``kinds``; None for anything else."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "sid", "tv", "typ", "exp"]},
        )
        kind = payload["typ"]
        if kind not in kinds:
            return None
        return TokenClaims(
            user_id=int(payload["sub"]),
            session_id=str(payload["sid"]),
            token_version=int(payload["tv"]),
            kind=kind,
            expires_at=datetime.fromtimestamp(int(payload["exp"])).astimezone(),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError):
        return None


def csrf_token(session_id: str, *, key: str) -> str:
    """The CSRF token of a page session: derived from it, so nothing more is stored."""
    mac = hmac.new(key.encode("utf-8"), f"csrf:{session_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]

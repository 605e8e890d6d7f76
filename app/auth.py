"""Admin tokens: stored hashed, compared in constant time.

A stored hash reads `scrypt$<n>$<r>$<p>$<salt hex>$<digest hex>` (what `hash_token`
produces and `ess-atlas hash-token` prints) or `sha256$<digest hex>` (acceptable for
long random tokens, which need no salt).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from app.errors import Unauthorized

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_TOKEN_LENGTH = 16


class TokenHashError(ValueError):
    """A stored token hash that cannot be read."""


@dataclass(frozen=True)
class TokenHash:
    """A parsed stored hash: its scheme, scrypt cost parameters, salt and digest."""

    scheme: str
    digest: bytes
    salt: bytes = b""
    cost: tuple[int, int, int] = (SCRYPT_N, SCRYPT_R, SCRYPT_P)

    def digest_of(self, token: str) -> bytes:
        """The digest `token` has under this scheme and salt."""
        if self.scheme == "sha256":
            return hashlib.sha256(token.encode("utf-8")).digest()
        n, r, p = self.cost
        return hashlib.scrypt(token.encode("utf-8"), salt=self.salt, n=n, r=r, p=p, dklen=32)


def _parse_scrypt(rest: str) -> TokenHash:
    """The fields after `scrypt$`."""
    n, r, p, salt, digest = rest.split("$")
    return TokenHash("scrypt", bytes.fromhex(digest), bytes.fromhex(salt), (int(n), int(r), int(p)))


def parse_token_hash(stored: str) -> TokenHash:
    """Read a stored hash; raise TokenHashError when it is not in a known format."""
    scheme, _, rest = stored.strip().partition("$")
    try:
        parsed = TokenHash("sha256", bytes.fromhex(rest)) if scheme == "sha256" else None
        if scheme == "scrypt":
            parsed = _parse_scrypt(rest)
    except ValueError:
        parsed = None
    if parsed is None or len(parsed.digest) != 32:
        raise TokenHashError(
            "admin token hash must read scrypt$n$r$p$salt$digest or sha256$digest "
            "(`ess-atlas hash-token` prints one)"
        )
    return parsed


def hash_token(token: str) -> str:
    """The scrypt hash of a token, with a fresh random salt, in the stored format."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"an admin token needs at least {MIN_TOKEN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = TokenHash("scrypt", b"", salt).digest_of(token)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_token(token: str, stored: str) -> bool:
    """True when `token` matches the stored hash (constant-time comparison)."""
    try:
        parsed = parse_token_hash(stored)
    except TokenHashError:
        return False
    return hmac.compare_digest(parsed.digest_of(token), parsed.digest)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(authorization: str | None, stored_hash: str | None) -> None:
    """Raise Unauthorized unless the Authorization header carries the admin token."""
    if not stored_hash:
        raise Unauthorized("admin routes are disabled: no admin token is configured")
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("missing admin token: send 'Authorization: Bearer <token>'")
    if not verify_token(token, stored_hash):
        raise Unauthorized("wrong admin token")

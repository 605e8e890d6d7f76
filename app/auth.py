"""Admin tokens: stored hashed, compared in constant time, wrong ones refused cheaply.

A stored hash reads `sha256$<digest hex>` (what `ess-atlas hash-token --generate` prints
for the 256-bit random token it makes: such a token needs no salt nor slow hash) or
`scrypt$<n>$<r>$<p>$<salt hex>$<digest hex>` (for a token a person chose). Checking a
scrypt hash costs about 37 ms of CPU and 16 MiB, so it runs in a pool of its own of
MAX_SLOW_CHECKS threads (few threads also keep few malloc arenas holding those 16 MiB),
and only until one token passes it: that token's HMAC under a key drawn at start is
then kept, and every later token, right or wrong, is answered by one HMAC. Failed
authentications are limited per client (app.ratelimit): past the burst, a client
gets 429 with Retry-After before any hash is computed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.errors import TooManyRequests, Unauthorized
from app.ratelimit import RateLimiter

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_TOKEN_LENGTH = 16
MAX_SLOW_CHECKS = 2


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


def _check_length(token: str) -> None:
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"an admin token needs at least {MIN_TOKEN_LENGTH} characters")


def hash_token(token: str) -> str:
    """The scrypt hash of a token, with a fresh random salt, in the stored format."""
    _check_length(token)
    salt = secrets.token_bytes(16)
    digest = TokenHash("scrypt", b"", salt).digest_of(token)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def hash_random_token(token: str) -> str:
    """The sha256 hash of a high-entropy random token, in the stored format."""
    _check_length(token)
    return "sha256$" + TokenHash("sha256", b"").digest_of(token).hex()


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


class TokenVerifier:
    """Checks tokens against one stored hash, running a slow hash only until one passes."""

    def __init__(self, stored: str) -> None:
        self._hash = parse_token_hash(stored)
        self._key = secrets.token_bytes(32)
        self._verified: bytes | None = None

    def _mac(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    def quick_verdict(self, token: str) -> bool | None:
        """True or False when a fast digest decides; None when only the slow hash can."""
        if self._hash.scheme == "sha256":
            return hmac.compare_digest(self._hash.digest_of(token), self._hash.digest)
        if self._verified is None:
            return None
        return hmac.compare_digest(self._mac(token), self._verified)

    def slow_verdict(self, token: str) -> bool:
        """Run the stored scheme's hash; remember the token's HMAC when it matches."""
        matches = hmac.compare_digest(self._hash.digest_of(token), self._hash.digest)
        if matches:
            self._verified = self._mac(token)
        return matches


def too_many_failures(wait_seconds: float) -> TooManyRequests:
    """The 429 answered to a client past its failed authentications, saying when to retry."""
    return TooManyRequests(
        "too many failed admin authentications from this client; see Retry-After",
        headers={"Retry-After": str(max(1, math.ceil(wait_seconds)))},
    )


class AdminGate:
    """The admin check of one application: Bearer token, failures limited per client."""

    def __init__(self, stored_hash: str | None, failures: RateLimiter) -> None:
        self._verifier = TokenVerifier(stored_hash) if stored_hash else None
        self._failures = failures
        self._slow_checks = ThreadPoolExecutor(MAX_SLOW_CHECKS, thread_name_prefix="scrypt")

    def refusal(self, client: str) -> TooManyRequests | None:
        """The 429 for a client past its failed authentications, or None."""
        wait = self._failures.wait(client)
        return too_many_failures(wait) if wait > 0 else None

    async def check(self, authorization: str | None, client: str) -> None:
        """Return when the header carries the admin token; else raise 401, or 429 when limited."""
        refusal = self.refusal(client)
        if refusal is not None:
            raise refusal
        problem = await self._problem(authorization)
        if problem is not None:
            self._failures.take(client)
            raise Unauthorized(problem)

    async def _problem(self, authorization: str | None) -> str | None:
        """What is wrong with the header, or None when it carries the admin token."""
        if self._verifier is None:
            return "admin routes are disabled: no admin token is configured"
        token = bearer_token(authorization)
        if token is None:
            return "missing admin token: send 'Authorization: Bearer <token>'"
        verdict = self._verifier.quick_verdict(token)
        if verdict is None:
            verdict = await asyncio.get_running_loop().run_in_executor(
                self._slow_checks, self._verifier.slow_verdict, token)
        return None if verdict else "wrong admin token"

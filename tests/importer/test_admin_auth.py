"""Admin tokens: stored hashed only, compared in constant time, read from a Bearer header."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import anyio
import pytest
from pydantic import ValidationError

from app.auth import (
    MAX_SLOW_CHECKS,
    AdminGate,
    TokenVerifier,
    bearer_token,
    hash_random_token,
    hash_token,
    parse_token_hash,
    verify_token,
)
from app.config import Settings
from app.errors import AtlasError, TooManyRequests, Unauthorized
from app.ratelimit import ClientRateLimiter

TOKEN = "correct-horse-battery-staple"  # noqa: S105  (a test token)


def test_a_hashed_token_verifies_and_another_does_not() -> None:
    stored = hash_token(TOKEN)
    assert stored.startswith("scrypt$16384$8$1$")
    assert (verify_token(TOKEN, stored), verify_token(TOKEN + "!", stored)) == (True, False)


def test_two_hashes_of_one_token_differ_by_their_salt() -> None:
    assert hash_token(TOKEN) != hash_token(TOKEN)


def test_a_sha256_hash_is_accepted_for_long_random_tokens() -> None:
    stored = "sha256$" + hashlib.sha256(TOKEN.encode()).hexdigest()
    assert (verify_token(TOKEN, stored), verify_token("other-token-value", stored)) == (True, False)


@pytest.mark.parametrize("stored", ["", "md5$abc", "sha256$zz", "scrypt$1$2$3$zz$00",
                                    "sha256$" + "00" * 16])
def test_an_unreadable_stored_hash_matches_nothing(stored: str) -> None:
    assert verify_token(TOKEN, stored) is False


def test_short_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        hash_token("short")


def test_a_plain_admin_token_in_the_settings_is_hashed_and_forgotten(
    make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(admin_token=TOKEN)
    assert settings.admin_token is None
    assert settings.admin_token_hash is not None
    assert settings.admin_token_hash.get_secret_value() == hash_random_token(TOKEN)
    assert TOKEN not in repr(settings.model_dump())


def test_a_stored_hash_in_an_unknown_format_stops_the_settings(
    make_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(ValidationError, match="admin token hash must read"):
        make_settings(admin_token_hash="md5$0123")  # noqa: S106  (an unreadable hash)
    assert parse_token_hash(hash_token(TOKEN)).scheme == "scrypt"


@pytest.mark.parametrize(("header", "token"), [
    (f"Bearer {TOKEN}", TOKEN), (f"bearer   {TOKEN} ", TOKEN), (f"Basic {TOKEN}", None),
    ("Bearer", None), ("", None), (None, None),
])
def test_the_token_is_read_from_a_bearer_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def gate_check(gate: AdminGate, header: str | None, client: str = "10.0.0.1") -> AtlasError | None:
    """Run the gate's check; return the error it raised, or None when it let the request in."""

    async def check() -> AtlasError | None:
        try:
            await gate.check(header, client)
        except AtlasError as error:
            return error
        return None

    return anyio.run(check)


def many_failures_allowed() -> ClientRateLimiter:
    return ClientRateLimiter(rate=1.0, burst=1000)


@pytest.mark.parametrize(("header", "stored", "message"), [
    (f"Bearer {TOKEN}", None, "admin routes are disabled: no admin token is configured"),
    (None, "stored", "missing admin token: send 'Authorization: Bearer <token>'"),
    ("Bearer wrong-token-of-some-length", "stored", "wrong admin token"),
])
def test_admin_requests_without_the_right_token_are_unauthorized(
    header: str | None, stored: str | None, message: str
) -> None:
    gate = AdminGate(hash_token(TOKEN) if stored else None, many_failures_allowed())
    error = gate_check(gate, header)
    assert isinstance(error, Unauthorized)
    assert (error.status_code, error.message) == (401, message)
    assert gate_check(AdminGate(hash_token(TOKEN), many_failures_allowed()),
                      f"Bearer {TOKEN}") is None


def test_a_random_token_hash_is_decided_by_one_fast_digest() -> None:
    verifier = TokenVerifier(hash_random_token(TOKEN))
    assert hash_random_token(TOKEN) == "sha256$" + hashlib.sha256(TOKEN.encode()).hexdigest()
    assert (verifier.quick_verdict(TOKEN), verifier.quick_verdict(TOKEN + "!")) == (True, False)


def test_once_a_token_passed_scrypt_every_later_token_is_decided_without_it() -> None:
    verifier = TokenVerifier(hash_token(TOKEN))
    assert verifier.quick_verdict("wrong-token-of-some-length") is None
    assert verifier.slow_verdict("wrong-token-of-some-length") is False
    assert verifier.quick_verdict(TOKEN) is None
    assert verifier.slow_verdict(TOKEN) is True
    assert (verifier.quick_verdict(TOKEN), verifier.quick_verdict("wrong-token-of-some-length"),
            verifier.quick_verdict(TOKEN[:-1])) == (True, False, False)


def test_scrypt_runs_in_worker_threads_at_most_two_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()
    slow_verdict = TokenVerifier.slow_verdict

    def counted(self: TokenVerifier, token: str) -> bool:
        with lock:
            running.append(threading.get_ident())
            peak[0] = max(peak[0], len(running))
        try:
            return slow_verdict(self, token)
        finally:
            with lock:
                running.pop()

    monkeypatch.setattr(TokenVerifier, "slow_verdict", counted)
    gate = AdminGate(hash_token(TOKEN), many_failures_allowed())
    loop_thread: list[int] = []
    errors: list[AtlasError | None] = []

    async def one(client: int) -> None:
        try:
            await gate.check(f"Bearer wrong-token-number-{client:04d}", f"10.0.0.{client}")
        except AtlasError as error:
            errors.append(error)

    async def flood() -> None:
        loop_thread.append(threading.get_ident())
        async with anyio.create_task_group() as group:
            for client in range(8):
                group.start_soon(one, client)

    anyio.run(flood)
    assert [error.status_code for error in errors if error] == [401] * 8
    assert (peak[0], MAX_SLOW_CHECKS) == (2, 2)


def test_failures_past_the_burst_are_refused_with_429_before_any_hash() -> None:
    gate = AdminGate(hash_random_token(TOKEN), ClientRateLimiter(rate=0.1, burst=3))
    statuses = [gate_check(gate, "Bearer wrong-token-of-some-length") for _ in range(3)]
    assert [error.status_code if error else None for error in statuses] == [401, 401, 401]
    limited = gate_check(gate, f"Bearer {TOKEN}")
    assert isinstance(limited, TooManyRequests)
    assert (limited.status_code, limited.headers, limited.message) == (
        429, {"Retry-After": "10"},
        "too many failed admin authentications from this client; see Retry-After")
    assert gate_check(gate, f"Bearer {TOKEN}", client="10.0.0.2") is None

"""Admin tokens: stored hashed only, compared in constant time, read from a Bearer header."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from app.auth import bearer_token, hash_token, parse_token_hash, require_admin, verify_token
from app.config import Settings
from app.errors import Unauthorized

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
    assert verify_token(TOKEN, settings.admin_token_hash.get_secret_value())
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


@pytest.mark.parametrize(("header", "stored", "message"), [
    (f"Bearer {TOKEN}", None, "admin routes are disabled: no admin token is configured"),
    (None, "stored", "missing admin token: send 'Authorization: Bearer <token>'"),
    ("Bearer wrong-token-of-some-length", "stored", "wrong admin token"),
])
def test_admin_requests_without_the_right_token_are_unauthorized(
    header: str | None, stored: str | None, message: str
) -> None:
    stored_hash = hash_token(TOKEN) if stored else None
    with pytest.raises(Unauthorized) as caught:
        require_admin(header, stored_hash)
    assert (caught.value.status_code, caught.value.message) == (401, message)

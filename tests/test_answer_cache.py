"""AnswerCache (app/answer_cache.py): made once per tag, bounded in count and size."""

from __future__ import annotations

from collections.abc import Callable

from app.answer_cache import AnswerCache


def counting(body: bytes) -> tuple[list[int], Callable[[], bytes]]:
    made: list[int] = []

    def make() -> bytes:
        made.append(1)
        return body

    return made, make


def test_an_answer_is_made_once_per_tag() -> None:
    cache = AnswerCache()
    made, make = counting(b"{}")
    assert [cache.body("a", make) for _ in range(3)] == [b"{}"] * 3
    assert len(made) == 1
    assert cache.body("b", make) == b"{}"
    assert len(made) == 2


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = AnswerCache(max_answers=2)
    made, make = counting(b"x")
    cache.body("a", make)
    cache.body("b", make)
    cache.body("a", make)  # a is now the most recent
    cache.body("c", make)  # b goes
    assert len(cache) == 2
    cache.body("a", make)
    assert len(made) == 3
    cache.body("b", make)
    assert len(made) == 4


def test_an_answer_above_the_size_cap_is_served_but_not_kept() -> None:
    cache = AnswerCache(max_body_bytes=4)
    made, make = counting(b"12345")
    assert cache.body("big", make) == b"12345"
    assert cache.body("big", make) == b"12345"
    assert len(made) == 2
    assert len(cache) == 0

"""ESS_EMBED_ALLOWED_ORIGINS: which sites may frame /embed (CSP frame-ancestors)."""

from __future__ import annotations

import re

ANY_ORIGIN = "*"
# An origin as CSP frame-ancestors takes it: scheme://host[:port], host may start with *.
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?")


def parse_embed_origins(text: str) -> tuple[str, ...]:
    """The origins of a space- or comma-separated list, or ('*',); ValueError naming a bad one."""
    origins = tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)
    if not origins:
        raise ValueError("must be * or one or more origins such as https://example.org")
    if ANY_ORIGIN in origins:
        if len(origins) > 1:
            raise ValueError("* allows every site: list no origin beside it")
        return origins
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin such as https://example.org")
    return origins


"""The q value of an entry of an Accept or Accept-Language header (RFC 9110 §12.4.2)."""

from __future__ import annotations


def q_value(parameters: str) -> float:
    """The q of one entry's parameters (1 when absent, 0 when unreadable)."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0

"""Text normalisation for place names and postcodes, shared by the whole project."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# NFKD leaves these ligatures whole; French names use them ("Œuilly", "Lætitia").
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
# str.translate costs ~100 ns a character on non-ASCII text: run it only when it has work.
_HAS_LIGATURE = re.compile("[œŒæÆ]")
# "Paris Cedex 07", "LYON CEDEX": a routing mark of La Poste, never part of the name.
_CEDEX = re.compile(r"\bcedex\s*\d*\b")
# "Chalon s/ Saône" is the usual short form of "sur" in addresses.
_SUR_SHORTHAND = re.compile(r"\bs/\s*")
# The Unicode blocks of combining marks, which NFKD splits off accented letters.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SEPARATORS = re.compile(r"[\W_]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
# First two digits of French postcodes: départements 01–95, overseas 97x, Monaco and
# overseas collectivities 98x.
_POSTCODE = re.compile(r"(?:0[1-9]|[1-8]\d|9[0-578])\d{3}")


def fold(text: str) -> str:
    """Remove accents, casefold and collapse whitespace: the key for loose text search."""
    if not text.isascii():
        if _HAS_LIGATURE.search(text):
            text = text.translate(_LIGATURES)
        decomposed = unicodedata.normalize("NFKD", text)
        text = _COMBINING_MARKS.sub("", decomposed)
    return " ".join(text.casefold().split())


def normalize_place_name(text: str) -> str:
    """Reduce a commune name to its comparison key ("St-Étienne Cedex 2" -> "saint etienne")."""
    return _normalize_place_name_cached(text)


@lru_cache(maxsize=65536)
def _normalize_place_name_cached(text: str) -> str:
    folded = fold(text)
    if "cedex" in folded:
        folded = _CEDEX.sub(" ", folded)
    if "s/" in folded:
        folded = _SUR_SHORTHAND.sub(" sur ", folded)
    words = _SEPARATORS.sub(" ", folded).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def normalize_postcode(text: str | None) -> str | None:
    """Return the 5-digit postcode in `text`, or None when it cannot be a French postcode.

    Spreadsheets turn 01000–09999 into 4-digit numbers (sometimes "1000.0"); a 4-digit
    code not starting with 0 can only be one of those, so its leading zero is restored.
    """
    if text is None:
        return None
    compact = "".join(text.split()).removesuffix(".0")
    if not (compact.isascii() and compact.isdigit()):
        return None
    if len(compact) == 4 and not compact.startswith("0"):
        compact = "0" + compact
    return compact if _POSTCODE.fullmatch(compact) else None

"""Field checks shared by the API models and the CSV importer.

Each `clean_*` function returns the normalised value or raises ValueError with a
message a maintainer can act on.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import urlsplit

from stdnum.fr import siren, siret

from geocode.normalize import fold

_SPACES = re.compile(r"[\s\u00a0\u202f.\-]+")
_EXCEL_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?E\+\d+$", re.IGNORECASE)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9._%+\-']+@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-\u00a0]{6,25}$")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


def _identifier_digits(raw: str, label: str, length: int) -> str:
    """Strip the spaces people type and check for ASCII digits of the right length."""
    text = raw.strip()
    if _EXCEL_SCIENTIFIC.match(text):
        raise ValueError(
            f"{label} {text!r} was turned into a number in scientific notation by a "
            "spreadsheet; format the column as text and export again"
        )
    digits = _SPACES.sub("", text)
    if not _ASCII_DIGITS.match(digits):
        raise ValueError(f"{label} must contain ASCII digits only, got {raw!r}")
    if len(digits) != length:
        raise ValueError(f"{label} must have {length} digits, got {len(digits)} in {raw!r}")
    return digits


def clean_siren(raw: str) -> str:
    """Normalise a SIREN (9 digits, Luhn checksum by python-stdnum)."""
    digits = _identifier_digits(raw, "SIREN", 9)
    if not siren.is_valid(digits):
        raise ValueError(f"SIREN {digits} fails its checksum (Luhn)")
    return digits


def clean_siret(raw: str) -> str:
    """Normalise a SIRET: its SIREN and the whole number pass python-stdnum's checksums.

    stdnum knows La Poste's establishments (SIREN 356000000), numbered by a digit sum.
    """
    digits = _identifier_digits(raw, "SIRET", 14)
    if not siren.is_valid(digits[:9]):
        raise ValueError(f"SIRET {digits} starts with SIREN {digits[:9]}, which fails its "
                         "checksum (Luhn)")
    if not siret.is_valid(digits):
        raise ValueError(f"SIRET {digits} fails its checksum")
    return digits


def clean_email(raw: str) -> str:
    """Check the shape of an email address."""
    text = raw.strip()
    if not _EMAIL.match(text):
        raise ValueError(f"email {raw!r} is not an email address")
    return text


def clean_url(raw: str) -> str:
    """Check a website address; a bare domain gets https://."""
    text = raw.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or "." not in host or " " in text:
        raise ValueError(f"website {raw!r} is not an http(s) address")
    return text


def clean_phone(raw: str) -> str:
    """Check a phone number's characters and length (kept as written)."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if not _PHONE_CHARS.match(text) or not 6 <= len(digits) <= 15:
        raise ValueError(f"phone {raw!r} is not a phone number")
    return text


def clean_country(raw: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper case."""
    text = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {raw!r}")
    return text


def clean_postcode(raw: str) -> str:
    """A French postcode: five ASCII digits (a lost leading zero is restored)."""
    text = raw.strip().replace(" ", "")
    if re.fullmatch(r"[0-9]{4}", text):
        text = "0" + text
    if not re.fullmatch(r"[0-9]{5}", text):
        raise ValueError(f"postcode must have 5 digits, got {raw!r}")
    return text


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%Y")
_TRUE = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
_FALSE = frozenset({"non", "n", "no", "false", "faux", "0"})
# Every way registries and directories say open or closed (SIRENE A/F, unités légales A/C,
# RNA position A/D/S: active, dissoute, supprimée).
_STATUS_WORDS = {
    "active": ("active", "actif", "a", "ouvert", "ouverte", "open", "en activite"),
    "closed": ("closed", "ferme", "fermee", "f", "c", "cesse", "cessee", "d", "dissoute", "s",
               "supprimee", "radiee", "inactive", "inactif"),
}
_STATUS = {word: status for status, words in _STATUS_WORDS.items() for word in words}


def clean_date(raw: str) -> date:
    """A calendar date: ISO 8601 (2021-03-04) or French order (04/03/2021)."""
    text = raw.strip()[:10] if "T" in raw else raw.strip()
    for layout in _DATE_FORMATS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ValueError(f"date {raw!r} is not a date (2021-03-04 or 04/03/2021)")


def clean_flag(raw: str) -> bool:
    """Yes or no, in French or English (oui/non, true/false, 1/0, x)."""
    text = raw.strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{raw!r} is neither yes nor no (oui/non, true/false, 1/0)")


def clean_status(raw: str) -> str:
    """`active` or `closed`, from the words and codes registries use."""
    status = _STATUS.get(" ".join(fold(raw).split()))
    if status is None:
        raise ValueError(f"status {raw!r} is neither active nor closed")
    return status

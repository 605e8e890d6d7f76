"""The languages of the pages: French (the source) and English.

Server-side texts are gettext messages whose msgids are the French texts; the English
catalogue is the committed `locale/en/LC_MESSAGES/messages.po`, compiled in memory by Babel
when first used (no build step, so a checkout, a wheel and an image behave the same).
The script's texts are one JSON catalogue per language in `static/i18n/`.
"""

from __future__ import annotations

import json
from functools import cache
from gettext import GNUTranslations, NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.errors import InvalidParameter
from app.quality import q_value
from app.taxonomy import LEGAL_FORM_LABELS, Category, Taxonomy

LANGUAGES = ("fr", "en")
SOURCE_LANGUAGE = "fr"
LOCALE_DIR = Path(__file__).parent / "locale"
SCRIPT_CATALOGUE_DIR = Path(__file__).parent / "static" / "i18n"
# The locale the script formats numbers with (Intl.NumberFormat).
NUMBER_LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@cache
def translations(language: str) -> NullTranslations:
    """The gettext catalogue of a language; the source language translates to itself."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return GNUTranslations(compiled)


@cache
def script_catalogue(language: str) -> dict[str, Any]:
    """The JSON catalogue the page's script reads its texts from."""
    catalogue: dict[str, Any] = json.loads(
        (SCRIPT_CATALOGUE_DIR / f"{language}.json").read_text(encoding="utf-8")
    )
    return catalogue


def checked_language(lang: str) -> str:
    """`lang` if the pages speak it; a 400 naming the parameter otherwise."""
    if lang not in LANGUAGES:
        raise InvalidParameter(
            f"lang: {lang!r} is not one of {', '.join(LANGUAGES)}", parameter="lang"
        )
    return lang


def accepted_language(header: str | None) -> str:
    """The language of ours the browser prefers (RFC 9110 q values), else French."""
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((header or "").split(",")):
        tag, _, parameters = entry.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = q_value(parameters)
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else SOURCE_LANGUAGE


def page_language(lang: str | None, accept_language: str | None) -> str:
    """?lang= first, then Accept-Language (the page's switch is remembered by the script)."""
    return checked_language(lang) if lang is not None else accepted_language(accept_language)


def category_label(category: Category, language: str) -> str:
    """A sector's label in the language."""
    return category.label_en if language == "en" else category.label_fr


def legal_form_labels(language: str) -> dict[str, str]:
    """The label of each legal-form family in the language, by its value."""
    index = LANGUAGES.index(language)
    return {form.value: labels[index] for form, labels in LEGAL_FORM_LABELS.items()}


def group_labels(taxonomy: Taxonomy, language: str) -> dict[str, str]:
    """The labels of the sector groups (the `parent` of each category) in the language."""
    return {
        group.slug: group.label_en if language == "en" else group.label_fr
        for group in taxonomy.groups
    }

"""The Jinja2 templates of the pages (app/mapview/templates), one environment per language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from app.mapview.i18n import LANGUAGES, translations

TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


@cache
def environment(language: str) -> Environment:
    """Templates that translate `_()` and `{% trans %}` into `language`."""
    templates = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    templates.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return templates


def render(template: str, language: str, **context: object) -> str:
    """One template rendered in `language`, with the language switch's links."""
    others = [{"code": code, "name": LANGUAGE_NAMES[code]}
              for code in LANGUAGES if code != language]
    html: str = environment(language).get_template(template).render(
        language=language, other_languages=others, **context
    )
    return html


def script_json(value: object) -> Markup:
    """JSON that is safe inside a <script> element: no text can close it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # Safe by construction: JSON with <, > and & escaped holds no markup at all.
    return Markup(escaped)  # noqa: S704

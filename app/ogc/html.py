"""Small server-rendered HTML pages of the /ogc resources: no script, no style, no CDN.

Every value is escaped; every page links to its JSON twin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

_PAGE = Markup(
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title}</title></head>\n<body><main><h1>{title}</h1>\n{body}\n</main></body></html>\n"
)


def page(title: str, *parts: Markup) -> str:
    """A whole HTML document."""
    return str(_PAGE.format(title=title, body=Markup("\n").join(parts)))


def paragraph(text: str) -> Markup:
    """A paragraph of plain text."""
    return Markup("<p>{}</p>").format(text)


def link_list(links: Iterable[Mapping[str, str]]) -> Markup:
    """The links of a resource, as a list: title or rel, and the media type."""
    items = [Markup('<li><a href="{href}" rel="{rel}">{label}</a> ({type})</li>').format(
        href=found["href"], rel=found["rel"], label=found.get("title", found["rel"]),
        type=found["type"]) for found in links]
    return Markup("<ul>{}</ul>").format(Markup("").join(items))


def _cell(value: Any) -> Markup:
    return Markup("<td>{}</td>").format("" if value is None else value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Markup:
    """A table of plain values (a Markup value is kept as it is, e.g. a link)."""
    head = Markup("").join(Markup("<th>{}</th>").format(name) for name in headers)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(_cell(value) for value in row))
        for row in rows)
    return Markup("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>").format(head, body)


def anchor(href: str, text: str) -> Markup:
    """A link inside a table cell."""
    return Markup('<a href="{}">{}</a>').format(href, text)


def properties_table(properties: Mapping[str, Any]) -> Markup:
    """One feature's properties, a row each."""
    return table(("property", "value"), sorted(properties.items()))


def code(text: str) -> Markup:
    """Preformatted text."""
    return Markup("<pre>{}</pre>").format(escape(text))

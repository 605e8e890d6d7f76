"""The sector taxonomy (categories.yaml, app/data/) and the ESS legal-form families."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

# The sector of structures whose sector label is not known (an import keeps them there).
UNCLASSIFIED = "non-classe"

class LegalForm(StrEnum):
    """The ESS family a structure belongs to."""

    ASSOCIATION = "association"
    COOPERATIVE = "cooperative"
    MUTUELLE = "mutuelle"
    FONDATION = "fondation"
    ENTREPRISE_ESS = "entreprise-ess"
    AUTRE = "autre"


LEGAL_FORM_LABELS: dict[LegalForm, tuple[str, str]] = {
    LegalForm.ASSOCIATION: ("Association", "Association"),
    LegalForm.COOPERATIVE: ("Coopérative (SCOP, SCIC, CAE…)", "Cooperative (SCOP, SCIC, CAE…)"),
    LegalForm.MUTUELLE: ("Mutuelle", "Mutual"),
    LegalForm.FONDATION: ("Fondation", "Foundation"),
    LegalForm.ENTREPRISE_ESS: (
        "Société commerciale de l'ESS / ESUS",
        "Social enterprise (ESS company / ESUS)",
    ),
    LegalForm.AUTRE: ("Autre", "Other"),
}


@dataclass(frozen=True)
class Category:
    """One sector of the taxonomy."""

    slug: str
    label_fr: str
    label_en: str
    color: str
    parent: str | None
    description_fr: str = ""
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every name the sector answers to: slug, labels and aliases."""
        return (self.slug, self.label_fr, self.label_en, *self.aliases)


@dataclass(frozen=True)
class SectorGroup:
    """A family of sectors (the `parent` of categories)."""

    slug: str
    label_fr: str
    label_en: str


@dataclass(frozen=True)
class Taxonomy:
    """Every sector, in file order, with fast lookup by slug."""

    categories: tuple[Category, ...]
    groups: tuple[SectorGroup, ...] = ()

    def slugs(self) -> set[str]:
        """All known sector slugs."""
        return {category.slug for category in self.categories}

    def get(self, slug: str) -> Category | None:
        """The sector with this slug, or None."""
        return next((c for c in self.categories if c.slug == slug), None)


def _strings(value: object) -> tuple[str, ...]:
    """A YAML list of names as strings (nothing when absent)."""
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _category_from_yaml(entry: dict[str, object]) -> Category:
    """Build one Category from its YAML mapping."""
    parent = entry.get("parent")
    return Category(
        slug=str(entry["slug"]),
        label_fr=str(entry["label_fr"]),
        label_en=str(entry["label_en"]),
        color=str(entry["color"]),
        parent=str(parent) if parent else None,
        description_fr=str(entry.get("description_fr") or ""),
        aliases=_strings(entry.get("aliases")),
    )


@cache
def load_taxonomy(path: Path) -> Taxonomy:
    """Read the taxonomy file once per path."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = document["categories"] if isinstance(document, dict) else document
    groups = document.get("groups") or [] if isinstance(document, dict) else []
    return Taxonomy(
        tuple(_category_from_yaml(entry) for entry in entries),
        tuple(SectorGroup(str(g["slug"]), str(g["label_fr"]), str(g["label_en"])) for g in groups),
    )

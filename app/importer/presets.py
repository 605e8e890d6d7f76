"""Mappings for the public registries, read exactly as they are published.

- `sirene`: INSEE's SIRENE `StockEtablissement` file (camelCase headers), and its
  géolocalisé edition (same columns plus `longitude` / `latitude`). The address is
  composed from its parts, NAF and catégorie juridique are kept, the sector comes from the
  NAF code (data/naf_sectors.csv), `etatAdministratifEtablissement` gives the status.
- `rna`: the RNA `waldec` export of associations (`;`, Windows-1252): `position` gives
  active or dissolved, every row is an association (catégorie juridique 9220).

SIRENE rows are completed before their columns are read (app/importer/sirene_rows.py):
Lambert-93 `x` / `y` become `longitude` / `latitude`, and with a `StockUniteLegale` file
only the establishments of ESS unités légales are kept, with the legal unit's fields.
"""

from __future__ import annotations

from enum import StrEnum

from app.importer.columns import ColumnMapping, mapping_from_document


class Preset(StrEnum):
    """The public registries an import can read as published."""

    SIRENE = "sirene"
    RNA = "rna"


_SIRENE_ADDRESS = {
    "complementAdresseEtablissement": "address_complement",
    "numeroVoieEtablissement": "street_number",
    "indiceRepetitionEtablissement": "street_repetition",
    "typeVoieEtablissement": "street_type",
    "libelleVoieEtablissement": "street_name",
    "codePostalEtablissement": "postcode",
    "libelleCommuneEtablissement": "city",
    "codeCommuneEtablissement": "citycode",
}
SIRENE: dict[str, object] = {
    "synonyms": False,
    "naf_sectors": True,
    "source": "sirene",
    "columns": {
        "siren": "siren", "siret": "siret",
        "dateCreationEtablissement": "creation_date",
        "trancheEffectifsEtablissement": "headcount_band",
        **_SIRENE_ADDRESS,
        "etatAdministratifEtablissement": "status",
        "activitePrincipaleEtablissement": ["naf", "categories"],
        "categorieJuridiqueUniteLegale": "categorie_juridique",
        "labelsUniteLegale": "labels",
        "longitude": "lon", "latitude": "lat",
    },
    "first_of": {"name": ["denominationUsuelleEtablissement", "enseigne1Etablissement",
                          "enseigne2Etablissement", "enseigne3Etablissement",
                          "denominationUniteLegale"]},
}
RNA: dict[str, object] = {
    "synonyms": False,
    "source": "rna",
    "empty_values": ["0001-01-01"],
    "columns": {
        "id": "rna", "siret": "siret", "titre": "name", "objet": "description",
        "date_creat": "creation_date", "date_disso": "status_date", "position": "status",
        "adrs_complement": "address_complement", "adrs_numvoie": "street_number",
        "adrs_repetition": "street_repetition", "adrs_typevoie": "street_type",
        "adrs_libvoie": "street_name", "adrs_codeinsee": "citycode",
        "adrs_codepostal": "postcode", "adrs_libcommune": "city", "siteweb": "website",
    },
    "constants": {"legal_form": "association", "categorie_juridique": "9220"},
}
PRESETS: dict[str, dict[str, object]] = {Preset.SIRENE: SIRENE, Preset.RNA: RNA}


def preset_mapping(name: str) -> ColumnMapping:
    """The mapping of a preset (raises KeyError for an unknown name)."""
    return mapping_from_document(PRESETS[name], f"preset {name}")

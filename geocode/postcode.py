"""The one rule mapping a French postcode to its département, CEDEX codes included.

A postcode starts with its département's number: two digits in metropolitan France
("91191" is a CEDEX code of the Essonne), three overseas ("97411" is La Réunion). Corsica
shares "20": 200xx and 201xx are Corse-du-Sud (2A), 202xx and 206xx Haute-Corse (2B), and
any other 20xxx may be either. Saint-Barthélemy (977) and Saint-Martin (978) keep the
Guadeloupe codes 97133 and 97150. Monaco (980xx) has French-style codes but is no
département, so it has none. A few postcodes also serve communes across a département
line: callers with a gazetteer add the départements of the communes a postcode serves.
"""

from __future__ import annotations

CORSICA = frozenset({"2A", "2B"})
_CORSICA_BY_PREFIX = {"200": "2A", "201": "2A", "202": "2B", "206": "2B"}
_COLLECTIVITIES_BY_POSTCODE = {"97133": "977", "97150": "978"}
_OVERSEAS_PREFIXES = frozenset({"971", "972", "973", "974", "975", "976", "984", "986", "987",
                                "988"})
_METROPOLITAN_PREFIXES = frozenset(f"{number:02d}" for number in range(1, 96)) - {"20"}


def departements_of_postcode(postcode: str) -> frozenset[str]:
    """The départements a 5-digit postcode belongs to by its digits (empty when none)."""
    if len(postcode) != 5 or not (postcode.isascii() and postcode.isdigit()):
        return frozenset()
    if postcode in _COLLECTIVITIES_BY_POSTCODE:
        return frozenset({_COLLECTIVITIES_BY_POSTCODE[postcode]})
    if postcode[:3] in _OVERSEAS_PREFIXES:
        return frozenset({postcode[:3]})
    if postcode[:2] == "20":
        corsica = _CORSICA_BY_PREFIX.get(postcode[:3])
        return frozenset({corsica}) if corsica else CORSICA
    return frozenset({postcode[:2]}) if postcode[:2] in _METROPOLITAN_PREFIXES else frozenset()

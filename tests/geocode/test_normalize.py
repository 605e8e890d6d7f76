from __future__ import annotations

import pytest

from geocode.normalize import fold, normalize_place_name, normalize_postcode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("ST ETIENNE", "saint etienne"),
        ("St-Étienne", "saint etienne"),
        ("St. Étienne", "saint etienne"),
        ("Ste-Foy-lès-Lyon", "sainte foy les lyon"),
        ("Chalon-sur-Saône", "chalon sur saone"),
        ("Chalon s/ Saône", "chalon sur saone"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("L’Haÿ–les–Roses", "l hay les roses"),
        ("  Paris   Cedex 07 ", "paris"),
        ("LYON CEDEX", "lyon"),
        ("Paris cedex07", "paris"),
        ("Œuilly", "oeuilly"),
        ("Paris 19ème", "paris 19eme"),
        ("Stenay", "stenay"),
        ("", ""),
    ],
)
def test_normalize_place_name_gives_the_comparison_key(text: str, expected: str) -> None:
    assert normalize_place_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Saint-Étienne\tdu  Rouvray ", "saint-etienne du rouvray"),
        ("ÉCOLE", "ecole"),
        ("Straße", "strasse"),
        ("cœur", "coeur"),
        ("plain", "plain"),
    ],
)
def test_fold_removes_accents_case_and_extra_spaces(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("75019", "75019"),
        (" 75 019 ", "75019"),
        ("01000", "01000"),
        ("1000", "01000"),
        ("1000.0", "01000"),
        ("9100", "09100"),
        ("20000", "20000"),
        ("97400", "97400"),
        ("98000", "98000"),
        ("0100", None),
        ("00100", None),
        ("96000", None),
        ("99000", None),
        ("750190", None),
        ("750", None),
        ("75O19", None),
        ("７５０１９", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_postcode_keeps_only_french_postcodes(
    text: str | None, expected: str | None
) -> None:
    assert normalize_postcode(text) == expected

"""Encodings: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1252; never Latin-1."""

from __future__ import annotations

import codecs

import pytest

from app.importer.decoding import decode_csv_bytes
from app.importer.faults import FileRejected


def test_windows_1252_bytes_are_read_as_windows_1252_not_latin_1() -> None:
    decoded = decode_csv_bytes("nom\r\nCafé à 5 €, œufs, l’Œuf…\r\n".encode("cp1252"))
    assert decoded.encoding == "Windows-1252"
    assert decoded.text == "nom\r\nCafé à 5 €, œufs, l’Œuf…\r\n"


def test_utf8_without_bom_is_named_utf8() -> None:
    decoded = decode_csv_bytes("nom\nÉpicerie\n".encode())
    assert (decoded.encoding, decoded.text) == ("UTF-8", "nom\nÉpicerie\n")


def test_utf8_bom_is_removed_and_named() -> None:
    decoded = decode_csv_bytes(codecs.BOM_UTF8 + "nom\nÉpicerie\n".encode())
    assert (decoded.encoding, decoded.text) == ("UTF-8 with BOM", "nom\nÉpicerie\n")


@pytest.mark.parametrize(("encoding", "label"), [
    ("utf-16-le", "UTF-16 LE with BOM"), ("utf-16-be", "UTF-16 BE with BOM"),
])
def test_utf16_with_bom_is_decoded(encoding: str, label: str) -> None:
    mark = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
    decoded = decode_csv_bytes(mark + "nom\tville\r\nŒuvre\tÉvry\r\n".encode(encoding))
    assert (decoded.encoding, decoded.text) == (label, "nom\tville\r\nŒuvre\tÉvry\r\n")


def test_a_file_mixing_utf8_and_windows_1252_is_undecodable() -> None:
    data = "nom\nCafé\n".encode() + "Crêpe\n".encode("cp1252")
    with pytest.raises(FileRejected) as caught:
        decode_csv_bytes(data)
    assert caught.value.code == "undecodable"
    assert caught.value.message == (
        "undecodable bytes: the file mixes UTF-8 and Windows-1252 (first non-UTF-8 byte 0xea "
        "on line 3); save it again as 'CSV UTF-8'")


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_undecodable() -> None:
    with pytest.raises(FileRejected) as caught:
        decode_csv_bytes(b"nom\nCaf\x81\n")
    assert caught.value.message == ("undecodable bytes: byte 0x81 on line 2 is not valid UTF-8 "
                                    "nor Windows-1252; save the file again as 'CSV UTF-8'")


def test_utf16_without_bom_is_refused_for_its_nul_bytes() -> None:
    with pytest.raises(FileRejected) as caught:
        decode_csv_bytes("nom\n".encode("utf-16-le"))
    assert caught.value.code == "undecodable"
    assert "NUL bytes" in caught.value.message


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n", codecs.BOM_UTF8])
def test_an_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(FileRejected) as caught:
        decode_csv_bytes(data)
    assert (caught.value.code, caught.value.message) == ("empty_file", "the file is empty")


@pytest.mark.parametrize("start", [b"PK\x03\x04\x14\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00"])
def test_a_workbook_saved_under_a_csv_name_is_named_as_such(start: bytes) -> None:
    with pytest.raises(FileRejected) as caught:
        decode_csv_bytes(start + b"\x00" * 64)
    assert (caught.value.code, caught.value.message) == (
        "not_csv", "this is a spreadsheet workbook (.xlsx, .ods or .xls), not a CSV file: "
        "export it as 'CSV UTF-8'")

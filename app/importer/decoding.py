"""Bytes of a CSV file -> text, with the encoding detected and named.

Accepted: UTF-8, UTF-8 with a byte-order mark, UTF-16 with a byte-order mark, and
Windows-1252 (what Excel writes on a French Windows). Windows-1252 is never decoded as
Latin-1: the two differ on 0x80-0x9F, where "€", "œ", "’" and "…" live.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from app.importer.faults import FileRejected

_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE with BOM"),
)
# Zip (.xlsx, .ods) and OLE2 (.xls) signatures: a workbook saved under a .csv name.
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# A French accented letter in UTF-8 ("é" is C3 A9): proof that some of the file is UTF-8.
_UTF8_ACCENT = re.compile(rb"\xc3[\x80-\xbf]")


@dataclass(frozen=True)
class DecodedText:
    """The text of a file and the encoding it was read with."""

    text: str
    encoding: str


def _line_of(data: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _undecodable(data: bytes, error: UnicodeDecodeError, encoding: str) -> FileRejected:
    """The file-level fault for bytes that are not text in `encoding`."""
    byte = data[error.start : error.start + 1].hex()
    return FileRejected(
        f"undecodable bytes: byte 0x{byte} on line {_line_of(data, error.start)} is not valid "
        f"{encoding}; save the file again as 'CSV UTF-8'",
        code="undecodable",
    )


def _with_byte_order_mark(data: bytes) -> DecodedText | None:
    """Decode a file that starts with a byte-order mark, or None when it has none."""
    for mark, codec, label in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return DecodedText(data.decode(codec), label)
            except UnicodeDecodeError as error:
                raise _undecodable(data, error, label) from None
    return None


def _windows_1252(data: bytes, utf8_error: UnicodeDecodeError) -> DecodedText:
    """Decode a file that is not UTF-8: Windows-1252, unless it mixes in UTF-8."""
    if _UTF8_ACCENT.search(data):
        line = _line_of(data, utf8_error.start)
        raise FileRejected(
            "undecodable bytes: the file mixes UTF-8 and Windows-1252 (first non-UTF-8 byte "
            f"0x{data[utf8_error.start]:02x} on line {line}); save it again as 'CSV UTF-8'",
            code="undecodable",
        )
    try:
        return DecodedText(data.decode("cp1252"), "Windows-1252")
    except UnicodeDecodeError as error:
        raise _undecodable(data, error, "UTF-8 nor Windows-1252") from None


def decode_csv_bytes(data: bytes) -> DecodedText:
    """Detect the encoding of a CSV file and decode it; raise FileRejected if it is not text."""
    if data.startswith(_WORKBOOK_SIGNATURES):
        raise FileRejected("this is a spreadsheet workbook (.xlsx, .ods or .xls), not a CSV "
                           "file: export it as 'CSV UTF-8'", code="not_csv")
    decoded = _with_byte_order_mark(data)
    if decoded is None:
        if b"\x00" in data:
            raise FileRejected(
                "undecodable bytes: the file contains NUL bytes (UTF-16 without a byte-order "
                "mark, or not a text file); save it as 'CSV UTF-8'",
                code="undecodable",
            )
        try:
            decoded = DecodedText(data.decode("utf-8"), "UTF-8")
        except UnicodeDecodeError as error:
            decoded = _windows_1252(data, error)
    if not decoded.text.strip():
        raise FileRejected("the file is empty", code="empty_file")
    return decoded

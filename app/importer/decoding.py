"""Bytes of a CSV file -> text, with the encoding detected and named.

Accepted: UTF-8, UTF-8 with a byte-order mark, UTF-16 with a byte-order mark, and
Windows-1252 (what Excel writes on a French Windows). Windows-1252 is never decoded as
Latin-1: the two differ on 0x80-0x9F, where "€", "œ", "’" and "…" live.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

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


BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class DecodedText:
    """The text of a file and the encoding it was read with."""

    text: str
    encoding: str


@dataclass(frozen=True)
class TextEncoding:
    """How to decode a file: the Python codec, and the name the report gives it."""

    codec: str
    label: str


def _blocks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of a stream read from its start in blocks."""
    stream.seek(0)
    offset = 0
    while block := stream.read(BLOCK_BYTES):
        yield offset, block
        offset += len(block)


def _line_of(stream: BinaryIO, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return sum(block[: max(0, offset - start)].count(b"\n")
               for start, block in _blocks(stream) if start < offset) + 1


def _undecodable(
    stream: BinaryIO, offset: int, error: UnicodeDecodeError, encoding: str
) -> FileRejected:
    """The file-level fault for bytes that are not text in `encoding`."""
    byte = error.object[error.start : error.start + 1].hex()
    return FileRejected(
        f"undecodable bytes: byte 0x{byte} on line {_line_of(stream, offset)} is not valid "
        f"{encoding}; save the file again as 'CSV UTF-8'",
        code="undecodable",
    )


class _Scan:
    """One pass of an incremental decoder over a stream: the first error, and any text."""

    def __init__(self, stream: BinaryIO, codec: str, *, stop_at_error: bool) -> None:
        self.error: tuple[int, UnicodeDecodeError] | None = None
        self.has_text = self.has_nul = False
        decoder = codecs.getincrementaldecoder(codec)()
        for offset, block in _blocks(stream):
            self.has_nul = self.has_nul or b"\x00" in block
            if self.error is None:
                self._decode(decoder, offset, block)
            if self.error is not None and stop_at_error:
                return
        if self.error is None:
            self._decode(decoder, 0, b"", final=True)

    def _decode(self, decoder: codecs.IncrementalDecoder, offset: int, block: bytes,
                final: bool = False) -> None:
        try:
            text = decoder.decode(block, final)
        except UnicodeDecodeError as error:
            # The error's offset counts from the bytes the decoder held back plus this block.
            held = len(error.object) - len(block)
            self.error = (offset + error.start - held, error)
            return
        self.has_text = self.has_text or bool(text.strip())


def _with_byte_order_mark(stream: BinaryIO, head: bytes) -> TextEncoding | None:
    """The encoding of a file that starts with a byte-order mark (checked), or None."""
    for mark, codec, label in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            scan = _Scan(stream, codec, stop_at_error=True)
            if scan.error is not None:
                raise _undecodable(stream, scan.error[0], scan.error[1], label)
            return _not_empty(scan, TextEncoding(codec, label))
    return None


def _mixes_in_utf8(stream: BinaryIO) -> bool:
    """True when a UTF-8 accented letter appears anywhere (blocks overlap by one byte)."""
    previous = b""
    for _, block in _blocks(stream):
        if _UTF8_ACCENT.search(previous + block):
            return True
        previous = block[-1:]
    return False


def _windows_1252(stream: BinaryIO, utf8_error: tuple[int, UnicodeDecodeError]) -> TextEncoding:
    """The encoding of a file that is not UTF-8: Windows-1252, unless it mixes in UTF-8."""
    offset, error = utf8_error
    if _mixes_in_utf8(stream):
        byte = error.object[error.start]
        raise FileRejected(
            "undecodable bytes: the file mixes UTF-8 and Windows-1252 (first non-UTF-8 byte "
            f"0x{byte:02x} on line {_line_of(stream, offset)}); save it again as 'CSV UTF-8'",
            code="undecodable",
        )
    scan = _Scan(stream, "cp1252", stop_at_error=True)
    if scan.error is not None:
        raise _undecodable(stream, scan.error[0], scan.error[1], "UTF-8 nor Windows-1252")
    return _not_empty(scan, TextEncoding("cp1252", "Windows-1252"))


def _not_empty(scan: _Scan, encoding: TextEncoding) -> TextEncoding:
    if not scan.has_text:
        raise FileRejected("the file is empty", code="empty_file")
    return encoding


def detect_encoding(stream: BinaryIO) -> TextEncoding:
    """Detect the encoding of a CSV file, reading it block by block (memory stays flat).

    Raise FileRejected when it is not text (or holds no text at all).
    """
    stream.seek(0)
    head = stream.read(16)
    if head.startswith(_WORKBOOK_SIGNATURES):
        raise FileRejected("this is a spreadsheet workbook (.xlsx, .ods or .xls), not a CSV "
                           "file: export it as 'CSV UTF-8'", code="not_csv")
    found = _with_byte_order_mark(stream, head)
    if found is not None:
        return found
    scan = _Scan(stream, "utf-8", stop_at_error=False)
    if scan.has_nul:
        raise FileRejected(
            "undecodable bytes: the file contains NUL bytes (UTF-16 without a byte-order "
            "mark, or not a text file); save it as 'CSV UTF-8'",
            code="undecodable",
        )
    if scan.error is not None:
        return _windows_1252(stream, scan.error)
    return _not_empty(scan, TextEncoding("utf-8", "UTF-8"))


def decode_csv_bytes(data: bytes) -> DecodedText:
    """Detect the encoding of a CSV file's bytes and decode them (see `detect_encoding`)."""
    encoding = detect_encoding(io.BytesIO(data))
    return DecodedText(data.decode(encoding.codec), encoding.label)

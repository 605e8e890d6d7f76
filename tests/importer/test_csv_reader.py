"""Delimiters, line ends, quoted newlines and line numbers; quoting faults."""

from __future__ import annotations

import pytest

from app.importer.faults import FileRejected
from app.importer.reader import FileFormat, RawRow, detect_delimiter, parse_csv_text


@pytest.mark.parametrize(("text", "delimiter"), [
    ("nom;ville\nA;Lyon\n", ";"),
    ("nom,ville\nA,Lyon\n", ","),
    ("nom\tville\nA\tLyon\n", "\t"),
    ('nom;description;ville\nA;"un, deux, trois";Lyon\n', ";"),
    ('nom,description,ville\nA,"un; deux; trois",Lyon\n', ","),
])
def test_the_delimiter_is_the_one_that_splits_the_lines_consistently(
    text: str, delimiter: str
) -> None:
    assert detect_delimiter(text) == delimiter


@pytest.mark.parametrize(("text", "endings"), [
    ("nom,cp\r\nA,1\r\n", "CRLF"), ("nom,cp\nA,1\n", "LF"), ("nom,cp\rA,1\r", "CR"),
    ("nom,cp\r\nA,1\n", "mixed"),
])
def test_line_endings_are_named(text: str, endings: str) -> None:
    parsed = parse_csv_text(text, "UTF-8")
    assert parsed.format == FileFormat("UTF-8", ",", endings)
    assert parsed.rows == [RawRow(2, ["A", "1"])]


def test_a_quoted_newline_stays_in_its_value_and_rows_keep_their_first_line() -> None:
    parsed = parse_csv_text('nom;description\r\nA;"ligne 1\r\nligne 2"\r\nB;x\r\n', "UTF-8")
    assert parsed.header == ("nom", "description")
    assert parsed.rows == [RawRow(2, ["A", "ligne 1\r\nligne 2"]), RawRow(4, ["B", "x"])]


def test_blank_lines_are_counted_and_skipped() -> None:
    parsed = parse_csv_text("\nnom;ville\nA;Lyon\n;\n\nB;Paris\n", "UTF-8")
    assert parsed.rows == [RawRow(3, ["A", "Lyon"]), RawRow(6, ["B", "Paris"])]
    assert parsed.blank_rows == 3


def test_excel_separator_hint_sets_the_delimiter_and_counts_as_a_line() -> None:
    parsed = parse_csv_text("sep=;\r\nnom;note\r\nA;1,5\r\n", "Windows-1252")
    assert (parsed.format.delimiter, parsed.header) == (";", ("nom", "note"))
    assert parsed.rows == [RawRow(3, ["A", "1,5"])]


def test_a_quote_left_open_at_the_end_of_the_file_rejects_the_file() -> None:
    with pytest.raises(FileRejected) as caught:
        parse_csv_text('nom;ville\r\nA;Lyon\r\n"B;Paris\r\nC;Nantes\r\n', "UTF-8")
    assert caught.value.code == "unbalanced_quote"
    assert caught.value.message == (
        "unbalanced quote: the quoted field that starts on line 3 is never closed (check the "
        "quotes of that line)")


def test_a_badly_quoted_row_is_reported_and_the_next_rows_are_read() -> None:
    parsed = parse_csv_text('nom;ville\nA;"Les "Amis"";Lyon\nB;Paris\n', "UTF-8")
    assert parsed.rows[0].line == 2
    assert parsed.rows[0].problem == (
        "malformed quoting on line 2: ';' expected after '\"' (a quote inside a quoted "
        'field must be doubled: "")')
    assert parsed.rows[1] == RawRow(3, ["B", "Paris"])


def test_a_file_of_blank_lines_has_no_header() -> None:
    with pytest.raises(FileRejected) as caught:
        parse_csv_text(";;\n;;\n", "UTF-8")
    assert (caught.value.code, caught.value.message) == (
        "empty_file", "the file has no header line and no data")

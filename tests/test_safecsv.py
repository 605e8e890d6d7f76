"""CSV for spreadsheets: formula cells neutralised, separators and quotes quoted."""

from __future__ import annotations

import csv
import io

import pytest

from app.safecsv import SafeCsvWriter, csv_line, neutralise_formula, restore_cell


@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\tcalc", "'\tcalc"),
    ("\r=1", "'\r=1"),
    ("-", "'-"),
])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(cell: str, written: str) -> None:
    assert neutralise_formula(cell) == written
    assert restore_cell(written) == cell


@pytest.mark.parametrize("cell", ["-1.55412", "+2.5", "-3", "-0,5", "-1e-05", "Atelier", "",
                                  "'t Hooft", "a=b"])
def test_numbers_and_ordinary_text_are_left_alone(cell: str) -> None:
    assert neutralise_formula(cell) == cell
    assert restore_cell(cell) == cell


def test_separators_quotes_and_line_breaks_are_quoted_whatever_the_delimiter() -> None:
    cells = ["a;b", 'dit "le"', "x,y", "two\nlines", None, 7, "-1.5"]
    assert csv_line(cells, ",") == '"a;b","dit ""le""","x,y","two\nlines",,7,-1.5\r\n'
    assert csv_line(cells, ";") == '"a;b";"dit ""le""";x,y;"two\nlines";;7;-1.5\r\n'


def test_what_the_writer_writes_reads_back_with_the_csv_module() -> None:
    rows = [["nom", "secteur"], ["=1+1", "a;b\"c"], ["\u00e9l\u00e9ment", ""]]
    buffer = io.StringIO(newline="")
    SafeCsvWriter(buffer, ",").writerows(rows)
    read = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert read == [["nom", "secteur"], ["'=1+1", "a;b\"c"], ["\u00e9l\u00e9ment", ""]]


@pytest.mark.parametrize("delimiter", ['"', "\n", ";;"])
def test_an_unusable_delimiter_is_refused(delimiter: str) -> None:
    with pytest.raises(ValueError, match="a CSV delimiter is one character"):
        SafeCsvWriter(io.StringIO(), delimiter)

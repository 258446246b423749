"""CSV in and out (app/csv_safety.py): formula cells neutralised on the way out, records the
reader refuses named by line and column on the way in."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog import csv_import
from app.costs import importer
from app.csv_safety import UnreadableCsv, read_dicts, safe_cell

LIMIT = csv.field_size_limit()


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1",
     "\r=1", "-", "=", "+"],
)  # fmt: skip
def test_formula_cells_get_a_leading_quote(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell", ["-12.5", "+3", "-1e5", "-.5", "-4.2%", "12", "", "a=b", "'=x", " =1", "China 移动"]
)
def test_numbers_and_plain_text_are_kept(cell):
    assert safe_cell(cell) == cell


@given(st.text())
def test_no_written_cell_starts_a_formula(text):
    cell = safe_cell(text)
    assert cell == text or cell == "'" + text
    assert (
        not cell or cell[0] not in "=+-@\t\r" or float(cell.rstrip("%")) == float(text.rstrip("%"))
    )


def test_read_dicts_reads_as_dict_reader_does():
    text = "\ufeffa , b\n1,2\n\n3\n4,5,6\n"
    header, records = read_dicts(text)
    assert header == ["a", "b"]
    assert list(records) == [
        (2, {"a": "1", "b": "2"}),
        (4, {"a": "3", "b": None}),  # line 3 is blank
        (5, {"a": "4", "b": "5", None: ["6"]}),
    ]


def test_a_cell_over_the_readers_limit_is_named_by_line_and_column():
    long = "x" * (LIMIT + 1)
    text = f'a,b,c\n1,2,3\n4,"{long}",6\n7,8,9\n'
    header, records = read_dicts(text)
    assert next(records) == (2, {"a": "1", "b": "2", "c": "3"})
    with pytest.raises(UnreadableCsv) as refused:
        next(records)
    assert (refused.value.line, refused.value.column) == (3, "b")
    assert f"longer than {LIMIT:,} characters" in refused.value.reason
    # In the header, and past the last named column.
    with pytest.raises(UnreadableCsv) as refused:
        read_dicts(f"a,{long}\n")
    assert (refused.value.line, refused.value.column) == (1, "header")
    with pytest.raises(UnreadableCsv) as refused:
        list(read_dicts(f'a\n"multi\nline",{long}\n')[1])
    assert (refused.value.line, refused.value.column) == (2, "column 2")


@pytest.mark.parametrize("where", ["header", "row"])
def test_both_importers_answer_a_long_cell_with_line_and_column(where):
    long = "x" * (LIMIT + 1)
    links = f"campaign_id,site_key,{long}\n" if where == "header" else (
        f"campaign_id,site_key,landing_url\nc1,s1,https://x.cn/{long}\n"
    )  # fmt: skip
    result = csv_import.import_csv(None, "links", links, None)  # refused before the store
    expected = (1, "header") if where == "header" else (2, "landing_url")
    assert [e[:2] for e in result.errors] == [expected]
    costs = f"day,spend,{long}\n" if where == "header" else f"day,spend\n2024-01-01,{long}\n"
    rows, errors = importer.parse_csv(costs)
    expected = (1, "header") if where == "header" else (2, "spend")
    assert rows == [] and [e[:2] for e in errors] == [expected]


def test_written_csv_reads_back_with_the_quote():
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell('=HYPERLINK("http://x","y")'), safe_cell("-12.5")])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        '\'=HYPERLINK("http://x","y")',
        "-12.5",
    ]

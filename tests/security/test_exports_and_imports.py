"""Exports cannot smuggle formulas into a spreadsheet; numbers stay numbers (property tests)."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Customer, ImportJob
from accounts.services import imports
from crm.exports import FORMULA_PREFIXES, export_response, neutralise
from tests.accounts.test_imports import csv_file, row

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0", "|", "%")
text_cells = st.one_of(
    st.text(max_size=30), st.sampled_from(DANGEROUS).flatmap(lambda p: st.text(max_size=20).map(lambda t: p + t))
)
number_cells = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
)


def _is_safe(cell: str) -> bool:
    return not cell or not cell.startswith(DANGEROUS)


def test_the_helper_covers_every_dangerous_first_character():
    assert set(DANGEROUS) <= set(FORMULA_PREFIXES)


@given(text_cells)
def test_no_neutralised_string_starts_like_a_formula(value):
    cell = neutralise(value)
    assert _is_safe(cell)
    assert "\0" not in cell
    if value and not value.startswith(DANGEROUS) and value.isprintable():
        assert cell == value  # ordinary text is untouched


@given(number_cells)
def test_numbers_are_left_as_numbers(value):
    assert neutralise(value) is value


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(text_cells, number_cells), min_size=1, max_size=5))
def test_csv_and_xlsx_exports_hold_no_formula_and_keep_numbers(rows):
    csv_body = export_response(headers=["text", "number"], rows=rows, fmt="csv", basename="t").content.decode(
        "utf-8-sig"
    )
    parsed = list(csv.reader(io.StringIO(csv_body, newline="")))
    assert all(_is_safe(cell) for row in parsed for cell in row[:1])
    assert [Decimal(row[1]) for row in parsed[1:]] == [Decimal(str(number)) for _text, number in rows]

    xlsx = export_response(headers=["text", "number"], rows=rows, fmt="xlsx", basename="t").content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    for (_text, number), (cell_text, cell_number) in zip(rows, values, strict=True):
        assert _is_safe(cell_text or "")
        assert isinstance(cell_number, int | float)  # a real number cell, not text
        assert Decimal(str(cell_number)) == Decimal(str(number)).normalize() or abs(cell_number - float(number)) < 0.01
    assert sheet.cell(row=1, column=1).value == "text"


def test_dates_stay_dates_in_xlsx():
    xlsx = export_response(headers=["d"], rows=[[date(2026, 1, 2)]], fmt="xlsx", basename="t").content
    assert openpyxl.load_workbook(io.BytesIO(xlsx)).active.cell(row=2, column=1).value.date() == date(2026, 1, 2)


# --- imports ------------------------------------------------------------------------------------


@pytest.fixture
def start(personas):
    def _start(file):
        with translation.override("en"):
            return imports.start_import(user=personas.manager_a, upload=file)

    return _start


def test_a_thousand_rows_with_37_bad_ones_report_exactly_those_and_write_nothing(personas, start):
    bad = set(range(7, 1000, 27))  # 37 rows spread over the file
    assert len(bad) == 37
    rows = [row(n, credit_code="NOT-A-CODE") if n in bad else row(n) for n in range(1000)]
    before = Customer.objects.count()
    job = start(csv_file(rows))
    assert job.error_count == 37
    assert sorted({error["row"] for error in job.report["errors"]}) == sorted(n + 2 for n in bad)  # header is row 1
    assert imports.queue_apply(job=job, user=personas.manager_a) is False
    assert Customer.objects.count() == before


def test_uploads_are_limited_in_size(personas, client_for, settings):
    from accounts import forms_tools

    too_big = SimpleUploadedFile("big.csv", b"name\n" + b"x" * (forms_tools.MAX_UPLOAD_BYTES + 1), "text/csv")
    response = client_for(personas.manager_a).post(reverse("accounts:import_upload"), {"file": too_big})
    assert response.status_code == 200
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.xlsx", "客户名称\n甲公司\n".encode(), "not a readable Excel"),  # a CSV dressed as a workbook
        ("customers.csv", b"PK\x03\x04" + b"\0" * 64, "not a CSV text file"),  # a zip dressed as a CSV
        ("customers.csv", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "not a CSV text file"),  # a Windows program
        ("customers.exe", b"name\n", "Upload an Excel"),
    ],
)
def test_uploads_are_checked_by_content_not_by_name(personas, start, name, content, message):
    try:
        job = start(SimpleUploadedFile(name, content))
    except imports.ImportFileError as exc:
        error = str(exc)
    else:
        assert job.state == ImportJob.State.FAILED
        error = job.report["file_error"]
    assert message in error
    assert Customer.objects.filter(name="甲公司").count() == 0

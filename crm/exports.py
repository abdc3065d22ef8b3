"""Spreadsheet exports shared by every app: formula neutralisation and CSV/XLSX responses.

A cell that begins with = + - @ | % (or a tab, carriage return or NUL) is read as a formula or a
DDE command by Excel, LibreOffice and Google Sheets ("CSV injection", OWASP). Every exported
string passes through `neutralise`, which prefixes such a cell with a single quote so it is shown
as text; numbers, dates and decimals are left as they are, so they stay numbers.
"""

from collections.abc import Iterable, Sequence

import tablib
from django.http import HttpResponse
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0", "|", "%")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value):
    """Return `value` unchanged unless it is a string a spreadsheet would run as a formula.

    Control characters no spreadsheet may hold (NUL …) are dropped first; then a cell that still
    starts like a formula gets a leading quote.
    """
    if not isinstance(value, str):
        return value
    starts_with_nul = value.startswith("\0")
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if starts_with_nul or value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_row(row: Iterable) -> list:
    return [neutralise(value) for value in row]


def build_dataset(headers: Sequence, rows: Iterable[Sequence], *, title: str = "") -> tablib.Dataset:
    dataset = tablib.Dataset(headers=neutralise_row(str(h) for h in headers), title=(title or None))
    for row in rows:
        dataset.append(neutralise_row(row))
    return dataset


def export_response(*, headers: Sequence, rows: Iterable[Sequence], fmt: str, basename: str) -> HttpResponse:
    """An attachment in `fmt` ("csv" or "xlsx"); every cell neutralised. CSV carries a BOM for Excel."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported export format: {fmt}")
    dataset = build_dataset(headers, rows, title=basename[:31])
    content = "\ufeff" + dataset.export("csv") if fmt == "csv" else dataset.export("xlsx")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.{fmt}"'
    return response

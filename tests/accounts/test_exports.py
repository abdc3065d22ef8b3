"""Exports: the permission, visibility, amount hiding, and formula neutralisation (crm.exports)."""

import csv
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.exports import build_dataset, neutralise

LIST = reverse("accounts:customer_list")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("星辰科技", "星辰科技"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_it_neutralises_cells_a_spreadsheet_would_run_as_formulas(raw, expected):
    assert neutralise(raw) == expected


def test_it_neutralises_headers_and_every_row_of_a_dataset():
    dataset = build_dataset(["=h"], [["=1+1"], ["ok"]])
    assert dataset.headers == ["'=h"]
    assert [row[0] for row in dataset] == ["'=1+1", "ok"]


def csv_rows(response):
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_it_refuses_export_to_a_user_without_the_export_permission(personas, client_for):
    assert client_for(personas.rep_a).get(LIST, {"_export": "csv"}).status_code == 403
    assert client_for(personas.rep_a).get(LIST, {"_export": "xlsx"}).status_code == 403


@pytest.mark.django_db
def test_it_exports_only_the_visible_filtered_rows_as_csv_with_formulas_neutralised(personas, client_for):
    personas.customer_a.name = "=cmd|' /C calc'!A0"
    personas.customer_a.save()
    response = client_for(personas.manager_a).get(LIST, {"_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    names = [row[0] for row in rows[1:]]
    assert sorted(names) == sorted(["'=cmd|' /C calc'!A0", "MARKER-B 乙公司"])
    filtered = csv_rows(client_for(personas.manager_a).get(LIST, {"_export": "csv", "q": "MARKER-B"}))
    assert [row[0] for row in filtered[1:]] == ["MARKER-B 乙公司"]


@pytest.mark.django_db
def test_it_exports_xlsx_with_the_budget_for_a_manager(personas, client_for):
    personas.customer_a.budget = 123456
    personas.customer_a.save()
    response = client_for(personas.manager_a).get(LIST, {"_export": "xlsx", "q": "MARKER-A"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    budget_index = [str(h) for h in rows[0]].index(
        next(h for h in rows[0] if "budget" in str(h).lower() or "预算" in str(h))
    )
    assert float(rows[1][budget_index]) == 123456


@pytest.mark.django_db
def test_it_leaves_amounts_out_of_an_export_by_someone_who_may_export_but_not_see_amounts(personas, client_for):
    rep = personas.rep_a
    rep.user_permissions.add(Permission.objects.get(codename="export_data", content_type__app_label="crm"))
    personas.customer_a.budget = 7654321
    personas.customer_a.save()
    response = client_for(rep).get(LIST, {"_export": "csv"})
    assert response.status_code == 200
    content = response.content.decode("utf-8-sig")
    assert "7654321" not in content
    rows = csv_rows(response)
    assert [row[0] for row in rows[1:]] == ["MARKER-A 甲公司"]


@pytest.mark.django_db
def test_it_refuses_an_unknown_export_format(personas, client_for):
    assert client_for(personas.manager_a).get(LIST, {"_export": "pdf"}).status_code == 400

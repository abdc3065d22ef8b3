"""Usage activity import: weekly usage/login counts from Excel/CSV, through the generic import engine."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from accounts.models import CustomerHealth, ImportJob, UsageWeek
from accounts.services import churn, imports
from accounts.services.usage_import import UsageImportSpec
from accounts.validators import credit_code_check_char
from tests.factories import CustomerFactory

ZH = ["客户编号", "周开始日期", "登录/使用次数"]
EN = ["Customer no.", "Week start", "Logins / usage count"]


def code(n: int) -> str:
    body = f"9133000{n:010d}"
    return body + credit_code_check_char(body)


def monday(weeks_ago: int):
    return churn.monday_of(timezone.localdate()) - timedelta(weeks=weeks_ago)


def csv_file(rows, header=ZH, name="usage.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


def xlsx_file(rows, header=EN, name="usage.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    workbook.active.append(header)
    for r in rows:
        workbook.active.append(r)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def run(job: ImportJob, user) -> ImportJob:
    """Claim and apply in-process (the task body), as the worker would."""
    assert imports.queue_apply(job=job, user=user)
    imports.apply_job(job.pk)
    job.refresh_from_db()
    return job


def errors_of(job: ImportJob) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in job.report["errors"]]


def stored(customer) -> dict:
    return dict(UsageWeek.objects.filter(customer=customer).values_list("week_start", "logins"))


@pytest.fixture
def upload(personas):
    def _upload(file, user=None):
        with translation.override("en"):  # messages are stored in the uploader's language
            return imports.start_import(user=user or personas.manager_a, upload=file, kind="usage")

    return _upload


def test_the_spec_is_registered_with_the_import_engine():
    assert isinstance(imports.SPECS["usage"], UsageImportSpec)


def test_it_imports_weekly_counts_by_customer_number_or_credit_code(personas, upload):
    a, b = personas.customer_a, personas.customer_b
    b.credit_code = code(1)
    b.save()
    rows = [
        [a.number, monday(2).isoformat(), "120"],
        [a.number.lower(), (monday(1) + timedelta(days=3)).isoformat(), "80"],  # a Thursday → its Monday
        [code(1), monday(1).strftime("%Y/%m/%d"), "0"],
    ]
    job = upload(csv_file(rows))
    assert (job.state, job.total_rows, job.error_count) == (ImportJob.State.PREVIEWED, 3, 0), job.report
    assert not UsageWeek.objects.exists()  # the preview writes nothing

    job = run(job, personas.manager_a)

    assert job.state == ImportJob.State.DONE
    assert job.processed_rows == 3
    assert job.report["created"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert stored(a) == {monday(2): 120, monday(1): 80}
    assert stored(b) == {monday(1): 0}


def test_it_reads_an_xlsx_with_english_headers_and_real_dates(personas, upload):
    a = personas.customer_a
    job = upload(xlsx_file([[a.number, monday(3), 7], [a.number, monday(4), 9.0]]))
    assert job.error_count == 0, job.report
    run(job, personas.manager_a)
    assert stored(a) == {monday(3): 7, monday(4): 9}


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (["C9999999", None, "5"], "客户编号", "Unknown customer"),
        ([code(77), None, "5"], "客户编号", "Unknown customer"),  # a valid code nobody has
        (["ACME", None, "5"], "客户编号", "customer number"),
        (["{a}", "2026-13-45", "5"], "周开始日期", "Enter a date"),
        (["{a}", "next week", "5"], "周开始日期", "Enter a date"),
        (["{a}", "{future}", "5"], "周开始日期", "future"),
        (["{a}", None, "-3"], "登录/使用次数", "whole number"),
        (["{a}", None, "2.5"], "登录/使用次数", "whole number"),
        (["{a}", None, "many"], "登录/使用次数", "whole number"),
        (["{a}", None, ""], "登录/使用次数", "required"),
    ],
)
def test_it_reports_each_kind_of_bad_row_with_its_row_number_and_writes_nothing(
    personas, upload, cells, column, message
):
    a = personas.customer_a
    fill = {"{a}": a.number, "{future}": (monday(0) + timedelta(weeks=1)).isoformat()}
    bad = [fill.get(c, c) if c is not None else monday(2).isoformat() for c in cells]
    job = upload(csv_file([[a.number, monday(3).isoformat(), "10"], bad, [a.number, monday(1).isoformat(), "30"]]))

    assert job.error_count == 1
    assert errors_of(job) == [(3, column)]  # the header is row 1, so the second data row is row 3
    assert message in job.report["errors"][0]["message"]
    assert job.report["valid_rows"] == 2
    assert imports.queue_apply(job=job, user=personas.manager_a) is False
    assert imports.apply_job(job.pk) is False
    assert not UsageWeek.objects.exists()


def test_it_reports_a_second_row_for_the_same_customer_and_week(personas, upload):
    a = personas.customer_a
    a.credit_code = code(2)
    a.save()
    rows = [
        [a.number, monday(2).isoformat(), "10"],
        [a.number, monday(1).isoformat(), "10"],
        [code(2), (monday(2) + timedelta(days=6)).isoformat(), "11"],  # same customer, same week (Sunday)
    ]
    job = upload(csv_file(rows))
    assert errors_of(job) == [(4, "周开始日期")]
    assert "row 2" in job.report["errors"][0]["message"]
    assert not UsageWeek.objects.exists()


def test_one_bad_row_found_at_apply_time_writes_nothing(personas, upload):
    a, b = personas.customer_a, personas.customer_b
    job = upload(csv_file([[a.number, monday(2).isoformat(), "10"], [b.number, monday(2).isoformat(), "20"]]))
    assert job.error_count == 0
    b.owner = personas.rep_c  # moved to team B after the preview: no longer manager_a's to import for
    b.team = personas.team_b
    b.save()

    job = run(job, personas.manager_a)

    assert job.state == ImportJob.State.FAILED
    assert errors_of(job) == [(3, "客户编号")]
    assert not UsageWeek.objects.exists()


def test_re_importing_the_same_file_changes_nothing(personas, upload):
    a = personas.customer_a
    rows = [[a.number, monday(2).isoformat(), "10"], [a.number, monday(1).isoformat(), "12"]]
    run(upload(csv_file(rows)), personas.manager_a)
    before = list(UsageWeek.objects.order_by("pk").values_list("pk", "week_start", "logins", "updated_at"))

    job = run(upload(csv_file(rows)), personas.manager_a)

    assert job.state == ImportJob.State.DONE
    assert job.report["created"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert list(UsageWeek.objects.order_by("pk").values_list("pk", "week_start", "logins", "updated_at")) == before


def test_a_new_number_for_a_stored_week_replaces_it(personas, upload):
    a = personas.customer_a
    UsageWeek.objects.create(customer=a, week_start=monday(2), logins=10)  # e.g. posted through the API
    rows = [[a.number, monday(2).isoformat(), "25"], [a.number, monday(1).isoformat(), "12"]]

    job = run(upload(csv_file(rows)), personas.manager_a)

    assert job.report["created"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert stored(a) == {monday(2): 25, monday(1): 12}
    assert UsageWeek.objects.count() == 2


def test_imported_usage_makes_the_usage_signal_fire_in_the_scan(personas, upload):
    a, b = personas.customer_a, personas.customer_b
    rows = [[a.number, monday(n).isoformat(), "100" if n > 2 else "20"] for n in range(10, 0, -1)]
    rows += [[b.number, monday(n).isoformat(), "100"] for n in range(10, 0, -1)]  # steady: no signal
    job = run(upload(csv_file(rows)), personas.manager_a)
    assert job.state == ImportJob.State.DONE

    churn.run_scan()

    signals = CustomerHealth.objects.get(customer=a).signals
    assert "usage" in signals
    assert "20" in signals["usage"]["detail"] and "100" in signals["usage"]["detail"]
    assert "usage" not in CustomerHealth.objects.get(customer=b).signals


# --- who may import for whom ----------------------------------------------------------------


def test_a_manager_imports_only_for_customers_they_may_see_and_others_read_as_unknown(personas, upload):
    c = personas.customer_c  # team B's
    c.credit_code = code(3)
    c.save()
    a = personas.customer_a
    rows = [
        [a.number, monday(1).isoformat(), "5"],
        [c.number, monday(1).isoformat(), "5"],
        [code(3), "2026-01-05", "5"],
    ]
    job = upload(csv_file(rows))
    assert errors_of(job) == [(3, "客户编号"), (4, "客户编号")]
    messages = [e["message"] for e in job.report["errors"]]
    assert all("Unknown customer" in m for m in messages)  # the same words as for a customer that does not exist
    assert not any(c.name in m for m in messages)
    assert imports.queue_apply(job=job, user=personas.manager_a) is False

    job = upload(csv_file(rows[1:]), user=personas.manager_b)  # team B's manager may
    assert job.error_count == 0, job.report
    run(job, personas.manager_b)
    assert UsageWeek.objects.filter(customer=c).count() == 2


def test_an_admin_imports_for_any_customer(personas, upload):
    rows = [[cust.number, monday(1).isoformat(), "5"] for cust in (personas.customer_a, personas.customer_c)]
    job = run(upload(csv_file(rows), user=personas.admin), personas.admin)
    assert job.state == ImportJob.State.DONE
    assert UsageWeek.objects.count() == 2


def test_a_merged_away_customer_is_pointed_at_its_survivor(personas, upload):
    survivor = personas.customer_a
    merged = CustomerFactory(name="旧档案", owner=personas.rep_a, merged_into=survivor)
    job = upload(csv_file([[merged.number, monday(1).isoformat(), "5"]]))
    assert errors_of(job) == [(2, "客户编号")]
    assert survivor.number in job.report["errors"][0]["message"]


@pytest.mark.parametrize("persona", ["rep_a", "finance"])
def test_reps_and_finance_may_not_import_even_with_the_import_permission(personas, persona):
    user = getattr(personas, persona)
    with pytest.raises(imports.PermissionDenied):
        imports.start_import(
            user=user, upload=csv_file([[personas.customer_a.number, "2026-01-05", "1"]]), kind="usage"
        )
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="import_data"))
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    job = imports.start_import(
        user=user, upload=csv_file([[personas.customer_a.number, "2026-01-05", "1"]]), kind="usage"
    )
    assert job.state == ImportJob.State.FAILED  # the spec itself refuses: only managers and admins
    assert not UsageWeek.objects.exists()


def test_it_refuses_the_pages_to_a_rep_and_hides_a_job_from_another_manager(personas, client_for, upload):
    job = upload(csv_file([[personas.customer_a.number, monday(1).isoformat(), "5"]]))
    client = client_for(personas.rep_a)
    for name, args in [
        ("usage_import", []),
        ("usage_import_template", []),
        ("usage_import_detail", [job.pk]),
        ("usage_import_progress", [job.pk]),
    ]:
        assert client.get(reverse(f"accounts:{name}", args=args)).status_code == 403
    assert client.post(reverse("accounts:usage_import_apply", args=[job.pk])).status_code == 403
    file = csv_file([[personas.customer_a.number, monday(1).isoformat(), "5"]])
    assert client.post(reverse("accounts:usage_import"), {"file": file}).status_code == 403

    other = client_for(personas.manager_b)
    for name in ("usage_import_detail", "usage_import_progress"):
        assert other.get(reverse(f"accounts:{name}", args=[job.pk])).status_code == 404
    assert other.post(reverse("accounts:usage_import_apply", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert not UsageWeek.objects.exists()


def test_a_customer_import_job_is_not_opened_as_a_usage_job(personas, client_for):
    from tests.accounts.test_imports import csv_file as customer_csv
    from tests.accounts.test_imports import row

    with translation.override("en"):
        job = imports.start_import(user=personas.manager_a, upload=customer_csv([row(1)]))
    response = client_for(personas.manager_a).get(reverse("accounts:usage_import_detail", args=[job.pk]))
    assert response.status_code == 404


# --- pages --------------------------------------------------------------------------------


def test_it_uploads_previews_and_applies_through_the_celery_task(personas, client_for, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    a = personas.customer_a
    client = client_for(personas.manager_a)
    file = csv_file([[a.number, monday(2).isoformat(), "10"], [a.number, monday(1).isoformat(), "-1"]])
    response = client.post(reverse("accounts:usage_import"), {"file": file})
    job = ImportJob.objects.get(kind="usage")
    assert response.status_code == 302
    assert response.url == reverse("accounts:usage_import_detail", args=[job.pk])
    page = client.get(response.url).content.decode()
    assert "登录/使用次数" in page and "import-apply" not in page

    file = csv_file([[a.number, monday(2).isoformat(), "10"], [a.number, monday(1).isoformat(), "11"]])
    client.post(reverse("accounts:usage_import"), {"file": file})
    job = ImportJob.objects.filter(kind="usage").latest("pk")
    assert (
        'data-testid="import-apply"'
        in client.get(reverse("accounts:usage_import_detail", args=[job.pk])).content.decode()
    )
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        response = client.post(reverse("accounts:usage_import_apply", args=[job.pk]))
    assert response.status_code == 302
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert stored(a) == {monday(2): 10, monday(1): 11}
    partial = client.get(reverse("accounts:usage_import_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert partial.headers["HX-Redirect"] == reverse("accounts:usage_import_detail", args=[job.pk])
    assert 'data-testid="import-done"' in client.get(partial.headers["HX-Redirect"]).content.decode()


def test_the_progress_partial_polls_its_own_url(personas, client_for, upload):
    job = upload(csv_file([[personas.customer_a.number, monday(1).isoformat(), "5"]]))
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING, processed_rows=1)
    html = client_for(personas.manager_a).get(reverse("accounts:usage_import_progress", args=[job.pk])).content.decode()
    assert reverse("accounts:usage_import_progress", args=[job.pk]) in html
    assert 'hx-trigger="every 1s"' in html and "100%" in html


def test_it_refuses_a_file_of_another_type_or_a_binary_dressed_as_csv(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.post(reverse("accounts:usage_import"), {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 200
    assert not ImportJob.objects.exists()
    with translation.override("en"):
        job = imports.start_import(
            user=personas.manager_a, upload=SimpleUploadedFile("u.csv", b"PK\x03\x04" + b"\0" * 64), kind="usage"
        )
    assert job.state == ImportJob.State.FAILED
    assert "not a CSV text file" in job.report["file_error"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_it_serves_the_template_with_headers_in_the_ui_language(personas, client_for, language):
    client = client_for(personas.manager_a)
    client.cookies["django_language"] = language
    response = client.get(reverse("accounts:usage_import_template"))
    assert response.status_code == 200
    header = [c.value for c in next(load_workbook(io.BytesIO(response.content)).active.iter_rows(max_row=1))]
    assert header == (EN if language == "en" else ZH)


def test_the_warning_list_links_to_the_usage_import(personas, client_for):
    page = client_for(personas.manager_a).get(reverse("accounts:churn_warnings")).content.decode()
    assert reverse("accounts:usage_import") in page and 'data-testid="usage-import-link"' in page


def test_a_usage_job_is_not_opened_on_the_customer_import_pages(personas, client_for, upload):
    job = upload(csv_file([[personas.customer_a.number, monday(1).isoformat(), "5"]]))
    client = client_for(personas.manager_a)
    assert client.get(reverse("accounts:import_detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("accounts:import_apply", args=[job.pk])).status_code == 404
    assert job.original_name not in client.get(reverse("accounts:import_upload")).content.decode()


def test_it_checks_a_file_with_a_bounded_number_of_queries(personas, django_assert_max_num_queries):
    customers = [personas.customer_a, personas.customer_b] + [
        CustomerFactory(owner=personas.rep_a, credit_code=code(500 + n)) for n in range(20)
    ]
    rows = [
        [c.credit_code if c.credit_code and n % 2 else c.number, monday(n + 1).isoformat(), str(n)]
        for c in customers
        for n in range(15)
    ]
    file = csv_file(rows)
    with django_assert_max_num_queries(8):
        validation = imports.validate_file(imports.SPECS["usage"], file, "u.csv", user=personas.manager_a)
    assert not validation.bad_rows
    assert validation.total == len(customers) * 15

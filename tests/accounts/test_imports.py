"""Customer import: parse and check everything first, then write all rows or none."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from accounts.models import Contact, Customer, ImportJob
from accounts.services import imports
from accounts.services.customers import refresh_completeness
from accounts.validators import credit_code_check_char
from tests.factories import CustomerFactory

ZH = ["客户名称", "统一社会信用代码", "行业", "省份", "城市", "负责人(用户名)", "联系人", "联系人角色", "手机", "标签"]
EN = ["name", "credit_code", "industry", "province", "city", "owner", "contact", "contact role", "phone", "tags"]


def code(n: int) -> str:
    body = f"9131000{n:010d}"
    return body + credit_code_check_char(body)


def row(n: int, **overrides) -> list[str]:
    values = {
        "name": f"测试客户{n}有限公司",
        "credit_code": code(n),
        "industry": "制造业",
        "province": "上海",
        "city": "上海",
        "owner": "rep_a",
        "contact": f"联系人{n}",
        "role": "决策者",
        "phone": f"1381234{n:04d}",
        "tags": "重点客户,华东",
    }
    values.update(overrides)
    return list(values.values())


def csv_file(rows, header=ZH, encoding="utf-8-sig", name="customers.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, header=ZH, name="customers.xlsx") -> SimpleUploadedFile:
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


@pytest.fixture
def upload(personas):
    def _upload(file, user=None):
        with translation.override("en"):  # messages are stored in the uploader's language
            return imports.start_import(user=user or personas.manager_a, upload=file)

    return _upload


def test_it_imports_a_utf8_csv_with_chinese_headers(personas, upload):
    job = upload(csv_file([row(1), row(2, owner="")]))
    assert (job.state, job.total_rows, job.error_count) == (ImportJob.State.PREVIEWED, 2, 0)
    assert Customer.objects.filter(name__startswith="测试客户").count() == 0  # the preview writes nothing

    job = run(job, personas.manager_a)

    assert job.state == ImportJob.State.DONE
    assert job.processed_rows == 2
    assert job.report["created"] == {"customers": 2, "contacts": 2, "tags": 4}
    first = Customer.objects.get(credit_code=code(1))
    assert (first.owner, first.team, first.industry) == (personas.rep_a, personas.team_a, "manufacturing")
    assert first.normalized_name == "测试客户1"
    assert first.completeness > 0
    assert refresh_completeness([first.pk, Customer.objects.get(credit_code=code(2)).pk]) == 0  # already right
    assert sorted(first.tags.values_list("name", flat=True)) == ["华东", "重点客户"]
    contact = first.contacts.get()
    assert (contact.name, contact.role, contact.is_primary) == ("联系人1", "decision_maker", True)
    assert first.history.get().history_change_reason == f"import #{job.pk}"
    assert Customer.objects.get(credit_code=code(2)).owner == personas.manager_a  # blank owner = importer


def test_it_accepts_english_headers_and_english_labels_in_an_xlsx(personas, upload):
    job = upload(xlsx_file([row(3, industry="Manufacturing", role="purchaser")], header=EN))
    assert job.error_count == 0, job.report
    run(job, personas.manager_a)
    customer = Customer.objects.get(credit_code=code(3))
    assert customer.industry == "manufacturing"
    assert customer.contacts.get().role == "purchaser"


def test_it_reads_a_gbk_encoded_csv(personas, upload):
    job = upload(csv_file([row(4, name="杭州瑞丰贸易有限公司")], encoding="gbk"))
    assert job.error_count == 0, job.report
    run(job, personas.manager_a)
    assert Customer.objects.filter(name="杭州瑞丰贸易有限公司").exists()


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"phone": "12345"}, "手机", "mobile"),
        ({"name": ""}, "客户名称", "required"),
        ({"credit_code": "91310000MA1K4CJ35Y"}, "统一社会信用代码", "check digit"),
        ({"credit_code": "NOT-A-CODE"}, "统一社会信用代码", "18"),
        ({"industry": "炼金术"}, "行业", "Unknown value"),
        ({"owner": "nobody"}, "负责人(用户名)", "Unknown or inactive user"),
        ({"owner": "rep_c"}, "负责人(用户名)", "not in a team you manage"),
    ],
)
def test_it_reports_each_kind_of_bad_row_with_its_row_and_column(personas, upload, overrides, column, message):
    job = upload(csv_file([row(10), row(11, **overrides)]))
    assert job.error_count == 1
    assert errors_of(job) == [(3, column)]  # the header is row 1, so the second data row is row 3
    assert message in job.report["errors"][0]["message"]
    assert job.report["valid_rows"] == 1


def test_it_reports_duplicates_within_the_file(personas, upload):
    job = upload(csv_file([row(20), row(21, credit_code=code(20)), row(22, name="测试客户20股份有限公司")]))
    assert errors_of(job) == [(3, "统一社会信用代码"), (4, "客户名称")]
    assert "row 2" in job.report["errors"][0]["message"]


def test_it_reports_duplicates_of_existing_customers_by_code_or_normalised_name(personas, upload):
    CustomerFactory(
        name="上海星辰科技有限公司", normalized_name="上海星辰科技", credit_code=code(30), owner=personas.rep_a
    )
    job = upload(csv_file([row(31, credit_code=code(30)), row(32, name="上海 星辰科技 股份有限公司"), row(33)]))
    assert errors_of(job) == [(2, "统一社会信用代码"), (3, "客户名称")]
    assert "上海星辰科技有限公司" in job.report["errors"][0]["message"]


def test_it_ignores_merged_away_records_when_checking_names(personas, upload):
    survivor = CustomerFactory(name="甲", owner=personas.rep_a)
    CustomerFactory(name="测试客户40有限公司", normalized_name="测试客户40", merged_into=survivor, owner=personas.rep_a)
    assert upload(csv_file([row(40)])).error_count == 0


def test_it_lets_an_admin_assign_any_owner(personas, upload):
    job = upload(csv_file([row(41, owner="rep_c")]), user=personas.admin)
    assert job.error_count == 0
    run(job, personas.admin)
    assert Customer.objects.get(credit_code=code(41)).team == personas.team_b


def test_it_refuses_to_apply_a_file_with_one_bad_row_and_writes_nothing(personas, upload):
    job = upload(csv_file([row(50), row(51, phone="bad"), row(52)]))
    assert not imports.queue_apply(job=job, user=personas.manager_a)
    assert imports.apply_job(job.pk) is False
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert not Customer.objects.filter(name__startswith="测试客户").exists()


def test_it_rechecks_on_apply_and_writes_nothing_when_a_row_became_a_duplicate(personas, upload):
    job = upload(csv_file([row(60), row(61), row(62)]))
    assert job.error_count == 0
    CustomerFactory(name="别名", credit_code=code(62), owner=personas.rep_a)  # created after the preview

    job = run(job, personas.manager_a)

    assert job.state == ImportJob.State.FAILED
    assert errors_of(job) == [(4, "统一社会信用代码")]
    assert not Customer.objects.filter(name__startswith="测试客户").exists()
    assert not Contact.objects.filter(name__startswith="联系人").exists()


def test_it_applies_a_job_only_once(personas, upload):
    job = run(upload(csv_file([row(70)])), personas.manager_a)
    assert job.state == ImportJob.State.DONE
    assert imports.apply_job(job.pk) is False
    assert imports.queue_apply(job=job, user=personas.manager_a) is False
    assert Customer.objects.filter(credit_code=code(70)).count() == 1


def test_it_fails_a_file_that_lacks_the_name_column(personas, upload):
    with pytest.raises(imports.ImportFileError, match="客户名称"):
        imports.validate_file(
            imports.SPECS["customers"], csv_file([["x"]], header=["城市"]), "a.csv", user=personas.manager_a
        )


def test_it_checks_existing_records_with_a_bounded_number_of_queries(personas, upload, django_assert_max_num_queries):
    rows = [row(n, owner=["rep_a", "rep_b", ""][n % 3]) for n in range(100, 400)]
    file = csv_file(rows)
    with django_assert_max_num_queries(12):
        validation = imports.validate_file(imports.SPECS["customers"], file, "a.csv", user=personas.manager_a)
    assert not validation.bad_rows


# --- views --------------------------------------------------------------------------------


def test_it_uploads_a_file_and_previews_its_errors(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.post(reverse("accounts:import_upload"), {"file": csv_file([row(80), row(81, phone="12")])})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("accounts:import_detail", args=[job.pk])
    page = client.get(response.url).content.decode()
    assert "手机" in page and "import-apply" not in page


def test_it_refuses_a_file_of_another_type(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.post(reverse("accounts:import_upload"), {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 200
    assert not ImportJob.objects.exists()


def test_it_applies_through_the_celery_task_in_eager_mode(personas, client_for, settings, upload):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    job = upload(csv_file([row(90), row(91)]))
    client = client_for(personas.manager_a)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        response = client.post(reverse("accounts:import_apply", args=[job.pk]))
    assert response.status_code == 302
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert Customer.objects.filter(name__startswith="测试客户9").count() == 2
    partial = client.get(reverse("accounts:import_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert partial.headers["HX-Redirect"] == reverse("accounts:import_detail", args=[job.pk])


def test_it_validates_a_large_upload_in_the_task(personas, upload, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(imports, "SYNC_VALIDATE_MAX_BYTES", 10)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        job = upload(csv_file([row(95), row(96, phone="1")]))
    assert job.state == ImportJob.State.RUNNING
    callbacks[0]()
    job.refresh_from_db()
    assert (job.state, job.total_rows, job.error_count) == (ImportJob.State.PREVIEWED, 2, 1)


def test_it_polls_progress_while_the_job_runs(personas, client_for, upload):
    job = upload(csv_file([row(97)]))
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING, processed_rows=1)
    html = client_for(personas.manager_a).get(reverse("accounts:import_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "100%" in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_it_serves_the_template_with_headers_in_the_ui_language(personas, client_for, language):
    client = client_for(personas.manager_a)
    client.cookies["django_language"] = language
    response = client.get(reverse("accounts:import_template"))
    assert response.status_code == 200
    header = [c.value for c in next(load_workbook(io.BytesIO(response.content)).active.iter_rows(max_row=1))]
    assert header[0] == ("Name" if language == "en" else "客户名称")
    assert header[1] == ("Credit code" if language == "en" else "统一社会信用代码")


def test_it_refuses_the_import_pages_to_a_rep(personas, client_for, upload):
    job = upload(csv_file([row(98)]))
    client = client_for(personas.rep_a)
    for name, args in [("import_upload", []), ("import_template", []), ("import_detail", [job.pk])]:
        assert client.get(reverse(f"accounts:{name}", args=args)).status_code == 403
    assert client.post(reverse("accounts:import_apply", args=[job.pk])).status_code == 403
    assert client.post(reverse("accounts:import_upload"), {"file": csv_file([row(99)])}).status_code == 403
    assert not Customer.objects.filter(name__startswith="测试客户").exists()


def test_it_shows_a_job_only_to_its_creator_and_admins(personas, client_for, upload):
    job = upload(csv_file([row(100)]))
    other = client_for(personas.manager_b)
    for name in ("import_detail", "import_progress"):
        assert other.get(reverse(f"accounts:{name}", args=[job.pk])).status_code == 404
    assert other.post(reverse("accounts:import_apply", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert client_for(personas.admin).get(reverse("accounts:import_detail", args=[job.pk])).status_code == 200


def test_it_allows_apply_only_by_post(personas, client_for, upload):
    job = upload(csv_file([row(101)]))
    assert client_for(personas.manager_a).get(reverse("accounts:import_apply", args=[job.pk])).status_code == 405

"""Browser test of the data tools: import with preview and progress, then a hand-over."""

import csv
import re

import pytest
from django.urls import reverse

from accounts.models import Customer, ImportJob, Transfer
from accounts.validators import credit_code_check_char

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = ["客户名称", "统一社会信用代码", "行业", "阶段", "城市", "负责人(用户名)", "联系人", "职务", "手机", "标签"]


def code(n: int) -> str:
    body = f"9144030{n:010d}"
    return body + credit_code_check_char(body)


def write_csv(path, phone_of_row_3: str):
    rows = [
        [
            "深圳启明软件有限公司",
            code(1),
            "IT与软件",
            "意向",
            "深圳",
            "rep_a",
            "陈静",
            "IT总监",
            "13912345678",
            "重点客户",
        ],
        ["广州恒通物流有限公司", code(2), "物流", "潜在", "广州", "rep_a", "刘洋", "采购经理", phone_of_row_3, ""],
        ["杭州瑞丰贸易有限公司", code(3), "零售", "潜在", "杭州", "rep_b", "赵敏", "总经理", "0571-88886666", "华东"],
    ]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return str(path)


def test_it_imports_a_file_after_fixing_it_then_hands_a_reps_customers_over(
    personas, new_page, screenshot, settings, tmp_path
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    page = new_page(personas.manager_a)
    page.goto(page.base_url + reverse("accounts:customer_list"))
    page.click("[data-testid=tool-import]")
    screenshot(page, "import-upload")

    page.set_input_files("#id_file", write_csv(tmp_path / "bad.csv", "12345"))
    page.click("[data-testid=import-upload]")
    errors = page.locator("[data-testid=import-error-table]")
    assert "3" in errors.locator("tbody tr").first.inner_text()
    assert "手机" in errors.inner_text()
    assert page.locator("[data-testid=import-apply]").count() == 0
    screenshot(page, "import-preview-errors")

    page.goto(page.base_url + reverse("accounts:import_upload"))
    page.set_input_files("#id_file", write_csv(tmp_path / "fixed.csv", "13800001111"))
    page.click("[data-testid=import-upload]")
    assert page.locator("[data-testid=import-valid]").inner_text() == "3"
    screenshot(page, "import-preview-clean")
    page.click("[data-testid=import-apply]")
    page.wait_for_selector("[data-testid=import-done]")
    assert "100%" in page.locator("[data-testid=import-progress]").inner_text()
    screenshot(page, "import-done")
    assert ImportJob.objects.filter(state=ImportJob.State.DONE).count() == 1
    assert Customer.objects.filter(owner=personas.rep_a).count() == 3  # MARKER-A and two imported

    page.goto(page.base_url + reverse("accounts:customer_list"))
    page.click("[data-testid=tool-handover]")
    page.select_option("#id_from_user", str(personas.rep_a.pk))
    page.select_option("#id_to_user", str(personas.rep_b.pk))
    page.fill("#id_reason", "rep_a 调岗")
    screenshot(page, "handover-form")
    page.click("[data-testid=handover-preview]")
    assert re.search(r"(?<!\d)3(?!\d)", page.locator("[data-testid=handover-count]").inner_text())
    screenshot(page, "handover-confirm")
    page.click("[data-testid=handover-confirm]")
    page.wait_for_selector("[data-testid=transfers]")
    assert "rep_a 调岗" in page.locator("[data-testid=transfers]").inner_text()
    screenshot(page, "handover-done")
    assert Customer.objects.filter(owner=personas.rep_a).count() == 0
    assert Transfer.objects.get().customer_count == 3


def test_it_merges_two_customers_from_the_detail_page(personas, new_page, screenshot):
    from tests.factories import CustomerFactory

    dup = CustomerFactory(name="MARKER-A 甲公司 (重复)", owner=personas.rep_b, city="苏州")
    page = new_page(personas.manager_a)
    page.goto(page.base_url + personas.customer_a.get_absolute_url())
    page.fill("[data-testid=merge-with] input[name=q]", "MARKER-A")
    page.click("[data-testid=merge-with] button")
    page.click(f"[data-testid=merge-candidates] a[href$='/{dup.pk}/']")
    page.check("#f-city-b")
    screenshot(page, "merge")
    page.click("[data-testid=merge-submit]")
    page.wait_for_url(page.base_url + personas.customer_a.get_absolute_url())
    dup.refresh_from_db()
    assert dup.merged_into_id == personas.customer_a.pk
    assert Customer.objects.get(pk=personas.customer_a.pk).city == "苏州"


def test_it_polls_the_progress_bar_until_the_import_is_done(personas, new_page, screenshot):
    from django.core.files.base import ContentFile

    job = ImportJob.objects.create(
        file=ContentFile(b"x", name="big.csv"),
        original_name="big.csv",
        created_by=personas.manager_a,
        state=ImportJob.State.RUNNING,
        total_rows=50000,
        processed_rows=20000,
        report={"phase": "writing"},
    )
    page = new_page(personas.manager_a)
    page.goto(page.base_url + reverse("accounts:import_detail", args=[job.pk]))
    assert "40%" in page.locator("[data-testid=import-progress]").inner_text()
    ImportJob.objects.filter(pk=job.pk).update(processed_rows=35000)
    page.locator("[data-testid=import-progress]").filter(has_text="70%").wait_for()  # no eval under the CSP
    screenshot(page, "import-progress")
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE, processed_rows=50000, report={"created": {"customers": 50000, "contacts": 0}}
    )
    page.wait_for_selector("[data-testid=import-done]")

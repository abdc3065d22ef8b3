"""Lead import through accounts' generic engine: preview, all-or-nothing, duplicates, the pool."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ImportJob
from accounts.services import imports
from leads.models import Lead
from tests.leads.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db

HEADER = "公司名称,联系人,电话,渠道,人员规模,已接触决策人,互动次数,负责人\n"


def upload(text, name="leads.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_it_registers_the_lead_spec_with_the_shared_engine():
    assert isinstance(imports.SPECS["leads"], imports.ImportSpec)


def test_it_previews_then_imports_scored_leads_into_the_pool_or_to_an_owner(personas):
    ChannelFactory(code="exhibition", name="行业展会", quality=80)
    text = (
        HEADER + "甲方科技有限公司,张三,13800000011,行业展会,5000+,是,5,\n乙方物流,李四,,exhibition,50-199,否,0,rep_a\n"
    )
    job = imports.start_import(user=personas.manager_a, upload=upload(text), kind="leads")
    assert job.state == ImportJob.State.PREVIEWED and job.error_count == 0 and not Lead.objects.exists()
    assert imports.queue_apply(job=job, user=personas.manager_a)
    assert imports.apply_job(job.pk)
    first, second = Lead.objects.order_by("pk")
    assert first.owner_id is None and first.score == 97 and first.intent == "high"
    assert first.history.first().history_user == personas.manager_a
    assert second.owner == personas.rep_a and second.team == personas.team_a


def test_it_imports_nothing_when_a_row_duplicates_a_lead_or_is_out_of_scope(personas):
    LeadFactory(company="已有线索公司", normalized_company="已有线索")
    text = (
        HEADER
        + "全新公司,王五,,,,,,\n已有线索有限公司,赵六,,,,,,\n丙公司,钱七,,,,,,rep_c\n未知渠道公司,孙八,,火星,,,,\n"
    )
    job = imports.start_import(user=personas.manager_a, upload=upload(text), kind="leads")
    messages = " ".join(e["message"] for e in job.report["errors"])
    assert job.error_count == 3
    assert "already exists" in messages and "rep_c" in messages and "火星" in messages
    assert not imports.queue_apply(job=job, user=personas.manager_a)
    assert Lead.objects.count() == 1


def test_it_keeps_the_import_pages_for_people_who_may_import(personas, client_for):
    assert client_for(personas.rep_a).get(reverse("leads:lead_import")).status_code == 403
    assert client_for(personas.finance).get(reverse("leads:lead_import")).status_code == 403
    c = client_for(personas.manager_a)
    assert c.get(reverse("leads:lead_import")).status_code == 200
    assert c.get(reverse("leads:lead_import_template")).status_code == 200
    response = c.post(reverse("leads:lead_import"), {"file": upload(HEADER + "页面公司,周九,,,,,,\n")})
    job = ImportJob.objects.get(kind="leads")
    assert response["Location"] == reverse("leads:lead_import_detail", args=[job.pk])
    assert c.get(response["Location"]).status_code == 200
    other = client_for(personas.manager_b)
    assert other.get(reverse("leads:lead_import_detail", args=[job.pk])).status_code == 404

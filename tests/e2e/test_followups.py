"""Browser tests of follow-ups: My day (desktop and phone), the SOP editor, the public NPS page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Customer, Stage, TierAssessment
from accounts.services.tiering import ensure_default_strategies
from followups import services
from followups.cadences import create_cadence_tasks
from followups.models import FollowUp, NpsResponse, NpsSurvey, SopStep, Task, TaskStatus, TeamChannel
from tests.factories import overdue_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _overdue_task(personas):
    FollowUp.objects.create(
        customer=personas.customer_a,
        author=personas.rep_a,
        occurred_at=timezone.now() - timedelta(days=7),
        logged_at=timezone.now() - timedelta(days=7),
        summary="上周：客户关心价格",
    )
    return services.create_task(
        customer=personas.customer_a,
        assignee=personas.rep_a,
        title="回访报价反馈",
        due_at=timezone.now() - timedelta(hours=3),
        by=personas.rep_a,
    )


def _complete_from_my_day(page, task, screenshot, name):
    page.goto(page.base_url + reverse("followups:my_day"))
    item = page.locator(f"#task-{task.pk}")
    assert "回访报价反馈" in page.locator("[data-testid=overdue]").inner_text()
    url_before = page.url
    item.locator("[data-testid=log-task]").click()
    form = item.locator("[data-testid=log-form]")
    form.wait_for()
    assert "客户关心价格" in item.locator("[data-testid=recent-history]").inner_text()
    return url_before, form


def test_it_lets_a_rep_complete_a_task_by_logging_a_follow_up_from_my_day(personas, new_page, screenshot):
    task = _overdue_task(personas)
    page = new_page(personas.rep_a)
    url_before, form = _complete_from_my_day(page, task, screenshot, "my-day")
    form.locator("[name=summary]").fill("电话确认报价，客户同意下周演示")
    form.locator("[name=next_step]").fill("安排演示")
    screenshot(page, "my-day-quick-log")
    form.locator("[data-testid=save-followup]").click()
    page.locator(f"#task-{task.pk}[data-testid=logged]").wait_for()
    assert page.url == url_before  # htmx: no full reload
    screenshot(page, "my-day-logged")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.completed_by.summary == "电话确认报价，客户同意下周演示"
    assert Customer.objects.get(pk=personas.customer_a.pk).next_step == "安排演示"


def test_a_long_overdue_list_shows_its_first_tasks_and_leads_to_the_whole_list(personas, new_page, screenshot):
    from followups.selectors import MY_DAY_ITEMS

    overdue_tasks(personas, MY_DAY_ITEMS + 5, "逾期回访")
    page = new_page(personas.rep_a)
    page.goto(page.base_url + reverse("followups:my_day"))
    overdue = page.locator("[data-testid=overdue]")
    assert overdue.locator("[data-testid=overdue-count]").inner_text() == str(MY_DAY_ITEMS + 5)
    assert overdue.locator(".list-group-item").count() == MY_DAY_ITEMS
    overdue.locator("[data-testid=more]").scroll_into_view_if_needed()
    screenshot(page, "my-day-long-overdue")
    overdue.locator("[data-testid=more] a").click()
    page.wait_for_url("**/followups/tasks/?overdue=true")
    assert "逾期回访00" in page.content()


def test_it_works_on_a_375_px_phone_with_a_field_check_in(personas, new_page, screenshot):
    task = _overdue_task(personas)
    page = new_page(personas.rep_a)
    page.set_viewport_size({"width": 375, "height": 812})
    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    page.context.set_geolocation({"latitude": 31.230416, "longitude": 121.473701, "accuracy": 20})
    url_before, form = _complete_from_my_day(page, task, screenshot, "my-day-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    form.locator("[data-testid=checkin]").click()
    page.wait_for_function("document.querySelector('[name=checkin_lat]').value !== ''")
    assert form.locator("[name=method]").input_value() == "visit"
    form.locator("[name=summary]").fill("上门拜访，现场演示")
    screenshot(page, "my-day-phone-quick-log")
    form.locator("[data-testid=save-followup]").click()
    page.locator(f"#task-{task.pk}[data-testid=logged]").wait_for()
    assert page.url == url_before
    screenshot(page, "my-day-phone-logged")
    followup = FollowUp.objects.get(task=task)
    assert (float(followup.checkin_lat), float(followup.checkin_lng)) == (31.230416, 121.473701)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
    page.goto(page.base_url + reverse("followups:customer", args=[personas.customer_a.pk]))
    assert "31.230416" in page.locator("[data-testid=checkin-info]").first.inner_text()
    screenshot(page, "customer-followups-phone")


def test_it_lets_a_manager_edit_an_sop_step_and_the_next_stage_change_uses_it(personas, new_page, screenshot):
    page = new_page(personas.manager_a)
    page.goto(page.base_url + reverse("followups:sop_list"))
    screenshot(page, "sop-list")
    page.click("[data-testid=edit-sop-intent]")
    page.wait_for_selector("[data-testid=sop-form]")
    page.fill("#id_steps-0-action", "上门演示（新版）")
    page.fill("#id_steps-0-offset_value", "5")
    page.select_option("#id_steps-0-offset_unit", "hours")
    screenshot(page, "sop-edit")
    page.click("[data-testid=save-sop]")
    page.wait_for_selector("[data-testid=sop-intent]")
    assert "上门演示（新版）" in page.locator("[data-testid=sop-intent]").inner_text()

    page.goto(page.base_url + reverse("followups:customer", args=[personas.customer_a.pk]))
    form = page.locator("[data-testid=log-form]")
    form.locator("[name=summary]").fill("客户确认有采购意向")
    form.locator("[name=stage]").select_option("intent")
    form.locator("[data-testid=save-followup]").click()
    page.locator("#customer-log [data-testid=logged]").wait_for()
    page.reload()
    assert "上门演示（新版）" in page.inner_text("body")
    screenshot(page, "customer-followups-after-stage-change")
    step = SopStep.objects.get(action="上门演示（新版）")
    task = Task.objects.get(sop_step=step, customer=personas.customer_a)
    assert Customer.objects.get(pk=personas.customer_a.pk).stage == Stage.INTENT
    assert timedelta(hours=4, minutes=59) < task.due_at - task.created_at < timedelta(hours=5, minutes=1)


def test_it_lets_a_customer_answer_an_nps_link(personas, new_page, screenshot):
    Customer.objects.filter(pk=personas.customer_a.pk).update(stage=Stage.WON)
    Contact.objects.create(customer=personas.customer_a, name="陈总", email="chen@example.com")
    services.send_nps_surveys()
    survey = NpsSurvey.objects.get()
    page = new_page()
    page.goto(page.base_url + reverse("nps_answer", args=[survey.token]))
    screenshot(page, "nps-answer")
    page.click("label[for=score-4]")
    page.fill("[name=comment]", "响应太慢")
    page.click("[data-testid=nps-submit]")
    page.wait_for_selector("[data-testid=nps-thanks]")
    screenshot(page, "nps-thanks")
    assert NpsResponse.objects.get().score == 4
    assert Task.objects.filter(origin="nps", customer=personas.customer_a).count() == 1
    page.goto(page.base_url + reverse("nps_answer", args=[survey.token]))
    assert page.locator("[data-testid=nps-error]").is_visible()
    screenshot(page, "nps-used")


@pytest.mark.parametrize("who", ["rep_a", "manager_a"])
def test_it_fits_every_followups_page_on_a_375_px_screen(personas, new_page, screenshot, who):
    user = getattr(personas, who)
    _overdue_task(personas)
    case = services.open_complaint(customer=personas.customer_a, by=personas.rep_a, description="交付延期，客户不满")
    pages = {
        "my-day": reverse("followups:my_day"),
        "tasks": reverse("followups:task_list"),
        "customer": reverse("followups:customer", args=[personas.customer_a.pk]),
        "complaints": reverse("followups:complaint_list"),
        "complaint": reverse("followups:complaint_detail", args=[case.pk]),
        "notifications": reverse("followups:notifications"),
    }
    if who == "manager_a":
        pages |= {
            "team": reverse("followups:team"),
            "sops": reverse("followups:sop_list"),
            "sop-edit": reverse("followups:sop_edit", args=["won"]),
            "nps": reverse("followups:nps_report"),
            "channels": reverse("followups:channel_list"),
            "channel-edit": reverse("followups:channel_edit", args=[personas.team_a.pk, "dingtalk"]),
        }
    page = new_page(user)
    page.set_viewport_size({"width": 375, "height": 812})
    for name, url in pages.items():
        page.goto(page.base_url + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
        screenshot(page, f"phone-{who}-{name}")


@pytest.fixture
def robot(settings):
    from tests.followups.robot import FakeRobot

    settings.CRM_WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    fake = FakeRobot()
    yield fake
    fake.stop()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_it_lets_a_manager_connect_a_wecom_group_and_send_a_test_message(personas, new_page, screenshot, robot, lang):
    page = new_page(personas.manager_a, lang=lang)
    page.goto(page.base_url + reverse("followups:channel_list"))
    assert personas.team_b.name not in page.inner_text("body")
    screenshot(page, f"channels-empty-{lang}")
    page.click(f"[data-testid=channel-{personas.team_a.pk}-wecom] [data-testid=edit-wecom]")
    form = page.locator("[data-testid=channel-form]")
    form.locator("[name=webhook_url]").fill("https://evil.example.com/hook")
    form.locator("[data-testid=save-channel]").click()
    page.locator(".invalid-feedback").first.wait_for()
    screenshot(page, f"channel-form-error-{lang}")
    form.locator("[name=webhook_url]").fill(robot.url())
    form.locator("[name=notify_reminders]").check()
    form.locator("[data-testid=save-channel]").click()
    row = page.locator(f"[data-testid=channel-{personas.team_a.pk}-wecom]")
    row.locator("[data-testid=test-wecom]").click()
    page.locator("[data-testid=last-delivery]").wait_for()
    screenshot(page, f"channels-tested-{lang}")
    assert len(robot.requests) == 1 and personas.team_a.name in robot.texts[0]
    channel = TeamChannel.objects.get(team=personas.team_a)
    assert (channel.enabled, channel.notify_reminders, channel.last_ok) == (True, True, True)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_it_shows_nps_per_team_tier_and_period(personas, new_page, screenshot, lang):
    now = timezone.now()
    for index, (customer, tier, score, period) in enumerate(
        [
            (personas.customer_a, "A", 10, "2026Q4"),
            (personas.customer_b, "C", 4, "2026Q4"),
            (personas.customer_c, "", 9, "2026Q4"),
            (personas.customer_a, "A", 8, "2026Q3"),
        ]
    ):
        if tier and not TierAssessment.objects.filter(customer=customer).exists():
            TierAssessment.objects.create(
                customer=customer, tier=tier, computed_tier=tier, potential="high", relationship="new", assessed_at=now
            )
        survey = NpsSurvey.objects.create(
            token=f"tok-{index}", customer=customer, team=customer.team, period=period, sent_at=now, expires_at=now
        )
        NpsResponse.objects.create(survey=survey, score=score, answered_at=now)
    page = new_page(personas.admin, lang=lang)
    page.goto(page.base_url + reverse("followups:nps_report"))
    assert page.locator("[data-testid=nps-tier-table] tbody tr").count() == 3
    assert page.locator("[data-testid=nps-period-table] tbody tr").count() == 2
    assert page.inner_text("[data-testid=nps-overall]") == "33.3"  # 2026Q4: 2 promoters, 1 detractor of 3
    screenshot(page, f"nps-report-{lang}")
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, f"nps-report-phone-{lang}")


def test_it_puts_tier_cadence_tasks_on_my_day(personas, new_page, screenshot):
    ensure_default_strategies()
    TierAssessment.objects.create(
        customer=personas.customer_a,
        tier="A",
        computed_tier="A",
        potential="high",
        relationship="strategic",
        assessed_at=timezone.now(),
    )
    create_cadence_tasks()
    page = new_page(personas.rep_a)
    page.goto(page.base_url + reverse("followups:my_day"))
    task = Task.objects.get(origin="cadence", assignee=personas.rep_a)
    assert task.title in page.inner_text("body")
    screenshot(page, "my-day-cadence")


def test_a_long_task_title_is_cut_short_on_a_375_px_screen_instead_of_widening_my_day(personas, new_page, screenshot):
    long_title = "Respond to the complaint of " + "华东区域重点客户" * 6
    services.create_task(
        customer=personas.customer_a,
        assignee=personas.rep_a,
        title=long_title,
        due_at=timezone.now() - timedelta(hours=3),
        by=personas.rep_a,
    )
    page = new_page(personas.rep_a)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(page.base_url + reverse("followups:my_day"))
    title = page.locator("[data-testid=overdue] [data-testid=task-item] .text-truncate").first
    assert title.inner_text() == long_title  # the whole title is there, cut only on screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert title.evaluate("e => e.scrollWidth > e.clientWidth")  # truncated with an ellipsis
    screenshot(page, "my-day-phone-long-title")

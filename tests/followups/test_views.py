"""Pages: who may see and do what (404 not visible, 403 not editable), My day, htmx log, NPS page."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Customer, Stage
from followups import services
from followups.models import Complaint, FollowUp, Notification, NpsResponse, NpsSurvey, SopStep, Task, TaskStatus
from tests.factories import overdue_tasks


def _task(personas, customer=None, assignee=None, due=None):
    customer = customer or personas.customer_a
    assignee = assignee or customer.owner
    return services.create_task(
        customer=customer, assignee=assignee, title="回访任务", due_at=due or timezone.now(), by=assignee
    )


def _log_data(**extra):
    data = {
        "method": "call",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "summary": "电话沟通",
    }
    data.update(extra)
    return data


# --- My day -------------------------------------------------------------------------------------


@time_machine.travel(timezone.make_aware(timezone.datetime(2026, 11, 23, 10, 0)), tick=False)
def test_it_shows_a_rep_their_overdue_today_and_upcoming_tasks_and_due_follow_ups(personas, client_for):
    now = timezone.now()
    _task(personas, due=now - timedelta(hours=1))  # overdue
    services.create_task(
        customer=personas.customer_a,
        assignee=personas.rep_a,
        title="今天的",
        due_at=now + timedelta(hours=5),
        by=personas.rep_a,
    )
    services.create_task(
        customer=personas.customer_a,
        assignee=personas.rep_a,
        title="下周的",
        due_at=now + timedelta(days=3),
        by=personas.rep_a,
    )
    _task(personas, customer=personas.customer_b)  # rep_b's
    Customer.objects.filter(pk=personas.customer_a.pk).update(next_followup_at=now - timedelta(hours=1))
    response = client_for(personas.rep_a).get(reverse("followups:my_day"))
    assert response.status_code == 200
    ctx = response.context
    assert [t.title for t in ctx["overdue"]] == ["回访任务"]
    assert "今天的" in [t.title for t in ctx["today"]]
    assert [t.title for t in ctx["upcoming"]] == ["下周的"]
    assert [c.pk for c in ctx["due_customers"]] == [personas.customer_a.pk]
    assert "MARKER-B" not in response.content.decode()


@time_machine.travel(timezone.make_aware(timezone.datetime(2026, 11, 23, 10, 0)), tick=False)
def test_a_big_book_shows_the_oldest_overdue_tasks_with_the_full_count_and_still_today(personas, client_for):
    from followups.selectors import MY_DAY_ITEMS

    now = timezone.now()
    overdue_tasks(personas, MY_DAY_ITEMS + 3, "逾期")
    services.create_task(
        customer=personas.customer_a, assignee=personas.rep_a, title="今天的", due_at=now + timedelta(hours=2),
        by=personas.rep_a,
    )  # fmt: skip
    response = client_for(personas.rep_a).get(reverse("followups:my_day"))
    page = response.content.decode()
    ctx = response.context
    assert len(ctx["overdue"]) == MY_DAY_ITEMS and ctx["overdue"][0].title == "逾期00"  # oldest first
    assert ctx["counts"]["overdue"] == MY_DAY_ITEMS + 3
    assert f'data-testid="overdue-count">{MY_DAY_ITEMS + 3}<' in page
    assert reverse("followups:task_list") + "?overdue=true" in page
    assert [t.title for t in ctx["today"]] == ["今天的"]  # not crowded out by the overdue ones
    assert page.count('data-testid="more"') == 1


def test_my_day_counts_a_huge_section_only_up_to_the_cap(personas, client_for, monkeypatch):
    from followups import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    now = timezone.now()
    Task.objects.bulk_create(
        Task(customer=personas.customer_a, assignee=personas.rep_a, team=personas.team_a, title=f"逾期{n}",
             due_at=now - timedelta(days=n + 1))
        for n in range(5)
    )  # fmt: skip
    response = client_for(personas.rep_a).get(reverse("followups:my_day"))
    assert response.context["counts"]["overdue"] == 4  # counted to the cap and one more
    assert 'data-testid="overdue-count">3+<' in response.content.decode()


def test_my_day_counts_a_section_shorter_than_a_page_from_its_list_without_a_count_query(personas, client_for):
    now = timezone.now()
    for n in range(3):
        _task(personas, due=now - timedelta(days=n + 1))
    client = client_for(personas.rep_a)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("followups:my_day"))
    assert response.context["counts"]["overdue"] == 3 == len(response.context["overdue"])
    assert 'data-testid="overdue-count">3<' in response.content.decode()
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "followups_task" in sql or "accounts_customer" in sql]


def test_it_builds_my_day_in_a_fixed_number_of_queries(personas, client_for, django_assert_max_num_queries):
    client = client_for(personas.rep_a)
    client.get(reverse("followups:my_day"))
    for i in range(15):
        customer = Customer.objects.create(name=f"客户{i}", owner=personas.rep_a, team=personas.team_a)
        _task(personas, customer=customer, due=timezone.now() + timedelta(hours=i - 7))
    # session, user, notices, then per section one capped count and one short list: no query per row
    with django_assert_max_num_queries(15):
        response = client.get(reverse("followups:my_day"))
    assert len(response.context["overdue"]) + len(response.context["today"]) + len(response.context["upcoming"]) == 15


@pytest.mark.parametrize("who", ["finance"])
def test_it_refuses_my_day_to_non_sales_roles(personas, client_for, who):
    assert client_for(getattr(personas, who)).get(reverse("followups:my_day")).status_code == 403


# --- quick log ----------------------------------------------------------------------------------


def test_it_serves_the_quick_log_form_as_an_htmx_partial_with_recent_history(personas, client_for):
    FollowUp.objects.create(
        customer=personas.customer_a,
        author=personas.rep_a,
        occurred_at=timezone.now(),
        logged_at=timezone.now(),
        summary="上次聊到预算",
    )
    task = _task(personas)
    url = reverse("followups:log", args=[personas.customer_a.pk]) + f"?task={task.pk}&item=task-{task.pk}"
    response = client_for(personas.rep_a).get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "上次聊到预算" in body and 'name="task"' in body


def test_it_completes_a_task_by_logging_a_follow_up_over_htmx(personas, client_for):
    task = _task(personas)
    response = client_for(personas.rep_a).post(
        reverse("followups:log", args=[personas.customer_a.pk]),
        _log_data(task=task.pk, item=f"task-{task.pk}", next_step="发方案"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#task-{task.pk}"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by.summary == "电话沟通"
    assert Customer.objects.get(pk=personas.customer_a.pk).next_step == "发方案"


def test_it_stores_a_check_in_posted_from_the_phone(personas, client_for):
    client_for(personas.rep_a).post(
        reverse("followups:log", args=[personas.customer_a.pk]),
        _log_data(method="visit", checkin_lat="31.230416", checkin_lng="121.473701", checkin_accuracy="15"),
    )
    followup = FollowUp.objects.get()
    assert (str(followup.checkin_lat), str(followup.checkin_lng), followup.checkin_accuracy) == (
        "31.230416",
        "121.473701",
        15.0,
    )
    assert followup.checkin_at is not None


def test_it_shows_a_forbidden_stage_change_as_a_form_error(personas, client_for):
    response = client_for(personas.rep_a).post(
        reverse("followups:log", args=[personas.customer_a.pk]), _log_data(stage=Stage.WON)
    )
    assert response.status_code == 200 and not FollowUp.objects.exists()
    assert response.context["form"].errors


@pytest.mark.parametrize(("who", "status"), [("rep_b", 404), ("rep_c", 404), ("manager_b", 404), ("finance", 403)])
def test_it_refuses_the_log_form_to_whoever_cannot_edit_the_customer(personas, client_for, who, status):
    user = getattr(personas, who)
    client = client_for(user)
    url = reverse("followups:log", args=[personas.customer_a.pk])
    assert client.get(url).status_code == status
    assert client.post(url, _log_data()).status_code == status
    assert not FollowUp.objects.exists()


def test_it_returns_404_for_a_task_of_someone_else_in_the_log_form(personas, client_for):
    task = _task(personas, customer=personas.customer_c)
    url = reverse("followups:log", args=[personas.customer_a.pk]) + f"?task={task.pk}"
    assert client_for(personas.rep_a).get(url).status_code == 404


# --- customer follow-ups page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("rep_a", 200), ("manager_a", 200), ("admin", 200), ("rep_b", 404), ("rep_c", 404), ("manager_b", 404)],
)
def test_it_shows_a_customers_follow_ups_only_to_who_may_see_it(personas, client_for, who, status):
    response = client_for(getattr(personas, who)).get(reverse("followups:customer", args=[personas.customer_a.pk]))
    assert response.status_code == status


def test_it_puts_follow_ups_on_the_customer_timeline(personas, client_for):
    services.log_followup(
        customer=personas.customer_a, by=personas.rep_a, method="visit", occurred_at=timezone.now(), summary="现场拜访"
    )
    response = client_for(personas.rep_a).get(reverse("accounts:customer_detail", args=[personas.customer_a.pk]))
    assert "现场拜访" in response.content.decode()


# --- tasks --------------------------------------------------------------------------------------


def test_it_lists_only_visible_tasks(personas, client_for):
    for customer in (personas.customer_a, personas.customer_b, personas.customer_c):
        _task(personas, customer=customer)
    seen = {
        who: {
            t.customer_id
            for t in client_for(getattr(personas, who)).get(reverse("followups:task_list")).context["table"].data
        }
        for who in ("rep_a", "manager_a", "manager_b", "admin")
    }
    a, b, c = personas.customer_a.pk, personas.customer_b.pk, personas.customer_c.pk
    assert seen == {"rep_a": {a}, "manager_a": {a, b}, "manager_b": {c}, "admin": {a, b, c}}


def test_it_filters_tasks_by_status_and_overdue(personas, client_for):
    _task(personas, due=timezone.now() - timedelta(days=1))
    done = _task(personas, due=timezone.now() - timedelta(days=1))
    Task.objects.filter(pk=done.pk).update(status=TaskStatus.DONE)
    _task(personas, due=timezone.now() + timedelta(days=1))
    client = client_for(personas.rep_a)
    assert len(client.get(reverse("followups:task_list"), {"overdue": "true"}).context["table"].data) == 1
    assert len(client.get(reverse("followups:task_list"), {"status": "done"}).context["table"].data) == 1


@pytest.mark.parametrize(("who", "status"), [("rep_b", 404), ("rep_c", 404), ("finance", 404)])
def test_it_refuses_cancelling_someone_elses_task(personas, client_for, who, status):
    task = _task(personas)
    assert (
        client_for(getattr(personas, who)).post(reverse("followups:task_cancel", args=[task.pk])).status_code == status
    )
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_it_refuses_reassignment_by_a_rep(personas, client_for):
    task = _task(personas)
    response = client_for(personas.rep_a).post(
        reverse("followups:task_reassign", args=[task.pk]), {"assignee": personas.rep_b.pk}
    )
    assert response.status_code == 403


def test_it_lets_a_manager_reassign_a_task_of_their_team(personas, client_for):
    task = _task(personas)
    client_for(personas.manager_a).post(
        reverse("followups:task_reassign", args=[task.pk]), {"assignee": personas.rep_b.pk}
    )
    assert Task.objects.get(pk=task.pk).assignee == personas.rep_b


@pytest.mark.parametrize(("who", "status"), [("rep_a", 302), ("rep_c", 404), ("finance", 403)])
def test_it_creates_manual_tasks_only_on_editable_customers(personas, client_for, who, status):
    response = client_for(getattr(personas, who)).post(
        reverse("followups:task_create", args=[personas.customer_a.pk]),
        {"title": "寄样品", "assignee": getattr(personas, who).pk, "due_at": "2026-12-01T10:00"},
    )
    assert response.status_code == status
    assert Task.objects.filter(title="寄样品").count() == (1 if status == 302 else 0)


# --- team view, SOP editor, NPS report: managers only ---------------------------------------------------


@pytest.mark.parametrize("name", ["followups:team", "followups:sop_list", "followups:nps_report"])
@pytest.mark.parametrize(
    ("who", "status"), [("rep_a", 403), ("rep_b", 403), ("finance", 403), ("manager_a", 200), ("admin", 200)]
)
def test_it_opens_manager_pages_to_managers_only(personas, client_for, name, who, status):
    assert client_for(getattr(personas, who)).get(reverse(name)).status_code == status


def test_it_shows_a_manager_only_their_teams_reps(personas, client_for):
    rows = client_for(personas.manager_a).get(reverse("followups:team")).context["rows"]
    assert {r["user"].username for r in rows} == {"manager_a", "rep_a", "rep_b"}


def test_it_lets_a_manager_edit_a_sop_step(personas, client_for):
    step = SopStep.objects.get(template__stage=Stage.PROSPECT, order=1)
    steps = list(SopStep.objects.filter(template=step.template).order_by("order", "id"))
    data = {
        "name": "潜在客户流程",
        "active": "on",
        "steps-TOTAL_FORMS": len(steps),
        "steps-INITIAL_FORMS": len(steps),
        "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
    }
    for i, s in enumerate(steps):
        data.update(
            {
                f"steps-{i}-id": s.pk,
                f"steps-{i}-template": s.template_id,
                f"steps-{i}-order": s.order,
                f"steps-{i}-action": s.action,
                f"steps-{i}-offset_value": s.offset_value,
                f"steps-{i}-offset_unit": s.offset_unit,
                f"steps-{i}-responsible": s.responsible,
                f"steps-{i}-active": "on",
            }
        )
    data["steps-0-offset_value"] = 6
    response = client_for(personas.manager_a).post(reverse("followups:sop_edit", args=[Stage.PROSPECT]), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    assert SopStep.objects.get(pk=step.pk).offset_value == 6


def test_it_refuses_sop_edits_to_a_rep_over_http(personas, client_for):
    assert client_for(personas.rep_a).post(reverse("followups:sop_edit", args=[Stage.PROSPECT]), {}).status_code == 403


def test_it_returns_404_for_an_unknown_stage(personas, client_for):
    assert client_for(personas.manager_a).get(reverse("followups:sop_edit", args=["bogus"])).status_code == 404


# --- complaints ---------------------------------------------------------------------------------


@pytest.fixture
def case(personas):
    return services.open_complaint(customer=personas.customer_a, by=personas.rep_a, description="发票错误")


@pytest.mark.parametrize(
    ("who", "status"),
    [("rep_a", 200), ("manager_a", 200), ("admin", 200), ("rep_b", 404), ("rep_c", 404), ("manager_b", 404)],
)
def test_it_shows_a_complaint_only_to_who_may_see_the_customer(personas, client_for, case, who, status):
    assert (
        client_for(getattr(personas, who)).get(reverse("followups:complaint_detail", args=[case.pk])).status_code
        == status
    )


@pytest.mark.parametrize(("who", "status"), [("rep_a", 403), ("manager_b", 404), ("manager_a", 302)])
def test_it_lets_only_the_teams_manager_respond_over_http(personas, client_for, case, who, status):
    response = client_for(getattr(personas, who)).post(
        reverse("followups:complaint_respond", args=[case.pk]), {"text": "好的"}
    )
    assert response.status_code == status
    assert (Complaint.objects.get(pk=case.pk).responded_at is not None) == (status == 302)


def test_it_lists_complaints_in_scope(personas, client_for, case):
    services.open_complaint(customer=personas.customer_c, by=personas.rep_c, description="x")
    data = client_for(personas.manager_a).get(reverse("followups:complaint_list")).context["table"].data
    assert [c.pk for c in data] == [case.pk]


@pytest.mark.parametrize(("who", "status"), [("rep_a", 302), ("rep_c", 404), ("finance", 403)])
def test_it_opens_a_case_only_on_an_editable_customer(personas, client_for, who, status):
    response = client_for(getattr(personas, who)).post(
        reverse("followups:complaint_create", args=[personas.customer_a.pk]),
        {"kind": "termination", "severity": "high", "description": "考虑终止合作"},
    )
    assert response.status_code == status
    assert Complaint.objects.count() == (1 if status == 302 else 0)


# --- NPS public page ----------------------------------------------------------------------------


@pytest.fixture
def survey(personas, client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    Customer.objects.filter(pk=personas.customer_a.pk).update(stage=Stage.WON)
    Contact.objects.create(customer=personas.customer_a, name="陈总", email="chen@example.com")
    services.send_nps_surveys()
    return NpsSurvey.objects.get()


def test_it_lets_an_anonymous_customer_answer_once(client, survey):
    url = reverse("nps_answer", args=[survey.token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"score": "10", "comment": "很好"})
    assert response.context["thanks"]
    again = client.post(url, {"score": "0"})
    assert again.status_code == 410 and "already" in again.context["error"]
    assert list(NpsResponse.objects.values_list("score", flat=True)) == [10]


def test_it_explains_a_wrong_token_and_stores_nothing(client, survey):
    response = client.post(reverse("nps_answer", args=["nope"]), {"score": "3"})
    assert response.status_code == 404 and "not valid" in response.context["error"]
    assert not NpsResponse.objects.exists()


def test_it_explains_an_expired_token_and_stores_nothing(client, survey):
    NpsSurvey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(reverse("nps_answer", args=[survey.token]), {"score": "3"})
    assert response.status_code == 410 and "expired" in response.context["error"]
    assert not NpsResponse.objects.exists()


def test_it_reports_nps_by_team_for_the_managers_scope(personas, client_for, survey):
    services.record_nps_answer(token=survey.token, score=3)
    report = client_for(personas.manager_a).get(reverse("followups:nps_report")).context
    assert report["overall"]["nps"] == -100.0 and report["by_team"][0]["group"] == "A队"
    assert client_for(personas.manager_b).get(reverse("followups:nps_report")).context["overall"]["total"] == 0


# --- notifications and nav ------------------------------------------------------------------------


def test_it_shows_and_clears_a_users_notifications(personas, client_for):
    Notification.objects.create(user=personas.rep_a, verb="新任务")
    Notification.objects.create(user=personas.rep_b, verb="别人的")
    client = client_for(personas.rep_a)
    response = client.get(reverse("followups:notifications"))
    assert [n.verb for n in response.context["items"]] == ["新任务"]
    client.post(reverse("followups:notifications_read"))
    assert not Notification.objects.filter(user=personas.rep_a, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=personas.rep_b, read_at__isnull=True).exists()


def test_it_adds_my_day_and_tasks_to_the_nav_and_complaints_for_managers(personas, client_for):
    def keys(user):
        return [i["key"] for i in client_for(user).get(reverse("followups:my_day")).context["nav_items"]]

    assert {"my_day", "tasks"} <= set(keys(personas.rep_a)) and "complaints" not in keys(personas.rep_a)
    assert "complaints" in keys(personas.manager_a)


def test_it_counts_unread_notices_on_the_bell_without_a_query_per_page(
    personas, client_for, django_assert_max_num_queries
):
    client = client_for(personas.rep_a)
    services.notify(users=[personas.rep_a], verb="新任务", email=False)
    assert 'data-testid="bell-count">1<' in client.get(reverse("followups:my_day")).content.decode()
    services.notify(users=[personas.rep_a], verb="又一个", email=False)
    assert 'data-testid="bell-count">2<' in client.get(reverse("followups:my_day")).content.decode()
    client.post(reverse("followups:notifications_read"))
    assert "bell-count" not in client.get(reverse("followups:my_day")).content.decode()


@pytest.mark.parametrize(("who", "status"), [("rep_a", 403), ("rep_c", 404), ("finance", 404), ("manager_a", 302)])
def test_it_lets_only_the_teams_manager_resolve_over_http(personas, client_for, case, who, status):
    response = client_for(getattr(personas, who)).post(
        reverse("followups:complaint_resolve", args=[case.pk]), {"text": "已补发"}
    )
    assert response.status_code == status
    assert (Complaint.objects.get(pk=case.pk).resolved_at is not None) == (status == 302)


def test_it_shows_open_cases_on_the_customer_timeline(personas, client_for, case):
    response = client_for(personas.manager_a).get(reverse("accounts:customer_detail", args=[personas.customer_a.pk]))
    assert "发票错误" in response.content.decode()


@pytest.mark.parametrize("name", ["followups:task_list", "followups:complaint_list", "followups:notifications"])
@pytest.mark.parametrize("who", ["rep_a", "manager_a", "admin"])
def test_it_opens_list_pages_to_sales_roles(personas, client_for, name, who):
    assert client_for(getattr(personas, who)).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["followups:task_list", "followups:complaint_list"])
def test_it_refuses_sales_lists_to_finance(personas, client_for, name):
    assert client_for(personas.finance).get(reverse(name)).status_code == 403


def test_it_offers_follow_up_actions_on_the_customer_page_only_to_editors(personas, client_for):
    url = personas.customer_a.get_absolute_url()
    owner_page = client_for(personas.rep_a).get(url).content.decode()
    assert reverse("followups:customer", args=[personas.customer_a.pk]) in owner_page
    finance_page = client_for(personas.finance).get(url).content.decode()
    assert reverse("followups:customer", args=[personas.customer_a.pk]) not in finance_page

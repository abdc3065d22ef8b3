"""Beat jobs: complaint SLA escalation, NPS surveys, reminders; and NPS rules (dormancy: test_dormancy)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Contact, Customer, Stage
from crm import outbox
from crm.roles import Role
from followups import services, tasks
from followups.models import Complaint, ComplaintStatus, NpsResponse, NpsSurvey, Task, TaskOrigin, TaskStatus
from tests.factories import CustomerFactory, TeamFactory, UserFactory

T0 = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))


@pytest.fixture
def director(personas):
    centre = TeamFactory(name="中心")
    boss = UserFactory(username="director", role=Role.MANAGER, team=centre)
    centre.manager = boss
    centre.save()
    personas.team_a.parent = centre
    personas.team_a.save()
    return boss


@pytest.fixture
def complaint(personas, director):
    with time_machine.travel(T0, tick=False):
        return services.open_complaint(customer=personas.customer_a, by=personas.rep_a, description="交付延期")


# --- complaints and SLA -------------------------------------------------------------------------


def test_it_opens_a_case_with_24_and_48_hour_clocks_and_a_response_task_for_the_manager(personas, complaint):
    assert (complaint.response_due_at - T0, complaint.resolution_due_at - T0) == (
        timedelta(hours=24),
        timedelta(hours=48),
    )
    task = Task.objects.get(origin=TaskOrigin.COMPLAINT)
    assert (task.assignee, task.due_at) == (personas.manager_a, complaint.response_due_at)
    assert personas.manager_a.crm_notifications.count() == 1


def test_it_does_not_escalate_before_the_response_is_due(personas, complaint):
    with time_machine.travel(T0 + timedelta(hours=23, minutes=59), tick=False):
        assert services.check_sla() == {"response": 0, "resolution": 0}
    assert not Customer.objects.get(pk=personas.customer_a.pk).needs_attention


def test_it_escalates_a_response_breach_once_to_the_manager_and_the_director(
    personas, director, complaint, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with (
        time_machine.travel(T0 + timedelta(hours=24, minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.check_sla() == {"response": 1, "resolution": 0}
        assert services.check_sla() == {"response": 0, "resolution": 0}  # a second run: nothing
        tasks.check_sla.apply()
    complaint.refresh_from_db()
    assert complaint.response_escalated_at == T0 + timedelta(hours=24, minutes=1)
    assert Customer.objects.get(pk=personas.customer_a.pk).needs_attention
    assert director.crm_notifications.count() == 1
    assert personas.manager_a.crm_notifications.count() == 2  # the case opened, then the breach
    assert sorted(mail.outbox[-1].to) == sorted([personas.manager_a.email, director.email])


def test_it_escalates_a_solution_breach_at_48_hours_even_after_a_timely_response(personas, director, complaint):
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        services.respond_to_complaint(complaint=complaint, by=personas.manager_a, response="已联系客户")
    with time_machine.travel(T0 + timedelta(hours=47), tick=False):
        assert services.check_sla() == {"response": 0, "resolution": 0}
    with time_machine.travel(T0 + timedelta(hours=48, minutes=15), tick=False):
        assert services.check_sla() == {"response": 0, "resolution": 1}
        assert services.check_sla() == {"response": 0, "resolution": 0}
    complaint.refresh_from_db()
    assert complaint.response_escalated_at is None
    assert complaint.resolution_escalated_at == T0 + timedelta(hours=48, minutes=15)


def test_it_never_escalates_a_case_resolved_in_time(personas, complaint):
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        services.resolve_complaint(complaint=complaint, by=personas.manager_a, resolution="补发货物")
    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        assert services.check_sla() == {"response": 0, "resolution": 0}
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED
    assert Task.objects.get(origin=TaskOrigin.COMPLAINT).status == TaskStatus.DONE


@pytest.mark.parametrize("who", ["rep_a", "manager_b", "finance"])
def test_it_lets_only_the_teams_manager_respond(personas, complaint, who):
    with pytest.raises(PermissionDenied):
        services.respond_to_complaint(complaint=complaint, by=getattr(personas, who), response="x")


def test_it_needs_a_resolution_note(personas, complaint):
    with pytest.raises(services.FollowupError):
        services.resolve_complaint(complaint=complaint, by=personas.manager_a, resolution=" ")
    assert Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.OPEN


# --- NPS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([10, 9, 8, 7, 6, 0], 0.0),
        ([10, 10, 10, 10], 100.0),
        ([0, 6, 6], -100.0),
        ([9, 8, 7], 33.3),
        ([10, 9, 9, 5, 8], 40.0),
        ([], None),
    ],
)
def test_it_computes_nps_as_promoters_minus_detractors(scores, expected):
    assert services.nps_score(scores) == expected


@pytest.fixture
def won_customer(personas):
    customer = personas.customer_a
    Customer.objects.filter(pk=customer.pk).update(stage=Stage.WON)
    Contact.objects.create(customer=customer, name="陈总", email="chen@example.com", is_primary=True)
    return customer


def test_it_sends_one_survey_per_won_customer_per_quarter(personas, won_customer, django_capture_on_commit_callbacks):
    CustomerFactory(owner=personas.rep_b, stage=Stage.WON)  # no contact email: nobody to ask
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_nps_surveys(now=T0) == 1
        assert services.send_nps_surveys(now=T0 + timedelta(days=20)) == 0  # same quarter
    survey = NpsSurvey.objects.get()
    assert (survey.period, survey.expires_at - survey.sent_at) == ("2026Q4", timedelta(days=30))
    assert mail.outbox == []  # queued with the survey; the outbox's drain (every minute) sends it
    assert outbox.drain() == {"sent": 1, "failed": 0}
    assert survey.token in mail.outbox[0].body and mail.outbox[0].to == ["chen@example.com"]
    assert services.send_nps_surveys(now=T0 + timedelta(days=60)) == 1  # next quarter


@pytest.fixture
def survey(won_customer):
    services.send_nps_surveys(now=T0)
    return NpsSurvey.objects.get()


def test_it_records_one_answer_per_token(survey):
    services.record_nps_answer(token=survey.token, score=9, comment="好", now=T0 + timedelta(days=1))
    with pytest.raises(services.NpsTokenError) as used:
        services.record_nps_answer(token=survey.token, score=0, now=T0 + timedelta(days=2))
    assert used.value.code == "used"
    assert list(NpsResponse.objects.values_list("score", flat=True)) == [9]


def test_it_refuses_an_expired_token_and_stores_nothing(survey):
    with pytest.raises(services.NpsTokenError) as expired:
        services.record_nps_answer(token=survey.token, score=3, now=T0 + timedelta(days=31))
    assert expired.value.code == "expired"
    assert not NpsResponse.objects.exists() and not Task.objects.filter(origin=TaskOrigin.NPS).exists()


def test_it_refuses_a_wrong_token_and_stores_nothing(survey):
    with pytest.raises(services.NpsTokenError) as wrong:
        services.record_nps_answer(token=survey.token + "x", score=10, now=T0)
    assert wrong.value.code == "invalid"
    assert not NpsResponse.objects.exists()


@pytest.mark.parametrize("score", [-1, 11])
def test_it_refuses_a_score_outside_0_to_10(survey, score):
    with pytest.raises(services.FollowupError):
        services.record_nps_answer(token=survey.token, score=score, now=T0)
    assert not NpsResponse.objects.exists()


@pytest.mark.parametrize(("score", "callbacks"), [(6, 1), (0, 1), (7, 0), (10, 0)])
def test_it_creates_an_executive_call_back_for_a_detractor_only(personas, survey, score, callbacks):
    services.record_nps_answer(token=survey.token, score=score, now=T0)
    tasks_ = Task.objects.filter(origin=TaskOrigin.NPS)
    assert tasks_.count() == callbacks
    if callbacks:
        assert tasks_.get().assignee == personas.manager_a  # team A has no director above it here


def test_it_gives_the_call_back_to_the_director_when_there_is_one(personas, director, survey):
    services.record_nps_answer(token=survey.token, score=2, now=T0)
    assert Task.objects.get(origin=TaskOrigin.NPS).assignee == director


# --- reminders ----------------------------------------------------------------------------------


def test_it_reminds_each_person_once_a_day_of_tasks_due_today_or_overdue(personas, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False):
        for due in (T0 - timedelta(days=1), T0 + timedelta(hours=3), T0 + timedelta(days=3)):
            services.create_task(
                customer=personas.customer_a, assignee=personas.rep_a, title="t", due_at=due, by=personas.rep_a
            )
        services.create_task(
            customer=personas.customer_c,
            assignee=personas.rep_c,
            title="t",
            due_at=T0 + timedelta(days=2),
            by=personas.rep_c,
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert services.remind_due_tasks() == 1
            assert tasks.remind_due_tasks.apply().get() == 0  # the same day again: nothing
    notice = personas.rep_a.crm_notifications.get()
    assert "2" in notice.verb and "1" in notice.verb
    assert not personas.rep_c.crm_notifications.exists()
    assert mail.outbox[-1].to == [personas.rep_a.email] and "http" in mail.outbox[-1].body
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert services.remind_due_tasks() == 1  # the next day: a new reminder

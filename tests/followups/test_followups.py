"""Logging follow-ups: late marks, the customer's last/next follow-up, stage changes, tasks, check-in."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Contact, Customer, Stage, Status
from accounts.services.lifecycle import StageTransitionError
from followups import services
from followups.models import FollowUp, Method, Task, TaskOrigin, TaskStatus

NOW = timezone.make_aware(timezone.datetime(2026, 11, 23, 15, 0))


def _log(personas, **kwargs):
    values = {
        "customer": personas.customer_a,
        "by": personas.rep_a,
        "method": Method.CALL,
        "occurred_at": NOW - timedelta(hours=1),
        "summary": "聊了需求",
    }
    values.update(kwargs)
    return services.log_followup(**values)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_updates_the_customers_last_and_next_follow_up_and_next_step(personas):
    nxt = NOW + timedelta(days=3)
    _log(personas, next_followup_at=nxt, next_step="发送报价单")
    customer = Customer.objects.get(pk=personas.customer_a.pk)
    assert (customer.last_followup_at, customer.next_followup_at, customer.next_step) == (
        NOW - timedelta(hours=1),
        nxt,
        "发送报价单",
    )


def test_it_never_lets_an_older_record_overwrite_a_newer_last_follow_up(personas):
    _log(personas, occurred_at=NOW - timedelta(hours=1), next_step="新的")
    _log(personas, occurred_at=NOW - timedelta(hours=5), next_step="旧的")
    customer = Customer.objects.get(pk=personas.customer_a.pk)
    assert (customer.last_followup_at, customer.next_step) == (NOW - timedelta(hours=1), "新的")


def test_it_marks_a_log_more_than_24_hours_after_the_contact_late(personas):
    on_time = _log(personas, occurred_at=NOW - timedelta(hours=24))
    late = _log(personas, occurred_at=NOW - timedelta(hours=24, minutes=1))
    assert (on_time.is_late, late.is_late) == (False, True)
    assert late.logged_at == NOW


def test_it_refuses_a_follow_up_in_the_future(personas):
    with pytest.raises(services.FollowupError):
        _log(personas, occurred_at=NOW + timedelta(hours=1))
    assert not FollowUp.objects.exists()


def test_it_changes_the_stage_through_the_lifecycle_door(personas):
    followup = _log(personas, stage=Stage.INTENT)
    assert (followup.stage_from, followup.stage_to) == (Stage.PROSPECT, Stage.INTENT)
    assert Customer.objects.get(pk=personas.customer_a.pk).stage == Stage.INTENT
    assert Task.objects.filter(customer=personas.customer_a, origin=TaskOrigin.SOP, stage=Stage.INTENT).count() == 3


def test_it_saves_nothing_when_the_stage_change_is_forbidden(personas):
    with pytest.raises(StageTransitionError):
        _log(personas, stage=Stage.WON)
    assert not FollowUp.objects.exists()
    assert Customer.objects.get(pk=personas.customer_a.pk).last_followup_at is None


def test_it_completes_the_task_the_follow_up_was_logged_for(personas):
    task = services.create_task(
        customer=personas.customer_a, assignee=personas.rep_a, title="回访", due_at=NOW, by=personas.rep_a
    )
    followup = _log(personas, task=task)
    task.refresh_from_db()
    assert (task.status, task.completed_by, task.completed_at) == (TaskStatus.DONE, followup, NOW)
    with pytest.raises(services.FollowupError):
        _log(personas, task=task)  # a closed task is not completed twice


def test_it_refuses_a_task_of_another_customer(personas):
    task = services.create_task(
        customer=personas.customer_b, assignee=personas.rep_b, title="x", due_at=NOW, by=personas.rep_b
    )
    with pytest.raises(services.FollowupError):
        _log(personas, task=task)


def test_it_refuses_a_contact_of_another_customer(personas):
    other = Contact.objects.create(customer=personas.customer_b, name="外人")
    with pytest.raises(services.FollowupError):
        _log(personas, contact=other)


def test_it_stores_the_field_check_in_on_a_visit(personas):
    checkin = services.Checkin(lat=Decimal("31.230416"), lng=Decimal("121.473701"), accuracy=12.0)
    followup = _log(personas, method=Method.VISIT, checkin=checkin)
    followup.refresh_from_db()
    assert (followup.checkin_lat, followup.checkin_lng, followup.checkin_accuracy, followup.checkin_at) == (
        Decimal("31.230416"),
        Decimal("121.473701"),
        12.0,
        NOW,
    )


def test_it_refuses_a_check_in_on_a_phone_call(personas):
    with pytest.raises(services.FollowupError):
        _log(personas, checkin=services.Checkin(lat=Decimal(1), lng=Decimal(1)))


@pytest.mark.parametrize("who", ["rep_b", "rep_c", "finance", "manager_b"])
def test_it_refuses_a_follow_up_by_someone_who_cannot_edit_the_customer(personas, who):
    with pytest.raises(PermissionDenied):
        _log(personas, by=getattr(personas, who))


def test_it_lets_the_team_manager_log_for_the_teams_customer(personas):
    assert _log(personas, by=personas.manager_a).author == personas.manager_a


def test_it_keeps_a_dormant_customer_dormant_after_a_plain_touch(personas):
    Customer.objects.filter(pk=personas.customer_a.pk).update(status=Status.DORMANT)
    _log(personas)
    assert Customer.objects.get(pk=personas.customer_a.pk).status == Status.DORMANT


def test_it_reactivates_a_dormant_customer_whose_follow_up_shows_intent(personas):
    Customer.objects.filter(pk=personas.customer_a.pk).update(status=Status.DORMANT)
    _log(personas, stage=Stage.INTENT)
    customer = Customer.objects.get(pk=personas.customer_a.pk)
    assert (customer.status, customer.stage) == (Status.ACTIVE, Stage.INTENT)
    latest = customer.history.order_by("-history_id").first()
    assert latest.status == Status.ACTIVE and latest.history_change_reason


def test_it_audits_the_follow_up(personas):
    followup = _log(personas)
    assert followup.history.get().history_user == personas.rep_a


def test_it_lets_only_a_manager_reassign_a_task_within_their_team(personas):
    task = services.create_task(
        customer=personas.customer_a, assignee=personas.rep_a, title="x", due_at=NOW, by=personas.rep_a
    )
    with pytest.raises(PermissionDenied):
        services.reassign_task(task=task, assignee=personas.rep_b, by=personas.rep_a)
    with pytest.raises(PermissionDenied):
        services.reassign_task(task=task, assignee=personas.rep_c, by=personas.manager_a)
    services.reassign_task(task=task, assignee=personas.rep_b, by=personas.manager_a)
    task.refresh_from_db()
    assert task.assignee == personas.rep_b
    assert personas.rep_b.crm_notifications.count() == 1


def test_it_refuses_a_rep_giving_a_task_to_someone_else(personas):
    with pytest.raises(PermissionDenied):
        services.create_task(
            customer=personas.customer_a, assignee=personas.rep_b, title="x", due_at=NOW, by=personas.rep_a
        )


def test_it_reports_overdue_and_late_log_rates_per_rep(personas):
    for hours in (1, 2, 30):
        _log(personas, occurred_at=NOW - timedelta(hours=hours))
    for due in (NOW - timedelta(days=1), NOW + timedelta(days=1)):
        services.create_task(
            customer=personas.customer_a, assignee=personas.rep_a, title="t", due_at=due, by=personas.rep_a
        )
    stats = services.team_discipline(user_ids=[personas.rep_a.pk, personas.rep_b.pk])
    assert stats[personas.rep_a.pk] == {
        "open": 2,
        "overdue": 1,
        "overdue_rate": 50.0,
        "logged": 3,
        "late": 1,
        "late_rate": 33.3,
    }
    assert stats[personas.rep_b.pk]["overdue_rate"] == 0.0


def test_it_hands_the_departing_reps_open_tasks_over_with_their_customers(personas):
    from accounts.services.handover import transfer_customers
    from followups.models import Task, TaskStatus

    open_task = Task.objects.create(
        title="回访", customer=personas.customer_a, assignee=personas.rep_a, due_at=timezone.now()
    )
    done_task = Task.objects.create(
        title="已完成", customer=personas.customer_a, assignee=personas.rep_a, due_at=timezone.now(),
        status=TaskStatus.DONE,
    )  # fmt: skip
    transfer = transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a)
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    assert open_task.assignee == personas.rep_b
    assert done_task.assignee == personas.rep_a
    assert transfer.moved["tasks"] >= 1


def test_it_moves_follow_ups_and_tasks_to_the_survivor_of_a_merge(personas):
    from accounts.services.merge import merge_customers
    from followups.models import Task
    from tests.factories import CustomerFactory

    loser = CustomerFactory(name="MARKER-A 甲公司 重复", owner=personas.rep_a)
    task = Task.objects.create(title="回访", customer=loser, assignee=personas.rep_a, due_at=timezone.now())
    merge_customers(survivor=personas.customer_a, loser=loser, by=personas.manager_a)
    task.refresh_from_db()
    assert task.customer == personas.customer_a


def test_it_starts_the_prospect_sop_when_a_customer_is_created(personas):
    from accounts.models import Customer
    from accounts.services.customers import create_customer
    from followups.models import Task

    customer = create_customer(customer=Customer(name="新建客户有限公司", owner=personas.rep_a), by=personas.rep_a)
    assert Task.objects.filter(customer=customer, origin="sop").count() >= 1

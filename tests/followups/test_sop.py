"""The SOP engine: default steps and offsets, exactly-once task creation, superseded steps."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import Contact, Customer, Stage
from accounts.services.lifecycle import set_stage
from followups import services, tasks
from followups.models import Responsible, SopStep, SopTemplate, Task, TaskOrigin, TaskStatus

NOW = timezone.make_aware(timezone.datetime(2026, 11, 23, 10, 0))


def _tasks(customer, **filters):
    return Task.objects.filter(customer=customer, origin=TaskOrigin.SOP, **filters).order_by("due_at")


def test_it_creates_the_default_sops_once_and_keeps_edits(db):
    assert services.ensure_default_sops() == 0  # post_migrate already did it
    step = SopStep.objects.get(template__stage=Stage.PROSPECT, order=1)
    step.offset_value = 12
    step.save()
    SopTemplate.objects.filter(stage=Stage.WON).delete()
    assert services.ensure_default_sops() == 1
    assert SopStep.objects.get(pk=step.pk).offset_value == 12
    assert SopTemplate.objects.filter(stage=Stage.WON).count() == 1


@pytest.mark.parametrize(
    ("start", "stage", "offsets"),
    [
        (Stage.CHURNED, Stage.PROSPECT, [timedelta(hours=24), timedelta(days=3)]),
        (Stage.PROSPECT, Stage.INTENT, [timedelta(days=3), timedelta(days=7), timedelta(days=10)]),
        (
            Stage.NEGOTIATION,
            Stage.WON,
            [timedelta(hours=2), timedelta(hours=48), timedelta(days=30), timedelta(days=90)],
        ),
    ],
)
def test_it_creates_each_default_step_due_after_its_offset(personas, sops, start, stage, offsets):
    customer = personas.customer_a
    Customer.objects.filter(pk=customer.pk).update(stage=start)
    with time_machine.travel(NOW, tick=False):
        set_stage(customer=customer, stage=stage, by=personas.rep_a)
    created = list(_tasks(customer, stage=stage))
    assert [t.due_at - NOW for t in created] == offsets
    assert {t.assignee for t in created} == {personas.rep_a}
    assert {t.status for t in created} == {TaskStatus.OPEN}


def test_it_names_the_default_steps_of_domain_4(db):
    actions = {
        stage: list(SopStep.objects.filter(template__stage=stage).order_by("order").values_list("action", flat=True))
        for stage in (Stage.PROSPECT, Stage.INTENT, Stage.WON)
    }
    assert len(actions[Stage.PROSPECT]) == 2
    assert len(actions[Stage.INTENT]) == 3
    assert len(actions[Stage.WON]) == 4


def test_it_creates_a_stage_entrys_tasks_exactly_once_under_repeated_saves_and_retries(personas, sops):
    customer = personas.customer_a
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)  # the same change saved twice
    entry = customer.stage_entry_id
    services.on_stage_change(customer, Stage.PROSPECT, Stage.INTENT, personas.rep_a)  # the hook fired twice
    services.create_sop_tasks(customer=customer, stage=Stage.INTENT, stage_entry=entry)  # a retried job
    tasks.create_sop_tasks.apply(args=[customer.pk, Stage.INTENT, entry])  # the Celery task, retried
    tasks.create_sop_tasks.apply(args=[customer.pk, Stage.INTENT])  # without the key: derived from history
    assert _tasks(customer, stage=Stage.INTENT).count() == 3


def test_it_creates_new_tasks_when_the_customer_enters_the_stage_again(personas, sops):
    customer = personas.customer_a
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    set_stage(customer=customer, stage=Stage.PROSPECT, by=personas.rep_a)
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    assert _tasks(customer, stage=Stage.INTENT).count() == 6
    assert _tasks(customer, stage=Stage.INTENT, status=TaskStatus.OPEN).count() == 3


def test_it_supersedes_the_open_steps_of_the_stage_left_and_keeps_done_ones(personas, sops):
    customer = personas.customer_a
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    demo = _tasks(customer, stage=Stage.INTENT).first()
    Task.objects.filter(pk=demo.pk).update(status=TaskStatus.DONE)
    set_stage(customer=customer, stage=Stage.NEGOTIATION, by=personas.rep_a)
    statuses = sorted(_tasks(customer, stage=Stage.INTENT).values_list("status", flat=True))
    assert statuses == [TaskStatus.DONE, TaskStatus.SUPERSEDED, TaskStatus.SUPERSEDED]
    superseded = _tasks(customer, status=TaskStatus.SUPERSEDED).first()
    assert superseded.history.first().history_change_reason


def test_it_uses_the_edited_steps_at_the_next_stage_change(personas, sops):
    template = SopTemplate.objects.get(stage=Stage.INTENT)
    step = template.steps.order_by("order").first()
    step.action, step.offset_value, step.offset_unit = "现场演示", 5, "hours"
    step.responsible = Responsible.MANAGER
    services.save_sop(template=template, steps=[step], by=personas.manager_a)
    with time_machine.travel(NOW, tick=False):
        set_stage(customer=personas.customer_a, stage=Stage.INTENT, by=personas.rep_a)
    task = _tasks(personas.customer_a, sop_step=step).get()
    assert (task.title, task.due_at - NOW, task.assignee) == ("现场演示", timedelta(hours=5), personas.manager_a)


def test_it_refuses_sop_edits_by_a_rep(personas, sops):
    template = SopTemplate.objects.get(stage=Stage.INTENT)
    with pytest.raises(services.PermissionDenied):
        services.save_sop(template=template, steps=[], by=personas.rep_a)


def test_it_sends_the_kickoff_letter_once_to_the_primary_contact(personas, sops, django_capture_on_commit_callbacks):
    customer = personas.customer_a
    Contact.objects.create(customer=customer, name="陈总", email="chen@example.com", is_primary=True)
    Customer.objects.filter(pk=customer.pk).update(stage=Stage.NEGOTIATION)
    with django_capture_on_commit_callbacks(execute=True):
        set_stage(customer=customer, stage=Stage.WON, by=personas.rep_a)
    kickoff = _tasks(customer, stage=Stage.WON).first()
    assert [m.to for m in mail.outbox] == [["chen@example.com"]]
    assert services.send_sop_email(task_id=kickoff.pk) is False  # a retry sends nothing
    assert len(mail.outbox) == 1


def test_it_starts_the_prospect_sop_of_a_new_customer_once(personas, sops):
    from accounts.services.lifecycle import enter_first_stage

    customer = personas.customer_a
    enter_first_stage(customer=customer, by=personas.rep_a)
    enter_first_stage(customer=customer, by=personas.rep_a)
    assert list(_tasks(customer).values_list("stage", flat=True)) == [Stage.PROSPECT, Stage.PROSPECT]

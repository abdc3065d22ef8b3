"""The lifecycle door: allowed transitions, audit, hooks."""

import pytest

from accounts.models import Customer, Stage
from accounts.services import lifecycle
from accounts.services.lifecycle import StageTransitionError, set_stage


@pytest.fixture
def calls():
    seen = []

    def hook(customer, old, new, by):
        seen.append((customer.pk, old, new, by))

    lifecycle.register_stage_hook(hook)
    yield seen
    lifecycle.unregister_stage_hook(hook)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Stage.PROSPECT, Stage.INTENT),
        (Stage.INTENT, Stage.NEGOTIATION),
        (Stage.NEGOTIATION, Stage.WON),
        (Stage.PROSPECT, Stage.CHURNED),
        (Stage.WON, Stage.CHURNED),
        (Stage.INTENT, Stage.PROSPECT),
        (Stage.NEGOTIATION, Stage.INTENT),
        (Stage.CHURNED, Stage.PROSPECT),
    ],
)
def test_it_allows_the_moves_of_the_transitions_table(personas, start, target):
    customer = personas.customer_a
    Customer.objects.filter(pk=customer.pk).update(stage=start)
    set_stage(customer=customer, stage=target, by=personas.rep_a)
    assert Customer.objects.get(pk=customer.pk).stage == target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Stage.PROSPECT, Stage.WON),
        (Stage.PROSPECT, Stage.NEGOTIATION),
        (Stage.WON, Stage.PROSPECT),
        (Stage.CHURNED, Stage.WON),
    ],
)
def test_it_refuses_a_forbidden_move_and_saves_nothing(personas, calls, start, target):
    customer = personas.customer_a
    Customer.objects.filter(pk=customer.pk).update(stage=start)
    with pytest.raises(StageTransitionError):
        set_stage(customer=customer, stage=target, by=personas.rep_a)
    assert Customer.objects.get(pk=customer.pk).stage == start
    assert calls == []


def test_it_refuses_an_unknown_stage(personas):
    with pytest.raises(StageTransitionError):
        set_stage(customer=personas.customer_a, stage="bogus", by=personas.rep_a)


def test_it_audits_the_move_with_user_and_reason_and_calls_the_hooks(personas, calls):
    customer = personas.customer_a
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a, reason="demo booked")
    record = customer.history.order_by("-history_id").first()
    assert (record.stage, record.history_user, record.history_change_reason) == (
        Stage.INTENT,
        personas.rep_a,
        "demo booked",
    )
    assert calls == [(customer.pk, Stage.PROSPECT, Stage.INTENT, personas.rep_a)]
    assert customer.stage_entry_id == record.history_id


def test_it_does_nothing_when_the_stage_is_set_again(personas, calls):
    customer = personas.customer_a
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    before = customer.history.count()
    set_stage(customer=customer, stage=Stage.INTENT, by=personas.rep_a)
    assert customer.history.count() == before
    assert len(calls) == 1


def test_it_lists_the_allowed_next_stages_in_lifecycle_order():
    assert lifecycle.allowed_stages(Stage.INTENT) == [Stage.PROSPECT, Stage.NEGOTIATION, Stage.CHURNED]

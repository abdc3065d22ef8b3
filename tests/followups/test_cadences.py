"""Tier cadences: recurring maintenance tasks per strategy, never duplicated, due on the cadence."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Customer, MaintenanceStrategy, Stage, Status, TierAssessment
from accounts.services.tiering import ensure_default_strategies
from crm.roles import Role
from followups import cadences, services, tasks
from followups.models import FollowupPolicy, Method, Task, TaskOrigin, TaskStatus
from tests.factories import CustomerFactory, TeamFactory, UserFactory

T0 = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))
DAY = timedelta(days=1)
TODAY_END = timezone.make_aware(timezone.datetime(2026, 11, 23, 23, 59))  # what is due already: by tonight


@pytest.fixture
def strategies(db):
    ensure_default_strategies()
    return {(s.tier, s.potential, s.relationship): s for s in MaintenanceStrategy.objects.all()}


def _assess(customer, tier, potential="medium", relationship="long_term"):
    TierAssessment.objects.update_or_create(
        customer=customer,
        defaults={
            "tier": tier,
            "computed_tier": tier,
            "potential": potential,
            "relationship": relationship,
            "assessed_at": T0 - DAY,
        },
    )


def _run(at):
    with time_machine.travel(at, tick=False):
        return cadences.create_cadence_tasks()


def _cadence_tasks(customer, **filters):
    return Task.objects.filter(customer=customer, origin=TaskOrigin.CADENCE, **filters).order_by("due_at", "id")


def _actions(strategy):
    return {c["action"]: c for c in strategy.cadences}


def test_it_creates_each_cadence_of_the_strategy_once_with_its_responsible(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "A", "high", "strategic")
    assert _run(T0)["created"] == 2
    assert _run(T0)["created"] == 0  # a second run the same day
    strategy = strategies[("A", "high", "strategic")]
    by_title = {t.title: t for t in _cadence_tasks(customer)}
    assert set(by_title) == set(_actions(strategy))
    monthly, quarterly = sorted(strategy.cadences, key=lambda c: c["every_days"])
    assert by_title[monthly["action"]].assignee == personas.rep_a  # monthly visit: the owner
    assert by_title[quarterly["action"]].assignee == personas.manager_a  # executive visit: the manager
    assert {t.due_at for t in by_title.values()} == {TODAY_END}  # nothing done yet: due today
    assert {t.team_id for t in by_title.values()} == {personas.team_a.pk}


def test_it_never_duplicates_an_open_task_and_waits_for_the_cadence_after_completion(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "A", "high", "strategic")
    _run(T0)
    monthly_title = min(strategies[("A", "high", "strategic")].cadences, key=lambda c: c["every_days"])["action"]
    first = _cadence_tasks(customer, title=monthly_title).get()
    for day in range(1, 5):  # still open: the daily runs add nothing
        assert _run(T0 + day * DAY)["created"] == 0
    done_at = T0 + 5 * DAY
    with time_machine.travel(done_at, tick=False):
        services.log_followup(
            customer=customer,
            by=personas.rep_a,
            method=Method.VISIT,
            occurred_at=done_at - timedelta(hours=2),
            summary="月度拜访",
            task=first,
        )
    # due 30 days after it was done; it appears 3 days (the lead) before: day 32
    for day in range(6, 32):
        assert _run(T0 + day * DAY)["created"] == 0, day
    assert _run(T0 + 32 * DAY)["created"] == 1
    for day in range(33, 40):
        assert _run(T0 + day * DAY)["created"] == 0, day
    second = _cadence_tasks(customer, title=monthly_title, status=TaskStatus.OPEN).get()
    assert second.due_at == done_at + 30 * DAY
    assert _cadence_tasks(customer).count() == 3  # two monthly visits, one (open) executive visit


def test_it_lets_the_last_follow_up_count_for_the_regular_touch_only(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "B", "medium", "long_term")
    Customer.objects.filter(pk=customer.pk).update(last_followup_at=T0 - 10 * DAY)
    _run(T0)
    strategy = strategies[("B", "medium", "long_term")]
    monthly = min(strategy.cadences, key=lambda c: c["every_days"])["action"]
    assert set(_cadence_tasks(customer).values_list("title", flat=True)) == set(_actions(strategy)) - {monthly}
    assert _run(T0 + 16 * DAY)["created"] == 0  # the monthly call is due on day 20: shows from day 17
    assert _run(T0 + 17 * DAY)["created"] == 1
    assert _cadence_tasks(customer, title=monthly).get().due_at == T0 + 20 * DAY


def test_it_makes_a_long_overdue_touch_due_today_not_in_the_past(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "C", "low", "new")
    Customer.objects.filter(pk=customer.pk).update(last_followup_at=T0 - 100 * DAY)
    _run(T0)
    task = _cadence_tasks(customer).get()
    assert task.due_at == TODAY_END
    assert task.dedupe_key.endswith((T0 - 70 * DAY).strftime("%Y%m%d"))  # keyed by the nominal due date


@pytest.fixture
def director(personas):
    centre = TeamFactory(name="中心")
    boss = UserFactory(username="director", role=Role.MANAGER, team=centre)
    centre.manager = boss
    centre.save()
    personas.team_a.parent = centre
    personas.team_a.save()
    return boss


def _only_cadence(strategy, responsible):
    strategy.cadences = [{"action": "高层回访", "every_days": 90, "responsible": responsible}]
    strategy.save()


@pytest.mark.parametrize(("responsible", "who"), [("owner", "rep_a"), ("manager", "manager_a"), ("director", "boss")])
def test_it_gives_the_task_to_the_responsible_role(personas, strategies, director, responsible, who):
    personas.boss = director
    _only_cadence(strategies[("A", "high", "strategic")], responsible)
    _assess(personas.customer_a, "A", "high", "strategic")
    _run(T0)
    assert _cadence_tasks(personas.customer_a).get().assignee == getattr(personas, who)


def test_it_falls_back_to_the_manager_then_the_owner_when_there_is_no_director(personas, strategies):
    _only_cadence(strategies[("A", "high", "strategic")], "director")
    _assess(personas.customer_a, "A", "high", "strategic")
    lonely = CustomerFactory(owner=UserFactory(username="solo", role=Role.SALES_REP, team=None))
    _assess(lonely, "A", "high", "strategic")
    _run(T0)
    assert _cadence_tasks(personas.customer_a).get().assignee == personas.manager_a
    assert _cadence_tasks(lonely).get().assignee == lonely.owner


def test_it_gives_dormant_customers_only_the_lower_dormant_touch(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "C", "low", "new")
    _run(T0)
    tier_task = _cadence_tasks(customer).get()
    Customer.objects.filter(pk=customer.pk).update(status=Status.DORMANT, last_followup_at=T0 - 88 * DAY)
    result = _run(T0 + DAY)
    assert (result["created"], result["superseded"]) == (1, 1)
    assert Task.objects.get(pk=tier_task.pk).status == TaskStatus.SUPERSEDED
    touch = _cadence_tasks(customer, status=TaskStatus.OPEN).get()
    assert (touch.cadence, touch.due_at) == (cadences.DORMANT_KEY, T0 + 2 * DAY)  # 90 days after the last touch
    assert FollowupPolicy.current().dormant_touch_days == 90
    # active again: the dormant touch gives way to the tier cadence
    Customer.objects.filter(pk=customer.pk).update(status=Status.ACTIVE)
    _run(T0 + 2 * DAY)
    assert Task.objects.get(pk=touch.pk).status == TaskStatus.SUPERSEDED
    # the monthly email is overdue since the last touch (88 days ago): due today; superseded tasks anchor nothing
    monthly = _cadence_tasks(customer, status=TaskStatus.OPEN).get()
    assert monthly.cadence != cadences.DORMANT_KEY
    assert monthly.due_at == TODAY_END + 2 * DAY


def test_it_gives_a_dormant_customer_without_a_tier_the_dormant_touch(personas, strategies):
    Customer.objects.filter(pk=personas.customer_b.pk).update(status=Status.DORMANT)
    _run(T0)
    assert _cadence_tasks(personas.customer_b).get().assignee == personas.rep_b
    assert not _cadence_tasks(personas.customer_a).exists()  # active and untiered: no cadence


def test_it_supersedes_cadences_the_new_strategy_no_longer_has(personas, strategies):
    customer = personas.customer_a
    _assess(customer, "A", "high", "strategic")
    _run(T0)
    _assess(customer, "C", "low", "new")  # re-tiered
    result = _run(T0 + DAY)
    assert (result["created"], result["superseded"]) == (1, 2)
    open_titles = list(_cadence_tasks(customer, status=TaskStatus.OPEN).values_list("title", flat=True))
    assert open_titles == [strategies[("C", "low", "")].cadences[0]["action"]]


@pytest.mark.parametrize("change", [{"status": Status.BLACKLISTED}, {"stage": Stage.CHURNED}])
def test_it_stops_the_cadence_of_blacklisted_and_churned_customers(personas, strategies, change):
    _assess(personas.customer_a, "A", "high", "strategic")
    _run(T0)
    Customer.objects.filter(pk=personas.customer_a.pk).update(**change)
    assert _run(T0 + DAY) == {"customers": 0, "created": 0, "superseded": 2}
    assert not _cadence_tasks(personas.customer_a, status=TaskStatus.OPEN).exists()


def test_it_skips_a_task_whose_dedupe_key_a_concurrent_run_took(personas, strategies):
    _assess(personas.customer_a, "C", "low", "new")
    action = strategies[("C", "low", "")].cadences[0]["action"]
    key = f"cadence:{personas.customer_a.pk}:{cadences.cadence_key(action, 30)}:{T0:%Y%m%d}"
    Task.objects.create(  # inserted by a racing run after this run looked for open tasks
        customer=personas.customer_a,
        assignee=personas.rep_a,
        title=action,
        due_at=T0,
        origin=TaskOrigin.CADENCE,
        dedupe_key=key,
        status=TaskStatus.DONE,
    )
    assert _run(T0)["created"] == 0
    assert Task.objects.filter(customer=personas.customer_a).count() == 1


def test_it_runs_as_a_celery_task_twice_with_the_same_result(personas, strategies):
    _assess(personas.customer_a, "A", "high", "strategic")
    _assess(personas.customer_b, "B", "medium", "long_term")
    with time_machine.travel(T0, tick=False):
        tasks.create_cadence_tasks.apply()
        state = sorted(Task.objects.filter(origin=TaskOrigin.CADENCE).values_list("customer_id", "title", "due_at"))
        tasks.create_cadence_tasks.apply()
    assert len(state) == 5
    assert sorted(Task.objects.filter(origin=TaskOrigin.CADENCE).values_list("customer_id", "title", "due_at")) == state


def test_it_audits_created_and_superseded_cadence_tasks(personas, strategies):
    _assess(personas.customer_a, "C", "low", "new")
    _run(T0)
    task = _cadence_tasks(personas.customer_a).get()
    assert task.history.count() == 1
    Customer.objects.filter(pk=personas.customer_a.pk).update(status=Status.BLACKLISTED)
    _run(T0 + DAY)
    assert task.history.order_by("-history_id").first().status == TaskStatus.SUPERSEDED


def _queries_for(customers: int) -> int:
    owner = UserFactory(role=Role.SALES_REP)
    for _index in range(customers):
        _assess(CustomerFactory(owner=owner), "A", "high", "strategic")
    with CaptureQueriesContext(connection) as queries:
        _run(T0)
    Task.objects.all().delete()
    TierAssessment.objects.all().delete()
    # reads only: the database may split a bulk insert into several statements
    return sum(1 for query in queries.captured_queries if query["sql"].startswith("SELECT"))


def test_it_reads_with_the_same_number_of_queries_for_3_or_30_customers(personas, strategies):
    assert _queries_for(3) == _queries_for(30)

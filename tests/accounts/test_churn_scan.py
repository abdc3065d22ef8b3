"""The weekly health scan: score and risk bands, main cause, idempotent re-runs, retention tasks, email."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from accounts import health
from accounts.models import CustomerHealth, HealthPolicy, RetentionCase, RiskLevel, Stage
from accounts.services import churn
from accounts.tasks import churn_scan
from followups.models import Task, TaskOrigin
from tests.factories import CustomerFactory

MONDAY = timezone.make_aware(timezone.datetime(2026, 11, 23, 6, 0))


@pytest.fixture
def facts(monkeypatch):
    """Replace the registered signals by hand-set ones: facts[key][customer_id] = (severity, detail)."""
    table: dict[str, dict] = {}
    signals = {
        key: health.Signal(key, key, lambda now, policy, key=key: dict(table.get(key, {})))
        for key in ("followup_gap", "payments", "complaints", "nps", "usage")
    }
    monkeypatch.setattr(health, "_signals", signals)
    return table


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def scan(at=MONDAY, **kwargs):
    with time_machine.travel(at, tick=False), translation.override("en"):
        return churn.run_scan(now=at, **kwargs)


def test_the_score_is_100_minus_weight_times_severity_and_the_main_cause_costs_most(personas, facts):
    customer = personas.customer_a
    facts["payments"] = {customer.pk: (1.0, "¥5,000.00 overdue")}  # weight 20 → −20
    facts["complaints"] = {customer.pk: (1.0, "2 open complaints past their SLA")}  # 15 → −15
    facts["nps"] = {customer.pk: (0.5, "NPS fell from 10 to 7")}  # 10 × 0.5 → −5

    scan()

    row = CustomerHealth.objects.get(customer=customer)
    assert (row.score, row.risk, row.main_cause) == (60, RiskLevel.MEDIUM, "payments")
    assert row.signals == {
        "payments": {"penalty": 20.0, "detail": "¥5,000.00 overdue"},
        "complaints": {"penalty": 15.0, "detail": "2 open complaints past their SLA"},
        "nps": {"penalty": 5.0, "detail": "NPS fell from 10 to 7"},
    }
    healthy = CustomerHealth.objects.get(customer=personas.customer_b)
    assert (healthy.score, healthy.risk, healthy.main_cause, healthy.signals) == (100, RiskLevel.LOW, "", {})


@pytest.mark.parametrize(
    ("score", "risk"),
    [(0, "high"), (49, "high"), (50, "medium"), (74, "medium"), (75, "low"), (100, "low")],
)
def test_risk_bands_default_to_high_below_50_and_medium_below_75(db, score, risk):
    assert churn.risk_for(score, HealthPolicy()) == risk


def test_weights_and_bands_are_the_managers_to_change(personas, facts):
    facts["payments"] = {personas.customer_a.pk: (1.0, "overdue")}
    policy = churn.current_policy()
    policy.weights = {**policy.weights, "payments": 60}
    policy.high_below = 45
    churn.save_policy(policy=policy, by=personas.manager_a)

    scan()

    row = CustomerHealth.objects.get(customer=personas.customer_a)
    assert (row.score, row.risk) == (40, RiskLevel.HIGH)
    assert policy.history.first().history_user == personas.manager_a


def test_reps_cannot_change_the_policy_and_bands_must_be_ordered(personas):
    policy = churn.current_policy()
    with pytest.raises(churn.PermissionDenied):
        churn.save_policy(policy=policy, by=personas.rep_a)
    policy.high_below, policy.medium_below = 80, 60
    with pytest.raises(churn.ChurnError):
        churn.save_policy(policy=policy, by=personas.manager_a)


def _high(facts, *customers):
    facts["payments"] = {c.pk: (1.0, "overdue") for c in customers}
    facts["followup_gap"] = {c.pk: (1.0, "no follow-up") for c in customers}
    facts["complaints"] = {c.pk: (1.0, "breach") for c in customers}  # 100 − 55 = 45: high


def test_a_newly_high_risk_customer_gets_a_retention_task_due_within_48_hours(personas, facts, mailbox):
    _high(facts, personas.customer_a)

    result = scan()

    case = RetentionCase.objects.get(customer=personas.customer_a)
    assert (case.week, case.state, case.cause) == ("2026-W48", RetentionCase.State.OPEN, "followup_gap")
    task = Task.objects.get(customer=personas.customer_a, origin=TaskOrigin.RETENTION)
    assert task.assignee == personas.rep_a
    assert task.due_at == MONDAY + timedelta(hours=48) == case.contact_due_at
    assert result["new_high_risk"] == 1


def test_a_rescan_in_the_same_week_changes_nothing_and_creates_no_second_task(personas, facts):
    _high(facts, personas.customer_a)
    scan()
    again = scan(MONDAY + timedelta(hours=5))
    assert again == {"customers": 3, "written": 0, "new_high_risk": 0}
    assert RetentionCase.objects.count() == 1
    assert Task.objects.filter(origin=TaskOrigin.RETENTION).count() == 1
    assert CustomerHealth.objects.get(customer=personas.customer_a).scanned_at == MONDAY


def test_a_customer_still_high_risk_next_week_opens_no_new_case_but_a_relapse_does(personas, facts):
    _high(facts, personas.customer_a)
    scan()
    scan(MONDAY + timedelta(weeks=1))
    assert RetentionCase.objects.count() == 1
    case = RetentionCase.objects.get()
    churn.record_contact(case=case, by=personas.rep_a, now=MONDAY + timedelta(weeks=1))
    churn.close_case(case=case, retained=True, by=personas.rep_a, now=MONDAY + timedelta(weeks=1))

    facts.clear()
    scan(MONDAY + timedelta(weeks=2))  # recovered
    assert CustomerHealth.objects.get(customer=personas.customer_a).high_since is None
    _high(facts, personas.customer_a)
    scan(MONDAY + timedelta(weeks=3))  # high again: a new episode

    assert list(RetentionCase.objects.order_by("opened_at").values_list("week", flat=True)) == ["2026-W48", "2026-W51"]
    assert Task.objects.filter(origin=TaskOrigin.RETENTION, dedupe_key__startswith="retention:").count() == 2


def test_churned_and_merged_customers_are_not_scanned(personas, facts):
    gone = CustomerFactory(owner=personas.rep_a, stage=Stage.CHURNED)
    _high(facts, gone)
    scan()
    assert not CustomerHealth.objects.filter(customer=gone).exists()
    assert not RetentionCase.objects.exists()


def test_managers_get_the_new_high_risk_customers_by_email(
    personas, facts, mailbox, django_capture_on_commit_callbacks
):
    _high(facts, personas.customer_a, personas.customer_c)
    with django_capture_on_commit_callbacks(execute=True):
        scan()
    by_recipient = {m.to[0]: m for m in mailbox}
    assert set(by_recipient) == {personas.manager_a.email, personas.manager_b.email}
    assert personas.customer_a.name in by_recipient[personas.manager_a.email].body
    assert personas.customer_c.name not in by_recipient[personas.manager_a.email].body


def test_the_beat_task_runs_the_scan(personas, facts):
    _high(facts, personas.customer_b)
    with time_machine.travel(MONDAY, tick=False):
        assert churn_scan.apply().get()["new_high_risk"] == 1
    assert Task.objects.get(origin=TaskOrigin.RETENTION).assignee == personas.rep_b


def test_the_real_signals_score_a_customer_end_to_end(personas):
    """No fakes: a customer never followed up for 70 days (followup_gap, severity 1 → −20) scores 80."""
    customer = CustomerFactory(owner=personas.rep_a)
    type(customer).objects.filter(pk=customer.pk).update(created_at=MONDAY - timedelta(days=70))
    scan()
    row = CustomerHealth.objects.get(customer=customer)
    assert (row.score, row.risk, row.main_cause) == (80, RiskLevel.LOW, "followup_gap")


def test_the_task_list_follows_the_case_contact_done_then_a_plan_task_due_24_hours_later(personas, facts):
    _high(facts, personas.customer_a)
    scan()
    case = RetentionCase.objects.get()
    contacted = MONDAY + timedelta(hours=30)
    churn.record_contact(case=case, by=personas.rep_a, now=contacted)
    tasks = {t.dedupe_key: t for t in Task.objects.filter(origin=TaskOrigin.RETENTION)}
    assert tasks[f"retention:{case.pk}"].status == "done"
    plan_task = tasks[f"retention-plan:{case.pk}"]
    assert (plan_task.status, plan_task.due_at, plan_task.assignee) == (
        "open",
        contacted + timedelta(hours=24),
        personas.rep_a,
    )
    churn.close_case(case=case, retained=True, by=personas.rep_a, now=contacted)
    assert Task.objects.get(dedupe_key=f"retention-plan:{case.pk}").status == "cancelled"

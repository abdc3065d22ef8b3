"""The daily job: reminder at −7, collection at +1, escalation at 30/60, bad debt and blacklist > 90; each once."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Contact, Status
from followups.models import Notification, Task, TaskOrigin
from leads import services as leads_services
from receivables import services
from receivables.models import Condition, Installment, Notice, NoticeKind, PaymentTermPolicy

pytestmark = pytest.mark.usefixtures("english")  # the assertions read the English wording


DUE = date(2026, 12, 1)


def at(day: date):
    moment = datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.get_current_timezone())
    return time_machine.travel(moment, tick=False)


def run_on(day: date) -> dict:
    with at(day):
        return services.run_daily_reminders()


@pytest.fixture
def contract(personas, make_contract, mail_outbox):
    Contact.objects.create(customer=personas.customer_a, name="李会计", email="ap@example.com", is_primary=True)
    return make_contract(
        personas.customer_a, personas.finance, [(1000, DUE, Condition.PREPAYMENT)], signed_on=date(2026, 11, 1)
    )


def test_it_sends_nothing_before_seven_days_ahead(contract):
    assert run_on(DUE - timedelta(days=8))[NoticeKind.REMINDER] == 0
    assert not Notice.objects.exists()


def test_it_reminds_the_customer_and_the_rep_seven_days_ahead_exactly_once(
    personas, contract, mail_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = run_on(DUE - timedelta(days=7))
    with django_capture_on_commit_callbacks(execute=True):
        second = run_on(DUE - timedelta(days=7))
    with django_capture_on_commit_callbacks(execute=True):
        third = run_on(DUE - timedelta(days=6))
    assert first[NoticeKind.REMINDER] == 1
    assert second[NoticeKind.REMINDER] == third[NoticeKind.REMINDER] == 0
    assert [m.to for m in mail_outbox] == [["ap@example.com"]]
    assert "2026-12-01" in mail_outbox[0].body
    task = Task.objects.get(assignee=personas.rep_a)
    assert "2026-12-01" in task.title and task.origin == TaskOrigin.COLLECTION


def test_it_does_nothing_on_the_due_date_itself(contract):
    run_on(DUE - timedelta(days=7))
    assert run_on(DUE) == dict.fromkeys(NoticeKind.values, 0)


def test_it_starts_collection_one_day_after_a_missed_date(personas, contract):
    run_on(DUE - timedelta(days=7))
    result = run_on(DUE + timedelta(days=1))
    assert result[NoticeKind.COLLECTION] == 1
    assert Task.objects.filter(assignee=personas.rep_a, dedupe_key__startswith="receivables:collection:").count() == 1
    assert Notification.objects.filter(user=personas.finance).count() == 1
    assert run_on(DUE + timedelta(days=1))[NoticeKind.COLLECTION] == 0
    assert run_on(DUE + timedelta(days=2))[NoticeKind.COLLECTION] == 0
    assert Notification.objects.filter(user=personas.finance).count() == 1


def test_it_charges_a_late_fee_and_flags_suspension_when_the_policy_says_so(personas, contract):
    PaymentTermPolicy.objects.filter(rating="fair").update(late_fee_percent=Decimal("1.5"), suspend_when_overdue=True)
    run_on(DUE + timedelta(days=1))
    run_on(DUE + timedelta(days=2))
    contract.refresh_from_db()
    assert Installment.objects.get(contract=contract).late_fee == Decimal("15.00")
    assert contract.service_suspended


def test_it_charges_no_late_fee_under_the_default_policy(contract):
    run_on(DUE + timedelta(days=1))
    contract.refresh_from_db()
    assert Installment.objects.get(contract=contract).late_fee == 0
    assert not contract.service_suspended


def test_it_escalates_at_30_days_to_the_rep_and_at_60_days_to_the_manager(personas, contract):
    run_on(DUE + timedelta(days=1))
    assert run_on(DUE + timedelta(days=29))[NoticeKind.ESCALATION_30] == 0
    assert run_on(DUE + timedelta(days=30))[NoticeKind.ESCALATION_30] == 1
    assert run_on(DUE + timedelta(days=59))[NoticeKind.ESCALATION_60] == 0
    assert run_on(DUE + timedelta(days=60))[NoticeKind.ESCALATION_60] == 1
    assert run_on(DUE + timedelta(days=61)) == dict.fromkeys(NoticeKind.values, 0)
    assert (
        Task.objects.filter(assignee=personas.rep_a, dedupe_key__startswith="receivables:escalation_30:").count() == 1
    )
    assert (
        Task.objects.filter(assignee=personas.manager_a, dedupe_key__startswith="receivables:escalation_60:").count()
        == 1
    )


def test_it_blacklists_after_more_than_90_days_and_warns_finance(personas, contract):
    run_on(DUE + timedelta(days=90))
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.status == Status.ACTIVE
    result = run_on(DUE + timedelta(days=91))
    personas.customer_a.refresh_from_db()
    assert result[NoticeKind.BAD_DEBT] == 1
    assert personas.customer_a.status == Status.BLACKLISTED
    assert personas.customer_a.history.first().history_change_reason
    assert Task.objects.filter(assignee=personas.rep_a, dedupe_key__startswith="receivables:bad_debt:").count() == 1
    assert (
        Notification.objects.filter(user=personas.finance).count() == 2
    )  # 60-day escalation, then the bad-debt warning
    assert run_on(DUE + timedelta(days=92))[NoticeKind.BAD_DEBT] == 0


def test_a_customer_blacklisted_by_the_job_gets_no_new_contract_or_opportunity(personas, contract):
    run_on(DUE + timedelta(days=91))
    personas.customer_a.refresh_from_db()
    with pytest.raises(services.BlacklistedCustomerError, match="blacklisted"):
        services.create_contract(
            customer=personas.customer_a,
            by=personas.finance,
            amount=Decimal(10),
            signed_on=DUE,
            plan=[services.PlanLine(Decimal(10), DUE, Condition.PREPAYMENT)],
        )
    with pytest.raises(leads_services.BlacklistedCustomerError):
        leads_services.create_opportunity(
            customer=personas.customer_a, owner=personas.rep_a, by=personas.rep_a, name="新商机"
        )


def test_finance_lifts_a_blacklisting_only_with_a_reason(personas, contract):
    run_on(DUE + timedelta(days=91))
    with pytest.raises(services.ReceivablesError):
        services.lift_blacklist(customer=personas.customer_a, by=personas.finance, reason=" ")
    with pytest.raises(services.PermissionDenied):
        services.lift_blacklist(customer=personas.customer_a, by=personas.manager_a, reason="已还款")
    services.lift_blacklist(customer=personas.customer_a, by=personas.finance, reason="已签还款协议")
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.status == Status.ACTIVE
    record = personas.customer_a.history.get(history_change_reason__contains="已签还款协议")
    assert record.history_user == personas.finance
    # The job does not blacklist again for the same installment.
    run_on(DUE + timedelta(days=95))
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.status == Status.ACTIVE


def test_a_late_first_run_records_every_step_but_acts_only_on_the_highest(personas, contract):
    result = run_on(DUE + timedelta(days=95))
    assert result[NoticeKind.BAD_DEBT] == 1 and result[NoticeKind.COLLECTION] == 0
    assert Notice.objects.count() == 4  # collection, 30, 60, bad debt (the reminder window has passed)
    assert Task.objects.count() == 1


def test_it_leaves_paid_installments_alone(personas, contract):
    services.record_payment(contract=contract, amount=Decimal(1000), received_on=DUE, by=personas.finance)
    assert run_on(DUE + timedelta(days=1)) == dict.fromkeys(NoticeKind.values, 0)


def test_the_beat_entry_is_declared():
    from crm.schedules import SCHEDULES

    entry = next(s for s in SCHEDULES if s.task == "receivables.tasks.run_daily_reminders")
    assert entry.crontab == "0 9 * * *"

"""Retention workflow (contact ≤ 48 h, plan ≤ 24 h after it, outcome), churn recording and attribution."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from accounts.forms_churn import ChurnForm, OutcomeForm
from accounts.models import ChurnReason, ChurnRecord, Customer, Industry, RetentionCase, Stage, TierAssessment
from accounts.selectors_churn import churn_report
from accounts.services import churn
from crm.templatetags.crm_tags import person
from tests.factories import CustomerFactory

NOW = timezone.make_aware(timezone.datetime(2026, 11, 24, 15, 30))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def case(personas):
    return RetentionCase.objects.create(
        customer=personas.customer_a,
        week="2026-W48",
        opened_at=NOW - timedelta(days=1),
        cause="payments",
        contact_due_at=NOW + timedelta(days=1),
    )


def reason(code):
    return ChurnReason.objects.get(code=code)


def test_the_managed_list_starts_with_the_five_reasons(db):
    assert list(ChurnReason.objects.values_list("code", flat=True)) == [
        "competitor_price",
        "slow_service",
        "product_gap",
        "budget_cut",
        "other",
    ]
    assert churn.ensure_default_reasons() == 0  # idempotent


def test_after_the_contact_the_retention_plan_is_due_within_24_hours(personas, case):
    churn.record_contact(case=case, by=personas.rep_a, note="客户抱怨价格", now=NOW)
    case.refresh_from_db()
    assert (case.state, case.contacted_at, case.plan_due_at) == ("contacted", NOW, NOW + timedelta(hours=24))
    assert case.note == "客户抱怨价格"

    with time_machine.travel(NOW, tick=False):
        churn.record_plan(
            case=case, offer="续约九折", owner=personas.rep_a, deadline=date(2026, 12, 15), by=personas.rep_a
        )
    case.refresh_from_db()
    assert (case.state, case.offer, case.plan_owner, case.plan_deadline) == (
        "planned",
        "续约九折",
        personas.rep_a,
        date(2026, 12, 15),
    )


def test_no_plan_before_the_contact_and_no_second_contact(personas, case):
    with pytest.raises(churn.ChurnError):
        churn.record_plan(case=case, offer="x", owner=personas.rep_a, deadline=date(2026, 12, 1), by=personas.rep_a)
    churn.record_contact(case=case, by=personas.rep_a, now=NOW)
    with pytest.raises(churn.ChurnError):
        churn.record_contact(case=case, by=personas.rep_a, now=NOW)


def test_only_who_may_edit_the_customer_works_its_case(personas, case):
    with pytest.raises(PermissionDenied):
        churn.record_contact(case=case, by=personas.rep_c)
    with pytest.raises(PermissionDenied):
        churn.record_contact(case=case, by=personas.manager_b)
    churn.record_contact(case=case, by=personas.manager_a)


def test_retained_closes_the_case_and_keeps_the_customer(personas, case):
    churn.close_case(case=case, retained=True, by=personas.rep_a, now=NOW)
    case.refresh_from_db()
    assert (case.state, case.closed_at) == ("retained", NOW)
    assert Customer.objects.get(pk=personas.customer_a.pk).stage != Stage.CHURNED
    with pytest.raises(churn.ChurnError):
        churn.close_case(case=case, retained=False, reason=reason("budget_cut"), by=personas.rep_a)


def test_lost_needs_a_reason_and_marks_the_customer_churned(personas, case):
    with pytest.raises(churn.ChurnError):
        churn.close_case(case=case, retained=False, by=personas.rep_a)
    churn.close_case(case=case, retained=False, reason=reason("competitor_price"), by=personas.rep_a, now=NOW)
    case.refresh_from_db()
    assert (case.state, case.lost_reason.code) == ("lost", "competitor_price")
    record = ChurnRecord.objects.get(customer=personas.customer_a)
    assert (record.reason.code, record.churned_on, record.owner) == (
        "competitor_price",
        date(2026, 11, 24),
        personas.rep_a,
    )
    assert Customer.objects.get(pk=personas.customer_a.pk).stage == Stage.CHURNED


def test_marking_churned_requires_a_reason_and_other_requires_a_note(personas):
    customer = personas.customer_b
    with pytest.raises(churn.ChurnError):
        churn.mark_churned(customer=customer, reason=None, by=personas.rep_b)
    with pytest.raises(churn.ChurnError):
        churn.mark_churned(customer=customer, reason=reason("other"), note="  ", by=personas.rep_b)
    retired = reason("slow_service")
    retired.active = False
    retired.save()
    with pytest.raises(churn.ChurnError):
        churn.mark_churned(customer=customer, reason=retired, by=personas.rep_b)
    assert Customer.objects.get(pk=customer.pk).stage != Stage.CHURNED

    churn.mark_churned(customer=customer, reason=reason("other"), note="公司被收购", by=personas.rep_b)
    assert Customer.objects.get(pk=customer.pk).stage == Stage.CHURNED
    assert customer.history.first().history_change_reason == f"Churned: {reason('other').name}"
    with pytest.raises(churn.ChurnError):
        churn.mark_churned(customer=customer, reason=reason("budget_cut"), by=personas.rep_b)
    with pytest.raises(PermissionDenied):
        churn.mark_churned(customer=personas.customer_c, reason=reason("budget_cut"), by=personas.rep_b)


def test_the_forms_refuse_a_missing_reason_or_note(db):
    assert not ChurnForm(data={"note": "x"}).is_valid()
    form = ChurnForm(data={"reason": reason("other").pk, "note": ""})
    assert not form.is_valid() and "note" in form.errors
    assert ChurnForm(data={"reason": reason("budget_cut").pk}).is_valid()
    assert not OutcomeForm(data={"retained": "0"}).is_valid()
    assert OutcomeForm(data={"retained": "1"}).is_valid()


def test_attribution_by_reason_tier_industry_and_owner_with_churn_rates(personas):
    """Ten customers on the books on 1 Oct (team A's three reps' and team B's); four churn in Q4."""
    start, end = date(2026, 10, 1), date(2026, 12, 31)
    before = timezone.make_aware(timezone.datetime(2026, 6, 1, 12, 0))
    it = [CustomerFactory(owner=personas.rep_a, industry=Industry.IT) for _ in range(4)]
    retail = [CustomerFactory(owner=personas.rep_b, industry=Industry.RETAIL) for _ in range(3)]
    Customer.objects.update(created_at=before)  # with the three persona customers: 10 on the books
    late = CustomerFactory(owner=personas.rep_a, industry=Industry.IT)  # created in the period: not in the base
    for customer in [*it[:2], *retail[:1]]:
        TierAssessment.objects.create(
            customer=customer, tier="A", computed_tier="A", potential="high", relationship="new", assessed_at=before
        )
    gone_before = CustomerFactory(owner=personas.rep_a)
    Customer.objects.filter(pk=gone_before.pk).update(created_at=before)
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 9, 1, 12, 0)), tick=False):
        churn.mark_churned(customer=gone_before, reason=reason("budget_cut"), by=personas.admin)  # before: excluded
    for customer, code, day in [
        (it[0], "competitor_price", date(2026, 10, 5)),  # A, IT, rep_a
        (it[2], "competitor_price", date(2026, 11, 5)),  # no tier, IT, rep_a
        (retail[0], "slow_service", date(2026, 12, 1)),  # A, retail, rep_b
        (late, "product_gap", date(2026, 12, 2)),  # no tier, IT, rep_a (churned, though not in the base)
    ]:
        with time_machine.travel(
            timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time())), tick=False
        ):
            churn.mark_churned(customer=customer, reason=reason(code), by=personas.admin, on=day)

    report = churn_report(personas.admin, start=start, end=end)

    assert (report["churned"], report["base"], report["rate"]) == (4, 10, 40.0)
    by_reason = {row["key"]: (row["count"], row["share"], row["rate"]) for row in report["reason"]}
    assert by_reason == {
        reason("competitor_price").name: (2, 50.0, 20.0),
        reason("slow_service").name: (1, 25.0, 10.0),
        reason("product_gap").name: (1, 25.0, 10.0),
    }
    by_tier = {row["key"]: (row["count"], row["base"], row["rate"]) for row in report["tier"]}
    assert by_tier == {"A": (2, 3, 66.7), "—": (2, 7, 28.6)}
    by_industry = {row["key"]: (row["count"], row["base"], row["rate"]) for row in report["industry"]}
    assert by_industry == {"IT and software": (3, 4, 75.0), "Retail and consumer goods": (1, 3, 33.3)}
    by_owner = {row["key"]: (row["count"], row["base"]) for row in report["owner"]}
    assert by_owner == {
        person(personas.rep_a): (3, 5),  # rep_a: customer_a + 4 IT on the books
        person(personas.rep_b): (1, 4),
    }
    # A manager sees only the team's customers: rep_c's customer is not in team A's base.
    assert churn_report(personas.manager_a, start=start, end=end)["base"] == 9

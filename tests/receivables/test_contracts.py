"""Ratings, policy enforcement and approval, installment sums, payment allocation, blacklist refusal."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Status
from receivables import services
from receivables.models import Condition, ContractStatus, CreditRating, Installment, Payment, PaymentTermPolicy

pytestmark = pytest.mark.usefixtures("english")  # the assertions read the English wording


D = Decimal
SIGNED = date(2026, 1, 1)


def test_it_lets_only_finance_set_a_rating_and_requires_a_note(personas):
    with pytest.raises(PermissionDenied):
        services.set_credit_rating(customer=personas.customer_a, rating="good", note="x", by=personas.rep_a)
    with pytest.raises(services.ReceivablesError):
        services.set_credit_rating(customer=personas.customer_a, rating="good", note="  ", by=personas.finance)
    rating = services.set_credit_rating(
        customer=personas.customer_a, rating="poor", note="诉讼记录", by=personas.finance
    )
    assert rating.rating == "poor"
    assert rating.history.first().history_user == personas.finance


def test_it_activates_a_plan_that_fits_the_good_policy(personas, good_customer, make_contract):
    contract = make_contract(
        good_customer,
        personas.finance,
        [(300, SIGNED, Condition.PREPAYMENT), (700, date(2026, 3, 1), Condition.ACCEPTANCE)],
    )
    assert contract.status == ContractStatus.ACTIVE
    assert contract.policy_breaches == ""


def test_it_saves_a_plan_with_too_little_prepayment_as_pending_approval(personas, good_customer, make_contract):
    contract = make_contract(
        good_customer,
        personas.finance,
        [(200, SIGNED, Condition.PREPAYMENT), (800, date(2026, 3, 1), Condition.ACCEPTANCE)],
    )
    assert contract.status == ContractStatus.PENDING
    assert "20.0%" in contract.policy_breaches
    assert "30%" in contract.policy_breaches  # the policy's minimum, written plainly (not 3E+1%)


def test_it_saves_a_plan_with_too_long_credit_as_pending_approval(personas, good_customer, make_contract):
    contract = make_contract(
        good_customer,
        personas.finance,
        [(300, SIGNED, Condition.PREPAYMENT), (700, date(2026, 6, 1), Condition.ACCEPTANCE)],
    )
    assert contract.status == ContractStatus.PENDING


def test_it_treats_an_unrated_customer_as_fair_which_needs_full_prepayment(personas, make_contract):
    full = make_contract(personas.customer_b, personas.finance, [(1000, SIGNED, Condition.PREPAYMENT)])
    split = make_contract(
        personas.customer_b,
        personas.finance,
        [(500, SIGNED, Condition.PREPAYMENT), (500, date(2026, 2, 1))],
    )
    assert full.status == ContractStatus.ACTIVE
    assert split.status == ContractStatus.PENDING


def test_it_gives_a_poor_customer_no_credit_at_all(personas, make_contract):
    services.set_credit_rating(customer=personas.customer_b, rating="poor", note="逾期多", by=personas.finance)
    contract = make_contract(personas.customer_b, personas.finance, [(1000, SIGNED, Condition.PREPAYMENT)])
    assert contract.status == ContractStatus.PENDING


def test_it_applies_a_policy_finance_edited(personas, good_customer, make_contract):
    policy = PaymentTermPolicy.objects.get(rating="good")
    policy.min_prepay_percent = D(10)
    services.save_policy(policy=policy, by=personas.finance)
    contract = make_contract(
        good_customer, personas.finance, [(200, SIGNED, Condition.PREPAYMENT), (800, date(2026, 3, 1))]
    )
    assert contract.status == ContractStatus.ACTIVE
    assert policy.history.first().history_user == personas.finance


def test_it_lets_finance_approve_a_pending_contract_and_records_who(personas, make_contract):
    contract = make_contract(
        personas.customer_b, personas.manager_a, [(500, SIGNED, Condition.PREPAYMENT), (500, date(2026, 2, 1))]
    )
    with pytest.raises(PermissionDenied):
        services.approve_contract(contract=contract, by=personas.manager_a)
    services.approve_contract(contract=contract, by=personas.finance)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.approved_by == personas.finance and contract.approved_at
    with pytest.raises(services.ReceivablesError):
        services.approve_contract(contract=contract, by=personas.finance)


def test_it_refuses_a_plan_that_does_not_sum_to_the_amount(personas):
    with pytest.raises(services.ReceivablesError, match="add up"):
        services.create_contract(
            customer=personas.customer_a,
            by=personas.finance,
            amount=D("1000.00"),
            signed_on=SIGNED,
            plan=[services.PlanLine(D("999.99"), SIGNED, Condition.PREPAYMENT)],
        )


@pytest.mark.parametrize(
    ("amount", "percents", "expected"),
    [
        ("100.00", [33.33, 33.33, 33.34], ["33.33", "33.33", "33.34"]),
        ("100.00", ["33.33", "33.33", "33.33"], None),
        ("0.10", [30, 70], ["0.03", "0.07"]),
        ("1000.01", [50, 50], ["500.01", "500.00"]),
        ("99999.99", [30, 30, 40], ["30000.00", "30000.00", "39999.99"]),
    ],
)
def test_it_splits_percentages_without_losing_or_inventing_a_cent(amount, percents, expected):
    if expected is None:
        with pytest.raises(services.ReceivablesError):  # shares that do not add up to exactly 100
            services.split_amount(D(amount), [D(p) for p in percents])
        return
    parts = services.split_amount(D(amount), [D(str(p)) for p in percents])
    assert sum(parts) == D(amount)
    assert parts == [D(e) for e in expected]


def test_it_refuses_a_contract_for_a_blacklisted_customer_with_a_clear_message(personas):
    personas.customer_a.status = Status.BLACKLISTED
    personas.customer_a.save()
    with pytest.raises(services.BlacklistedCustomerError, match="blacklisted"):
        services.create_contract(
            customer=personas.customer_a,
            by=personas.finance,
            amount=D(100),
            signed_on=SIGNED,
            plan=[services.PlanLine(D(100), SIGNED, Condition.PREPAYMENT)],
        )


def test_it_lets_a_rep_without_amount_rights_not_create_contracts(personas):
    assert not services.can_create_contract(personas.rep_a, personas.customer_a)
    assert services.can_create_contract(personas.manager_a, personas.customer_a)
    assert not services.can_create_contract(personas.manager_b, personas.customer_a)
    assert services.can_create_contract(personas.finance, personas.customer_c)


def test_it_creates_a_contract_from_a_won_opportunity(personas):
    from leads import services as leads_services
    from leads.models import OppStage

    opp = leads_services.create_opportunity(
        customer=personas.customer_a,
        owner=personas.rep_a,
        by=personas.rep_a,
        name="CRM 项目",
        amount=1000,
        product_line="crm",
    )
    with pytest.raises(services.ReceivablesError, match="won"):
        services.create_contract(
            customer=None,
            opportunity=opp,
            by=personas.finance,
            amount=D(1000),
            signed_on=SIGNED,
            plan=[services.PlanLine(D(1000), SIGNED, Condition.PREPAYMENT)],
        )
    opp.stage = OppStage.WON
    opp.closed_at = opp.created_at
    opp.save()
    contract = services.create_contract(
        customer=None,
        opportunity=opp,
        by=personas.finance,
        amount=D(1000),
        signed_on=SIGNED,
        plan=[services.PlanLine(D(1000), SIGNED, Condition.PREPAYMENT)],
    )
    assert (contract.customer, contract.owner, contract.product_line, contract.title) == (
        personas.customer_a,
        personas.rep_a,
        "crm",
        "CRM 项目",
    )
    assert contract.team == personas.team_a


# --- payments -------------------------------------------------------------------------------------


@pytest.fixture
def three_installments(personas, make_contract):
    return make_contract(
        personas.customer_b,
        personas.finance,
        [(100, date(2026, 1, 1), Condition.PREPAYMENT), (200, date(2026, 2, 1)), (300, date(2026, 3, 1))],
    )


def _approved(contract, personas):
    if contract.status == ContractStatus.PENDING:
        services.approve_contract(contract=contract, by=personas.finance)
    contract.refresh_from_db()
    return contract


def test_it_allocates_a_partial_payment_to_the_oldest_installment_first(personas, three_installments):
    contract = _approved(three_installments, personas)
    services.record_payment(contract=contract, amount=D("150.00"), received_on=date(2026, 2, 3), by=personas.finance)
    paid = list(Installment.objects.filter(contract=contract).order_by("due_on").values_list("paid_amount", flat=True))
    assert paid == [D("100.00"), D("50.00"), D("0.00")]
    assert Payment.objects.get().allocations.count() == 2


def test_it_closes_the_contract_when_paid_in_full(personas, three_installments):
    contract = _approved(three_installments, personas)
    services.record_payment(contract=contract, amount=D("250"), received_on=date(2026, 2, 3), by=personas.finance)
    services.record_payment(contract=contract, amount=D("350"), received_on=date(2026, 3, 3), by=personas.finance)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CLOSED
    assert all(i.outstanding == 0 for i in contract.installments.all())


def test_it_refuses_an_over_payment_and_records_nothing(personas, three_installments):
    contract = _approved(three_installments, personas)
    with pytest.raises(services.ReceivablesError, match="more than"):
        services.record_payment(
            contract=contract, amount=D("600.01"), received_on=date(2026, 2, 3), by=personas.finance
        )
    assert not Payment.objects.exists()


def test_it_refuses_payments_on_a_contract_pending_approval_and_from_non_finance(personas, three_installments):
    assert three_installments.status == ContractStatus.PENDING
    with pytest.raises(services.ReceivablesError):
        services.record_payment(contract=three_installments, amount=D(1), received_on=SIGNED, by=personas.finance)
    _approved(three_installments, personas)
    with pytest.raises(PermissionDenied):
        services.record_payment(contract=three_installments, amount=D(1), received_on=SIGNED, by=personas.manager_a)


def test_it_audits_contracts_and_payments(personas, three_installments):
    contract = _approved(three_installments, personas)
    services.record_payment(contract=contract, amount=D(10), received_on=SIGNED, by=personas.finance)
    assert contract.history.filter(history_user=personas.finance).count() >= 2
    assert Payment.objects.get().history.get().history_user == personas.finance


def test_it_suggests_a_rating_from_payment_history(personas, make_contract):
    on_time = make_contract(personas.customer_a, personas.finance, [(100, date(2026, 1, 1), Condition.PREPAYMENT)])
    services.record_payment(contract=on_time, amount=D(100), received_on=date(2026, 1, 1), by=personas.finance)
    late = make_contract(personas.customer_b, personas.finance, [(100, date(2026, 1, 1), Condition.PREPAYMENT)])
    suggestions = services.suggest_ratings(today=date(2026, 3, 15))
    assert suggestions[personas.customer_a.pk]["rating"] == "good"
    assert suggestions[personas.customer_b.pk]["rating"] == "poor"
    assert suggestions[personas.customer_b.pk]["days_late"] == 73
    assert suggestions[personas.customer_b.pk]["overdue"] == D("100.00")
    assert late.pk and personas.customer_c.pk not in suggestions
    assert not CreditRating.objects.filter(customer=personas.customer_b).exists()  # a suggestion, not a change

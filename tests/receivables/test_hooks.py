"""Hand-over and merge move receivables along; the customer page shows contracts, paid/outstanding, next due."""

from datetime import date
from decimal import Decimal

from accounts import timeline
from accounts.services.handover import transfer_customers
from accounts.services.merge import merge_customers
from receivables import services
from receivables.models import Condition, Contract, ContractStatus, CreditRating, Installment
from receivables.selectors import customer_summary
from tests.factories import CustomerFactory


def test_it_moves_open_contracts_to_the_new_rep_on_hand_over(personas, make_contract):
    contract = make_contract(personas.customer_a, personas.finance, [(100, date(2026, 12, 1), Condition.PREPAYMENT)])
    transfer = transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a)
    contract.refresh_from_db()
    assert contract.owner == personas.rep_b
    assert transfer.moved["contracts"] == 1


def test_it_moves_contracts_and_the_rating_to_the_survivor_on_merge(personas, make_contract):
    loser = CustomerFactory(name="MARKER-A 甲公司 重复", owner=personas.rep_a)
    make_contract(loser, personas.finance, [(100, date(2026, 12, 1), Condition.PREPAYMENT)])
    services.set_credit_rating(customer=loser, rating="good", note="ok", by=personas.finance)
    merge = merge_customers(survivor=personas.customer_a, loser=loser, by=personas.manager_a)
    assert Contract.objects.get().customer == personas.customer_a
    assert CreditRating.objects.get().customer == personas.customer_a
    assert merge.moved["contracts"] == 1


def test_it_shows_contracts_paid_outstanding_and_next_due_on_the_customer_page(personas, make_contract, client_for):
    c = make_contract(
        personas.customer_a,
        personas.finance,
        [(300, date(2026, 1, 1), Condition.PREPAYMENT), (700, date(2026, 2, 1), Condition.PREPAYMENT)],
    )
    services.record_payment(contract=c, amount=Decimal(300), received_on=date(2026, 1, 1), by=personas.finance)
    html = client_for(personas.finance).get(personas.customer_a.get_absolute_url()).content.decode()
    assert "¥300.00" in html and "¥700.00" in html and "2026-02-01" in html
    assert 'data-testid="action-new-contract"' in html
    kinds = {e.kind for e in timeline.events_for(personas.customer_a, personas.finance)}
    assert {"contract", "payment"} <= kinds


def test_the_customer_summary_counts_every_contract_and_books_only_active_and_closed_ones(
    personas, make_contract, django_assert_num_queries
):
    def contract(status, plan):
        made = make_contract(personas.customer_a, personas.finance, plan)
        Contract.objects.filter(pk=made.pk).update(status=status)
        return made

    active = contract(
        ContractStatus.ACTIVE, [(300, date(2026, 3, 1)), (700, date(2026, 5, 1)), (100, date(2026, 4, 1))]
    )
    Installment.objects.filter(contract=active, due_on=date(2026, 3, 1)).update(paid_amount=300)  # paid in full
    Installment.objects.filter(contract=active, due_on=date(2026, 4, 1)).update(paid_amount=40)  # partly
    closed = contract(ContractStatus.CLOSED, [(500, date(2025, 6, 1))])
    Installment.objects.filter(contract=closed).update(paid_amount=500)
    contract(ContractStatus.DRAFT, [(9000, date(2026, 1, 15))])  # counted, neither booked nor due
    contract(ContractStatus.PENDING, [(8000, date(2026, 1, 20))])
    make_contract(personas.customer_b, personas.finance, [(7000, date(2026, 1, 10))])  # another customer

    with django_assert_num_queries(1):
        summary = customer_summary(personas.customer_a)
    assert summary == {
        "contracts": 4,
        "paid": Decimal(840),
        "outstanding": Decimal(760),  # 300 + 700 + 100 + 500 booked, 840 of it paid
        "next_due": date(2026, 4, 1),  # the earliest active installment not paid in full
    }
    empty = customer_summary(CustomerFactory())
    assert empty == {"contracts": 0, "paid": Decimal(0), "outstanding": Decimal(0), "next_due": None}


def test_it_hides_amounts_on_the_customer_page_from_the_rep(personas, make_contract, client_for):
    make_contract(personas.customer_a, personas.finance, [(12345, date(2026, 1, 1), Condition.PREPAYMENT)])
    html = client_for(personas.rep_a).get(personas.customer_a.get_absolute_url()).content.decode()
    assert 'data-testid="action-receivables"' in html
    assert "12,345" not in html
    assert 'data-testid="action-new-contract"' not in html


def test_it_feeds_direct_contracts_to_the_tiering_revenue_interface_without_double_counting(personas, make_contract):
    from datetime import datetime

    from django.utils import timezone

    from accounts import revenue

    make_contract(
        personas.customer_a,
        personas.finance,
        [(500, date(2026, 3, 1), Condition.PREPAYMENT)],
        signed_on=date(2026, 3, 1),
    )
    source = next(s for s in revenue.sources() if s.name == "receivables")
    since = timezone.make_aware(datetime(2026, 1, 1))  # noqa: DTZ001
    deals = list(source.deals(since))
    assert [(d[0], d[1]) for d in deals] == [(personas.customer_a.pk, Decimal("500.00"))]
    assert list(source.deals(timezone.make_aware(datetime(2026, 6, 1)))) == []  # noqa: DTZ001
    assert dict(source.first_dates())[personas.customer_a.pk].date() == date(2026, 3, 1)

from django.utils import timezone

from crm.demo import seed
from receivables import selectors
from receivables.models import Contract, CreditRating, Installment, Payment


def test_it_seeds_contracts_payments_and_overdue_in_every_bucket_once(db):
    seed(customers=60)
    assert Contract.objects.count() > 10 and Payment.objects.exists() and CreditRating.objects.exists()
    for contract in Contract.objects.prefetch_related("installments"):
        assert sum(i.amount for i in contract.installments.all()) == contract.amount
    from django.contrib.auth import get_user_model

    finance = get_user_model().objects.get(username="finance")
    totals = selectors.aging_totals(finance, today=timezone.localdate())
    assert all(totals[b] > 0 for b in ("d1_30", "d31_60", "d61_90", "d90_plus"))
    assert Installment.objects.filter(paid_amount__gt=0, paid_amount__lt=models_amount()).exists()
    count = Contract.objects.count()
    seed(customers=60)
    assert Contract.objects.count() == count


def models_amount():
    from django.db.models import F

    return F("amount")

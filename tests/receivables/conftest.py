"""Helpers of the receivables tests: contracts with plans built through the services."""

from datetime import date
from decimal import Decimal

import pytest

from receivables import services
from receivables.models import Condition


@pytest.fixture
def mail_outbox(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mailoutbox


@pytest.fixture
def make_contract(db):
    """make_contract(customer, by, [(amount, due_on, condition?) …], signed_on=…) → an active/pending contract."""

    def _make(customer, by, plan, *, signed_on=date(2026, 1, 1), title="合同", owner=None):
        lines = [
            services.PlanLine(Decimal(str(row[0])), row[1], row[2] if len(row) > 2 else Condition.DATE) for row in plan
        ]
        amount = sum((line.amount for line in lines), Decimal(0))
        return services.create_contract(
            customer=customer, by=by, amount=amount, signed_on=signed_on, plan=lines, title=title, owner=owner
        )

    return _make


@pytest.fixture
def good_customer(personas):
    """customer_a rated good (30% prepay, rest within 90 days is fine)."""
    services.set_credit_rating(customer=personas.customer_a, rating="good", note="背调良好", by=personas.finance)
    return personas.customer_a

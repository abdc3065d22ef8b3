"""Pages: who may open what, amounts only for those allowed, forms call the services, query budget."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Status
from receivables import services
from receivables.models import Condition, Contract, ContractStatus, CreditRating, Payment, PaymentTermPolicy

pytestmark = pytest.mark.usefixtures("english")  # the assertions read the English wording


D = Decimal


@pytest.fixture
def contracts(personas, make_contract):
    today = timezone.localdate()
    a = make_contract(
        personas.customer_a,
        personas.finance,
        [(11111, today - timedelta(days=10), Condition.PREPAYMENT)],
        title="合同甲",
    )
    c = make_contract(
        personas.customer_c,
        personas.finance,
        [(22222, today - timedelta(days=40), Condition.PREPAYMENT)],
        title="合同丙",
    )
    return a, c


FINANCE_ONLY = ["receivables:approvals", "receivables:ratings", "receivables:policies", "receivables:blacklist"]


@pytest.mark.parametrize("name", FINANCE_ONLY)
def test_it_opens_finance_pages_to_finance_and_refuses_reps_and_managers(personas, client_for, name):
    assert client_for(personas.finance).get(reverse(name)).status_code == 200
    assert client_for(personas.admin).get(reverse(name)).status_code == 200
    assert client_for(personas.rep_a).get(reverse(name)).status_code == 403
    assert client_for(personas.manager_a).get(reverse(name)).status_code == 403


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    for name in ["receivables:dashboard", "receivables:overdue", "receivables:contract_list", *FINANCE_ONLY]:
        assert client.get(reverse(name)).status_code == 302


def test_it_shows_the_aging_report_to_finance_and_managers_but_not_reps(personas, client_for, contracts):
    html = client_for(personas.finance).get(reverse("receivables:dashboard")).content.decode()
    assert "¥33,333.00" in html and 'data-testid="chart-aging"' in html
    manager_html = client_for(personas.manager_a).get(reverse("receivables:dashboard")).content.decode()
    assert "¥11,111.00" in manager_html and "22,222" not in manager_html
    assert client_for(personas.rep_a).get(reverse("receivables:dashboard")).status_code == 403


def test_it_exports_the_aging_report_for_those_allowed(personas, client_for, contracts):
    response = client_for(personas.finance).get(reverse("receivables:dashboard") + "?export=xlsx&by=rep")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="aging-')
    csv = client_for(personas.finance).get(reverse("receivables:dashboard") + "?export=csv").content.decode()
    assert "MARKER-A" in csv and "MARKER-C" in csv


def test_the_aging_page_lists_the_largest_rows_says_so_and_the_export_has_all(
    personas, client_for, contracts, monkeypatch
):
    from receivables import views

    client = client_for(personas.finance)
    assert 'data-testid="aging-more"' not in client.get(reverse("receivables:dashboard")).content.decode()
    monkeypatch.setattr(views, "AGING_ROWS", 1)
    response = client.get(reverse("receivables:dashboard"))
    html = response.content.decode()
    assert [r["total"] for r in response.context["rows"]] == [D("22222")]  # the larger of the two
    assert 'data-testid="aging-more"' in html and "The 1 largest are shown" in html
    assert "¥33,333.00" in html  # the totals still cover both
    csv = client.get(reverse("receivables:dashboard") + "?export=csv").content.decode()
    assert "MARKER-A" in csv and "MARKER-C" in csv


@pytest.mark.usefixtures("stable_query_counts")
def test_it_keeps_the_aging_page_within_a_fixed_query_budget(personas, client_for, make_contract):
    client = client_for(personas.finance)
    make_contract(personas.customer_a, personas.finance, [(10, date(2026, 1, 1), Condition.PREPAYMENT)])
    client.get(reverse("receivables:dashboard"))  # warm per-session caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("receivables:dashboard"))
    for customer in [personas.customer_b, personas.customer_c]:
        for _ in range(5):
            make_contract(customer, personas.finance, [(10, date(2026, 1, 1), Condition.PREPAYMENT)])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("receivables:dashboard"))
    assert len(many) == len(few) <= 20


def test_a_rep_sees_only_their_own_contracts_and_no_amounts(personas, client_for, contracts):
    a, c = contracts
    client = client_for(personas.rep_a)
    html = client.get(reverse("receivables:contract_list")).content.decode()
    assert "合同甲" in html and "合同丙" not in html
    assert "11,111" not in html and "¥" not in html
    detail = client.get(a.get_absolute_url()).content.decode()
    assert "11,111" not in detail and 'data-testid="payment-form"' not in detail
    assert client.get(c.get_absolute_url()).status_code == 404
    overdue = client.get(reverse("receivables:overdue")).content.decode()
    assert "合同甲" in overdue and "合同丙" not in overdue and "¥" not in overdue


def test_finance_sees_every_contract_with_amounts(personas, client_for, contracts):
    html = client_for(personas.finance).get(reverse("receivables:contract_list")).content.decode()
    assert "¥11,111.00" in html and "¥22,222.00" in html
    overdue = client_for(personas.finance).get(reverse("receivables:overdue")).content.decode()
    assert "¥22,222.00" in overdue


def test_a_manager_sees_the_team_contracts_only(personas, client_for, contracts):
    html = client_for(personas.manager_b).get(reverse("receivables:contract_list")).content.decode()
    assert "合同丙" in html and "合同甲" not in html


def _plan_post(customer, rows, **extra):
    data = {
        "customer": customer.pk,
        "title": "新合同",
        "amount": "1000.00",
        "signed_on": "2026-11-23",
        "product_line": "crm",
        "plan-TOTAL_FORMS": str(len(rows)),
        "plan-INITIAL_FORMS": "0",
        "plan-MIN_NUM_FORMS": "1",
        "plan-MAX_NUM_FORMS": "24",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"plan-{i}-{key}"] = value
    data.update(extra)
    return data


def test_finance_creates_a_contract_with_a_plan_from_the_form(personas, client_for):
    services.set_credit_rating(customer=personas.customer_a, rating="good", note="ok", by=personas.finance)
    client = client_for(personas.finance)
    url = reverse("receivables:contract_create")
    assert client.get(url + f"?customer={personas.customer_a.pk}").status_code == 200
    response = client.post(
        url,
        _plan_post(
            personas.customer_a,
            [
                {"percent": "30", "due_on": "2026-11-23", "condition": "prepayment"},
                {"percent": "70", "due_on": "2027-01-15", "condition": "acceptance"},
            ],
        ),
    )
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == contract.get_absolute_url()
    assert contract.status == ContractStatus.ACTIVE
    assert [i.amount for i in contract.installments.all()] == [D("300.00"), D("700.00")]


def test_the_form_reports_a_plan_that_does_not_add_up(personas, client_for):
    response = client_for(personas.finance).post(
        reverse("receivables:contract_create"),
        _plan_post(personas.customer_a, [{"amount": "999", "due_on": "2026-11-23", "condition": "prepayment"}]),
    )
    assert response.status_code == 200 and 'data-testid="form-error"' in response.content.decode()
    assert not Contract.objects.exists()


def test_the_form_refuses_a_blacklisted_customer_with_a_message(personas, client_for):
    personas.customer_a.status = Status.BLACKLISTED
    personas.customer_a.save()
    client = client_for(personas.finance)
    response = client.get(reverse("receivables:contract_create") + f"?customer={personas.customer_a.pk}", follow=True)
    assert "blacklisted" in response.content.decode()
    client.post(
        reverse("receivables:contract_create"),
        _plan_post(personas.customer_a, [{"amount": "1000", "due_on": "2026-11-23", "condition": "prepayment"}]),
    )
    assert not Contract.objects.exists()


def test_a_rep_cannot_open_the_contract_form_and_outsiders_get_404(personas, client_for):
    url = reverse("receivables:contract_create")
    assert client_for(personas.rep_a).get(url + f"?customer={personas.customer_a.pk}").status_code == 403
    assert client_for(personas.manager_b).get(url + f"?customer={personas.customer_a.pk}").status_code == 404


def test_finance_records_a_payment_and_others_cannot(personas, client_for, contracts):
    a, _c = contracts
    url = reverse("receivables:payment_create", args=[a.pk])
    data = {"amount": "1000.00", "received_on": "2026-11-23", "reference": "=HYPERLINK()"}
    assert client_for(personas.manager_a).post(url, data).status_code == 403
    assert client_for(personas.finance).post(url, data).status_code == 302
    assert Payment.objects.get().amount == D("1000.00")
    client_for(personas.finance).post(url, {**data, "amount": "99999"})
    assert Payment.objects.count() == 1  # over-payment refused


def test_finance_approves_from_the_queue(personas, client_for, make_contract):
    pending = make_contract(
        personas.customer_b,
        personas.manager_a,
        [(500, date(2026, 1, 1), Condition.PREPAYMENT), (500, date(2026, 2, 1))],
    )
    client = client_for(personas.finance)
    assert pending.title in client.get(reverse("receivables:approvals")).content.decode()
    assert (
        client_for(personas.manager_a).post(reverse("receivables:contract_approve", args=[pending.pk])).status_code
        == 403
    )
    client_for(personas.finance).post(reverse("receivables:contract_approve", args=[pending.pk]), {"next": "queue"})
    pending.refresh_from_db()
    assert pending.status == ContractStatus.ACTIVE


def test_finance_sets_a_rating_on_the_ratings_page(personas, client_for, contracts):
    client = client_for(personas.finance)
    assert "MARKER-A" in client.get(reverse("receivables:ratings")).content.decode()
    client.post(
        reverse("receivables:rating_set", args=[personas.customer_a.pk]), {"rating": "good", "note": "背调通过"}
    )
    assert CreditRating.objects.get(customer=personas.customer_a).rating == "good"
    assert (
        client_for(personas.rep_a)
        .post(reverse("receivables:rating_set", args=[personas.customer_a.pk]), {"rating": "poor", "note": "x"})
        .status_code
        == 403
    )


def test_finance_edits_the_policies(personas, client_for):
    client = client_for(personas.finance)
    client.get(reverse("receivables:policies"))
    policies = list(PaymentTermPolicy.objects.order_by("rating"))
    data = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000"}
    for i, p in enumerate(policies):
        data.update(
            {
                f"form-{i}-id": p.pk,
                f"form-{i}-min_prepay_percent": "20" if p.rating == "good" else str(p.min_prepay_percent),
                f"form-{i}-max_credit_days": p.max_credit_days,
                f"form-{i}-late_fee_percent": "0",
            }
        )
        if p.credit_allowed:
            data[f"form-{i}-credit_allowed"] = "on"
    assert client.post(reverse("receivables:policies"), data).status_code == 302
    assert PaymentTermPolicy.objects.get(rating="good").min_prepay_percent == D(20)


def test_finance_lifts_a_blacklisting_with_reason_and_confirmation(personas, client_for):
    personas.customer_a.status = Status.BLACKLISTED
    personas.customer_a.save()
    client = client_for(personas.finance)
    assert "MARKER-A" in client.get(reverse("receivables:blacklist")).content.decode()
    url = reverse("receivables:blacklist_lift", args=[personas.customer_a.pk])
    client.post(url, {"reason": "已还款"})  # no confirmation
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.status == Status.BLACKLISTED
    client.post(url, {"reason": "已还款", "confirm": "on"})
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.status == Status.ACTIVE


def test_the_nav_offers_receivables_to_finance_managers_and_admins_only(personas, client_for):
    for user, expected in [
        (personas.finance, True),
        (personas.manager_a, True),
        (personas.admin, True),
        (personas.rep_a, False),
    ]:
        html = client_for(user).get(reverse("crm:home")).content.decode()
        assert ('data-nav="receivables"' in html) is expected

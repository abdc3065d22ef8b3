"""Churn pages per role: warning list, export, cases, churn form, policy, report, usage API."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import ChurnReason, CustomerHealth, RetentionCase, RiskLevel, Stage, UsageToken, UsageWeek
from accounts.services import churn
from accounts.views.churn import _hash

pytestmark = pytest.mark.usefixtures("english")  # the assertions read the English wording


NOW = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))


def _health(customer, score, risk, cause="payments", detail="¥5,000.00 overdue, the oldest 40 days late"):
    signals = {cause: {"penalty": 100 - score, "detail": detail}} if cause else {}
    return CustomerHealth.objects.create(
        customer=customer, score=score, risk=risk, main_cause=cause, signals=signals, week="2026-W48", scanned_at=NOW
    )


@pytest.fixture
def scored(personas):
    _health(personas.customer_a, 40, RiskLevel.HIGH)
    _health(personas.customer_b, 90, RiskLevel.LOW, cause="")
    _health(personas.customer_c, 60, RiskLevel.MEDIUM, cause="nps", detail="Latest NPS answer 4 (a detractor)")
    return personas


@pytest.fixture
def case(personas):
    return RetentionCase.objects.create(
        customer=personas.customer_a, week="2026-W48", opened_at=NOW, cause="payments", contact_due_at=NOW
    )


def test_a_manager_sees_the_teams_customers_riskiest_first(scored, client_for):
    response = client_for(scored.manager_a).get(reverse("accounts:churn_warnings"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("MARKER-A") < body.index("MARKER-B")
    assert "MARKER-C" not in body
    assert "¥5,000.00 overdue" in body and "Payment delays" in body


def test_an_admin_sees_everyone_and_filters_by_risk_and_cause(scored, client_for):
    client = client_for(scored.admin)
    body = client.get(reverse("accounts:churn_warnings")).content.decode()
    assert all(marker in body for marker in ("MARKER-A", "MARKER-B", "MARKER-C"))
    body = client.get(reverse("accounts:churn_warnings"), {"risk": "medium"}).content.decode()
    assert "MARKER-C" in body and "MARKER-A" not in body
    body = client.get(reverse("accounts:churn_warnings"), {"main_cause": "payments"}).content.decode()
    assert "MARKER-A" in body and "MARKER-C" not in body


def test_reps_and_finance_are_refused_the_warning_list(scored, client_for):
    for user in (scored.rep_a, scored.finance):
        assert client_for(user).get(reverse("accounts:churn_warnings")).status_code == 403


def test_the_list_exports_what_is_filtered_with_cells_neutralised(scored, client_for):
    CustomerHealth.objects.filter(customer=scored.customer_a).update(
        signals={"payments": {"penalty": 60, "detail": "=HYPERLINK(1)"}}
    )
    response = client_for(scored.manager_a).get(reverse("accounts:churn_warnings"), {"risk": "high", "_export": "csv"})
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "MARKER-A" in text and "MARKER-B" not in text
    assert "'=HYPERLINK(1)" in text
    xlsx = client_for(scored.manager_a).get(reverse("accounts:churn_warnings"), {"_export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_customer_page_shows_the_score_cause_and_signals(scored, client_for, case):
    body = client_for(scored.rep_a).get(reverse("accounts:customer_detail", args=[scored.customer_a.pk])).content
    body = body.decode()
    assert 'data-testid="health-card"' in body and "High risk" in body
    assert "Payment delays" in body and "¥5,000.00 overdue" in body
    assert reverse("accounts:retention_case", args=[case.pk]) in body


def test_overdue_amounts_are_shown_only_to_who_may_see_amounts(personas, client_for):
    CustomerHealth.objects.create(
        customer=personas.customer_a,
        score=80,
        risk=RiskLevel.LOW,
        main_cause="payments",
        signals={"payments": {"penalty": 20, "detail": "60 days late", "detail_amounts": "¥80,000.00, 60 days late"}},
        week="2026-W48",
        scanned_at=NOW,
    )
    url = reverse("accounts:customer_detail", args=[personas.customer_a.pk])
    assert "¥80,000.00" not in client_for(personas.rep_a).get(url).content.decode()
    assert "¥80,000.00" in client_for(personas.manager_a).get(url).content.decode()
    export = client_for(personas.manager_a).get(reverse("accounts:churn_warnings"), {"_export": "csv"})
    assert "¥80,000.00" in export.content.decode("utf-8-sig")


def test_cases_are_hidden_from_outsiders_and_read_only_for_finance(personas, client_for, case):
    url = reverse("accounts:retention_case", args=[case.pk])
    assert client_for(personas.rep_c).get(url).status_code == 404
    assert client_for(personas.manager_b).get(url).status_code == 404
    assert client_for(personas.rep_b).get(url).status_code == 404  # same team, not the owner
    assert client_for(personas.manager_a).get(url).status_code == 200
    assert client_for(personas.rep_c).post(reverse("accounts:retention_contact", args=[case.pk])).status_code == 404


def test_the_owner_works_the_case_through_the_pages(personas, client_for, case):
    client = client_for(personas.rep_a)
    client.post(reverse("accounts:retention_contact", args=[case.pk]), {"note": "客户考虑换供应商"})
    case.refresh_from_db()
    assert case.state == RetentionCase.State.CONTACTED
    deadline = (timezone.localdate() + timedelta(days=7)).isoformat()
    client.post(
        reverse("accounts:retention_plan", args=[case.pk]),
        {"offer": "续约九折", "owner": personas.rep_a.pk, "deadline": deadline},
    )
    case.refresh_from_db()
    assert (case.state, case.offer) == (RetentionCase.State.PLANNED, "续约九折")
    response = client.post(reverse("accounts:retention_close", args=[case.pk]), {"retained": "0"}, follow=True)
    assert "Choose why the customer was lost." in response.content.decode()
    case.refresh_from_db()
    assert case.state == RetentionCase.State.PLANNED


def test_marking_churned_needs_a_reason_on_the_page_too(personas, client_for):
    url = reverse("accounts:mark_churned", args=[personas.customer_a.pk])
    client = client_for(personas.rep_a)
    assert client.post(url, {"note": "走了"}).status_code == 200
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.stage != Stage.CHURNED
    response = client.post(url, {"reason": ChurnReason.objects.get(code="budget_cut").pk})
    assert response.status_code == 302
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.stage == Stage.CHURNED
    assert client_for(personas.rep_c).get(url).status_code == 404
    assert (
        client_for(personas.finance).get(reverse("accounts:mark_churned", args=[personas.customer_b.pk])).status_code
        == 403
    )


def test_managers_edit_weights_and_bands_and_reps_cannot(personas, client_for):
    weights = {f"w_{key}": 10 for key in churn.default_health_weights()}
    data = {**weights, "w_usage": 40, "high_below": 40, "medium_below": 70}
    data |= {"usage_window_weeks": 6, "usage_run_weeks": 3, "usage_ratio": 60}
    assert client_for(personas.rep_a).post(reverse("accounts:health_policy"), data).status_code == 403
    response = client_for(personas.manager_a).post(reverse("accounts:health_policy"), data)
    assert response.status_code == 302
    policy = churn.current_policy()
    assert (policy.weights["usage"], policy.high_below, policy.usage_ratio, policy.usage_run_weeks) == (40, 40, 60, 3)
    bad = client_for(personas.manager_a).post(reverse("accounts:health_policy"), {**data, "high_below": 90})
    assert bad.status_code == 200 and "high-risk band" in bad.content.decode()
    assert churn.current_policy().high_below == 40


def test_the_report_is_for_managers_and_exports(personas, client_for):
    assert client_for(personas.rep_a).get(reverse("accounts:churn_report")).status_code == 403
    client = client_for(personas.manager_a)
    churn.mark_churned(
        customer=personas.customer_a, reason=ChurnReason.objects.get(code="budget_cut"), by=personas.rep_a
    )
    today = timezone.localdate()
    period = {"start": today.replace(month=1, day=1).isoformat(), "end": today.isoformat()}
    body = client.get(reverse("accounts:churn_report"), period).content.decode()
    assert 'data-testid="churned">1<' in body
    export = client.get(reverse("accounts:churn_report"), {**period, "_export": "csv"})
    assert ChurnReason.objects.get(code="budget_cut").name in export.content.decode("utf-8-sig")


def test_scan_now_is_a_manager_post(personas, client_for, monkeypatch, django_capture_on_commit_callbacks):
    from accounts import tasks

    queued = []
    monkeypatch.setattr(tasks.churn_scan, "delay", lambda: queued.append(True))
    assert client_for(personas.rep_a).post(reverse("accounts:churn_scan")).status_code == 403
    assert client_for(personas.manager_a).get(reverse("accounts:churn_scan")).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(personas.manager_a).post(reverse("accounts:churn_scan"))
    assert response.status_code == 302 and queued == [True]


# --- usage API ---------------------------------------------------------------------------------------


def _post(client, body, token):
    return client.post(
        reverse("usage_api"), json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_the_owner_issues_a_token_that_is_stored_only_hashed(personas, client_for):
    response = client_for(personas.rep_a).post(
        reverse("accounts:usage_token", args=[personas.customer_a.pk]), follow=True
    )
    message = next(iter(response.context["messages"])).message
    token = message.rsplit(" ", 1)[-1]
    stored = UsageToken.objects.get(customer=personas.customer_a)
    assert stored.token_hash == _hash(token) and token not in stored.token_hash
    assert (
        client_for(personas.rep_c).post(reverse("accounts:usage_token", args=[personas.customer_a.pk])).status_code
        == 404
    )


def test_the_usage_api_needs_a_valid_token_and_answers_in_json(personas, client):
    UsageToken.objects.create(customer=personas.customer_a, token_hash=_hash("secret-token"))
    with time_machine.travel(NOW, tick=False):
        assert _post(client, {"week_start": "2026-11-16", "logins": 5}, "wrong").status_code == 401
        assert _post(client, {"week_start": "2026-11-17", "logins": 5}, "secret-token").json()["ok"] is False
        assert _post(client, {"week_start": "2026-11-16"}, "secret-token").status_code == 400
        assert _post(client, {"week_start": "2026-11-30", "logins": 5}, "secret-token").status_code == 400  # future
        assert _post(client, {"week_start": "2026-11-16", "logins": -1}, "secret-token").status_code == 400
        assert client.get(reverse("usage_api")).status_code == 405
        assert _post(client, {"week_start": "2026-11-16", "logins": 5}, "secret-token").json() == {
            "ok": True,
            "customer": personas.customer_a.pk,
            "week_start": "2026-11-16",
            "logins": 5,
        }
        assert _post(client, {"week_start": "2026-11-16", "logins": 7}, "secret-token").status_code == 200
    assert list(UsageWeek.objects.values_list("customer_id", "logins")) == [(personas.customer_a.pk, 7)]


def test_the_usage_api_is_rate_limited(personas, client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    from accounts.views import churn as views

    codes = [_post(client, {}, "nope").status_code for _ in range(views.USAGE_API_RATE + 1)]
    assert codes[-2:] == [401, 429]

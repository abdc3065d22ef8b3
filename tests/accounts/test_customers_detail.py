"""The customer detail page: visibility, amounts, decision chain, completeness, timeline, merge redirect."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts import timeline
from accounts.models import Contact, ContactRole
from accounts.services.customers import update_customer

pytestmark = pytest.mark.django_db


def test_it_shows_the_detail_to_whoever_may_see_it_and_404_to_others(personas, client_for):
    url = personas.customer_a.get_absolute_url()
    for persona in ("rep_a", "manager_a", "finance", "admin"):
        assert client_for(getattr(personas, persona)).get(url).status_code == 200, persona
    for persona in ("rep_b", "rep_c", "manager_b"):
        assert client_for(getattr(personas, persona)).get(url).status_code == 404, persona


def test_it_shows_edit_buttons_only_to_those_who_may_edit(personas, client_for):
    url = personas.customer_a.get_absolute_url()
    assert 'data-testid="edit-customer"' in client_for(personas.rep_a).get(url).content.decode()
    assert 'data-testid="edit-customer"' in client_for(personas.manager_a).get(url).content.decode()
    assert 'data-testid="edit-customer"' not in client_for(personas.finance).get(url).content.decode()


def test_it_groups_the_decision_chain_by_role_and_warns_without_a_decision_maker(personas, client_for):
    customer = personas.customer_a
    Contact.objects.create(customer=customer, name="李采购", role=ContactRole.PURCHASER)
    client = client_for(personas.rep_a)
    response = client.get(customer.get_absolute_url())
    assert 'data-testid="no-decision-maker"' in response.content.decode()
    chain = response.context["decision_chain"]
    assert [c.name for c in chain[ContactRole.PURCHASER]["contacts"]] == ["李采购"]
    Contact.objects.create(customer=customer, name="张总", role=ContactRole.DECISION_MAKER)
    response = client.get(customer.get_absolute_url())
    assert 'data-testid="no-decision-maker"' not in response.content.decode()
    assert [c.name for c in response.context["decision_chain"][ContactRole.DECISION_MAKER]["contacts"]] == ["张总"]


def test_it_shows_the_completeness_score_and_what_is_missing(personas, client_for):
    response = client_for(personas.rep_a).get(personas.customer_a.get_absolute_url())
    assert 'data-testid="completeness-score"' in response.content.decode()
    # the factory fills only name, type and owner: 12 of the 15 scored facts are missing
    assert len(response.context["missing"]) == 12
    assert response.context["customer"].completeness < 100


def test_it_redirects_a_merged_record_to_the_survivor(personas, client_for):
    loser = personas.customer_b
    loser.merged_into = personas.customer_a
    loser.save()
    response = client_for(personas.manager_a).get(loser.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"] == personas.customer_a.get_absolute_url()


def test_it_does_not_reveal_a_merged_record_outside_the_users_scope(personas, client_for):
    personas.customer_c.merged_into = personas.customer_a
    personas.customer_c.save()
    assert client_for(personas.rep_a).get(personas.customer_c.get_absolute_url()).status_code == 404


def test_it_includes_the_detail_tools_partial(personas, client_for):
    response = client_for(personas.rep_a).get(personas.customer_a.get_absolute_url())
    assert "accounts/partials/detail_tools.html" in [t.name for t in response.templates]


def test_it_shows_field_changes_old_to_new_on_the_timeline(personas, client_for):
    customer = personas.customer_a
    customer.next_step = "安排演示"
    update_customer(customer=customer, by=personas.rep_a)
    response = client_for(personas.rep_a).get(customer.get_absolute_url())
    changed = [e for e in response.context["timeline"] if e.kind == "changed"]
    assert changed and ("—", "安排演示") in [(old, new) for _label, old, new in changed[0].changes]
    assert "安排演示" in response.content.decode()


def test_it_hides_budget_changes_from_the_timeline_of_a_rep(personas):
    customer = personas.customer_a
    customer.budget = 999999
    update_customer(customer=customer, by=personas.manager_a)
    with translation.override("en"):
        rep_changes = [c for e in timeline.events_for(customer, personas.rep_a) for c in e.changes]
        manager_changes = [c for e in timeline.events_for(customer, personas.manager_a) for c in e.changes]
        assert not [c for c in rep_changes if "budget" in str(c[0])]
        assert [c for c in manager_changes if "budget" in str(c[0])]


def test_it_merges_events_of_registered_providers_newest_first(personas):
    from datetime import timedelta

    from django.utils import timezone

    def followups(customer, user):
        return [timeline.TimelineEvent(when=timezone.now() + timedelta(days=1), kind="followup", title="Called")]

    def broken(customer, user):
        raise RuntimeError("boom")

    timeline.register(followups)
    timeline.register(followups)  # registering twice is harmless
    timeline.register(broken)
    try:
        events = timeline.events_for(personas.customer_a, personas.rep_a)
        assert events[0].title == "Called"
        assert [p for p in timeline.providers() if p is followups] == [followups]
    finally:
        timeline.unregister(followups)
        timeline.unregister(broken)


def test_a_customer_without_history_rows_has_a_timeline_and_logs_no_error(personas, client_for, caplog):
    customer = personas.customer_a
    customer.history.all().delete()  # as after a bulk load that writes no history
    assert timeline.history_provider(customer, personas.rep_a) == []
    with caplog.at_level("ERROR", logger="accounts.timeline"):
        response = client_for(personas.rep_a).get(customer.get_absolute_url())
    assert response.status_code == 200
    assert not [r for r in caplog.records if r.name == "accounts.timeline"]


def test_the_page_reads_the_contacts_and_the_history_once(personas, client_for):
    """Completeness uses the prefetched contacts; the timeline and the audit panel share one read
    of the latest history records."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customer = personas.customer_a
    customer.next_step = "报价"
    update_customer(customer=customer, by=personas.manager_a)
    with CaptureQueriesContext(connection) as captured:
        response = client_for(personas.rep_a).get(reverse("accounts:customer_detail", args=[customer.pk]))
    sql = [q["sql"] for q in captured.captured_queries]
    assert len([q for q in sql if 'FROM "accounts_contact"' in q]) == 1
    assert len([q for q in sql if 'FROM "accounts_historicalcustomer"' in q]) == 1
    assert response.context["history"][0].history_user == personas.manager_a
    assert any(event.kind == "changed" for event in response.context["timeline"])


def test_it_lists_the_audit_history_with_who_changed_it(personas, client_for):
    customer = personas.customer_a
    customer.name = "改名公司"
    update_customer(customer=customer, by=personas.manager_a)
    response = client_for(personas.rep_a).get(reverse("accounts:customer_detail", args=[customer.pk]))
    assert response.context["history"][0].history_user == personas.manager_a

"""Pages: who sees what (404 outside the scope, 403 where one may not act), htmx claim, query guards."""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from leads import services
from leads.models import HighPotentialList, Intent, Lead, LeadStatus, Opportunity, OppStage
from tests.leads.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(personas):
    personas.lead_a = LeadFactory(company="MARKER-LEAD-A", owner=personas.rep_a, status=LeadStatus.WORKING)
    personas.lead_c = LeadFactory(company="MARKER-LEAD-C", owner=personas.rep_c, status=LeadStatus.WORKING)
    personas.pool_lead = LeadFactory(company="MARKER-POOL")
    personas.opp_a = services.create_opportunity(
        customer=personas.customer_a, owner=personas.rep_a, by=personas.rep_a, name="MARKER-OPP-A", amount=987654
    )
    personas.opp_c = services.create_opportunity(
        customer=personas.customer_c, owner=personas.rep_c, by=personas.rep_c, name="MARKER-OPP-C", amount=5
    )
    return personas


def body(response):
    return response.content.decode()


@pytest.mark.parametrize(
    ("persona", "seen", "hidden"),
    [
        ("rep_a", ["MARKER-LEAD-A"], ["MARKER-LEAD-C", "MARKER-POOL"]),
        ("manager_a", ["MARKER-LEAD-A"], ["MARKER-LEAD-C"]),
        ("manager_b", ["MARKER-LEAD-C"], ["MARKER-LEAD-A"]),
        ("admin", ["MARKER-LEAD-A", "MARKER-LEAD-C"], ["MARKER-POOL"]),
    ],
)
def test_it_shows_each_role_only_the_leads_in_its_scope(world, client_for, persona, seen, hidden):
    page = body(client_for(getattr(world, persona)).get(reverse("leads:lead_list")))
    assert all(m in page for m in seen) and not any(m in page for m in hidden)


@pytest.mark.parametrize("persona", ["rep_a", "rep_c", "manager_b", "admin"])
def test_it_shows_the_pool_to_every_sales_role(world, client_for, persona):
    page = body(client_for(getattr(world, persona)).get(reverse("leads:pool")))
    assert "MARKER-POOL" in page and "MARKER-LEAD-A" not in page


@pytest.mark.parametrize(
    "name", ["lead_list", "pool", "pipeline", "lead_create", "scoring_policy", "assignment_policy", "high_potential"]
)
def test_it_refuses_finance_the_sales_pages(world, client_for, name):
    assert client_for(world.finance).get(reverse(f"leads:{name}")).status_code == 403


@pytest.mark.parametrize("name", ["scoring_policy", "assignment_policy"])
def test_it_keeps_the_rules_pages_for_managers(world, client_for, name):
    assert client_for(world.rep_b).get(reverse(f"leads:{name}")).status_code == 403
    assert client_for(world.manager_a).get(reverse(f"leads:{name}")).status_code == 200


def test_it_sends_anonymous_visitors_to_the_login_page(world, client):
    for name in ("lead_list", "pool", "pipeline"):
        assert client.get(reverse(f"leads:{name}")).status_code == 302


def test_it_answers_404_for_a_lead_outside_the_scope_and_shows_the_own_and_pool_leads(world, client_for):
    c = client_for(world.rep_a)
    assert c.get(world.lead_c.get_absolute_url()).status_code == 404
    assert c.get(reverse("leads:lead_edit", args=[world.lead_c.pk])).status_code == 404
    assert c.get(reverse("leads:lead_convert", args=[world.lead_c.pk])).status_code == 404
    assert c.post(reverse("leads:lead_claim", args=[world.lead_c.pk])).status_code == 404
    page = c.get(world.lead_a.get_absolute_url())
    assert page.status_code == 200 and 'data-testid="score-breakdown"' in body(page)
    assert c.get(world.pool_lead.get_absolute_url()).status_code == 200
    assert client_for(world.finance).get(world.pool_lead.get_absolute_url()).status_code == 403


def test_it_answers_403_when_a_viewer_may_not_edit(world, client_for):
    # a manager sees the pool lead but must claim it before editing or converting
    c = client_for(world.rep_b)
    assert c.get(reverse("leads:lead_edit", args=[world.pool_lead.pk])).status_code == 403
    assert c.get(reverse("leads:lead_convert", args=[world.pool_lead.pk])).status_code == 403
    assert client_for(world.manager_a).get(reverse("leads:lead_edit", args=[world.lead_a.pk])).status_code == 200


def test_it_scopes_opportunities_and_hides_amounts_from_reps(world, client_for):
    rep_page = body(client_for(world.rep_a).get(reverse("leads:pipeline")))
    assert "MARKER-OPP-A" in rep_page and "MARKER-OPP-C" not in rep_page
    assert "987,654" not in rep_page
    manager_page = body(client_for(world.manager_a).get(reverse("leads:pipeline")))
    assert "MARKER-OPP-A" in manager_page and "987,654" in manager_page
    c = client_for(world.rep_a)
    assert c.get(world.opp_c.get_absolute_url()).status_code == 404
    assert c.post(reverse("leads:opportunity_stage", args=[world.opp_c.pk]), {"stage": "intent"}).status_code == 404
    detail = c.get(world.opp_a.get_absolute_url())
    assert detail.status_code == 200 and "987654" not in body(detail)


def test_it_moves_an_opportunity_by_post_and_shows_the_error_of_a_wrong_move(world, client_for):
    c = client_for(world.rep_a)
    url = reverse("leads:opportunity_stage", args=[world.opp_a.pk])
    response = c.post(url, {"stage": "won"}, follow=True)
    assert "cannot move" in body(response) or "不能" in body(response)
    c.post(url, {"stage": "intent"})
    world.opp_a.refresh_from_db()
    assert world.opp_a.stage == OppStage.INTENT
    assert c.get(reverse("leads:opportunity_stage", args=[world.opp_a.pk])).status_code == 405


def test_it_claims_from_the_pool_with_htmx_and_reports_a_lost_race(world, client_for):
    c = client_for(world.rep_a)
    url = reverse("leads:lead_claim", args=[world.pool_lead.pk])
    response = c.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and f"claim-result-{world.pool_lead.pk}" in body(response)
    world.pool_lead.refresh_from_db()
    assert world.pool_lead.owner == world.rep_a
    # manager_a still sees the lead (their team's now) and clicks "Claim" on a stale pool page
    late = client_for(world.manager_a).post(url, headers={"HX-Request": "true"})
    assert late.status_code == 200 and "alert-warning" in body(late)
    world.pool_lead.refresh_from_db()
    assert world.pool_lead.owner == world.rep_a


def test_it_converts_through_the_page_and_refuses_a_second_time(world, client_for):
    c = client_for(world.rep_a)
    url = reverse("leads:lead_convert", args=[world.lead_a.pk])
    response = c.post(url, {"opportunity_name": "甲新项目", "amount": "1000", "product_line": "crm"})
    opp = Opportunity.objects.get(name="甲新项目")
    assert response.status_code == 302 and response["Location"] == opp.get_absolute_url()
    again = c.post(url, {"opportunity_name": "甲新项目", "amount": "1000"}, follow=True)
    assert Opportunity.objects.filter(name="甲新项目").count() == 1
    assert "already been converted" in body(again) or "已" in body(again)


def test_it_creates_a_lead_owned_by_its_author_and_warns_of_duplicates(world, client_for):
    c = client_for(world.rep_a)
    data = {
        "company": "新公司",
        "contact_name": "张三",
        "phone": "13800000001",
        "interaction_count": 0,
        "intent": "low",
    }
    response = c.post(reverse("leads:lead_create"), data)
    lead = Lead.objects.get(company="新公司")
    assert response.status_code == 302 and lead.owner == world.rep_a and lead.team == world.team_a
    dup = c.post(reverse("leads:lead_create"), {**data, "company": "新公司 有限公司"})
    assert dup.status_code == 200 and Lead.objects.filter(company__startswith="新公司").count() == 1
    assert "already exists" in body(dup) or "已存在" in body(dup)


def test_it_lets_a_manager_change_the_weights_in_the_app(world, client_for):
    data = {
        "weight_interactions": 10,
        "weight_company_size": 10,
        "weight_decision_maker": 70,
        "weight_channel": 10,
        "interactions_for_full": 5,
        "high_from": 60,
        "medium_from": 30,
    }
    assert client_for(world.manager_a).post(reverse("leads:scoring_policy"), data).status_code == 302
    lead = services.create_lead(lead=Lead(company="决策公司", decision_maker_reached=True))
    assert lead.intent == Intent.HIGH
    bad = client_for(world.manager_a).post(reverse("leads:scoring_policy"), {**data, "medium_from": 90})
    assert bad.status_code == 200 and "is-invalid" in body(bad)


def test_it_shows_the_weekly_list_filtered_to_the_viewer(world, client_for):
    LeadFactory(company="MARKER-HP-C", owner=world.rep_c, intent=Intent.HIGH, score=95)
    services.build_high_potential_list(send=False)
    assert HighPotentialList.objects.count() == 1
    assert "MARKER-HP-C" in body(client_for(world.manager_b).get(reverse("leads:high_potential")))
    assert "MARKER-HP-C" not in body(client_for(world.manager_a).get(reverse("leads:high_potential")))


def test_it_shows_channel_costs_only_to_those_who_may_see_amounts(world, client_for):
    import datetime

    from leads.models import ChannelCost

    ChannelCost.objects.create(channel=ChannelFactory(name="展会渠道"), month=datetime.date(2026, 1, 1), amount=43210)
    assert "43,210" in body(client_for(world.manager_a).get(reverse("leads:channel_list")))
    rep_page = body(client_for(world.rep_a).get(reverse("leads:channel_list")))
    assert "展会渠道" in rep_page and "43,210" not in rep_page


@pytest.mark.usefixtures("stable_query_counts")
@pytest.mark.parametrize("name", ["lead_list", "pool", "pipeline"])
def test_it_lists_with_a_constant_number_of_queries(world, client_for, django_assert_max_num_queries, name):
    c = client_for(world.manager_a)
    c.get(reverse(f"leads:{name}"))  # warm the session and caches
    with django_assert_max_num_queries(30) as before:
        c.get(reverse(f"leads:{name}"))
    for n in range(15):
        lead = LeadFactory(owner=world.rep_a if n % 2 else None, company=f"批量{n}")
        services.create_opportunity(
            customer=world.customer_a, owner=world.rep_a, by=world.rep_a, name=f"批量商机{n}", lead=lead
        )
    with django_assert_max_num_queries(len(before)):
        c.get(reverse(f"leads:{name}"))


# --- the public web-to-lead form ---------------------------------------------------------------

FORM = {
    "company": "访客科技有限公司",
    "contact_name": "访客",
    "phone": "13911112222",
    "email": "visitor@example.com",
    "employee_band": "5000+",
    "decision_maker": "on",
    "needs": "想了解 CRM",
}


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_it_takes_a_visitor_enquiry_into_the_pool_with_its_channel(personas, fresh_cache, client):
    assert client.get(reverse("public_lead_form")).status_code == 200
    response = client.post(reverse("public_lead_form"), FORM)
    assert response.status_code == 302
    lead = Lead.objects.get(company="访客科技有限公司")
    assert lead.channel.code == "website" and lead.interaction_count == 1 and lead.decision_maker_reached
    assert lead.intent == Intent.HIGH and lead.owner == personas.rep_b  # high intent → the senior rep


def test_it_puts_a_medium_web_lead_into_nurture_in_the_pool(personas, fresh_cache, client):
    client.post(reverse("public_lead_form"), {**FORM, "decision_maker": ""})
    lead = Lead.objects.get()
    assert lead.owner_id is None and lead.status == LeadStatus.NURTURING


def test_it_rejects_a_web_post_without_csrf(db, fresh_cache):
    response = Client(enforce_csrf_checks=True).post(reverse("public_lead_form"), FORM)
    assert response.status_code == 403 and not Lead.objects.exists()


def test_it_accepts_a_web_post_with_the_csrf_token(personas, fresh_cache):
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("public_lead_form"))
    token = browser.cookies["csrftoken"].value
    assert browser.post(reverse("public_lead_form"), {**FORM, "csrfmiddlewaretoken": token}).status_code == 302
    assert Lead.objects.count() == 1


def test_it_rejects_a_filled_honeypot(db, fresh_cache, client):
    response = client.post(reverse("public_lead_form"), {**FORM, "website": "http://spam.example"})
    assert response.status_code == 400 and not Lead.objects.exists()


@override_settings(LEADS_WEB_FORM_RATE=3)
def test_it_rate_limits_posts_per_ip_and_stores_nothing_over_the_limit(personas, fresh_cache, client):
    for n in range(3):
        client.post(reverse("public_lead_form"), {**FORM, "company": f"公司{n}", "phone": f"1391111000{n}"})
    assert Lead.objects.count() == 3
    response = client.post(reverse("public_lead_form"), {**FORM, "company": "第四家", "phone": "13911110009"})
    assert response.status_code == 429 and Lead.objects.count() == 3
    other_ip = client.post(
        reverse("public_lead_form"), {**FORM, "company": "别处", "phone": "13911110008"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other_ip.status_code == 302


def test_it_counts_a_repeat_enquiry_as_an_interaction_not_a_new_lead(personas, fresh_cache, client):
    client.post(reverse("public_lead_form"), {**FORM, "decision_maker": ""})
    client.post(reverse("public_lead_form"), {**FORM, "decision_maker": ""})
    lead = Lead.objects.get()
    assert lead.interaction_count == 2


def test_it_asks_for_a_way_to_reach_the_visitor(db, fresh_cache, client):
    response = client.post(reverse("public_lead_form"), {**FORM, "phone": "", "email": ""})
    assert response.status_code == 200 and not Lead.objects.exists()


@pytest.mark.parametrize(
    ("persona", "shown"),
    [("rep_a", True), ("rep_b", True), ("manager_a", True), ("admin", True), ("finance", False)],
)
def test_it_adds_the_lead_entries_to_the_navigation_of_sales_roles(world, client_for, persona, shown):
    response = client_for(getattr(world, persona)).get(reverse("crm:home"))
    keys = [item["key"] for item in response.context["nav_items"]]
    assert ([k for k in keys if k in ("leads", "pool", "pipeline")] == ["leads", "pool", "pipeline"]) is shown
    assert shown or not {"leads", "pool", "pipeline"} & set(keys)


def test_it_lights_the_pool_entry_on_the_pool_page(world, client_for):
    assert client_for(world.rep_a).get(reverse("leads:pool")).context["active_nav"] == "pool"

"""Browser tests of the lead pool and pipeline: web-to-lead, high intent → senior rep → won, pool claim."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from leads.models import Lead, LeadStatus, Opportunity, OppStage
from tests.leads.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


def test_a_visitor_submits_the_web_form_and_the_senior_rep_converts_the_lead_to_a_won_deal(
    personas, new_page, screenshot
):
    visitor = new_page()
    visitor.goto(visitor.base_url + reverse("public_lead_form"))
    visitor.fill("#id_company", "杭州云帆智能科技有限公司")
    visitor.fill("#id_contact_name", "周云帆")
    visitor.fill("#id_title", "CEO")
    visitor.fill("#id_phone", "13812349876")
    visitor.fill("#id_email", "zhou@yunfan.example.com")
    visitor.select_option("#id_industry", "it")
    visitor.select_option("#id_employee_band", "5000+")
    visitor.fill("#id_province", "浙江")
    visitor.fill("#id_city", "杭州")
    visitor.check("#id_decision_maker")
    visitor.fill("#id_needs", "销售团队 200 人，需要统一线索和商机管理。")
    screenshot(visitor, "leads-public-form")
    visitor.click("[data-testid=public-form-submit]")
    visitor.wait_for_selector("[data-testid=public-form-thanks]")
    screenshot(visitor, "leads-public-form-thanks")

    lead = Lead.objects.get(company="杭州云帆智能科技有限公司")
    assert lead.owner == personas.rep_b and lead.intent == "high"

    page = new_page(personas.rep_b)
    page.goto(page.base_url + reverse("leads:lead_list"))
    page.click("text=杭州云帆智能科技有限公司")
    page.wait_for_selector("[data-testid=score-breakdown]")
    assert page.locator("[data-testid=lead-intent]").get_attribute("data-intent") == "high"
    screenshot(page, "leads-lead-detail")
    page.click("[data-testid=convert]")
    page.fill("#id_opportunity_name", "云帆 CRM 全员上线")
    page.fill("#id_amount", "360000")
    page.select_option("#id_product_line", "crm")
    page.fill("#id_expected_close_date", "2027-01-31")
    screenshot(page, "leads-convert")
    page.click("[data-testid=convert-submit]")
    page.wait_for_selector("[data-testid=stage-history]")
    for stage in ("intent", "demo", "negotiation", "won"):
        page.click(f"[data-testid=move-{stage}]")
        page.wait_for_selector("[data-testid=messages]")
    assert page.locator("[data-testid=opp-stage]").get_attribute("data-stage") == "won"
    screenshot(page, "leads-opportunity-won")
    opp = Opportunity.objects.get(name="云帆 CRM 全员上线")
    assert opp.stage == OppStage.WON and opp.closed_at and opp.stage_changes.count() == 5
    assert opp.customer.contacts.filter(name="周云帆").exists()

    page.goto(page.base_url + reverse("leads:pipeline"))
    page.wait_for_selector("[data-testid=kanban]")
    screenshot(page, "leads-pipeline")


def test_a_rep_claims_a_lead_from_the_pool(personas, new_page, screenshot):
    for n, (company, band) in enumerate(
        [("南京启明医疗器械有限公司", "200-999"), ("苏州恒通物流有限公司", "1000-4999"), ("无锡海川教育科技", "50-199")]
    ):
        LeadFactory(company=company, employee_band=band, score=30 + n * 10, intent="medium", industry="healthcare")
    target = Lead.objects.get(company="苏州恒通物流有限公司")
    page = new_page(personas.rep_a)
    page.goto(page.base_url + reverse("leads:pool"))
    page.wait_for_selector("[data-testid=pool-table]")
    screenshot(page, "leads-pool")
    page.click(f"[data-testid=claim-{target.pk}]")
    page.wait_for_selector(f"[data-testid=claim-result-{target.pk}] .alert-success")
    screenshot(page, "leads-pool-claimed")
    target.refresh_from_db()
    assert target.owner == personas.rep_a and target.status == LeadStatus.WORKING
    page.goto(page.base_url + reverse("leads:lead_list"))
    assert "苏州恒通物流有限公司" in page.locator("[data-testid=lead-table]").inner_text()
    screenshot(page, "leads-my-leads")


def test_a_manager_tunes_scoring_and_reads_the_weekly_list_and_channel_costs(personas, new_page, screenshot):
    import datetime

    from leads import services
    from leads.models import ChannelCost
    from tests.leads.factories import ChannelFactory

    channel = ChannelFactory(code="exhibition", name="行业展会", quality=70)
    for month in (datetime.date(2026, 9, 1), datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)):
        ChannelCost.objects.create(channel=channel, month=month, amount=45000)
    LeadFactory(company="宁波远航机械有限公司", owner=personas.rep_a, intent="high", score=88, channel=channel)
    LeadFactory(company="合肥星河新能源", intent="high", score=81, channel=channel)
    services.build_high_potential_list(send=False)
    page = new_page(personas.manager_a)
    page.goto(page.base_url + reverse("leads:scoring_policy"))
    page.fill("#id_weight_decision_maker", "40")
    page.click("[data-testid=policy-save]")
    page.wait_for_selector("[data-testid=messages]")
    screenshot(page, "leads-scoring-policy")
    page.goto(page.base_url + reverse("leads:high_potential"))
    assert "宁波远航机械有限公司" in page.locator("[data-testid=hp-table]").inner_text()
    screenshot(page, "leads-high-potential")
    page.goto(page.base_url + reverse("leads:channel_list"))
    assert "45,000" in page.locator("[data-testid=channel-table]").inner_text()
    screenshot(page, "leads-channels")

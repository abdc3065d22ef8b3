"""Browser: a manager changes a band, previews, applies, and sees the matrix move; the tier card."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import revenue
from accounts.models import Industry, TierChange, TierInputs
from accounts.services import tiering

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tiered(personas):
    """customer_a: 600k, 35% margin, renewed → A (100). customer_b: 200k, 20% margin, renewed → B (70)."""
    now = timezone.now()
    today = timezone.localdate()
    a, b = personas.customer_a, personas.customer_b
    a.industry, b.industry = Industry.INTERNET, Industry.MANUFACTURING
    a.save()
    b.save()
    TierInputs.objects.create(
        customer=a, expanding=True, margin_rate=Decimal(35), cooperation_since=today - timedelta(days=1900), referrals=2
    )
    TierInputs.objects.create(customer=b, margin_rate=Decimal(20), cooperation_since=today - timedelta(days=700))
    rows = [
        (a.pk, Decimal(250_000), now - timedelta(days=400), "crm"),
        (a.pk, Decimal(350_000), now - timedelta(days=200), "crm"),
        (a.pk, Decimal(250_000), now - timedelta(days=100), "analytics"),
        (b.pk, Decimal(180_000), now - timedelta(days=420), "crm"),
        (b.pk, Decimal(200_000), now - timedelta(days=60), "crm"),
    ]
    revenue.register(revenue.RevenueSource("e2e-tiers", deals=lambda since: [r for r in rows if r[2] >= since]))
    tiering.apply_retier()
    TierChange.objects.update(changed_at=now - timedelta(days=365))  # first tiered a year ago
    yield personas
    revenue.unregister("e2e-tiers")


def row_count(page, tier: str) -> str:
    return page.locator(f"[data-testid=row-total-{tier}]").inner_text()


def test_a_manager_changes_a_band_previews_applies_and_sees_the_matrix_move(tiered, new_page, screenshot):
    page = new_page(tiered.manager_a)
    page.goto(page.base_url + reverse("accounts:tier_matrix"))
    assert (row_count(page, "A"), row_count(page, "B"), row_count(page, "C")) == ("1", "1", "0")
    screenshot(page, "tiers-matrix-before")

    page.click("[data-testid=tier-subnav] a[href$='/policy/']")
    page.fill("#id_band_a", "70")
    screenshot(page, "tiers-policy-editor")
    page.click("[data-testid=policy-save]")
    page.wait_for_url("**/tiers/retier/")
    assert page.locator("[data-testid=preview-changes]").inner_text() == "1"
    assert "B → A" in page.locator("[data-testid=preview-moves]").inner_text()
    assert tiered.customer_b.name in page.locator("[data-testid=preview-sample]").inner_text()
    screenshot(page, "tiers-retier-preview")

    page.check("#confirm")
    page.click("[data-testid=retier-apply]")
    page.wait_for_url("**/tiers/")
    assert (row_count(page, "A"), row_count(page, "B")) == ("2", "0")
    assert page.locator("[data-testid=tier-migration] [data-move='B-A']").inner_text().split()[-1] == "1"
    screenshot(page, "tiers-matrix-after")

    page.click("[data-cell='A-medium'] [data-testid=cell-count]")
    assert tiered.customer_b.name in page.locator("[data-testid=tier-cell-table]").inner_text()
    screenshot(page, "tiers-cell")


def test_the_customer_page_explains_the_tier_in_both_languages(tiered, new_page, screenshot):
    tiering.override_tier(customer=tiered.customer_b, tier="A", reason="重点培育客户", by=tiered.manager_a)
    page = new_page(tiered.manager_a)
    page.goto(page.base_url + tiered.customer_b.get_absolute_url())
    card = page.locator("[data-testid=tier-card]")
    assert card.locator("[data-testid=tier-label]").inner_text().startswith("A + ")
    assert "重点培育客户" in card.locator("[data-testid=tier-override]").inner_text()
    card.scroll_into_view_if_needed()
    screenshot(page, "tiers-customer-card-zh")

    english = new_page(tiered.rep_a, lang="en")
    english.goto(english.base_url + tiered.customer_a.get_absolute_url())
    card = english.locator("[data-testid=tier-card]")
    assert card.locator("[data-testid=tier-label]").inner_text() == "A + high potential + strategic partner"
    assert "Override" not in card.inner_text()
    screenshot(english, "tiers-customer-card-en")


def test_the_matrix_in_english_and_the_strategies(tiered, new_page, screenshot):
    page = new_page(tiered.admin, lang="en")
    page.goto(page.base_url + reverse("accounts:tier_matrix"))
    assert page.locator("h1").inner_text() == "Customer tiers"
    screenshot(page, "tiers-matrix-en")
    page.goto(page.base_url + reverse("accounts:tier_strategies"))
    assert page.locator("[data-testid=strategies] .card").count() == 3
    screenshot(page, "tiers-strategies-en")
    page.goto(page.base_url + reverse("accounts:tier_runs"))
    screenshot(page, "tiers-runs-en")

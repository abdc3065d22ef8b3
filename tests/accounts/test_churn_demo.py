"""Demo data of churn early warning: customers at each risk level with believable causes, seeded once."""

import pytest

from accounts.models import CustomerHealth, RetentionCase, RiskLevel, UsageWeek
from crm import demo
from followups.models import Task, TaskOrigin

pytestmark = pytest.mark.django_db


def test_it_seeds_customers_at_every_risk_level_with_their_causes_once():
    result = demo.seed(customers=60)
    risks = set(CustomerHealth.objects.values_list("risk", flat=True))
    assert risks == {RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW}
    high = CustomerHealth.objects.filter(risk=RiskLevel.HIGH)
    assert all(row.main_cause and row.signals[row.main_cause]["detail"] for row in high)
    assert len({row.main_cause for row in CustomerHealth.objects.exclude(main_cause="")}) >= 3
    assert RetentionCase.objects.count() == high.count() == result["high_risk"]
    assert Task.objects.filter(origin=TaskOrigin.RETENTION).count() == high.count()
    weeks = UsageWeek.objects.count()
    again = demo.seed(customers=60)
    assert again["usage_weeks"] == 0 and UsageWeek.objects.count() == weeks
    assert RetentionCase.objects.count() == high.count()

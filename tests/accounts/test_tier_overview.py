"""accounts.selectors_tiering.tier_overview: the matrix and the migration from one grouped pass."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import TierAssessment, TierChange
from accounts.selectors_tiering import tier_overview
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def _customer(tier: str, potential: str, amount: int, changes: list[tuple[str, str, int]]):
    """A customer assessed `tier`/`potential`, with (from, to, days after SINCE) tier changes."""
    customer = CustomerFactory()
    TierAssessment.objects.create(
        customer=customer,
        tier=tier,
        computed_tier=tier,
        potential=potential,
        relationship="long_term",
        annual_amount=Decimal(amount),
        assessed_at=timezone.now(),
    )
    for from_tier, to_tier, days in changes:
        TierChange.objects.create(
            customer=customer,
            from_tier=from_tier,
            to_tier=to_tier,
            to_label=to_tier,
            changed_at=SINCE + timedelta(days=days),
        )
    return customer


def test_moves_are_counted_from_the_first_change_since_and_summed_over_potentials():
    _customer("B", "high", 100, [("A", "B", 5)])  # A → B
    _customer("B", "low", 300, [("A", "C", 2), ("C", "B", 9)])  # first change since: from A → now B
    _customer("A", "medium", 600, [("A", "B", 1), ("B", "A", 3)])  # back where it was: no move
    _customer("C", "low", 0, [("", "C", 1)])  # tiered for the first time: — → C
    _customer("C", "low", 0, [("B", "C", -30)])  # changed before SINCE only: no move
    _customer("C", "low", 0, [])

    matrix, migration = tier_overview(TierAssessment.objects.all(), SINCE)

    assert migration == [{"from": "A", "to": "B", "count": 2}, {"from": "—", "to": "C", "count": 1}]
    counts = {(c["tier"], c["potential"]): c["count"] for row in matrix.rows for c in row["cells"]}
    # split by their tier at SINCE in the query, cells still add up to one figure each
    assert counts[("C", "low")] == 3
    assert counts[("B", "high")] == counts[("B", "low")] == counts[("A", "medium")] == 1
    assert matrix.total == 6
    assert matrix.amount == Decimal(1000)
    shares = {row["tier"]: row["share"] for row in matrix.rows}
    assert shares == {"A": Decimal("60.0"), "B": Decimal("40.0"), "C": Decimal("0.0")}
    assert [c["count"] for c in matrix.column_totals] == [1, 1, 4]  # high, medium, low


def test_an_empty_scope_gives_an_empty_matrix_and_no_moves():
    matrix, migration = tier_overview(TierAssessment.objects.none(), SINCE)
    assert matrix.total == 0
    assert migration == []
    assert all(c["count"] == 0 and c["share"] is None for row in matrix.rows for c in row["cells"])

"""The NPS page: NPS per team, per tier (from the tier assessment) and per period, in the manager's scope."""

import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import TierAssessment
from followups.models import NpsResponse, NpsSurvey
from tests.factories import CustomerFactory

NOW = timezone.now()


def _answers(owner, team, period, tier, scores):
    """One answered survey per score, each from a new customer of `owner` with that tier ("" = untiered)."""
    for score in scores:
        customer = CustomerFactory(owner=owner)
        if tier:
            TierAssessment.objects.create(
                customer=customer,
                tier=tier,
                computed_tier=tier,
                potential="medium",
                relationship="new",
                assessed_at=NOW,
            )
        survey = NpsSurvey.objects.create(
            token=secrets.token_urlsafe(16),
            customer=customer,
            team=team,
            period=period,
            sent_at=NOW,
            expires_at=NOW + timedelta(days=30),
        )
        NpsResponse.objects.create(survey=survey, score=score, answered_at=NOW)


@pytest.fixture
def answers(personas):
    _answers(personas.rep_a, personas.team_a, "2026Q4", "A", [10, 9, 3])
    _answers(personas.rep_b, personas.team_a, "2026Q4", "C", [7, 2])
    _answers(personas.rep_c, personas.team_b, "2026Q4", "", [10])
    _answers(personas.rep_a, personas.team_a, "2026Q3", "A", [10, 10, 6, 8])
    return personas


def _by(rows):
    return {
        row["group"]: (row["total"], row["promoters"], row["passives"], row["detractors"], row["nps"]) for row in rows
    }


def test_it_reports_nps_per_team_tier_and_period_for_an_admin(answers, client_for):
    context = client_for(answers.admin).get(reverse("followups:nps_report"), {"period": "2026Q4"}).context
    # (answers, promoters, passives, detractors, NPS)
    assert _by(context["by_team"]) == {"A队": (5, 2, 1, 2, 0.0), "B队": (1, 1, 0, 0, 100.0)}
    assert _by(context["by_tier"]) == {
        "A": (3, 2, 0, 1, 33.3),
        "C": (2, 0, 1, 1, -50.0),
        None: (1, 1, 0, 0, 100.0),
    }
    # oldest period first: Q3 2 promoters, 1 detractor of 4 → 25; Q4 3 promoters, 2 detractors of 6 → 16.7
    assert [(r["group"], r["nps"]) for r in context["by_period"]] == [("2026Q3", 25.0), ("2026Q4", 16.7)]
    assert (context["overall"]["total"], context["overall"]["nps"]) == (6, 16.7)


def test_it_limits_the_report_to_the_managers_teams(answers, client_for):
    context = client_for(answers.manager_b).get(reverse("followups:nps_report")).context
    assert context["period"] == "2026Q4"
    assert _by(context["by_team"]) == {"B队": (1, 1, 0, 0, 100.0)}
    assert [r["group"] for r in context["by_period"]] == ["2026Q4"]


def test_it_shows_the_tier_table_on_the_page(answers, client_for):
    page = client_for(answers.manager_a).get(reverse("followups:nps_report"), {"period": "2026Q4"}).content.decode()
    assert 'data-testid="nps-tier-table"' in page and 'data-group="A"' in page

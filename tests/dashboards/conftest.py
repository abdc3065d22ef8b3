"""A small hand-built world for the dashboard metrics, with every number worked out by hand.

Period: 2026-01-01 … 2026-03-31 (Asia/Shanghai). Rows are written directly (not through the
services) so that each timestamp is exactly the one the hand-worked numbers assume.

Opportunities (all opened 2026-02-01 10:00):
  o1 rep_a / customer_a: prospect → intent → demo → negotiation → won 2026-03-02, 100,000 (lead L1 created 2026-01-02)
  o2 rep_a / customer_a: prospect → intent → lost 2026-03-10
  o3 rep_a / customer_a: prospect (open), 50,000, expected close 2026-05-15
  o4 rep_b / customer_b: prospect → intent → demo → won 2026-02-21, 60,000 (no lead: cycle from the opportunity)
  o5 rep_c / customer_c: prospect → won 2026-03-31, 40,000 (lead L3 created 2026-01-01)
Funnel (team A): prospect 4, intent 3, demo 2, negotiation 2 (o4 went past it), won 2.
Cycle: o1 59 days, o4 20 days, o5 89 days.
Leads: L1 rep_a website converted; L2 rep_a website open (2026-02-01); L3 rep_c exhibition converted.
Channel costs: website 10,000 × Jan, Feb, Mar; exhibition 20,000 in Jan.
Customers: a (website, margin 40 %), b (website), c (exhibition) won; d (rep_a) churned 2026-02-15.
Tiers: a A 300,000; b B 100,000; c C 50,000; d B 50,000.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Customer, Stage, TierAssessment, TierChange, TierInputs
from followups.models import FollowUp, NpsResponse, NpsSurvey, Task, TaskOrigin, TaskStatus
from leads.models import Channel, ChannelCost, Lead, LeadStatus, Opportunity, OpportunityStageChange, OppStage
from tests.factories import CustomerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A valid post of the dashboard settings form (unit costs, margin, lifetime, cross-sell share).
SETTINGS_FORM = {
    "visit_cost": "1000",
    "activity_cost": "20",
    "default_margin": "25",
    "max_lifetime_years": "6",
    "cross_sell_share": "60",
}
START, END = date(2026, 1, 1), date(2026, 3, 31)


def at(y, m, d, h=10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


def make_opportunity(customer, owner, path, *, amount=0, closed=None, lead=None, product_line="", close_date=None):
    stage = path[-1]
    opp = Opportunity.objects.create(
        customer=customer,
        owner=owner,
        team=owner.profile.team,
        name=f"{customer.name} {stage}",
        amount=Decimal(amount),
        stage=stage,
        probability=10,
        closed_at=closed if stage in (OppStage.WON, OppStage.LOST) else None,
        lost_reason="价格" if stage == OppStage.LOST else "",
        lead=lead,
        product_line=product_line,
        expected_close_date=close_date,
        created_at=at(2026, 2, 1),
    )
    previous = ""
    for step, to_stage in enumerate(path):
        when = closed if (closed and to_stage == stage and step) else at(2026, 2, 1 + step)
        OpportunityStageChange.objects.create(opportunity=opp, from_stage=previous, to_stage=to_stage, at=when)
        previous = to_stage
    return opp


@pytest.fixture
def world(personas):
    p = personas
    website = Channel.objects.create(name="官网", code="website")
    exhibition = Channel.objects.create(name="展会", code="exhibition")
    for month in (1, 2, 3):
        ChannelCost.objects.create(channel=website, month=date(2026, month, 1), amount=Decimal(10000))
    ChannelCost.objects.create(channel=exhibition, month=date(2026, 1, 1), amount=Decimal(20000))
    Customer.objects.filter(pk__in=[p.customer_a.pk, p.customer_b.pk]).update(source_channel="website", stage=Stage.WON)
    Customer.objects.filter(pk=p.customer_c.pk).update(source_channel="exhibition", stage=Stage.WON)
    TierInputs.objects.create(customer=p.customer_a, margin_rate=Decimal(40))
    with time_machine.travel(at(2026, 2, 15), tick=False):
        p.customer_d = CustomerFactory(name="MARKER-D 丁公司", owner=p.rep_a, stage=Stage.CHURNED)

    def lead(owner, channel, created, converted=None, customer=None):
        return Lead.objects.create(
            company=f"线索{created:%m%d}{owner.username}",
            normalized_company="x",
            channel=channel,
            owner=owner,
            team=owner.profile.team,
            status=LeadStatus.CONVERTED if converted else LeadStatus.WORKING,
            converted_customer=customer,
            converted_at=converted,
            assigned_at=created,
            created_at=created,
        )

    l1 = lead(p.rep_a, website, at(2026, 1, 2), converted=at(2026, 1, 20), customer=p.customer_a)
    lead(p.rep_a, website, at(2026, 2, 1))
    l3 = lead(p.rep_c, exhibition, at(2026, 1, 1), converted=at(2026, 1, 10), customer=p.customer_c)

    path_won = [OppStage.PROSPECT, OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION, OppStage.WON]
    make_opportunity(p.customer_a, p.rep_a, path_won, amount=100000, closed=at(2026, 3, 2), lead=l1, product_line="crm")
    make_opportunity(p.customer_a, p.rep_a, [OppStage.PROSPECT, OppStage.INTENT, OppStage.LOST], closed=at(2026, 3, 10))
    make_opportunity(p.customer_a, p.rep_a, [OppStage.PROSPECT], amount=50000, close_date=date(2026, 5, 15))
    make_opportunity(
        p.customer_b,
        p.rep_b,
        [OppStage.PROSPECT, OppStage.INTENT, OppStage.DEMO, OppStage.WON],
        amount=60000,
        closed=at(2026, 2, 21),
    )
    make_opportunity(
        p.customer_c, p.rep_c, [OppStage.PROSPECT, OppStage.WON], amount=40000, closed=at(2026, 3, 31), lead=l3
    )

    for customer, tier, amount in (
        (p.customer_a, "A", 300000),
        (p.customer_b, "B", 100000),
        (p.customer_c, "C", 50000),
        (p.customer_d, "B", 50000),
    ):
        TierAssessment.objects.create(
            customer=customer,
            tier=tier,
            computed_tier=tier,
            potential="medium",
            relationship="long_term",
            annual_amount=Decimal(amount),
            assessed_at=at(2026, 1, 1),
        )
    for customer, from_tier, to_tier, when in (
        (p.customer_b, "", "C", at(2026, 1, 5)),
        (p.customer_b, "C", "B", at(2026, 2, 10)),
        (p.customer_a, "B", "A", at(2026, 2, 20)),
        (p.customer_c, "A", "C", at(2026, 4, 20)),
    ):
        TierChange.objects.create(
            customer=customer, from_tier=from_tier, to_tier=to_tier, to_label=to_tier, changed_at=when
        )

    for n, score in enumerate((10, 9, 7, 3)):
        survey = NpsSurvey.objects.create(
            token=f"t{n}",
            customer=p.customer_a if n else p.customer_b,
            team=p.team_a,
            period=f"2026Q1-{n}",
            sent_at=at(2026, 2, 1),
            expires_at=at(2026, 3, 1),
        )
        NpsResponse.objects.create(survey=survey, score=score, answered_at=at(2026, 2, 2 + n))

    # rep_a's follow-ups of customer_a (an A customer): 2 visits, 3 calls; 2 of the 5 logged late
    for n, method in enumerate(("visit", "visit", "call", "call", "call")):
        FollowUp.objects.create(
            customer=p.customer_a,
            author=p.rep_a,
            method=method,
            occurred_at=at(2026, 2, 3 + n),
            logged_at=at(2026, 2, 3 + n, 20),
            is_late=n < 2,
            summary=f"第{n}次沟通",
            feedback="认可服务" if n == 4 else "",
        )

    def task(status, due, origin=TaskOrigin.SOP):
        return Task.objects.create(
            title="任务",
            customer=p.customer_a,
            assignee=p.rep_a,
            team=p.team_a,
            due_at=due,
            status=status,
            origin=origin,
        )

    task(TaskStatus.DONE, at(2026, 1, 10))
    task(TaskStatus.DONE, at(2026, 2, 10))
    task(TaskStatus.OPEN, at(2026, 3, 10))  # SOP step due, not done: overdue
    task(TaskStatus.CANCELLED, at(2026, 3, 11))  # does not count
    task(TaskStatus.OPEN, at(2026, 3, 12), origin=TaskOrigin.MANUAL)  # overdue
    task(TaskStatus.OPEN, at(2026, 6, 1), origin=TaskOrigin.MANUAL)  # not yet due
    return p

"""Receivables dashboard numbers, the cross-sell list and the maintenance checklist export."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from accounts.models import Contact, TierAssessment
from crm.dashboards import selectors
from crm.dashboards.scope import Scope
from followups.models import FollowUp
from leads.models import OppStage
from receivables import services as receivable_services
from receivables.models import Condition, Contract, ContractStatus
from tests.dashboards.conftest import at, make_opportunity
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def section(data, key):
    return next(s for s in data["sections"] if s.key == key)


@pytest.fixture
def contracts(personas):
    """customer_a (rep_a): 30,000 due 2026-01-15 paid 10,000; 70,000 due 2026-02-15 unpaid.
    customer_c (rep_c): 50,000 due 2026-03-01, paid in full."""
    for customer in (personas.customer_a, personas.customer_c):
        receivable_services.set_credit_rating(customer=customer, rating="good", note="ok", by=personas.finance)

    def make(customer, lines):
        plan = [receivable_services.PlanLine(D(a), due, Condition.DATE) for a, due in lines]
        return receivable_services.create_contract(
            customer=customer,
            by=personas.finance,
            amount=sum((line.amount for line in plan), D(0)),
            signed_on=date(2026, 1, 1),
            plan=plan,
            title="合同",
        )

    with time_machine.travel(at(2026, 1, 1), tick=False):
        first = make(personas.customer_a, [(30000, date(2026, 1, 15)), (70000, date(2026, 2, 15))])
        second = make(personas.customer_c, [(50000, date(2026, 3, 1))])
    # no prepayment breaks the policy (pending approval): approved here by hand
    Contract.objects.filter(pk__in=[first.pk, second.pk]).update(status=ContractStatus.ACTIVE)
    first.installments.filter(seq=1).update(paid_amount=D(10000))
    second.installments.update(paid_amount=D(50000))
    return personas


def test_receivables_show_aging_collection_vs_plan_and_top_overdue_by_role(contracts):
    p = contracts
    with time_machine.travel(at(2026, 3, 20), tick=False):
        admin = selectors.receivables(Scope(user=p.finance, start=date(2026, 1, 1), end=date(2026, 3, 31)))
        team_b = selectors.receivables(Scope(user=p.manager_b, start=date(2026, 1, 1), end=date(2026, 3, 31)))
    # 20,000 is 64 days overdue (61–90), 70,000 is 33 days overdue (31–60)
    assert (admin["aging"]["d61_90"], admin["aging"]["d31_60"], admin["aging"]["total"]) == (
        D("20000.00"),
        D("70000.00"),
        D("90000.00"),
    )
    assert section(admin, "collection").rows == [
        ["2026-01", D("30000.00"), D("10000.00"), D("33.3"), D("30000.00"), D("10000.00")],
        ["2026-02", D("70000.00"), D("0.00"), D("0.0"), D("100000.00"), D("10000.00")],
        ["2026-03", D("50000.00"), D("50000.00"), D("100.0"), D("150000.00"), D("60000.00")],
    ]
    assert admin["collection_rate"] == D("40.0")  # 60,000 of 150,000
    assert [row[2:] for row in section(admin, "overdue").rows] == [[64, D("90000.00")]]
    assert team_b["aging"]["total"] == D("0.00") and team_b["collection_rate"] == D("100.0")


def test_the_cross_sell_list_names_customers_missing_a_line_most_peers_have(personas):
    p = personas
    x1 = CustomerFactory(name="X1", owner=p.rep_c, industry="it")
    x2 = CustomerFactory(name="X2", owner=p.rep_c, industry="it")
    x3 = CustomerFactory(name="X3 缺分析", owner=p.rep_c, industry="it")
    for customer in (x1, x2, x3):
        TierAssessment.objects.create(
            customer=customer,
            tier="A",
            computed_tier="A",
            potential="high",
            relationship="new",
            assessed_at=at(2026, 1, 1),
        )
        make_opportunity(
            customer, p.rep_c, [OppStage.PROSPECT, OppStage.WON], closed=at(2026, 2, 2), product_line="crm"
        )
    for customer in (x1, x2):
        make_opportunity(
            customer, p.rep_c, [OppStage.PROSPECT, OppStage.WON], closed=at(2026, 2, 3), product_line="analytics"
        )
    make_opportunity(x1, p.rep_c, [OppStage.PROSPECT, OppStage.WON], closed=at(2026, 2, 4), product_line="service")

    rows = section(
        selectors.cross_sell(Scope(user=p.manager_b, start=date(2026, 1, 1), end=date(2026, 3, 31))), "cross_sell"
    ).rows
    # analytics: 2 of 3 peers (66.7 %) ≥ 50 %; service: 1 of 3 (33.3 %) is not typical
    assert [(r[0], r[1], r[5], r[6]) for r in rows] == [("X3 缺分析", "A", D("66.7"), 3)]
    assert (
        selectors.cross_sell(Scope(user=p.rep_a, start=date(2026, 1, 1), end=date(2026, 3, 31)))["section"].rows == []
    )


def _sheet(response):
    book = openpyxl.load_workbook(BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_maintenance_checklist_has_the_template_columns_in_the_users_language(personas, client_for):
    p = personas
    Contact.objects.create(customer=p.customer_a, name="张总", title="采购总监", is_primary=True)
    TierAssessment.objects.create(
        customer=p.customer_a,
        tier="A",
        computed_tier="A",
        potential="high",
        relationship="strategic",
        assessed_at=at(2026, 1, 1),
    )
    FollowUp.objects.create(
        customer=p.customer_a,
        author=p.rep_a,
        occurred_at=at(2026, 3, 15),
        logged_at=at(2026, 3, 15),
        summary="推送Q2定制化方案",
        feedback="价格有压力，但认可服务质量",
    )
    client = client_for(p.manager_a)
    client.cookies["django_language"] = "zh-hans"
    url = reverse("dashboards:checklist") + "?q=MARKER-A&export=xlsx"
    rows = _sheet(client.get(url))
    assert rows[0] == [
        "客户编号",
        "客户名称",
        "所属行业",
        "企业规模",
        "联系人",
        "职位",
        "客户分类(价值+潜力+关系)",
        "当前状态",
        "维护责任人",
        "上次跟进时间",
        "跟进内容摘要",
        "客户反馈",
        "下次跟进时间",
        "维护策略调整",
        "备注",
    ]
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == f"C{p.customer_a.pk:07d}" and row[1] == "MARKER-A 甲公司"
    assert (row[4], row[5]) == ("张总", "采购总监")
    assert row[6].startswith("A + ") and row[6].count(" + ") == 2
    assert (row[10], row[11]) == ("推送Q2定制化方案", "价格有压力，但认可服务质量")

    client.cookies["django_language"] = "en"
    english = _sheet(client.get(reverse("dashboards:checklist") + "?export=xlsx"))
    assert english[0][:3] == ["Customer no.", "Customer name", "Industry"] and len(english[0]) == 15
    assert {r[1] for r in english[1:]} == {"MARKER-A 甲公司", "MARKER-B 乙公司"}  # team A only


def test_the_checklist_needs_the_export_permission(personas, client_for):
    assert client_for(personas.rep_a).get(reverse("dashboards:checklist")).status_code == 403

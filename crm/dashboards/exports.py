"""Excel exports of the dashboards: one sheet per section, and the customer maintenance checklist.

The checklist (客户关系管理维护清单) keeps the exact columns of the methodology's template
(seeds/001), so its headers are a fixed pair of lists rather than translated one by one: a
Chinese user gets the template's own headers, everyone else their English equivalents.
"""

from types import SimpleNamespace

import tablib
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Contact, Customer, EmployeeBand, Industry, Stage, Status, combined_label
from followups.models import FollowUp

from ..exports import FORMATS, build_dataset
from ..templatetags.crm_tags import person
from .sections import Section

CHECKLIST_HEADERS = {
    "zh": [
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
    ],
    "en": [
        "Customer no.",
        "Customer name",
        "Industry",
        "Company size",
        "Contact",
        "Title",
        "Classification (value + potential + relationship)",
        "Current status",
        "Owner",
        "Last follow-up",
        "Follow-up summary",
        "Customer feedback",
        "Next follow-up",
        "Strategy adjustment",
        "Remarks",
    ],
}
CHECKLIST_LIMIT = 100_000


def workbook_response(sections: list[Section], *, basename: str) -> HttpResponse:
    """An .xlsx with one sheet per section (every cell neutralised against formulas)."""
    book = tablib.Databook()
    for section in sections:
        headers = [c.label for c in section.columns]
        book.add_sheet(build_dataset(headers, section.rows, title=str(section.title)[:31]))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(book.export("xlsx"), content_type=FORMATS["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.xlsx"'
    return response


def checklist_headers() -> list[str]:
    return CHECKLIST_HEADERS["zh" if (translation.get_language() or "").startswith("zh") else "en"]


def _latest(field: str):
    return Subquery(FollowUp.objects.filter(customer=OuterRef("pk")).order_by("-occurred_at", "-id").values(field)[:1])


def _contact(field: str):
    return Subquery(
        Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "role", "id").values(field)[:1]
    )


def _day(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d") if value else ""


def checklist_rows(customers: QuerySet[Customer]):
    """One row per customer in the template's order; contact and follow-up from correlated subqueries."""
    industries, bands = dict(Industry.choices), dict(EmployeeBand.choices)
    stages, statuses = dict(Stage.choices), dict(Status.choices)
    rows = (
        customers.order_by("pk")
        .annotate(
            contact_name=_contact("name"),
            contact_title=_contact("title"),
            last_summary=_latest("summary"),
            last_feedback=_latest("feedback"),
        )
        .values(
            "pk",
            "name",
            "industry",
            "employee_band",
            "stage",
            "status",
            "needs_attention",
            "last_followup_at",
            "next_followup_at",
            "next_step",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "tier_assessment__tier",
            "tier_assessment__potential",
            "tier_assessment__relationship",
            "contact_name",
            "contact_title",
            "last_summary",
            "last_feedback",
        )[:CHECKLIST_LIMIT]
    )
    for r in rows.iterator(chunk_size=2000):
        status = str(stages.get(r["stage"], r["stage"]))
        if r["status"] != Status.ACTIVE:
            status = f"{status} · {statuses.get(r['status'], r['status'])}"
        owner = SimpleNamespace(
            first_name=r["owner__first_name"] or "",
            last_name=r["owner__last_name"] or "",
            get_username=lambda name=r["owner__username"]: name or "",
        )
        yield [
            Customer(pk=r["pk"]).number,
            r["name"],
            str(industries.get(r["industry"], "")),
            str(bands.get(r["employee_band"], "")),
            r["contact_name"] or "",
            r["contact_title"] or "",
            combined_label(
                r["tier_assessment__tier"] or "",
                r["tier_assessment__potential"] or "",
                r["tier_assessment__relationship"] or "",
            ),
            status,
            person(owner) if r["owner__username"] else "",
            _day(r["last_followup_at"]),
            r["last_summary"] or "",
            r["last_feedback"] or "",
            _day(r["next_followup_at"]),
            r["next_step"],
            _("Needs attention") if r["needs_attention"] else "",
        ]

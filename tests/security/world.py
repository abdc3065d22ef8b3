"""A small world for the security battery: every persona owns one of everything, with markers.

Each record's text carries its owner's marker (MARKER-A for rep_a, MARKER-B for rep_b, MARKER-C for
rep_c), so a test can grep any body or export for records the viewer must not see. Everything is
built through the services, as a user would, so the data is realistic (history rows, plans …).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Contact, ContactRole, ImportJob
from accounts.services import churn, tiering
from crm.models import DashboardPolicy, SalesTarget
from followups import services as followups
from followups.models import ChannelKind, FollowUp, TeamChannel
from leads import services as leads
from leads.models import AssignmentPolicy, Lead, ScoringPolicy
from receivables import services as receivables
from tests.factories import CustomerFactory
from tests.leads.factories import ChannelFactory

PERSONAS = ("rep_a", "rep_b", "rep_c", "manager_a", "manager_b", "finance", "admin")
OWNERS = {"rep_a": "A", "rep_b": "B", "rep_c": "C"}
# A marker amount nobody could print by chance: must never reach a basic-info role.
SECRET_AMOUNT = Decimal("987654.32")
SECRET_TEXTS = ("987654.32", "987,654.32", "987654", "987,654")


@dataclass
class Owned:
    """Everything one rep owns."""

    marker: str
    customer: object
    contact: object
    lead: object
    opportunity: object
    followup: object
    task: object
    complaint: object
    contract: object
    payment: object


@dataclass
class World:
    personas: object
    owned: dict[str, Owned] = field(default_factory=dict)
    pool_lead: object = None
    pool_customer: object = None
    lead_import: object = None
    customer_import: object = None
    target: object = None  # team A's sales target (dashboards)
    channel: object = None  # team A's notification channel (follow-ups), disabled

    def user(self, name: str):
        return getattr(self.personas, name)

    @property
    def a(self) -> Owned:
        return self.owned["A"]


def _import_job(kind: str, by) -> ImportJob:
    job = ImportJob(kind=kind, original_name=f"{kind}.csv", created_by=by, report={"rows": [], "errors": []})
    job.file.save(f"{kind}.csv", ContentFile(b"name\n"), save=False)
    job.save()
    return job


def build_world(personas) -> World:
    p = personas
    followups.ensure_default_sops()
    # Singleton policies exist in any running system (created on first use): create them here, so a
    # GET that merely reads them does not count as a write in the safe-method sweep.
    ScoringPolicy.current()
    AssignmentPolicy.current()
    DashboardPolicy.current()
    tiering.current_policy()
    churn.current_policy()
    channel = ChannelFactory(code="website", name="官网")
    world = World(personas=p)
    now = timezone.now()
    for rep_name, letter in OWNERS.items():
        rep = getattr(p, rep_name)
        marker = f"MARKER-{letter}"
        customer = getattr(p, f"customer_{letter.lower()}")
        customer.budget = SECRET_AMOUNT
        customer.save(update_fields=["budget"])
        contact = Contact.objects.create(
            customer=customer, name=f"{marker}-联系人", role=ContactRole.DECISION_MAKER, phone="13800000000"
        )
        lead = leads.create_lead(
            lead=Lead(
                company=f"{marker}-线索公司", contact_name="王", channel=channel, owner=rep, team=rep.profile.team
            ),
            by=rep,
        )
        opportunity = leads.create_opportunity(
            customer=customer, owner=rep, by=rep, name=f"{marker}-商机", amount=SECRET_AMOUNT
        )
        followup: FollowUp = followups.log_followup(
            customer=customer, by=rep, method="call", occurred_at=now - timedelta(hours=1), summary=f"{marker}-跟进"
        )
        task = followups.create_task(
            customer=customer, assignee=rep, title=f"{marker}-任务", due_at=now + timedelta(days=1), by=rep
        )
        complaint = followups.open_complaint(customer=customer, by=rep, description=f"{marker}-投诉")
        receivables.set_credit_rating(customer=customer, rating="good", note=f"{marker}-信用", by=p.finance)
        contract = receivables.create_contract(
            customer=customer,
            by=p.finance,
            owner=rep,
            amount=SECRET_AMOUNT,
            signed_on=date(2026, 1, 1),
            plan=[receivables.PlanLine(SECRET_AMOUNT, date(2026, 1, 1))],
            title=f"{marker}-合同",
        )
        if contract.status != "active":
            contract = receivables.approve_contract(contract=contract, by=p.finance)
        payment = receivables.record_payment(
            contract=contract, amount=Decimal("1000.00"), received_on=date(2026, 1, 2), by=p.finance, reference=marker
        )
        world.owned[letter] = Owned(
            marker, customer, contact, lead, opportunity, followup, task, complaint, contract, payment
        )
    world.pool_lead = Lead.objects.create(
        company="POOL-公海线索", normalized_company="pool-公海线索", channel=channel, owner=None, team=None
    )
    world.pool_customer = CustomerFactory(name="POOL-公海客户", owner=None, team=None)
    world.lead_import = _import_job("leads", p.manager_a)
    world.customer_import = _import_job("customers", p.manager_a)
    world.target = SalesTarget.objects.create(
        month=date(2026, 1, 1), team=p.team_a, won_amount=SECRET_AMOUNT, new_customers=3, set_by=p.manager_a
    )
    world.channel = TeamChannel.objects.create(
        team=p.team_a, kind=ChannelKind.WECOM, webhook_url="https://qyapi.weixin.qq.com/x", enabled=False
    )
    return world

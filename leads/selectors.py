"""Reads of the lead pool and pipeline, always scoped to what the user may see.

Owned leads and opportunities follow crm.access.scope_owned (rep: own; manager: their teams';
admin: all). Pool leads (no owner) are visible to every sales role and admins; finance sees none.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Customer, Stage, Status
from crm.access import is_admin, managed_team_ids, scope_owned
from crm.roles import SALES_ROLES

from .models import OPEN_STAGES, Channel, ChannelCost, Lead, LeadStatus, Opportunity, OppStage
from .services import is_lead_manager, is_sales


def _leads():
    return Lead.objects.select_related("owner", "team", "channel")


def visible_leads(user) -> QuerySet[Lead]:
    """Every lead the user may open: their scope plus the public pool for sales roles."""
    if not is_sales(user):
        return Lead.objects.none()
    if is_admin(user):
        return _leads()
    condition = Q(owner=user) | Q(owner__isnull=True)
    teams = managed_team_ids(user)
    if teams:
        condition |= Q(team_id__in=teams)
    return _leads().filter(condition)


def my_leads(user) -> QuerySet[Lead]:
    """The "Leads" page: owned leads in the user's scope (a rep's own, a manager's teams')."""
    if not is_sales(user):
        return Lead.objects.none()
    return scope_owned(_leads().filter(owner__isnull=False), user)


def pool_leads(user) -> QuerySet[Lead]:
    """The public pool (公海): open leads without an owner, for sales roles."""
    if not is_sales(user):
        return Lead.objects.none()
    return _leads().filter(owner__isnull=True, status__in=[LeadStatus.NEW, LeadStatus.NURTURING, LeadStatus.WORKING])


def pool_customers(user) -> QuerySet[Customer]:
    """Prospect customers returned to the pool (no owner), for sales roles."""
    if not is_sales(user):
        return Customer.objects.none()
    return Customer.objects.filter(owner__isnull=True, stage=Stage.PROSPECT, merged_into__isnull=True).exclude(
        status=Status.BLACKLISTED
    )


def lead_for_detail(user, pk: int) -> Lead:
    from crm.access import get_visible_or_404

    return get_visible_or_404(
        visible_leads(user)
        .select_related("referrer", "converted_customer", "converted_opportunity")
        .prefetch_related("tags"),
        pk=pk,
    )


def visible_opportunities(user) -> QuerySet[Opportunity]:
    if not is_sales(user):
        return Opportunity.objects.none()
    return scope_owned(Opportunity.objects.select_related("customer", "owner", "team"), user)


def pipeline_summary(user, queryset=None) -> list[dict]:
    """Count and (for those who may see amounts) total per stage, one aggregate query."""
    queryset = visible_opportunities(user) if queryset is None else queryset
    rows = queryset.order_by().values("stage").annotate(n=Count("id"), total=Sum("amount"))
    by_stage = {r["stage"]: r for r in rows}
    return [
        {
            "stage": stage,
            "label": label,
            "n": by_stage.get(stage, {}).get("n", 0),
            "total": by_stage.get(stage, {}).get("total") or 0,
        }
        for stage, label in OppStage.choices
    ]


KANBAN_PER_STAGE = 30


def kanban_columns(user, queryset=None) -> list[dict]:
    """The newest cards of each open stage plus the last closed ones; one query per stage (six)."""
    queryset = visible_opportunities(user) if queryset is None else queryset
    totals = {row["stage"]: row for row in pipeline_summary(user, queryset)}
    columns = []
    for stage, label in OppStage.choices:
        cards = list(queryset.filter(stage=stage).order_by("-id")[:KANBAN_PER_STAGE])
        columns.append(
            {
                "stage": stage,
                "label": label,
                "cards": cards,
                "open": stage in OPEN_STAGES,
                "n": totals[stage]["n"],
                "total": totals[stage]["total"],
            }
        )
    return columns


def channels_with_costs(months: int = 6) -> dict:
    """Channels with their last `months` monthly costs and lead counts (three queries)."""
    channels = list(Channel.objects.order_by("name").annotate(lead_count=Count("leads")))
    costs = ChannelCost.objects.filter(channel__in=channels).order_by("-month")
    month_list = sorted({c.month for c in costs}, reverse=True)[:months]
    table = {(c.channel_id, c.month): c.amount for c in costs if c.month in month_list}
    converted = dict(Lead.objects.filter(status=LeadStatus.CONVERTED).values_list("channel_id").annotate(n=Count("id")))
    result = []
    for channel in channels:
        amounts = [table.get((channel.pk, m)) for m in month_list]
        total = sum(a for a in amounts if a)
        won = converted.get(channel.pk, 0)
        result.append(
            {
                "channel": channel,
                "amounts": amounts,
                "total": total,
                "leads": channel.lead_count,
                "converted": won,
                "cac": (total / won) if won and total else None,
            }
        )
    return {"months": month_list, "rows": result}


def assignable_reps(user) -> QuerySet:
    """Who a manager may hand a lead to: their teams' active people (admins: every sales user)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if is_admin(user):
        return users.filter(groups__name__in=[role.value for role in SALES_ROLES]).distinct()
    if is_lead_manager(user):
        return users.filter(Q(profile__team_id__in=managed_team_ids(user)) | Q(pk=user.pk)).distinct()
    return users.none()

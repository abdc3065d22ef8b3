"""The dashboards of DOMAIN §7, composed from the apps' read-only metrics over scoped querysets.

Each function takes a Scope (user's visibility + date range + team/rep) and returns a dict of
KPIs, chart payloads and Sections (the tables beside the charts, also the Excel sheets). Every
number is a grouped SQL query or pandas over one column read; nothing loops over rows.
"""

from datetime import timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import metrics as account_metrics
from accounts.models import Customer, Industry, ValueTier
from followups import metrics as followup_metrics
from followups.models import FollowUp, NpsResponse, Task
from leads import metrics as lead_metrics
from leads.models import Channel, ChannelCost, Lead, Opportunity, ProductLine
from receivables import metrics as receivable_metrics
from receivables.models import Contract, Installment
from receivables.selectors import BUCKETS, OPEN_STATUSES

from ..access import is_admin, managed_team_ids
from ..models import DashboardPolicy, SalesTarget
from ..templatetags.crm_tags import person
from .scope import Scope, filter_reps
from .sections import Column, Section, month_label, months_between

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _div(a, b, places: str = "0.01") -> Decimal | None:
    if not b:
        return None
    return (Decimal(a) / Decimal(b)).quantize(Decimal(places))


def _pct(a, b) -> Decimal | None:
    return _div(Decimal(a) * 100, b, "0.1") if b else None


# --- chart payloads (rendered by static/js/dashboards.js) -------------------------------------------


def series(name, kind: str, data, *, money: bool = False, stack: str = "", right: bool = False) -> dict:
    return {
        "name": str(name),
        "type": kind,
        "data": [float(v) if v is not None else None for v in data],
        "money": money,
        "stack": stack,
        "right": right,
    }


def axis(x, *all_series) -> dict:
    return {"kind": "axis", "x": [str(v) for v in x], "series": list(all_series)}


def shares(kind: str, names, values) -> dict:
    return {"kind": kind, "names": [str(n) for n in names], "values": [float(v) for v in values]}


# --- scoped querysets ------------------------------------------------------------------------------


def customers(scope: Scope):
    return scope.apply(Customer.objects.filter(merged_into__isnull=True))


def opportunities(scope: Scope):
    return scope.apply(Opportunity.objects.all())


def leads(scope: Scope):
    return scope.apply(Lead.objects.all())


def contracts(scope: Scope):
    return scope.apply(Contract.objects.all(), finance_reads=True)


def installments(scope: Scope):
    return scope.apply(
        Installment.objects.all(), owner_field="contract__owner", team_field="contract__team", finance_reads=True
    )


def followups(scope: Scope):
    return scope.apply(FollowUp.objects.all(), owner_field="customer__owner", team_field="customer__team")


def tasks(scope: Scope):
    return scope.apply(Task.objects.all(), owner_field="assignee")


def nps_answers(scope: Scope):
    return scope.apply(NpsResponse.objects.all(), owner_field="survey__customer__owner", team_field="survey__team")


# --- sales -------------------------------------------------------------------------------------------


def _targets(scope: Scope):
    targets = SalesTarget.objects.filter(month__gte=scope.start.replace(day=1), month__lte=scope.end)
    if scope.rep_id:
        return targets.filter(user_id=scope.rep_id)
    if scope.team_id:
        return targets.filter(team_id=scope.team_id)
    if is_admin(scope.user):
        return targets.filter(team__isnull=False)
    return targets.filter(team_id__in=managed_team_ids(scope.user))


def sales(scope: Scope) -> dict:
    opps, since, until, tz = opportunities(scope), scope.since, scope.until, scope.tz
    funnel = lead_metrics.funnel(opps, since, until)
    conversion = lead_metrics.lead_conversion(leads(scope), since, until)
    wins = lead_metrics.win_rate(opps, since, until)
    cycle = lead_metrics.sales_cycle(opps, since, until)
    new_by_month = lead_metrics.new_customers_by_month(opps, since, until, tz)
    won_by_month = lead_metrics.won_amount_by_month(opps, since, until, tz)
    months = months_between(scope.start, scope.end)
    monthly = Section(
        "monthly",
        _("New customers and won amount per month"),
        [Column(_("Month")), Column(_("New customers")), Column(_("Won amount"), money=True)],
        [[month_label(m), int(new_by_month.get(m, 0)), won_by_month.get(m, ZERO)] for m in months],
    )
    pipeline = lead_metrics.pipeline_by_close_month(opps)
    pipeline_section = Section(
        "pipeline",
        _("Open pipeline by expected close month"),
        [
            Column(_("Expected close")),
            Column(_("Opportunities")),
            Column(_("Amount"), money=True),
            Column(_("Weighted amount"), money=True),
        ],
        [
            [month_label(r["month"]) if r["month"] else _("No date"), r["n"], r["total"], r["weighted"].quantize(CENT)]
            for r in pipeline
        ],
    )
    funnel_section = Section(
        "funnel",
        _("Funnel of the opportunities opened in the period"),
        [Column(_("Stage")), Column(_("Opportunities")), Column(_("Conversion to the next stage"), percent=True)],
        [[str(r["label"]), r["n"], r["conversion"]] for r in funnel],
    )
    targets = (
        _targets(scope)
        .values("month")
        .annotate(amount=Sum("won_amount"), customers=Sum("new_customers"))
        .order_by("month")
    )
    target_rows = [
        [
            month_label(t["month"]),
            t["amount"],
            won_by_month.get(t["month"], ZERO),
            _pct(won_by_month.get(t["month"], ZERO), t["amount"]),
            t["customers"],
            int(new_by_month.get(t["month"], 0)),
        ]
        for t in targets
    ]
    targets_section = Section(
        "targets",
        _("Targets and actuals"),
        [
            Column(_("Month")),
            Column(_("Target amount"), money=True),
            Column(_("Won amount"), money=True),
            Column(_("Achieved"), money=True, percent=True),
            Column(_("Target new customers")),
            Column(_("New customers")),
        ],
        target_rows,
    )
    return {
        "kpis": {
            "leads": conversion["leads"],
            "converted": conversion["converted"],
            "lead_conversion": conversion["rate"],
            "won": wins["won"],
            "lost": wins["lost"],
            "win_rate": wins["rate"],
            "cycle_n": cycle["n"],
            "cycle_average": cycle["average"],
            "cycle_median": cycle["median"],
            "new_customers": int(new_by_month.sum()) if len(new_by_month) else 0,
            "won_amount": sum(won_by_month.values(), ZERO),
        },
        "sections": [funnel_section, monthly, pipeline_section, targets_section],
        "charts": {
            "funnel": shares("funnel", [str(r["label"]) for r in funnel], [r["n"] for r in funnel]),
            "monthly": axis(
                [month_label(m) for m in months],
                series(_("New customers"), "bar", [int(new_by_month.get(m, 0)) for m in months]),
                series(_("Won amount"), "line", [won_by_month.get(m, ZERO) for m in months], money=True, right=True),
            ),
            "pipeline": axis(
                [row[0] for row in pipeline_section.rows],
                series(_("Opportunities"), "bar", [r["n"] for r in pipeline]),
                series(_("Amount"), "line", [r["total"] for r in pipeline], money=True, right=True),
            ),
            "targets": axis(
                [row[0] for row in target_rows],
                series(_("Target amount"), "bar", [row[1] for row in target_rows], money=True),
                series(_("Won amount"), "bar", [row[2] for row in target_rows], money=True),
                series(_("Target new customers"), "line", [row[4] for row in target_rows]),
                series(_("New customers"), "line", [row[5] for row in target_rows]),
            ),
        },
        "has_targets": bool(target_rows),
    }


# --- customers -------------------------------------------------------------------------------------


def revenue_and_contribution(scope: Scope, since, until, *, policy: DashboardPolicy, by: str = "") -> dict:
    """Won opportunities plus directly entered contracts (never both for one deal), in total or by a field."""
    start, end = timezone.localtime(since).date(), timezone.localtime(until).date() - timedelta(days=1)
    won = lead_metrics.won_value(opportunities(scope), since, until, default_margin=policy.default_margin, by=by)
    direct = receivable_metrics.direct_value(contracts(scope), start, end, default_margin=policy.default_margin, by=by)
    if not by:
        return {k: won[k] + direct[k] for k in ("revenue", "contribution")}
    keys = set(won) | set(direct)
    empty = {"revenue": ZERO, "contribution": ZERO}
    return {
        key: {k: won.get(key, empty)[k] + direct.get(key, empty)[k] for k in ("revenue", "contribution")}
        for key in keys
    }


def maintenance(scope: Scope, policy: DashboardPolicy, limit: int = 20) -> dict:
    """A customers: follow-up cost (visits × visit cost + other activities × activity cost) vs contribution."""
    a_ids = account_metrics.a_customers(customers(scope)).values("pk")
    a_followups = followups(scope).filter(customer__in=a_ids)
    activity = followup_metrics.activities_per_customer(a_followups, scope.since, scope.until)
    totals = followup_metrics.activity_totals(a_followups, scope.since, scope.until)
    visits, others = totals["visits"] or 0, totals["others"] or 0
    cost = policy.visit_cost * visits + policy.activity_cost * others
    a_scope_value = revenue_and_contribution(
        NarrowScope(scope, a_ids), scope.since, scope.until, policy=policy, by="customer_id"
    )
    contribution = sum((v["contribution"] for v in a_scope_value.values()), ZERO).quantize(CENT)
    top = list(activity.order_by("-visits", "-others", "customer_id")[:limit])
    names = dict(Customer.objects.filter(pk__in=[r["customer_id"] for r in top]).values_list("pk", "name"))
    rows = []
    for r in top:
        row_cost = policy.visit_cost * r["visits"] + policy.activity_cost * r["others"]
        row_value = a_scope_value.get(r["customer_id"], {}).get("contribution", ZERO).quantize(CENT)
        rows.append(
            [names.get(r["customer_id"], ""), r["visits"], r["others"], row_cost, row_value, _div(row_value, row_cost)]
        )
    section = Section(
        "maintenance",
        _("A customers: maintenance cost vs contribution"),
        [
            Column(_("Customer")),
            Column(_("Visits and meetings")),
            Column(_("Other activities")),
            Column(_("Maintenance cost"), money=True),
            Column(_("Contribution"), money=True),
            Column(_("Contribution ÷ cost"), money=True, ratio=True),
        ],
        rows,
        note=_(
            "Cost = visits and meetings × %(visit)s + calls, emails and WeChat × %(activity)s (CNY, editable in "
            "the dashboard settings). Contribution = revenue won in the period × the customer's gross margin "
            "(%(margin)s%% when none is recorded)."
        )
        % {"visit": policy.visit_cost, "activity": policy.activity_cost, "margin": policy.default_margin},
    )
    return {
        "visits": visits,
        "others": others,
        "cost": cost,
        "contribution": contribution,
        "ratio": _div(contribution, cost),
        "section": section,
    }


class NarrowScope:
    """A scope whose opportunities and contracts are limited to some customers (the A customers)."""

    def __init__(self, scope: Scope, customer_ids):
        self.scope, self.customer_ids = scope, customer_ids

    def __getattr__(self, name):
        return getattr(self.scope, name)

    def apply(self, queryset, **kwargs):
        return self.scope.apply(queryset, **kwargs).filter(customer__in=self.customer_ids)


def customer_dashboard(scope: Scope) -> dict:
    policy = DashboardPolicy.current()
    scoped = customers(scope)
    distribution = account_metrics.tier_distribution(scoped)
    migration = account_metrics.tier_migration(scoped, scope.since, scope.until, scope.tz)
    churn = account_metrics.churn_by_tier(scoped, scope.since, scope.until)
    nps = followup_metrics.nps_by_quarter(nps_answers(scope), scope.since, scope.until, scope.tz)
    upkeep = maintenance(scope, policy)
    moves = sorted({f"{m['from_tier'] or _('new')} → {m['to_tier']}" for m in migration})
    quarters = sorted({m["quarter"] for m in migration})
    by_move = {(m["quarter"], f"{m['from_tier'] or _('new')} → {m['to_tier']}"): m["n"] for m in migration}
    sections = [
        Section(
            "tiers",
            _("Tier distribution"),
            [
                Column(_("Tier")),
                Column(_("Customers")),
                Column(_("Share of customers"), percent=True),
                Column(_("Annual amount"), money=True),
                Column(_("Share of amount"), money=True, percent=True),
            ],
            [[d["tier"], d["n"], d["count_share"], d["amount"], d["amount_share"]] for d in distribution],
        ),
        Section(
            "migration",
            _("Tier migration per quarter"),
            [Column(_("Quarter")), Column(_("Move")), Column(_("Customers"))],
            [[q, move, by_move[(q, move)]] for q in quarters for move in moves if (q, move) in by_move],
        ),
        Section(
            "churn",
            _("Churn rate by tier"),
            [
                Column(_("Tier")),
                Column(_("Customers at start")),
                Column(_("Churned")),
                Column(_("Churn rate"), percent=True),
            ],
            [[c["tier"], c["base"], c["churned"], c["rate"]] for c in churn],
        ),
        Section(
            "nps",
            _("NPS per quarter"),
            [
                Column(_("Quarter")),
                Column(_("Answers")),
                Column(_("Promoters")),
                Column(_("Passives")),
                Column(_("Detractors")),
                Column(_("NPS")),
            ],
            [[n["quarter"], n["answers"], n["promoters"], n["passives"], n["detractors"], n["nps"]] for n in nps],
        ),
        upkeep["section"],
    ]
    health = account_metrics.health_distribution(scoped)
    scans = [h["scanned"] for h in health if h["scanned"]]
    sections.insert(
        4,
        Section(
            "health",
            _("Health distribution (latest scan)"),
            [Column(_("Risk")), Column(_("Customers")), Column(_("Share"), percent=True), Column(_("Average score"))],
            [[str(h["label"]), h["n"], h["share"], h["average"]] for h in health] if scans else [],
        ),
    )
    return {
        "sections": sections,
        "upkeep": upkeep,
        "health_scanned": max(scans) if scans else None,
        "charts": {
            "tiers": axis(
                [d["tier"] for d in distribution],
                series(_("Share of customers"), "bar", [d["count_share"] or 0 for d in distribution]),
                series(_("Share of amount"), "bar", [d["amount_share"] or 0 for d in distribution], money=True),
            ),
            "migration": axis(
                quarters,
                *(series(move, "bar", [by_move.get((q, move), 0) for q in quarters], stack="moves") for move in moves),
            ),
            "health": shares("pie", [str(h["label"]) for h in health], [h["n"] for h in health]),
            "churn": axis([c["tier"] for c in churn], series(_("Churn rate"), "bar", [c["rate"] or 0 for c in churn])),
            "nps": axis([n["quarter"] for n in nps], series(_("NPS"), "line", [n["nps"] for n in nps])),
        },
    }


# --- acquisition -------------------------------------------------------------------------------------


def _channel_costs(scope: Scope) -> dict:
    """{channel id: cost of the months the range touches}; with a team or rep filter (or a manager's
    scope) each channel's cost is shared out by the scope's share of the channel's leads."""
    rows = (
        ChannelCost.objects.filter(month__gte=scope.start.replace(day=1), month__lte=scope.end)
        .order_by()
        .values("channel_id")
        .annotate(total=Sum("amount"))
    )
    costs = {r["channel_id"]: r["total"] or ZERO for r in rows}
    if scope.covers_everything:
        return costs
    mine = lead_metrics.leads_by_channel(leads(scope), scope.since, scope.until)
    everyone = lead_metrics.leads_by_channel(Lead.objects.all(), scope.since, scope.until)
    return {
        channel: (cost * mine.get(channel, 0) / everyone[channel]).quantize(CENT) if everyone.get(channel) else ZERO
        for channel, cost in costs.items()
    }


def ltv(scope: Scope, policy: DashboardPolicy) -> dict:
    """LTV = average annual contribution per paying customer × expected lifetime (years).

    Over the twelve months ending with the range: annual contribution = revenue × gross margin;
    expected lifetime = 1 ÷ annual churn rate, at most the configured maximum.
    """
    until = scope.until
    since = until - timedelta(days=365)
    value = revenue_and_contribution(scope, since, until, policy=policy, by="customer_id")
    paying = len(value)
    contribution = sum((v["contribution"] for v in value.values()), ZERO)
    revenue = sum((v["revenue"] for v in value.values()), ZERO)
    churn = account_metrics.churn_rate(customers(scope), since, until)
    lifetime = policy.max_lifetime_years
    if churn["rate"]:
        lifetime = min(lifetime, (Decimal(100) / churn["rate"]).quantize(Decimal("0.1")))
    per_customer = _div(contribution, paying)
    return {
        "paying": paying,
        "revenue": revenue,
        "contribution": contribution.quantize(CENT),
        "arpa": _div(revenue, paying),
        "margin": _pct(contribution, revenue),
        "annual_contribution": per_customer,
        "churn": churn,
        "lifetime": lifetime,
        "value": (per_customer * lifetime).quantize(CENT) if per_customer is not None else None,
    }


def acquisition(scope: Scope) -> dict:
    policy = DashboardPolicy.current()
    channels = list(Channel.objects.order_by("name"))
    costs = _channel_costs(scope)
    lead_counts = lead_metrics.leads_by_channel(leads(scope), scope.since, scope.until)
    new_ids = lead_metrics.first_wins(opportunities(scope), scope.since, scope.until).values("customer_id")
    new_by_source = dict(
        Customer.objects.filter(pk__in=new_ids)
        .order_by()
        .values("source_channel")
        .annotate(n=Count("pk"))
        .values_list("source_channel", "n")
    )
    value = revenue_and_contribution(scope, scope.since, scope.until, policy=policy, by="customer__source_channel")
    lifetime = ltv(scope, policy)
    rows = []
    for channel in channels:
        cost = costs.get(channel.pk, ZERO)
        new = new_by_source.get(channel.code, 0)
        revenue = value.get(channel.code, {}).get("revenue", ZERO)
        cac = _div(cost, new)
        rows.append(
            [
                channel.name,
                lead_counts.get(channel.pk, 0),
                cost,
                new,
                cac,
                revenue,
                _div(revenue, cost),
                _div(lifetime["value"], cac) if lifetime["value"] is not None else None,
            ]
        )
    total_cost = sum(costs.values(), ZERO)
    total_new = sum(new_by_source.values())
    total_revenue = sum((v["revenue"] for v in value.values()), ZERO)
    overall_cac = _div(total_cost, total_new)
    overall = [
        _("All channels"),
        sum(lead_counts.values()),
        total_cost,
        total_new,
        overall_cac,
        total_revenue,
        _div(total_revenue, total_cost),
        _div(lifetime["value"], overall_cac) if lifetime["value"] is not None else None,
    ]
    section = Section(
        "channels",
        _("CAC, LTV/CAC and ROI per channel"),
        [
            Column(_("Channel")),
            Column(_("Leads")),
            Column(_("Cost"), money=True),
            Column(_("New customers")),
            Column(_("CAC"), money=True),
            Column(_("Revenue"), money=True),
            Column(_("ROI (revenue ÷ cost)"), money=True, ratio=True),
            Column(_("LTV ÷ CAC"), money=True, ratio=True),
        ],
        [*rows, overall],
    )
    return {
        "section": section,
        "sections": [section],
        "overall": {
            "cac": overall_cac,
            "cost": total_cost,
            "new": total_new,
            "revenue": total_revenue,
            "roi": overall[6],
        },
        "ltv": lifetime,
        "ltv_cac": overall[7],
        "policy": policy,
        "charts": {
            "channels": axis(
                [r[0] for r in rows],
                series(_("CAC"), "bar", [r[4] for r in rows], money=True),
                series(_("ROI (revenue ÷ cost)"), "line", [r[6] for r in rows], money=True, right=True),
            )
        },
    }


# --- team discipline -------------------------------------------------------------------------------


def discipline_rows(scope: Scope) -> list[dict]:
    """One row per rep in scope: follow-ups logged, late, overdue tasks, SOP completion, leads taken and converted."""
    people = filter_reps(scope.user)
    if scope.team_id:
        people = people.filter(profile__team_id=scope.team_id)
    if scope.rep_id:
        people = people.filter(pk=scope.rep_id)
    now = timezone.now()
    logged = followup_metrics.followups_per_author(
        scope.apply(FollowUp.objects.all(), owner_field="author", team_field="customer__team"), scope.since, scope.until
    )
    work = followup_metrics.tasks_per_assignee(tasks(scope), scope.since, scope.until, now)
    taken = lead_metrics.per_rep_leads(leads(scope), scope.since, scope.until)
    rows = []
    for user in people:
        f, t, lead = logged.get(user.pk, {}), work.get(user.pk, {}), taken.get(user.pk, {})
        rows.append(
            {
                "rep": person(user),
                "team": str(getattr(getattr(user, "profile", None), "team", None) or ""),
                "logged": f.get("logged", 0),
                "late": f.get("late", 0),
                "late_share": _pct(f.get("late", 0), f.get("logged", 0)),
                "overdue": t.get("overdue", 0),
                "sop_due": t.get("sop_due", 0),
                "sop_done": t.get("sop_done", 0),
                "sop_completion": _pct(t.get("sop_done", 0), t.get("sop_due", 0)),
                "leads_taken": lead.get("taken", 0),
                "leads_converted": lead.get("converted", 0),
            }
        )
    return rows


# --- receivables -------------------------------------------------------------------------------------


def receivables(scope: Scope) -> dict:
    today = timezone.localdate()
    scoped = installments(scope)
    open_items = scoped.filter(contract__status__in=OPEN_STATUSES, paid_amount__lt=F("amount"))
    aging = receivable_metrics.aging_totals(open_items, today)
    labels = bucket_labels()
    collection = receivable_metrics.collection_by_month(scoped, scope.start, scope.end)
    by_month = {r["month"]: r for r in collection}
    months = months_between(scope.start, scope.end)
    planned_total = collected_total = ZERO
    rows = []
    for month in months:
        r = by_month.get(month, {"planned": ZERO, "collected": ZERO})
        planned_total += r["planned"]
        collected_total += r["collected"]
        rows.append(
            [
                month_label(month),
                r["planned"],
                r["collected"],
                _pct(r["collected"], r["planned"]),
                planned_total,
                collected_total,
            ]
        )
    overdue = receivable_metrics.overdue_by_customer(open_items, today)
    return {
        "aging": aging,
        "collection_rate": _pct(collected_total, planned_total),
        "planned": planned_total,
        "collected": collected_total,
        "sections": [
            Section(
                "aging",
                _("Aging of open receivables (today)"),
                [Column(_("Bucket")), Column(_("Outstanding"), money=True)],
                [[labels[b], aging[b]] for b in BUCKETS] + [[_("Total"), aging["total"]]],
            ),
            Section(
                "collection",
                _("Collection progress vs plan (by due month)"),
                [
                    Column(_("Month")),
                    Column(_("Planned"), money=True),
                    Column(_("Collected"), money=True),
                    Column(_("Collected of plan"), percent=True),
                    Column(_("Planned to date"), money=True),
                    Column(_("Collected to date"), money=True),
                ],
                rows,
            ),
            Section(
                "overdue",
                _("Top overdue customers"),
                [
                    Column(_("Customer")),
                    Column(_("Owner")),
                    Column(_("Days overdue")),
                    Column(_("Overdue"), money=True),
                ],
                [[o["name"], o["owner"], o["days"], o["overdue"]] for o in overdue],
            ),
        ],
        "charts": {
            "aging": axis(
                [labels[b] for b in BUCKETS], series(_("Outstanding"), "bar", [aging[b] for b in BUCKETS], money=True)
            ),
            "collection": axis(
                [r[0] for r in rows],
                series(_("Planned to date"), "line", [r[4] for r in rows], money=True),
                series(_("Collected to date"), "line", [r[5] for r in rows], money=True),
            ),
        },
    }


def bucket_labels() -> dict:
    return {
        "current": _("Current"),
        "d1_30": _("1–30 days"),
        "d31_60": _("31–60 days"),
        "d61_90": _("61–90 days"),
        "d90_plus": _("> 90 days"),
    }


# --- cross-sell ---------------------------------------------------------------------------------------


def _holdings(queryset_opps, queryset_contracts) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        [*lead_metrics.product_lines_held(queryset_opps), *receivable_metrics.product_lines_held(queryset_contracts)],
        columns=["customer_id", "line"],
    )
    return frame.drop_duplicates()


def peer_shares(threshold: int) -> pd.DataFrame:
    """Per (tier, industry) peer group and product line: holders and the share (%) holding it.

    The peer group is company-wide (every tiered customer), so a rep's list uses the same benchmark
    as the director's; only customers the user may see are listed. Rows under `threshold` dropped.
    Being the same for everyone, it is computed once per settings.DASHBOARD_CACHE_SECONDS (it reads
    every customer, opportunity and contract: seconds at a million customers) and shared.
    """
    seconds = getattr(settings, "DASHBOARD_CACHE_SECONDS", 0)
    if not seconds:
        return _peer_shares(threshold)
    key = f"dashboards:peer_shares:{threshold}"
    shares = cache.get(key)
    if shares is None:
        shares = _peer_shares(threshold)
        cache.set(key, shares, seconds)
    return shares


def _peer_shares(threshold: int) -> pd.DataFrame:
    groups = pd.DataFrame.from_records(
        list(
            Customer.objects.filter(tier_assessment__isnull=False, merged_into__isnull=True)
            .order_by()
            .values_list("pk", "tier_assessment__tier", "industry")
        ),
        columns=["customer_id", "tier", "industry"],
    )
    if groups.empty:
        return pd.DataFrame(columns=["tier", "industry", "line", "holders", "size", "share"])
    holdings = _holdings(Opportunity.objects.all(), Contract.objects.all())
    sizes = groups.groupby(["tier", "industry"]).size().rename("size")
    held = holdings.merge(groups, on="customer_id").groupby(["tier", "industry", "line"]).size().rename("holders")
    shares = held.reset_index().join(sizes, on=["tier", "industry"])
    shares["share"] = (shares["holders"] * 100 / shares["size"]).round(1)
    return shares[shares["share"] >= threshold]


def cross_sell(scope: Scope, limit: int | None = 300) -> dict:
    """Customers missing a product line that at least `cross_sell_share`% of their tier-and-industry peers hold."""
    policy = DashboardPolicy.current()
    shares = peer_shares(policy.cross_sell_share)
    columns = [
        Column(_("Customer")),
        Column(_("Tier")),
        Column(_("Industry")),
        Column(_("Owner")),
        Column(_("Missing product line")),
        Column(_("Peers holding it"), percent=True),
        Column(_("Peer group size")),
    ]
    section = Section("cross_sell", _("Cross-sell opportunities"), columns)
    if shares.empty:
        return {"section": section, "sections": [section], "policy": policy, "total": 0}
    visible = customers(scope).filter(tier_assessment__isnull=False)
    mine = pd.DataFrame.from_records(
        list(visible.order_by().values_list("pk", "name", "tier_assessment__tier", "industry", "owner_id")),
        columns=["customer_id", "name", "tier", "industry", "owner_id"],
    )
    candidates = mine.merge(shares, on=["tier", "industry"])
    held = _holdings(opportunities(scope).filter(customer__in=visible.values("pk")), contracts(scope))
    held["has"] = True
    candidates = candidates.merge(held, on=["customer_id", "line"], how="left")
    candidates = candidates[candidates["has"].isna()].sort_values(["share", "customer_id"], ascending=[False, True])
    total = len(candidates)
    if limit:
        candidates = candidates.head(limit)
    owners = {u.pk: person(u) for u in get_user_model().objects.filter(pk__in=candidates["owner_id"].dropna().unique())}
    industries, lines = dict(Industry.choices), dict(ProductLine.choices)
    section.rows = [
        [
            r.name,
            r.tier,
            str(industries.get(r.industry, r.industry or "—")),
            owners.get(r.owner_id, ""),
            str(lines.get(r.line, r.line)),
            Decimal(str(r.share)),
            int(r.size),
        ]
        for r in candidates.itertuples(index=False)
    ]
    return {"section": section, "sections": [section], "policy": policy, "total": total, "tiers": ValueTier.values}

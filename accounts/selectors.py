"""Reads of the customer archive, always scoped to what the user may see."""

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Prefetch, Q, QuerySet

from crm.access import has_role, is_admin, managed_team_ids, scope_owned
from crm.roles import Role

from .models import Contact, Customer, Status, Tag
from .services.customers import INCOMPLETE_CONDITION, contact_flags, incomplete_active_customers


def visible_customers(user) -> QuerySet[Customer]:
    return scope_owned(Customer.objects.all(), user, finance_reads=True).select_related("owner", "team")


# The tier of each row through the one-to-one (a LEFT JOIN, not the assessment's breakdown JSON).
TIER_COLUMNS = {
    "tier": F("tier_assessment__tier"),
    "tier_potential": F("tier_assessment__potential"),
    "tier_relationship": F("tier_assessment__relationship"),
}


def archive_customers(user) -> QuerySet[Customer]:
    """The list page's rows: visible, not merged away, with owner/team joined and tags prefetched."""
    return (
        visible_customers(user)
        .filter(merged_into__isnull=True)
        .annotate(**TIER_COLUMNS)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
    )


def customer_for_detail(user, pk: int) -> Customer:
    from crm.access import get_visible_or_404

    return get_visible_or_404(
        visible_customers(user).prefetch_related("tags", Prefetch("contacts", queryset=Contact.objects.all())),
        pk=pk,
    )


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("username")


def assignable_owners(user) -> QuerySet:
    """Who `user` may make the owner of a customer: admins anyone, managers their teams' people, reps themself."""
    if is_admin(user):
        return _active_users()
    team_ids = managed_team_ids(user)
    if team_ids:
        return _active_users().filter(Q(profile__team_id__in=team_ids) | Q(pk=user.pk)).distinct()
    return _active_users().filter(pk=user.pk)


def visible_owners(user) -> QuerySet:
    """Owners offered in the list filter: the people whose customers `user` can see."""
    if has_role(user, Role.FINANCE) and not managed_team_ids(user):
        return _active_users()
    return assignable_owners(user)


def incomplete_customers(user) -> QuerySet[Customer]:
    """Visible active customers missing a required field, with contact flags for the missing list."""
    return (
        scope_owned(incomplete_active_customers(), user)
        .filter(merged_into__isnull=True)
        .select_related("owner")
        .annotate(**contact_flags())
    )


def completeness_summary(user) -> dict:
    """Share of visible active records with every required field filled, against the goal."""
    active = scope_owned(Customer.objects.all(), user).filter(status=Status.ACTIVE, merged_into__isnull=True)
    totals = active.aggregate(
        total=Count("id"), incomplete=Count("id", filter=INCOMPLETE_CONDITION), average=Avg("completeness")
    )
    total, incomplete = totals["total"] or 0, totals["incomplete"] or 0
    share = round((total - incomplete) * 100 / total, 1) if total else 100.0
    return {
        "total": total,
        "incomplete": incomplete,
        "complete_share": share,
        "average_score": round(totals["average"] or 0),
        "goal": 95,
        "meets_goal": share >= 95,
    }

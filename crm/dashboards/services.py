"""Writes of the dashboards: sales targets and the dashboard settings (audited through their history)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from ..access import has_role, is_admin, managed_team_ids
from ..models import DashboardPolicy, SalesTarget
from ..roles import Role
from . import snapshots


def can_manage_targets(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def _may_set(user, target: SalesTarget) -> bool:
    if is_admin(user):
        return True
    teams = managed_team_ids(user)
    if target.team_id:
        return target.team_id in teams
    profile_team = getattr(getattr(target.user, "profile", None), "team_id", None)
    return target.user_id == user.pk or profile_team in teams


@transaction.atomic
def save_target(*, target: SalesTarget, by) -> SalesTarget:
    """Create or replace the target of one rep or team for one month."""
    if not can_manage_targets(by) or not _may_set(by, target):
        raise PermissionDenied
    lookup = {"user": target.user} if target.user_id else {"team": target.team}
    saved, _created = SalesTarget.objects.update_or_create(
        month=target.month,
        **lookup,
        defaults={"won_amount": target.won_amount, "new_customers": target.new_customers, "set_by": by},
    )
    snapshots.forget()  # the precomputed sales dashboards compare with the old target
    return saved


@transaction.atomic
def delete_target(*, target: SalesTarget, by) -> None:
    if not can_manage_targets(by) or not _may_set(by, target):
        raise PermissionDenied
    target.delete()
    snapshots.forget()


@transaction.atomic
def save_policy(*, policy: DashboardPolicy, by) -> DashboardPolicy:
    if not can_manage_targets(by):
        raise PermissionDenied
    policy.pk = 1
    policy.updated_by = by
    policy.save()
    snapshots.forget()  # costs, margins and the cross-sell share change the precomputed numbers
    return policy


def visible_targets(user):
    targets = SalesTarget.objects.select_related("team", "user", "set_by")
    if is_admin(user):
        return targets
    teams = managed_team_ids(user)
    return targets.filter(team_id__in=teams) | targets.filter(user__profile__team_id__in=teams)

"""The one place that decides what a user may see and change.

Every list and detail view gets its queryset from a selector that calls `scope_owned`, and
every object view fetches through `get_visible_or_404`; edits are checked with `can_edit_owned`.

- admin (group or superuser): everything;
- sales manager/director: records of the teams they manage (and their sub-teams), and their own;
- sales rep / senior rep: only records they own;
- finance: receivables and credit (and, read-only, the customers behind them).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from .roles import Role


def user_roles(user) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if getattr(user, "_crm_roles", None) is None:
        load_grants(user)
    return user._crm_roles


def granted_permissions(user) -> frozenset[str]:
    """The user's permissions as "app_label.codename", their own and their groups' (what Django's
    ModelBackend reads in two queries); crm.backends serves has_perm from it."""
    if getattr(user, "_crm_permissions", None) is None:
        load_grants(user)
    return user._crm_permissions


def load_grants(user) -> None:
    """Read the user's groups (their roles) and permissions in one query and keep both on the user
    object for the rest of the request. Every page asks for both (navigation, visibility, amounts,
    export); Django's backend and the roles lookup took three ORM queries, about 2 ms a page."""
    user_model = get_user_model()
    tables = {
        "group": Group._meta.db_table,
        "user_groups": user_model.groups.through._meta.db_table,
        "permission": Permission._meta.db_table,
        "content_type": ContentType._meta.db_table,
        "group_permissions": Group.permissions.through._meta.db_table,
        "user_permissions": user_model.user_permissions.through._meta.db_table,
    }
    sql = """
        SELECT 'role', g.name FROM {group} g
          JOIN {user_groups} ug ON ug.group_id = g.id WHERE ug.user_id = %s
        UNION ALL
        SELECT 'permission', ct.app_label || '.' || p.codename FROM {permission} p
          JOIN {content_type} ct ON ct.id = p.content_type_id
         WHERE p.id IN (SELECT gp.permission_id FROM {group_permissions} gp
                          JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)
            OR p.id IN (SELECT up.permission_id FROM {user_permissions} up WHERE up.user_id = %s)
    """.format(**{name: connection.ops.quote_name(table) for name, table in tables.items()})  # noqa: S608 - names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk] * 3)
        rows = cursor.fetchall()
    user._crm_roles = frozenset(value for kind, value in rows if kind == "role")
    user._crm_permissions = frozenset(value for kind, value in rows if kind == "permission")


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user).intersection(roles))


def is_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.ADMIN)


def managed_team_ids(user) -> list[int]:
    if not has_role(user, Role.MANAGER):
        return []
    cached = getattr(user, "_crm_managed_teams", None)
    if cached is None:
        from .models import Team

        found = set(user.managed_teams.values_list("id", flat=True))
        frontier = set(found)
        while frontier:  # sub-teams of managed teams, any depth (teams are few)
            frontier = set(Team.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
            found |= frontier
        cached = sorted(found)
        user._crm_managed_teams = cached
    return cached


def can_view_amounts(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm("crm.view_amounts")


def can_export(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm("crm.export_data")


def _owned_filter(user, owner_field: str, team_field: str) -> Q:
    condition = Q(**{owner_field: user})
    team_ids = managed_team_ids(user)
    if team_ids:
        condition |= Q(**{f"{team_field}__in": team_ids})
    return condition


def scope_owned(
    queryset: QuerySet, user, *, owner_field: str = "owner", team_field: str = "team", finance_reads: bool = False
) -> QuerySet:
    """Rows of an owned entity (customers, leads, tasks) that `user` may see."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if is_admin(user) or (finance_reads and has_role(user, Role.FINANCE)):
        return queryset
    return queryset.filter(_owned_filter(user, owner_field, team_field))


def can_edit_owned(user, obj, *, owner_field: str = "owner", team_field: str = "team") -> bool:
    """Owners, their team's manager and admins edit; finance and others only read."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_admin(user):
        return True
    if getattr(obj, f"{owner_field}_id") == user.pk:
        return True
    return getattr(obj, f"{team_field}_id") in managed_team_ids(user)


def get_visible_or_404(queryset: QuerySet, **lookup):
    """Fetch one row of an already-scoped queryset; anything outside the scope is a 404."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc

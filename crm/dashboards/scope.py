"""Who and what a dashboard covers: the user's visibility narrowed by the date range, team and rep filters.

Visibility is crm.access.scope_owned (rep: own records; manager: their teams'; admin: all;
finance: everything where `finance_reads` is allowed, i.e. receivables). A rep's filters are
fixed to themself: the personal version of each dashboard.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.access import has_role, is_admin, managed_team_ids, scope_owned
from crm.models import Team
from crm.roles import SALES_ROLES, Role


def can_see_team_filters(user) -> bool:
    return is_admin(user) or bool(managed_team_ids(user)) or has_role(user, Role.FINANCE)


def filter_teams(user) -> QuerySet[Team]:
    if is_admin(user) or has_role(user, Role.FINANCE):
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=managed_team_ids(user)).order_by("name")


def filter_reps(user) -> QuerySet:
    """People offered in the rep filter: sales people in the user's teams (admins and finance: all)."""
    users = get_user_model().objects.filter(is_active=True).select_related("profile__team").order_by("username")
    if is_admin(user) or has_role(user, Role.FINANCE):
        return users.filter(groups__name__in=[r.value for r in SALES_ROLES]).distinct()
    team_ids = managed_team_ids(user)
    if team_ids:
        return users.filter(Q(profile__team_id__in=team_ids) | Q(pk=user.pk)).distinct()
    return users.filter(pk=user.pk)


def default_range(today: date) -> tuple[date, date]:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1), today


@dataclass(frozen=True)
class Scope:
    user: object
    start: date
    end: date  # inclusive
    team_id: int | None = None
    rep_id: int | None = None

    @property
    def tz(self):
        return timezone.get_current_timezone()

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min), self.tz)

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min), self.tz)

    @property
    def is_personal(self) -> bool:
        return not can_see_team_filters(self.user)

    @property
    def covers_everything(self) -> bool:
        """Admin (or finance) without a team or rep filter: company-wide numbers."""
        return (is_admin(self.user) or has_role(self.user, Role.FINANCE)) and not (self.team_id or self.rep_id)

    def apply(
        self, queryset: QuerySet, *, owner_field: str = "owner", team_field: str = "team", finance_reads: bool = False
    ) -> QuerySet:
        """Rows the user may see, narrowed to the chosen team and rep."""
        queryset = scope_owned(
            queryset, self.user, owner_field=owner_field, team_field=team_field, finance_reads=finance_reads
        )
        if self.team_id:
            queryset = queryset.filter(**{f"{team_field}_id": self.team_id})
        if self.rep_id:
            queryset = queryset.filter(**{f"{owner_field}_id": self.rep_id})
        return queryset

    def querystring(self) -> str:
        from urllib.parse import urlencode

        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.team_id:
            params["team"] = self.team_id
        if self.rep_id:
            params["rep"] = self.rep_id
        return urlencode(params)

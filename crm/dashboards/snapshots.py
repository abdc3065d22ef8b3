"""Precomputed dashboards: the beat job `crm.tasks.refresh_dashboards` computes every unfiltered
dashboard (the last twelve months, no team or rep chosen) for the people who read them company-
or team-wide — admins (once per time zone), managers and finance — in every language, and stores
the numbers in DashboardSnapshot. Opening such a dashboard then reads one row: at a million
customers a dashboard's selector reads millions of rows (seconds), its snapshot a few kilobytes.

A snapshot is used only when audience, language, time zone and filters match exactly; anything
else is computed on request and cached (`numbers`). The page shows the as-of time.
A rep's personal dashboards cover one book and are computed on request.
"""

import logging
import pickle
import time
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation

from crm.access import is_admin
from crm.middleware import user_time_zone
from crm.models import DashboardSnapshot
from crm.roles import Role

from .forms import DashboardFilterForm
from .registry import DASHBOARDS

logger = logging.getLogger(__name__)


def audience(user) -> str:
    """Who shares a snapshot: every admin sees the same numbers; anyone else sees their own."""
    return "admin" if is_admin(user) else f"user:{user.pk}"


def variant(scope) -> str:
    """Language, time zone and filters: the rest of what the numbers (and their labels) depend on."""
    return f"{translation.get_language()}|{timezone.get_current_timezone_name()}|{scope.querystring()}"


def read(key: str, user, scope) -> tuple[object, datetime] | None:
    """(numbers, computed_at) of the matching snapshot, or None."""
    row = (
        DashboardSnapshot.objects.filter(dashboard=key, audience=audience(user), variant=variant(scope))
        .values_list("payload", "computed_at")
        .first()
    )
    if row is None:
        return None
    try:
        # Written only by refresh() below from our own selectors' results, never from user input.
        numbers = pickle.loads(bytes(row[0]))  # noqa: S301  # nosec B301
    except Exception:  # a snapshot written by an older release: compute instead
        logger.warning("dashboard snapshot %s for %s unreadable", key, audience(user), exc_info=True)
        return None
    return numbers, row[1]


def numbers(key: str, user, scope, build, *, fresh: bool = False) -> tuple[object, datetime]:
    """(numbers, computed_at) of one dashboard for this user and scope: the matching snapshot, else
    the cached computation (settings.DASHBOARD_CACHE_SECONDS per user, filters and language), else
    `build(scope)` now. `fresh` skips both and recomputes (the page's "Refresh")."""
    if not fresh:
        snapshot = read(key, user, scope)
        if snapshot is not None:
            return snapshot
    seconds = getattr(settings, "DASHBOARD_CACHE_SECONDS", 300)
    if not seconds:
        return build(scope), timezone.now()
    cache_key = f"dashboards:{key}:{user.pk}:{translation.get_language()}:{scope.querystring()}"
    cached = None if fresh else cache.get(cache_key)
    if cached is not None:
        return cached
    result = (build(scope), timezone.now())
    try:
        cache.set(cache_key, result, seconds)
    except (pickle.PicklingError, TypeError, AttributeError):  # numbers that cannot be pickled: no cache
        logger.warning("dashboard %s not cached: its numbers cannot be pickled", key, exc_info=True)
    return result


def readers():
    """Active people whose unfiltered dashboards are precomputed: one admin per time zone, every
    manager and finance user."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[Role.ADMIN, Role.MANAGER, Role.FINANCE]))
        .select_related("profile")
        .distinct()
        .order_by("pk")
    )
    admin_zones = set()
    for user in users:
        if is_admin(user):
            zone = getattr(getattr(user, "profile", None), "time_zone", "")
            if zone in admin_zones:
                continue
            admin_zones.add(zone)
        yield user


def refresh() -> dict:
    """Recompute every snapshot (idempotent: one row per dashboard, audience and variant, replaced);
    snapshots not written by this run (yesterday's dates, people no longer readers) are removed."""
    started = timezone.now()
    written = 0
    slowest: dict[str, float] = {}  # seconds of the longest computation of each dashboard
    for user in readers():
        with timezone.override(user_time_zone(user)):
            for language, _name in settings.LANGUAGES:
                with translation.override(language):
                    scope = DashboardFilterForm(None, user=user).scope()
                    for key, dashboard in DASHBOARDS.items():
                        if not dashboard.allowed(user):
                            continue
                        clock = time.perf_counter()
                        numbers = dashboard.build(scope)
                        slowest[key] = round(max(slowest.get(key, 0), time.perf_counter() - clock), 2)
                        DashboardSnapshot.objects.bulk_create(
                            [
                                DashboardSnapshot(
                                    dashboard=key,
                                    audience=audience(user),
                                    variant=variant(scope),
                                    payload=pickle.dumps(numbers),
                                    computed_at=timezone.now(),
                                )
                            ],
                            update_conflicts=True,
                            unique_fields=["dashboard", "audience", "variant"],
                            update_fields=["payload", "computed_at"],
                        )
                        written += 1
    removed, _detail = DashboardSnapshot.objects.filter(computed_at__lt=started).delete()
    return {"snapshots": written, "removed": removed, "slowest_seconds": slowest}


def forget() -> None:
    """Drop every snapshot (after the dashboard settings or a target changed)."""
    DashboardSnapshot.objects.all().delete()

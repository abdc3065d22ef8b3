"""Business actions of the `crm` package: roles, schedules, heartbeat, user preferences."""

import json
import socket

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Heartbeat, Profile, Team
from .roles import ROLE_PERMISSIONS, Role
from .schedules import SCHEDULES


@transaction.atomic
def ensure_roles() -> None:
    """Create the role groups with their default permissions (idempotent, keeps additions)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)


@transaction.atomic
def ensure_periodic_tasks() -> list[str]:
    """Create the beat entries of crm.schedules that are missing; edited entries are left alone."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = []
    for entry in SCHEDULES:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        fields = {
            "name": entry.name,
            "task": entry.task,
            "description": str(entry.description),
            "kwargs": json.dumps({}),
        }
        if entry.every_seconds:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone=timezone.get_default_timezone_name(),
            )
        PeriodicTask.objects.create(**fields)
        created.append(entry.name)
    return created


def record_heartbeat(*, name: str = "heartbeat", worker: str = "") -> Heartbeat:
    """Note that a periodic job ran now. Safe to run concurrently and repeatedly."""
    now = timezone.now()
    worker = worker or socket.gethostname()
    with transaction.atomic():
        beat, created = Heartbeat.objects.get_or_create(
            name=name, defaults={"last_run_at": now, "run_count": 1, "worker": worker}
        )
        if not created:
            Heartbeat.objects.filter(pk=beat.pk).update(last_run_at=now, run_count=F("run_count") + 1, worker=worker)
            beat.refresh_from_db()
    return beat


@transaction.atomic
def create_user(
    *, username: str, role: Role, password: str = "", password_hash: str = "", team: Team | None = None, **fields
):
    """Create (or update) a login with one role and an optional team; used by seeding and tests.

    Pass `password_hash` (from make_password) to create many users without hashing each time."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults=fields)
    if created:
        if password_hash:
            user.password = password_hash
        else:
            user.set_password(password)
        if role == Role.ADMIN:
            user.is_staff = True
            user.is_superuser = True
        user.save()
    user.groups.add(Group.objects.get(name=role.value))
    profile, _ = Profile.objects.get_or_create(user=user)
    if team is not None and profile.team_id != team.pk:
        profile.team = team
        profile.save(update_fields=["team"])
    return user


def save_preferences(*, user, language: str | None = None, time_zone: str | None = None) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    if language is not None:
        profile.language = language
    if time_zone is not None:
        profile.time_zone = time_zone
    profile.save()
    return profile

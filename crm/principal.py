"""The signed-in user for a request: their row, profile, roles and permissions from the cache.

Every page reads the same things about who is asking: the user, their profile (language, time
zone, team), their roles and permissions, and for a manager the teams they manage, in two to four
queries (crm.backends, crm.access).
Here the last answer is kept in the cache for PRINCIPAL_CACHE_SECONDS, keyed by the user, and a
request whose session carries the same session hash reads it with one cache lookup instead. The
snapshot holds no password: the check is made against the session hash Django derived from the
password, which the session itself already carries. Anything else (no snapshot, another hash, a
session signed in by another backend, an unreadable key) goes Django's own way
(django.contrib.auth.get_user, with its hash check, secret fallbacks and flush), which then
stores a new snapshot.

A snapshot is dropped whenever what it copies changes through the ORM: a user or a profile saved
or deleted, a user's groups or own permissions changed, a group, its permissions or a team changed
(all users' snapshots: the generation value in the cache changes). It is dropped at once and again
when the transaction commits, so a request reading before the commit cannot keep the old state.
A change made behind the ORM's back (SQL, queryset.update) shows within PRINCIPAL_CACHE_SECONDS.

Settings (crm/settings.py): on with Redis, whose one cache all processes share; off without
(a per-process cache could not be told of a change made in another process) and in tests, which
switch it on where they test it.
"""

import logging
import pickle
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import constant_time_compare

from .access import granted_permissions, managed_team_ids, user_roles
from .backends import ModelBackend
from .models import Profile, Team

logger = logging.getLogger(__name__)

BACKEND = f"{ModelBackend.__module__}.{ModelBackend.__qualname__}"
UNREADABLE = (AttributeError, TypeError, ValueError, ImportError, pickle.UnpicklingError)
GENERATION_KEY = "principal:generation"


@dataclass(frozen=True)
class Snapshot:
    generation: str | None  # GENERATION_KEY's value when it was stored
    session_hash: str
    user: dict  # the user's loaded fields by attname, the password left out
    profile: dict | None  # the profile's fields by attname; None: the user has no profile
    roles: frozenset[str]
    permissions: frozenset[str]
    managed_teams: list[int]  # crm.access.managed_team_ids: a manager's teams and sub-teams, else []


def _key(user_id) -> str:
    return f"principal:user:{user_id}"


def get_user(request):
    """The request's user: the cached snapshot when it verifies, else Django's get_user (which
    then stores one). What django.contrib.auth.middleware.get_user returns, for request.user."""
    if not hasattr(request, "_cached_user"):
        seconds = settings.PRINCIPAL_CACHE_SECONDS
        user = _from_snapshot(request) if seconds else None
        if user is None:
            user = auth.get_user(request)
            if seconds and user.is_authenticated and request.session.get(BACKEND_SESSION_KEY) == BACKEND:
                _store(user, seconds)
        request._cached_user = user
    return request._cached_user


def _from_snapshot(request):
    session = request.session
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend, session_hash = session[BACKEND_SESSION_KEY], session[HASH_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend != BACKEND or backend not in settings.AUTHENTICATION_BACKENDS or not session_hash:
        return None
    try:
        found = cache.get_many([GENERATION_KEY, _key(user_id)])
        snapshot = found.get(_key(user_id))
        if (
            not isinstance(snapshot, Snapshot)
            or snapshot.generation != found.get(GENERATION_KEY)
            or not constant_time_compare(snapshot.session_hash, session_hash)
        ):
            return None
        return _rebuild(snapshot)
    except UNREADABLE:  # a snapshot stored by another version of this code: read the database
        logger.warning("signed-in user's cached snapshot unreadable; read from the database", exc_info=True)
        return None


def _rebuild(snapshot: Snapshot):
    """The user as the backend reads it (select_related("profile")), with their grants loaded as
    crm.access.load_grants leaves them. The password is a deferred field: read from the
    database if something asks for it, and left alone by save()."""
    user_model = get_user_model()
    user = user_model.from_db(DEFAULT_DB_ALIAS, list(snapshot.user), list(snapshot.user.values()))
    profile = None
    if snapshot.profile is not None:
        profile = Profile.from_db(DEFAULT_DB_ALIAS, list(snapshot.profile), list(snapshot.profile.values()))
        Profile._meta.get_field("user").set_cached_value(profile, user)
    user_model._meta.get_field("profile").set_cached_value(user, profile)
    user._crm_roles, user._crm_permissions = snapshot.roles, snapshot.permissions
    user._crm_managed_teams = list(snapshot.managed_teams)
    return user


def _store(user, seconds: int) -> None:
    """Roles, permissions and teams are read now if the request has not read them yet: every page
    asks for them anyway."""
    try:
        profile = user.profile  # read with the user (crm.backends)
    except Profile.DoesNotExist:
        profile = None
    snapshot = Snapshot(
        generation=cache.get(GENERATION_KEY),
        session_hash=user.get_session_auth_hash(),
        user=_values(user, leave_out="password"),
        profile=None if profile is None else _values(profile),
        roles=user_roles(user),
        permissions=granted_permissions(user),
        managed_teams=managed_team_ids(user),
    )
    cache.set(_key(user.pk), snapshot, seconds)


def _values(instance, leave_out: str = "") -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.attname != leave_out}


def forget(*user_ids) -> None:
    """Drop these users' snapshots now and once more when the transaction commits."""
    keys = [_key(pk) for pk in user_ids if pk is not None]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def forget_everyone() -> None:
    """Drop every user's snapshot (a group or its permissions changed), now and on commit."""

    def bump():  # a new random value: no counter to race on or to fall back to an old value
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump)


def _user_changed(sender, instance, **kwargs):
    forget(instance.pk)


def _profile_changed(sender, instance, **kwargs):
    forget(instance.user_id)


def _user_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A user's groups or own permissions. From the user's side the user changed; from the
    group's or permission's side, the users in pk_set did (all of them on a clear)."""
    if not action.startswith("post_"):
        return
    if not reverse:
        forget(instance.pk)
    elif pk_set:
        forget(*pk_set)
    else:
        forget_everyone()


def _everyone_changed(sender, **kwargs):
    """A group, its permissions or a team (its manager, its parent): everyone's snapshot."""
    if kwargs.get("action", "post_").startswith("post_"):
        forget_everyone()


def connect() -> None:
    """Called by crm.apps.CrmConfig.ready."""
    user_model = get_user_model()
    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=user_model, dispatch_uid="crm.principal.user")
        signal.connect(_profile_changed, sender=Profile, dispatch_uid="crm.principal.profile")
        signal.connect(_everyone_changed, sender=Group, dispatch_uid="crm.principal.group")
        signal.connect(_everyone_changed, sender=Team, dispatch_uid="crm.principal.team")  # managers, sub-teams
    m2m_changed.connect(_user_links_changed, sender=user_model.groups.through, dispatch_uid="crm.principal.groups")
    m2m_changed.connect(
        _user_links_changed, sender=user_model.user_permissions.through, dispatch_uid="crm.principal.user_perms"
    )
    m2m_changed.connect(_everyone_changed, sender=Group.permissions.through, dispatch_uid="crm.principal.group_perms")

"""Django's ModelBackend with the signed-in user read for a page in two queries instead of five.

Every request loads the user (and, in crm.middleware, their profile for language and time zone),
then asks for their roles and permissions. Django's backend reads the profile separately and the
permissions in two ORM queries (the user's own, their groups'); here the profile comes with the
user and the permissions with the roles (crm.access.load_grants). Answers are Django's: inactive
users have no permissions and superusers all of them (both through the library's code).
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, backends, get_user_model

from .access import granted_permissions


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("profile").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        plain = user_obj.is_active and not user_obj.is_anonymous and not user_obj.is_superuser and obj is None
        if plain and not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = set(granted_permissions(user_obj))
        return super().get_all_permissions(user_obj, obj)


def planted_session_key(user) -> str:
    """The key of a stored session signed in as `user` through this backend, as
    django.contrib.auth.login leaves it but without the sign-in signals (no audit entry, no
    last_login): for browser tests, fault probes and the benchmark, which sign in many times."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = f"{ModelBackend.__module__}.{ModelBackend.__qualname__}"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key

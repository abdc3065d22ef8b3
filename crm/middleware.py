import time
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import principal

SESSION_STARTED_KEY = "crm_signed_in_at"
SESSION_SEEN_KEY = "crm_seen_at"


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with request.user read through crm.principal: the signed-in user, profile, roles
    and permissions from one cache lookup when the cache holds them (see there).

    request.user is the user itself rather than Django's lazy proxy: UserPreferencesMiddleware,
    next in line, reads it on every request anyway, and through the proxy each of the hundreds of
    attribute reads a page makes on the user (templates, role checks) fails on the proxy first
    and is then forwarded, ~1.5% of a page's CPU."""

    def process_request(self, request):
        super().process_request(request)
        request.user = principal.get_user(request)


class UserPreferencesMiddleware:
    """Activate the signed-in user's saved language and time zone for this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = translation.get_language()
        zone = user_time_zone(user)
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)


def user_time_zone(user) -> zoneinfo.ZoneInfo | None:
    """The time zone saved in the user's profile (None: the site's default)."""
    name = getattr(getattr(user, "profile", None), "time_zone", "")
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class SessionTimeoutMiddleware:
    """Sign out after SESSION_IDLE_TIMEOUT seconds without a request, and SESSION_COOKIE_AGE seconds
    after sign-in whatever the activity. The last-seen time is written at most once a minute."""

    TOUCH_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._expired(request):
            logout(request)  # audited by crm.auth
            messages.info(request, _("Your session has ended. Please sign in again."))
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)

    def _expired(self, request) -> str:
        now = int(time.time())
        session = request.session
        started = session.setdefault(SESSION_STARTED_KEY, now)
        seen = session.get(SESSION_SEEN_KEY, now)
        if now - started > settings.SESSION_COOKIE_AGE:
            return "lifetime"
        if now - seen > settings.SESSION_IDLE_TIMEOUT:
            return "idle"
        if now - seen >= self.TOUCH_EVERY or SESSION_SEEN_KEY not in session:
            session[SESSION_SEEN_KEY] = now
        return ""


class AuditDeniedMiddleware:
    """Every refusal by a permission or visibility check (PermissionDenied → 403, Http404 → 404
    raised by a view) leaves an audit entry; Django then renders the error page as usual."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from . import audit

        if isinstance(exception, PermissionDenied):
            audit.record_denied(request, status=403)
        elif isinstance(exception, Http404):
            audit.record_denied(request, status=404)

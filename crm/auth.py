"""Sign-in events into the audit trail: success, failure, lockout (django-axes) and sign-out.

Connected when crm is ready (crm.apps). The session gets its sign-in time here, which the
session middleware uses for the absolute lifetime; the session key itself is rotated by
django.contrib.auth.login (cycle_key) on every sign-in.
"""

import time

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY
from .models import AuditAction


@receiver(user_logged_in, dispatch_uid="crm.audit.login")
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now
    audit.record(AuditAction.LOGIN, actor=user, obj=user, request=request)


@receiver(user_login_failed, dispatch_uid="crm.audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # The credentials arrive with the password already masked by Django.
    username = str(credentials.get("username", ""))[:150]
    audit.record(AuditAction.LOGIN_FAILED, username=username, object_type="auth.User", request=request)


@receiver(user_locked_out, dispatch_uid="crm.audit.lockout")
def _locked_out(sender, request, username, ip_address, **kwargs):
    audit.record(
        AuditAction.LOCKOUT,
        username=str(username or "")[:150],
        object_type="auth.User",
        changes={"ip_address": ip_address},
        request=request,
    )


@receiver(user_logged_out, dispatch_uid="crm.audit.logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditAction.LOGOUT, actor=user, obj=user, request=request)

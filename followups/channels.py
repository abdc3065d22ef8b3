"""Team group-robot channels: WeCom (企业微信) and DingTalk (钉钉) webhooks.

A manager enables a robot for a team and picks which notices it receives (assigned tasks,
complaints and SLA breaches, daily reminders). `notify` hands each notice to `enqueue`, which
schedules one Celery message per matching channel after the transaction commits; `deliver` posts
it with a timeout and records the outcome on the channel. A failing robot is logged and shown on
the settings page, never raised: the business action that caused the notice stays done.

Both robots take the same text message body ({"msgtype": "text", "text": {"content": …}}) and
answer {"errcode": 0, "errmsg": "ok"}; DingTalk robots secured by signing also need a timestamp
and an HMAC-SHA256 signature in the address. Webhooks may only point at the hosts listed in
settings.CRM_WEBHOOK_HOSTS (an SSRF guard), over HTTPS except on a loopback address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import time
import urllib.request
from urllib.parse import quote_plus, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import is_admin, managed_team_ids
from crm.models import Team

from .models import ChannelKind, TeamChannel

logger = logging.getLogger(__name__)

TASKS, SLA, REMINDERS = "tasks", "sla", "reminders"
EVENT_FIELDS = {TASKS: "notify_tasks", SLA: "notify_sla", REMINDERS: "notify_reminders"}
MAX_TEXT = 2000  # both robots cut long texts; keep messages short and whole


def manageable_teams(user) -> QuerySet[Team]:
    """The teams whose channels `user` configures: the teams they manage (admins: all)."""
    teams = Team.objects.select_related("manager").order_by("name")
    if is_admin(user):
        return teams
    return teams.filter(pk__in=managed_team_ids(user))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str) -> None:
    """An allowed robot address: a host of settings.CRM_WEBHOOK_HOSTS, HTTPS unless loopback."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    allowed = {h.strip().lower() for h in settings.CRM_WEBHOOK_HOSTS if h.strip()}
    if host not in allowed:
        raise ValidationError(
            _("Webhooks may only point at %(hosts)s.") % {"hosts": ", ".join(sorted(allowed)) or "—"},
            code="host",
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(host)):
        raise ValidationError(_("The webhook address must start with https://."), code="scheme")


@transaction.atomic
def save_channel(*, channel: TeamChannel, by) -> TeamChannel:
    """A manager's settings for one robot of a team they manage (audited)."""
    if not manageable_teams(by).filter(pk=channel.team_id).exists():
        raise PermissionDenied
    validate_webhook_url(channel.webhook_url)
    channel.updated_by = by
    channel._history_user = by
    channel._change_reason = _("Channel settings saved")
    channel.save()
    return channel


@transaction.atomic
def delete_channel(*, channel: TeamChannel, by) -> None:
    if not manageable_teams(by).filter(pk=channel.team_id).exists():
        raise PermissionDenied
    channel._history_user = by
    channel._change_reason = _("Channel removed")
    channel.delete()


def enqueue(*, event: str, team_ids, text: str) -> int:
    """After commit, send `text` to every enabled channel of these teams that takes `event`."""
    team_ids = {pk for pk in team_ids if pk}
    if not team_ids or event not in EVENT_FIELDS:
        return 0
    ids = list(
        TeamChannel.objects.filter(team_id__in=team_ids, enabled=True, **{EVENT_FIELDS[event]: True}).values_list(
            "pk", flat=True
        )
    )
    if ids:
        from .tasks import send_channel_message

        text = text[:MAX_TEXT]
        transaction.on_commit(lambda: [send_channel_message.delay(pk, text) for pk in ids])
    return len(ids)


def send_test_message(*, channel: TeamChannel, by) -> None:
    """A manager's "send a test message" button: queued like any notice."""
    if not manageable_teams(by).filter(pk=channel.team_id).exists():
        raise PermissionDenied
    from .tasks import send_channel_message

    text = _("Test message from the CRM: notices of %(team)s will arrive in this group.") % {"team": channel.team}
    transaction.on_commit(lambda: send_channel_message.delay(channel.pk, text))


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed address: &timestamp=…&sign=base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={sign}"


def message_body(text: str) -> bytes:
    return json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()


def _post(url: str, body: bytes) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the address was checked against CRM_WEBHOOK_HOSTS
        url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=settings.CRM_WEBHOOK_TIMEOUT) as response:  # noqa: S310
        return json.loads(response.read(65536).decode() or "{}")


def deliver(*, channel_id: int, text: str) -> bool:
    """Post one message; True when the robot accepted it. Failures are logged and recorded, not raised."""
    channel = TeamChannel.objects.filter(pk=channel_id, enabled=True).first()
    if channel is None:
        return False
    error = ""
    try:
        validate_webhook_url(channel.webhook_url)  # the allowed hosts may have changed since it was saved
        url = channel.webhook_url
        if channel.kind == ChannelKind.DINGTALK and channel.secret:
            url = signed_url(url, channel.secret, int(time.time() * 1000))
        answer = _post(url, message_body(text))
        if answer.get("errcode", 0) != 0:
            error = f"{answer.get('errcode')}: {answer.get('errmsg', '')}"
    except Exception as exc:  # timeouts, refused connections, HTTP errors, bad JSON, bad address
        error = f"{type(exc).__name__}: {exc}"
    if error:
        logger.warning("%s channel %s failed: %s", channel.kind, channel.pk, error)
    TeamChannel.objects.filter(pk=channel.pk).update(
        last_sent_at=timezone.now(), last_ok=not error, last_error=error[:300]
    )
    return not error

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..models import ComplaintStatus, Notification

register = template.Library()


def _span(delta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.simple_tag
def sla_clock(complaint):
    """The running SLA clock: time left (or overdue) to the next due time of an open case."""
    if complaint.status == ComplaintStatus.RESOLVED:
        return format_html('<span class="badge text-bg-success">{}</span>', _("Resolved"))
    now = timezone.now()
    if complaint.responded_at is None:
        label, due = _("response"), complaint.response_due_at
    else:
        label, due = _("solution"), complaint.resolution_due_at
    left = due - now
    if left.total_seconds() < 0:
        return format_html(
            '<span class="badge text-bg-danger" data-sla="breached">{}</span>',
            _("%(what)s overdue by %(span)s") % {"what": label, "span": _span(left)},
        )
    css = "text-bg-warning" if left.total_seconds() < 4 * 3600 else "text-bg-info"
    return format_html(
        '<span class="badge {}" data-sla="running">{}</span>',
        css,
        _("%(what)s due in %(span)s") % {"what": label, "span": _span(left)},
    )


@register.simple_tag
def unread_notifications(user) -> int:
    """The bell's count, cached per user (cleared when a notice arrives or is read): no query per page."""
    if not getattr(user, "is_authenticated", False):
        return 0
    from django.core.cache import cache

    from ..services import unread_cache_key

    key = unread_cache_key(user)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user=user, read_at__isnull=True).count()
        cache.set(key, count, 300)
    return count


@register.filter
def is_followup_manager(user) -> bool:
    from ..services import is_manager

    return is_manager(user)

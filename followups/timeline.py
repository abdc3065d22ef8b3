"""Follow-ups, complaints and tasks on the customer timeline (registered with accounts.timeline)."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.timeline import TimelineEvent
from crm.templatetags.crm_tags import person

from .models import Complaint, FollowUp

LIMIT = 30


def followups_provider(customer, user) -> list[TimelineEvent]:
    """The viewer already sees the customer (the page checked it); follow-ups carry no amounts."""
    events = []
    url = reverse("followups:customer", args=[customer.pk])
    for f in FollowUp.objects.filter(customer=customer).select_related("author", "contact")[:LIMIT]:
        title = _("%(method)s by %(who)s") % {"method": f.get_method_display(), "who": person(f.author)}
        if f.is_late:
            title += " · " + _("logged late")
        body = f.summary
        if f.feedback:
            body += "\n" + _("Feedback: %(text)s") % {"text": f.feedback}
        if f.has_checkin:
            body += "\n" + _("Checked in at %(lat)s, %(lng)s (%(when)s)") % {
                "lat": f.checkin_lat,
                "lng": f.checkin_lng,
                "when": timezone.localtime(f.checkin_at).strftime("%Y-%m-%d %H:%M") if f.checkin_at else "",
            }
        events.append(TimelineEvent(when=f.occurred_at, kind="followup", title=title, body=body, url=url))
    for c in Complaint.objects.filter(customer=customer)[:10]:
        events.append(
            TimelineEvent(
                when=c.opened_at,
                kind="complaint",
                title=_("%(kind)s opened (%(status)s)")
                % {"kind": c.get_kind_display(), "status": c.get_status_display()},
                body=c.description,
                url=reverse("followups:complaint_detail", args=[c.pk]),
            )
        )
    return events

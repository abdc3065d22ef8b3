"""What follow-ups do when the customer archive hands customers over or merges them.

Registered with accounts in FollowupsConfig.ready, so accounts never imports followups.
"""

from crm.models import Profile

from .models import Complaint, FollowUp, NpsSurvey, Task, TaskStatus


def move_open_tasks(customer_ids, from_user, to_user, by) -> dict[str, int]:
    """Hand-over: the departing rep's open tasks on those customers go to the new owner."""
    team_id = Profile.objects.filter(user=to_user).values_list("team_id", flat=True).first()
    moved = Task.objects.filter(customer_id__in=customer_ids, assignee=from_user, status=TaskStatus.OPEN).update(
        assignee=to_user, team_id=team_id
    )
    return {"tasks": moved} if moved else {}


def move_to_survivor(loser, survivor, by) -> dict[str, int]:
    """Merge: the merged record's follow-ups, tasks, complaints and NPS surveys join the survivor."""
    counts = {
        "followups": FollowUp.objects.filter(customer=loser).update(customer=survivor),
        "tasks": Task.objects.filter(customer=loser).update(customer=survivor),
        "complaints": Complaint.objects.filter(customer=loser).update(customer=survivor),
        "nps_surveys": NpsSurvey.objects.filter(customer=loser).update(customer=survivor),
    }
    return {kind: n for kind, n in counts.items() if n}


def customer_actions(customer, user):
    """Buttons on the customer page: log a follow-up and open a complaint, for whoever may edit it."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from accounts.timeline import CustomerAction
    from crm.access import can_edit_owned

    if not can_edit_owned(user, customer):
        return []
    return [
        CustomerAction(_("Log follow-up"), reverse("followups:customer", args=[customer.pk]), "chat-dots", "log"),
        CustomerAction(
            _("Open complaint"),
            reverse("followups:complaint_create", args=[customer.pk]),
            "exclamation-octagon",
            "complaint",
        ),
    ]

"""What the lead pool does when the customer archive hands customers over or merges them.

Registered with accounts in LeadsConfig.ready, so accounts never imports leads.
"""

from crm.models import Profile

from .models import OPEN_STAGES, Lead, Opportunity


def move_open_opportunities(customer_ids, from_user, to_user, by) -> dict[str, int]:
    """Hand-over: the departing rep's open opportunities on those customers follow them."""
    team_id = Profile.objects.filter(user=to_user).values_list("team_id", flat=True).first()
    moved = Opportunity.objects.filter(customer_id__in=customer_ids, owner=from_user, stage__in=OPEN_STAGES).update(
        owner=to_user, team_id=team_id
    )
    return {"opportunities": moved} if moved else {}


def move_to_survivor(loser, survivor, by) -> dict[str, int]:
    """Merge: opportunities and the leads that point at the merged record now point at the survivor."""
    opportunities = Opportunity.objects.filter(customer=loser).update(customer=survivor)
    converted = Lead.objects.filter(converted_customer=loser).update(converted_customer=survivor)
    referred = Lead.objects.filter(referrer=loser).update(referrer=survivor)
    counts = {"opportunities": opportunities, "leads": converted + referred}
    return {kind: n for kind, n in counts.items() if n}

"""Won opportunities as tiering's revenue source (registered with accounts in LeadsConfig.ready)."""

from django.db.models import Min

from .models import Opportunity, OppStage


def won_deals(since):
    """(customer_id, amount, closed_at, product_line) of every opportunity won since `since`: one query."""
    return (
        Opportunity.objects.filter(stage=OppStage.WON, closed_at__gte=since)
        .order_by()
        .values_list("customer_id", "amount", "closed_at", "product_line")
        .iterator(chunk_size=20000)
    )


def first_won_dates():
    """(customer_id, first closed_at) over all won opportunities: one grouped query."""
    return (
        Opportunity.objects.filter(stage=OppStage.WON)
        .order_by()
        .values("customer_id")
        .annotate(first=Min("closed_at"))
        .values_list("customer_id", "first")
        .iterator(chunk_size=20000)
    )

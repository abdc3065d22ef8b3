"""What receivables do on hand-over and merge, plus the customer page's timeline and actions.

Registered with accounts in ReceivablesConfig.ready, so accounts never imports receivables.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.timeline import CustomerAction, TimelineEvent
from crm.access import can_view_amounts
from crm.models import Profile
from crm.templatetags.crm_tags import cny, person

from .models import Contract, ContractStatus, CreditRating, Notice, Payment


def move_contracts(customer_ids, from_user, to_user, by) -> dict[str, int]:
    """Hand-over: the departing rep's open contracts (their collection follow-up) go to the new rep."""
    team_id = Profile.objects.filter(user=to_user).values_list("team_id", flat=True).first()
    moved = Contract.objects.filter(
        customer_id__in=customer_ids,
        owner=from_user,
        status__in=[ContractStatus.DRAFT, ContractStatus.PENDING, ContractStatus.ACTIVE],
    ).update(owner=to_user, team_id=team_id)
    return {"contracts": moved} if moved else {}


def move_to_survivor(loser, survivor, by) -> dict[str, int]:
    """Merge: contracts and notices join the survivor; the loser's rating moves if the survivor has none."""
    counts = {
        "contracts": Contract.objects.filter(customer=loser).update(customer=survivor),
        "receivable_notices": Notice.objects.filter(customer=loser).update(customer=survivor),
    }
    if not CreditRating.objects.filter(customer=survivor).exists():
        counts["credit_ratings"] = CreditRating.objects.filter(customer=loser).update(customer=survivor)
    return {kind: n for kind, n in counts.items() if n}


def timeline_provider(customer, user) -> list[TimelineEvent]:
    """Contracts signed and payments received; amounts only for those allowed to see them."""
    show = can_view_amounts(user)
    events = []
    for c in Contract.objects.filter(customer=customer).order_by("-id")[:20]:
        body = _("%(status)s · signed %(signed)s") % {"status": c.get_status_display(), "signed": c.signed_on}
        if show:
            body += " · " + cny(c.amount)
        events.append(
            TimelineEvent(
                when=c.created_at,
                kind="contract",
                title=_("Contract %(title)s") % {"title": c.title},
                body=body,
                url=c.get_absolute_url(),
            )
        )
    for p in Payment.objects.filter(contract__customer=customer).select_related("contract", "recorded_by")[:20]:
        title = _("Payment received for %(title)s") % {"title": p.contract.title}
        body = _("Received %(day)s, recorded by %(who)s") % {"day": p.received_on, "who": person(p.recorded_by)}
        if show:
            body += " · " + cny(p.amount)
        events.append(
            TimelineEvent(when=p.created_at, kind="payment", title=title, body=body, url=p.contract.get_absolute_url())
        )
    return events


def customer_actions(customer, user) -> list[CustomerAction]:
    """ "New contract" for those who may create one, and a receivables summary for those who see amounts."""
    from .selectors import customer_summary, visible_contracts
    from .services import can_create_contract

    actions = []
    if can_create_contract(user, customer):
        actions.append(
            CustomerAction(
                _("New contract"),
                reverse("receivables:contract_create") + f"?customer={customer.pk}",
                "file-earmark-plus",
                "new-contract",
            )
        )
    if visible_contracts(user).filter(customer=customer).exists():
        summary = customer_summary(customer)
        if can_view_amounts(user):
            label = _("Contracts: %(n)s · paid %(paid)s · outstanding %(out)s · next due %(due)s") % {
                "n": summary["contracts"],
                "paid": cny(summary["paid"]),
                "out": cny(summary["outstanding"]),
                "due": summary["next_due"] or "—",
            }
        else:
            label = _("Contracts: %(n)s · next due %(due)s") % {
                "n": summary["contracts"],
                "due": summary["next_due"] or "—",
            }
        actions.append(
            CustomerAction(
                label, reverse("receivables:contract_list") + f"?customer={customer.pk}", "cash-coin", "receivables"
            )
        )
    return actions

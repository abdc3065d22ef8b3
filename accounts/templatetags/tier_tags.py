"""{% tier_card customer %}: the tier card of the customer page (label, why, RFM, override)."""

from django import template

from crm.access import can_edit_owned

from ..selectors_tiering import tier_card as tier_card_context
from ..services.tiering import can_manage_tiers

register = template.Library()


@register.inclusion_tag("accounts/tiers/tier_card.html", takes_context=True)
def tier_card(context, customer):
    user = context["request"].user
    can_edit = can_edit_owned(user, customer)
    return {
        **tier_card_context(customer, user),
        "customer": customer,
        "can_override": can_edit and can_manage_tiers(user),
        "can_edit_inputs": can_edit,
    }

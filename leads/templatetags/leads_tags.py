from django import template

from leads import services

register = template.Library()


@register.filter
def is_lead_manager(user) -> bool:
    """May edit scoring weights and assignment rules (managers, admins)."""
    return services.is_lead_manager(user)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def stage_label(value):
    from leads.models import OppStage

    return OppStage(value).label if value in OppStage.values else value


@register.filter
def intent_label(value):
    from leads.models import Intent

    return Intent(value).label if value in Intent.values else value

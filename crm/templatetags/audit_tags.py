"""{% load audit_tags %}: whether the viewer may open audit trails (managers and admins)."""

from django import template

register = template.Library()


@register.filter
def can_browse_audit(user) -> bool:
    from crm.views_audit import can_browse_audit as allowed

    return allowed(user)

"""Roles are Django groups. This module names them and says what each may do by default."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SALES_REP = "sales_rep", _("Sales rep")
    SENIOR_REP = "senior_rep", _("Senior sales rep")
    MANAGER = "sales_manager", _("Sales manager")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administrator")


# Default permissions per role ("app_label.codename"); admins may change them in the admin.
# Reps see basic information only: amounts and margins are for managers, finance and admins.
ROLE_PERMISSIONS = {
    Role.SALES_REP: [],
    Role.SENIOR_REP: [],
    Role.MANAGER: [
        "crm.view_amounts",
        "crm.export_data",
        "crm.import_data",
        "crm.transfer_customers",
        "crm.view_status",
    ],
    Role.FINANCE: ["crm.view_amounts", "crm.export_data"],
    Role.ADMIN: [
        "crm.view_amounts",
        "crm.export_data",
        "crm.import_data",
        "crm.transfer_customers",
        "crm.view_status",
    ],
}

SALES_ROLES = frozenset({Role.SALES_REP, Role.SENIOR_REP, Role.MANAGER})

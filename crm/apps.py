from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender, **kwargs):
    from .services import ensure_roles

    ensure_roles()


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        # Groups need the permissions Django creates after migrating, so this runs post_migrate.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="crm.ensure_roles")
        from . import (
            auth,  # noqa: F401  (sign-in events into the audit trail)
            pgtime,  # noqa: F401  (timestamps read by psycopg's C loader)
        )
        from .principal import connect

        connect()  # drop cached users when they, their profile or their grants change

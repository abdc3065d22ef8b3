from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads and pipeline")

    def ready(self):
        # The lead spec joins accounts' generic import engine (same preview / all-or-nothing rules).
        from accounts.services.imports import register_spec

        from .imports import LeadImportSpec

        register_spec(LeadImportSpec())

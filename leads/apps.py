from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads and pipeline")

    def ready(self):
        # The lead spec joins accounts' generic import engine (same preview / all-or-nothing rules).
        from accounts.services.handover import register_transfer_hook
        from accounts.services.imports import register_spec
        from accounts.services.merge import register_merge_hook

        from .hooks import move_open_opportunities, move_to_survivor
        from .imports import LeadImportSpec

        register_spec(LeadImportSpec())
        # Open opportunities follow a hand-over; a merge re-points opportunities and leads.
        register_transfer_hook(move_open_opportunities)
        register_merge_hook(move_to_survivor)
        # Won opportunities are tiering's revenue until receivables registers contracts too.
        from accounts import revenue

        from .revenue import first_won_dates, won_deals

        revenue.register(revenue.RevenueSource("leads", deals=won_deals, first_dates=first_won_dates))

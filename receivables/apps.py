from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_default_policies(sender, **kwargs):
    from .services import ensure_default_policies

    ensure_default_policies()


class ReceivablesConfig(AppConfig):
    name = "receivables"
    verbose_name = _("Receivables and credit")

    def ready(self):
        from accounts import revenue, timeline
        from accounts.services.handover import register_transfer_hook
        from accounts.services.merge import register_merge_hook

        from . import hooks
        from .revenue import contract_deals, first_contract_dates

        register_transfer_hook(hooks.move_contracts)
        register_merge_hook(hooks.move_to_survivor)
        timeline.register(hooks.timeline_provider)
        timeline.register_actions(hooks.customer_actions)
        # Tiering counts directly entered contracts as revenue (won opportunities come from leads).
        revenue.register(revenue.RevenueSource("receivables", deals=contract_deals, first_dates=first_contract_dates))
        # Payment delays are a churn signal.
        from django.utils.translation import gettext_noop

        from accounts import health as customer_health

        from .health import payment_signal

        customer_health.register(customer_health.Signal("payments", gettext_noop("Payment delays"), payment_signal))
        post_migrate.connect(_ensure_default_policies, sender=self, dispatch_uid="receivables.ensure_default_policies")

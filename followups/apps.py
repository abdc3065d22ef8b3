from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_default_sops(sender, **kwargs):
    from .services import ensure_default_sops

    ensure_default_sops()


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("Follow-ups and SOP")

    def ready(self):
        from accounts import timeline
        from accounts.services.handover import register_transfer_hook
        from accounts.services.lifecycle import register_stage_hook
        from accounts.services.merge import register_merge_hook

        from . import hooks, services
        from .timeline import followups_provider

        register_stage_hook(services.on_stage_change)
        timeline.register(followups_provider)
        timeline.register_actions(hooks.customer_actions)
        # Open tasks follow a hand-over; a merge moves every follow-up record to the survivor.
        register_transfer_hook(hooks.move_open_tasks)
        register_merge_hook(hooks.move_to_survivor)
        # Churn signals (follow-up gap, interactions, complaints, NPS, intent flags) and retention tasks.
        from accounts import health as customer_health

        from . import health

        for signal in health.SIGNALS:
            customer_health.register(signal)
        customer_health.register_high_risk_hook(health.create_retention_tasks)
        customer_health.register_case_hook(health.follow_retention_case)
        post_migrate.connect(_ensure_default_sops, sender=self, dispatch_uid="followups.ensure_default_sops")

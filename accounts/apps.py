from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


def _ensure_churn_defaults(sender, **kwargs):
    from .services.churn import ensure_default_reasons
    from .services.tiering import ensure_default_strategies

    ensure_default_reasons()
    ensure_default_strategies()  # the three maintenance strategies of DOMAIN §3 (edited ones stay)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customer archive")

    def ready(self):
        from . import health
        from .services.churn import usage_signal

        health.register(health.Signal("usage", gettext_noop("Usage activity"), usage_signal))
        # Weekly usage figures can also come from an Excel/CSV file, through the generic import engine.
        from .services.imports import register_spec
        from .services.usage_import import UsageImportSpec

        register_spec(UsageImportSpec())
        from . import timeline
        from .selectors_tiering import timeline_provider as tier_timeline

        timeline.register(tier_timeline)
        post_migrate.connect(_ensure_churn_defaults, sender=self, dispatch_uid="accounts.ensure_churn_defaults")

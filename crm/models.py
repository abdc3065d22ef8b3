from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Team(models.Model):
    """A sales team. Its manager sees every record owned by the team."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_teams",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("A director who manages the parent team sees all its sub-teams."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Profile(models.Model):
    """What the CRM keeps about a login beyond Django's user: team and preferences."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("user")
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        permissions = [
            ("view_amounts", _("Can see amounts, margins and receivables")),
            ("export_data", _("Can export data")),
            ("import_data", _("Can import data")),
            ("transfer_customers", _("Can hand over and merge customers")),
            ("view_status", _("Can see the system status page")),
        ]

    def __str__(self):
        return str(self.user)


class Heartbeat(models.Model):
    """Last run of a periodic job; proves beat and a worker are alive end to end."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    last_run_at = models.DateTimeField(_("last run"))
    run_count = models.PositiveIntegerField(_("runs"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self):
        return self.name

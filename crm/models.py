from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class SingletonPolicy:
    """One editable settings row (pk=1). Reading it never writes: until someone saves the
    settings, `current()` is an unsaved instance holding the field defaults, and the first save
    of a form bound to it inserts row 1."""

    @classmethod
    def current(cls):
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @classmethod
    def locked(cls):
        """The row under a row lock, created if missing (for services that write it)."""
        cls.objects.get_or_create(pk=1)
        return cls.objects.select_for_update().get(pk=1)


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


# --- dashboards (issue 9) --------------------------------------------------------------------------


class SalesTarget(models.Model):
    """A monthly sales target for one rep or one team, set by their manager; the sales dashboard
    compares it with what was won. Exactly one of `user` and `team` is set."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_targets",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.CASCADE, null=True, blank=True, related_name="sales_targets"
    )
    won_amount = models.DecimalField(_("won amount (CNY)"), max_digits=14, decimal_places=2, default=0)
    new_customers = models.PositiveIntegerField(_("new customers"), default=0)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-month", "team__name", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=True, team__isnull=False)
                | models.Q(user__isnull=False, team__isnull=True),
                name="salestarget_user_xor_team",
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="salestarget_month_first_day"),
            models.UniqueConstraint(fields=["user", "month"], name="salestarget_one_per_user_month"),
            models.UniqueConstraint(fields=["team", "month"], name="salestarget_one_per_team_month"),
        ]

    def __str__(self):
        return f"{self.user or self.team} {self.month:%Y-%m}"


class DashboardPolicy(SingletonPolicy, models.Model):
    """The assumptions behind the dashboards' derived numbers, one editable row (pk=1), audited."""

    visit_cost = models.DecimalField(
        _("cost of a visit or meeting (CNY)"), max_digits=10, decimal_places=2, default=800
    )
    activity_cost = models.DecimalField(
        _("cost of a call, email or WeChat (CNY)"), max_digits=10, decimal_places=2, default=50
    )
    default_margin = models.DecimalField(
        _("gross margin when a customer has none recorded (%)"), max_digits=5, decimal_places=2, default=30
    )
    max_lifetime_years = models.DecimalField(
        _("longest expected customer lifetime (years)"), max_digits=4, decimal_places=1, default=5
    )
    cross_sell_share = models.PositiveSmallIntegerField(
        _("cross-sell: product line held by at least (%) of the peer group"), default=50
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("dashboard settings")
        verbose_name_plural = _("dashboard settings")

    def __str__(self):
        return str(_("Dashboard settings"))


# --- audit (issue 11) ----------------------------------------------------------------------------


class DashboardSnapshot(models.Model):
    """A dashboard's numbers for one audience, language, time zone and filter set, computed by
    the beat job `crm.tasks.refresh_dashboards` so that opening a dashboard reads one row instead
    of millions. The page shows `computed_at` as the numbers' as-of time.

    `audience` is "admin" (every admin sees the same numbers) or "user:<id>"; `payload` is the
    pickled result of the dashboard's selector, written and read only by crm.dashboards.snapshots."""

    dashboard = models.CharField(_("dashboard"), max_length=32)
    audience = models.CharField(_("audience"), max_length=40)
    variant = models.CharField(_("variant"), max_length=255)
    payload = models.BinaryField(_("numbers"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("dashboard snapshot")
        verbose_name_plural = _("dashboard snapshots")
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "audience", "variant"], name="dashboard_snapshot_unique")
        ]

    def __str__(self):
        return f"{self.dashboard} {self.audience} {self.variant}"


class AuditAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("audit action", "Created")
    UPDATE = "update", pgettext_lazy("audit action", "Changed")
    DELETE = "delete", pgettext_lazy("audit action", "Deleted")
    EXPORT = "export", pgettext_lazy("audit action", "Exported")
    DENIED = "denied", pgettext_lazy("audit action", "Access denied")
    LOGIN = "login", pgettext_lazy("audit action", "Signed in")
    LOGIN_FAILED = "login_failed", pgettext_lazy("audit action", "Sign-in failed")
    LOCKOUT = "lockout", pgettext_lazy("audit action", "Locked out")
    LOGOUT = "logout", pgettext_lazy("audit action", "Signed out")


class AuditEntry(models.Model):
    """An append-only audit row for what the model histories do not hold: exports, denied access,
    sign-ins. Changes to records are kept by django-simple-history; crm.audit reads both."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # The name typed at sign-in or the actor's username, kept when the user is gone or unknown.
    username = models.CharField(_("user name"), max_length=150, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, editable=False)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, editable=False)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, editable=False)
    object_repr = models.CharField(_("object"), max_length=200, blank=True, editable=False)
    changes = models.JSONField(_("details"), default=dict, blank=True, editable=False)
    method = models.CharField(_("method"), max_length=10, blank=True, editable=False)
    path = models.CharField(_("address"), max_length=500, blank=True, editable=False)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")


# --- outbox (issue 11) ---------------------------------------------------------------------------


class OutboxKind(models.TextChoices):
    EMAIL = "email", _("Email")
    TASK = "task", _("Background job")


class OutboxMessage(models.Model):
    """Work that must happen after a commit (a payment reminder, a background job), written in
    the same transaction as the change that caused it and delivered by `crm.outbox.drain`.

    `key` names the effect (e.g. `reminder:<installment>:<stage>`): unique, so a job run twice
    queues it once; `sent_at` is set once it was delivered, so a drain run twice sends it once."""

    key = models.CharField(_("key"), max_length=200, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=OutboxKind.choices, editable=False)
    payload = models.JSONField(_("content"), editable=False)
    created_at = models.DateTimeField(_("queued"), default=timezone.now, editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True, editable=False)
    claim = models.CharField(_("claimed by"), max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="outbox_pending_idx")
        ]

    def __str__(self):
        return self.key

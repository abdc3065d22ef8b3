"""Follow-ups and SOP (DOMAIN §4): interaction records, tasks, SOP templates, complaints, NPS, notices."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from accounts.models import Contact, Customer, Stage
from crm.models import SingletonPolicy, Team
from crm.urlcache import object_url


class FollowupPolicy(SingletonPolicy, models.Model):
    """The thresholds of follow-up discipline, one editable row (pk=1), audited."""

    late_after_hours = models.PositiveSmallIntegerField(
        _("a follow-up is late when logged more than (hours) after the contact"),
        default=24,
        validators=[MinValueValidator(1)],
    )
    complaint_response_hours = models.PositiveSmallIntegerField(
        _("complaint: manager response within (hours)"), default=24, validators=[MinValueValidator(1)]
    )
    complaint_resolution_hours = models.PositiveSmallIntegerField(
        _("complaint: solution within (hours)"), default=48, validators=[MinValueValidator(1)]
    )
    dormant_after_days = models.PositiveSmallIntegerField(
        _("customers go dormant after (days) without follow-up or intent"),
        default=182,
        validators=[MinValueValidator(1)],
    )
    dormant_touch_days = models.PositiveSmallIntegerField(
        _("dormant customers: one touch every (days)"), default=90, validators=[MinValueValidator(1)]
    )
    cadence_lead_days = models.PositiveSmallIntegerField(
        _("tier cadence tasks appear (days) before they are due"), default=3
    )
    nps_valid_days = models.PositiveSmallIntegerField(
        _("NPS links expire after (days)"), default=30, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policy")

    def __str__(self):
        return str(_("Follow-up policy"))


class Method(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Phone call")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    MEETING = "meeting", _("Meeting")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    SUPERSEDED = "superseded", _("Superseded")


class TaskOrigin(models.TextChoices):
    SOP = "sop", _("SOP step")
    CADENCE = "cadence", _("Tier cadence")
    COMPLAINT = "complaint", _("Complaint")
    RETENTION = "retention", _("Retention")
    NPS = "nps", _("NPS call-back")
    COLLECTION = "collection", _("Payment reminder / collection")
    MANUAL = "manual", _("Manual")


class OffsetUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")


class Responsible(models.TextChoices):
    OWNER = "owner", _("Account owner (rep)")
    MANAGER = "manager", _("Team manager")
    DIRECTOR = "director", _("Director")


class SopTemplate(models.Model):
    """The SOP (流程) of one lifecycle stage: its ordered steps run when a customer enters the stage."""

    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("SOP template")
        verbose_name_plural = _("SOP templates")
        ordering = ["stage"]

    def __str__(self):
        return self.name


class SopStep(models.Model):
    template = models.ForeignKey(SopTemplate, verbose_name=_("SOP"), on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    action = models.CharField(_("action"), max_length=200)
    offset_value = models.PositiveIntegerField(_("due after"), default=1)
    offset_unit = models.CharField(_("unit"), max_length=10, choices=OffsetUnit.choices, default=OffsetUnit.DAYS)
    responsible = models.CharField(
        _("responsible"), max_length=20, choices=Responsible.choices, default=Responsible.OWNER
    )
    email_subject = models.CharField(_("automatic email: subject"), max_length=200, blank=True)
    email_body = models.TextField(_("automatic email: body"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SOP step")
        verbose_name_plural = _("SOP steps")
        ordering = ["template", "order", "id"]

    def __str__(self):
        return self.action

    @property
    def offset(self) -> timedelta:
        if self.offset_unit == OffsetUnit.HOURS:
            return timedelta(hours=self.offset_value)
        return timedelta(days=self.offset_value)


class Task(models.Model):
    """Something a person must do for a customer by a due time (SOP step, complaint, call-back, manual)."""

    title = models.CharField(pgettext_lazy("subject", "title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT, related_name="tasks"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    origin = models.CharField(_("origin"), max_length=20, choices=TaskOrigin.choices, default=TaskOrigin.MANUAL)
    sop_step = models.ForeignKey(
        SopStep, verbose_name=_("SOP step"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, blank=True)
    # Which entry into the stage created this task (the customer history row of the move).
    stage_entry = models.BigIntegerField(_("stage entry"), null=True, blank=True, editable=False)
    # Which recurring action of a tier cadence (or the dormant touch) this task is: a short key of it.
    cadence = models.CharField(_("cadence"), max_length=40, blank=True, editable=False)
    # Any other origin that must never create a task twice (complaint, NPS answer …).
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        "FollowUp",
        verbose_name=_("completed by follow-up"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email_sent_at = models.DateTimeField(_("automatic email sent"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due_idx"),
            models.Index(fields=["team", "status", "due_at"], name="task_team_due_idx"),
            models.Index(fields=["customer", "status"], name="task_customer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "sop_step", "stage_entry"],
                condition=Q(sop_step__isnull=False),
                name="task_sop_step_once_per_stage_entry",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class FollowUp(models.Model):
    """A follow-up record (跟进记录): one contact with the customer, logged by a rep."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="followups"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="followups"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("logged by"), on_delete=models.PROTECT, related_name="followups"
    )
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.CALL)
    occurred_at = models.DateTimeField(_("when it happened"))
    logged_at = models.DateTimeField(_("logged"))
    is_late = models.BooleanField(_("logged late"), default=False)
    summary = models.TextField(_("summary"))
    feedback = models.TextField(_("customer feedback"), blank=True)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    stage_from = models.CharField(_("stage before"), max_length=20, choices=Stage.choices, blank=True)
    stage_to = models.CharField(_("stage after"), max_length=20, choices=Stage.choices, blank=True)
    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.SET_NULL, null=True, blank=True, related_name="followups"
    )
    checkin_lat = models.DecimalField(_("check-in latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_lng = models.DecimalField(_("check-in longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_accuracy = models.FloatField(_("check-in accuracy (m)"), null=True, blank=True)
    checkin_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="followup_customer_idx"),
            # is_late included: the discipline report counts a team's month from the index alone
            models.Index(fields=["author", "-logged_at"], include=["is_late"], name="followup_author_idx"),
        ]

    def __str__(self):
        return f"{self.customer} · {self.get_method_display()}"

    @property
    def has_checkin(self) -> bool:
        return self.checkin_lat is not None and self.checkin_lng is not None


class ComplaintKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    TERMINATION = "termination", _("Termination intent")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESPONDED = "responded", _("Responded")
    RESOLVED = "resolved", _("Resolved")


class Complaint(models.Model):
    """A complaint (投诉) or termination intent, with an SLA: response ≤ 24 h, solution ≤ 48 h."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="complaints"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ComplaintKind.choices, default=ComplaintKind.COMPLAINT)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    description = models.TextField(_("what the customer says"))
    status = models.CharField(_("status"), max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    opened_at = models.DateTimeField(_("opened"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    response_due_at = models.DateTimeField(_("response due"))
    resolution_due_at = models.DateTimeField(_("solution due"))
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response = models.TextField(_("response"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(_("resolution note"), blank=True)
    response_escalated_at = models.DateTimeField(_("response breach escalated"), null=True, blank=True)
    resolution_escalated_at = models.DateTimeField(_("solution breach escalated"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "response_due_at"], name="complaint_response_due_idx"),
            models.Index(fields=["status", "resolution_due_at"], name="complaint_resolution_due_idx"),
        ]

    def __str__(self):
        return f"{self.customer} · {self.get_kind_display()}"

    def get_absolute_url(self):
        return object_url("followups:complaint_detail", self.pk)

    @property
    def escalated_at(self):
        return self.response_escalated_at or self.resolution_escalated_at


class NpsSurvey(models.Model):
    """One quarterly NPS question sent to a customer contact, answered once through its token."""

    token = models.CharField(max_length=64, unique=True, editable=False)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="nps_surveys"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True)
    period = models.CharField(_("period"), max_length=10)  # e.g. 2026Q4
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("NPS survey")
        verbose_name_plural = _("NPS surveys")
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["customer", "period"], name="nps_one_survey_per_period")]

    def __str__(self):
        return f"{self.customer} · {self.period}"


class NpsResponse(models.Model):
    survey = models.OneToOneField(NpsSurvey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="answer")
    score = models.PositiveSmallIntegerField(_("score"), validators=[MinValueValidator(0), MaxValueValidator(10)])
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered"))

    class Meta:
        verbose_name = _("NPS answer")
        verbose_name_plural = _("NPS answers")
        constraints = [models.CheckConstraint(condition=Q(score__lte=10), name="nps_score_0_to_10")]

    def __str__(self):
        return f"{self.survey} · {self.score}"


class Notification(models.Model):
    """An in-app notice (the navbar bell)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_notifications", verbose_name=_("user")
    )
    verb = models.CharField(_("notice"), max_length=300)
    target_url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.verb


class DailyReminder(models.Model):
    """Claims one "your tasks today" reminder per person and day, so a re-run sends nothing twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("task reminder")
        verbose_name_plural = _("task reminders")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_task_reminder_per_day")]

    def __str__(self):
        return f"{self.user} · {self.day}"


class ChannelKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")


class TeamChannel(models.Model):
    """A team's group-chat robot (企业微信 / 钉钉 webhook) that also receives the team's notices."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    webhook_url = models.URLField(_("webhook address"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk only: the robot's signing secret (SEC…), when its security setting is signing."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    notify_tasks = models.BooleanField(_("assigned tasks"), default=True)
    notify_sla = models.BooleanField(_("complaints and SLA breaches"), default=True)
    notify_reminders = models.BooleanField(_("daily task reminders"), default=False)
    last_sent_at = models.DateTimeField(_("last delivery"), null=True, blank=True, editable=False)
    last_ok = models.BooleanField(_("last delivery succeeded"), null=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "secret", "last_sent_at", "last_ok", "last_error"])

    class Meta:
        verbose_name = _("team channel")
        verbose_name_plural = _("team channels")
        ordering = ["team", "kind"]
        constraints = [models.UniqueConstraint(fields=["team", "kind"], name="one_channel_kind_per_team")]

    def __str__(self):
        return f"{self.team} · {self.get_kind_display()}"

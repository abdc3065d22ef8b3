"""The lead pool (线索池) and the sales funnel (商机): DOMAIN §2.

Rows hold their own invariants only; every write that matters goes through `leads.services`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer, EmployeeBand, Industry, Tag
from accounts.validators import validate_phone
from crm.models import SingletonPolicy, Team
from crm.urlcache import object_url


class Channel(models.Model):
    """Where leads come from; `code` matches accounts.SourceChannel where there is one."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True)
    quality = models.PositiveSmallIntegerField(
        _("channel quality"),
        default=50,
        validators=[MaxValueValidator(100)],
        help_text=_("0–100: how well leads from this channel usually convert; feeds the lead score."),
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ChannelCost(models.Model):
    """What a channel cost in one month (first day of the month): for CAC and channel ROI."""

    channel = models.ForeignKey(Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="costs")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2, default=Decimal(0))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("channel cost")
        verbose_name_plural = _("channel costs")
        ordering = ["-month", "channel__name"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "month"], name="channelcost_one_per_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="channelcost_month_first_day"),
        ]

    def __str__(self):
        return f"{self.channel} {self.month:%Y-%m}"


class Intent(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    NURTURING = "nurturing", _("Nurturing")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.NURTURING)


class PoolReason(models.TextChoices):
    NEW = "new", _("New, not yet assigned")
    NO_CAPACITY = "no_capacity", _("Every senior rep is at their cap")
    NURTURE = "nurture", _("In nurture")
    NO_FOLLOWUP = "no_followup", _("No follow-up within the recycle period")
    RELEASED = "released", _("Released by its owner")
    WEB_FORM = "web_form", _("Web form, waiting for scoring and assignment")


class Lead(models.Model):
    """A sales lead. No owner means it sits in the public pool (公海)."""

    company = models.CharField(_("company"), max_length=200)
    normalized_company = models.CharField(_("normalised company name"), max_length=200, editable=False)
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    title = models.CharField(_("title"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_phone])
    email = models.EmailField(_("email"), blank=True)
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, null=True, blank=True, related_name="leads"
    )
    referrer = models.ForeignKey(
        Customer,
        verbose_name=_("referred by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_leads",
    )
    referral_commission = models.DecimalField(
        _("referral commission (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    employee_band = models.CharField(_("employees"), max_length=10, choices=EmployeeBand.choices, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    needs = models.TextField(_("needs"), blank=True)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    intent = models.CharField(_("intent"), max_length=10, choices=Intent.choices, default=Intent.LOW)
    intent_set_by_hand = models.BooleanField(_("intent set by hand"), default=False)
    score_breakdown = models.JSONField(_("score breakdown"), default=dict, blank=True, editable=False)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="leads")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="leads"
    )
    status = models.CharField(_("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    pool_reason = models.CharField(_("pool reason"), max_length=20, choices=PoolReason.choices, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    interaction_count = models.PositiveIntegerField(_("interactions"), default=0)
    decision_maker_reached = models.BooleanField(_("decision-maker reached"), default=False)
    converted_customer = models.ForeignKey(
        Customer,
        verbose_name=_("converted to customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="converted_leads",
        editable=False,
    )
    converted_opportunity = models.OneToOneField(
        "Opportunity",
        verbose_name=_("converted to opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="lead_owner_status_idx"),
            models.Index(fields=["team", "-id"], name="lead_team_idx"),
            models.Index(fields=["status", "-score"], name="lead_status_score_idx"),
            models.Index(
                fields=["-score", "-id"], name="lead_pool_idx", condition=Q(owner__isnull=True)
            ),  # the public pool page
            models.Index(fields=["normalized_company"], name="lead_normalized_company_idx"),
            models.Index(fields=["phone"], name="lead_phone_idx"),
            models.Index(fields=["channel", "-created_at"], name="lead_channel_created_idx"),
            models.Index(fields=["-created_at"], name="lead_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_0_100"),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_customer__isnull=False),
                name="lead_converted_has_customer",
            ),
        ]

    def __str__(self):
        return self.company

    def get_absolute_url(self):
        return object_url("leads:lead_detail", self.pk)

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ScoringPolicy(SingletonPolicy, models.Model):
    """The lead scoring model, one editable row (pk=1), audited. Defaults:

    score = 100 × Σ(weight × factor) / Σ(weight), each factor in 0..1:
    interactions = min(count / interactions_for_full, 1); company size by employee band
    (1–49: 0.2, 50–199: 0.4, 200–999: 0.7, 1,000–4,999: 0.9, 5,000+: 1); decision-maker
    reached: 0 or 1; channel: its quality / 100. Grade: ≥ high_from → high, ≥ medium_from → medium.
    """

    weight_interactions = models.PositiveSmallIntegerField(_("weight: interaction frequency"), default=30)
    weight_company_size = models.PositiveSmallIntegerField(_("weight: company size"), default=25)
    weight_decision_maker = models.PositiveSmallIntegerField(_("weight: decision-maker reached"), default=30)
    weight_channel = models.PositiveSmallIntegerField(_("weight: channel"), default=15)
    interactions_for_full = models.PositiveSmallIntegerField(
        _("interactions for full marks"), default=5, validators=[MinValueValidator(1)]
    )
    high_from = models.PositiveSmallIntegerField(
        _("high intent from score"), default=70, validators=[MaxValueValidator(100)]
    )
    medium_from = models.PositiveSmallIntegerField(
        _("medium intent from score"), default=40, validators=[MaxValueValidator(100)]
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("scoring policy")
        verbose_name_plural = _("scoring policy")
        constraints = [
            models.CheckConstraint(condition=Q(medium_from__lte=models.F("high_from")), name="scoring_bands_ordered")
        ]

    def __str__(self):
        return str(_("Lead scoring policy"))


class AssignmentPolicy(SingletonPolicy, models.Model):
    """How leads are handed out, one editable row (pk=1), audited."""

    open_lead_cap = models.PositiveSmallIntegerField(
        _("open leads per rep (cap)"), default=30, validators=[MinValueValidator(1)]
    )
    recycle_days = models.PositiveSmallIntegerField(
        _("days without follow-up before a lead returns to the pool"), default=30, validators=[MinValueValidator(1)]
    )
    nurture_cadence_days = models.PositiveSmallIntegerField(
        _("days between nurture touches"), default=14, validators=[MinValueValidator(1)]
    )
    last_senior = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="round-robin pointer",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "last_senior"])

    class Meta:
        verbose_name = _("assignment rules")
        verbose_name_plural = _("assignment rules")

    def __str__(self):
        return str(_("Lead assignment rules"))


class TouchKind(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Touch(models.Model):
    """One nurture message (EDM) sent to a lead. One per lead, kind and period: never twice."""

    lead = models.ForeignKey(Lead, verbose_name=_("lead"), on_delete=models.CASCADE, related_name="touches")
    kind = models.CharField(_("kind"), max_length=10, choices=TouchKind.choices)
    period = models.DateField(_("period"), help_text=_("First day of the nurture period this touch belongs to."))
    sent_at = models.DateTimeField(_("sent"))
    content = models.TextField(_("content"))
    run = models.UUIDField(editable=False, db_index=True)

    class Meta:
        verbose_name = _("touch")
        verbose_name_plural = _("touches")
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["lead", "kind", "period"], name="touch_once_per_period")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.sent_at:%Y-%m-%d}"


class OppStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    INTENT = "intent", _("Intent")
    DEMO = "demo", _("Demo / proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = (OppStage.PROSPECT, OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION)
DEFAULT_PROBABILITY = {
    OppStage.PROSPECT: 10,
    OppStage.INTENT: 25,
    OppStage.DEMO: 50,
    OppStage.NEGOTIATION: 75,
    OppStage.WON: 100,
    OppStage.LOST: 0,
}


class ProductLine(models.TextChoices):
    CRM = "crm", _("CRM suite")
    ANALYTICS = "analytics", _("Analytics")
    SERVICE = "service", _("Customer service")
    MARKETING = "marketing", _("Marketing automation")
    CONSULTING = "consulting", _("Consulting and implementation")


class Opportunity(models.Model):
    """A sales opportunity (商机). Its stage changes only through services.set_opportunity_stage."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="opportunities"
    )
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2, default=Decimal(0))
    product_line = models.CharField(_("product line"), max_length=20, choices=ProductLine.choices, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=OppStage.choices, default=OppStage.PROSPECT)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["owner", "stage", "-id"], name="opp_owner_stage_idx"),
            models.Index(fields=["team", "stage", "-id"], name="opp_team_stage_idx"),
            models.Index(fields=["stage", "expected_close_date"], name="opp_stage_close_idx"),
            models.Index(fields=["customer", "-id"], name="opp_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="opp_probability_0_100"),
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""), name="opp_lost_needs_reason"),
            models.CheckConstraint(
                condition=~Q(stage__in=["won", "lost"]) | Q(closed_at__isnull=False), name="opp_closed_has_date"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return object_url("leads:opportunity_detail", self.pk)

    @property
    def is_closed(self) -> bool:
        return self.stage in (OppStage.WON, OppStage.LOST)


class OpportunityStageChange(models.Model):
    """Every stage move with its time: conversion per stage and sales-cycle length come from here."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(_("from"), max_length=20, choices=OppStage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=OppStage.choices)
    at = models.DateTimeField(_("when"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"], name="oppstage_opp_at_idx")]

    def __str__(self):
        return f"{self.from_stage or '—'} → {self.to_stage}"


class HighPotentialList(models.Model):
    """The weekly high-potential lead list (高潜力线索清单): a snapshot, one per ISO week (Monday)."""

    week = models.DateField(_("week of"), unique=True)
    generated_at = models.DateTimeField(_("generated"))
    rows = models.JSONField(_("rows"), default=list)
    emailed_to = models.JSONField(_("emailed to"), default=list, blank=True)

    class Meta:
        verbose_name = _("high-potential lead list")
        verbose_name_plural = _("high-potential lead lists")
        ordering = ["-week"]

    def __str__(self):
        return f"{self.week:%Y-%m-%d}"

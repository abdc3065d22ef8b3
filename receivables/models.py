"""Receivables and credit (应收账款与信用, DOMAIN §5): ratings, term policies, contracts, plans, payments.

Credit ratings are three grades — **good / fair / poor** — because each grade maps one-to-one to
a payment-term policy finance can explain to a rep (good → part prepayment, the rest on
acceptance; fair → full prepayment; poor → no credit at all). A five-letter scale (AAA … C)
would need five policies that collapse to these three in practice. A customer without a rating
is treated as **fair** until finance has done the background check.

Money is `Decimal` with two places (CNY) everywhere; a contract's installments always sum to its
amount exactly (services refuse anything else). Every change to ratings, policies, contracts,
installments and payments is audited with django-simple-history.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from accounts.models import Customer
from crm.models import Team
from crm.urlcache import object_url
from leads.models import ProductLine

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class Rating(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")


DEFAULT_RATING = Rating.FAIR


class CreditRating(models.Model):
    """The credit grade (信用等级) finance set for one customer after a background check."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="credit_rating"
    )
    rating = models.CharField(_("rating"), max_length=10, choices=Rating.choices, default=DEFAULT_RATING)
    note = models.TextField(_("note (background check)"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(_("set at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit rating")
        verbose_name_plural = _("credit ratings")
        ordering = ["customer__name"]

    def __str__(self):
        return f"{self.customer} · {self.get_rating_display()}"


class PaymentTermPolicy(models.Model):
    """What a payment plan may look like for customers of one rating; finance edits it."""

    rating = models.CharField(_("rating"), max_length=10, choices=Rating.choices, unique=True)
    credit_allowed = models.BooleanField(
        _("credit allowed"), default=True, help_text=_("Off: every contract needs a finance approval.")
    )
    min_prepay_percent = models.DecimalField(
        _("minimum prepayment (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(30),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    max_credit_days = models.PositiveIntegerField(
        _("longest credit (days after signing)"),
        default=90,
        help_text=_("The last installment may fall due at most this many days after signing."),
    )
    late_fee_percent = models.DecimalField(
        # xgettext:no-python-format
        _("late fee (% of the overdue amount)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Charged once, on the first day after a missed due date. 0: no late fee."),
    )
    suspend_when_overdue = models.BooleanField(
        _("suspend service when overdue"), default=False, help_text=_("Flag the contract's service as suspended.")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("payment-term policy")
        verbose_name_plural = _("payment-term policies")
        ordering = ["rating"]

    def __str__(self):
        return str(self.get_rating_display())


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending approval")
    ACTIVE = "active", pgettext_lazy("contract status", "Active")
    CLOSED = "closed", pgettext_lazy("contract status", "Closed")


class Contract(models.Model):
    """A signed contract (合同) with its payment plan; receivables count only once it is active."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    opportunity = models.ForeignKey(
        "leads.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
    )
    title = models.CharField(pgettext_lazy("subject", "title"), max_length=200)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    signed_on = models.DateField(_("signed on"))
    product_line = models.CharField(_("product line"), max_length=20, choices=ProductLine.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="contracts"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    policy_breaches = models.TextField(_("policy breaches"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    service_suspended = models.BooleanField(_("service suspended"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-signed_on", "-id"]
        indexes = [
            models.Index(fields=["owner", "status"], name="contract_owner_idx"),
            models.Index(fields=["team", "status"], name="contract_team_idx"),
            models.Index(fields=["customer", "status"], name="contract_customer_idx"),
            models.Index(fields=["status", "signed_on"], name="contract_status_signed_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_positive")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return object_url("receivables:contract_detail", self.pk)

    @property
    def number(self) -> str:
        return f"HT{self.pk:06d}"


class Condition(models.TextChoices):
    PREPAYMENT = "prepayment", _("Prepayment (on signing)")
    DELIVERY = "delivery", _("On delivery")
    ACCEPTANCE = "acceptance", _("On acceptance")
    DATE = "date", _("By date")


class Installment(models.Model):
    """One line of a contract's payment plan: an amount due on a date under a condition."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="installments"
    )
    seq = models.PositiveSmallIntegerField(_("no."), default=1)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    due_on = models.DateField(_("due on"))
    condition = models.CharField(_("condition"), max_length=20, choices=Condition.choices, default=Condition.DATE)
    paid_amount = models.DecimalField(_("paid (CNY)"), max_digits=14, decimal_places=2, default=ZERO)
    late_fee = models.DecimalField(_("late fee (CNY)"), max_digits=14, decimal_places=2, default=ZERO)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["contract", "due_on", "seq", "id"]
        indexes = [models.Index(fields=["due_on"], name="installment_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                name="installment_paid_within_amount",
            ),
        ]

    def __str__(self):
        return f"{self.contract} #{self.seq}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


class Payment(models.Model):
    """Money received against a contract; allocated to its installments, oldest due first."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return f"{self.contract} · {self.amount}"


class Allocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    installment = models.ForeignKey(Installment, on_delete=models.CASCADE, related_name="allocations")
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self):
        return f"{self.payment_id} → {self.installment_id}"


class NoticeKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder 7 days before due")
    COLLECTION = "collection", _("Collection (1 day overdue)")
    ESCALATION_30 = "escalation_30", _("Escalation (30 days overdue)")
    ESCALATION_60 = "escalation_60", _("Escalation (60 days overdue)")
    BAD_DEBT = "bad_debt", _("Bad debt (more than 90 days overdue)")


# Days relative to the due date at which each notice becomes due (negative: before).
NOTICE_STEPS = {
    NoticeKind.REMINDER: -7,
    NoticeKind.COLLECTION: 1,
    NoticeKind.ESCALATION_30: 30,
    NoticeKind.ESCALATION_60: 60,
    NoticeKind.BAD_DEBT: 91,
}


class Notice(models.Model):
    """A reminder or collection step sent for an installment; the unique key makes it exactly-once."""

    installment = models.ForeignKey(Installment, on_delete=models.CASCADE, related_name="notices")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="receivable_notices")
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    step = models.SmallIntegerField(_("step (days from due date)"))
    run = models.CharField(max_length=32, editable=False)
    acted = models.BooleanField(_("acted on"), default=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("receivables notice")
        verbose_name_plural = _("receivables notices")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["installment", "kind", "step"], name="notice_once_per_installment_step")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.installment}"

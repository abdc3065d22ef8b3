from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.models import Team

from .validators import validate_credit_code, validate_phone


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    IT = "it", _("IT and software")
    INTERNET = "internet", _("Internet")
    FINANCE = "finance", _("Finance and insurance")
    RETAIL = "retail", _("Retail and consumer goods")
    HEALTHCARE = "healthcare", _("Healthcare and pharma")
    EDUCATION = "education", _("Education")
    ENERGY = "energy", _("Energy and utilities")
    CONSTRUCTION = "construction", _("Construction and real estate")
    LOGISTICS = "logistics", _("Logistics and transport")
    GOVERNMENT = "government", _("Government and public sector")
    OTHER = "other", _("Other")


class EmployeeBand(models.TextChoices):
    MICRO = "1-49", _("1–49 employees")
    SMALL = "50-199", _("50–199 employees")
    MEDIUM = "200-999", _("200–999 employees")
    LARGE = "1000-4999", _("1,000–4,999 employees")
    HUGE = "5000+", _("5,000+ employees")


class BusinessModel(models.TextChoices):
    TOB = "tob", _("ToB")
    TOC = "toc", _("ToC")
    BOTH = "both", _("ToB and ToC")


class SourceChannel(models.TextChoices):
    WEBSITE = "website", _("Website")
    EXHIBITION = "exhibition", _("Exhibition")
    REFERRAL = "referral", _("Customer referral")
    SEARCH = "search", _("Search engine")
    PARTNER = "partner", _("Partner")
    SOCIAL = "social", _("Social media")
    COLD_CALL = "cold_call", _("Outbound calling")
    OTHER = "other", _("Other")


class CustomerType(models.TextChoices):
    END_CUSTOMER = "end_customer", _("End customer")
    DISTRIBUTOR = "distributor", _("Distributor / reseller")
    PARTNER = "partner", _("Partner")


class Stage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    INTENT = "intent", _("Intent")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    CHURNED = "churned", _("Churned")


class Status(models.TextChoices):
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    BLACKLISTED = "blacklisted", _("Blacklisted")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(models.Model):
    """A customer company (客户档案): a company asset, not a rep's private spreadsheet."""

    name = models.CharField(_("name"), max_length=200)
    # Name without legal-form suffixes and spaces, lower-cased: catches duplicates (services).
    normalized_name = models.CharField(_("normalised name"), max_length=200, db_index=True, editable=False)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_credit_code],
        help_text=_("18 characters, e.g. 91310000MA1K4CJ35X"),
    )
    customer_type = models.CharField(
        _("customer type"), max_length=20, choices=CustomerType.choices, default=CustomerType.END_CUSTOMER
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    employee_band = models.CharField(_("employees"), max_length=10, choices=EmployeeBand.choices, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue (CNY)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    founded = models.DateField(_("founded"), null=True, blank=True)
    business_model = models.CharField(_("business model"), max_length=10, choices=BusinessModel.choices, blank=True)
    website = models.URLField(_("website"), blank=True)
    source_channel = models.CharField(_("source channel"), max_length=20, choices=SourceChannel.choices, blank=True)
    needs = models.TextField(_("core needs and pain points"), blank=True)
    development_plans = models.TextField(_("development plans"), blank=True)
    budget = models.DecimalField(_("budget (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices, default=Stage.PROSPECT)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    needs_attention = models.BooleanField(_("needs attention"), default=False)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    completeness = models.PositiveSmallIntegerField(_("completeness"), default=0, editable=False)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["completeness", "updated_at"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "-id"], name="customer_owner_idx"),
            models.Index(fields=["team", "-id"], name="customer_team_idx"),
            models.Index(fields=["status", "stage"], name="customer_status_stage_idx"),
            models.Index(fields=["industry", "-id"], name="customer_industry_idx"),
            models.Index(fields=["province", "city"], name="customer_region_idx"),
            models.Index(fields=["completeness"], name="customer_completeness_idx"),
            models.Index(fields=["-created_at"], name="customer_created_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("accounts:customer_detail", args=[self.pk])

    @property
    def number(self) -> str:
        """Customer no. as shown to people and in exports (客户编号)."""
        return f"C{self.pk:07d}"


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision-maker")
    USER = "user", _("User")
    INFLUENCER = "influencer", _("Influencer")
    PURCHASER = "purchaser", _("Purchaser")


class Contact(models.Model):
    """A person in the customer's decision chain (决策链)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=60)
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices, default=ContactRole.USER)
    title = models.CharField(_("title"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_phone])
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=60, blank=True)
    preferences = models.TextField(_("preferences and notes"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "role", "id"]
        indexes = [models.Index(fields=["phone"], name="contact_phone_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="contact_one_primary_per_customer"
            )
        ]

    def __str__(self):
        return self.name


class ImportJob(models.Model):
    """An Excel/CSV import: previewed first, then applied all-or-nothing by a Celery task."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=30, default="customers")
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PREVIEWED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    @property
    def percent(self) -> int:
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0


class Transfer(models.Model):
    """A hand-over (客户交接): all (or a filtered part) of one rep's customers moved to another."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("performed by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    criteria = models.JSONField(_("filter"), default=dict, blank=True)
    customer_count = models.PositiveIntegerField(_("customers"), default=0)
    moved = models.JSONField(_("moved records"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.from_user} → {self.to_user}"


class Merge(models.Model):
    """Two customer records merged into one; the loser stays as a redirect to the survivor."""

    survivor = models.ForeignKey(Customer, verbose_name=_("survivor"), on_delete=models.CASCADE, related_name="+")
    loser = models.ForeignKey(Customer, verbose_name=_("merged record"), on_delete=models.CASCADE, related_name="+")
    chosen_values = models.JSONField(_("chosen values"), default=dict, blank=True)
    moved = models.JSONField(_("moved records"), default=dict, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("performed by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.loser_id} → {self.survivor_id}"

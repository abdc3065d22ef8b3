from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from crm.models import SingletonPolicy, Team
from crm.urlcache import object_url

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
            # Sorted by name: a page walks the names in order and filters as it goes (a team's
            # manufacturers, ~1.4 % of a million rows, take 1,600 rows to fill a page) instead of
            # reading and sorting every match.
            models.Index(fields=["name"], name="customer_name_idx"),
            # My day: a rep's customers due for a follow-up, soonest first (a big book holds 100k).
            models.Index(fields=["owner", "next_followup_at"], name="customer_owner_next_fu_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return object_url("accounts:customer_detail", self.pk)

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


# --- tiering (客户分级, DOMAIN §3) ----------------------------------------------------------------
#
# Inputs the archive did not have yet live in TierInputs (one row per customer, audited) and are
# read by accounts.services.tiering in one query:
#   expanding          — the customer is expanding (new sites, products): raises potential;
#   budget_level       — top / normal / cut: raises or lowers potential;
#   margin_rate        — our gross margin on the account in %: 30 of the value score's 100 points;
#   cooperation_since  — start of the relationship; when empty, the first won deal's date;
#   referrals          — customers this one referred to us: needed for "strategic partner".
# Annual amount, renewal rate, deal counts and product lines come from the revenue providers
# (accounts.revenue), never from a field.


class BudgetLevel(models.TextChoices):
    TOP = "top", _("Top level (ample budget)")
    NORMAL = "normal", _("Normal")
    CUT = "cut", _("Budget cuts")


class TierInputs(models.Model):
    """Tiering inputs the archive lacks, one row per customer (missing row = defaults), audited."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, primary_key=True, related_name="tier_inputs"
    )
    expanding = models.BooleanField(_("expanding business"), default=False)
    budget_level = models.CharField(_("budget level"), max_length=10, choices=BudgetLevel.choices, blank=True)
    margin_rate = models.DecimalField(
        _("gross margin (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Our gross margin on this customer's business."),
    )
    cooperation_since = models.DateField(
        _("cooperating since"), null=True, blank=True, help_text=_("Empty: the date of the first won deal.")
    )
    referrals = models.PositiveSmallIntegerField(
        _("referrals given"), default=0, help_text=_("Customers referred to us.")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tiering inputs")
        verbose_name_plural = _("tiering inputs")

    def __str__(self):
        return str(self.customer_id)


class ValueTier(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Potential(models.TextChoices):
    HIGH = "high", _("high potential")
    MEDIUM = "medium", _("medium potential")
    LOW = "low", _("low potential (wait-and-see)")


class Relationship(models.TextChoices):
    STRATEGIC = "strategic", _("strategic partner")
    LONG_TERM = "long_term", _("long-term")
    DEVELOPING = "developing", _("developing")
    NEW = "new", _("new")


class Outlook(models.TextChoices):
    GROWING = "growing", _("Growing")
    STABLE = "stable", _("Stable")
    SHRINKING = "shrinking", _("Shrinking")


class AmountMode(models.TextChoices):
    RELATIVE = "relative", _("Relative to the industry average (or the absolute A threshold)")
    ABSOLUTE = "absolute", _("Absolute amounts")


class ResponsibleRole(models.TextChoices):
    OWNER = "owner", _("Account owner (rep)")
    MANAGER = "manager", _("Team manager")
    DIRECTOR = "director", _("Director")


def default_industry_outlook() -> dict:
    return {
        Industry.IT: Outlook.GROWING,
        Industry.INTERNET: Outlook.GROWING,
        Industry.HEALTHCARE: Outlook.GROWING,
        Industry.ENERGY: Outlook.GROWING,
        Industry.CONSTRUCTION: Outlook.SHRINKING,
    }


class TierPolicy(models.Model):
    """One version of the tiering rules. Never edited in place: saving creates the next version."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    # value score: 100 points split across three inputs; each input earns its full weight at the
    # A threshold, half of it at the B threshold, nothing below.
    weight_amount = models.PositiveSmallIntegerField(_("weight: annual amount"), default=30)
    weight_margin = models.PositiveSmallIntegerField(_("weight: margin"), default=30)
    weight_renewal = models.PositiveSmallIntegerField(_("weight: renewal rate"), default=40)
    band_a = models.PositiveSmallIntegerField(_("A from score"), default=85)
    band_b = models.PositiveSmallIntegerField(_("B from score"), default=45)
    amount_mode = models.CharField(
        _("amount thresholds"), max_length=10, choices=AmountMode.choices, default=AmountMode.RELATIVE
    )
    # xgettext:no-python-format
    amount_a_ratio = models.PositiveSmallIntegerField(_("A: % of industry average"), default=150)
    # xgettext:no-python-format
    amount_b_ratio = models.PositiveSmallIntegerField(_("B: % of industry average"), default=50)
    amount_a_absolute = models.DecimalField(
        _("A: annual amount (CNY)"), max_digits=14, decimal_places=2, default=500000
    )
    amount_b_absolute = models.DecimalField(
        _("B: annual amount (CNY)"), max_digits=14, decimal_places=2, default=100000
    )
    margin_a = models.DecimalField(_("A: margin (%)"), max_digits=5, decimal_places=2, default=30)
    margin_b = models.DecimalField(_("B: margin (%)"), max_digits=5, decimal_places=2, default=15)
    renewal_a = models.DecimalField(_("A: renewal rate (%)"), max_digits=5, decimal_places=2, default=90)
    renewal_b = models.DecimalField(_("B: renewal rate (%)"), max_digits=5, decimal_places=2, default=60)
    one_off_is_c = models.BooleanField(_("one-off projects are C"), default=True)
    # potential: points (growing industry +2, shrinking −2, expanding +1, clear needs +1,
    # top budget +1, budget cuts −2) against these two thresholds
    industry_outlook = models.JSONField(_("industry outlook"), default=default_industry_outlook, blank=True)
    potential_high = models.SmallIntegerField(_("high potential from points"), default=3)
    potential_low = models.SmallIntegerField(_("low potential up to points"), default=-2)
    # relationship
    strategic_years = models.PositiveSmallIntegerField(_("strategic partner: years"), default=3)
    strategic_product_lines = models.PositiveSmallIntegerField(_("strategic partner: product lines"), default=2)
    strategic_referrals = models.PositiveSmallIntegerField(_("strategic partner: referrals"), default=1)
    long_term_years = models.PositiveSmallIntegerField(_("long-term: years"), default=1)
    new_months = models.PositiveSmallIntegerField(_("new: under months"), default=6)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_amount__lte=100) & Q(weight_margin__lte=100) & Q(weight_renewal__lte=100),
                name="tierpolicy_weights_le_100",
            )
        ]

    def __str__(self):
        return _("Tier policy v%(version)s") % {"version": self.version}


class TierAssessment(models.Model):
    """The current tier of one customer, with every point that produced it (the "why")."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tier_assessment",
    )
    tier = models.CharField(_("tier"), max_length=1, choices=ValueTier.choices)  # effective (override or computed)
    computed_tier = models.CharField(_("computed tier"), max_length=1, choices=ValueTier.choices)
    potential = models.CharField(_("potential"), max_length=10, choices=Potential.choices)
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices)
    score = models.PositiveSmallIntegerField(_("value score"), default=0)
    annual_amount = models.DecimalField(_("annual amount (CNY)"), max_digits=16, decimal_places=2, default=0)
    rfm_r = models.PositiveSmallIntegerField(_("RFM recency"), default=1)
    rfm_f = models.PositiveSmallIntegerField(_("RFM frequency"), default=1)
    rfm_m = models.PositiveSmallIntegerField(_("RFM monetary"), default=1)
    breakdown = models.JSONField(_("breakdown"), default=dict, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"), default=0)
    assessed_at = models.DateTimeField(_("assessed"))
    override_tier = models.CharField(_("override tier"), max_length=1, choices=ValueTier.choices, blank=True)
    override_reason = models.CharField(_("override reason"), max_length=200, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("overridden by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    override_expires_at = models.DateTimeField(_("override expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier assessment")
        verbose_name_plural = _("tier assessments")
        indexes = [models.Index(fields=["tier", "potential"], name="tier_matrix_idx")]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return combined_label(self.tier, self.potential, self.relationship)


def combined_label(tier: str, potential: str, relationship: str) -> str:
    """ "A + high potential + strategic partner" (translated)."""
    if not tier:
        return "—"
    parts = [tier]
    if potential:
        parts.append(str(Potential(potential).label))
    if relationship:
        parts.append(str(Relationship(relationship).label))
    return " + ".join(parts)


class TierChange(models.Model):
    """History of tier changes (B → A …): by a re-tier under a policy version, or a manager's override."""

    class Kind(models.TextChoices):
        RETIER = "retier", _("Re-tiering")
        OVERRIDE = "override", _("Manual override")
        EXPIRED = "expired", _("Override expired")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    from_tier = models.CharField(_("from"), max_length=1, blank=True)
    to_tier = models.CharField(_("to"), max_length=1)
    from_label = models.CharField(_("from (label)"), max_length=40, blank=True)  # "B|medium|long_term"
    to_label = models.CharField(_("to (label)"), max_length=40)
    kind = models.CharField(_("why"), max_length=10, choices=Kind.choices, default=Kind.RETIER)
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="tierchange_customer_idx"),
            models.Index(fields=["changed_at"], name="tierchange_when_idx"),
        ]

    def __str__(self):
        return f"{self.from_tier or '—'} → {self.to_tier}"


class TierRun(models.Model):
    """One applied re-tiering: when, by whom, under which policy, how many moved."""

    ran_at = models.DateTimeField(_("when"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    policy_version = models.PositiveIntegerField(_("policy version"))
    customers = models.PositiveIntegerField(_("customers"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    moves = models.JSONField(_("moves"), default=dict, blank=True)

    class Meta:
        verbose_name = _("re-tiering run")
        verbose_name_plural = _("re-tiering runs")
        ordering = ["-ran_at"]

    def __str__(self):
        return f"{self.ran_at:%Y-%m-%d %H:%M} v{self.policy_version}"


class MaintenanceStrategy(models.Model):
    """How a tier combination is looked after (维护策略); its cadences become follow-up tasks.

    `cadences` is a list of {"action": str, "every_days": int, "responsible": ResponsibleRole}.
    An empty potential or relationship matches any; the most specific strategy wins.
    """

    tier = models.CharField(_("tier"), max_length=1, choices=ValueTier.choices)
    potential = models.CharField(_("potential"), max_length=10, choices=Potential.choices, blank=True)
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices, blank=True)
    goal = models.CharField(_("goal"), max_length=200)
    actions = models.TextField(_("actions"), blank=True)
    responsible = models.CharField(
        _("responsible role"), max_length=10, choices=ResponsibleRole.choices, default=ResponsibleRole.OWNER
    )
    cadences = models.JSONField(_("cadences"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("maintenance strategy")
        verbose_name_plural = _("maintenance strategies")
        ordering = ["tier", "potential", "relationship"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "potential", "relationship"], name="strategy_one_per_combination")
        ]

    def __str__(self):
        return combined_label(self.tier, self.potential, self.relationship)

    @property
    def cadence_days(self) -> int | None:
        days = [c.get("every_days") for c in self.cadences or [] if c.get("every_days")]
        return min(days) if days else None


# --- customer health and churn (流失预警, DOMAIN §6) ----------------------------------------------
#
# Signals come from providers the owning apps register with accounts.health (follow-ups,
# complaints, NPS, payments) plus usage activity recorded here. The weekly scan writes one
# CustomerHealth row per customer; a customer that turns high-risk gets a RetentionCase (one per
# customer and ISO week) and, through a hook, a retention task for the owner.


def default_health_weights() -> dict:
    return {
        "followup_gap": 20,
        "interaction_drop": 10,
        "complaints": 15,
        "payments": 20,
        "nps": 10,
        "intent_flags": 15,
        "usage": 10,
    }


class HealthPolicy(SingletonPolicy, models.Model):
    """The health-score rules, one row edited by managers (audited): signal weights and bands."""

    weights = models.JSONField(_("signal weights"), default=default_health_weights)
    high_below = models.PositiveSmallIntegerField(_("high risk below score"), default=50)
    medium_below = models.PositiveSmallIntegerField(_("medium risk below score"), default=75)
    usage_window_weeks = models.PositiveSmallIntegerField(_("usage: weeks in the customer's own mean"), default=8)
    usage_run_weeks = models.PositiveSmallIntegerField(_("usage: weeks running below"), default=2)
    # xgettext:no-python-format
    usage_ratio = models.PositiveSmallIntegerField(_("usage: below % of own mean"), default=50)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("health policy")
        verbose_name_plural = _("health policies")

    def __str__(self):
        return str(_("Health policy"))


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High risk")
    MEDIUM = "medium", _("Medium risk")
    LOW = "low", _("Low risk")


class CustomerHealth(models.Model):
    """The latest health score of one customer, with every contributing signal (the "why")."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    score = models.PositiveSmallIntegerField(_("health score"))
    risk = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices)
    main_cause = models.CharField(_("main cause"), max_length=30, blank=True)
    signals = models.JSONField(_("signals"), default=dict, blank=True)  # key → {"penalty", "detail"}
    week = models.CharField(_("scan week"), max_length=10)  # ISO week, e.g. 2026-W48
    scanned_at = models.DateTimeField(_("scanned"))
    high_since = models.DateField(_("high risk since"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer health")
        verbose_name_plural = _("customer health")
        indexes = [models.Index(fields=["risk", "score"], name="health_risk_idx")]

    def __str__(self):
        return f"{self.customer_id}: {self.score}"


class UsageWeek(models.Model):
    """Weekly usage/login count of a customer's users (imported or posted through the API)."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="usage")
    week_start = models.DateField(_("week starting (Monday)"))
    logins = models.PositiveIntegerField(_("logins / usage count"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("weekly usage")
        verbose_name_plural = _("weekly usage")
        ordering = ["-week_start"]
        constraints = [models.UniqueConstraint(fields=["customer", "week_start"], name="usage_one_row_per_week")]

    def __str__(self):
        return f"{self.customer_id} {self.week_start}: {self.logins}"


class UsageToken(models.Model):
    """A per-customer API token for posting weekly usage; only its SHA-256 is stored."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, primary_key=True, related_name="usage_token"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("usage API token")
        verbose_name_plural = _("usage API tokens")

    def __str__(self):
        return str(self.customer_id)


class ChurnReason(models.Model):
    """The managed list of churn reasons (competitor price, slow service, product gap …)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    needs_note = models.BooleanField(_("note required"), default=False)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("churn reason")
        verbose_name_plural = _("churn reasons")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class RetentionCase(models.Model):
    """The retention workflow of one high-risk episode: contact ≤ 48 h, plan ≤ 24 h after, outcome."""

    class State(models.TextChoices):
        OPEN = "open", _("To contact")
        CONTACTED = "contacted", _("Contacted, plan due")
        PLANNED = "planned", _("Plan in progress")
        RETAINED = "retained", _("Retained")
        LOST = "lost", pgettext_lazy("retention outcome", "Lost")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="retention_cases"
    )
    week = models.CharField(_("opened in week"), max_length=10)
    opened_at = models.DateTimeField(_("opened"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    cause = models.CharField(_("cause"), max_length=30, blank=True)
    contact_due_at = models.DateTimeField(_("contact due"))
    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    plan_due_at = models.DateTimeField(_("plan due"), null=True, blank=True)
    offer = models.TextField(_("offer"), blank=True)
    plan_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("plan owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    plan_deadline = models.DateField(_("plan deadline"), null=True, blank=True)
    planned_at = models.DateTimeField(_("plan recorded"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        ChurnReason, verbose_name=_("lost because"), on_delete=models.PROTECT, null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("retention case")
        verbose_name_plural = _("retention cases")
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(fields=["customer", "week"], name="retention_one_per_customer_week")]

    def __str__(self):
        return f"{self.customer_id} {self.week}"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.OPEN, self.State.CONTACTED, self.State.PLANNED)


class ChurnRecord(models.Model):
    """A customer marked churned, with its reason and what it was at that moment (for attribution)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="churn_records"
    )
    reason = models.ForeignKey(ChurnReason, verbose_name=_("reason"), on_delete=models.PROTECT)
    note = models.TextField(_("note"), blank=True)
    churned_on = models.DateField(_("churned on"))
    tier = models.CharField(_("tier"), max_length=1, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("churn record")
        verbose_name_plural = _("churn records")
        ordering = ["-churned_on", "-id"]
        indexes = [models.Index(fields=["churned_on"], name="churn_when_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.churned_on}"

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import EmployeeBand, Industry
from crm.forms import ListedModelChoiceField

from .models import AssignmentPolicy, Channel, Lead, Opportunity, OppStage, ProductLine, ScoringPolicy


class BootstrapMixin:
    """Bootstrap 5 classes on every widget, so templates render `{{ field }}` as is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"


class LeadForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Lead
        fields = [
            "company",
            "contact_name",
            "title",
            "phone",
            "email",
            "channel",
            "referrer",
            "referral_commission",
            "industry",
            "employee_band",
            "province",
            "city",
            "needs",
            "interaction_count",
            "decision_maker_reached",
            "intent_set_by_hand",
            "intent",
            "next_followup_at",
        ]
        widgets = {
            "needs": forms.Textarea(attrs={"rows": 3}),
            "next_followup_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        help_texts = {"intent_set_by_hand": _("Keep the intent grade below instead of the one the score gives.")}

    allow_duplicate = forms.BooleanField(label=_("Save even if a similar lead or customer exists"), required=False)

    def __init__(self, *args, referrers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(active=True)
        self.fields["referrer"].queryset = (
            referrers if referrers is not None else self.fields["referrer"].queryset.none()
        )
        if self.instance.pk:
            del self.fields["allow_duplicate"]

    def clean(self):
        data = super().clean()
        if data.get("referral_commission") and not data.get("referrer"):
            self.add_error("referrer", _("A commission needs the customer who referred the lead."))
        return data


class ConvertForm(BootstrapMixin, forms.Form):
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0, max_digits=14, decimal_places=2, initial=0)
    product_line = forms.ChoiceField(label=_("Product line"), choices=[("", "—"), *ProductLine.choices], required=False)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class StageForm(BootstrapMixin, forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=OppStage.choices)
    lost_reason = forms.CharField(label=_("Lost reason"), max_length=200, required=False)


class OpportunityForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["name", "amount", "product_line", "probability", "expected_close_date"]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class ScoringPolicyForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = ScoringPolicy
        fields = [
            "weight_interactions",
            "weight_company_size",
            "weight_decision_maker",
            "weight_channel",
            "interactions_for_full",
            "high_from",
            "medium_from",
        ]

    def clean(self):
        data = super().clean()
        medium, high = data.get("medium_from"), data.get("high_from")
        if medium is not None and high is not None and medium > high:
            self.add_error("medium_from", _("The medium band must start at or below the high band."))
        weights = [data.get(k) or 0 for k in self.Meta.fields[:4]]
        if not any(weights):
            raise forms.ValidationError(_("At least one weight must be above zero."))
        return data


class AssignmentPolicyForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = AssignmentPolicy
        fields = ["open_lead_cap", "recycle_days", "nurture_cadence_days"]


class ReassignForm(BootstrapMixin, forms.Form):
    to_user = ListedModelChoiceField(label=_("New owner"), queryset=None)

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = users


class PublicLeadForm(BootstrapMixin, forms.Form):
    """The public web-to-lead form. `website` is a honeypot: people never see or fill it."""

    company = forms.CharField(label=_("Company"), max_length=200)
    contact_name = forms.CharField(label=_("Your name"), max_length=60)
    title = forms.CharField(label=_("Job title"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("Work email"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=[("", "—"), *Industry.choices], required=False)
    employee_band = forms.ChoiceField(
        label=_("Company size"), choices=[("", "—"), *EmployeeBand.choices], required=False
    )
    province = forms.CharField(label=_("Province"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=40, required=False)
    decision_maker = forms.BooleanField(label=_("I decide on this purchase"), required=False)
    needs = forms.CharField(label=_("What do you need?"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def clean_phone(self):
        from accounts.validators import validate_phone

        phone = self.cleaned_data["phone"].strip()
        validate_phone(phone)
        return phone

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError(_("Leave a phone number or an email so we can reach you."))
        return data

"""Forms of tiering: the policy editor, strategies, overrides, a customer's tiering inputs, the
matrix filters."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceField

from .forms import BootstrapMixin
from .models import Industry, MaintenanceStrategy, Outlook, ResponsibleRole, TierInputs, TierPolicy, ValueTier
from .selectors_tiering import matrix_teams

OUTLOOK_PREFIX = "outlook_"


class StyledForm(BootstrapMixin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class PolicyForm(StyledForm, forms.ModelForm):
    """Every rule of a policy; saving makes the next version (see services.tiering.save_policy).

    The industry outlook is one select per industry instead of raw JSON.
    """

    class Meta:
        model = TierPolicy
        fields = [
            "weight_amount",
            "weight_margin",
            "weight_renewal",
            "band_a",
            "band_b",
            "amount_mode",
            "amount_a_ratio",
            "amount_b_ratio",
            "amount_a_absolute",
            "amount_b_absolute",
            "margin_a",
            "margin_b",
            "renewal_a",
            "renewal_b",
            "one_off_is_c",
            "potential_high",
            "potential_low",
            "strategic_years",
            "strategic_product_lines",
            "strategic_referrals",
            "long_term_years",
            "new_months",
            "note",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        outlook = self.instance.industry_outlook or {}
        for value, label in Industry.choices:
            self.fields[OUTLOOK_PREFIX + value] = forms.ChoiceField(
                label=label, choices=Outlook.choices, initial=outlook.get(value, Outlook.STABLE)
            )
        self._style()

    def outlook_fields(self):
        return [self[OUTLOOK_PREFIX + value] for value, _label in Industry.choices]

    def rule_fields(self):
        return [field for field in self if not field.name.startswith(OUTLOOK_PREFIX)]

    def clean(self):
        data = super().clean()
        weights = [data.get(name) for name in ("weight_amount", "weight_margin", "weight_renewal")]
        if None not in weights and sum(weights) != 100:
            raise ValidationError(_("The three weights must add up to 100."))
        if data.get("band_a") is not None and data.get("band_b") is not None and data["band_b"] > data["band_a"]:
            self.add_error("band_b", _("The B band cannot start above the A band."))
        low, high = data.get("potential_low"), data.get("potential_high")
        if low is not None and high is not None and low >= high:
            self.add_error("potential_low", _("Low potential must end below where high potential starts."))
        self.instance.industry_outlook = {
            value: data[OUTLOOK_PREFIX + value]
            for value, _label in Industry.choices
            if data.get(OUTLOOK_PREFIX + value, Outlook.STABLE) != Outlook.STABLE
        }
        return data


class StrategyForm(StyledForm, forms.ModelForm):
    """A maintenance strategy; cadences are written one per line: "30 | Monthly call | owner"."""

    cadence_text = forms.CharField(
        label=_("Cadences"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: every how many days | action | responsible role (owner, manager or director)."),
    )

    class Meta:
        model = MaintenanceStrategy
        fields = ["tier", "potential", "relationship", "goal", "actions", "responsible", "active"]
        widgets = {"actions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cadence_text"].initial = "\n".join(
            f"{c.get('every_days')} | {c.get('action', '')} | {c.get('responsible', ResponsibleRole.OWNER)}"
            for c in self.instance.cadences or []
        )

    def clean_cadence_text(self):
        cadences = []
        for number, line in enumerate(self.cleaned_data["cadence_text"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            days, action = parts[0], parts[1] if len(parts) > 1 else ""
            responsible = parts[2] if len(parts) > 2 and parts[2] else ResponsibleRole.OWNER
            if not days.isdigit() or not 1 <= int(days) <= 366 or not action:
                raise ValidationError(_("Line %(n)s: write days (1–366) | action | role.") % {"n": number})
            if responsible not in ResponsibleRole.values:
                raise ValidationError(_("Line %(n)s: unknown role “%(role)s”.") % {"n": number, "role": responsible})
            cadences.append({"action": action, "every_days": int(days), "responsible": responsible})
        return cadences

    def save(self, commit=True):
        self.instance.cadences = self.cleaned_data["cadence_text"]
        return super().save(commit=commit)


class OverrideForm(StyledForm, forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), choices=ValueTier.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Give a reason for the override."))
        return reason


class TierInputsForm(StyledForm, forms.ModelForm):
    class Meta:
        model = TierInputs
        fields = ["margin_rate", "budget_level", "expanding", "cooperation_since", "referrals"]
        widgets = {"cooperation_since": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class MatrixFilterForm(StyledForm, forms.Form):
    team = ListedModelChoiceField(label=_("Team"), queryset=None, required=False, empty_label=_("All teams"))
    industry = forms.ChoiceField(label=_("Industry"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = matrix_teams(user)
        self.fields["industry"].choices = [("", _("All industries")), *Industry.choices]
        self._style()

    def filters(self) -> dict:
        if not self.is_valid():
            return {"team": None, "industry": ""}
        return {"team": self.cleaned_data["team"], "industry": self.cleaned_data["industry"]}

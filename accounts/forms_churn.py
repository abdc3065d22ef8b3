from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.forms import ListedModelChoiceField
from crm.templatetags.crm_tags import person

from .models import ChurnReason, HealthPolicy, default_health_weights
from .services.churn import validate_reason


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        if isinstance(field.widget, forms.CheckboxInput):
            css = "form-check-input"
        field.widget.attrs.setdefault("class", css)


class ChurnForm(forms.Form):
    reason = ListedModelChoiceField(label=_("Why did the customer leave?"), queryset=ChurnReason.objects.none())
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = ChurnReason.objects.filter(active=True)
        _style(self)

    def clean(self):
        data = super().clean()
        try:
            validate_reason(data.get("reason"), data.get("note", ""))
        except forms.ValidationError as exc:
            self.add_error("note", exc)
        return data


class ContactForm(forms.Form):
    note = forms.CharField(label=_("What the customer said"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class PlanForm(forms.Form):
    offer = forms.CharField(label=_("Offer"), widget=forms.Textarea(attrs={"rows": 3}))
    owner = ListedModelChoiceField(label=_("Plan owner"), queryset=None)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = person
        _style(self)


class OutcomeForm(ChurnForm):
    retained = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=[("1", _("Retained")), ("0", pgettext_lazy("retention outcome", "Lost"))],
        coerce=lambda v: v == "1",
    )

    field_order = ["retained", "reason", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False

    def clean(self):
        data = super().clean()
        if data.get("retained") is False and not data.get("reason"):
            self.add_error("reason", _("Choose why the customer was lost."))
        return data


class HealthPolicyForm(forms.ModelForm):
    class Meta:
        model = HealthPolicy
        fields = ["high_below", "medium_below", "usage_window_weeks", "usage_run_weeks", "usage_ratio"]

    def __init__(self, *args, signal_labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        weights = {**default_health_weights(), **(self.instance.weights or {})}
        for key in default_health_weights():
            self.fields[f"w_{key}"] = forms.IntegerField(
                label=(signal_labels or {}).get(key, key), min_value=0, max_value=100, initial=weights.get(key, 0)
            )
        _style(self)

    def groups(self):
        """(title, bound fields) sections of the page: bands, weights, usage rule."""
        weights = [f"w_{key}" for key in default_health_weights()]
        sections = [
            (_("Risk bands"), ["high_below", "medium_below"]),
            (_("Signal weights (points taken off at full severity)"), weights),
            (_("Usage rule"), ["usage_window_weeks", "usage_run_weeks", "usage_ratio"]),
        ]
        return [(title, [self[name] for name in names]) for title, names in sections]

    def save(self, commit=False):
        policy = super().save(commit=False)
        policy.weights = {key: self.cleaned_data[f"w_{key}"] for key in default_health_weights()}
        return policy


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=pgettext_lazy("date range", "To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The period must start before it ends."))
        return data

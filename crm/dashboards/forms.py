from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.forms import ListedModelChoiceField, style_small_fields
from crm.models import DashboardPolicy, SalesTarget

from .scope import Scope, can_see_team_filters, default_range, filter_reps, filter_teams

MAX_RANGE = timedelta(days=3 * 366)


def _person(user) -> str:
    from crm.templatetags.crm_tags import person

    return person(user)


class DashboardFilterForm(forms.Form):
    """Date range, team and rep of every dashboard; a rep's team and rep are fixed to themself."""

    start = forms.DateField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = ListedModelChoiceField(label=_("Team"), queryset=None, required=False, empty_label=_("All teams"))
    rep = ListedModelChoiceField(label=_("Rep"), queryset=None, required=False, empty_label=_("All reps"))

    def __init__(self, data=None, *, user):
        super().__init__(data, prefix=None)
        self.user = user
        self.fields["team"].queryset = filter_teams(user)
        self.fields["rep"].queryset = filter_reps(user)
        self.fields["rep"].label_from_instance = _person
        if not can_see_team_filters(user):
            del self.fields["team"]
            del self.fields["rep"]
        style_small_fields(self.fields)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date must not be after the end date."))
            if end - start > MAX_RANGE:
                raise forms.ValidationError(_("Choose a range of at most three years."))
        return data

    def scope(self) -> Scope:
        """The scope of a valid form; invalid input falls back to the defaults."""
        default_start, default_end = default_range(timezone.localdate())
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        team, rep = data.get("team"), data.get("rep")
        if not can_see_team_filters(self.user):
            rep = self.user
        return Scope(
            user=self.user,
            start=data.get("start") or default_start,
            end=data.get("end") or default_end,
            team_id=team.pk if team else None,
            rep_id=rep.pk if rep else None,
        )


class SalesTargetForm(forms.ModelForm):
    class Meta:
        model = SalesTarget
        fields = ["month", "team", "user", "won_amount", "new_customers"]
        widgets = {"month": forms.DateInput(attrs={"type": "month"}, format="%Y-%m")}

    def __init__(self, *args, manager, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].input_formats = ["%Y-%m", "%Y-%m-%d"]
        self.fields["team"].queryset = filter_teams(manager)
        self.fields["user"].queryset = filter_reps(manager)
        self.fields["user"].label_from_instance = _person
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_month(self):
        return self.cleaned_data["month"].replace(day=1)

    def clean(self):
        data = super().clean()
        if bool(data.get("team")) == bool(data.get("user")):
            raise forms.ValidationError(_("Choose either a team or a rep."))
        return data


class DashboardPolicyForm(forms.ModelForm):
    class Meta:
        model = DashboardPolicy
        fields = ["visit_cost", "activity_cost", "default_margin", "max_lifetime_years", "cross_sell_share"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

from decimal import Decimal

from django import forms
from django.forms import formset_factory, modelformset_factory
from django.utils.translation import gettext_lazy as _

from leads.models import ProductLine

from .models import Condition, PaymentTermPolicy, Rating

DATE = forms.DateInput(attrs={"type": "date"})


class ContractForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)
    product_line = forms.ChoiceField(label=_("Product line"), choices=[("", "—"), *ProductLine.choices], required=False)


class InstallmentForm(forms.Form):
    percent = forms.DecimalField(
        label=_("Share (%)"), max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    due_on = forms.DateField(label=_("Due on"), widget=DATE)
    condition = forms.ChoiceField(label=_("Condition"), choices=Condition.choices, initial=Condition.DATE)

    def clean(self):
        data = super().clean()
        if data.get("amount") is None and data.get("percent") is None:
            raise forms.ValidationError(_("Give an amount or a share."))
        return data


InstallmentFormSet = formset_factory(InstallmentForm, extra=0, min_num=1, validate_min=True, max_num=24)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


class RatingForm(forms.Form):
    rating = forms.ChoiceField(label=_("Rating"), choices=Rating.choices)
    note = forms.CharField(label=_("Note (background check)"), widget=forms.Textarea(attrs={"rows": 2}))


class LiftForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
    confirm = forms.BooleanField(label=_("I confirm the blacklisting may be lifted"))


PolicyFormSet = modelformset_factory(
    PaymentTermPolicy,
    fields=["credit_allowed", "min_prepay_percent", "max_credit_days", "late_fee_percent", "suspend_when_overdue"],
    extra=0,
)

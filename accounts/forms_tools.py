"""Forms of the data tools (import, hand-over, merge)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceField

from .models import Industry, Stage, Status
from .services.handover import transferable_users

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # 50,000 customer rows take about 15 MB as CSV, 8 MB as .xlsx


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("Excel (.xlsx) or CSV (UTF-8 or GBK). The first row holds the column headers."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an Excel (.xlsx) or CSV file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB: split it into several files."))
        return upload


class _UserChoice(ListedModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name() or obj.get_username()
        team = getattr(getattr(obj, "profile", None), "team", None)
        return f"{name} ({obj.get_username()}{' · ' + team.name if team else ''})"


def _optional(choices):
    return [("", _("Any")), *choices]


class HandoverForm(forms.Form):
    from_user = _UserChoice(label=_("From"), queryset=None)
    to_user = _UserChoice(label=_("To"), queryset=None)
    stage = forms.ChoiceField(label=_("Only stage"), choices=_optional(Stage.choices), required=False)
    status = forms.ChoiceField(label=_("Only status"), choices=_optional(Status.choices), required=False)
    industry = forms.ChoiceField(label=_("Only industry"), choices=_optional(Industry.choices), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        users = transferable_users(by)
        self.fields["from_user"].queryset = users
        self.fields["to_user"].queryset = users

    def clean(self):
        data = super().clean()
        if data.get("from_user") and data.get("from_user") == data.get("to_user"):
            raise forms.ValidationError(_("Pick two different people."))
        return data

    @property
    def criteria(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in ("stage", "status", "industry") if self.cleaned_data.get(k)}

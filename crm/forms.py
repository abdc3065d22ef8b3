import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

COMMON_TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
]


def style_small_fields(fields) -> None:
    """Bootstrap's small controls on every field of a filter bar: selects get form-select, the
    rest form-control (a class set explicitly by the form is kept)."""
    for field in fields.values():
        css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
        field.widget.attrs.setdefault("class", css)


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(tz, tz) for tz in COMMON_TIME_ZONES])

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"]
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone."))
        return value


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)

import zoneinfo

import django_filters
from django import forms
from django.conf import settings
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields

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


class ListedChoiceIterator(ModelChoiceIterator):
    """A select's choices read as a plain list through the queryset's own result cache.

    Django's iterator reads the queryset with .iterator(): on PostgreSQL a server-side cursor
    (DECLARE, FETCH, CLOSE: three round trips) on every rendering, sized for lists too long to hold.
    The selects here list people, teams, tags, one customer's contacts: one plain query, and
    anything else on the page that lists the same queryset (a datalist, a second rendering) reuses
    the rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator


class _ListedFilterChoiceIterator(filter_fields.ModelChoiceIterator, ListedChoiceIterator):
    """django-filter's iterator (it adds the "null" choice) over the listed one."""


class _ListedFilterChoiceField(filter_fields.ModelChoiceField):
    iterator = _ListedFilterChoiceIterator


class ListedModelChoiceFilter(django_filters.ModelChoiceFilter):
    """django-filter's ModelChoiceFilter whose select lists its choices as ListedChoiceIterator does."""

    field_class = _ListedFilterChoiceField


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

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceField
from crm.templatetags.crm_tags import person

from .models import Contact, Customer, Tag
from .regions import PROVINCE_CHOICES
from .selectors import assignable_owners
from .services.merge import MERGE_FIELDS
from .tables import AMOUNT_COLUMNS, OPTIONAL_COLUMNS, CustomerTable

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class BootstrapMixin:
    """Give every widget its Bootstrap 5 class (and is-invalid when the field has errors)."""

    def _style(self):
        errors = self._errors or {}  # never trigger validation from here (formsets add fields later)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                css = ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if name in errors:
                css += " is-invalid"
            if css:
                widget.attrs["class"] = css.strip()

    def full_clean(self):
        super().full_clean()
        self._style()


class CustomerForm(BootstrapMixin, forms.ModelForm):
    website = forms.URLField(
        label=Customer._meta.get_field("website").verbose_name, required=False, assume_scheme="https"
    )
    confirm_duplicate = forms.BooleanField(
        label=_("Save anyway: this is a different company with a similar name"), required=False
    )
    # Optimistic locking: the customer's updated_at when the form was opened (see edited_meanwhile).
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Customer
        fields = [*MERGE_FIELDS, "tags"]  # the profile a person edits (shared with the merge screen)
        widgets = {
            "province": forms.Select(choices=[("", "---------"), *PROVINCE_CHOICES]),
            "founded": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "last_followup_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "next_followup_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "needs": forms.Textarea(attrs={"rows": 3}),
            "development_plans": forms.Textarea(attrs={"rows": 2}),
            "tags": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, user, show_amounts: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_amounts:
            del self.fields["budget"]
        owners = assignable_owners(user)
        self.fields["owner"].queryset = owners
        self.fields["owner"].required = True
        self.fields["owner"].label_from_instance = person
        if not self.instance.pk and not self.initial.get("owner"):
            self.initial["owner"] = user.pk
        if self.instance.pk:
            self.initial["version"] = self.instance.updated_at.isoformat()
        self.fields["tags"].queryset = Tag.objects.all()
        for name in ("last_followup_at", "next_followup_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        self._style()

    def _keep_unchanged_minute(self, name):
        """datetime-local inputs drop seconds: an untouched value must not count as a change."""
        value, before = self.cleaned_data.get(name), getattr(self.instance, name, None) if self.instance.pk else None
        if value and before and value == before.replace(second=0, microsecond=0):
            return before
        return value

    def clean_last_followup_at(self):
        return self._keep_unchanged_minute("last_followup_at")

    def clean_next_followup_at(self):
        return self._keep_unchanged_minute("next_followup_at")

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Enter the company name."))
        return name

    def edited_meanwhile(self, current_updated_at) -> bool:
        """True when someone saved the customer after this form was opened (its version is older)."""
        version = self.cleaned_data.get("version")
        return bool(self.instance.pk and version) and version != current_updated_at.isoformat()


class ContactForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "role", "title", "phone", "email", "wechat", "preferences", "is_primary"]
        widgets = {"preferences": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _get_validation_exclusions(self):
        # A new primary contact replaces the old one (services), so the one-primary constraint
        # must not refuse the form; the service keeps it true when saving.
        exclude = super()._get_validation_exclusions()
        exclude.add("customer")
        return exclude


class BaseContactFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        primaries = [
            f
            for f in self.forms
            if f.is_valid() and f.has_changed() and not self._should_delete_form(f) and f.cleaned_data.get("is_primary")
        ]
        if len(primaries) > 1:
            raise forms.ValidationError(_("Only one contact can be the primary contact."))


def contact_formset(*, extra: int, can_delete: bool):
    return inlineformset_factory(
        Customer,
        Contact,
        form=ContactForm,
        formset=BaseContactFormSet,
        extra=extra,
        can_delete=can_delete,
        max_num=30,
        validate_max=True,
    )


class BulkActionForm(forms.Form):
    ASSIGN_OWNER, ADD_TAG = "assign_owner", "add_tag"
    action = forms.ChoiceField(choices=[(ASSIGN_OWNER, _("Assign owner")), (ADD_TAG, _("Add tag"))])
    pks = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    owner = ListedModelChoiceField(queryset=None, required=False)
    tag = forms.CharField(max_length=40, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["pks"].valid_value = lambda value: str(value).isdigit()
        self.fields["pks"].error_messages["required"] = _("Select at least one customer.")

    def clean(self):
        data = super().clean()
        if data.get("action") == self.ASSIGN_OWNER and not data.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if data.get("action") == self.ADD_TAG and not (data.get("tag") or "").strip():
            self.add_error("tag", _("Enter or choose a tag."))
        return data


def column_choices(show_amounts: bool) -> list[tuple[str, str]]:
    """(name, label) of the customer list's optional columns this viewer may choose."""
    return [
        (name, CustomerTable.base_columns[name].verbose_name)
        for name in OPTIONAL_COLUMNS
        if show_amounts or name not in AMOUNT_COLUMNS
    ]


class ColumnsForm(forms.Form):
    columns = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, show_amounts: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = column_choices(show_amounts)

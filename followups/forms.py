from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Stage
from accounts.services.lifecycle import allowed_stages
from crm.forms import ListedModelChoiceField

from .channels import validate_webhook_url
from .models import ChannelKind, Complaint, Method, SopStep, SopTemplate, Task, TeamChannel


class BootstrapMixin:
    """Bootstrap 5 classes on every widget, so templates render `{{ field }}` as is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
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
            if name in self.fields and not isinstance(self.fields[name].widget, forms.HiddenInput):
                self.fields[name].widget.attrs["class"] += " is-invalid"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class FollowUpForm(BootstrapMixin, forms.Form):
    """The quick log form (from My day, a task or the customer page)."""

    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.CALL)
    contact = ListedModelChoiceField(label=_("Contact"), queryset=None, required=False)
    occurred_at = forms.DateTimeField(label=_("When it happened"), widget=DateTimeInput())
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}))
    feedback = forms.CharField(label=_("Customer feedback"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_followup_at = forms.DateTimeField(label=_("Next follow-up"), required=False, widget=DateTimeInput())
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200)
    stage = forms.ChoiceField(label=_("Stage change"), required=False)
    task = forms.IntegerField(required=False, widget=forms.HiddenInput())
    checkin_lat = forms.DecimalField(required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput())
    checkin_lng = forms.DecimalField(required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput())
    checkin_accuracy = forms.FloatField(required=False, widget=forms.HiddenInput())

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = customer.contacts.all()
        self.fields["stage"].choices = [("", _("No change"))] + [
            (value, Stage(value).label) for value in allowed_stages(customer.stage)
        ]
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))

    def clean(self):
        data = super().clean()
        lat, lng = data.get("checkin_lat"), data.get("checkin_lng")
        if (lat is None) != (lng is None):
            raise forms.ValidationError(_("The check-in location is incomplete."))
        if lat is not None and data.get("method") != Method.VISIT:
            raise forms.ValidationError(_("Only an on-site visit can be checked in."))
        if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise forms.ValidationError(_("The check-in location is not valid."))
        return data


class TaskForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "assignee", "due_at", "notes"]
        widgets = {"due_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class ReassignForm(BootstrapMixin, forms.Form):
    assignee = ListedModelChoiceField(label=_("Assign to"), queryset=None)

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class ComplaintForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["kind", "severity", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ComplaintResponseForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))


class SopTemplateForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = SopTemplate
        fields = ["name", "active"]


class SopStepForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = SopStep
        fields = [
            "order",
            "action",
            "offset_value",
            "offset_unit",
            "responsible",
            "email_subject",
            "email_body",
            "active",
        ]
        widgets = {"email_body": forms.Textarea(attrs={"rows": 2})}


SopStepFormSet = forms.inlineformset_factory(
    SopTemplate, SopStep, form=SopStepForm, extra=1, can_delete=True, min_num=0
)


class NpsAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend or colleague?"),
        choices=[(i, str(i)) for i in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class TeamChannelForm(BootstrapMixin, forms.ModelForm):
    """A team robot's address and the notices it receives; a blank secret keeps the saved one."""

    class Meta:
        model = TeamChannel
        fields = ["webhook_url", "secret", "enabled", "notify_tasks", "notify_sla", "notify_reminders"]
        widgets = {
            "webhook_url": forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "secret": forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_secret = self.instance.secret
        if self.instance.kind != ChannelKind.DINGTALK:
            del self.fields["secret"]
        elif self._saved_secret:
            self.fields["secret"].help_text = _("A secret is saved; leave empty to keep it.")

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"].strip()
        validate_webhook_url(url)
        return url

    def clean_secret(self):
        return self.cleaned_data.get("secret") or self._saved_secret

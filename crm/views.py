from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import LanguageForm, PreferencesForm


@login_required
def home(request):
    summary = selectors.home_summary(request.user)
    chart = {"names": [r["name"] for r in summary["per_owner"]], "values": [r["n"] for r in summary["per_owner"]]}
    return render(request, "crm/home.html", {**summary, "chart": chart})


@login_required
@permission_required("crm.view_status", raise_exception=True)
def status(request):
    return render(request, "crm/status.html", selectors.status_summary())


@login_required
def preferences(request):
    profile = getattr(request.user, "profile", None)
    initial = {
        "language": (profile and profile.language) or translation.get_language(),
        "time_zone": (profile and profile.time_zone) or "Asia/Shanghai",
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.save_preferences(user=request.user, **form.cleaned_data)
        translation.activate(form.cleaned_data["language"])
        messages.success(request, _("Your preferences were saved."))
        response = HttpResponseRedirect(reverse("crm:preferences"))
        response.set_cookie("django_language", form.cleaned_data["language"], samesite="Lax")
        return response
    return render(request, "crm/preferences.html", {"form": form})


@require_POST
def set_language(request):
    """The navbar switcher: remembers the choice in a cookie and, when signed in, on the profile."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            services.save_preferences(user=request.user, language=language)
        response.set_cookie("django_language", language, samesite="Lax")
    return response


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)

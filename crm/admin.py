from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import Heartbeat, Profile, Team

admin.site.site_header = admin.site.site_title = "CRM"

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["team", "language", "time_zone"]


admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    """Users with their team and preferences; roles are the groups field."""

    inlines = [ProfileInline]
    list_display = ["username", "last_name", "first_name", "email", "team", "roles", "is_active", "audit_trail"]
    list_filter = ["groups", "profile__team", "is_active"]
    list_select_related = ["profile__team"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("team"))
    def team(self, obj):
        profile = getattr(obj, "profile", None)
        return profile.team if profile else None

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("crm:audit_user", args=[obj.pk]), _("Audit trail"))


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "manager", "parent"]
    list_select_related = ["manager", "parent"]
    search_fields = ["name"]


@admin.register(Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ["user", "team", "language", "time_zone"]
    list_filter = ["team"]
    search_fields = ["user__username"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_run_at", "run_count", "worker"]
    readonly_fields = ["name", "last_run_at", "run_count", "worker"]

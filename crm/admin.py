from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Heartbeat, Profile, Team

admin.site.site_header = admin.site.site_title = "CRM"


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "manager"]
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

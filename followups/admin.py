from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Complaint,
    FollowUp,
    FollowupPolicy,
    Notification,
    NpsResponse,
    NpsSurvey,
    SopStep,
    SopTemplate,
    Task,
    TeamChannel,
)


class SopStepInline(admin.TabularInline):
    model = SopStep
    extra = 0


@admin.register(SopTemplate)
class SopTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "stage", "active"]
    inlines = [SopStepInline]


@admin.register(Task)
class TaskAdmin(SimpleHistoryAdmin):
    list_display = ["title", "customer", "assignee", "due_at", "status", "origin"]
    list_filter = ["status", "origin"]
    raw_id_fields = ["customer", "assignee", "completed_by", "sop_step"]


@admin.register(FollowUp)
class FollowUpAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "method", "author", "occurred_at", "is_late"]
    list_filter = ["method", "is_late"]
    raw_id_fields = ["customer", "contact", "author", "task"]


@admin.register(Complaint)
class ComplaintAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "kind", "severity", "status", "opened_at"]
    raw_id_fields = ["customer"]


admin.site.register(FollowupPolicy, SimpleHistoryAdmin)
admin.site.register(NpsSurvey)
admin.site.register(NpsResponse)
admin.site.register(Notification)


@admin.register(TeamChannel)
class TeamChannelAdmin(SimpleHistoryAdmin):
    list_display = [
        "team",
        "kind",
        "enabled",
        "notify_tasks",
        "notify_sla",
        "notify_reminders",
        "last_sent_at",
        "last_ok",
    ]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["last_sent_at", "last_ok", "last_error"]

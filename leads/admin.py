from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AssignmentPolicy,
    Channel,
    ChannelCost,
    HighPotentialList,
    Lead,
    Opportunity,
    OpportunityStageChange,
    ScoringPolicy,
    Touch,
)


class ChannelCostInline(admin.TabularInline):
    model = ChannelCost
    extra = 1


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "quality", "active")
    inlines = [ChannelCostInline]


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    list_display = ("company", "channel", "intent", "score", "status", "owner", "created_at")
    list_filter = ("status", "intent", "channel")
    search_fields = ("company", "contact_name", "phone")
    raw_id_fields = ("owner", "referrer", "team")
    list_select_related = ("channel", "owner")


class StageChangeInline(admin.TabularInline):
    model = OpportunityStageChange
    extra = 0
    readonly_fields = ("from_stage", "to_stage", "at", "by")
    can_delete = False


@admin.register(Opportunity)
class OpportunityAdmin(SimpleHistoryAdmin):
    list_display = ("name", "customer", "stage", "amount", "owner", "expected_close_date")
    list_filter = ("stage", "product_line")
    raw_id_fields = ("customer", "lead", "owner", "team")
    readonly_fields = ("stage",)  # stages move through the app's one door (set_opportunity_stage)
    inlines = [StageChangeInline]
    list_select_related = ("customer", "owner")


admin.site.register(ScoringPolicy, SimpleHistoryAdmin)
admin.site.register(AssignmentPolicy, SimpleHistoryAdmin)
admin.site.register(HighPotentialList)
admin.site.register(Touch)

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Contact, Customer, Tag


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "role", "title", "phone", "email", "wechat", "is_primary"]


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "credit_code", "stage", "status", "owner", "team", "completeness", "created_at"]
    list_select_related = ["owner", "team"]
    search_fields = ["name", "normalized_name", "credit_code"]
    list_filter = ["status", "stage", "industry", "team"]
    raw_id_fields = ["owner"]
    readonly_fields = ["normalized_name", "completeness", "merged_into", "created_by"]
    filter_horizontal = ["tags"]
    inlines = [ContactInline]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "customer", "role", "phone", "email", "is_primary"]
    list_select_related = ["customer"]
    search_fields = ["name", "phone", "email"]
    list_filter = ["role"]
    raw_id_fields = ["customer"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "owner", "team", "created_at"]
    list_select_related = ["owner", "team"]
    search_fields = ["name"]
    list_filter = ["team"]
    raw_id_fields = ["owner"]

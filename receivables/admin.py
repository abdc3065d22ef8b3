from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Contract, CreditRating, Installment, Notice, Payment, PaymentTermPolicy


class InstallmentInline(admin.TabularInline):
    model = Installment
    extra = 0


@admin.register(Contract)
class ContractAdmin(SimpleHistoryAdmin):
    list_display = ["title", "customer", "amount", "signed_on", "status", "owner"]
    list_filter = ["status"]
    raw_id_fields = ["customer", "opportunity"]
    inlines = [InstallmentInline]


@admin.register(Payment)
class PaymentAdmin(SimpleHistoryAdmin):
    list_display = ["contract", "amount", "received_on", "reference", "recorded_by"]
    raw_id_fields = ["contract"]


@admin.register(CreditRating)
class CreditRatingAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "rating", "set_by", "set_at"]
    raw_id_fields = ["customer"]


@admin.register(PaymentTermPolicy)
class PaymentTermPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["rating", "credit_allowed", "min_prepay_percent", "max_credit_days", "late_fee_percent"]


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["installment", "kind", "step", "acted", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["installment", "customer"]

from django.contrib import admin

from .models import IncentiveCode, IncentivePool, Issuance, Redemption, Vault, Voucher, VoucherImport


@admin.register(Vault)
class VaultAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "vendor", "amount", "currency", "is_test", "status", "vault", "awarded_at"]
    list_filter = ["status", "is_test", "currency"]
    search_fields = ["code", "vendor"]
    raw_id_fields = ["vault", "interaction"]
    show_full_result_count = False  # no COUNT(*) over millions of rows
    list_per_page = 50  # the grid's page size


@admin.register(VoucherImport)
class VoucherImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "vault", "status", "total_rows", "imported_count", "created_at", "finished_at"]
    list_filter = ["status"]
    exclude = ["content"]


@admin.register(IncentivePool)
class IncentivePoolAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "distribution", "issuance_allowed", "redemption_allowed",
                    "low_threshold"]
    list_filter = ["distribution", "organization"]
    search_fields = ["name"]


@admin.register(IncentiveCode)
class IncentiveCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "pool", "active", "issued_count", "redeemed_count"]
    list_filter = ["active"]
    search_fields = ["code"]
    raw_id_fields = ["pool"]
    show_full_result_count = False


@admin.register(Issuance, Redemption)
class CodeEventAdmin(admin.ModelAdmin):
    list_display = ["code", "pool", "external_issuee_id", "referring_application", "created_at"]
    search_fields = ["external_issuee_id", "code__code"]
    raw_id_fields = ["code", "pool"]

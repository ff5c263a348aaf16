from django.contrib import admin

from .models import Interaction


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "campaign", "kind", "outcome", "error_code", "http_status", "redeemer_email"]
    list_filter = ["kind", "outcome", "campaign"]
    search_fields = ["redeemer_mobile", "redeemer_email", "redeemer_external_id", "request_id"]
    raw_id_fields = ["campaign", "integration", "voucher"]
    show_full_result_count = False
    list_per_page = 50  # the grid's page size
    # The grid's order, ties by pk ascending as the grid breaks them: a page holds the grid's rows.
    ordering = ["-created_at", "pk"]

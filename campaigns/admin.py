from django.contrib import admin

from .models import Campaign, CampaignStatusChange, Integration


class IntegrationInline(admin.TabularInline):
    model = Integration
    extra = 0
    fields = ["name", "status", "key_prefix", "rate_limit_per_minute", "last_used_at"]
    readonly_fields = ["key_prefix", "last_used_at"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # keys are issued by the pages, the API's services or `create_integration`


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "status", "starts_at", "ends_at", "end_behavior", "owner"]
    list_filter = ["status", "end_behavior", "organization"]
    search_fields = ["name", "external_id"]
    readonly_fields = ["status", "status_changed_at", "created_at", "updated_at"]
    filter_horizontal = ["vaults", "pools"]
    inlines = [IntegrationInline]


@admin.register(CampaignStatusChange)
class CampaignStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["campaign", "from_status", "to_status", "changed_at", "reason"]
    list_filter = ["to_status"]
    search_fields = ["campaign__name"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "status", "key_prefix", "last_used_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "key_prefix", "campaign__name"]
    readonly_fields = ["key_prefix", "key_hash", "last_used_at", "key_rotated_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # a key must be shown once to its creator: use the pages or `create_integration`

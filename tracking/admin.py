from django.contrib import admin

from .models import TrackingNumber


@admin.register(TrackingNumber)
class TrackingNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "campaign", "forward_to", "label"]
    search_fields = ["number", "label"]
    raw_id_fields = ["campaign"]

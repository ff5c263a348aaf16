import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from grids.tables import GridTable, StatusColumn

from .models import Interaction


class InteractionTable(GridTable):
    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    campaign = tables.Column(accessor="campaign__name", verbose_name="Campaign")
    integration = tables.Column(accessor="integration__name", verbose_name="Integration")
    outcome = StatusColumn()
    voucher = tables.Column(accessor="voucher__code", verbose_name="Voucher")

    class Meta(GridTable.Meta):
        model = Interaction
        fields = ("created_at", "campaign", "integration", "kind", "outcome", "error_code", "http_status",
                  "redeemer_mobile", "redeemer_email", "redeemer_external_id", "voucher", "latency_ms",
                  "request_id", "message")
        order_by = ("-created_at",)

    def render_campaign(self, value, record):
        """The campaign's name, linked: one URL per campaign on the page (a page holds few campaigns)."""
        urls = self.__dict__.setdefault("_campaign_urls", {})
        if record.campaign_id not in urls:
            urls[record.campaign_id] = reverse("campaigns:detail", args=[record.campaign_id])
        return format_html('<a href="{}">{}</a>', urls[record.campaign_id], value)

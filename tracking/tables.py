import django_tables2 as tables

from grids.tables import GridTable, StatusColumn

from .models import Interaction


class InteractionTable(GridTable):
    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    campaign = tables.Column(accessor="campaign__name", verbose_name="Campaign",
                             linkify=lambda record: record.campaign and record.campaign.get_absolute_url())
    integration = tables.Column(accessor="integration__name", verbose_name="Integration")
    outcome = StatusColumn()
    voucher = tables.Column(accessor="voucher__code", verbose_name="Voucher")

    class Meta(GridTable.Meta):
        model = Interaction
        fields = ("created_at", "campaign", "integration", "kind", "outcome", "error_code", "http_status",
                  "redeemer_mobile", "redeemer_email", "redeemer_external_id", "voucher", "latency_ms",
                  "request_id", "message")
        order_by = ("-created_at",)

import django_tables2 as tables

from grids.tables import GridTable, StatusColumn, YesNoColumn

from .models import Campaign, Integration


class CampaignTable(GridTable):
    name = tables.Column(linkify=True)
    status = StatusColumn()
    active_now = YesNoColumn(verbose_name="Active")
    owner = tables.Column(accessor="owner__username", verbose_name="Owner")

    class Meta(GridTable.Meta):
        model = Campaign
        fields = ("name", "external_id", "status", "active_now", "starts_at", "ends_at", "end_behavior", "owner")


class IntegrationTable(GridTable):
    name = tables.Column(linkify=True)
    campaign = tables.Column(accessor="campaign__name", linkify=lambda record: record.campaign.get_absolute_url())
    status = StatusColumn()
    key_prefix = tables.Column(verbose_name="Key")
    rate_limit_per_minute = tables.Column(verbose_name="Limit / min", default="none")

    class Meta(GridTable.Meta):
        model = Integration
        fields = ("name", "campaign", "status", "key_prefix", "rate_limit_per_minute", "last_used_at", "created_at")

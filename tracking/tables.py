import django_tables2 as tables
from django.utils.html import format_html

from grids.tables import GridTable

from .models import TrackingNumber
from .phone import pretty
from .voice import ROUTING_LABELS


class TrackingNumberTable(GridTable):
    number = tables.Column(linkify=True)
    campaign = tables.Column(accessor="campaign__name", verbose_name="Campaign", default="— inventory —",
                             linkify=lambda record: record.campaign and record.campaign.get_absolute_url())
    state = tables.Column(verbose_name="State")
    forward_to = tables.Column(verbose_name="Forwards to")
    export_labels = {"state": ROUTING_LABELS}

    class Meta(GridTable.Meta):
        model = TrackingNumber
        fields = ("number", "label", "campaign", "state", "forward_to", "created_at")

    def render_number(self, value):
        return pretty(value)

    def render_state(self, value):
        label = ROUTING_LABELS[value]
        return format_html('<span class="badge status-badge status-number-{}">{}</span>', value, label)


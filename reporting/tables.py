"""The organization overview's grid: one row per campaign with its summary counts in the period."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from grids.tables import GridTable

from .queries import METRICS
from .services import SUMMARY, SummaryCount


class CountColumn(tables.Column):
    """A count with its change against the previous period, written out (no colour needed to read it)."""

    def __init__(self, metric: str, **kwargs):
        super().__init__(accessor=metric, verbose_name=SUMMARY[metric][0], attrs={"td": {"class": "text-end"},
                                                                               "th": {"class": "text-end"}},
                         **kwargs)
        self.metric = metric

    def render(self, value, record):
        count: SummaryCount = record["counts"][self.metric]
        return format_html('{} <span class="small text-muted d-block">{}</span>', f"{value:,}", count.change_label)


class CampaignReportTable(GridTable):
    name = tables.Column(verbose_name="Campaign", linkify=lambda record: record["dashboard_url"])
    status = tables.Column(verbose_name="Status")
    interactions = CountColumn("interactions")
    awarded = CountColumn("awarded")
    out_of_stock = CountColumn("out_of_stock")
    errors = CountColumn("errors")
    exceptions = CountColumn("exceptions")

    class Meta(GridTable.Meta):
        order_by = ("-interactions",)

    def render_status(self, value, record):
        return format_html('<span class="badge status-badge status-{}" data-status="{}">{}</span>',
                           record["status_value"], record["status_value"], value)


def campaign_rows(campaigns, overview, query: str) -> list[dict]:
    """The grid's rows: each campaign with its counts (zero for a campaign without interactions)."""
    rows = []
    for campaign in campaigns:
        counts = overview.for_campaign(campaign.pk)
        url = reverse("reporting:campaign-dashboard", args=[campaign.pk])
        rows.append({
            "pk": campaign.pk,
            "name": campaign.name,
            "status": campaign.get_status_display(),
            "status_value": campaign.status,
            "dashboard_url": f"{url}?{query}" if query else url,
            "counts": counts,
            **{metric: counts[metric].value for metric in METRICS},
        })
    return rows


def download_header() -> list[str]:
    header = ["Campaign", "Status"]
    for metric in METRICS:
        header += [SUMMARY[metric][0], f"{SUMMARY[metric][0]} (previous period)"]
    return header


def download_rows(rows: list[dict]):
    for row in rows:
        values = [row["name"], row["status"]]
        for metric in METRICS:
            values += [row["counts"][metric].value, row["counts"][metric].previous]
        yield values

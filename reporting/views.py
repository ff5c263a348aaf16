"""Reporting pages (design §11): a campaign's dashboard, its charts' CSV, and the organization overview.

Campaigns are fetched through the scoped manager, so another organization's campaign is a 404 by
construction. The period is one query parameter (``period=30d`` or ``period=2026-10-01..2026-10-31``),
so a page, its charts' downloads and a saved filter all carry it the same way.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.permissions import MemberRequiredMixin
from campaigns.models import Campaign
from campaigns.services.statuses import with_active_now
from engagement.services.counts import engagement_counts
from grids.export import WRITERS, csv_response
from grids.views import Grid, GridView

from . import services
from .charts import moment_label
from .filters import CampaignReportFilterSet
from .periods import DEFAULT_PRESET, MAX_DAYS, PRESETS, Period, parse_period, preset_period
from .tables import CampaignReportTable, campaign_rows, download_header, download_rows

CUSTOM_RANGE_PARAMS = ("start", "end")


class PeriodMixin:
    """Reads the period from the query string, in the organization's time zone."""

    period: Period

    def period_redirect(self) -> HttpResponseRedirect | None:
        """The custom-range form sends ``start`` and ``end``: answer with the canonical ``period=a..b`` URL."""
        query = self.request.GET.copy()
        if not any(name in query for name in CUSTOM_RANGE_PARAMS):
            return None
        start, end = (query.pop(name, [""])[-1] for name in CUSTOM_RANGE_PARAMS)
        try:
            query["period"] = parse_period(f"{start}..{end}", self.request.organization.zone).query_value
        except ValueError as error:
            messages.error(self.request, f"That custom range cannot be shown: {error}")
        query.pop("page", None)
        return HttpResponseRedirect(f"{self.request.path}?{query.urlencode()}")

    def read_period(self) -> Period:
        zone = self.request.organization.zone
        try:
            return parse_period(self.request.GET.get("period"), zone)
        except ValueError as error:
            messages.warning(self.request, f"{error} Showing the {PRESETS[DEFAULT_PRESET].lower()} instead.")
            return preset_period(DEFAULT_PRESET, zone)

    def period_context(self) -> dict:
        others = self.request.GET.copy()
        for name in ("period", "page", *CUSTOM_RANGE_PARAMS):
            others.pop(name, None)
        return {
            "period": self.period,
            "presets": PRESETS,
            "max_days": MAX_DAYS,
            "other_query": others.urlencode(),
            "other_params": [(k, v) for k, values in others.lists() for v in values],
            "now_label": moment_label(timezone.now(), self.period.zone),
        }


class CampaignDashboardView(MemberRequiredMixin, PeriodMixin, TemplateView):
    template_name = "reporting/campaign_dashboard.html"

    def get(self, request, *args, **kwargs):
        redirect = self.period_redirect()
        if redirect is not None:
            return redirect
        campaign = get_object_or_404(Campaign.objects.all(), pk=kwargs["pk"])
        self.period = self.read_period()
        dashboard = services.campaign_dashboard(campaign, self.period)
        rolled = dashboard.rolled_until and moment_label(dashboard.rolled_until, self.period.zone)
        return self.render_to_response(self.get_context_data(
            campaign=campaign, dashboard=dashboard, rolled_until_label=rolled, **self.period_context()))


class ChartDownloadView(MemberRequiredMixin, View):
    """One chart's data as CSV: the very series the chart draws, in the organization's zone."""

    def get(self, request, pk: int, chart: str):
        campaign = get_object_or_404(Campaign.objects.all(), pk=pk)
        try:
            period = parse_period(request.GET.get("period"), request.organization.zone)
        except ValueError as error:
            return HttpResponseBadRequest(str(error))
        download = services.campaign_dashboard(campaign, period).download(chart)
        if download is None:
            raise Http404("No such chart.")
        name = f"campaign-{campaign.pk}-{chart}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
        return csv_response(name, download.csv_header(), download.csv_rows())


class OrganizationOverviewView(PeriodMixin, GridView):
    """The organization's summary over the period, and the generic grid of its campaigns with their counts."""

    model = Campaign
    table_class = CampaignReportTable
    filterset_class = CampaignReportFilterSet
    template_name = "reporting/overview.html"
    title = "Campaigns"
    empty_text = "No campaigns yet."

    @property
    def grid_name(self) -> str:
        return "reporting:overview"

    @property
    def download_name(self) -> str:
        return f"campaign-report-{self.period.start:%Y%m%d}-{self.period.end:%Y%m%d}"

    def get(self, request, *args, **kwargs):
        redirect = self.period_redirect()
        if redirect is not None:
            return redirect
        self.period = self.read_period()
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return with_active_now(Campaign.objects.all())

    def build_grid(self, query: QueryDict | None = None) -> Grid:
        query = self.request.GET if query is None else query
        filterset = self.build_filterset(query)
        campaigns = self.filtered_rows(filterset)
        self.overview = services.organization_overview(self.request.organization, self.period)
        rows = campaign_rows(campaigns, self.overview, urlencode({"period": self.period.query_value}))
        # Counts are not columns of a queryset, so the table sorts its rows itself (every campaign is one row).
        table = self.table_class(rows, request=self.request, order_by=query.get("sort") or None)
        return Grid(filterset, table, rows)

    def download(self, grid: Grid, export_format: str):
        rows = list(grid.table.data)  # sorted as on screen
        return WRITERS[export_format](self.download_name, download_header(), download_rows(rows))

    def get_context_data(self, **kwargs):
        engagement = engagement_counts(self.request.organization.pk, self.period.start_at, self.period.end_at)
        return super().get_context_data(overview=self.overview, engagement=engagement, **self.period_context(),
                                        **kwargs)


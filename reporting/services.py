"""The reporting dashboard's figures (design §11): plain functions, no HTTP.

``campaign_dashboard`` and ``organization_overview`` run a constant number of queries whatever the period
and the data (see ``reporting.queries``): counts grouped by local hour, then added up into days and periods
in Python, in the organization's time zone.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from django.utils import timezone

from accounts.models import Organization
from campaigns.models import Campaign
from incentives.services.vouchers import available_by_type, campaign_vouchers

from . import queries
from .charts import Chart, Series, Table, day_label, hour_key, hour_label
from .periods import HOUR, Period, has_whole_hour_offsets
from .queries import METRICS, VoucherType
from .rollups import rolled_until

SUMMARY = {
    "interactions": ("Total interactions", "Every request made against the campaign."),
    "awarded": ("Vouchers awarded", "Awards that gave a voucher away."),
    "out_of_stock": ("Out of vouchers", "Requests refused because no voucher (or code) of that type was left."),
    "errors": ("Errors", "Requests refused for invalid data: an unknown vendor, a campaign not live, a limit."),
    "exceptions": ("Exceptions", "Requests that failed on an application exception."),
}
AWARDED_BY_TYPE_DAYS = 30
NOTHING: Counter = Counter()  # the counts of a point without rows (read only)
WINDOWS = {"last_7_days": 7 * 24, "last_24_hours": 24}  # hours, the current one included


@dataclass(frozen=True)
class SummaryCount:
    key: str
    value: int
    previous: int

    @property
    def label(self) -> str:
        return SUMMARY[self.key][0]

    @property
    def description(self) -> str:
        return SUMMARY[self.key][1]

    @property
    def change(self) -> int:
        return self.value - self.previous

    @property
    def change_percent(self) -> float | None:
        return None if self.previous == 0 else 100 * self.change / self.previous

    @property
    def change_label(self) -> str:
        if self.change == 0:
            return "no change"
        percent = "" if self.change_percent is None else f" ({self.change_percent:+.1f}%)"
        return f"{self.change:+,}{percent}"


def summary_counts(current: Counter, previous: Counter) -> list[SummaryCount]:
    return [SummaryCount(key, current[key], previous[key]) for key in METRICS]


def summary_table(summary: list[SummaryCount], period: Period) -> Table:
    previous = period.previous()
    return Table(
        "summary", "Summary",
        ["Count", f"{period.start} to {period.end}", f"{previous.start} to {previous.end}", "Change",
         "Change (%)"],
        [[c.label, c.value, c.previous, c.change,
          "" if c.change_percent is None else round(c.change_percent, 1)] for c in summary],
    )


@dataclass(frozen=True)
class VoucherTypeRow:
    type: VoucherType
    available: int
    awarded_total: int
    awarded_last_7_days: int
    awarded_last_24_hours: int


@dataclass(frozen=True)
class CampaignDashboard:
    campaign: Campaign
    period: Period
    summary: list[SummaryCount]
    voucher_types: list[VoucherTypeRow]
    charts: list[Chart]
    rolled_until: datetime | None  # rollups served the hours before it

    def download(self, slug: str) -> Chart | Table | None:
        if slug == "summary":
            return summary_table(self.summary, self.period)
        return next((chart for chart in self.charts if chart.slug == slug), None)


def campaign_dashboard(campaign: Campaign, period: Period, *, now: datetime | None = None) -> CampaignDashboard:
    now = now or timezone.now()
    zone = period.zone
    previous = period.previous()
    recent = period.ending_on(AWARDED_BY_TYPE_DAYS)
    watermark = rolled_until(campaign.organization_id)
    # Rollups are UTC hours: they make local hours and days only where the zone's offsets are whole hours.
    bucketed = watermark if has_whole_hour_offsets(
        min(previous.start_at, recent.start_at), period.end_at, zone) else None

    by_hour = queries.counts_by_hour(queries.spans(previous.start_at, period.end_at, bucketed, queries.TOTALS), zone,
                                     campaign_id=campaign.pk)
    responses = queries.counts_by_response(queries.spans(period.start_at, period.end_at, watermark),
                                           campaign_id=campaign.pk)
    this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    windows = {name: this_hour - (hours - 1) * HOUR for name, hours in WINDOWS.items()}
    awarded = queries.awarded_by_type(queries.spans(None, None, watermark), windows, campaign_id=campaign.pk)
    awarded_daily = queries.awarded_by_day_and_type(queries.spans(recent.start_at, recent.end_at, bucketed), zone,
                                                    campaign_id=campaign.pk)
    available = {
        VoucherType(row["vendor"], row["amount"], row["currency"], row["is_test"]): row["available"]
        for row in available_by_type(campaign_vouchers(campaign), "is_test")
    }

    current_total, previous_total = Counter(), Counter()
    for bucket, counts in by_hour.items():
        (current_total if bucket >= period.start_at else previous_total).update(counts)
    voucher_types = [
        VoucherTypeRow(voucher_type, available.get(voucher_type, 0), awarded.get(voucher_type, NOTHING)["total"],
                       *(awarded.get(voucher_type, NOTHING)[name] for name in WINDOWS))
        for voucher_type in sorted(available.keys() | awarded.keys(), key=_type_order)
    ]
    by_day, by_hour_charts = by_day_and_hour_charts(period, by_hour)
    charts = [
        available_vouchers_chart(voucher_types),
        awarded_by_type_chart(recent, awarded_daily),
        *by_day,
        api_statistics_chart(responses),
        *by_hour_charts,
    ]
    return CampaignDashboard(campaign, period, summary_counts(current_total, previous_total), voucher_types, charts,
                             watermark)


# --- the organization overview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignSummary:
    campaign_id: int
    counts: dict[str, SummaryCount]


@dataclass(frozen=True)
class OrganizationOverview:
    organization: Organization
    period: Period
    summary: list[SummaryCount]  # every campaign of the organization
    campaigns: dict[int, CampaignSummary]  # campaigns with interactions in either period, by id
    rolled_until: datetime | None

    def for_campaign(self, campaign_id: int) -> dict[str, SummaryCount]:
        found = self.campaigns.get(campaign_id)
        return found.counts if found else {key: SummaryCount(key, 0, 0) for key in METRICS}


def organization_overview(organization: Organization, period: Period) -> OrganizationOverview:
    previous = period.previous()
    watermark = rolled_until(organization.pk)
    # Rollups serve whole UTC hours, and local midnights are whole UTC hours only in whole-hour zones.
    usable = watermark if has_whole_hour_offsets(previous.start_at, period.end_at, period.zone) else None
    by_campaign = queries.counts_by_campaign(queries.spans(previous.start_at, period.end_at, usable, queries.TOTALS),
                                             period.start_at, organization_id=organization.pk)
    current_total, previous_total = Counter(), Counter()
    campaigns = {}
    for campaign_id, counts in by_campaign.items():
        current = Counter({key: counts[key] for key in METRICS})
        before = Counter({key: counts[f"previous_{key}"] for key in METRICS})
        current_total.update(current)
        previous_total.update(before)
        campaigns[campaign_id] = CampaignSummary(
            campaign_id, {c.key: c for c in summary_counts(current, before)})
    return OrganizationOverview(organization, period, summary_counts(current_total, previous_total), campaigns,
                                watermark)


# --- the charts ---------------------------------------------------------------------------------------------


def _type_order(voucher_type: VoucherType) -> tuple:
    return voucher_type.is_test, voucher_type.vendor, voucher_type.amount, voucher_type.currency


TYPE_HEADERS = ["Vendor", "Amount", "Currency", "Test or live"]


def _type_key(voucher_type: VoucherType) -> tuple:
    return (voucher_type.vendor, voucher_type.amount, voucher_type.currency,
            "test" if voucher_type.is_test else "live")


def available_vouchers_chart(rows: list[VoucherTypeRow]) -> Chart:
    return Chart(
        "available-vouchers", "Available vouchers by type",
        "Vouchers left in the campaign's linked vaults, and those of each type awarded by the campaign.",
        "bar", "Voucher type", "Vouchers",
        labels=[row.type.label for row in rows], keys=[_type_key(row.type) for row in rows],
        key_headers=TYPE_HEADERS,
        series=[
            Series("Available", [row.available for row in rows]),
            Series("Awarded in total", [row.awarded_total for row in rows]),
            Series("Awarded in the last 7 days", [row.awarded_last_7_days for row in rows]),
            Series("Awarded in the last 24 hours", [row.awarded_last_24_hours for row in rows]),
        ],
        horizontal=True, wide=True, empty_text="No vouchers available and none awarded yet.",
        notes=["The last 7 days and the last 24 hours count whole hours: the current hour and the ones before it."],
    )


def awarded_by_type_chart(recent: Period, awarded: dict[tuple, int]) -> Chart:
    days = recent.dates()
    types = sorted({voucher_type for _, voucher_type in awarded}, key=_type_order)
    return Chart(
        "awarded-by-voucher-type", f"Vouchers awarded by day and type, last {AWARDED_BY_TYPE_DAYS} days",
        f"Awards per local day from {recent.start:%-d %b} to {recent.end:%-d %b %Y}, stacked by voucher type.",
        "bar", f"Day ({recent.zone.key})", "Vouchers awarded",
        labels=[day_label(day) for day in days], keys=[(day.isoformat(),) for day in days],
        key_headers=[f"Day ({recent.zone.key})"],
        series=[Series(t.label, [awarded.get((day, t), 0) for day in days]) for t in types],
        stacked=True, wide=True,
        empty_text=f"No voucher awarded in the {AWARDED_BY_TYPE_DAYS} days to {recent.end:%-d %b %Y}.",
    )


def api_statistics_chart(responses: dict[tuple[int | None, str], int]) -> Chart:
    ordered = sorted(responses.items(), key=lambda item: (-item[1], item[0][0] or 0, item[0][1]))
    return Chart(
        "api-statistics", "API statistics by response type",
        "Requests in the period by the answer they got: HTTP status and error code.",
        "bar", "Response", "Requests",
        labels=[_response_label(status, code) for (status, code), _ in ordered],
        keys=[(status if status is not None else "", code) for (status, code), _ in ordered],
        key_headers=["HTTP status", "Error code"],
        series=[Series("Requests", [count for _, count in ordered])],
        horizontal=True, wide=True, empty_text="No requests in this period.",
    )


def _response_label(status: int | None, code: str) -> str:
    if status is None:
        text = "No HTTP status"
    else:
        try:
            text = f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            text = str(status)
    return f"{text} · {code}" if code else text


def by_day_and_hour_charts(period: Period, by_hour: dict[datetime, Counter]) -> tuple[list[Chart], list[Chart]]:
    """(the by-day charts, the by-hour charts)."""
    zone = period.zone
    hours = period.hours()
    by_day: dict = defaultdict(Counter)
    for bucket, counts in by_hour.items():
        if bucket >= period.start_at:
            by_day[bucket.astimezone(zone).date()].update(counts)
    days = period.dates()
    day_axis = {"labels": [day_label(day) for day in days], "keys": [(day.isoformat(),) for day in days],
                "key_headers": [f"Day ({zone.key})"]}
    hour_axis = {"labels": [hour_label(hour, zone) for hour in hours],
                 "keys": [(hour_key(hour, zone),) for hour in hours],
                 "key_headers": [f"Hour starting ({zone.key})"]}
    awarded = {"interactions": "All requests", "awarded": "Vouchers awarded"}
    failed = {"interactions": "All requests", "errors": "Errors", "exceptions": "Exceptions"}

    def series(names: dict[str, str], points: list, counts: dict) -> list[Series]:
        return [Series(label, [counts.get(point, NOTHING)[name] for point in points]) for name, label in
                names.items()]

    awarded_by_day = Chart(
        "awarded-by-day", "Vouchers awarded by day, against all requests",
        "Successful awards and every request, per local day.", "bar", f"Day ({zone.key})", "Requests",
        series=series(awarded, days, by_day), **day_axis)
    errors_by_day = Chart(
        "errors-by-day", "Errors and exceptions by day, against all requests",
        "Refused requests (errors), application failures (exceptions) and every request, per local day.",
        "bar", f"Day ({zone.key})", "Requests", series=series(failed, days, by_day), **day_axis)
    awarded_by_hour = Chart(
        "awarded-by-hour", "Vouchers awarded by hour, against all requests",
        "Successful awards and every request, per local hour (23 or 25 hours on the days clocks change).",
        "line", f"Hour ({zone.key})", "Requests", series=series(awarded, hours, by_hour), wide=True, **hour_axis)
    errors_by_hour = Chart(
        "errors-by-hour", "Errors and exceptions by hour, against all requests",
        "Refused requests (errors), application failures (exceptions) and every request, per local hour.",
        "line", f"Hour ({zone.key})", "Requests", series=series(failed, hours, by_hour), wide=True, **hour_axis)
    return [awarded_by_day, errors_by_day], [awarded_by_hour, errors_by_hour]

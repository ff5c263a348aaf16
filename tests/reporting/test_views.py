"""The reporting pages over HTTP: the dashboard, its chart downloads, the overview grid, and who reaches what."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership

PERIOD = "2026-10-24..2026-10-26"


def dashboard_url(campaign, period=PERIOD):
    return reverse("reporting:campaign-dashboard", args=[campaign.pk]) + (f"?period={period}" if period else "")


def csv_url(campaign, chart, period=PERIOD):
    return reverse("reporting:chart-csv", args=[campaign.pk, chart]) + f"?period={period}"


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.fixture
def client_of(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


def test_the_dashboard_shows_every_figure_and_chart(client_of, autumn):
    response = client_of(autumn.user).get(dashboard_url(autumn.campaign))
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert {c.key: c.value for c in dashboard.summary}["interactions"] == 11
    page = response.content.decode()
    assert 'data-testid="summary-interactions-value">11<' in page
    assert 'data-testid="summary-awarded-value">6<' in page
    for slug in ("available-vouchers", "awarded-by-voucher-type", "api-statistics", "awarded-by-day",
                 "awarded-by-hour", "errors-by-day", "errors-by-hour"):
        assert f'data-testid="chart-{slug}"' in page
        assert f'id="chart-data-{slug}"' in page  # the chart's data, for charts.js
        assert f'href="{csv_url(autumn.campaign, slug)}"' in page
    assert "vendor/chart.js/chart.umd.js" in page and "js/charts.js" in page
    assert "Days and hours of Europe/London" in page


def test_a_chart_download_is_the_series_the_chart_draws_in_the_zone(client_of, autumn):
    response = client_of(autumn.user).get(csv_url(autumn.campaign, "awarded-by-hour"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="campaign-{autumn.campaign.pk}-awarded-by-hour-20261024-20261026.csv"')
    rows = read_csv(response)
    assert rows[0] == ["Hour starting (Europe/London)", "All requests", "Vouchers awarded"]
    assert len(rows) == 1 + 73
    by_hour = {row[0]: row[1:] for row in rows[1:]}
    assert by_hour["2026-10-25T01:00:00+01:00"] == ["1", "1"]  # C5, in BST
    assert by_hour["2026-10-25T01:00:00+00:00"] == ["2", "1"]  # C6 and C7, in GMT
    assert by_hour["2026-10-24T00:00:00+01:00"] == ["1", "1"]  # C1: 23:10 UTC the day before


def test_the_day_summary_and_api_downloads(client_of, autumn):
    client = client_of(autumn.user)
    assert read_csv(client.get(csv_url(autumn.campaign, "errors-by-day"))) == [
        ["Day (Europe/London)", "All requests", "Errors", "Exceptions"],
        ["2026-10-24", "3", "0", "0"], ["2026-10-25", "5", "0", "1"], ["2026-10-26", "3", "1", "0"],
    ]
    summary = read_csv(client.get(csv_url(autumn.campaign, "summary")))
    assert summary[0] == ["Count", "2026-10-24 to 2026-10-26", "2026-10-21 to 2026-10-23", "Change", "Change (%)"]
    assert summary[1] == ["Total interactions", "11", "2", "9", "450.0"]
    assert summary[2] == ["Vouchers awarded", "6", "0", "6", ""]
    api = read_csv(client.get(csv_url(autumn.campaign, "api-statistics")))
    assert api[0] == ["HTTP status", "Error code", "Requests"]
    assert api[1:3] == [["201", "", "6"], ["200", "", "2"]]
    vouchers = read_csv(client.get(csv_url(autumn.campaign, "available-vouchers")))
    assert vouchers[0] == ["Vendor", "Amount", "Currency", "Test or live", "Available", "Awarded in total",
                           "Awarded in the last 7 days", "Awarded in the last 24 hours"]
    assert vouchers[1][:6] == ["ACME", "10.00", "USD", "live", "3", "6"]


def test_unknown_charts_and_bad_periods(client_of, autumn):
    client = client_of(autumn.user)
    assert client.get(csv_url(autumn.campaign, "no-such-chart")).status_code == 404
    assert client.get(csv_url(autumn.campaign, "summary", period="2026-10-26..2026-10-24")).status_code == 400
    assert client.get(csv_url(autumn.campaign, "summary", period="2025-01-01..2026-10-24")).status_code == 400
    response = client.get(dashboard_url(autumn.campaign, period="yesterday-ish"))
    assert response.status_code == 200
    assert response.context["period"].preset == "30d"
    assert "Showing the last 30 days instead" in response.content.decode()


def test_a_custom_range_answers_with_the_canonical_url(client_of, autumn):
    client = client_of(autumn.user)
    url = reverse("reporting:campaign-dashboard", args=[autumn.campaign.pk])
    response = client.get(url, {"start": "2026-10-24", "end": "2026-10-26"})
    assert response.status_code == 302 and response["Location"] == f"{url}?period=2026-10-24..2026-10-26"
    response = client.get(url, {"start": "2026-10-26", "end": "2026-10-24", "period": "7d"}, follow=True)
    assert response.context["period"].preset == "7d"  # the range is refused, the period kept
    assert "ends before it starts" in response.content.decode()


def test_presets_follow_the_organizations_today(client_of, autumn):
    response = client_of(autumn.user).get(dashboard_url(autumn.campaign, period="7d"))
    period = response.context["period"]
    assert period.days == 7 and period.preset == "7d"
    assert 'aria-current="true"' in response.content.decode()


def test_another_organizations_campaign_is_404_everywhere(client_of, autumn):
    client = client_of(autumn.user)
    foreign = autumn.foreign_campaign
    assert client.get(dashboard_url(foreign)).status_code == 404
    assert client.get(dashboard_url(foreign, period=None)).status_code == 404
    for chart in ("summary", "awarded-by-hour", "api-statistics", "available-vouchers"):
        assert client.get(csv_url(foreign, chart)).status_code == 404
    overview = client.get(reverse("reporting:overview") + f"?period={PERIOD}")
    assert overview.status_code == 200
    assert "Foreign" not in overview.content.decode()
    assert {c.key: c.value for c in overview.context["overview"].summary}["interactions"] == 12
    download = read_csv(client.get(reverse("reporting:overview") + f"?period={PERIOD}&format=csv"))
    assert [row[0] for row in download[1:]] == ["Autumn", "Winter"]


def test_the_other_organization_sees_only_its_own(client, autumn):
    client.force_login(autumn.foreign_user)
    response = client.get(dashboard_url(autumn.foreign_campaign))
    assert response.status_code == 200
    assert {c.key: c.value for c in response.context["dashboard"].summary} == {
        "interactions": 3, "awarded": 2, "out_of_stock": 0, "errors": 0, "exceptions": 1}
    assert client.get(dashboard_url(autumn.campaign)).status_code == 404
    overview = client.get(reverse("reporting:overview") + f"?period={PERIOD}")
    assert "Autumn" not in overview.content.decode()


def test_standard_members_see_dashboards_and_anonymous_users_log_in(client, autumn, make_member):
    sam = make_member(autumn.organization, Membership.Role.STANDARD)
    client.force_login(sam)
    assert client.get(dashboard_url(autumn.campaign)).status_code == 200
    assert client.get(csv_url(autumn.campaign, "summary")).status_code == 200
    client.logout()
    for url in (dashboard_url(autumn.campaign), csv_url(autumn.campaign, "summary"), reverse("reporting:overview")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_overview_grid_rows_sort_and_link_to_dashboards(client_of, autumn):
    client = client_of(autumn.user)
    url = reverse("reporting:overview")
    response = client.get(url + f"?period={PERIOD}")
    page = response.content.decode()
    rows = response.context["table"].data
    assert [row["name"] for row in rows] == ["Autumn", "Winter"]  # most interactions first
    assert f'href="{dashboard_url(autumn.campaign)}"' in page
    assert 'data-testid="summary-interactions-value">12<' in page
    assert 'type="hidden" name="period" value="2026-10-24..2026-10-26"' in page  # the grid's filters keep it
    by_errors = client.get(url + f"?period={PERIOD}&sort=-errors").context["table"].data
    assert [row["name"] for row in by_errors] == ["Autumn", "Winter"]
    by_name = client.get(url + f"?period={PERIOD}&sort=-name").context["table"].data
    assert [row["name"] for row in by_name] == ["Winter", "Autumn"]
    download = read_csv(client.get(url + f"?period={PERIOD}&sort=-name&format=csv"))
    assert download[0][:4] == ["Campaign", "Status", "Total interactions", "Total interactions (previous period)"]
    assert download[1] == ["Winter", "Pending", "1", "1", "1", "0", "0", "0", "0", "1", "0", "0"]
    assert download[2][:4] == ["Autumn", "Pending", "11", "2"]


def test_the_overview_filters_campaigns_but_sums_them_all(client_of, autumn):
    response = client_of(autumn.user).get(reverse("reporting:overview") + f"?period={PERIOD}&q=Winter")
    assert [row["name"] for row in response.context["table"].data] == ["Winter"]
    assert {c.key: c.value for c in response.context["overview"].summary}["interactions"] == 12


def test_saved_filters_keep_the_period(client_of, autumn):
    client = client_of(autumn.user)
    url = reverse("reporting:overview")
    client.post(url, {"action": "save", "query": "period=7d&q=Aut"})
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"{url}?period=7d&q=Aut"


def test_the_campaign_page_and_the_navigation_link_to_reporting(client_of, autumn):
    client = client_of(autumn.user)
    page = client.get(reverse("campaigns:detail", args=[autumn.campaign.pk])).content.decode()
    assert f'href="{reverse("reporting:campaign-dashboard", args=[autumn.campaign.pk])}"' in page
    assert f'href="{reverse("reporting:overview")}"' in page


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("rollups", [True, False])
def test_pages_run_as_many_queries_for_a_day_as_for_a_year(client_of, autumn, settings, rollups):
    settings.REPORTING_USE_ROLLUPS = rollups
    client = client_of(autumn.user)
    day = queries_of(client, dashboard_url(autumn.campaign, "2026-10-26..2026-10-26"))
    year = queries_of(client, dashboard_url(autumn.campaign, "2025-10-27..2026-10-26"))
    assert day == year <= 16
    overview_day = queries_of(client, reverse("reporting:overview") + "?period=2026-10-26..2026-10-26")
    overview_year = queries_of(client, reverse("reporting:overview") + "?period=2025-10-27..2026-10-26")
    assert overview_day == overview_year <= 16


@pytest.mark.parametrize(
    "period", ["9999-12-31..9999-12-31", "0001-01-01..0001-01-02", "2101-01-01..2101-01-02", "1999-12-31..2000-01-01"]
)
def test_periods_outside_the_supported_years_are_refused_like_any_bad_period(client_of, autumn, period):
    client = client_of(autumn.user)
    assert client.get(csv_url(autumn.campaign, "summary", period=period)).status_code == 400
    for url in (dashboard_url(autumn.campaign, period=period), reverse("reporting:overview") + f"?period={period}"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["period"].preset == "30d"
        assert "Showing the last 30 days instead" in response.content.decode()
    start, _, end = period.partition("..")
    url = reverse("reporting:campaign-dashboard", args=[autumn.campaign.pk])
    response = client.get(url, {"start": start, "end": end}, follow=True)
    assert response.status_code == 200 and "cannot be shown" in response.content.decode()


def test_a_saved_filter_holding_an_unsupported_period_falls_back_to_the_default(client_of, autumn):
    client = client_of(autumn.user)
    url = reverse("reporting:overview")
    client.post(url, {"action": "save", "query": "period=9999-12-31..9999-12-31"})
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert response.context["period"].preset == "30d"
    assert "Showing the last 30 days instead" in response.content.decode()

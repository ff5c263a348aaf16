"""Every figure of the dashboard and the overview equals the hand count of conftest's table, in Europe/London,
read from the interactions alone, from rollups, and from both (watermark inside the repeated hour's night)."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.scoping import organization_scope, scopes_disabled
from interactions.models import Interaction
from reporting.models import InteractionRollup
from reporting.periods import Period, parse_period
from reporting.rollups import roll_up_interactions
from reporting.services import campaign_dashboard, organization_overview

from .conftest import NOW, utc

SUMMARY = {"interactions": 11, "awarded": 6, "out_of_stock": 1, "errors": 1, "exceptions": 1}
PREVIOUS = {"interactions": 2, "awarded": 0, "out_of_stock": 1, "errors": 1, "exceptions": 0}
# local hour start -> (all requests, awarded, errors, exceptions); every other hour of the 73 is zero
BY_HOUR = {
    "2026-10-24T00:00:00+01:00": (1, 1, 0, 0),  # C1: 23:10 UTC on the 23rd, already the 24th in London
    "2026-10-24T11:00:00+01:00": (1, 0, 0, 0),  # C2
    "2026-10-24T23:00:00+01:00": (1, 1, 0, 0),  # C3
    "2026-10-25T00:00:00+01:00": (1, 0, 0, 1),  # C4: 23:00 UTC, local midnight exactly
    "2026-10-25T01:00:00+01:00": (1, 1, 0, 0),  # C5: the first 01:00 (BST)
    "2026-10-25T01:00:00+00:00": (2, 1, 0, 0),  # C6, C7: the second 01:00 (GMT)
    "2026-10-25T23:00:00+00:00": (1, 0, 0, 0),  # C8
    "2026-10-26T00:00:00+00:00": (1, 0, 1, 0),  # C9
    "2026-10-26T12:00:00+00:00": (1, 1, 0, 0),  # C10
    "2026-10-26T23:00:00+00:00": (1, 1, 0, 0),  # C11
}
MODES = ("raw", "rolled", "half-rolled")
ROLLED_UNTIL = {"raw": None, "rolled": utc(2026, 10, 31, 23), "half-rolled": utc(2026, 10, 25, 1)}


@pytest.fixture(params=MODES)
def mode(request, settings, autumn):
    """raw: rollups off. rolled: every hour rolled up. half-rolled: rolled until 01:00 UTC on the 25th, so the
    first local 01:00 comes from rollups and the second from the interactions."""
    settings.REPORTING_USE_ROLLUPS = request.param != "raw"
    if request.param == "rolled":
        assert roll_up_interactions(now=utc(2026, 11, 1)) > 0
    elif request.param == "half-rolled":
        assert roll_up_interactions(now=utc(2026, 10, 25, 1, 10)) > 0  # the hour to 01:00 closed 5 minutes ago
    return request.param


def dashboard_of(autumn, period=None):
    with organization_scope(autumn.organization):
        return campaign_dashboard(autumn.campaign, period or autumn.period, now=NOW)


def chart(dashboard, slug):
    return dashboard.download(slug)


def series(found, label):
    return next(s.values for s in found.series if s.label == label)


def test_summary_counts_and_changes_are_the_hand_counted_ones(autumn, mode):
    dashboard = dashboard_of(autumn)
    assert {c.key: c.value for c in dashboard.summary} == SUMMARY
    assert {c.key: c.previous for c in dashboard.summary} == PREVIOUS
    changes = {c.key: (c.change, c.change_percent) for c in dashboard.summary}
    assert changes["interactions"] == (9, 450.0)
    assert changes["awarded"] == (6, None)  # nothing to compare with: no percentage
    assert changes["out_of_stock"] == (0, 0.0)
    assert dashboard.rolled_until == ROLLED_UNTIL[mode]


def test_days_are_the_zones_days_across_midnight_and_the_end_of_summer_time(autumn, mode):
    dashboard = dashboard_of(autumn)
    awarded, errors = chart(dashboard, "awarded-by-day"), chart(dashboard, "errors-by-day")
    assert awarded.labels == ["Sat 24 Oct", "Sun 25 Oct", "Mon 26 Oct"]
    assert awarded.keys == [("2026-10-24",), ("2026-10-25",), ("2026-10-26",)]
    assert series(awarded, "All requests") == [3, 5, 3]
    assert series(awarded, "Vouchers awarded") == [2, 2, 2]
    assert series(errors, "All requests") == [3, 5, 3]
    assert series(errors, "Errors") == [0, 0, 1]
    assert series(errors, "Exceptions") == [0, 1, 0]


def test_every_local_hour_is_a_point_and_the_repeated_hour_is_two(autumn, mode):
    dashboard = dashboard_of(autumn)
    awarded, errors = chart(dashboard, "awarded-by-hour"), chart(dashboard, "errors-by-hour")
    keys = [key for (key,) in awarded.keys]
    assert len(keys) == 24 + 25 + 24
    assert keys[0] == "2026-10-24T00:00:00+01:00" and keys[-1] == "2026-10-26T23:00:00+00:00"
    assert sum(key.startswith("2026-10-25") for key in keys) == 25
    assert "Sun 25 Oct 01:00 BST" in awarded.labels and "Sun 25 Oct 01:00 GMT" in awarded.labels
    got = {
        key: (all_, won, failed, broken)
        for key, all_, won, failed, broken in zip(
            keys, series(awarded, "All requests"), series(awarded, "Vouchers awarded"), series(errors, "Errors"),
            series(errors, "Exceptions"), strict=True)
        if all_ or won or failed or broken
    }
    assert got == BY_HOUR
    assert series(errors, "All requests") == series(awarded, "All requests")


def test_api_statistics_by_http_status_and_error_code(autumn, mode):
    api = chart(dashboard_of(autumn), "api-statistics")
    assert api.keys == [(201, ""), (200, ""), (404, "unknown_vendor"), (409, "out_of_vouchers"),
                        (500, "internal_error")]
    assert api.series[0].values == [6, 2, 1, 1, 1]
    assert api.labels == ["201 Created", "200 OK", "404 Not Found · unknown_vendor",
                          "409 Conflict · out_of_vouchers", "500 Internal Server Error · internal_error"]


def test_available_vouchers_by_type_with_awards_in_total_last_7_days_and_last_24_hours(autumn, mode):
    dashboard = dashboard_of(autumn)
    rows = [(r.type.vendor, r.type.amount, r.type.currency, r.type.is_test, r.available, r.awarded_total,
             r.awarded_last_7_days, r.awarded_last_24_hours) for r in dashboard.voucher_types]
    # now is 00:30 UTC on the 27th: the last 24 hours start at 01:00 UTC on the 26th, the last 7 days at
    # 01:00 UTC on the 20th (whole hours, the current one included)
    assert rows == [
        ("ACME", Decimal("10.00"), "USD", False, 3, 6, 5, 3),  # O1 P1 C1 C10 C11 X1 | P1.. | C10 C11 X1
        ("Globex", Decimal("25.00"), "USD", False, 0, 2, 2, 0),  # C3 C6; Winter's vault is not linked
        ("Initech", Decimal("5.00"), "EUR", False, 4, 0, 0, 0),
        ("ACME", Decimal("10.00"), "USD", True, 2, 1, 1, 0),  # C5
    ]
    available = chart(dashboard, "available-vouchers")
    assert available.labels == ["ACME 10.00 USD", "Globex 25.00 USD", "Initech 5.00 EUR", "ACME 10.00 USD (test)"]
    assert series(available, "Available") == [3, 0, 4, 2]
    assert series(available, "Awarded in the last 24 hours") == [3, 0, 0, 0]


def test_awarded_by_day_for_30_days_by_voucher_type(autumn, mode):
    by_type = chart(dashboard_of(autumn), "awarded-by-voucher-type")
    assert by_type.keys[0] == ("2026-09-27",) and by_type.keys[-1] == ("2026-10-26",) and len(by_type.keys) == 30
    assert [s.label for s in by_type.series] == ["ACME 10.00 USD", "Globex 25.00 USD", "ACME 10.00 USD (test)"]
    nonzero = {(key[0], s.label): value for s in by_type.series for key, value in zip(by_type.keys, s.values,
                                                                                        strict=True) if value}
    assert nonzero == {
        ("2026-10-20", "ACME 10.00 USD"): 1,  # P1: 22:30 UTC, still the 20th in London
        ("2026-10-24", "ACME 10.00 USD"): 1,  # C1
        ("2026-10-24", "Globex 25.00 USD"): 1,  # C3: 23:59 BST
        ("2026-10-25", "Globex 25.00 USD"): 1,  # C6
        ("2026-10-25", "ACME 10.00 USD (test)"): 1,  # C5
        ("2026-10-26", "ACME 10.00 USD"): 2,  # C10 C11
    }


def test_overview_sums_every_campaign_of_the_organization_and_only_them(autumn, mode):
    with organization_scope(autumn.organization):
        overview = organization_overview(autumn.organization, autumn.period)
    assert {c.key: c.value for c in overview.summary} == {
        "interactions": 12, "awarded": 7, "out_of_stock": 1, "errors": 1, "exceptions": 1}
    assert {c.key: c.previous for c in overview.summary} == {
        "interactions": 3, "awarded": 0, "out_of_stock": 1, "errors": 2, "exceptions": 0}
    assert set(overview.campaigns) == {autumn.campaign.pk, autumn.other_campaign.pk}
    autumn_counts = overview.for_campaign(autumn.campaign.pk)
    assert {k: (c.value, c.previous) for k, c in autumn_counts.items()} == {
        k: (SUMMARY[k], PREVIOUS[k]) for k in SUMMARY}
    winter = overview.for_campaign(autumn.other_campaign.pk)
    assert {k: (c.value, c.previous) for k, c in winter.items()} == {
        "interactions": (1, 1), "awarded": (1, 0), "out_of_stock": (0, 0), "errors": (0, 1), "exceptions": (0, 0)}
    assert all(c.value == 0 for c in overview.for_campaign(autumn.foreign_campaign.pk).values())


def all_downloads(dashboard) -> dict:
    slugs = ["summary", *(c.slug for c in dashboard.charts)]
    return {slug: (dashboard.download(slug).csv_header(), dashboard.download(slug).csv_rows()) for slug in slugs}


def test_rollups_and_raw_queries_agree_on_every_download(autumn, settings):
    settings.REPORTING_USE_ROLLUPS = False
    raw = all_downloads(dashboard_of(autumn))
    week = Period(date(2026, 10, 20), date(2026, 10, 26), autumn.period.zone)
    raw_week = all_downloads(dashboard_of(autumn, week))
    settings.REPORTING_USE_ROLLUPS = True
    for now in (utc(2026, 10, 24, 12, 20), utc(2026, 10, 25, 1, 10), utc(2026, 10, 25, 2, 10), utc(2026, 11, 1)):
        roll_up_interactions(now=now)
        assert all_downloads(dashboard_of(autumn)) == raw, now
        assert all_downloads(dashboard_of(autumn, week)) == raw_week, now


def test_rolled_hours_are_read_from_the_rollups(autumn, settings):
    """Once rolled, an hour's figures come from its rollups: deleting its interactions changes nothing."""
    roll_up_interactions(now=utc(2026, 10, 25, 1, 10))
    before = all_downloads(dashboard_of(autumn))
    with scopes_disabled():
        deleted, _ = Interaction.objects.filter(created_at__lt=utc(2026, 10, 25, 1)).delete()
    assert deleted > 0
    assert all_downloads(dashboard_of(autumn)) == before
    settings.REPORTING_USE_ROLLUPS = False
    raw_summary = {c.key: c.value for c in dashboard_of(autumn).summary}
    assert raw_summary["interactions"] == 6  # read raw, C6–C11 are all that is left


def test_a_zone_with_half_hour_offsets_reads_the_interactions(make_organization, make_member, make_campaign,
                                                               make_interaction, settings):
    """Kolkata is UTC+05:30: its hours start at :30 UTC, so UTC-hour rollups cannot make them."""
    organization = make_organization("Mumbai", time_zone="Asia/Kolkata")
    campaign = make_campaign(organization, make_member(organization))
    make_interaction(campaign, utc(2026, 10, 24, 10, 0))  # 15:30 IST
    make_interaction(campaign, utc(2026, 10, 24, 10, 20), outcome="error", http_status=400)  # 15:50 IST
    make_interaction(campaign, utc(2026, 10, 24, 10, 40))  # 16:10 IST
    make_interaction(campaign, utc(2026, 10, 24, 18, 40))  # 00:10 IST on the 25th
    roll_up_interactions(now=utc(2026, 11, 1))
    period = Period(date(2026, 10, 24), date(2026, 10, 25), ZoneInfo("Asia/Kolkata"))
    with organization_scope(organization):
        dashboard = campaign_dashboard(campaign, period, now=utc(2026, 11, 1))
    by_hour = chart(dashboard, "awarded-by-hour")
    got = {key: value for (key,), value in zip(by_hour.keys, series(by_hour, "All requests"), strict=True) if value}
    assert got == {"2026-10-24T15:00:00+05:30": 2, "2026-10-24T16:00:00+05:30": 1, "2026-10-25T00:00:00+05:30": 1}
    assert series(chart(dashboard, "awarded-by-day"), "All requests") == [3, 1]
    assert {c.key: c.value for c in dashboard.summary}["errors"] == 1


def test_a_campaign_without_interactions_has_empty_charts(autumn, make_campaign, mode):
    with scopes_disabled():
        quiet = make_campaign(autumn.organization, autumn.user, name="Quiet")
    with organization_scope(autumn.organization):
        dashboard = campaign_dashboard(quiet, autumn.period, now=NOW)
    assert all(c.value == 0 and c.previous == 0 for c in dashboard.summary)
    assert all(chart.is_empty for chart in dashboard.charts)
    assert len(chart(dashboard, "awarded-by-hour").keys) == 73  # still every hour, all zero
    assert not chart(dashboard_of(autumn), "awarded-by-day").is_empty


@pytest.mark.parametrize("days", [1, 366])
def test_the_dashboard_runs_a_constant_number_of_queries(autumn, mode, days, django_assert_max_num_queries):
    period = Period(autumn.period.end - timedelta(days=days - 1), autumn.period.end, autumn.period.zone)
    # watermark 1 + by hour 2 + responses 2 + by type 2 + by day and type 2 + available 1
    with organization_scope(autumn.organization), django_assert_max_num_queries(10):
        dashboard = campaign_dashboard(autumn.campaign, period, now=NOW)
    assert len(chart(dashboard, "awarded-by-day").keys) == days


@pytest.mark.parametrize("days", [1, 366])
def test_the_overview_runs_a_constant_number_of_queries(autumn, mode, days, django_assert_max_num_queries):
    period = Period(autumn.period.end - timedelta(days=days - 1), autumn.period.end, autumn.period.zone)
    with organization_scope(autumn.organization), django_assert_max_num_queries(3):
        overview = organization_overview(autumn.organization, period)
    assert sum(Counter({c.key: c.value for c in overview.summary}).values()) > 0


def test_rollup_rows_are_one_per_group(autumn):
    roll_up_interactions(now=utc(2026, 11, 1))
    with scopes_disabled():
        rows = InteractionRollup.objects.filter(campaign=autumn.campaign, hour=utc(2026, 10, 25, 1))
        assert sorted((r.outcome, r.http_status, r.error_code, r.voucher_vendor, r.count) for r in rows) == [
            ("out_of_stock", 409, "out_of_vouchers", None, 1), ("success", 201, "", "Globex", 1)]
        assert sum(InteractionRollup.objects.values_list("count", flat=True)) == Interaction.objects.filter(
            campaign__isnull=False).count()


@pytest.mark.parametrize(
    "value", ["9999-12-31..9999-12-31", "0001-01-01..0001-01-01", "1999-12-31..2000-01-01", "2100-12-31..2101-01-01"]
)
def test_parse_period_refuses_days_outside_the_supported_years_with_a_value_error(value):
    with pytest.raises(ValueError, match="2000"):
        parse_period(value, ZoneInfo("Pacific/Kiritimati"))


def test_parse_period_accepts_the_first_and_last_supported_days():
    zone = ZoneInfo("Pacific/Kiritimati")
    assert parse_period("2000-01-01..2000-01-01", zone).start_at.year == 1999  # UTC+14
    period = parse_period("2100-12-31..2100-12-31", zone)
    assert (period.previous().start, period.end_at.year) == (date(2100, 12, 30), 2100)

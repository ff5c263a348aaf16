"""The rollup task: closed hours only, set-based, idempotent when run twice or at the same time."""

import io
import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from core.scoping import scopes_disabled
from interactions.models import Interaction
from reporting import tasks
from reporting.models import CampaignHourTotals, InteractionRollup, RollupWatermark
from reporting.rollups import closed_until, roll_up_interactions

from .conftest import utc


def rollup_rows():
    with scopes_disabled():
        return sorted(
            InteractionRollup.objects.values_list("campaign_id", "hour", "kind", "outcome", "http_status",
                                                  "error_code", "voucher_vendor", "voucher_amount",
                                                  "voucher_currency", "voucher_is_test", "count")
        )


def totals_rows():
    with scopes_disabled():
        return sorted(CampaignHourTotals.objects.values_list("campaign_id", "hour", "interactions", "awarded",
                                                             "out_of_stock", "errors", "exceptions"))


def watermarks():
    with scopes_disabled():
        return dict(RollupWatermark.objects.values_list("organization_id", "rolled_until"))


def test_only_hours_closed_for_the_grace_period_are_rolled(autumn):
    # C6 (01:30) and C7 (01:45) are in the hour 01:00–02:00 UTC; at 02:04 it closed only 4 minutes ago
    roll_up_interactions(now=utc(2026, 10, 25, 2, 4))
    assert set(watermarks().values()) == {utc(2026, 10, 25, 1)}
    assert max(row[1] for row in rollup_rows()) == utc(2026, 10, 25, 0)  # C5's hour, not C6's
    roll_up_interactions(now=utc(2026, 10, 25, 2, 5))
    assert set(watermarks().values()) == {utc(2026, 10, 25, 2)}
    assert max(row[1] for row in rollup_rows()) == utc(2026, 10, 25, 1)


def test_closed_until_is_a_utc_hour_the_grace_period_before_now(settings):
    assert closed_until(utc(2026, 10, 25, 2, 4, 59)) == utc(2026, 10, 25, 1)
    settings.REPORTING_ROLLUP_GRACE = timedelta(0)
    assert closed_until(utc(2026, 10, 25, 2, 0)) == utc(2026, 10, 25, 2)


def test_rolling_twice_changes_nothing(autumn):
    first = roll_up_interactions(now=utc(2026, 11, 1))
    rows, totals = rollup_rows(), totals_rows()
    assert first == len(rows) > len(totals) > 0
    assert roll_up_interactions(now=utc(2026, 11, 1)) == 0
    assert rollup_rows() == rows and totals_rows() == totals


def test_every_organization_gets_a_watermark_and_the_counts_add_up(autumn):
    roll_up_interactions(now=utc(2026, 11, 1))
    assert set(watermarks()) == {autumn.organization.pk, autumn.foreign_campaign.organization_id}
    with scopes_disabled():
        rolled = {org: 0 for org in watermarks()}
        for org, count in InteractionRollup.objects.values_list("organization_id", "count"):
            rolled[org] += count
        # every interaction with a campaign, created before the watermark; the campaign-less call is left out
        expected = {org: Interaction.objects.filter(organization_id=org, campaign__isnull=False).count()
                    for org in rolled}
    assert rolled == expected
    with scopes_disabled():
        awarded = Interaction.objects.filter(campaign=autumn.campaign, kind="award", outcome="success",
                                             voucher__isnull=False).count()
        errors = Interaction.objects.filter(campaign=autumn.campaign, outcome="error").count()
    autumn_totals = [row for row in totals_rows() if row[0] == autumn.campaign.pk]
    assert (sum(row[3] for row in autumn_totals), sum(row[5] for row in autumn_totals)) == (awarded, errors) == (9, 2)
    # C6 and C7 share the hour 01:00–02:00 UTC: one row of totals for it
    assert (autumn.campaign.pk, utc(2026, 10, 25, 1), 2, 1, 1, 0, 0) in autumn_totals


def test_an_interaction_written_late_into_a_rolled_hour_needs_a_rebuild(autumn, make_interaction):
    roll_up_interactions(now=utc(2026, 11, 1))
    make_interaction(autumn.campaign, utc(2026, 10, 24, 10, 5), kind="lookup", http_status=200)
    roll_up_interactions(now=utc(2026, 11, 1))
    lookups = [row for row in rollup_rows() if row[0] == autumn.campaign.pk and row[2] == "lookup"]
    assert [row[-1] for row in lookups] == [1]  # still only C2
    output = io.StringIO()
    call_command("roll_up_interactions", "--rebuild", stdout=output)
    assert "rollup row(s) written" in output.getvalue()
    lookups = [row for row in rollup_rows() if row[0] == autumn.campaign.pk and row[2] == "lookup"]
    assert [row[-1] for row in lookups] == [2]
    assert (autumn.campaign.pk, utc(2026, 10, 24, 10), 2, 0, 0, 0, 0) in totals_rows()


def test_the_beat_schedule_runs_the_task(autumn):
    entry = django_settings.CELERY_BEAT_SCHEDULE["roll-up-interactions"]
    assert entry["task"] == tasks.roll_up_interactions.name == "reporting.roll_up_interactions"
    assert tasks.roll_up_interactions.apply().get() > 0  # now: every fixture hour is long closed
    assert rollup_rows()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_time_roll_each_hour_once(autumn):
    # what one run writes: run once, read, then start over from nothing
    roll_up_interactions(now=utc(2026, 11, 1))
    expected, expected_totals = rollup_rows(), totals_rows()
    with scopes_disabled():
        InteractionRollup.objects.all().delete()
        CampaignHourTotals.objects.all().delete()
        RollupWatermark.objects.all().delete()

    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(roll_up_interactions(now=utc(2026, 11, 1)))
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [0, len(expected)]  # one did the work, the other found nothing left
    assert rollup_rows() == expected and totals_rows() == expected_totals


def test_a_watermark_moved_back_recomputes_those_hours_and_a_new_organization_starts_from_its_first(
        autumn, make_organization, make_member, make_campaign, make_interaction):
    roll_up_interactions(now=utc(2026, 11, 1))
    rows, totals = rollup_rows(), totals_rows()
    newcomer = make_organization("Newcomer", time_zone="Europe/London")
    make_interaction(make_campaign(newcomer, make_member(newcomer)), utc(2026, 10, 30, 9, 15))
    with scopes_disabled():
        RollupWatermark.objects.filter(organization=autumn.organization).update(rolled_until=utc(2026, 10, 25))
    # two starts in one run: Acme from 25 Oct, the newcomer from the beginning
    roll_up_interactions(now=utc(2026, 11, 1))
    assert set(watermarks().values()) == {utc(2026, 10, 31, 23)} and len(watermarks()) == 3
    newcomer_rows = [row for row in rollup_rows() if row not in rows]
    assert [(row[1], row[-1]) for row in newcomer_rows] == [(utc(2026, 10, 30, 9), 1)]
    assert [row for row in rollup_rows() if row not in newcomer_rows] == rows
    assert len(totals_rows()) == len(totals) + 1

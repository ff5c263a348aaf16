"""The reporting pages at a million interactions (issue: the reporting dashboard).

With 1,000,000 interactions over 90 days across 50 campaigns of one organization (Europe/London, so the
end of summer time is inside the window), about 60% of them awards that gave a voucher: the server time
(p50/p95, Django's test client in-process, middleware and rendering included) and the query count of one
campaign's dashboard and of the organization overview, with the rollups and without them, next to the same
figures computed by plain SQL over the interactions table in the same run; the time the rollup task takes
to roll everything up and then one more hour, and EXPLAIN ANALYZE of the hot queries. Goal: each page ≤ 300 ms p50.

    python -m bench reporting        # BENCH_ROWS=1000000 BENCH_REQUESTS=20 by default
"""

import os
import time
from datetime import UTC, timedelta

from . import heading, median, p95, page_database, page_times

DATABASE = "va_bench_reporting"
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
CAMPAIGNS = 50
MINUTES = 90 * 24 * 60
GOAL_MS = 300
ZONE = "Europe/London"
TYPES = "(ARRAY['ACME', 'ACME', 'Globex', 'Initech', 'ACME'])[mod({k}, 5) + 1], " \
        "(ARRAY[10, 25, 10, 50, 10])[mod({k}, 5) + 1], (ARRAY['USD', 'USD', 'USD', 'EUR', 'USD'])[mod({k}, 5) + 1], " \
        "mod({k}, 5) = 4"
# r = a hash of the row's number, 0–19: 12 awards with a voucher, a lookup, 2 out of stock, 4 errors, an exception
OUTCOMES = """
    CASE WHEN r < 12 THEN 'award' WHEN r = 12 THEN 'lookup' ELSE 'award' END,
    CASE WHEN r <= 12 THEN 'success' WHEN r <= 14 THEN 'out_of_stock' WHEN r <= 18 THEN 'error' ELSE 'exception' END,
    (ARRAY['', '', '', '', '', '', '', '', '', '', '', '', '', 'out_of_vouchers', 'out_of_vouchers',
           'invalid_request', 'unknown_vendor', 'campaign_not_live', 'rate_limited', 'internal_error'])[r + 1],
    (ARRAY[201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 200, 409, 409, 400, 404, 409, 429, 500])[r + 1]
"""


def populate():
    from django.db import connection, transaction

    from accounts.models import Membership, Organization, User
    from campaigns.models import Campaign
    from core.scoping import scopes_disabled
    from incentives.models import Vault

    with scopes_disabled(), transaction.atomic(), connection.cursor() as cursor:
        organization = Organization.objects.create(name="Bench", slug="bench", time_zone=ZONE)
        user = User.objects.create_user(username="bench-admin", password=None)
        Membership.objects.create(user=user, organization=organization, role="admin")
        vaults = [Vault.objects.create(organization=organization, name=f"Bench vault {n}") for n in range(5)]
        campaigns = [
            Campaign.objects.create(organization=organization, owner=user, name=f"Bench campaign {n}")
            for n in range(CAMPAIGNS)
        ]
        for n, campaign in enumerate(campaigns):
            campaign.vaults.add(vaults[n % 5])
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_rows ON COMMIT DROP AS
            SELECT g, mod(abs(hashint4(g)), 20) AS r, mod(abs(hashint4(g + 7777777)), {CAMPAIGNS}) AS c,
                   mod(abs(hashint4(g + 3333333)), {MINUTES}) AS minute
            FROM generate_series(1, %s) AS g
            """,
            [ROWS],
        )
        # The awarded vouchers first, with the row's number as their id, then 250,000 still available.
        cursor.execute(
            f"""
            INSERT INTO incentives_voucher (id, vault_id, vendor, amount, currency, is_test, code, pin, status,
                                            awarded_at, created_at)
            SELECT g, %s, {TYPES.format(k="g")}, 'AWARDED-' || g, '', 'awarded', now(), now()
            FROM bench_rows WHERE r < 12
            """,
            [vaults[0].pk],
        )
        cursor.execute(
            f"""
            INSERT INTO incentives_voucher (id, vault_id, vendor, amount, currency, is_test, code, pin, status,
                                            created_at)
            SELECT %s + k, (ARRAY{[v.pk for v in vaults]})[mod(k, 5) + 1], {TYPES.format(k="(k / 5)")},
                   'AVAILABLE-' || k, '', 'available', now()
            FROM generate_series(1, 250000) AS k
            """,
            [ROWS],
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('incentives_voucher', 'id'), max(id)) "
                       "FROM incentives_voucher")
        cursor.execute(
            f"""
            INSERT INTO tracking_interaction (organization_id, campaign_id, kind, outcome, error_code, http_status,
                message, redeemer_mobile, redeemer_email, redeemer_external_id, latency_ms, request_id,
                voucher_id, created_at)
            SELECT %s, (ARRAY{[c.pk for c in campaigns]})[c + 1], {OUTCOMES},
                   '', '+4477009' || lpad(mod(g, 100000)::text, 5, '0'), 'user' || mod(g, 200000) || '@example.com',
                   'ext-' || mod(g, 200000), 12, md5(g::text), CASE WHEN r < 12 THEN g END,
                   now() - minute * interval '1 minute' - mod(g, 60) * interval '1 second'
            FROM bench_rows
            """,
            [organization.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return organization, user, campaigns[7]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def sql_times(statements: list[tuple[str, list]]) -> list[float]:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
            times.append(time.perf_counter() - started)
    return times


def report(label: str, times: list[float], statements: list[str], plain: list[float], plain_count: int) -> None:
    goal = "OK" if median(times) * 1000 <= GOAL_MS else "MISSED"
    print(f"{label}: page p50 {ms(median(times))} p95 {ms(p95(times))}, {len(statements)} queries "
          f"(goal p50 ≤ {GOAL_MS} ms: {goal}) | plain SQL over the interactions ({plain_count} statements) "
          f"p50 {ms(median(plain))} p95 {ms(p95(plain))}", flush=True)


AWARDED = "kind = 'award' AND outcome = 'success' AND voucher_id IS NOT NULL"
COUNTS = (f"count(*) FILTER (WHERE {{w}}), count(*) FILTER (WHERE {{w}} AND {AWARDED}), "
          "count(*) FILTER (WHERE {w} AND outcome = 'out_of_stock'), count(*) FILTER (WHERE {w} AND outcome = "
          "'error'), count(*) FILTER (WHERE {w} AND outcome = 'exception')")


def plain_dashboard_sql(campaign, period, now) -> list[tuple[str, list]]:
    """The dashboard's figures, straight from the interactions (no rollups, no Django)."""
    previous, recent = period.previous(), period.ending_on(30)
    this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    local = "(created_at AT TIME ZONE %s)"
    return [
        (f"SELECT created_at - ({local} - date_trunc('hour', {local})), "
         f"{COUNTS.format(w='TRUE')} FROM tracking_interaction WHERE campaign_id = %s AND created_at >= %s "
         "AND created_at < %s GROUP BY 1", [ZONE, ZONE, campaign.pk, previous.start_at, period.end_at]),
        ("SELECT http_status, error_code, count(*) FROM tracking_interaction WHERE campaign_id = %s "
         "AND created_at >= %s AND created_at < %s GROUP BY 1, 2", [campaign.pk, period.start_at, period.end_at]),
        ("SELECT v.vendor, v.amount, v.currency, v.is_test, count(*), count(*) FILTER (WHERE i.created_at >= %s), "
         "count(*) FILTER (WHERE i.created_at >= %s) FROM tracking_interaction i JOIN incentives_voucher v "
         "ON v.id = i.voucher_id WHERE i.campaign_id = %s AND i.kind = 'award' AND i.outcome = 'success' "
         "GROUP BY 1, 2, 3, 4", [this_hour - timedelta(hours=167), this_hour - timedelta(hours=23), campaign.pk]),
        ("SELECT (i.created_at AT TIME ZONE %s)::date, v.vendor, v.amount, v.currency, v.is_test, count(*) "
         "FROM tracking_interaction i JOIN incentives_voucher v ON v.id = i.voucher_id WHERE i.campaign_id = %s "
         "AND i.kind = 'award' AND i.outcome = 'success' AND i.created_at >= %s AND i.created_at < %s "
         "GROUP BY 1, 2, 3, 4, 5", [ZONE, campaign.pk, recent.start_at, recent.end_at]),
        ("SELECT vendor, amount, currency, is_test, count(*) FROM incentives_voucher WHERE status = 'available' "
         "AND vault_id IN (SELECT vault_id FROM campaigns_campaign_vaults WHERE campaign_id = %s) "
         "GROUP BY 1, 2, 3, 4", [campaign.pk]),
    ]


def plain_overview_sql(organization, period) -> list[tuple[str, list]]:
    previous = period.previous()
    return [(
        f"SELECT campaign_id, {COUNTS.format(w='created_at >= %s')}, {COUNTS.format(w='created_at < %s')} "
        "FROM tracking_interaction WHERE organization_id = %s AND campaign_id IS NOT NULL AND created_at >= %s "
        "AND created_at < %s GROUP BY 1",
        [period.start_at] * 5 + [period.start_at] * 5 + [organization.pk, previous.start_at, period.end_at],
    )]


KEY_PLAN_WORDS = ("Scan", "Aggregate", "Join", "Nested Loop", "Gather", "Sort", "Execution Time", "Rows Removed")


def explain(label: str, sql: str, params: list | None = None) -> None:
    from django.db import connection

    print(f"  {label}:")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        for (line,) in cursor.fetchall():
            if any(word in line for word in KEY_PLAN_WORDS):
                print("    " + line.rstrip())


def explain_page_queries(statements: list[str]) -> None:
    """The page's statements on the interactions or the rollups, as Django sent them."""
    for sql in statements:
        for table, label in (("reporting_interactionrollup", "rollups"), ("reporting_campaignhourtotals", "totals"),
                             ("tracking_interaction", "interactions")):
            if f'FROM "{table}"' in sql and "GROUP BY" in sql:
                explain(f"{label}: {sql[:110]}…", sql)
                break


def main() -> None:
    with page_database(DATABASE):
        from django.db import connection
        from django.test import Client, override_settings
        from django.utils import timezone

        from core.scoping import scopes_disabled
        from reporting.models import CampaignHourTotals, InteractionRollup
        from reporting.periods import preset_period
        from reporting.rollups import closed_until, roll_up_interactions, rollup_select_sql

        heading(f"reporting: loading {ROWS:,} interactions over 90 days across {CAMPAIGNS} campaigns")
        started = time.perf_counter()
        organization, user, campaign = populate()
        print(f"loaded in {time.perf_counter() - started:.1f} s")

        heading("rollup task: every closed hour, from nothing")
        started = time.perf_counter()
        written = roll_up_interactions()
        seconds = time.perf_counter() - started
        with scopes_disabled():
            rolled, totals = InteractionRollup.objects.count(), CampaignHourTotals.objects.count()
        print(f"roll_up_interactions(): {written:,} rollup rows ({ROWS / max(rolled, 1):.2f} interactions per row) "
              f"and {totals:,} campaign-hour totals in {seconds:.1f} s")
        started = time.perf_counter()
        again = roll_up_interactions()
        print(f"run again at once: {again} rows in {ms(time.perf_counter() - started)} (nothing new to roll)")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reporting_interactionrollup, reporting_campaignhourtotals")

        client = Client()
        client.force_login(user)
        now = timezone.now()
        dashboard_url = f"/reporting/campaigns/{campaign.pk}/"
        for preset in ("30d", "90d"):
            period = preset_period(preset, organization.zone)
            plain_dashboard = plain_dashboard_sql(campaign, period, now)
            plain_overview = plain_overview_sql(organization, period)
            dashboard_plain_times = sql_times(plain_dashboard)
            overview_plain_times = sql_times(plain_overview)
            for rollups in (True, False):
                heading(f"period {period.label}, rollups {'on' if rollups else 'off'}")
                with override_settings(REPORTING_USE_ROLLUPS=rollups):
                    times, statements = page_times(client, f"{dashboard_url}?period={preset}", REQUESTS)
                    report("campaign dashboard", times, statements, dashboard_plain_times, len(plain_dashboard))
                    overview_times, overview_statements = page_times(client, f"/reporting/?period={preset}", REQUESTS)
                    report("organization overview", overview_times, overview_statements, overview_plain_times,
                           len(plain_overview))
                if preset == "30d":
                    print("EXPLAIN ANALYZE, key lines")
                    explain_page_queries(statements)
                    explain_page_queries(overview_statements)
                    if not rollups:
                        explain("plain SQL: overview", *plain_overview[0])
                        explain("plain SQL: dashboard by hour", *plain_dashboard[0])

        heading("rollup task: the next run, one more hour to roll")
        next_hour = closed_until(timezone.now() + timedelta(hours=1))
        explain("the rollup's SELECT for that hour", rollup_select_sql(),
                [[organization.pk], next_hour - timedelta(hours=1), next_hour])
        started = time.perf_counter()
        written = roll_up_interactions(now=timezone.now() + timedelta(hours=1))  # the current hour, as if closed
        print(f"roll_up_interactions(): {written:,} rollup rows in {ms(time.perf_counter() - started)}")


if __name__ == "__main__":
    main()

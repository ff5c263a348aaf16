"""The beat roll of campaign statuses (design §3) at 100,000 campaigns: the project's against hand-written SQL.

Creates the campaigns with set-based INSERT … SELECT statements so that every one of them moves (a third each
to live, completed and archived), then alternately times the project's ``refresh_campaign_statuses()`` and the
equivalent raw SQL (an INSERT … SELECT into the history table and an UPDATE with the same CASE rules, in one
transaction), resetting the same data before each run. Prints the medians, their ratio (goal: the project
within 2× of raw) and the EXPLAIN ANALYZE of the project's statements at that size.

    python -m bench roll_statuses           # BENCH_CAMPAIGNS=100000 BENCH_REPEATS=7 by default
"""

import os
from datetime import datetime

from . import heading, median, scratch_database, timed

DATABASE = "va_bench_roll_statuses"
CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", "100000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
GOAL = 2.0


def populate(count: int) -> None:
    """``count`` pending campaigns, set-based: g % 3 = 0 will go live (vault, live and test integrations),
    1 completed (ended yesterday or so), 2 archived (ended 40+ days ago, still linked)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Organization, User
    from core.scoping import scopes_disabled
    from incentives.models import Vault

    now = timezone.now()
    with scopes_disabled(), transaction.atomic(), connection.cursor() as cursor:
        organization = Organization.objects.create(name="Bench", slug="bench")
        owner = User.objects.create_user(username="bench", password=None)
        vault = Vault.objects.create(organization=organization, name="Bench vault")
        params = {"organization": organization.pk, "owner": owner.pk, "vault": vault.pk, "now": now, "n": count}
        cursor.execute(
            """
            INSERT INTO campaigns_campaign (organization_id, name, external_id, description, owner_id, starts_at,
                ends_at, end_behavior, referral_number, max_awards_per_redeemer, status, status_changed_at,
                created_at, updated_at)
            SELECT %(organization)s, 'Bench campaign ' || g, 'bench-' || g, '', %(owner)s,
                   %(now)s - CASE g %% 3 WHEN 0 THEN interval '1 day' WHEN 1 THEN interval '10 days'
                                        ELSE interval '60 days' END - (g %% 1000) * interval '1 minute',
                   %(now)s + CASE g %% 3 WHEN 0 THEN interval '10 days' WHEN 1 THEN interval '-1 day'
                                        ELSE interval '-40 days' END - (g %% 1000) * interval '1 minute',
                   'normal', '', NULL, 'pending', NULL, %(now)s, %(now)s
            FROM generate_series(1, %(n)s) AS g
            """,
            params,
        )
        # Links and keys for the campaigns that go live, and for the archived ones (they had them once).
        cursor.execute(
            """
            INSERT INTO campaigns_campaign_vaults (campaign_id, vault_id)
            SELECT id, %(vault)s FROM campaigns_campaign
            WHERE organization_id = %(organization)s AND (ends_at > %(now)s OR ends_at < %(now)s - interval '30 days')
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO campaigns_integration (campaign_id, name, status, key_prefix, key_hash, rate_limit_per_minute,
                last_used_at, key_rotated_at, revoked_at, created_by_id, created_at, updated_at)
            SELECT c.id, k.status, k.status, 'vk_bench', encode(sha256(convert_to(k.status || c.id, 'UTF8')), 'hex'),
                   1000, NULL, NULL, NULL, NULL, %(now)s, %(now)s
            FROM campaigns_campaign_vaults c_v
            JOIN campaigns_campaign c ON c.id = c_v.campaign_id
            CROSS JOIN (VALUES ('live'), ('test')) AS k(status)
            """,
            params,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # planner statistics for every table, as autovacuum would have them


def reset() -> None:
    """Back to the state before a roll: every campaign pending, no history; compacted and analysed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE campaigns_campaignstatuschange")
        cursor.execute("UPDATE campaigns_campaign SET status = 'pending', status_changed_at = NULL")
        cursor.execute("VACUUM (FULL, ANALYZE) campaigns_campaign")
        cursor.execute("VACUUM (FULL, ANALYZE) campaigns_campaignstatuschange")
        cursor.execute("CHECKPOINT")


# The rules of campaigns.status, in their order, as a hand-written query would put them.
CONDITIONS = [
    "c.ends_at < %(archive_before)s",
    "c.ends_at <= %(now)s",
    "c.starts_at > %(now)s",
    "NOT EXISTS (SELECT 1 FROM campaigns_campaign_vaults v WHERE v.campaign_id = c.id)",
    "NOT EXISTS (SELECT 1 FROM campaigns_integration i WHERE i.campaign_id = c.id AND i.status = 'live')",
]


def case(results: list[str]) -> str:
    """CASE over CONDITIONS: one result per condition, then the ELSE."""
    whens = " ".join(f"WHEN {condition} THEN {result}" for condition, result in zip(CONDITIONS, results, strict=False))
    return f"CASE {whens} ELSE {results[-1]} END"


def raw_statements(now: datetime) -> list[tuple[str, dict]]:
    """The roll written by hand: same rules, same order. The INSERT evaluates the CASE once per campaign (a rule
    number joined to its status and reason); the UPDATE is the plain form, CASE in SET and WHERE."""
    from campaigns.status import ARCHIVE_AFTER, Reason

    params = {
        "now": now,
        "archive_before": now - ARCHIVE_AFTER,
        "r1": Reason.ARCHIVED,
        "r2": Reason.COMPLETED,
        "r3": Reason.NOT_STARTED,
        "r4": Reason.NO_VAULT,
        "r5": Reason.NO_LIVE_INTEGRATION,
        "r6": Reason.LIVE,
    }
    insert = f"""
        INSERT INTO campaigns_campaignstatuschange (campaign_id, from_status, to_status, changed_at, reason)
        SELECT c.id, c.status, r.status, %(now)s, r.reason
        FROM campaigns_campaign c
        CROSS JOIN LATERAL (SELECT {case(["1", "2", "3", "4", "5", "6"])} AS rule) k
        JOIN (VALUES (1, 'archived', %(r1)s), (2, 'completed', %(r2)s), (3, 'pending', %(r3)s),
                     (4, 'pending', %(r4)s), (5, 'pending', %(r5)s), (6, 'live', %(r6)s)) AS r(rule, status, reason)
          ON r.rule = k.rule
        WHERE c.status <> r.status
        FOR UPDATE OF c"""
    status = case(["'archived'", "'completed'", "'pending'", "'pending'", "'pending'", "'live'"])
    update = f"""
        UPDATE campaigns_campaign c SET status = {status}, status_changed_at = %(now)s
        WHERE c.status <> {status}"""
    return [(insert, params), (update, params)]


def roll_raw() -> int:
    from django.db import connection, transaction
    from django.utils import timezone

    with transaction.atomic(), connection.cursor() as cursor:
        insert, update = raw_statements(timezone.now())
        cursor.execute(*insert)
        moved = cursor.rowcount
        cursor.execute(*update)
        assert cursor.rowcount == moved, (cursor.rowcount, moved)
    return moved


def roll_project() -> int:
    from campaigns.services.statuses import refresh_campaign_statuses

    return refresh_campaign_statuses()


def outcome() -> tuple:
    """What a roll leaves behind, to check both ways give the same."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*), count(status_changed_at) FROM campaigns_campaign GROUP BY 1 ORDER BY 1"
        )
        campaigns = cursor.fetchall()
        cursor.execute(
            "SELECT from_status, to_status, reason, count(*), count(DISTINCT campaign_id) "
            "FROM campaigns_campaignstatuschange GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        return campaigns, cursor.fetchall()


def project_statements() -> list[tuple[str, object]]:
    """The SQL the project's roll sends (captured from a run that is rolled back)."""
    from django.db import connection, transaction

    captured = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture), transaction.atomic():
        roll_project()
        transaction.set_rollback(True)
    return captured


def explain(statements: list[tuple[str, object]]) -> None:
    """EXPLAIN ANALYZE each statement in turn (the UPDATE after the INSERT, as in a roll), then roll back."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            print(f"\n-- {' '.join(sql.split())[:160]} …")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql, params)
            for (line,) in cursor.fetchall():
                print(line)
        transaction.set_rollback(True)


def main() -> None:
    heading(f"roll_statuses: {CAMPAIGNS:,} campaigns, all moving; {REPEATS} timed runs of each, alternating")
    with scratch_database(DATABASE):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            print(f"PostgreSQL {cursor.fetchone()[0]}, scratch database {DATABASE}")

        seconds, _ = timed(lambda: populate(CAMPAIGNS))
        print(f"setup: {CAMPAIGNS:,} campaigns, their links and keys inserted in {seconds:.2f} s")

        # A warm-up of each, which also checks that both leave exactly the same thing behind.
        results = {}
        for label, roll in (("project", roll_project), ("raw", roll_raw)):
            reset()
            moved = roll()
            assert moved == CAMPAIGNS, f"{label} moved {moved:,} of {CAMPAIGNS:,}"
            results[label] = outcome()
        assert results["project"] == results["raw"], results
        campaigns, changes = results["project"]
        print("both move every campaign, to: " + ", ".join(f"{status} {count:,}" for status, count, _ in campaigns))
        print("with one history row each: " + "; ".join(f"{a} → {b} ({why}) {n:,}" for a, b, why, n, _ in changes))

        times: dict[str, list[float]] = {"project": [], "raw": []}
        for run in range(REPEATS):
            order = (("project", roll_project), ("raw", roll_raw))
            for label, roll in order if run % 2 == 0 else reversed(order):
                reset()
                seconds, moved = timed(roll)
                assert moved == CAMPAIGNS
                times[label].append(seconds)

        project, raw = median(times["project"]), median(times["raw"])
        ratio = project / raw
        heading("roll_statuses: results")
        for label, title in (("project", "project refresh_campaign_statuses()"), ("raw", "hand-written SQL")):
            runs = ", ".join(f"{t:.3f}" for t in times[label])
            print(f"{title:<38} median {median(times[label]):7.3f} s   best {min(times[label]):.3f} s   runs: {runs}")
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"{'ratio project / raw':<38} {ratio:7.2f}×    goal ≤ {GOAL:.0f}×: {verdict}")
        print(f"{'campaigns moved per second (project)':<38} {CAMPAIGNS / project:,.0f}")
        # The every-minute steady state: nothing to move, the roll only reads.
        idle = [timed(roll_project) for _ in range(REPEATS)]
        assert all(moved == 0 for _, moved in idle)
        print(f"{'project roll with nothing to move':<38} median {median([t for t, _ in idle]):7.3f} s")

        heading(f"EXPLAIN ANALYZE of the project's roll at {CAMPAIGNS:,} campaigns")
        reset()
        explain(project_statements())


if __name__ == "__main__":
    main()

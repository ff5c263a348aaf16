"""Grid pages and downloads at a million rows (issue: the admin UI, and the interactions grid).

With 1,000,000 vouchers: the filtered voucher grid's server time (p50/p95, Django's test client in-process,
middleware and rendering included) against the same page's SQL run raw; the CSV download's rows/s and peak
memory growth against PostgreSQL ``COPY`` of the same rows. With 1,000,000 interactions over 90 days and 50
campaigns: the interactions grid filtered by campaign and outcome, the redeemer search and the unfiltered first
page, against their SQL. Beside each page, its floor: the same SQL behind one bare view with the project's
middleware and login (``_page_floor``), what any page costs here before its own work; and Django's admin
changelist of the same model, filter and rows (the project's ModelAdmins, as a superuser). Requests run on
persistent connections, as in production. Goals: every grid faster than the admin's changelist (ours ÷ admin
< 1); the voucher grid and the campaign + outcome grid ≤ 3× raw SQL (for the redeemer search and the first page
the raw SQL figure is information); download ≥ 0.2× COPY with memory growth ≤ 100 MB. Then every voucher
(1,000,000 rows) as XLSX, built as the background export builds it (the task run eagerly, in this process),
beside the CSV download of the same rows and their COPY: time and peak memory growth of each (goal: XLSX memory
growth ≤ 100 MB), and the plan of the export's query.

    python -m bench grids        # BENCH_ROWS=1000000 BENCH_REQUESTS=30 by default
"""

import os
import re
import tempfile
import time

from . import get_ok, heading, median, p95, page_database, page_times, timed

DATABASE = os.environ.get("BENCH_DATABASE", "va_bench_grids")
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))


def populate():
    from django.db import connection, transaction

    from accounts.models import Membership, Organization, User
    from campaigns.models import Campaign
    from core.scoping import scopes_disabled
    from incentives.models import Vault

    with scopes_disabled(), transaction.atomic(), connection.cursor() as cursor:
        organization = Organization.objects.create(name="Bench", slug="bench", time_zone="Europe/London")
        user = User.objects.create_user(username="bench-admin", password=None)
        User.objects.create_superuser(username="bench-superuser", email="", password=None)
        Membership.objects.create(user=user, organization=organization, role="admin")
        vault = Vault.objects.create(organization=organization, name="Bench vault")
        cursor.execute(
            """
            INSERT INTO incentives_voucher (vault_id, vendor, amount, currency, code, pin, is_test, status, created_at)
            SELECT %s, (ARRAY['ACME', 'Globex', 'Initech', 'Umbrella'])[g %% 4 + 1], 10 + (g %% 3) * 15, 'USD',
                   'CODE-' || g, '', g %% 10 = 0, CASE WHEN g %% 2 = 0 THEN 'awarded' ELSE 'available' END, now()
            FROM generate_series(1, %s) AS g
            """,
            [vault.pk, ROWS],
        )
        campaigns = [
            Campaign.objects.create(organization=organization, owner=user, name=f"Bench campaign {n}")
            for n in range(50)
        ]
        first = campaigns[0].pk
        cursor.execute(
            """
            INSERT INTO tracking_interaction (organization_id, campaign_id, kind, outcome, error_code, message,
                redeemer_mobile, redeemer_email, redeemer_external_id, http_status, latency_ms, request_id,
                created_at)
            SELECT %s, %s + g %% 50, 'award',
                   (ARRAY['success', 'success', 'success', 'out_of_stock', 'error', 'exception'])[g %% 6 + 1],
                   '', '', '+4477009' || lpad((g %% 100000)::text, 5, '0'), 'user' || (g %% 200000) || '@example.com',
                   'ext-' || (g %% 200000), 201, 12, md5(g::text), now() - (g %% 129600) * interval '1 minute'
            FROM generate_series(1, %s) AS g
            """,
            [organization.pk, first, ROWS],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user, campaigns[7]


def raw_seconds(statements: list[str]) -> float:
    from ._page_floor import run_statements

    started = time.perf_counter()
    run_statements(statements)
    return time.perf_counter() - started


def page_pks(response) -> list[int]:
    """The pks of the rows a grid page or an admin changelist shows, in order (both are TemplateResponses)."""
    context = response.context_data
    if "cl" in context:
        return [row.pk for row in context["cl"].result_list]
    return [row.record.pk for row in context["table"].paginated_rows]


def same_rows(client, url: str, admin_client, admin_url: str) -> int:
    """Stop the benchmark unless both pages answer 200 with the same rows in the same order; their count."""
    ours, theirs = client.get(url), admin_client.get(admin_url)
    assert ours.status_code == 200 and theirs.status_code == 200, (url, ours.status_code, admin_url,
                                                                   theirs.status_code)
    rows = page_pks(ours)
    assert rows and rows == page_pks(theirs), (url, admin_url, rows[:5], page_pks(theirs)[:5])
    return len(rows)


def compare_page(client, label: str, url: str, admin_client, admin_url: str, raw_goal: bool = True) -> None:
    """The page against its SQL run raw, against the floor: the same SQL behind one bare view with the
    project's middleware and login (``_page_floor``), and against Django's admin changelist of the same rows
    (``admin_url``, requested by ``admin_client``, a superuser). The four are taken in turn, request by request,
    so the drift of this shared machine biases none of them."""
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from . import _page_floor

    rows = same_rows(client, url, admin_client, admin_url)
    _, statements = page_times(client, url, 0)  # warm, and the SQL of one request
    with CaptureQueriesContext(connection) as admin_queries:
        get_ok(admin_client, admin_url)
    admin_sql = [q["sql"] for q in admin_queries.captured_queries]  # now: the next request resets the log
    # Only the grid's own statements: the session, user and membership lookups are the floor's, not the page's.
    grid_sql = [re.sub(r"^DECLARE .*? CURSOR WITH HOLD FOR ", "", s)  # choice lists iterate a server-side cursor
                for s in statements if "django_session" not in s and "accounts_" not in s]
    if os.environ.get("BENCH_SHOW_SQL"):
        print("\n".join(grid_sql))
        print("admin:\n" + "\n".join(admin_sql))
    _page_floor.STATEMENTS[:] = grid_sql
    page, raw, floor, admin = [], [], [], []
    with override_settings(ROOT_URLCONF="bench._page_floor"):
        get_ok(client, _page_floor.FLOOR_PATH)  # warm
        for _ in range(REQUESTS):
            page.append(timed(lambda: get_ok(client, url))[0])
            raw.append(raw_seconds(grid_sql))
            floor.append(timed(lambda: get_ok(client, _page_floor.FLOOR_PATH))[0])
            admin.append(timed(lambda: get_ok(admin_client, admin_url))[0])
    ratio = median(page) / median(raw)
    goal = f"(goal ≤ 3) {'OK' if ratio <= 3 else 'MISSED'}" if raw_goal else "(information)"
    print(f"{label}: page p50 {median(page) * 1000:.1f} ms p95 {p95(page) * 1000:.1f} ms | raw SQL "
          f"({len(grid_sql)} statements) p50 {median(raw) * 1000:.1f} ms p95 {p95(raw) * 1000:.1f} ms | "
          f"ratio {ratio:.2f} {goal}  [{len(statements)} queries in all, {rows} rows]")
    print(f"    floor (the same SQL behind a bare view with the login middleware): p50 {median(floor) * 1000:.1f} ms "
          f"= {median(floor) / median(raw):.2f} × raw SQL; the page is {median(page) / median(floor):.2f} × the floor, "
          f"{(median(page) - median(floor)) * 1000:.1f} ms of its own work")
    versus = median(page) / median(admin)
    print(f"    Django admin changelist {admin_url}: p50 {median(admin) * 1000:.1f} ms p95 {p95(admin) * 1000:.1f} ms "
          f"[{len(admin_sql)} queries, the same {rows} rows] | ours ÷ admin {versus:.2f} "
          f"(goal < 1) {'met' if versus < 1 else 'missed'}")


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def compare_download(client, url: str, copy_sql: str) -> None:
    from django.db import connection

    reset_peak_rss()
    before = peak_rss_mb()
    started = time.perf_counter()
    response = client.get(url)
    rows = -1  # the header
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    growth = peak_rss_mb() - before

    started = time.perf_counter()
    copied = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY ({copy_sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for data in copy:
            copied += bytes(data).count(b"\n")
    copy_seconds = time.perf_counter() - started
    ratio = (rows / seconds) / ((copied - 1) / copy_seconds)
    print(f"CSV download: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s, peak memory growth "
          f"{growth:.1f} MB | COPY: {copied - 1:,} rows in {copy_seconds:.2f} s = {(copied - 1) / copy_seconds:,.0f} "
          f"rows/s | ratio {ratio:.2f} (goal ≥ 0.2) {'OK' if ratio >= 0.2 else 'MISSED'}, memory "
          f"{'OK' if growth <= 100 else 'MISSED'} (goal ≤ 100 MB)")


VOUCHER_COPY = ("SELECT v.code, v.vendor, v.amount, v.currency, v.is_test, v.status, vt.name, v.expires_at, "
                "v.awarded_at FROM incentives_voucher v JOIN incentives_vault vt ON vt.id = v.vault_id {where} "
                "ORDER BY v.id DESC")


def compare_xlsx(client, url: str) -> None:
    """The XLSX download of ``url`` above the request's bound: the export's page answered at once, then the
    file as a worker writes it (eager here, so its time and memory are this process's)."""
    import os.path

    from django.core.files.storage import default_storage
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.scoping import scopes_disabled
    from grids.models import Export
    from grids.views import replay_download

    reset_peak_rss()
    before = peak_rss_mb()
    seconds, response = timed(lambda: client.get(url))
    growth = peak_rss_mb() - before
    assert response.status_code == 302, response.status_code
    with scopes_disabled():
        export = Export.objects.latest("pk")
    assert export.status == Export.Status.READY, (export.status, export.error)
    size = default_storage.size(export.file.name)
    print(f"XLSX background export: {export.rows_done:,} rows in {seconds:.2f} s = {export.rows_done / seconds:,.0f} "
          f"rows/s, {size / 1e6:.1f} MB file ({os.path.basename(export.file.name)}), peak memory growth "
          f"{growth:.1f} MB (goal ≤ 100 MB) {'OK' if growth <= 100 else 'MISSED'}; absolute peak RSS "
          f"{peak_rss_mb():.0f} MB")
    with scopes_disabled(), CaptureQueriesContext(connection) as queries:
        download = replay_download(export)
        next(download.rows)
        download.rows.close()
    declared = [q["sql"] for q in queries.captured_queries if "CURSOR" in q["sql"]][-1]
    heading("plan of the export's query (every voucher, the grid's default order)")
    explain(re.sub(r"^DECLARE .*? CURSOR WITH HOLD FOR ", "", declared))
    default_storage.delete(export.file.name)


def explain(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        for (line,) in cursor.fetchall():
            print("    " + line)


def main() -> None:
    # The XLSX export's task runs in this process, as a worker would run it: nothing goes to a broker.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-grids-"))
    with page_database(DATABASE):
        from django.test import Client

        from accounts.models import User

        heading(f"grids: loading {ROWS:,} vouchers and {ROWS:,} interactions")
        started = time.perf_counter()
        user, campaign = populate()
        print(f"loaded in {time.perf_counter() - started:.1f} s")
        client = Client()
        client.force_login(user)
        admin_client = Client()
        admin_client.force_login(User.objects.get(username="bench-superuser"))

        heading("voucher grid, filtered (vendor=Globex, status=available, sorted by code)")
        # o=1: list_display's first column, code; vendor__iexact is the grid's own lookup, as the admin takes it.
        compare_page(client, "vouchers", "/incentives/vouchers/?vendor=Globex&status=available&sort=code",
                     admin_client,
                     "/django-admin/incentives/voucher/?vendor__iexact=Globex&status__exact=available&o=1")
        heading("voucher CSV download (vendor=Globex: 250,000 rows) against COPY")
        compare_download(
            client, "/incentives/vouchers/?vendor=Globex&format=csv",
            VOUCHER_COPY.format(where="WHERE UPPER(v.vendor) = UPPER('Globex')"),
        )
        heading(f"every voucher ({ROWS:,} rows): XLSX as a background export, CSV streamed, COPY")
        compare_xlsx(client, "/incentives/vouchers/?format=xlsx")
        heading(f"every voucher ({ROWS:,} rows) as CSV, streamed, against COPY")
        compare_download(client, "/incentives/vouchers/?format=csv", VOUCHER_COPY.format(where=""))
        heading("interactions grid")
        admin_interactions = "/django-admin/interactions/interaction/"
        compare_page(client, "interactions by campaign + outcome",
                     f"/interactions/?campaign={campaign.pk}&outcome=exception", admin_client,
                     f"{admin_interactions}?campaign__id__exact={campaign.pk}&outcome__exact=exception")
        # The admin's search_fields: icontains over every field, its real behaviour.
        compare_page(client, "interactions redeemer search", "/interactions/?redeemer=user4242@example.com",
                     admin_client, f"{admin_interactions}?q=user4242@example.com", raw_goal=False)
        compare_page(client, "interactions, unfiltered first page", "/interactions/", admin_client, admin_interactions,
                     raw_goal=False)
        _, statements = page_times(client, "/interactions/?redeemer=user4242@example.com", REQUESTS)
        heading("plan of the redeemer search's page query")
        explain([s for s in statements if "tracking_interaction" in s and "LIMIT" in s][0])
        _, statements = page_times(admin_client, f"{admin_interactions}?q=user4242@example.com", 0)
        heading("plan of the admin's redeemer search: its page query (it counts the same rows first)")
        # No LIMIT: the admin reads the whole result when it fits on one page.
        explain([s for s in statements if "tracking_interaction" in s and "COUNT(*)" not in s][0])


if __name__ == "__main__":
    main()

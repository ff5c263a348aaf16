"""``POST /api/v1/awards`` under load, beside its physical floor (/work/shared/refs/award_floor).

Creates a scratch database with 1,000,000 vouchers of one type (set-based), serves the project with gunicorn
(4 workers, DEBUG=0) and drives the award with wrk at 1, 8 and 32 clients on a fresh vault and on a
half-awarded one (each run starts from that state again), then gives 200,000 awards in a row and measures
again. Runs the floor's own script (pgbench and a bare Django view running the award's SQL) and prints both
side by side with the ratios against the goals, the EXPLAIN ANALYZE of the pick fresh and after many awards,
and the count of vouchers given twice (must be 0).

    python -m bench award            # BENCH_SECONDS=10 per run, BENCH_VOUCHERS=1000000, BENCH_IN_A_ROW=200000

With BENCH_REPORTING=1 it measures instead the award at 8 and 32 clients without and with the reporting
machinery running beside it (issue 10): the rollup task's function every second (on the open hour), then that
and a reader loading the campaign dashboard every BENCH_DASHBOARD_EVERY=5 seconds, in alternating runs (off,
rollups, dashboard, dashboard, rollups, off; BENCH_PAIRS=2 times), and the ratios against the goal.
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import PROJECT_DIR, heading, page_database, scratch_database

DATABASE = "va_bench_award"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
VOUCHERS = int(os.environ.get("BENCH_VOUCHERS", "1000000"))
IN_A_ROW = int(os.environ.get("BENCH_IN_A_ROW", "200000"))
CLIENTS = (1, 8, 32)
FLOOR_SCRIPT = PROJECT_DIR.parent / "shared" / "refs" / "award_floor" / "run.sh"
BIN = Path(sys.executable).parent

# Goals (issue 9): ours against the bare view, and against ourselves on a fresh vault.
GOAL_THROUGHPUT_VS_FLOOR = 0.5  # at 8 and 32 clients
GOAL_STABLE_WITHIN = 0.2  # half-awarded and after IN_A_ROW awards, against fresh
GOAL_P50_VS_FLOOR = 2.0  # at 1 client
# Goal (issue 10): the award with the reporting machinery running, against without it, at 8 and 32 clients.
GOAL_WITH_REPORTING = 0.95
PAIRS = int(os.environ.get("BENCH_PAIRS", "2"))
DASHBOARD_EVERY = float(os.environ.get("BENCH_DASHBOARD_EVERY", "5"))  # seconds between two dashboard reads
REPORTING_ORDER = ("off", "rollups", "dashboard", "dashboard", "rollups", "off")  # each pair: drift biases none


def wrk_script(
    path: str, body: str, *, method: str = "POST", path_expression: str | None = None, each: str = ""
) -> str:
    """A wrk Lua script sending JSON to ``path`` with the key given after ``--``, and printing one BENCH line.

    ``body`` is a Lua expression for the JSON (``nil`` for none); ``path_expression``, when given, one for the
    path instead of ``path``. In both, ``fresh`` is new on every request (this run's start, the wrk thread, a
    counter), ``tid`` and ``sent`` are the thread and its counter, and ``base`` is the number given after the key
    (0 by default). ``each`` is Lua run first on every request (to pick something both expressions use).
    """
    return (
        """
local threads, started = 0, os.time()
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local key, base, sent = nil, 0, 0
function init(args)
  key = args[1]
  base = tonumber(args[2] or "0")
  math.randomseed(os.time() * 100 + tid)
end
function request()
  sent = sent + 1
  local fresh = started .. '-' .. tid .. '-' .. sent
  EACH
  return wrk.format("METHOD", PATH,
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, BODY)
end
function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.3f non2xx=%d errors=%d p50=%d p95=%d\\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""
        .replace("EACH", each)
        .replace("METHOD", method)
        .replace("PATH", path_expression or f'"{path}"')
        .replace("BODY", body)
    )


# A fresh redeemer on every request.
WRK_SCRIPT = wrk_script(
    "/api/v1/awards",
    """'{"vendor":"ACME","amount":"10.00","currency":"USD","redeemer":{"external_id":"c-' .. fresh .. '"}}'""",
)


@dataclass
class Run:
    requests: int
    seconds: float
    non_2xx: int
    errors: int
    p50_ms: float
    p95_ms: float
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by process kind ("server", "database")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cpu_ms(self, kind: str) -> float:
        """CPU milliseconds a request of the run took in ``kind``'s processes (0 when not measured)."""
        return 1000 * self.cpu_seconds.get(kind, 0.0) / self.requests if self.requests else 0.0

    def __str__(self) -> str:
        failed = f", {self.non_2xx} non-2xx, {self.errors} socket errors" if self.non_2xx or self.errors else ""
        return f"{self.rate:8.0f} req/s  p50 {self.p50_ms:6.2f} ms  p95 {self.p95_ms:6.2f} ms{failed}"


@dataclass
class FloorRun:
    pgbench_tps: float
    rate: float
    p50_ms: float


# --- data -----------------------------------------------------------------------------------------


def populate(count: int) -> tuple[str, int]:
    """One organization, a live campaign with one vault of ``count`` ACME 10.00 USD vouchers, a live key.

    Returns (key, campaign id). The key's rate limit is high but set, so every request pays its cache trip.
    """
    from django.db import transaction

    from accounts.models import Organization, User
    from campaigns.models import Campaign, Integration
    from campaigns.services.integrations import create_integration
    from core.scoping import scopes_disabled
    from incentives.models import Vault

    with scopes_disabled(), transaction.atomic():
        organization = Organization.objects.create(name="Bench", slug="bench")
        owner = User.objects.create_user(username="bench", password=None)
        vault = Vault.objects.create(organization=organization, name="Bench vault")
        campaign = Campaign.objects.create(organization=organization, owner=owner, name="Bench award")
        campaign.vaults.add(vault)
        key = create_integration(
            campaign, name="Load", status=Integration.Status.LIVE, rate_limit_per_minute=1_000_000_000
        ).key
        add_vouchers(vault.pk, count)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE, campaign.status
    vacuum()
    return key, campaign.pk


def add_vouchers(vault_id: int, count: int) -> None:
    """``count`` available ACME 10.00 USD vouchers (codes C1, C2, …) in the vault, set-based."""
    from django.db import connection

    from incentives.models import Voucher

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Voucher._meta.db_table} (vault_id, vendor, amount, currency, code, pin, is_test,
                expires_at, status, awarded_at, interaction_id, created_at)
            SELECT %s, 'ACME', 10.00, 'USD', 'C' || g, '', false, NULL, 'available', NULL, NULL, now()
            FROM generate_series(1, %s) AS g
            """,
            [vault_id, count],
        )


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE incentives_voucher, tracking_interaction")


def reset(state: str, count: int) -> None:
    """Back to a fresh vault, or to exactly half of it awarded (lowest ids, as the floor does), compacted."""
    from django.db import connection, transaction

    wait_for_quiet()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incentives_voucher SET status = 'available', awarded_at = NULL, interaction_id = NULL "
            "WHERE status <> 'available'"
        )
        # Tolerant of an award a gunicorn worker was still finishing: its interaction stays with its voucher.
        cursor.execute(
            "DELETE FROM tracking_interaction i WHERE NOT EXISTS "
            "(SELECT 1 FROM incentives_voucher v WHERE v.interaction_id = i.id)"
        )
        if state == "half":
            cursor.execute(
                "UPDATE incentives_voucher SET status = 'awarded', awarded_at = now() "
                "WHERE id < (SELECT min(id) FROM incentives_voucher) + %s",
                [count // 2],
            )
    vacuum()


def wait_for_quiet() -> None:
    """Until the awards wrk left in flight are through (wrk is gone: no new one starts)."""
    from django.db import connection

    time.sleep(0.3)
    with connection.cursor() as cursor:
        for _ in range(100):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


def given_twice() -> int:
    """Vouchers that two interactions claim, plus awarded vouchers whose interaction is not theirs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT voucher_id FROM tracking_interaction WHERE voucher_id IS NOT NULL "
            "GROUP BY voucher_id HAVING count(*) > 1) AS twice"
        )
        twice = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM incentives_voucher v LEFT JOIN tracking_interaction i ON i.id = v.interaction_id "
            "WHERE v.status = 'awarded' AND v.interaction_id IS NOT NULL AND i.voucher_id IS DISTINCT FROM v.id"
        )
        return twice + cursor.fetchone()[0]


def awarded_through_api() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_interaction WHERE voucher_id IS NOT NULL")
        return cursor.fetchone()[0]


def explain_pick(campaign_id: int, *, after: int | None = None) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the pick the award runs (from ``after`` on, when given), rolled back."""
    from django.db import connection, transaction

    from campaigns.models import Campaign
    from incentives.services.awards import _pick
    from incentives.services.vouchers import linked_vault_ids

    campaign = Campaign._base_manager.get(pk=campaign_id)
    pick = _pick(linked_vault_ids(campaign), "ACME", Decimal("10.00"), "USD", False, after)  # the award's own
    with transaction.atomic():
        sql, params = pick.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def frontier() -> int:
    """The highest voucher id awarded: about where each worker's frontier stands."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM incentives_voucher WHERE status = 'awarded'")
        return cursor.fetchone()[0]


# --- load -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now (other benchmarks run on this machine too)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = free_port()


class Server:
    """The project under gunicorn, as production runs it (4 sync workers, DEBUG off, persistent connections)."""

    def __init__(self, database_url: str, project: Path = PROJECT_DIR):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",  # wrk speaks plain HTTP to 127.0.0.1, as a load balancer would
            "CONN_MAX_AGE": "60",
            "CACHE_URL": os.environ.get("CACHE_URL", "rediscache://127.0.0.1:6379/1"),
            "LOG_LEVEL": "ERROR",
        }
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "4", "--log-level", "warning"],
            cwd=project,
            env=env,
        )

    def wait_ready(self) -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/openapi.json", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not come up")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(script: Path, key: str, clients: int, *, seconds: int, base: int = 0) -> Run:
    """``clients`` connections over 1 or 2 wrk threads for ``seconds``; ``base`` is handed to the script."""
    threads = 1 if clients < 2 else 2
    url = f"http://127.0.0.1:{PORT}/api/v1/awards"  # the script names each request's path
    command = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "-s", str(script), url, "--", key,
               str(base)]
    before = process_cpu()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    used = cpu_used(before, process_cpu())
    found = re.search(r"BENCH requests=(\d+) seconds=([\d.]+) non2xx=(\d+) errors=(\d+) p50=(\d+) p95=(\d+)", output)
    if found is None:
        raise SystemExit(f"wrk said:\n{output}")
    requests, seconds_, non_2xx, errors, p50, p95 = found.groups()
    return Run(int(requests), float(seconds_), int(non_2xx), int(errors), int(p50) / 1000, int(p95) / 1000, used)


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu() -> dict[int, tuple[str, float]]:
    """Each server (gunicorn) and database (postgres) process's CPU seconds so far, by pid, from /proc.

    CPU per request is a steadier figure than req/s on a shared machine: a slower moment stretches both alike,
    but a request's work stays what it is (stolen time aside)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        kind = "database" if name.startswith("postgres") else "server" if "gunicorn" in name else None
        if kind:
            found[int(pid)] = (kind, (int(fields[11]) + int(fields[12])) / _TICKS)  # utime + stime
    return found


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds by kind between two ``process_cpu`` readings (a process that ended meanwhile is left out)."""
    used: dict[str, float] = {}
    for pid, (kind, seconds) in after.items():
        used[kind] = used.get(kind, 0.0) + seconds - before.get(pid, (kind, 0.0))[1]
    return used


def award_in_a_row(script: Path, key: str, target: int, *, expected_rate: float) -> Run:
    """Awards at 32 clients, in runs of a minute at most, until ``target`` vouchers have gone; the whole as one Run."""
    runs: list[Run] = []
    while (done := awarded_through_api()) < target:
        rate = runs[-1].rate if runs else expected_rate
        runs.append(wrk(script, key, 32, seconds=max(2, min(60, int((target - done) / max(rate, 1.0)) + 1))))
        wait_for_quiet()
    last = runs[-1]
    return Run(
        sum(r.requests for r in runs),
        sum(r.seconds for r in runs),
        sum(r.non_2xx for r in runs),
        sum(r.errors for r in runs),
        last.p50_ms,
        last.p95_ms,
    )


def run_floor() -> dict[tuple[str, int], FloorRun]:
    """The reference's own script: pgbench and the bare view, at 1, 8 and 32 clients, fresh and half."""
    if not FLOOR_SCRIPT.exists():
        print(f"(no floor: {FLOOR_SCRIPT} is missing)")
        return {}
    output = subprocess.run(
        ["bash", str(FLOOR_SCRIPT), str(BIN / "python"), str(VOUCHERS), str(SECONDS)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    print(output.stdout.rstrip())
    if output.returncode != 0:
        print(output.stderr.rstrip())
    runs = {}
    pattern = r"(\w+) c=(\d+) pgbench (\d+) tps \| bare Django view (\d+) req/s p50 ([\d.]+)(us|ms|s)"
    for state, clients, tps, rate, p50, unit in re.findall(pattern, output.stdout):
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        runs[(state, int(clients))] = FloorRun(float(tps), float(rate), float(p50) * scale)
    return runs


# --- the benchmark --------------------------------------------------------------------------------


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if os.environ.get("BENCH_REPORTING", "") not in ("", "0"):
        main_with_reporting()
        return
    heading(f"award: {VOUCHERS:,} vouchers, {SECONDS}s per run, {IN_A_ROW:,} awards in a row")
    ours: dict[tuple[str, int], Run] = {}
    twice = 0
    with scratch_database(DATABASE) as database_url, tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "award.lua"
        script.write_text(WRK_SCRIPT)
        started = time.perf_counter()
        key, campaign_id = populate(VOUCHERS)
        print(f"loaded {VOUCHERS:,} vouchers in {time.perf_counter() - started:.1f}s")
        print("\nEXPLAIN ANALYZE of the pick, fresh vault:\n" + explain_pick(campaign_id))

        server = Server(database_url)
        try:
            server.wait_ready()
            for state in ("fresh", "half"):
                for clients in CLIENTS:
                    reset(state, VOUCHERS)
                    wrk(script, key, clients, seconds=1)  # warm every worker's connection and imports
                    reset(state, VOUCHERS)
                    ours[(state, clients)] = run = wrk(script, key, clients, seconds=SECONDS)
                    wait_for_quiet()
                    twice += given_twice()
                    print(f"ours  {state:5} c={clients:<2} {run}", flush=True)

            reset("fresh", VOUCHERS)
            started = time.perf_counter()
            row = award_in_a_row(script, key, IN_A_ROW, expected_rate=ours[("fresh", 32)].rate)
            awarded = awarded_through_api()
            print(f"\n{awarded:,} awards in a row at 32 clients: {row} ({time.perf_counter() - started:.0f}s)")
            for clients in (8, 32):
                ours[("after", clients)] = run = wrk(script, key, clients, seconds=SECONDS)
                print(f"ours  after c={clients:<2} {run}", flush=True)
            wait_for_quiet()
            twice += given_twice()
            awarded = awarded_through_api()
            print(f"\nEXPLAIN ANALYZE of a worker's first pick after {awarded:,} awards:\n{explain_pick(campaign_id)}")
            plan = explain_pick(campaign_id, after=frontier())
            print(f"\nEXPLAIN ANALYZE of the pick from a worker's frontier after {awarded:,} awards:\n{plan}")
        finally:
            server.stop()

    heading("the floor: pgbench and a bare Django view running the award's SQL (its own run.sh)")
    floor = run_floor()
    report(ours, floor, twice)


def report(ours: dict[tuple[str, int], Run], floor: dict[tuple[str, int], FloorRun], twice: int) -> None:
    heading("ours against the floor (req/s ratio: ours / bare view)")
    print(
        f"{'state':6} {'c':>3} {'ours req/s':>11} {'p50 ms':>7} {'p95 ms':>7} | {'view req/s':>10} {'p50 ms':>7} "
        f"{'pgbench':>8} | {'ratio':>6}"
    )
    for (state, clients), run in ours.items():
        reference = floor.get((state if state != "after" else "fresh", clients))
        view = f"{reference.rate:10.0f} {reference.p50_ms:7.2f} {reference.pgbench_tps:8.0f}" if reference else " " * 27
        ratio = f"{run.rate / reference.rate:6.2f}" if reference else "     -"
        print(f"{state:6} {clients:>3} {run.rate:11.0f} {run.p50_ms:7.2f} {run.p95_ms:7.2f} | {view} | {ratio}")

    heading("goals")
    verdicts = []

    def goal(text: str, ok: bool) -> None:
        verdicts.append(ok)
        print(f"[{'met ' if ok else 'MISS'}] {text}")

    for clients in (8, 32):
        reference = floor.get(("fresh", clients))
        if reference:
            ratio = ours[("fresh", clients)].rate / reference.rate
            goal(
                f"fresh c={clients}: {ratio:.2f}x the bare view's req/s (goal >= {GOAL_THROUGHPUT_VS_FLOOR})",
                ratio >= GOAL_THROUGHPUT_VS_FLOOR,
            )
    for state in ("half", "after"):
        for clients in (8, 32) if state == "after" else CLIENTS:
            change = ours[(state, clients)].rate / ours[("fresh", clients)].rate - 1
            goal(
                f"{state} c={clients}: {change:+.0%} against fresh (goal within {GOAL_STABLE_WITHIN:.0%})",
                abs(change) <= GOAL_STABLE_WITHIN or change > 0,
            )
    reference = floor.get(("fresh", 1))
    if reference:
        ratio = ours[("fresh", 1)].p50_ms / reference.p50_ms
        goal(f"fresh c=1: p50 {ratio:.2f}x the bare view's (goal <= {GOAL_P50_VS_FLOOR})", ratio <= GOAL_P50_VS_FLOOR)
    goal(f"vouchers given twice: {twice} (must be 0)", twice == 0)
    print("\nThe machine is shared: figures move with whatever else runs on it.")
    if twice:
        raise SystemExit(1)


# --- with the reporting machinery (issue 10) --------------------------------------------------------------


class Reporter:
    """The reporting machinery, in a thread of this process while it runs: every second the rollup task's
    function rolls the open hour up (the watermark moved back to its start first, so every tick has the hour's
    interactions to fold, where beat finds a closed hour once an hour), and with ``dashboards`` every
    ``DASHBOARD_EVERY`` seconds a reader loads the campaign's dashboard, once reading the open hour from the
    interactions and once from the rollups just written. Its CPU is taken on the same machine as gunicorn."""

    def __init__(self, campaign_id: int, organization_id: int, username: str, *, dashboards: bool):
        self.campaign_id, self.organization_id, self.username = campaign_id, organization_id, username
        self.dashboards = dashboards
        self.stopping = threading.Event()
        self.ticks = self.pages = self.rows = 0
        self.roll_seconds = self.page_seconds = self.cpu_seconds = 0.0
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Reporter":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)
        if self.failure is not None:
            raise RuntimeError("the reporting machinery failed") from self.failure

    def _run(self) -> None:
        from django.db import connection

        started_cpu = time.thread_time()
        try:
            self._loop()
        except BaseException as error:  # noqa: BLE001  (raised again in the main thread)
            self.failure = error
        finally:
            self.cpu_seconds = time.thread_time() - started_cpu
            connection.close()

    def _loop(self) -> None:
        from datetime import timedelta

        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from accounts.models import User
        from reporting.rollups import DEFAULT_GRACE, roll_up_interactions

        client = Client()
        if self.dashboards:
            client.force_login(User.objects.get(username=self.username))
        url = f"/reporting/campaigns/{self.campaign_id}/"  # the default period, as a marketer opens it
        grace = getattr(settings, "REPORTING_ROLLUP_GRACE", DEFAULT_GRACE)
        next_page = time.monotonic() if self.dashboards else float("inf")
        while not self.stopping.is_set():
            tick = time.monotonic()
            now = timezone.now()
            open_hour = now.replace(minute=0, second=0, microsecond=0)
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE reporting_rollupwatermark SET rolled_until = %s WHERE organization_id = %s",
                    [open_hour, self.organization_id],
                )
            if tick >= next_page:  # the open hour read from the interactions
                self._page(client, url)
            started = time.perf_counter()
            self.rows += roll_up_interactions(now=now + timedelta(hours=1) + grace)  # the open hour, as if closed
            self.roll_seconds += time.perf_counter() - started
            self.ticks += 1
            if tick >= next_page:  # and from the rollups
                self._page(client, url)
                next_page = tick + DASHBOARD_EVERY
            self.stopping.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

    def _page(self, client, url: str) -> None:
        started = time.perf_counter()
        response = client.get(url)
        self.page_seconds += time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"the dashboard answered {response.status_code}")
        self.pages += 1

    def __str__(self) -> str:
        return (
            f"{self.ticks} rollups ({self.rows:,} rows, {self.roll_seconds / max(self.ticks, 1) * 1000:.0f} ms each), "
            f"{self.pages} dashboards ({self.page_seconds / max(self.pages, 1) * 1000:.0f} ms each), "
            f"{self.cpu_seconds:.1f} s CPU in this process"
        )


def add_dashboard_reader() -> tuple[int, str]:
    """The bench campaign's owner becomes an admin of its organization: (organization id, username)."""
    from accounts.models import Membership, Organization, User

    organization = Organization.objects.get(slug="bench")
    user = User.objects.get(username="bench")
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.ADMIN)
    return organization.pk, user.username


def main_with_reporting() -> None:
    heading(
        f"award with the reporting machinery: {VOUCHERS:,} vouchers, {SECONDS}s per run, "
        f"{PAIRS} x (off, rollups, dashboard, dashboard, rollups, off) at 8 and 32 clients"
    )
    import logging

    logging.getLogger("reporting.rollups").setLevel(logging.WARNING)  # a line a second otherwise
    runs: dict[tuple[str, int], list[Run]] = {}
    twice = 0
    with page_database(DATABASE + "_reporting") as database_url, tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "award.lua"
        script.write_text(WRK_SCRIPT)
        started = time.perf_counter()
        key, campaign_id = populate(VOUCHERS)
        organization_id, username = add_dashboard_reader()
        print(f"loaded {VOUCHERS:,} vouchers in {time.perf_counter() - started:.1f}s")
        server = Server(database_url)
        try:
            server.wait_ready()
            for clients in (8, 32):
                reset("fresh", VOUCHERS)
                wrk(script, key, clients, seconds=1)  # warm every worker's connection and imports
                for reporting in REPORTING_ORDER * PAIRS:
                    reset("fresh", VOUCHERS)
                    if reporting == "off":
                        run, note = wrk(script, key, clients, seconds=SECONDS), ""
                    else:
                        dashboards = reporting == "dashboard"
                        with Reporter(campaign_id, organization_id, username, dashboards=dashboards) as reporter:
                            run = wrk(script, key, clients, seconds=SECONDS)
                        note = f"  | {reporter}"
                    runs.setdefault((reporting, clients), []).append(run)
                    wait_for_quiet()
                    twice += given_twice()
                    print(f"{reporting:9} c={clients:<2} {run}{note}", flush=True)
        finally:
            server.stop()
    report_with_reporting(runs, twice)


def pooled(runs: list[Run]) -> Run:
    """Several runs as one: their requests over their seconds; the median of their p50 and p95."""
    import statistics

    return Run(
        sum(r.requests for r in runs),
        sum(r.seconds for r in runs),
        sum(r.non_2xx for r in runs),
        sum(r.errors for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p95_ms for r in runs),
        {kind: sum(r.cpu_seconds.get(kind, 0.0) for r in runs) for kind in {k for r in runs for k in r.cpu_seconds}},
    )


def report_with_reporting(runs: dict[tuple[str, int], list[Run]], twice: int) -> None:
    heading("award without and with the reporting machinery (req/s pooled over the runs; median p50 and p95)")
    print(f"{'reporting':9} {'c':>3} {'runs':>4} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} | {'ratio to off':>12}")
    ratios = {}
    for clients in (8, 32):
        off = pooled(runs[("off", clients)])
        for reporting in ("off", "rollups", "dashboard"):
            run = pooled(runs[(reporting, clients)])
            ratios[(reporting, clients)] = ratio = run.rate / off.rate
            print(f"{reporting:9} {clients:>3} {len(runs[(reporting, clients)]):>4} {run.rate:7.0f} {run.p50_ms:7.2f} "
                  f"{run.p95_ms:7.2f} | {ratio:12.3f}")
    heading("goals")
    for (reporting, clients), ratio in ratios.items():
        if reporting == "off":
            continue
        met = ratio >= GOAL_WITH_REPORTING
        what = "the rollup task every second" if reporting == "rollups" else "the rollups and a dashboard reader"
        print(f"[{'met ' if met else 'MISS'}] c={clients}: with {what}, {ratio:.3f}x the award's req/s without "
              f"(goal >= {GOAL_WITH_REPORTING})")
    print(f"[{'met ' if twice == 0 else 'MISS'}] vouchers given twice: {twice} (must be 0)")
    print("\nThe machine is shared: figures move with whatever else runs on it.")
    if twice:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Engagement's events under load (issue 17), beside ``POST /api/v1/awards`` served the same way in the same run.

Creates a scratch database with 1,000,000 customers part-way through a live engagement campaign (a participation,
a visit progress and one event each, with its interaction and idempotency record, all set-based), a vault of
vouchers, and two opt-in campaigns (one with a limit). Serves the project with bench.award's gunicorn (4
workers, DEBUG=0) and drives with wrk, at 8 and 32 clients, each scenario in slices that alternate with award
slices (its reference: those award slices' pooled req/s, so a drift of the machine's speed moves both alike):

- ``count``: an event that only counts, for a random existing customer among the 1,000,000;
- ``count_new``: the same for a new customer (made by the event);
- ``complete``: an event that completes a behaviour and gives a voucher (a distinct existing customer each);
- ``replay``: an event sent again with its reference (200, the first body);
- ``opt_in`` / ``opt_in_limit``: a first opt-in, without and with a limit;
- ``progress``: a progress read of a random existing customer;
- ``one``: every client on one customer (they queue on its participation's lock).

Then adds another 1,000,000 events (set-based, as the API writes them) and measures the award, ``count``,
``complete``, ``replay`` and ``progress`` again. Prints the figures, the ratios against the goals, the EXPLAIN
ANALYZE of the participation lock, the progress update and the event insert (the statements an event runs,
captured from one), the vouchers given twice (must be 0) and ``check_engagement`` on the campaigns (clean).

    python -m bench events      # BENCH_SECONDS=4 (a slice), BENCH_ROUNDS=3, BENCH_CUSTOMERS=1000000,
                                # BENCH_MORE_EVENTS=1000000
"""

import os
import shutil
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from . import heading, scratch_database, verdict
from .award import PORT, Run, Server, add_vouchers, given_twice, pooled, vacuum, wait_for_quiet, wrk, wrk_script

DATABASE = "va_bench_events"
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))  # each slice
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # slices of each scenario, each between two award slices
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
MORE_EVENTS = int(os.environ.get("BENCH_MORE_EVENTS", "1000000"))
VOUCHERS = int(os.environ.get("BENCH_EVENT_VOUCHERS", "500000"))  # the awards' and the completions' (~250,000)
REPLAYS = 500  # events recorded through the API before the run, then sent again
CLIENTS = (8, 32)
# ``complete``'s wrk runs (a warm-up and ROUNDS slices, at each client count, before and after), each thread of
# each run on a range of STRIDE customers of its own.
COMPLETE_RUNS = 2 * len(CLIENTS) * (1 + ROUNDS)
STRIDE = CUSTOMERS // (2 * COMPLETE_RUNS + 1)

# Goals (issue 17), as ratios to the award's req/s at the same client count in the same run.
GOALS = {"count": 0.6, "complete": 0.45, "replay": 1.0, "progress": 1.0}
GOAL_AFTER_WITHIN = 0.2  # the same ratios after MORE_EVENTS more events, against before

BEFORE = ("count", "count_new", "complete", "replay", "opt_in", "opt_in_limit", "progress", "one")
AFTER = ("count", "complete", "replay", "progress")


def _event(customer: str, event_name: str, reference: str) -> str:
    """A Lua expression for an event's JSON body (``customer`` and ``reference`` are Lua expressions)."""
    return (f"""'{{"customer":{{"external_id":"' .. {customer} .. '"}},"event_name":"{event_name}",'"""
            f"""  .. '"reference":"' .. {reference} .. '"}}'""")


PICK = f"local n = math.random(1, {CUSTOMERS})"  # a random existing customer: c-n
SCRIPTS = {
    "award": wrk_script(
        "/api/v1/awards",
        """'{"vendor":"ACME","amount":"10.00","currency":"USD","redeemer":{"external_id":"a-' .. fresh .. '"}}'""",
    ),
    "count": wrk_script("/api/v1/events", _event("'c-' .. n", "visit", "fresh"), each=PICK),
    "count_new": wrk_script("/api/v1/events", _event("'n-' .. fresh", "visit", "fresh")),
    "complete": wrk_script("/api/v1/events", _event(f"'c-' .. (base + tid * {STRIDE} + sent)", "signup", "fresh")),
    # Event ``n`` of those recorded before the run, sent again body for body.
    "replay": wrk_script("/api/v1/events", _event("'c-' .. n", "visit", "'replay-' .. n"),
                         each=f"local n = math.random(1, {REPLAYS})"),
    "opt_in": wrk_script("", "'{}'", path_expression="'/api/v1/customers/c-' .. n .. '/opt_in'", each=PICK),
    "opt_in_limit": wrk_script("", "'{}'", path_expression="'/api/v1/customers/c-' .. n .. '/opt_in'", each=PICK),
    "progress": wrk_script("", "nil", method="GET", path_expression="'/api/v1/customers/c-' .. n .. '/progress'",
                           each=PICK),
    "one": wrk_script("/api/v1/events", _event("'c-1'", "visit", "fresh")),
}


@dataclass
class Bench:
    organization_id: int
    campaign_id: int
    integration_id: int
    visit_id: int
    keys: dict[str, str]  # scenario → key


# --- data -----------------------------------------------------------------------------------------


def populate() -> Bench:
    """The organization, its vault, the engagement campaign (visit: goal 1,000,000, any number of times;
    signup: goal 1, once, an ACME 10.00 USD voucher), its 1,000,000 customers part-way through, and two
    opt-in campaigns (no limit; a limit of 100,000,000) on the same vault. Returns the keys by scenario."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Organization, User
    from campaigns.models import Campaign, Integration
    from campaigns.services.integrations import create_integration
    from core.scoping import scopes_disabled
    from engagement.models import Behavior
    from engagement.services.setup import add_behavior, configure_engagement
    from incentives.models import Vault

    now = timezone.now()
    with scopes_disabled(), transaction.atomic():
        organization = Organization.objects.create(name="Bench", slug="bench")
        owner = User.objects.create_user(username="bench", password=None)
        vault = Vault.objects.create(organization=organization, name="Bench vault")
        add_vouchers(vault.pk, VOUCHERS)

        def campaign(name: str, **settings) -> tuple[Campaign, Integration, str]:
            made = Campaign.objects.create(organization=organization, owner=owner, name=name, external_id=name,
                                           starts_at=now - timedelta(days=2), ends_at=now + timedelta(days=30))
            made.vaults.add(vault)
            created = create_integration(made, name="Load", status=Integration.Status.LIVE,
                                         rate_limit_per_minute=1_000_000_000)
            if settings:
                configure_engagement(made, **settings)
            return made, created.integration, created.key

        engaged, integration, key = campaign("bench-events")
        add_behavior(engaged, name="Visit", event_name="visit", goal=1_000_000, max_times_repeatable=None)
        add_behavior(engaged, name="Signup", event_name="signup", goal=1, reward_vendor="ACME",
                     reward_amount="10.00", reward_currency="USD")
        _, _, open_key = campaign("bench-opt-in", optin_required=True)
        _, _, limit_key = campaign("bench-opt-in-limit", optin_required=True, opt_in_limit=100_000_000)
        visit_id = Behavior._base_manager.get(campaign=engaged, event_name="visit").pk
        _customers(organization.pk, engaged.pk, visit_id, now)
    for made in Campaign._base_manager.filter(organization=organization):
        assert made.status == Campaign.Status.LIVE, (made, made.status)
    keys = {scenario: key for scenario in SCRIPTS} | {"opt_in": open_key, "opt_in_limit": limit_key}
    return Bench(organization.pk, engaged.pk, integration.pk, visit_id, keys)


def _customers(organization_id: int, campaign_id: int, visit_id: int, now) -> None:
    """CUSTOMERS customers c-1 … c-N, each with a participation (and its first history row) and a visit progress
    of 0, which the first ``add_events`` raises to 1."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO engagement_customer (organization_id, external_id, email, mobile, created_at, updated_at) "
            "SELECT %s, 'c-' || g, '', '', %s, %s FROM generate_series(1, %s) AS g",
            [organization_id, now, now, CUSTOMERS],
        )
        cursor.execute(
            "INSERT INTO engagement_participation (campaign_id, customer_id, is_test, opted_in, opted_in_at, "
            "opted_out_at, took_slot, state, instance_state, claimed_at, created_at, updated_at) "
            "SELECT %s, id, false, NULL, NULL, NULL, false, 'active', 'active', NULL, %s, %s "
            "FROM engagement_customer WHERE organization_id = %s",
            [campaign_id, now, now, organization_id],
        )
        cursor.execute(
            "INSERT INTO engagement_participationchange (participation_id, from_state, to_state, "
            "from_instance_state, to_instance_state, changed_at, reason, changed_by_id) "
            "SELECT id, '', 'active', '', 'active', created_at, 'counted event', NULL "
            "FROM engagement_participation WHERE campaign_id = %s",
            [campaign_id],
        )
        cursor.execute(
            "INSERT INTO engagement_behaviorprogress (participation_id, behavior_id, progress, achieved, "
            "period_index, achieved_in_period, last_counted_at, counted) "
            "SELECT id, %s, 0, 0, NULL, 0, NULL, 0 FROM engagement_participation WHERE campaign_id = %s",
            [visit_id, campaign_id],
        )


def add_events(bench: Bench, count: int, label: str) -> float:
    """``count`` more counted visit events, spread over the customers, each with its interaction and its
    idempotency record as the API writes them, and the progress they make; set-based. Returns the seconds."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM engagement_customer WHERE organization_id = %s", [bench.organization_id])
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            # One row per event: its customer (round robin), its participation, its interaction's id, and a time
            # rising with the event's id (as events counted under their lock do), within the last day.
            "CREATE TEMP TABLE bulk_events ON COMMIT DROP AS "
            "SELECT g, c.id AS customer_id, p.id AS participation_id, c.external_id, "
            "  nextval(pg_get_serial_sequence('tracking_interaction', 'id')) AS interaction_id, "
            "  now() - interval '1 day' + (g * interval '1 microsecond') * (80000000000.0 / %s) AS occurred_at "
            "FROM generate_series(1, %s) AS g "
            "JOIN engagement_customer c ON c.id = %s + (g - 1) %% %s "
            "JOIN engagement_participation p ON p.customer_id = c.id AND p.campaign_id = %s AND NOT p.is_test",
            [count, count, first_customer, CUSTOMERS, bench.campaign_id],
        )
        cursor.execute(
            "INSERT INTO tracking_interaction (id, organization_id, campaign_id, integration_id, kind, outcome, "
            "error_code, message, redeemer_mobile, redeemer_email, redeemer_external_id, voucher_id, http_status, "
            "latency_ms, request_id, created_at) "
            "SELECT interaction_id, %s, %s, %s, 'event', 'success', '', '', '', '', external_id, NULL, 201, 3, "
            "md5(g::text), occurred_at FROM bulk_events",
            [bench.organization_id, bench.campaign_id, bench.integration_id],
        )
        cursor.execute(
            "INSERT INTO tracking_idempotencyrecord (integration_id, reference, request_fingerprint, body, "
            "created_at) SELECT %s, %s || g, md5(g::text) || md5(external_id), "
            "jsonb_build_object('id', g, 'event_name', 'visit', 'occurred_at', occurred_at), occurred_at "
            "FROM bulk_events",
            [bench.integration_id, f"bulk-{label}-"],
        )
        cursor.execute(
            "INSERT INTO engagement_event (campaign_id, customer_id, is_test, participation_id, behavior_id, "
            "event_name, occurred_at, counted, reason, completion_id, interaction_id, created_at) "
            "SELECT %s, customer_id, false, participation_id, %s, 'visit', occurred_at, true, '', NULL, "
            "interaction_id, occurred_at FROM bulk_events ORDER BY g",
            [bench.campaign_id, bench.visit_id],
        )
        cursor.execute(
            "UPDATE engagement_behaviorprogress bp SET progress = bp.progress + b.n, counted = bp.counted + b.n, "
            "last_counted_at = greatest(bp.last_counted_at, b.last_at) "
            "FROM (SELECT participation_id, count(*) AS n, max(occurred_at) AS last_at FROM bulk_events "
            "GROUP BY participation_id) AS b WHERE bp.participation_id = b.participation_id AND bp.behavior_id = %s",
            [bench.visit_id],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE engagement_event, engagement_behaviorprogress, engagement_participation, "
            "engagement_customer, tracking_interaction, tracking_idempotencyrecord"
        )
    return time.perf_counter() - started


def record_replays(key: str) -> None:
    """REPLAYS events through the API (customers c-1 … c-REPLAYS, references replay-1 …), for ``replay``."""
    for pick in range(1, REPLAYS + 1):
        body = (f'{{"customer":{{"external_id":"c-{pick}"}},"event_name":"visit",'
                f'"reference":"replay-{pick}"}}').encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/v1/events", data=body, method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201, response.status


# --- plans ----------------------------------------------------------------------------------------------


def explain_event(bench: Bench, customer: str, event_name: str, wanted: dict, tags: tuple[str, ...] = ()) -> str:
    """One event run in-process with its statements captured and rolled back, then EXPLAIN (ANALYZE, BUFFERS) of
    the ``wanted`` ones (name → test of the SQL) as it ran them, each in a transaction rolled back."""
    from engagement.services.customers import CustomerIn
    from engagement.services.events import record_event
    from interactions.models import Interaction

    tagged = f" with the new tag {tags[0]!r}" if tags else ""
    return _explained(
        bench, Interaction.Kind.EVENT, 201, f"A {event_name} event for {customer}{tagged}", wanted,
        lambda integration, draft: record_event(
            integration, customer=CustomerIn(customer, tags=tags), event_name=event_name, occurred_at=None,
            reference=f"explain-{time.time_ns()}", draft=draft,
        ),
    )


def explain_progress(bench: Bench, customer: str) -> str:
    """A progress read, as ``explain_event`` runs an event."""
    from engagement.services.participations import read_participation
    from interactions.models import Interaction

    return _explained(bench, Interaction.Kind.LOOKUP, 200, f"A progress read of {customer}", PROGRESS,
                      lambda integration, draft: read_participation(integration, customer, draft=draft))


def _explained(bench: Bench, kind: str, success_status: int, what: str, wanted: dict, call) -> str:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from api.keys import integration_for_key, last_lookup
    from interactions.services.log import InteractionDraft

    # As the API runs it: on the key's last lookup, which the first statement checks.
    integration_for_key(bench.keys["count"])
    integration = last_lookup(bench.keys["count"])
    draft = InteractionDraft(integration=integration, kind=kind, success_status=success_status)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        call(integration, draft)
        transaction.set_rollback(True)
    statements = [query["sql"] for query in captured.captured_queries
                  if not query["sql"].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    out = [f"{what} runs {len(statements)} statements (besides BEGIN and COMMIT):"]
    out += [f"  {index + 1:2}. {sql[:150]}" for index, sql in enumerate(statements)]
    for name, matches in wanted.items():
        sql = next((sql for sql in statements if matches(sql)), None)
        if sql is None:
            out.append(f"\n(no statement found for {name})")
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plan = "\n".join("    " + row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        out.append(f"\nEXPLAIN ANALYZE of {name}:\n    {sql[:300]}\n{plan}")
    return "\n".join(out)


HOT = {
    "the hot path's read (customer, tags, participation, progress rows, the reference)":
        lambda sql: "LEFT JOIN engagement_customer c" in sql,
    "the hot path's write (the participation lock, the progress update, the event insert, in one statement)":
        lambda sql: sql.startswith("WITH locked AS"),
}
HOT_COMPLETION = {
    "the hot path's completing write (as above, and the voucher's pick and award, the completion)":
        lambda sql: sql.startswith("WITH locked AS"),
}
PROGRESS = {
    "the progress read (the customer and the participation from their unique indexes, the progress rows, the log)":
        lambda sql: "LEFT JOIN engagement_customer c" in sql,
}
GENERAL = {
    "the participation lock": lambda sql: sql.startswith('SELECT "engagement_participation"') and "FOR UPDATE" in sql,
    "the progress update": lambda sql: sql.startswith('UPDATE "engagement_behaviorprogress"'),
    "the event insert": lambda sql: sql.startswith('INSERT INTO "engagement_event"'),
}


def explain_plans(bench: Bench) -> str:
    """A counting and a completing event on the hot path, a counting one on the general path (it adds a tag, so it
    takes the customer's and the participation's locks), and a progress read."""
    return "\n\n".join([
        explain_event(bench, f"c-{CUSTOMERS // 2 + 7}", "visit", HOT),
        explain_event(bench, f"c-{CUSTOMERS - 3}", "signup", HOT_COMPLETION),
        explain_event(bench, f"c-{CUSTOMERS - 5}", "visit", GENERAL, tags=("explained",)),
        explain_progress(bench, f"c-{CUSTOMERS // 2 + 11}"),
    ])


# --- checks ---------------------------------------------------------------------------------------------


def outcomes_twice() -> int:
    """Vouchers two completions hold, or whose awarding interaction is not the completion's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM engagement_completion c JOIN incentives_voucher v ON v.id = c.voucher_id "
            "WHERE v.status <> 'awarded' OR v.interaction_id IS DISTINCT FROM c.interaction_id"
        )
        return cursor.fetchone()[0] + given_twice()


def check_campaigns() -> list[str]:
    from campaigns.models import Campaign
    from engagement.services.check import check_engagement

    problems = []
    for campaign in Campaign._base_manager.filter(external_id__startswith="bench-").order_by("pk"):
        problems += [f"{campaign.external_id}: {problem}" for problem in check_engagement(campaign)]
    return problems


# --- the benchmark --------------------------------------------------------------------------------


def next_base(scenario: str, offsets: dict[str, int]) -> int:
    """``complete`` gives each wrk run customers no run had: past the ranges its threads used so far."""
    if scenario != "complete":
        return 0
    base = offsets["complete"]
    offsets["complete"] += 2 * STRIDE + 1
    return base


@dataclass
class Measured:
    runs: dict[tuple[str, int], Run]  # (scenario, clients) → its run
    awards: dict[tuple[str, int], Run]  # (scenario, clients) → the award runs just before and after it, pooled

    def ratio(self, scenario: str, clients: int) -> float:
        return self.runs[(scenario, clients)].rate / self.awards[(scenario, clients)].rate


def measure(scripts: dict[str, Path], bench: Bench, scenarios: tuple[str, ...], phase: str,
            offsets: dict[str, int]) -> Measured:
    """At each client count: the award, then each scenario in ROUNDS slices, each slice followed by the award
    again. A scenario's figure is its slices pooled, its reference the award slices around them pooled: on a
    shared machine whose speed drifts within a minute, the two are taken side by side, in turn."""
    measured = Measured({}, {})

    def run(scenario: str, clients: int, *, warm: bool = False) -> Run:
        if warm:
            wrk(scripts[scenario], bench.keys[scenario], clients, seconds=1, base=next_base(scenario, offsets))
        done = wrk(scripts[scenario], bench.keys[scenario], clients, seconds=SECONDS, base=next_base(scenario, offsets))
        wait_for_quiet()
        print(f"{phase:6} {scenario:12} c={clients:<2} {done}", flush=True)
        return done

    for clients in CLIENTS:
        award = run("award", clients, warm=True)
        for scenario in scenarios:
            runs, awards = [], [award]
            for index in range(ROUNDS):
                runs.append(run(scenario, clients, warm=index == 0))
                award = run("award", clients)
                awards.append(award)
            measured.runs[(scenario, clients)] = pooled(runs)
            measured.awards[(scenario, clients)] = pooled(awards)
    return measured


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    heading(f"events: {CUSTOMERS:,} customers, {ROUNDS} slices of {SECONDS}s per scenario, then {MORE_EVENTS:,} "
            "more events")
    if STRIDE < 1_000:
        raise SystemExit(f"BENCH_CUSTOMERS must be at least {1_000 * (2 * COMPLETE_RUNS + 1):,}")
    with scratch_database(DATABASE) as database_url, tempfile.TemporaryDirectory() as scratch:
        scripts = {}
        for name, text in SCRIPTS.items():
            scripts[name] = Path(scratch) / f"{name}.lua"
            scripts[name].write_text(text)
        started = time.perf_counter()
        bench = populate()
        print(f"loaded {CUSTOMERS:,} customers with their participations in {time.perf_counter() - started:.1f}s")
        print(f"{CUSTOMERS:,} events (one per customer) added in {add_events(bench, CUSTOMERS, 'first'):.1f}s")
        vacuum()
        print("\n" + explain_plans(bench))
        offsets = {"complete": 1}
        server = Server(database_url)
        try:
            server.wait_ready()
            record_replays(bench.keys["replay"])
            before = measure(scripts, bench, BEFORE, "before", offsets)
            wait_for_quiet()
            seconds = add_events(bench, MORE_EVENTS, "more")
            print(f"\n{MORE_EVENTS:,} more events added in {seconds:.1f}s")
            after = measure(scripts, bench, AFTER, "after", offsets)
        finally:
            server.stop()
        print("\n" + explain_plans(bench))
        twice = outcomes_twice()
        started = time.perf_counter()
        problems = check_campaigns()
        checked_in = time.perf_counter() - started
    report(before, after, twice, problems, checked_in)


def cpu_ratio(run: Run, award: Run) -> float:
    spent = run.cpu_ms("server") + run.cpu_ms("database")
    return (award.cpu_ms("server") + award.cpu_ms("database")) / spent if spent else 0.0


def report(before: Measured, after: Measured, twice: int, problems: list[str], checked_in: float) -> None:
    heading(f"ratios to the award ({ROUNDS} slices of each, each between award slices; pooled req/s)")
    print("CPU ms a request took in the server's (gunicorn) and the database's (postgres) processes, the award's"
          " beside it, and the award's CPU per request over the scenario's: the ratio a machine bound by CPU alone"
          " would give (for reading the ratios, not a goal).")
    print(f"{'phase':6} {'scenario':12} {'c':>3} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} | {'award':>6} {'ratio':>6} |"
          f" {'server':>6} {'db':>5} | {'award':>6} {'db':>5} | {'cpu ratio':>9}")
    for phase, measured in (("before", before), ("after", after)):
        for (scenario, clients), run in measured.runs.items():
            award = measured.awards[(scenario, clients)]
            print(f"{phase:6} {scenario:12} {clients:>3} {run.rate:8.0f} {run.p50_ms:7.2f} {run.p95_ms:7.2f} | "
                  f"{award.rate:6.0f} {measured.ratio(scenario, clients):6.2f} | "
                  f"{run.cpu_ms('server'):6.2f} {run.cpu_ms('database'):5.2f} | "
                  f"{award.cpu_ms('server'):6.2f} {award.cpu_ms('database'):5.2f} | {cpu_ratio(run, award):9.2f}")
    heading("goals")
    goal = verdict
    for scenario, wanted in GOALS.items():
        for clients in CLIENTS:
            ratio = before.ratio(scenario, clients)
            goal(f"before {scenario} c={clients}: {ratio:.2f}x the award (goal >= {wanted})", ratio >= wanted)
    # Issue 17 asks "the same after another 1,000,000 events within 20%": the ratios after, against before (below).
    # Beside them, for reading, the ratios after against the goals the ratios before are held to.
    for scenario, wanted in GOALS.items():
        for clients in CLIENTS:
            ratio = after.ratio(scenario, clients)
            side = "at or over" if ratio >= wanted else "under"
            print(f"[info] after {scenario} c={clients}: {ratio:.2f}x the award ({side} {wanted}, the goal before)")
    for scenario in AFTER:
        for clients in CLIENTS:
            change = after.ratio(scenario, clients) / before.ratio(scenario, clients) - 1
            rates = after.runs[(scenario, clients)].rate / before.runs[(scenario, clients)].rate - 1
            goal(f"{scenario} c={clients} after {MORE_EVENTS:,} more events: its ratio to the award {change:+.0%} "
                 f"against before, its req/s {rates:+.0%} (goal within {GOAL_AFTER_WITHIN:.0%})",
                 abs(change) <= GOAL_AFTER_WITHIN or change > 0)
    failed = sum(run.non_2xx + run.errors for measured in (before, after) for run in measured.runs.values())
    goal(f"non-2xx answers and socket errors: {failed} (must be 0)", failed == 0)
    goal(f"vouchers given twice: {twice} (must be 0)", twice == 0)
    goal(f"check_engagement on the campaigns ({checked_in:.0f}s): {len(problems)} differences (must be 0)",
         not problems)
    for problem in problems[:10]:
        print(f"    {problem}")
    print("\nThe machine is shared: figures move with whatever else runs on it.")
    if twice or problems or failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Issuing codes of a unique pool (``POST /api/v1/pools/{id}/issuances``) under load, beside the award (issue 6).

Creates a scratch database with bench.award's 1,000,000 vouchers, its live campaign and key, and a unique pool
linked to that campaign, filled by ``generate_codes`` with 1,000,000 codes of the pattern SPRING-######-????
(timed; then checked: exactly that many added, no code twice in the organization, every code of the pattern).
Serves the project with bench.award's gunicorn (4 workers, DEBUG=0) and drives the award and the issuance
with wrk at 8 and 32 clients in the same run, alternating (award, issuance, issuance, award: drift biases
neither), a fresh issuee on every request; prints req/s, p50 and p95 of each and the ratio issuance / award.
Afterwards: no code issued twice, and the counts agree (issuances, the codes' issued counts, the pool's
counts, the interactions recorded).

    python -m bench issuance         # BENCH_SECONDS=10 per run, BENCH_VOUCHERS=1000000, BENCH_CODES=1000000
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

from . import heading, scratch_database
from .award import (
    VOUCHERS,
    WRK_SCRIPT,
    Run,
    Server,
    given_twice,
    pooled,
    populate,
    reset,
    vacuum,
    wait_for_quiet,
    wrk,
    wrk_script,
)

DATABASE = "va_bench_issuance"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CODES = int(os.environ.get("BENCH_CODES", "1000000"))
PATTERN = "SPRING-######-????"
PATTERN_REGEX = "^SPRING-[0-9]{6}-[A-HJ-NP-Z]{4}$"
CLIENTS = (8, 32)
ORDER = ("award", "issuance", "issuance", "award")


def issuance_script(pool_id: int) -> str:
    """A fresh external issuee on every request."""
    return wrk_script(f"/api/v1/pools/{pool_id}/issuances", """'{"external_issuee_id":"i-' .. fresh .. '"}'""")


# --- data -----------------------------------------------------------------------------------------


def add_pool(campaign_id: int):
    """A unique pool of the bench organization (no notification address), linked to the key's campaign."""
    from campaigns.models import Campaign
    from core.scoping import scopes_disabled
    from incentives.models import IncentivePool

    with scopes_disabled():
        campaign = Campaign.objects.get(pk=campaign_id)
        pool = IncentivePool.objects.create(
            organization_id=campaign.organization_id, name="Bench codes", max_characters=len(PATTERN)
        )
        campaign.pools.add(pool)
    return pool


def generate(pool) -> tuple[float, int, dict[str, int]]:
    """Time ``generate_codes`` for CODES codes; then the organization's codes: total, distinct, off-pattern."""
    from django.db import connection

    from incentives.services.codegen import generate_codes

    started = time.perf_counter()
    added = generate_codes(pool, pattern=PATTERN, count=CODES)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT code), count(*) FILTER (WHERE pool_id = %s), "
            "count(*) FILTER (WHERE code !~ %s) FROM incentives_incentivecode WHERE organization_id = %s",
            [pool.pk, PATTERN_REGEX, pool.organization_id],
        )
        total, distinct, in_pool, off_pattern = cursor.fetchone()
    return seconds, added, {"total": total, "distinct": distinct, "in_pool": in_pool, "off_pattern": off_pattern}


def vacuum_codes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE incentives_incentivecode, incentives_issuance, incentives_issuee, tracking_interaction"
        )


def issuance_counts(pool_id: int) -> dict[str, int]:
    """What the issuances left behind, counted every way there is."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT code_id), count(DISTINCT external_issuee_id) FROM incentives_issuance "
            "WHERE pool_id = %s",
            [pool_id],
        )
        issuances, codes, issuees = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(sum(issued_count), 0), count(*) FILTER (WHERE issued_count = 1), "
            "count(*) FILTER (WHERE issued_count > 1) FROM incentives_incentivecode WHERE pool_id = %s",
            [pool_id],
        )
        issued_sum, issued_once, issued_more = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT code_id FROM incentives_issuance WHERE pool_id = %s GROUP BY code_id "
            "HAVING count(*) > 1) AS twice",
            [pool_id],
        )
        (twice,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM incentives_issuance s JOIN incentives_incentivecode c ON c.id = s.code_id "
            "WHERE s.pool_id = %s AND c.pool_id <> s.pool_id",
            [pool_id],
        )
        (foreign,) = cursor.fetchone()
    return {
        "issuances": issuances,
        "codes with an issuance": codes,
        "issuees": issuees,
        "sum of issued_count": int(issued_sum),
        "codes with issued_count 1": issued_once,
        "codes with issued_count > 1": issued_more,
        "codes issued twice": twice,
        "issuances of another pool's code": foreign,
    }


def issuance_interactions() -> int:
    """Successful issuance interactions now recorded (reset() deletes them before every award run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM tracking_interaction WHERE kind = 'issuance' AND outcome = 'success' "
            "AND http_status = 201"
        )
        return cursor.fetchone()[0]


# --- the benchmark --------------------------------------------------------------------------------


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    heading(
        f"issuance: a unique pool of {CODES:,} generated codes beside the award's {VOUCHERS:,} vouchers, "
        f"{SECONDS}s per run"
    )
    runs: dict[tuple[str, int], list[Run]] = {}
    twice = 0
    mismatches: list[str] = []
    with scratch_database(DATABASE) as database_url, tempfile.TemporaryDirectory() as scratch:
        award_lua = Path(scratch) / "award.lua"
        award_lua.write_text(WRK_SCRIPT)
        started = time.perf_counter()
        key, campaign_id = populate(VOUCHERS)
        print(f"loaded {VOUCHERS:,} vouchers in {time.perf_counter() - started:.1f}s")
        pool = add_pool(campaign_id)
        issuance_lua = Path(scratch) / "issuance.lua"
        issuance_lua.write_text(issuance_script(pool.pk))

        heading(f"generate_codes: {CODES:,} codes of {PATTERN}")
        seconds, added, codes = generate(pool)
        print(f"generate_codes(pool, pattern={PATTERN!r}, count={CODES:,}): {added:,} added in {seconds:.1f}s "
              f"({added / seconds:,.0f} codes/s)")
        print(f"the organization's codes: {codes['total']:,} rows, {codes['distinct']:,} distinct "
              f"({codes['total'] - codes['distinct']} duplicates), {codes['in_pool']:,} in the pool, "
              f"{codes['off_pattern']} not of the pattern")
        generation = (seconds, added, codes)
        vacuum_codes()

        heading("award and issuance at 8 and 32 clients, alternating")
        server = Server(database_url)
        try:
            server.wait_ready()
            scripts = {"award": award_lua, "issuance": issuance_lua}
            for clients in CLIENTS:
                for kind in ("award", "issuance"):  # warm every worker's connection and imports, for both
                    reset("fresh", VOUCHERS)
                    wrk(scripts[kind], key, clients, seconds=1)
                for kind in ORDER:
                    if kind == "award":
                        reset("fresh", VOUCHERS)
                    else:
                        wait_for_quiet()
                        vacuum_codes()
                        before, interactions_before = issuance_counts(pool.pk), issuance_interactions()
                    run = wrk(scripts[kind], key, clients, seconds=SECONDS)
                    wait_for_quiet()
                    runs.setdefault((kind, clients), []).append(run)
                    note = ""
                    if kind == "award":
                        twice += given_twice()
                    else:
                        after = issuance_counts(pool.pk)
                        written = after["issuances"] - before["issuances"]
                        recorded = issuance_interactions() - interactions_before
                        answered = run.requests - run.non_2xx
                        note = f"  | {written:,} issuances written, {recorded:,} interactions recorded"
                        if written != recorded or written < answered:
                            mismatches.append(f"c={clients}: {answered} 2xx answers, {written} issuances, "
                                              f"{recorded} interactions")
                    print(f"{kind:8} c={clients:<2} {run}{note}", flush=True)
        finally:
            server.stop()
        wait_for_quiet()
        final = issuance_counts(pool.pk)
        from incentives.services.pools import pool_counts

        pool.refresh_from_db()
        counts = pool_counts(pool)
        vacuum()
    report(runs, generation, final, counts, twice, mismatches)


def report(runs, generation, final: dict[str, int], counts: dict[str, int], twice: int, mismatches: list[str]) -> None:
    heading("issuance against the award (req/s pooled over both runs of each; median p50 and p95)")
    print(f"{'c':>3} | {'award req/s':>11} {'p50 ms':>7} {'p95 ms':>7} | {'issuance req/s':>14} {'p50 ms':>7} "
          f"{'p95 ms':>7} | {'issuance/award':>14}")
    for clients in CLIENTS:
        award, issuance = pooled(runs[("award", clients)]), pooled(runs[("issuance", clients)])
        failed = issuance.non_2xx + issuance.errors + award.non_2xx + award.errors
        print(f"{clients:>3} | {award.rate:11.0f} {award.p50_ms:7.2f} {award.p95_ms:7.2f} | {issuance.rate:14.0f} "
              f"{issuance.p50_ms:7.2f} {issuance.p95_ms:7.2f} | {issuance.rate / award.rate:14.2f}"
              + (f"  ({failed} non-2xx or socket errors)" if failed else ""))

    seconds, added, codes = generation
    heading("pattern generation")
    print(f"{'pattern':20} {'count':>10} {'seconds':>8} {'codes/s':>9} {'added':>10} {'duplicates':>10} "
          f"{'off-pattern':>11}")
    print(f"{PATTERN:20} {CODES:10,} {seconds:8.1f} {added / seconds:9,.0f} {added:10,} "
          f"{codes['total'] - codes['distinct']:10} {codes['off_pattern']:11}")

    heading("after the runs: the issuances and the counts")
    for name, value in final.items():
        print(f"  {name:34} {value:>10,}")
    print(f"  {'pool_counts: total / issued / remaining':34} {counts['total']:,} / {counts['issued']:,} / "
          f"{counts['remaining']:,}")

    heading("checks")
    verdicts = []

    def check(text: str, ok: bool) -> None:
        verdicts.append(ok)
        print(f"[{'ok  ' if ok else 'FAIL'}] {text}")

    check(f"generate_codes added exactly {CODES:,}: {added:,}", added == CODES and codes["in_pool"] == CODES)
    check(f"no code twice in the organization: {codes['total']:,} codes, {codes['distinct']:,} distinct",
          codes["total"] == codes["distinct"])
    check(f"every code of the pattern: {codes['off_pattern']} off it", codes["off_pattern"] == 0)
    check(f"no code issued twice: {final['codes issued twice']} twice, {final['codes with issued_count > 1']} with "
          f"issued_count > 1", final["codes issued twice"] == 0 and final["codes with issued_count > 1"] == 0)
    issued = final["issuances"]
    check(
        f"counts agree: {issued:,} issuances = {final['codes with an issuance']:,} codes issued = "
        f"{final['sum of issued_count']:,} summed issued_count = {final['codes with issued_count 1']:,} codes at 1 "
        f"= pool issued {counts['issued']:,}; remaining {counts['remaining']:,} = {CODES:,} - {issued:,}",
        issued == final["codes with an issuance"] == final["sum of issued_count"] == final["codes with issued_count 1"]
        == counts["issued"] and counts["remaining"] == CODES - issued and counts["total"] == CODES,
    )
    foreign = final["issuances of another pool's code"]
    check(f"no issuance of another pool's code: {foreign}", foreign == 0)
    check("every issuance run: issuances written = issuance interactions recorded >= 2xx answers"
          + (f" ({'; '.join(mismatches)})" if mismatches else ""), not mismatches)
    check(f"vouchers given twice: {twice} (must be 0)", twice == 0)
    print("\nThe machine is shared: figures move with whatever else runs on it.")
    if not all(verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

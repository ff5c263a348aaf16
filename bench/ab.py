"""The award and the issuance of this checkout against another one (``BENCH_AB_BASE``, e.g. a worktree of the
commit before a restructuring), served in turn on one database, so that both are measured in one run.

    git worktree add /tmp/before <commit> && BENCH_AB_BASE=/tmp/before python -m bench ab

One scratch database (this checkout's migrations; the other checkout must run on the same tables) with
BENCH_VOUCHERS vouchers and a unique pool of BENCH_CODES codes. Each round serves one checkout with gunicorn
(4 workers), warms it, then drives the award and the issuance for BENCH_SECONDS each at every client count,
on a fresh vault (the award also on a half-awarded one); rounds alternate base, ours, ours, base
(BENCH_PAIRS times), so drift biases neither. It prints each run, the medians, and ours ÷ base (goal: within
10%).
"""

import os
import shutil
import statistics
import tempfile
from pathlib import Path

from . import heading, scratch_database
from .award import WRK_SCRIPT, Run, Server, given_twice, populate, reset, vacuum, wait_for_quiet, wrk
from .issuance import add_pool, generate, issuance_script, vacuum_codes

DATABASE = "va_bench_ab"
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "2"))
CLIENTS = (1, 8, 32)
RUNS = (("award", "fresh"), ("award", "half"), ("issuance", "fresh"))  # half: half the vault awarded
GOAL_WITHIN = 0.10


def main() -> None:
    if not os.environ.get("BENCH_AB_BASE"):
        print("ab: nothing to compare with (set BENCH_AB_BASE to another checkout to run it).")
        return
    base = Path(os.environ["BENCH_AB_BASE"])
    if not (base / "manage.py").exists():
        raise SystemExit(f"BENCH_AB_BASE={base} is no checkout of the project (it has no manage.py).")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ours = Path(__file__).resolve().parent.parent
    heading(f"ab: award and issuance of {ours} (ours) against {base} (base), {SECONDS}s a run, {PAIRS} pairs")
    runs: dict[tuple[str, str, int], list[Run]] = {}
    twice = 0
    with scratch_database(DATABASE) as database_url, tempfile.TemporaryDirectory() as scratch:
        vouchers = int(os.environ.get("BENCH_VOUCHERS", "1000000"))
        key, campaign_id = populate(vouchers)
        pool = add_pool(campaign_id)
        generate(pool)
        vacuum_codes()
        scripts = {"award": Path(scratch) / "award.lua", "issuance": Path(scratch) / "issuance.lua"}
        scripts["award"].write_text(WRK_SCRIPT)
        scripts["issuance"].write_text(issuance_script(pool.pk))
        order = [tree for _ in range(PAIRS) for tree in ("base", "ours", "ours", "base")][: 2 * PAIRS]
        for tree in order:
            server = Server(database_url, project=base if tree == "base" else ours)
            try:
                server.wait_ready()
                for kind in scripts:
                    wrk(scripts[kind], key, 8, seconds=1)  # every worker's connection and imports
                for clients in CLIENTS:
                    for kind, state in RUNS:
                        reset(state, vouchers)
                        vacuum_codes()
                        run = wrk(scripts[kind], key, clients, seconds=SECONDS)
                        wait_for_quiet()
                        twice += given_twice()
                        runs.setdefault((f"{kind} {state}", tree, clients), []).append(run)
                        print(f"{tree:4} {kind:8} {state:5} c={clients:<2} {run}", flush=True)
            finally:
                server.stop()
        vacuum()
    report(runs, twice)


def report(runs: dict[tuple[str, str, int], list[Run]], twice: int) -> None:
    heading("medians, and ours ÷ base")
    print(f"{'':14} {'c':>3} {'base req/s':>11} {'ours req/s':>11} {'ratio':>7} {'base p50':>9} {'ours p50':>9}")
    verdicts = []
    for kind in (f"{kind} {state}" for kind, state in RUNS):
        for clients in CLIENTS:
            base = statistics.median(run.rate for run in runs[(kind, "base", clients)])
            ours = statistics.median(run.rate for run in runs[(kind, "ours", clients)])
            base_p50 = statistics.median(run.p50_ms for run in runs[(kind, "base", clients)])
            ours_p50 = statistics.median(run.p50_ms for run in runs[(kind, "ours", clients)])
            ratio = ours / base
            verdicts.append((kind, clients, ratio))
            print(f"{kind:14} {clients:>3} {base:>11.0f} {ours:>11.0f} {ratio:>7.2f} {base_p50:>8.2f}ms "
                  f"{ours_p50:>8.2f}ms")
    print()
    for kind, clients, ratio in verdicts:
        met = ratio >= 1 - GOAL_WITHIN
        print(f"[{'met ' if met else 'MISS'}] {kind} c={clients}: ours {ratio:.2f}x base (goal within 10%)")
    print(f"[{'met ' if twice == 0 else 'MISS'}] vouchers given twice: {twice} (must be 0)")

"""`make run` needs no server: the demo on SQLite must award, issue, redeem and show its pages."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_the_demo_works_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": f"filesystem://{tmp_path}",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DEBUG": "1",  # as `make run` sets it
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(PROJECT),
    }
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("sqlite_walkthrough.py"))], env=env,
                         cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    answers = json.loads(run.stdout.strip().splitlines()[-1])

    assert answers.pop("award")[0] == 201
    assert answers.pop("campaign") == 200
    assert answers.pop("capped awards") == [201, 409]  # max_awards_per_redeemer: no advisory lock on SQLite
    assert answers.pop("issuance") == 201
    assert answers.pop("redemption") == 201
    assert answers.pop("multi issuances") == [201, 201, 201]
    # The demo's engagement, built through the services on SQLite (the roll's portable path included).
    assert answers.pop("engagement differences") == {"steps-demo": [], "stamps-demo": [], "winter-stamps-demo": []}
    assert {state for pair in answers.pop("engagement states") for state in pair} == {
        "active", "claimable", "claimed", "inactive", "expired", "deleted"}
    assert answers.pop("engagement rows added by a second load") == [0, 0]
    assert answers == dict.fromkeys(answers, 200), answers

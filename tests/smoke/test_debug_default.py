"""DEBUG is off unless set (design §13): a production that forgets DEBUG=0 gets no debug pages and no public key."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LOAD = ("import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        " from django.conf import settings; print(settings.DEBUG)")
USE_KEY = LOAD + "; print(settings.SECRET_KEY)"


def run_python(args: list[str], **env):
    base = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}  # not inherited
    return subprocess.run([sys.executable, *args], env={**base, "PYTHONPATH": str(PROJECT), **env},
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)


def load_settings(code: str = LOAD, **env):
    return run_python(["-c", code], **env)


def test_debug_is_off_unless_set():
    run = load_settings(SECRET_KEY="test-only-insecure-key")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "False"


def test_without_debug_a_missing_secret_key_is_refused_at_its_first_use():
    run = load_settings(USE_KEY)
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr and "SECRET_KEY" in run.stderr, run.stderr[-3000:]


def test_without_debug_nor_secret_key_the_migration_check_still_runs():
    run = run_python(["manage.py", "makemigrations", "--check", "--dry-run"],
                     DATABASE_URL=os.environ.get("DATABASE_URL", ""))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "No changes detected" in run.stdout


def test_debug_set_keeps_the_development_key():
    run = load_settings(DEBUG="1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "True"

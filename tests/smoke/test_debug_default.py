"""DEBUG is off unless set (design §13): a production that forgets DEBUG=0 gets no debug pages and no public key."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LOAD = ("import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        " from django.conf import settings; print(settings.DEBUG)")


def load_settings(**env):
    base = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}  # not inherited
    return subprocess.run([sys.executable, "-c", LOAD], env={**base, "PYTHONPATH": str(PROJECT), **env},
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)


def test_debug_is_off_unless_set():
    run = load_settings(SECRET_KEY="test-only-insecure-key")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "False"


def test_without_debug_the_settings_refuse_to_load_without_a_secret_key():
    run = load_settings()
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr and "SECRET_KEY" in run.stderr, run.stderr[-3000:]


def test_debug_set_keeps_the_development_key():
    run = load_settings(DEBUG="1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "True"

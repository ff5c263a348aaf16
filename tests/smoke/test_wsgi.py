"""The WSGI application is ready when a worker imports it: the first request must not load the URLconf."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_importing_the_wsgi_application_loads_every_view_and_the_api():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(PROJECT),
           "DEBUG": "0", "SECRET_KEY": "test-only-insecure-key"}  # as production runs it
    loaded = "import sys, config.wsgi; print(all(m in sys.modules for m in ('config.urls', 'api.main')))"
    run = subprocess.run([sys.executable, "-c", loaded], env=env, cwd=PROJECT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "True"

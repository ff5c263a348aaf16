import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the URLconf, and with it every view, the API and its schemas, as the worker starts: Django waits for the
# first request, which then took ~400 ms on each new gunicorn worker (bench/award.py saw it in its p95).
get_resolver().url_patterns  # noqa: B018

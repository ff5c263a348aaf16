"""Production settings for the server a fault test starts: as configured from the environment, but for the
static files' manifest, which only ``collectstatic`` writes (the tests serve pages, never static files)."""

from config.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

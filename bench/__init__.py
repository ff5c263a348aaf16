"""Benchmarks: ``python -m bench`` runs every module of this package, ``python -m bench NAME ...`` some of them.

Each benchmark module has a ``main()``. It runs against the PostgreSQL server of ``DATABASE_URL``, on a scratch
database of its own that ``scratch_database()`` creates, migrates and drops, so a benchmark never touches the
database named in the URL, nor another benchmark's. ``make bench`` sets DATABASE_URL to the local server.
"""

import os
import pkgutil
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def benchmark_names() -> list[str]:
    """Every benchmark module of the package (helpers start with an underscore)."""
    return sorted(
        module.name for module in pkgutil.iter_modules([str(PACKAGE_DIR)]) if not module.name.startswith("_")
    )


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        raise SystemExit(
            "The benchmarks run on PostgreSQL: set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/voucher_admin python -m bench (or run `make bench`)."
        )
    return url


def _admin_connection(url: str):
    """An autocommit connection to the server's maintenance database, for CREATE / DROP DATABASE."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    return psycopg.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    )


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Create database ``name`` on DATABASE_URL's server, point Django at it, migrate; drop it afterwards.

    Call it before anything imports the project's settings: they read DATABASE_URL once.
    """
    from psycopg import sql

    url = _server_url()
    parts = urlsplit(url)
    scratch_url = urlunsplit(parts._replace(path=f"/{name}"))
    identifier = sql.Identifier(name)
    with _admin_connection(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        os.environ["DATABASE_URL"] = scratch_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        # Production-like: no DEBUG query log, no persistent-connection surprises between phases.
        os.environ.setdefault("DEBUG", "0")
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        os.environ.setdefault("CONN_MAX_AGE", "0")

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        yield scratch_url
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001  (Django may not have got as far as connecting)
            pass
        os.environ["DATABASE_URL"] = url
        with _admin_connection(url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


def timed(function: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call, on the wall clock."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def get_ok(client, url: str) -> None:
    """GET ``url`` with Django's test client; anything but a 200 stops the benchmark."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def page_times(client, url: str, requests: int) -> tuple[list[float], list[str]]:
    """The seconds of ``requests`` GETs of ``url`` with Django's test client (after one to warm up), and the SQL
    statements of one more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get_ok(client, url)  # warm
    times = [timed(lambda: get_ok(client, url))[0] for _ in range(requests)]
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return times, [q["sql"] for q in queries.captured_queries]


def verdict(text: str, ok: bool) -> bool:
    """One goal's line: met or MISS, and what was measured."""
    print(f"[{'met ' if ok else 'MISS'}] {text}")
    return ok


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 100 - len(text)), flush=True)


@contextmanager
def page_database(name: str) -> Iterator[str]:
    """``scratch_database`` for benchmarks that request pages in-process with Django's test client under
    production settings: plain HTTP (no SSL redirect), collected static files (the manifest storage) and
    persistent database connections (production's CONN_MAX_AGE, not a new connection per request)."""
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["CONN_MAX_AGE"] = "60"
    with scratch_database(name) as url:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        yield url

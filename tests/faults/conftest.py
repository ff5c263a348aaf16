"""Faults on purpose: services of our own that the tests start, break and stop (never the machine's own)."""

import socket
import subprocess
import threading
import time

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.test import Client

from core.cache import forget_cache_failures
from tests.pools.conftest import _fresh_cache, api, pools  # noqa: F401  (the pool fixtures, for faults on them)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A Redis server of the test's own on a free port, which the test stops and starts again (same port, empty)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


@pytest.fixture
def own_redis():
    """A Redis server of the test's own, started; ``stop()`` takes it down. Stopped at the end anyway."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(own_redis):
    """Celery's broker is our own Redis for the test (pools reset, as after a fork), then the usual one again."""
    conf = current_app.conf
    # Celery keeps what is set here in a layer above Django's settings: take it out again afterwards, or every
    # later test's settings.CELERY_* would be shadowed. The write URL, since CELERY_BROKER_URL (set by `make
    # test`) outranks broker_url.
    changed = ("broker_write_url", "task_always_eager")
    saved = {key: conf.changes[key] for key in changed if key in conf.changes}
    conf.update(broker_write_url=own_redis.url, task_always_eager=False)
    current_app.loader.import_default_modules()
    current_app._after_fork()
    yield own_redis
    for key in changed:
        conf.changes.pop(key, None)
    conf.changes.update(saved)
    current_app._after_fork()


HANG_SECONDS = 8.0  # a hung server drops its connections after this: code with no timeout fails its test, not hangs


class Blackhole:
    """A server that accepts connections and never answers: how a hung Redis, or a route that drops everything
    after the handshake, looks to a client. Each connection is dropped after HANG_SECONDS."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.05)
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        self.accepted = 0
        self._open: list[tuple[float, socket.socket]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
                self.accepted += 1
                self._open.append((time.monotonic(), conn))
            except TimeoutError:
                pass
            while self._open and time.monotonic() - self._open[0][0] > HANG_SECONDS:
                self._open.pop(0)[1].close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for _, conn in self._open:
            conn.close()
        self._listener.close()


@pytest.fixture
def blackhole():
    server = Blackhole()
    yield server
    server.close()


REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def cache_at(settings):
    """``cache_at(url, **options)`` points the default cache at a Redis of the test's, with the project's own
    options (its timeouts, its backoff) and any given here.

    Django's cache handler keeps a backend per thread: its setting_changed receiver drops them on every change of
    CACHES, so the test's cache is used from the next access on and the usual one again after the test.
    """
    project = settings.CACHES["default"]
    assert project["BACKEND"] == REDIS_CACHE, "The fault tests run on Redis: set CACHE_URL (make test does)."

    def point(url: str, **options) -> None:
        options = {**project.get("OPTIONS", {}), **options}
        settings.CACHES = {"default": {**project, "LOCATION": url, "OPTIONS": options}}

    yield point
    forget_cache_failures()  # a later test's server may get the same port


@pytest.fixture
def admin_session(admin_user) -> dict:
    """A Cookie header signed in as the organization's admin, for a served project (``tests/faults/served.py``)."""
    client = Client()
    client.force_login(admin_user)
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}

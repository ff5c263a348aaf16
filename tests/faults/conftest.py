"""Faults on purpose: services of our own that the tests start, break and stop (never the machine's own)."""

import socket
import subprocess
import time

import pytest
import redis
from celery import current_app

from tests.pools.conftest import _fresh_cache, api, pools  # noqa: F401  (the pool fixtures, for faults on them)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis():
    """A Redis server of the test's own, on a free port; ``stop()`` takes it down. Stopped at the end anyway."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)

    class OwnRedis:
        url = f"redis://127.0.0.1:{port}/0"

        @staticmethod
        def stop():
            server.terminate()
            server.wait(timeout=10)

    yield OwnRedis
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=10)


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

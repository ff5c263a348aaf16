"""The shared cache is a convenience, never a dependency: when Redis is down or hangs, the process goes on without it.

The policy, in one place for every use of the cache (the settings wire it into Django's Redis backend):

- Every connect, read and write has a short timeout (``CACHE_CONNECT_TIMEOUT``, ``CACHE_TIMEOUT``) and no retry.
- A server that failed (refused, timed out, dropped the connection) is skipped by this process for
  ``CACHE_BACKOFF`` seconds: each use of it raises ``CacheUnavailable`` at once, without touching the network, so
  a dead cache costs one request a timeout, not every request. Then one caller tries it again while the others
  keep skipping; the first answer from it ends the pause.
- What going without means is the caller's: ``best_effort`` runs a block that is cut short and logged when the
  cache fails (the API's rate limit is not applied, an import's progress is not shown).
- A failing server is logged as a warning at most once a minute per process; its return once, as info.

The one module that extends redis-py's connection pool and connections (``BackoffConnectionPool``): the fault
tests in ``tests/faults/test_cache_down.py`` fail on an upgrade that changes the methods it wraps.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 60.0
DEFAULT_BACKOFF_SECONDS = 5.0
# A server that did not answer, as opposed to one that answered with an error (that one is not skipped).
SERVER_FAILURES = (RedisConnectionError, RedisTimeoutError)


class CacheUnavailable(RedisConnectionError):
    """The cache server failed a moment ago and is skipped for now: raised without touching the network."""


class Backoff:
    """One cache server's health as this process last saw it: whether to skip it, and until when."""

    def __init__(self, address: str, seconds: float):
        self.address = address
        self.seconds = seconds
        self.skip_until = 0.0  # time.monotonic(); 0 while the server answers
        self.warned_at: float | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ``CacheUnavailable`` while the server is skipped; past the pause, let this caller try it (alone)."""
        if not self.skip_until:
            return
        with self._lock:
            now = time.monotonic()
            if now < self.skip_until:
                raise CacheUnavailable(f"The cache at {self.address} failed; it is tried again in "
                                       f"{self.skip_until - now:.1f} s.")
            self.skip_until = now + self.seconds  # the others keep skipping while this caller tries

    def failed(self, error: Exception) -> None:
        error.reported_by_backoff = True  # its callers need not log it again
        now = time.monotonic()
        self.skip_until = now + self.seconds
        if self.warned_at is None or now - self.warned_at >= WARNING_INTERVAL_SECONDS:
            self.warned_at = now
            logger.warning(
                "The cache at %s failed (%s: %s): this process goes on without it (no API rate limits, no import "
                "progress) and tries it again every %g s.", self.address, type(error).__name__, error, self.seconds,
            )

    def succeeded(self) -> None:
        if self.skip_until:
            self.skip_until = 0.0  # warned_at stays: a flapping server still warns at most once a minute
            logger.info("The cache at %s answers again.", self.address)


_backoffs: dict[str, Backoff] = {}
_backoffs_lock = threading.Lock()


def backoff_for(address: str, seconds: float = DEFAULT_BACKOFF_SECONDS) -> Backoff:
    """The process's one ``Backoff`` for a server, shared by every pool that reaches it (one per thread)."""
    with _backoffs_lock:
        return _backoffs.setdefault(address, Backoff(address, seconds))


def forget_cache_failures() -> None:
    """Treat every server as healthy again (tests start servers on ports an earlier test may have used)."""
    with _backoffs_lock:
        _backoffs.clear()


class _ReportsToBackoff:
    """Mixed into the pool's connection class: every failure, and every answer, goes to the server's ``Backoff``."""

    backoff: Backoff | None = None  # set by the pool that makes the connection

    def _failed(self, error: Exception) -> None:
        if self.backoff is not None:
            self.backoff.failed(error)

    def connect(self, *args, **kwargs):
        try:
            return super().connect(*args, **kwargs)
        except SERVER_FAILURES as error:
            self._failed(error)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except SERVER_FAILURES as error:
            self._failed(error)
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except SERVER_FAILURES as error:
            self._failed(error)
            raise
        except RedisError:  # an error reply is an answer too
            self._answered()
            raise
        self._answered()
        return response

    def _answered(self) -> None:
        if self.backoff is not None:
            self.backoff.succeeded()


@cache
def _reporting(connection_class: type) -> type:
    return type(f"Backoff{connection_class.__name__}", (_ReportsToBackoff, connection_class), {})


class BackoffConnectionPool(redis.ConnectionPool):
    """A redis-py pool that skips its server for ``backoff_seconds`` after a failure (``pool_class`` in CACHES)."""

    def __init__(self, *args, backoff_seconds: float = DEFAULT_BACKOFF_SECONDS, **kwargs):
        kwargs["connection_class"] = _reporting(kwargs.get("connection_class", redis.Connection))
        super().__init__(*args, **kwargs)
        options = self.connection_kwargs
        self.backoff = backoff_for(options.get("path") or f"{options.get('host')}:{options.get('port')}",
                                   backoff_seconds)

    def get_connection(self, *args, **kwargs):
        self.backoff.check()
        return super().get_connection(*args, **kwargs)

    def make_connection(self):
        connection = super().make_connection()
        connection.backoff = self.backoff
        return connection


CACHE_ERRORS = (RedisError, OSError)  # OSError: the file cache of ``make run``


def cache_skipped(what: str, error: Exception) -> None:
    """Log that ``what`` went without the cache: quietly when its ``Backoff`` has logged the failure, else (a server
    that answered with an error, such as full or read-only, or a cache without a ``Backoff``) as a warning."""
    if isinstance(error, CacheUnavailable) or getattr(error, "reported_by_backoff", False):
        logger.debug("%s skipped: %s", what, error)
    else:
        logger.warning("%s skipped: the cache failed (%s: %s)", what, type(error).__name__, error)


@contextmanager
def best_effort(what: str) -> Iterator[None]:
    """Run a block that uses the cache; when the cache fails, the block is cut short, logged, and the caller goes on.
    """
    try:
        yield
    except CACHE_ERRORS as error:
        cache_skipped(what, error)

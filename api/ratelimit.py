"""Counting a key's requests in the shared cache, in one round trip that overlaps the key's lookup.

The one place that reaches into redis-py's connection pool and Django's Redis backend internals
(``RedisCache._cache``, a connection's ``send_command``/``read_response``): the API's rate-limit tests fail on an
upgrade that changes them.

When the cache is down or hangs, the limit fails open: the request is served uncounted, since awards and
issuances need nothing from the cache and the limit protects the service, which then stands on the
database alone. The cost is bounded by the cache's policy (``core.cache``): short timeouts, a failed server skipped
for a few seconds per process, a warning at most once a minute per process. Counting resumes with the first answer;
a restarted (empty) cache starts every key's minute afresh.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from core.cache import cache_skipped


@contextmanager
def counting(name: str, window_seconds: int) -> Iterator[Callable[[], int]]:
    """Counts a request under ``name`` at once; the context's value reads the count (this request included).
    The counter expires two windows after its first request."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        yield lambda: _count_in_window(cache, name, window_seconds * 2)
        return
    # Django's incr() checks existence first (two round trips): one INCR, sent now and read when wanted.
    redis_key = cache.make_and_validate_key(name)
    pool = _redis_client(cache).connection_pool
    try:
        redis = pool.get_connection()
    except RedisError as error:
        cache_skipped("Rate limiting", error)
        yield lambda: 0
        return
    answer: list[int] = []

    def counted() -> int:
        if not answer:
            try:
                answer.append(int(redis.read_response()))
                if answer[0] == 1:  # the window's first request gives it its expiry
                    redis.send_command("EXPIRE", redis_key, window_seconds * 2)
                    redis.read_response()
            except RedisError as error:
                cache_skipped("Rate limiting", error)
                redis.disconnect()
                answer.append(0)
        return answer[0]

    try:
        try:
            redis.send_command("INCR", redis_key)
        except RedisError as error:
            cache_skipped("Rate limiting", error)
            redis.disconnect()
            answer.append(0)
        yield counted
        counted()  # the reply is read before the connection goes back to the pool
    except BaseException:
        redis.disconnect()  # a reply may be pending: never hand that connection out again
        raise
    finally:
        pool.release(redis)


def _count_in_window(cache, name: str, timeout: int) -> int:
    """The same count with any other cache backend (add, then incr)."""
    if cache.add(name, 1, timeout):
        return 1
    try:
        return cache.incr(name)
    except ValueError:  # expired between add() and incr()
        cache.add(name, 1, timeout)
        return 1


def _redis_client(cache: RedisCache):
    """The backend's Redis client, made once: Django makes a new one per call, which costs more than the INCR."""
    backend = cache._cache
    client = getattr(backend, "_shared_write_client", None)
    if client is None:
        client = backend._shared_write_client = backend.get_client(write=True)
    return client
